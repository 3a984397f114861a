#!/bin/sh
# orch-wrapper: runs one orch job inside its tmux session (or in the foreground for local jobs) and
# records its exit status. It ignores hangup, interrupt and terminate so it outlives the command and
# always writes [EXIT: N]; the command gets default signal handling back before it starts.
# $1 = the job directory, $2 = mode (tmux|local), $3 = tmux socket ('' = default), $4 = session name.
# Written by orch; do not edit.
dir=$1 mode=${2:-local} sock=${3:-} session=${4:-}
log=$dir/run.log
trap '' HUP INT TERM QUIT
echo $$ > "$dir/pid"
date +%s > "$dir/started"
if tee -p < /dev/null > /dev/null 2>&1; then teeopt=-p; else teeopt=; fi
# A monitor beside the job: (time, size) samples let 'orch logs --since' find where recent output
# begins; and when the job's tmux session disappears (tmux kill-session or kill-server behind
# orch's back), the command gets the hangup a closed terminal would give it, so the job ends FAILED
# with its status recorded instead of running on unseen.
( last=-1
  while kill -0 $$ 2>/dev/null; do
    size=$(wc -c < "$log" 2>/dev/null | tr -d ' ')
    if [ "$size" != "$last" ]; then printf '%s %s\n' "$(date +%s)" "$size" >> "$dir/offsets"; last=$size; fi
    if [ "$mode" = tmux ]; then
      if [ -n "$sock" ]; then tmux -L "$sock" has-session -t "=$session"; else tmux has-session -t "=$session"; fi || kill -HUP "-$$"
    fi
    sleep 2
  done ) > /dev/null 2>&1 &
cwd=$(cat "$dir/cwd" 2>/dev/null)
if command -v bash > /dev/null 2>&1; then shell=bash; else shell=sh; fi
{
  (
    trap - HUP INT TERM QUIT
    if [ -f "$dir/env.sh" ]; then . "$dir/env.sh"; fi
    if [ -n "$cwd" ]; then cd "$cwd" || exit 1; fi
    exec "$shell" "$dir/cmd.sh"
  )
  echo $? > "$dir/rc"
} 2>&1 | tee $teeopt -a "$log"
rc=$(cat "$dir/rc" 2>/dev/null)
[ -n "$rc" ] || rc=1
if [ -s "$log" ] && [ -n "$(tail -c 1 "$log")" ]; then printf '\n' >> "$log"; fi
printf '[EXIT: %s]\n' "$rc" >> "$log"
printf '[EXIT: %s]\n' "$rc" 2> /dev/null
date +%s > "$dir/ended"
printf '%s\n' "$rc" > "$dir/exit"
rm -f "$dir/env.sh" "$dir/rc"
exit "$rc"

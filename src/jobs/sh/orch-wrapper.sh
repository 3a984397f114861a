#!/bin/sh
# orch-wrapper: runs one orch job inside its tmux session (or in the foreground for local jobs) and
# records its exit status. It ignores hangup, interrupt and terminate so it outlives the command and
# always writes [EXIT: N]; the command gets default signal handling back before it starts.
# $1 = the job directory, $2 = mode (tmux|local|boot), $3 = tmux socket ('' = default), $4 = session name.
# Options come from $dir/options (written by orch: numbers and words only): retries, retry_delay,
# backoff, max_parallel, notify, max_log_size, host_label; hold, hold_cost, hold_limit, currency
# (the approval gate); for a service: restart (no|always|on-failure), max_restarts, min_uptime,
# restart_delay (seconds), max_memory (bytes, 0 = none). Written by orch; do not edit.
dir=$1 mode=${2:-local} sock=${3:-} session=${4:-}
log=$dir/run.log
root=${dir%/*}
retries=0 retry_delay=30 backoff=2 max_parallel=0 notify=off max_log_size=0 host_label=
hold='' hold_cost='' hold_limit='' currency=''
restart=no max_restarts=10 min_uptime=5 restart_delay=2 max_memory=0
# shellcheck source=/dev/null # written by start.sh for this job
[ -f "$dir/options" ] && . "$dir/options"

# >>> services: the @reboot line of a service started with --on-boot (boot-entry.sh) runs this in
# mode "boot": the job's session is started again, unless the service was stopped or ended for good
# since (its file on-boot is gone then) or still lives. The job keeps its directory and log; a new
# start marker makes any record of it indexed as finished meanwhile stale (job-lib.sh).
if [ "$mode" = boot ]; then
  [ -f "$dir/on-boot" ] || exit 0
  # cron's PATH is /usr/bin:/bin: the service gets the one it was started with (a node in
  # /usr/local/bin must still be found), as pm2 startup keeps it.
  if [ -s "$dir/path" ]; then PATH=$(head -n 1 "$dir/path"); export PATH; fi
  if wrapper_alive "$session" || tmx has-session -t "=$session" 2> /dev/null; then exit 0; fi
  # shellcheck disable=SC2154 # set by mark_started (job-lib.sh)
  mark_started "$session" && printf '%s\n' "$marker_token" > "$dir/marker"
  rm -f "$dir/exit" "$dir/ended" "$dir/session-lost" "$dir/pid" "$dir/stopped"
  slot=$(printf "%$((SLOT_BYTES - 1))s" '')
  printf '%s\n' "$slot" > "$dir/exit.tmp"
  printf '%s\n' "$slot" > "$dir/rc"
  tmx new-session -d -s "$session" -x 200 -y 50 sh "$dir/orch-wrapper.sh" "$dir" tmux "$sock" "$session"
  exit $?
fi
# <<< services <<<
trap '' HUP INT TERM QUIT
echo $$ > "$dir/pid"
if tee -p < /dev/null > /dev/null 2>&1; then teeopt=-p; else teeopt=; fi
stopped() { [ -f "$dir/stopped" ]; }
# Set by the monitor when the tmux session is gone: nothing more may start. A job directory
# deleted under the job (prune by hand, a test's cleanup) counts as lost too.
lost() { [ -f "$dir/session-lost" ] || [ ! -d "$dir" ]; }

# The log writer: the command's output goes to the pane (stdout) and to run.log in chunks that GNU
# head reads exactly (unbuffered by stdbuf, so output shows as it comes), at most the room left
# under max_log_size, so between two chunks no process holds run.log open. A rotation is then a
# rename (run.log becomes run.log.1, at most one old part is kept) and no byte is lost or written
# twice: run.log never passes the cap (plus the marker it starts with and the [EXIT] line). When
# run.log cannot take a chunk (a full disk; tee names it), a marker goes where output was lost as
# soon as it can be written. Exit: 0; 1 output was lost (the marker is in the log); 3 output was
# lost and the marker could not be written either. The file "rotations" counts rotations for
# followers (read-log.sh): twice the parts rotated away, odd while one is under way.
chunk_max=4194304
lost_marker() {
  if [ -s "$log" ] && [ -n "$(tail -c 1 "$log" 2> /dev/null)" ]; then _nl='\n'; else _nl=; fi
  # shellcheck disable=SC2059 # the format is ours: an optional newline, then the marker
  printf "$_nl"'[orch: output lost here: run.log could not be written (disk full?)]\n' >> "$log" 2> /dev/null
}
rotation=0
rotate_log() {
  rotation=$((rotation + 1))
  wait_for_followers "$rotation"
  printf '%s\n' $((rotation * 2 - 1)) > "$dir/rotations.tmp" 2> /dev/null && mv -f "$dir/rotations.tmp" "$dir/rotations"
  mv -f "$log" "$log.1"
  printf '[orch: log passed %s bytes; earlier output moved to run.log.1]\n' "$max_log_size" > "$log" 2> /dev/null
  printf '%s\n' $((rotation * 2)) > "$dir/rotations.tmp" 2> /dev/null && mv -f "$dir/rotations.tmp" "$dir/rotations"
}
# wait_for_followers N: rotation N drops part N-2 (the run.log.1 of now). A follower registers in
# <dir>/followers/<pid> the part it reads (read-log.sh); while one that lives still needs part N-2
# (it reads an older one), the rotation waits for it, up to five minutes (a follower that stalls
# longer is told what it missed).
wait_for_followers() {
  [ -d "$dir/followers" ] || return 0
  _waited=0
  while [ "$_waited" -lt 3000 ]; do
    _behind=
    for _f in "$dir/followers"/*; do
      [ -f "$_f" ] || continue
      _pid=${_f##*/}
      case $_pid in '' | *[!0-9]*) continue ;; esac
      if ! kill -0 "$_pid" 2> /dev/null; then rm -f "$_f"; continue; fi
      _part=$(cat "$_f" 2> /dev/null)
      case $_part in '' | *[!0-9]*) continue ;; esac
      [ "$_part" -lt $(($1 - 2)) ] && _behind=1
    done
    [ -z "$_behind" ] && return 0
    sleep 0.1
    _waited=$((_waited + 1))
  done
}
log_size() { _s=$(wc -c < "$log" 2> /dev/null | tr -d ' '); echo "${_s:-0}"; }
log_writer() {
  pending='' ever=1
  while :; do
    size=$(log_size)
    room=$chunk_max
    if [ "$max_log_size" -gt 0 ]; then
      if [ "$size" -ge "$max_log_size" ]; then rotate_log; size=$(log_size); fi
      room=$((max_log_size - size))
      # A cap smaller than the marker still moves on.
      [ "$room" -lt 4096 ] && room=4096
      [ "$room" -gt "$chunk_max" ] && room=$chunk_max
    fi
    if [ -n "$pending" ] && lost_marker; then pending=''; size=$(log_size); fi
    # tee: the chunk to the pane (fd 4, this function's stdout) and the log; its complaints, here.
    { err=$(stdbuf -o0 head -c "$room" | tee $teeopt -a "$log" 2>&1 >&4); } 4>&1
    case $err in
      *"$log"*) pending=1 ever=2 ;;
      *) [ "$(($(log_size) - size))" -lt "$room" ] && break ;;
    esac
  done
  if [ -n "$pending" ] && ! lost_marker; then return 3; fi
  return $((ever - 1))
}
# Without GNU head and stdbuf (a laptop's BSD head reads ahead), the log is written by tee alone:
# no cap, and a full disk is only noticed, not measured.
if head --version 2> /dev/null | grep -q GNU && command -v stdbuf > /dev/null 2>&1; then exact_head=1; else exact_head=; fi

# A monitor beside the job: (time, size) samples let 'orch logs --since' find where recent output
# begins; and when the job's tmux session disappears (tmux kill-session or
# kill-server behind orch's back), the command gets the hangup a closed terminal would give it, so
# the job ends FAILED with its status recorded instead of running on unseen.
( last=-1
  while kill -0 $$ 2> /dev/null && [ -d "$dir" ]; do
    size=$(wc -c < "$log" 2> /dev/null | tr -d ' ')
    if [ "$size" != "$last" ]; then printf '%s %s\n' "$(date +%s)" "$size" >> "$dir/offsets"; last=$size; fi
    if [ "$mode" = tmux ]; then
      if [ -n "$sock" ]; then tmux -L "$sock" has-session -t "=$session"; else tmux has-session -t "=$session"; fi || { date +%s > "$dir/session-lost"; kill -HUP "-$$"; }
    fi
    sleep 2
  done ) > /dev/null 2>&1 &
monitor=$!

# The approval gate: a job whose estimated cost is over its limit (or unknown, ORCH_APPROVAL=unknown)
# waits here, QUEUED, until a person approves it (orch approve: approve.sh gives it its queue ticket,
# then writes "approved") or refuses it (orch stop: it ends STOPPED and never runs). start.sh wrote
# "held". The request goes out as notifications do (Slack or the pane), never stopping the wait.
slack_post() { # JSON FILE, PREFIX of the files that record how it went
  command -v curl > /dev/null 2>&1 || { echo "curl is not installed on the host" > "$2.error"; return 0; }
  [ -f "$dir/notify.url" ] || return 0
  # The URL is read by curl from its config on stdin, never from argv: it stays out of ps.
  if ! printf 'url = "%s"\n' "$(cat "$dir/notify.url")" | curl -sS -m 20 --retry 2 -o /dev/null -w '%{http_code}' -K - -H 'Content-Type: application/json' --data-binary @"$1" > "$2.status" 2> "$2.error"; then
    :
  elif [ "$(cat "$2.status")" -ge 300 ] 2> /dev/null; then
    echo "webhook answered HTTP $(cat "$2.status")" > "$2.error"
  else
    rm -f "$2.error"
  fi
}
request_approval() {
  if [ "$hold_cost" = unknown ]; then _cost="cost unknown"; else _cost="estimated cost $hold_cost $currency"; fi
  [ -n "$hold_limit" ] && _cost="$_cost (limit $hold_limit $currency)"
  printf '%s is waiting for approval on %s: %s\napprove: orch approve %s\nrefuse:  orch stop %s\n' "$session" "${host_label:-$(hostname 2> /dev/null)}" "$_cost" "$session" "$session" > "$dir/approval-request" 2> /dev/null
  if [ "$notify" = stdout ]; then
    cat "$dir/approval-request" 2> /dev/null
  elif [ "$notify" = slack ]; then
    awk 'BEGIN { printf "{\"text\":\"" } { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/[\001-\037]/, ""); printf (NR == 1 ? "*%s*" : "\\n%s"), $0 } END { printf "\"}" }' "$dir/approval-request" > "$dir/approval-request.json" 2> /dev/null
    slack_post "$dir/approval-request.json" "$dir/approval-notify" > /dev/null 2>&1 &
  fi
}
if [ "$hold" = approval ] && [ -f "$dir/held" ] && [ ! -f "$dir/approved" ]; then
  date +%s > "$dir/queued"
  request_approval
  while [ ! -f "$dir/approved" ] && ! stopped && ! lost; do sleep 0.5; done
fi

# Parallel slots: at most max_parallel jobs run at once under this root. Waiting jobs hold tickets
# (<root>/.orch-queue/ticket-<seq>-<name>, made in submission order by start.sh) and only the
# oldest ticket may take a free slot (a flock on <root>/.orch-queue/slot-N, held by fd 9 for the
# wrapper's lifetime and released by the kernel however it ends).
queue=$root/.orch-queue
ticket=
for entry in "$queue"/ticket-*-"$session"; do
  case ${entry##*/} in "ticket-"*[!0-9]*"-$session") ;; ticket-*) [ -e "$entry" ] && ticket=${entry##*/} ;; esac
  [ -n "$ticket" ] && break
done
if [ -n "$ticket" ] && [ "$max_parallel" -gt 0 ] && command -v flock > /dev/null 2>&1; then
  date +%s > "$dir/queued"
  while :; do
    if stopped || lost; then rm -f "$queue/$ticket"; break; fi
    head=
    for entry in "$queue"/ticket-*; do [ -e "$entry" ] && head=${entry##*/}; break; done
    if [ "$head" = "$ticket" ]; then
      i=1 got=
      while [ "$i" -le "$max_parallel" ]; do
        exec 9> "$queue/slot-$i"
        if flock -n 9; then got=$i; break; fi
        exec 9>&-
        i=$((i + 1))
      done
      if [ -n "$got" ]; then rm -f "$queue/$ticket"; break; fi
    elif [ -n "$head" ]; then
      # A ticket whose job is gone (crash, reboot) must not block the queue.
      hname=${head#ticket-*-}
      # One liveness rule (job-lib.sh): a pid reused after a reboot does not hold the queue.
      # A start that never completed (no pid after two minutes: the state program's never-started)
      # does not hold it either.
      if [ ! -d "$root/$hname" ] || [ -f "$root/$hname/exit" ] || { [ -f "$root/$hname/pid" ] && ! wrapper_alive "$hname"; } \
        || { [ ! -f "$root/$hname/pid" ] && [ -n "$(find "$root/$hname" -maxdepth 0 -mmin +2 2> /dev/null)" ]; }; then rm -f "$queue/$head"; fi
    fi
    sleep 0.5
  done
elif [ -n "$ticket" ]; then
  rm -f "$queue/$ticket"
fi

# The commit the job starts from, for 'orch rollback'.
cwd=$(cat "$dir/cwd" 2> /dev/null)
if [ -n "$cwd" ] && command -v git > /dev/null 2>&1 && git -C "$cwd" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  git -C "$cwd" rev-parse HEAD > "$dir/git-commit" 2> /dev/null || rm -f "$dir/git-commit"
  git -C "$cwd" rev-parse --show-toplevel > "$dir/git-root" 2> /dev/null
fi
if command -v bash > /dev/null 2>&1; then shell='bash'; else shell='sh'; fi

rc=
log_lost='' marker_due=''
attempt=0
delay=$retry_delay

# >>> services: restarts, the memory cap, and the start after a reboot.
tag=$(job_tag "${dir##*/}") || tag=
end_reason='' quick=0 wait_s=$restart_delay memory_mode='' watcher='' unit=''
mib() { awk -v b="$1" 'BEGIN { printf "%.0fM", b / 1048576 }'; }
# How --max-memory is held, written to the file memory-mode with the reason: "cgroup" where the
# host's systemd gives this user a cgroup v2 memory controller (systemd-run --user --scope -p
# MemoryMax: the kernel holds the whole process tree to it, and OOMPolicy=kill ends all of it, not
# only its largest process), else "monitor" (below).
cgroup_root=/sys/fs/cgroup
memory_limit_mode() {
  if [ ! -f "$cgroup_root/cgroup.controllers" ]; then echo "monitor: no cgroup v2 at $cgroup_root"
  elif ! command -v systemd-run > /dev/null 2>&1 || ! command -v systemctl > /dev/null 2>&1; then echo 'monitor: systemd-run is not installed'
  elif ! _cg=$(systemctl --user show -p ControlGroup --value 2> /dev/null) || [ -z "$_cg" ]; then echo 'monitor: no systemd user manager (systemctl --user)'
  elif ! grep -qw memory "$cgroup_root$_cg/cgroup.controllers" 2> /dev/null; then echo "monitor: the memory controller is not delegated to $_cg"
  elif ! systemd-run --user --scope --quiet -p MemoryMax=64M -p OOMPolicy=kill true > /dev/null 2>&1; then echo 'monitor: systemd-run --user --scope refused a trial'
  else echo cgroup
  fi
}
# The monitor: every half second, the resident memory of every process carrying the job's tag
# (the command's whole tree, also what left its process group; not the wrapper and its log writer,
# which share the group) is summed from /proc; over the cap, all of them are killed.
job_rss() {
  for _p in $(strays "$tag"); do cat "/proc/$_p/status" 2> /dev/null; done | awk '$1 == "VmRSS:" { kb += $2 } END { printf "%d\n", kb * 1024 }'
}
memory_watch() {
  while sleep 0.5; do
    _used=$(job_rss)
    if [ "${_used:-0}" -gt "$max_memory" ]; then
      [ -f "$dir/memory-kill" ] || printf '%s\n' "$_used" > "$dir/memory-kill"
      end_strays "$tag" '' KILL
    fi
  done
}
# The attempt that just ended was killed for memory: by the monitor, or by the kernel in its scope.
memory_killed() {
  [ -f "$dir/memory-kill" ] && return 0
  [ "$memory_mode" = cgroup ] && [ "$(systemctl --user show -p Result --value "$unit.scope" 2> /dev/null)" = oom-kill ]
}
service_note() { ensure_newline "$log"; printf '[orch: %s]\n' "$1" | tee -a "$log"; }
# After an attempt of a service ended with $rc: 0 when it is to run again (marked in the log like a
# retry, after the wait), 1 when the job ends (end_reason says why when it ends for good on its
# own). A restart within min_uptime of the attempt's start is quick; more than max_restarts quick
# ones in a row is a restart storm. The wait doubles with each quick restart in a row (at most
# 5 minutes, or restart_delay when longer) and is back to restart_delay after a run that lasted.
service_after_exit() {
  _up=$(($(date +%s) - attempt_started))
  if [ "$rc" = 0 ]; then _why=exited; else _why=crashed; fi
  _what="exit $rc after ${_up}s"
  if [ -n "$memory_mode" ] && memory_killed; then
    _used=$(head -n 1 "$dir/memory-kill" 2> /dev/null)
    _why=memory-limit _what="killed over --max-memory $(mib "$max_memory")${_used:+ at $(mib "$_used")} after ${_up}s"
  fi
  [ -n "$unit" ] && systemctl --user reset-failed "$unit.scope" > /dev/null 2>&1
  { stopped || lost; } && return 1
  case $restart in
    always) ;;
    on-failure) [ "$rc" != 0 ] || return 1 ;;
    *)
      if [ "$_why" = memory-limit ]; then end_reason=memory-limit; service_note "memory-limit: $_what; not restarted (no --restart)"; fi
      return 1
      ;;
  esac
  if [ "$_up" -lt "$min_uptime" ]; then quick=$((quick + 1)); else quick=0; fi
  if [ "$quick" -gt "$max_restarts" ]; then
    end_reason="restart-storm"
    service_note "restart-storm: $quick exits in a row within --min-uptime ${min_uptime}s, more than --max-restarts $max_restarts; not restarted"
    return 1
  fi
  _cap=300
  [ "$restart_delay" -gt "$_cap" ] && _cap=$restart_delay
  if [ "$quick" -le 1 ]; then wait_s=$restart_delay; else wait_s=$((wait_s * 2)); [ "$wait_s" -gt "$_cap" ] && wait_s=$_cap; fi
  if [ "$quick" -gt 0 ]; then _count="; quick restart $quick/$max_restarts"; else _count=; fi
  # What the last run left behind (a child that outlived it, still holding a port) ends before the
  # next run starts: the whole tree is restarted, as PM2 does.
  if [ -n "$tag" ] && [ -n "$(strays "$tag")" ]; then
    end_strays "$tag" '' TERM
    _i=0
    while [ -n "$(strays "$tag")" ] && [ "$_i" -lt 20 ]; do sleep 0.1; _i=$((_i + 1)); done
    end_strays "$tag" '' KILL
  fi
  ensure_newline "$log"
  printf '[RESTART %s in %ss: %s%s]\n' "$attempt" "$wait_s" "$_what" "$_count" | tee -a "$log"
  echo "$_why" > "$dir/reason"
  _waited=0
  while [ "$_waited" -lt "$wait_s" ] && ! stopped && ! lost; do sleep 1; _waited=$((_waited + 1)); done
  { stopped || lost; } && return 1
  return 0
}
if [ "$max_memory" -gt 0 ] && [ -n "$tag" ]; then
  memory_mode=$(memory_limit_mode)
  # Without /proc (a Mac running a local job) nothing measures the tree: said, never pretended.
  case $memory_mode in monitor:*) [ -r /proc/self/environ ] || memory_mode="none: ${memory_mode#monitor: }, and no /proc to measure the job's memory" ;; esac
  printf '%s\n' "$memory_mode" > "$dir/memory-mode"
  case $memory_mode in cgroup) ;; monitor:*) memory_mode=monitor ;; *) memory_mode= ;; esac
fi
# <<< services <<<

if lost; then
  rc=129
elif ! stopped; then
  if [ -f "$dir/started" ]; then
    # Started again by the @reboot line (mode boot above): the service goes on where it was.
    attempt=$(head -n 1 "$dir/attempts" 2> /dev/null)
    case $attempt in '' | *[!0-9]*) attempt=1 ;; esac
    ensure_newline "$log"
    printf '[RESTART %s: the host restarted]\n' "$attempt" | tee -a "$log"
    echo reboot > "$dir/reason"
  else
    date +%s > "$dir/started"
    [ "$restart" != no ] && printf '%s\n' "$PATH" > "$dir/path"
  fi
  while :; do
    attempt=$((attempt + 1))
    echo "$attempt" > "$dir/attempts"
    attempt_started=$(date +%s) end_reason=
    rm -f "$dir/memory-kill"
    if [ "$memory_mode" = monitor ]; then memory_watch > /dev/null 2>&1 & watcher=$!; fi
    [ "$memory_mode" = cgroup ] && unit="orch-${dir##*/}-$$-$attempt"
    # The command's stderr joins its stdout; the shell's own "Killed" notice (on stderr) stays out of the log.
    {
      (
        trap - HUP INT TERM QUIT
        # shellcheck source=/dev/null # written by start.sh for this job
        if [ -f "$dir/env.sh" ]; then . "$dir/env.sh"; fi
        # The job's tag (job-lib.sh job_tag), after the user's variables: orch stop ends what
        # carries it, whatever process group or session it moved to.
        if tag=$(job_tag "${dir##*/}"); then ORCH_JOB_ID=$tag; export ORCH_JOB_ID; fi
        if [ -n "$cwd" ]; then cd "$cwd" || exit 1; fi
        if [ -n "$unit" ]; then exec systemd-run --user --scope --quiet --unit="$unit" -p MemoryMax="$max_memory" -p MemorySwapMax=0 -p OOMPolicy=kill "$shell" "$dir/cmd.sh" 9>&-; fi
        exec "$shell" "$dir/cmd.sh" 9>&-
      ) 2>&1
      # In place, into the room start.sh took for it: a full disk cannot lose the status.
      printf '%s\n' $? 1<> "$dir/rc"
    } 2> /dev/null | if [ -n "$exact_head" ]; then log_writer; else tee $teeopt -a "$log"; tee_rc=$?; [ "$tee_rc" = 0 ] || tee_rc=3; exit "$tee_rc"; fi
    case $? in 1) log_lost='log-write-failed' ;; 3) log_lost='log-write-failed' marker_due=1 ;; esac
    rc=$(head -n 1 "$dir/rc" 2> /dev/null | tr -d ' ')
    [ -n "$rc" ] || rc=1
    if [ -n "$watcher" ]; then kill -9 "$watcher" 2> /dev/null; watcher=; fi
    if [ "$restart" != no ] || [ -n "$memory_mode" ]; then
      if service_after_exit; then continue; fi
      [ "$restart" != no ] && break
    fi
    [ "$rc" = 0 ] && break
    [ "$attempt" -le "$retries" ] || break
    { stopped || lost; } && break
    if [ -s "$log" ] && [ -n "$(tail -c 1 "$log")" ]; then printf '\n' >> "$log"; fi
    printf '[RETRY %s/%s in %ss]\n' "$((attempt + 1))" "$((retries + 1))" "$delay" | tee -a "$log"
    waited=0
    while [ "$waited" -lt "$delay" ] && ! stopped && ! lost; do sleep 1; waited=$((waited + 1)); done
    { stopped || lost; } && break
    delay=$(awk -v d="$delay" -v b="$backoff" 'BEGIN { printf "%d", d * b + 0.5 }')
  done
else
  rc=143
fi
exec 9>&-

# The command is over: stop the monitor.
kill -9 "$monitor" 2> /dev/null
if [ -n "$marker_due" ] && lost_marker; then marker_due=; fi
if [ -s "$log" ] && [ -n "$(tail -c 1 "$log")" ]; then printf '\n' >> "$log"; fi
printf '[EXIT: %s]\n' "$rc" >> "$log" 2> /dev/null
printf '[EXIT: %s]\n' "$rc" 2> /dev/null
date +%s > "$dir/ended"
# In place, into the room start.sh took for it, then renamed: a reader never sees an empty exit
# file (a job flickering FAILED), and a full disk cannot lose the status. log-write-failed: some
# output never reached run.log (a follower is told where: read-log.sh).
record_exit "$dir" "$rc" "${end_reason:-$log_lost}"
# A service whose session vanished under it (a reboot) keeps its start at boot and the environment
# for it; one that ended any other way is not started again at boot.
if lost && [ -f "$dir/on-boot" ]; then rm -f "$dir/rc"; else remove_boot_entry "$dir"; rm -f "$dir/env.sh" "$dir/rc"; fi

# L4 notify, from the host so it arrives with no client connected. A failure is recorded in the job
# directory and never changes the job's status; "notified" is written when it is over. In a tmux
# session it is sent from a process of its own, so the wrapper ends with its [EXIT] line and a
# follower (tail --pid) ends with it, however slow the webhook.
notify() {
  # A service that ended for good on its own (end_reason) failed, whatever its last status.
  if stopped; then state=STOPPED; elif [ "$rc" = 0 ] && [ -z "$end_reason" ]; then state=DONE; else state=FAILED; fi
  started=$(cat "$dir/started" 2> /dev/null || cat "$dir/ended")
  duration=$(( $(cat "$dir/ended") - started ))
  {
    printf '%s %s (exit %s%s) after %ss on %s\n' "${dir##*/}" "$state" "$rc" "${end_reason:+, $end_reason}" "$duration" "${host_label:-$(hostname 2> /dev/null)}"
    grep -v '^\[EXIT: [0-9]*\]$' "$log" | tail -n 20
  } > "$dir/notification" 2> /dev/null
  if [ "$notify" = stdout ]; then
    cat "$dir/notification" 2> /dev/null
  elif [ "$notify" = slack ] && [ -f "$dir/notify.url" ]; then
    awk 'BEGIN { printf "{\"text\":\"" } { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); gsub(/\r/, ""); gsub(/[\001-\037]/, ""); if (NR == 1) printf "*%s*\\n```", $0; else printf "%s\\n", $0 } END { printf "```\"}" }' "$dir/notification" > "$dir/notification.json"
    # The URL is read by curl from its config on stdin, never from argv: it stays out of ps.
    if command -v curl > /dev/null 2>&1; then
      url=$(cat "$dir/notify.url")
      if ! printf 'url = "%s"\n' "$url" | curl -sS -m 20 --retry 2 -o "$dir/notify.response" -w '%{http_code}' -K - -H 'Content-Type: application/json' --data-binary @"$dir/notification.json" > "$dir/notify.status" 2> "$dir/notify.error"; then
        :
      elif [ "$(cat "$dir/notify.status")" -ge 300 ] 2> /dev/null; then
        echo "webhook answered HTTP $(cat "$dir/notify.status")" > "$dir/notify.error"
      else
        rm -f "$dir/notify.error"
      fi
      url=
    else
      echo "curl is not installed on the host" > "$dir/notify.error"
    fi
  fi
  rm -f "$dir/notify.url" "$dir/notify.response"
  date +%s > "$dir/notified"
}
if [ "$notify" != off ]; then
  if [ "$mode" = tmux ]; then notify > /dev/null 2>&1 & else notify; fi
fi
exit "$rc"

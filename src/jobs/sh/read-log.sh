# shellcheck shell=sh disable=SC2154 # $root, $sock and job_* are set by job-lib.sh and prelude.sh, which controlScript sends first
# Print a job's log from a byte offset. $1 name, $2 offset, $3 last N lines ('' = all), $4 since
# seconds ('' = all), $5 follow (1 = keep printing until the job ends), $6 held (1 = the client
# holds this script's stdin open while it reads, so EOF there means it has gone).
# Exit: 0 done (with follow: the job wrote its status), EX_SHIP_TO_CLOUDWATCH the same for a job
# run with --cloudwatch (so the follower ships it without asking again), EX_VANISHED the job ended
# without a status, EX_UNKNOWN_JOB.
#
# Following needs no polling forks: GNU tail -f is woken by inotify as the log grows and ends once
# the job's wrapper has exited (--pid), after printing what the wrapper wrote last. Without GNU
# tail (busybox, BSD) or for a job made by hand (no wrapper), the log is polled.
name=$1 off=$2 lines=$3 since=$4 follow=$5 held=${6:-0}
# An asynchronous list's stdin is /dev/null: keep the client's for the watcher below.
exec 3<&0
dir=$root/$name log=$root/$name/run.log
job_exists "$name" || exit "$EX_UNKNOWN_JOB"
size_of() { wc -c < "$log" 2> /dev/null | tr -d ' '; }
if [ -n "$lines" ]; then
  size=$(size_of)
  keep=$(tail -n "$lines" "$log" 2> /dev/null | wc -c | tr -d ' ')
  off=$((${size:-0} - keep))
elif [ -n "$since" ] && [ -f "$dir/offsets" ]; then
  cutoff=$(($(date +%s) - since))
  off=$(awk -v c="$cutoff" '$1 < c { o = $2 } END { print o + 0 }' "$dir/offsets")
fi
rest() { [ -f "$log" ] && tail -c +"$((off + 1))" "$log"; }
# lost_tail: after the log of a job whose output did not all reach run.log (its exit file says
# log-write-failed, e.g. a full disk) and that does not end with its status line: say where output
# was lost, and give the status line the wrapper could not write.
lost_tail() {
  [ "$(sed -n 2p "$dir/exit" 2> /dev/null)" = log-write-failed ] || return 0
  _code=$(head -n 1 "$dir/exit")
  case $(tail -n 1 "$log" 2> /dev/null) in "[EXIT: $_code]") return 0 ;; esac
  if [ -s "$log" ] && [ -n "$(tail -c 1 "$log")" ]; then printf '\n'; fi
  printf '[orch: output lost from here: run.log could not be written on the host (disk full?)]\n[EXIT: %s]\n' "$_code"
}
if [ "$follow" != 1 ]; then
  rest
  [ -f "$dir/exit" ] && lost_tail
  exit 0
fi
ended() {
  lost_tail
  grep -q '"cloudwatch":true' "$dir/meta.json" 2> /dev/null && exit "$EX_SHIP_TO_CLOUDWATCH"
  exit 0
}
# watch_client PID: end PID when the client goes (Ctrl-C, a killed client, a dropped connection:
# its channel closes and so does our stdin), so no follower outlives its reader on the host.
watcher=
watch_client() {
  [ "$held" = 1 ] || return 0
  (cat > /dev/null 2>&1 <&3; kill "$1" 2> /dev/null) > /dev/null 2>&1 &
  watcher=$!
}
unwatch() { if [ -n "$watcher" ]; then kill "$watcher" 2> /dev/null; fi; }
# A start still under way has no wrapper pid yet: give it a moment.
tries=0
while :; do
  job_load "$name" || exit $?
  [ -n "$job_pid" ] || [ "$job_kind" = manual ] || [ "$job_scheduler" = slurm ] || job_finished || [ "$tries" -ge 50 ] && break
  tries=$((tries + 1))
  sleep 0.1
done
if job_finished; then
  rest
  [ -n "$job_exit" ] && ended
  exit "$EX_VANISHED"
fi
# A job with a log cap (--max-log-size): its wrapper renames run.log to run.log.1 when full and starts
# a new one (orch-wrapper.sh). The follower holds the part it reads open, reads it to its end
# before it moves on to the next, and says which part it reads in followers/<pid>, so the wrapper
# waits before it drops a part this follower has not opened yet. rotations: 2 x the parts rotated
# away, odd while a rotation is under way (a name is trusted only when it did not change meanwhile).
if [ -n "$job_pid" ] && grep -q '^max_log_size=[1-9]' "$dir/options" 2> /dev/null; then
  counter() { _c=$(cat "$dir/rotations" 2> /dev/null); echo "${_c:-0}"; }
  reg=$dir/followers/$$
  trap 'rm -f "$reg"' EXIT
  trap 'exit 143' TERM HUP INT
  # open_part P: fd 5 on part P (sets part); a part already dropped is said so, then the current one.
  open_part() {
    while :; do
      c1=$(counter)
      case $c1 in *[13579]) sleep 0.02; continue ;; esac
      now=$((c1 / 2))
      if [ "$now" -eq "$1" ]; then f=$log; elif [ "$now" -eq $(($1 + 1)) ]; then f=$log.1; else f=$log; fi
      exec 5< "$f" || { sleep 0.02; continue; }
      [ "$(counter)" = "$c1" ] && break
      exec 5<&-
    done
    if [ "$now" -gt $(($1 + 1)) ]; then
      printf '\n[orch: output rotated away before this follower could read it]\n'
      part=$now
    else
      part=$1
    fi
    mkdir -p "$dir/followers" 2> /dev/null && printf '%s\n' "$part" > "$reg" 2> /dev/null
  }
  mark=$(sed -n 's/^max_log_size=//p' "$dir/options")
  mark="[orch: log passed $mark bytes; earlier output moved to run.log.1]"
  mark_len=$((${#mark} + 1))
  watch_client $$
  c0=$(counter)
  open_part $((c0 / 2))
  [ "$off" -gt 0 ] && head -c "$off" <&5 > /dev/null
  while :; do
    cat <&5
    if [ "$(counter)" -gt $((part * 2)) ]; then
      # The wrapper has moved on from this part: what is left of it is there already.
      cat <&5
      exec 5<&-
      open_part $((part + 1))
      # The next part goes on where this one stopped, maybe mid-line: its first line, the
      # wrapper's note of the rotation, is for a reader of the file, not of the stream.
      first=$(head -c "$mark_len" <&5)
      [ "$first" = "$mark" ] || printf '%s' "$first"
      continue
    fi
    if [ -f "$dir/exit" ] || ! kill -0 "$job_pid" 2> /dev/null; then
      cat <&5
      [ "$(counter)" -gt $((part * 2)) ] && continue
      [ -f "$dir/exit" ] || sleep 0.5
      [ -f "$dir/exit" ] && ended
      exit "$EX_VANISHED"
    fi
    sleep 0.1
  done
fi
if [ -n "$job_pid" ] && tail --pid=$$ -c 0 /dev/null > /dev/null 2>&1; then
  tail -c +"$((off + 1))" -s 0.1 -f --pid="$job_pid" "$log" 2> /dev/null &
  follower=$!
  watch_client "$follower"
  wait "$follower"
  unwatch
  # The wrapper is gone. It writes the exit file before it exits; give a kill a moment to settle.
  [ -f "$dir/exit" ] || sleep 0.5
  [ -f "$dir/exit" ] && ended
  exit "$EX_VANISHED"
fi
# Polling: print what was added every 0.2 s until the job is over.
emit() {
  size=$(size_of)
  size=${size:-0}
  if [ "$size" -lt "$off" ]; then off=0; fi
  if [ "$size" -gt "$off" ]; then tail -c +"$((off + 1))" "$log" | head -c "$((size - off))"; off=$size; fi
}
watch_client $$
n=0
while :; do
  if [ -f "$dir/exit" ]; then
    emit
    ended
  fi
  emit
  n=$((n + 1))
  # A job directory deleted under a follower (prune by hand) ends it: there is nothing left to read.
  [ -d "$dir" ] || exit "$EX_VANISHED"
  if [ $((n % 10)) = 0 ] && job_load "$name" && job_finished; then
    sleep 0.5
    emit
    [ -n "$job_exit" ] && [ "$job_kind" = manual ] && exit 0
    [ -f "$dir/exit" ] && ended
    exit "$EX_VANISHED"
  fi
  sleep 0.2
done

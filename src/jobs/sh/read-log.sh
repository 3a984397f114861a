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
if [ "$follow" != 1 ]; then
  rest
  exit 0
fi
ended() {
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
  [ -n "$job_pid" ] || [ "$job_kind" = manual ] || job_finished || [ "$tries" -ge 50 ] && break
  tries=$((tries + 1))
  sleep 0.1
done
if job_finished; then
  rest
  [ -n "$job_exit" ] && ended
  exit "$EX_VANISHED"
fi
if [ -n "$job_pid" ] && tail --pid=$$ -c 0 /dev/null > /dev/null 2>&1; then
  # A rotation (--max-log-size) truncates the log: tail notices and carries on from its start.
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

# shellcheck shell=sh disable=SC2154 # $root, $sock and job_* are set by job-lib.sh and prelude.sh, which controlScript sends first
# One page of a job's log, for a reader that pages instead of following (the MCP server's logs
# tool). $1 name, $2 byte offset, $3 last N lines ('' = from the offset), $4 at most this many
# bytes, $5 wait up to this many seconds for output past the offset or for the job's end (0 = answer
# at once).
# Prints a header line "<offset> <size> <state> <exit|-> <reason|->" (the offset the page starts at,
# run.log's size when the state was read), then the page's bytes. The state is read before the size,
# so a finished job's size is its whole log. Exit: 0, EX_UNKNOWN_JOB, EX_PROCESS_TABLE.
name=$1 off=$2 lines=$3 max=$4 wait=$5
dir=$root/$name log=$root/$name/run.log
job_exists "$name" || exit "$EX_UNKNOWN_JOB"
size_of() { _s=$(wc -c < "$log" 2> /dev/null | tr -d ' '); echo "${_s:-0}"; }
if [ -n "$lines" ]; then
  keep=$(tail -n "$lines" "$log" 2> /dev/null | wc -c | tr -d ' ')
  off=$(($(size_of) - keep))
  [ "$off" -ge 0 ] || off=0
fi
# A rotated log (--max-log-size) starts again at 0: an offset past its end reads the new part.
[ "$(size_of)" -ge "$off" ] || off=0
# Waiting: the exit file is checked every 0.2 s, the wrapper's liveness (ps) every 2 s.
n=0
while [ "$n" -lt $((wait * 5)) ] && [ "$(size_of)" -le "$off" ] && [ ! -f "$dir/exit" ]; do
  if [ $((n % 10)) = 9 ]; then
    job_load "$name" || exit $?
    job_finished && break
  fi
  sleep 0.2
  n=$((n + 1))
done
job_load "$name" || exit $?
size=$(size_of)
printf '%s %s %s %s %s\n' "$off" "$size" "$job_state" "${job_exit:--}" "${job_reason:--}"
[ "$size" -gt "$off" ] && tail -c +"$((off + 1))" "$log" | head -c "$max"
exit 0

# shellcheck shell=sh disable=SC2154 # $root, $sock and job_* are set by job-lib.sh and prelude.sh, which controlScript sends first
# $1 name, $2 a count to record as shipped to CloudWatch ('' = record nothing). Prints five lines:
# meta.json, started (epoch seconds), exit status ('' while unfinished, "vanished" for a job that
# ended without one), events already shipped, state. Exit EX_UNKNOWN_JOB: unknown job.
dir=$root/$1
job_load "$1" || exit $?
if [ -n "$2" ]; then printf '%s\n' "$2" > "$dir/cloudwatch.shipped"; fi
cat "$dir/meta.json" 2> /dev/null || echo '{}'
cat "$dir/started" 2> /dev/null || echo
if [ -n "$job_exit" ]; then echo "$job_exit"; elif job_finished; then echo vanished; else echo; fi
cat "$dir/cloudwatch.shipped" 2> /dev/null || echo 0
echo "$job_state"

# shellcheck shell=sh disable=SC2154 # $root, $sock and job_* are set by job-lib.sh and prelude.sh, which controlScript sends first
# $1 name. Exit 0 when the job's tmux session exists, EX_UNKNOWN_JOB for an unknown job, 1 otherwise.
# A Slurm job has no session on this host: exit 0 printing "slurm <job id>" while it runs, else 1
# printing its state.
job_exists "$1" || exit "$EX_UNKNOWN_JOB"
if [ -f "$root/$1/scheduler" ]; then
  job_load "$1" || exit $?
  if [ "$job_state" = RUNNING ] && [ -n "$job_slurm_id" ]; then echo "slurm $job_slurm_id"; exit 0; fi
  echo "$job_state"
  exit 1
fi
command -v tmux > /dev/null 2>&1 || exit 1
tmx has-session -t "=$1" 2> /dev/null

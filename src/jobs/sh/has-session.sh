# shellcheck shell=sh disable=SC2154 # $root, $sock and job_* are set by job-lib.sh and prelude.sh, which controlScript sends first
# $1 name. Exit 0 when the job's tmux session exists, EX_UNKNOWN_JOB for an unknown job, 1 otherwise.
job_exists "$1" || exit "$EX_UNKNOWN_JOB"
command -v tmux > /dev/null 2>&1 || exit 1
tmx has-session -t "=$1" 2> /dev/null

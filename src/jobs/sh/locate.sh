# shellcheck shell=sh disable=SC2154 # $root, $sock and job_* are set by job-lib.sh and prelude.sh, which controlScript sends first
# $1 name. Exit 0 when this host holds the job, EX_UNKNOWN_JOB when it does not.
job_exists "$1" || exit "$EX_UNKNOWN_JOB"

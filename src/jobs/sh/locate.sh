# $1 name. Exit 0 when this host holds the job, EX_UNKNOWN_JOB when it does not.
job_exists "$1" || exit "$EX_UNKNOWN_JOB"

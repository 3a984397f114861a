# shellcheck shell=sh disable=SC2154 # $root, $sock and job_* are set by job-lib.sh and prelude.sh, which controlScript sends first
# Every job's record (see job-lib.sh), one line each, in one pass. $1 = "unfinished" for only the
# jobs that have not finished (orch status). Exit: 0, or EX_PROCESS_TABLE when ps cannot be read.
# shellcheck disable=SC2034 # read by job_records
index_later=1
job_records "${1:-}"

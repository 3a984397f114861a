# shellcheck shell=sh disable=SC2154 # $root and job_* are set by job-lib.sh and prelude.sh, which controlScript sends first
# $1 name. A person's yes for a job held for approval (orch run over its cost limit): it takes its
# place at the end of the parallel-slot queue (take_ticket), then "approved" lets its wrapper go on.
# Prints one of:
#   approved               it was waiting and now goes on
#   already <state>        it had been approved before (nothing changed)
#   not-held <state>       it never waited for approval
#   refused <state>        it was stopped, or ended, before anyone approved it
# Exit EX_UNKNOWN_JOB: unknown job; EX_NO_SPACE: the ticket could not be written (prints why).
name=$1
dir=$root/$name
job_load "$name" || exit $?
if [ ! -f "$dir/held" ]; then echo "not-held $job_state"; exit 0; fi
if [ -f "$dir/approved" ]; then echo "already $job_state"; exit 0; fi
if [ -f "$dir/stopped" ] || job_finished; then echo "refused $job_state"; exit 0; fi
# Two approvals at once: one takes the ticket, the other is told it was approved already (a second
# ticket of the name would wait at the head of the queue for good).
mkdir "$dir/approving" 2> /dev/null || { echo "already $job_state"; exit 0; }
if ! err=$(take_ticket "$name"); then rmdir "$dir/approving"; echo "$err"; exit "$EX_NO_SPACE"; fi
if ! date +%s > "$dir/approved.tmp" 2> /dev/null || ! mv -f "$dir/approved.tmp" "$dir/approved"; then
  rm -f "$dir/approved.tmp" "$root/.orch-queue/ticket-"*"-$name"
  rmdir "$dir/approving"
  echo "cannot write $dir/approved"
  exit "$EX_NO_SPACE"
fi
echo approved

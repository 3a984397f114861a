# shellcheck shell=sh disable=SC2154 # $root, $sock and job_* are set by job-lib.sh and prelude.sh, which controlScript sends first
# $1 name, $2 grace seconds. Mark the job stopped, TERM its process group (the wrapper survives and
# records the status) and every process carrying its tag outside the group (setsid children,
# daemons: job-lib.sh job_tag), KILL after the grace period, then make sure the log ends with its
# status.
# Prints 'already <state> <code|->' for a finished job (its own state: a vanished job stays FAILED,
# with no made-up exit status) or 'stopped <code>' ('stopped -' for a tmux session of the name with
# no job directory: a session made by hand, which blocks orch run of the name, is killed). A job
# made by hand (run.log only) has its session killed first, then its status recorded.
# Exit EX_UNKNOWN_JOB: unknown job.
# dash's kill takes no "--": a negative pid right after the signal names the process group.
name=$1 grace=$2
dir=$root/$name log=$root/$name/run.log
job_load "$name" || {
  rc=$?
  if [ "$rc" = "$EX_UNKNOWN_JOB" ] && valid_job_name "$name" && command -v tmux > /dev/null 2>&1 && tmx has-session -t "=$name" 2> /dev/null; then
    tmx kill-session -t "=$name" 2> /dev/null
    echo "stopped -"
    exit 0
  fi
  exit "$rc"
}
# A service ends for good: not started again at boot either (its @reboot line goes first).
remove_boot_entry "$dir"
# What left the process group (setsid, a daemon) is found by the job's tag (job-lib.sh job_tag).
tag=$(job_tag "$name") || tag=
if job_finished; then
  if [ "$job_reason" = vanished ] && [ "$job_scheduler" != slurm ]; then
    rm -f "$dir/env.sh"
    # The wrapper is gone but its command may live on in the wrapper's process group. While any
    # member lives the group id cannot be given to a new process, so a dead leader with a live
    # group is the job's own leftovers, never a stranger's.
    old_pid=$(cat "$dir/pid" 2> /dev/null)
    case $old_pid in
      '' | *[!0-9]*) ;;
      *) if ! kill -0 "$old_pid" 2> /dev/null && kill -0 "-$old_pid" 2> /dev/null; then kill -KILL "-$old_pid" 2> /dev/null; fi ;;
    esac
    [ -n "$tag" ] && end_strays "$tag" '' KILL
  fi
  echo "already $job_state ${job_exit:--}"
  exit 0
fi
date +%s > "$dir/stopped"
code=143
if [ "$job_kind" = manual ]; then
  # Its processes are the session's: kill-session hangs them up. The command line made by hand may
  # still write its own [EXIT: N] as it ends; that status is kept.
  command -v tmux > /dev/null 2>&1 && tmx kill-session -t "=$name" 2> /dev/null
  sleep 0.3
  last=$(tail -n 1 "$log" 2> /dev/null)
  case $last in
    '[EXIT: '*[0-9]']')
      code=${last#'[EXIT: '}
      code=${code%']'}
      case $code in '' | *[!0-9]*) code=143 ;; *) record_exit "$dir" "$code" ;; esac
      ;;
  esac
fi
if [ "$job_scheduler" = slurm ]; then
  # A Slurm job: its wrapper runs on a node. TERM to the batch script and all it started (--full):
  # the wrapper ignores it and records the command's status; KILL after the grace. A job not yet
  # running is cancelled: it never starts.
  scancel=$(slurm_tool scancel) || exit "$EX_SLURM_MISSING"
  if [ "$job_state" = RUNNING ] && [ -n "$job_slurm_id" ]; then
    "$scancel" --full --signal=TERM "$job_slurm_id" 2> /dev/null
    i=0
    while [ ! -f "$dir/exit" ] && [ "$i" -lt "$((grace * 10))" ]; do sleep 0.1; i=$((i + 1)); done
    if [ ! -f "$dir/exit" ]; then
      "$scancel" --full --signal=KILL "$job_slurm_id" 2> /dev/null
      code=137
      sleep 0.5
    fi
  elif [ -n "$job_slurm_id" ]; then
    "$scancel" "$job_slurm_id" 2> /dev/null
  fi
  # Slurm lets the job go once its processes are gone (up to 15 s): then it lists as STOPPED.
  if [ -n "$job_slurm_id" ] && squeue=$(slurm_tool squeue); then
    i=0
    while [ "$i" -lt 75 ]; do
      case $("$squeue" -h -j "$job_slurm_id" -o %T 2> /dev/null) in PENDING | CONFIGURING | RUNNING | COMPLETING | SUSPENDED | SIGNALING) ;; *) break ;; esac
      sleep 0.2
      i=$((i + 1))
    done
  fi
elif [ -n "$job_pid" ]; then
  kill -TERM "-$job_pid" 2> /dev/null || kill -TERM "$job_pid" 2> /dev/null
  # The job's processes outside its group get the same signal: one that kept the log's pipe open
  # would otherwise hold the wrapper until the KILL.
  [ -n "$tag" ] && end_strays "$tag" "$job_pid" TERM
  i=0
  while [ ! -f "$dir/exit" ] && [ "$i" -lt "$((grace * 10))" ]; do sleep 0.1; i=$((i + 1)); done
  if [ ! -f "$dir/exit" ]; then
    kill -KILL "-$job_pid" 2> /dev/null || kill -KILL "$job_pid" 2> /dev/null
    code=137
    sleep 0.1
  fi
  # Strays that outlived the TERM (it is ignored, or they detached from the log): the rest of the
  # grace, then KILL.
  if [ -n "$tag" ]; then
    while [ -n "$(strays "$tag" "$job_pid")" ] && [ "$i" -lt "$((grace * 10))" ]; do sleep 0.5; i=$((i + 5)); done
    end_strays "$tag" '' KILL
  fi
fi
if [ ! -f "$dir/exit" ]; then
  ensure_newline "$log"
  printf '[EXIT: %s]\n' "$code" >> "$log"
  date +%s > "$dir/ended"
  record_exit "$dir" "$code"
  rm -f "$dir/env.sh"
fi
[ "$job_scheduler" = slurm ] || { command -v tmux > /dev/null 2>&1 && tmx kill-session -t "=$name" 2> /dev/null; }
echo "stopped $(head -n 1 "$dir/exit")"

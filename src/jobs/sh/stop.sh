# $1 name, $2 grace seconds. Mark the job stopped, TERM its process group (the wrapper survives and
# records the status), KILL after the grace period, then make sure the log ends with its status.
# Prints 'already <code>' for a finished job or 'stopped <code>'. Exit EX_UNKNOWN_JOB: unknown job.
# dash's kill takes no "--": a negative pid right after the signal names the process group.
name=$1 grace=$2
dir=$root/$name log=$root/$name/run.log
job_load "$name" || exit $?
if job_finished && [ -n "$job_exit" ]; then echo "already $job_exit"; exit 0; fi
date +%s > "$dir/stopped"
code=143
if [ -n "$job_pid" ]; then
  kill -TERM "-$job_pid" 2> /dev/null || kill -TERM "$job_pid" 2> /dev/null
  i=0
  while [ ! -f "$dir/exit" ] && [ "$i" -lt "$((grace * 10))" ]; do sleep 0.1; i=$((i + 1)); done
  if [ ! -f "$dir/exit" ]; then
    kill -KILL "-$job_pid" 2> /dev/null || kill -KILL "$job_pid" 2> /dev/null
    code=137
    sleep 0.1
  fi
fi
if [ ! -f "$dir/exit" ]; then
  ensure_newline "$log"
  printf '[EXIT: %s]\n' "$code" >> "$log"
  date +%s > "$dir/ended"
  printf '%s\n' "$code" > "$dir/exit.tmp" && mv -f "$dir/exit.tmp" "$dir/exit"
  rm -f "$dir/env.sh"
fi
command -v tmux > /dev/null 2>&1 && tmx kill-session -t "=$name" 2> /dev/null
echo "stopped $(cat "$dir/exit")"

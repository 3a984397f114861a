# $1 name, $2 grace seconds. Mark the job stopped, TERM its process group (the wrapper survives and
# records the status), KILL after the grace period, then make sure the log ends with its status.
# Prints 'already <code>' for a finished job or 'stopped <code>'. Exit 4: unknown job.
# dash's kill takes no "--": a negative pid right after the signal names the process group.
name=$1 grace=$2
dir=$root/$name log=$root/$name/run.log
[ -f "$dir/meta.json" ] || exit 4
if finished "$dir" && [ -f "$dir/exit" ]; then echo "already $(cat "$dir/exit")"; exit 0; fi
date +%s > "$dir/stopped"
code=143
if alive "$dir"; then
  read -r p < "$dir/pid"
  kill -TERM "-$p" 2> /dev/null || kill -TERM "$p" 2> /dev/null
  i=0
  while [ ! -f "$dir/exit" ] && [ "$i" -lt "$((grace * 10))" ]; do sleep 0.1; i=$((i + 1)); done
  if [ ! -f "$dir/exit" ]; then
    kill -KILL "-$p" 2> /dev/null || kill -KILL "$p" 2> /dev/null
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

# Create the job directory atomically (mkdir is the lock two racing runs contend for), write the
# command and secrets from stdin, then start the tmux session.
# $1 name, $2 replace (0|1), $3 command bytes, $4 env bytes, $5 meta JSON, $6 cwd, $7 mode (tmux|local), $8 wrapper text,
# $9 wrapper options (KEY=value lines), $10 webhook URL bytes. Stdin: command, env file, webhook URL.
# Exit: 0 ok (prints the dir), 64 tmux missing, 65 in use, 66 exists (finished), 67 tmux failed, 68 no cwd, 71 root unwritable.
name=$1 replace=$2 cmdlen=$3 envlen=$4 meta=$5 cwd=$6 mode=$7 wrapper=$8 options=$9 urllen=${10:-0}
case $cwd in "~") cwd=$HOME ;; "~/"*) cwd=$HOME/${cwd#"~/"} ;; esac
if [ "$mode" = tmux ]; then
  command -v tmux > /dev/null 2>&1 || { echo "tmux is not installed"; exit 64; }
  if tmx has-session -t "=$name" 2> /dev/null; then echo "a tmux session named $name already exists"; exit 65; fi
fi
if [ -n "$cwd" ] && [ ! -d "$cwd" ]; then echo "$cwd"; exit 68; fi
mkdir -p "$root" 2> /dev/null || { echo "$root"; exit 71; }
dir=$root/$name
old=
if ! mkdir "$dir" 2> /dev/null; then
  [ -d "$dir" ] || { echo "$root"; exit 71; }
  finished "$dir" || { echo "$dir"; exit 65; }
  [ "$replace" = 1 ] || { echo "$dir"; exit 66; }
  # Racing replacers: only the lock holder moves the old directory aside, after checking again that
  # it is still the finished one (else a second replacer would move the first one's new job away).
  lock=$root/.orch-replacing-$name
  [ -n "$(find "$lock" -maxdepth 0 -mmin +1 2> /dev/null)" ] && rmdir "$lock" 2> /dev/null
  mkdir "$lock" 2> /dev/null || { echo "$dir"; exit 65; }
  old=$root/.orch-replaced-$name-$$
  if ! { finished "$dir" && mv "$dir" "$old" 2> /dev/null; }; then rmdir "$lock"; echo "$dir"; exit 65; fi
  if ! mkdir "$dir" 2> /dev/null; then rmdir "$lock"; rm -rf "$old"; echo "$dir"; exit 65; fi
  rmdir "$lock"
fi
umask 077
head -c "$cmdlen" > "$dir/cmd.sh"
if [ "$envlen" -gt 0 ]; then head -c "$envlen" > "$dir/env.sh"; fi
if [ "$urllen" -gt 0 ]; then head -c "$urllen" > "$dir/notify.url"; fi
printf '%s\n' "$options" > "$dir/options"
printf '%s\n' "$meta" > "$dir/meta.json"
printf '%s' "$cwd" > "$dir/cwd"
printf '%s' "$wrapper" > "$dir/orch-wrapper.sh"
: > "$dir/run.log"
# A ticket in submission order for the parallel-slot queue (see orch-wrapper.sh).
if [ "$mode" = tmux ] && command -v flock > /dev/null 2>&1; then
  mkdir -p "$root/.orch-queue"
  (
    flock 8
    seq=$(cat "$root/.orch-queue/.seq" 2> /dev/null || echo 0)
    seq=$((seq + 1))
    echo "$seq" > "$root/.orch-queue/.seq"
    : > "$root/.orch-queue/ticket-$(printf '%012d' "$seq")-$name"
  ) 8> "$root/.orch-queue/.lock"
fi
if [ "$mode" = tmux ]; then
  # A tmux server exiting with its last session refuses a client for a moment ("server exited
  # unexpectedly"); trying again starts a new server.
  tries=0
  while ! err=$(tmx new-session -d -s "$name" -x 200 -y 50 sh "$dir/orch-wrapper.sh" "$dir" tmux "$sock" "$name" 2>&1); do
    tries=$((tries + 1))
    case $err in *"server exited unexpectedly"* | *"lost server"*) [ "$tries" -lt 5 ] && { sleep 0.2; continue; } ;; esac
    rm -rf "$dir"
    rm -f "$root/.orch-queue/ticket-"*"-$name"
    [ -n "$old" ] && mv "$old" "$dir"
    echo "$err"
    exit 67
  done
fi
[ -n "$old" ] && rm -rf "$old"
echo "$dir"

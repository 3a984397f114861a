# Create the job directory atomically (mkdir is the lock two racing runs contend for), write the
# command and secrets from stdin, then start the tmux session.
# $1 name, $2 replace (0|1), $3 command bytes, $4 env bytes, $5 meta JSON, $6 cwd, $7 mode (tmux|local), $8 wrapper text
# Exit: 0 ok (prints the dir), 64 tmux missing, 65 in use, 66 exists (finished), 67 tmux failed, 68 no cwd, 71 root unwritable.
name=$1 replace=$2 cmdlen=$3 envlen=$4 meta=$5 cwd=$6 mode=$7 wrapper=$8
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
  old=$root/.orch-replaced-$name-$$
  { mv "$dir" "$old" 2> /dev/null && mkdir "$dir" 2> /dev/null; } || { echo "$dir"; exit 65; }
fi
umask 077
head -c "$cmdlen" > "$dir/cmd.sh"
if [ "$envlen" -gt 0 ]; then head -c "$envlen" > "$dir/env.sh"; fi
printf '%s\n' "$meta" > "$dir/meta.json"
printf '%s' "$cwd" > "$dir/cwd"
printf '%s' "$wrapper" > "$dir/orch-wrapper.sh"
: > "$dir/run.log"
if [ "$mode" = tmux ]; then
  if ! err=$(tmx new-session -d -s "$name" -x 200 -y 50 sh "$dir/orch-wrapper.sh" "$dir" tmux "$sock" "$name" 2>&1); then
    rm -rf "$dir"
    [ -n "$old" ] && mv "$old" "$dir"
    echo "$err"
    exit 67
  fi
fi
[ -n "$old" ] && rm -rf "$old"
echo "$dir"

# $1 name. Exit 0 when the job's tmux session exists, 4 for an unknown job, 1 otherwise.
[ -f "$root/$1/meta.json" ] || exit 4
command -v tmux > /dev/null 2>&1 || exit 1
tmx has-session -t "=$1" 2> /dev/null

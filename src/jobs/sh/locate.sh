# $1 name. Exit 4 when this host has no such job; else prints 'finished|running <dir>'.
[ -f "$root/$1/meta.json" ] || exit 4
if finished "$root/$1"; then echo "finished $root/$1"; else echo "running $root/$1"; fi

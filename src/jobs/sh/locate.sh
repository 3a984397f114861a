# $1 name. Exit 0 when this host holds the job, 4 when it does not.
[ -f "$root/$1/meta.json" ] || exit 4

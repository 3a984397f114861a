# $1 name, $2 a count to record as shipped to CloudWatch ('' = record nothing). Prints four lines:
# meta.json, started (epoch seconds), exit status ('' while unfinished), events already shipped.
# Exit 4: unknown job.
dir=$root/$1
[ -f "$dir/meta.json" ] || exit 4
if [ -n "$2" ]; then printf '%s\n' "$2" > "$dir/cloudwatch.shipped"; fi
cat "$dir/meta.json"
cat "$dir/started" 2> /dev/null || echo
if finished "$dir" && [ -f "$dir/exit" ]; then cat "$dir/exit"; elif finished "$dir"; then echo vanished; else echo; fi
cat "$dir/cloudwatch.shipped" 2> /dev/null || echo 0

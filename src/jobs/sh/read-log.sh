# Print a job's log from a byte offset. $1 name, $2 offset, $3 last N lines ('' = all), $4 since
# seconds ('' = all), $5 follow (1 = keep printing until the job ends).
# Exit: 0 done (with follow: the job wrote its status), 10 the same for a job run with --cloudwatch
# (so the follower ships it without asking again), 3 the job vanished without a status, 4 unknown job.
name=$1 off=$2 lines=$3 since=$4 follow=$5
dir=$root/$name log=$root/$name/run.log
[ -f "$dir/meta.json" ] || exit 4
if [ -n "$lines" ]; then
  size=$(wc -c < "$log" | tr -d ' ')
  keep=$(tail -n "$lines" "$log" | wc -c | tr -d ' ')
  off=$((size - keep))
elif [ -n "$since" ] && [ -f "$dir/offsets" ]; then
  cutoff=$(( $(date +%s) - since ))
  off=$(awk -v c="$cutoff" '$1 < c { o = $2 } END { print o + 0 }' "$dir/offsets")
fi
emit() {
  size=$(wc -c < "$log" | tr -d ' ')
  # The log cap truncated the file (older output is in run.log.1): carry on from its new start.
  if [ "$size" -lt "$off" ]; then off=0; fi
  if [ "$size" -gt "$off" ]; then tail -c +"$((off + 1))" "$log" | head -c "$((size - off))"; off=$size; fi
}
if [ "$follow" != 1 ]; then
  tail -c +"$((off + 1))" "$log"
  exit 0
fi
n=0
while :; do
  if [ -f "$dir/exit" ]; then
    emit
    grep -q '"cloudwatch":true' "$dir/meta.json" && exit 10
    exit 0
  fi
  emit
  n=$((n + 1))
  if [ $((n % 10)) = 0 ] && finished "$dir"; then
    sleep 0.5
    [ -f "$dir/exit" ] && continue
    emit
    exit 3
  fi
  sleep 0.2
done

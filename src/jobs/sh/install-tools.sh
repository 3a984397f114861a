# shellcheck shell=sh disable=SC2154 # $root, $sock and job_* are set by job-lib.sh and prelude.sh, which controlScript sends first
# Install orch's host tools into <orch dir>/bin, so cron can run them without orch.
# $1 = orch's directory on the host (may start with ~); then pairs of (file name, byte count) whose
# bytes arrive on stdin in that order. Prints the bin directory. Each file is written beside its
# final name first, so a cron run never sees half a file.
home_dir=$(expand_home "$1")
shift
bin=$home_dir/bin
mkdir -p "$bin" && chmod 700 "$home_dir" || exit 71
while [ $# -ge 2 ]; do
  head -c "$2" > "$bin/.$1.new" && chmod 755 "$bin/.$1.new" && mv "$bin/.$1.new" "$bin/$1" || exit 71
  shift 2
done
echo "$bin"

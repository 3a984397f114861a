# shellcheck shell=sh disable=SC2154 # $root, $sock and job_* are set by job-lib.sh and prelude.sh, which controlScript sends first
# Start a service again when the host boots: its @reboot crontab line, written by crontab-line.sh
# (every other line kept byte for byte), and the file on-boot in its job directory, which the line
# checks first and which names the tool and the crontab command that remove the line again
# (job-lib.sh remove_boot_entry: orch stop, the service ending for good, prune).
# $1 name, $2 the directory of orch's installed tools (crontab-line.sh), $3 the crontab command,
# $4 the cron line. Exit: 0 (prints what crontab-line.sh says), EX_UNKNOWN_JOB, else its failure.
name=$1 bin=$2 crontab=$3 line=$4
dir=$root/$name
job_exists "$name" || exit "$EX_UNKNOWN_JOB"
printf '%s\n%s\n' "$bin/crontab-line.sh" "$crontab" > "$dir/on-boot" || exit 1
if ! CRONTAB=$crontab sh "$bin/crontab-line.sh" install --marker "orch:boot:$name" --line "$line"; then
  rm -f "$dir/on-boot"
  exit 1
fi
# A service that already ended for good (a restart storm within its first second) removed what it
# found of its entry before this made it: its line must not outlive it. The wrapper writes exit
# before it removes the entry, so every order of the two ends with no line. (A lost session keeps
# its entry: the host is going down, and the line brings the service back.)
# The line goes by its marker, whatever the wrapper removed meanwhile (it may have taken on-boot
# before the line was there); finding nothing left to remove is no failure: the install succeeded.
if [ -s "$dir/exit" ] && ! [ -f "$dir/session-lost" ]; then
  rm -f "$dir/on-boot"
  CRONTAB=$crontab sh "$bin/crontab-line.sh" remove --marker "orch:boot:$name" > /dev/null 2>&1 || :
fi
exit 0

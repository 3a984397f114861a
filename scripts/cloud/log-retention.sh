#!/bin/sh
# log-retention.sh — delete old orch job directories (SPEC §3 "Retention").
#
# Run by cron on the host (see crontab-line.sh / bootstrap.sh); needs no Node.
#
# Usage:
#   log-retention.sh [--older-than-days N] [--dry-run] [--root DIR] [--verbose]
#
#   --older-than-days N  age limit in whole days, N >= 1 (also "30d").
#                        Default: $ORCH_LOG_RETENTION_DAYS, else 30.
#   --root DIR           the log root holding one directory per job.
#                        Default: $ORCH_LOG_ROOT, else $HOME/logs.
#   --dry-run            print what would be deleted; delete nothing.
#   --verbose            also explain, on stderr, every directory kept.
#
# A job directory <root>/<job>/ is deleted when ALL of these hold:
#   - <job> is a valid job name: letters, digits, '-' and '_', starting with a
#     letter or digit, at most 64 characters (anything else is left alone);
#   - <root>/<job> is a real directory, not a symlink (never followed);
#   - every entry inside it, recursively, including the directory itself, was
#     last modified at least N days ago (find -mtime; symlinks inside are
#     judged by their own time and never followed);
#   - the job is not alive: no `pid` file naming a live process (kill -0);
#   - the job is not queued: no `queued` marker, unless run.log's last line
#     starts with "[EXIT:" (the job finished).
# Deletion is `rm -rf` of that one directory, which removes symlinks inside it
# without following them, so nothing outside the root is ever touched.
#
# Output (stdout), one line per directory, then one summary line:
#   deleted <job> <bytes> bytes            (or "would delete ..." with --dry-run)
#   pruned <N> job(s), freed <B> bytes     (or "would prune <N> job(s), free <B> bytes (dry run)")
# Sizes are disk usage (du -sk x 1024): the space the deletion gives back.
#
# Exit codes:
#   0  done (also when nothing was old enough, or the root does not exist)
#   1  at least one directory could not be deleted or measured (see stderr)
#   2  bad arguments, or the root exists but is not a directory
set -u
LC_ALL=C
export LC_ALL

prog=log-retention.sh

usage() {
  echo "usage: $prog [--older-than-days N] [--dry-run] [--root DIR] [--verbose]" >&2
  exit 2
}

die_usage() {
  echo "$prog: $1" >&2
  usage
}

days=${ORCH_LOG_RETENTION_DAYS:-30}
root=${ORCH_LOG_ROOT:-}
dry_run=0
verbose=0

while [ $# -gt 0 ]; do
  case $1 in
    --older-than-days)
      [ $# -ge 2 ] || die_usage "--older-than-days needs a value"
      days=$2
      shift 2
      ;;
    --older-than-days=*) days=${1#*=}; shift ;;
    --root)
      [ $# -ge 2 ] || die_usage "--root needs a value"
      root=$2
      shift 2
      ;;
    --root=*) root=${1#*=}; shift ;;
    --dry-run) dry_run=1; shift ;;
    --verbose|-v) verbose=1; shift ;;
    -h|--help)
      sed -n '2,/^set -u/p' "$0" 2>/dev/null | sed '$d' | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die_usage "unknown argument: $1" ;;
  esac
done

days=${days%d}
case $days in
  ''|*[!0123456789]*) die_usage "--older-than-days must be a whole number of days (at least 1), got '$days'" ;;
esac
# Strip leading zeros so "030" is not read as octal anywhere.
while :; do
  case $days in
    0?*) days=${days#0} ;;
    *) break ;;
  esac
done
[ "$days" -ge 1 ] 2>/dev/null || die_usage "--older-than-days must be at least 1, got '$days'"

if [ -z "$root" ]; then
  [ -n "${HOME:-}" ] || die_usage "HOME is not set; pass --root DIR"
  root=$HOME/logs
fi
case $root in
  \~) root=${HOME:-}/ ;;
  \~/*) root=${HOME:-}/${root#\~/} ;;
esac

if [ ! -e "$root" ]; then
  echo "$prog: log root $root does not exist; nothing to prune" >&2
  if [ "$dry_run" = 1 ]; then
    echo "would prune 0 job(s), free 0 bytes (dry run)"
  else
    echo "pruned 0 job(s), freed 0 bytes"
  fi
  exit 0
fi
if [ ! -d "$root" ]; then
  echo "$prog: log root $root is not a directory" >&2
  exit 2
fi
# The physical path of the root (the root itself may be a symlink, e.g. to a
# data disk; entries inside it are never followed).
root=$(cd -P -- "$root" && pwd -P) || { echo "$prog: cannot enter $root" >&2; exit 2; }

say() {
  [ "$verbose" = 1 ] && printf '%s\n' "$*" >&2
  return 0
}

valid_job_name() {
  [ ${#1} -le 64 ] || return 1
  case $1 in
    ''|[!abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789]*) return 1 ;;
    *[!abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-]*) return 1 ;;
  esac
  return 0
}

# job_alive DIR: the wrapper PID in DIR/pid is a live process.
job_alive() {
  [ -f "$1/pid" ] || return 1
  _pid=
  IFS= read -r _pid <"$1/pid" 2>/dev/null || [ -n "$_pid" ] || return 1
  _pid=$(printf '%s' "$_pid" | tr -d ' \t\r')
  case $_pid in
    ''|*[!0123456789]*) return 1 ;;
  esac
  while :; do
    case $_pid in
      0?*) _pid=${_pid#0} ;;
      *) break ;;
    esac
  done
  # Never "kill -0 0" (our own process group) or PID 1 look-alikes of nothing.
  [ "$_pid" != 0 ] || return 1
  kill -0 "$_pid" 2>/dev/null && return 0
  # kill -0 fails with EPERM for another user's process: still alive.
  [ -d "/proc/$_pid" ] && return 0
  return 1
}

# job_finished DIR: run.log's last line starts with "[EXIT:".
job_finished() {
  [ -f "$1/run.log" ] || return 1
  _last=$(tail -n 1 "$1/run.log" 2>/dev/null) || return 1
  case $_last in
    '[EXIT:'*) return 0 ;;
  esac
  return 1
}

# job_queued DIR: waiting for a slot (marker present, not finished).
job_queued() {
  { [ -e "$1/queued" ] || [ -h "$1/queued" ]; } || return 1
  job_finished "$1" && return 1
  return 0
}

tmp=$(mktemp "${TMPDIR:-/tmp}/orch-retention.XXXXXX") || { echo "$prog: cannot create a temporary file" >&2; exit 1; }
trap 'rm -f "$tmp"' EXIT
trap 'rm -f "$tmp"; exit 130' INT
trap 'rm -f "$tmp"; exit 143' TERM

# all_old DIR: nothing in DIR (DIR included) was modified in the last N days.
# Any error from find (unreadable subdirectory...) counts as "not old": keep.
all_old() {
  : >"$tmp"
  find "$1" -mtime "-$days" -print >"$tmp" 2>/dev/null || return 1
  [ -s "$tmp" ] && return 1
  return 0
}

count=0
freed=0
status=0

for dir in "$root"/*; do
  name=${dir##*/}
  # "$root/*" unmatched: the literal pattern comes back.
  [ -e "$dir" ] || [ -h "$dir" ] || continue
  if ! valid_job_name "$name"; then
    say "kept $name: not a valid job name"
    continue
  fi
  if [ -h "$dir" ]; then
    say "kept $name: a symlink (not followed)"
    continue
  fi
  if [ ! -d "$dir" ]; then
    say "kept $name: not a directory"
    continue
  fi
  if job_alive "$dir"; then
    say "kept $name: running"
    continue
  fi
  if job_queued "$dir"; then
    say "kept $name: queued"
    continue
  fi
  if ! all_old "$dir"; then
    say "kept $name: modified within the last $days day(s)"
    continue
  fi

  kb=$(du -sk "$dir" 2>/dev/null | awk 'NR==1 {print $1}')
  case $kb in
    ''|*[!0123456789]*)
      echo "$prog: cannot measure $dir" >&2
      kb=0
      status=1
      ;;
  esac
  bytes=$((kb * 1024))

  if [ "$dry_run" = 1 ]; then
    printf 'would delete %s %s bytes\n' "$name" "$bytes"
    count=$((count + 1))
    freed=$((freed + bytes))
    continue
  fi

  # Last check right before deleting: a job may have been started under this
  # name since (it would have a fresh pid file).
  if job_alive "$dir" || job_queued "$dir"; then
    say "kept $name: became active"
    continue
  fi
  if rm -rf -- "$dir" 2>/dev/null && [ ! -e "$dir" ]; then
    printf 'deleted %s %s bytes\n' "$name" "$bytes"
    count=$((count + 1))
    freed=$((freed + bytes))
  else
    echo "$prog: could not delete $dir completely" >&2
    status=1
  fi
done

if [ "$dry_run" = 1 ]; then
  printf 'would prune %s job(s), free %s bytes (dry run)\n' "$count" "$freed"
else
  printf 'pruned %s job(s), freed %s bytes\n' "$count" "$freed"
fi
exit "$status"

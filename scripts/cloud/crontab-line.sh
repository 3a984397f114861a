#!/bin/sh
# crontab-line.sh — manage one tagged line in the current user's crontab.
#
# Usage:
#   crontab-line.sh install [--line 'CRON LINE'] [--marker TAG]
#   crontab-line.sh remove  [--marker TAG]
#   crontab-line.sh show    [--marker TAG]
#
#   --marker TAG  the tag that identifies our line: it ends with "# TAG".
#                 Letters, digits and . _ : @ / + - only. Default: orch:log-retention
#   --line LINE   the full cron line (schedule and command). " # TAG" is appended
#                 when the line does not already end with it. It must be one
#                 line. Default (only for the orch:log-retention marker): run
#                 log-retention.sh from this script's directory daily at 03:17,
#                 with --older-than-days $ORCH_LOG_RETENTION_DAYS (else 30) and
#                 --root $ORCH_LOG_ROOT when set, appending to
#                 $HOME/.orch/log-retention.log.
#
# install  adds the line when no tagged line exists (at the end), replaces the
#          tagged line in place when it differs, and does nothing when it is
#          already there: never a duplicate (extra tagged lines are dropped).
# remove   deletes every tagged line, nothing else.
# show     prints the tagged line(s).
# A line is "tagged" when, ignoring trailing blanks, it ends with "# TAG"
# preceded by a blank or the start of the line.
#
# Every other line of the crontab is kept byte for byte: comments, blank lines,
# environment lines, CR characters. The one exception: a last line without a
# newline gets one, because crontab refuses a file that does not end with one.
# The crontab is only rewritten when something changes.
#
# Environment:
#   CRONTAB  the crontab command to use (default: crontab). It must support
#            `CRONTAB -l` (print; "no crontab for USER" and a failure status
#            when there is none, which counts as empty) and `CRONTAB FILE`
#            (install FILE). Tests point it at a fake.
#
# Exit codes:
#   0  done (also "already installed" and "not installed" for install/remove)
#   1  the crontab command failed (reading or installing), or a temp file could
#      not be made; the crontab is left as it was
#   2  bad arguments
#   3  show: no tagged line is installed
set -u
LC_ALL=C
export LC_ALL

prog=crontab-line.sh

usage() {
  echo "usage: $prog install|remove|show [--line 'CRON LINE'] [--marker TAG]" >&2
  exit 2
}

die_usage() {
  echo "$prog: $1" >&2
  usage
}

crontab_cmd=${CRONTAB:-crontab}
action=
line=
line_set=0
marker=orch:log-retention

while [ $# -gt 0 ]; do
  case $1 in
    install|remove|show)
      [ -z "$action" ] || die_usage "only one action, got '$action' and '$1'"
      action=$1
      shift
      ;;
    --line)
      [ $# -ge 2 ] || die_usage "--line needs a value"
      line=$2; line_set=1
      shift 2
      ;;
    --line=*) line=${1#*=}; line_set=1; shift ;;
    --marker)
      [ $# -ge 2 ] || die_usage "--marker needs a value"
      marker=$2
      shift 2
      ;;
    --marker=*) marker=${1#*=}; shift ;;
    -h|--help)
      sed -n '2,/^set -u/p' "$0" 2>/dev/null | sed '$d' | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die_usage "unknown argument: $1" ;;
  esac
done

[ -n "$action" ] || die_usage "say install, remove or show"
case $marker in
  ''|*[!abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@/+-]*)
    die_usage "--marker may hold only letters, digits and . _ : @ / + - (got '$marker')" ;;
esac
[ ${#marker} -le 100 ] || die_usage "--marker is too long (100 characters at most)"

nl='
'
cr=$(printf '\r')

# cron_quote STRING: STRING in single quotes for sh, with % escaped for cron.
cron_quote() {
  case $1 in
    *"$nl"*|*"$cr"*) return 1 ;;
  esac
  printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g; s/%/\\\\%/g")"
}

if [ "$action" = install ]; then
  if [ "$line_set" = 0 ]; then
    [ "$marker" = orch:log-retention ] || die_usage "install with --marker $marker needs --line"
    self_dir=$(cd -P -- "$(dirname -- "$0")" && pwd -P) || die_usage "cannot find this script's directory; pass --line"
    [ -f "$self_dir/log-retention.sh" ] || die_usage "$self_dir/log-retention.sh not found; pass --line"
    days=${ORCH_LOG_RETENTION_DAYS:-30}
    case $days in ''|*[!0123456789]*) die_usage "ORCH_LOG_RETENTION_DAYS must be a whole number, got '$days'" ;; esac
    q_script=$(cron_quote "$self_dir/log-retention.sh") || die_usage "the script path holds a newline; pass --line"
    line="17 3 * * * mkdir -p \"\$HOME/.orch\"; /bin/sh $q_script --older-than-days $days"
    if [ -n "${ORCH_LOG_ROOT:-}" ]; then
      q_root=$(cron_quote "$ORCH_LOG_ROOT") || die_usage "ORCH_LOG_ROOT holds a newline"
      line="$line --root $q_root"
    fi
    line="$line >>\"\$HOME/.orch/log-retention.log\" 2>&1"
  fi
  case $line in
    *"$nl"*|*"$cr"*) die_usage "--line must be a single line" ;;
  esac
  # Trim trailing blanks, then make sure the line ends with the marker.
  while :; do
    case $line in
      *' '|*'	') line=${line%?} ;;
      *) break ;;
    esac
  done
  [ -n "$line" ] || die_usage "--line is empty"
  case $line in
    *" # $marker"|*"	# $marker"|"# $marker") ;;
    *) line="$line # $marker" ;;
  esac
elif [ "$line_set" = 1 ]; then
  die_usage "--line is only for install"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/orch-crontab.XXXXXX") || { echo "$prog: cannot create a temporary directory" >&2; exit 1; }
trap 'rm -rf -- "$work"' EXIT
trap 'rm -rf -- "$work"; exit 130' INT
trap 'rm -rf -- "$work"; exit 143' TERM

current=$work/current
next=$work/next
errors=$work/errors

# Read the crontab. "No crontab" is an empty one; any other failure stops us,
# so a transient error can never make us install a crontab without the
# user's lines.
if ! "$crontab_cmd" -l >"$current" 2>"$errors"; then
  if grep -i -e 'no crontab' -e "can't open.*no such file" "$errors" >/dev/null 2>&1; then
    : >"$current"
  else
    echo "$prog: '$crontab_cmd -l' failed:" >&2
    cat "$errors" >&2
    exit 1
  fi
fi

# awk program: classify lines. Values come through ENVIRON, which (unlike
# awk -v) does not interpret backslashes.
ORCH_CRON_MARKER=$marker
ORCH_CRON_LINE=$line
export ORCH_CRON_MARKER ORCH_CRON_LINE

# shellcheck disable=SC2016 # awk program, not shell
awk_tagged='
function tagged(s,    suffix, n, m, before) {
  sub(/[ \t\r]+$/, "", s)
  suffix = "# " ENVIRON["ORCH_CRON_MARKER"]
  n = length(suffix); m = length(s)
  if (m < n || substr(s, m - n + 1) != suffix) return 0
  if (m == n) return 1
  before = substr(s, m - n, 1)
  return before == " " || before == "\t"
}
'

tagged_lines() {
  awk "$awk_tagged"'
    tagged($0) { print }
  ' "$current"
}

count=$(tagged_lines | wc -l | tr -d ' ')

case $action in
  show)
    if [ "$count" -gt 0 ]; then
      tagged_lines
      exit 0
    fi
    echo "$prog: no line tagged '# $marker' in the crontab" >&2
    exit 3
    ;;

  install)
    if [ "$count" = 1 ] && [ "$(tagged_lines)" = "$line" ]; then
      printf 'already installed: %s\n' "$line"
      exit 0
    fi
    awk "$awk_tagged"'
      tagged($0) {
        if (!done) print ENVIRON["ORCH_CRON_LINE"]
        done = 1
        next
      }
      { print }
      END { if (!done) print ENVIRON["ORCH_CRON_LINE"] }
    ' "$current" >"$next" || { echo "$prog: awk failed" >&2; exit 1; }
    ;;

  remove)
    if [ "$count" = 0 ]; then
      echo "not installed: no line tagged '# $marker'"
      exit 0
    fi
    awk "$awk_tagged"'
      tagged($0) { next }
      { print }
    ' "$current" >"$next" || { echo "$prog: awk failed" >&2; exit 1; }
    ;;
esac

if ! "$crontab_cmd" "$next" 2>"$errors"; then
  echo "$prog: '$crontab_cmd FILE' failed; the crontab was not changed:" >&2
  cat "$errors" >&2
  exit 1
fi

case $action in
  install)
    if [ "$count" = 0 ]; then
      printf 'installed: %s\n' "$line"
    else
      printf 'replaced: %s\n' "$line"
    fi
    ;;
  remove)
    printf 'removed %s line(s) tagged # %s\n' "$count" "$marker"
    ;;
esac
exit 0

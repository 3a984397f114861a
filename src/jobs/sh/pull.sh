# shellcheck shell=sh disable=SC2154 # $root, $sock and job_* are set by job-lib.sh and prelude.sh, which controlScript sends first
# orch pull: send a job's results as a tar stream (or its uncommitted git changes as a patch).
# $1 name, $2 what:
#   log    the job's log directory, without its secrets (env.sh, notify.url)
#   files  $3… paths or glob patterns relative to the job's working directory; a pattern that
#          matches nothing is named on stderr as "orch-missing: PATTERN"
#   diff   first line: the HEAD commit of the work tree ('' when it has none); then a binary patch
#          of every uncommitted change, untracked files included (a scratch index, so the job's
#          own index is untouched)
# Exit: 0 ok, EX_UNKNOWN_JOB, EX_NO_CWD (its working directory is gone), EX_TOOL_MISSING (tar or
# git), EX_NOT_GIT (not a git work tree).
name=$1 dir=$root/$1 what=$2
shift 2
job_exists "$name" || exit "$EX_UNKNOWN_JOB"
case $what in
  log)
    command -v tar > /dev/null 2>&1 || exit "$EX_TOOL_MISSING"
    cd "$dir" || exit "$EX_UNKNOWN_JOB"
    set --
    for f in * .[!.]* ..?*; do
      [ -e "$f" ] || [ -L "$f" ] || continue
      # Secrets stay on the host: the job's environment file, the notification webhook URL.
      case $f in env* | .env* | secret* | *.secret | *.url) continue ;; esac
      set -- "$@" "./$f"
    done
    [ $# -gt 0 ] || exit 0
    exec tar -cf - "$@"
    ;;
esac
cwd=$(cat "$dir/cwd" 2> /dev/null)
[ -n "$cwd" ] || cwd=$HOME
cd "$cwd" 2> /dev/null || { echo "$cwd" >&2; exit "$EX_NO_CWD"; }
case $what in
  files)
    command -v tar > /dev/null 2>&1 || exit "$EX_TOOL_MISSING"
    n=$#
    for pat do
      found=0
      # Unquoted with an empty IFS: pathname expansion, no field splitting.
      IFS=
      for p in $pat; do
        if [ -e "$p" ] || [ -L "$p" ]; then
          found=1
          set -- "$@" "./$p"
        fi
      done
      unset IFS
      [ "$found" = 1 ] || printf 'orch-missing: %s\n' "$pat" >&2
    done
    shift "$n"
    [ $# -gt 0 ] || exit 0
    exec tar -cf - "$@"
    ;;
  diff)
    command -v git > /dev/null 2>&1 || exit "$EX_TOOL_MISSING"
    top=$(git rev-parse --show-toplevel 2> /dev/null) || exit "$EX_NOT_GIT"
    [ -n "$top" ] || exit "$EX_NOT_GIT"
    cd "$top" || exit "$EX_NOT_GIT"
    head=$(git rev-parse --verify -q HEAD 2> /dev/null) || head=
    idx=$(mktemp "${TMPDIR:-/tmp}/orch-diff.XXXXXX") || exit 1
    trap 'rm -f "$idx"' EXIT
    gitidx=$(git rev-parse --git-path index)
    if [ -f "$gitidx" ]; then cp "$gitidx" "$idx" || exit 1; else rm -f "$idx"; fi
    GIT_INDEX_FILE=$idx git add -A . > /dev/null || exit 1
    printf '%s\n' "$head"
    if [ -n "$head" ]; then
      GIT_INDEX_FILE=$idx git diff --cached --binary --full-index "$head"
    else
      GIT_INDEX_FILE=$idx git diff --cached --binary --full-index
    fi
    ;;
  *) exit 2 ;;
esac

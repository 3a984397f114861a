# shellcheck shell=sh disable=SC2154 # $root, $sock and job_* are set by job-lib.sh and prelude.sh, which controlScript sends first
# Run one of orch's host tools (scripts/cloud/*.sh) with the site's log root and tmux socket in its
# environment. $1 = the tool's text, $2 = extra environment as NAME=value lines, the rest = its arguments.
tool=$1 extra=$2
shift 2
ORCH_LOG_ROOT=$root ORCH_TMUX_SOCKET=$sock
export ORCH_LOG_ROOT ORCH_TMUX_SOCKET
if [ -n "$extra" ]; then
  while IFS= read -r assignment; do
    # shellcheck disable=SC2163 # each line is NAME=VALUE: exported as an assignment on purpose
    case $assignment in *=*) export "$assignment" ;; esac
  done <<ORCH_EXTRA_ENV
$extra
ORCH_EXTRA_ENV
fi
exec sh -c "$tool" orch-tool "$@"

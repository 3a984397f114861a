# shellcheck shell=sh disable=SC2034 # $root and $sock are for the body controlScript sends after this
# The start of every control script, after job-lib.sh: $1 = the log root (may start with ~), $2 =
# the tmux socket name ('' for the default server); both are shifted away.
set -u
root=$(expand_home "$1") sock=$2
shift 2

# Shared start of every job script (orch prepends it). $1 = log root (may start with ~),
# $2 = tmux socket name ('' for the default server); both are shifted away.
set -u
root=$1 sock=$2
shift 2
case $root in "~") root=$HOME ;; "~/"*) root=$HOME/${root#"~/"} ;; esac
tmx() { if [ -n "$sock" ]; then tmux -L "$sock" "$@"; else tmux "$@"; fi; }
# A job is alive while its wrapper runs; the ps check guards against a recycled pid after a reboot.
alive() {
  [ -f "$1/pid" ] || return 1
  read -r p < "$1/pid" 2>/dev/null || return 1
  kill -0 "$p" 2>/dev/null || return 1
  ps -p "$p" -o args= 2>/dev/null | grep -q orch-wrapper
}
# Finished: it wrote its exit status, or its wrapper is gone, or it never got going (stale start).
finished() {
  [ -f "$1/exit" ] && return 0
  if [ -f "$1/pid" ]; then alive "$1" && return 1; return 0; fi
  [ -n "$(find "$1/meta.json" -mmin +2 2>/dev/null)" ]
}
ensure_newline() { if [ -s "$1" ] && [ -n "$(tail -c 1 "$1")" ]; then printf '\n' >> "$1"; fi; }

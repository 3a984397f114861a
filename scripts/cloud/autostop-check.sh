#!/bin/sh
# autostop-check.sh — shut the host down once it has been idle long enough.
#
# Run by cron every minute on the host (installed by `orch host autostop 30m`,
# through crontab-line.sh with the marker "orch:autostop"), e.g.:
#   crontab-line.sh install --marker orch:autostop --line \
#     '* * * * * /bin/sh /path/to/autostop-check.sh --idle-minutes 30 --tmux-socket orch >>"$HOME/.orch/autostop.log" 2>&1'
# (cron passes no ORCH_* variables: give every non-default value as a flag).
# The default shutdown command needs passwordless sudo, as EC2's default
# users have.
#
# Usage:
#   autostop-check.sh [--idle-minutes N] [--root DIR] [--state-file FILE]
#                     [--shutdown-cmd CMD] [--tmux-socket NAME] [--verbose] [--dry-run]
#
#   --idle-minutes N    minutes of idleness before shutting down, N >= 1 (also "30m").
#                       Default: $ORCH_AUTOSTOP_MINUTES, else 30.
#   --root DIR          the job log root. Default: $ORCH_LOG_ROOT, else $HOME/logs.
#   --state-file FILE   where the last busy time is kept.
#                       Default: $HOME/.orch/autostop.state
#   --shutdown-cmd CMD  run with `sh -c CMD` when idle long enough.
#                       Default: sudo shutdown -h now
#   --tmux-socket NAME  the tmux server to look at (tmux -L NAME).
#                       Default: $ORCH_TMUX_SOCKET, else tmux's default server.
#   --verbose           print the decision (busy/idle and why) on stdout.
#   --dry-run           decide and print, but change no state and shut nothing down.
#
# The host is BUSY when any of these holds:
#   1. a job is alive: <root>/<job>/pid names a live process (kill -0);
#   2. a job is queued: <root>/<job>/queued exists and run.log's last line does
#      not start with "[EXIT:";
#   3. the tmux server has at least one session (a job's session, or a person's);
#   4. an SSH session is open: an authenticated sshd session process exists
#      (process title "sshd: USER@pts/N" or "sshd: USER@notty", or
#      "sshd-session: USER@..." with OpenSSH >= 9.8), found with pgrep, or ps
#      when there is no pgrep; or `who` lists a login.
#      The sshd process is the reliable signal: it exists for every
#      authenticated connection, with or without a terminal (orch's own
#      `ssh host cmd` calls, scp/sftp, IDE remotes), whereas `who` only sees
#      sessions that got a pty and wrote utmp. Unauthenticated connections
#      ("[preauth]", "[net]", "[priv]") never match, so internet scanners cannot
#      keep the host up. `who` is kept as an extra signal for console logins.
#   An unreadable log root also counts as busy (we cannot prove it is idle).
#
# State file (key=value lines, written atomically):
#   last_busy=EPOCH    the last time the host was seen busy. When the state file
#                      is missing or unreadable, it is created with "now", so
#                      the idle clock starts at the first run.
#   shutdown_at=EPOCH  set when the shutdown command was run, with its exit
#   shutdown_rc=N      status. While set, the command is not run again unless
#                      the host is still up and idle a whole idle period later
#                      (the shutdown did not happen). Seeing the host busy
#                      clears both.
# A last_busy older than the current boot (boot time from /proc/uptime) is
# reset to "now": a host that was stopped and started again gets a full idle
# period, and is never shut down by the previous boot's clock.
#
# The shutdown command runs only when the host is idle now AND has been idle for
# at least N minutes since last_busy. The job checks are repeated right before
# it runs. It never runs while a job is running or queued.
#
# Environment: ORCH_AUTOSTOP_MINUTES, ORCH_LOG_ROOT, ORCH_TMUX_SOCKET (defaults
# above), TMUX_TMPDIR (where tmux looks for its socket), ORCH_PROC_UPTIME (tests
# only: a file to read instead of /proc/uptime).
#
# Exit codes:
#   0  checked (busy, idle, or shut down)
#   1  the state file could not be written
#   2  bad arguments
#   3  the shutdown command failed (its status is recorded; stderr says why)
set -u
LC_ALL=C
export LC_ALL

prog=autostop-check.sh

usage() {
  echo "usage: $prog [--idle-minutes N] [--root DIR] [--state-file FILE] [--shutdown-cmd CMD] [--tmux-socket NAME] [--verbose] [--dry-run]" >&2
  exit 2
}

die_usage() {
  echo "$prog: $1" >&2
  usage
}

idle_minutes=${ORCH_AUTOSTOP_MINUTES:-30}
root=${ORCH_LOG_ROOT:-}
state_file=
shutdown_cmd='sudo shutdown -h now'
tmux_socket=${ORCH_TMUX_SOCKET:-}
verbose=0
dry_run=0

need_value() {
  [ "$1" -ge 2 ] || die_usage "$2 needs a value"
}

while [ $# -gt 0 ]; do
  case $1 in
    --idle-minutes) need_value $# "$1"; idle_minutes=$2; shift 2 ;;
    --idle-minutes=*) idle_minutes=${1#*=}; shift ;;
    --root) need_value $# "$1"; root=$2; shift 2 ;;
    --root=*) root=${1#*=}; shift ;;
    --state-file) need_value $# "$1"; state_file=$2; shift 2 ;;
    --state-file=*) state_file=${1#*=}; shift ;;
    --shutdown-cmd) need_value $# "$1"; shutdown_cmd=$2; shift 2 ;;
    --shutdown-cmd=*) shutdown_cmd=${1#*=}; shift ;;
    --tmux-socket) need_value $# "$1"; tmux_socket=$2; shift 2 ;;
    --tmux-socket=*) tmux_socket=${1#*=}; shift ;;
    --verbose|-v) verbose=1; shift ;;
    --dry-run) dry_run=1; verbose=1; shift ;;
    -h|--help)
      sed -n '2,/^set -u/p' "$0" 2>/dev/null | sed '$d' | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die_usage "unknown argument: $1" ;;
  esac
done

idle_minutes=${idle_minutes%m}
case $idle_minutes in
  ''|*[!0123456789]*) die_usage "--idle-minutes must be a whole number of minutes (at least 1), got '$idle_minutes'" ;;
esac
while :; do
  case $idle_minutes in
    0?*) idle_minutes=${idle_minutes#0} ;;
    *) break ;;
  esac
done
[ "$idle_minutes" -ge 1 ] || die_usage "--idle-minutes must be at least 1"
[ -n "$shutdown_cmd" ] || die_usage "--shutdown-cmd must not be empty"

expand_home() {
  case $1 in
    \~) printf '%s\n' "${HOME:-}" ;;
    \~/*) printf '%s/%s\n' "${HOME:-}" "${1#\~/}" ;;
    *) printf '%s\n' "$1" ;;
  esac
}

if [ -z "$root" ]; then
  [ -n "${HOME:-}" ] || die_usage "HOME is not set; pass --root DIR"
  root=$HOME/logs
fi
root=$(expand_home "$root")
if [ -z "$state_file" ]; then
  [ -n "${HOME:-}" ] || die_usage "HOME is not set; pass --state-file FILE"
  state_file=$HOME/.orch/autostop.state
fi
state_file=$(expand_home "$state_file")

note() {
  [ "$verbose" = 1 ] && printf '%s\n' "$*"
  return 0
}

now() {
  _t=$(date +%s 2>/dev/null)
  case $_t in
    ''|*[!0123456789]*)
      # POSIX fallback: srand() returns the previous seed, the time of day.
      _t=$(awk 'BEGIN { srand(); print srand() }')
      ;;
  esac
  printf '%s\n' "$_t"
}

valid_job_name() {
  [ ${#1} -le 64 ] || return 1
  case $1 in
    ''|[!abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789]*) return 1 ;;
    *[!abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-]*) return 1 ;;
  esac
  return 0
}

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
  [ "$_pid" != 0 ] || return 1
  kill -0 "$_pid" 2>/dev/null && return 0
  [ -d "/proc/$_pid" ] && return 0
  return 1
}

job_finished() {
  [ -f "$1/run.log" ] || return 1
  _last=$(tail -n 1 "$1/run.log" 2>/dev/null) || return 1
  case $_last in
    '[EXIT:'*) return 0 ;;
  esac
  return 1
}

job_queued() {
  { [ -e "$1/queued" ] || [ -h "$1/queued" ]; } || return 1
  job_finished "$1" && return 1
  return 0
}

# busy_jobs: sets $reason and succeeds when a job is running or queued.
busy_jobs() {
  [ -e "$root" ] || return 1
  if [ ! -d "$root" ] || [ ! -r "$root" ] || [ ! -x "$root" ]; then
    reason="log root $root is unreadable"
    return 0
  fi
  for _dir in "$root"/*; do
    [ -d "$_dir" ] || continue
    _name=${_dir##*/}
    valid_job_name "$_name" || continue
    if job_alive "$_dir"; then
      reason="job $_name is running"
      return 0
    fi
    if job_queued "$_dir"; then
      reason="job $_name is queued"
      return 0
    fi
  done
  return 1
}

busy_tmux() {
  command -v tmux >/dev/null 2>&1 || return 1
  if [ -n "$tmux_socket" ]; then
    _sessions=$(tmux -L "$tmux_socket" list-sessions -F '#{session_name}' 2>/dev/null) || return 1
  else
    _sessions=$(tmux list-sessions -F '#{session_name}' 2>/dev/null) || return 1
  fi
  [ -n "$_sessions" ] || return 1
  reason="tmux session $(printf '%s\n' "$_sessions" | head -n 1) exists"
  return 0
}

ssh_pattern='^sshd(-session)?: [^ ]+@'

# ssh_session_open: an authenticated sshd session process exists.
ssh_session_open() {
  if command -v pgrep >/dev/null 2>&1; then
    pgrep -f "$ssh_pattern" >/dev/null 2>&1
    return
  fi
  # No pgrep (busybox): list every process's command line with ps. busybox ps
  # shows "{sshd} sshd: user@notty" when argv[0] differs from the command name.
  # shellcheck disable=SC2009 # pgrep is not there
  { ps -e -o args= 2>/dev/null || ps -o args 2>/dev/null; } \
    | grep -E '^[[:space:]]*([{][^}]*[}][[:space:]]+)?sshd(-session)?: [^ ]+@' >/dev/null 2>&1
}

busy_ssh() {
  if ssh_session_open; then
    reason="an SSH session is open"
    return 0
  fi
  if command -v who >/dev/null 2>&1; then
    _who=$(who 2>/dev/null | head -n 1)
    if [ -n "$_who" ]; then
      reason="a login session is open ($_who)"
      return 0
    fi
  fi
  return 1
}

host_busy() {
  reason=
  busy_jobs && return 0
  busy_tmux && return 0
  busy_ssh && return 0
  return 1
}

# --- state file -------------------------------------------------------------

last_busy=
shutdown_at=
shutdown_rc=

read_state() {
  [ -f "$state_file" ] || return 1
  while IFS= read -r _line || [ -n "$_line" ]; do
    case $_line in
      last_busy=*) last_busy=${_line#last_busy=} ;;
      shutdown_at=*) shutdown_at=${_line#shutdown_at=} ;;
      shutdown_rc=*) shutdown_rc=${_line#shutdown_rc=} ;;
    esac
  done <"$state_file"
  case $last_busy in ''|*[!0123456789]*) last_busy= ; return 1 ;; esac
  case $shutdown_at in *[!0123456789]*) shutdown_at= ;; esac
  case $shutdown_rc in *[!0123456789]*) shutdown_rc= ;; esac
  return 0
}

write_state() {
  [ "$dry_run" = 1 ] && return 0
  _dir=$(dirname -- "$state_file")
  if [ ! -d "$_dir" ]; then
    (umask 077 && mkdir -p -- "$_dir") || { echo "$prog: cannot create $_dir" >&2; exit 1; }
  fi
  _tmp=$state_file.tmp.$$
  # shellcheck disable=SC2015 # either step failing means "not written"
  {
    printf 'last_busy=%s\n' "$last_busy"
    [ -n "$shutdown_at" ] && printf 'shutdown_at=%s\n' "$shutdown_at"
    [ -n "$shutdown_rc" ] && printf 'shutdown_rc=%s\n' "$shutdown_rc"
    :
  } >"$_tmp" 2>/dev/null && mv -f -- "$_tmp" "$state_file" 2>/dev/null || {
    rm -f -- "$_tmp"
    echo "$prog: cannot write the state file $state_file" >&2
    exit 1
  }
}

# --- one check ----------------------------------------------------------------

# A simple lock so two overlapping runs cannot both shut down. A lock older
# than 10 minutes is left over from a killed run and is taken over.
lock=$state_file.lock
if [ "$dry_run" = 0 ]; then
  _dir=$(dirname -- "$state_file")
  [ -d "$_dir" ] || (umask 077 && mkdir -p -- "$_dir") || { echo "$prog: cannot create $_dir" >&2; exit 1; }
  if ! mkdir -- "$lock" 2>/dev/null; then
    if [ -n "$(find "$lock" -prune -mmin +10 2>/dev/null)" ]; then
      rmdir -- "$lock" 2>/dev/null
      mkdir -- "$lock" 2>/dev/null || exit 0
    else
      note "another check is running"
      exit 0
    fi
  fi
  trap 'rmdir -- "$lock" 2>/dev/null' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
fi

t=$(now)
limit=$((idle_minutes * 60))

if host_busy; then
  last_busy=$t
  shutdown_at=
  shutdown_rc=
  write_state
  note "busy: $reason"
  exit 0
fi

if ! read_state; then
  last_busy=$t
  shutdown_at=
  shutdown_rc=
  write_state
  note "idle; idle clock started now (no usable state file before)"
  exit 0
fi

# boot_time: the epoch second this host booted, from /proc/uptime (Linux).
boot_time() {
  _uptime_file=${ORCH_PROC_UPTIME:-/proc/uptime}
  [ -r "$_uptime_file" ] || return 1
  _up=
  read -r _up _rest <"$_uptime_file" 2>/dev/null || [ -n "$_up" ] || return 1
  _up=${_up%%.*}
  case $_up in ''|*[!0123456789]*) return 1 ;; esac
  printf '%s\n' $((t - _up))
}

# A last_busy from before this boot (5 s of slack for the rounding of
# /proc/uptime) belongs to the previous run of the host: start a fresh idle
# period now instead of shutting down right after a start.
if boot=$(boot_time) && [ $((last_busy + 5)) -lt "$boot" ]; then
  last_busy=$t
  shutdown_at=
  shutdown_rc=
  write_state
  note "idle; the host booted since the last check, idle clock restarted"
  exit 0
fi

if [ "$t" -lt "$last_busy" ]; then
  # The clock went backwards: restart the idle clock rather than guess.
  last_busy=$t
  shutdown_at=
  shutdown_rc=
  write_state
  note "idle; clock went backwards, idle clock restarted"
  exit 0
fi

idle=$((t - last_busy))
if [ "$idle" -lt "$limit" ]; then
  note "idle for $((idle / 60)) min of $idle_minutes"
  exit 0
fi

if [ -n "$shutdown_at" ] && [ $((t - shutdown_at)) -lt "$limit" ]; then
  note "idle for $((idle / 60)) min; shutdown already requested at $shutdown_at (status ${shutdown_rc:-0})"
  exit 0
fi

# Last guard: look at the jobs once more right before shutting down.
if host_busy; then
  last_busy=$(now)
  shutdown_at=
  shutdown_rc=
  write_state
  note "busy: $reason"
  exit 0
fi

if [ "$dry_run" = 1 ]; then
  note "idle for $((idle / 60)) min of $idle_minutes: would run: $shutdown_cmd"
  exit 0
fi

# Record the attempt first, so a shutdown that kills us mid-way is not repeated.
shutdown_at=$t
shutdown_rc=0
write_state
rmdir -- "$lock" 2>/dev/null
echo "$prog: idle for $((idle / 60)) min (limit $idle_minutes): running: $shutdown_cmd"
sh -c "$shutdown_cmd" </dev/null
rc=$?
if [ "$rc" != 0 ]; then
  shutdown_rc=$rc
  write_state
  echo "$prog: the shutdown command failed with status $rc: $shutdown_cmd" >&2
  exit 3
fi
exit 0

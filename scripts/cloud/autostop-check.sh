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

# >>> job library: generated from src/jobs/sh/job-lib.sh by scripts/assemble-host-tools.mjs; do not edit >>>
# shellcheck shell=sh disable=SC2154 # $root and $sock are set by the script that carries this library
# orch's host-side definition of a job: the one place that says what a job directory is, what
# state it is in and whether its wrapper lives. Every control script orch sends (after the
# prelude) and every standalone host tool in scripts/cloud/ (inlined there by
# scripts/assemble-host-tools.mjs) uses it; nothing else decides a job's state.
#
# Callers set $root (the log root, ~ already expanded) and $sock (the tmux socket, '' = default).
#
# A job is a directory <root>/<name> with a valid name holding either
#   - meta.json (made by orch: see orch-wrapper.sh and start.sh for the other files), or
#   - run.log only (made by hand the protocol's way: tmux session <name>, output tee'd to run.log,
#     last line "[EXIT: N]").
#
# One record per job, one line, tab-separated, '-' for an empty field:
#   J name state exit reason started ended attempts queue_position wrapper_pid kind created
#     scheduler scheduler_job_id node meta
# state: QUEUED STARTING RUNNING DONE FAILED STOPPED; exit: the status it recorded; reason: why a
# job is FAILED or STOPPED without one (vanished: its wrapper or session is gone without writing
# it, e.g. a reboot; never-started: the start never completed), or what its record lacks although
# the status is known (log-write-failed: output was lost because run.log could not be written), or
# what a QUEUED job waits for besides a slot (approval: a person's yes, orch approve), or why a
# service ended for good (restart-storm, memory-limit: FAILED whatever its last status) or, while
# it runs, was last restarted (exited, crashed, memory-limit, reboot); started, ended, created: epoch
# seconds on the host; kind: orch | manual; scheduler: tmux | slurm (what runs the wrapper: a
# tmux session on this host, or a Slurm batch job on a node of the cluster this host submits to);
# scheduler_job_id, node: Slurm's job id and the node it runs or ran on; meta: meta.json's first
# line (JSON), always last.
#
# Finished jobs never change, so their records are kept in <root>/.orch-index and read from there
# (one line each) instead of from their directories. The index is only a cache: a record is used
# only while its directory exists and no start marker (<root>/.orch-active/<name>.<token>, made
# by start.sh for every new job directory) says the name was started again since.

# Exit statuses of the control scripts; src/jobs/host-scripts.ts SCRIPT_STATUS is the same table
# (pinned by test/unit/jobs/host-scripts.test.ts).
# shellcheck disable=SC2034 # a table: each script uses the statuses it needs
{
  EX_VANISHED=3
  EX_UNKNOWN_JOB=4
  EX_SHIP_TO_CLOUDWATCH=10
  EX_TMUX_MISSING=64
  EX_IN_USE=65
  EX_EXISTS=66
  EX_SESSION_FAILED=67
  EX_NO_CWD=68
  EX_NO_COMMIT=69
  EX_GIT_FAILED=70
  EX_ROOT_UNWRITABLE=71
  EX_SYNC_LOCK_BUSY=72
  EX_SYNC_UNPACK_FAILED=73
  EX_SYNC_INCOMPLETE=74
  EX_SYNC_PLACE_FAILED=75
  EX_TOOL_MISSING=76
  EX_NOT_GIT=77
  EX_PROCESS_TABLE=78
  EX_NO_SPACE=79
  EX_SLURM_REFUSED=80
  EX_SLURM_MISSING=81
  EX_SLURM_UNREACHABLE=82
}

# expand_home PATH: PATH with a leading ~ replaced by $HOME.
expand_home() {
  case $1 in
    \~) printf '%s\n' "${HOME:-}" ;;
    \~/*) printf '%s\n' "${HOME:-}/${1#\~/}" ;;
    *) printf '%s\n' "$1" ;;
  esac
}

# valid_job_name NAME: letters, digits, - and _, starting with a letter or digit, at most 64
# characters (src/jobs/names.ts holds the same rule; a test pins the two together).
valid_job_name() {
  [ ${#1} -le 64 ] || return 1
  case $1 in
    '' | [!A-Za-z0-9]* | *[!A-Za-z0-9_-]*) return 1 ;;
  esac
  return 0
}

tmx() { if [ -n "${sock:-}" ]; then tmux -L "$sock" "$@"; else tmux "$@"; fi; }

# names_in DIR: the names in DIR (not those starting with a dot), sorted, one per line; nothing
# when DIR is missing. As ls, without starting a process: every listing reads two such directories.
names_in() {
  for _entry in "$1"/*; do
    if [ -e "$_entry" ] || [ -L "$_entry" ]; then printf '%s\n' "${_entry##*/}"; fi
  done
}

# The process table, read once: "PID ARGS" lines. A job's wrapper lives when its pid file names a
# process whose arguments run that job's orch-wrapper.sh, so a pid reused after a reboot never
# counts. An unreadable process table is an error (EX_PROCESS_TABLE), never "nothing runs".
process_table() {
  # -ww: never cut to the terminal's (or $COLUMNS') width, which would hide the wrapper's path.
  ps -A -ww -o pid= -o args= 2> /dev/null || ps -A -o pid= -o args= 2> /dev/null || ps -o pid= -o args= 2> /dev/null
}

# wrapper_alive NAME: the wrapper named by <root>/NAME/pid is running, by the same rule as the state
# program's (a pid reused by another process does not count). Fails when there is no pid file yet.
wrapper_alive() {
  _pid=$(cat "$root/$1/pid" 2> /dev/null) || return 1
  case $_pid in '' | *[!0-9]*) return 1 ;; esac
  process_table | awk -v pid="$_pid" -v path="/$1/orch-wrapper.sh" '$1 == pid && index($0, path) { found = 1 } END { exit !found }'
}

# The state program. Input sections: "@live" then process_table lines, "@slurm" (and "@sacct") then
# Slurm's word on the user's jobs (slurm_section), "@tickets" then the queue's ticket file names in
# order, "@active" then start marker names, "@index" then the names in the index with their meta
# (cut -f2,16,17), "@dirs" then job directory names.
# Environment: ORCH_ROOT, ORCH_SOCK, ORCH_NOW; ORCH_INDEX (the index file to read, '' = none);
# ORCH_INDEX_WRITE=1 for the one writer (the lock's holder): index updates on stderr (X <record>:
# add; C <marker>: consumed; R <name>: a Slurm job Slurm no longer holds, out of the registry
# <root>/.orch-slurm; W <record>: the whole rewritten index, when it held records no longer
# valid), and a vanished job's env.sh, its secrets, deleted at once;
# ORCH_ONLY_UNFINISHED=1 to print only jobs that have not finished.
# shellcheck disable=SC2016 # an awk program: its $ fields are awk's, not the shell's
JOB_STATE_AWK='
function q(s) { gsub(/\047/, "\047\\\047\047", s); return "\047" s "\047" }
function first(f,   line, r) { r = (getline line < f); close(f); return r > 0 ? line : (r == 0 ? "" : MISSING) }
function has(f,   line, r) { r = (getline line < f); close(f); return r >= 0 }
function second(f,   line, r) { r = (getline line < f); if (r > 0) r = (getline line < f); close(f); return r > 0 ? line : "" }
function num(s) { return s ~ /^[0-9]+$/ }
function valid(n) { return length(n) <= 64 && n ~ /^[A-Za-z0-9][A-Za-z0-9_-]*$/ }
function dash(s) { return s == "" || s == MISSING ? "-" : s }
# The JSON member KEY of a meta.json line ("KEY":"..."), or "". A quote inside a JSON string is
# always escaped, so an unescaped "KEY":" is the member itself, never text inside a value.
function member(json, key) { return match(json, "\"" key "\":\"([^\"\\\\]|\\\\.)*\"") ? substr(json, RSTART, RLENGTH) : "" }
# What a listing needs of meta.json (command, host, createdAt): records and the index stay small.
function brief(json,   c, h, t) {
  c = member(json, "command"); if (c == "") return json
  h = member(json, "host"); t = member(json, "createdAt")
  return "{" c (h == "" ? "" : "," h) (t == "" ? "" : "," t) priced(json) "}"
}
# The JSON member KEY of a meta.json line when it is a number ("KEY":1.5), or "".
function number_member(json, key) { return match(json, "\"" key "\":-?[0-9][0-9.eE+-]*") ? substr(json, RSTART, RLENGTH) : "" }
# What the cost and ETA of a job are computed from (orch run records them in meta.json), each ",member".
function priced(json,   out, m) {
  out = ""
  m = number_member(json, "hourlyPrice"); if (m != "") out = out "," m
  m = member(json, "currency"); if (m != "") out = out "," m
  m = member(json, "priceBasis"); if (m != "") out = out "," m
  m = number_member(json, "runtimeEstimateSeconds"); if (m != "") out = out "," m
  return out
}
# A job held for approval (orch run over ORCH_MAX_COST; start.sh writes "held") that has not
# had it (approve.sh writes "approved") nor been refused (stopped).
function awaiting_approval(d) { return has(d "/held") && !has(d "/approved") && !has(d "/stopped") }
function finished(state) { return state == "DONE" || state == "FAILED" || state == "STOPPED" }
function emit(n, rec, state) {
  if (only_unfinished && finished(state)) return
  if (state == "QUEUED") { queued_rec[n] = rec; return }
  print rec
}
# A pid file written no earlier than the second the process table was read: a wrapper ps could not
# have listed yet. (One-second resolution: such a job is STARTING for at most a second too long.)
function pid_after_ps(d,   cmd, at) {
  cmd = "date -r " q(d "/pid") " +%s 2>/dev/null"; at = ""; cmd | getline at; close(cmd)
  return num(at) && at + 0 >= ps_at
}
function evaluate(n,   why, d, meta, ex, pid, started, ended, att, state, reason, kind, created, last, cmd, alive, livepid, old) {
  token = ""; unsettled = 0
  d = root "/" n
  meta = first(d "/meta.json")
  state = ""; reason = "-"; ex = "-"; livepid = "-"
  if (meta == MISSING) {
    if (!has(d "/run.log")) return ""
    kind = "manual"; meta = "-"; started = "-"; ended = "-"; att = "-"
    cmd = "tail -n 1 " q(d "/run.log") " 2>/dev/null"; last = ""; cmd | getline last; close(cmd)
    cmd = "date -r " q(d "/run.log") " +%s 2>/dev/null"; created = ""; cmd | getline created; close(cmd)
    if (last ~ /^\[EXIT: [0-9]+\]$/) {
      ex = substr(last, 8, length(last) - 8); ended = dash(created)
      state = has(d "/stopped") ? "STOPPED" : (ex == "0") ? "DONE" : "FAILED"
    }
    else if (system(tmux " has-session -t " q("=" n) " >/dev/null 2>&1") == 0) state = "RUNNING"
    else { state = "FAILED"; reason = "vanished" }
    return "J\t" n "\t" state "\t" ex "\t" reason "\t" started "\t" ended "\t" att "\t-\t-\t" kind "\t" dash(created) "\ttmux\t-\t-\t" meta
  }
  kind = "orch"
  if (meta == "") meta = "-"; else meta = brief(meta)
  ex = first(d "/exit"); pid = first(d "/pid"); started = first(d "/started"); ended = first(d "/ended")
  att = first(d "/attempts")
  token = first(d "/marker"); created = token; sub(/_.*/, "", created)
  if (first(d "/scheduler") == "slurm") return slurm_record(n, d, meta, ex, started, ended, att, created)
  alive = num(pid) && (pid in live) && index(live[pid], "/" n "/orch-wrapper.sh") > 0
  if (num(ex)) {
    # The second line of the exit file says what is missing although the status is known (record_exit).
    why = second(d "/exit"); if (why ~ /^[a-z][a-z-]*$/) reason = why
    # A service that ended for good on its own failed, whatever the last exit status of its command.
    if (has(d "/stopped")) state = "STOPPED"; else state = (ex == "0" && reason != "restart-storm" && reason != "memory-limit") ? "DONE" : "FAILED"
  } else {
    ex = "-"
    if (alive) {
      livepid = pid
      # A service between restarts: why it was last restarted (orch-wrapper.sh writes it).
      why = first(d "/reason"); if (why ~ /^[a-z][a-z-]*$/) reason = why
      if (started == MISSING && awaiting_approval(d)) { state = "QUEUED"; reason = "approval" }
      else if (has(d "/queued") && started == MISSING) state = "QUEUED"
      else state = (started == MISSING) ? "STARTING" : "RUNNING"
    } else if (pid == MISSING) {
      # The wrapper writes its pid first thing; without one the start is under way, or died.
      if (num(created)) old = (now - created > 120)
      else old = (system("find " q(d "/meta.json") " -mmin +2 2>/dev/null | grep -q .") == 0)
      if (old) { state = "FAILED"; reason = "never-started" }
      else if (awaiting_approval(d)) { state = "QUEUED"; reason = "approval" }
      else state = "STARTING"
    } else if (pid_after_ps(d)) {
      # Its wrapper started after the process table was read: not seen yet, not gone.
      state = (started == MISSING) ? "STARTING" : "RUNNING"
    } else {
      state = has(d "/stopped") ? "STOPPED" : "FAILED"; reason = "vanished"
      # orch stop killed the wrapper a moment ago and is about to write the status: shown as it
      # is, never written into the index, whose records never change.
      if (state == "STOPPED" && num(first(d "/stopped")) && now - first(d "/stopped") < 120) unsettled = 1
      # Nothing of the job is left to delete its secrets: the first reader that can write does.
      # A service started again at boot (its file on-boot) keeps its environment for that start.
      # Deleted here, before the answer is out: a listing that saw the job vanished leaves no
      # secret behind it, whenever the index is written.
      if (writing && has(d "/env.sh") && !has(d "/on-boot")) system("rm -f " q(d "/env.sh"))
    }
  }
  return "J\t" n "\t" state "\t" ex "\t" reason "\t" dash(started) "\t" dash(ended) "\t" (num(att) ? att : 0) "\t-\t" livepid "\t" kind "\t" dash(created) "\ttmux\t-\t-\t" meta
}
# The Slurm states that end a job abnormally: a job that ended so is FAILED with the state as reason.
function abnormal(st) { return st == "TIMEOUT" || st == "OUT_OF_MEMORY" || st == "NODE_FAIL" || st == "PREEMPTED" || st == "BOOT_FAIL" || st == "DEADLINE" }
# The Slurm states of a job it still holds (waits, starts, runs or cleans up after).
function holds(st) { return st == "PENDING" || st == "CONFIGURING" || st == "RUNNING" || st == "COMPLETING" || st == "SUSPENDED" || st == "REQUEUED" || st == "REQUEUE_HOLD" || st == "REQUEUE_FED" || st == "RESV_DEL_HOLD" || st == "SIGNALING" || st == "STAGE_OUT" || st == "RESIZING" || st == "STOPPED" }
# A job run by Slurm (start.sh: the file "scheduler" says slurm, "slurm-id" holds the Slurm job id).
# Its wrapper lives on a node of the cluster, out of the process table here: while Slurm holds
# the job, Slurm says whether it waits or runs (the @slurm section: squeue, and sacct where there
# is accounting); the exit file of the job says how it ended. Without accounting Slurm forgets a job
# MinJobAge after its end: an abnormal end seen before then is kept in the file "slurm-state".
function slurm_record(n, d, meta, ex, started, ended, att, created,   id, st, why, node, kept, state, reason, old) {
  id = first(d "/slurm-id"); if (!num(id)) id = ""
  st = ""; why = ""; node = ""
  if (id != "" && (id in sq_state)) { st = sq_state[id]; why = sq_reason[id]; node = sq_node[id] }
  if (node == "" || node ~ /^\(/) { node = first(d "/node"); if (node == MISSING) node = "" }
  kept = first(d "/slurm-state"); if (!abnormal(kept)) kept = ""
  if (abnormal(st) && kept == "" && writing) { print st > (d "/slurm-state"); close(d "/slurm-state"); kept = st }
  if (abnormal(st)) kept = st
  reason = "-"
  if (st == "PENDING" || st ~ /^REQUEUE/ || st == "RESV_DEL_HOLD") {
    state = "QUEUED"; if (why != "" && why != "None") reason = why
  } else if (st == "CONFIGURING") state = "STARTING"
  else if (holds(st)) {
    # Its exit file may be written while Slurm still holds the job (the wrapper exits, the node
    # cleans up): running until Slurm lets it go, so prune never deletes a job Slurm holds.
    state = "RUNNING"; if (st == "SUSPENDED" || st == "STOPPED") reason = st
  } else if (num(ex)) {
    why = second(d "/exit"); if (why ~ /^[a-z][a-z-]*$/) reason = why
    if (has(d "/stopped")) state = "STOPPED"
    else if (kept != "") { state = "FAILED"; reason = kept }
    else state = (ex == "0") ? "DONE" : "FAILED"
  } else if (st != "") {
    # Slurm ended it and no exit file was written (the wrapper was killed), or it is on its way
    # (a shared file system shows it late): not written into the index while squeue lists it.
    if (!(id in from_sacct)) unsettled = 1
    if (has(d "/stopped")) state = "STOPPED"
    else { state = "FAILED"; reason = (kept != "") ? kept : (st == "CANCELLED" ? "CANCELLED" : "vanished") }
  } else if (id == "") {
    # Submitted, not yet answered by sbatch (or the submission died).
    old = num(created) ? (now - created > 120) : 1
    if (old) { state = "FAILED"; reason = "never-started" } else state = "STARTING"
  } else {
    if (has(d "/stopped")) state = "STOPPED"; else { state = "FAILED"; reason = (kept != "") ? kept : "vanished" }
  }
  if (!num(ex)) ex = "-"
  if (finished(state) && !unsettled) slurm_done[n] = 1
  return "J\t" n "\t" state "\t" ex "\t" reason "\t" dash(started) "\t" dash(ended) "\t" (num(att) ? att : 0) "\t-\t-\torch\t" dash(created) "\tslurm\t" dash(id) "\t" dash(node) "\t" meta
}
BEGIN {
  FS = "\n"; MISSING = "\001missing"
  root = ENVIRON["ORCH_ROOT"]; now = ENVIRON["ORCH_NOW"] + 0; ps_at = ENVIRON["ORCH_PS_AT"] + 0
  tmux = (ENVIRON["ORCH_SOCK"] != "") ? "tmux -L " q(ENVIRON["ORCH_SOCK"]) : "tmux"
  only_unfinished = ENVIRON["ORCH_ONLY_UNFINISHED"] == "1"
  writing = ENVIRON["ORCH_INDEX_WRITE"] == "1"
  index_file = ENVIRON["ORCH_INDEX"]; garbage = 0; indexed_n = 0; indexed_seen = 0
  # Only the names of the index are read (the @index section; indexed[name]: 1 = no directory seen
  # yet, 2 = its directory is there, 3 = a new start of the name, read from its directory); the
  # records go out in END, with one cat of the file when they all hold: at 100,000 jobs, a third of
  # the time of loading them.
}
# The last section: whatever the names under the root, none starts another.
section == "@dirs" {
  n = $0
  # A finished job of the index (the common case, kept cheap: no check of the name, no record).
  if (n in indexed) {
    if (!(n in active)) { if (indexed[n] == 1) { indexed[n] = 2; indexed_seen++ } ; next }
    indexed[n] = 3
  }
  consider(n)
  next
}
# The names of the index, one per line (cut -f2 of it); only @dirs ends it.
section == "@index" && $0 != "@dirs" {
  # name TAB meta (cut -f2,16,17 of a record): a record cut short, or glued to the next one, has
  # no meta of its own here. Such a line is not believed: the index is read the careful way, and
  # the job from its directory.
  t = index($0, "\t"); n = substr($0, 1, t - 1); m = substr($0, t + 1)
  if (t == 0 || index(m, "\t") || (m != "-" && substr(m, length(m)) != "}")) { garbage++; next }
  if (n in indexed) garbage++; else { indexed[n] = 1; indexed_n++ }
  next
}
/^@/ { section = $0; next }
section == "@live" {
  sub(/^ +/, "")
  p = $0; sub(/ .*/, "", p)
  if (index($0, "orch-wrapper.sh")) live[p] = substr($0, length(p) + 2)
  next
}
# The Slurm jobs of this user: id|state|reason|node (squeue; under "@sacct", sacct for those it no longer lists;
# sacct may read "CANCELLED by 1000").
section == "@slurm" || section == "@sacct" {
  split($0, sf, "|"); if (sf[1] !~ /^[0-9]+$/) next
  st = sf[2]; sub(/ .*/, "", st)
  sq_state[sf[1]] = st; sq_reason[sf[1]] = sf[3]; sq_node[sf[1]] = sf[4]
  if (section == "@sacct") from_sacct[sf[1]] = 1
  next
}
section == "@tickets" { if (sub(/^ticket-[0-9]*-/, "")) tickets[++ntickets] = $0; next }
section == "@active" {
  # <name>.<epoch>_<pid>
  n = $0; sub(/\.[^.]*$/, "", n)
  t = $0; sub(/^.*\./, "", t); sub(/_.*/, "", t)
  active[n] = 1; markers[n] = markers[n] "\n" $0
  if (!(n in marked_at) || t + 0 > marked_at[n]) marked_at[n] = t + 0
  next
}
# consider NAME: the record of the directory NAME under the root, when it is a job directory, printed (or
# held for the queue to order); with ORCH_INDEX_WRITE, a finished one added to the index.
function consider(n,   rec, m, ms, i, t, mt) {
  if (!valid(n) || (n in seen)) return
  seen[n] = 1
  rec = evaluate(n)
  if (rec == "") return
  split(rec, f, "\t")
  emit(n, rec, f[3])
  if (writing && finished(f[3]) && f[11] == "orch" && !unsettled) {
    if (n in indexed) garbage++
    added[n] = 1
    print "X\t" rec > "/dev/stderr"
    if (n in slurm_done) print "R\t" n > "/dev/stderr"
    # Only the marker of this very job, or one of a start that failed long ago: a marker made since
    # belongs to a new start of the name and must stay.
    m = split(markers[n], ms, "\n")
    for (i = 2; i <= m; i++) {
      t = ms[i]; sub(/^[^.]*\./, "", t); mt = t; sub(/_.*/, "", mt)
      if (t == token || now - mt > 600) print "C\t" ms[i] > "/dev/stderr"
    }
  }
}
# The records of the index whose directories are there, when they cannot simply be the whole file
# (see index_whole): the file is read and checked line by line, a job whose line does not hold is
# read from its directory, and a writer rewrites the index. That is when a directory was removed
# by hand, a line is damaged or doubled, a name was started again, or another lister holds the
# index, which may then change under this one between its names and a cat.
function indexed_records(   line, nf, f, n, keep, r) {
  if (index_file == "" || index_whole() || (only_unfinished && !writing)) return
  while ((r = (getline line < index_file)) > 0) {
    nf = split(line, f, "\t")
    if (nf != 16 || f[1] != "J" || !valid(f[2]) || !finished(f[3]) || f[16] !~ /(^-|\})$/) { garbage++; continue }
    if (indexed[f[2]] == 2) keep[f[2]] = line
  }
  close(index_file)
  if (r < 0) garbage++
  for (n in indexed) {
    if (indexed[n] == 1) garbage++
    else if (indexed[n] == 2 && !(n in keep)) consider(n)
  }
  for (n in keep) {
    if (!only_unfinished) print keep[n]
  }
  if (writing && garbage > 0) for (n in keep) print "W\t" keep[n] > "/dev/stderr"
}
# Whether the records of the index are the whole file: every line whole, every name once with its
# directory, none started again, and this lister its only writer.
function index_whole() {
  return index_file != "" && writing && garbage == 0 && indexed_seen == indexed_n
}
END {
  indexed_records()
  pos = 0
  for (i = 1; i <= ntickets; i++) {
    n = tickets[i]
    if (!(n in queued_rec) || (n in placed)) continue
    placed[n] = 1; split(queued_rec[n], f, "\t"); f[9] = ++pos
    line = f[1]; for (k = 2; k <= 16; k++) line = line "\t" f[k]
    print line
  }
  for (n in queued_rec) if (!(n in placed)) print queued_rec[n]
  # Last, so that a file without its final newline runs into nothing printed after it. A cat that
  # fails may have printed part of the file: the listing fails rather than list a job twice or
  # not at all.
  if (index_whole() && !only_unfinished) {
    fflush()
    if (system("cat " q(index_file)) != 0) {
      print "the index of finished jobs (" index_file ") could not be read: delete it, and the next listing rebuilds it" > "/dev/stderr"
      exit 1
    }
  }
  if (!writing) exit
  # A marker whose directory never appeared (a failed start) or is gone (pruned) is dropped once
  # it is old enough that no start can still be between making it and making the directory.
  for (n in markers) if (!(n in seen) && now - marked_at[n] > 600) { m = split(markers[n], ms, "\n"); for (i = 2; i <= m; i++) print "C\t" ms[i] > "/dev/stderr" }
}'

# state_awk INDEX WRITE UNFINISHED: the state program over stdin (see JOB_STATE_AWK's environment).
state_awk() {
  ORCH_ROOT=$root ORCH_SOCK=${sock:-} ORCH_NOW=${_ps_at:-$(date +%s)} ORCH_PS_AT=${_ps_at:-99999999999} ORCH_INDEX=$1 ORCH_INDEX_WRITE=$2 ORCH_ONLY_UNFINISHED=${3:+1} awk "$JOB_STATE_AWK"
}

# job_records [unfinished]: one record per job under $root (see the header), finished jobs read
# from the index. With "unfinished", only jobs not finished. Fails with EX_PROCESS_TABLE when ps
# cannot be read. With index_later set, the index is written in the background once the records
# are out (the list script: a caller waits for nothing but its answer).
job_records() {
  [ -d "$root" ] || return 0
  _ps_at=$(date +%s)
  _ps=$(process_table) || return "$EX_PROCESS_TABLE"
  [ -n "$_ps" ] || return "$EX_PROCESS_TABLE"
  _index=$root/.orch-index _write=0 _updates=
  # One writer of the index at a time; a lock left by a killed lister is broken after a minute.
  # (It holds its updates file: moved aside whole, by one lister only, then removed.)
  if mkdir "$root/.orch-index.lock" 2> /dev/null || { [ -n "$(find "$root/.orch-index.lock" -maxdepth 0 -mmin +1 2> /dev/null)" ] && mv "$root/.orch-index.lock" "$root/.orch-index.lock.stale.$$" 2> /dev/null && rm -rf "$root/.orch-index.lock.stale.$$" && mkdir "$root/.orch-index.lock" 2> /dev/null; }; then
    _updates=$root/.orch-index.lock/updates
    if : > "$_updates" 2> /dev/null; then _write=1; else rmdir "$root/.orch-index.lock" 2> /dev/null; _updates=; fi
  fi
  [ -f "$_index" ] || _index=
  # Slurm is asked only while a job it ran is not yet in the index (the registry, start.sh).
  _slurm=
  if [ -d "$root/.orch-slurm" ]; then
    _ids=$(cd "$root/.orch-slurm" 2> /dev/null && cat -- * 2> /dev/null | tr '\n' ' ')
    if [ -n "${_ids% }" ]; then _slurm=$(slurm_section "$_ids") || return $?; fi
  fi
  {
    echo @live
    printf '%s\n' "$_ps"
    [ -n "$_slurm" ] && printf '%s\n' "$_slurm"
    echo @tickets
    names_in "$root/.orch-queue"
    echo @active
    names_in "$root/.orch-active"
    # The names of the index, each with its meta to tell a whole line (the records stay in the
    # file: see JOB_STATE_AWK).
    if [ -n "$_index" ]; then
      echo @index
      cut -f2,16,17 "$_index"
    fi
    echo @dirs
    # Every entry in directory order (no sort, no stat: a tenth of find's time at 100,000 jobs);
    # the state program skips what is not a job directory.
    (cd "$root" && { ls -f 2> /dev/null || ls -a; })
  } | if [ "$_write" = 1 ]; then state_awk "$_index" 1 "${1:-}" 2> "$_updates"; else state_awk "$_index" 0 "${1:-}"; fi
  _rc=$?
  if [ "$_write" = 1 ]; then
    if [ "$_rc" = 0 ] && [ -n "${index_later:-}" ]; then
      # The answer is out (the state program has ended): filing away what it learned need not hold
      # the caller. Detached from this script's output, so that its end is the answer's end.
      index_apply "$_updates" < /dev/null > /dev/null 2>&1 &
    elif [ "$_rc" = 0 ]; then
      index_apply "$_updates"
    else
      grep -v '^[XCWSR]	' "$_updates" >&2
      rm -rf "$root/.orch-index.lock"
    fi
  fi
  return "$_rc"
}

# index_apply UPDATES: add the newly finished records, or rewrite the index when it held records
# that are no longer valid; then drop the start markers those records consumed, and the lock
# (<root>/.orch-index.lock, which holds UPDATES). A failed write (a full disk) leaves the index as
# it was: it is only a cache.
index_apply() {
  if [ ! -s "$1" ]; then
    rm -rf "$root/.orch-index.lock"
    return 0
  fi
  _updates_file=$1 _added=0 _rewrite=0 _consumed='' _released=''
  # One pass over the updates says what to do, as shell words: a listing after a job ended starts
  # four processes here, not eleven. Names are checked first (job names, start markers), so the
  # words are safe to split.
  # shellcheck disable=SC2016 # an awk program: its $ fields are awk's
  _plan=$(awk -F '\t' '
    $1 == "X" { x = 1; next }
    $1 == "W" { w = 1; next }
    $1 == "C" && $2 ~ /^[A-Za-z0-9][A-Za-z0-9_-]*[.][0-9]+_[0-9]+$/ { c = c " " $2; next }
    $1 == "R" && $2 ~ /^[A-Za-z0-9][A-Za-z0-9_-]*$/ { r = r " " $2; next }
    END { printf "_added=%d _rewrite=%d _consumed=\"%s\" _released=\"%s\"\n", x, w, c, r }' "$_updates_file") || _plan=
  eval "$_plan"
  # What is deleted at the end, in one rm: the new index if it was not put in place, the consumed
  # markers, and last the lock.
  set --
  # Never appended in place: a write cut short (a full disk) would leave a line in pieces, and the
  # next one glued to it. A new file, complete, takes the old one's place, or nothing changes (and
  # the markers stay, for the next listing to index their jobs). One sed writes it: the kept
  # records (W) or the index as it is, then the new ones (X); it must end with a whole line (a
  # sed may say nothing of a write the disk cut short).
  _indexed=1
  if [ "$_rewrite" = 1 ] || [ "$_added" = 1 ]; then
    if [ "$_rewrite" = 0 ] && [ -f "$root/.orch-index" ]; then
      set -- "$@" "$root/.orch-index.new"
      sed -n '/^J	/p; s/^X	//p' "$root/.orch-index" "$_updates_file" > "$root/.orch-index.new" 2> /dev/null
    else
      set -- "$@" "$root/.orch-index.new"
      sed -n 's/^[WX]	//p' "$_updates_file" > "$root/.orch-index.new" 2> /dev/null
    fi && { [ ! -s "$root/.orch-index.new" ] || [ -z "$(tail -c 1 "$root/.orch-index.new")" ]; } && mv -f "$root/.orch-index.new" "$root/.orch-index" 2> /dev/null || _indexed=0
  fi
  if [ "$_indexed" = 1 ]; then
    for _marker in $_consumed; do set -- "$@" "$root/.orch-active/$_marker"; done
    for _name in $_released; do set -- "$@" "$root/.orch-slurm/$_name"; done
  fi
  rm -rf "$@" "$root/.orch-index.lock" 2> /dev/null
  return 0
}

# slurm_tool NAME: the path of Slurm's client command NAME: on PATH, else where AWS ParallelCluster
# installs it (/opt/slurm/bin, put on PATH only by login shells' profile). Fails when there is none.
slurm_tool() {
  command -v "$1" 2> /dev/null && return 0
  [ -x "/opt/slurm/bin/$1" ] && echo "/opt/slurm/bin/$1"
}

# slurm_section IDS: the state program's @slurm section: "@slurm", then id|state|reason|node of
# this user's jobs Slurm holds (one squeue), then sacct's lines for those of IDS (space-separated)
# squeue no longer lists, where the cluster keeps accounting. Fails with EX_SLURM_MISSING (no
# squeue) or EX_SLURM_UNREACHABLE (squeue failed; its message on stderr): a job's state is never
# guessed without Slurm's word.
slurm_section() {
  _sq=$(slurm_tool squeue) || return "$EX_SLURM_MISSING"
  _sq_out=$("$_sq" -h -t all -u "$(id -un)" -o '%i|%T|%r|%N' 2>&1) || { printf '%s\n' "$_sq_out" >&2; return "$EX_SLURM_UNREACHABLE"; }
  echo @slurm
  printf '%s\n' "$_sq_out"
  _gone=$(printf '%s\n' "$_sq_out" | awk -F '|' -v ids="$1" 'BEGIN { n = split(ids, a, " ") } { held[$1] = 1 } END { for (i = 1; i <= n; i++) if (a[i] ~ /^[0-9]+$/ && !(a[i] in held)) printf "%s%s", (c++ ? "," : ""), a[i] }')
  if [ -n "$_gone" ] && _sa=$(slurm_tool sacct); then
    echo @sacct
    # No accounting (no slurmdbd): sacct fails, and the job directories are the only record.
    "$_sa" -n -X -P -j "$_gone" -o JobIDRaw,State,Reason,NodeList 2> /dev/null
  fi
  return 0
}

# job_record NAME: the record of one job, read from its directory (never the index). Fails with
# EX_UNKNOWN_JOB when <root>/NAME is not a job, EX_PROCESS_TABLE when ps cannot be read.
job_record() {
  valid_job_name "$1" || return "$EX_UNKNOWN_JOB"
  [ -d "$root/$1" ] || return "$EX_UNKNOWN_JOB"
  _ps_at=$(date +%s)
  _ps=$(process_table) || return "$EX_PROCESS_TABLE"
  [ -n "$_ps" ] || return "$EX_PROCESS_TABLE"
  # A Slurm job not yet ended (no exit file): Slurm says whether it waits or runs.
  _slurm=
  if [ -f "$root/$1/slurm-id" ] && [ ! -f "$root/$1/exit" ]; then _slurm=$(slurm_section "$(cat "$root/$1/slurm-id")") || return $?; fi
  _rec=$({
    echo @live
    printf '%s\n' "$_ps"
    [ -n "$_slurm" ] && printf '%s\n' "$_slurm"
    echo @tickets
    names_in "$root/.orch-queue"
    echo @dirs
    printf '%s\n' "$1"
  } | state_awk '' 0 '') || return "$EX_PROCESS_TABLE"
  [ -n "$_rec" ] || return "$EX_UNKNOWN_JOB"
  printf '%s\n' "$_rec"
}

# job_load NAME: job_record into variables: job_state, job_exit, job_reason, job_pid ('' when the
# wrapper is not alive), job_kind (orch | manual). Same failures as job_record.
job_load() {
  _line=$(job_record "$1") || return $?
  _tab=$(printf '\t')
  # shellcheck disable=SC2034 # not every script reads every field
  IFS=$_tab read -r _j _n job_state job_exit job_reason _s _e _a _q job_pid job_kind _c job_scheduler job_slurm_id _rest << ORCH_RECORD
$_line
ORCH_RECORD
  [ "$job_exit" = - ] && job_exit=
  [ "$job_reason" = - ] && job_reason=
  [ "$job_pid" = - ] && job_pid=
  [ "$job_slurm_id" = - ] && job_slurm_id=
  return 0
}

# job_finished: after job_load, whether the job is over (DONE, FAILED or STOPPED).
job_finished() {
  case $job_state in DONE | FAILED | STOPPED) return 0 ;; esac
  return 1
}

# mark_started NAME: the start marker of a new job directory (see the header), made before the
# directory is, so a lister that sees the directory also sees that an indexed record of the name is
# stale. Sets $marker_token; the job directory keeps it in its file "marker".
mark_started() {
  marker_token=$(date +%s)_$$
  mkdir -p "$root/.orch-active" 2> /dev/null && : > "$root/.orch-active/$1.$marker_token"
}

# record_exit DIR CODE [REASON]: the job's exit status (and REASON: log-write-failed), as the file
# DIR/exit, whole or not at all. start.sh pre-allocates DIR/exit.tmp (SLOT_BYTES), so this is an
# overwrite in place that needs no new disk space: a full disk cannot lose the status.
# shellcheck disable=SC2034 # used by start.sh
SLOT_BYTES=64
record_exit() {
  printf '%s\n%s\n' "$2" "${3:-}" 1<> "$1/exit.tmp" && mv -f "$1/exit.tmp" "$1/exit"
}

# The tag every process of a job's command carries in its environment: ORCH_JOB_ID=<name>.<start
# token> (the token of DIR/marker), exported by the wrapper just before the command runs and
# inherited by everything it starts. A process that leaves the job's process group and session
# (setsid, a daemon's double fork) still carries it, so orch stop finds it (Linux: /proc). What
# escapes: a process that also drops the variable (env -i, sudo, a service manager).
# job_tag NAME: the tag's value for the job <root>/NAME (fails without a marker).
job_tag() {
  _tok=$(head -n 1 "$root/$1/marker" 2> /dev/null) || return 1
  case $_tok in '' | *[!0-9_]*) return 1 ;; esac
  printf '%s.%s\n' "$1" "$_tok"
}

# strays TAG [PGID]: pids of the processes carrying ORCH_JOB_ID=TAG outside process group PGID
# (all of them without one), this script aside. Nothing where there is no /proc.
strays() {
  [ -r /proc/self/environ ] || return 0
  if printf 'A=1\0' | grep -qzxF 'A=1' 2> /dev/null; then
    grep -lzxF "ORCH_JOB_ID=$1" /proc/[0-9]*/environ 2> /dev/null
  else
    for _e in /proc/[0-9]*/environ; do tr '\000' '\n' < "$_e" 2> /dev/null | grep -qxF "ORCH_JOB_ID=$1" && echo "$_e"; done
  fi | while IFS= read -r _e; do
    _p=${_e#/proc/} _p=${_p%/environ}
    [ "$_p" = "$$" ] && continue
    [ -n "${2:-}" ] && [ "$(pgid_of "$_p")" = "$2" ] && continue
    echo "$_p"
  done
}

# pgid_of PID: its process group, from /proc/PID/stat (fields counted after the command name, which
# may hold spaces and parentheses: state ppid pgrp).
pgid_of() {
  _st=$(cat "/proc/$1/stat" 2> /dev/null) || return 1
  # shellcheck disable=SC2086 # split into fields on purpose
  set -- ${_st##*) }
  echo "${3:-}"
}

# end_strays TAG PGID SIGNAL: SIGNAL to every stray of the job (see strays). Fails when there was none.
end_strays() {
  _none=1
  for _p in $(strays "$1" "$2"); do kill "-$3" "$_p" 2> /dev/null && _none=0; done
  return "$_none"
}

# remove_boot_entry DIR: a service started with --on-boot is not started again at boot: its file
# on-boot goes (the @reboot line checks it first), then its crontab line, through the
# crontab-line.sh and the crontab command on-boot names (written by boot-entry.sh). Every other
# crontab line is kept byte for byte. Nothing when DIR has no on-boot.
remove_boot_entry() {
  [ -f "$1/on-boot" ] || return 0
  _boot_tool=$(sed -n 1p "$1/on-boot" 2> /dev/null) _boot_crontab=$(sed -n 2p "$1/on-boot" 2> /dev/null)
  rm -f "$1/on-boot"
  [ -f "$_boot_tool" ] || return 0
  CRONTAB=${_boot_crontab:-crontab} sh "$_boot_tool" remove --marker "orch:boot:${1##*/}" > /dev/null 2>&1
}

ensure_newline() { if [ -s "$1" ] && [ -n "$(tail -c 1 "$1")" ]; then printf '\n' >> "$1"; fi; }

# take_ticket NAME: a ticket in submission order for the parallel-slot queue (see orch-wrapper.sh):
# made by start.sh when the job is submitted, or by approve.sh when a job held for approval gets
# it (it held none while waiting, so it never blocked the queue). Nothing where flock is missing.
# The sequence number is replaced whole (a failed write never leaves it empty, which would restart
# the order). Fails printing the system's reason (e.g. a full disk).
take_ticket() {
  command -v flock > /dev/null 2>&1 || return 0
  mkdir -p "$root/.orch-queue" 2> /dev/null || return 1
  (
    flock 8 || exit 1
    _seq=$(cat "$root/.orch-queue/.seq" 2> /dev/null || echo 0)
    _seq=$((_seq + 1))
    { echo "$_seq" > "$root/.orch-queue/.seq.new" && [ -s "$root/.orch-queue/.seq.new" ] && mv -f "$root/.orch-queue/.seq.new" "$root/.orch-queue/.seq"; } || { rm -f "$root/.orch-queue/.seq.new"; exit 1; }
    : > "$root/.orch-queue/ticket-$(printf '%012d' "$_seq")-$1"
  ) 8> "$root/.orch-queue/.lock" 2>&1
}

# job_exists NAME: <root>/NAME is a job directory (made by orch or by hand).
job_exists() {
  valid_job_name "$1" && [ -d "$root/$1" ] && { [ -f "$root/$1/meta.json" ] || [ -f "$root/$1/run.log" ]; }
}
# <<< job library <<<
sock=$tmux_socket

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

# busy_jobs: sets $reason and succeeds when a job is running or queued.
busy_jobs() {
  [ -e "$root" ] || return 1
  if [ ! -d "$root" ] || [ ! -r "$root" ] || [ ! -x "$root" ]; then
    reason="log root $root is unreadable"
    return 0
  fi
  # One record per unfinished job (the job library): a host whose process table cannot be read is busy.
  _tab=$(printf '\t')
  _records=$(job_records unfinished) || { reason="the job states could not be read"; return 0; }
  [ -n "$_records" ] || return 1
  IFS=$_tab read -r _j _name _state _rest << ORCH_RECORDS
$_records
ORCH_RECORDS
  reason="job $_name is $(printf '%s' "$_state" | tr '[:upper:]' '[:lower:]')"
  return 0
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

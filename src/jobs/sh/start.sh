# shellcheck shell=sh disable=SC2154 # $root, $sock and job_* are set by job-lib.sh and prelude.sh, which controlScript sends first
# Create the job directory atomically (mkdir is the lock two racing runs contend for), write the
# command and secrets from stdin, then start the tmux session.
# $1 name, $2 replace (0|1), $3 command bytes, $4 env bytes, $5 meta JSON bytes, $6 cwd, $7 mode
# (tmux|local|slurm), $8 wrapper bytes, $9 wrapper options (KEY=value lines), $10 webhook URL
# bytes, $11 sbatch's options, one per line (mode slurm: the job is a Slurm batch job instead of a
# tmux session).
# Stdin: command, env file, webhook URL, meta JSON, wrapper. Everything of a size the user decides
# travels there as raw bytes (over SSH after the script itself: see src/hosts/script-envelope.ts).
# Exit: 0 ok (prints the dir), EX_TMUX_MISSING, EX_IN_USE, EX_EXISTS (finished), EX_SESSION_FAILED,
# EX_NO_CWD, EX_ROOT_UNWRITABLE, EX_NO_SPACE (a write failed, e.g. a full disk: prints the path and
# the system's reason, e.g. "No space left on device"), EX_SLURM_MISSING (no sbatch),
# EX_SLURM_REFUSED (prints what sbatch said; nothing is left behind).
name=$1 replace=$2 cmdlen=$3 envlen=$4 metalen=$5 cwd=$6 mode=$7 wrapperlen=$8 options=$9 urllen=${10:-0} sbatch_options=${11:-}
cwd=$(expand_home "$cwd")
if [ "$mode" = tmux ]; then
  command -v tmux > /dev/null 2>&1 || { echo "tmux is not installed"; exit "$EX_TMUX_MISSING"; }
  if tmx has-session -t "=$name" 2> /dev/null; then echo "a tmux session named $name already exists"; exit "$EX_IN_USE"; fi
fi
if [ "$mode" = slurm ]; then sbatch=$(slurm_tool sbatch) || { echo "sbatch"; exit "$EX_SLURM_MISSING"; }; fi
if [ -n "$cwd" ] && [ ! -d "$cwd" ]; then echo "$cwd"; exit "$EX_NO_CWD"; fi
mkdir -p "$root" 2> /dev/null || { echo "$root"; exit "$EX_ROOT_UNWRITABLE"; }
dir=$root/$name
# A directory at the name that is not a job (a start that died before writing anything) counts as
# finished once it is two minutes old.
over() {
  if job_exists "$name"; then job_load "$name" && job_finished; else [ -n "$(find "$dir" -maxdepth 0 -mmin +2 2> /dev/null)" ]; fi
}
mark_started "$name"
unmark() { rm -f "$root/.orch-active/$name.$marker_token"; }
old=
# A racing replacer moves the finished directory aside and makes a new one at once: a mkdir that
# fails while nothing is at the name is that moment, so it is tried again before calling the root
# unwritable.
made=0 tries=0
while :; do
  if err=$(mkdir "$dir" 2>&1); then made=1; break; fi
  [ -d "$dir" ] && break
  tries=$((tries + 1))
  case $err in *"No space"* | *"quota"*) unmark; printf '%s\n%s\n' "$dir" "${err##*: }"; exit "$EX_NO_SPACE" ;; esac
  [ "$tries" -lt 20 ] || { unmark; echo "$root"; exit "$EX_ROOT_UNWRITABLE"; }
  sleep 0.05
done
if [ "$made" = 0 ]; then
  over || { unmark; echo "$dir"; exit "$EX_IN_USE"; }
  [ "$replace" = 1 ] || { unmark; echo "$dir"; exit "$EX_EXISTS"; }
  # Racing replacers: only the lock holder moves the old directory aside, after checking again that
  # it is still the finished one (else a second replacer would move the first one's new job away).
  lock=$root/.orch-replacing-$name
  [ -n "$(find "$lock" -maxdepth 0 -mmin +1 2> /dev/null)" ] && rmdir "$lock" 2> /dev/null
  mkdir "$lock" 2> /dev/null || { unmark; echo "$dir"; exit "$EX_IN_USE"; }
  old=$root/.orch-replaced-$name-$$
  if ! { over && mv "$dir" "$old" 2> /dev/null; }; then rmdir "$lock"; unmark; echo "$dir"; exit "$EX_IN_USE"; fi
  if ! mkdir "$dir" 2> /dev/null; then rmdir "$lock"; rm -rf "$old"; unmark; echo "$dir"; exit "$EX_IN_USE"; fi
  rmdir "$lock"
fi
umask 077
# Every write is checked: a job that cannot be set up (a full disk) is refused before it is reported
# started, and leaves nothing behind: no directory, no ticket, no start marker.
not_set_up() {
  rm -rf "$dir"
  rm -f "$root/.orch-queue/ticket-"*"-$name"
  [ -n "$old" ] && mv "$old" "$dir"
  unmark
  printf '%s\n%s\n' "$1" "$(printf '%s' "$2" | sed -n 's/.*: //p' | tail -n 1)"
  exit "$EX_NO_SPACE"
}
# put FILE LEN: LEN bytes of stdin into FILE.
put() {
  if _err=$(head -c "$2" 2>&1 > "$1") && [ "$(wc -c < "$1")" -eq "$2" ]; then return 0; fi
  not_set_up "$1" "$_err"
}
# text FILE TEXT: TEXT into FILE.
text() {
  # Through cat, not the shell's printf: its error names the cause (dash's says only "I/O error").
  if _err=$(printf '%s' "$2" | cat 2>&1 > "$1") && { [ -z "$2" ] || [ -s "$1" ]; }; then return 0; fi
  not_set_up "$1" "$_err"
}
text "$dir/marker" "$marker_token
"
put "$dir/cmd.sh" "$cmdlen"
if [ "$envlen" -gt 0 ]; then put "$dir/env.sh" "$envlen"; fi
if [ "$urllen" -gt 0 ]; then put "$dir/notify.url" "$urllen"; fi
text "$dir/options" "$options
"
put "$dir/meta.json" "$metalen"
text "$dir/cwd" "$cwd"
put "$dir/orch-wrapper.sh" "$wrapperlen"
text "$dir/run.log" ''
# Room for the exit status and the command's status, taken now: they are overwritten in place at
# the end (record_exit), so a disk that fills up while the job runs cannot lose them.
slot=$(printf "%$((SLOT_BYTES - 1))s" '')
text "$dir/exit.tmp" "$slot
"
text "$dir/rc" "$slot
"
# A job over its cost limit (wrapper option hold=approval) waits for orch approve, holding no
# ticket: approve.sh gives it one. "held" is written here, before the session starts, so that it
# is QUEUED waiting for approval from the moment orch run returns.
case "
$options
" in *"
hold=approval
"*) text "$dir/held" 'approval
' ;; esac
# A ticket in submission order for the parallel-slot queue (see orch-wrapper.sh).
if [ "$mode" = tmux ] && [ ! -f "$dir/held" ]; then
  err=$(take_ticket "$name") || not_set_up "$root/.orch-queue" "$err"
fi
if [ "$mode" = tmux ]; then
  # A tmux server exiting with its last session refuses a client for a moment ("server exited
  # unexpectedly"); trying again starts a new server.
  tries=0
  while ! err=$(tmx new-session -d -s "$name" -x 200 -y 50 sh "$dir/orch-wrapper.sh" "$dir" tmux "$sock" "$name" 2>&1); do
    tries=$((tries + 1))
    case $err in *"server exited unexpectedly"* | *"lost server"*) [ "$tries" -lt 5 ] && { sleep 0.2; continue; } ;; esac
    rm -rf "$dir"
    rm -f "$root/.orch-queue/ticket-"*"-$name"
    [ -n "$old" ] && mv "$old" "$dir"
    unmark
    echo "$err"
    exit "$EX_SESSION_FAILED"
  done
fi
if [ "$mode" = slurm ]; then
  text "$dir/scheduler" 'slurm
'
  # The batch script: the node's name for listings, then the wrapper, as a tmux session would run it.
  # shellcheck disable=SC2016 # expanded by the batch job, on the node
  text "$dir/slurm-batch.sh" '#!/bin/sh
printf "%s\n" "${SLURMD_NODENAME:-$(hostname -s 2> /dev/null)}" > "$1/node"
exec sh "$1/orch-wrapper.sh" "$1" slurm "" "$2"
'
  set --
  while IFS= read -r _option; do [ -n "$_option" ] && set -- "$@" "$_option"; done << ORCH_SBATCH_OPTIONS
$sbatch_options
ORCH_SBATCH_OPTIONS
  # Slurm's own messages about the job (a time limit reached, a node lost) go to slurm.out; the
  # command's output goes to run.log through the wrapper.
  if ! said=$("$sbatch" --parsable --job-name="$name" --chdir="$dir" --output="$dir/slurm.out" --open-mode=append "$@" "$dir/slurm-batch.sh" "$dir" "$name" 2>&1) || ! case ${said%%;*} in '' | *[!0-9]*) false ;; esac; then
    rm -rf "$dir"
    [ -n "$old" ] && mv "$old" "$dir"
    unmark
    printf '%s\n' "$said"
    exit "$EX_SLURM_REFUSED"
  fi
  # The job's Slurm id, and the registry of jobs Slurm may still hold (a listing asks Slurm only while
  # it is not empty). Either lost, the job could never be followed: it is cancelled and refused.
  id=${said%%;*}
  if ! err=$({ printf '%s\n' "$id" > "$dir/slurm-id" && mkdir -p "$root/.orch-slurm" && printf '%s\n' "$id" > "$root/.orch-slurm/$name"; } 2>&1) \
    || [ ! -s "$dir/slurm-id" ] || [ ! -s "$root/.orch-slurm/$name" ]; then
    if scancel=$(slurm_tool scancel); then "$scancel" "$id" 2> /dev/null; fi
    rm -f "$root/.orch-slurm/$name"
    not_set_up "$root/.orch-slurm" "$err"
  fi
fi
[ -n "$old" ] && rm -rf "$old"
echo "$dir"

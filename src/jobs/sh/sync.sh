# shellcheck shell=sh disable=SC2154 # $root, $sock and job_* are set by job-lib.sh and prelude.sh, which controlScript sends first
# orch run --sync: bring a directory on this host up to date with the client's tree, in ONE exec.
# $1 job name, $2 replace (0|1), $3 the directory (may start with ~; relative = under $HOME),
# $4… directories not to list (ignored on the client), relative to it, glob characters escaped.
#
# Conversation. This script writes frames "<tag> <bytes>\n<data>" to stdout: D the directory's
# absolute path, M the paths the previous sync placed (NUL-separated), F the manifest, per entry
# "<type f|d|l|…> <size> <mode> <mtime>\0<path>\0<link target>\0". The client then sends on stdin
# "noop\n", or "tar\n" and a tar stream: ctl/remove (rm -rf, NUL-separated ./paths), ctl/rmdirs
# (rmdir, deepest first), ctl/managed (the new M), tree/… (new and changed entries), and last of
# all ctl/complete.
#
# Atomicity: the stream is unpacked into a staging directory beside the tree
# (<parent>/.<name>.orch-sync/incoming); only when it arrived complete (ctl/complete present, tar
# exited 0) are the removals made and the staged entries hard-linked into place (or the staging
# tree renamed into place on a first sync). A failed or cut transfer leaves the tree untouched.
# The tree keeps its inode, so a job still running in it is not cut off. One sync per directory
# at a time (a lock directory; one left by a dead sync is broken after 10 minutes).
#
# Exit: 0 ok, EX_IN_USE (job unfinished), EX_EXISTS (job finished, no --replace), EX_TOOL_MISSING
# (no tar), EX_ROOT_UNWRITABLE (cannot create the directory), EX_SYNC_LOCK_BUSY, EX_SYNC_UNPACK_FAILED,
# EX_SYNC_INCOMPLETE (a cut stream), EX_SYNC_PLACE_FAILED (tree partly updated).
name=$1 replace=$2 rdir=$3
shift 3
job=$root/$name
if job_exists "$name"; then
  job_load "$name" || exit $?
  job_finished || { echo "$job" >&2; exit "$EX_IN_USE"; }
  [ "$replace" = 1 ] || { echo "$job" >&2; exit "$EX_EXISTS"; }
fi
command -v tar > /dev/null 2>&1 || exit "$EX_TOOL_MISSING"
rdir=$(expand_home "$rdir")
case $rdir in /*) ;; *) rdir=$HOME/$rdir ;; esac
while :; do case $rdir in ?*/) rdir=${rdir%/} ;; *) break ;; esac; done
if [ -e "$rdir" ] && [ ! -d "$rdir" ]; then echo "$rdir is not a directory" >&2; exit "$EX_ROOT_UNWRITABLE"; fi
parent=${rdir%/*} base=${rdir##*/}
[ -n "$parent" ] || parent=/
state=$parent/.$base.orch-sync
mkdir -p "$state" 2> /dev/null || { echo "cannot create $state" >&2; exit "$EX_ROOT_UNWRITABLE"; }
lock=$state/lock
tries=0
until mkdir "$lock" 2> /dev/null; do
  if [ -n "$(find "$lock" -maxdepth 0 -mmin +10 2> /dev/null)" ]; then rmdir "$lock" 2> /dev/null; continue; fi
  tries=$((tries + 1))
  [ "$tries" -le 300 ] || exit "$EX_SYNC_LOCK_BUSY"
  sleep 1
done
in=$state/incoming
trap 'rm -rf "$in" "$state/dir" "$state/manifest"; rmdir "$lock" 2> /dev/null' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM
rm -rf "$in"

frame() { printf '%s %s\n' "$1" "$(wc -c < "$2" | tr -d ' ')" && cat "$2"; }
printf '%s' "$rdir" > "$state/dir"
[ -f "$state/managed" ] || : > "$state/managed"
# The find expression: ( -path ./a -o -path ./b ) -prune -o … for the directories not to list.
n=$#
for p do set -- "$@" -o -path "./$p"; done
shift "$n"
if [ $# -gt 0 ]; then
  shift
  set -- \( "$@" \) -prune -o
fi
: > "$state/manifest"
if [ -d "$rdir" ]; then
  if (cd "$rdir" && find . -maxdepth 0 -printf '' > /dev/null 2>&1); then
    (cd "$rdir" && find . "$@" ! -path . -printf '%y %s %m %T@\0%P\0%l\0' > "$state/manifest" 2> /dev/null)
  else
    # No GNU find: one sh per batch of paths, stat(1) in its GNU/busybox or BSD dialect.
    (cd "$rdir" && find . "$@" ! -path . -exec sh -c '
      for p do
        if [ -L "$p" ]; then y=l t=$(readlink "$p"); elif [ -d "$p" ]; then y=d t=; elif [ -f "$p" ]; then y=f t=; else y=o t=; fi
        s=$(stat -c "%s %a %Y" "$p" 2> /dev/null || stat -f "%z %Lp %m" "$p" 2> /dev/null) || s="0 0 0"
        printf "%s %s\0%s\0%s\0" "$y" "$s" "${p#./}" "$t"
      done' sh {} + > "$state/manifest" 2> /dev/null)
  fi
fi
frame D "$state/dir" && frame M "$state/managed" && frame F "$state/manifest" || exit 141

IFS= read -r what || what=
case $what in
  noop) mkdir -p "$rdir" || exit "$EX_ROOT_UNWRITABLE"; exit 0 ;;
  tar) ;;
  *) exit "$EX_SYNC_INCOMPLETE" ;;
esac
mkdir "$in" || exit "$EX_SYNC_UNPACK_FAILED"
tar -xpof - -C "$in" || exit "$EX_SYNC_UNPACK_FAILED"
[ -f "$in/ctl/complete" ] || exit "$EX_SYNC_INCOMPLETE"

# Commit: removals, then the staged entries into place, then emptied directories.
if [ -s "$in/ctl/remove" ] && [ -d "$rdir" ]; then
  (cd "$rdir" && xargs -0 rm -rf -- < "$in/ctl/remove") || exit "$EX_SYNC_PLACE_FAILED"
fi
if [ -d "$in/tree" ]; then
  if [ ! -e "$rdir" ] && [ ! -L "$rdir" ]; then
    mv "$in/tree" "$rdir" || exit "$EX_SYNC_PLACE_FAILED"
  elif cp -RPl --remove-destination "$in/tree/." "$rdir/" 2> /dev/null; then
    :
  else
    # No GNU cp (or another filesystem): unlink what is replaced, then copy with tar.
    (cd "$in/tree" && find . ! -type d -exec sh -c 'cd "$0" && rm -f -- "$@"' "$rdir" {} +) \
      && (cd "$in/tree" && tar -cf - .) | (cd "$rdir" && tar -xpof -) || exit "$EX_SYNC_PLACE_FAILED"
  fi
fi
mkdir -p "$rdir" || exit "$EX_SYNC_PLACE_FAILED"
if [ -s "$in/ctl/rmdirs" ]; then (cd "$rdir" && xargs -0 rmdir -- < "$in/ctl/rmdirs" 2> /dev/null); fi
mv -f "$in/ctl/managed" "$state/managed" || exit "$EX_SYNC_PLACE_FAILED"
exit 0

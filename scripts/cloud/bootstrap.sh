#!/bin/sh
# bootstrap.sh — idempotent setup of an orch host (run by `orch host bootstrap`).
#
# Works on Ubuntu/Debian (apt-get), Amazon Linux/Fedora/RHEL (dnf or yum) and
# Alpine (apk). Run it as the user that will run jobs; it uses `sudo -n` for
# package installs when that user is not root (passwordless sudo, as on EC2).
#
# Usage:
#   bootstrap.sh [--root DIR] [--retention-days N] [--no-cron] [--no-install]
#
#   --root DIR          the job log root to create. Default: $ORCH_LOG_ROOT,
#                       else $HOME/logs.
#   --retention-days N  days kept by the retention cron line. Default:
#                       $ORCH_LOG_RETENTION_DAYS, else 30.
#   --no-cron           do not touch the crontab.
#   --no-install        install no package and enable no service: only report
#                       what is missing (missing tools then make it exit 1).
#
# What it does, each step only when needed:
#   1. installs tmux, git and tar when missing, and the cron package when
#      there is no crontab command (cron on Debian/Ubuntu, cronie on Amazon
#      Linux 2023, which ships without it);
#   2. makes sure the cron service is enabled and running (systemd hosts);
#   3. creates the log root and $HOME/.orch (mode 700);
#   4. installs the log-retention crontab line (marker "# orch:log-retention",
#      see crontab-line.sh), which runs log-retention.sh from this directory
#      daily at 03:17, logging to log-retention.log beside the bin directory.
# It prints one line per step; when nothing had to change, the last line is
# "everything is already in place".
#
# Environment: CRONTAB (the crontab command, default crontab), ORCH_LOG_ROOT,
# ORCH_LOG_RETENTION_DAYS.
#
# Exit codes:
#   0  the host is set up
#   1  a step failed (no package manager, sudo refused, install failed, a
#      directory or the crontab could not be written); stderr says which, one
#      line per failed step: "bootstrap.sh: STEP: WHY -- fix: WHAT TO DO"
#      (STEP: packages, cron service, log root, orch dir, cron line)
#   2  bad arguments
set -u
LC_ALL=C
export LC_ALL

prog=bootstrap.sh

usage() {
  echo "usage: $prog [--root DIR] [--retention-days N] [--no-cron] [--no-install]" >&2
  exit 2
}

die_usage() {
  echo "$prog: $1" >&2
  usage
}

root=${ORCH_LOG_ROOT:-}
days=${ORCH_LOG_RETENTION_DAYS:-30}
want_cron=1
install=1

while [ $# -gt 0 ]; do
  case $1 in
    --root) [ $# -ge 2 ] || die_usage "--root needs a value"; root=$2; shift 2 ;;
    --root=*) root=${1#*=}; shift ;;
    --retention-days) [ $# -ge 2 ] || die_usage "--retention-days needs a value"; days=$2; shift 2 ;;
    --retention-days=*) days=${1#*=}; shift ;;
    --no-cron) want_cron=0; shift ;;
    --no-install) install=0; shift ;;
    -h|--help)
      sed -n '2,/^set -u/p' "$0" 2>/dev/null | sed '$d' | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die_usage "unknown argument: $1" ;;
  esac
done

[ -n "${HOME:-}" ] || die_usage "HOME is not set"
days=${days%d}
case $days in
  ''|*[!0123456789]*) die_usage "--retention-days must be a whole number of days, got '$days'" ;;
esac
[ "$days" -ge 1 ] 2>/dev/null || die_usage "--retention-days must be at least 1"

[ -n "$root" ] || root=$HOME/logs
case $root in
  \~) root=$HOME ;;
  \~/*) root=$HOME/${root#\~/} ;;
  /*) ;;
  *) root=$(pwd -P)/$root ;;
esac
orch_dir=$HOME/.orch

self_dir=$(cd -P -- "$(dirname -- "$0")" && pwd -P) || { echo "$prog: cannot find this script's directory" >&2; exit 1; }
crontab_cmd=${CRONTAB:-crontab}

changes=0
failed=0

# fail STEP WHY FIX: one line per failed step, parsed by orch host bootstrap.
fail() {
  echo "$prog: $1: $2 -- fix: $3" >&2
  failed=1
}
me=$(id -un 2>/dev/null || echo "this user")

# --- privileges and package manager -------------------------------------------

# Why root is out of reach ('' when it is not): said by the step that needs it.
no_root=
if [ "$(id -u)" = 0 ]; then
  as_root=
elif command -v sudo >/dev/null 2>&1; then
  as_root='sudo -n'
  sudo -n true >/dev/null 2>&1 || no_root="$me is not root and sudo asks for a password"
else
  as_root=none
  no_root="$me is not root and there is no sudo"
fi

root_run() {
  [ -z "$no_root" ] || return 1
  # shellcheck disable=SC2086 # $as_root is empty or "sudo -n"
  $as_root "$@"
}

# install_hint PACKAGES: the command that installs them as root on this host.
install_hint() {
  case $pm in
    apt-get) echo "apt-get install -y $*" ;;
    dnf | yum) echo "$pm install -y $*" ;;
    apk) echo "apk add $*" ;;
    *) echo "install $* with the system's package manager" ;;
  esac
}

pm=
for candidate in apt-get dnf yum apk; do
  if command -v "$candidate" >/dev/null 2>&1; then
    pm=$candidate
    break
  fi
done

apt_updated=0
pm_install() {
  case $pm in
    apt-get)
      if [ "$apt_updated" = 0 ]; then
        # A fresh Ubuntu instance is often still running unattended-upgrades:
        # wait for the dpkg lock instead of failing.
        root_run env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -qq update || return 1
        apt_updated=1
      fi
      root_run env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -y -qq install --no-install-recommends "$@"
      ;;
    dnf) root_run dnf -y -q install "$@" ;;
    yum) root_run yum -y -q install "$@" ;;
    apk) root_run apk add --no-cache -q "$@" ;;
    *) return 1 ;;
  esac
}

# --- 1. packages ----------------------------------------------------------------

missing=
for tool in tmux git tar; do
  if command -v "$tool" >/dev/null 2>&1; then
    echo "$tool: already installed"
  else
    missing="$missing $tool"
  fi
done
if [ "$want_cron" = 1 ]; then
  if command -v "$crontab_cmd" >/dev/null 2>&1; then
    echo "crontab: already installed"
  else
    case $pm in
      apt-get) missing="$missing cron" ;;
      apk) ;; # busybox crond and crontab are part of the base system
      *) missing="$missing cronie" ;;
    esac
  fi
fi

# The move-on fix of a missing package: install it by hand as root.
if [ -n "$missing" ]; then
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  by_hand="as root on the host run: $(install_hint $missing)"
  if [ "$install" = 0 ]; then
    fail packages "missing:$missing (--no-install)" "$by_hand"
  elif [ -z "$pm" ]; then
    fail packages "missing:$missing, and no supported package manager (apt-get, dnf, yum, apk)" "install$missing by hand"
  elif [ -n "$no_root" ]; then
    fail packages "cannot install$missing with $pm: $no_root" "$by_hand, or give $me passwordless sudo and run orch host bootstrap again"
  else
    # shellcheck disable=SC2086 # word splitting of the package list is intended
    if out=$(pm_install $missing 2>&1); then
      echo "installed:$missing"
      changes=$((changes + 1))
    else
      why=$(printf '%s\n' "$out" | grep -v '^[[:space:]]*$' | tail -n 1)
      fail packages "$pm could not install$missing${why:+: $why}" "$by_hand, and read its errors"
    fi
  fi
fi

# --- 2. cron service (systemd only) ----------------------------------------------

if [ "$want_cron" = 1 ] && [ "$install" = 1 ]; then
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    svc=
    for candidate in cron crond cronie; do
      if systemctl list-unit-files "$candidate.service" 2>/dev/null | grep "^$candidate\\.service" >/dev/null 2>&1; then
        svc=$candidate
        break
      fi
    done
    if [ -z "$svc" ]; then
      fail "cron service" "no cron service unit found (cron or crond): the retention line would never run" "as root on the host run: $(install_hint cron), or prune old logs with orch prune"
    elif systemctl is-enabled --quiet "$svc" 2>/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
      echo "cron service ($svc): already enabled and running"
    elif root_run systemctl enable --now "$svc" >/dev/null 2>&1; then
      echo "cron service ($svc): enabled and started"
      changes=$((changes + 1))
    else
      fail "cron service" "could not enable the cron service $svc${no_root:+: $no_root}" "as root on the host run: systemctl enable --now $svc"
    fi
  else
    echo "cron service: not checked (no systemd); make sure a cron daemon runs"
  fi
fi

# --- 3. directories ----------------------------------------------------------------

for dir in "$root" "$orch_dir"; do
  if [ "$dir" = "$root" ]; then step='log root' setting=ORCH_LOG_ROOT; else step='orch dir' setting=ORCH_HOST_DIR; fi
  fix="make it writable by $me (as root: chown $me '$dir'), or set $setting to a directory $me can write"
  if [ -d "$dir" ]; then
    if [ -w "$dir" ] && [ -x "$dir" ]; then
      echo "$dir: already exists"
    else
      fail "$step" "$dir exists but $me cannot write to it" "$fix"
    fi
  elif err=$(umask 077 && mkdir -p -- "$dir" 2>&1); then
    echo "$dir: created"
    changes=$((changes + 1))
  else
    fail "$step" "cannot create $dir: ${err##*: }" "as root on the host run: mkdir -p '$dir' && chown $me '$dir'; or set $setting to a directory $me can write"
  fi
done

# --- 4. retention crontab line ---------------------------------------------------

if [ "$want_cron" = 1 ]; then
  if ! command -v "$crontab_cmd" >/dev/null 2>&1; then
    fail "cron line" "no crontab command ($crontab_cmd): the log-retention line was not installed" "as root on the host run: $(install_hint cron), then orch host bootstrap again; or prune old logs with orch prune"
  elif [ ! -f "$self_dir/crontab-line.sh" ] || [ ! -f "$self_dir/log-retention.sh" ]; then
    fail "cron line" "crontab-line.sh and log-retention.sh are not beside this script in $self_dir" "run orch host bootstrap again (it installs them)"
  elif out=$(ORCH_LOG_ROOT=$root ORCH_LOG_RETENTION_DAYS=$days CRONTAB=$crontab_cmd sh "$self_dir/crontab-line.sh" install --marker orch:log-retention 2>&1); then
    case $out in
      'already installed:'*) echo "retention cron line: already installed" ;;
      *)
        echo "retention cron line: ${out%%:*}"
        changes=$((changes + 1))
        ;;
    esac
  else
    why=$(printf '%s\n' "$out" | grep -v '^[[:space:]]*$' | tail -n 1)
    fail "cron line" "could not install the log-retention line${why:+: $why}" "check that $me may use crontab (crontab -l; /etc/cron.allow, /etc/cron.deny), or prune old logs with orch prune"
  fi
fi

# --- summary ------------------------------------------------------------------------

if [ "$failed" = 1 ]; then
  echo "bootstrap incomplete: see the failed steps above" >&2
  exit 1
fi
if [ "$changes" = 0 ]; then
  echo "everything is already in place"
else
  echo "bootstrap done: $changes change(s)"
fi
exit 0

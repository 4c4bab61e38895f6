#!/usr/bin/env bash
# scripts/mailstack/stop.sh DIR - stop the Postfix and Dovecot that start.sh DIR started.
# Only the master pids from DIR's pid files (checked against /proc/PID/exe, since pids get
# reused) and their own child processes are signalled; nothing is killed by name.
# Leaves DIR (mail, logs) in place: `rm -rf DIR` afterwards for a clean slate.
# Exits 0 when nothing of DIR is running (also when DIR does not exist).
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
DIR=$(cd "$1" 2>/dev/null && pwd -P) || { echo "stop.sh: no such dir $1, nothing to stop" >&2; exit 0; }

# Direct and indirect children of pid $1 (from /proc/*/stat field 4, ppid).
descendants() {
  local stat pid rest state ppid
  declare -A kids=()
  for stat in /proc/[0-9]*/stat; do
    # "pid (comm) state ppid ..." - comm may contain spaces, so cut at the last ')'.
    read -r rest 2>/dev/null <"$stat" || continue
    pid=${rest%% *}
    rest=${rest##*) }
    read -r state ppid _ <<<"$rest"
    [ -n "$state" ] || continue
    kids[$ppid]="${kids[$ppid]:-} $pid"
  done
  local queue=("$1") p k
  while [ ${#queue[@]} -gt 0 ]; do
    p=${queue[0]}
    queue=("${queue[@]:1}")
    for k in ${kids[$p]:-}; do echo "$k"; queue+=("$k"); done
  done
}

stop_master() { # pidfile expected-exe name
  local pid kids k _
  [ -f "$1" ] || return 0
  pid=$(tr -dc 0-9 <"$1")
  [ -n "$pid" ] || { rm -f "$1"; return 0; }
  if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" != "$2" ]; then
    rm -f "$1" # stale (Postfix leaves master.pid behind) or a recycled pid: not ours
    return 0
  fi
  kids=$(descendants "$pid")
  kill -TERM "$pid" # both masters pass SIGTERM on to their children and exit
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "stop.sh: $3 (pid $pid) did not exit within 10s, sending KILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  # Children normally exit with their master; give them 2 s, then KILL those still there
  # (each pid recorded above, and only if it still runs a dovecot/postfix binary).
  for _ in $(seq 20); do
    local alive=""
    for k in $kids; do kill -0 "$k" 2>/dev/null && alive="$alive $k"; done
    kids=$alive
    [ -n "$kids" ] || break
    sleep 0.1
  done
  for k in $kids; do
    case "$(readlink "/proc/$k/exe" 2>/dev/null)" in
      /usr/sbin/dovecot | /usr/lib/dovecot/* | /usr/lib/postfix/*)
        echo "stop.sh: killing leftover $3 child $k" >&2
        kill -KILL "$k" 2>/dev/null || true ;;
    esac
  done
  echo "stopped $3 (pid $pid)"
}

# Both masters take 1-3 s to shut down (Dovecot's master sleeps ~1 s waiting for its children):
# stop them in parallel.
stop_master "$DIR/postfix/spool/pid/master.pid" /usr/lib/postfix/sbin/master postfix &
stop_master "$DIR/run/dovecot/master.pid" /usr/sbin/dovecot dovecot &
wait
rm -f "$DIR/mailstack.env" # no longer describes a running stack

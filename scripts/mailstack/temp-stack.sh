# scripts/mailstack/temp-stack.sh - sourced by scripts/test and scripts/bench: starts a
# throw-away loopback Dovecot + Postfix in a temp dir on free ports, stops and removes it when
# the sourcing script exits, and exports TICKETD_MAILSTACK_ENV=<dir>/mailstack.env.
# Needs root and the packages of install.sh; MS must point at scripts/mailstack.

# Pick free ports: each default if free, else default+10000, +20000, ... (never a port already
# picked for another service). IMAP_PORT etc. from the environment replace the defaults.
picked=" "
port_busy() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() { # VAR DEFAULT
  local p
  for p in $(seq "$2" 10000 65535) $(seq 40000 40999); do
    if [[ $picked != *" $p "* ]] && ! port_busy "$p"; then
      picked="$picked$p "
      printf -v "$1" '%s' "$p"
      return 0
    fi
  done
  echo "temp-stack.sh: no free port found for $1" >&2
  return 1
}
pick_port IMAP_PORT "${IMAP_PORT:-1143}"
pick_port IMAPS_PORT "${IMAPS_PORT:-1993}"
pick_port SMTP_PORT "${SMTP_PORT:-2525}"
pick_port SMTPS_PORT "${SMTPS_PORT:-4465}"
pick_port LMTP_PORT "${LMTP_PORT:-2424}"
export IMAP_PORT IMAPS_PORT SMTP_PORT SMTPS_PORT LMTP_PORT

# Short path: Dovecot's unix sockets under it must stay below 108 bytes.
MAILSTACK_TMP=$(mktemp -d /tmp/tdms.XXXXXX)
cleanup() {
  local rc=$?
  "$MS/stop.sh" "$MAILSTACK_TMP" >/dev/null || echo "temp-stack.sh: warning: stop.sh failed" >&2
  rm -rf "$MAILSTACK_TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "==> start mail stack in $MAILSTACK_TMP" >&2
t0=${EPOCHREALTIME/[.,]/}
"$MS/start.sh" "$MAILSTACK_TMP"
t1=${EPOCHREALTIME/[.,]/}
echo "mail stack up in $(((t1 - t0) / 1000)) ms" >&2
export TICKETD_MAILSTACK_ENV=$MAILSTACK_TMP/mailstack.env

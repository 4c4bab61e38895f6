#!/usr/bin/env bash
# scripts/mailstack/install.sh - install what scripts/mailstack/start.sh needs (Dovecot IMAP+LMTP,
# Postfix, OpenSSL) from Debian's packages, only when something is missing; a no-op otherwise.
# Non-interactive (no stdin needed); needs root when it has to install. Writes nothing to
# /etc/postfix (debconf "No configuration") and keeps the packages' system daemons from being
# started (a temporary /usr/sbin/policy-rc.d when there is none).
set -euo pipefail
PATH=$PATH:/usr/sbin:/sbin

PKGS=(dovecot-imapd dovecot-lmtpd postfix openssl)

have_all() {
  local bin f
  for bin in dovecot doveadm postfix openssl; do command -v "$bin" >/dev/null || return 1; done
  for f in /usr/lib/dovecot/imap /usr/lib/dovecot/lmtp; do [ -x "$f" ] || return 1; done
}

if have_all; then
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "install.sh: the mail stack's packages are missing and this is not root; as root run:" >&2
  echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${PKGS[*]}" >&2
  exit 1
fi
command -v apt-get >/dev/null || {
  echo "install.sh: no apt-get here; install Dovecot (imapd, lmtpd), Postfix and OpenSSL by hand" >&2
  exit 1
}

echo "install.sh: installing ${PKGS[*]}" >&2
export DEBIAN_FRONTEND=noninteractive

# Keep package scripts from starting the system dovecot/postfix (they would not clash with the
# test stack's ports, but nothing should run that the tests did not start).
POLICY=/usr/sbin/policy-rc.d
made_policy=0
cleanup() { if [ $made_policy = 1 ]; then rm -f "$POLICY"; fi; }
trap cleanup EXIT
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\n# temporary, from ticketd scripts/mailstack/install.sh\nexit 101\n' >"$POLICY"
  chmod 0755 "$POLICY"
  made_policy=1
fi

# "No configuration": Postfix's postinst writes no /etc/postfix/main.cf (the stack has its own).
if command -v debconf-set-selections >/dev/null; then
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
fi

apt_opts=(-y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
retry() {
  local i
  for i in 1 2 3; do
    "$@" </dev/null && return 0
    echo "install.sh: '$*' failed (try $i of 3)" >&2
    sleep $((i * 5))
  done
  return 1
}
retry apt-get -q -o DPkg::Lock::Timeout=300 update
retry apt-get install "${apt_opts[@]}" "${PKGS[@]}"

have_all || { echo "install.sh: packages installed but dovecot/postfix/openssl still missing" >&2; exit 1; }
echo "install.sh: done" >&2

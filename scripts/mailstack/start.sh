#!/usr/bin/env bash
# scripts/mailstack/start.sh DIR - start ticketd's loopback test mail stack, all state under DIR,
# no systemd, nothing written outside DIR:
#   Dovecot: IMAP (IDLE) 127.0.0.1:$IMAP_PORT, IMAPS $IMAPS_PORT, LMTP $LMTP_PORT
#   Postfix: SMTP 127.0.0.1:$SMTP_PORT (and implicit TLS on $SMTPS_PORT) -> LMTP -> Dovecot
#            Maildir; accepts only $MAIL_USERS,
#            relays nothing; plus-addressing: user+anything@example.test lands in user's INBOX.
# Idempotent: with the stack already up it only prints DIR/mailstack.env. Stop with stop.sh DIR.
# Needs root and the packages that scripts/mailstack/install.sh installs.
# Environment overrides (defaults): IMAP_PORT (1143) IMAPS_PORT (1993) SMTP_PORT (2525) SMTPS_PORT (4465)
#   LMTP_PORT (2424) MAIL_USERS (support@ staff@ customer@ alice@ bob@ example.test)
#   MAIL_PASSWORD (secret) MAIL_FSYNC (never; Dovecot's mail_fsync).
set -euo pipefail
PATH=$PATH:/usr/sbin:/sbin

me=start.sh
die() { echo "$me: $*" >&2; exit 1; }
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "must run as root (postfix and dovecot drop privileges themselves)"
for bin in dovecot doveadm postfix openssl runuser; do
  command -v "$bin" >/dev/null ||
    die "$bin missing; install with: apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-imapd dovecot-lmtpd postfix openssl   (or run scripts/mailstack/install.sh)"
done
for f in /usr/lib/dovecot/imap /usr/lib/dovecot/lmtp; do
  [ -x "$f" ] ||
    die "$f missing; install with: apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-imapd dovecot-lmtpd postfix openssl   (or run scripts/mailstack/install.sh)"
done

DOMAIN=example.test
IMAP_PORT=${IMAP_PORT:-1143}
IMAPS_PORT=${IMAPS_PORT:-1993}
SMTP_PORT=${SMTP_PORT:-2525}
SMTPS_PORT=${SMTPS_PORT:-4465}
LMTP_PORT=${LMTP_PORT:-2424}
MAIL_USERS=${MAIL_USERS:-"support@$DOMAIN staff@$DOMAIN customer@$DOMAIN alice@$DOMAIN bob@$DOMAIN"}
MAIL_PASSWORD=${MAIL_PASSWORD:-secret}
MAIL_FSYNC=${MAIL_FSYNC:-never}   # throw-away test mail: skipping fsync is ~1.5x faster

# Values go unquoted into config files and mailstack.env: keep them simple.
for p in "$IMAP_PORT" "$IMAPS_PORT" "$SMTP_PORT" "$SMTPS_PORT" "$LMTP_PORT"; do
  if ! [[ $p =~ ^[0-9]+$ ]] || [ "$p" -lt 1 ] || [ "$p" -gt 65535 ]; then die "bad port: $p"; fi
done
[ "$(printf '%s\n' "$IMAP_PORT" "$IMAPS_PORT" "$SMTP_PORT" "$SMTPS_PORT" "$LMTP_PORT" | sort -u | wc -l)" = 5 ] ||
  die "IMAP_PORT, IMAPS_PORT, SMTP_PORT, SMTPS_PORT and LMTP_PORT must differ"
[[ $MAIL_PASSWORD =~ ^[A-Za-z0-9._-]+$ ]] || die "MAIL_PASSWORD may only contain A-Z a-z 0-9 . _ -"
[[ $MAIL_FSYNC =~ ^(optimized|always|never)$ ]] || die "MAIL_FSYNC must be optimized, always or never"
read -ra users <<<"$MAIL_USERS"
[ ${#users[@]} -gt 0 ] || die "MAIL_USERS is empty"
for u in "${users[@]}"; do
  [[ $u =~ ^[a-z0-9._-]+@example\.test$ ]] || die "bad user $u (want lowercase name@$DOMAIN, no '+')"
done
MAIL_USERS="${users[*]}"   # normalised: single spaces

mkdir -p "$1"
DIR=$(cd "$1" && pwd -P)
[[ $DIR =~ ^[A-Za-z0-9/._-]+$ ]] || die "DIR path may only contain A-Z a-z 0-9 / . _ -: $DIR"
# Dovecot's unix sockets live in $DIR/run/dovecot; a socket path must stay under 108 bytes.
[ ${#DIR} -le 60 ] || die "DIR path too long (${#DIR} > 60 chars): $DIR"
chmod 0755 "$DIR"
# postfix, dovenull and mail (uid 8) must be able to traverse DIR and all of its parents.
runuser -u postfix -- test -x "$DIR" ||
  die "user postfix cannot enter $DIR (is a parent dir 0700, e.g. /root?). Use a dir under /tmp."

ENV_FILE=$DIR/mailstack.env
DOVECOT_CONF=$DIR/etc/dovecot.conf
PF=$DIR/postfix/etc   # postfix config_directory; must not contain the queue (root-owned-tree check)
dovecot_pid() {
  local p
  p=$(tr -dc 0-9 2>/dev/null <"$DIR/run/dovecot/master.pid") && [ -n "$p" ] || return 1
  [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = /usr/sbin/dovecot ] && echo "$p"
}
postfix_up() { [ -f "$PF/main.cf" ] && postfix -c "$PF" status >/dev/null 2>&1; }

if [ -s "$ENV_FILE" ] && dovecot_pid >/dev/null && postfix_up; then cat "$ENV_FILE"; exit 0; fi
rm -f "$ENV_FILE"   # rewritten once the stack is up; a stale one would point at dead ports

# Postfix binds with SO_REUSEPORT: a second instance on a busy port starts "fine" and the kernel
# then splits connections between the two stacks. So refuse busy ports before starting anything.
port_busy() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
refuse_busy() {
  local p busy=0
  for p; do port_busy "$p" && { echo "$me: 127.0.0.1:$p is already in use" >&2; busy=1; }; done
  [ $busy = 0 ] || die "refusing to start: set IMAP_PORT/IMAPS_PORT/SMTP_PORT/SMTPS_PORT/LMTP_PORT to free ports"
}
dovecot_pid >/dev/null || refuse_busy "$IMAP_PORT" "$IMAPS_PORT" "$LMTP_PORT"
postfix_up || refuse_busy "$SMTP_PORT" "$SMTPS_PORT"

mkdir -p "$DIR"/{etc,run,log,ssl,state,mail} "$DIR"/postfix/{etc,spool,data}
chown mail:mail "$DIR/mail"
chown postfix:postfix "$DIR/postfix/data"

# ---- TLS: a throw-away CA plus a leaf cert for localhost/127.0.0.1 (clients trust ssl/ca.pem).
# (A plain `openssl req -x509` cert is CA:TRUE, which rustls/webpki rejects as a server cert.)
if [ ! -s "$DIR/ssl/server.pem" ]; then
  (
    cd "$DIR/ssl"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=ticketd mailstack test CA" \
      -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
      -keyout server.key -out server.csr 2>/dev/null
    printf '%s\n' 'subjectAltName=DNS:localhost,IP:127.0.0.1' 'basicConstraints=critical,CA:FALSE' \
      'extendedKeyUsage=serverAuth' >leaf.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile leaf.ext -out server.pem 2>/dev/null
    chmod 0644 ca.pem server.pem
    chmod 0600 ca.key server.key
  )
fi

# ---- Users: passwd-file with plaintext passwords; uid/gid/home come from userdb default_fields.
: >"$DIR/etc/users"
: >"$PF/vmailbox"
for u in "${users[@]}"; do
  echo "$u:{PLAIN}$MAIL_PASSWORD::::::" >>"$DIR/etc/users"
  echo "$u OK" >>"$PF/vmailbox"
done
chmod 0640 "$DIR/etc/users"
chgrp dovecot "$DIR/etc/users"

# ---- Dovecot: standalone config (no /etc/dovecot includes), loopback only.
cat >"$DOVECOT_CONF" <<EOF
# generated by scripts/mailstack/start.sh - edit that instead
instance_name = ticketd-mailstack
base_dir = $DIR/run/dovecot
state_dir = $DIR/state
log_path = $DIR/log/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = yes
ssl_cert = <$DIR/ssl/server.pem
ssl_key = <$DIR/ssl/server.key
disable_plaintext_auth = no
auth_mechanisms = plain login
# tests of wrong passwords should not wait the default 2 s
auth_failure_delay = 0
first_valid_uid = $(id -u mail)
mail_location = maildir:~/Maildir
mail_fsync = $MAIL_FSYNC
# Plus-addressing: LMTP RCPT support+t12.abc@$DOMAIN is delivered to user support, INBOX.
recipient_delimiter = +
lmtp_save_to_detail_mailbox = no
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DIR/etc/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $DIR/etc/users
  default_fields = uid=mail gid=mail home=$DIR/mail/%d/%n
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Processed {
    auto = subscribe
  }
  mailbox Sent {
    auto = subscribe
    special_use = \\Sent
  }
  mailbox Trash {
    auto = subscribe
    special_use = \\Trash
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
# SMTP AUTH for Postfix (smtpd_sasl_path)
service auth {
  unix_listener auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
}
EOF

# ---- Postfix: private config_directory + queue under DIR; accept only our users, relay nothing.
# recipient_delimiter makes the virtual_mailbox_maps lookup of user+ext@domain fall back to
# user@domain, so plus-addressed mail is accepted; LMTP then passes the full address to Dovecot.
cat >"$PF/main.cf" <<EOF
# generated by scripts/mailstack/start.sh - edit that instead
compatibility_level = 3.6
queue_directory = $DIR/postfix/spool
data_directory = $DIR/postfix/data
maillog_file = $DIR/log/postfix.log
maillog_file_prefixes = $DIR/log
syslog_name = postfix-ticketd-mailstack
myhostname = mail.$DOMAIN
mydomain = $DOMAIN
myorigin = $DOMAIN
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relayhost =
relay_domains =
recipient_delimiter = +
smtpd_relay_restrictions = reject_unauth_destination
default_transport = error:mailstack relays nothing
relay_transport = error:mailstack relays nothing
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_maps = texthash:$PF/vmailbox
virtual_transport = lmtp:inet:127.0.0.1:$LMTP_PORT
lmtp_host_lookup = native
smtpd_peername_lookup = no
message_size_limit = 52428800
smtpd_tls_cert_file = $DIR/ssl/server.pem
smtpd_tls_key_file = $DIR/ssl/server.key
smtpd_tls_security_level = may
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $DIR/run/dovecot/auth-postfix
biff = no
EOF
# chroot column = n everywhere: Debian's default (y) would jail the daemons in the queue dir.
cat >"$PF/master.cf" <<EOF
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
127.0.0.1:$SMTPS_PORT inet n - n - - smtpd -o smtpd_tls_wrappermode=yes
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
# Postfix waits (300 ms steps, ~2 s) until a config or texthash file is a couple of seconds old
# before reading it; backdating the fresh files saves those seconds on every start.
touch -d '-10 seconds' "$PF/main.cf" "$PF/master.cf" "$PF/vmailbox"

# ---- Start. Daemons' stdio goes to files so callers capturing our output ($(...), Rust's
# Command::output()) get EOF at once instead of waiting on pipes inherited by the daemons.
fail() {
  echo "$me: $1; last lines of $2:" >&2
  tail -n 20 "$2" >&2 2>/dev/null || true
  exit 1
}
if ! dovecot_pid >/dev/null; then
  dovecot -c "$DOVECOT_CONF" </dev/null >>"$DIR/log/dovecot.stderr" 2>&1 ||
    fail "dovecot failed to start" "$DIR/log/dovecot.stderr"
fi
if ! postfix_up; then
  # Postfix is silent without syslog; its messages go to maillog_file (log/postfix.log).
  postfix -c "$PF" start </dev/null >>"$DIR/log/postfix.stderr" 2>&1 ||
    fail "postfix failed to start" "$DIR/log/postfix.log"
fi
wait_port() {
  local _
  for _ in $(seq 100); do port_busy "$1" && return 0; sleep 0.1; done
  fail "nothing listens on 127.0.0.1:$1" "$DIR/log/$2.log"
}
wait_port "$IMAP_PORT" dovecot
wait_port "$IMAPS_PORT" dovecot
wait_port "$LMTP_PORT" dovecot
wait_port "$SMTP_PORT" postfix
wait_port "$SMTPS_PORT" postfix

# Create each user's Maildir and mailboxes on disk now (Dovecot would only do it on first access).
for u in "${users[@]}"; do
  for m in INBOX Processed Sent Trash; do
    doveadm -c "$DOVECOT_CONF" mailbox status -u "$u" messages "$m" >/dev/null
  done
done

# Written last: its presence means the stack came up completely.
cat >"$ENV_FILE.tmp" <<EOF
MAILSTACK_DIR=$DIR
MAILSTACK_HOST=127.0.0.1
MAILSTACK_IMAP_PORT=$IMAP_PORT
MAILSTACK_IMAPS_PORT=$IMAPS_PORT
MAILSTACK_SMTP_PORT=$SMTP_PORT
MAILSTACK_SMTPS_PORT=$SMTPS_PORT
MAILSTACK_LMTP_PORT=$LMTP_PORT
MAILSTACK_CA=$DIR/ssl/ca.pem
MAILSTACK_DOMAIN=$DOMAIN
MAILSTACK_USERS="$MAIL_USERS"
MAILSTACK_PASSWORD=$MAIL_PASSWORD
MAILSTACK_DOVECOT_CONF=$DOVECOT_CONF
MAILSTACK_POSTFIX_CONF=$PF
EOF
mv "$ENV_FILE.tmp" "$ENV_FILE"
cat "$ENV_FILE"

#!/usr/bin/env python3
"""scripts/mailstack/smoke.py DIR - check the stack that `scripts/mailstack/start.sh DIR` started:
IMAP login + mailboxes, IDLE (advertised and working), IMAPS and STARTTLS with DIR's CA,
SMTP -> Postfix -> LMTP -> INBOX, plus-addressed SMTP (support+t1.xyz@) -> support's INBOX,
refusal of unknown users and relaying, LMTP straight into Dovecot.
Python standard library only. Prints "ok ..." per check, "ALL OK" at the end; exits non-zero
on the first failure."""
import imaplib
import smtplib
import ssl
import sys
import time
import uuid
from email.message import EmailMessage

if len(sys.argv) != 2:
    sys.exit(f"usage: {sys.argv[0]} DIR")


def load_env(path):
    env = {}
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        k, v = line.split("=", 1)
        if len(v) >= 2 and v[0] == v[-1] == '"':
            v = v[1:-1]
        env[k] = v
    return env


env = load_env(f"{sys.argv[1]}/mailstack.env")
H = env["MAILSTACK_HOST"]
IMAP, IMAPS = int(env["MAILSTACK_IMAP_PORT"]), int(env["MAILSTACK_IMAPS_PORT"])
SMTP, LMTP = int(env["MAILSTACK_SMTP_PORT"]), int(env["MAILSTACK_LMTP_PORT"])
PW, USERS, DOMAIN = env["MAILSTACK_PASSWORD"], env["MAILSTACK_USERS"].split(), env["MAILSTACK_DOMAIN"]
SUPPORT = f"support@{DOMAIN}" if f"support@{DOMAIN}" in USERS else USERS[0]
OTHER = next((u for u in USERS if u != SUPPORT), SUPPORT)
tls = ssl.create_default_context(cafile=env["MAILSTACK_CA"])  # verifies chain + hostname


def fail(why):
    print(f"FAIL: {why}")
    sys.exit(1)


def msg(to, subject, sender=OTHER):
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, to, subject
    m["Message-ID"] = f"<{uuid.uuid4()}@{DOMAIN}>"
    m.set_content("Hello,\nmy order has not arrived.\n")
    return m


def login(user=SUPPORT):
    c = imaplib.IMAP4(H, IMAP)
    c.login(user, PW)
    return c


def wait_for(user, subject, mailbox="INBOX", timeout=10):
    """Poll until a message with `subject` is in user's mailbox; returns (seconds, raw headers)."""
    c = login(user)
    c.select(mailbox, readonly=True)
    t0 = time.time()
    while time.time() - t0 < timeout:
        _, data = c.uid("SEARCH", None, "SUBJECT", f'"{subject}"')
        if data[0]:
            uid = data[0].split()[-1]
            _, f = c.uid("FETCH", uid, "(BODY.PEEK[HEADER])")
            c.logout()
            return time.time() - t0, f[0][1].decode(errors="replace")
        time.sleep(0.02)
        c.noop()
    c.logout()
    fail(f"{subject!r} never reached {user}/{mailbox} within {timeout}s")


# 1. every user logs in and has the mailboxes; a wrong password is refused
for u in USERS:
    c = login(u)
    names = {l.decode().rsplit(" ", 1)[-1].strip('"') for l in c.list()[1]}
    if not {"INBOX", "Processed", "Sent", "Trash"} <= names:
        fail(f"{u} mailboxes: {names}")
    c.logout()
try:
    imaplib.IMAP4(H, IMAP).login(SUPPORT, "wrong-" + PW)
    fail("bad password accepted")
except imaplib.IMAP4.error:
    pass
print(f"ok  IMAP login + INBOX/Processed/Sent/Trash for {len(USERS)} users; bad password refused")

# 2. IDLE advertised, and an APPEND from a second connection wakes the idler
c = login()
if "IDLE" not in c.capabilities:
    fail(f"IDLE not advertised: {c.capabilities}")
c.select("INBOX")
tag = c._new_tag()
c.send(tag + b" IDLE\r\n")
if not c.readline().startswith(b"+"):
    fail("IDLE not accepted")
a = login()
t0 = time.time()
a.append("INBOX", None, imaplib.Time2Internaldate(time.time()), msg(SUPPORT, "idle-test").as_bytes())
a.logout()
c.sock.settimeout(10)
line = c.readline()
if b"EXISTS" not in line:
    fail(f"IDLE got {line!r}")
print(f"ok  IDLE advertised; APPEND seen by IDLE after {time.time() - t0:.3f}s: {line.strip().decode()}")
c.send(b"DONE\r\n")
c.readline()
c.logout()

# 3. TLS: implicit (IMAPS) for localhost and 127.0.0.1, and STARTTLS on the plain port
for host in ("localhost", "127.0.0.1"):
    s = imaplib.IMAP4_SSL(host, IMAPS, ssl_context=tls)
    s.login(SUPPORT, PW)
    s.logout()
s = imaplib.IMAP4(H, IMAP)
s.starttls(ssl_context=tls)
s.login(SUPPORT, PW)
s.logout()
try:
    imaplib.IMAP4_SSL(H, IMAPS, ssl_context=ssl.create_default_context()).logout()
    fail("IMAPS cert verified without the stack's CA")
except ssl.SSLCertVerificationError:
    pass
print(f"ok  IMAPS on {IMAPS} (localhost and 127.0.0.1) + STARTTLS verified with {env['MAILSTACK_CA']}")

# 4. SMTP -> Postfix -> LMTP -> support's INBOX; unknown users and other domains refused
subj = f"smtp-{uuid.uuid4().hex[:8]}"
with smtplib.SMTP(H, SMTP) as s:
    s.send_message(msg(SUPPORT, subj))
    for bad in (f"nobody@{DOMAIN}", f"nobody+x@{DOMAIN}", "someone@example.com"):
        try:
            s.sendmail(OTHER, [bad], "Subject: x\r\n\r\nx\r\n")
            fail(f"{bad} accepted")
        except smtplib.SMTPRecipientsRefused as e:
            code, text = e.recipients[bad]
            print(f"ok  SMTP refuses {bad}: {code} {text.decode()}")
dt, _ = wait_for(SUPPORT, subj)
print(f"ok  SMTP to {SUPPORT} in its INBOX after {dt:.3f}s")

# 5. plus-addressing: support+t1.xyz@ is accepted and lands in support's INBOX (no extra folder)
local, dom = SUPPORT.split("@")
plus = f"{local}+t1.xyz@{dom}"
subj = f"plus-{uuid.uuid4().hex[:8]}"
with smtplib.SMTP(H, SMTP) as s:
    refused = s.send_message(msg(plus, subj))
    if refused:
        fail(f"{plus} refused: {refused}")
dt, hdrs = wait_for(SUPPORT, subj)
delivered = [l for l in hdrs.splitlines() if l.lower().startswith(("delivered-to:", "to:", "return-path:"))]
print(f"ok  SMTP to {plus} in {SUPPORT}'s INBOX after {dt:.3f}s; headers: {delivered}")
c = login()
names = {l.decode().rsplit(" ", 1)[-1].strip('"') for l in c.list()[1]}
c.logout()
if names - {"INBOX", "Processed", "Sent", "Trash"}:
    fail(f"plus-addressing created mailboxes: {names}")

# 6. SMTP STARTTLS + AUTH
subj = f"auth-{uuid.uuid4().hex[:8]}"
with smtplib.SMTP("localhost", SMTP) as s:
    s.starttls(context=tls)
    s.login(OTHER, PW)
    s.send_message(msg(SUPPORT, subj))
dt, _ = wait_for(SUPPORT, subj)
print(f"ok  SMTP STARTTLS + AUTH delivered after {dt:.3f}s")

# 7. LMTP straight into Dovecot, plain and plus-addressed
subj = f"lmtp-{uuid.uuid4().hex[:8]}"
with smtplib.LMTP(H, LMTP) as l:
    l.send_message(msg(SUPPORT, subj))
    l.send_message(msg(plus, subj + "-plus"))
wait_for(SUPPORT, subj)
wait_for(SUPPORT, subj + "-plus")
print("ok  LMTP delivered (plain and plus-addressed) to INBOX")
print("ALL OK")

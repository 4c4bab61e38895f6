//! The real loopback mail stack of `scripts/test` (`scripts/mailstack/`):
//! Dovecot (IMAP with IDLE) and Postfix (SMTP into Dovecot over LMTP),
//! found through `TICKETD_MAILSTACK_ENV`. Without it the tests that need
//! it skip, unless `TICKETD_REQUIRE_MAILSTACK=1` makes that a failure.
//!
//! The tests share mailboxes, so each holds [`take_turn`] for its whole
//! run and empties the mailboxes it uses first. Every test also gets a
//! unique `instance.id`, which ticketd puts in the `X-Ticketd-Loop`
//! header, so only that test's mail is ever counted.

use std::collections::HashMap;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::TryStreamExt;

use crate::util::{Eml, TestEnv, set};

/// Longest wait for mail to arrive in a mailbox.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Held by each test for its whole run: they share mailboxes.
static MAILBOXES: Mutex<()> = Mutex::new(());

/// Waits for the other mail-stack tests to finish.
pub fn take_turn() -> MutexGuard<'static, ()> {
    // A test that failed while holding the lock leaves nothing behind that
    // the next one needs: it empties its mailboxes first.
    MAILBOXES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A unique instance id: the X-Ticketd-Loop value of this test's mail.
pub fn instance_name(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("it-{test}-{}-{nanos}", std::process::id())
}

/// The running mail stack, from its `mailstack.env`.
pub struct MailStack {
    /// CA certificate (PEM file) of the servers' certificates.
    pub ca: String,
    /// Postfix SMTP port.
    pub smtp_port: u16,
    /// Postfix implicit-TLS SMTP port.
    pub smtps_port: u16,
    /// Dovecot IMAP port (plain and STARTTLS).
    pub imap_port: u16,
    /// Dovecot IMAPS port (implicit TLS).
    pub imaps_port: u16,
    /// Every user's password.
    pub password: String,
    dir: String,
    dovecot_conf: String,
    postfix_conf: String,
}

impl MailStack {
    /// The stack, or `None` (after a note) when none was started.
    pub fn find() -> Option<MailStack> {
        let Some(path) = std::env::var_os("TICKETD_MAILSTACK_ENV") else {
            assert!(
                std::env::var("TICKETD_REQUIRE_MAILSTACK").as_deref() != Ok("1"),
                "TICKETD_REQUIRE_MAILSTACK=1 but TICKETD_MAILSTACK_ENV is not set: \
                 start the stack with scripts/mailstack/start.sh DIR and export \
                 TICKETD_MAILSTACK_ENV=DIR/mailstack.env, or run scripts/test"
            );
            eprintln!("skipped: no mail stack (run scripts/test)");
            return None;
        };
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "TICKETD_MAILSTACK_ENV={}: cannot read: {e} (is the stack running?)",
                path.to_string_lossy()
            )
        });
        let vars: HashMap<&str, &str> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim().trim_matches('"')))
            .collect();
        let get = |key: &str| -> String {
            vars.get(key)
                .map(|v| v.to_string())
                .unwrap_or_else(|| panic!("{key} missing in {}", path.to_string_lossy()))
        };
        let port = |key: &str| -> u16 {
            get(key)
                .parse()
                .unwrap_or_else(|e| panic!("{key}={}: {e}", get(key)))
        };
        Some(MailStack {
            ca: get("MAILSTACK_CA"),
            smtp_port: port("MAILSTACK_SMTP_PORT"),
            smtps_port: port("MAILSTACK_SMTPS_PORT"),
            imap_port: port("MAILSTACK_IMAP_PORT"),
            imaps_port: port("MAILSTACK_IMAPS_PORT"),
            password: get("MAILSTACK_PASSWORD"),
            dir: get("MAILSTACK_DIR"),
            dovecot_conf: get("MAILSTACK_DOVECOT_CONF"),
            postfix_conf: get("MAILSTACK_POSTFIX_CONF"),
        })
    }

    /// Empties a user's folder.
    pub fn empty(&self, user: &str, folder: &str) {
        let status = Command::new("doveadm")
            .args(["-c", &self.dovecot_conf, "expunge", "-u", user])
            .args(["mailbox", folder, "all"])
            .status()
            .expect("running doveadm");
        assert!(
            status.success(),
            "doveadm expunge {folder} of {user}: {status}"
        );
    }

    /// Runs `doveadm ARGS...` against the stack's Dovecot.
    pub fn doveadm(&self, args: &[&str]) -> Result<(), String> {
        let output = Command::new("doveadm")
            .args(["-c", &self.dovecot_conf])
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if output.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    /// Empties a user's INBOX.
    pub fn empty_inbox(&self, user: &str) {
        self.empty(user, "INBOX");
    }

    /// Runs `postfix stop` or `postfix start` on the stack's Postfix.
    pub fn postfix(&self, action: &str) {
        let status = Command::new("postfix")
            .args(["-c", &self.postfix_conf, action])
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .status()
            .expect("running postfix");
        assert!(status.success(), "postfix {action}: {status}");
    }

    /// Restarts Dovecot the way `systemctl restart` does: the master and
    /// every process it started (each IMAP session) get SIGTERM, so every
    /// connection drops. Waits until it accepts connections again.
    pub fn restart_dovecot(&self) {
        let pid_file = format!("{}/run/dovecot/master.pid", self.dir);
        let master = std::fs::read_to_string(&pid_file)
            .unwrap_or_else(|e| panic!("reading {pid_file}: {e}"));
        let master = master.trim();
        let children = Command::new("pkill")
            .args(["-TERM", "-P", master])
            .status()
            .expect("running pkill");
        assert!(children.success(), "pkill -P {master}: {children}");
        let stopped = Command::new("kill")
            .args(["-TERM", master])
            .status()
            .expect("running kill");
        assert!(stopped.success(), "kill {master}: {stopped}");
        let started = crate::util::poll_until("Dovecot to start again", DEADLINE, || {
            Command::new("dovecot")
                .args(["-c", &self.dovecot_conf])
                .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
                .stderr(std::process::Stdio::null())
                .status()
                .ok()
                .filter(|s| s.success())
        });
        assert!(started.success());
        crate::util::poll_until("Dovecot's IMAP port", DEADLINE, || {
            std::net::TcpStream::connect(("127.0.0.1", self.imap_port))
                .ok()
                .map(drop)
        });
    }

    /// A config that watches `user`'s INBOX over plain IMAP and sends
    /// through Postfix, with the unique `instance` name.
    pub fn imap_env(&self, instance: &str, user: &str) -> TestEnv {
        let (imap_port, smtp_port, password) =
            (self.imap_port, self.smtp_port, self.password.clone());
        TestEnv::with_config(|c| {
            set(c, "instance.id", instance);
            set(c, "outbound.transport", "smtp");
            set(c, "outbound.smtp.host", "127.0.0.1");
            set(c, "outbound.smtp.port", i64::from(smtp_port));
            set(c, "outbound.smtp.security", "plain");
            set(c, "outbound.smtp.timeout_secs", 5);
            set(c, "outbound.initial_backoff_secs", 1);
            set(c, "outbound.max_backoff_secs", 1);
            if let Some(inbound) = c.get_mut("inbound").and_then(|v| v.as_table_mut()) {
                inbound.remove("maildir");
            }
            let mut mailbox = toml::Table::new();
            set(&mut mailbox, "name", "support");
            set(&mut mailbox, "host", "127.0.0.1");
            set(&mut mailbox, "port", i64::from(imap_port));
            set(&mut mailbox, "security", "plain");
            set(&mut mailbox, "username", user);
            set(&mut mailbox, "password", password.as_str());
            set(&mut mailbox, "timeout_secs", 5);
            set(c, "inbound.imap", toml::Value::Array(vec![mailbox.into()]));
        })
    }

    /// Changes the (single) `[[inbound.imap]]` entry of `env`.
    pub fn edit_mailbox(env: &mut TestEnv, key: &str, value: impl Into<toml::Value>) {
        let value = value.into();
        env.edit_config(|c| {
            let list = c["inbound"]["imap"].as_array_mut().expect("an imap list");
            let table = list[0].as_table_mut().expect("an imap table");
            table.insert(key.to_string(), value);
        });
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    }

    async fn session(
        &self,
        user: &str,
    ) -> anyhow::Result<async_imap::Session<tokio::net::TcpStream>> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.imap_port)).await?;
        let mut client = async_imap::Client::new(tcp);
        client
            .read_response()
            .await?
            .ok_or_else(|| anyhow::anyhow!("no IMAP greeting"))?;
        Ok(client
            .login(user, &self.password)
            .await
            .map_err(|(e, _)| e)?)
    }

    /// Every message in a user's folder (raw), over IMAP.
    pub async fn folder(&self, user: &str, folder: &str) -> anyhow::Result<Vec<Vec<u8>>> {
        let mut session = self.session(user).await?;
        let mailbox = session.examine(folder).await?;
        let mut messages = Vec::new();
        if mailbox.exists > 0 {
            let fetches: Vec<_> = session
                .uid_fetch("1:*", "BODY.PEEK[]")
                .await?
                .try_collect()
                .await?;
            messages.extend(fetches.iter().filter_map(|f| f.body()).map(<[u8]>::to_vec));
        }
        session.logout().await?;
        Ok(messages)
    }

    /// Number of messages in a user's folder (STATUS, from a connection
    /// that has nothing selected, so the count is never stale).
    pub fn count(&self, user: &str, folder: &str) -> usize {
        Self::runtime()
            .block_on(async {
                let mut session = self.session(user).await?;
                let status = session.status(folder, "(MESSAGES)").await?;
                session.logout().await?;
                anyhow::Ok(status.exists as usize)
            })
            .unwrap_or_else(|e| panic!("counting {user}'s {folder} over IMAP: {e:#}"))
    }

    /// Puts messages straight into a user's folder with IMAP APPEND,
    /// optionally flagged `\Seen` (as if read in webmail).
    pub fn append(&self, user: &str, folder: &str, messages: &[Vec<u8>], seen: bool) {
        Self::runtime()
            .block_on(async {
                let mut session = self.session(user).await?;
                let flags = seen.then_some("(\\Seen)");
                for raw in messages {
                    session.append(folder, flags, None, raw).await?;
                }
                session.logout().await?;
                anyhow::Ok(())
            })
            .unwrap_or_else(|e| panic!("appending to {user}'s {folder}: {e:#}"));
    }

    /// Submits a raw message to Postfix over SMTP, as a mail client would.
    pub fn send(&self, from: &str, to: &[&str], raw: &[u8]) {
        use lettre::AsyncTransport;
        let envelope = lettre::address::Envelope::new(
            Some(from.parse().expect("a valid sender")),
            to.iter()
                .map(|t| t.parse().expect("a valid recipient"))
                .collect(),
        )
        .expect("an envelope");
        let port = self.smtp_port;
        Self::runtime()
            .block_on(async {
                let smtp = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(
                    "127.0.0.1",
                )
                .port(port)
                .build();
                smtp.send_raw(&envelope, raw).await
            })
            .unwrap_or_else(|e| panic!("sending by SMTP: {e}"));
    }

    /// Polls a user's INBOX until it holds `count` mails of this instance
    /// (deadline [`DEADLINE`]); panics on more.
    #[track_caller]
    pub fn wait_for(&self, instance: &str, user: &str, count: usize) -> Vec<Eml> {
        let deadline = Instant::now() + DEADLINE;
        Self::runtime().block_on(async {
            loop {
                let ours = self.ours(instance, user).await;
                assert!(
                    ours.len() <= count,
                    "{user} has {} mails, expected {count}: {ours:#?}",
                    ours.len()
                );
                if ours.len() == count {
                    return ours;
                }
                assert!(
                    Instant::now() < deadline,
                    "{user} has {} of {count} mails after {DEADLINE:?}",
                    ours.len()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    }

    /// This instance's mails in a user's INBOX now.
    pub fn mails(&self, instance: &str, user: &str) -> Vec<Eml> {
        Self::runtime().block_on(self.ours(instance, user))
    }

    async fn ours(&self, instance: &str, user: &str) -> Vec<Eml> {
        self.folder(user, "INBOX")
            .await
            .unwrap_or_else(|e| panic!("reading {user}'s INBOX over IMAP: {e:#}"))
            .iter()
            .map(|raw| Eml::parse(raw, ""))
            .filter(|m| m.header("X-Ticketd-Loop") == Some(instance))
            .collect()
    }
}

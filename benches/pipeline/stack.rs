//! The loopback mail stack started by `scripts/bench` (the same
//! `scripts/mailstack/start.sh` the tests use): how to fill a mailbox, read
//! it like a plain client, count it and send into it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::TryStreamExt;

/// The running stack, from its `mailstack.env`.
pub struct Stack {
    /// IMAP port (plain).
    pub imap_port: u16,
    /// SMTP port of Postfix.
    pub smtp_port: u16,
    /// Every user's password.
    pub password: String,
    dir: PathBuf,
    dovecot_conf: String,
}

/// An IMAP session over plain TCP.
pub type Session = async_imap::Session<tokio::net::TcpStream>;

impl Stack {
    /// Reads `mailstack.env`.
    pub fn from_env_file(path: &str) -> anyhow::Result<Stack> {
        let text = std::fs::read_to_string(path).with_context(|| format!("Reading {path}"))?;
        let vars: HashMap<&str, &str> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim().trim_matches('"')))
            .collect();
        let get = |k: &str| {
            vars.get(k)
                .map(|v| v.to_string())
                .with_context(|| format!("{k} missing in {path}"))
        };
        Ok(Stack {
            imap_port: get("MAILSTACK_IMAP_PORT")?.parse()?,
            smtp_port: get("MAILSTACK_SMTP_PORT")?.parse()?,
            password: get("MAILSTACK_PASSWORD")?,
            dir: PathBuf::from(get("MAILSTACK_DIR")?),
            dovecot_conf: get("MAILSTACK_DOVECOT_CONF")?,
        })
    }

    /// Runs `doveadm ARGS` against the stack.
    pub fn doveadm(&self, args: &[&str]) -> anyhow::Result<()> {
        let out = Command::new("doveadm")
            .args(["-c", &self.dovecot_conf])
            .args(args)
            .output()?;
        if !out.status.success() {
            bail!("doveadm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }

    /// Empties a folder of a user.
    pub fn empty(&self, user: &str, folder: &str) -> anyhow::Result<()> {
        self.doveadm(&["expunge", "-u", user, "mailbox", folder, "all"])
    }

    /// Delivers messages straight into a user's Maildir `new/` (as an MTA
    /// would), then lets Dovecot index them, so neither ticketd nor the
    /// plain client pays for the first sync.
    pub fn fill_inbox(&self, user: &str, messages: &[Vec<u8>]) -> anyhow::Result<()> {
        let (local, domain) = user.split_once('@').context("a user address")?;
        let maildir = self
            .dir
            .join("mail")
            .join(domain)
            .join(local)
            .join("Maildir");
        let new = maildir.join("new");
        std::fs::create_dir_all(&new)?;
        let (uid, gid) = mail_owner(&maildir)?;
        for (i, raw) in messages.iter().enumerate() {
            let path = new.join(format!("1700000000.M{i}P1.bench,S={}", raw.len()));
            std::fs::write(&path, raw)?;
            std::os::unix::fs::chown(&path, Some(uid), Some(gid))?;
        }
        self.doveadm(&["mailbox", "status", "-u", user, "messages", "INBOX"])
    }

    /// Logs in as `user`.
    pub async fn session(&self, user: &str) -> anyhow::Result<Session> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.imap_port)).await?;
        tcp.set_nodelay(true)?;
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await?.context("no IMAP greeting")?;
        client
            .login(user, &self.password)
            .await
            .map_err(|(e, _)| e.into())
    }

    /// Messages in a folder, by STATUS from a connection that has nothing
    /// selected (a selected folder's STATUS can be stale on Dovecot).
    pub async fn count(&self, session: &mut Session, folder: &str) -> anyhow::Result<u32> {
        let status = session.status(folder, "(MESSAGES)").await?;
        Ok(status.exists)
    }

    /// Polls until `folder` holds `target` messages; returns when it did.
    pub async fn wait_count(
        &self,
        user: &str,
        folder: &str,
        target: u32,
        limit: Duration,
    ) -> anyhow::Result<Instant> {
        let mut session = self.session(user).await?;
        let deadline = Instant::now() + limit;
        loop {
            if self.count(&mut session, folder).await? == target {
                return Ok(Instant::now());
            }
            if Instant::now() > deadline {
                bail!("{user}'s {folder} did not reach {target} messages in {limit:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls until `target` messages of `user`'s INBOX carry `\Seen`.
    pub async fn wait_seen(
        &self,
        user: &str,
        target: usize,
        limit: Duration,
    ) -> anyhow::Result<()> {
        let mut session = self.session(user).await?;
        session.select("INBOX").await?;
        let deadline = Instant::now() + limit;
        while session.uid_search("SEEN").await?.len() < target {
            if Instant::now() > deadline {
                bail!("{user}'s INBOX did not reach {target} seen messages in {limit:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// The plain client: fetches every message of INBOX with one
    /// `UID FETCH 1:* BODY.PEEK[]`. Returns (messages, bytes, seconds).
    pub async fn raw_fetch(&self, user: &str) -> anyhow::Result<(usize, usize, f64)> {
        let mut session = self.session(user).await?;
        session.select("INBOX").await?;
        let started = Instant::now();
        let fetches: Vec<_> = session
            .uid_fetch("1:*", "BODY.PEEK[]")
            .await?
            .try_collect()
            .await?;
        let seconds = started.elapsed().as_secs_f64();
        let bytes = fetches
            .iter()
            .filter_map(|f| f.body())
            .map(<[u8]>::len)
            .sum();
        session.logout().await?;
        Ok((fetches.len(), bytes, seconds))
    }

    /// A plain client that does what any exactly-once consumer must: fetch
    /// 200 messages at a time and `UID MOVE` each batch to Processed.
    /// Returns (messages moved, seconds).
    pub async fn raw_fetch_and_move(&self, user: &str) -> anyhow::Result<(usize, f64)> {
        let mut session = self.session(user).await?;
        session.create("Processed").await.ok();
        session.select("INBOX").await?;
        let started = Instant::now();
        let mut uids: Vec<u32> = session.uid_search("ALL").await?.into_iter().collect();
        uids.sort_unstable();
        for batch in uids.chunks(200) {
            let set = format!("{}:{}", batch[0], batch[batch.len() - 1]);
            let fetched: Vec<_> = session
                .uid_fetch(&set, "BODY.PEEK[]")
                .await?
                .try_collect()
                .await?;
            anyhow::ensure!(fetched.len() == batch.len(), "a batch came back short");
            session.uid_mv(&set, "Processed").await?;
        }
        let seconds = started.elapsed().as_secs_f64();
        session.logout().await?;
        Ok((uids.len(), seconds))
    }
}

fn mail_owner(dir: &std::path::Path) -> anyhow::Result<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(dir)
        .with_context(|| format!("{} (is the stack running?)", dir.display()))?;
    Ok((meta.uid(), meta.gid()))
}

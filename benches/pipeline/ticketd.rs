//! Running the release `ticketd` binary against the stack: its
//! configuration (the shipped example, relocated and pointed at the
//! stack), its process, its health and its peak memory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::stack::Stack;

/// The binary under test (built by `cargo bench` with the bench profile).
const BIN: &str = env!("CARGO_BIN_EXE_ticketd");
/// The repository root.
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Sets `dotted.key` in a TOML table, creating tables on the way.
pub fn set(table: &mut toml::Table, dotted: &str, value: impl Into<toml::Value>) {
    let mut parts: Vec<&str> = dotted.split('.').collect();
    let last = parts.pop().unwrap_or_default();
    let mut current = table;
    for part in parts {
        let entry = current
            .entry(part)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        match entry.as_table_mut() {
            Some(t) => current = t,
            None => return,
        }
    }
    current.insert(last.to_string(), value.into());
}

/// How alerts leave during a scenario.
pub enum Outbound {
    /// Through the stack's Postfix.
    Postfix,
    /// To a server that accepts the connection and never answers: the
    /// sender waits on its first item for the whole measurement, so
    /// alerts are queued (part of ingest) but sending costs nothing.
    Parked,
}

/// A ticketd installation in a directory of its own.
pub struct Install {
    /// Its directory (store, config, log).
    pub dir: PathBuf,
    /// Its configuration.
    pub config: toml::Table,
    /// Local API port.
    pub api_port: u16,
}

impl Install {
    /// The shipped configuration, with the store in `dir`, watching
    /// support@'s INBOX, sending as `outbound` says.
    pub fn new(dir: &Path, stack: &Stack, outbound: Outbound) -> anyhow::Result<Install> {
        let text = std::fs::read_to_string(Path::new(ROOT).join("config/ticketd.toml"))?;
        let mut config: toml::Table = text.parse()?;
        let api_port = free_port()?;
        let path = |sub: &str| dir.join(sub).display().to_string();
        set(&mut config, "store.path", path("store"));
        set(
            &mut config,
            "templates.dir",
            Path::new(ROOT).join("templates").display().to_string(),
        );
        set(&mut config, "api.listen", format!("127.0.0.1:{api_port}"));
        set(&mut config, "alerts.rate_limit_max", 1_000_000);
        if let Some(inbound) = config.get_mut("inbound").and_then(|v| v.as_table_mut()) {
            inbound.remove("maildir");
        }
        let mut mailbox = toml::Table::new();
        for (key, value) in [
            ("name", toml::Value::from("support")),
            ("host", "127.0.0.1".into()),
            ("port", i64::from(stack.imap_port).into()),
            ("security", "plain".into()),
            ("username", "support@example.test".into()),
            ("password", stack.password.as_str().into()),
        ] {
            mailbox.insert(key.into(), value);
        }
        set(
            &mut config,
            "inbound.imap",
            toml::Value::Array(vec![mailbox.into()]),
        );
        let port = match outbound {
            Outbound::Postfix => stack.smtp_port,
            Outbound::Parked => silent_server()?,
        };
        set(&mut config, "outbound.transport", "smtp");
        set(&mut config, "outbound.smtp.host", "127.0.0.1");
        set(&mut config, "outbound.smtp.port", i64::from(port));
        set(&mut config, "outbound.smtp.security", "plain");
        set(&mut config, "outbound.initial_backoff_secs", 3600);
        std::fs::create_dir_all(dir)?;
        let install = Install {
            dir: dir.to_path_buf(),
            config,
            api_port,
        };
        install.write()?;
        Ok(install)
    }

    /// Writes the configuration file.
    /// Sets a key of the watched mailbox (`[[inbound.imap]]`) and writes.
    pub fn set_mailbox(&mut self, key: &str, value: impl Into<toml::Value>) -> anyhow::Result<()> {
        let mailbox = self.config["inbound"]["imap"][0]
            .as_table_mut()
            .context("the mailbox table")?;
        mailbox.insert(key.into(), value.into());
        self.write()
    }

    pub fn write(&self) -> anyhow::Result<()> {
        std::fs::write(self.config_path(), toml::to_string(&self.config)?)?;
        Ok(())
    }

    /// The configuration file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("ticketd.toml")
    }

    /// The validated configuration, for in-process use of the library.
    pub fn parsed(&self) -> anyhow::Result<ticketd::config::Config> {
        Ok(ticketd::config::Config::load(&self.config_path())?)
    }

    /// Runs `ticketd ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> anyhow::Result<()> {
        let status = Command::new(BIN)
            .arg("--config")
            .arg(self.config_path())
            .args(args)
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            bail!("ticketd {args:?} exited with {status}");
        }
        Ok(())
    }

    /// Starts `ticketd serve` and waits for its API.
    pub fn serve(&self) -> anyhow::Result<Daemon> {
        let log = std::fs::File::create(self.dir.join("daemon.log"))?;
        let child = Command::new(BIN)
            .arg("--config")
            .arg(self.config_path())
            .arg("serve")
            .current_dir(&self.dir)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let daemon = Daemon {
            child,
            api_port: self.api_port,
            token_path: self.dir.join("store/api-token"),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while daemon.health().is_err() {
            if Instant::now() > deadline {
                bail!(
                    "ticketd serve did not answer; see {}",
                    self.dir.join("daemon.log").display()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(daemon)
    }
}

/// A running `ticketd serve`.
pub struct Daemon {
    child: Child,
    api_port: u16,
    token_path: PathBuf,
}

impl Daemon {
    /// `GET /v1/health`.
    pub fn health(&self) -> anyhow::Result<Value> {
        let token = std::fs::read_to_string(&self.token_path)?;
        let mut response = ureq::get(&format!("http://127.0.0.1:{}/v1/health", self.api_port))
            .header("Authorization", &format!("Bearer {}", token.trim()))
            .call()?;
        Ok(response.body_mut().read_json()?)
    }

    /// A memory figure of `/proc/PID/status` in KiB: `VmRSS` (resident
    /// now) or `VmHWM` (peak resident so far).
    pub fn rss_kib(&self, field: &str) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("{field} missing"))
    }

    /// Stops it with SIGTERM and waits.
    pub fn stop(mut self) -> anyhow::Result<()> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port that accepts connections and never says a word.
fn silent_server() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    Ok(port)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

//! Test harness: one throw-away ticketd installation per test.
//!
//! [`TestEnv`] makes a temporary directory, writes a configuration based on
//! the shipped `config/ticketd.toml` (store, Maildir and outbound folder
//! inside the temp dir, the API on a free loopback port, the repository's
//! templates) and runs the real `ticketd` binary against it. Every command
//! runs with a deadline, so a hang fails the test instead of the CI job.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use mail_parser::{Address, HeaderValue, MessageParser};
use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_ticketd");
/// The repository root.
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// Longest a single CLI command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// The shipped configuration as TOML.
fn example_config() -> toml::Table {
    let path = Path::new(ROOT).join("config/ticketd.toml");
    let text = std::fs::read_to_string(&path).expect("reading config/ticketd.toml");
    text.parse().expect("config/ticketd.toml is valid TOML")
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding 127.0.0.1:0")
        .port()
}

/// Sets `dotted.key` in a TOML table, creating intermediate tables.
pub fn set(table: &mut toml::Table, dotted: &str, value: impl Into<toml::Value>) {
    let mut parts: Vec<&str> = dotted.split('.').collect();
    let last = parts.pop().expect("a non-empty key");
    let mut current = table;
    for part in parts {
        current = current
            .entry(part)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .unwrap_or_else(|| panic!("{part} in {dotted} is not a table"));
    }
    current.insert(last.to_string(), value.into());
}

/// Polls `check` every 50 ms until it returns `Some`, or panics after
/// `timeout` naming `what`.
pub fn poll_until<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Builds a raw message from headers and a plain-text body (CRLF line
/// ends; a Date and a text/plain UTF-8 content type are added).
pub fn mail(headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut text = String::new();
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n");
    text.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
    text.push_str(&body.replace('\n', "\r\n"));
    text.push_str("\r\n");
    text.into_bytes()
}

/// A fixture file from `tests/fixtures`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(ROOT).join("tests/fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("creating the copy's directory");
    for entry in std::fs::read_dir(from).expect("reading the source directory") {
        let entry = entry.expect("a directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copying a file");
        }
    }
}

/// What a finished command did.
#[derive(Debug)]
pub struct Run {
    /// The arguments after `--config FILE`.
    pub args: Vec<String>,
    /// Exit status.
    pub status: ExitStatus,
    /// Standard output.
    pub stdout: String,
    /// Standard error (logs and error messages).
    pub stderr: String,
}

impl Run {
    /// The exit code (`None` when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Panics unless the command exited 0.
    #[track_caller]
    pub fn assert_success(self) -> Run {
        assert!(self.status.success(), "{self}");
        self
    }

    /// Panics unless the command exited non-zero.
    #[track_caller]
    pub fn assert_failure(self) -> Run {
        assert!(
            !self.status.success(),
            "expected a failure, but the command succeeded:\n{self}"
        );
        self
    }

    /// Standard output parsed as one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{self}"))
    }

    /// Standard output parsed as a sequence of JSON documents.
    #[track_caller]
    pub fn json_stream(&self) -> Vec<Value> {
        serde_json::Deserializer::from_str(&self.stdout)
            .into_iter::<Value>()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("stdout is not a JSON stream ({e}):\n{self}"))
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`ticketd {}` exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args.join(" "),
            self.status,
            self.stdout,
            self.stderr
        )
    }
}

/// Runs a command to completion with a deadline, feeding `stdin`.
pub fn run_command(mut command: Command, args: Vec<String>, stdin: Option<&[u8]>) -> Run {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("starting ticketd");
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let out = reader(child.stdout.take().map(|p| Box::new(p) as _));
    let err = reader(child.stderr.take().map(|p| Box::new(p) as _));
    if let (Some(mut pipe), Some(data)) = (child.stdin.take(), stdin) {
        let data = data.to_vec();
        // Dropping the pipe at the end of the thread closes standard input.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }
    let status = wait_with_deadline(&mut child, COMMAND_TIMEOUT)
        .unwrap_or_else(|| panic!("`ticketd {}` did not finish within 30 s", args.join(" ")));
    Run {
        args,
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// Waits for `child` up to `timeout`; kills it and returns `None` on timeout.
pub fn wait_with_deadline(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for a child") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A throw-away ticketd installation.
pub struct TestEnv {
    dir: tempfile::TempDir,
    config: toml::Table,
    /// Port of the local API (`api.listen`).
    pub api_port: u16,
    files: AtomicU32,
}

impl TestEnv {
    /// The shipped configuration, relocated into a temp dir.
    pub fn new() -> TestEnv {
        TestEnv::with_config(|_| {})
    }

    /// Like [`TestEnv::new`], then `edit` changes the configuration.
    pub fn with_config(edit: impl FnOnce(&mut toml::Table)) -> TestEnv {
        let dir = tempfile::tempdir().expect("creating a temp dir");
        let api_port = free_port();
        let mut config = example_config();
        let path = |sub: &str| dir.path().join(sub).display().to_string();
        set(&mut config, "store.path", path("store"));
        set(&mut config, "inbound.maildir.path", path("maildir"));
        set(&mut config, "outbound.file_dir", path("outbound"));
        set(&mut config, "api.listen", format!("127.0.0.1:{api_port}"));
        set(
            &mut config,
            "templates.dir",
            Path::new(ROOT).join("templates").display().to_string(),
        );
        edit(&mut config);
        let env = TestEnv {
            dir,
            config,
            api_port,
            files: AtomicU32::new(0),
        };
        env.write_config();
        env
    }

    fn write_config(&self) {
        let text = toml::to_string(&self.config).expect("encoding the config");
        std::fs::write(self.config_path(), text).expect("writing the config");
    }

    /// Changes the configuration and rewrites the file.
    pub fn edit_config(&mut self, edit: impl FnOnce(&mut toml::Table)) {
        edit(&mut self.config);
        self.write_config();
    }

    /// The temp dir (also the working directory of every command).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The configuration file.
    pub fn config_path(&self) -> PathBuf {
        self.path().join("ticketd.toml")
    }

    /// The Maildir drop folder.
    pub fn maildir(&self) -> PathBuf {
        self.path().join("maildir")
    }

    /// Delivers `raw` into the Maildir's `new/` the Maildir way (written
    /// in `tmp/`, then renamed).
    pub fn drop_into_maildir(&self, name: &str, raw: &[u8]) {
        let root = self.maildir();
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(root.join(sub)).expect("creating the Maildir");
        }
        let tmp = root.join("tmp").join(name);
        std::fs::write(&tmp, raw).expect("writing into tmp/");
        std::fs::rename(&tmp, root.join("new").join(name)).expect("moving into new/");
    }

    /// The folder the file transport writes `.eml` files into.
    pub fn outbound_dir(&self) -> PathBuf {
        self.path().join("outbound")
    }

    /// A `ticketd --config FILE ARGS...` command in the temp dir.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .arg("--config")
            .arg(self.config_path())
            .args(args)
            .current_dir(self.path())
            .env_remove("TICKETD_CONFIG")
            .env_remove("TICKETD_LOG_FORMAT")
            .env("RUST_LOG", "info");
        command
    }

    /// Runs `ticketd ARGS...` to completion.
    pub fn run(&self, args: &[&str]) -> Run {
        run_command(self.command(args), strings(args), None)
    }

    /// Runs `ticketd ARGS...` with `stdin` as standard input.
    pub fn run_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        run_command(self.command(args), strings(args), Some(stdin))
    }

    /// Runs `ticketd ARGS...` and asserts it exits 0.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> Run {
        self.run(args).assert_success()
    }

    /// Runs `ticketd --json ARGS...`, asserts exit 0, parses the output.
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        self.ok(&all).json()
    }

    /// Runs `ticketd --json ingest FILE` (exit 0) and returns the outcome.
    #[track_caller]
    pub fn ingest(&self, raw: &[u8]) -> Value {
        let reply = self.ingest_run(raw).assert_success().json();
        assert_eq!(reply["kind"], "ingested", "{reply}");
        reply["outcome"].clone()
    }

    /// Runs `ticketd --json ingest FILE` without checking the result.
    pub fn ingest_run(&self, raw: &[u8]) -> Run {
        let n = self.files.fetch_add(1, Ordering::Relaxed);
        let file = self.path().join(format!("inbound-{n}.eml"));
        std::fs::write(&file, raw).expect("writing the message file");
        let file = file.display().to_string();
        self.run(&["--json", "ingest", &file])
    }

    /// Runs `ticketd outbox deliver` and asserts it exits 0.
    #[track_caller]
    pub fn deliver(&self) -> Run {
        self.ok(&["outbox", "deliver"])
    }

    /// `tickets show ID --json`.
    #[track_caller]
    pub fn ticket(&self, id: u64) -> Value {
        let detail = self.json(&["tickets", "show", &id.to_string()]);
        assert_eq!(detail["kind"], "ticket", "{detail}");
        detail
    }

    /// `tickets list --json`, newest first.
    #[track_caller]
    pub fn tickets(&self) -> Vec<Value> {
        array(&self.json(&["tickets", "list"])["tickets"])
    }

    /// `outbox list --json --limit 1000`, newest first.
    #[track_caller]
    pub fn outbox(&self) -> Vec<Value> {
        array(&self.json(&["outbox", "list", "--limit", "1000"])["items"])
    }

    /// Every `.eml` the file transport wrote, in outbox order.
    pub fn outbound(&self) -> Vec<Eml> {
        let Ok(entries) = std::fs::read_dir(self.outbound_dir()) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".eml") && !n.starts_with('.'))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|name| {
                let raw = std::fs::read(self.outbound_dir().join(&name)).expect("reading an .eml");
                // Files are named `<item id, 8 digits>-<event>.eml`.
                let kind = name
                    .trim_end_matches(".eml")
                    .split_once('-')
                    .map(|(_, k)| k.to_string())
                    .unwrap_or_default();
                Eml::parse(&raw, &kind)
            })
            .collect()
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// A JSON array's elements (panics when it is not one).
#[track_caller]
pub fn array(value: &Value) -> Vec<Value> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("expected a JSON array, got {value}"))
        .clone()
}

/// The interesting parts of an outgoing message.
#[derive(Debug, Clone)]
pub struct Eml {
    /// Event name (from the file name; empty when unknown).
    pub kind: String,
    /// From address.
    pub from: Option<String>,
    /// To addresses (lower-case).
    pub to: Vec<String>,
    /// Reply-To addresses (lower-case).
    pub reply_to: Vec<String>,
    /// Decoded subject.
    pub subject: String,
    /// Message-ID without brackets.
    pub message_id: Option<String>,
    /// In-Reply-To ids without brackets.
    pub in_reply_to: Vec<String>,
    /// Every header as (name, unfolded raw value).
    pub headers: Vec<(String, String)>,
    /// Plain-text body.
    pub text: String,
}

impl Eml {
    /// Parses raw message bytes.
    #[track_caller]
    pub fn parse(raw: &[u8], kind: &str) -> Eml {
        let message = MessageParser::default()
            .parse(raw)
            .unwrap_or_else(|| panic!("unparseable mail:\n{}", String::from_utf8_lossy(raw)));
        let addresses = |a: Option<&Address<'_>>| -> Vec<String> {
            a.into_iter()
                .flat_map(|a| a.iter())
                .filter_map(|a| a.address())
                .map(str::to_ascii_lowercase)
                .collect()
        };
        let ids = |v: &HeaderValue<'_>| -> Vec<String> {
            match v {
                HeaderValue::Text(id) => vec![id.to_string()],
                HeaderValue::TextList(ids) => ids.iter().map(|i| i.to_string()).collect(),
                _ => Vec::new(),
            }
        };
        Eml {
            kind: kind.to_string(),
            from: addresses(message.from()).into_iter().next(),
            to: addresses(message.to()),
            reply_to: addresses(message.reply_to()),
            subject: message.subject().unwrap_or_default().to_string(),
            message_id: message.message_id().map(str::to_string),
            in_reply_to: ids(message.in_reply_to()),
            headers: message
                .headers_raw()
                .map(|(n, v)| {
                    let value = v.split_whitespace().collect::<Vec<_>>().join(" ");
                    (n.to_string(), value)
                })
                .collect(),
            text: message
                .body_text(0)
                .map(|t| t.replace("\r\n", "\n"))
                .unwrap_or_default(),
        }
    }

    /// The first header of that name (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The single To address (panics unless there is exactly one).
    #[track_caller]
    pub fn recipient(&self) -> &str {
        assert_eq!(self.to.len(), 1, "expected one To address: {self:#?}");
        &self.to[0]
    }
}

/// `ticketd serve` running as a child process; killed when dropped.
pub struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// Starts `ticketd serve` and waits until its API answers.
    pub fn start(env: &TestEnv) -> Daemon {
        Daemon::start_with(env, &["serve"])
    }

    /// Starts `ticketd ARGS...` (a `serve` variant) and waits for its API.
    pub fn start_with(env: &TestEnv, args: &[&str]) -> Daemon {
        let log = env.path().join("daemon.log");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("creating the daemon log");
        let child = env
            .command(args)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("cloning the log handle"))
            .stderr(file)
            .spawn()
            .expect("starting ticketd serve");
        let mut daemon = Daemon { child, log };
        // Connect first: a CLI command run before the daemon listens would
        // open the store itself and could take the lock from the daemon.
        poll_until("the daemon's API port", Duration::from_secs(10), || {
            daemon.assert_running();
            std::net::TcpStream::connect(("127.0.0.1", env.api_port))
                .ok()
                .map(drop)
        });
        let health = env.ok(&["--json", "health"]);
        assert!(
            !health.stdout.contains("no daemon"),
            "health did not reach the daemon:\n{health}"
        );
        daemon
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the daemon logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panics (with the log) if the daemon has exited.
    #[track_caller]
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().expect("checking the daemon") {
            panic!("ticketd serve exited with {status}:\n{}", self.log());
        }
    }

    /// Sends SIGTERM and waits up to 10 s for the exit status.
    #[track_caller]
    pub fn terminate(mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status()
            .expect("running kill");
        assert!(sent.success(), "kill -TERM failed");
        match wait_with_deadline(&mut self.child, Duration::from_secs(10)) {
            Some(status) => status,
            None => panic!(
                "ticketd serve did not exit within 10 s of SIGTERM:\n{}",
                self.log()
            ),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

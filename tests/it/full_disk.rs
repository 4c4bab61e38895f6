//! A full disk under the store: a small tmpfs mounted for the test (root
//! only; skipped with a message otherwise), filled up while the daemon
//! runs. Ingest stops cleanly and resumes by itself, nothing is lost or
//! quarantined, reads and SIGTERM keep working, and an alert due while
//! the store cannot record its sending is not sent until it can, then
//! arrives once.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::mailstack::{MailStack, instance_name, take_turn};
use crate::util::{Daemon, TestEnv, array, mail, poll_until, set};

/// How long a step may take.
const DEADLINE: Duration = Duration::from_secs(20);
/// Space the store keeps free (`store.min_free_bytes`).
const RESERVE: u64 = 8 * 1024 * 1024;

/// A tmpfs mounted on a temp dir, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `mib` MiB, or `None` (with a message) when not
    /// root.
    fn mount(mib: u64) -> Option<Tmpfs> {
        if !rustix::process::geteuid().is_root() {
            eprintln!("full_disk: skipped, mounting a tmpfs needs root");
            return None;
        }
        let dir = tempfile::tempdir().expect("a mount point");
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mib}m,mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .status()
            .expect("running mount");
        assert!(status.success(), "mount -t tmpfs failed: {status}");
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn free(&self) -> u64 {
        let stat = rustix::fs::statvfs(self.path()).expect("statvfs");
        stat.f_bavail * stat.f_frsize
    }

    /// Fills the disk until less than `leave` bytes are free.
    fn fill_leaving(&self, leave: u64) -> PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).expect("the filler");
        let chunk = vec![0u8; 256 * 1024];
        while self.free() >= leave {
            if file.write_all(&chunk).is_err() {
                break;
            }
        }
        file.sync_all().ok();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

fn request(n: usize) -> Vec<u8> {
    mail(
        &[
            ("From", &format!("customer{n}@example.test")),
            ("To", "support@example.test"),
            ("Subject", &format!("Request {n}")),
            ("Message-ID", &format!("<full-{n}@example.test>")),
        ],
        "Please help.",
    )
}

fn waiting_in_new(env: &TestEnv) -> usize {
    std::fs::read_dir(env.maildir().join("new")).map_or(0, |d| d.count())
}

fn ticket_count(env: &TestEnv) -> usize {
    array(&env.json(&["tickets", "list", "--limit", "1000"])["tickets"]).len()
}

fn store_state(env: &TestEnv) -> String {
    let health: Value = env.json(&["health"]);
    health["store"]["state"].as_str().unwrap_or("?").to_string()
}

fn env_on(disk: &Tmpfs, edit: impl FnOnce(&mut toml::Table)) -> TestEnv {
    TestEnv::with_config(|c| {
        set(
            c,
            "store.path",
            disk.path().join("store").display().to_string(),
        );
        set(c, "store.min_free_bytes", RESERVE as i64);
        set(c, "inbound.maildir.poll_interval_ms", 50);
        edit(c);
    })
}

#[test]
fn a_full_disk_stops_ingest_cleanly_and_it_resumes_when_space_returns() {
    let Some(disk) = Tmpfs::mount(64) else {
        return;
    };
    let env = env_on(&disk, |_| {});
    let daemon = Daemon::start(&env);
    for n in 0..3 {
        env.drop_into_maildir(&format!("m{n}"), &request(n));
    }
    poll_until("three tickets", DEADLINE, || {
        (ticket_count(&env) == 3).then_some(())
    });

    let filler = disk.fill_leaving(RESERVE / 2);
    for n in 3..8 {
        env.drop_into_maildir(&format!("m{n}"), &request(n));
    }
    poll_until("the store to report the full disk", DEADLINE, || {
        (store_state(&env) == "disk full").then_some(())
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        waiting_in_new(&env),
        5,
        "nothing taken from the Maildir while full"
    );
    assert_eq!(ticket_count(&env), 3, "reads answer, nothing half-stored");
    let quarantined = env.json(&["messages", "list", "--limit", "1000"]);
    assert!(array(&quarantined["messages"]).is_empty(), "{quarantined}");
    assert!(
        daemon.log().contains("disk full"),
        "a clear log line:\n{}",
        daemon.log()
    );

    std::fs::remove_file(&filler).expect("freeing the disk");
    poll_until("ingest to resume", DEADLINE, || {
        (ticket_count(&env) == 8).then_some(())
    });
    assert_eq!(waiting_in_new(&env), 0);
    assert_eq!(store_state(&env), "ok");
    let quarantined = env.json(&["messages", "list", "--limit", "1000"]);
    assert!(array(&quarantined["messages"]).is_empty(), "{quarantined}");

    disk.fill_leaving(RESERVE / 2);
    env.drop_into_maildir("m8", &request(8));
    let asked = Instant::now();
    let status = daemon.terminate();
    assert!(status.success(), "SIGTERM with the disk full: {status}");
    assert!(asked.elapsed() < Duration::from_secs(10));
}

#[test]
fn an_alert_due_while_the_disk_is_full_waits_and_then_arrives_once() {
    let _turn = take_turn();
    let Some(stack) = MailStack::find() else {
        return;
    };
    let Some(disk) = Tmpfs::mount(64) else {
        return;
    };
    let instance = instance_name("full-disk");
    stack.empty_inbox("customer@example.test");
    let env = env_on(&disk, |c| {
        set(c, "instance.id", instance.as_str());
        set(c, "outbound.transport", "smtp");
        set(c, "outbound.smtp.host", "127.0.0.1");
        set(c, "outbound.smtp.port", i64::from(stack.smtp_port));
        set(c, "outbound.smtp.security", "plain");
        set(c, "outbound.smtp.timeout_secs", 5);
        set(c, "outbound.initial_backoff_secs", 1);
        set(c, "outbound.max_backoff_secs", 1);
    });
    let daemon = Daemon::start(&env);
    stack.postfix("stop");
    let mut postfix_down = true;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let raw = mail(
            &[
                ("From", "customer@example.test"),
                ("To", "support@example.test"),
                ("Subject", "Printer jammed"),
                ("Message-ID", "<full-alert@example.test>"),
            ],
            "Paper jam.",
        );
        env.drop_into_maildir("alert", &raw);
        poll_until("a failed attempt at the acknowledgement", DEADLINE, || {
            let items = env.outbox();
            items
                .iter()
                .any(|i| i["attempts"].as_u64() >= Some(1) && i["status"]["state"] == "pending")
                .then_some(())
        });
        let filler = disk.fill_leaving(RESERVE / 2);
        stack.postfix("start");
        postfix_down = false;
        std::thread::sleep(Duration::from_secs(4));
        assert!(
            stack.mails(&instance, "customer@example.test").is_empty(),
            "nothing is sent while its sending cannot be recorded"
        );
        assert_eq!(store_state(&env), "disk full");
        std::fs::remove_file(&filler).expect("freeing the disk");
        poll_until("the acknowledgement to be sent", DEADLINE, || {
            env.outbox()
                .iter()
                .all(|i| i["status"]["state"] == "sent")
                .then_some(())
        });
        let arrived = stack.wait_for(&instance, "customer@example.test", 1);
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(
            stack.mails(&instance, "customer@example.test").len(),
            1,
            "{arrived:?}"
        );
    }));
    if postfix_down {
        stack.postfix("start");
    }
    drop(daemon);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

//! Five measurements: backlog, latency, outbound, growth and ingest alone
//! (fan-out is in `fanout.rs`). Each returns a [`Row`] set for the table
//! and the JSON report.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::TryStreamExt;
use serde::Serialize;

use crate::corpus;
use crate::smtp::PlainSmtp;
use crate::stack::Stack;
use crate::ticketd::{Install, Outbound, set};

/// One measured figure.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Scenario.
    pub scenario: String,
    /// What was measured.
    pub metric: String,
    /// The value.
    pub value: f64,
    /// Its unit.
    pub unit: String,
    /// The target, as text ("" when none).
    pub target: String,
    /// Whether the target is met (None when there is none).
    pub pass: Option<bool>,
}

pub fn row(scenario: &str, metric: &str, value: f64, unit: &str) -> Row {
    Row {
        scenario: scenario.into(),
        metric: metric.into(),
        value,
        unit: unit.into(),
        target: String::new(),
        pass: None,
    }
}

pub fn judged(mut r: Row, target: &str, pass: bool) -> Row {
    r.target = target.into();
    r.pass = Some(pass);
    r
}

const SUPPORT: &str = "support@example.test";
const CUSTOMER: &str = "customer@example.test";
const LIMIT: Duration = Duration::from_secs(600);

fn person(i: usize) -> String {
    format!("person{}@customers.example.test", i % 700)
}

fn clean(stack: &Stack, users: &[&str]) -> anyhow::Result<()> {
    for user in users {
        stack.empty(user, "INBOX")?;
    }
    stack.empty(SUPPORT, "Processed")
}

/// What a drain measured.
struct Drain {
    /// Seconds until INBOX was empty.
    seconds: f64,
    /// Resident memory (KiB) when the API first answered: the store open,
    /// nothing ingested yet.
    open_rss: u64,
    /// Peak resident memory (KiB) over the whole run.
    peak_rss: u64,
}

/// Runs ticketd until it has taken every message out of support@'s INBOX.
async fn drain(stack: &Stack, install: &Install, total: u32) -> anyhow::Result<Drain> {
    // Timed from the API's first answer: the store is open by then, so
    // opening a large store is not counted as ingest time.
    let daemon = install.serve()?;
    let open_rss = daemon.rss_kib("VmRSS")?;
    let started = Instant::now();
    stack.wait_count(SUPPORT, "INBOX", 0, LIMIT).await?;
    let seconds = started.elapsed().as_secs_f64();
    let mut session = stack.session(SUPPORT).await?;
    let moved = stack.count(&mut session, "Processed").await?;
    if moved != total {
        bail!("{moved} of {total} messages reached Processed");
    }
    let peak_rss = daemon.rss_kib("VmHWM")?;
    daemon.stop()?;
    Ok(Drain {
        seconds,
        open_rss,
        peak_rss,
    })
}

/// Backlog: the plain client's fetch rate of a full INBOX, the same client
/// fetching and moving it like ticketd must (the ceiling any IMAP desk
/// reaches here, and the reference for ticketd's rate), then ticketd's
/// full ingest of it. No target: ingest has its own, in `ingest_only`.
pub async fn backlog(stack: &Stack, work: &Path, n: usize) -> anyhow::Result<Vec<Row>> {
    clean(stack, &[SUPPORT])?;
    let messages: Vec<Vec<u8>> = corpus::backlog("backlog", n, 7, &person)
        .into_iter()
        .map(|g| g.raw)
        .collect();
    stack.fill_inbox(SUPPORT, &messages)?;
    let (fetched, bytes, raw_seconds) = stack.raw_fetch(SUPPORT).await?;
    if fetched != n {
        bail!("the plain client fetched {fetched} of {n}");
    }
    let raw_rate = n as f64 / raw_seconds;
    let (moved, move_seconds) = stack.raw_fetch_and_move(SUPPORT).await?;
    if moved != n {
        bail!("the plain client moved {moved} of {n}");
    }
    clean(stack, &[SUPPORT])?;
    stack.fill_inbox(SUPPORT, &messages)?;
    let install = Install::new(&work.join("backlog"), stack, Outbound::Parked)?;
    let drained = drain(stack, &install, n as u32).await?;
    let rate = n as f64 / drained.seconds;
    let move_rate = n as f64 / move_seconds;
    let flag_rate = n as f64 / flag_seconds(stack, work, &messages).await?;
    Ok(vec![
        row(
            "backlog",
            &format!(
                "plain IMAP fetch of {n} messages ({} MB)",
                bytes / 1_000_000
            ),
            raw_rate,
            "msg/s",
        ),
        row(
            "backlog",
            "plain IMAP fetch + UID MOVE, 200 at a time (the ceiling)",
            move_rate,
            "msg/s",
        ),
        row("backlog", "ticketd full ingest", rate, "msg/s"),
        row(
            "backlog",
            "ticketd full ingest, on_processed = \"flag\" (no move)",
            flag_rate,
            "msg/s",
        ),
        row(
            "backlog",
            "ticketd full ingest / the ceiling",
            rate / move_rate * 100.0,
            "%",
        ),
        row(
            "backlog",
            "ticketd peak RSS",
            drained.peak_rss as f64 / 1024.0,
            "MiB",
        ),
    ])
}

/// Seconds ticketd takes to ingest `messages` when it flags processed
/// mail `\Seen` instead of moving it (Dovecot's move is the costly part
/// of marking).
async fn flag_seconds(stack: &Stack, work: &Path, messages: &[Vec<u8>]) -> anyhow::Result<f64> {
    clean(stack, &[SUPPORT])?;
    stack.fill_inbox(SUPPORT, messages)?;
    let mut install = Install::new(&work.join("backlog-flag"), stack, Outbound::Parked)?;
    install.set_mailbox("on_processed", "flag")?;
    let daemon = install.serve()?;
    let started = Instant::now();
    stack.wait_seen(SUPPORT, messages.len(), LIMIT).await?;
    let seconds = started.elapsed().as_secs_f64();
    daemon.stop()?;
    clean(stack, &[SUPPORT])?;
    Ok(seconds)
}

/// Latency: mails sent by SMTP at a steady rate until each
/// acknowledgement is in the customer's INBOX.
pub async fn latency(
    stack: &Stack,
    work: &Path,
    n: usize,
    per_second: f64,
) -> anyhow::Result<Vec<Row>> {
    clean(stack, &[SUPPORT, CUSTOMER])?;
    let mut install = Install::new(&work.join("latency"), stack, Outbound::Postfix)?;
    set(&mut install.config, "outbound.initial_backoff_secs", 1);
    install.write()?;
    let daemon = install.serve()?;
    wait_idle(&daemon).await?;
    let arrivals = Arc::new(Mutex::new(HashMap::<String, Instant>::new()));
    let watcher = tokio::spawn(watch_arrivals(
        stack.session(CUSTOMER).await?,
        arrivals.clone(),
        n,
    ));
    let sent = send_steadily(stack, n, per_second).await?;
    tokio::time::timeout(Duration::from_secs(60), watcher)
        .await
        .context("acknowledgements missing after 60 s")???;
    daemon.stop()?;
    let arrivals = arrivals.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let mut latencies: Vec<f64> = sent
        .iter()
        .map(|(id, at)| {
            arrivals
                .get(id)
                .map(|got| got.duration_since(*at).as_secs_f64())
                .context("an ack is missing")
        })
        .collect::<anyhow::Result<_>>()?;
    latencies.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1]
    };
    let (p50, p99) = (pick(0.50), pick(0.99));
    Ok(vec![
        judged(
            row(
                "latency",
                &format!("p50 of {n} mails at {per_second}/s"),
                p50,
                "s",
            ),
            "<= 0.7 s",
            p50 <= 0.7,
        ),
        judged(row("latency", "p99", p99, "s"), "<= 1.0 s", p99 <= 1.0),
        row("latency", "max", latencies[latencies.len() - 1], "s"),
    ])
}

async fn wait_idle(daemon: &crate::ticketd::Daemon) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while daemon.health()?["mailboxes"][0]["state"] != "idle" {
        if Instant::now() > deadline {
            bail!("the mailbox never went idle");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Sends `n` requests at `per_second`; returns (Message-ID, send time).
async fn send_steadily(
    stack: &Stack,
    n: usize,
    per_second: f64,
) -> anyhow::Result<Vec<(String, Instant)>> {
    let mut smtp = PlainSmtp::connect(stack.smtp_port).await?;
    let interval = Duration::from_secs_f64(1.0 / per_second);
    let start = tokio::time::Instant::now();
    let mut sent = Vec::with_capacity(n);
    for i in 0..n {
        tokio::time::sleep_until(start + interval * i as u32).await;
        let id = format!("latency.{i}@customers.example.test");
        let raw = format!(
            "From: {CUSTOMER}\r\nTo: {SUPPORT}\r\nSubject: Latency probe {i}\r\nMessage-ID: <{id}>\r\n\
             Date: Mon, 2 Mar 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             Probe {i}: the printer on floor {i} is jammed again.\r\n"
        );
        let at = Instant::now();
        smtp.send(CUSTOMER, SUPPORT, raw.as_bytes()).await?;
        sent.push((id, at));
    }
    Ok(sent)
}

/// Watches the customer's INBOX (NOOP every 5 ms) and records when each
/// acknowledgement (by its In-Reply-To) arrived.
async fn watch_arrivals(
    mut session: crate::stack::Session,
    arrivals: Arc<Mutex<HashMap<String, Instant>>>,
    n: usize,
) -> anyhow::Result<()> {
    session.select("INBOX").await?;
    let mut next_uid = 1u32;
    loop {
        session.noop().await?;
        let fetches: Vec<_> = session
            .uid_fetch(
                format!("{next_uid}:*"),
                "(UID BODY.PEEK[HEADER.FIELDS (IN-REPLY-TO)])",
            )
            .await?
            .try_collect()
            .await?;
        let now = Instant::now();
        let first = next_uid;
        for fetch in fetches.iter().filter(|f| f.uid.is_some_and(|u| u >= first)) {
            next_uid = next_uid.max(fetch.uid.unwrap_or(0) + 1);
            let header = String::from_utf8_lossy(fetch.header().unwrap_or_default()).to_string();
            if let Some(id) = header.split('<').nth(1).and_then(|s| s.split('>').next()) {
                let mut map = arrivals.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                map.entry(id.to_string()).or_insert(now);
                if map.len() >= n {
                    return Ok(());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Outbound: `n` queued alerts sent by ticketd, against a plain SMTP
/// client sending the very same messages over one connection.
pub async fn outbound(stack: &Stack, work: &Path, n: usize) -> anyhow::Result<Vec<Row>> {
    clean(stack, &[CUSTOMER])?;
    let mut install = Install::new(&work.join("outbound"), stack, Outbound::Postfix)?;
    set(
        &mut install.config,
        "alerts.notify_staff",
        toml::Value::Array(Vec::new()),
    );
    install.write()?;
    queue_alerts(&install, n)?;
    let copy = work.join("outbound-files");
    let files = render_copy(&install, &copy)?;
    let raw_seconds = send_plainly(stack, &files).await?;
    // Postfix delivers what it accepted for a while after: let it finish,
    // so ticketd's run does not share the machine with that delivery.
    stack.wait_count(CUSTOMER, "INBOX", n as u32, LIMIT).await?;
    let started = Instant::now();
    let daemon = install.serve()?;
    while daemon.health()?["outbox_pending"] != 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    daemon.stop()?;
    stack
        .wait_count(CUSTOMER, "INBOX", 2 * n as u32, LIMIT)
        .await?;
    let (raw_rate, rate) = (n as f64 / raw_seconds, n as f64 / seconds);
    let ratio = rate / raw_rate;
    Ok(vec![
        row(
            "outbound",
            &format!("plain SMTP client, {n} messages, one connection"),
            raw_rate,
            "msg/s",
        ),
        row("outbound", "ticketd sender", rate, "msg/s"),
        judged(
            row("outbound", "ticketd / plain client", ratio * 100.0, "%"),
            ">= 50 %",
            ratio >= 0.5,
        ),
    ])
}

/// Opens `n` tickets through the library: one "new ticket" alert each.
fn queue_alerts(install: &Install, n: usize) -> anyhow::Result<()> {
    let app = ticketd::face::App::open(install.parsed()?)?;
    for i in 0..n {
        let request =
            ticketd::face::ops::Request::TicketCreate(ticketd::face::ops::NewTicketRequest {
                subject: format!("Outbound probe {i}"),
                requester: CUSTOMER.into(),
                recipients: Vec::new(),
                text: "We replaced the toner in the printer on floor 2.".repeat(20),
                category: None,
                actor: "bench".into(),
                origin: ticketd::model::Origin::Staff,
            });
        ticketd::face::ops::execute(&app, request).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    Ok(())
}

/// Copies the installation, delivers its outbox to files there, and
/// returns the files: the exact messages ticketd will send.
fn render_copy(install: &Install, dir: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let store = dir.join("store");
    std::fs::create_dir_all(&store)?;
    copy_tree(&install.dir.join("store"), &store)?;
    let mut config = install.config.clone();
    set(&mut config, "store.path", store.display().to_string());
    set(&mut config, "outbound.transport", "file");
    set(
        &mut config,
        "outbound.file_dir",
        dir.join("files").display().to_string(),
    );
    let copy = Install {
        dir: dir.to_path_buf(),
        config,
        api_port: install.api_port,
    };
    copy.write()?;
    copy.run(&["outbox", "deliver"])?;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir.join("files"))? {
        files.push(std::fs::read(entry?.path())?);
    }
    Ok(files)
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Seconds a plain client takes to send `files` over one SMTP connection.
async fn send_plainly(stack: &Stack, files: &[Vec<u8>]) -> anyhow::Result<f64> {
    let mut smtp = PlainSmtp::connect(stack.smtp_port).await?;
    let started = Instant::now();
    for raw in files {
        smtp.send(SUPPORT, CUSTOMER, raw).await?;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Growth: ingest rate of a backlog with 1,000 and with `big` tickets
/// already stored, and the daemon's peak memory with `big`.
pub async fn growth(
    stack: &Stack,
    work: &Path,
    big: usize,
    backlog: usize,
) -> anyhow::Result<Vec<Row>> {
    let mut rates = Vec::new();
    let mut rss = (0, 0);
    for stored in [1000, big] {
        let install = Install::new(
            &work.join(format!("growth-{stored}")),
            stack,
            Outbound::Parked,
        )?;
        prefill(&install, stored)?;
        clean(stack, &[SUPPORT])?;
        let messages: Vec<Vec<u8>> =
            corpus::backlog(&format!("growth{stored}"), backlog, 11, &person)
                .into_iter()
                .map(|g| g.raw)
                .collect();
        stack.fill_inbox(SUPPORT, &messages)?;
        let drained = drain(stack, &install, backlog as u32).await?;
        rates.push(backlog as f64 / drained.seconds);
        rss = (drained.open_rss, drained.peak_rss);
    }
    let ratio = rates[1] / rates[0];
    let mib = rss.1 as f64 / 1024.0;
    Ok(vec![
        row(
            "growth",
            &format!("ingest of {backlog} with 1,000 tickets stored"),
            rates[0],
            "msg/s",
        ),
        row(
            "growth",
            &format!("ingest of {backlog} with {big} tickets stored"),
            rates[1],
            "msg/s",
        ),
        judged(
            row(
                "growth",
                "rate at large / rate at 1,000",
                ratio * 100.0,
                "%",
            ),
            ">= 80 %",
            ratio >= 0.8,
        ),
        row(
            "growth",
            &format!("RSS with {big} tickets, store open, nothing ingested"),
            rss.0 as f64 / 1024.0,
            "MiB",
        ),
        judged(
            row(
                "growth",
                &format!("peak RSS with {big} tickets"),
                mib,
                "MiB",
            ),
            "<= 64 MiB",
            mib <= 64.0,
        ),
    ])
}

/// Stores `n` tickets through the ingest seam (monitoring alerts: each a
/// ticket, none queues customer mail).
fn prefill(install: &Install, n: usize) -> anyhow::Result<()> {
    let app = ticketd::face::App::open(install.parsed()?)?;
    let mut rng = corpus::Rng::new(3);
    let source = ticketd::model::Source::Other("prefill".into());
    let messages: Vec<ticketd::ingest::Incoming> = (0..n)
        .map(|i| ticketd::ingest::Incoming::Whole {
            raw: corpus::alert(&mut rng, &format!("prefill.{i}@monitor.example.test"), i),
            source: source.clone(),
        })
        .collect();
    for batch in messages.chunks(200) {
        let outcomes =
            ticketd::ingest::ingest_batch(&*app.store, &app.workflow, batch, &mut |_, _| Ok(()))?;
        if let Some(missed) = outcomes.iter().find(|o| o.disposition.ticket().is_none()) {
            bail!(
                "a prefill message opened no ticket: {:?}",
                missed.disposition
            );
        }
    }
    Ok(())
}

/// Ingest alone, in process (no IMAP, no daemon): where the backlog's
/// time goes when the network is taken away.
pub fn ingest_only(stack: &Stack, work: &Path, n: usize) -> anyhow::Result<Vec<Row>> {
    let install = Install::new(&work.join("ingest-only"), stack, Outbound::Parked)?;
    let app = ticketd::face::App::open(install.parsed()?)?;
    let source = ticketd::model::Source::Other("bench".into());
    let messages: Vec<ticketd::ingest::Incoming> = corpus::backlog("inproc", n, 7, &person)
        .into_iter()
        .map(|g| ticketd::ingest::Incoming::Whole {
            raw: g.raw,
            source: source.clone(),
        })
        .collect();
    // As the daemon does with a mailbox: batches of 200 (each stored in
    // durable writes of at most 16 messages).
    let started = Instant::now();
    for batch in messages.chunks(200) {
        ticketd::ingest::ingest_batch(&*app.store, &app.workflow, batch, &mut |_, _| Ok(()))?;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    Ok(vec![judged(
        row(
            "ingest-only",
            &format!("in-process ingest of {n}, batches of 200"),
            rate,
            "msg/s",
        ),
        ">= 1000 msg/s",
        rate >= 1000.0,
    )])
}

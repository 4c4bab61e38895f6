//! An IMAP mailbox as a source: one long-lived task per `[[inbound.imap]]`
//! entry connects, syncs the folder (see [`sync`]), then waits for news
//! with IDLE (re-issued before the server's 29-minute limit) or by
//! polling, and syncs again. Any failure is logged once with its fix and
//! retried with exponential backoff and jitter; the task never gives up.
//! On shutdown it finishes the batch in flight, then logs out.

pub mod connect;
mod listing;
pub mod sync;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

use crate::config::imap::ImapConfig;
use crate::domain::workflow::Workflow;
use crate::inbound::status::MailboxStatuses;
use crate::store::Store;
use connect::{ImapFailure, ImapSession, connect, step, tls_connector};
use sync::{Capabilities, Watch, capabilities, ensure_folders, select};

/// First retry delay after a failure.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// Longest retry delay.
const MAX_RETRY: Duration = Duration::from_secs(300);

/// What a watching task shares with the rest of the daemon.
#[derive(Clone)]
pub struct Shared {
    /// Where outcomes are stored.
    pub store: Arc<dyn Store>,
    /// What they do there.
    pub workflow: Workflow,
    /// Live health.
    pub statuses: MailboxStatuses,
    /// Woken after each stored batch, so alerts go out at once.
    pub wake_sender: Arc<Notify>,
    /// Cancelled on shutdown.
    pub shutdown: CancellationToken,
}

/// Watches one mailbox until shutdown.
pub async fn run(config: ImapConfig, shared: Shared) {
    let tls = match tls_connector(&config) {
        Ok(tls) => tls,
        Err(e) => {
            tracing::error!(mailbox = %config.name, error = %format!("{e:#}"), "Cannot set up TLS; this mailbox is not watched");
            shared.statuses.update(&config.name, |h| {
                h.state = "stopped".into();
                h.last_error = Some(format!("{e:#}"));
            });
            return;
        }
    };
    let mut failures = 0u32;
    while !shared.shutdown.is_cancelled() {
        set_state(&shared, &config, "connecting");
        match watch(&config, &tls, &shared, &mut failures).await {
            Ok(()) => break,
            Err(e) => {
                failures += 1;
                let delay = retry_delay(failures);
                report_failure(&shared, &config, &e, failures, delay);
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shared.shutdown.cancelled() => {}
                }
            }
        }
    }
    set_state(&shared, &config, "stopped");
}

fn set_state(shared: &Shared, config: &ImapConfig, state: &str) {
    shared
        .statuses
        .update(&config.name, |h| h.state = state.into());
}

fn report_failure(
    shared: &Shared,
    config: &ImapConfig,
    error: &anyhow::Error,
    failures: u32,
    delay: Duration,
) {
    let message = format!("{error:#}");
    tracing::error!(mailbox = %config.name, failures, retry_in_secs = delay.as_secs(), "{message}");
    shared.statuses.update(&config.name, |h| {
        h.state = "retrying".into();
        h.consecutive_errors = failures;
        h.last_error = Some(message);
        h.retry_at = chrono::Duration::from_std(delay)
            .ok()
            .map(|d| chrono::Utc::now() + d);
    });
}

/// Exponential backoff from [`FIRST_RETRY`] to [`MAX_RETRY`], with ±25%
/// jitter so several mailboxes on one server do not retry in step.
fn retry_delay(failures: u32) -> Duration {
    let base = FIRST_RETRY
        .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(16)))
        .min(MAX_RETRY);
    let mut byte = [0u8; 1];
    let jitter = match getrandom::fill(&mut byte) {
        Ok(()) => 0.75 + f64::from(byte[0]) / 510.0,
        Err(_) => 1.0,
    };
    base.mul_f64(jitter)
}

/// One session: connect, sync, wait, sync, ... until shutdown (`Ok`) or a
/// failure (`Err`). `failures` is reset once the folder is open.
async fn watch(
    config: &ImapConfig,
    tls: &TlsConnector,
    shared: &Shared,
    failures: &mut u32,
) -> anyhow::Result<()> {
    let mut session = connect(config, tls).await?;
    let caps = capabilities(&mut session, config).await?;
    ensure_folders(&mut session, config).await?;
    let uid_validity = select(&mut session, config).await?;
    *failures = 0;
    shared.statuses.update(&config.name, |h| {
        h.consecutive_errors = 0;
        h.retry_at = None;
        h.idle = Some(caps.idle);
    });
    tracing::info!(mailbox = %config.name, folder = %config.folder, idle = caps.idle && config.idle, "Watching IMAP folder");
    loop {
        set_state(shared, config, "fetching");
        sync_once(&mut session, config, shared, caps, uid_validity).await?;
        if shared.shutdown.is_cancelled() {
            break;
        }
        match wait_for_news(session, config, shared, caps).await? {
            (s, Wake::News) => session = s,
            (s, Wake::Shutdown) => {
                session = s;
                break;
            }
        }
    }
    let _ = tokio::time::timeout(config.timeout, session.logout()).await;
    Ok(())
}

async fn sync_once(
    session: &mut ImapSession,
    config: &ImapConfig,
    shared: &Shared,
    caps: Capabilities,
    uid_validity: u32,
) -> anyhow::Result<()> {
    let watch = Watch {
        config,
        store: &shared.store,
        workflow: &shared.workflow,
        statuses: &shared.statuses,
        stop: &shared.shutdown,
        caps,
        wake_sender: &shared.wake_sender,
    };
    let ingested = sync::sync(session, &watch, uid_validity).await?;
    if ingested > 0 {
        tracing::info!(mailbox = %config.name, messages = ingested, "IMAP messages ingested");
    }
    Ok(())
}

/// Why waiting ended.
enum Wake {
    /// Something may have arrived (or it is time to look anyway).
    News,
    /// The daemon is stopping.
    Shutdown,
}

/// Waits with IDLE when offered and enabled, else sleeps the poll
/// interval. News the server already sent during the last commands
/// (an EXISTS) skips the wait.
async fn wait_for_news(
    mut session: ImapSession,
    config: &ImapConfig,
    shared: &Shared,
    caps: Capabilities,
) -> anyhow::Result<(ImapSession, Wake)> {
    if drain_unsolicited(&mut session) {
        return Ok((session, Wake::News));
    }
    if !(caps.idle && config.idle) {
        set_state(shared, config, "polling");
        let wake = tokio::select! {
            _ = tokio::time::sleep(config.poll_interval) => Wake::News,
            _ = shared.shutdown.cancelled() => Wake::Shutdown,
        };
        return Ok((session, wake));
    }
    set_state(shared, config, "idle");
    idle(session, config, &shared.shutdown).await
}

/// True when the server announced new messages since we last looked.
fn drain_unsolicited(session: &mut ImapSession) -> bool {
    let mut news = false;
    while let Ok(response) = session.unsolicited_responses.try_recv() {
        news |= matches!(
            response,
            async_imap::types::UnsolicitedResponse::Exists(_)
                | async_imap::types::UnsolicitedResponse::Recent(_)
        );
    }
    news
}

async fn idle(
    session: ImapSession,
    config: &ImapConfig,
    shutdown: &CancellationToken,
) -> anyhow::Result<(ImapSession, Wake)> {
    let mut handle = session.idle();
    step(config, "IDLE", handle.init()).await?;
    let (wait, interrupt) = handle.wait_with_timeout(config.idle_refresh);
    let wake = tokio::select! {
        result = wait => {
            result.map_err(|e| idle_failure(config, e))?;
            Wake::News
        }
        _ = shutdown.cancelled() => Wake::Shutdown,
    };
    drop(interrupt);
    let session = step(config, "ending IDLE", handle.done()).await?;
    Ok((session, wake))
}

fn idle_failure(config: &ImapConfig, e: async_imap::error::Error) -> ImapFailure {
    ImapFailure::Protocol {
        mailbox: config.name.clone(),
        step: "IDLE".into(),
        detail: e.to_string(),
    }
}

/// `serve --check`: connects, logs in and opens the folder of every
/// mailbox once. Returns one line per mailbox; `Err` if any failed.
pub async fn check(mailboxes: &[ImapConfig]) -> Result<Vec<String>, Vec<String>> {
    let mut lines = Vec::new();
    let mut failed = false;
    for config in mailboxes {
        match check_one(config).await {
            Ok(line) => lines.push(line),
            Err(e) => {
                failed = true;
                lines.push(format!("{e:#}"));
            }
        }
    }
    if failed { Err(lines) } else { Ok(lines) }
}

async fn check_one(config: &ImapConfig) -> anyhow::Result<String> {
    let tls = tls_connector(config)?;
    let mut session = connect(config, &tls).await?;
    let caps = capabilities(&mut session, config).await?;
    select(&mut session, config).await?;
    let _ = tokio::time::timeout(config.timeout, session.logout()).await;
    Ok(format!(
        "mailbox \"{}\": ok ({}:{}, folder \"{}\", IDLE {})",
        config.name,
        config.host,
        config.port,
        config.folder,
        if caps.idle {
            "offered"
        } else {
            "not offered: polling"
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_and_are_capped() {
        let first = retry_delay(1);
        assert!(first >= Duration::from_millis(750) && first <= Duration::from_millis(1250));
        let fourth = retry_delay(4);
        assert!(fourth >= Duration::from_secs(6) && fourth <= Duration::from_secs(10));
        assert!(retry_delay(40) <= MAX_RETRY.mul_f64(1.25));
        assert!(retry_delay(40) >= MAX_RETRY.mul_f64(0.75));
    }
}

//! The delivery loop: sends due outbox items through the transport.
//!
//! Due items come from the store only once durable, so nothing is sent
//! about an event a crash could still erase. Each attempt's outcome is
//! stored (durably) before the next send, so a crash repeats at most the
//! one send in flight, with the same Message-ID, which receivers treat as
//! the same mail.
//!
//! The store must be able to record a send before the send happens: while
//! it cannot (a full disk), nothing is sent, and the loop waits with a
//! growing pause until it can. A send whose outcome then still cannot be
//! stored stops the loop the same way; the item stays pending and is sent
//! again later, the one duplicate a crash could cause too, never a storm.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::compose::compose;
use super::templates::Templates;
use super::transport::{SendResult, Transport};
use crate::config::Config;
use crate::model::outbox::{OutboxItem, OutboxStatus};
use crate::model::token::ThreadKey;
use crate::store::{Store, StoreError};

/// Items fetched per pass.
const BATCH: usize = 64;
/// Longest sleep between passes when nothing wakes the sender.
const IDLE_POLL: Duration = Duration::from_secs(5);
/// Room a send's record needs in the store, roughly.
const RECORD_BYTES: u64 = 16 * 1024;
/// First and longest pause while the store cannot record sends.
const STORE_BACKOFF: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));

/// What the loop needs: the store, the configuration and the key our
/// messages are signed with, and where mail goes.
#[derive(Clone)]
pub struct Delivery {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Configuration.
    pub config: Arc<Config>,
    /// Thread-token key.
    pub key: ThreadKey,
    /// The transport.
    pub transport: Transport,
}

/// Counts from one pass.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    /// Delivered.
    pub sent: usize,
    /// Rescheduled.
    pub retried: usize,
    /// Given up.
    pub gave_up: usize,
    /// The store could not record sends, so the pass stopped.
    pub store_blocked: bool,
}

/// Delivers everything due now, in passes, until nothing is due, a send
/// needs a retry later, the store cannot record sends, or `stop` is
/// cancelled (checked between sends, so a shutdown never waits for a
/// whole backlog).
pub async fn deliver_due(d: &Delivery, stop: &CancellationToken) -> anyhow::Result<PassReport> {
    let templates = Templates::new(d.config.templates_dir.clone());
    let mut total = PassReport::default();
    while !stop.is_cancelled() {
        let due = d.store.due_outbox(Utc::now(), BATCH)?;
        if due.is_empty() {
            return Ok(total);
        }
        for due_item in due {
            if stop.is_cancelled() {
                break;
            }
            if !d.store.has_room_for(RECORD_BYTES) {
                total.store_blocked = true;
                return Ok(total);
            }
            // The context is loaded per send, so a pass holds one at a time.
            let Some(item) = d.store.outbox_item(due_item.id)? else {
                continue;
            };
            match attempt(d, &templates, item).await {
                Ok(SendResult::Sent) => total.sent += 1,
                Ok(SendResult::Retry(_)) => total.retried += 1,
                Ok(SendResult::Permanent(_)) => total.gave_up += 1,
                Err(e) if e.is_transient() => {
                    tracing::error!(error = %e, "Delivery stopped: the store cannot record sends");
                    total.store_blocked = true;
                    return Ok(total);
                }
                Err(e) => return Err(e.into()),
            }
        }
        if total.retried > 0 {
            break;
        }
    }
    Ok(total)
}

async fn attempt(
    d: &Delivery,
    templates: &Templates,
    item: OutboxItem,
) -> Result<SendResult, StoreError> {
    let result = match compose(&item, &d.config, &d.key, templates) {
        Ok(message) => {
            let name = format!("{:08}-{}", item.id, item.kind.event_name());
            d.transport.send(&message, &name).await
        }
        Err(e) => SendResult::Permanent(e.to_string()),
    };
    let next = outcome(&d.config, item, &result);
    let store = d.store.clone();
    tokio::task::spawn_blocking(move || store.transact(|tx| tx.put_outbox(&next)))
        .await
        .map_err(|e| StoreError::Engine(anyhow::anyhow!("recording a send: {e}")))??;
    Ok(result)
}

/// The item after an attempt with `result`.
fn outcome(config: &Config, item: OutboxItem, result: &SendResult) -> OutboxItem {
    let mut next = item;
    next.attempts += 1;
    let policy = config.outbound.retry;
    match result {
        SendResult::Sent => {
            next.status = OutboxStatus::Sent { at: Utc::now() };
            tracing::info!(outbox.id = next.id, ticket.id = %next.ticket, kind = next.kind.event_name(), "Alert sent");
        }
        SendResult::Retry(e) if next.attempts < policy.max_attempts => {
            let delay =
                chrono::Duration::from_std(policy.backoff(next.attempts)).unwrap_or_default();
            next.next_attempt_at = Utc::now() + delay;
            next.last_error = Some(e.clone());
            tracing::warn!(outbox.id = next.id, attempts = next.attempts, error = %e, "Delivery failed, will retry");
        }
        SendResult::Retry(e) | SendResult::Permanent(e) => {
            next.status = OutboxStatus::GaveUp { reason: e.clone() };
            next.last_error = Some(e.clone());
            tracing::error!(outbox.id = next.id, attempts = next.attempts, error = %e, "Delivery given up");
        }
    }
    next
}

/// Runs until `shutdown`: delivers due items, then sleeps until woken,
/// until the next retry is due, or [`IDLE_POLL`]; while the store cannot
/// record sends, waits with a growing pause instead.
pub async fn run(d: Delivery, wake: Arc<Notify>, shutdown: CancellationToken) {
    let mut blocked_pause = STORE_BACKOFF.0;
    loop {
        let notified = wake.notified();
        let sleep = match deliver_due(&d, &shutdown).await {
            Ok(report) if report.store_blocked => {
                let pause = blocked_pause;
                blocked_pause = (blocked_pause * 2).min(STORE_BACKOFF.1);
                pause
            }
            Ok(_) => {
                blocked_pause = STORE_BACKOFF.0;
                next_sleep(&*d.store)
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "Outbox pass failed");
                next_sleep(&*d.store)
            }
        };
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep(sleep) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

fn next_sleep(store: &dyn Store) -> Duration {
    match store.next_due() {
        Ok(Some(at)) => (at - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(IDLE_POLL)
            .max(Duration::from_millis(50)),
        _ => IDLE_POLL,
    }
}

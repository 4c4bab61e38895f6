//! The background sender: drains due outbox items through the transport.
//!
//! Before each pass it flushes the store, so nothing is sent about an
//! event that is not yet durable. After each attempt the item's new state
//! is committed and flushed before the next send, so a crash can repeat at
//! most the one send in flight; it repeats with the same Message-ID, which
//! receivers treat as the same mail.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::domain::desk::Desk;
use crate::model::outbox::{OutboxItem, OutboxStatus};

use super::compose::compose;
use super::templates::Templates;
use super::transport::{SendResult, Transport};

/// Items fetched per pass.
const BATCH: usize = 64;
/// Longest sleep between passes when nothing wakes the sender.
const IDLE_POLL: Duration = Duration::from_secs(5);

/// Counts from one pass.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    /// Delivered.
    pub sent: usize,
    /// Rescheduled.
    pub retried: usize,
    /// Given up.
    pub gave_up: usize,
}

/// Delivers everything due now, in passes, until nothing is due, a send
/// needs a retry later, or `stop` is cancelled (checked between sends, so
/// a shutdown never waits for a whole backlog).
pub async fn deliver_due(
    desk: &Desk,
    transport: &Transport,
    stop: &CancellationToken,
) -> anyhow::Result<PassReport> {
    let templates = Templates::new(desk.config.templates_dir.clone());
    let mut total = PassReport::default();
    while !stop.is_cancelled() {
        desk.store.flush_async().await?;
        let due = desk.store.outbox_due(Utc::now(), BATCH)?;
        if due.is_empty() {
            return Ok(total);
        }
        for due_item in due {
            if stop.is_cancelled() {
                break;
            }
            // The context is loaded per send, so a pass holds one at a time.
            let Some(item) = desk.store.outbox_item(due_item.id)? else {
                continue;
            };
            match attempt(desk, transport, &templates, item).await? {
                SendResult::Sent => total.sent += 1,
                SendResult::Retry(_) => total.retried += 1,
                SendResult::Permanent(_) => total.gave_up += 1,
            }
            desk.store.flush_async().await?;
        }
        if total.retried > 0 {
            break;
        }
    }
    Ok(total)
}

async fn attempt(
    desk: &Desk,
    transport: &Transport,
    templates: &Templates,
    item: OutboxItem,
) -> anyhow::Result<SendResult> {
    let result = match compose(&item, &desk.config, &desk.key, templates) {
        Ok(message) => {
            transport
                .send(
                    &message,
                    &format!("{:08}-{}", item.id, item.kind.event_name()),
                )
                .await
        }
        Err(e) => SendResult::Permanent(e.to_string()),
    };
    record(desk, item, &result)?;
    Ok(result)
}

fn record(desk: &Desk, item: OutboxItem, result: &SendResult) -> anyhow::Result<()> {
    let mut next = item.clone();
    next.attempts += 1;
    let policy = desk.config.outbound.retry;
    match result {
        SendResult::Sent => {
            next.status = OutboxStatus::Sent { at: Utc::now() };
            tracing::info!(outbox.id = item.id, ticket.id = %item.ticket, kind = item.kind.event_name(), "Alert sent");
        }
        SendResult::Retry(e) if next.attempts < policy.max_attempts => {
            let delay =
                chrono::Duration::from_std(policy.backoff(next.attempts)).unwrap_or_default();
            next.next_attempt_at = Utc::now() + delay;
            next.last_error = Some(e.clone());
            tracing::warn!(outbox.id = item.id, attempts = next.attempts, error = %e, "Delivery failed, will retry");
        }
        SendResult::Retry(e) | SendResult::Permanent(e) => {
            next.status = OutboxStatus::GaveUp { reason: e.clone() };
            next.last_error = Some(e.clone());
            tracing::error!(outbox.id = item.id, attempts = next.attempts, error = %e, "Delivery given up");
        }
    }
    let mut tx = desk.store.begin();
    tx.put_outbox(&next, &item)?;
    tx.commit()
}

/// Runs until `shutdown`: delivers due items, then sleeps until woken,
/// until the next retry is due, or [`IDLE_POLL`].
pub async fn run(desk: Desk, transport: Transport, wake: Arc<Notify>, shutdown: CancellationToken) {
    loop {
        let notified = wake.notified();
        if let Err(e) = deliver_due(&desk, &transport, &shutdown).await {
            tracing::error!(error = %format!("{e:#}"), "Outbox pass failed");
        }
        let sleep = next_sleep(&desk);
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep(sleep) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

fn next_sleep(desk: &Desk) -> Duration {
    match desk.store.outbox_next_due() {
        Ok(Some(at)) => (at - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(IDLE_POLL)
            .max(Duration::from_millis(50)),
        _ => IDLE_POLL,
    }
}

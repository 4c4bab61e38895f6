//! The loop guard: what keeps ticketd from answering a loop forever.
//! Every automatic item (anything but a relayed staff reply) passes, in
//! order:
//! 1. the sender's request: an auto-reply of ours to a message whose
//!    `X-Auto-Response-Suppress` declines auto-replies is held back
//!    (`auto-reply-declined`);
//! 2. the per-ticket limit: at most `alerts.ticket_rate_limit_max`
//!    automatic messages to one address about one ticket per
//!    `alerts.ticket_rate_limit_window_minutes` (`rate-limit:ticket`), for
//!    staff and customers alike;
//! 3. the per-recipient limit: at most `alerts.rate_limit_max` automatic
//!    messages to one outside address across all tickets per
//!    `alerts.rate_limit_window_minutes` (`rate-limit:recipient`). Staff
//!    are exempt: on a busy desk they legitimately get many notifications,
//!    and a loop always runs through an outside address, where this limit
//!    stops it.
//!
//! Send times are read through the caller's write (so earlier events of
//! the same commit count), once per key, and written back once.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::enqueue::{AlertIntent, Trigger};
use crate::config::Config;
use crate::model::TicketId;
use crate::model::outbox::{OutboxStatus, SendMode};
use crate::store::WriteTx;

/// A send-time list: per outside recipient, or per ticket and recipient.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum RateKey {
    Recipient(String),
    TicketRecipient(String),
}

/// One limit: at most `max` within `window`.
struct Limit {
    max: usize,
    window: chrono::Duration,
}

/// Decides the automatic items of one event.
pub(super) struct LoopGuard<'c> {
    config: &'c Config,
    ticket: TicketId,
    now: DateTime<Utc>,
    times: HashMap<RateKey, Vec<DateTime<Utc>>>,
}

impl<'c> LoopGuard<'c> {
    pub(super) fn new(config: &'c Config, ticket: TicketId) -> Self {
        LoopGuard {
            config,
            ticket,
            now: Utc::now(),
            times: HashMap::new(),
        }
    }

    /// The status a new item for `recipient` starts with.
    pub(super) fn check(
        &mut self,
        tx: &dyn WriteTx,
        intent: &AlertIntent,
        recipient: &str,
        trigger: &Trigger,
    ) -> anyhow::Result<OutboxStatus> {
        if !intent.mode.is_automatic() {
            return Ok(OutboxStatus::Pending);
        }
        if let Some(request) = trigger
            .declines_auto_replies
            .as_ref()
            .filter(|_| intent.mode == SendMode::AutoReplied)
        {
            return Ok(suppressed(format!(
                "auto-reply-declined: the message asked for no automatic replies ({request})"
            )));
        }
        let keys = self.limits(intent, recipient);
        for (key, limit) in &keys {
            let count = self.recent(tx, key, limit.window)?;
            if count >= limit.max {
                return Ok(suppressed(limit_rule(key, count, limit.window)));
            }
        }
        for (key, _) in keys {
            self.times.entry(key).or_default().push(self.now);
        }
        Ok(OutboxStatus::Pending)
    }

    /// The limits that apply to an automatic item for `recipient`.
    fn limits(&self, intent: &AlertIntent, recipient: &str) -> Vec<(RateKey, Limit)> {
        let alerts = &self.config.alerts;
        let mut keys = vec![(
            RateKey::TicketRecipient(recipient.to_string()),
            Limit {
                max: alerts.ticket_rate_limit_max as usize,
                window: alerts.ticket_rate_limit_window,
            },
        )];
        if !intent.to_staff {
            keys.push((
                RateKey::Recipient(recipient.to_string()),
                Limit {
                    max: alerts.rate_limit_max as usize,
                    window: alerts.rate_limit_window,
                },
            ));
        }
        keys
    }

    /// Sends within `window` before now (loading and pruning the list).
    fn recent(
        &mut self,
        tx: &dyn WriteTx,
        key: &RateKey,
        window: chrono::Duration,
    ) -> anyhow::Result<usize> {
        if !self.times.contains_key(key) {
            let loaded = match key {
                RateKey::Recipient(r) => tx.rate(r)?,
                RateKey::TicketRecipient(r) => tx.ticket_rate(self.ticket, r)?,
            };
            self.times.insert(key.clone(), loaded);
        }
        let now = self.now;
        let times = self.times.entry(key.clone()).or_default();
        times.retain(|t| now.signed_duration_since(*t) < window);
        Ok(times.len())
    }

    /// Writes the send times back into the caller's write.
    pub(super) fn write(self, tx: &mut dyn WriteTx) -> anyhow::Result<()> {
        for (key, times) in self.times {
            match key {
                RateKey::Recipient(r) => tx.put_rate(&r, &times)?,
                RateKey::TicketRecipient(r) => tx.put_ticket_rate(self.ticket, &r, &times)?,
            }
        }
        Ok(())
    }
}

fn suppressed(rule: String) -> OutboxStatus {
    OutboxStatus::Suppressed { rule }
}

fn limit_rule(key: &RateKey, count: usize, window: chrono::Duration) -> String {
    let minutes = window.num_minutes();
    match key {
        RateKey::Recipient(_) => format!(
            "rate-limit:recipient: {count} automatic messages to this address within {minutes} minutes"
        ),
        RateKey::TicketRecipient(_) => format!(
            "rate-limit:ticket: {count} automatic messages to this address about this ticket within {minutes} minutes"
        ),
    }
}

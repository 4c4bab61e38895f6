//! Turns alert intents into outbox items inside the caller's store write,
//! with a snapshot of what the template will see and the loop guard.
//!
//! Every automatic item (anything but a relayed staff reply) passes, in
//! order:
//! 1. the sender's request: an acknowledgement (our auto-reply) of a message
//!    whose `X-Auto-Response-Suppress` declines auto-replies is held back
//!    (`auto-reply-declined`);
//! 2. the per-ticket limit: at most `alerts.ticket_rate_limit_max` automatic
//!    messages to one address about one ticket per
//!    `alerts.ticket_rate_limit_window_minutes` (`rate-limit:ticket`), for
//!    staff and customers alike;
//! 3. the per-recipient limit: at most `alerts.rate_limit_max` automatic
//!    messages to one outside address across all tickets per
//!    `alerts.rate_limit_window_minutes` (`rate-limit:recipient`). Staff
//!    are exempt: on a busy desk they legitimately get many notifications,
//!    and a loop always runs through an outside address, where this limit
//!    stops it.
//!
//! A held-back item is stored as `suppressed` with the rule, so nothing
//! disappears silently. Only items that pass count towards the limits.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::domain::desk::Desk;
use crate::domain::rules::AlertIntent;
use crate::model::outbox::{OutboxItem, OutboxStatus};
use crate::model::{Comment, Ticket, TicketId};
use crate::store::WriteTx;

/// The inbound message an alert answers, for threading headers.
#[derive(Debug, Clone, Default)]
pub struct Trigger {
    /// Its Message-ID.
    pub message_id: Option<String>,
    /// Set when the message asked for no automatic replies (the header and
    /// value, see [`crate::ingest::classify::declines_auto_replies`]).
    pub declines_auto_replies: Option<String>,
}

/// What the rules asked of one event: alerts to queue, and alerts a rule
/// held back (stored as suppressed, with the reason).
#[derive(Debug, Default)]
pub struct EventAlerts {
    /// Alerts to queue (the loop guard still checks each).
    pub notify: Vec<AlertIntent>,
    /// Alerts held back, with the reason.
    pub held: Vec<(AlertIntent, String)>,
}

impl EventAlerts {
    fn recipients(&self) -> usize {
        let held = self.held.iter().map(|(intent, _)| intent);
        self.notify
            .iter()
            .chain(held)
            .map(|i| i.recipients.len())
            .sum()
    }
}

/// Queues one event's alerts, all rendered from one snapshot of the
/// ticket and comment; returns the new outbox item ids.
pub fn queue_alerts(
    desk: &Desk,
    tx: &mut WriteTx<'_>,
    ticket: &Ticket,
    alerts: &EventAlerts,
    comment: Option<&Comment>,
    trigger: &Trigger,
) -> anyhow::Result<Vec<u64>> {
    if alerts.recipients() == 0 {
        return Ok(Vec::new());
    }
    let context = tx.put_alert_context(&snapshot(ticket, comment))?;
    let mut guard = LoopGuard::new(desk, ticket.id);
    let mut ids = Vec::new();
    for intent in &alerts.notify {
        for recipient in &intent.recipients {
            let id = tx.next_outbox_id()?;
            let mut item = new_item(desk, id, ticket, intent, recipient, trigger);
            item.status = guard.check(tx, intent, recipient, trigger)?;
            tx.put_new_outbox(&item, &context)?;
            ids.push(id);
        }
    }
    guard.write(tx)?;
    for (intent, reason) in &alerts.held {
        for recipient in &intent.recipients {
            let id = tx.next_outbox_id()?;
            let mut item = new_item(desk, id, ticket, intent, recipient, trigger);
            item.status = suppressed(reason.clone());
            tx.put_new_outbox(&item, &context)?;
            ids.push(id);
        }
    }
    Ok(ids)
}

/// A pending item for one recipient of an intent (not yet stored; its
/// `context` is left empty, see [`WriteTx::put_new_outbox`]).
pub fn new_item(
    desk: &Desk,
    id: u64,
    ticket: &Ticket,
    intent: &AlertIntent,
    recipient: &str,
    trigger: &Trigger,
) -> OutboxItem {
    let event = intent.kind.event_name();
    let now = Utc::now();
    OutboxItem {
        id,
        ticket: ticket.id,
        kind: intent.kind,
        template: desk
            .config
            .template_names
            .get(event)
            .cloned()
            .unwrap_or_else(|| event.into()),
        rule: intent.rule.to_string(),
        recipient: recipient.to_string(),
        to_staff: intent.to_staff,
        message_id: desk
            .key
            .message_id(ticket.id, id, desk.config.message_id_domain()),
        in_reply_to: trigger
            .message_id
            .clone()
            .or_else(|| ticket.root_message_id.clone()),
        references: references(ticket, trigger),
        context: serde_json::Value::Null,
        status: OutboxStatus::Pending,
        attempts: 0,
        next_attempt_at: now,
        last_error: None,
        created_at: now,
    }
}

fn references(ticket: &Ticket, trigger: &Trigger) -> Vec<String> {
    let mut refs: Vec<String> = ticket.root_message_id.iter().cloned().collect();
    if let Some(id) = &trigger.message_id
        && !refs.contains(id)
    {
        refs.push(id.clone());
    }
    refs
}

/// The data frozen into an item at the time of the event. Templates see
/// it as `ticket` and `comment` (see `templates/README.md`).
pub fn snapshot(ticket: &Ticket, comment: Option<&Comment>) -> serde_json::Value {
    json!({
        "ticket": {
            "id": ticket.id.0,
            "subject": ticket.subject,
            "status": ticket.status.as_str(),
            "origin": ticket.origin.as_str(),
            "category": ticket.category,
            "requester": ticket.requester,
            "recipients": ticket.recipients,
            "created_at": ticket.created_at.to_rfc3339(),
            "updated_at": ticket.updated_at.to_rfc3339(),
            "closed_at": ticket.closed_at.map(|t| t.to_rfc3339()),
        },
        "comment": comment.map(|c| json!({
            "author": c.author,
            "text": c.text,
            "internal": c.visibility == crate::model::Visibility::Internal,
            "created_at": c.created_at.to_rfc3339(),
            "attachments": c.attachments.iter().map(|a| json!({
                "name": a.name, "size": a.size, "content_type": a.content_type,
            })).collect::<Vec<_>>(),
        })),
    })
}

/// A send-time list: per outside recipient, or per ticket and recipient.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum RateKey {
    Recipient(String),
    TicketRecipient(String),
}

/// Decides the automatic items of one event. Send times are read through
/// the write (so earlier events of the same commit count) and written back
/// once.
struct LoopGuard<'d> {
    desk: &'d Desk,
    ticket: TicketId,
    now: DateTime<Utc>,
    times: HashMap<RateKey, Vec<DateTime<Utc>>>,
}

/// One limit: at most `max` within `window`.
struct Limit {
    max: usize,
    window: chrono::Duration,
}

impl<'d> LoopGuard<'d> {
    fn new(desk: &'d Desk, ticket: TicketId) -> Self {
        LoopGuard {
            desk,
            ticket,
            now: Utc::now(),
            times: HashMap::new(),
        }
    }

    /// The status a new item for `recipient` starts with.
    fn check(
        &mut self,
        tx: &WriteTx<'_>,
        intent: &AlertIntent,
        recipient: &str,
        trigger: &Trigger,
    ) -> anyhow::Result<OutboxStatus> {
        if !intent.kind.is_automatic() {
            return Ok(OutboxStatus::Pending);
        }
        if let Some(request) = trigger
            .declines_auto_replies
            .as_ref()
            .filter(|_| intent.kind.auto_submitted() == Some("auto-replied"))
        {
            return Ok(suppressed(format!(
                "auto-reply-declined: the message asked for no automatic replies ({request})"
            )));
        }
        let alerts = &self.desk.config.alerts;
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

    /// Sends within `window` before now (loading and pruning the list).
    fn recent(
        &mut self,
        tx: &WriteTx<'_>,
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

    fn write(self, tx: &mut WriteTx<'_>) -> anyhow::Result<()> {
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

#[cfg(test)]
mod tests;

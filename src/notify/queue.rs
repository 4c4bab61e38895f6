//! Turns alert intents into outbox items inside the caller's store write,
//! with a snapshot of what the template will see and the loop guard: a
//! per-recipient cap on automatic mail. A held-back item is stored as
//! `suppressed` with the rule, so nothing disappears silently.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::desk::Desk;
use crate::model::{Comment, Ticket};
use crate::outbox::{OutboxItem, OutboxStatus};
use crate::rules::AlertIntent;
use crate::store::WriteTx;

/// The inbound message an alert answers, for threading headers.
#[derive(Debug, Clone, Default)]
pub struct Trigger {
    /// Its Message-ID.
    pub message_id: Option<String>,
}

/// Queues every intent; returns the new outbox item ids.
pub fn queue_alerts(
    desk: &Desk,
    tx: &mut WriteTx<'_>,
    ticket: &Ticket,
    intents: &[AlertIntent],
    comment: Option<&Comment>,
    trigger: &Trigger,
) -> anyhow::Result<Vec<u64>> {
    let now = Utc::now();
    let mut rates = RateCache::default();
    let mut ids = Vec::new();
    for intent in intents {
        for recipient in &intent.recipients {
            let id = tx.next_outbox_id()?;
            let mut item = new_item(desk, id, ticket, intent, recipient, comment, trigger);
            if intent.kind.is_automatic() && !intent.to_staff {
                item.status = rates.check(desk, recipient, now)?;
            }
            tx.put_outbox(&item, None)?;
            ids.push(id);
        }
    }
    rates.write(tx)?;
    Ok(ids)
}

/// A pending item for one recipient of an intent (not yet stored).
pub fn new_item(
    desk: &Desk,
    id: u64,
    ticket: &Ticket,
    intent: &AlertIntent,
    recipient: &str,
    comment: Option<&Comment>,
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
        context: snapshot(ticket, comment),
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

/// Per-recipient send times read once and written back once per commit.
#[derive(Default)]
struct RateCache {
    times: HashMap<String, Vec<DateTime<Utc>>>,
}

impl RateCache {
    fn check(
        &mut self,
        desk: &Desk,
        recipient: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<OutboxStatus> {
        let window = desk.config.alerts.rate_limit_window;
        let max = desk.config.alerts.rate_limit_max as usize;
        if !self.times.contains_key(recipient) {
            self.times
                .insert(recipient.to_string(), desk.store.rate(recipient)?);
        }
        let times = self.times.entry(recipient.to_string()).or_default();
        times.retain(|t| now.signed_duration_since(*t) < window);
        if times.len() >= max {
            return Ok(OutboxStatus::Suppressed {
                rule: format!(
                    "rate-limit: {} automatic messages to this recipient within {} minutes",
                    times.len(),
                    window.num_minutes()
                ),
            });
        }
        times.push(now);
        Ok(OutboxStatus::Pending)
    }

    fn write(self, tx: &mut WriteTx<'_>) -> anyhow::Result<()> {
        for (recipient, times) in self.times {
            tx.put_rate(&recipient, &times)?;
        }
        Ok(())
    }
}

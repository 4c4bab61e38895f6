//! Turns alerts the rules asked for into outbox items inside the caller's
//! store write, with a snapshot of what the template will see, each
//! automatic one through the [`loop_guard`](super::loop_guard).
//!
//! A held-back item is stored as `suppressed` with the reason, so nothing
//! disappears silently. Only items that pass count towards the limits.

use chrono::Utc;
use serde_json::json;

use super::loop_guard::LoopGuard;
use crate::config::Config;
use crate::model::outbox::{AlertKind, OutboxItem, OutboxStatus, SendMode};
use crate::model::token::ThreadKey;
use crate::model::{Comment, Ticket, TicketId, Visibility};
use crate::store::WriteTx;

/// One alert to queue: a kind, how it goes out, and to whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertIntent {
    /// What to send (its template event).
    pub kind: AlertKind,
    /// How it goes out.
    pub mode: SendMode,
    /// To whom (normalized, de-duplicated).
    pub recipients: Vec<String>,
    /// Whether the recipients are staff.
    pub to_staff: bool,
    /// The rule that asked for it.
    pub rule: String,
}

/// The inbound message an alert answers, for threading headers.
#[derive(Debug, Clone, Default)]
pub struct Trigger {
    /// Its Message-ID.
    pub message_id: Option<String>,
    /// Set when the message asked for no automatic replies (the header and
    /// value).
    pub declines_auto_replies: Option<String>,
}

/// What the rules asked of one event: alerts to queue, and alerts held
/// back (stored as suppressed, with the reason).
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

/// Where items come from: the configuration (template names, limits) and
/// the key our Message-IDs are signed with.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// Configuration.
    pub config: &'a Config,
    /// Thread-token key.
    pub key: &'a ThreadKey,
}

/// Queues one event's alerts, all rendered from one snapshot of the
/// ticket and comment; returns the new outbox item ids.
pub fn queue_alerts(
    from: Sources<'_>,
    tx: &mut dyn WriteTx,
    ticket: &Ticket,
    alerts: &EventAlerts,
    comment: Option<&Comment>,
    trigger: &Trigger,
) -> anyhow::Result<Vec<u64>> {
    if alerts.recipients() == 0 {
        return Ok(Vec::new());
    }
    let context = tx.put_alert_context(&snapshot(ticket, comment))?;
    let mut guard = LoopGuard::new(from.config, ticket.id);
    let mut ids = Vec::new();
    for intent in &alerts.notify {
        for recipient in &intent.recipients {
            let id = tx.next_outbox_id()?;
            let mut item = new_item(from, id, ticket, intent, recipient, trigger);
            item.status = guard.check(tx, intent, recipient, trigger)?;
            tx.put_new_outbox(&item, context)?;
            ids.push(id);
        }
    }
    guard.write(tx)?;
    for (intent, reason) in &alerts.held {
        for recipient in &intent.recipients {
            let id = tx.next_outbox_id()?;
            let mut item = new_item(from, id, ticket, intent, recipient, trigger);
            item.status = OutboxStatus::Suppressed {
                rule: reason.clone(),
            };
            tx.put_new_outbox(&item, context)?;
            ids.push(id);
        }
    }
    Ok(ids)
}

/// A pending item for one recipient of an intent (not yet stored; its
/// `context` is left empty, see [`WriteTx::put_new_outbox`]).
pub fn new_item(
    from: Sources<'_>,
    id: u64,
    ticket: &Ticket,
    intent: &AlertIntent,
    recipient: &str,
    trigger: &Trigger,
) -> OutboxItem {
    let event = intent.kind.event_name();
    let now = Utc::now();
    let config = from.config;
    OutboxItem {
        id,
        ticket: ticket.id,
        kind: intent.kind.clone(),
        mode: Some(intent.mode),
        template: config
            .template_names
            .get(event)
            .cloned()
            .unwrap_or_else(|| event.into()),
        rule: intent.rule.clone(),
        recipient: recipient.to_string(),
        to_staff: intent.to_staff,
        message_id: message_id(from, ticket.id, id),
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

fn message_id(from: Sources<'_>, ticket: TicketId, item: u64) -> String {
    from.key
        .message_id(ticket, item, from.config.message_id_domain())
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
            "internal": c.visibility == Visibility::Internal,
            "created_at": c.created_at.to_rfc3339(),
            "attachments": c.attachments.iter().map(|a| json!({
                "name": a.name, "size": a.size, "content_type": a.content_type,
            })).collect::<Vec<_>>(),
        })),
    })
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

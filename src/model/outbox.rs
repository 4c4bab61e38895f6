//! The outbox: one durable item per alert and recipient. Items are written
//! in the same store commit as the event that caused them, delivered by
//! [`crate::notify::sender`], and never deleted: their status records what
//! happened (sent, given up, suppressed by a rule).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::rules::AlertKind;
use crate::model::TicketId;

/// State of an outbox item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum OutboxStatus {
    /// Waiting for (another) delivery attempt.
    Pending,
    /// Accepted by the transport.
    Sent {
        /// When.
        at: DateTime<Utc>,
    },
    /// Permanent failure or attempts exhausted; `outbox retry` resends.
    GaveUp {
        /// Last error.
        reason: String,
    },
    /// Not sent because a rule held it back (rate limit, ...).
    Suppressed {
        /// The rule.
        rule: String,
    },
}

impl OutboxStatus {
    /// Short name for listings.
    pub fn as_str(&self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sent { .. } => "sent",
            OutboxStatus::GaveUp { .. } => "gave_up",
            OutboxStatus::Suppressed { .. } => "suppressed",
        }
    }
}

/// One alert to one recipient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Sequential id.
    pub id: u64,
    /// The ticket.
    pub ticket: TicketId,
    /// What kind of alert.
    pub kind: AlertKind,
    /// Template folder name used to render it.
    pub template: String,
    /// The rule that decided to send it.
    #[serde(default)]
    pub rule: String,
    /// Recipient address.
    pub recipient: String,
    /// Whether the recipient is staff (gets the staff reply address).
    pub to_staff: bool,
    /// Our Message-ID for this mail (no brackets); stable across retries.
    pub message_id: String,
    /// Message-ID it answers, if any.
    pub in_reply_to: Option<String>,
    /// Thread references, oldest first.
    pub references: Vec<String>,
    /// Snapshot of the data the template sees (ticket, comment, ...).
    pub context: serde_json::Value,
    /// Current state.
    pub status: OutboxStatus,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Earliest time of the next attempt.
    pub next_attempt_at: DateTime<Utc>,
    /// Last transient error, if any.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

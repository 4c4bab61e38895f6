//! A ticket's history: typed events with actor and time.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::TicketId;

/// One entry in a ticket's history: what happened, who did it, when.
/// Rules react to these; later features (SLA timers, follow-ups,
/// dashboards) read the same history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketEvent {
    /// Position in the ticket's history.
    pub seq: u32,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who caused it (an address, `cli`, `api` or `ticketd`).
    pub actor: String,
    /// What happened.
    pub kind: EventKind,
}

/// The kinds of ticket events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum EventKind {
    /// The ticket was opened (its first comment is comment 0).
    Created,
    /// A comment was added.
    Commented {
        /// The comment's `seq`.
        comment: u32,
    },
    /// The ticket was closed.
    Closed,
    /// The ticket was reopened.
    Reopened,
    /// An external recipient was added.
    RecipientAdded {
        /// The address.
        address: String,
    },
    /// An external recipient was removed.
    RecipientRemoved {
        /// The address.
        address: String,
    },
    /// Mail to an address stopped on this ticket after bounces.
    DeliveryStopped {
        /// The address.
        address: String,
        /// The problem that stopped it, e.g. `hard bounce 5.1.1 on ...`.
        reason: String,
    },
    /// Staff cleared an address's bounce state; it is mailed again.
    DeliveryReset {
        /// The address.
        address: String,
    },
    /// A reply to this closed ticket opened a follow-up ticket.
    FollowUpOpened {
        /// The new ticket.
        ticket: TicketId,
    },
    /// Staff confirmed the recipients a new sender's first mail brought;
    /// alerts reach all of them from now on.
    RecipientsConfirmed,
    /// A mail from a staff address came without proof that staff sent it.
    UnprovenStaffClaim {
        /// The staff address it claimed.
        address: String,
        /// The comment it became.
        comment: u32,
    },
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventKind::Created => f.write_str("created"),
            EventKind::Commented { comment } => write!(f, "comment {comment} added"),
            EventKind::Closed => f.write_str("closed"),
            EventKind::Reopened => f.write_str("reopened"),
            EventKind::RecipientAdded { address } => write!(f, "recipient {address} added"),
            EventKind::RecipientRemoved { address } => write!(f, "recipient {address} removed"),
            EventKind::DeliveryStopped { address, reason } => {
                write!(f, "mail to {address} stopped ({reason})")
            }
            EventKind::DeliveryReset { address } => write!(f, "mail to {address} resumed"),
            EventKind::FollowUpOpened { ticket } => write!(f, "follow-up #{ticket} opened"),
            EventKind::RecipientsConfirmed => f.write_str("recipients confirmed"),
            EventKind::UnprovenStaffClaim { address, comment } => write!(
                f,
                "comment {comment} claims to be from staff {address}, not proven"
            ),
        }
    }
}

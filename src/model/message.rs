//! Ingested messages: where each came from and what became of it.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::TicketId;

/// Where a raw message came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum Source {
    /// `ticketd ingest` from an MTA pipe or a file.
    Pipe,
    /// A Maildir drop folder (file name).
    Maildir(String),
    /// An IMAP mailbox: `[[inbound.imap]]` name and the message's UID.
    Imap {
        /// The mailbox's configured name.
        mailbox: String,
        /// UIDVALIDITY of the folder when it was fetched.
        uid_validity: u32,
        /// UID within the folder.
        uid: u32,
    },
    /// A test or tool.
    Other(String),
}

/// What ingesting one message did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Disposition {
    /// Opened a ticket.
    NewTicket {
        /// The ticket.
        ticket: TicketId,
    },
    /// Added a comment.
    Comment {
        /// The ticket.
        ticket: TicketId,
        /// The comment's position.
        seq: u32,
    },
    /// Stored but not acted on (auto-reply, own mail, ...).
    Ignored {
        /// Related ticket, when the message threads to one.
        ticket: Option<TicketId>,
        /// Why.
        reason: String,
    },
    /// Could not be processed; kept for an admin to look at.
    Quarantined {
        /// Why.
        reason: String,
    },
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disposition::NewTicket { ticket } => write!(f, "new ticket #{ticket}"),
            Disposition::Comment { ticket, seq } => write!(f, "comment {seq} on #{ticket}"),
            Disposition::Ignored {
                ticket: Some(t),
                reason,
            } => write!(f, "ignored ({reason}), related to #{t}"),
            Disposition::Ignored {
                ticket: None,
                reason,
            } => write!(f, "ignored ({reason})"),
            Disposition::Quarantined { reason } => write!(f, "quarantined: {reason}"),
        }
    }
}

impl Disposition {
    /// The ticket this message ended up on, if any.
    pub fn ticket(&self) -> Option<TicketId> {
        match self {
            Disposition::NewTicket { ticket } | Disposition::Comment { ticket, .. } => {
                Some(*ticket)
            }
            Disposition::Ignored { ticket, .. } => *ticket,
            Disposition::Quarantined { .. } => None,
        }
    }
}

/// The record kept for every message ever ingested (keyed by fingerprint).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// De-duplication key (see `ingest::mail::fingerprint`).
    pub fingerprint: String,
    /// Key of the raw bytes in the store.
    pub raw_key: String,
    /// Size of the raw message.
    pub size: u64,
    /// Where it came from.
    pub source: Source,
    /// Sender, when known.
    pub from: Option<String>,
    /// Subject, when known.
    pub subject: Option<String>,
    /// Classification rule that fired (or the quarantine cause).
    pub rule: String,
    /// What happened.
    pub disposition: Disposition,
    /// When it was ingested.
    pub received_at: DateTime<Utc>,
}

//! The domain model: tickets, comments, recipients, attachments and the
//! enumerations that describe them.
//!
//! Everything here is plain data with serde derives; it is what the store
//! persists (as JSON) and what templates and the API see. New enum variants
//! may be added later (for example more [`Status`] values), so consumers must
//! not assume the lists are closed.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Human-friendly sequential ticket number (`#1`, `#2`, ...). Never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketId(pub u64);

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Lifecycle state of a ticket.
///
/// Only `Open` and `Closed` are produced today; the 311 workflow adds
/// received/acknowledged/assigned/in-progress states as new variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for staff.
    Open,
    /// Resolved; a customer reply may reopen it (see config).
    Closed,
}

impl Status {
    /// The lower-case name used in output and templates.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Closed => "closed",
        }
    }
}

/// How a ticket came into being; drives which alerts go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A person wrote to a support address.
    CustomerEmail,
    /// An external application (monitoring, cron, business system) wrote in.
    AutomatedEmail,
    /// A staff member opened it (by mail or the CLI).
    Staff,
    /// Created through the local API.
    Api,
}

impl Origin {
    /// The snake_case name used in output and templates.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::CustomerEmail => "customer_email",
            Origin::AutomatedEmail => "automated_email",
            Origin::Staff => "staff",
            Origin::Api => "api",
        }
    }
}

/// Who wrote a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorRole {
    /// Requester, a Cc'd person or another outside participant.
    Customer,
    /// A verified staff member.
    Staff,
    /// An external application.
    Automated,
    /// ticketd itself (bounce notes, system events).
    System,
}

/// A comment's visibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Relayed to the external recipients when staff write it.
    Public,
    /// Staff-only note; never leaves the building.
    Internal,
}

/// A file that arrived with a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Sanitized file name.
    pub name: String,
    /// MIME type, e.g. `application/pdf`.
    pub content_type: String,
    /// Size in bytes of the decoded content.
    pub size: u64,
    /// Index of the part in the raw source message (see
    /// [`crate::mail::attachment_bytes`]); the bytes are not stored twice.
    pub part: u32,
}

/// One entry in a ticket's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// Position in the ticket (0 is the opening message).
    pub seq: u32,
    /// Author's e-mail address (or `cli`, `api`).
    pub author: String,
    /// What kind of author this is.
    pub role: AuthorRole,
    /// Public or internal.
    pub visibility: Visibility,
    /// Plain-text body (commands such as `#close` removed).
    pub text: String,
    /// HTML body if any, sanitized on ingest (see
    /// [`crate::content::sanitize_html`]); the HTML as sent stays in the
    /// raw message.
    pub html: Option<String>,
    /// Files that came with it.
    pub attachments: Vec<Attachment>,
    /// Key of the raw message this came from, when it came by mail.
    pub source_message: Option<String>,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

/// A support ticket. Comments live in their own store tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// Sequential number.
    pub id: TicketId,
    /// Subject line without tags or `Re:` prefixes.
    pub subject: String,
    /// Current state.
    pub status: Status,
    /// Address of the person or system that opened it.
    pub requester: String,
    /// How it was opened.
    pub origin: Origin,
    /// Optional category (from the mailbox, an automated rule or staff).
    pub category: Option<String>,
    /// Addresses outside the organisation that receive alerts and replies.
    pub recipients: BTreeSet<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Set while closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Number of comments stored so far (next comment's `seq`).
    pub comment_count: u32,
    /// Classification rule that fired for the opening message, if mail.
    pub rule: Option<String>,
    /// Message-ID that starts the thread (the opening mail's, or ours).
    pub root_message_id: Option<String>,
    /// Number of history entries so far (next event's `seq`).
    #[serde(default)]
    pub event_count: u32,
}

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
        }
    }
}

/// Whether `address` is a syntactically deliverable mailbox (per lettre's
/// RFC 5321 address parser), e.g. not `@@@` or `(unknown sender)`.
pub fn is_deliverable_address(address: &str) -> bool {
    address.parse::<lettre::Address>().is_ok()
}

/// Normalizes an e-mail address for comparison: trimmed and lower-cased.
pub fn normalize_address(address: &str) -> String {
    address.trim().trim_matches(['<', '>']).to_ascii_lowercase()
}

/// Where a raw message came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum Source {
    /// `ticketd ingest` from an MTA pipe or a file.
    Pipe,
    /// A Maildir drop folder (file name).
    Maildir(String),
    /// An IMAP mailbox (`mailbox/uidvalidity/uid`).
    Imap(String),
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
    /// De-duplication key (see [`crate::mail::fingerprint`]).
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

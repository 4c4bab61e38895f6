//! The domain model: tickets, comments, recipients, attachments and the
//! enumerations that describe them.
//!
//! Everything here is plain data with serde derives; it is what the store
//! persists (as JSON) and what templates and the API see. New enum variants
//! may be added later (for example more [`Status`] values), so consumers must
//! not assume the lists are closed.

mod delivery;
mod event;
mod message;
pub mod outbox;
pub mod token;

pub use delivery::{BounceKind, DeliveryProblem, RecipientDelivery};
pub use event::{EventKind, TicketEvent};
pub use message::{Disposition, MessageRecord, Source};

use std::collections::{BTreeMap, BTreeSet};
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
    /// `ingest::mail::attachment_bytes`); the bytes are not stored twice.
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
    /// `ingest::content::sanitize_html`); the HTML as sent stays in the
    /// raw message.
    pub html: Option<String>,
    /// Files that came with it.
    pub attachments: Vec<Attachment>,
    /// Key of the raw message this came from, when it came by mail.
    pub source_message: Option<String>,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// Set when the mail came from a staff address without proof that
    /// staff sent it (see `ingest::staff_proof`): stored as a customer's, and
    /// staff are warned.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unproven_staff: bool,
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
    /// Delivery trouble per recipient address on this ticket (bounces).
    /// Only addresses that ever bounced appear.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub delivery: BTreeMap<String, RecipientDelivery>,
    /// Links to earlier and later tickets of the same conversation.
    #[serde(default, skip_serializing_if = "TicketLinks::is_empty")]
    pub links: TicketLinks,
    /// Correlation key of an automated-mail rule (`rule/correlation:key`)
    /// while this ticket collects that key's mail (see
    /// `config::Correlation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<String>,
    /// Set while the recipients a new sender's first mail brought wait
    /// for staff to confirm them: until then, alerts go to the requester
    /// only (see `alerts.new_sender_max_cc`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recipients_unconfirmed: bool,
    /// Addresses of the opening mail that were not made recipients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_added: Option<NotAddedRecipients>,
}

/// Most external recipients one ticket can have: staff adding more get
/// an error, so a ticket's record and every alert snapshot stay small.
pub const MAX_RECIPIENTS_PER_TICKET: usize = 200;

/// Most addresses a ticket lists of those it did not add (the raw mail
/// keeps them all).
pub const MAX_NOT_ADDED_LISTED: usize = 50;

/// Addresses of a ticket's opening mail that were not made recipients,
/// and why; staff add any of them with `ticketd recipients add`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotAddedRecipients {
    /// How many were left out.
    pub count: usize,
    /// The first of them, at most [`MAX_NOT_ADDED_LISTED`].
    pub listed: Vec<String>,
    /// Why, e.g. `inbound.max_recipients (20)`.
    pub reason: String,
}

/// How a ticket relates to others: a reply to a closed ticket that may not
/// reopen it opens a follow-up ticket, linked both ways.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketLinks {
    /// The closed ticket this one continues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up_of: Option<TicketId>,
    /// Tickets opened as follow-ups of this one, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follow_ups: Vec<TicketId>,
}

impl TicketLinks {
    /// Whether there are no links.
    pub fn is_empty(&self) -> bool {
        self.follow_up_of.is_none() && self.follow_ups.is_empty()
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

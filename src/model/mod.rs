//! The domain model: tickets, comments, recipients, attachments and the
//! enumerations that describe them.
//!
//! Everything here is plain data with serde derives; it is what the store
//! persists (as JSON) and what templates and the API see. New enum variants
//! may be added later (for example more [`Status`] values), so consumers must
//! not assume the lists are closed.

pub mod outbox;
pub mod token;

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
    /// staff sent it (see `ingest::sender`): stored as a customer's, and
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

/// How bad a reported delivery problem is for the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BounceKind {
    /// Permanent failure of the address (5.x.x, e.g. 5.1.1 user unknown):
    /// the address gets no more mail on the ticket.
    Hard,
    /// Failure that says little about the address (4.x.x, mailbox full,
    /// policy or content rejection): counted; enough of them stop mail.
    Soft,
    /// A warning that delivery is still being retried: noted only.
    Delayed,
}

impl BounceKind {
    /// Lower-case name for output.
    pub fn as_str(self) -> &'static str {
        match self {
            BounceKind::Hard => "hard",
            BounceKind::Soft => "soft",
            BounceKind::Delayed => "delayed",
        }
    }
}

/// One delivery problem reported for an address (a bounce).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryProblem {
    /// When the report arrived.
    pub at: DateTime<Utc>,
    /// How bad it is.
    pub kind: BounceKind,
    /// Enhanced status code, e.g. `5.1.1`.
    pub status: Option<String>,
    /// The remote server's words, shortened.
    pub diagnostic: Option<String>,
    /// The outbox item that bounced, when known.
    pub outbox_item: Option<u64>,
}

impl fmt::Display for DeliveryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bounce", self.kind.as_str())?;
        if let Some(status) = &self.status {
            write!(f, " {status}")?;
        }
        write!(f, " on {}", self.at.format("%Y-%m-%d %H:%M"))?;
        if let Some(item) = self.outbox_item {
            write!(f, " (alert {item})")?;
        }
        Ok(())
    }
}

/// Delivery state of one address on one ticket. An address is *failing*
/// after a hard bounce, or after `bounces.soft_bounce_limit` soft ones:
/// from then on nothing is mailed to it on this ticket (alerts are kept
/// as suppressed outbox items) until staff reset it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientDelivery {
    /// Soft bounces counted since the last reset.
    pub soft_bounces: u32,
    /// The problem that stopped mail to the address, while stopped.
    pub failing: Option<DeliveryProblem>,
    /// The latest problem reported.
    pub last: DeliveryProblem,
}

impl RecipientDelivery {
    /// Whether mail to the address is stopped on this ticket.
    pub fn is_failing(&self) -> bool {
        self.failing.is_some()
    }

    /// The state after `problem` is reported, given the soft-bounce limit
    /// (0: soft bounces never stop mail). `previous` is the state before.
    pub fn after(
        previous: Option<&RecipientDelivery>,
        problem: DeliveryProblem,
        soft_limit: u32,
    ) -> RecipientDelivery {
        let mut soft_bounces = previous.map_or(0, |p| p.soft_bounces);
        if problem.kind == BounceKind::Soft {
            soft_bounces += 1;
        }
        let stops = match problem.kind {
            BounceKind::Hard => true,
            BounceKind::Soft => soft_limit > 0 && soft_bounces >= soft_limit,
            BounceKind::Delayed => false,
        };
        let failing = previous
            .and_then(|p| p.failing.clone())
            .or_else(|| stops.then(|| problem.clone()));
        RecipientDelivery {
            soft_bounces,
            failing,
            last: problem,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(kind: BounceKind, status: &str) -> DeliveryProblem {
        DeliveryProblem {
            at: Utc::now(),
            kind,
            status: Some(status.into()),
            diagnostic: None,
            outbox_item: None,
        }
    }

    #[test]
    fn delivery_state_counts_soft_bounces_and_keeps_the_problem_that_stopped_mail() {
        let soft = || problem(BounceKind::Soft, "4.2.2");
        let one = RecipientDelivery::after(None, soft(), 2);
        assert_eq!((one.soft_bounces, one.is_failing()), (1, false));
        let delayed =
            RecipientDelivery::after(Some(&one), problem(BounceKind::Delayed, "4.4.1"), 2);
        assert_eq!((delayed.soft_bounces, delayed.is_failing()), (1, false));
        let two = RecipientDelivery::after(Some(&delayed), soft(), 2);
        assert!(two.is_failing());
        let hard_later =
            RecipientDelivery::after(Some(&two), problem(BounceKind::Hard, "5.1.1"), 2);
        assert_eq!(
            hard_later.failing.and_then(|p| p.status).as_deref(),
            Some("4.2.2"),
            "the first reason stays"
        );
        assert_eq!(hard_later.last.status.as_deref(), Some("5.1.1"));
    }

    #[test]
    fn soft_limit_zero_never_stops_mail_but_a_hard_bounce_does() {
        let mut state = None;
        for _ in 0..10 {
            state = Some(RecipientDelivery::after(
                state.as_ref(),
                problem(BounceKind::Soft, "5.7.1"),
                0,
            ));
        }
        let state = state.expect("a state");
        assert_eq!((state.soft_bounces, state.is_failing()), (10, false));
        assert!(
            RecipientDelivery::after(Some(&state), problem(BounceKind::Hard, "5.1.1"), 0)
                .is_failing()
        );
    }
}

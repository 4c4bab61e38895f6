//! The ingest seam: one network-free function from raw message bytes to a
//! stored outcome. Every source (MTA pipe, Maildir, IMAP, tests) calls
//! [`ingest`], or for a batch [`ingest_many`] (the same per message, with
//! parsing done ahead on a second thread); none of them parses or decides
//! anything itself.
//!
//! Guarantees:
//! - the raw bytes are stored with the outcome in one commit, so any ticket
//!   can be audited and state rebuilt;
//! - ingesting the same message again (same Message-ID, or same bytes when
//!   there is none) changes nothing and sends nothing;
//! - bad input never fails the call: it is quarantined with its reason.
//!   A message whose processing fails is quarantined too; an `Err` means
//!   even that could not be stored, and the caller should retry later (the
//!   MTA pipe exits 75).
//!
//! Commits are not flushed here; callers flush once per batch before they
//! acknowledge the source.
//!
//! What a message does, by kind (see [`crate::ingest::classify`]):
//! - our own mail and auto-replies: stored as ignored, never answered,
//!   never reopen anything;
//! - bounces: an internal note on the ticket they belong to and a mark on
//!   the recipient ([`bounce`]); never a ticket, reopen or alert;
//! - a reply: a comment; on a closed ticket the closed-ticket policy
//!   decides between reopening, a comment that leaves it closed, and a
//!   linked follow-up ticket ([`closed`]);
//! - new automated mail: a correlation key may add it to the open ticket
//!   of the same key, or close that ticket on recovery ([`correlate`]);
//! - anything else: a new ticket.

pub mod classify;
pub mod commands;
pub mod content;
pub mod mail;
pub mod sender;
pub mod threading;

mod bounce;
mod closed;
mod correlate;
mod drafts;

use drafts::{draft, ticket_draft};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::domain::desk::Desk;
use crate::ingest::classify::{Classification, ClassifyContext, MailKind, classify};
use crate::ingest::sender::{SenderRole, sender_role};
use crate::ingest::threading::{ThreadLookup, ThreadMatch, find_thread};
use crate::model::{
    AuthorRole, Disposition, MessageRecord, Source, Status, Ticket, TicketId, Visibility,
    normalize_address,
};
use crate::notify::queue::Trigger;
use crate::store::WriteTx;
use mail::InboundMail;

/// What [`ingest`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The stored outcome (for a duplicate: the earlier one).
    pub disposition: Disposition,
    /// True when the message had been ingested before; nothing changed.
    pub duplicate: bool,
    /// Rules that fired, for logs and `tickets show`.
    pub rule: String,
}

/// Ingests one raw message. See the module docs for the guarantees.
///
/// A bug that panics on some message must not block the source behind it
/// (an IMAP folder would fetch the same message forever): the panic is
/// caught and the message quarantined with the panic's text as reason.
pub fn ingest(desk: &Desk, raw: &[u8], source: Source) -> anyhow::Result<Outcome> {
    store_read(desk, raw, read(desk, raw), source)
}

/// How many messages [`ingest_many`] reads ahead of the one it stores.
const READ_AHEAD: usize = 16;

/// Ingests `messages` in order, with the outcome [`ingest`] would give
/// each. Reading a message (parsing it, its fingerprint) needs no store,
/// so it runs on a second thread, ahead of the one storing; it is about a
/// fifth of ingest's work in the benchmark's profile, taken off the
/// thread that holds the store's write lock. Stops at the first error
/// (the store failing); what was stored before it stays stored.
pub fn ingest_many(desk: &Desk, messages: &[(Vec<u8>, Source)]) -> anyhow::Result<Vec<Outcome>> {
    std::thread::scope(|scope| {
        let (ahead, readings) = std::sync::mpsc::sync_channel(READ_AHEAD);
        scope.spawn(move || {
            for (raw, _) in messages {
                if ahead.send(read(desk, raw)).is_err() {
                    break;
                }
            }
        });
        messages
            .iter()
            .zip(readings)
            .map(|((raw, source), reading)| store_read(desk, raw, reading, source.clone()))
            .collect()
    })
}

/// A message read but not yet stored.
enum Reading {
    /// Parsed, with its fingerprint.
    Parsed {
        mail: Box<InboundMail>,
        fingerprint: String,
    },
    /// To be quarantined, for this reason.
    Refused(String),
}

/// The part of ingest that needs no store: size limit, parsing and the
/// fingerprint. Never panics (a panic becomes a refusal).
fn read(desk: &Desk, raw: &[u8]) -> Reading {
    guarded(|| {
        let max = desk.config.inbound.max_message_bytes;
        if raw.len() as u64 > max {
            return Reading::Refused(format!(
                "message of {} bytes exceeds inbound.max_message_bytes ({max})",
                raw.len()
            ));
        }
        match mail::parse(raw) {
            Ok(mail) => Reading::Parsed {
                fingerprint: mail::fingerprint(Some(&mail), raw),
                mail: Box::new(mail),
            },
            Err(e) => Reading::Refused(format!("unparseable: {e}")),
        }
    })
    .unwrap_or_else(Reading::Refused)
}

/// Stores what [`read`] made of `raw`: a duplicate, a quarantine, or the
/// outcome the message decides. A panic quarantines the message.
fn store_read(
    desk: &Desk,
    raw: &[u8],
    reading: Reading,
    source: Source,
) -> anyhow::Result<Outcome> {
    let fallback = source.clone();
    guarded(|| match reading {
        Reading::Refused(reason) => quarantine(desk, raw, None, source, reason),
        Reading::Parsed { mail, fingerprint } => {
            store_parsed(desk, raw, &mail, &fingerprint, source)
        }
    })
    .unwrap_or_else(|reason| quarantine(desk, raw, None, fallback, reason))
}

/// Runs `work`, turning a panic into the quarantine reason it deserves.
fn guarded<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).map_err(|panic| {
        let text = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        format!("internal error while processing (please report): {text}")
    })
}

fn store_parsed(
    desk: &Desk,
    raw: &[u8],
    mail: &InboundMail,
    fingerprint: &str,
    source: Source,
) -> anyhow::Result<Outcome> {
    if let Some(existing) = desk.store.message(fingerprint)? {
        return Ok(duplicate(existing));
    }
    match decide_and_store(desk, raw, mail, fingerprint, source.clone()) {
        Ok(outcome) => Ok(outcome),
        Err(e) => quarantine(
            desk,
            raw,
            Some(mail),
            source,
            format!("processing failed: {e:#}"),
        ),
    }
}

/// Quarantines a message too big to fetch, keeping the part that was
/// fetched (its header) and the reason. The whole message stays on the
/// server, in its quarantine folder.
pub fn quarantine_oversized(
    desk: &Desk,
    header: &[u8],
    size: u64,
    source: Source,
) -> anyhow::Result<Outcome> {
    let reason = format!(
        "message of {size} bytes exceeds inbound.max_message_bytes ({}); only its header is stored, the message is left on the server",
        desk.config.inbound.max_message_bytes
    );
    quarantine(
        desk,
        header,
        mail::parse(header).ok().as_ref(),
        source,
        reason,
    )
}

fn quarantine(
    desk: &Desk,
    raw: &[u8],
    mail: Option<&InboundMail>,
    source: Source,
    reason: String,
) -> anyhow::Result<Outcome> {
    let fingerprint = mail::fingerprint(mail, raw);
    if let Some(existing) = desk.store.message(&fingerprint)? {
        return Ok(duplicate(existing));
    }
    let mut tx = desk.store.begin();
    if let Some(existing) = desk.store.message(&fingerprint)? {
        return Ok(duplicate(existing));
    }
    let disposition = Disposition::Quarantined {
        reason: reason.clone(),
    };
    let record = record(
        raw,
        mail,
        &fingerprint,
        source,
        "quarantine".into(),
        disposition.clone(),
    );
    tx.put_message(&record, raw)?;
    tx.commit()?;
    tracing::warn!(reason = %reason, "Message quarantined");
    Ok(Outcome {
        disposition,
        duplicate: false,
        rule: "quarantine".into(),
    })
}

fn duplicate(existing: MessageRecord) -> Outcome {
    Outcome {
        disposition: existing.disposition,
        duplicate: true,
        rule: existing.rule,
    }
}

fn record(
    raw: &[u8],
    mail: Option<&InboundMail>,
    fingerprint: &str,
    source: Source,
    rule: String,
    disposition: Disposition,
) -> MessageRecord {
    MessageRecord {
        fingerprint: fingerprint.to_string(),
        raw_key: fingerprint.to_string(),
        size: raw.len() as u64,
        source,
        from: mail.and_then(|m| m.from.clone()),
        subject: mail.map(|m| m.subject.clone()),
        rule,
        disposition,
        received_at: Utc::now(),
    }
}

/// Everything decided about one message before it is stored.
struct Decision<'m> {
    mail: &'m InboundMail,
    raw: &'m [u8],
    class: Classification,
    sender: SenderRole,
    thread: Option<ThreadMatch>,
    raw_key: String,
    /// Category when no rule gives one (depends on the source mailbox).
    default_category: Option<String>,
    max_attachment_bytes: u64,
}

impl Decision<'_> {
    fn rule(&self) -> String {
        let mut rule = format!("{}; {}", self.class.rule, self.sender.rule());
        if let Some(t) = self.thread {
            rule.push_str("; ");
            rule.push_str(t.rule());
        }
        rule
    }

    /// The rule with what applying it added, e.g. the closed-ticket policy.
    fn rule_with(&self, notes: &[String]) -> String {
        std::iter::once(self.rule())
            .chain(notes.iter().cloned())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// What applying a decision did, and notes for the recorded rule.
struct Applied {
    disposition: Disposition,
    notes: Vec<String>,
}

impl Applied {
    fn new(disposition: Disposition) -> Applied {
        Applied {
            disposition,
            notes: Vec::new(),
        }
    }

    fn note(mut self, note: impl Into<String>) -> Applied {
        self.notes.push(note.into());
        self
    }

    fn comment(ticket: TicketId, seq: u32) -> Applied {
        Applied::new(Disposition::Comment { ticket, seq })
    }

    fn ignored(ticket: Option<TicketId>, reason: String) -> Applied {
        Applied::new(Disposition::Ignored { ticket, reason })
    }
}

/// Decides and stores under the store's write lock, so two sources
/// delivering the same message at once still make one outcome.
fn decide_and_store(
    desk: &Desk,
    raw: &[u8],
    mail: &InboundMail,
    fingerprint: &str,
    source: Source,
) -> anyhow::Result<Outcome> {
    let mut tx = desk.store.begin();
    if let Some(existing) = desk.store.message(fingerprint)? {
        return Ok(duplicate(existing));
    }
    let class = classify(mail, ClassifyContext::for_desk(desk));
    let sender = sender_role(mail, &desk.config, &desk.key);
    let thread = find_thread(
        mail,
        &desk.key,
        &desk.config,
        sender.is_verified_staff(),
        &StoreLookup(desk),
    );
    let decision = Decision {
        mail,
        raw,
        class,
        sender,
        thread,
        raw_key: fingerprint.to_string(),
        default_category: desk.config.default_category(&source),
        max_attachment_bytes: desk.config.inbound.max_attachment_bytes,
    };
    let applied = apply(desk, &mut tx, &decision)?;
    let rule = decision.rule_with(&applied.notes);
    let disposition = applied.disposition;
    if let Some(id) = &mail.message_id
        && let Some(ticket) = disposition.ticket()
    {
        tx.index_message_id(id, ticket);
    }
    let stored = record(
        raw,
        Some(mail),
        fingerprint,
        source,
        rule.clone(),
        disposition.clone(),
    );
    tx.put_message(&stored, raw)?;
    tx.commit()?;
    tracing::info!(outcome = ?disposition, rule = %rule, "Message ingested");
    Ok(Outcome {
        disposition,
        duplicate: false,
        rule,
    })
}

fn apply(desk: &Desk, tx: &mut WriteTx<'_>, d: &Decision<'_>) -> anyhow::Result<Applied> {
    let threaded = d.thread.map(ThreadMatch::ticket);
    match (d.class.kind, threaded) {
        (MailKind::OwnLoop | MailKind::AutoReply, ticket) => {
            Ok(Applied::ignored(ticket, d.class.rule.clone()))
        }
        (MailKind::Bounce, _) => bounce::handle(desk, tx, d),
        (MailKind::Human | MailKind::Automated, Some(id)) => reply(desk, tx, d, id),
        (MailKind::Automated, None) if !d.sender.is_verified_staff() => {
            match correlate::find(d.mail, &desk.config) {
                Some(found) => correlate::apply(desk, tx, d, found),
                None => new_ticket(desk, tx, d),
            }
        }
        (MailKind::Human | MailKind::Automated, None) => new_ticket(desk, tx, d),
    }
}

fn trigger(d: &Decision<'_>) -> Trigger {
    Trigger {
        message_id: d.mail.message_id.clone(),
        declines_auto_replies: crate::ingest::classify::declines_auto_replies(d.mail),
    }
}

fn new_ticket(desk: &Desk, tx: &mut WriteTx<'_>, d: &Decision<'_>) -> anyhow::Result<Applied> {
    let ticket = desk.open_ticket(tx, ticket_draft(desk, d, d.rule())?, &trigger(d))?;
    Ok(Applied::new(Disposition::NewTicket { ticket: ticket.id }))
}

/// A reply to ticket `id`: a comment, from staff ([`staff_reply`]) or
/// from outside ([`outside_reply`]).
fn reply(
    desk: &Desk,
    tx: &mut WriteTx<'_>,
    d: &Decision<'_>,
    id: TicketId,
) -> anyhow::Result<Applied> {
    let ticket = desk.ticket(id)?;
    if d.sender.is_verified_staff() {
        staff_reply(desk, tx, d, ticket)
    } else {
        outside_reply(desk, tx, d, ticket)
    }
}

/// A customer's or an application's reply. On a closed ticket automated
/// mail leaves it closed and a customer reply follows the closed-ticket
/// policy ([`closed::decide`]).
fn outside_reply(
    desk: &Desk,
    tx: &mut WriteTx<'_>,
    d: &Decision<'_>,
    mut ticket: Ticket,
) -> anyhow::Result<Applied> {
    let trigger = trigger(d);
    let role = match d.class.kind {
        MailKind::Automated => AuthorRole::Automated,
        _ => AuthorRole::Customer,
    };
    let mut notes = Vec::new();
    if ticket.status == Status::Closed && role == AuthorRole::Customer {
        match closed::decide(&ticket, d.mail, &desk.config.closed_tickets, Utc::now()) {
            closed::ClosedReply::Reopen(note) => {
                desk.reopen_ticket(tx, &mut ticket, &d.sender.address, &trigger)?;
                notes.push(note);
            }
            closed::ClosedReply::KeepClosed(note) => notes.push(note),
            closed::ClosedReply::FollowUp(why) => {
                return closed::follow_up(desk, tx, d, ticket, &why);
            }
        }
    }
    let text = outside_reply_text(d.mail);
    let comment = desk.add_comment(
        tx,
        &mut ticket,
        draft(d, role, Visibility::Public, text),
        &trigger,
    )?;
    tx.put_ticket(&ticket)?;
    let mut applied = Applied::comment(ticket.id, comment.seq);
    applied.notes = notes;
    Ok(applied)
}

/// A proven staff member's reply: commands apply, the new text (quoted
/// history removed) becomes a public reply unless `#internal`. A reply with
/// no new text is kept as an internal note, never relayed empty. A forward
/// marked `#internal` keeps the forwarded mail; a public one relays only
/// what staff wrote above it, so a forwarded thread never reaches the
/// customer by accident. On a closed ticket the reply is stored (a public
/// one relayed) and the ticket stays closed; `#close` is then a no-op.
fn staff_reply(
    desk: &Desk,
    tx: &mut WriteTx<'_>,
    d: &Decision<'_>,
    mut ticket: Ticket,
) -> anyhow::Result<Applied> {
    let trigger = &trigger(d);
    let was_closed = ticket.status == Status::Closed;
    let (cmds, text) = commands::extract(&content::reply_text(&d.mail.text));
    let text = if cmds.internal && content::is_forward_subject(&d.mail.subject) {
        commands::extract(&d.mail.text).1
    } else {
        text
    };
    let (visibility, text) = match (cmds.internal, text.is_empty(), cmds.close) {
        (_, true, true) => (Visibility::Internal, "(closed by mail)".to_string()),
        (_, true, false) => (Visibility::Internal, "(reply without new text)".to_string()),
        (true, false, _) => (Visibility::Internal, text),
        (false, false, _) => (Visibility::Public, text),
    };
    let comment = desk.add_comment(
        tx,
        &mut ticket,
        draft(d, AuthorRole::Staff, visibility, text),
        trigger,
    )?;
    if cmds.close {
        desk.close_ticket(tx, &mut ticket, &d.sender.address, trigger)?;
    }
    tx.put_ticket(&ticket)?;
    let applied = Applied::comment(ticket.id, comment.seq);
    Ok(if was_closed {
        applied.note("closed-ticket:staff-reply-kept-closed")
    } else {
        applied
    })
}

/// The text stored for a reply from outside: the new part (for a forward,
/// the forwarded mail with it), or everything when there is no new part.
fn outside_reply_text(mail: &InboundMail) -> String {
    let new = content::new_text(&mail.subject, &mail.text);
    if new.is_empty() {
        mail.text.clone()
    } else {
        new
    }
}

struct StoreLookup<'a>(&'a Desk);

impl ThreadLookup for StoreLookup<'_> {
    fn ticket_for_message_id(&self, message_id: &str) -> Option<TicketId> {
        self.0
            .store
            .ticket_for_message_id(message_id)
            .ok()
            .flatten()
    }

    fn is_participant(&self, ticket: TicketId, address: &str) -> Option<bool> {
        let ticket = self.0.store.ticket(ticket).ok().flatten()?;
        let address = normalize_address(address);
        Some(ticket.requester == address || ticket.recipients.contains(&address))
    }
}

#[cfg(test)]
mod tests;

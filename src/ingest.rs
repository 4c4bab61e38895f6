//! The ingest seam: one network-free function from raw message bytes to a
//! stored outcome. Every source (MTA pipe, Maildir, IMAP, tests) calls
//! [`ingest`]; none of them parses or decides anything itself.
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

use std::collections::BTreeSet;

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::classify::{Classification, ClassifyContext, MailKind, classify};
use crate::desk::{CommentDraft, Desk, TicketDraft};
use crate::mail::{self, InboundMail};
use crate::model::{
    AuthorRole, Disposition, MessageRecord, Origin, Source, Status, Ticket, TicketId, Visibility,
    normalize_address,
};
use crate::notify::queue::Trigger;
use crate::sender::{SenderRole, sender_role};
use crate::store::WriteTx;
use crate::threading::{ThreadLookup, ThreadMatch, clean_subject, find_thread};
use crate::{commands, content};

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
pub fn ingest(desk: &Desk, raw: &[u8], source: Source) -> anyhow::Result<Outcome> {
    let max = desk.config.inbound.max_message_bytes;
    if raw.len() as u64 > max {
        let reason = format!(
            "message of {} bytes exceeds inbound.max_message_bytes ({max})",
            raw.len()
        );
        return quarantine(desk, raw, None, source, reason);
    }
    let mail = match mail::parse(raw) {
        Ok(mail) => mail,
        Err(e) => return quarantine(desk, raw, None, source, format!("unparseable: {e}")),
    };
    let fingerprint = mail::fingerprint(Some(&mail), raw);
    if let Some(existing) = desk.store.message(&fingerprint)? {
        return Ok(duplicate(existing));
    }
    match decide_and_store(desk, raw, &mail, &fingerprint, source.clone()) {
        Ok(outcome) => Ok(outcome),
        Err(e) => quarantine(
            desk,
            raw,
            Some(&mail),
            source,
            format!("processing failed: {e:#}"),
        ),
    }
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
    tx.put_raw(&record.raw_key, raw);
    tx.put_message(&record)?;
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
    class: Classification,
    sender: SenderRole,
    thread: Option<ThreadMatch>,
    raw_key: String,
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
    let class = classify(mail, classify_context(desk));
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
        class,
        sender,
        thread,
        raw_key: fingerprint.to_string(),
        max_attachment_bytes: desk.config.inbound.max_attachment_bytes,
    };
    let rule = decision.rule();
    let disposition = apply(desk, &mut tx, &decision)?;
    if let Some(id) = &mail.message_id
        && let Some(ticket) = disposition.ticket()
    {
        tx.index_message_id(id, ticket);
    }
    tx.put_raw(&decision.raw_key, raw);
    tx.put_message(&record(
        raw,
        Some(mail),
        fingerprint,
        source,
        rule.clone(),
        disposition.clone(),
    ))?;
    tx.commit()?;
    tracing::info!(outcome = ?disposition, rule = %rule, "Message ingested");
    Ok(Outcome {
        disposition,
        duplicate: false,
        rule,
    })
}

fn classify_context(desk: &Desk) -> ClassifyContext<'_> {
    ClassifyContext {
        instance_name: &desk.config.instance_name,
        support_addresses: &desk.config.support_addresses,
        automated_rules: &desk.config.automated,
    }
}

fn apply(desk: &Desk, tx: &mut WriteTx<'_>, d: &Decision<'_>) -> anyhow::Result<Disposition> {
    let threaded = d.thread.map(ThreadMatch::ticket);
    match (d.class.kind, threaded) {
        (MailKind::OwnLoop | MailKind::AutoReply, ticket) => Ok(Disposition::Ignored {
            ticket,
            reason: d.class.rule.clone(),
        }),
        (MailKind::Bounce, None) => Ok(Disposition::Ignored {
            ticket: None,
            reason: d.class.rule.clone(),
        }),
        (MailKind::Bounce, Some(id)) => bounce_note(desk, tx, d, id),
        (MailKind::Human | MailKind::Automated, Some(id)) => reply(desk, tx, d, id),
        (MailKind::Human | MailKind::Automated, None) => new_ticket(desk, tx, d),
    }
}

fn trigger(d: &Decision<'_>) -> Trigger {
    Trigger {
        message_id: d.mail.message_id.clone(),
    }
}

/// Attachments over the size limit, and winmail.dat, get a note in the
/// text (see [`content::file_attachments`]).
fn draft(d: &Decision<'_>, role: AuthorRole, visibility: Visibility, text: String) -> CommentDraft {
    let filed = content::file_attachments(&d.mail.attachments, d.max_attachment_bytes, &d.raw_key);
    CommentDraft {
        author: d
            .mail
            .from
            .clone()
            .unwrap_or_else(|| "(unknown sender)".into()),
        role,
        visibility,
        text: filed.annotate(text),
        html: d.mail.html.clone(),
        attachments: filed.kept,
        source_message: Some(d.raw_key.clone()),
    }
}

fn new_ticket(desk: &Desk, tx: &mut WriteTx<'_>, d: &Decision<'_>) -> anyhow::Result<Disposition> {
    let staff = d.sender.is_verified_staff();
    let (origin, role) = match (d.class.kind, staff) {
        (_, true) => (Origin::Staff, AuthorRole::Staff),
        (MailKind::Automated, false) => (Origin::AutomatedEmail, AuthorRole::Automated),
        _ => (Origin::CustomerEmail, AuthorRole::Customer),
    };
    let (text, visibility) = if staff {
        let (cmds, text) = commands::extract(&d.mail.text);
        (
            text,
            if cmds.internal {
                Visibility::Internal
            } else {
                Visibility::Public
            },
        )
    } else {
        (d.mail.text.clone(), Visibility::Public)
    };
    let ticket_draft = TicketDraft {
        subject: clean_subject(&d.mail.subject, &desk.config),
        requester: d
            .mail
            .from
            .clone()
            .unwrap_or_else(|| "(unknown sender)".into()),
        origin,
        category: d
            .class
            .category
            .clone()
            .or_else(|| desk.config.inbound.default_category.clone()),
        recipients: initial_recipients(desk, d.mail),
        rule: Some(d.rule()),
        root_message_id: d.mail.message_id.clone(),
        opening: draft(d, role, visibility, text),
    };
    let ticket = desk.open_ticket(tx, ticket_draft, &trigger(d))?;
    Ok(Disposition::NewTicket { ticket: ticket.id })
}

/// From + To + Cc minus support addresses and staff.
fn initial_recipients(desk: &Desk, mail: &InboundMail) -> BTreeSet<String> {
    mail.from
        .iter()
        .chain(&mail.to)
        .chain(&mail.cc)
        .map(|a| normalize_address(a))
        .filter(|a| crate::rules::is_external(a, &desk.config))
        .collect()
}

fn reply(
    desk: &Desk,
    tx: &mut WriteTx<'_>,
    d: &Decision<'_>,
    id: TicketId,
) -> anyhow::Result<Disposition> {
    let mut ticket = desk.ticket(id)?;
    let trigger = trigger(d);
    let comment = if d.sender.is_verified_staff() {
        staff_reply(desk, tx, d, &mut ticket, &trigger)?
    } else {
        let role = if d.class.kind == MailKind::Automated {
            AuthorRole::Automated
        } else {
            AuthorRole::Customer
        };
        if ticket.status == Status::Closed
            && role == AuthorRole::Customer
            && desk.config.alerts.reopen_on_customer_reply
        {
            desk.reopen_ticket(tx, &mut ticket, &d.sender.address, &trigger)?;
        }
        desk.add_comment(
            tx,
            &mut ticket,
            draft(d, role, Visibility::Public, outside_reply_text(d.mail)),
            &trigger,
        )?
    };
    tx.put_ticket(&ticket)?;
    Ok(Disposition::Comment {
        ticket: id,
        seq: comment.seq,
    })
}

/// A proven staff member's reply: commands apply, the new text (quoted
/// history removed) becomes a public reply unless `#internal`. A reply with
/// no new text is kept as an internal note, never relayed empty.
fn staff_reply(
    desk: &Desk,
    tx: &mut WriteTx<'_>,
    d: &Decision<'_>,
    ticket: &mut Ticket,
    trigger: &Trigger,
) -> anyhow::Result<crate::model::Comment> {
    let (cmds, text) = commands::extract(&content::reply_text(&d.mail.text));
    let (visibility, text) = match (cmds.internal, text.is_empty(), cmds.close) {
        (_, true, true) => (Visibility::Internal, "(closed by mail)".to_string()),
        (_, true, false) => (Visibility::Internal, "(reply without new text)".to_string()),
        (true, false, _) => (Visibility::Internal, text),
        (false, false, _) => (Visibility::Public, text),
    };
    let comment = desk.add_comment(
        tx,
        ticket,
        draft(d, AuthorRole::Staff, visibility, text),
        trigger,
    )?;
    if cmds.close {
        desk.close_ticket(tx, ticket, &d.sender.address, trigger)?;
    }
    Ok(comment)
}

/// The text stored for a reply from outside: the new part, or everything
/// when there is no new part (a bare forward, say).
fn outside_reply_text(mail: &InboundMail) -> String {
    let new = content::reply_text(&mail.text);
    if new.is_empty() {
        mail.text.clone()
    } else {
        new
    }
}

fn bounce_note(
    desk: &Desk,
    tx: &mut WriteTx<'_>,
    d: &Decision<'_>,
    id: TicketId,
) -> anyhow::Result<Disposition> {
    let mut ticket = desk.ticket(id)?;
    let summary: String = d.mail.text.lines().take(30).collect::<Vec<_>>().join("\n");
    let text = format!("Delivery problem reported ({}):\n\n{summary}", d.class.rule);
    let mut note = draft(d, AuthorRole::System, Visibility::Internal, text);
    note.html = None;
    let comment = desk.add_comment(tx, &mut ticket, note, &trigger(d))?;
    tx.put_ticket(&ticket)?;
    Ok(Disposition::Comment {
        ticket: id,
        seq: comment.seq,
    })
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

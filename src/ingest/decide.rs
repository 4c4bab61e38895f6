//! What a parsed message does: classified, its sender's role proven or
//! not, threaded to a ticket or not, then applied by kind (see the ingest
//! module doc) inside the caller's write.

use super::classify::{Classification, ClassifyContext, MailKind, classify};
use super::mail::InboundMail;
use super::staff_proof::{SenderRole, sender_role};
use super::threading::{ThreadLookup, ThreadMatch, find_thread};
use super::{Outcome, bounce, closed, commands, content, correlate, draft, record, ticket_draft};
use crate::domain::workflow::Workflow;
use crate::model::{
    AuthorRole, Disposition, Source, Status, Ticket, TicketId, Visibility, normalize_address,
};
use crate::notify::enqueue::Trigger;
use crate::store::WriteTx;
use chrono::Utc;

/// Everything decided about one message before it is stored.
pub(super) struct Decision<'m> {
    pub(super) mail: &'m InboundMail,
    pub(super) raw: &'m [u8],
    pub(super) class: Classification,
    pub(super) sender: SenderRole,
    pub(super) thread: Option<ThreadMatch>,
    pub(super) raw_key: String,
    /// Category when no rule gives one (depends on the source mailbox).
    pub(super) default_category: Option<String>,
    pub(super) max_attachment_bytes: u64,
}

impl Decision<'_> {
    pub(super) fn rule(&self) -> String {
        let mut rule = format!("{}; {}", self.class.rule, self.sender.rule());
        if let Some(t) = self.thread {
            rule.push_str("; ");
            rule.push_str(t.rule());
        }
        rule
    }

    /// The rule with what applying it added, e.g. the closed-ticket policy.
    pub(super) fn rule_with(&self, notes: &[String]) -> String {
        std::iter::once(self.rule())
            .chain(notes.iter().cloned())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// What applying a decision did, and notes for the recorded rule.
pub(super) struct Applied {
    pub(super) disposition: Disposition,
    pub(super) notes: Vec<String>,
}

impl Applied {
    pub(super) fn new(disposition: Disposition) -> Applied {
        Applied {
            disposition,
            notes: Vec::new(),
        }
    }

    pub(super) fn note(mut self, note: impl Into<String>) -> Applied {
        self.notes.push(note.into());
        self
    }

    pub(super) fn comment(ticket: TicketId, seq: u32) -> Applied {
        Applied::new(Disposition::Comment { ticket, seq })
    }

    pub(super) fn ignored(ticket: Option<TicketId>, reason: String) -> Applied {
        Applied::new(Disposition::Ignored { ticket, reason })
    }
}

/// Decides what a parsed message does and stores it, in `tx` (which has
/// no record of the message yet).
pub(super) fn decide_and_store(
    wf: &Workflow,
    tx: &mut dyn WriteTx,
    raw: &[u8],
    mail: &InboundMail,
    fingerprint: &str,
    source: Source,
) -> anyhow::Result<Outcome> {
    let class = classify(mail, ClassifyContext::new(&wf.config, &wf.key));
    let sender = sender_role(mail, &wf.config, &wf.key);
    let thread = find_thread(
        mail,
        &wf.key,
        &wf.config,
        sender.is_verified_staff(),
        &TxLookup(&*tx),
    );
    let decision = Decision {
        mail,
        raw,
        class,
        sender,
        thread,
        raw_key: fingerprint.to_string(),
        default_category: wf.config.default_category(&source),
        max_attachment_bytes: wf.config.inbound.max_attachment_bytes,
    };
    let applied = apply(wf, tx, &decision)?;
    let rule = decision.rule_with(&applied.notes);
    let disposition = applied.disposition;
    if let Some(id) = &mail.message_id
        && let Some(ticket) = disposition.ticket()
    {
        tx.index_message_id(id, ticket)?;
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
    Ok(Outcome {
        disposition,
        duplicate: false,
        rule,
    })
}

fn apply(wf: &Workflow, tx: &mut dyn WriteTx, d: &Decision<'_>) -> anyhow::Result<Applied> {
    let threaded = d.thread.map(ThreadMatch::ticket);
    match (d.class.kind, threaded) {
        (MailKind::OwnLoop | MailKind::AutoReply, ticket) => {
            Ok(Applied::ignored(ticket, d.class.rule.clone()))
        }
        (MailKind::Bounce, _) => bounce::handle(wf, tx, d),
        (MailKind::Human | MailKind::Automated, Some(id)) => reply(wf, tx, d, id),
        (MailKind::Automated, None) if !d.sender.is_verified_staff() => {
            match correlate::find(d.mail, &wf.config) {
                Some(found) => correlate::apply(wf, tx, d, found),
                None => new_ticket(wf, tx, d),
            }
        }
        (MailKind::Human | MailKind::Automated, None) => new_ticket(wf, tx, d),
    }
}

pub(super) fn trigger(d: &Decision<'_>) -> Trigger {
    Trigger {
        message_id: d.mail.message_id.clone(),
        declines_auto_replies: crate::ingest::classify::declines_auto_replies(d.mail),
    }
}

fn new_ticket(wf: &Workflow, tx: &mut dyn WriteTx, d: &Decision<'_>) -> anyhow::Result<Applied> {
    let draft = ticket_draft(wf, &*tx, d, d.rule())?;
    let ticket = wf.open_ticket(tx, draft, &trigger(d))?;
    Ok(Applied::new(Disposition::NewTicket { ticket: ticket.id }))
}

/// A reply to ticket `id`: a comment, from staff ([`staff_reply`]) or
/// from outside ([`outside_reply`]).
pub(super) fn reply(
    wf: &Workflow,
    tx: &mut dyn WriteTx,
    d: &Decision<'_>,
    id: TicketId,
) -> anyhow::Result<Applied> {
    let ticket = wf.ticket(&*tx, id)?;
    if d.sender.is_verified_staff() {
        staff_reply(wf, tx, d, ticket)
    } else {
        outside_reply(wf, tx, d, ticket)
    }
}

/// A customer's or an application's reply. On a closed ticket automated
/// mail leaves it closed and a customer reply follows the closed-ticket
/// policy ([`closed::decide`]).
fn outside_reply(
    wf: &Workflow,
    tx: &mut dyn WriteTx,
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
        match closed::decide(&ticket, d.mail, &wf.config.closed_tickets, Utc::now()) {
            closed::ClosedReply::Reopen(note) => {
                wf.reopen_ticket(tx, &mut ticket, &d.sender.address, &trigger)?;
                notes.push(note);
            }
            closed::ClosedReply::KeepClosed(note) => notes.push(note),
            closed::ClosedReply::FollowUp(why) => {
                return closed::follow_up(wf, tx, d, ticket, &why);
            }
        }
    }
    let text = outside_reply_text(d.mail);
    let comment = wf.add_comment(
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
    wf: &Workflow,
    tx: &mut dyn WriteTx,
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
    let comment = wf.add_comment(
        tx,
        &mut ticket,
        draft(d, AuthorRole::Staff, visibility, text),
        trigger,
    )?;
    if cmds.close {
        wf.close_ticket(tx, &mut ticket, &d.sender.address, trigger)?;
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
pub(super) fn outside_reply_text(mail: &InboundMail) -> String {
    let new = content::new_text(&mail.subject, &mail.text);
    if new.is_empty() {
        mail.text.clone()
    } else {
        new
    }
}

/// Thread lookups through the write (which sees earlier messages of the
/// same batch).
struct TxLookup<'a>(&'a dyn WriteTx);

impl ThreadLookup for TxLookup<'_> {
    fn ticket_for_message_id(&self, message_id: &str) -> Option<TicketId> {
        self.0.ticket_for_message_id(message_id).ok().flatten()
    }

    fn is_participant(&self, ticket: TicketId, address: &str) -> Option<bool> {
        let ticket = self.0.ticket(ticket).ok().flatten()?;
        let address = normalize_address(address);
        Some(ticket.requester == address || ticket.recipients.contains(&address))
    }
}

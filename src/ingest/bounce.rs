//! Bounces: a delivery status notification about our mail is tied to the
//! ticket and the recipient it bounced for, kept as an internal note, and
//! marks that recipient on that ticket (see
//! [`crate::model::RecipientDelivery`]): a hard bounce stops mail to the
//! address on the ticket, soft ones are counted until
//! `bounces.soft_bounce_limit`, a delay warning is only noted. A bounce
//! never opens or reopens a ticket and never alerts anyone.
//!
//! Which ticket and recipient, first match wins:
//! 1. the bounce was addressed to an outbox item's keyed envelope sender
//!    (VERP, `support+bN.K@`): the exact mail and recipient; the token is
//!    bound to the item, so it cannot be forged for another one;
//! 2. one of our Message-IDs (ticket token verified) in the returned
//!    original or in the bounce's own In-Reply-To/References; when it is
//!    an outbox item's, that item's recipient. The item number in a
//!    Message-ID is not keyed, so anyone holding one of our mails could
//!    name a neighbouring item; the damage is limited to that ticket,
//!    shown in its notes and history, and undone by `recipients reset`;
//! 3. the thread match of the bounce itself; the recipient is then the
//!    reported address, when it is one of the ticket's recipients.
//!
//! A bounce of a staff notification is noted but marks nobody; a bounce
//! that matches no ticket is stored as ignored.

use super::{Applied, Decision};
use crate::desk::Desk;
use crate::mail::dsn::{self, DeliveryReport, RecipientReport, ReportFormat, Severity};
use crate::model::{AuthorRole, BounceKind, DeliveryProblem, Ticket, Visibility};
use crate::outbox::OutboxItem;
use crate::store::WriteTx;

/// Lines of an unreadable bounce quoted in the note.
const UNREADABLE_EXCERPT_LINES: usize = 30;

/// The ticket (and, when known, the mail) a bounce is about.
struct Attribution {
    ticket: Ticket,
    item: Option<OutboxItem>,
    how: &'static str,
}

/// Whose mail bounced.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// One of the ticket's external recipients.
    External(String),
    /// A staff notification's recipient.
    Staff(String),
    /// No recipient of the ticket could be matched.
    Unknown,
}

/// What the report says about the bounced mail's recipient.
struct Finding<'r> {
    target: Target,
    block: Option<&'r RecipientReport>,
    severity: Severity,
}

impl Finding<'_> {
    fn rule_note(&self) -> String {
        let severity = severity_name(self.severity);
        match &self.target {
            Target::External(a) => format!("bounce:{a}:{severity}"),
            Target::Staff(a) => format!("bounce:staff {a}:{severity}"),
            Target::Unknown => format!("bounce:recipient unknown:{severity}"),
        }
    }
}

/// Handles a message classified as a bounce.
pub(super) fn handle(
    desk: &Desk,
    tx: &mut WriteTx<'_>,
    d: &Decision<'_>,
) -> anyhow::Result<Applied> {
    let report = dsn::parse(d.raw).unwrap_or_else(empty_report);
    let Some(Attribution {
        mut ticket,
        item,
        how,
    }) = attribute(desk, d, &report)?
    else {
        return Ok(ignored(d, None, "bounce:not attributable to a ticket"));
    };
    let finding = finding(&ticket, item.as_ref(), &report);
    if finding.severity == Severity::Delivered {
        return Ok(ignored(d, Some(ticket.id), "bounce:reports delivery"));
    }
    let marked = mark(desk, tx, &mut ticket, &finding, item.as_ref(), d)?;
    let note = Note {
        ticket: &ticket,
        item: item.as_ref(),
        how,
        finding: &finding,
        report: &report,
        marked,
    };
    let mut draft = super::draft(d, AuthorRole::System, Visibility::Internal, note.text(d));
    draft.html = None;
    let comment = desk.add_comment(tx, &mut ticket, draft, &super::trigger(d))?;
    tx.put_ticket(&ticket)?;
    Ok(Applied::comment(ticket.id, comment.seq)
        .note(format!("bounce-attributed-by:{how}"))
        .note(finding.rule_note()))
}

fn ignored(d: &Decision<'_>, ticket: Option<crate::model::TicketId>, note: &str) -> Applied {
    Applied::ignored(ticket, format!("{}; {note}", d.class.rule)).note(note)
}

fn empty_report() -> DeliveryReport {
    DeliveryReport {
        format: ReportFormat::PlainText,
        reporting_mta: None,
        recipients: Vec::new(),
        original_ids: Vec::new(),
        returned: None,
    }
}

/// Finds the ticket and outbox item a bounce is about (see module docs).
fn attribute(
    desk: &Desk,
    d: &Decision<'_>,
    report: &DeliveryReport,
) -> anyhow::Result<Option<Attribution>> {
    let found = |item: Option<OutboxItem>, id, how| -> anyhow::Result<Option<Attribution>> {
        Ok(desk
            .store
            .ticket(id)?
            .map(|ticket| Attribution { ticket, item, how }))
    };
    if let Some(item) = verp_item(desk, d)? {
        return found(Some(item.clone()), item.ticket, "bounce-address");
    }
    let ids = report.referenced_ids().chain(d.mail.referenced_ids());
    for id in ids {
        if let Some((ticket, item_id)) = desk.key.outbox_item_of_message_id(id) {
            let item = desk
                .store
                .outbox_item(item_id)?
                .filter(|i| i.ticket == ticket && i.message_id.eq_ignore_ascii_case(id));
            return found(item, ticket, "our-message-id");
        }
    }
    match d.thread {
        Some(thread) => found(None, thread.ticket(), thread.rule()),
        None => Ok(None),
    }
}

/// The outbox item whose keyed envelope sender the bounce was sent to.
fn verp_item(desk: &Desk, d: &Decision<'_>) -> anyhow::Result<Option<OutboxItem>> {
    let config = &desk.config;
    let bases = std::iter::once(config.reply_base_address())
        .chain(config.support_addresses.iter().map(String::as_str));
    for base in bases {
        for address in d.mail.all_recipients() {
            if let Some(item) = desk.key.verify_bounce_address(address, base) {
                return desk.store.outbox_item(item);
            }
        }
    }
    Ok(None)
}

fn finding<'r>(
    ticket: &Ticket,
    item: Option<&OutboxItem>,
    report: &'r DeliveryReport,
) -> Finding<'r> {
    let target = target(ticket, item, report);
    let block = match &target {
        Target::External(a) | Target::Staff(a) => report.recipient_for(a),
        Target::Unknown => report.worst(),
    };
    Finding {
        severity: block.map_or(Severity::Unknown, RecipientReport::severity),
        target,
        block,
    }
}

fn target(ticket: &Ticket, item: Option<&OutboxItem>, report: &DeliveryReport) -> Target {
    match item {
        Some(i) if i.to_staff => Target::Staff(i.recipient.clone()),
        Some(i) => Target::External(i.recipient.clone()),
        None => report
            .recipients
            .iter()
            .filter_map(RecipientReport::address)
            .chain(
                report
                    .recipients
                    .iter()
                    .filter_map(|r| r.final_recipient.as_deref()),
            )
            .find(|a| ticket.requester == *a || ticket.recipients.contains(*a))
            .map_or(Target::Unknown, |a| Target::External(a.to_string())),
    }
}

/// What marking the recipient did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marked {
    /// Mail to the address stopped with this bounce.
    Stopped,
    /// It had stopped before.
    AlreadyStopped,
    /// Counted (soft) or noted (delayed); mail continues.
    Counted,
    /// Nothing recorded (staff, unknown recipient or unreadable report).
    Nothing,
}

fn mark(
    desk: &Desk,
    tx: &mut WriteTx<'_>,
    ticket: &mut Ticket,
    finding: &Finding<'_>,
    item: Option<&OutboxItem>,
    d: &Decision<'_>,
) -> anyhow::Result<Marked> {
    let (Target::External(address), Some(kind)) = (&finding.target, bounce_kind(finding.severity))
    else {
        return Ok(Marked::Nothing);
    };
    let already = ticket.delivery.get(address).is_some_and(|r| r.is_failing());
    let block = finding.block;
    let problem = DeliveryProblem {
        at: chrono::Utc::now(),
        kind,
        status: block.and_then(|b| b.status).map(|s| s.to_string()),
        diagnostic: block.and_then(|b| b.diagnostic.clone()),
        outbox_item: item.map(|i| i.id),
    };
    let actor = d.mail.from.as_deref().unwrap_or("mailer-daemon");
    let stopped = desk.record_delivery_problem(tx, ticket, address, problem, actor)?;
    Ok(match (stopped, already) {
        (true, _) => Marked::Stopped,
        (false, true) => Marked::AlreadyStopped,
        (false, false) => Marked::Counted,
    })
}

fn bounce_kind(severity: Severity) -> Option<BounceKind> {
    match severity {
        Severity::Hard => Some(BounceKind::Hard),
        Severity::Soft => Some(BounceKind::Soft),
        Severity::Delayed => Some(BounceKind::Delayed),
        Severity::Delivered | Severity::Unknown => None,
    }
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Hard => "hard",
        Severity::Soft => "soft",
        Severity::Delayed => "delayed",
        Severity::Delivered => "delivered",
        Severity::Unknown => "unreadable",
    }
}

/// The internal note: who, how bad, what the server said, which mail,
/// and what ticketd does about it.
struct Note<'a> {
    ticket: &'a Ticket,
    item: Option<&'a OutboxItem>,
    how: &'static str,
    finding: &'a Finding<'a>,
    report: &'a DeliveryReport,
    marked: Marked,
}

impl Note<'_> {
    fn text(&self, d: &Decision<'_>) -> String {
        let mut lines = vec![self.headline()];
        let block = self.finding.block;
        if let Some(diagnostic) = block.and_then(|b| b.diagnostic.as_deref()) {
            lines.push(format!("Server said: {diagnostic}"));
        }
        if let Some(item) = self.item {
            let kind = item.kind.event_name();
            lines.push(format!(
                "Bounced mail: alert {} ({kind}) to {}",
                item.id, item.recipient
            ));
        }
        if let Some(mta) = &self.report.reporting_mta {
            lines.push(format!("Reported by: {mta}"));
        }
        lines.push(format!(
            "Tied to this ticket by: {}; classified as {}",
            self.how, d.class.rule
        ));
        lines.push(self.result());
        if self.finding.severity == Severity::Unknown {
            let excerpt: Vec<&str> = d.mail.text.lines().take(UNREADABLE_EXCERPT_LINES).collect();
            lines.push(String::new());
            lines.push(excerpt.join("\n"));
        }
        lines.join("\n")
    }

    fn headline(&self) -> String {
        let block = self.finding.block;
        let who = match &self.finding.target {
            Target::External(a) | Target::Staff(a) => a.as_str(),
            Target::Unknown => block.and_then(RecipientReport::address).unwrap_or("?"),
        };
        let status = block
            .and_then(|b| b.status)
            .map(|s| format!(", {s}"))
            .unwrap_or_default();
        match self.finding.severity {
            Severity::Hard => {
                format!("Bounce: mail to {who} failed permanently (hard bounce{status}).")
            }
            Severity::Soft => format!("Bounce: mail to {who} failed (soft bounce{status})."),
            Severity::Delayed => {
                format!("Bounce: mail to {who} is delayed (still being retried{status}).")
            }
            _ => format!(
                "Bounce: a delivery problem was reported for {who}, but the report could not be read."
            ),
        }
    }

    fn result(&self) -> String {
        let id = self.ticket.id;
        let reset = |a: &str| format!("`ticketd recipients reset {id} {a}` resumes it");
        match (&self.finding.target, self.marked) {
            (Target::External(a), Marked::Stopped) => {
                format!("Mail to {a} on this ticket is stopped; {}.", reset(a))
            }
            (Target::External(a), Marked::AlreadyStopped) => {
                format!(
                    "Mail to {a} on this ticket was already stopped; {}.",
                    reset(a)
                )
            }
            (Target::External(a), Marked::Counted) if self.finding.severity == Severity::Soft => {
                let count = self.ticket.delivery.get(a).map_or(0, |r| r.soft_bounces);
                format!(
                    "Soft bounce {count} for {a} on this ticket; mail continues until bounces.soft_bounce_limit."
                )
            }
            (Target::External(_), Marked::Counted) => {
                "Noted only; the remote server keeps trying.".to_string()
            }
            (Target::Staff(a), _) => format!(
                "{a} gets staff notifications: check staff.addresses and alerts.staff_recipients."
            ),
            _ => "No recipient was marked.".to_string(),
        }
    }
}

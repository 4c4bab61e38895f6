//! Bounces: a delivery status notification about our mail is tied to the
//! mail it bounced, kept as an internal note, and marks that mail's
//! recipient on its ticket (see [`crate::model::RecipientDelivery`]): a
//! hard bounce stops mail to the address on the ticket, soft ones are
//! counted until `bounces.soft_bounce_limit`, a delay warning is only
//! noted. A bounce never opens or reopens a ticket and never alerts anyone.
//!
//! A bounce counts only when it is tied to one outbox item by proof a
//! stranger cannot forge, first match wins:
//! 1. it was addressed to the item's keyed envelope sender (VERP,
//!    `support+bN.K@`);
//! 2. it names one of our Message-IDs whose item token verifies
//!    (`tT.K.N.J@`, see [`crate::model::token`]), in the returned original or in
//!    its own In-Reply-To/References.
//!
//! A subject tag, a From address or any other thread match is not proof:
//! such a bounce is stored as ignored, related to the ticket, and marks
//! nobody.
//!
//! The failed address comes from the report (Final-Recipient,
//! Original-Recipient, X-Failed-Recipients) and must be the item's
//! recipient. A report that names other addresses, or none, marks nobody;
//! the note says what the report named and where the mail went. A bounce
//! of a staff notification is noted but marks nobody.

use super::{Applied, Decision};
use crate::domain::workflow::Workflow;
use crate::ingest::mail::dsn::{self, DeliveryReport, RecipientReport, ReportFormat, Severity};
use crate::model::outbox::OutboxItem;
use crate::model::{AuthorRole, BounceKind, DeliveryProblem, Ticket, Visibility};
use crate::store::WriteTx;

/// Lines of an unreadable bounce quoted in the note.
const UNREADABLE_EXCERPT_LINES: usize = 30;

/// The ticket and the mail a bounce is about.
struct Attribution {
    ticket: Ticket,
    item: OutboxItem,
    how: &'static str,
}

/// Whose mail bounced, as far as the report shows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// The item's outside recipient, named by the report.
    External(String),
    /// A staff notification's recipient.
    Staff(String),
    /// The report names other addresses than the item's recipient.
    Disagrees {
        /// What the report names.
        named: Vec<String>,
    },
    /// The report names no failed address.
    Unnamed,
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
            Target::Disagrees { named } => {
                format!("bounce:disagrees:names {}:{severity}", named.join(","))
            }
            Target::Unnamed => format!("bounce:names no address:{severity}"),
        }
    }
}

/// Handles a message classified as a bounce.
pub(super) fn handle(
    wf: &Workflow,
    tx: &mut dyn WriteTx,
    d: &Decision<'_>,
) -> anyhow::Result<Applied> {
    let report = dsn::parse(d.raw).unwrap_or_else(empty_report);
    let Some(Attribution {
        mut ticket,
        item,
        how,
    }) = attribute(wf, &*tx, d, &report)?
    else {
        return Ok(unattributed(d));
    };
    let finding = finding(&item, &report);
    if finding.severity == Severity::Delivered {
        return Ok(ignored(d, Some(ticket.id), "bounce:reports delivery"));
    }
    let marked = mark(wf, tx, &mut ticket, &finding, &item, d)?;
    let note = Note {
        ticket: &ticket,
        item: &item,
        how,
        finding: &finding,
        report: &report,
        marked,
    };
    let mut draft = super::draft(d, AuthorRole::System, Visibility::Internal, note.text(d));
    draft.html = None;
    let comment = wf.add_comment(tx, &mut ticket, draft, &super::decide::trigger(d))?;
    tx.put_ticket(&ticket)?;
    Ok(Applied::comment(ticket.id, comment.seq)
        .note(format!("bounce-attributed-by:{how}"))
        .note(finding.rule_note()))
}

fn ignored(d: &Decision<'_>, ticket: Option<crate::model::TicketId>, note: &str) -> Applied {
    Applied::ignored(ticket, format!("{}; {note}", d.class.rule)).note(note)
}

/// A bounce with no proof of which mail it is about: ignored, related to
/// the ticket its thread names (if any), marking nobody.
fn unattributed(d: &Decision<'_>) -> Applied {
    match d.thread {
        Some(thread) => ignored(
            d,
            Some(thread.ticket()),
            "bounce:not tied to our mail (no keyed bounce address or Message-ID); nobody marked",
        ),
        None => ignored(d, None, "bounce:not attributable to a ticket"),
    }
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

/// Finds the outbox item a bounce is about, by proof only (see the
/// module doc), and its ticket.
fn attribute(
    wf: &Workflow,
    tx: &dyn WriteTx,
    d: &Decision<'_>,
    report: &DeliveryReport,
) -> anyhow::Result<Option<Attribution>> {
    let found = |item: OutboxItem, how| -> anyhow::Result<Option<Attribution>> {
        Ok(tx
            .ticket(item.ticket)?
            .map(|ticket| Attribution { ticket, item, how }))
    };
    if let Some(item) = verp_item(wf, tx, d)? {
        return found(item, "bounce-address");
    }
    for id in report.referenced_ids().chain(d.mail.referenced_ids()) {
        let Some((ticket, item_id)) = wf.key.outbox_item_of_message_id(id) else {
            continue;
        };
        let item = tx
            .outbox_record(item_id)?
            .filter(|i| i.ticket == ticket && i.message_id.eq_ignore_ascii_case(id));
        if let Some(item) = item {
            return found(item, "our-message-id");
        }
    }
    Ok(None)
}

/// The outbox item whose keyed envelope sender the bounce was sent to.
fn verp_item(
    wf: &Workflow,
    tx: &dyn WriteTx,
    d: &Decision<'_>,
) -> anyhow::Result<Option<OutboxItem>> {
    let config = &wf.config;
    let bases = std::iter::once(config.reply_base_address())
        .chain(config.support_addresses.iter().map(String::as_str));
    for base in bases {
        for address in d.mail.all_recipients() {
            if let Some(item) = wf.key.verify_bounce_address(address, base) {
                return tx.outbox_record(item);
            }
        }
    }
    Ok(None)
}

fn finding<'r>(item: &OutboxItem, report: &'r DeliveryReport) -> Finding<'r> {
    let block = report.recipients.iter().find(|r| r.is_for(&item.recipient));
    let named: Vec<String> = report
        .recipients
        .iter()
        .filter_map(|r| r.address())
        .map(str::to_string)
        .collect();
    let target = match (item.to_staff, block, named.is_empty()) {
        (true, _, _) => Target::Staff(item.recipient.clone()),
        (false, Some(_), _) => Target::External(item.recipient.clone()),
        (false, None, false) => Target::Disagrees { named },
        (false, None, true) => Target::Unnamed,
    };
    let block = block.or_else(|| report.worst());
    Finding {
        severity: block.map_or(Severity::Unknown, RecipientReport::severity),
        target,
        block,
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
    /// Nothing recorded (staff, a report that names another address or
    /// none, or an unreadable report).
    Nothing,
}

fn mark(
    wf: &Workflow,
    tx: &mut dyn WriteTx,
    ticket: &mut Ticket,
    finding: &Finding<'_>,
    item: &OutboxItem,
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
        outbox_item: Some(item.id),
    };
    let actor = d.mail.from.as_deref().unwrap_or("mailer-daemon");
    let stopped = wf.record_delivery_problem(tx, ticket, address, problem, actor)?;
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
    item: &'a OutboxItem,
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
        let item = self.item;
        let kind = item.kind.event_name();
        lines.push(format!(
            "Bounced mail: alert {} ({kind}) to {}",
            item.id, item.recipient
        ));
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
            Target::Disagrees { .. } | Target::Unnamed => {
                block.and_then(RecipientReport::address).unwrap_or("?")
            }
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
            (Target::Disagrees { named }, _) => format!(
                "The report names {}, but this mail went to {}; nobody was marked.",
                named.join(", "),
                self.item.recipient
            ),
            (Target::Unnamed, _) => format!(
                "The report names no failed address (this mail went to {}); nobody was marked.",
                self.item.recipient
            ),
            _ => "No recipient was marked.".to_string(),
        }
    }
}

//! Events -> rules -> actions: decides what follows from something that
//! happened to a ticket. Pure: the caller applies the actions (today: queue
//! alerts) in the same store write as the event.
//!
//! Each rule is a named function of the event; [`evaluate`] runs them all
//! and tags every action with the rule that produced it, which the outbox
//! records. New behaviour (assignment by category or area, SLA timers,
//! follow-up mail after closing) is a new rule and, where needed, a new
//! [`Action`] variant; the event flow stays as it is.
//!
//! The default rules follow RangerMSP's "Alerts to Customers", done better:
//! - a customer opens a ticket by mail: one acknowledgement to the requester
//!   (and Cc'd recipients when `alerts.acknowledge_cc`), no "new ticket" alert;
//! - staff or the API open a ticket: a "new ticket" alert to every external
//!   recipient;
//! - automated mail opens a ticket: no customer alert;
//! - a ticket is closed: a "ticket closed" alert to every external recipient,
//!   except on automated tickets;
//! - staff write a public comment: relayed to the external recipients;
//!   internal notes go to nobody outside;
//! - a customer replies: nothing back to them.
//!
//! Staff notifications are opt-in per event (`alerts.notify_staff`). The
//! actor of an event is never alerted about their own action. A customer
//! comment that leaves a ticket closed (a "thank you", see
//! [`crate::config::ClosedTicketsConfig`]) notifies nobody. Mail from a
//! staff address that is not proven to come from staff gets a staff
//! warning instead, always, to `alerts.staff_recipients` and the address
//! it claimed (whose owner learns that their address is being used).
//!
//! Hostile fan-out: on a ticket whose recipients wait for confirmation (a
//! new sender's first mail naming more than `alerts.new_sender_max_cc`
//! others) only the requester is alerted; the others are held
//! (`recipients-unconfirmed`) until staff confirm them or reply publicly.
//! At most `alerts.max_fanout` outside recipients are alerted about one
//! event, the requester first; the rest are held (`fan-out-cap`).
//!
//! Bounces: an address whose mail bounced hard (or too often softly) on
//! this ticket is not mailed again on it: every alert to it becomes an
//! [`Action::Hold`], stored as a suppressed outbox item naming the bounce,
//! until staff reset the address (`ticketd recipients reset`).

use serde::{Deserialize, Serialize};

use crate::config::{Config, StaffEvent};
use crate::model::{
    AuthorRole, Comment, EventKind, Origin, Status, Ticket, TicketEvent, Visibility,
    normalize_address,
};

/// The kinds of outgoing mail; each maps to a template event name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// "We got your message" to a customer who opened a ticket.
    Acknowledgement,
    /// "A ticket was opened for you" (opened by staff or the API).
    NewTicket,
    /// "Your ticket was closed".
    TicketClosed,
    /// A staff member's public reply, relayed.
    PublicReply,
    /// Heads-up to staff.
    StaffNotification,
    /// Warning to staff: mail from a staff address came without proof.
    StaffWarning,
}

impl AlertKind {
    /// Event name used in `[templates.events]` and template folder defaults.
    pub fn event_name(self) -> &'static str {
        match self {
            AlertKind::Acknowledgement => "acknowledgement",
            AlertKind::NewTicket => "new_ticket",
            AlertKind::TicketClosed => "ticket_closed",
            AlertKind::PublicReply => "public_reply",
            AlertKind::StaffNotification => "staff_notification",
            AlertKind::StaffWarning => "staff_warning",
        }
    }

    /// Whether ticketd sends it on its own (rate limited; marked
    /// Auto-Submitted). A relayed staff reply is a person's message.
    pub fn is_automatic(self) -> bool {
        self != AlertKind::PublicReply
    }

    /// Value of the `Auto-Submitted` header (RFC 3834), if any.
    pub fn auto_submitted(self) -> Option<&'static str> {
        match self {
            AlertKind::Acknowledgement => Some("auto-replied"),
            AlertKind::PublicReply => None,
            _ => Some("auto-generated"),
        }
    }
}

/// What a rule sees: the event, the ticket after it, and the comment the
/// event is about (if any).
#[derive(Debug, Clone, Copy)]
pub struct EventContext<'a> {
    /// The ticket, as changed by the event.
    pub ticket: &'a Ticket,
    /// The event.
    pub event: &'a TicketEvent,
    /// The comment of a `Created` or `Commented` event.
    pub comment: Option<&'a Comment>,
    /// Configuration.
    pub config: &'a Config,
}

/// What a rule asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Queue an alert.
    Notify(AlertIntent),
    /// Record an alert that is not sent, and why (its one recipient's mail
    /// bounced on this ticket).
    Hold {
        /// The alert, with the one held-back recipient.
        intent: AlertIntent,
        /// Why it is held back.
        reason: String,
    },
}

/// One alert to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertIntent {
    /// What to send.
    pub kind: AlertKind,
    /// To whom (normalized, de-duplicated, never empty).
    pub recipients: Vec<String>,
    /// Whether the recipients are staff.
    pub to_staff: bool,
    /// The rule that asked for it.
    pub rule: &'static str,
}

type Rule = fn(&EventContext<'_>) -> Option<(AlertKind, Vec<String>, bool)>;

/// The rules, in the order they run.
const RULES: [(&str, Rule); 6] = [
    ("acknowledge-customer", acknowledge_customer),
    ("announce-new-ticket", announce_new_ticket),
    ("announce-closure", announce_closure),
    ("relay-public-reply", relay_public_reply),
    ("notify-staff", notify_staff),
    ("warn-unproven-staff", warn_unproven_staff),
];

/// Runs every rule on an event, then holds back what must not go out
/// (see the module doc): each outside recipient is held for the first
/// reason that applies, else notified while the event's fan-out lasts.
pub fn evaluate(ctx: &EventContext<'_>) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut fanout = 0;
    for (name, rule) in RULES.iter() {
        if let Some((kind, recipients, to_staff)) = rule(ctx) {
            let intent = AlertIntent {
                kind,
                recipients,
                to_staff,
                rule: name,
            };
            actions.extend(hold_back(ctx, intent, &mut fanout));
        }
    }
    actions
}

/// Splits an intent: outside recipients that must not be mailed are held
/// back one by one, with the reason; the rest are notified. Staff alerts
/// are never held.
fn hold_back(ctx: &EventContext<'_>, mut intent: AlertIntent, fanout: &mut usize) -> Vec<Action> {
    let mut actions = Vec::new();
    if !intent.to_staff {
        let mut kept = Vec::new();
        for recipient in std::mem::take(&mut intent.recipients) {
            match hold_reason(ctx, &recipient, *fanout) {
                Some(reason) => actions.push(Action::Hold {
                    intent: AlertIntent {
                        recipients: vec![recipient],
                        ..intent.clone()
                    },
                    reason,
                }),
                None => {
                    *fanout += 1;
                    kept.push(recipient);
                }
            }
        }
        intent.recipients = kept;
    }
    if !intent.recipients.is_empty() {
        actions.insert(0, Action::Notify(intent));
    }
    actions
}

/// Why an alert to outside `address` is held back, if it is; `fanout` is
/// the number of outside recipients this event alerts so far.
fn hold_reason(ctx: &EventContext<'_>, address: &str, fanout: usize) -> Option<String> {
    let ticket = ctx.ticket;
    if let Some(reason) = failing_reason(ticket, address) {
        return Some(reason);
    }
    if ticket.recipients_unconfirmed && address != ticket.requester {
        return Some(format!(
            "recipients-unconfirmed: the first mail of a new sender named more than alerts.new_sender_max_cc ({}) other recipients; `ticketd recipients confirm {}` lets alerts reach them",
            ctx.config.alerts.new_sender_max_cc, ticket.id
        ));
    }
    let max = ctx.config.alerts.max_fanout;
    (fanout >= max).then(|| {
        format!(
            "fan-out-cap: one event may alert at most alerts.max_fanout ({max}) outside recipients; `ticketd outbox retry ITEM` sends this one"
        )
    })
}

/// Why mail to `address` is stopped on `ticket`, if it is.
pub fn failing_reason(ticket: &Ticket, address: &str) -> Option<String> {
    let problem = ticket.delivery.get(address)?.failing.as_ref()?;
    Some(format!(
        "recipient-failing: {problem}; `ticketd recipients reset {} {address}` resumes mail",
        ticket.id
    ))
}

/// A customer opened a ticket by mail: acknowledge the requester (and the
/// Cc'd recipients with `alerts.acknowledge_cc`).
fn acknowledge_customer(ctx: &EventContext<'_>) -> Option<(AlertKind, Vec<String>, bool)> {
    if ctx.event.kind != EventKind::Created || ctx.ticket.origin != Origin::CustomerEmail {
        return None;
    }
    let mut recipients = vec![normalize_address(&ctx.ticket.requester)];
    if ctx.config.alerts.acknowledge_cc {
        recipients.extend(external_recipients(ctx.ticket, ctx.config, &[]));
    }
    let recipients = dedup(recipients)
        .into_iter()
        .filter(|r| is_external(r, ctx.config))
        .collect();
    Some((AlertKind::Acknowledgement, recipients, false))
}

/// Staff or the API opened a ticket: tell every external recipient.
fn announce_new_ticket(ctx: &EventContext<'_>) -> Option<(AlertKind, Vec<String>, bool)> {
    let by_staff = matches!(ctx.ticket.origin, Origin::Staff | Origin::Api);
    (ctx.event.kind == EventKind::Created && by_staff).then(|| {
        let recipients = external_recipients(ctx.ticket, ctx.config, &[&ctx.event.actor]);
        (AlertKind::NewTicket, recipients, false)
    })
}

/// A ticket was closed: tell every external recipient, unless automated
/// mail opened it.
fn announce_closure(ctx: &EventContext<'_>) -> Option<(AlertKind, Vec<String>, bool)> {
    let automated = ctx.ticket.origin == Origin::AutomatedEmail;
    (ctx.event.kind == EventKind::Closed && !automated).then(|| {
        let recipients = external_recipients(ctx.ticket, ctx.config, &[&ctx.event.actor]);
        (AlertKind::TicketClosed, recipients, false)
    })
}

/// Staff wrote a public comment: relay it to the external recipients.
fn relay_public_reply(ctx: &EventContext<'_>) -> Option<(AlertKind, Vec<String>, bool)> {
    let comment = commented(ctx)?;
    (comment.role == AuthorRole::Staff && comment.visibility == Visibility::Public).then(|| {
        let recipients = external_recipients(ctx.ticket, ctx.config, &[&comment.author]);
        (AlertKind::PublicReply, recipients, false)
    })
}

/// Tell staff about the events named in `alerts.notify_staff`. Only
/// customers and applications cause these events, so nobody is left out
/// as the actor: a staff address as the actor means unproven mail, which
/// gets the staff warning instead ([`warn_unproven_staff`]), not both.
fn notify_staff(ctx: &EventContext<'_>) -> Option<(AlertKind, Vec<String>, bool)> {
    if ctx.comment.is_some_and(|c| c.unproven_staff) {
        return None;
    }
    let event = match (&ctx.event.kind, ctx.ticket.origin) {
        (EventKind::Created, Origin::CustomerEmail) => StaffEvent::NewTicket,
        (EventKind::Created, Origin::AutomatedEmail) => StaffEvent::AutomatedTicket,
        (EventKind::Commented { .. }, _)
            if commented(ctx)?.role == AuthorRole::Customer
                && ctx.ticket.status == Status::Open =>
        {
            StaffEvent::CustomerReply
        }
        _ => return None,
    };
    if !ctx.config.alerts.notify_staff.contains(&event) {
        return None;
    }
    let recipients = ctx.config.alerts.staff_recipients.clone();
    Some((AlertKind::StaffNotification, recipients, true))
}

/// Mail from a staff address came without proof: warn staff and the
/// address it claimed, whatever `alerts.notify_staff` says.
fn warn_unproven_staff(ctx: &EventContext<'_>) -> Option<(AlertKind, Vec<String>, bool)> {
    let EventKind::UnprovenStaffClaim { address, .. } = &ctx.event.kind else {
        return None;
    };
    let mut recipients = ctx.config.alerts.staff_recipients.clone();
    if ctx.config.staff.is_staff_address(address) && crate::model::is_deliverable_address(address) {
        recipients.push(address.clone());
    }
    Some((AlertKind::StaffWarning, dedup(recipients), true))
}

/// The comment of a `Commented` event.
fn commented<'a>(ctx: &EventContext<'a>) -> Option<&'a Comment> {
    matches!(ctx.event.kind, EventKind::Commented { .. })
        .then_some(ctx.comment)
        .flatten()
}

/// Whether an address is a deliverable address outside the organisation
/// (not support, not staff).
pub fn is_external(address: &str, config: &Config) -> bool {
    crate::model::is_deliverable_address(address)
        && !config.is_support_address(address)
        && !config.staff.is_staff_address(address)
}

/// The ticket's external recipients minus the given actors, the
/// requester first (so a fan-out cap never leaves the requester out).
pub fn external_recipients(ticket: &Ticket, config: &Config, except: &[&str]) -> Vec<String> {
    let except: Vec<String> = except.iter().map(|a| normalize_address(a)).collect();
    let requester = ticket.recipients.get(&ticket.requester);
    requester
        .into_iter()
        .chain(ticket.recipients.iter().filter(|r| **r != ticket.requester))
        .filter(|r| is_external(r, config) && !except.contains(r))
        .cloned()
        .collect()
}

fn dedup(mut list: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    list.retain(|a| seen.insert(a.clone()));
    list
}

#[cfg(test)]
mod tests;

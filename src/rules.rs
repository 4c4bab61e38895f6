//! Events -> rules -> alerts: decides who is told what when something
//! happens to a ticket. Pure: the caller queues the returned intents in the
//! same store write as the event.
//!
//! The defaults follow RangerMSP's "Alerts to Customers", done better:
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
//! actor of an event is never alerted about their own action.

use serde::{Deserialize, Serialize};

use crate::config::{Config, StaffEvent};
use crate::model::{AuthorRole, Comment, Origin, Ticket, Visibility, normalize_address};

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

/// Something that happened to a ticket.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A ticket was opened; `opening` is its first comment.
    TicketCreated {
        /// The opening comment.
        opening: &'a Comment,
    },
    /// A comment was added to an existing ticket.
    CommentAdded {
        /// The comment.
        comment: &'a Comment,
    },
    /// The ticket was closed by `actor`.
    TicketClosed {
        /// Who closed it.
        actor: &'a str,
    },
    /// The ticket was reopened.
    TicketReopened,
}

/// One alert to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertIntent {
    /// What to send.
    pub kind: AlertKind,
    /// To whom (normalized, de-duplicated).
    pub recipients: Vec<String>,
    /// Whether the recipients are staff.
    pub to_staff: bool,
}

/// The alerts an event on `ticket` causes.
pub fn alerts_for(event: Event<'_>, ticket: &Ticket, config: &Config) -> Vec<AlertIntent> {
    let mut intents = Vec::new();
    match event {
        Event::TicketCreated { opening } => created(ticket, opening, config, &mut intents),
        Event::CommentAdded { comment } => commented(ticket, comment, config, &mut intents),
        Event::TicketClosed { actor } => {
            if ticket.origin != Origin::AutomatedEmail {
                push_external(
                    &mut intents,
                    AlertKind::TicketClosed,
                    external_recipients(ticket, config, &[actor]),
                );
            }
        }
        Event::TicketReopened => {}
    }
    intents
}

fn created(ticket: &Ticket, opening: &Comment, config: &Config, out: &mut Vec<AlertIntent>) {
    let actor = opening.author.as_str();
    match ticket.origin {
        Origin::CustomerEmail => {
            let recipients = if config.alerts.acknowledge_cc {
                let mut all = vec![normalize_address(&ticket.requester)];
                all.extend(external_recipients(ticket, config, &[]));
                dedup(all)
            } else {
                vec![normalize_address(&ticket.requester)]
            };
            let recipients = recipients
                .into_iter()
                .filter(|r| is_external(r, config))
                .collect();
            push_external(out, AlertKind::Acknowledgement, recipients);
            push_staff(out, config, StaffEvent::NewTicket, actor);
        }
        Origin::Staff | Origin::Api => {
            push_external(
                out,
                AlertKind::NewTicket,
                external_recipients(ticket, config, &[actor]),
            );
        }
        Origin::AutomatedEmail => push_staff(out, config, StaffEvent::AutomatedTicket, actor),
    }
}

fn commented(ticket: &Ticket, comment: &Comment, config: &Config, out: &mut Vec<AlertIntent>) {
    match (comment.role, comment.visibility) {
        (AuthorRole::Staff, Visibility::Public) => {
            let recipients = external_recipients(ticket, config, &[&comment.author]);
            push_external(out, AlertKind::PublicReply, recipients);
        }
        (AuthorRole::Customer, _) => {
            push_staff(out, config, StaffEvent::CustomerReply, &comment.author)
        }
        _ => {}
    }
}

fn push_external(out: &mut Vec<AlertIntent>, kind: AlertKind, recipients: Vec<String>) {
    if !recipients.is_empty() {
        out.push(AlertIntent {
            kind,
            recipients,
            to_staff: false,
        });
    }
}

fn push_staff(out: &mut Vec<AlertIntent>, config: &Config, event: StaffEvent, actor: &str) {
    if !config.alerts.notify_staff.contains(&event) {
        return;
    }
    let actor = normalize_address(actor);
    let recipients: Vec<String> = config
        .alerts
        .staff_recipients
        .iter()
        .filter(|r| **r != actor)
        .cloned()
        .collect();
    if !recipients.is_empty() {
        out.push(AlertIntent {
            kind: AlertKind::StaffNotification,
            recipients,
            to_staff: true,
        });
    }
}

/// Whether an address is a deliverable address outside the organisation
/// (not support, not staff).
pub fn is_external(address: &str, config: &Config) -> bool {
    address.contains('@')
        && !config.is_support_address(address)
        && !config.staff.is_staff_address(address)
}

/// The ticket's external recipients minus the given actors.
pub fn external_recipients(ticket: &Ticket, config: &Config, except: &[&str]) -> Vec<String> {
    let except: Vec<String> = except.iter().map(|a| normalize_address(a)).collect();
    ticket
        .recipients
        .iter()
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

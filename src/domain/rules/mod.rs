//! Events -> rules -> actions: decides what follows from something that
//! happened to a ticket. Pure: the caller applies the actions in the same
//! store write as the event (today: alerts queued in the outbox).
//!
//! Rules are data ([`Rule`]): a name, conditions on the event, the ticket
//! and its comment ([`Condition`]), and what to do ([`ActionSpec`]). An
//! alert is a named kind (its template, `[templates.events]`), a
//! [`SendMode`] and a [`Recipients`] set. The desk's rules are built from
//! the configuration ([`RuleSet::from_config`], see [`defaults`]); a new
//! kind of action (assign, set a field, schedule a timer) is a new
//! [`ActionSpec`] and [`Action`] variant and one arm where the workflow
//! applies actions.
//!
//! Whatever the rules ask, some alerts are held back (stored as suppressed
//! outbox items with the reason, never sent), each outside recipient for
//! the first reason that applies:
//! - the address's mail bounced on this ticket (`recipient-failing`),
//!   until staff reset it (`ticketd recipients reset`);
//! - the ticket's recipients wait for confirmation (`recipients-unconfirmed`:
//!   a new sender's first mail named more than `alerts.new_sender_max_cc`
//!   others), for everyone but the requester;
//! - the event has alerted `alerts.max_fanout` outside recipients already
//!   (`fan-out-cap`; the requester comes first).
//!
//! Staff alerts are never held back.

pub mod defaults;

use crate::config::Config;
use crate::model::outbox::{AlertKind, SendMode};
use crate::model::{
    AuthorRole, Comment, EventKind, Origin, Status, Ticket, TicketEvent, Visibility,
    normalize_address,
};
use crate::notify::enqueue::AlertIntent;

/// What a rule sees: the event, the ticket after it, and the comment the
/// event is about (if any).
#[derive(Debug, Clone, Copy)]
pub struct EventContext<'a> {
    /// The ticket, as changed by the event.
    pub ticket: &'a Ticket,
    /// The event.
    pub event: &'a TicketEvent,
    /// The comment of a `Created`, `Commented` or `UnprovenStaffClaim`
    /// event.
    pub comment: Option<&'a Comment>,
    /// Configuration.
    pub config: &'a Config,
}

/// One rule: when every condition holds, its actions apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Name, recorded on what the rule causes (e.g. `announce-closure`).
    pub name: String,
    /// Conditions, all of which must hold.
    pub when: Vec<Condition>,
    /// What to do.
    pub then: Vec<ActionSpec>,
}

/// A condition on the event, the ticket or the event's comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The event is of this type.
    Event(EventType),
    /// The ticket's origin is one of these.
    OriginIn(Vec<Origin>),
    /// The ticket's origin is not this one.
    OriginIsNot(Origin),
    /// The event's comment was written by this kind of author.
    CommentBy(AuthorRole),
    /// The event's comment has this visibility.
    CommentIs(Visibility),
    /// The event's comment is not mail that claimed a staff address
    /// without proof.
    CommentNotUnprovenStaff,
    /// The ticket (after the event) has this status.
    TicketIs(Status),
}

/// The type of an event, without its details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// [`EventKind::Created`].
    Created,
    /// [`EventKind::Commented`].
    Commented,
    /// [`EventKind::Closed`].
    Closed,
    /// [`EventKind::Reopened`].
    Reopened,
    /// [`EventKind::UnprovenStaffClaim`].
    UnprovenStaffClaim,
}

impl EventType {
    fn matches(self, kind: &EventKind) -> bool {
        matches!(
            (self, kind),
            (EventType::Created, EventKind::Created)
                | (EventType::Commented, EventKind::Commented { .. })
                | (EventType::Closed, EventKind::Closed)
                | (EventType::Reopened, EventKind::Reopened)
                | (
                    EventType::UnprovenStaffClaim,
                    EventKind::UnprovenStaffClaim { .. }
                )
        )
    }
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionSpec {
    /// Queue an alert of `kind`, sent as `mode`, to each of `to`.
    Notify {
        /// The alert's kind (its template event).
        kind: AlertKind,
        /// How it goes out.
        mode: SendMode,
        /// Who gets it.
        to: Recipients,
    },
}

/// A set of recipients, resolved against the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipients {
    /// The requester, when an outside address.
    Requester,
    /// Every outside recipient of the ticket, the requester first.
    External,
    /// [`Recipients::External`] but the event's actor.
    ExternalButActor,
    /// [`Recipients::External`] but the event's comment's author.
    ExternalButAuthor,
    /// `alerts.staff_recipients`.
    Staff,
    /// `alerts.staff_recipients` and the staff address an unproven mail
    /// claimed (its owner learns that the address is being used).
    StaffAndClaimedAddress,
}

impl Recipients {
    /// Whether the set is staff (never held back, staff reply addresses).
    pub fn is_staff(self) -> bool {
        matches!(self, Recipients::Staff | Recipients::StaffAndClaimedAddress)
    }

    fn resolve(self, ctx: &EventContext<'_>) -> Vec<String> {
        let (ticket, config) = (ctx.ticket, ctx.config);
        let list = match self {
            Recipients::Requester => vec![ticket.requester.clone()],
            Recipients::External => external_recipients(ticket, config, &[]),
            Recipients::ExternalButActor => {
                external_recipients(ticket, config, &[&ctx.event.actor])
            }
            Recipients::ExternalButAuthor => {
                let author = ctx.comment.map_or("", |c| c.author.as_str());
                external_recipients(ticket, config, &[author])
            }
            Recipients::Staff => config.alerts.staff_recipients.clone(),
            Recipients::StaffAndClaimedAddress => {
                let mut list = config.alerts.staff_recipients.clone();
                list.extend(claimed_staff_address(ctx));
                list
            }
        };
        let list = dedup(list);
        if self.is_staff() {
            list
        } else {
            list.into_iter()
                .filter(|r| config.is_external_address(r))
                .collect()
        }
    }
}

/// The staff address an unproven mail claimed, when it is a deliverable
/// staff address.
fn claimed_staff_address(ctx: &EventContext<'_>) -> Option<String> {
    let EventKind::UnprovenStaffClaim { address, .. } = &ctx.event.kind else {
        return None;
    };
    let config = ctx.config;
    (config.staff.is_staff_address(address) && crate::model::is_deliverable_address(address))
        .then(|| address.clone())
}

/// What the rules ask of one event, after holding back what must not go
/// out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Queue an alert.
    Notify(AlertIntent),
    /// Record an alert that is not sent, and why.
    Hold {
        /// The alert, with the one held-back recipient.
        intent: AlertIntent,
        /// Why it is held back.
        reason: String,
    },
}

/// The rules a desk runs, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// A rule set of exactly these rules.
    pub fn new(rules: Vec<Rule>) -> RuleSet {
        RuleSet { rules }
    }

    /// The built-in rules, shaped by `[alerts]` (see [`defaults`]).
    pub fn from_config(config: &Config) -> RuleSet {
        RuleSet::new(defaults::rules(&config.alerts))
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Runs every rule on an event; see the module doc for what is held
    /// back.
    pub fn evaluate(&self, ctx: &EventContext<'_>) -> Vec<Action> {
        let mut actions = Vec::new();
        let mut fanout = 0;
        for rule in self.rules.iter().filter(|r| r.applies(ctx)) {
            for spec in &rule.then {
                let intent = spec.intent(&rule.name, ctx);
                if !intent.recipients.is_empty() {
                    actions.extend(hold_back(ctx, intent, &mut fanout));
                }
            }
        }
        actions
    }
}

impl Rule {
    fn applies(&self, ctx: &EventContext<'_>) -> bool {
        self.when.iter().all(|c| c.holds(ctx))
    }
}

impl Condition {
    fn holds(&self, ctx: &EventContext<'_>) -> bool {
        let comment = ctx.comment;
        match self {
            Condition::Event(t) => t.matches(&ctx.event.kind),
            Condition::OriginIn(origins) => origins.contains(&ctx.ticket.origin),
            Condition::OriginIsNot(origin) => ctx.ticket.origin != *origin,
            Condition::CommentBy(role) => comment.is_some_and(|c| c.role == *role),
            Condition::CommentIs(visibility) => {
                comment.is_some_and(|c| c.visibility == *visibility)
            }
            Condition::CommentNotUnprovenStaff => comment.is_none_or(|c| !c.unproven_staff),
            Condition::TicketIs(status) => ctx.ticket.status == *status,
        }
    }
}

impl ActionSpec {
    fn intent(&self, rule: &str, ctx: &EventContext<'_>) -> AlertIntent {
        let ActionSpec::Notify { kind, mode, to } = self;
        AlertIntent {
            kind: kind.clone(),
            mode: *mode,
            recipients: to.resolve(ctx),
            to_staff: to.is_staff(),
            rule: rule.to_string(),
        }
    }
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

/// The ticket's external recipients minus the given actors, the
/// requester first (so a fan-out cap never leaves the requester out).
pub fn external_recipients(ticket: &Ticket, config: &Config, except: &[&str]) -> Vec<String> {
    let except: Vec<String> = except.iter().map(|a| normalize_address(a)).collect();
    let requester = ticket.recipients.get(&ticket.requester);
    requester
        .into_iter()
        .chain(ticket.recipients.iter().filter(|r| **r != ticket.requester))
        .filter(|r| config.is_external_address(r) && !except.contains(r))
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

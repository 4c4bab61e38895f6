//! The ticket operations every entry point (mail ingest, CLI, API)
//! shares, on a [`Workflow`]: each writes its change, the event it causes
//! and the alerts the rules queue for that event in the caller's write, so
//! they commit (or not) together.
//!
//! Indexes kept here, in the same commit as the change they follow: a
//! ticket's Message-IDs, and the correlation key of an automated ticket
//! (pointing at the ticket only while it is open).

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Utc;

use crate::config::Config;
use crate::domain::rules::{Action, EventContext, RuleSet};
use crate::model::token::ThreadKey;
use crate::model::{
    Attachment, AuthorRole, Comment, DeliveryProblem, EventKind, NotAddedRecipients, Origin,
    RecipientDelivery, Status, Ticket, TicketEvent, TicketId, TicketLinks, Visibility,
    normalize_address,
};
use crate::notify::enqueue::{EventAlerts, Sources, Trigger, queue_alerts};
use crate::store::{Store, WriteTx};

/// The desk's workflow: its configuration (rules, limits), the rules built
/// from it and the key our ids are signed with. Cheap to clone. Every
/// operation runs inside the caller's write.
#[derive(Clone, Debug)]
pub struct Workflow {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// Thread-token key.
    pub key: ThreadKey,
    /// The rules events run through.
    pub rules: Arc<RuleSet>,
}

/// A comment about to be stored.
#[derive(Debug, Clone)]
pub struct CommentDraft {
    /// Author address (or `cli`, `api`).
    pub author: String,
    /// Author kind.
    pub role: AuthorRole,
    /// Public or internal.
    pub visibility: Visibility,
    /// Text body.
    pub text: String,
    /// HTML body as received.
    pub html: Option<String>,
    /// Attachments.
    pub attachments: Vec<Attachment>,
    /// Raw message key, for mail.
    pub source_message: Option<String>,
    /// The mail came from a staff address without proof: the comment is
    /// flagged and an [`EventKind::UnprovenStaffClaim`] follows it.
    pub unproven_staff: bool,
}

/// A ticket about to be opened.
#[derive(Debug, Clone)]
pub struct TicketDraft {
    /// Subject (already cleaned).
    pub subject: String,
    /// Requester address.
    pub requester: String,
    /// Origin.
    pub origin: Origin,
    /// Category.
    pub category: Option<String>,
    /// External recipients.
    pub recipients: BTreeSet<String>,
    /// Classification rule, for mail.
    pub rule: Option<String>,
    /// Message-ID of the opening mail, if any.
    pub root_message_id: Option<String>,
    /// Correlation key this ticket collects mail for while open.
    pub correlation: Option<String>,
    /// Alerts go to the requester only until staff confirm the recipients.
    pub recipients_unconfirmed: bool,
    /// Addresses of the opening mail left out of `recipients`.
    pub not_added: Option<NotAddedRecipients>,
    /// First comment.
    pub opening: CommentDraft,
}

/// Author name of notes ticketd writes itself.
pub const SYSTEM_AUTHOR: &str = "ticketd";

impl Workflow {
    /// The workflow for `config` over `store`: the thread key is
    /// `instance.secret` or the one kept in the store, and without
    /// `instance.id` the desk's loop id is the one generated into the
    /// store on first start, so two desks never share one.
    pub fn new(mut config: Config, store: &dyn Store) -> anyhow::Result<Workflow> {
        let key = match &config.secret {
            Some(secret) => ThreadKey::new(secret.as_bytes().to_vec()),
            None => ThreadKey::new(store.secret("thread_secret", 32)?),
        };
        if config.instance_id.is_none() {
            let random = hex::encode(store.secret("instance_id", 8)?);
            config.instance_id = Some(format!("{}-{random}", config.instance_name));
        }
        let rules = Arc::new(RuleSet::from_config(&config));
        Ok(Workflow {
            config: Arc::new(config),
            key,
            rules,
        })
    }

    /// Loads a ticket inside a write, or fails with "No ticket #N".
    pub fn ticket(&self, tx: &dyn WriteTx, id: TicketId) -> anyhow::Result<Ticket> {
        tx.ticket(id)?
            .ok_or_else(|| anyhow::anyhow!("No ticket #{id}"))
    }

    fn sources(&self) -> Sources<'_> {
        Sources {
            config: &self.config,
            key: &self.key,
        }
    }

    /// Opens a ticket and queues the alerts of its creation.
    pub fn open_ticket(
        &self,
        tx: &mut dyn WriteTx,
        draft: TicketDraft,
        trigger: &Trigger,
    ) -> anyhow::Result<Ticket> {
        let id = tx.next_ticket_id()?;
        let now = Utc::now();
        let root = draft
            .root_message_id
            .clone()
            .unwrap_or_else(|| self.key.message_id(id, 0, self.config.message_id_domain()));
        let mut ticket = Ticket {
            id,
            subject: draft.subject,
            status: Status::Open,
            requester: normalize_address(&draft.requester),
            origin: draft.origin,
            category: draft.category,
            recipients: draft.recipients,
            created_at: now,
            updated_at: now,
            closed_at: None,
            comment_count: 0,
            rule: draft.rule,
            root_message_id: Some(root.clone()),
            event_count: 0,
            delivery: Default::default(),
            links: TicketLinks::default(),
            correlation: draft.correlation,
            recipients_unconfirmed: draft.recipients_unconfirmed,
            not_added: draft.not_added,
        };
        tx.index_message_id(&root, id)?;
        if let Some(key) = &ticket.correlation {
            tx.index_correlation(key, id)?;
        }
        let actor = draft.opening.author.clone();
        let opening = self.store_comment(tx, &mut ticket, draft.opening)?;
        self.record_event(
            tx,
            &mut ticket,
            EventKind::Created,
            &actor,
            Some(&opening),
            trigger,
        )?;
        self.note_unproven_staff(tx, &mut ticket, &opening, trigger)?;
        tx.put_ticket(&ticket)?;
        Ok(ticket)
    }

    /// Records that `comment` came from a staff address without proof, so
    /// the rules warn staff (see [`crate::domain::rules`]); no-op for others.
    fn note_unproven_staff(
        &self,
        tx: &mut dyn WriteTx,
        ticket: &mut Ticket,
        comment: &Comment,
        trigger: &Trigger,
    ) -> anyhow::Result<()> {
        if !comment.unproven_staff {
            return Ok(());
        }
        let kind = EventKind::UnprovenStaffClaim {
            address: normalize_address(&comment.author),
            comment: comment.seq,
        };
        self.record_event(tx, ticket, kind, SYSTEM_AUTHOR, Some(comment), trigger)
    }

    /// Appends an event to the ticket's history, runs the rules on it and
    /// queues what they ask for, all in `tx`.
    fn record_event(
        &self,
        tx: &mut dyn WriteTx,
        ticket: &mut Ticket,
        kind: EventKind,
        actor: &str,
        comment: Option<&Comment>,
        trigger: &Trigger,
    ) -> anyhow::Result<()> {
        let event = TicketEvent {
            seq: ticket.event_count,
            at: Utc::now(),
            actor: actor.to_string(),
            kind,
        };
        ticket.event_count += 1;
        ticket.updated_at = event.at;
        tx.put_event(ticket.id, &event)?;
        let ctx = EventContext {
            ticket,
            event: &event,
            comment,
            config: &self.config,
        };
        let mut alerts = EventAlerts::default();
        for action in self.rules.evaluate(&ctx) {
            match action {
                Action::Notify(intent) => alerts.notify.push(intent),
                Action::Hold { intent, reason } => alerts.held.push((intent, reason)),
            }
        }
        queue_alerts(self.sources(), tx, ticket, &alerts, comment, trigger)?;
        Ok(())
    }

    fn store_comment(
        &self,
        tx: &mut dyn WriteTx,
        ticket: &mut Ticket,
        draft: CommentDraft,
    ) -> anyhow::Result<Comment> {
        let comment = Comment {
            seq: ticket.comment_count,
            author: draft.author,
            role: draft.role,
            visibility: draft.visibility,
            text: draft.text,
            html: draft.html,
            attachments: draft.attachments,
            source_message: draft.source_message,
            created_at: Utc::now(),
            unproven_staff: draft.unproven_staff,
        };
        ticket.comment_count += 1;
        tx.put_comment(ticket.id, &comment)?;
        Ok(comment)
    }

    /// Adds a comment and queues what it causes. Does not store the ticket;
    /// callers finish with [`WriteTx::put_ticket`] after any status change.
    /// A public staff reply confirms unconfirmed recipients first: staff
    /// chose to write to the thread.
    pub fn add_comment(
        &self,
        tx: &mut dyn WriteTx,
        ticket: &mut Ticket,
        draft: CommentDraft,
        trigger: &Trigger,
    ) -> anyhow::Result<Comment> {
        let actor = draft.author.clone();
        if draft.role == AuthorRole::Staff && draft.visibility == Visibility::Public {
            self.confirm_recipients(tx, ticket, &actor)?;
        }
        let comment = self.store_comment(tx, ticket, draft)?;
        let kind = EventKind::Commented {
            comment: comment.seq,
        };
        self.record_event(tx, ticket, kind, &actor, Some(&comment), trigger)?;
        self.note_unproven_staff(tx, ticket, &comment, trigger)?;
        Ok(comment)
    }

    /// Lets alerts reach every recipient of a ticket whose recipients
    /// waited for confirmation (no-op otherwise). Does not store the
    /// ticket.
    pub fn confirm_recipients(
        &self,
        tx: &mut dyn WriteTx,
        ticket: &mut Ticket,
        actor: &str,
    ) -> anyhow::Result<bool> {
        if !ticket.recipients_unconfirmed {
            return Ok(false);
        }
        ticket.recipients_unconfirmed = false;
        let trigger = Trigger::default();
        self.record_event(
            tx,
            ticket,
            EventKind::RecipientsConfirmed,
            actor,
            None,
            &trigger,
        )?;
        Ok(true)
    }

    /// Closes a ticket (no-op when already closed) and queues the alerts.
    pub fn close_ticket(
        &self,
        tx: &mut dyn WriteTx,
        ticket: &mut Ticket,
        actor: &str,
        trigger: &Trigger,
    ) -> anyhow::Result<bool> {
        if ticket.status == Status::Closed {
            return Ok(false);
        }
        ticket.status = Status::Closed;
        ticket.closed_at = Some(Utc::now());
        if let Some(key) = &ticket.correlation
            && tx.correlated_ticket(key)?.is_none_or(|t| t == ticket.id)
        {
            tx.unindex_correlation(key)?;
        }
        self.record_event(tx, ticket, EventKind::Closed, actor, None, trigger)?;
        Ok(true)
    }

    /// Reopens a closed ticket (no-op when open).
    pub fn reopen_ticket(
        &self,
        tx: &mut dyn WriteTx,
        ticket: &mut Ticket,
        actor: &str,
        trigger: &Trigger,
    ) -> anyhow::Result<bool> {
        if ticket.status == Status::Open {
            return Ok(false);
        }
        ticket.status = Status::Open;
        ticket.closed_at = None;
        if let Some(key) = &ticket.correlation
            && tx.correlated_ticket(key)?.is_none()
        {
            tx.index_correlation(key, ticket.id)?;
        }
        self.record_event(tx, ticket, EventKind::Reopened, actor, None, trigger)?;
        Ok(true)
    }

    /// Opens a follow-up of the closed ticket `previous`: links both ways,
    /// records the link in `previous`'s history and puts an internal note
    /// saying why on the new ticket. Stores both tickets.
    pub fn open_follow_up(
        &self,
        tx: &mut dyn WriteTx,
        previous: &mut Ticket,
        draft: TicketDraft,
        why: &str,
        trigger: &Trigger,
    ) -> anyhow::Result<Ticket> {
        let actor = draft.opening.author.clone();
        let mut ticket = self.open_ticket(tx, draft, trigger)?;
        ticket.links.follow_up_of = Some(previous.id);
        previous.links.follow_ups.push(ticket.id);
        let kind = EventKind::FollowUpOpened { ticket: ticket.id };
        self.record_event(tx, previous, kind, &actor, None, &Trigger::default())?;
        tx.put_ticket(previous)?;
        let closed = previous
            .closed_at
            .map(|t| t.format(" on %Y-%m-%d").to_string())
            .unwrap_or_default();
        let text = format!(
            "Follow-up of #{} \"{}\" (closed{closed}): {why}.",
            previous.id, previous.subject
        );
        self.add_comment(tx, &mut ticket, system_note(text), trigger)?;
        tx.put_ticket(&ticket)?;
        Ok(ticket)
    }

    /// Records a bounce for `address`; returns true when mail to it stops
    /// on this ticket because of it (see [`RecipientDelivery::after`]).
    /// Does not store the ticket.
    pub fn record_delivery_problem(
        &self,
        tx: &mut dyn WriteTx,
        ticket: &mut Ticket,
        address: &str,
        problem: DeliveryProblem,
        actor: &str,
    ) -> anyhow::Result<bool> {
        let address = normalize_address(address);
        let previous = ticket.delivery.get(&address);
        let was_failing = previous.is_some_and(RecipientDelivery::is_failing);
        let limit = self.config.bounces.soft_bounce_limit;
        let next = RecipientDelivery::after(previous, problem, limit);
        let stopped = !was_failing && next.is_failing();
        let reason = next.failing.as_ref().map(ToString::to_string);
        ticket.delivery.insert(address.clone(), next);
        if let (true, Some(reason)) = (stopped, reason) {
            let kind = EventKind::DeliveryStopped { address, reason };
            self.record_event(tx, ticket, kind, actor, None, &Trigger::default())?;
        }
        Ok(stopped)
    }

    /// Forgets an address's bounces on a ticket, so it is mailed again
    /// (no-op when there are none). Does not store the ticket.
    pub fn reset_delivery(
        &self,
        tx: &mut dyn WriteTx,
        ticket: &mut Ticket,
        address: &str,
        actor: &str,
    ) -> anyhow::Result<bool> {
        let address = normalize_address(address);
        if ticket.delivery.remove(&address).is_none() {
            return Ok(false);
        }
        let kind = EventKind::DeliveryReset { address };
        self.record_event(tx, ticket, kind, actor, None, &Trigger::default())?;
        Ok(true)
    }

    /// Adds or removes an external recipient (no-op when nothing changes).
    pub fn change_recipient(
        &self,
        tx: &mut dyn WriteTx,
        ticket: &mut Ticket,
        address: &str,
        add: bool,
        actor: &str,
    ) -> anyhow::Result<bool> {
        let address = normalize_address(address);
        let changed = if add {
            forget_not_added(ticket, &address);
            ticket.recipients.insert(address.clone())
        } else {
            ticket.recipients.remove(&address)
        };
        if changed {
            let kind = if add {
                EventKind::RecipientAdded { address }
            } else {
                EventKind::RecipientRemoved { address }
            };
            self.record_event(tx, ticket, kind, actor, None, &Trigger::default())?;
        }
        Ok(changed)
    }
}

/// An internal note written by ticketd itself.
pub fn system_note(text: String) -> CommentDraft {
    CommentDraft {
        author: SYSTEM_AUTHOR.into(),
        role: AuthorRole::System,
        visibility: Visibility::Internal,
        text,
        html: None,
        attachments: Vec::new(),
        source_message: None,
        unproven_staff: false,
    }
}

/// Takes an address staff add out of the ticket's not-added list.
fn forget_not_added(ticket: &mut Ticket, address: &str) {
    if let Some(not_added) = &mut ticket.not_added
        && let Some(at) = not_added.listed.iter().position(|a| a == address)
    {
        not_added.listed.remove(at);
        not_added.count = not_added.count.saturating_sub(1);
        if not_added.count == 0 {
            ticket.not_added = None;
        }
    }
}

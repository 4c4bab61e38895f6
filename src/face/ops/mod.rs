//! Operations on the desk, as data: every CLI command and local-API call is
//! a [`Request`] run by [`execute`], whether the CLI opened the store
//! itself or the daemon runs it on the CLI's behalf. One code path, so the
//! two can never disagree.

mod messages;
mod outbox;
mod recipients;
mod tickets;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::face::App;
use crate::ingest::Outcome;
use crate::model::outbox::OutboxItem;
use crate::model::{
    Comment, MessageRecord, Origin, RecipientDelivery, Status, Ticket, TicketEvent, TicketId,
};
use crate::store::{StoreError, WriteTx};
use messages::{attachment, ingest_raw, list_messages, raw_message, render_template};
use outbox::{list_outbox, retry_outbox};
use recipients::{confirm_recipients, edit_recipients, recipients, reset_recipient};
use tickets::{change_status, comment, create_ticket, list_tickets, show_ticket};

/// An operation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Newest tickets.
    TicketsList {
        /// Only this status.
        status: Option<Status>,
        /// At most this many (up to [`MAX_PAGE`]).
        limit: usize,
        /// Only tickets numbered below this one (the next page).
        #[serde(default)]
        before: Option<TicketId>,
    },
    /// One ticket with a page of its comments and its latest events,
    /// alerts and source messages.
    TicketShow {
        /// Ticket.
        id: TicketId,
        /// First comment shown (its `seq`).
        #[serde(default)]
        from: u32,
        /// Most comments, events, alerts and messages shown (up to
        /// [`MAX_PAGE`]).
        #[serde(default = "default_page")]
        limit: usize,
    },
    /// Open a ticket as staff or API.
    TicketCreate(NewTicketRequest),
    /// Add a staff comment.
    TicketComment {
        /// Ticket.
        id: TicketId,
        /// Text.
        text: String,
        /// Internal note instead of a public reply.
        internal: bool,
        /// Author.
        actor: String,
    },
    /// Close.
    TicketClose {
        /// Ticket.
        id: TicketId,
        /// Who.
        actor: String,
    },
    /// Reopen.
    TicketReopen {
        /// Ticket.
        id: TicketId,
        /// Who.
        actor: String,
    },
    /// List external recipients.
    RecipientsList {
        /// Ticket.
        id: TicketId,
    },
    /// Add an external recipient.
    RecipientsAdd {
        /// Ticket.
        id: TicketId,
        /// Address.
        address: String,
    },
    /// Remove an external recipient.
    RecipientsRemove {
        /// Ticket.
        id: TicketId,
        /// Address.
        address: String,
    },
    /// Let alerts reach every recipient of a ticket whose recipients wait
    /// for confirmation.
    RecipientsConfirm {
        /// Ticket.
        id: TicketId,
    },
    /// Forget an address's bounces on a ticket, so it is mailed again.
    RecipientsReset {
        /// Ticket.
        id: TicketId,
        /// Address.
        address: String,
    },
    /// Outbox items, newest first.
    OutboxList {
        /// Only this status (`pending`, `sent`, `gave_up`, `suppressed`).
        status: Option<String>,
        /// At most this many (up to [`MAX_PAGE`]).
        limit: usize,
        /// Only items numbered below this one (the next page).
        #[serde(default)]
        before: Option<u64>,
    },
    /// Queue items for another attempt.
    OutboxRetry {
        /// One item, or every given-up item when `None`.
        id: Option<u64>,
    },
    /// Ingested messages that did not become tickets or comments.
    MessagesList {
        /// `quarantined`, `ignored` or `all`.
        filter: String,
        /// At most this many.
        limit: usize,
    },
    /// The raw original of a stored message ("show original").
    MessageRaw {
        /// Fingerprint or raw key.
        key: String,
    },
    /// The bytes of an attachment of a comment.
    Attachment {
        /// Ticket.
        id: TicketId,
        /// Comment `seq`.
        comment: u32,
        /// Position of the attachment in the comment (from 1).
        index: usize,
    },
    /// Ingest a raw message (base64).
    Ingest {
        /// Message bytes, base64.
        raw_base64: String,
    },
    /// Render a template for a ticket.
    TemplateRender {
        /// Template name.
        name: String,
        /// Ticket.
        ticket: TicketId,
    },
}

/// Fields of [`Request::TicketCreate`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewTicketRequest {
    /// Subject.
    pub subject: String,
    /// Requester address.
    pub requester: String,
    /// Further external recipients.
    pub recipients: Vec<String>,
    /// Opening text.
    pub text: String,
    /// Category.
    pub category: Option<String>,
    /// Who asks (`cli` or `api` or a staff address).
    pub actor: String,
    /// `staff` or `api`.
    pub origin: Origin,
}

/// Result of an operation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Response {
    /// Ticket list.
    Tickets {
        /// Tickets.
        tickets: Vec<Ticket>,
    },
    /// A ticket in detail.
    Ticket(Box<TicketDetail>),
    /// Recipient list.
    Recipients {
        /// Ticket.
        id: TicketId,
        /// Addresses.
        recipients: BTreeSet<String>,
        /// Bounce state of addresses that bounced on the ticket.
        #[serde(default)]
        delivery: BTreeMap<String, RecipientDelivery>,
    },
    /// Outbox items.
    Outbox {
        /// Items.
        items: Vec<OutboxItem>,
    },
    /// Message records.
    Messages {
        /// Records.
        messages: Vec<MessageRecord>,
    },
    /// Raw message.
    Raw {
        /// Bytes, base64.
        raw_base64: String,
    },
    /// Ingest result.
    Ingested {
        /// What happened.
        outcome: Outcome,
    },
    /// Rendered template.
    Rendered {
        /// Subject.
        subject: String,
        /// Text body.
        text: String,
        /// HTML body.
        html: Option<String>,
    },
    /// Done; a short message.
    Done {
        /// Message.
        message: String,
        /// Ticket concerned.
        ticket: Option<TicketId>,
    },
}

/// Most entries one request lists: no listing or ticket view reads more.
pub const MAX_PAGE: usize = 1000;

/// Entries a ticket view shows by default.
pub const DEFAULT_PAGE: usize = 50;

fn default_page() -> usize {
    DEFAULT_PAGE
}

/// A ticket with a page of its history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TicketDetail {
    /// The ticket.
    pub ticket: Ticket,
    /// A page of comments, in order.
    pub comments: Vec<Comment>,
    /// The latest history entries, in order.
    pub events: Vec<TicketEvent>,
    /// The latest alerts queued for it (without template contexts).
    pub outbox: Vec<OutboxItem>,
    /// Messages that arrived for it (with the rule that fired).
    pub messages: Vec<MessageRecord>,
    /// What this view left out.
    #[serde(default)]
    pub more: MoreOfTicket,
}

/// What a ticket view left out, and how to see it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MoreOfTicket {
    /// `seq` of the next comment not shown (`tickets show N --from SEQ`).
    pub next_comment: Option<u32>,
    /// Older history entries not shown.
    pub older_events: u32,
    /// Older alerts exist (`outbox list`).
    pub older_alerts: bool,
    /// More messages exist (`messages list --all`).
    pub more_messages: bool,
}

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// Something named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// The store cannot write now (a full disk); try again later.
    #[error("{0}")]
    Unavailable(String),
    /// Anything else (store, I/O).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for OpError {
    fn from(e: StoreError) -> OpError {
        match e {
            StoreError::Aborted(e) => match e.downcast::<OpError>() {
                Ok(op) => op,
                Err(e) => OpError::Internal(e),
            },
            full @ StoreError::Full { .. } => OpError::Unavailable(full.to_string()),
            StoreError::Engine(e) => OpError::Internal(e.context("The store failed")),
        }
    }
}

impl Request {
    /// Whether this request may queue outgoing mail (sender should wake).
    pub fn may_queue_mail(&self) -> bool {
        matches!(
            self,
            Request::TicketCreate { .. }
                | Request::TicketComment { .. }
                | Request::RecipientsConfirm { .. }
                | Request::TicketClose { .. }
                | Request::OutboxRetry { .. }
                | Request::Ingest { .. }
        )
    }
}

/// Runs one operation. Its writes are durable when it returns.
pub fn execute(app: &App, request: Request) -> Result<Response, OpError> {
    dispatch(app, request)
}

/// Runs `work` as one write of the store (see
/// [`crate::store::Store::write`]); an [`OpError`] it returns comes back
/// as it was.
pub(super) fn write<R>(
    app: &App,
    work: impl FnMut(&mut dyn WriteTx) -> anyhow::Result<R>,
) -> Result<R, OpError> {
    Ok(app.store.transact(work)?)
}

fn dispatch(app: &App, request: Request) -> Result<Response, OpError> {
    match request {
        Request::TicketsList {
            status,
            limit,
            before,
        } => list_tickets(app, status, page_size(limit)?, before),
        Request::TicketShow { id, from, limit } => show_ticket(app, id, from, page_size(limit)?),
        Request::TicketCreate(new) => create_ticket(app, new),
        Request::TicketComment {
            id,
            text,
            internal,
            actor,
        } => comment(app, id, text, internal, actor),
        Request::TicketClose { id, actor } => change_status(app, id, true, &actor),
        Request::TicketReopen { id, actor } => change_status(app, id, false, &actor),
        Request::RecipientsList { id } => Ok(recipients(load(app, id)?)),
        Request::RecipientsAdd { id, address } => edit_recipients(app, id, &address, true),
        Request::RecipientsRemove { id, address } => edit_recipients(app, id, &address, false),
        Request::RecipientsConfirm { id } => confirm_recipients(app, id),
        Request::RecipientsReset { id, address } => reset_recipient(app, id, &address),
        Request::OutboxList {
            status,
            limit,
            before,
        } => list_outbox(app, status, page_size(limit)?, before),
        Request::OutboxRetry { id } => retry_outbox(app, id),
        Request::MessagesList { filter, limit } => list_messages(app, &filter, page_size(limit)?),
        Request::MessageRaw { key } => raw_message(app, &key),
        Request::Attachment { id, comment, index } => attachment(app, id, comment, index),
        Request::Ingest { raw_base64 } => ingest_raw(app, &raw_base64),
        Request::TemplateRender { name, ticket } => render_template(app, &name, ticket),
    }
}

pub(super) fn load(app: &App, id: TicketId) -> Result<Ticket, OpError> {
    app.store
        .ticket(id)?
        .ok_or_else(|| OpError::NotFound(format!("no ticket #{id}")))
}

/// A ticket inside a write, or [`OpError::NotFound`].
pub(super) fn load_in(tx: &dyn WriteTx, id: TicketId) -> anyhow::Result<Ticket> {
    tx.ticket(id)?
        .ok_or_else(|| OpError::NotFound(format!("no ticket #{id}")).into())
}

/// A requested page size, refused above [`MAX_PAGE`].
fn page_size(limit: usize) -> Result<usize, OpError> {
    if limit > MAX_PAGE {
        return Err(OpError::BadRequest(format!(
            "limit {limit} is over {MAX_PAGE}; page with a smaller limit"
        )));
    }
    Ok(limit)
}

#[cfg(test)]
mod tests;

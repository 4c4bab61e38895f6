//! Operations on a desk, as data: every CLI command and local-API call is
//! a [`Request`] run by [`execute`], whether the CLI opened the store
//! itself or the daemon runs it on the CLI's behalf. One code path, so the
//! two can never disagree.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::desk::{CommentDraft, Desk, TicketDraft};
use crate::ingest::{Outcome, ingest};
use crate::model::{
    AuthorRole, Comment, MessageRecord, Origin, RecipientDelivery, Source, Status, Ticket,
    TicketEvent, TicketId, Visibility, normalize_address,
};
use crate::notify::compose::template_context;
use crate::notify::queue::{Trigger, new_item, snapshot};
use crate::notify::templates::Templates;
use crate::outbox::{OutboxItem, OutboxStatus};
use crate::rules::{AlertIntent, AlertKind};

/// An operation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Newest tickets.
    TicketsList {
        /// Only this status.
        status: Option<Status>,
        /// At most this many.
        limit: usize,
    },
    /// One ticket with comments, alerts and source messages.
    TicketShow {
        /// Ticket.
        id: TicketId,
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
        /// At most this many.
        limit: usize,
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

/// A ticket with its history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TicketDetail {
    /// The ticket.
    pub ticket: Ticket,
    /// Comments in order.
    pub comments: Vec<Comment>,
    /// History in order.
    pub events: Vec<TicketEvent>,
    /// Alerts queued for it.
    pub outbox: Vec<OutboxItem>,
    /// Messages that arrived for it (with the rule that fired).
    pub messages: Vec<MessageRecord>,
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
    /// Anything else (store, I/O).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Request {
    /// Whether this request may queue outgoing mail (sender should wake).
    pub fn may_queue_mail(&self) -> bool {
        matches!(
            self,
            Request::TicketCreate { .. }
                | Request::TicketComment { .. }
                | Request::TicketClose { .. }
                | Request::OutboxRetry { .. }
                | Request::Ingest { .. }
        )
    }
}

/// Runs one operation. Writes are committed and flushed before returning.
pub fn execute(desk: &Desk, request: Request) -> Result<Response, OpError> {
    let response = dispatch(desk, request)?;
    desk.store.flush()?;
    Ok(response)
}

fn dispatch(desk: &Desk, request: Request) -> Result<Response, OpError> {
    match request {
        Request::TicketsList { status, limit } => list_tickets(desk, status, limit),
        Request::TicketShow { id } => show_ticket(desk, id),
        Request::TicketCreate(new) => create_ticket(desk, new),
        Request::TicketComment {
            id,
            text,
            internal,
            actor,
        } => comment(desk, id, text, internal, actor),
        Request::TicketClose { id, actor } => change_status(desk, id, true, &actor),
        Request::TicketReopen { id, actor } => change_status(desk, id, false, &actor),
        Request::RecipientsList { id } => Ok(recipients(load(desk, id)?)),
        Request::RecipientsAdd { id, address } => edit_recipients(desk, id, &address, true),
        Request::RecipientsRemove { id, address } => edit_recipients(desk, id, &address, false),
        Request::RecipientsReset { id, address } => reset_recipient(desk, id, &address),
        Request::OutboxList { status, limit } => list_outbox(desk, status, limit),
        Request::OutboxRetry { id } => retry_outbox(desk, id),
        Request::MessagesList { filter, limit } => list_messages(desk, &filter, limit),
        Request::MessageRaw { key } => raw_message(desk, &key),
        Request::Attachment { id, comment, index } => attachment(desk, id, comment, index),
        Request::Ingest { raw_base64 } => ingest_raw(desk, &raw_base64),
        Request::TemplateRender { name, ticket } => render_template(desk, &name, ticket),
    }
}

fn load(desk: &Desk, id: TicketId) -> Result<Ticket, OpError> {
    desk.store
        .ticket(id)?
        .ok_or_else(|| OpError::NotFound(format!("no ticket #{id}")))
}

fn list_tickets(desk: &Desk, status: Option<Status>, limit: usize) -> Result<Response, OpError> {
    let tickets = match status {
        None => desk.store.tickets(limit)?,
        Some(s) => desk
            .store
            .tickets(usize::MAX)?
            .into_iter()
            .filter(|t| t.status == s)
            .take(limit)
            .collect(),
    };
    Ok(Response::Tickets { tickets })
}

fn show_ticket(desk: &Desk, id: TicketId) -> Result<Response, OpError> {
    Ok(Response::Ticket(Box::new(TicketDetail {
        ticket: load(desk, id)?,
        comments: desk.store.comments(id)?,
        events: desk.store.events(id)?,
        outbox: desk.store.outbox_for_ticket(id)?,
        messages: desk.store.messages_for_ticket(id)?,
    })))
}

fn create_ticket(desk: &Desk, new: NewTicketRequest) -> Result<Response, OpError> {
    let NewTicketRequest {
        subject,
        requester,
        recipients,
        text,
        category,
        actor,
        origin,
    } = new;
    if !matches!(origin, Origin::Staff | Origin::Api) {
        return Err(OpError::BadRequest("origin must be staff or api".into()));
    }
    let requester = checked_address(&requester)?;
    let mut all = BTreeSet::from([requester.clone()]);
    for r in &recipients {
        all.insert(checked_address(r)?);
    }
    all.retain(|a| crate::rules::is_external(a, &desk.config));
    let draft = TicketDraft {
        subject: crate::notify::templates::one_line(&subject),
        requester,
        origin,
        category,
        recipients: all,
        rule: None,
        root_message_id: None,
        correlation: None,
        opening: staff_draft(actor, text, false),
    };
    let mut tx = desk.store.begin();
    let ticket = desk.open_ticket(&mut tx, draft, &Trigger::default())?;
    tx.commit()?;
    Ok(Response::Done {
        message: format!("ticket #{} opened", ticket.id),
        ticket: Some(ticket.id),
    })
}

fn staff_draft(actor: String, text: String, internal: bool) -> CommentDraft {
    CommentDraft {
        author: actor,
        role: AuthorRole::Staff,
        visibility: if internal {
            Visibility::Internal
        } else {
            Visibility::Public
        },
        text,
        html: None,
        attachments: Vec::new(),
        source_message: None,
    }
}

fn checked_address(address: &str) -> Result<String, OpError> {
    let a = normalize_address(address);
    if crate::model::is_deliverable_address(&a) {
        Ok(a)
    } else {
        Err(OpError::BadRequest(format!(
            "not an e-mail address: {address:?}"
        )))
    }
}

fn comment(
    desk: &Desk,
    id: TicketId,
    text: String,
    internal: bool,
    actor: String,
) -> Result<Response, OpError> {
    if text.trim().is_empty() {
        return Err(OpError::BadRequest("empty comment".into()));
    }
    let mut ticket = load(desk, id)?;
    let mut tx = desk.store.begin();
    let c = desk.add_comment(
        &mut tx,
        &mut ticket,
        staff_draft(actor, text, internal),
        &Trigger::default(),
    )?;
    tx.put_ticket(&ticket)?;
    tx.commit()?;
    Ok(Response::Done {
        message: format!("comment {} added to #{id}", c.seq),
        ticket: Some(id),
    })
}

fn change_status(desk: &Desk, id: TicketId, close: bool, actor: &str) -> Result<Response, OpError> {
    let mut ticket = load(desk, id)?;
    let mut tx = desk.store.begin();
    let trigger = Trigger::default();
    let changed = if close {
        desk.close_ticket(&mut tx, &mut ticket, actor, &trigger)?
    } else {
        desk.reopen_ticket(&mut tx, &mut ticket, actor, &trigger)?
    };
    tx.put_ticket(&ticket)?;
    tx.commit()?;
    let message = match (changed, close) {
        (true, true) => format!("ticket #{id} closed"),
        (true, false) => format!("ticket #{id} reopened"),
        (false, _) => format!("ticket #{id} was already {}", ticket.status.as_str()),
    };
    Ok(Response::Done {
        message,
        ticket: Some(id),
    })
}

fn recipients(ticket: Ticket) -> Response {
    Response::Recipients {
        id: ticket.id,
        recipients: ticket.recipients,
        delivery: ticket.delivery,
    }
}

/// Adds or removes a recipient. Adding an address that bounced on the
/// ticket also clears its bounces: staff vouch for it again.
fn edit_recipients(
    desk: &Desk,
    id: TicketId,
    address: &str,
    add: bool,
) -> Result<Response, OpError> {
    let address = checked_address(address)?;
    if add && !crate::rules::is_external(&address, &desk.config) {
        return Err(OpError::BadRequest(format!(
            "{address} is a support or staff address, not an external recipient"
        )));
    }
    let mut ticket = load(desk, id)?;
    let mut tx = desk.store.begin();
    let changed = desk.change_recipient(&mut tx, &mut ticket, &address, add, "cli")?;
    let reset = add && desk.reset_delivery(&mut tx, &mut ticket, &address, "cli")?;
    if changed || reset {
        tx.put_ticket(&ticket)?;
        tx.commit()?;
    }
    Ok(recipients(ticket))
}

fn reset_recipient(desk: &Desk, id: TicketId, address: &str) -> Result<Response, OpError> {
    let address = checked_address(address)?;
    let mut ticket = load(desk, id)?;
    let mut tx = desk.store.begin();
    if !desk.reset_delivery(&mut tx, &mut ticket, &address, "cli")? {
        return Err(OpError::NotFound(format!(
            "{address} has no bounces on #{id}"
        )));
    }
    tx.put_ticket(&ticket)?;
    tx.commit()?;
    Ok(recipients(ticket))
}

fn list_outbox(desk: &Desk, status: Option<String>, limit: usize) -> Result<Response, OpError> {
    let items = desk
        .store
        .outbox_items(usize::MAX)?
        .into_iter()
        .filter(|i| status.as_deref().is_none_or(|s| i.status.as_str() == s))
        .take(limit)
        .collect();
    Ok(Response::Outbox { items })
}

fn retry_outbox(desk: &Desk, id: Option<u64>) -> Result<Response, OpError> {
    let items: Vec<OutboxItem> = match id {
        Some(id) => vec![
            desk.store
                .outbox_item(id)?
                .ok_or_else(|| OpError::NotFound(format!("no outbox item {id}")))?,
        ],
        None => desk
            .store
            .outbox_items(usize::MAX)?
            .into_iter()
            .filter(|i| matches!(i.status, OutboxStatus::GaveUp { .. }))
            .collect(),
    };
    let mut tx = desk.store.begin();
    let mut count = 0;
    for item in items.iter().filter(|i| i.status != OutboxStatus::Pending) {
        let mut next = item.clone();
        next.status = OutboxStatus::Pending;
        next.attempts = 0;
        next.next_attempt_at = chrono::Utc::now();
        tx.put_outbox(&next, item)?;
        count += 1;
    }
    tx.commit()?;
    Ok(Response::Done {
        message: format!("{count} item(s) queued for delivery"),
        ticket: None,
    })
}

fn list_messages(desk: &Desk, filter: &str, limit: usize) -> Result<Response, OpError> {
    use crate::store::MessageKind;
    let kinds: &[MessageKind] = match filter {
        "quarantined" => &[MessageKind::Quarantined],
        "ignored" => &[MessageKind::Ignored],
        "all" => &MessageKind::ALL,
        other => {
            return Err(OpError::BadRequest(format!(
                "unknown filter {other:?}; expected quarantined, ignored or all"
            )));
        }
    };
    let messages = desk.store.messages_of(kinds, limit)?;
    Ok(Response::Messages { messages })
}

fn raw_message(desk: &Desk, key: &str) -> Result<Response, OpError> {
    let raw = desk
        .store
        .raw(key)?
        .ok_or_else(|| OpError::NotFound(format!("no stored message {key:?}")))?;
    Ok(Response::Raw {
        raw_base64: BASE64.encode(raw),
    })
}

fn attachment(desk: &Desk, id: TicketId, seq: u32, index: usize) -> Result<Response, OpError> {
    let comments = desk.store.comments(id)?;
    let not_found =
        || OpError::NotFound(format!("no attachment {index} on comment {seq} of #{id}"));
    let comment = comments
        .iter()
        .find(|c| c.seq == seq)
        .ok_or_else(not_found)?;
    let attachment = index
        .checked_sub(1)
        .and_then(|i| comment.attachments.get(i))
        .ok_or_else(not_found)?;
    let source = comment.source_message.as_deref().ok_or_else(not_found)?;
    let raw = desk.store.raw(source)?.ok_or_else(not_found)?;
    let bytes = crate::mail::attachment_bytes(&raw, attachment.part).ok_or_else(not_found)?;
    Ok(Response::Raw {
        raw_base64: BASE64.encode(bytes),
    })
}

fn ingest_raw(desk: &Desk, raw_base64: &str) -> Result<Response, OpError> {
    let raw = BASE64
        .decode(raw_base64)
        .map_err(|e| OpError::BadRequest(format!("raw_base64: {e}")))?;
    let outcome = ingest(desk, &raw, Source::Pipe)?;
    Ok(Response::Ingested { outcome })
}

fn render_template(desk: &Desk, name: &str, id: TicketId) -> Result<Response, OpError> {
    let ticket = load(desk, id)?;
    let comments = desk.store.comments(id)?;
    // An unsaved item, as if this ticket's last comment were being relayed.
    let intent = AlertIntent {
        kind: AlertKind::PublicReply,
        recipients: Vec::new(),
        to_staff: false,
        rule: "preview",
    };
    let trigger = Trigger::default();
    let mut item = new_item(desk, 0, &ticket, &intent, &ticket.requester, &trigger);
    item.context = snapshot(&ticket, comments.last());
    let templates = Templates::new(desk.config.templates_dir.clone());
    let rendered = templates
        .render(name, &template_context(&item, &desk.config))
        .map_err(|e| OpError::BadRequest(e.to_string()))?;
    Ok(Response::Rendered {
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
    })
}

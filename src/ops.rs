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
    AuthorRole, Comment, MAX_RECIPIENTS_PER_TICKET, MessageRecord, Origin, RecipientDelivery,
    Source, Status, Ticket, TicketEvent, TicketId, Visibility, normalize_address,
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
                | Request::RecipientsConfirm { .. }
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
        Request::TicketsList {
            status,
            limit,
            before,
        } => list_tickets(desk, status, page_size(limit)?, before),
        Request::TicketShow { id, from, limit } => show_ticket(desk, id, from, page_size(limit)?),
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
        Request::RecipientsConfirm { id } => confirm_recipients(desk, id),
        Request::RecipientsReset { id, address } => reset_recipient(desk, id, &address),
        Request::OutboxList {
            status,
            limit,
            before,
        } => list_outbox(desk, status, page_size(limit)?, before),
        Request::OutboxRetry { id } => retry_outbox(desk, id),
        Request::MessagesList { filter, limit } => list_messages(desk, &filter, page_size(limit)?),
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

/// A requested page size, refused above [`MAX_PAGE`].
fn page_size(limit: usize) -> Result<usize, OpError> {
    if limit > MAX_PAGE {
        return Err(OpError::BadRequest(format!(
            "limit {limit} is over {MAX_PAGE}; page with a smaller limit"
        )));
    }
    Ok(limit)
}

fn list_tickets(
    desk: &Desk,
    status: Option<Status>,
    limit: usize,
    before: Option<TicketId>,
) -> Result<Response, OpError> {
    let tickets = desk.store.tickets_page(status, before, limit)?;
    Ok(Response::Tickets { tickets })
}

fn show_ticket(desk: &Desk, id: TicketId, from: u32, limit: usize) -> Result<Response, OpError> {
    let ticket = load(desk, id)?;
    let page = desk.store.comments_page(id, from, limit)?;
    let events = desk.store.latest_events(id, limit)?;
    let (outbox, older_alerts) = desk.store.outbox_for_ticket(id, limit)?;
    let (messages, more_messages) = desk.store.messages_for_ticket(id, limit)?;
    let more = MoreOfTicket {
        next_comment: page.next,
        older_events: ticket.event_count.saturating_sub(events.len() as u32),
        older_alerts,
        more_messages,
    };
    Ok(Response::Ticket(Box::new(TicketDetail {
        ticket,
        comments: page.comments,
        events,
        outbox,
        messages,
        more,
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
    check_recipient_count(all.len())?;
    let draft = TicketDraft {
        subject: crate::notify::templates::one_line(&subject),
        requester,
        origin,
        category,
        recipients: all,
        rule: None,
        root_message_id: None,
        correlation: None,
        recipients_unconfirmed: false,
        not_added: None,
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
        unproven_staff: false,
    }
}

/// Refuses a ticket with more recipients than a ticket may have.
fn check_recipient_count(count: usize) -> Result<(), OpError> {
    if count > MAX_RECIPIENTS_PER_TICKET {
        return Err(OpError::BadRequest(format!(
            "a ticket has at most {MAX_RECIPIENTS_PER_TICKET} external recipients, found {count}"
        )));
    }
    Ok(())
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
    let mut tx = desk.store.begin();
    let mut ticket = load(desk, id)?;
    if add && !ticket.recipients.contains(&address) {
        check_recipient_count(ticket.recipients.len() + 1)?;
    }
    let changed = desk.change_recipient(&mut tx, &mut ticket, &address, add, "cli")?;
    let reset = add && desk.reset_delivery(&mut tx, &mut ticket, &address, "cli")?;
    if changed || reset {
        tx.put_ticket(&ticket)?;
        tx.commit()?;
    }
    Ok(recipients(ticket))
}

fn confirm_recipients(desk: &Desk, id: TicketId) -> Result<Response, OpError> {
    let mut tx = desk.store.begin();
    let mut ticket = load(desk, id)?;
    if !desk.confirm_recipients(&mut tx, &mut ticket, "cli")? {
        return Err(OpError::BadRequest(format!(
            "the recipients of #{id} need no confirmation"
        )));
    }
    tx.put_ticket(&ticket)?;
    tx.commit()?;
    Ok(recipients(ticket))
}

fn reset_recipient(desk: &Desk, id: TicketId, address: &str) -> Result<Response, OpError> {
    let address = checked_address(address)?;
    let mut tx = desk.store.begin();
    let mut ticket = load(desk, id)?;
    if !desk.reset_delivery(&mut tx, &mut ticket, &address, "cli")? {
        return Err(OpError::NotFound(format!(
            "{address} has no bounces on #{id}"
        )));
    }
    tx.put_ticket(&ticket)?;
    tx.commit()?;
    Ok(recipients(ticket))
}

fn list_outbox(
    desk: &Desk,
    status: Option<String>,
    limit: usize,
    before: Option<u64>,
) -> Result<Response, OpError> {
    let items = desk.store.outbox_page(status.as_deref(), before, limit)?;
    Ok(Response::Outbox { items })
}

fn retry_outbox(desk: &Desk, id: Option<u64>) -> Result<Response, OpError> {
    let count = match id {
        Some(id) => retry_one(desk, id)?,
        None => retry_given_up(desk)?,
    };
    Ok(Response::Done {
        message: format!("{count} item(s) queued for delivery"),
        ticket: None,
    })
}

/// Queues one item again (held or given up); 0 when it is pending.
fn retry_one(desk: &Desk, id: u64) -> Result<usize, OpError> {
    let mut tx = desk.store.begin();
    let item = desk
        .store
        .outbox_record(id)?
        .ok_or_else(|| OpError::NotFound(format!("no outbox item {id}")))?;
    let count = requeue(&mut tx, &[item])?;
    tx.commit()?;
    Ok(count)
}

/// Queues every given-up item again, a page per write.
fn retry_given_up(desk: &Desk) -> Result<usize, OpError> {
    let (mut count, mut before) = (0, None);
    loop {
        let mut tx = desk.store.begin();
        let page = desk.store.outbox_page(Some("gave_up"), before, MAX_PAGE)?;
        let Some(last) = page.last() else {
            return Ok(count);
        };
        before = Some(last.id);
        count += requeue(&mut tx, &page)?;
        tx.commit()?;
    }
}

fn requeue(tx: &mut crate::store::WriteTx<'_>, items: &[OutboxItem]) -> Result<usize, OpError> {
    let mut count = 0;
    for item in items.iter().filter(|i| i.status != OutboxStatus::Pending) {
        let mut next = item.clone();
        next.status = OutboxStatus::Pending;
        next.attempts = 0;
        next.next_attempt_at = chrono::Utc::now();
        tx.put_outbox(&next, item)?;
        count += 1;
    }
    Ok(count)
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
    let not_found =
        || OpError::NotFound(format!("no attachment {index} on comment {seq} of #{id}"));
    let comment = desk.store.comment(id, seq)?.ok_or_else(not_found)?;
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
    let last = match ticket.comment_count.checked_sub(1) {
        Some(seq) => desk.store.comment(id, seq)?,
        None => None,
    };
    // An unsaved item, as if this ticket's last comment were being relayed.
    let intent = AlertIntent {
        kind: AlertKind::PublicReply,
        recipients: Vec::new(),
        to_staff: false,
        rule: "preview",
    };
    let trigger = Trigger::default();
    let mut item = new_item(desk, 0, &ticket, &intent, &ticket.requester, &trigger);
    item.context = snapshot(&ticket, last.as_ref());
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

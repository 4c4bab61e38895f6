//! Ticket operations: listing, the paged ticket view, opening, staff
//! comments, closing and reopening.

use std::collections::BTreeSet;

use super::{MoreOfTicket, NewTicketRequest, OpError, Response, TicketDetail, load};
use crate::domain::desk::{CommentDraft, Desk, TicketDraft};
use crate::model::{
    AuthorRole, MAX_RECIPIENTS_PER_TICKET, Origin, Status, TicketId, Visibility, normalize_address,
};
use crate::notify::queue::Trigger;

pub(super) fn list_tickets(
    desk: &Desk,
    status: Option<Status>,
    limit: usize,
    before: Option<TicketId>,
) -> Result<Response, OpError> {
    let tickets = desk.store.tickets_page(status, before, limit)?;
    Ok(Response::Tickets { tickets })
}

pub(super) fn show_ticket(
    desk: &Desk,
    id: TicketId,
    from: u32,
    limit: usize,
) -> Result<Response, OpError> {
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

pub(super) fn create_ticket(desk: &Desk, new: NewTicketRequest) -> Result<Response, OpError> {
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
    all.retain(|a| crate::domain::rules::is_external(a, &desk.config));
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

pub(super) fn staff_draft(actor: String, text: String, internal: bool) -> CommentDraft {
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
pub(super) fn check_recipient_count(count: usize) -> Result<(), OpError> {
    if count > MAX_RECIPIENTS_PER_TICKET {
        return Err(OpError::BadRequest(format!(
            "a ticket has at most {MAX_RECIPIENTS_PER_TICKET} external recipients, found {count}"
        )));
    }
    Ok(())
}

pub(super) fn checked_address(address: &str) -> Result<String, OpError> {
    let a = normalize_address(address);
    if crate::model::is_deliverable_address(&a) {
        Ok(a)
    } else {
        Err(OpError::BadRequest(format!(
            "not an e-mail address: {address:?}"
        )))
    }
}

pub(super) fn comment(
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

pub(super) fn change_status(
    desk: &Desk,
    id: TicketId,
    close: bool,
    actor: &str,
) -> Result<Response, OpError> {
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

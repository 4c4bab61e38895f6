//! Ticket operations: listing, the paged ticket view, opening, staff
//! comments, closing and reopening.

use std::collections::BTreeSet;

use super::{
    MoreOfTicket, NewTicketRequest, OpError, Response, TicketDetail, load, load_in, write,
};
use crate::domain::workflow::{CommentDraft, TicketDraft};
use crate::face::App;
use crate::model::{
    AuthorRole, MAX_RECIPIENTS_PER_TICKET, Origin, Status, TicketId, Visibility, normalize_address,
};
use crate::notify::enqueue::Trigger;
use crate::store::TicketQuery;

pub(super) fn list_tickets(
    app: &App,
    status: Option<Status>,
    limit: usize,
    before: Option<TicketId>,
) -> Result<Response, OpError> {
    let query = TicketQuery {
        status,
        before,
        limit,
        ..TicketQuery::default()
    };
    let tickets = app.store.tickets(&query)?;
    Ok(Response::Tickets { tickets })
}

pub(super) fn show_ticket(
    app: &App,
    id: TicketId,
    from: u32,
    limit: usize,
) -> Result<Response, OpError> {
    let ticket = load(app, id)?;
    let page = app.store.comments(id, from, limit)?;
    let events = app.store.latest_events(id, limit)?;
    let (outbox, older_alerts) = app.store.outbox_for_ticket(id, limit)?;
    let (messages, more_messages) = app.store.messages_for_ticket(id, limit)?;
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

pub(super) fn create_ticket(app: &App, new: NewTicketRequest) -> Result<Response, OpError> {
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
    all.retain(|a| app.workflow.config.is_external_address(a));
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
    let ticket = write(app, |tx| {
        let opened = app
            .workflow
            .open_ticket(tx, draft.clone(), &Trigger::default())?;
        Ok(opened)
    })?;
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
    app: &App,
    id: TicketId,
    text: String,
    internal: bool,
    actor: String,
) -> Result<Response, OpError> {
    if text.trim().is_empty() {
        return Err(OpError::BadRequest("empty comment".into()));
    }
    let draft = staff_draft(actor, text, internal);
    let c = write(app, |tx| {
        let mut ticket = load_in(tx, id)?;
        let c = app
            .workflow
            .add_comment(tx, &mut ticket, draft.clone(), &Trigger::default())?;
        tx.put_ticket(&ticket)?;
        Ok(c)
    })?;
    Ok(Response::Done {
        message: format!("comment {} added to #{id}", c.seq),
        ticket: Some(id),
    })
}

pub(super) fn change_status(
    app: &App,
    id: TicketId,
    close: bool,
    actor: &str,
) -> Result<Response, OpError> {
    let (changed, ticket) = write(app, |tx| {
        let mut ticket = load_in(tx, id)?;
        let trigger = Trigger::default();
        let changed = if close {
            app.workflow
                .close_ticket(tx, &mut ticket, actor, &trigger)?
        } else {
            app.workflow
                .reopen_ticket(tx, &mut ticket, actor, &trigger)?
        };
        tx.put_ticket(&ticket)?;
        Ok((changed, ticket))
    })?;
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

//! Turns parsed commands into [`Request`]s, the operations the daemon's
//! local API (or the store, when no daemon runs) carries out.

use super::args::{MessagesCommand, OutboxCommand, RecipientsCommand, TicketsCommand};
use super::read_text;
use crate::face::ops::{self, Request};
use crate::model::{Origin, Status, TicketId};

pub(super) fn tickets_request(c: TicketsCommand) -> anyhow::Result<Request> {
    Ok(match c {
        TicketsCommand::List {
            status,
            limit,
            before,
        } => Request::TicketsList {
            status: parse_status(status)?,
            limit,
            before: before.map(TicketId),
        },
        TicketsCommand::Show { id, from, limit } => Request::TicketShow {
            id: TicketId(id),
            from,
            limit,
        },
        TicketsCommand::Create(a) => Request::TicketCreate(ops::NewTicketRequest {
            subject: a.subject,
            requester: a.requester,
            recipients: a.cc,
            text: read_text(a.text)?,
            category: a.category,
            actor: "cli".into(),
            origin: Origin::Staff,
        }),
        TicketsCommand::Comment { id, text, internal } => Request::TicketComment {
            id: TicketId(id),
            text: read_text(text)?,
            internal,
            actor: "cli".into(),
        },
        TicketsCommand::Attachment {
            id, comment, index, ..
        } => Request::Attachment {
            id: TicketId(id),
            comment,
            index,
        },
        TicketsCommand::Close { id } => Request::TicketClose {
            id: TicketId(id),
            actor: "cli".into(),
        },
        TicketsCommand::Reopen { id } => Request::TicketReopen {
            id: TicketId(id),
            actor: "cli".into(),
        },
    })
}

fn parse_status(status: Option<String>) -> anyhow::Result<Option<Status>> {
    match status.as_deref() {
        None => Ok(None),
        Some("open") => Ok(Some(Status::Open)),
        Some("closed") => Ok(Some(Status::Closed)),
        Some(other) => anyhow::bail!("unknown status {other:?}; expected open or closed"),
    }
}

pub(super) fn recipients_request(c: RecipientsCommand) -> Request {
    match c {
        RecipientsCommand::List { id } => Request::RecipientsList { id: TicketId(id) },
        RecipientsCommand::Add { id, address } => Request::RecipientsAdd {
            id: TicketId(id),
            address,
        },
        RecipientsCommand::Remove { id, address } => Request::RecipientsRemove {
            id: TicketId(id),
            address,
        },
        RecipientsCommand::Confirm { id } => Request::RecipientsConfirm { id: TicketId(id) },
        RecipientsCommand::Reset { id, address } => Request::RecipientsReset {
            id: TicketId(id),
            address,
        },
    }
}

pub(super) fn outbox_request(c: OutboxCommand) -> Request {
    match c {
        OutboxCommand::List {
            status,
            limit,
            before,
        } => Request::OutboxList {
            status,
            limit,
            before,
        },
        OutboxCommand::Retry { id, .. } => Request::OutboxRetry { id },
        OutboxCommand::Deliver => unreachable!("handled before"),
    }
}

pub(super) fn messages_request(c: MessagesCommand) -> Request {
    match c {
        MessagesCommand::List {
            ignored,
            all,
            limit,
        } => {
            let filter = if all {
                "all"
            } else if ignored {
                "ignored"
            } else {
                "quarantined"
            };
            Request::MessagesList {
                filter: filter.into(),
                limit,
            }
        }
        MessagesCommand::Original { .. } => unreachable!("handled before"),
    }
}

//! A ticket's external recipients: listing, adding, removing,
//! confirming and resetting bounced addresses.

use super::tickets::{check_recipient_count, checked_address};
use super::{OpError, Response, load_in, write};
use crate::face::App;
use crate::model::{Ticket, TicketId};

pub(super) fn recipients(ticket: Ticket) -> Response {
    Response::Recipients {
        id: ticket.id,
        recipients: ticket.recipients,
        delivery: ticket.delivery,
    }
}

/// Adds or removes a recipient. Adding an address that bounced on the
/// ticket also clears its bounces: staff vouch for it again.
pub(super) fn edit_recipients(
    app: &App,
    id: TicketId,
    address: &str,
    add: bool,
) -> Result<Response, OpError> {
    let address = checked_address(address)?;
    if add && !app.workflow.config.is_external_address(&address) {
        return Err(OpError::BadRequest(format!(
            "{address} is a support or staff address, not an external recipient"
        )));
    }
    let wf = &app.workflow;
    let ticket = write(app, |tx| {
        let mut ticket = load_in(tx, id)?;
        if add && !ticket.recipients.contains(&address) {
            check_recipient_count(ticket.recipients.len() + 1)?;
        }
        let changed = wf.change_recipient(tx, &mut ticket, &address, add, "cli")?;
        let reset = add && wf.reset_delivery(tx, &mut ticket, &address, "cli")?;
        if changed || reset {
            tx.put_ticket(&ticket)?;
        }
        Ok(ticket)
    })?;
    Ok(recipients(ticket))
}

pub(super) fn confirm_recipients(app: &App, id: TicketId) -> Result<Response, OpError> {
    let ticket = write(app, |tx| {
        let mut ticket = load_in(tx, id)?;
        if !app.workflow.confirm_recipients(tx, &mut ticket, "cli")? {
            return Err(OpError::BadRequest(format!(
                "the recipients of #{id} need no confirmation"
            ))
            .into());
        }
        tx.put_ticket(&ticket)?;
        Ok(ticket)
    })?;
    Ok(recipients(ticket))
}

pub(super) fn reset_recipient(app: &App, id: TicketId, address: &str) -> Result<Response, OpError> {
    let address = checked_address(address)?;
    let ticket = write(app, |tx| {
        let mut ticket = load_in(tx, id)?;
        if !app
            .workflow
            .reset_delivery(tx, &mut ticket, &address, "cli")?
        {
            return Err(OpError::NotFound(format!("{address} has no bounces on #{id}")).into());
        }
        tx.put_ticket(&ticket)?;
        Ok(ticket)
    })?;
    Ok(recipients(ticket))
}

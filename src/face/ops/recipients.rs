//! A ticket's external recipients: listing, adding, removing,
//! confirming and resetting bounced addresses.

use super::tickets::{check_recipient_count, checked_address};
use super::{OpError, Response, load};
use crate::domain::desk::Desk;
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
    desk: &Desk,
    id: TicketId,
    address: &str,
    add: bool,
) -> Result<Response, OpError> {
    let address = checked_address(address)?;
    if add && !crate::domain::rules::is_external(&address, &desk.config) {
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

pub(super) fn confirm_recipients(desk: &Desk, id: TicketId) -> Result<Response, OpError> {
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

pub(super) fn reset_recipient(
    desk: &Desk,
    id: TicketId,
    address: &str,
) -> Result<Response, OpError> {
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

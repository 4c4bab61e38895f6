//! The outbox: paged listing and queueing items for another attempt.

use super::{MAX_PAGE, OpError, Response};
use crate::domain::desk::Desk;
use crate::model::outbox::{OutboxItem, OutboxStatus};

pub(super) fn list_outbox(
    desk: &Desk,
    status: Option<String>,
    limit: usize,
    before: Option<u64>,
) -> Result<Response, OpError> {
    let items = desk.store.outbox_page(status.as_deref(), before, limit)?;
    Ok(Response::Outbox { items })
}

pub(super) fn retry_outbox(desk: &Desk, id: Option<u64>) -> Result<Response, OpError> {
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
pub(super) fn retry_one(desk: &Desk, id: u64) -> Result<usize, OpError> {
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
pub(super) fn retry_given_up(desk: &Desk) -> Result<usize, OpError> {
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

pub(super) fn requeue(
    tx: &mut crate::store::WriteTx<'_>,
    items: &[OutboxItem],
) -> Result<usize, OpError> {
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

//! The outbox: paged listing and queueing items for another attempt.

use super::{MAX_PAGE, OpError, Response, write};
use crate::face::App;
use crate::model::outbox::{OutboxItem, OutboxStatus};
use crate::store::WriteTx;

pub(super) fn list_outbox(
    app: &App,
    status: Option<String>,
    limit: usize,
    before: Option<u64>,
) -> Result<Response, OpError> {
    let items = app.store.outbox_page(status.as_deref(), before, limit)?;
    Ok(Response::Outbox { items })
}

pub(super) fn retry_outbox(app: &App, id: Option<u64>) -> Result<Response, OpError> {
    let count = match id {
        Some(id) => retry_one(app, id)?,
        None => retry_given_up(app)?,
    };
    Ok(Response::Done {
        message: format!("{count} item(s) queued for delivery"),
        ticket: None,
    })
}

/// Queues one item again (held or given up); 0 when it is pending.
fn retry_one(app: &App, id: u64) -> Result<usize, OpError> {
    write(app, |tx| {
        let item = tx
            .outbox_record(id)?
            .ok_or_else(|| OpError::NotFound(format!("no outbox item {id}")))?;
        requeue(tx, &[item])
    })
}

/// Queues every given-up item again, a page per write.
fn retry_given_up(app: &App) -> Result<usize, OpError> {
    let (mut count, mut before) = (0, None);
    loop {
        let page = app.store.outbox_page(Some("gave_up"), before, MAX_PAGE)?;
        let Some(last) = page.last() else {
            return Ok(count);
        };
        before = Some(last.id);
        let ids: Vec<u64> = page.iter().map(|i| i.id).collect();
        count += write(app, |tx| {
            let mut current = Vec::new();
            for id in &ids {
                current.extend(tx.outbox_record(*id)?);
            }
            requeue(tx, &current)
        })?;
    }
}

/// Makes every item that is not pending pending again, due now.
fn requeue(tx: &mut dyn WriteTx, items: &[OutboxItem]) -> anyhow::Result<usize> {
    let mut count = 0;
    for item in items.iter().filter(|i| i.status != OutboxStatus::Pending) {
        let mut next = item.clone();
        next.status = OutboxStatus::Pending;
        next.attempts = 0;
        next.next_attempt_at = chrono::Utc::now();
        tx.put_outbox(&next)?;
        count += 1;
    }
    Ok(count)
}

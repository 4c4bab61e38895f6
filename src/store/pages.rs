//! Paged reads: every list the CLI and API show reads one page from the
//! store, so no listing or ticket view grows with the store or with one
//! ticket's history. Items are read without their template contexts.

use std::ops::Bound;

use super::overlay::Range;
use super::{Store, T, decode_u64, seq_key};
use crate::model::outbox::OutboxItem;
use crate::model::{Comment, MessageRecord, Status, Ticket, TicketEvent, TicketId};

/// Text a page of comments holds at most, in bytes (at least one comment
/// is always returned; one comment is bounded by the message size limit).
pub const COMMENT_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// A page of comments and where the next one starts.
#[derive(Debug, Clone, Default)]
pub struct CommentPage {
    /// Comments in order.
    pub comments: Vec<Comment>,
    /// `seq` of the first comment not returned, if any.
    pub next: Option<u32>,
}

impl Store {
    /// Tickets newest first, numbered below `before` (all when `None`),
    /// with `status` if given, at most `limit`.
    pub fn tickets_page(
        &self,
        status: Option<Status>,
        before: Option<TicketId>,
        limit: usize,
    ) -> anyhow::Result<Vec<Ticket>> {
        let mut tickets = Vec::new();
        for entry in self.entries(T::Tickets, below(before.map(|b| b.0)), true) {
            if tickets.len() >= limit {
                break;
            }
            let ticket: Ticket = self.decode(T::Tickets, entry?.1)?;
            if status.is_none_or(|s| ticket.status == s) {
                tickets.push(ticket);
            }
        }
        Ok(tickets)
    }

    /// Outbox records newest first, numbered below `before`, in `status`
    /// (its name, e.g. `gave_up`) if given, at most `limit`.
    pub fn outbox_page(
        &self,
        status: Option<&str>,
        before: Option<u64>,
        limit: usize,
    ) -> anyhow::Result<Vec<OutboxItem>> {
        let mut items = Vec::new();
        for entry in self.entries(T::Outbox, below(before), true) {
            if items.len() >= limit {
                break;
            }
            let item: OutboxItem = self.decode(T::Outbox, entry?.1)?;
            if status.is_none_or(|s| item.status.as_str() == s) {
                items.push(item);
            }
        }
        Ok(items)
    }

    /// The newest `limit` outbox records of a ticket, oldest first, and
    /// whether there are older ones.
    pub fn outbox_for_ticket(
        &self,
        id: TicketId,
        limit: usize,
    ) -> anyhow::Result<(Vec<OutboxItem>, bool)> {
        let mut items = Vec::new();
        let mut keys = self.with_prefix_desc(T::TicketOutbox, &id.0.to_be_bytes());
        for entry in keys.by_ref().take(limit) {
            let (key, _) = entry?;
            items.extend(self.outbox_record(decode_u64(&key[8..16]))?);
        }
        items.reverse();
        Ok((items, keys.next().is_some()))
    }

    /// One comment.
    pub fn comment(&self, id: TicketId, seq: u32) -> anyhow::Result<Option<Comment>> {
        self.get_json(T::Comments, &seq_key(id.0, seq))
    }

    /// Comments of a ticket from `from` on, at most `limit` and about
    /// [`COMMENT_PAGE_BYTES`] of text.
    pub fn comments_page(
        &self,
        id: TicketId,
        from: u32,
        limit: usize,
    ) -> anyhow::Result<CommentPage> {
        let mut page = CommentPage::default();
        let mut bytes = 0;
        let range = (
            Bound::Included(seq_key(id.0, from).to_vec()),
            Bound::Included(seq_key(id.0, u32::MAX).to_vec()),
        );
        for entry in self.entries(T::Comments, range, false) {
            let comment: Comment = self.decode(T::Comments, entry?.1)?;
            if page.comments.len() >= limit || (bytes >= COMMENT_PAGE_BYTES) {
                page.next = Some(comment.seq);
                break;
            }
            bytes += comment.text.len() + comment.html.as_ref().map_or(0, String::len);
            page.comments.push(comment);
        }
        Ok(page)
    }

    /// Up to `limit` records of messages that arrived for a ticket, oldest
    /// first, and whether there are more (not in arrival order across
    /// pages: the index is keyed by fingerprint).
    pub fn messages_for_ticket(
        &self,
        id: TicketId,
        limit: usize,
    ) -> anyhow::Result<(Vec<MessageRecord>, bool)> {
        let mut records = Vec::new();
        let mut keys = self.with_prefix(T::TicketMessages, &id.0.to_be_bytes());
        for entry in keys.by_ref().take(limit) {
            let (key, _) = entry?;
            let fingerprint = String::from_utf8_lossy(&key[8..]).into_owned();
            records.extend(self.message(&fingerprint)?);
        }
        records.sort_by_key(|r| r.received_at);
        Ok((records, keys.next().is_some()))
    }

    /// The newest `limit` events of a ticket, oldest first.
    pub fn latest_events(&self, id: TicketId, limit: usize) -> anyhow::Result<Vec<TicketEvent>> {
        let mut events = self
            .with_prefix_desc(T::Events, &id.0.to_be_bytes())
            .take(limit)
            .map(|r| self.decode(T::Events, r?.1))
            .collect::<anyhow::Result<Vec<TicketEvent>>>()?;
        events.reverse();
        Ok(events)
    }
}

/// Keys (u64 BE) below `before`, or all.
fn below(before: Option<u64>) -> Range {
    let end = before.map_or(Bound::Unbounded, |b| {
        Bound::Excluded(b.to_be_bytes().to_vec())
    });
    (Bound::Unbounded, end)
}

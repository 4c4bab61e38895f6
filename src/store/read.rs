//! Typed reads. Every read sees committed writes (flushed or not).

use std::ops::Bound;

use chrono::{DateTime, Utc};

use anyhow::Context;

use super::blobs::BlobRef;
use super::{Store, T, decode_u64, due_key, requester_key, ticket_rate_key};
use crate::model::outbox::OutboxItem;
use crate::model::{Comment, MessageRecord, Ticket, TicketEvent, TicketId};

impl Store {
    /// A ticket by number.
    pub fn ticket(&self, id: TicketId) -> anyhow::Result<Option<Ticket>> {
        self.get_json(T::Tickets, &id.0.to_be_bytes())
    }

    /// Tickets in number order, newest first, at most `limit`.
    pub fn tickets(&self, limit: usize) -> anyhow::Result<Vec<Ticket>> {
        self.all(T::Tickets, true)
            .take(limit)
            .map(|r| self.decode(T::Tickets, r?.1))
            .collect()
    }

    /// Number of tickets stored (tickets are never deleted, so this is the
    /// number of ticket ids handed out).
    pub fn ticket_count(&self) -> anyhow::Result<u64> {
        Ok(self.counter("next_ticket")? - 1)
    }

    /// The next value of a counter in `meta` (1 before its first use).
    pub(super) fn counter(&self, name: &str) -> anyhow::Result<u64> {
        let value = self.get(T::Meta, name.as_bytes())?;
        Ok(value.map(|v| decode_u64(&v)).unwrap_or(1))
    }

    /// All comments of a ticket in order.
    pub fn comments(&self, id: TicketId) -> anyhow::Result<Vec<Comment>> {
        self.with_prefix(T::Comments, &id.0.to_be_bytes())
            .map(|r| self.decode(T::Comments, r?.1))
            .collect()
    }

    /// A ticket's history in order.
    pub fn events(&self, id: TicketId) -> anyhow::Result<Vec<TicketEvent>> {
        self.with_prefix(T::Events, &id.0.to_be_bytes())
            .map(|r| self.decode(T::Events, r?.1))
            .collect()
    }

    /// The record of an ingested message, by fingerprint.
    pub fn message(&self, fingerprint: &str) -> anyhow::Result<Option<MessageRecord>> {
        self.get(T::Messages, fingerprint.as_bytes())?
            .map(|stored| decode_message(&stored))
            .transpose()
    }

    /// Every message record (for quarantine and ignored listings).
    pub fn messages(&self) -> impl Iterator<Item = anyhow::Result<MessageRecord>> + '_ {
        self.all(T::Messages, false).map(|r| decode_message(&r?.1))
    }

    /// Raw bytes of a stored message (`key` is its record's `raw_key`).
    pub fn raw(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let referenced = self.get(T::Messages, key.as_bytes())?;
        if let Some(blob) = referenced.and_then(|v| BlobRef::split_prefix(&v).0) {
            return self.inner.shared.blobs.read(&blob).map(Some);
        }
        // Stores written before records carried the reference.
        match self.get(T::RawRefs, key.as_bytes())? {
            Some(stored) => self.load(T::RawRefs, stored).map(Some),
            None => self.get(T::Raw, key.as_bytes()),
        }
    }

    /// The ticket a Message-ID was stored for.
    pub fn ticket_for_message_id(&self, message_id: &str) -> anyhow::Result<Option<TicketId>> {
        let key = message_id.to_ascii_lowercase();
        Ok(self
            .get(T::MessageIds, key.as_bytes())?
            .map(|v| TicketId(decode_u64(&v))))
    }

    /// Whether `requester` (normalized) opened any ticket before.
    pub fn has_ticket_from(&self, requester: &str) -> anyhow::Result<bool> {
        let prefix = requester_key(requester, None);
        self.with_prefix(T::RequesterTickets, &prefix)
            .next()
            .transpose()
            .map(|first| first.is_some())
    }

    /// Indexes the requesters of a store written before the index existed.
    pub(super) fn index_requesters_once(&self) -> anyhow::Result<()> {
        const INDEXED_FLAG: &str = "requester_tickets_v1";
        if self.get(T::Meta, INDEXED_FLAG.as_bytes())?.is_some() {
            return Ok(());
        }
        let mut tx = self.begin();
        for entry in self.all(T::Tickets, false) {
            let ticket: Ticket = self.decode(T::Tickets, entry?.1)?;
            tx.index_requester(&ticket.requester, ticket.id);
        }
        tx.put(T::Meta, INDEXED_FLAG, vec![1]);
        tx.commit()?;
        self.flush()
    }

    /// The open ticket collecting a correlation key's mail, if any.
    pub fn correlated_ticket(&self, key: &str) -> anyhow::Result<Option<TicketId>> {
        Ok(self
            .get(T::Correlations, key.as_bytes())?
            .map(|v| TicketId(decode_u64(&v))))
    }

    /// An outbox item's record without its template context (left
    /// `Null`), which events share and which can be large.
    pub fn outbox_record(&self, id: u64) -> anyhow::Result<Option<OutboxItem>> {
        self.get_json(T::Outbox, &id.to_be_bytes())
    }

    /// An outbox item with its template context, to render it.
    pub fn outbox_item(&self, id: u64) -> anyhow::Result<Option<OutboxItem>> {
        let key = id.to_be_bytes();
        let Some(mut item) = self.outbox_record(id)? else {
            return Ok(None);
        };
        if item.context.is_null()
            && let Some(context) = self.get_json(T::OutboxContext, &key)?
        {
            item.context = context;
        }
        Ok(Some(item))
    }

    /// Outbox items with their contexts, newest first, at most `limit`.
    pub fn outbox_items(&self, limit: usize) -> anyhow::Result<Vec<OutboxItem>> {
        let mut items = Vec::new();
        for entry in self.all(T::Outbox, true).take(limit) {
            items.extend(self.outbox_item(decode_u64(&entry?.0))?);
        }
        Ok(items)
    }

    /// Records (no context) of pending items whose next attempt is due at
    /// `now`, oldest first: the sender loads each one's context as it
    /// sends it.
    pub fn outbox_due(&self, now: DateTime<Utc>, limit: usize) -> anyhow::Result<Vec<OutboxItem>> {
        let end = due_key(now, u64::MAX).to_vec();
        let mut items = Vec::new();
        let due = self.entries(
            T::OutboxDue,
            (Bound::Unbounded, Bound::Included(end)),
            false,
        );
        for entry in due.take(limit) {
            let (key, _) = entry?;
            items.extend(self.outbox_record(decode_u64(&key[8..16]))?);
        }
        Ok(items)
    }

    /// Earliest pending attempt time, if anything is pending.
    pub fn outbox_next_due(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        let Some(first) = self.all(T::OutboxDue, false).next() else {
            return Ok(None);
        };
        let id = decode_u64(&first?.0[8..16]);
        Ok(self.outbox_record(id)?.map(|i| i.next_attempt_at))
    }

    /// Number of pending outbox items.
    pub fn outbox_pending_count(&self) -> usize {
        self.all(T::OutboxDue, false).count()
    }

    /// Recent automatic send times for a recipient.
    pub fn rate(&self, recipient: &str) -> anyhow::Result<Vec<DateTime<Utc>>> {
        Ok(self
            .get_json(T::Rate, recipient.as_bytes())?
            .unwrap_or_default())
    }

    /// Recent automatic send times to a recipient about one ticket.
    pub fn ticket_rate(
        &self,
        ticket: TicketId,
        recipient: &str,
    ) -> anyhow::Result<Vec<DateTime<Utc>>> {
        Ok(self
            .get_json(T::Rate, &ticket_rate_key(ticket, recipient))?
            .unwrap_or_default())
    }
}

/// A `messages` value: the raw original's reference, then the record as
/// JSON (records written before the reference was kept there are JSON
/// alone).
fn decode_message(stored: &[u8]) -> anyhow::Result<MessageRecord> {
    let (_, record) = BlobRef::split_prefix(stored);
    serde_json::from_slice(record).context("Decoding a message record")
}

//! Write transactions: typed puts collected under the store's write lock
//! and committed atomically across trees as one journal record.

use std::collections::HashMap;
use std::sync::MutexGuard;

use anyhow::Context;
use serde::Serialize;

use super::engine::Writer;
use super::journal::Op;
use super::{Store, T, due_key, requester_key, seq_key, ticket_rate_key};
use crate::model::outbox::{OutboxItem, OutboxStatus};
use crate::model::{Comment, MessageRecord, Ticket, TicketEvent, TicketId};

/// An alert context stored by [`WriteTx::put_alert_context`], for the
/// items that render from it.
pub struct AlertContext(Vec<u8>);

/// A pending atomic write. Dropping it without [`WriteTx::commit`] writes
/// nothing.
pub struct WriteTx<'s> {
    store: &'s Store,
    writer: MutexGuard<'s, Writer>,
    ops: Vec<(T, Vec<u8>, Option<Vec<u8>>)>,
    /// Position in `ops` of the last write to each key of the trees read
    /// back through the write (`rate`), so such a read costs O(1) however
    /// large the write grows (a fan-out writes thousands of ops).
    last_write: HashMap<(u8, Vec<u8>), usize>,
    next_ticket: Option<u64>,
    next_outbox: Option<u64>,
}

impl<'s> WriteTx<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        WriteTx {
            store,
            writer: store.lock_writer(),
            ops: Vec::new(),
            last_write: HashMap::new(),
            next_ticket: None,
            next_outbox: None,
        }
    }

    pub(super) fn put(&mut self, tree: T, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.push(tree, key.into(), Some(value.into()));
    }

    fn push(&mut self, tree: T, key: Vec<u8>, value: Option<Vec<u8>>) {
        if matches!(tree, T::Rate) {
            self.last_write
                .insert((tree as u8, key.clone()), self.ops.len());
        }
        self.ops.push((tree, key, value));
    }

    fn put_json(
        &mut self,
        tree: T,
        key: impl Into<Vec<u8>>,
        value: &impl Serialize,
    ) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec(value).context("Encoding a store record")?;
        self.put(tree, key, bytes);
        Ok(())
    }

    /// Writes an immutable value to a blob segment and puts its reference.
    fn put_blob(&mut self, tree: T, key: impl Into<Vec<u8>>, value: &[u8]) -> anyhow::Result<()> {
        let blob = self.writer.blobs.append(value)?;
        self.put(tree, key, blob.encode());
        Ok(())
    }

    pub(super) fn remove(&mut self, tree: T, key: impl Into<Vec<u8>>) {
        self.push(tree, key.into(), None);
    }

    /// Reserves the next ticket number.
    pub fn next_ticket_id(&mut self) -> anyhow::Result<TicketId> {
        let next = match self.next_ticket {
            Some(n) => n,
            None => self.store.counter("next_ticket")?,
        };
        self.next_ticket = Some(next + 1);
        self.put(T::Meta, "next_ticket", (next + 1).to_be_bytes());
        Ok(TicketId(next))
    }

    /// Reserves the next outbox item id.
    pub fn next_outbox_id(&mut self) -> anyhow::Result<u64> {
        let next = match self.next_outbox {
            Some(n) => n,
            None => self.store.counter("next_outbox")?,
        };
        self.next_outbox = Some(next + 1);
        self.put(T::Meta, "next_outbox", (next + 1).to_be_bytes());
        Ok(next)
    }

    /// Inserts or replaces a ticket.
    pub fn put_ticket(&mut self, ticket: &Ticket) -> anyhow::Result<()> {
        self.put_json(T::Tickets, ticket.id.0.to_be_bytes(), ticket)
    }

    /// Inserts a comment.
    pub fn put_comment(&mut self, ticket: TicketId, comment: &Comment) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec(comment).context("Encoding a comment")?;
        self.put_blob(T::Comments, seq_key(ticket.0, comment.seq), &bytes)
    }

    /// Appends a history entry.
    pub fn put_event(&mut self, ticket: TicketId, event: &TicketEvent) -> anyhow::Result<()> {
        self.put_json(T::Events, seq_key(ticket.0, event.seq), event)
    }

    /// Records an ingested message with its raw bytes (indexed under its
    /// ticket, if any). The bytes go to a blob segment; the record keeps
    /// their reference (see `messages` in the module doc).
    pub fn put_message(&mut self, record: &MessageRecord, raw: &[u8]) -> anyhow::Result<()> {
        if let Some(ticket) = record.disposition.ticket() {
            let mut key = ticket.0.to_be_bytes().to_vec();
            key.extend_from_slice(record.fingerprint.as_bytes());
            self.put(T::TicketMessages, key, Vec::new());
        }
        self.log_message(record);
        let mut value = self.writer.blobs.append(raw)?.encode();
        serde_json::to_writer(&mut value, record).context("Encoding a message record")?;
        self.put(T::Messages, record.fingerprint.as_bytes(), value);
        Ok(())
    }

    /// Remembers that a Message-ID belongs to a ticket.
    pub fn index_message_id(&mut self, message_id: &str, ticket: TicketId) {
        self.put(
            T::MessageIds,
            message_id.to_ascii_lowercase(),
            ticket.0.to_be_bytes(),
        );
    }

    /// Remembers that `requester` opened `ticket`.
    pub fn index_requester(&mut self, requester: &str, ticket: TicketId) {
        self.put(
            T::RequesterTickets,
            requester_key(requester, Some(ticket)),
            Vec::new(),
        );
    }

    /// Points a correlation key at the open ticket that collects its mail.
    pub fn index_correlation(&mut self, key: &str, ticket: TicketId) {
        self.put(T::Correlations, key.as_bytes(), ticket.0.to_be_bytes());
    }

    /// Forgets a correlation key (its ticket was closed).
    pub fn unindex_correlation(&mut self, key: &str) {
        self.remove(T::Correlations, key.as_bytes());
    }

    /// Stores the template context of one event's alerts (written once,
    /// whatever the number of items that share it).
    pub fn put_alert_context(
        &mut self,
        context: &serde_json::Value,
    ) -> anyhow::Result<AlertContext> {
        let bytes = serde_json::to_vec(context).context("Encoding an alert")?;
        let blob = self.writer.blobs.append(&bytes)?;
        Ok(AlertContext(blob.encode()))
    }

    /// Inserts a new outbox item rendered from `context` (the item's own
    /// `context` field is not stored), indexed under its ticket and, when
    /// pending, by due time.
    pub fn put_new_outbox(
        &mut self,
        item: &OutboxItem,
        context: &AlertContext,
    ) -> anyhow::Result<()> {
        let mut key = item.ticket.0.to_be_bytes().to_vec();
        key.extend_from_slice(&item.id.to_be_bytes());
        self.put(T::TicketOutbox, key, Vec::new());
        self.put(T::OutboxContext, item.id.to_be_bytes(), context.0.clone());
        self.put_outbox_record(item, None)
    }

    /// Updates an outbox item, keeping the due index in step. Its context
    /// never changes; only the small record is rewritten.
    pub fn put_outbox(&mut self, item: &OutboxItem, previous: &OutboxItem) -> anyhow::Result<()> {
        self.put_outbox_record(item, Some(previous))
    }

    fn put_outbox_record(
        &mut self,
        item: &OutboxItem,
        previous: Option<&OutboxItem>,
    ) -> anyhow::Result<()> {
        if let Some(prev) = previous.filter(|p| p.status == OutboxStatus::Pending) {
            self.remove(T::OutboxDue, due_key(prev.next_attempt_at, prev.id));
        }
        if item.status == OutboxStatus::Pending {
            self.put(
                T::OutboxDue,
                due_key(item.next_attempt_at, item.id),
                Vec::new(),
            );
        }
        if item.context.is_null() {
            return self.put_json(T::Outbox, item.id.to_be_bytes(), item);
        }
        let record = OutboxItem {
            context: serde_json::Value::Null,
            ..item.clone()
        };
        self.put_json(T::Outbox, item.id.to_be_bytes(), &record)
    }

    /// The last value this write puts under `key` in `tree`, if any
    /// (`Some(None)` when it removes the key). Only for trees indexed in
    /// `last_write`.
    fn pending(&self, tree: T, key: &[u8]) -> Option<Option<&[u8]>> {
        let position = *self.last_write.get(&(tree as u8, key.to_vec()))?;
        self.ops.get(position).map(|(_, _, v)| v.as_deref())
    }

    fn pending_times(
        &self,
        key: &[u8],
    ) -> anyhow::Result<Option<Vec<chrono::DateTime<chrono::Utc>>>> {
        match self.pending(T::Rate, key) {
            Some(Some(bytes)) => Ok(Some(
                serde_json::from_slice(bytes).context("Decoding pending send times")?,
            )),
            Some(None) => Ok(Some(Vec::new())),
            None => Ok(None),
        }
    }

    /// A recipient's recent automatic send times as this write leaves them.
    pub fn rate(&self, recipient: &str) -> anyhow::Result<Vec<chrono::DateTime<chrono::Utc>>> {
        match self.pending_times(recipient.as_bytes())? {
            Some(times) => Ok(times),
            None => self.store.rate(recipient),
        }
    }

    /// A recipient's recent automatic send times about one ticket, as this
    /// write leaves them.
    pub fn ticket_rate(
        &self,
        ticket: TicketId,
        recipient: &str,
    ) -> anyhow::Result<Vec<chrono::DateTime<chrono::Utc>>> {
        match self.pending_times(&ticket_rate_key(ticket, recipient))? {
            Some(times) => Ok(times),
            None => self.store.ticket_rate(ticket, recipient),
        }
    }

    /// Replaces a recipient's recent automatic send times.
    pub fn put_rate(
        &mut self,
        recipient: &str,
        times: &[chrono::DateTime<chrono::Utc>],
    ) -> anyhow::Result<()> {
        self.put_json(T::Rate, recipient.as_bytes(), &times)
    }

    /// Replaces a recipient's recent automatic send times about one ticket.
    pub fn put_ticket_rate(
        &mut self,
        ticket: TicketId,
        recipient: &str,
        times: &[chrono::DateTime<chrono::Utc>],
    ) -> anyhow::Result<()> {
        self.put_json(T::Rate, ticket_rate_key(ticket, recipient), &times)
    }

    /// Replaces a mailbox's checkpoint.
    pub fn put_checkpoint(
        &mut self,
        mailbox: &str,
        checkpoint: &super::MailboxCheckpoint,
    ) -> anyhow::Result<()> {
        self.put_json(T::Checkpoints, mailbox.as_bytes(), checkpoint)
    }

    /// Commits every collected write atomically: one journal record, then
    /// visible to readers (durable with the next [`Store::flush`]).
    pub fn commit(mut self) -> anyhow::Result<()> {
        if self.ops.is_empty() {
            return Ok(());
        }
        self.last_write.clear();
        let ops: Vec<Op> = std::mem::take(&mut self.ops)
            .into_iter()
            .map(|(tree, key, value)| Op {
                tree: tree as u8,
                key,
                value,
            })
            .collect();
        self.store.inner.commit(&mut self.writer, ops)
    }
}

impl Drop for WriteTx<'_> {
    fn drop(&mut self) {
        // Large values of a write that was never committed are not kept.
        self.writer.blobs.discard_unwritten();
    }
}

//! Typed reads. Every read sees committed writes (flushed or not).

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use super::{Store, T, decode_u64, due_key, ticket_rate_key};
use crate::model::{Comment, MessageRecord, Ticket, TicketEvent, TicketId};
use crate::outbox::OutboxItem;

fn decode<V: DeserializeOwned>(bytes: &[u8]) -> anyhow::Result<V> {
    serde_json::from_slice(bytes).context("Decoding a store record")
}

impl Store {
    /// A ticket by number.
    pub fn ticket(&self, id: TicketId) -> anyhow::Result<Option<Ticket>> {
        self.tree(T::Tickets)
            .get(id.0.to_be_bytes())?
            .map(|v| decode(&v))
            .transpose()
    }

    /// Tickets in number order, newest first, at most `limit`.
    pub fn tickets(&self, limit: usize) -> anyhow::Result<Vec<Ticket>> {
        self.tree(T::Tickets)
            .iter()
            .rev()
            .take(limit)
            .map(|r| decode(&r?.1))
            .collect()
    }

    /// Number of tickets stored.
    pub fn ticket_count(&self) -> usize {
        self.tree(T::Tickets).len()
    }

    /// All comments of a ticket in order.
    pub fn comments(&self, id: TicketId) -> anyhow::Result<Vec<Comment>> {
        self.tree(T::Comments)
            .scan_prefix(id.0.to_be_bytes())
            .map(|r| decode(&r?.1))
            .collect()
    }

    /// A ticket's history in order.
    pub fn events(&self, id: TicketId) -> anyhow::Result<Vec<TicketEvent>> {
        self.tree(T::Events)
            .scan_prefix(id.0.to_be_bytes())
            .map(|r| decode(&r?.1))
            .collect()
    }

    /// The record of an ingested message, by fingerprint.
    pub fn message(&self, fingerprint: &str) -> anyhow::Result<Option<MessageRecord>> {
        self.tree(T::Messages)
            .get(fingerprint.as_bytes())?
            .map(|v| decode(&v))
            .transpose()
    }

    /// Every message record (for quarantine and ignored listings).
    pub fn messages(&self) -> impl Iterator<Item = anyhow::Result<MessageRecord>> + '_ {
        self.tree(T::Messages).iter().map(|r| decode(&r?.1))
    }

    /// Messages that arrived for a ticket, oldest first.
    pub fn messages_for_ticket(&self, id: TicketId) -> anyhow::Result<Vec<MessageRecord>> {
        let mut records = Vec::new();
        for entry in self.tree(T::TicketMessages).scan_prefix(id.0.to_be_bytes()) {
            let (key, _) = entry?;
            let fingerprint = String::from_utf8_lossy(&key[8..]).into_owned();
            records.extend(self.message(&fingerprint)?);
        }
        records.sort_by_key(|r| r.received_at);
        Ok(records)
    }

    /// Outbox items of a ticket, oldest first.
    pub fn outbox_for_ticket(&self, id: TicketId) -> anyhow::Result<Vec<OutboxItem>> {
        let mut items = Vec::new();
        for entry in self.tree(T::TicketOutbox).scan_prefix(id.0.to_be_bytes()) {
            let (key, _) = entry?;
            items.extend(self.outbox_item(decode_u64(&key[8..16]))?);
        }
        Ok(items)
    }

    /// Raw bytes of a stored message.
    pub fn raw(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self.tree(T::Raw).get(key.as_bytes())?.map(|v| v.to_vec()))
    }

    /// The ticket a Message-ID was stored for.
    pub fn ticket_for_message_id(&self, message_id: &str) -> anyhow::Result<Option<TicketId>> {
        let key = message_id.to_ascii_lowercase();
        Ok(self
            .tree(T::MessageIds)
            .get(key)?
            .map(|v| TicketId(decode_u64(&v))))
    }

    /// The open ticket collecting a correlation key's mail, if any.
    pub fn correlated_ticket(&self, key: &str) -> anyhow::Result<Option<TicketId>> {
        Ok(self
            .tree(T::Correlations)
            .get(key.as_bytes())?
            .map(|v| TicketId(decode_u64(&v))))
    }

    /// An outbox item.
    pub fn outbox_item(&self, id: u64) -> anyhow::Result<Option<OutboxItem>> {
        self.tree(T::Outbox)
            .get(id.to_be_bytes())?
            .map(|v| decode(&v))
            .transpose()
    }

    /// Outbox items, newest first, at most `limit`.
    pub fn outbox_items(&self, limit: usize) -> anyhow::Result<Vec<OutboxItem>> {
        self.tree(T::Outbox)
            .iter()
            .rev()
            .take(limit)
            .map(|r| decode(&r?.1))
            .collect()
    }

    /// Pending items whose next attempt is due at `now`, oldest first.
    pub fn outbox_due(&self, now: DateTime<Utc>, limit: usize) -> anyhow::Result<Vec<OutboxItem>> {
        let end = due_key(now, u64::MAX);
        let mut items = Vec::new();
        for entry in self.tree(T::OutboxDue).range(..=end.as_slice()).take(limit) {
            let (key, _) = entry?;
            let id = decode_u64(&key[8..16]);
            if let Some(item) = self.outbox_item(id)? {
                items.push(item);
            }
        }
        Ok(items)
    }

    /// Earliest pending attempt time, if anything is pending.
    pub fn outbox_next_due(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        let Some((key, _)) = self.tree(T::OutboxDue).first()? else {
            return Ok(None);
        };
        let id = decode_u64(&key[8..16]);
        Ok(self.outbox_item(id)?.map(|i| i.next_attempt_at))
    }

    /// Number of pending outbox items.
    pub fn outbox_pending_count(&self) -> usize {
        self.tree(T::OutboxDue).len()
    }

    /// Recent automatic send times for a recipient.
    pub fn rate(&self, recipient: &str) -> anyhow::Result<Vec<DateTime<Utc>>> {
        Ok(self
            .tree(T::Rate)
            .get(recipient.as_bytes())?
            .map(|v| decode(&v))
            .transpose()?
            .unwrap_or_default())
    }

    /// Recent automatic send times to a recipient about one ticket.
    pub fn ticket_rate(
        &self,
        ticket: TicketId,
        recipient: &str,
    ) -> anyhow::Result<Vec<DateTime<Utc>>> {
        Ok(self
            .tree(T::Rate)
            .get(ticket_rate_key(ticket, recipient))?
            .map(|v| decode(&v))
            .transpose()?
            .unwrap_or_default())
    }
}

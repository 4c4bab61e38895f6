//! A write of the embedded engine: typed changes collected under the
//! store's writer lock, read back by the write itself, and applied as one
//! sled transaction when the work is done (see `commit.rs`). Raw message
//! bytes wait here until then too, to be written as files.

use std::collections::BTreeMap;
use std::ops::Bound;

use chrono::{DateTime, Utc};

use super::keys::{self, Tree};
use super::reads::{Get, get_json};
use crate::model::outbox::{OutboxItem, OutboxStatus};
use crate::model::{Comment, MessageRecord, Ticket, TicketEvent, TicketId};
use crate::store::{AlertContextId, MailboxCheckpoint, MessageKind, Savepoint, WriteTx};

/// One change: a key of a tree set to a value, or removed.
pub(super) type Op = (Tree, Vec<u8>, Option<Vec<u8>>);

/// A write in progress.
pub(super) struct SledTx<'s> {
    committed: &'s dyn Get,
    ops: Vec<Op>,
    /// Position in `ops` of the last change to each key.
    latest: BTreeMap<(Tree, Vec<u8>), usize>,
    /// Raw originals to write as files: (position in `ops` when added, raw
    /// key, bytes).
    raw: Vec<(usize, String, Vec<u8>)>,
}

impl<'s> SledTx<'s> {
    pub fn new(committed: &'s dyn Get) -> Self {
        SledTx {
            committed,
            ops: Vec::new(),
            latest: BTreeMap::new(),
            raw: Vec::new(),
        }
    }

    /// The changes and raw files, to commit.
    pub fn into_parts(self) -> (Vec<Op>, Vec<(String, Vec<u8>)>) {
        let raw = self.raw.into_iter().map(|(_, k, v)| (k, v)).collect();
        (self.ops, raw)
    }

    /// Bytes this write adds, roughly (for the free-space check).
    pub fn size(&self) -> u64 {
        let ops: usize = self
            .ops
            .iter()
            .map(|(_, k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
            .sum();
        let raw: usize = self.raw.iter().map(|(_, _, v)| v.len()).sum();
        (ops + raw) as u64
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.raw.is_empty()
    }

    fn set(&mut self, tree: Tree, key: impl Into<Vec<u8>>, value: Option<Vec<u8>>) {
        let key = key.into();
        self.latest.insert((tree, key.clone()), self.ops.len());
        self.ops.push((tree, key, value));
    }

    fn put(&mut self, tree: Tree, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.set(tree, key, Some(value.into()));
    }

    fn remove(&mut self, tree: Tree, key: impl Into<Vec<u8>>) {
        self.set(tree, key, None);
    }

    fn put_json(
        &mut self,
        tree: Tree,
        key: impl Into<Vec<u8>>,
        value: &impl serde::Serialize,
    ) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec(value)?;
        self.put(tree, key, bytes);
        Ok(())
    }

    /// Reserves the next value of a counter in `meta` (1 the first time).
    fn next(&mut self, counter: &str) -> anyhow::Result<u64> {
        let next = self
            .get(Tree::Meta, counter.as_bytes())?
            .map_or(1, |v| keys::decode_u64(&v));
        self.put(
            Tree::Meta,
            counter.as_bytes().to_vec(),
            (next + 1).to_be_bytes(),
        );
        Ok(next)
    }

    /// Whether this write puts any key starting with `prefix` in `tree`.
    fn puts_prefix(&self, tree: Tree, prefix: &[u8]) -> bool {
        let (start, end) = keys::prefix_range(prefix);
        let end = match end {
            Bound::Excluded(e) => Bound::Excluded((tree, e)),
            _ => Bound::Unbounded,
        };
        let start = match start {
            Bound::Included(s) => Bound::Included((tree, s)),
            _ => Bound::Unbounded,
        };
        self.latest
            .range((start, end))
            .take_while(|((t, _), _)| *t == tree)
            .any(|(_, pos)| self.ops[*pos].2.is_some())
    }

    fn index_ticket(&mut self, ticket: &Ticket, previous: Option<&Ticket>) {
        match previous {
            None => self.put(
                Tree::RequesterTickets,
                keys::requester_key(&ticket.requester, Some(ticket.id)),
                Vec::new(),
            ),
            Some(p) if p.status != ticket.status => {
                self.remove(Tree::TicketsByStatus, keys::status_key(p.status, p.id));
            }
            Some(_) => return,
        }
        self.put(
            Tree::TicketsByStatus,
            keys::status_key(ticket.status, ticket.id),
            Vec::new(),
        );
    }

    fn index_due(&mut self, item: &OutboxItem, previous: Option<&OutboxItem>) {
        if let Some(p) = previous.filter(|p| p.status == OutboxStatus::Pending) {
            self.remove(Tree::OutboxDue, keys::due_key(p.next_attempt_at, p.id));
        }
        if item.status == OutboxStatus::Pending {
            self.put(
                Tree::OutboxDue,
                keys::due_key(item.next_attempt_at, item.id),
                Vec::new(),
            );
        }
    }
}

impl Get for SledTx<'_> {
    fn get(&self, tree: Tree, key: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
        match self.latest.get(&(tree, key.to_vec())) {
            Some(pos) => Ok(self.ops[*pos].2.clone()),
            None => self.committed.get(tree, key),
        }
    }

    fn any_with_prefix(&self, tree: Tree, prefix: &[u8]) -> anyhow::Result<bool> {
        Ok(self.puts_prefix(tree, prefix) || self.committed.any_with_prefix(tree, prefix)?)
    }
}

impl WriteTx for SledTx<'_> {
    fn next_ticket_id(&mut self) -> anyhow::Result<TicketId> {
        self.next("next_ticket").map(TicketId)
    }

    fn next_outbox_id(&mut self) -> anyhow::Result<u64> {
        self.next("next_outbox")
    }

    fn ticket(&self, id: TicketId) -> anyhow::Result<Option<Ticket>> {
        get_json(self, Tree::Tickets, &keys::id_key(id.0))
    }

    fn put_ticket(&mut self, ticket: &Ticket) -> anyhow::Result<()> {
        let previous = self.ticket(ticket.id)?;
        self.index_ticket(ticket, previous.as_ref());
        self.put_json(Tree::Tickets, keys::id_key(ticket.id.0), ticket)
    }

    fn has_ticket_from(&self, requester: &str) -> anyhow::Result<bool> {
        self.any_with_prefix(
            Tree::RequesterTickets,
            &keys::requester_key(requester, None),
        )
    }

    fn put_comment(&mut self, ticket: TicketId, comment: &Comment) -> anyhow::Result<()> {
        self.put_json(Tree::Comments, keys::seq_key(ticket, comment.seq), comment)
    }

    fn put_event(&mut self, ticket: TicketId, event: &TicketEvent) -> anyhow::Result<()> {
        self.put_json(Tree::Events, keys::seq_key(ticket, event.seq), event)
    }

    fn message(&self, fingerprint: &str) -> anyhow::Result<Option<MessageRecord>> {
        get_json(self, Tree::Messages, fingerprint.as_bytes())
    }

    fn put_message(&mut self, record: &MessageRecord, raw: &[u8]) -> anyhow::Result<()> {
        if let Some(ticket) = record.disposition.ticket() {
            let key = keys::ticket_message_key(ticket, record.received_at, &record.fingerprint);
            self.put(Tree::TicketMessages, key, Vec::new());
        }
        self.put(Tree::MessageLog, MessageKind::log_key(record), Vec::new());
        self.raw
            .push((self.ops.len(), record.raw_key.clone(), raw.to_vec()));
        self.put_json(Tree::Messages, record.fingerprint.as_bytes(), record)
    }

    fn ticket_for_message_id(&self, message_id: &str) -> anyhow::Result<Option<TicketId>> {
        let key = message_id.to_ascii_lowercase();
        let value = self.get(Tree::MessageIds, key.as_bytes())?;
        Ok(value.map(|v| TicketId(keys::decode_u64(&v))))
    }

    fn index_message_id(&mut self, message_id: &str, ticket: TicketId) -> anyhow::Result<()> {
        let key = message_id.to_ascii_lowercase();
        self.put(Tree::MessageIds, key, keys::id_key(ticket.0));
        Ok(())
    }

    fn correlated_ticket(&self, key: &str) -> anyhow::Result<Option<TicketId>> {
        let value = self.get(Tree::Correlations, key.as_bytes())?;
        Ok(value.map(|v| TicketId(keys::decode_u64(&v))))
    }

    fn index_correlation(&mut self, key: &str, ticket: TicketId) -> anyhow::Result<()> {
        self.put(
            Tree::Correlations,
            key.as_bytes().to_vec(),
            keys::id_key(ticket.0),
        );
        Ok(())
    }

    fn unindex_correlation(&mut self, key: &str) -> anyhow::Result<()> {
        self.remove(Tree::Correlations, key.as_bytes().to_vec());
        Ok(())
    }

    fn put_alert_context(&mut self, context: &serde_json::Value) -> anyhow::Result<AlertContextId> {
        let id = self.next("next_alert_context")?;
        self.put_json(Tree::AlertContexts, keys::id_key(id), context)?;
        Ok(AlertContextId(id))
    }

    fn put_new_outbox(&mut self, item: &OutboxItem, context: AlertContextId) -> anyhow::Result<()> {
        self.put(
            Tree::TicketOutbox,
            keys::pair_key(item.ticket, item.id),
            Vec::new(),
        );
        self.put(
            Tree::OutboxContext,
            keys::id_key(item.id),
            keys::id_key(context.0),
        );
        self.index_due(item, None);
        self.put_record(item)
    }

    fn outbox_record(&self, id: u64) -> anyhow::Result<Option<OutboxItem>> {
        get_json(self, Tree::Outbox, &keys::id_key(id))
    }

    fn put_outbox(&mut self, item: &OutboxItem) -> anyhow::Result<()> {
        let previous = self.outbox_record(item.id)?;
        self.index_due(item, previous.as_ref());
        self.put_record(item)
    }

    fn rate(&self, recipient: &str) -> anyhow::Result<Vec<DateTime<Utc>>> {
        Ok(get_json(self, Tree::Rate, recipient.as_bytes())?.unwrap_or_default())
    }

    fn put_rate(&mut self, recipient: &str, times: &[DateTime<Utc>]) -> anyhow::Result<()> {
        self.put_json(Tree::Rate, recipient.as_bytes(), &times)
    }

    fn ticket_rate(&self, ticket: TicketId, recipient: &str) -> anyhow::Result<Vec<DateTime<Utc>>> {
        let key = keys::ticket_rate_key(ticket, recipient);
        Ok(get_json(self, Tree::Rate, &key)?.unwrap_or_default())
    }

    fn put_ticket_rate(
        &mut self,
        ticket: TicketId,
        recipient: &str,
        times: &[DateTime<Utc>],
    ) -> anyhow::Result<()> {
        self.put_json(Tree::Rate, keys::ticket_rate_key(ticket, recipient), &times)
    }

    fn checkpoint(&self, mailbox: &str) -> anyhow::Result<MailboxCheckpoint> {
        Ok(get_json(self, Tree::Checkpoints, mailbox.as_bytes())?.unwrap_or_default())
    }

    fn put_checkpoint(
        &mut self,
        mailbox: &str,
        checkpoint: &MailboxCheckpoint,
    ) -> anyhow::Result<()> {
        self.put_json(Tree::Checkpoints, mailbox.as_bytes(), checkpoint)
    }

    fn savepoint(&mut self) -> Savepoint {
        Savepoint(self.ops.len())
    }

    fn rollback_to(&mut self, savepoint: Savepoint) {
        self.ops.truncate(savepoint.0);
        self.raw.retain(|(at, _, _)| *at < savepoint.0);
        self.latest.clear();
        for (pos, (tree, key, _)) in self.ops.iter().enumerate() {
            self.latest.insert((*tree, key.clone()), pos);
        }
    }
}

impl SledTx<'_> {
    fn put_record(&mut self, item: &OutboxItem) -> anyhow::Result<()> {
        if item.context.is_null() {
            return self.put_json(Tree::Outbox, keys::id_key(item.id), item);
        }
        let record = OutboxItem {
            context: serde_json::Value::Null,
            ..item.clone()
        };
        self.put_json(Tree::Outbox, keys::id_key(item.id), &record)
    }
}

//! Reads of the embedded engine: point reads through [`Get`] (committed
//! trees, or a write that sees its own changes over them), and the paged
//! scans of committed data that listings use. Every scan stops at its page.

use std::ops::Bound;

use anyhow::Context;
use serde::de::DeserializeOwned;

use super::keys::{self, Tree};
use crate::model::outbox::OutboxItem;
use crate::model::{Comment, MessageRecord, Ticket, TicketEvent, TicketId};
use crate::store::{COMMENT_PAGE_BYTES, CommentPage, MessageKind, TicketQuery};

/// Point reads.
pub(super) trait Get {
    /// The value under `key`, if any.
    fn get(&self, tree: Tree, key: &[u8]) -> anyhow::Result<Option<Vec<u8>>>;
    /// Whether any key starts with `prefix`.
    fn any_with_prefix(&self, tree: Tree, prefix: &[u8]) -> anyhow::Result<bool>;
}

/// A JSON record under `key`, if any.
pub(super) fn get_json<V: DeserializeOwned>(
    from: &dyn Get,
    tree: Tree,
    key: &[u8],
) -> anyhow::Result<Option<V>> {
    match from.get(tree, key)? {
        Some(bytes) => Ok(Some(decode(tree, &bytes)?)),
        None => Ok(None),
    }
}

fn decode<V: DeserializeOwned>(tree: Tree, bytes: &[u8]) -> anyhow::Result<V> {
    serde_json::from_slice(bytes).with_context(|| format!("Decoding a record of {}", tree.name()))
}

/// The committed trees.
pub(super) struct Trees {
    pub trees: Vec<sled::Tree>,
}

/// Entries of a scan, in key order.
type Entries<'a> = Box<dyn Iterator<Item = anyhow::Result<(sled::IVec, sled::IVec)>> + 'a>;

impl Get for Trees {
    fn get(&self, tree: Tree, key: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self.tree(tree).get(key)?.map(|v| v.to_vec()))
    }

    fn any_with_prefix(&self, tree: Tree, prefix: &[u8]) -> anyhow::Result<bool> {
        Ok(self
            .tree(tree)
            .scan_prefix(prefix)
            .next()
            .transpose()?
            .is_some())
    }
}

impl Trees {
    pub fn tree(&self, tree: Tree) -> &sled::Tree {
        &self.trees[tree.index()]
    }

    fn scan(
        &self,
        tree: Tree,
        range: (Bound<Vec<u8>>, Bound<Vec<u8>>),
        descending: bool,
    ) -> Entries<'_> {
        let iter = self.tree(tree).range::<Vec<u8>, _>(range);
        let mapped = |r: sled::Result<(sled::IVec, sled::IVec)>| r.map_err(anyhow::Error::from);
        if descending {
            Box::new(iter.rev().map(mapped))
        } else {
            Box::new(iter.map(mapped))
        }
    }

    fn prefix(&self, tree: Tree, prefix: &[u8], descending: bool) -> Entries<'_> {
        self.scan(tree, keys::prefix_range(prefix), descending)
    }

    /// Tickets matching `query`, newest first: through the requester or
    /// status index when the query names one, else every ticket.
    pub fn tickets(&self, query: &TicketQuery) -> anyhow::Result<Vec<Ticket>> {
        let below = query.before.map_or(u64::MAX, |b| b.0);
        let ids: Box<dyn Iterator<Item = anyhow::Result<u64>>> =
            match (&query.requester, query.status) {
                (Some(requester), _) => {
                    let prefix = keys::requester_key(requester, None);
                    let len = prefix.len();
                    Box::new(
                        self.prefix(Tree::RequesterTickets, &prefix, true)
                            .map(move |e| Ok(keys::decode_u64(&e?.0[len..]))),
                    )
                }
                (None, Some(status)) => {
                    let tag = [keys::status_tag(status)];
                    Box::new(
                        self.prefix(Tree::TicketsByStatus, &tag, true)
                            .map(|e| Ok(keys::decode_u64(&e?.0[1..]))),
                    )
                }
                (None, None) => Box::new(
                    self.scan(Tree::Tickets, (Bound::Unbounded, Bound::Unbounded), true)
                        .map(|e| Ok(keys::decode_u64(&e?.0))),
                ),
            };
        let mut tickets = Vec::new();
        for id in ids {
            let id = id?;
            if tickets.len() >= query.limit {
                break;
            }
            if id >= below {
                continue;
            }
            let Some(ticket) = get_json::<Ticket>(self, Tree::Tickets, &keys::id_key(id))? else {
                continue;
            };
            if query
                .created_until
                .is_some_and(|until| ticket.created_at >= until)
            {
                continue;
            }
            if query
                .created_from
                .is_some_and(|from| ticket.created_at < from)
            {
                // Numbers follow creation: older tickets come next.
                break;
            }
            if query.status.is_none_or(|s| ticket.status == s) {
                tickets.push(ticket);
            }
        }
        Ok(tickets)
    }

    /// Comments of a ticket from `from` on (see [`crate::store::Store::comments`]).
    pub fn comments(&self, id: TicketId, from: u32, limit: usize) -> anyhow::Result<CommentPage> {
        let range = (
            Bound::Included(keys::seq_key(id, from).to_vec()),
            Bound::Included(keys::seq_key(id, u32::MAX).to_vec()),
        );
        let mut page = CommentPage::default();
        let mut bytes = 0;
        for entry in self.scan(Tree::Comments, range, false) {
            let comment: Comment = decode(Tree::Comments, &entry?.1)?;
            if page.comments.len() >= limit || bytes >= COMMENT_PAGE_BYTES {
                page.next = Some(comment.seq);
                break;
            }
            bytes += comment.text.len() + comment.html.as_ref().map_or(0, String::len);
            page.comments.push(comment);
        }
        Ok(page)
    }

    /// The newest `limit` events of a ticket, oldest first.
    pub fn latest_events(&self, id: TicketId, limit: usize) -> anyhow::Result<Vec<TicketEvent>> {
        let mut events = self
            .prefix(Tree::Events, &keys::id_key(id.0), true)
            .take(limit)
            .map(|e| decode(Tree::Events, &e?.1))
            .collect::<anyhow::Result<Vec<TicketEvent>>>()?;
        events.reverse();
        Ok(events)
    }

    /// Messages of `kinds`, newest first, at most `limit`.
    pub fn messages(
        &self,
        kinds: &[MessageKind],
        limit: usize,
    ) -> anyhow::Result<Vec<MessageRecord>> {
        let mut found = Vec::new();
        for kind in kinds {
            for entry in self
                .prefix(Tree::MessageLog, &[kind.tag()], true)
                .take(limit)
            {
                let key = entry?.0;
                let fingerprint = String::from_utf8_lossy(&key[9..]).into_owned();
                found.extend(get_json::<MessageRecord>(
                    self,
                    Tree::Messages,
                    fingerprint.as_bytes(),
                )?);
            }
        }
        found.sort_by_key(|m| std::cmp::Reverse(m.received_at));
        found.truncate(limit);
        Ok(found)
    }

    /// Number of messages of `kind`.
    pub fn message_count(&self, kind: MessageKind) -> usize {
        self.tree(Tree::MessageLog)
            .scan_prefix([kind.tag()])
            .count()
    }

    /// Up to `limit` message records of a ticket, in arrival order.
    pub fn messages_for_ticket(
        &self,
        id: TicketId,
        limit: usize,
    ) -> anyhow::Result<(Vec<MessageRecord>, bool)> {
        let mut records = Vec::new();
        let mut keys = self.prefix(Tree::TicketMessages, &keys::id_key(id.0), false);
        for entry in keys.by_ref().take(limit) {
            let key = entry?.0;
            let fingerprint = String::from_utf8_lossy(&key[16..]).into_owned();
            records.extend(get_json::<MessageRecord>(
                self,
                Tree::Messages,
                fingerprint.as_bytes(),
            )?);
        }
        Ok((records, keys.next().is_some()))
    }

    /// Outbox records newest first, below `before`, in `status`.
    pub fn outbox_page(
        &self,
        status: Option<&str>,
        before: Option<u64>,
        limit: usize,
    ) -> anyhow::Result<Vec<OutboxItem>> {
        let end = before.map_or(Bound::Unbounded, |b| {
            Bound::Excluded(keys::id_key(b).to_vec())
        });
        let mut items = Vec::new();
        for entry in self.scan(Tree::Outbox, (Bound::Unbounded, end), true) {
            if items.len() >= limit {
                break;
            }
            let item: OutboxItem = decode(Tree::Outbox, &entry?.1)?;
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
        let mut keys = self.prefix(Tree::TicketOutbox, &keys::id_key(id.0), true);
        for entry in keys.by_ref().take(limit) {
            let key = entry?.0;
            let item = keys::decode_u64(&key[8..16]);
            items.extend(get_json::<OutboxItem>(
                self,
                Tree::Outbox,
                &keys::id_key(item),
            )?);
        }
        items.reverse();
        Ok((items, keys.next().is_some()))
    }

    /// An outbox item with its template context.
    pub fn outbox_item(&self, id: u64) -> anyhow::Result<Option<OutboxItem>> {
        let Some(mut item) = get_json::<OutboxItem>(self, Tree::Outbox, &keys::id_key(id))? else {
            return Ok(None);
        };
        if let Some(context) = self.get(Tree::OutboxContext, &keys::id_key(id))? {
            let context_key = keys::id_key(keys::decode_u64(&context));
            item.context = get_json(self, Tree::AlertContexts, &context_key)?.unwrap_or_default();
        }
        Ok(Some(item))
    }

    /// Records of pending items due at `now`, oldest first.
    pub fn due(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> anyhow::Result<Vec<OutboxItem>> {
        let end = Bound::Included(keys::due_key(now, u64::MAX).to_vec());
        let mut items = Vec::new();
        for entry in self
            .scan(Tree::OutboxDue, (Bound::Unbounded, end), false)
            .take(limit)
        {
            let key = entry?.0;
            let id = keys::decode_u64(&key[8..16]);
            items.extend(get_json::<OutboxItem>(
                self,
                Tree::Outbox,
                &keys::id_key(id),
            )?);
        }
        Ok(items)
    }

    /// Earliest pending attempt time.
    pub fn next_due(&self) -> anyhow::Result<Option<chrono::DateTime<chrono::Utc>>> {
        let Some(first) = self.tree(Tree::OutboxDue).first()? else {
            return Ok(None);
        };
        let id = keys::decode_u64(&first.0[8..16]);
        let item: Option<OutboxItem> = get_json(self, Tree::Outbox, &keys::id_key(id))?;
        Ok(item.map(|i| i.next_attempt_at))
    }

    /// Every checkpoint, by mailbox name.
    pub fn checkpoints(&self) -> anyhow::Result<Vec<(String, crate::store::MailboxCheckpoint)>> {
        self.scan(
            Tree::Checkpoints,
            (Bound::Unbounded, Bound::Unbounded),
            false,
        )
        .map(|entry| {
            let (key, value) = entry?;
            Ok((
                String::from_utf8_lossy(&key).into_owned(),
                decode(Tree::Checkpoints, &value)?,
            ))
        })
        .collect()
    }
}

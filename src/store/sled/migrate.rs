//! Opens stores written by earlier versions (schema 1 and 2) as schema 3:
//!
//! 1. commits still in the old write-ahead journal (`journal/`) are
//!    applied to sled, up to the first whose large values were lost;
//! 2. values that lived in blob segments (`blobs/`) move in: comments and
//!    alert contexts into sled (contexts shared by an event's items stay
//!    shared, in `alert_contexts`), raw originals into files (`raw/`, also
//!    those of the `raw` and `raw_refs` trees of schema 1);
//! 3. the indexes schema 3 reads are built: tickets by status, tickets by
//!    requester, a ticket's messages in arrival order, the message log;
//! 4. everything is made durable, the schema set to 3, and only then are
//!    `journal/`, `blobs/` and the old trees removed.
//!
//! Every step can run again: a crash during the migration repeats it on
//! the next open, from the files that are only removed at the end.

use std::collections::HashMap;

use anyhow::Context;

use super::SledStore;
use super::keys::{self, Tree};
use super::legacy::blobs::{BlobReader, BlobRef};
use super::legacy::{self, journal};
use super::raw_files;
use crate::model::{MessageRecord, Ticket};
use crate::store::MessageKind;
use crate::store::Store;

/// The schema this build writes.
pub const SCHEMA: u64 = 3;

/// Brings the store to [`SCHEMA`] (a new store is just marked).
pub(super) fn run(store: &SledStore) -> anyhow::Result<()> {
    match store.schema()? {
        SCHEMA => return Ok(()),
        v if v > SCHEMA => anyhow::bail!(
            "Store schema version {v} is not supported by this build (expects {SCHEMA}); run a newer ticketd"
        ),
        0 if store.ticket_count()? == 0 && !store.path.join("journal").is_dir() => {}
        v => {
            tracing::info!(from = v, to = SCHEMA, "Migrating the store");
            migrate(store).context("Migrating the store to schema 3")?;
        }
    }
    store
        .trees
        .tree(Tree::Meta)
        .insert("schema", &SCHEMA.to_be_bytes())?;
    store.db.flush()?;
    rustix::fs::syncfs(&store.dir).context("Syncing the migrated store")?;
    remove_leftovers(store)
}

fn migrate(store: &SledStore) -> anyhow::Result<()> {
    let blobs = BlobReader::new(&store.path.join("blobs"));
    replay_journal(store, &blobs)?;
    move_raw_originals(store, &blobs)?;
    inline_comments(store, &blobs)?;
    share_alert_contexts(store, &blobs)?;
    index_tickets(store)?;
    Ok(())
}

/// The open tree of a schema 2 store by its journal number.
fn legacy_tree(store: &SledStore, number: u8) -> anyhow::Result<sled::Tree> {
    let name = legacy::TREE_NAMES
        .get(number as usize)
        .context("A journal record names an unknown store tree")?;
    Ok(store.db.open_tree(name)?)
}

fn replay_journal(store: &SledStore, blobs: &BlobReader) -> anyhow::Result<()> {
    let records = journal::read_all(&store.path.join("journal"))?;
    for ops in &records {
        let intact = ops
            .iter()
            .filter_map(|op| referenced_blob(op.tree, op.value.as_deref()?))
            .all(|blob| blobs.is_intact(&blob));
        if !intact {
            tracing::warn!(
                "store journal: a record's large values were lost (power cut before a flush); replay stops there"
            );
            break;
        }
        for op in ops {
            let tree = legacy_tree(store, op.tree)?;
            match &op.value {
                Some(value) => tree.insert(&op.key, value.as_slice())?,
                None => tree.remove(&op.key)?,
            };
        }
    }
    Ok(())
}

/// The blob a journal op's value refers to (a message record's prefix, or
/// the whole value of a comment, raw reference or alert context).
fn referenced_blob(tree: u8, value: &[u8]) -> Option<BlobRef> {
    match legacy::TREE_NAMES.get(tree as usize)? {
        &"messages" => BlobRef::split_prefix(value).0,
        &"comments" | &"raw_refs" | &"outbox_context" => BlobRef::decode(value),
        _ => None,
    }
}

/// Raw originals to files; message records lose their blob prefix.
fn move_raw_originals(store: &SledStore, blobs: &BlobReader) -> anyhow::Result<()> {
    let messages = store.trees.tree(Tree::Messages);
    let (raw, raw_refs) = (store.db.open_tree("raw")?, store.db.open_tree("raw_refs")?);
    for entry in messages.iter() {
        let (key, value) = entry?;
        let (blob, record) = BlobRef::split_prefix(&value);
        let record: MessageRecord =
            serde_json::from_slice(record).context("Decoding a message record")?;
        let bytes = match (
            blob,
            raw.get(&record.raw_key)?,
            raw_refs.get(&record.raw_key)?,
        ) {
            (Some(blob), _, _) => Some(blobs.read(&blob)?),
            (None, Some(bytes), _) => Some(bytes.to_vec()),
            (None, None, Some(reference)) => BlobRef::decode(&reference)
                .map(|blob| blobs.read(&blob))
                .transpose()?,
            (None, None, None) => None,
        };
        if let Some(bytes) = bytes {
            raw_files::write(&store.path, &record.raw_key, &bytes)?;
        }
        messages.insert(key, serde_json::to_vec(&record)?)?;
    }
    Ok(())
}

fn inline_comments(store: &SledStore, blobs: &BlobReader) -> anyhow::Result<()> {
    let comments = store.trees.tree(Tree::Comments);
    for entry in comments.iter() {
        let (key, value) = entry?;
        if let Some(blob) = BlobRef::decode(&value) {
            comments.insert(key, blobs.read(&blob)?)?;
        }
    }
    Ok(())
}

/// Alert contexts from blobs into `alert_contexts`, one per blob (the
/// items of one event shared one), referred to by id.
fn share_alert_contexts(store: &SledStore, blobs: &BlobReader) -> anyhow::Result<()> {
    let (links, contexts, meta) = (
        store.trees.tree(Tree::OutboxContext),
        store.trees.tree(Tree::AlertContexts),
        store.trees.tree(Tree::Meta),
    );
    let mut next = meta
        .get("next_alert_context")?
        .map_or(1, |v| keys::decode_u64(&v));
    let mut ids: HashMap<Vec<u8>, u64> = HashMap::new();
    for entry in links.iter() {
        let (item, value) = entry?;
        let Some(blob) = BlobRef::decode(&value) else {
            continue;
        };
        let id = match ids.get(value.as_ref()) {
            Some(id) => *id,
            None => {
                let id = next;
                next += 1;
                contexts.insert(keys::id_key(id), blobs.read(&blob)?)?;
                ids.insert(value.to_vec(), id);
                id
            }
        };
        links.insert(item, &keys::id_key(id))?;
    }
    meta.insert("next_alert_context", &next.to_be_bytes())?;
    Ok(())
}

/// Rebuilds the indexes schema 3 reads from the records themselves.
fn index_tickets(store: &SledStore) -> anyhow::Result<()> {
    let (by_status, by_requester) = (
        store.trees.tree(Tree::TicketsByStatus),
        store.trees.tree(Tree::RequesterTickets),
    );
    for entry in store.trees.tree(Tree::Tickets).iter() {
        let ticket: Ticket = serde_json::from_slice(&entry?.1).context("Decoding a ticket")?;
        by_status.insert(keys::status_key(ticket.status, ticket.id), &[])?;
        by_requester.insert(keys::requester_key(&ticket.requester, Some(ticket.id)), &[])?;
    }
    let (of_ticket, log) = (
        store.trees.tree(Tree::TicketMessages),
        store.trees.tree(Tree::MessageLog),
    );
    of_ticket.clear()?;
    for entry in store.trees.tree(Tree::Messages).iter() {
        let record: MessageRecord =
            serde_json::from_slice(&entry?.1).context("Decoding a message record")?;
        if let Some(ticket) = record.disposition.ticket() {
            let key = keys::ticket_message_key(ticket, record.received_at, &record.fingerprint);
            of_ticket.insert(key, &[])?;
        }
        log.insert(MessageKind::log_key(&record), &[])?;
    }
    Ok(())
}

/// What schema 2 kept outside the schema 3 trees, removed once the
/// migration is durable.
fn remove_leftovers(store: &SledStore) -> anyhow::Result<()> {
    for tree in ["raw", "raw_refs"] {
        if store
            .db
            .tree_names()
            .iter()
            .any(|n| n.as_ref() == tree.as_bytes())
        {
            store.db.drop_tree(tree)?;
        }
    }
    for dir in ["journal", "blobs"] {
        let path = store.path.join(dir);
        if path.is_dir() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("Removing {}", path.display()))?;
        }
    }
    Ok(())
}

//! The embedded engine: the [`Store`] interface over one sled database
//! (`db/` in the store folder) plus a folder of raw originals (`raw/`).
//!
//! One writer at a time (a mutex): a write collects its changes in a
//! [`tx::SledTx`], reading them back as it goes, and commits them as one
//! sled transaction made durable before `write` returns (`commit.rs`).
//! Reads outside a write read sled's committed trees (`reads.rs`). Stores
//! written by earlier versions are migrated when opened (`migrate.rs`).

mod commit;
mod keys;
mod legacy;
mod migrate;
mod raw_files;
mod reads;
mod tx;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use anyhow::Context;
use chrono::{DateTime, Utc};

use keys::Tree;
use reads::{Get, Trees, get_json};
use tx::SledTx;

use super::permissions;
use crate::model::outbox::OutboxItem;
use crate::model::{Comment, MessageRecord, Ticket, TicketEvent, TicketId};
use crate::store::{
    CommentPage, MailboxCheckpoint, MessageKind, Store, StoreError, StoreHealth, StoreLocked,
    TicketQuery, WriteTx, create_private_dir,
};

/// The embedded engine over an open sled database.
pub struct SledStore {
    path: PathBuf,
    db: sled::Db,
    trees: Trees,
    /// The store folder, open for `syncfs`.
    dir: std::fs::File,
    writer: Mutex<()>,
    min_free_bytes: u64,
    state: Mutex<WriteState>,
}

/// How the last write went.
#[derive(Debug, Clone, PartialEq, Eq)]
enum WriteState {
    Ok,
    Full(String),
    Failed(String),
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SledStore({})", self.path.display())
    }
}

impl SledStore {
    /// Opens (or creates) the store in `path` with a page cache of
    /// `cache_bytes`, keeping `min_free_bytes` free on its filesystem, and
    /// migrates a store of an earlier version.
    pub fn open(path: &Path, cache_bytes: u64, min_free_bytes: u64) -> anyhow::Result<SledStore> {
        create_private_dir(path)
            .with_context(|| format!("Creating the store directory {}", path.display()))?;
        permissions::tighten_existing(path);
        let db = open_sled(path, cache_bytes)?;
        let trees = Tree::ALL
            .iter()
            .map(|t| db.open_tree(t.name()))
            .collect::<Result<Vec<_>, _>>()
            .context("Opening store trees")?;
        let dir = std::fs::File::open(path)
            .with_context(|| format!("Opening the store directory {}", path.display()))?;
        let store = SledStore {
            path: path.to_path_buf(),
            db,
            trees: Trees { trees },
            dir,
            writer: Mutex::new(()),
            min_free_bytes,
            state: Mutex::new(WriteState::Ok),
        };
        migrate::run(&store)?;
        permissions::tighten_new(path);
        Ok(store)
    }

    fn lock_writer(&self) -> MutexGuard<'_, ()> {
        // A poisoned lock only means a write panicked before committing.
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn state(&self) -> MutexGuard<'_, WriteState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records how the last write went, logging once per change of kind
    /// (not for every refused retry while the disk stays full).
    fn set_state(&self, state: WriteState) {
        let mut current = self.state();
        if std::mem::discriminant(&*current) != std::mem::discriminant(&state) {
            match &state {
                WriteState::Ok => tracing::info!("Store writes work again"),
                WriteState::Full(problem) => {
                    tracing::error!(problem = %problem, "Store: disk full, writes wait")
                }
                WriteState::Failed(problem) => {
                    tracing::error!(problem = %problem, "Store failed; restart ticketd to reopen it")
                }
            }
        }
        *current = state;
    }

    /// Runs and commits one write (see [`Store::write`]).
    fn write_locked(
        &self,
        work: &mut dyn FnMut(&mut dyn WriteTx) -> anyhow::Result<()>,
    ) -> Result<(), StoreError> {
        if let WriteState::Failed(problem) = &*self.state() {
            return Err(StoreError::Engine(anyhow::anyhow!("{problem}")));
        }
        let mut tx = SledTx::new(&self.trees);
        work(&mut tx).map_err(StoreError::Aborted)?;
        if tx.is_empty() {
            return Ok(());
        }
        if let Err(full) = self.check_room(tx.size()) {
            self.set_state(WriteState::Full(full.to_string()));
            return Err(full);
        }
        let (ops, raw) = tx.into_parts();
        match self.commit(&ops, &raw) {
            Ok(()) => {
                self.set_state(WriteState::Ok);
                Ok(())
            }
            Err(e) => {
                self.set_state(WriteState::Failed(format!("{e:#}")));
                Err(StoreError::Engine(e))
            }
        }
    }

    /// The schema version stored in `meta` (0 for a new store).
    fn schema(&self) -> anyhow::Result<u64> {
        Ok(self
            .trees
            .get(Tree::Meta, b"schema")?
            .map_or(0, |v| keys::decode_u64(&v)))
    }
}

impl Store for SledStore {
    fn write(
        &self,
        work: &mut dyn FnMut(&mut dyn WriteTx) -> anyhow::Result<()>,
    ) -> Result<(), StoreError> {
        let _writer = self.lock_writer();
        self.write_locked(work)
    }

    fn has_room_for(&self, bytes: u64) -> bool {
        match self.check_room(bytes) {
            Ok(()) => true,
            Err(full) => {
                if !matches!(*self.state(), WriteState::Failed(_)) {
                    self.set_state(WriteState::Full(full.to_string()));
                }
                false
            }
        }
    }

    fn health(&self) -> StoreHealth {
        let (state, problem) = match &*self.state() {
            WriteState::Ok => ("ok", None),
            WriteState::Full(p) => ("disk full", Some(p.clone())),
            WriteState::Failed(p) => ("failed", Some(p.clone())),
        };
        StoreHealth {
            state: state.into(),
            problem,
        }
    }

    fn ticket(&self, id: TicketId) -> anyhow::Result<Option<Ticket>> {
        get_json(&self.trees, Tree::Tickets, &keys::id_key(id.0))
    }

    fn tickets(&self, query: &TicketQuery) -> anyhow::Result<Vec<Ticket>> {
        self.trees.tickets(query)
    }

    fn ticket_count(&self) -> anyhow::Result<u64> {
        let next = self.trees.get(Tree::Meta, b"next_ticket")?;
        Ok(next.map_or(1, |v| keys::decode_u64(&v)) - 1)
    }

    fn comment(&self, id: TicketId, seq: u32) -> anyhow::Result<Option<Comment>> {
        get_json(&self.trees, Tree::Comments, &keys::seq_key(id, seq))
    }

    fn comments(&self, id: TicketId, from: u32, limit: usize) -> anyhow::Result<CommentPage> {
        self.trees.comments(id, from, limit)
    }

    fn latest_events(&self, id: TicketId, limit: usize) -> anyhow::Result<Vec<TicketEvent>> {
        self.trees.latest_events(id, limit)
    }

    fn message(&self, fingerprint: &str) -> anyhow::Result<Option<MessageRecord>> {
        get_json(&self.trees, Tree::Messages, fingerprint.as_bytes())
    }

    fn messages(&self, kinds: &[MessageKind], limit: usize) -> anyhow::Result<Vec<MessageRecord>> {
        self.trees.messages(kinds, limit)
    }

    fn message_count(&self, kind: MessageKind) -> anyhow::Result<usize> {
        Ok(self.trees.message_count(kind))
    }

    fn messages_for_ticket(
        &self,
        id: TicketId,
        limit: usize,
    ) -> anyhow::Result<(Vec<MessageRecord>, bool)> {
        self.trees.messages_for_ticket(id, limit)
    }

    fn raw(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        raw_files::read(&self.path, key)
    }

    fn outbox_record(&self, id: u64) -> anyhow::Result<Option<OutboxItem>> {
        get_json(&self.trees, Tree::Outbox, &keys::id_key(id))
    }

    fn outbox_item(&self, id: u64) -> anyhow::Result<Option<OutboxItem>> {
        self.trees.outbox_item(id)
    }

    fn outbox_page(
        &self,
        status: Option<&str>,
        before: Option<u64>,
        limit: usize,
    ) -> anyhow::Result<Vec<OutboxItem>> {
        self.trees.outbox_page(status, before, limit)
    }

    fn outbox_for_ticket(
        &self,
        id: TicketId,
        limit: usize,
    ) -> anyhow::Result<(Vec<OutboxItem>, bool)> {
        self.trees.outbox_for_ticket(id, limit)
    }

    fn due_outbox(&self, now: DateTime<Utc>, limit: usize) -> anyhow::Result<Vec<OutboxItem>> {
        // Under the writer lock no write is half way to durable.
        let _writer = self.lock_writer();
        self.trees.due(now, limit)
    }

    fn next_due(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        self.trees.next_due()
    }

    fn pending_count(&self) -> anyhow::Result<usize> {
        Ok(self.trees.tree(Tree::OutboxDue).len())
    }

    fn checkpoints(&self) -> anyhow::Result<Vec<(String, MailboxCheckpoint)>> {
        self.trees.checkpoints()
    }

    fn secret(&self, name: &str, len: usize) -> anyhow::Result<Vec<u8>> {
        let key = name.to_string();
        if let Some(value) = self.trees.get(Tree::Meta, key.as_bytes())? {
            return Ok(value);
        }
        let mut random = vec![0u8; len];
        getrandom::fill(&mut random)
            .map_err(|e| anyhow::anyhow!("No randomness for {name}: {e}"))?;
        let _writer = self.lock_writer();
        if let Some(value) = self.trees.get(Tree::Meta, key.as_bytes())? {
            return Ok(value);
        }
        let ops = vec![(Tree::Meta, key.into_bytes(), Some(random.clone()))];
        self.commit(&ops, &[])?;
        Ok(random)
    }
}

/// How long opening waits for a lock that this process only just let go
/// of: sled's I/O threads release it a moment after the store is closed.
const RELEASE_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

fn open_sled(path: &Path, cache_bytes: u64) -> anyhow::Result<sled::Db> {
    let started = std::time::Instant::now();
    loop {
        let opened = sled::Config::new()
            .path(path.join("db"))
            .cache_capacity(cache_bytes)
            .flush_every_ms(None)
            .open()
            .map_err(|e| open_error(e, path));
        match opened {
            Err(e) if e.is::<StoreLocked>() && started.elapsed() < RELEASE_WAIT => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

fn open_error(e: sled::Error, path: &Path) -> anyhow::Error {
    let text = e.to_string();
    if text.contains("lock")
        || text.contains("WouldBlock")
        || text.contains("Resource temporarily unavailable")
    {
        StoreLocked(path.display().to_string()).into()
    } else {
        anyhow::Error::new(e).context(format!("Opening the store at {}", path.display()))
    }
}

#[cfg(test)]
mod tests;

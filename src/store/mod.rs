//! The durable store: one sled database with typed operations. Nothing
//! outside this module sees a sled tree or a key encoding.
//!
//! Writes go through a [`WriteTx`]: it takes the store's write lock and
//! collects typed puts. [`WriteTx::commit`] appends them as one record to
//! the write-ahead journal (`journal.rs`) and lays them over sled in memory
//! (`overlay.rs`), where every reader sees them at once. [`Store::flush`]
//! syncs the large-value segments and the journal, and only then applies
//! the overlay to sled; callers flush once per batch before acting on what
//! they wrote (marking an IMAP message processed, sending mail), so a
//! backlog pays one fsync per batch rather than per message. On open the
//! journal is replayed, which makes each commit atomic and durable across
//! any crash without sled transactions. Immutable kilobyte values (raw
//! originals, comments, alert snapshots) are kept in append-only segment
//! files (`blobs.rs`) and sled holds a reference.
//!
//! Trees (values are JSON unless noted):
//! - `meta`: schema version, counters, thread secret (bytes)
//! - `tickets`: ticket id (u64 BE) -> [`Ticket`]
//! - `comments`: ticket id (u64 BE) ++ seq (u32 BE) -> blob ref of a [`Comment`]
//! - `messages`: fingerprint -> blob ref of the raw message bytes ++
//!   [`MessageRecord`] (the record's `raw_key` is its fingerprint)
//! - `raw`: raw key -> message bytes (stores written before blob segments)
//! - `raw_refs`: raw key -> blob ref of the message bytes (schema 1 stores,
//!   before the reference moved into the record)
//! - `message_ids`: Message-ID (lower-case) -> ticket id (u64 BE)
//! - `outbox`: item id (u64 BE) -> [`OutboxItem`] without its context
//! - `outbox_context`: item id (u64 BE) -> blob ref of the item's template context
//! - `outbox_due`: next attempt (i64 ms BE) ++ item id -> empty (pending index)
//! - `rate`: recipient -> list of send times (loop guard, per address);
//!   0x00 ++ ticket id (u64 BE) ++ recipient -> list of send times (per
//!   ticket and address; the 0x00 keeps it apart from addresses)
//! - `events`: ticket id (u64 BE) ++ seq (u32 BE) -> [`TicketEvent`]
//! - `ticket_outbox`: ticket id (u64 BE) ++ item id (u64 BE) -> empty
//! - `ticket_messages`: ticket id (u64 BE) ++ fingerprint -> empty
//! - `message_log`: outcome kind ++ arrival time ++ fingerprint -> empty
//!   (see `message_log.rs`)
//! - `checkpoints`: IMAP mailbox name -> [`MailboxCheckpoint`]
//! - `correlations`: correlation key -> ticket id (u64 BE), only while
//!   that ticket is open (see [`crate::config::Correlation`])
//! - `requester_tickets`: requester address ++ 0x00 ++ ticket id (u64 BE)
//!   -> empty (stores written before it existed are indexed once on open)

mod blobs;
mod checkpoint;
mod engine;
mod journal;
mod message_log;
mod overlay;
mod pages;
mod permissions;
mod read;
mod tx;
mod view;

use std::path::Path;
use std::sync::{Arc, MutexGuard};

use anyhow::Context;

pub use checkpoint::{MailboxCheckpoint, UnmarkedMessage};
pub use message_log::MessageKind;
pub use pages::{COMMENT_PAGE_BYTES, CommentPage};
pub use permissions::create_private_dir;
pub use tx::{AlertContext, WriteTx};

/// Schema version written by this build; bump with a migration. Version 2
/// keeps a message's raw-original reference in its record; version 1
/// stores (reference in `raw_refs`) are read as they are and marked 2.
const SCHEMA_VERSION: u64 = 2;

const TREE_NAMES: [&str; 18] = [
    "meta",
    "tickets",
    "comments",
    "messages",
    "raw",
    "message_ids",
    "outbox",
    "outbox_due",
    "rate",
    "events",
    "ticket_outbox",
    "ticket_messages",
    "checkpoints",
    "correlations",
    "raw_refs",
    "outbox_context",
    "message_log",
    "requester_tickets",
];

#[derive(Clone, Copy)]
enum T {
    Meta = 0,
    Tickets = 1,
    Comments = 2,
    Messages = 3,
    Raw = 4,
    MessageIds = 5,
    Outbox = 6,
    OutboxDue = 7,
    Rate = 8,
    Events = 9,
    TicketOutbox = 10,
    TicketMessages = 11,
    Checkpoints = 12,
    Correlations = 13,
    RawRefs = 14,
    OutboxContext = 15,
    MessageLog = 16,
    RequesterTickets = 17,
}

/// Trees whose values may be blob references.
const BLOB_TREES: [T; 3] = [T::Comments, T::RawRefs, T::OutboxContext];

/// Cheap-to-clone handle to the database.
#[derive(Clone)]
pub struct Store {
    inner: Arc<engine::Engine>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store(..)")
    }
}

/// Opening failed because another process holds the database.
#[derive(Debug, thiserror::Error)]
#[error(
    "the store at {0} is in use by another process (is `ticketd serve` running? then its API must be reachable)"
)]
pub struct StoreLocked(pub String);

impl Store {
    /// Opens (or creates) the store in `path` with a page cache of
    /// `cache_bytes`, replaying the journal of an unclean stop. The store
    /// folder is made private (0700, its files 0600; see `permissions.rs`).
    pub fn open(path: &Path, cache_bytes: u64) -> anyhow::Result<Store> {
        create_private_dir(path)
            .with_context(|| format!("Creating the store directory {}", path.display()))?;
        permissions::tighten_existing(path);
        let db = open_sled(path, cache_bytes)?;
        let store = Store {
            inner: Arc::new(engine::Engine::open(path, db)?),
        };
        permissions::tighten_new(path);
        store.check_schema()?;
        store.index_message_log_once()?;
        store.index_requesters_once()?;
        Ok(store)
    }

    fn tree(&self, t: T) -> &sled::Tree {
        &self.inner.shared.trees[t as usize]
    }

    fn check_schema(&self) -> anyhow::Result<()> {
        let meta = self.tree(T::Meta);
        match meta.get("schema")?.map(|v| decode_u64(&v)) {
            None | Some(1) => {
                meta.insert("schema", &SCHEMA_VERSION.to_be_bytes())?;
                Ok(())
            }
            Some(v) if v == SCHEMA_VERSION => Ok(()),
            Some(v) => anyhow::bail!(
                "Store schema version {v} is not supported by this build (expects {SCHEMA_VERSION})"
            ),
        }
    }

    /// Starts a write; blocks while another write is in progress.
    pub fn begin(&self) -> WriteTx<'_> {
        WriteTx::new(self)
    }

    fn lock_writer(&self) -> MutexGuard<'_, engine::Writer> {
        self.inner.lock_writer()
    }

    /// Makes every committed write durable.
    pub fn flush(&self) -> anyhow::Result<()> {
        let mut writer = self.lock_writer();
        self.inner.flush_locked(&mut writer)
    }

    /// [`Store::flush`] for tokio tasks (runs on the blocking pool).
    pub async fn flush_async(&self) -> anyhow::Result<()> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.flush())
            .await
            .context("Flushing the store")?
    }

    /// Test hook: drop this handle as a crash would, without the final
    /// flush (committed writes are then only in the journal).
    #[cfg(test)]
    pub(crate) fn simulate_crash(self) {
        self.inner.abandon();
    }

    /// The thread-token secret, created on first use.
    pub fn thread_secret(&self) -> anyhow::Result<Vec<u8>> {
        let meta = self.tree(T::Meta);
        if let Some(v) = meta.get("thread_secret")? {
            return Ok(v.to_vec());
        }
        let mut secret = vec![0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|e| anyhow::anyhow!("No randomness for the thread secret: {e}"))?;
        meta.compare_and_swap(
            "thread_secret",
            None as Option<&[u8]>,
            Some(secret.as_slice()),
        )?
        .ok();
        self.inner.shared.db.flush().context("Flushing the store")?;
        Ok(meta
            .get("thread_secret")?
            .map(|v| v.to_vec())
            .unwrap_or(secret))
    }
}

impl Store {
    /// This desk's unique id (`NAME-` and 16 random hex digits), created
    /// on first use.
    pub fn instance_id(&self, name: &str) -> anyhow::Result<String> {
        let meta = self.tree(T::Meta);
        if let Some(v) = meta.get("instance_id")? {
            return Ok(String::from_utf8_lossy(&v).into_owned());
        }
        let mut random = [0u8; 8];
        getrandom::fill(&mut random)
            .map_err(|e| anyhow::anyhow!("No randomness for the instance id: {e}"))?;
        let id = format!("{name}-{}", hex::encode(random));
        meta.compare_and_swap("instance_id", None as Option<&[u8]>, Some(id.as_bytes()))?
            .ok();
        self.inner.shared.db.flush().context("Flushing the store")?;
        Ok(meta
            .get("instance_id")?
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or(id))
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

fn decode_u64(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

fn seq_key(ticket: u64, seq: u32) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..8].copy_from_slice(&ticket.to_be_bytes());
    key[8..].copy_from_slice(&seq.to_be_bytes());
    key
}

fn requester_key(requester: &str, ticket: Option<crate::model::TicketId>) -> Vec<u8> {
    let mut key = requester.as_bytes().to_vec();
    key.push(0);
    if let Some(id) = ticket {
        key.extend_from_slice(&id.0.to_be_bytes());
    }
    key
}

fn ticket_rate_key(ticket: crate::model::TicketId, recipient: &str) -> Vec<u8> {
    let mut key = vec![0u8];
    key.extend_from_slice(&ticket.0.to_be_bytes());
    key.extend_from_slice(recipient.as_bytes());
    key
}

fn due_key(at: chrono::DateTime<chrono::Utc>, id: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    // Shift into unsigned order so earlier times sort first.
    let ms = (at.timestamp_millis() as u64) ^ (1 << 63);
    key[..8].copy_from_slice(&ms.to_be_bytes());
    key[8..].copy_from_slice(&id.to_be_bytes());
    key
}

#[cfg(test)]
mod tests;

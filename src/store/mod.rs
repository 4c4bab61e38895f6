//! The durable store: one sled database with typed operations. Nothing
//! outside this module sees a sled tree or a key encoding.
//!
//! Writes go through a [`WriteTx`]: it takes the store's write lock,
//! collects typed puts, and applies them atomically in one sled transaction
//! across trees on [`WriteTx::commit`]. Commits are not flushed one by one:
//! callers batch many commits and call [`Store::flush`] once before acting
//! on them (marking an IMAP message processed, sending mail), so a backlog
//! pays one fsync per batch rather than per message.
//!
//! Trees (values are JSON unless noted):
//! - `meta`: schema version, counters, thread secret (bytes)
//! - `tickets`: ticket id (u64 BE) -> [`Ticket`]
//! - `comments`: ticket id (u64 BE) ++ seq (u32 BE) -> [`Comment`]
//! - `messages`: fingerprint -> [`MessageRecord`]
//! - `raw`: raw key -> message bytes (verbatim)
//! - `message_ids`: Message-ID (lower-case) -> ticket id (u64 BE)
//! - `outbox`: item id (u64 BE) -> [`OutboxItem`]
//! - `outbox_due`: next attempt (i64 ms BE) ++ item id -> empty (pending index)
//! - `rate`: recipient -> list of send times (loop guard, per address);
//!   0x00 ++ ticket id (u64 BE) ++ recipient -> list of send times (per
//!   ticket and address; the 0x00 keeps it apart from addresses)
//! - `events`: ticket id (u64 BE) ++ seq (u32 BE) -> [`TicketEvent`]
//! - `ticket_outbox`: ticket id (u64 BE) ++ item id (u64 BE) -> empty
//! - `ticket_messages`: ticket id (u64 BE) ++ fingerprint -> empty
//! - `checkpoints`: IMAP mailbox name -> [`MailboxCheckpoint`]
//! - `correlations`: correlation key -> ticket id (u64 BE), only while
//!   that ticket is open (see [`crate::config::Correlation`])

mod checkpoint;
mod read;
mod tx;

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;

pub use checkpoint::{MailboxCheckpoint, UnmarkedMessage};
pub use tx::WriteTx;

/// Schema version written by this build; bump with a migration.
const SCHEMA_VERSION: u64 = 1;

const TREE_NAMES: [&str; 14] = [
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
}

/// Cheap-to-clone handle to the database.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: sled::Db,
    trees: Vec<sled::Tree>,
    write_lock: Mutex<()>,
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
    /// `cache_bytes`.
    pub fn open(path: &Path, cache_bytes: u64) -> anyhow::Result<Store> {
        std::fs::create_dir_all(path)
            .with_context(|| format!("Creating the store directory {}", path.display()))?;
        let db = sled::Config::new()
            .path(path.join("db"))
            .cache_capacity(cache_bytes)
            .flush_every_ms(Some(1000))
            .open()
            .map_err(|e| open_error(e, path))?;
        let trees = TREE_NAMES
            .iter()
            .map(|n| db.open_tree(n))
            .collect::<Result<Vec<_>, _>>()
            .context("Opening store trees")?;
        let store = Store {
            inner: Arc::new(Inner {
                db,
                trees,
                write_lock: Mutex::new(()),
            }),
        };
        store.check_schema()?;
        Ok(store)
    }

    fn tree(&self, t: T) -> &sled::Tree {
        &self.inner.trees[t as usize]
    }

    fn check_schema(&self) -> anyhow::Result<()> {
        let meta = self.tree(T::Meta);
        match meta.get("schema")?.map(|v| decode_u64(&v)) {
            None => {
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

    /// Makes every committed write durable. Returns bytes flushed.
    pub fn flush(&self) -> anyhow::Result<usize> {
        self.inner.db.flush().context("Flushing the store")
    }

    /// Async flavour of [`Store::flush`] for tokio tasks.
    pub async fn flush_async(&self) -> anyhow::Result<usize> {
        self.inner
            .db
            .flush_async()
            .await
            .context("Flushing the store")
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
        self.flush()?;
        Ok(meta
            .get("thread_secret")?
            .map(|v| v.to_vec())
            .unwrap_or(secret))
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

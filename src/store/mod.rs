//! The store: one interface ([`Store`], [`WriteTx`], in `interface.rs`)
//! of typed reads and transactional writes, and the engines behind it.
//! Nothing above this module knows which engine runs: callers hold an
//! `Arc<dyn Store>` from [`open`].
//!
//! Engines:
//! - [`sled`](self::sled): the embedded default, one sled database plus a
//!   folder of raw originals in `store.path`.
//!
//! Every engine passes the same conformance suite (`conformance.rs`).

mod interface;
pub(crate) mod permissions;
pub mod sled;

#[cfg(test)]
pub(crate) mod conformance;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use interface::{
    AlertContextId, COMMENT_PAGE_BYTES, CommentPage, Savepoint, Store, StoreError, StoreHealth,
    TicketQuery, WriteTx,
};
pub use permissions::create_private_dir;

use crate::config::Config;
use crate::model::{Disposition, MessageRecord};

/// Opens the store the configuration names.
pub fn open(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let store = sled::SledStore::open(
        &config.store_path,
        config.store_cache_bytes,
        config.store_min_free_bytes,
    )?;
    Ok(Arc::new(store))
}

/// Opening failed because another process holds the store.
#[derive(Debug, thiserror::Error)]
#[error(
    "the store at {0} is in use by another process (is `ticketd serve` running? then its API must be reachable)"
)]
pub struct StoreLocked(pub String);

/// Sync state of one watched IMAP folder: how far it has been ingested,
/// and which ingested messages still wait to be marked on the server.
///
/// The IMAP source writes a checkpoint in the same write as a batch's
/// outcomes; only once that write returns (durable) does it mark the
/// batch on the server. A crash in between leaves a checkpoint whose
/// `unmarked` list is marked on the next start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxCheckpoint {
    /// UIDVALIDITY the UIDs below belong to.
    pub uid_validity: u32,
    /// Highest UID whose outcome is stored.
    pub last_uid: u32,
    /// Stored, but not yet moved or flagged on the server.
    #[serde(default)]
    pub unmarked: Vec<UnmarkedMessage>,
    /// When a fetch last succeeded.
    pub last_fetch_at: Option<DateTime<Utc>>,
    /// Messages ingested from this mailbox, all time.
    #[serde(default)]
    pub ingested: u64,
}

/// A message whose outcome is stored but which is still in the folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmarkedMessage {
    /// Its UID.
    pub uid: u32,
    /// Goes to quarantine rather than to the processed folder.
    pub quarantined: bool,
}

/// What became of a message, as listings group it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// Opened a ticket or became a comment.
    Ticketed,
    /// Stored but not acted on.
    Ignored,
    /// Kept for an admin to look at.
    Quarantined,
}

impl MessageKind {
    /// Every kind.
    pub const ALL: [MessageKind; 3] = [
        MessageKind::Ticketed,
        MessageKind::Ignored,
        MessageKind::Quarantined,
    ];

    /// The kind of an outcome.
    pub fn of(disposition: &Disposition) -> MessageKind {
        match disposition {
            Disposition::NewTicket { .. } | Disposition::Comment { .. } => MessageKind::Ticketed,
            Disposition::Ignored { .. } => MessageKind::Ignored,
            Disposition::Quarantined { .. } => MessageKind::Quarantined,
        }
    }

    /// A one-byte tag of the kind, for engines' keys.
    pub fn tag(self) -> u8 {
        match self {
            MessageKind::Ticketed => b't',
            MessageKind::Ignored => b'i',
            MessageKind::Quarantined => b'q',
        }
    }

    /// A key sorting a record by kind, then arrival, then fingerprint.
    pub fn log_key(record: &MessageRecord) -> Vec<u8> {
        let mut key = vec![MessageKind::of(&record.disposition).tag()];
        let ms = (record.received_at.timestamp_millis() as u64) ^ (1 << 63);
        key.extend_from_slice(&ms.to_be_bytes());
        key.extend_from_slice(record.fingerprint.as_bytes());
        key
    }
}

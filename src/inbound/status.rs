//! What each inbound mailbox is doing right now, shared between its task
//! and the local API's health report. Only the daemon has live figures;
//! without it, [`from_checkpoints`] reports what the store remembers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::MailboxCheckpoint;

/// Health of one watched mailbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxHealth {
    /// `[[inbound.imap]]` name.
    pub name: String,
    /// `connecting`, `fetching`, `idle`, `polling`, `retrying`, `stopped`
    /// or `not running` (no daemon).
    pub state: String,
    /// The server offers IDLE (known once connected).
    pub idle: Option<bool>,
    /// When a fetch last succeeded.
    pub last_fetch_at: Option<DateTime<Utc>>,
    /// Messages waiting in the folder at the last look.
    pub backlog: Option<u64>,
    /// Failures since the last success.
    pub consecutive_errors: u32,
    /// The most recent failure, with its fix.
    pub last_error: Option<String>,
    /// When the next attempt is due, while retrying.
    pub retry_at: Option<DateTime<Utc>>,
    /// Messages ingested from this mailbox, all time.
    pub ingested: u64,
}

/// Live status of every mailbox; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct MailboxStatuses(Arc<Mutex<BTreeMap<String, MailboxHealth>>>);

impl MailboxStatuses {
    /// A snapshot, ordered by name.
    pub fn snapshot(&self) -> Vec<MailboxHealth> {
        self.lock().values().cloned().collect()
    }

    /// Changes one mailbox's entry (created on first use).
    pub fn update(&self, name: &str, change: impl FnOnce(&mut MailboxHealth)) {
        let mut map = self.lock();
        let entry = map
            .entry(name.to_string())
            .or_insert_with(|| MailboxHealth {
                name: name.to_string(),
                ..MailboxHealth::default()
            });
        change(entry);
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, MailboxHealth>> {
        // A panic while holding this lock leaves plain data behind.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What the store remembers of each mailbox, for `health` without a daemon.
pub fn from_checkpoints(checkpoints: Vec<(String, MailboxCheckpoint)>) -> Vec<MailboxHealth> {
    checkpoints
        .into_iter()
        .map(|(name, checkpoint)| MailboxHealth {
            name,
            state: "not running".into(),
            last_fetch_at: checkpoint.last_fetch_at,
            ingested: checkpoint.ingested,
            ..MailboxHealth::default()
        })
        .collect()
}

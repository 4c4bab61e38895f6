//! Per-mailbox IMAP checkpoints: how far a folder has been ingested, and
//! which ingested messages still wait to be marked on the server.
//!
//! The IMAP source writes a checkpoint after a batch's outcomes are
//! committed and before the one flush that makes both durable; only then
//! does it mark the batch on the server. A crash anywhere in between
//! leaves either nothing durable (the batch is fetched again, and ingest's
//! de-duplication makes that a no-op) or a checkpoint whose `unmarked`
//! list is marked on the next start.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Store, T};

/// Sync state of one watched folder.
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

impl Store {
    /// A mailbox's checkpoint (default when it has none yet).
    pub fn checkpoint(&self, mailbox: &str) -> anyhow::Result<MailboxCheckpoint> {
        Ok(self
            .get_json(T::Checkpoints, mailbox.as_bytes())?
            .unwrap_or_default())
    }

    /// Every stored checkpoint, by mailbox name.
    pub fn checkpoints(&self) -> anyhow::Result<Vec<(String, MailboxCheckpoint)>> {
        self.all(T::Checkpoints, false)
            .map(|entry| {
                let (key, value) = entry?;
                Ok((
                    String::from_utf8_lossy(&key).into_owned(),
                    self.decode(T::Checkpoints, value)?,
                ))
            })
            .collect()
    }

    /// Replaces a mailbox's checkpoint (durable with the next flush).
    pub fn put_checkpoint(
        &self,
        mailbox: &str,
        checkpoint: &MailboxCheckpoint,
    ) -> anyhow::Result<()> {
        let mut tx = self.begin();
        tx.put_checkpoint(mailbox, checkpoint)?;
        tx.commit()
    }
}

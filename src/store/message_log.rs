//! The message log: every stored message indexed by outcome kind and
//! arrival time, so `health` counts quarantined mail and `messages list`
//! shows the newest of a kind without reading every message record.
//!
//! Tree `message_log`: kind (u8) ++ received at (ms, u64 BE, shifted) ++
//! fingerprint -> empty. Stores written before the log existed are
//! indexed once when opened.

use super::{Store, T, WriteTx};
use crate::model::{Disposition, MessageRecord};

/// What became of a message, as the log groups it.
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

    fn of(disposition: &Disposition) -> MessageKind {
        match disposition {
            Disposition::NewTicket { .. } | Disposition::Comment { .. } => MessageKind::Ticketed,
            Disposition::Ignored { .. } => MessageKind::Ignored,
            Disposition::Quarantined { .. } => MessageKind::Quarantined,
        }
    }

    fn tag(self) -> u8 {
        match self {
            MessageKind::Ticketed => b't',
            MessageKind::Ignored => b'i',
            MessageKind::Quarantined => b'q',
        }
    }
}

const INDEXED_FLAG: &str = "message_log_v1";

fn log_key(record: &MessageRecord) -> Vec<u8> {
    let mut key = vec![MessageKind::of(&record.disposition).tag()];
    let ms = (record.received_at.timestamp_millis() as u64) ^ (1 << 63);
    key.extend_from_slice(&ms.to_be_bytes());
    key.extend_from_slice(record.fingerprint.as_bytes());
    key
}

/// The log key of `record` (for tests that take a store back in time).
#[cfg(test)]
pub(super) fn tests_key(record: &MessageRecord) -> Vec<u8> {
    log_key(record)
}

impl WriteTx<'_> {
    /// Adds a message to the log (with its record, see `put_message`).
    pub(super) fn log_message(&mut self, record: &MessageRecord) {
        self.put(T::MessageLog, log_key(record), Vec::new());
    }
}

impl Store {
    /// Messages of `kinds`, newest first, at most `limit`.
    pub fn messages_of(
        &self,
        kinds: &[MessageKind],
        limit: usize,
    ) -> anyhow::Result<Vec<MessageRecord>> {
        let mut found = Vec::new();
        for kind in kinds {
            for entry in self
                .with_prefix_desc(T::MessageLog, &[kind.tag()])
                .take(limit)
            {
                let (key, _) = entry?;
                let fingerprint = String::from_utf8_lossy(&key[9..]).into_owned();
                found.extend(self.message(&fingerprint)?);
            }
        }
        found.sort_by_key(|m| std::cmp::Reverse(m.received_at));
        found.truncate(limit);
        Ok(found)
    }

    /// Number of messages of `kind`.
    pub fn message_count(&self, kind: MessageKind) -> usize {
        self.with_prefix(T::MessageLog, &[kind.tag()]).count()
    }

    /// Indexes the messages of a store written before the log existed.
    pub(super) fn index_message_log_once(&self) -> anyhow::Result<()> {
        if self.get(T::Meta, INDEXED_FLAG.as_bytes())?.is_some() {
            return Ok(());
        }
        let mut tx = self.begin();
        for record in self.messages() {
            tx.log_message(&record?);
        }
        tx.put(T::Meta, INDEXED_FLAG, vec![1]);
        tx.commit()?;
        self.flush()
    }
}

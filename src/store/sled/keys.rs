//! The embedded engine's trees and key encodings. Values are JSON unless
//! noted; numbers in keys are big-endian, so keys sort as the numbers do.
//!
//! - `meta`: schema version, counters, secrets (bytes)
//! - `tickets`: ticket id -> [`Ticket`](crate::model::Ticket)
//! - `tickets_by_status`: status tag ++ ticket id -> empty
//! - `requester_tickets`: requester ++ 0x00 ++ ticket id -> empty
//! - `comments`: ticket id ++ seq (u32) -> [`Comment`](crate::model::Comment)
//! - `events`: ticket id ++ seq (u32) -> [`TicketEvent`](crate::model::TicketEvent)
//! - `messages`: fingerprint -> [`MessageRecord`](crate::model::MessageRecord)
//!   (the raw bytes are a file, see `raw_files.rs`)
//! - `message_log`: outcome tag ++ received at (ms, shifted) ++ fingerprint
//!   -> empty
//! - `ticket_messages`: ticket id ++ received at (ms, shifted) ++
//!   fingerprint -> empty
//! - `message_ids`: Message-ID (lower-case) -> ticket id
//! - `correlations`: correlation key -> ticket id, while it is open
//! - `outbox`: item id -> [`OutboxItem`](crate::model::outbox::OutboxItem)
//!   without its context
//! - `outbox_context`: item id -> alert context id (u64)
//! - `alert_contexts`: alert context id -> template context (JSON)
//! - `outbox_due`: next attempt (ms, shifted) ++ item id -> empty, for
//!   pending items
//! - `ticket_outbox`: ticket id ++ item id -> empty
//! - `rate`: recipient -> send times; 0x00 ++ ticket id ++ recipient ->
//!   send times about that ticket
//! - `checkpoints`: IMAP mailbox name -> its checkpoint

use chrono::{DateTime, Utc};

use crate::model::{Status, TicketId};

/// A tree of the embedded engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tree {
    Meta,
    Tickets,
    TicketsByStatus,
    RequesterTickets,
    Comments,
    Events,
    Messages,
    MessageLog,
    TicketMessages,
    MessageIds,
    Correlations,
    Outbox,
    OutboxContext,
    AlertContexts,
    OutboxDue,
    TicketOutbox,
    Rate,
    Checkpoints,
}

impl Tree {
    /// Every tree, in a fixed order (their positions in the open store).
    pub const ALL: [Tree; 18] = [
        Tree::Meta,
        Tree::Tickets,
        Tree::TicketsByStatus,
        Tree::RequesterTickets,
        Tree::Comments,
        Tree::Events,
        Tree::Messages,
        Tree::MessageLog,
        Tree::TicketMessages,
        Tree::MessageIds,
        Tree::Correlations,
        Tree::Outbox,
        Tree::OutboxContext,
        Tree::AlertContexts,
        Tree::OutboxDue,
        Tree::TicketOutbox,
        Tree::Rate,
        Tree::Checkpoints,
    ];

    /// The tree's name in sled.
    pub fn name(self) -> &'static str {
        match self {
            Tree::Meta => "meta",
            Tree::Tickets => "tickets",
            Tree::TicketsByStatus => "tickets_by_status",
            Tree::RequesterTickets => "requester_tickets",
            Tree::Comments => "comments",
            Tree::Events => "events",
            Tree::Messages => "messages",
            Tree::MessageLog => "message_log",
            Tree::TicketMessages => "ticket_messages",
            Tree::MessageIds => "message_ids",
            Tree::Correlations => "correlations",
            Tree::Outbox => "outbox",
            Tree::OutboxContext => "outbox_context",
            Tree::AlertContexts => "alert_contexts",
            Tree::OutboxDue => "outbox_due",
            Tree::TicketOutbox => "ticket_outbox",
            Tree::Rate => "rate",
            Tree::Checkpoints => "checkpoints",
        }
    }

    /// Position in [`Tree::ALL`].
    pub fn index(self) -> usize {
        Tree::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// A u64 as a key.
pub fn id_key(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

/// Reads back a u64 key or value (0 when it is not 8 bytes).
pub fn decode_u64(bytes: &[u8]) -> u64 {
    bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

/// Ticket id ++ sequence number (comments, events).
pub fn seq_key(ticket: TicketId, seq: u32) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..8].copy_from_slice(&ticket.0.to_be_bytes());
    key[8..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// Ticket id ++ another u64 (`ticket_outbox`).
pub fn pair_key(ticket: TicketId, other: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&ticket.0.to_be_bytes());
    key[8..].copy_from_slice(&other.to_be_bytes());
    key
}

/// A time as 8 bytes that sort in time order (before 1970 too).
pub fn time_bytes(at: DateTime<Utc>) -> [u8; 8] {
    ((at.timestamp_millis() as u64) ^ (1 << 63)).to_be_bytes()
}

/// Due time ++ item id (`outbox_due`).
pub fn due_key(at: DateTime<Utc>, id: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&time_bytes(at));
    key[8..].copy_from_slice(&id.to_be_bytes());
    key
}

/// Status tag ++ ticket id (`tickets_by_status`).
pub fn status_key(status: Status, ticket: TicketId) -> Vec<u8> {
    let mut key = vec![status_tag(status)];
    key.extend_from_slice(&ticket.0.to_be_bytes());
    key
}

/// The one-byte tag of a status.
pub fn status_tag(status: Status) -> u8 {
    match status {
        Status::Open => b'o',
        Status::Closed => b'c',
    }
}

/// Requester ++ 0x00 ++ ticket id; the prefix alone with `None`.
pub fn requester_key(requester: &str, ticket: Option<TicketId>) -> Vec<u8> {
    let mut key = requester.as_bytes().to_vec();
    key.push(0);
    if let Some(id) = ticket {
        key.extend_from_slice(&id.0.to_be_bytes());
    }
    key
}

/// `rate` key of a recipient's send times about one ticket (the leading
/// 0x00 keeps it apart from addresses).
pub fn ticket_rate_key(ticket: TicketId, recipient: &str) -> Vec<u8> {
    let mut key = vec![0u8];
    key.extend_from_slice(&ticket.0.to_be_bytes());
    key.extend_from_slice(recipient.as_bytes());
    key
}

/// Ticket id ++ arrival time ++ fingerprint (`ticket_messages`).
pub fn ticket_message_key(ticket: TicketId, at: DateTime<Utc>, fingerprint: &str) -> Vec<u8> {
    let mut key = ticket.0.to_be_bytes().to_vec();
    key.extend_from_slice(&time_bytes(at));
    key.extend_from_slice(fingerprint.as_bytes());
    key
}

/// The range of keys starting with `prefix`.
pub fn prefix_range(prefix: &[u8]) -> (std::ops::Bound<Vec<u8>>, std::ops::Bound<Vec<u8>>) {
    use std::ops::Bound;
    let start = Bound::Included(prefix.to_vec());
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return (start, Bound::Excluded(end));
        }
    }
    (start, Bound::Unbounded)
}

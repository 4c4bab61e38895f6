//! Readers of the files that stores of schema 2 and earlier kept besides
//! sled, for the migration only (`../migrate.rs`): the write-ahead
//! journal of commits not yet applied to sled (`journal/`) and the blob
//! segments that held large values (`blobs/`). Nothing writes them any
//! more.

pub mod blobs;
pub mod journal;

/// The trees of those stores, in the order their journal numbers them.
pub const TREE_NAMES: [&str; 18] = [
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

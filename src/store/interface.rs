//! The storage interface: [`Store`] for reads and for running a write,
//! [`WriteTx`] for what a write reads and changes. Both are typed: tickets,
//! comments, events, messages, outbox items, send times and checkpoints,
//! never keys or trees, so an engine may keep them however suits it (the
//! embedded engine in sled trees, a later one in SQL tables with indexes).
//!
//! Contract every engine keeps (the conformance suite checks it):
//! - [`Store::write`] runs its work in one transaction: all of it is
//!   stored, or (on any error) none of it. It returns `Ok` only once the
//!   write is durable: it survives a crash and a power cut.
//! - A write sees everything committed before it and its own changes.
//!   Writes are serializable: two writes that read and change the same
//!   ticket never lose an update. An engine may run the work more than
//!   once (to retry a conflict), so the work must not act outside the
//!   write (no mail sent, no mailbox marked) and must start from scratch
//!   each time.
//! - Reads outside a write see every write whose `write` returned; they
//!   may also see a write that is still being made durable. Nothing that
//!   acts on a read (sending an alert) reads that way: due outbox items
//!   come from [`Store::due_outbox`], which returns only durable ones.
//! - A full disk fails a write with [`StoreError::Full`] before anything
//!   is written; reads keep working.

use chrono::{DateTime, Utc};

use crate::model::outbox::OutboxItem;
use crate::model::{Comment, MessageRecord, Status, Ticket, TicketEvent, TicketId};

use super::{MailboxCheckpoint, MessageKind};

/// Why a write failed. Nothing of it was stored in any case.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The work itself failed (a refused operation, a bad record).
    #[error(transparent)]
    Aborted(anyhow::Error),
    /// The disk holding the store is full, or below `store.min_free_bytes`.
    /// Retry once there is room.
    #[error(
        "the store's disk is full ({available} bytes free, {needed} needed with store.min_free_bytes); free some space and the write is retried"
    )]
    Full {
        /// Bytes free for the store.
        available: u64,
        /// Bytes the write needed, reserve included.
        needed: u64,
    },
    /// The engine failed (I/O error, corruption). The engine may need a
    /// restart of ticketd to recover (see [`Store::health`]).
    #[error("the store failed: {0:#}")]
    Engine(anyhow::Error),
}

impl StoreError {
    /// Whether retrying the same write later can succeed without anyone
    /// changing it (the disk was full, the engine hiccuped).
    pub fn is_transient(&self) -> bool {
        !matches!(self, StoreError::Aborted(_))
    }
}

/// The store's own state, for `ticketd health`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoreHealth {
    /// `ok`, `disk full` or `failed`.
    pub state: String,
    /// The latest write problem, while it lasts.
    pub problem: Option<String>,
}

/// Which tickets to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketQuery {
    /// Only this status.
    pub status: Option<Status>,
    /// Only tickets this address opened (normalized).
    pub requester: Option<String>,
    /// Only tickets created at or after this time.
    pub created_from: Option<DateTime<Utc>>,
    /// Only tickets created before this time.
    pub created_until: Option<DateTime<Utc>>,
    /// Only tickets numbered below this one (the next page).
    pub before: Option<TicketId>,
    /// At most this many.
    pub limit: usize,
}

/// A page of comments and where the next one starts.
#[derive(Debug, Clone, Default)]
pub struct CommentPage {
    /// Comments in order.
    pub comments: Vec<Comment>,
    /// `seq` of the first comment not returned, if any.
    pub next: Option<u32>,
}

/// Text a page of comments holds at most, in bytes (at least one comment
/// is always returned; one comment is bounded by the message size limit).
pub const COMMENT_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// A stored alert snapshot (what templates see), shared by the items of
/// one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertContextId(pub u64);

/// A point a write can go back to ([`WriteTx::rollback_to`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Savepoint(pub usize);

/// The durable store.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Runs `work` as one write: durable when this returns `Ok`, nothing
    /// stored when it returns `Err` (see the module doc).
    fn write(
        &self,
        work: &mut dyn FnMut(&mut dyn WriteTx) -> anyhow::Result<()>,
    ) -> Result<(), StoreError>;

    /// Whether a write of about `bytes` would find room now.
    fn has_room_for(&self, bytes: u64) -> bool;

    /// The store's state.
    fn health(&self) -> StoreHealth;

    /// A ticket by number.
    fn ticket(&self, id: TicketId) -> anyhow::Result<Option<Ticket>>;
    /// Tickets matching `query`, newest first.
    fn tickets(&self, query: &TicketQuery) -> anyhow::Result<Vec<Ticket>>;
    /// Number of ticket numbers handed out.
    fn ticket_count(&self) -> anyhow::Result<u64>;
    /// One comment.
    fn comment(&self, id: TicketId, seq: u32) -> anyhow::Result<Option<Comment>>;
    /// Comments of a ticket from `from` on, at most `limit` and about
    /// [`COMMENT_PAGE_BYTES`] of text.
    fn comments(&self, id: TicketId, from: u32, limit: usize) -> anyhow::Result<CommentPage>;
    /// The newest `limit` events of a ticket, oldest first.
    fn latest_events(&self, id: TicketId, limit: usize) -> anyhow::Result<Vec<TicketEvent>>;

    /// The record of an ingested message, by fingerprint.
    fn message(&self, fingerprint: &str) -> anyhow::Result<Option<MessageRecord>>;
    /// Messages of `kinds`, newest first, at most `limit`.
    fn messages(&self, kinds: &[MessageKind], limit: usize) -> anyhow::Result<Vec<MessageRecord>>;
    /// Number of messages of `kind`.
    fn message_count(&self, kind: MessageKind) -> anyhow::Result<usize>;
    /// Up to `limit` records of messages that arrived for a ticket, in
    /// arrival order, and whether there are more.
    fn messages_for_ticket(
        &self,
        id: TicketId,
        limit: usize,
    ) -> anyhow::Result<(Vec<MessageRecord>, bool)>;
    /// The raw bytes of a stored message (`key` is its record's
    /// `raw_key`).
    fn raw(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>>;

    /// An outbox item's record, without its template context.
    fn outbox_record(&self, id: u64) -> anyhow::Result<Option<OutboxItem>>;
    /// An outbox item with its template context, to render it.
    fn outbox_item(&self, id: u64) -> anyhow::Result<Option<OutboxItem>>;
    /// Outbox records newest first, numbered below `before`, in `status`
    /// (its name, e.g. `gave_up`) if given, at most `limit`.
    fn outbox_page(
        &self,
        status: Option<&str>,
        before: Option<u64>,
        limit: usize,
    ) -> anyhow::Result<Vec<OutboxItem>>;
    /// The newest `limit` outbox records of a ticket, oldest first, and
    /// whether there are older ones.
    fn outbox_for_ticket(
        &self,
        id: TicketId,
        limit: usize,
    ) -> anyhow::Result<(Vec<OutboxItem>, bool)>;
    /// Records (no context) of pending items due at `now`, oldest first,
    /// only durable ones: what the sender may act on.
    fn due_outbox(&self, now: DateTime<Utc>, limit: usize) -> anyhow::Result<Vec<OutboxItem>>;
    /// Earliest pending attempt time, if anything is pending.
    fn next_due(&self) -> anyhow::Result<Option<DateTime<Utc>>>;
    /// Number of pending outbox items.
    fn pending_count(&self) -> anyhow::Result<usize>;

    /// Every stored IMAP checkpoint, by mailbox name.
    fn checkpoints(&self) -> anyhow::Result<Vec<(String, MailboxCheckpoint)>>;

    /// A secret of `len` random bytes kept under `name`, created (durably)
    /// on first use: the thread-token key, the desk's loop id.
    fn secret(&self, name: &str, len: usize) -> anyhow::Result<Vec<u8>>;
}

/// What a write reads and changes. Reads see the write's own changes.
pub trait WriteTx {
    /// The next ticket number (each call reserves one).
    fn next_ticket_id(&mut self) -> anyhow::Result<TicketId>;
    /// The next outbox item id (each call reserves one).
    fn next_outbox_id(&mut self) -> anyhow::Result<u64>;

    /// A ticket by number.
    fn ticket(&self, id: TicketId) -> anyhow::Result<Option<Ticket>>;
    /// Inserts or replaces a ticket (indexes follow it).
    fn put_ticket(&mut self, ticket: &Ticket) -> anyhow::Result<()>;
    /// Whether `requester` (normalized) opened any ticket.
    fn has_ticket_from(&self, requester: &str) -> anyhow::Result<bool>;
    /// Inserts a comment.
    fn put_comment(&mut self, ticket: TicketId, comment: &Comment) -> anyhow::Result<()>;
    /// Appends a history entry.
    fn put_event(&mut self, ticket: TicketId, event: &TicketEvent) -> anyhow::Result<()>;

    /// The record of an ingested message, by fingerprint.
    fn message(&self, fingerprint: &str) -> anyhow::Result<Option<MessageRecord>>;
    /// Records an ingested message with its raw bytes (indexed under its
    /// ticket, if any, and by outcome).
    fn put_message(&mut self, record: &MessageRecord, raw: &[u8]) -> anyhow::Result<()>;
    /// The ticket a Message-ID was stored for.
    fn ticket_for_message_id(&self, message_id: &str) -> anyhow::Result<Option<TicketId>>;
    /// Remembers that a Message-ID belongs to a ticket.
    fn index_message_id(&mut self, message_id: &str, ticket: TicketId) -> anyhow::Result<()>;
    /// The open ticket collecting a correlation key's mail, if any.
    fn correlated_ticket(&self, key: &str) -> anyhow::Result<Option<TicketId>>;
    /// Points a correlation key at the open ticket that collects its mail.
    fn index_correlation(&mut self, key: &str, ticket: TicketId) -> anyhow::Result<()>;
    /// Forgets a correlation key (its ticket was closed).
    fn unindex_correlation(&mut self, key: &str) -> anyhow::Result<()>;

    /// Stores the template context of one event's alerts, once for all of
    /// its items.
    fn put_alert_context(&mut self, context: &serde_json::Value) -> anyhow::Result<AlertContextId>;
    /// Inserts a new outbox item rendered from `context` (the item's own
    /// `context` field is not stored).
    fn put_new_outbox(&mut self, item: &OutboxItem, context: AlertContextId) -> anyhow::Result<()>;
    /// An outbox item's record, without its context.
    fn outbox_record(&self, id: u64) -> anyhow::Result<Option<OutboxItem>>;
    /// Updates an outbox item's record (its context never changes).
    fn put_outbox(&mut self, item: &OutboxItem) -> anyhow::Result<()>;

    /// A recipient's recent automatic send times.
    fn rate(&self, recipient: &str) -> anyhow::Result<Vec<DateTime<Utc>>>;
    /// Replaces a recipient's recent automatic send times.
    fn put_rate(&mut self, recipient: &str, times: &[DateTime<Utc>]) -> anyhow::Result<()>;
    /// A recipient's recent automatic send times about one ticket.
    fn ticket_rate(&self, ticket: TicketId, recipient: &str) -> anyhow::Result<Vec<DateTime<Utc>>>;
    /// Replaces a recipient's recent automatic send times about one ticket.
    fn put_ticket_rate(
        &mut self,
        ticket: TicketId,
        recipient: &str,
        times: &[DateTime<Utc>],
    ) -> anyhow::Result<()>;

    /// A mailbox's checkpoint (default when it has none yet).
    fn checkpoint(&self, mailbox: &str) -> anyhow::Result<MailboxCheckpoint>;
    /// Replaces a mailbox's checkpoint.
    fn put_checkpoint(
        &mut self,
        mailbox: &str,
        checkpoint: &MailboxCheckpoint,
    ) -> anyhow::Result<()>;

    /// The point this write has reached.
    fn savepoint(&mut self) -> Savepoint;
    /// Undoes everything this write did after `savepoint`.
    fn rollback_to(&mut self, savepoint: Savepoint);
}

impl dyn Store + '_ {
    /// Runs `work` as one write and returns what it returned (see
    /// [`Store::write`]). `work` may run more than once.
    pub fn transact<R>(
        &self,
        mut work: impl FnMut(&mut dyn WriteTx) -> anyhow::Result<R>,
    ) -> Result<R, StoreError> {
        let mut result = None;
        self.write(&mut |tx| {
            result = Some(work(tx)?);
            Ok(())
        })?;
        result.ok_or_else(|| StoreError::Engine(anyhow::anyhow!("a write returned no result")))
    }
}

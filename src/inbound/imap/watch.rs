//! What a pass over a watched folder works with besides its session: the
//! mailbox, where outcomes go, and what the server offers (shared by the
//! listing and the sync of a pass).

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::imap::ImapConfig;
use crate::domain::workflow::Workflow;
use crate::inbound::status::MailboxStatuses;
use crate::store::Store;

/// What the server offers, asked once per session.
#[derive(Debug, Clone, Copy, Default)]
pub struct Capabilities {
    /// RFC 2177 IDLE.
    pub idle: bool,
    /// RFC 6851 MOVE.
    pub moves: bool,
    /// RFC 4315 UIDPLUS (UID EXPUNGE).
    pub uidplus: bool,
}

/// Everything a pass needs besides the session.
pub struct Watch<'a> {
    /// The mailbox.
    pub config: &'a ImapConfig,
    /// Where outcomes are stored.
    pub store: &'a Arc<dyn Store>,
    /// What they do there.
    pub workflow: &'a Workflow,
    /// Live health.
    pub statuses: &'a MailboxStatuses,
    /// Stops between batches.
    pub stop: &'a CancellationToken,
    /// What the server offers.
    pub caps: Capabilities,
    /// Woken after each stored batch, so its alerts go out at once.
    pub wake_sender: &'a tokio::sync::Notify,
}

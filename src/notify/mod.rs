//! Outgoing mail: queueing alerts into the outbox ([`queue`]), templates
//! ([`templates`]), building messages ([`compose`]), transports
//! ([`transport`]) and the background sender ([`sender`]).

pub mod compose;
pub mod queue;
pub mod sender;
pub mod smtp;
pub mod templates;
pub mod transport;
pub mod watch;

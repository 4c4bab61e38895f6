//! Outgoing mail: turning alerts into outbox items ([`enqueue`], through
//! the [`loop_guard`]), templates ([`templates`]), building messages
//! ([`compose`]), transports ([`transport`], [`smtp`]) and the background
//! loop that delivers the outbox ([`delivery`]).

pub mod compose;
pub mod delivery;
pub mod enqueue;
pub mod loop_guard;
pub mod send_result;
pub mod smtp;
pub mod templates;
pub mod transport;
pub mod watch;

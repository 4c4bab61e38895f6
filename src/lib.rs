//! ticketd: an e-mail integrated ticketing daemon.
//!
//! Customers write to a support address; each new mail becomes a ticket,
//! each reply a comment on the right ticket, and ticketd tells everyone what
//! they need to know without ever starting a mail loop.
//!
//! # Layout
//!
//! The core is a pipeline: **events -> rules -> actions** (today: alerts).
//! The layers, top to bottom; a module imports only from layers below it:
//!
//! - [`face`]: how people and tools reach ticketd: the command line
//!   ([`face::cli`]), the daemon's local API ([`face::api`]) and its client
//!   ([`face::client`]), every command as data ([`face::ops`]),
//!   [`face::App`], the store and workflow they run on, and the process's
//!   allocator limits ([`face::allocator`]).
//! - [`daemon`]: `ticketd serve`, one supervised task per loop.
//! - [`inbound`]: sources that feed [`ingest`]: IMAP mailboxes (checkpoint,
//!   batches, IDLE; [`inbound::imap`]) and a Maildir drop folder, plus
//!   their live health ([`inbound::status`]).
//! - [`ingest`]: the one network-free seam from raw bytes to a stored
//!   outcome, with mail parsing ([`ingest::mail`]), classification
//!   ([`ingest::classify`]), staff proof ([`ingest::staff_proof`]), threading
//!   ([`ingest::threading`]), commands (`#close`, `#internal`;
//!   [`ingest::commands`]) and content clean-up ([`ingest::content`]).
//! - [`domain`]: what happens to a ticket: the ticket operations every
//!   entry point shares ([`domain::workflow`]), each recording an event,
//!   and the [`domain::rules`] (data) that turn an event into actions.
//! - [`notify`]: alerts into outbox items through the loop guard
//!   ([`notify::enqueue`], [`notify::loop_guard`]), templates, message
//!   composition, transports, and the delivery loop.
//! - [`store`]: the storage interface ([`store::Store`], [`store::WriteTx`]:
//!   typed, transactional, durable on return) and its engines
//!   ([`store::sled`]).
//! - [`config`]: two-phase configuration (raw TOML, then validated).
//! - [`model`]: the plain data every layer shares (tickets, comments,
//!   events, messages, outbox items) and the keyed thread tokens.

pub mod config;
pub mod daemon;
pub mod domain;
pub mod face;
pub mod inbound;
pub mod ingest;
pub mod model;
pub mod notify;
pub mod store;

#[cfg(test)]
mod testutil;

//! ticketd: an e-mail integrated ticketing daemon.
//!
//! Customers write to a support address; each new mail becomes a ticket,
//! each reply a comment on the right ticket, and ticketd tells everyone what
//! they need to know without ever starting a mail loop.
//!
//! # Layout
//!
//! The core is a pipeline: **events -> rules -> notifications**.
//!
//! - [`ingest`]: the one network-free seam from raw bytes to a stored
//!   outcome. It uses [`mail`] (parsing), [`classify`] (what kind of
//!   sender), [`sender`] (is this provably staff), [`threading`] (which
//!   ticket) and [`commands`] (`#close`, `#internal`).
//! - [`desk`]: the ticket operations every entry point shares; each writes
//!   its change, its event's alerts ([`rules`]) and the outbox items
//!   ([`notify::queue`]) in one store commit.
//! - [`store`]: typed operations over sled; nothing else sees a tree.
//! - [`notify`]: templates, message composition, transports, the
//!   background sender that drains the [`outbox`], and the template
//!   watcher that checks edits as they are saved.
//! - [`inbound`]: sources that feed [`ingest`]: IMAP mailboxes (checkpoint,
//!   batches, IDLE; [`inbound::imap`]) and a Maildir drop folder, plus
//!   their live health ([`inbound::status`]).
//! - [`ops`], [`api`], [`client`], [`cli`]: every command as data, served
//!   by the daemon's local API or run directly on the store.
//! - [`daemon`]: `ticketd serve`, one supervised task per loop.
//! - [`config`]: two-phase configuration (raw TOML, then validated).
//! - [`model`], [`token`]: the domain types and keyed thread tokens.

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

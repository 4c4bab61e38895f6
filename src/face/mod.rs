//! The face: how people and tools reach ticketd. The command line
//! ([`cli`]), the daemon's local API ([`api`]) and the CLI's client for it
//! ([`client`]), and every command as data ([`ops`]), run the same way
//! whether the daemon or the CLI holds the store.

pub mod api;
pub mod cli;
pub mod client;
pub mod logging;
pub mod ops;

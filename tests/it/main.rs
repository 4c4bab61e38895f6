//! Integration tests: drive the `ticketd` binary.
//!
//! - `cli`: every command against a store the CLI opens itself;
//! - `daemon`: `ticketd serve` as a child process, with the CLI going
//!   through its local API;
//! - `imap`: `ticketd serve` on a real Dovecot mailbox over IMAP, with
//!   alerts through a real Postfix, including crashes and outages;
//! - `smtp`: delivery through a real Postfix into Dovecot, read back over
//!   IMAP (needs the loopback mail stack of `scripts/test`);
//! - `bounces`: bounces of our mail, replies to closed tickets and
//!   automated-mail correlation, with the file transport.

mod bounces;
mod cli;
mod daemon;
mod imap;
mod mailstack;
mod smtp;
mod util;

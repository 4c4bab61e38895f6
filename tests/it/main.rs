//! Integration tests: drive the `ticketd` binary.
//!
//! - `cli`: every command against a store the CLI opens itself;
//! - `cli_terminal`: what the CLI writes to a terminal (escape sequences
//!   in mail made inert, a reader that closes early);
//! - `corpus`: the fixture corpus in `tests/corpus`, through the ingest seam;
//! - `daemon`: `ticketd serve` as a child process, with the CLI going
//!   through its local API;
//! - `fuzz_regressions`: the inputs in `tests/fixtures/fuzz/` (and inputs
//!   that once took quadratic time) through the ingest seam, in-process;
//! - `imap`: `ticketd serve` on a real Dovecot mailbox over IMAP, with
//!   alerts through a real Postfix, including crashes and outages;
//! - `loops`: two daemons pointed at each other (loop protection end to end);
//! - `mutations`: truncated and mutated corpus messages (bad input);
//! - `smtp`: delivery through a real Postfix into Dovecot, read back over
//!   IMAP (needs the loopback mail stack of `scripts/test`);
//! - `bounces`: bounces of our mail, replies to closed tickets and
//!   automated-mail correlation, with the file transport.

mod bounces;
mod cli;
mod cli_terminal;
mod concurrency;
mod corpus;
mod daemon;
mod desk;
mod full_disk;
mod fuzz_regressions;
mod imap;
mod loops;
mod mailstack;
mod mutations;
mod smtp;
mod util;

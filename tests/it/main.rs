//! Integration tests: drive the `ticketd` binary.
//!
//! - `cli`: every command against a store the CLI opens itself;
//! - `corpus`: the fixture corpus in `tests/corpus`, through the ingest seam;
//! - `daemon`: `ticketd serve` as a child process, with the CLI going
//!   through its local API;
//! - `loops`: two daemons pointed at each other (loop protection end to end);
//! - `mutations`: truncated and mutated corpus messages (bad input);
//! - `smtp`: delivery through a real Postfix into Dovecot, read back over
//!   IMAP (needs the loopback mail stack of `scripts/test`).

mod cli;
mod corpus;
mod daemon;
mod loops;
mod mutations;
mod smtp;
mod util;

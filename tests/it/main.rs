//! Integration tests: drive the `ticketd` binary.

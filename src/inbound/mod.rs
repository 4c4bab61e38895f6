//! Inbound sources. Each only fetches raw bytes and hands them to
//! [`crate::ingest::ingest`]; none parses or decides anything itself.

pub mod imap;
pub mod maildir;
pub mod status;

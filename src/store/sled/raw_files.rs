//! Raw originals of the embedded engine: one file per message under
//! `raw/`, named by a hash of its raw key (two-level fan-out, so no folder
//! holds more than a few thousand files). They are the largest values
//! ticketd keeps and are read only on request ("show original",
//! attachments), so they stay out of sled's pages and page cache.
//!
//! A file is written (to a temporary name, then renamed) before the write
//! that records it commits; the commit's sync makes both durable. A crash
//! in between leaves at most an unreferenced file, which the same message
//! arriving again overwrites.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};

use crate::store::create_private_dir;
use crate::store::permissions::FILE_MODE;

/// The folder of raw originals in a store.
pub(super) fn dir(store: &Path) -> PathBuf {
    store.join("raw")
}

fn path(store: &Path, raw_key: &str) -> PathBuf {
    let name = hex::encode(Sha256::digest(raw_key.as_bytes()));
    dir(store).join(&name[..2]).join(&name[2..])
}

/// Writes a raw original (not yet synced: the commit syncs).
pub(super) fn write(store: &Path, raw_key: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let path = path(store, raw_key);
    let folder = path.parent().context("A raw file has no folder")?;
    create_private_dir(&dir(store)).context("Creating the raw message folder")?;
    create_private_dir(folder).context("Creating a raw message folder")?;
    let temp = folder.join(".writing");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(&temp)
        .with_context(|| format!("Creating {}", temp.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("Writing {}", temp.display()))?;
    std::fs::rename(&temp, &path).with_context(|| format!("Renaming to {}", path.display()))
}

/// Reads a raw original, if the store has it.
pub(super) fn read(store: &Path, raw_key: &str) -> anyhow::Result<Option<Vec<u8>>> {
    match std::fs::read(path(store, raw_key)) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context("Reading a raw message")),
    }
}

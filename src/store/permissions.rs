//! Store files are for ticketd's user only: raw mail must not be
//! readable by other local users.
//!
//! [`create_private_dir`] makes the store's folders 0700, and ticketd's
//! own files (raw originals) are created 0600. sled creates its
//! files (`db/`) with the process umask: `ticketd` sets 0o077 first
//! thing, so they are 0600 too; a library user's umask may be wider, so
//! [`Store::open`](super::Store::open) makes what sled created at open
//! private, and anything sled creates later is still inside the 0700
//! store folder. Opening also tightens a store written before all this
//! (folders 0755, files 0644), logging once when it had to.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

/// Mode of a file ticketd creates in the store.
pub(crate) const FILE_MODE: u32 = 0o600;

/// Group and other permission bits.
const SHARED_BITS: u32 = 0o077;

/// Creates the folder `path` with mode 0700 (missing parents with the
/// usual mode); an existing folder is left as it is.
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        other => other,
    }
}

/// Before the store opens: makes a store written by an older version
/// private, and says so.
pub(super) fn tighten_existing(root: &Path) {
    match make_private(root) {
        Ok(0) => {}
        Ok(fixed) => tracing::warn!(
            store = %root.display(),
            fixed,
            "Store files were open to other users; made them private (folders 0700, files 0600)"
        ),
        Err(e) => warn_not_private(root, &e),
    }
}

/// After the store opened: makes private what sled created at open under
/// a wider umask than `ticketd`'s own (library use).
pub(super) fn tighten_new(root: &Path) {
    if let Err(e) = make_private(root) {
        warn_not_private(root, &e);
    }
}

fn warn_not_private(root: &Path, e: &anyhow::Error) {
    tracing::warn!(
        store = %root.display(),
        error = %format!("{e:#}"),
        "Could not make every store file private"
    );
}

/// Takes the group and other bits (and any special bits) off `root` and
/// everything under it, keeping the owner's; returns how many paths needed
/// it. Symbolic links are neither changed nor followed.
fn make_private(root: &Path) -> anyhow::Result<usize> {
    use anyhow::Context;
    let mut fixed = 0;
    let mut pending = vec![root.to_path_buf()];
    while let Some(path) = pending.pop() {
        let metadata = std::fs::symlink_metadata(&path)
            .with_context(|| format!("Reading the mode of {}", path.display()))?;
        if metadata.file_type().is_symlink() {
            continue;
        }
        let mode = metadata.permissions().mode();
        if mode & SHARED_BITS != 0 {
            let private = std::fs::Permissions::from_mode(mode & 0o700);
            std::fs::set_permissions(&path, private)
                .with_context(|| format!("Making {} private", path.display()))?;
            fixed += 1;
        }
        if metadata.is_dir() {
            let entries =
                std::fs::read_dir(&path).with_context(|| format!("Listing {}", path.display()))?;
            for entry in entries {
                pending.push(entry?.path());
            }
        }
    }
    Ok(fixed)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};

    use crate::model::{Disposition, MessageRecord, Source, TicketId};
    use crate::store::Store;
    use crate::store::sled::SledStore;

    fn open(path: &Path) -> SledStore {
        SledStore::open(path, 1 << 20, 0).unwrap()
    }

    /// A ticket with a message and its raw original.
    fn commit_sample(store: &dyn Store) {
        let record = MessageRecord {
            fingerprint: "fp".into(),
            raw_key: "fp".into(),
            size: 3,
            source: Source::Other("test".into()),
            from: None,
            subject: None,
            rule: "test".into(),
            disposition: Disposition::NewTicket {
                ticket: TicketId(1),
            },
            received_at: chrono::Utc::now(),
        };
        crate::store::conformance::open(store, "carol@customer.test");
        crate::store::conformance::write(store, |tx| tx.put_message(&record, b"raw"));
    }

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    /// Every path under `root` (itself included) with its mode.
    fn walk(root: &Path) -> Vec<(PathBuf, u32)> {
        let mut found = vec![(root.to_path_buf(), mode(root))];
        if std::fs::symlink_metadata(root).unwrap().is_dir() {
            for entry in std::fs::read_dir(root).unwrap() {
                found.extend(walk(&entry.unwrap().path()));
            }
        }
        found
    }

    /// Paths under `root` that group or others may use.
    fn shared_paths(root: &Path) -> Vec<(PathBuf, u32)> {
        let mut shared = walk(root);
        shared.retain(|(_, mode)| mode & 0o077 != 0);
        shared
    }

    fn set_mode(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_new_store_and_everything_written_into_it_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let store = open(&path);
        commit_sample(&store);
        assert_eq!(format!("{:o}", mode(&path)), "700");
        assert!(walk(&path).len() > 3, "{:?}", walk(&path));
        assert_eq!(shared_paths(&path), []);
    }

    #[test]
    fn opening_makes_an_older_stores_shared_files_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        {
            let store = open(&path);
            commit_sample(&store);
        }
        std::fs::write(path.join("api-token"), "x").unwrap();
        for (entry, _) in walk(&path) {
            let is_dir = std::fs::symlink_metadata(&entry).unwrap().is_dir();
            set_mode(&entry, if is_dir { 0o755 } else { 0o644 });
        }
        let store = open(&path);
        assert_eq!(format!("{:o}", mode(&path)), "700");
        assert_eq!(format!("{:o}", mode(&path.join("api-token"))), "600");
        assert_eq!(format!("{:o}", mode(&path.join("raw"))), "700");
        assert_eq!(shared_paths(&path), []);
        assert!(store.ticket_count().unwrap() == 1);
    }
}

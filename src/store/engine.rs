//! The write path under the typed store: commit, flush, the applier thread
//! and crash recovery.
//!
//! - **Commit** (under the write lock): the commit's large values and its
//!   journal record are written (plain writes, so a killed process loses
//!   nothing), then its writes join the overlay's pending layer, visible
//!   to every reader.
//! - **Flush**: blob segments and journal are synced (one fsync each), the
//!   pending layer is sealed and handed to the applier. A flush is
//!   durable when it returns; a backlog pays it once per batch.
//! - **Applier** (one thread): writes sealed layers into sled, oldest
//!   first, off the ingest path; when a layer closes a journal file, it
//!   flushes sled and deletes the journal files sled now covers. A flush
//!   waits while more than [`MAX_SEALED`] layers queue up, and frees the
//!   layers the applier is done with.
//! - **Recovery** (open): journal records left by a crash are applied to
//!   sled up to the first torn one, or the first whose large values did
//!   not reach the disk (no flush covered it, so nothing after it was
//!   acknowledged either).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;

use super::blobs::{BlobReader, BlobRef, BlobWriter};
use super::journal::{self, Journal, Op};
use super::overlay::{Layer, Overlay};
use super::{BLOB_TREES, T, TREE_NAMES};

/// Once the current journal file holds this much, it is closed; sled is
/// flushed and the file deleted when its writes are in (bounds replay).
const JOURNAL_LIMIT: u64 = if cfg!(test) { 64 << 10 } else { 64 << 20 };
/// A commit that leaves more pending writes than this flushes at once
/// (bounds memory when a caller never flushes).
const PENDING_LIMIT: usize = 200_000;
/// A flush waits while more sealed layers than this await the applier
/// (each holds a batch's writes in memory; two keep the applier busy).
const MAX_SEALED: usize = 2;

/// What readers and the applier share.
pub(super) struct Shared {
    pub db: sled::Db,
    pub trees: Vec<sled::Tree>,
    overlay: RwLock<Overlay>,
    pub blobs: BlobReader,
    journal_dir: PathBuf,
    drained: (Mutex<()>, Condvar),
    /// Layers the applier has written, freed by the next flush on the
    /// committing side, which allocated them: glibc's free of another
    /// thread's memory takes that thread's arena lock, and the applier
    /// freeing whole layers held up the ingest thread's every allocation
    /// (in-process ingest ran about 15% faster once this moved).
    retired: Mutex<Vec<Arc<Layer>>>,
}

/// The append-only files, written under the write lock.
pub(super) struct Writer {
    pub journal: Journal,
    pub blobs: BlobWriter,
}

/// The open store's machinery.
pub(super) struct Engine {
    pub shared: Arc<Shared>,
    writer: Mutex<Writer>,
    applier: Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
    /// Set by tests that simulate a crash: dropping skips the final flush.
    abandoned: AtomicBool,
}

impl Engine {
    /// Opens the store's files in `path` around an opened sled `db`,
    /// replaying the journal of an unclean stop.
    pub fn open(path: &Path, db: sled::Db) -> anyhow::Result<Engine> {
        let trees = TREE_NAMES
            .iter()
            .map(|n| db.open_tree(n))
            .collect::<Result<Vec<_>, _>>()
            .context("Opening store trees")?;
        let journal_dir = path.join("journal");
        let blob_dir = path.join("blobs");
        let blobs = BlobWriter::open(&blob_dir)?;
        let shared = Arc::new(Shared {
            db,
            trees,
            overlay: RwLock::new(Overlay::new(TREE_NAMES.len())),
            blobs: BlobReader::new(&blob_dir),
            journal_dir: journal_dir.clone(),
            drained: (Mutex::new(()), Condvar::new()),
            retired: Mutex::new(Vec::new()),
        });
        super::create_private_dir(&journal_dir)
            .with_context(|| format!("Creating {}", journal_dir.display()))?;
        shared.recover()?;
        let writer = Writer {
            journal: Journal::create(&journal_dir)?,
            blobs,
        };
        let (wake, woken) = mpsc::channel();
        let applier_shared = shared.clone();
        let handle = std::thread::Builder::new()
            .name("store-applier".into())
            .spawn(move || applier_shared.run_applier(&woken))
            .context("Starting the store's applier thread")?;
        Ok(Engine {
            shared,
            writer: Mutex::new(writer),
            applier: Mutex::new(Some((wake, handle))),
            abandoned: AtomicBool::new(false),
        })
    }

    pub fn lock_writer(&self) -> MutexGuard<'_, Writer> {
        // A poisoned lock only means another writer panicked; it never
        // committed, so the files and the overlay are consistent.
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Commits `ops` (see the module doc). Called with the write lock.
    pub fn commit(&self, writer: &mut Writer, ops: Vec<Op>) -> anyhow::Result<()> {
        writer.blobs.write_out()?;
        writer.journal.append(&ops)?;
        let pending = {
            let mut overlay = self.shared.overlay_mut();
            overlay.apply(ops);
            overlay.pending_ops()
        };
        if pending > PENDING_LIMIT {
            self.flush_locked(writer)?;
        }
        Ok(())
    }

    /// Makes every commit so far durable. Called with the write lock.
    pub fn flush_locked(&self, writer: &mut Writer) -> anyhow::Result<()> {
        self.shared.free_retired_layers();
        writer.blobs.sync()?;
        writer.journal.sync()?;
        let closes_journal = match writer.journal.len() > JOURNAL_LIMIT {
            true => Some(writer.journal.rotate()?),
            false => None,
        };
        self.shared.overlay_mut().seal(closes_journal);
        if let Some((wake, _)) = self
            .applier
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            wake.send(()).ok();
        }
        self.shared.wait_for_applier(MAX_SEALED);
        Ok(())
    }

    /// Test hook: the next drop behaves like a crash (no final flush).
    #[cfg(test)]
    pub fn abandon(&self) {
        self.abandoned.store(true, Ordering::SeqCst);
    }

    fn close(&self) -> anyhow::Result<()> {
        let mut writer = self.lock_writer();
        let flushed = match self.abandoned.load(Ordering::SeqCst) {
            true => Ok(()),
            false => self.flush_locked(&mut writer),
        };
        let applier = self
            .applier
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some((wake, handle)) = applier {
            drop(wake);
            handle.join().ok();
        }
        flushed?;
        let unapplied = self.shared.overlay().sealed_layers();
        if self.abandoned.load(Ordering::SeqCst) || unapplied > 0 {
            // The journal keeps what sled lacks; the next open replays it.
            return Ok(());
        }
        self.shared.db.flush().context("Flushing the store")?;
        journal::remove_up_to(&self.shared.journal_dir, writer.journal.generation())
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::error!("closing the store: {e:#} (the journal is replayed on the next start)");
        }
    }
}

impl Shared {
    /// The overlay, for reading (a poisoned lock is still consistent:
    /// every change to the overlay is a single call).
    pub fn overlay(&self) -> RwLockReadGuard<'_, Overlay> {
        self.overlay.read().unwrap_or_else(|p| p.into_inner())
    }

    fn overlay_mut(&self) -> RwLockWriteGuard<'_, Overlay> {
        self.overlay.write().unwrap_or_else(|p| p.into_inner())
    }

    fn retired_layers(&self) -> MutexGuard<'_, Vec<Arc<Layer>>> {
        self.retired.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn free_retired_layers(&self) {
        let retired = std::mem::take(&mut *self.retired_layers());
        drop(retired);
    }

    fn run_applier(&self, woken: &mpsc::Receiver<()>) {
        loop {
            let next = self.overlay().oldest_sealed();
            let Some(layer) = next else {
                match woken.recv_timeout(Duration::from_secs(1)) {
                    Err(RecvTimeoutError::Disconnected) => return,
                    _ => continue,
                }
            };
            let applied =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.apply_layer(&layer)))
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("sled panicked")));
            if let Err(e) = applied {
                tracing::error!("store: writing to sled failed, retrying in 1 s: {e:#}");
                // Closing gives up: the journal keeps the layer for the
                // next open.
                match woken.recv_timeout(Duration::from_secs(1)) {
                    Err(RecvTimeoutError::Disconnected) => return,
                    _ => continue,
                }
            }
            self.overlay_mut().drop_oldest_sealed();
            self.retired_layers().push(layer);
            let (lock, applied) = &self.drained;
            let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
            applied.notify_all();
        }
    }

    fn apply_layer(&self, layer: &Layer) -> anyhow::Result<()> {
        self.apply(layer.writes())?;
        if let Some(generation) = layer.closes_journal {
            self.db.flush().context("Flushing the store")?;
            journal::remove_up_to(&self.journal_dir, generation)?;
        }
        Ok(())
    }

    fn wait_for_applier(&self, max_sealed: usize) {
        let (lock, applied) = &self.drained;
        let mut guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        while self.overlay().sealed_layers() > max_sealed {
            guard = applied
                .wait_timeout(guard, Duration::from_millis(50))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn apply<'a>(
        &self,
        writes: impl Iterator<Item = (usize, &'a [u8], Option<&'a [u8]>)>,
    ) -> anyhow::Result<()> {
        for (tree, key, value) in writes {
            let tree = self
                .trees
                .get(tree)
                .context("A journal record names an unknown store tree")?;
            match value {
                Some(value) => tree.insert(key, value)?,
                None => tree.remove(key)?,
            };
        }
        Ok(())
    }

    /// Applies what an unclean stop left in the journal, then empties it.
    fn recover(&self) -> anyhow::Result<()> {
        let records = journal::read_all(&self.journal_dir)?;
        if records.is_empty() {
            return journal::remove_up_to(&self.journal_dir, u64::MAX);
        }
        let total = records.len();
        let mut applied = 0;
        for ops in &records {
            if !self.blobs_intact(ops) {
                tracing::warn!(
                    "store journal: a record's large values were lost (power cut before a flush); replay stops there"
                );
                break;
            }
            self.apply(
                ops.iter()
                    .map(|op| (op.tree as usize, op.key.as_slice(), op.value.as_deref())),
            )?;
            applied += 1;
        }
        tracing::info!(
            applied,
            dropped = total - applied,
            "store: replayed the journal of an unclean stop"
        );
        self.db.flush().context("Flushing the store after replay")?;
        journal::remove_up_to(&self.journal_dir, u64::MAX)
    }

    fn blobs_intact(&self, ops: &[Op]) -> bool {
        ops.iter()
            .filter_map(|op| referenced_blob(op.tree, op.value.as_deref()?))
            .all(|blob| self.blobs.is_intact(&blob))
    }
}

/// The blob a stored value refers to: the whole value in a blob tree, the
/// prefix of a message record (its raw original).
fn referenced_blob(tree: u8, value: &[u8]) -> Option<BlobRef> {
    if tree == T::Messages as u8 {
        return BlobRef::split_prefix(value).0;
    }
    BLOB_TREES
        .iter()
        .any(|t| *t as u8 == tree)
        .then(|| BlobRef::decode(value))
        .flatten()
}

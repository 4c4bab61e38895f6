//! A Maildir drop folder: mail delivered into `new/` (by an MTA, a mail
//! client or `cp`) is ingested in batches. After a batch's outcomes are
//! durable (one write per batch), each file moves to `cur/` with the Seen
//! flag. A crash
//! before the move only means the file is read again, and ingest's
//! de-duplication makes that a no-op.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::MaildirConfig;
use crate::domain::workflow::Workflow;
use crate::ingest::{Incoming, ingest_batch};
use crate::model::Source;
use crate::store::Store;

/// Files ingested per durable commit.
const BATCH: usize = 256;

/// Creates `new/`, `cur/` and `tmp/` under the Maildir root.
pub fn ensure_layout(root: &Path) -> std::io::Result<()> {
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(root.join(sub))?;
    }
    Ok(())
}

/// Ingests whatever is in `new/` now, batch by batch, until it is empty or
/// `stop` is cancelled (checked between batches). Returns the count.
/// Only a store failure stops it; an unreadable file is set aside.
pub fn drain(
    store: &dyn Store,
    wf: &Workflow,
    root: &Path,
    stop: &CancellationToken,
) -> anyhow::Result<usize> {
    let mut total = 0;
    while !stop.is_cancelled() {
        let batch = pending_files(root, BATCH)?;
        if batch.is_empty() {
            return Ok(total);
        }
        let ingested = ingest_files(store, wf, root, batch)?;
        for path in &ingested {
            mark_processed(root, path)?;
        }
        total += ingested.len();
    }
    Ok(total)
}

fn pending_files(root: &Path, limit: usize) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("new"))?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    files.truncate(limit);
    Ok(files)
}

/// Ingests the readable files of a batch in one durable write and returns
/// their paths; an unreadable one is set aside.
fn ingest_files(
    store: &dyn Store,
    wf: &Workflow,
    root: &Path,
    batch: Vec<PathBuf>,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths = Vec::with_capacity(batch.len());
    let mut messages = Vec::with_capacity(batch.len());
    for path in batch {
        match std::fs::read(&path) {
            Ok(raw) => {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let source = Source::Maildir(name);
                messages.push(Incoming::Whole { raw, source });
                paths.push(path);
            }
            Err(e) => set_aside_unreadable(root, &path, &e),
        }
    }
    let outcomes = ingest_batch(store, wf, &messages, &mut |_, _| Ok(()))?;
    for (path, outcome) in paths.iter().zip(outcomes) {
        tracing::debug!(file = %path.display(), duplicate = outcome.duplicate, "Maildir message ingested");
    }
    Ok(paths)
}

/// A file in `new/` that cannot be read must not hold up the rest: it
/// moves to `<root>/unreadable/` for an admin (or stays, and is skipped,
/// when even that fails).
fn set_aside_unreadable(root: &Path, path: &Path, error: &std::io::Error) {
    let target = root.join("unreadable");
    let moved = std::fs::create_dir_all(&target)
        .and_then(|()| std::fs::rename(path, target.join(path.file_name().unwrap_or_default())));
    tracing::error!(
        file = %path.display(),
        error = %error,
        moved_to_unreadable = moved.is_ok(),
        "Cannot read a Maildir message; check its permissions, then move it back into new/"
    );
}

fn mark_processed(root: &Path, path: &Path) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = name.split(":2,").next().unwrap_or(&name);
    std::fs::rename(path, root.join("cur").join(format!("{base}:2,S")))
}

/// Watches the folder until `shutdown`, waking the sender after each batch.
pub async fn run(
    store: Arc<dyn Store>,
    wf: Workflow,
    config: MaildirConfig,
    wake_sender: Arc<Notify>,
    shutdown: CancellationToken,
) {
    if let Err(e) = ensure_layout(&config.path) {
        tracing::error!(path = %config.path.display(), error = %e, "Cannot create the Maildir drop folder");
        return;
    }
    let mut failures = 0u32;
    loop {
        let (store, wf) = (store.clone(), wf.clone());
        let (root, stop) = (config.path.clone(), shutdown.clone());
        match tokio::task::spawn_blocking(move || drain(&*store, &wf, &root, &stop)).await {
            Ok(Ok(0)) => failures = 0,
            Ok(Ok(n)) => {
                failures = 0;
                tracing::info!(messages = n, "Maildir batch ingested");
                wake_sender.notify_one();
            }
            Ok(Err(e)) => {
                failures += 1;
                tracing::error!(error = %format!("{e:#}"), failures, "Maildir ingest failed; will retry");
            }
            Err(e) => tracing::error!(error = %e, "Maildir task panicked"),
        }
        let backoff = config.poll_interval * 2u32.saturating_pow(failures.min(6));
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

//! One pass over the watched folder: list the UIDs above the checkpoint
//! with their sizes (`listing.rs`), fetch them in bounded batches, ingest
//! each batch with the new checkpoint in one durable write, and only then move,
//! flag or delete the batch on the server with one command per kind of
//! outcome. While one batch is ingested (on a blocking thread), the
//! session marks the batch before it and fetches the one after it.
//!
//! Nothing here looks at `\Seen`: mail someone already read in webmail is
//! ingested like any other. The checkpoint (UIDVALIDITY, last UID) decides
//! what is new; a changed UIDVALIDITY starts over from UID 1, and ingest's
//! de-duplication (Message-ID or content hash) turns anything seen before
//! into a no-op, so a re-sync never duplicates a ticket or an alert.

use futures::TryStreamExt;

use super::connect::{ImapFailure, ImapSession, step};
use super::listing::{BatchPlan, Listing};
pub use super::watch::{Capabilities, Watch};
use crate::config::imap::{ImapConfig, ProcessedAction, QuarantineAction};
use crate::domain::workflow::Workflow;
use crate::ingest::{Incoming, Outcome, ingest_batch};
use crate::model::{Disposition, Source};
use crate::store::{MailboxCheckpoint, Store, UnmarkedMessage};

/// Asks the server what it supports.
pub async fn capabilities(
    session: &mut ImapSession,
    config: &ImapConfig,
) -> Result<Capabilities, ImapFailure> {
    let caps = step(config, "CAPABILITY", session.capabilities()).await?;
    Ok(Capabilities {
        idle: caps.has_str("IDLE"),
        moves: caps.has_str("MOVE"),
        uidplus: caps.has_str("UIDPLUS"),
    })
}

/// Creates the processed and quarantine folders when they are missing.
pub async fn ensure_folders(
    session: &mut ImapSession,
    config: &ImapConfig,
) -> Result<(), ImapFailure> {
    let mut targets = Vec::new();
    if let ProcessedAction::Move(folder) = &config.on_processed {
        targets.push(folder);
    }
    if let QuarantineAction::Move(folder) = &config.on_quarantine {
        targets.push(folder);
    }
    for folder in targets {
        let pattern = quoted(folder);
        let found: Vec<_> = step(config, "LIST", async {
            session
                .list(None, Some(&pattern))
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        if found.is_empty() {
            step(
                config,
                &format!("creating folder \"{folder}\""),
                session.create(folder),
            )
            .await?;
            tracing::info!(mailbox = %config.name, folder = %folder, "Created IMAP folder");
        }
    }
    Ok(())
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\"))
}

/// Selects the watched folder; returns its UIDVALIDITY.
pub async fn select(session: &mut ImapSession, config: &ImapConfig) -> Result<u32, ImapFailure> {
    let selected = tokio::time::timeout(config.timeout, session.select(&config.folder)).await;
    let folder_failure = |detail: String| ImapFailure::Folder {
        mailbox: config.name.clone(),
        folder: config.folder.clone(),
        detail,
    };
    match selected {
        Err(_) => Err(ImapFailure::Timeout {
            mailbox: config.name.clone(),
            step: "SELECT".into(),
            secs: config.timeout.as_secs(),
        }),
        Ok(Err(async_imap::error::Error::No(detail))) => Err(folder_failure(detail)),
        Ok(Err(e)) => Err(folder_failure(e.to_string())),
        Ok(Ok(mailbox)) => mailbox
            .uid_validity
            .ok_or_else(|| folder_failure("the server reports no UIDVALIDITY".into())),
    }
}

/// Ingests everything above the checkpoint, batch by batch, until the
/// folder has nothing new or `stop` is cancelled. Returns the count.
pub async fn sync(
    session: &mut ImapSession,
    watch: &Watch<'_>,
    uid_validity: u32,
) -> anyhow::Result<usize> {
    let mut checkpoint = read_checkpoint(watch.store.as_ref(), &watch.config.name)?;
    if checkpoint.uid_validity != uid_validity {
        if checkpoint.uid_validity != 0 {
            tracing::warn!(mailbox = %watch.config.name, old = checkpoint.uid_validity, new = uid_validity,
                "UIDVALIDITY changed; re-reading the folder (messages already stored are recognised)");
        }
        checkpoint = MailboxCheckpoint {
            uid_validity,
            ingested: checkpoint.ingested,
            ..MailboxCheckpoint::default()
        };
    }
    mark_unmarked(session, watch, &mut checkpoint).await?;
    let mut total = 0;
    let mut listing = Listing::after(checkpoint.last_uid);
    let mut next = fetch_batch(session, watch, &mut listing).await?;
    while let Some(batch) = next.take() {
        total += batch.messages.len();
        next = store_while_fetching(session, watch, &mut checkpoint, batch, &mut listing).await?;
        if watch.stop.is_cancelled() {
            break;
        }
    }
    mark_unmarked(session, watch, &mut checkpoint).await?;
    Ok(total)
}

/// Stores `batch` on a blocking thread while the session marks what the
/// previous batch left unmarked (stored and flushed already) and fetches
/// the next batch, so IMAP and ingest overlap. Returns the next batch.
async fn store_while_fetching(
    session: &mut ImapSession,
    watch: &Watch<'_>,
    checkpoint: &mut MailboxCheckpoint,
    batch: FetchedBatch,
    listing: &mut Listing,
) -> anyhow::Result<Option<FetchedBatch>> {
    let previous = checkpoint.unmarked.clone();
    let (store, wf) = (watch.store.clone(), watch.workflow.clone());
    let mailbox = watch.config.name.clone();
    let before = checkpoint.clone();
    let storing =
        tokio::task::spawn_blocking(move || store_batch(&*store, &wf, &mailbox, batch, before));
    let stopping = watch.stop.is_cancelled();
    let (stored, ahead) = tokio::join!(storing, async {
        mark_messages(session, watch, &previous).await?;
        match stopping {
            true => Ok(None),
            false => fetch_batch(session, watch, listing).await,
        }
    });
    *checkpoint = stored??;
    watch.wake_sender.notify_one();
    watch
        .statuses
        .update(&watch.config.name, |h| h.ingested = checkpoint.ingested);
    let ahead = ahead?;
    // The previous batch is marked now; a lost update only repeats the
    // (idempotent) marking.
    checkpoint
        .unmarked
        .retain(|m| !previous.iter().any(|p| p.uid == m.uid));
    save_checkpoint(watch, checkpoint).await?;
    Ok(ahead)
}

/// A batch fetched from the server, not yet stored.
struct FetchedBatch {
    messages: Vec<(u32, Fetched)>,
    /// The checkpoint's last UID once the batch is stored.
    last_uid: u32,
}

/// Fetches the next batch of `listing`; `None` when nothing is new.
async fn fetch_batch(
    session: &mut ImapSession,
    watch: &Watch<'_>,
    listing: &mut Listing,
) -> Result<Option<FetchedBatch>, ImapFailure> {
    let Some(plan) = listing.next_batch(session, watch).await? else {
        return Ok(None);
    };
    let oversized: Vec<u32> = plan.oversized.iter().map(|&(uid, _)| uid).collect();
    let whole = fetch_bytes(session, watch, &plan.whole, "BODY.PEEK[]").await?;
    let heads = fetch_bytes(session, watch, &oversized, "BODY.PEEK[HEADER]").await?;
    let mut messages: Vec<(u32, Fetched)> = whole
        .into_iter()
        .map(|(uid, raw)| (uid, Fetched::Whole(raw)))
        .collect();
    messages.extend(heads.into_iter().map(|(uid, head)| {
        let size = plan
            .oversized
            .iter()
            .find(|(u, _)| *u == uid)
            .map_or(0, |(_, s)| *s);
        (uid, Fetched::Oversized { head, size })
    }));
    report_vanished(watch, &plan, &messages);
    Ok(Some(FetchedBatch {
        messages,
        last_uid: plan.last_uid,
    }))
}

/// A fetched message.
enum Fetched {
    /// The whole message.
    Whole(Vec<u8>),
    /// Only the header of a message over the size limit.
    Oversized {
        /// The header bytes.
        head: Vec<u8>,
        /// The message's full size.
        size: u64,
    },
}

/// The bytes of `item` (`BODY.PEEK[]` or `BODY.PEEK[HEADER]`) per UID,
/// copied out of each response as it arrives, so a batch is held once
/// rather than also in the session's response buffers.
async fn fetch_bytes(
    session: &mut ImapSession,
    watch: &Watch<'_>,
    uids: &[u32],
    item: &str,
) -> Result<Vec<(u32, Vec<u8>)>, ImapFailure> {
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    let header = item.ends_with("[HEADER]");
    let set = uid_set(uids);
    step(watch.config, "UID FETCH", async {
        session
            .uid_fetch(&set, &format!("(UID {item})"))
            .await?
            .try_fold(Vec::with_capacity(uids.len()), |mut taken, fetch| {
                let bytes = if header { fetch.header() } else { fetch.body() };
                if let (Some(uid), Some(bytes)) = (fetch.uid, bytes) {
                    taken.push((uid, bytes.to_vec()));
                }
                async move { Ok(taken) }
            })
            .await
    })
    .await
}

fn report_vanished(watch: &Watch<'_>, plan: &BatchPlan, fetched: &[(u32, Fetched)]) {
    let asked = plan.len();
    if fetched.len() < asked {
        tracing::warn!(mailbox = %watch.config.name, missing = asked - fetched.len(),
            "Some messages vanished from the folder before they could be fetched");
    }
}

/// Ingests a fetched batch and stores the checkpoint in the same durable
/// write: after this returns, every outcome and the checkpoint are on
/// disk. The batch joins the checkpoint's unmarked list. Messages too big
/// to fetch are quarantined by their header.
fn store_batch(
    store: &dyn Store,
    wf: &Workflow,
    mailbox: &str,
    batch: FetchedBatch,
    checkpoint: MailboxCheckpoint,
) -> anyhow::Result<MailboxCheckpoint> {
    let uid_validity = checkpoint.uid_validity;
    let source = |uid| Source::Imap {
        mailbox: mailbox.to_string(),
        uid_validity,
        uid,
    };
    let uids: Vec<u32> = batch.messages.iter().map(|(uid, _)| *uid).collect();
    let messages: Vec<Incoming> = batch
        .messages
        .into_iter()
        .map(|(uid, fetched)| match fetched {
            Fetched::Whole(raw) => Incoming::Whole {
                raw,
                source: source(uid),
            },
            Fetched::Oversized { head, size } => Incoming::Oversized {
                header: head,
                size,
                source: source(uid),
            },
        })
        .collect();
    let mut stored = checkpoint.clone();
    ingest_batch(store, wf, &messages, &mut |tx, outcomes| {
        stored = advanced(&checkpoint, batch.last_uid, &uids, outcomes);
        tx.put_checkpoint(mailbox, &stored)
    })?;
    Ok(stored)
}

/// `checkpoint` after a batch up to `last_uid` with these outcomes.
fn advanced(
    checkpoint: &MailboxCheckpoint,
    last_uid: u32,
    uids: &[u32],
    outcomes: &[Outcome],
) -> MailboxCheckpoint {
    let mut next = checkpoint.clone();
    next.last_uid = last_uid;
    for (uid, outcome) in uids.iter().zip(outcomes) {
        let quarantined = matches!(outcome.disposition, Disposition::Quarantined { .. });
        next.unmarked.push(UnmarkedMessage {
            uid: *uid,
            quarantined,
        });
        next.ingested += u64::from(!outcome.duplicate);
    }
    next.last_fetch_at = Some(chrono::Utc::now());
    next
}

/// Marks every stored-but-unmarked message, then forgets them.
async fn mark_unmarked(
    session: &mut ImapSession,
    watch: &Watch<'_>,
    checkpoint: &mut MailboxCheckpoint,
) -> anyhow::Result<()> {
    if checkpoint.unmarked.is_empty() {
        return Ok(());
    }
    mark_messages(session, watch, &checkpoint.unmarked).await?;
    checkpoint.unmarked.clear();
    save_checkpoint(watch, checkpoint).await
}

/// A mailbox's checkpoint as stored (the default before the first).
fn read_checkpoint(store: &dyn Store, mailbox: &str) -> anyhow::Result<MailboxCheckpoint> {
    let found = store
        .checkpoints()?
        .into_iter()
        .find(|(name, _)| name == mailbox);
    Ok(found.map(|(_, c)| c).unwrap_or_default())
}

/// Stores a checkpoint (durably, on a blocking thread).
async fn save_checkpoint(watch: &Watch<'_>, checkpoint: &MailboxCheckpoint) -> anyhow::Result<()> {
    let (store, mailbox, checkpoint) = (
        watch.store.clone(),
        watch.config.name.clone(),
        checkpoint.clone(),
    );
    tokio::task::spawn_blocking(move || {
        store.transact(|tx| tx.put_checkpoint(&mailbox, &checkpoint))
    })
    .await??;
    Ok(())
}

/// Moves, flags or deletes stored messages, one command per kind (they
/// are idempotent to repeat).
async fn mark_messages(
    session: &mut ImapSession,
    watch: &Watch<'_>,
    messages: &[UnmarkedMessage],
) -> Result<(), ImapFailure> {
    let (quarantined, processed): (Vec<_>, Vec<_>) = messages.iter().partition(|m| m.quarantined);
    let uids = |list: Vec<&UnmarkedMessage>| list.iter().map(|m| m.uid).collect::<Vec<_>>();
    let config = watch.config;
    mark(session, watch, &uids(processed), &config.on_processed).await?;
    mark(
        session,
        watch,
        &uids(quarantined),
        &config.on_quarantine.as_processed(),
    )
    .await
}

/// Applies `action` to `uids` with one command (two for a delete).
async fn mark(
    session: &mut ImapSession,
    watch: &Watch<'_>,
    uids: &[u32],
    action: &ProcessedAction,
) -> Result<(), ImapFailure> {
    if uids.is_empty() {
        return Ok(());
    }
    match action {
        ProcessedAction::Move(folder) => move_to(session, watch, uids, folder).await,
        ProcessedAction::Flag(flag) => add_flag(session, watch, uids, flag).await,
        ProcessedAction::Delete => {
            add_flag(session, watch, uids, "\\Deleted").await?;
            expunge(session, watch, uids).await
        }
    }
}

/// One `UID MOVE` for the whole set, or COPY + delete without MOVE.
async fn move_to(
    session: &mut ImapSession,
    watch: &Watch<'_>,
    uids: &[u32],
    folder: &str,
) -> Result<(), ImapFailure> {
    let set = uid_set(uids);
    if watch.caps.moves {
        return step(
            watch.config,
            &format!("UID MOVE to \"{folder}\""),
            session.uid_mv(&set, folder),
        )
        .await;
    }
    step(
        watch.config,
        &format!("UID COPY to \"{folder}\""),
        session.uid_copy(&set, folder),
    )
    .await?;
    add_flag(session, watch, uids, "\\Deleted").await?;
    expunge(session, watch, uids).await
}

async fn add_flag(
    session: &mut ImapSession,
    watch: &Watch<'_>,
    uids: &[u32],
    flag: &str,
) -> Result<(), ImapFailure> {
    let set = uid_set(uids);
    let query = format!("+FLAGS.SILENT ({flag})");
    step(watch.config, "UID STORE", async {
        session
            .uid_store(&set, &query)
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await
    .map(drop)
}

/// Removes exactly `uids` with UIDPLUS; without it, a plain EXPUNGE (which
/// also removes anything else flagged `\Deleted`, as any client would).
async fn expunge(
    session: &mut ImapSession,
    watch: &Watch<'_>,
    uids: &[u32],
) -> Result<(), ImapFailure> {
    if watch.caps.uidplus {
        let set = uid_set(uids);
        return step(watch.config, "UID EXPUNGE", async {
            session
                .uid_expunge(&set)
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await
        .map(drop);
    }
    step(watch.config, "EXPUNGE", async {
        session.expunge().await?.try_collect::<Vec<_>>().await
    })
    .await
    .map(drop)
}

/// A compact UID set: `[1,2,3,7,9,10]` becomes `1:3,7,9:10`.
fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for uid in sorted {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == uid => *end = uid,
            _ => ranges.push((uid, uid)),
        }
    }
    ranges
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}:{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_collapse_runs() {
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
        assert_eq!(uid_set(&[10, 9, 9, 1]), "1,9:10");
    }
}

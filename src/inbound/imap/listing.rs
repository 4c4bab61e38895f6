//! What waits in the watched folder: every message above the checkpoint
//! with its size, listed by one `UID FETCH n:* (UID RFC822.SIZE)` and
//! handed out batch by batch. The folder is listed again only when the
//! listing is used up, so a backlog costs one listing rather than a
//! search and a size fetch per batch (together about a third of each
//! batch's time on the session in the backlog benchmark).

use std::collections::VecDeque;

use futures::TryStreamExt;

use super::connect::{ImapFailure, ImapSession, step};
use super::watch::Watch;

/// Most bytes fetched into memory for one batch (at least one message is
/// always taken, up to `inbound.max_message_bytes`).
pub const MAX_BATCH_BYTES: u64 = 64 * 1024 * 1024;

/// Listed messages not yet handed out, ascending by UID.
#[derive(Debug)]
pub struct Listing {
    pending: VecDeque<(u32, u64)>,
    /// The highest UID listed or handed out; the next listing starts
    /// above it.
    after: u32,
}

/// Which UIDs of a batch are fetched whole, which only by header.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BatchPlan {
    /// Fetched whole.
    pub whole: Vec<u32>,
    /// Over `inbound.max_message_bytes`, with their sizes: fetched by
    /// header only.
    pub oversized: Vec<(u32, u64)>,
    /// Highest UID in the batch: the checkpoint once it is stored.
    pub last_uid: u32,
}

impl BatchPlan {
    /// Messages in the batch.
    pub fn len(&self) -> usize {
        self.whole.len() + self.oversized.len()
    }
}

impl Listing {
    /// An empty listing of what lies above `last_uid`.
    pub fn after(last_uid: u32) -> Listing {
        Listing {
            pending: VecDeque::new(),
            after: last_uid,
        }
    }

    /// The next batch, listing the folder again once the listing is used
    /// up; `None` when nothing new is there.
    pub async fn next_batch(
        &mut self,
        session: &mut ImapSession,
        watch: &Watch<'_>,
    ) -> Result<Option<BatchPlan>, ImapFailure> {
        if self.pending.is_empty() {
            self.pending = list_sizes(session, watch, self.after).await?.into();
        }
        watch.statuses.update(&watch.config.name, |h| {
            h.backlog = Some(self.pending.len() as u64);
            h.last_fetch_at = Some(chrono::Utc::now());
        });
        if self.pending.is_empty() {
            return Ok(None);
        }
        let candidates = self.pending.iter().take(watch.config.batch_size);
        let plan = plan_batch(candidates, watch.workflow.config.inbound.max_message_bytes);
        self.pending.drain(..plan.len());
        self.after = self.after.max(plan.last_uid);
        Ok(Some(plan))
    }
}

/// UIDs above `last_uid` with their sizes, ascending (`n:*` always
/// matches the highest UID, even below n, so the result is filtered).
async fn list_sizes(
    session: &mut ImapSession,
    watch: &Watch<'_>,
    last_uid: u32,
) -> Result<Vec<(u32, u64)>, ImapFailure> {
    let set = format!("{}:*", last_uid.saturating_add(1));
    // Folded as the responses arrive: a backlog's listing is one response
    // per message, and each holds a buffer while it is kept.
    let mut sizes = step(watch.config, "UID FETCH (RFC822.SIZE)", async {
        session
            .uid_fetch(&set, "(UID RFC822.SIZE)")
            .await?
            .try_fold(Vec::new(), |mut sizes, fetch| {
                if let (Some(uid), Some(size)) = (fetch.uid, fetch.size)
                    && uid > last_uid
                {
                    sizes.push((uid, u64::from(size)));
                }
                async move { Ok(sizes) }
            })
            .await
    })
    .await?;
    sizes.sort_unstable();
    Ok(sizes)
}

/// Takes UIDs in order while the batch stays under [`MAX_BATCH_BYTES`]
/// (the first one always fits); oversized messages cost nothing.
fn plan_batch<'a>(
    sizes: impl IntoIterator<Item = &'a (u32, u64)>,
    max_message_bytes: u64,
) -> BatchPlan {
    let mut plan = BatchPlan::default();
    let mut bytes = 0u64;
    for &(uid, size) in sizes {
        if size > max_message_bytes {
            plan.oversized.push((uid, size));
        } else {
            if !plan.whole.is_empty() && bytes + size > MAX_BATCH_BYTES {
                break;
            }
            bytes += size;
            plan.whole.push(uid);
        }
        plan.last_uid = uid;
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_stop_at_the_byte_budget_but_always_take_one() {
        let big = MAX_BATCH_BYTES / 2 + 1;
        let plan = plan_batch(&[(1, big), (2, big), (3, 10)], u64::MAX);
        assert_eq!(plan.whole, vec![1]);
        assert_eq!(plan.last_uid, 1);
        assert_eq!(plan.len(), 1, "2 and 3 stay listed for the next batch");
        let plan = plan_batch(&[(4, MAX_BATCH_BYTES * 2)], u64::MAX);
        assert_eq!(plan.whole, vec![4], "a single huge message still goes");
    }

    #[test]
    fn oversized_messages_are_fetched_by_header_only() {
        let plan = plan_batch(&[(1, 100), (2, 5000), (3, 200)], 1000);
        assert_eq!(plan.whole, vec![1, 3]);
        assert_eq!(plan.oversized, vec![(2, 5000)]);
        assert_eq!(plan.last_uid, 3);
        assert_eq!(plan.len(), 3);
    }
}

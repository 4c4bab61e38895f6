//! The ingest seam: one network-free function from raw message bytes to a
//! stored outcome. Every source (MTA pipe, Maildir, IMAP, tests) calls
//! [`ingest`], or for a batch [`ingest_batch`] (a few durable writes of
//! bounded size); none of them parses or decides anything itself.
//!
//! Guarantees:
//! - the raw bytes are stored with the outcome in one write, so any ticket
//!   can be audited and state rebuilt;
//! - when the call returns, the batch is durable: the source may then
//!   acknowledge it (move it on the server, exit 0 to the MTA);
//! - ingesting the same message again (same Message-ID, or same bytes when
//!   there is none) changes nothing and sends nothing;
//! - bad input never fails the call: it is quarantined with its reason.
//!   A message whose processing fails (or panics) is quarantined too, its
//!   partial changes undone. An `Err` is the store's ([`StoreError`]): a
//!   full disk or a failed engine; nothing of that write is stored,
//!   nothing is quarantined for it, and the caller retries later (the MTA
//!   pipe exits 75).
//!
//! What a message does, by kind (see [`crate::ingest::classify`]):
//! - our own mail and auto-replies: stored as ignored, never answered,
//!   never reopen anything;
//! - bounces: an internal note on the ticket they belong to and a mark on
//!   the recipient ([`bounce`]); never a ticket, reopen or alert;
//! - a reply: a comment; on a closed ticket the closed-ticket policy
//!   decides between reopening, a comment that leaves it closed, and a
//!   linked follow-up ticket ([`closed`]);
//! - new automated mail: a correlation key may add it to the open ticket
//!   of the same key, or close that ticket on recovery ([`correlate`]);
//! - anything else: a new ticket.

pub mod classify;
pub mod commands;
pub mod content;
pub mod mail;
pub mod staff_proof;
pub mod threading;

mod bounce;
mod closed;
mod correlate;
mod decide;
mod drafts;
mod reading;

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::domain::workflow::Workflow;
use crate::model::{Disposition, MessageRecord, Source};
use crate::store::{Store, StoreError, WriteTx};
use decide::{Applied, Decision};
use drafts::{draft, ticket_draft};
use mail::InboundMail;
use reading::{Reading, guarded};

/// What [`ingest`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The stored outcome (for a duplicate: the earlier one).
    pub disposition: Disposition,
    /// True when the message had been ingested before; nothing changed.
    pub duplicate: bool,
    /// Rules that fired, for logs and `tickets show`.
    pub rule: String,
}

/// One message for [`ingest_batch`].
#[derive(Debug, Clone)]
pub enum Incoming {
    /// The whole message.
    Whole {
        /// Its bytes.
        raw: Vec<u8>,
        /// Where it came from.
        source: Source,
    },
    /// Only the header of a message too big to fetch: it is quarantined
    /// with the reason, and the whole message stays on the server.
    Oversized {
        /// The header bytes.
        header: Vec<u8>,
        /// The whole message's size.
        size: u64,
        /// Where it came from.
        source: Source,
    },
}

impl Incoming {
    /// The bytes it carries.
    fn len(&self) -> usize {
        match self {
            Incoming::Whole { raw, .. } => raw.len(),
            Incoming::Oversized { header, .. } => header.len(),
        }
    }
}

/// Ingests one raw message, durably. See the module doc.
pub fn ingest(
    store: &dyn Store,
    wf: &Workflow,
    raw: &[u8],
    source: Source,
) -> Result<Outcome, StoreError> {
    let incoming = [Incoming::Whole {
        raw: raw.to_vec(),
        source,
    }];
    let outcomes = ingest_batch(store, wf, &incoming, &mut |_, _| Ok(()))?;
    outcomes
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::Engine(anyhow::anyhow!("ingest produced no outcome")))
}

/// Work that joins a batch's write once its outcomes are known.
pub type AfterBatch<'a> = dyn FnMut(&mut dyn WriteTx, &[Outcome]) -> anyhow::Result<()> + 'a;

/// Messages in one write at most. sled keeps the copies of every page a
/// transaction changes until the transaction ends, so memory grows with
/// the write: in process, 10,000 messages stored 200 to a write peaked at
/// 78 MB, 50 to a write at 37 MB and 20 at 30 MB, all near 2,000 a second
/// (docs/benchmarks.md).
const MESSAGES_PER_WRITE: usize = 16;

/// Bytes of raw mail in one write at most (a single larger message still
/// gets a write of its own).
const BYTES_PER_WRITE: usize = 1024 * 1024;

/// Ingests `messages` in order, each with the outcome [`ingest`] would
/// give it. They are stored in durable writes of at most
/// [`MESSAGES_PER_WRITE`] messages or [`BYTES_PER_WRITE`] bytes, in order;
/// the last write also runs `then` with every outcome (an IMAP source
/// stores its checkpoint there, so it is durable with the last message).
/// When a write fails, the ones before it stay durable: the caller retries
/// the batch and finds those messages as duplicates, which change nothing.
pub fn ingest_batch(
    store: &dyn Store,
    wf: &Workflow,
    messages: &[Incoming],
    then: &mut AfterBatch<'_>,
) -> Result<Vec<Outcome>, StoreError> {
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(messages.len());
    let mut start = 0;
    loop {
        let end = write_end(messages, start);
        let last = end == messages.len();
        let chunk = &messages[start..end];
        let readings: Vec<Reading> = chunk.iter().map(|m| reading::read(wf, m)).collect();
        let committed = outcomes.len();
        store.write(&mut |tx| {
            outcomes.truncate(committed);
            for (message, reading) in chunk.iter().zip(&readings) {
                outcomes.push(store_one(wf, tx, message, reading)?);
            }
            if last { then(tx, &outcomes) } else { Ok(()) }
        })?;
        for outcome in outcomes[committed..].iter().filter(|o| !o.duplicate) {
            tracing::info!(outcome = ?outcome.disposition, rule = %outcome.rule, "Message ingested");
        }
        if last {
            break;
        }
        start = end;
    }
    Ok(outcomes)
}

/// Where the write that starts at `start` ends: after at least one
/// message, within both limits.
fn write_end(messages: &[Incoming], start: usize) -> usize {
    let mut bytes = 0;
    let mut end = start;
    while end < messages.len() && end - start < MESSAGES_PER_WRITE {
        bytes += messages[end].len();
        if end > start && bytes > BYTES_PER_WRITE {
            break;
        }
        end += 1;
    }
    end
}

/// Stores one message in `tx`: a duplicate, a quarantine, or the outcome
/// the message decides; a failure or panic while deciding undoes what it
/// did and quarantines the message. Only the store failing is an error.
fn store_one(
    wf: &Workflow,
    tx: &mut dyn WriteTx,
    message: &Incoming,
    reading: &Reading,
) -> anyhow::Result<Outcome> {
    let (raw, source) = match message {
        Incoming::Whole { raw, source } => (raw.as_slice(), source),
        Incoming::Oversized { header, source, .. } => (header.as_slice(), source),
    };
    let (mail, fingerprint) = match reading {
        Reading::Parsed { mail, fingerprint } => (Some(&**mail), fingerprint),
        Reading::Refused {
            mail, fingerprint, ..
        } => (mail.as_deref(), fingerprint),
    };
    if let Some(existing) = tx.message(fingerprint)? {
        return Ok(duplicate(existing));
    }
    let reason = match (reading, mail) {
        (Reading::Refused { reason, .. }, _) => reason.clone(),
        (Reading::Parsed { .. }, Some(mail)) => {
            let start = tx.savepoint();
            let decided = guarded(|| {
                decide::decide_and_store(wf, tx, raw, mail, fingerprint, source.clone())
            });
            match decided {
                Ok(Ok(outcome)) => return Ok(outcome),
                Ok(Err(e)) if is_store_failure(&e) => return Err(e),
                Ok(Err(e)) => {
                    tx.rollback_to(start);
                    format!("processing failed: {e:#}")
                }
                Err(panic) => {
                    tx.rollback_to(start);
                    panic
                }
            }
        }
        (Reading::Parsed { .. }, None) => "unparseable".into(),
    };
    quarantine(tx, raw, mail, fingerprint, source.clone(), reason)
}

/// Whether an error came from the store rather than from the message.
fn is_store_failure(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| cause.is::<StoreError>())
}

fn quarantine(
    tx: &mut dyn WriteTx,
    raw: &[u8],
    mail: Option<&InboundMail>,
    fingerprint: &str,
    source: Source,
    reason: String,
) -> anyhow::Result<Outcome> {
    let disposition = Disposition::Quarantined {
        reason: reason.clone(),
    };
    let record = record(
        raw,
        mail,
        fingerprint,
        source,
        "quarantine".into(),
        disposition.clone(),
    );
    tx.put_message(&record, raw)?;
    tracing::warn!(reason = %reason, "Message quarantined");
    Ok(Outcome {
        disposition,
        duplicate: false,
        rule: "quarantine".into(),
    })
}

fn duplicate(existing: MessageRecord) -> Outcome {
    Outcome {
        disposition: existing.disposition,
        duplicate: true,
        rule: existing.rule,
    }
}

fn record(
    raw: &[u8],
    mail: Option<&InboundMail>,
    fingerprint: &str,
    source: Source,
    rule: String,
    disposition: Disposition,
) -> MessageRecord {
    MessageRecord {
        fingerprint: fingerprint.to_string(),
        raw_key: fingerprint.to_string(),
        size: raw.len() as u64,
        source,
        from: mail.and_then(|m| m.from.clone()),
        subject: mail.map(|m| m.subject.clone()),
        rule,
        disposition,
        received_at: Utc::now(),
    }
}

#[cfg(test)]
mod tests;

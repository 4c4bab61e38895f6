//! Bad input, fuzz style: truncated and byte-mutated versions of every
//! corpus message go through the real ingest seam into one store. Each must
//! come back (no panic, no error, well within a time limit) with an outcome
//! that is stored, and afterwards the store must be consistent.
//!
//! The mutations come from a seeded PRNG, so a failure names the seed, the
//! fixture and the mutant and can be replayed. `TICKETD_FUZZ_SEED` and
//! `TICKETD_FUZZ_MUTANTS` (per message) run other or longer series locally.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use crate::desk::Desk;
use ticketd::model::outbox::OutboxStatus;
use ticketd::model::{Disposition, TicketId};

use crate::corpus::{Fixture, feed, fill_placeholders, fresh_desk, load_corpus, open_parent};

/// Default seed (any value works; fixed so CI runs are reproducible).
const DEFAULT_SEED: u64 = 0x7469_636b_6574_6434;
/// Default mutants per corpus message.
const DEFAULT_MUTANTS: usize = 8;
/// Longest one ingest may take, even in a debug build on a busy machine.
const MAX_INGEST: Duration = Duration::from_secs(3);

/// Byte sequences that matter to a mail parser.
const SPECIAL: [&[u8]; 14] = [
    b"\0",
    b"\r",
    b"\n",
    b"\r\n\r\n",
    b":",
    b"=",
    b"=?utf-8?B?",
    b"?=",
    b"\n--",
    b"--",
    b"\xff",
    b"\xc3",
    b"<",
    b";",
];

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One mutant of `raw`, with a description for failure messages.
fn mutate(rng: &mut fastrand::Rng, raw: &[u8]) -> (String, Vec<u8>) {
    let mut out = raw.to_vec();
    let len = out.len().max(1);
    match rng.u8(0..7) {
        0 => {
            let at = rng.usize(0..len);
            out.truncate(at);
            (format!("truncated at {at}"), out)
        }
        1 => {
            let flips = rng.usize(1..=8);
            for _ in 0..flips {
                if let Some(b) = out.get_mut(rng.usize(0..len)) {
                    *b ^= 1 << rng.u8(0..8);
                }
            }
            (format!("{flips} bit flips"), out)
        }
        2 => {
            let at = rng.usize(0..=out.len());
            let what = SPECIAL[rng.usize(0..SPECIAL.len())];
            out.splice(at..at, what.iter().copied());
            (format!("inserted {what:?} at {at}"), out)
        }
        3 => {
            let at = rng.usize(0..len);
            let end = (at + rng.usize(1..64)).min(out.len());
            out.drain(at.min(end)..end);
            (format!("deleted {at}..{end}"), out)
        }
        4 => {
            let at = rng.usize(0..len);
            let end = (at + rng.usize(1..256)).min(out.len());
            let chunk = out.get(at..end).unwrap_or_default().to_vec();
            let times = rng.usize(2..50);
            for _ in 0..times {
                out.splice(end..end, chunk.iter().copied());
            }
            (format!("repeated {at}..{end} {times} times"), out)
        }
        5 => {
            let count = rng.usize(1..16);
            for _ in 0..count {
                let at = rng.usize(0..len);
                if let Some(b) = out.get_mut(at) {
                    *b = rng.u8(..);
                }
            }
            (format!("{count} random bytes"), out)
        }
        _ => {
            // Break the structure: drop the header/body separator or a
            // MIME boundary line.
            let needle: &[u8] = if rng.bool() { b"\n\n" } else { b"\n--" };
            match find(&out, needle) {
                Some(at) => {
                    out.drain(at..at + needle.len());
                    (format!("removed {needle:?} at {at}"), out)
                }
                None => (format!("no {needle:?} to remove"), out),
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Makes the Message-ID unique, so a mutant is processed rather than taken
/// for a duplicate of the original (a mutated id may still collide: fine).
fn unique_message_id(raw: &[u8], n: usize) -> Vec<u8> {
    let lower = raw.to_ascii_lowercase();
    match find(&lower, b"\nmessage-id:").and_then(|at| {
        let open = find(&lower[at..], b"<")?;
        Some(at + open + 1)
    }) {
        Some(at) => {
            let mut out = raw[..at].to_vec();
            out.extend_from_slice(format!("fuzz{n}.").as_bytes());
            out.extend_from_slice(&raw[at..]);
            out
        }
        None => raw.to_vec(),
    }
}

/// The fixture's bytes with placeholders filled from its parent (opened in
/// `desk`, as a duplicate after the first time).
fn prepared(desk: &Desk, corpus: &[Fixture], fixture: &Fixture) -> Vec<u8> {
    let parent =
        fixture.expected.parent.as_deref().map(|p| {
            open_parent(desk, corpus, p).unwrap_or_else(|e| panic!("{}: {e}", fixture.name))
        });
    fill_placeholders(&fixture.raw, parent.as_ref())
        .unwrap_or_else(|e| panic!("{}: {e}", fixture.name))
}

/// Ingests one mutant and checks that its outcome was stored; returns the
/// stored disposition or what went wrong.
fn check_mutant(desk: &Desk, raw: &[u8], label: &str) -> Result<Disposition, String> {
    let started = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| feed(desk, raw, label)));
    let took = started.elapsed();
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(_) => return Err(format!("{label}: ingest panicked")),
    };
    if took > MAX_INGEST {
        return Err(format!("{label}: ingest took {took:?}"));
    }
    let parsed = ticketd::ingest::mail::parse(raw).ok();
    let fingerprint = ticketd::ingest::mail::fingerprint(parsed.as_ref(), raw);
    match desk.store.message(&fingerprint) {
        Ok(Some(record)) if record.disposition == outcome.disposition => Ok(record.disposition),
        Ok(Some(record)) => Err(format!(
            "{label}: stored {:?}, returned {:?}",
            record.disposition, outcome.disposition
        )),
        Ok(None) => Err(format!("{label}: no stored outcome for {fingerprint}")),
        Err(e) => Err(format!("{label}: reading the outcome failed: {e:#}")),
    }
}

/// Every invariant the store promises, checked over everything in it.
fn store_problems(desk: &Desk) -> Vec<String> {
    let mut problems = Vec::new();
    let count = desk.store.ticket_count().expect("ticket count");
    for n in 1..=count {
        problems.extend(ticket_problems(desk, TicketId(n)));
    }
    let Ok(records) = desk.store.all_messages() else {
        return vec!["a message record does not decode".into()];
    };
    for record in records {
        match desk.store.raw(&record.raw_key) {
            Ok(Some(raw)) if raw.len() as u64 == record.size => {}
            _ => problems.push(format!("{}: raw bytes missing", record.fingerprint)),
        }
        if let Some(t) = record.disposition.ticket() {
            let (listed, _) = desk
                .store
                .messages_for_ticket(t, ticketd::face::ops::MAX_PAGE)
                .unwrap_or_default();
            if !listed.iter().any(|m| m.fingerprint == record.fingerprint) {
                problems.push(format!("{} not indexed under #{t}", record.fingerprint));
            }
        }
    }
    let items = desk.store.outbox_items().unwrap_or_default();
    let pending = items
        .iter()
        .filter(|i| i.status == OutboxStatus::Pending)
        .count();
    if pending != desk.store.pending_count().unwrap_or(0) {
        problems.push(format!(
            "{pending} pending items, the due index holds {}",
            desk.store.pending_count().unwrap_or(0)
        ));
    }
    for item in items
        .iter()
        .filter(|i| i.ticket.0 > count || i.ticket.0 == 0)
    {
        problems.push(format!(
            "outbox item {} names missing #{}",
            item.id, item.ticket
        ));
    }
    problems
}

fn ticket_problems(desk: &Desk, id: TicketId) -> Vec<String> {
    let Ok(Some(ticket)) = desk.store.ticket(id) else {
        return vec![format!("ticket #{id} is missing (numbers have gaps)")];
    };
    let mut problems = Vec::new();
    let comments = desk.store.comments(id).unwrap_or_default();
    let seqs: Vec<u32> = comments.iter().map(|c| c.seq).collect();
    if seqs != (0..ticket.comment_count).collect::<Vec<_>>() {
        problems.push(format!(
            "#{id}: comment_count {} but comments {seqs:?}",
            ticket.comment_count
        ));
    }
    let events = desk.store.events(id).unwrap_or_default();
    if events.len() != ticket.event_count as usize {
        problems.push(format!(
            "#{id}: event_count {} but {} events",
            ticket.event_count,
            events.len()
        ));
    }
    problems
}

fn outcome_index(disposition: &Disposition) -> usize {
    match disposition {
        Disposition::NewTicket { .. } => 0,
        Disposition::Comment { .. } => 1,
        Disposition::Ignored { .. } => 2,
        Disposition::Quarantined { .. } => 3,
    }
}

#[test]
fn mutated_corpus_messages_never_panic_block_or_corrupt_the_store() {
    let seed = env_or("TICKETD_FUZZ_SEED", DEFAULT_SEED);
    let per_message = env_or("TICKETD_FUZZ_MUTANTS", DEFAULT_MUTANTS);
    let corpus = load_corpus();
    let (_env, desk) = fresh_desk();
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut failures = Vec::new();
    let mut outcomes = [0usize; 4];
    for fixture in &corpus {
        let raw = prepared(&desk, &corpus, fixture);
        for n in 0..per_message {
            let (what, mutant) = mutate(&mut rng, &unique_message_id(&raw, n));
            let label = format!("seed {seed:#x}, {} mutant {n} ({what})", fixture.name);
            match check_mutant(&desk, &mutant, &label) {
                Ok(disposition) => outcomes[outcome_index(&disposition)] += 1,
                Err(failure) => failures.push(failure),
            }
        }
    }
    failures.extend(store_problems(&desk));
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        outcomes.iter().all(|&n| n > 0),
        "every kind of outcome should occur among the mutants: {outcomes:?} (new ticket, comment, ignored, quarantined)"
    );
}

#[test]
fn mutation_is_deterministic_for_a_seed() {
    let raw = b"From: a@b.test\nSubject: x\nMessage-ID: <1@b.test>\n\nbody\n";
    let run = |seed| {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..20).map(|_| mutate(&mut rng, raw)).collect::<Vec<_>>()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
    assert_eq!(
        unique_message_id(raw, 3),
        b"From: a@b.test\nSubject: x\nMessage-ID: <fuzz3.1@b.test>\n\nbody\n".to_vec()
    );
}

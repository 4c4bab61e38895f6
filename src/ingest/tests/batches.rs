//! Batches through the ingest seam: each message gets the outcome it
//! gets alone, a large batch is stored in several bounded writes with the
//! caller's work in the last, and a write that fails leaves the ones before
//! it durable and the rest for a retry that finds no duplicate work.

use super::{NEW_MAIL, kinds_to, quiet_desk};
use crate::ingest::{Incoming, Outcome, ingest_batch};
use crate::model::{Disposition, Source, TicketId};
use crate::store::StoreError;

#[test]
fn a_batch_read_ahead_gives_each_message_the_outcome_it_gets_alone() {
    let crlf = |s: &str| s.replace('\n', "\r\n").into_bytes();
    let reply = "From: carol@customer.test\nTo: support@example.test\nSubject: Re: Printer jammed\nMessage-ID: <r1@customer.test>\nIn-Reply-To: <new-1@customer.test>\n\nStill jammed.\n";
    let batch: Vec<Vec<u8>> = vec![
        crlf(NEW_MAIL),
        // Threads to the ticket the message before it opened.
        crlf(reply),
        // The first message again, and input that is no mail at all.
        crlf(NEW_MAIL),
        b"\x00\x01 not a mail".to_vec(),
        crlf(&NEW_MAIL.replace("new-1@", "new-2@")),
    ];
    let (_alone_dir, alone) = quiet_desk();
    let expected: Vec<Outcome> = batch
        .iter()
        .map(|raw| alone.ingest(raw, Source::Other("test".into())).unwrap())
        .collect();
    let (_dir, desk) = quiet_desk();
    let messages: Vec<Incoming> = batch
        .into_iter()
        .map(|raw| Incoming::Whole {
            raw,
            source: Source::Other("test".into()),
        })
        .collect();
    let app = desk.app();
    let outcomes = ingest_batch(&*app.store, &app.workflow, &messages, &mut |_, _| Ok(())).unwrap();
    assert_eq!(outcomes, expected);
    assert!(matches!(
        outcomes[1].disposition,
        Disposition::Comment { .. }
    ));
    assert!(outcomes[2].duplicate);
    assert!(matches!(
        outcomes[3].disposition,
        Disposition::Quarantined { .. }
    ));
    assert_eq!(desk.store.ticket_count().unwrap(), 2);
    assert_eq!(kinds_to(&desk), kinds_to(&alone));
}

fn new_mail(i: usize) -> Vec<u8> {
    NEW_MAIL
        .replace("new-1@", &format!("batch-{i}@"))
        .replace('\n', "\r\n")
        .into_bytes()
}

fn incoming(range: std::ops::Range<usize>) -> Vec<Incoming> {
    range
        .map(|i| Incoming::Whole {
            raw: new_mail(i),
            source: Source::Other("test".into()),
        })
        .collect()
}

#[test]
fn a_large_batch_is_stored_whole_and_the_callers_work_sees_every_outcome_once() {
    let (_dir, desk) = quiet_desk();
    let app = desk.app();
    let messages = incoming(0..40);
    let mut calls = Vec::new();
    let outcomes = ingest_batch(&*app.store, &app.workflow, &messages, &mut |tx, seen| {
        calls.push(seen.len());
        // The work runs in the write that holds the last message.
        assert!(tx.ticket(TicketId(40))?.is_some());
        Ok(())
    })
    .unwrap();
    assert_eq!(calls, vec![40]);
    assert_eq!(outcomes.len(), 40);
    assert!(outcomes.iter().all(|o| !o.duplicate));
    assert_eq!(desk.store.ticket_count().unwrap(), 40);
}

#[test]
fn a_failed_write_keeps_the_writes_before_it_and_a_retry_completes_the_batch() {
    let (_dir, desk) = quiet_desk();
    let app = desk.app();
    let messages = incoming(0..40);
    let failed = ingest_batch(&*app.store, &app.workflow, &messages, &mut |_, _| {
        anyhow::bail!("the caller's checkpoint could not be stored")
    });
    assert!(matches!(failed, Err(StoreError::Aborted(_))));
    let kept = desk.store.ticket_count().unwrap();
    // Two full writes of 16 went through; the last, with the work, did not.
    assert_eq!(kept, 32, "earlier writes stay durable");
    let acks_before = kinds_to(&desk).len();
    assert_eq!(
        acks_before as u64, kept,
        "one acknowledgement per kept ticket"
    );

    let mut seen: Vec<Outcome> = Vec::new();
    let outcomes = ingest_batch(&*app.store, &app.workflow, &messages, &mut |_, all| {
        seen = all.to_vec();
        Ok(())
    })
    .unwrap();
    assert_eq!(seen, outcomes);
    let duplicates = outcomes.iter().filter(|o| o.duplicate).count() as u64;
    assert_eq!(duplicates, kept);
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o.disposition, Disposition::NewTicket { .. }))
    );
    assert_eq!(desk.store.ticket_count().unwrap(), 40);
    assert_eq!(
        kinds_to(&desk).len(),
        40,
        "no acknowledgement lost or doubled"
    );
}

#[test]
fn writes_end_at_sixteen_messages_or_a_mebibyte_and_never_hold_nothing() {
    let sized = |sizes: &[usize]| -> Vec<Incoming> {
        sizes
            .iter()
            .map(|&n| Incoming::Whole {
                raw: vec![b'x'; n],
                source: Source::Other("test".into()),
            })
            .collect()
    };
    let end = crate::ingest::write_end;
    assert_eq!(end(&sized(&[10; 40]), 0), 16);
    assert_eq!(end(&sized(&[10; 40]), 32), 40);
    assert_eq!(end(&sized(&[600 * 1024; 3]), 0), 1);
    assert_eq!(end(&sized(&[300 * 1024; 5]), 0), 3);
    // One message over the limit still gets a write of its own.
    assert_eq!(end(&sized(&[3 << 20, 10]), 0), 1);
    assert_eq!(end(&sized(&[]), 0), 0);
}

//! Store tests: atomic multi-tree commits, counters, the outbox due index
//! and persistence across reopening.

use chrono::{Duration, Utc};

use super::Store;
use crate::domain::rules::AlertKind;
use crate::model::TicketId;
use crate::model::outbox::{OutboxItem, OutboxStatus};

fn item(id: u64, due_in_secs: i64) -> OutboxItem {
    OutboxItem {
        id,
        ticket: TicketId(1),
        kind: AlertKind::Acknowledgement,
        template: "acknowledgement".into(),
        rule: "test".into(),
        recipient: "a@b.test".into(),
        to_staff: false,
        message_id: format!("m{id}@x"),
        in_reply_to: None,
        references: vec![],
        context: serde_json::Value::Null,
        status: OutboxStatus::Pending,
        attempts: 0,
        next_attempt_at: Utc::now() + Duration::seconds(due_in_secs),
        last_error: None,
        created_at: Utc::now(),
    }
}

fn due_ids(store: &Store) -> Vec<u64> {
    let due = store.outbox_due(Utc::now(), 10).unwrap();
    due.iter().map(|i| i.id).collect()
}

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(dir.path(), 1 << 20).expect("store opens")
}

#[test]
fn counters_are_sequential_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(&dir);
        let mut tx = store.begin();
        assert_eq!(tx.next_ticket_id().unwrap(), TicketId(1));
        assert_eq!(tx.next_ticket_id().unwrap(), TicketId(2));
        tx.commit().unwrap();
        store.flush().unwrap();
    }
    let store = open(&dir);
    let mut tx = store.begin();
    assert_eq!(tx.next_ticket_id().unwrap(), TicketId(3));
}

#[test]
fn an_uncommitted_write_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    {
        let mut tx = store.begin();
        tx.next_ticket_id().unwrap();
        let record = message(
            "k",
            crate::model::Disposition::Quarantined { reason: "x".into() },
            0,
        );
        tx.put_message(&record, b"raw").unwrap();
    }
    assert_eq!(store.raw("k").unwrap(), None);
    assert_eq!(store.message("k").unwrap(), None);
    assert_eq!(store.begin().next_ticket_id().unwrap(), TicketId(1));
}

#[test]
fn outbox_due_index_follows_status_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut tx = store.begin();
    let context = tx.put_alert_context(&serde_json::json!({})).unwrap();
    tx.put_new_outbox(&item(1, -5), &context).unwrap();
    tx.put_new_outbox(&item(2, 3600), &context).unwrap();
    tx.put_new_outbox(&item(3, -10), &context).unwrap();
    tx.commit().unwrap();
    let due = due_ids(&store);
    assert_eq!(due, [3, 1], "only due items, oldest due first");
    assert_eq!(store.outbox_pending_count(), 3);

    let before = store.outbox_item(1).unwrap().unwrap();
    let mut sent = before.clone();
    sent.status = OutboxStatus::Sent { at: Utc::now() };
    let mut tx = store.begin();
    tx.put_outbox(&sent, &before).unwrap();
    tx.commit().unwrap();
    let due = due_ids(&store);
    assert_eq!(due, [3]);
    assert_eq!(store.outbox_pending_count(), 2);
    assert_eq!(
        store.outbox_item(1).unwrap().unwrap().status.as_str(),
        "sent"
    );
}

#[test]
fn thread_secret_is_created_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(&dir).thread_secret().unwrap();
    assert_eq!(first.len(), 32);
    let again = open(&dir).thread_secret().unwrap();
    assert_eq!(first, again);
}

#[test]
fn message_ids_are_case_insensitive() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut tx = store.begin();
    tx.index_message_id("ABC@Example.test", TicketId(7));
    tx.commit().unwrap();
    assert_eq!(
        store.ticket_for_message_id("abc@example.TEST").unwrap(),
        Some(TicketId(7))
    );
    assert_eq!(store.ticket_for_message_id("other@x").unwrap(), None);
}

#[test]
fn a_second_process_cannot_open_a_store_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let _held = open(&dir);
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store::tests::open_in_child",
            "--ignored",
            "--nocapture",
        ])
        .env("TICKETD_TEST_STORE", dir.path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&child.stdout);
    assert!(out.contains("LOCKED:"), "{out}");
}

#[test]
#[ignore = "helper run in a child process by a_second_process_cannot_open_a_store_in_use"]
fn open_in_child() {
    let Ok(path) = std::env::var("TICKETD_TEST_STORE") else {
        return;
    };
    match Store::open(std::path::Path::new(&path), 1 << 20) {
        Ok(_) => println!("OPENED"),
        Err(e) => println!(
            "LOCKED: {}",
            e.downcast_ref::<super::StoreLocked>().is_some()
        ),
    }
}

#[test]
fn the_correlation_index_is_set_and_cleared_atomically_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(&dir);
        let mut tx = store.begin();
        tx.index_correlation("monitoring/nagios:host/web01", TicketId(4));
        tx.index_correlation("monitoring/nagios:host/db01", TicketId(5));
        drop(tx);
        assert_eq!(
            store
                .correlated_ticket("monitoring/nagios:host/web01")
                .unwrap(),
            None,
            "nothing before commit"
        );
        let mut tx = store.begin();
        tx.index_correlation("monitoring/nagios:host/web01", TicketId(4));
        tx.index_correlation("monitoring/nagios:host/db01", TicketId(5));
        tx.commit().unwrap();
        let mut tx = store.begin();
        tx.unindex_correlation("monitoring/nagios:host/db01");
        tx.commit().unwrap();
        store.flush().unwrap();
    }
    let store = open(&dir);
    assert_eq!(
        store
            .correlated_ticket("monitoring/nagios:host/web01")
            .unwrap(),
        Some(TicketId(4))
    );
    assert_eq!(
        store
            .correlated_ticket("monitoring/nagios:host/db01")
            .unwrap(),
        None
    );
}

fn comment(seq: u32, text: &str) -> crate::model::Comment {
    serde_json::from_value(serde_json::json!({
        "seq": seq,
        "author": "customer@example.test",
        "role": "customer",
        "visibility": "public",
        "text": text,
        "html": null,
        "attachments": [],
        "source_message": null,
        "created_at": Utc::now(),
    }))
    .expect("a comment")
}

/// Commits a ticket's comment, raw original and alert, unflushed.
pub(super) fn commit_sample(store: &Store, n: u32) {
    let mut tx = store.begin();
    let id = tx.next_ticket_id().unwrap();
    tx.put_comment(
        id,
        &comment(n, &format!("comment {n} {}", "x".repeat(3000))),
    )
    .unwrap();
    let record = message(
        &format!("raw{n}"),
        crate::model::Disposition::NewTicket { ticket: id },
        0,
    );
    tx.put_message(&record, format!("raw {n}").as_bytes())
        .unwrap();
    let mut alert = item(u64::from(n), 0);
    alert.ticket = id;
    let context = tx
        .put_alert_context(&serde_json::json!({ "n": n, "body": "y".repeat(2000) }))
        .unwrap();
    tx.put_new_outbox(&alert, &context).unwrap();
    tx.commit().unwrap();
}

#[test]
fn committed_writes_are_visible_before_the_flush_and_survive_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    commit_sample(&store, 1);
    store.flush().unwrap();
    commit_sample(&store, 2);
    // Visible at once, through the overlay.
    assert_eq!(store.comments(TicketId(2)).unwrap()[0].seq, 2);
    assert_eq!(store.raw("raw2").unwrap().unwrap(), b"raw 2");
    assert_eq!(store.outbox_due(Utc::now(), 10).unwrap().len(), 2);
    // A kill: nothing of commit 2 reached sled, only the journal.
    store.simulate_crash();
    let store = open(&dir);
    assert_eq!(store.ticket_count().unwrap(), 2);
    assert!(
        store.comments(TicketId(2)).unwrap()[0]
            .text
            .starts_with("comment 2")
    );
    assert_eq!(store.raw("raw2").unwrap().unwrap(), b"raw 2");
    let alert = store.outbox_item(2).unwrap().unwrap();
    assert_eq!(alert.context["n"], 2);
    assert_eq!(store.outbox_for_ticket(TicketId(2), 10).unwrap().0.len(), 1);
}

fn segment_len(dir: &tempfile::TempDir) -> u64 {
    std::fs::metadata(dir.path().join("blobs/00000001.seg"))
        .unwrap()
        .len()
}

/// A power cut before the flush: blob bytes after `len` never reached
/// the disk.
fn lose_blobs_after(dir: &tempfile::TempDir, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("blobs/00000001.seg"))
        .unwrap()
        .set_len(len)
        .unwrap();
}

#[test]
fn replay_stops_at_a_record_whose_large_values_were_lost() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    commit_sample(&store, 1);
    commit_sample(&store, 2);
    let intact = segment_len(&dir);
    commit_sample(&store, 3);
    store.simulate_crash();
    // The journal reached the disk, the third commit's values did not.
    lose_blobs_after(&dir, intact);
    let store = open(&dir);
    assert_eq!(
        store.ticket_count().unwrap(),
        2,
        "commit 3 is dropped whole"
    );
    assert!(store.comments(TicketId(3)).unwrap().is_empty());
    assert_eq!(store.raw("raw3").unwrap(), None);
    assert_eq!(store.raw("raw2").unwrap().unwrap(), b"raw 2");
    let mut tx = store.begin();
    assert_eq!(tx.next_ticket_id().unwrap(), TicketId(3));
}

#[test]
fn replay_stops_at_a_message_whose_raw_original_was_lost() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let quarantined = || crate::model::Disposition::Quarantined { reason: "x".into() };
    let mut tx = store.begin();
    tx.put_message(&message("kept", quarantined(), 0), b"kept raw")
        .unwrap();
    tx.commit().unwrap();
    store.flush().unwrap();
    let intact = segment_len(&dir);
    // A commit whose only large value is the raw original.
    let mut tx = store.begin();
    tx.put_message(&message("lost", quarantined(), 0), b"lost raw")
        .unwrap();
    tx.commit().unwrap();
    store.simulate_crash();
    lose_blobs_after(&dir, intact);
    let store = open(&dir);
    assert_eq!(store.raw("kept").unwrap().unwrap(), b"kept raw");
    assert_eq!(store.message("lost").unwrap(), None, "dropped whole");
}

#[test]
fn status_updates_keep_the_alert_snapshot_and_write_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    commit_sample(&store, 1);
    store.flush().unwrap();
    let written = segment_len(&dir);
    let queued = store.outbox_item(1).unwrap().unwrap();
    let mut sent = queued.clone();
    sent.status = OutboxStatus::Sent { at: Utc::now() };
    let mut tx = store.begin();
    tx.put_outbox(&sent, &queued).unwrap();
    tx.commit().unwrap();
    store.flush().unwrap();
    assert_eq!(segment_len(&dir), written);
    let stored = store.outbox_item(1).unwrap().unwrap();
    assert_eq!(stored.status, sent.status);
    assert_eq!(stored.context, queued.context);
    assert!(due_ids(&store).is_empty());
}

#[test]
fn items_of_one_event_share_one_stored_context() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut tx = store.begin();
    let context = tx
        .put_alert_context(&serde_json::json!({ "body": "z".repeat(5000) }))
        .unwrap();
    for id in 1..=3 {
        tx.put_new_outbox(&item(id, 0), &context).unwrap();
    }
    tx.commit().unwrap();
    store.flush().unwrap();
    let written = segment_len(&dir);
    assert!(
        (5000..10_000).contains(&written),
        "one copy of the context, not three: {written} bytes"
    );
    for id in 1..=3 {
        let stored = store.outbox_item(id).unwrap().unwrap();
        assert_eq!(stored.context["body"].as_str().unwrap().len(), 5000);
    }
}

#[test]
fn schema_1_records_and_raw_originals_still_read_and_the_store_is_marked_2() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let old = message(
        "old",
        crate::model::Disposition::Quarantined { reason: "x".into() },
        0,
    );
    let older = message(
        "older",
        crate::model::Disposition::Quarantined { reason: "x".into() },
        0,
    );
    let mut tx = store.begin();
    // As schema 1 wrote them: plain JSON records, the raw bytes apart.
    for record in [&old, &older] {
        tx.put(
            super::T::Messages,
            record.fingerprint.as_bytes(),
            serde_json::to_vec(record).unwrap(),
        );
    }
    tx.put(super::T::Raw, "older", b"older raw".to_vec());
    tx.commit().unwrap();
    store
        .tree(super::T::Meta)
        .insert("schema", &1u64.to_be_bytes())
        .unwrap();
    let mut tx = store.begin();
    tx.put_message(
        &message(
            "new",
            crate::model::Disposition::Quarantined { reason: "x".into() },
            0,
        ),
        b"new raw",
    )
    .unwrap();
    tx.commit().unwrap();
    store.flush().unwrap();
    drop(store);
    let store = open(&dir);
    assert_eq!(store.message("old").unwrap().unwrap(), old);
    assert_eq!(store.raw("older").unwrap().unwrap(), b"older raw");
    assert_eq!(store.raw("new").unwrap().unwrap(), b"new raw");
    assert_eq!(store.raw("old").unwrap(), None);
    assert_eq!(store.messages().count(), 3);
    let schema = store.tree(super::T::Meta).get("schema").unwrap().unwrap();
    assert_eq!(super::decode_u64(&schema), super::SCHEMA_VERSION);
}

fn message(
    fingerprint: &str,
    disposition: crate::model::Disposition,
    age_secs: i64,
) -> crate::model::MessageRecord {
    crate::model::MessageRecord {
        fingerprint: fingerprint.into(),
        raw_key: fingerprint.into(),
        size: 1,
        source: crate::model::Source::Pipe,
        from: None,
        subject: None,
        rule: "test".into(),
        disposition,
        received_at: Utc::now() - Duration::seconds(age_secs),
    }
}

#[test]
fn the_message_log_counts_and_lists_by_kind_and_indexes_old_stores() {
    use super::MessageKind::{Ignored, Quarantined, Ticketed};
    use crate::model::Disposition;
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let quarantined = |reason: &str| Disposition::Quarantined {
        reason: reason.into(),
    };
    let records = [
        message("q-old", quarantined("old"), 30),
        message(
            "t",
            Disposition::NewTicket {
                ticket: TicketId(1),
            },
            20,
        ),
        message("q-new", quarantined("new"), 10),
        message(
            "i",
            Disposition::Ignored {
                ticket: None,
                reason: "auto-reply".into(),
            },
            5,
        ),
    ];
    let mut tx = store.begin();
    for record in &records {
        tx.put_message(record, b"raw").unwrap();
    }
    tx.commit().unwrap();
    let names = |list: Vec<crate::model::MessageRecord>| -> Vec<String> {
        list.into_iter().map(|m| m.fingerprint).collect()
    };
    assert_eq!(store.message_count(Quarantined), 2);
    assert_eq!(store.message_count(Ticketed), 1);
    assert_eq!(
        names(store.messages_of(&[Quarantined], 10).unwrap()),
        ["q-new", "q-old"]
    );
    assert_eq!(
        names(store.messages_of(&super::MessageKind::ALL, 3).unwrap()),
        ["i", "q-new", "t"]
    );
    assert_eq!(names(store.messages_of(&[Ignored], 10).unwrap()), ["i"]);

    // A store from before the log: no entries and no flag. Opening it
    // indexes what it holds.
    let mut tx = store.begin();
    for record in &records {
        tx.remove(super::T::MessageLog, super::message_log::tests_key(record));
    }
    tx.remove(super::T::Meta, "message_log_v1");
    tx.commit().unwrap();
    assert_eq!(store.message_count(Quarantined), 0);
    drop(store);
    let store = open(&dir);
    assert_eq!(
        names(store.messages_of(&[Quarantined], 10).unwrap()),
        ["q-new", "q-old"]
    );
}

#[test]
fn full_journal_files_are_deleted_once_sled_holds_them_and_a_crash_after_that_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    // Several journal files at the test build's 64 KiB limit.
    for n in 1..=400 {
        commit_sample(&store, n);
        if n % 20 == 0 {
            store.flush().unwrap();
        }
    }
    let journal_files = || {
        std::fs::read_dir(dir.path().join("journal"))
            .unwrap()
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while journal_files() > 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} journal files remain",
            journal_files()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let newest = std::fs::read_dir(dir.path().join("journal"))
        .unwrap()
        .filter_map(|e| {
            e.unwrap()
                .file_name()
                .to_str()?
                .strip_suffix(".log")?
                .parse::<u64>()
                .ok()
        })
        .max()
        .unwrap();
    assert!(newest >= 3, "the journal was never rotated ({newest})");
    commit_sample(&store, 401);
    store.simulate_crash();
    let store = open(&dir);
    assert_eq!(store.ticket_count().unwrap(), 401);
    for n in [1u32, 150, 400, 401] {
        let text = &store.comments(TicketId(u64::from(n))).unwrap()[0].text;
        assert!(
            text.starts_with(&format!("comment {n} ")),
            "{n}: {text:.20}"
        );
        assert_eq!(
            store.outbox_item(u64::from(n)).unwrap().unwrap().context["n"],
            n
        );
    }
    assert_eq!(journal_files(), 1, "a replayed journal is emptied");
}

//! Store tests: atomic multi-tree commits, counters, the outbox due index
//! and persistence across reopening.

use chrono::{Duration, Utc};

use super::Store;
use crate::model::TicketId;
use crate::outbox::{OutboxItem, OutboxStatus};
use crate::rules::AlertKind;

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
        context: serde_json::json!({}),
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
        tx.put_raw("k", b"raw");
    }
    assert_eq!(store.raw("k").unwrap(), None);
    assert_eq!(store.begin().next_ticket_id().unwrap(), TicketId(1));
}

#[test]
fn outbox_due_index_follows_status_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut tx = store.begin();
    tx.put_outbox(&item(1, -5), None).unwrap();
    tx.put_outbox(&item(2, 3600), None).unwrap();
    tx.put_outbox(&item(3, -10), None).unwrap();
    tx.commit().unwrap();
    let due = due_ids(&store);
    assert_eq!(due, [3, 1], "only due items, oldest due first");
    assert_eq!(store.outbox_pending_count(), 3);

    let before = store.outbox_item(1).unwrap().unwrap();
    let mut sent = before.clone();
    sent.status = OutboxStatus::Sent { at: Utc::now() };
    let mut tx = store.begin();
    tx.put_outbox(&sent, Some(&before)).unwrap();
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

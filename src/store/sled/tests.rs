//! The embedded engine: the conformance suite, durability across reopening,
//! a full disk, and the migration of stores written by schema 2.

use std::path::Path;
use std::sync::Arc;

use super::SledStore;
use super::legacy::{blobs, journal};
use crate::model::{Disposition, MessageRecord, Source, Status, TicketId};
use crate::store::conformance::{self, item, open, ticket, write};
use crate::store::{MessageKind, Store, StoreError, TicketQuery, WriteTx};

fn store_in(path: &Path) -> SledStore {
    SledStore::open(path, 1 << 20, 0).expect("the store opens")
}

#[test]
fn the_sled_engine_passes_the_conformance_suite() {
    let dirs = std::sync::Mutex::new(Vec::new());
    conformance::run_all(&|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = store_in(&dir.path().join("store"));
        dirs.lock().expect("dirs").push(dir);
        Arc::new(store) as Arc<dyn Store>
    });
}

#[test]
fn what_a_write_returned_for_is_there_after_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store");
    {
        let store = store_in(&path);
        open(&store, "carol@customer.test");
        write(&store, |tx| {
            let context = tx.put_alert_context(&serde_json::json!({ "n": 1 }))?;
            tx.put_new_outbox(&item(1, 0), context)
        });
    }
    let store = store_in(&path);
    assert_eq!(store.ticket_count().expect("count"), 1);
    assert_eq!(
        store
            .comments(TicketId(1), 0, 10)
            .expect("comments")
            .comments
            .len(),
        1
    );
    assert_eq!(
        store.due_outbox(chrono::Utc::now(), 10).expect("due").len(),
        1
    );
    let next = write(&store, |tx| tx.next_ticket_id());
    assert_eq!(next, TicketId(2));
}

#[test]
fn a_full_disk_refuses_a_write_whole_and_the_next_one_with_room_works() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store");
    let free = super::commit::free_bytes(dir.path()).expect("free space");
    {
        let store = SledStore::open(&path, 1 << 20, free * 2).expect("opens");
        let refused = store.write(&mut |tx| {
            let id = tx.next_ticket_id()?;
            tx.put_ticket(&ticket(id, "carol@customer.test", Status::Open))
        });
        assert!(
            matches!(refused, Err(StoreError::Full { .. })),
            "{refused:?}"
        );
        assert!(refused.is_err_and(|e| e.is_transient()));
        assert_eq!(store.health().state, "disk full");
        assert!(!store.has_room_for(1));
        assert_eq!(store.ticket_count().expect("reads still work"), 0);
    }
    let store = store_in(&path);
    open(&store, "carol@customer.test");
    assert_eq!(store.health().state, "ok");
    assert_eq!(store.ticket_count().expect("count"), 1);
}

/// What a schema 2 store kept: sled trees with blob references, blob
/// segments, and a journal of commits sled had not yet received.
fn write_schema_2_store(path: &Path) {
    let blob_dir = path.join("blobs");
    let raw_ref = blobs::write_for_tests::append(&blob_dir, b"From: carol\r\n\r\nHello\r\n");
    let comment = crate::model::Comment {
        seq: 0,
        author: "carol@customer.test".into(),
        role: crate::model::AuthorRole::Customer,
        visibility: crate::model::Visibility::Public,
        text: "Hello".into(),
        html: None,
        attachments: Vec::new(),
        source_message: Some("fp-1".into()),
        created_at: chrono::Utc::now(),
        unproven_staff: false,
    };
    let comment_ref =
        blobs::write_for_tests::append(&blob_dir, &serde_json::to_vec(&comment).expect("json"));
    let context_ref = blobs::write_for_tests::append(&blob_dir, br#"{"n":7}"#);
    let record = MessageRecord {
        fingerprint: "fp-1".into(),
        raw_key: "fp-1".into(),
        size: 22,
        source: Source::Pipe,
        from: Some("carol@customer.test".into()),
        subject: Some("Hello".into()),
        rule: "human".into(),
        disposition: Disposition::NewTicket {
            ticket: TicketId(1),
        },
        received_at: chrono::Utc::now(),
    };
    let mut message_value = raw_ref.clone();
    message_value.extend(serde_json::to_vec(&record).expect("json"));
    let t = ticket(TicketId(1), "carol@customer.test", Status::Open);
    {
        let db = sled::open(path.join("db")).expect("sled");
        let tree = |name: &str| db.open_tree(name).expect("tree");
        tree("meta")
            .insert("schema", &2u64.to_be_bytes())
            .expect("schema");
        tree("meta")
            .insert("next_ticket", &2u64.to_be_bytes())
            .expect("counter");
        tree("meta")
            .insert("thread_secret", b"old secret kept".as_slice())
            .expect("secret");
        tree("tickets")
            .insert(1u64.to_be_bytes(), serde_json::to_vec(&t).expect("json"))
            .expect("ticket");
        let mut comment_key = 1u64.to_be_bytes().to_vec();
        comment_key.extend(0u32.to_be_bytes());
        tree("comments")
            .insert(comment_key, comment_ref)
            .expect("comment");
        tree("messages")
            .insert("fp-1", message_value)
            .expect("message");
        db.flush().expect("flush");
    }
    // An item and its context that only the journal holds (a crash before
    // sled received them).
    let item = item(1, 0);
    let ops = vec![
        journal::Op {
            tree: 6,
            key: 1u64.to_be_bytes().to_vec(),
            value: Some(serde_json::to_vec(&item).expect("json")),
        },
        journal::Op {
            tree: 15,
            key: 1u64.to_be_bytes().to_vec(),
            value: Some(context_ref),
        },
        journal::Op {
            tree: 7,
            key: super::keys::due_key(item.next_attempt_at, 1).to_vec(),
            value: Some(Vec::new()),
        },
    ];
    journal::write_for_tests::write(&path.join("journal"), 1, &[ops]);
}

#[test]
fn a_schema_2_store_opens_migrated() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store");
    write_schema_2_store(&path);
    let store = store_in(&path);
    assert_eq!(store.schema().expect("schema"), super::migrate::SCHEMA);
    assert_eq!(
        store.raw("fp-1").expect("raw"),
        Some(b"From: carol\r\n\r\nHello\r\n".to_vec())
    );
    let record = store.message("fp-1").expect("record").expect("the record");
    assert_eq!(record.rule, "human");
    assert_eq!(
        store
            .comment(TicketId(1), 0)
            .expect("comment")
            .map(|c| c.text),
        Some("Hello".into())
    );
    let replayed = store
        .outbox_item(1)
        .expect("item")
        .expect("the journal's item");
    assert_eq!(replayed.context["n"], 7);
    assert_eq!(
        store.due_outbox(chrono::Utc::now(), 10).expect("due").len(),
        1
    );
    let open_tickets = TicketQuery {
        status: Some(Status::Open),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.tickets(&open_tickets).expect("query").len(), 1);
    let (messages, _) = store
        .messages_for_ticket(TicketId(1), 10)
        .expect("messages");
    assert_eq!(messages.len(), 1);
    assert_eq!(
        store.message_count(MessageKind::Ticketed).expect("count"),
        1
    );
    assert_eq!(
        store.secret("thread_secret", 32).expect("secret"),
        b"old secret kept"
    );
    assert!(!path.join("journal").exists() && !path.join("blobs").exists());
    drop(store);
    let again = store_in(&path);
    assert_eq!(
        again
            .comment(TicketId(1), 0)
            .expect("comment")
            .map(|c| c.text),
        Some("Hello".into())
    );
}

#[test]
fn a_store_of_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store");
    {
        let store = store_in(&path);
        store
            .trees
            .tree(super::Tree::Meta)
            .insert("schema", &99u64.to_be_bytes())
            .expect("insert");
        store.db.flush().expect("flush");
    }
    let refused = SledStore::open(&path, 1 << 20, 0).expect_err("refused");
    assert!(
        format!("{refused:#}").contains("schema version 99"),
        "{refused:#}"
    );
}

#[test]
fn a_write_that_cannot_be_applied_leaves_the_store_failed_until_reopened() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store");
    let store = store_in(&path);
    open(&store, "carol@customer.test");
    // Simulate an I/O failure while committing: the raw folder cannot be
    // created.
    std::fs::write(path.join("raw"), b"not a folder").expect("block raw/");
    let failed = store.write(&mut |tx: &mut dyn WriteTx| {
        let record = MessageRecord {
            fingerprint: "fp".into(),
            raw_key: "fp".into(),
            size: 1,
            source: Source::Pipe,
            from: None,
            subject: None,
            rule: "r".into(),
            disposition: Disposition::Quarantined { reason: "x".into() },
            received_at: chrono::Utc::now(),
        };
        tx.put_message(&record, b"x")
    });
    assert!(matches!(failed, Err(StoreError::Engine(_))), "{failed:?}");
    assert_eq!(store.health().state, "failed");
    let next = store.write(&mut |tx| tx.next_ticket_id().map(drop));
    assert!(
        matches!(next, Err(StoreError::Engine(_))),
        "no write after a failure"
    );
    assert_eq!(store.ticket_count().expect("reads still work"), 1);
}

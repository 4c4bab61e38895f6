//! The storage interface's conformance suite: what every engine must do,
//! written against [`Store`] and [`WriteTx`] only. An engine's tests run
//! each check on a fresh store of theirs (see `sled/tests.rs`):
//!
//! ```ignore
//! conformance::run_all(&|| fresh_store());
//! ```
//!
//! Each check panics with what went wrong.

use std::sync::Arc;

use chrono::{Duration, Utc};

use super::{MessageKind, Store, StoreError, TicketQuery, WriteTx};
use crate::model::outbox::{AlertKind, OutboxItem, OutboxStatus, SendMode};
use crate::model::{
    AuthorRole, Comment, Disposition, EventKind, MessageRecord, Origin, Source, Status, Ticket,
    TicketEvent, TicketId, TicketLinks, Visibility,
};

/// Makes a fresh, empty store.
pub type Fresh<'a> = &'a dyn Fn() -> Arc<dyn Store>;

/// One check of the suite.
type Check = fn(&dyn Store);

/// Every check, each on its own fresh store.
pub fn run_all(fresh: Fresh<'_>) {
    let checks: [(&str, Check); 11] = [
        (
            "a write reads its own changes",
            a_write_reads_its_own_changes,
        ),
        (
            "a failed write stores nothing",
            a_failed_write_stores_nothing,
        ),
        ("a savepoint undoes only what came after it", savepoints),
        ("counters are sequential", counters_are_sequential),
        ("tickets page by status, requester and time", ticket_queries),
        ("comments and events page", comments_and_events_page),
        ("messages are found and listed", messages),
        ("the outbox pages and orders what is due", outbox),
        ("indexes follow their records", indexes),
        ("checkpoints and secrets", checkpoints_and_secrets),
        (
            "concurrent writes lose no update",
            concurrent_writes_lose_no_update,
        ),
    ];
    for (name, check) in checks {
        let store = fresh();
        eprintln!("conformance: {name}");
        check(&*store);
    }
}

/// Runs `work` as a write that must succeed.
pub fn write<R>(store: &dyn Store, work: impl FnMut(&mut dyn WriteTx) -> anyhow::Result<R>) -> R {
    store.transact(work).expect("the write succeeds")
}

/// A ticket as a write would put it.
pub fn ticket(id: TicketId, requester: &str, status: Status) -> Ticket {
    let now = Utc::now();
    Ticket {
        id,
        subject: format!("Ticket {id}"),
        status,
        requester: requester.into(),
        origin: Origin::CustomerEmail,
        category: None,
        recipients: [requester.to_string()].into(),
        created_at: now,
        updated_at: now,
        closed_at: None,
        comment_count: 0,
        rule: None,
        root_message_id: None,
        event_count: 0,
        delivery: Default::default(),
        links: TicketLinks::default(),
        correlation: None,
        recipients_unconfirmed: false,
        not_added: None,
    }
}

fn comment(seq: u32, text: &str) -> Comment {
    Comment {
        seq,
        author: "carol@customer.test".into(),
        role: AuthorRole::Customer,
        visibility: Visibility::Public,
        text: text.into(),
        html: None,
        attachments: Vec::new(),
        source_message: None,
        created_at: Utc::now(),
        unproven_staff: false,
    }
}

fn record(fingerprint: &str, disposition: Disposition) -> MessageRecord {
    MessageRecord {
        fingerprint: fingerprint.into(),
        raw_key: fingerprint.into(),
        size: 5,
        source: Source::Other("conformance".into()),
        from: None,
        subject: None,
        rule: "test".into(),
        disposition,
        received_at: Utc::now(),
    }
}

/// An outbox item of ticket #1, due `due_in_secs` from now.
pub fn item(id: u64, due_in_secs: i64) -> OutboxItem {
    OutboxItem {
        id,
        ticket: TicketId(1),
        kind: AlertKind::ACKNOWLEDGEMENT,
        mode: Some(SendMode::AutoReplied),
        template: "acknowledgement".into(),
        rule: "test".into(),
        recipient: "carol@customer.test".into(),
        to_staff: false,
        message_id: format!("m{id}@x"),
        in_reply_to: None,
        references: Vec::new(),
        context: serde_json::Value::Null,
        status: OutboxStatus::Pending,
        attempts: 0,
        next_attempt_at: Utc::now() + Duration::seconds(due_in_secs),
        last_error: None,
        created_at: Utc::now(),
    }
}

/// Opens a ticket (with its comment 0) for `requester`; returns its id.
pub fn open(store: &dyn Store, requester: &str) -> TicketId {
    write(store, |tx| {
        let id = tx.next_ticket_id()?;
        let mut t = ticket(id, requester, Status::Open);
        t.comment_count = 1;
        tx.put_comment(id, &comment(0, "opening"))?;
        tx.put_ticket(&t)?;
        Ok(id)
    })
}

fn a_write_reads_its_own_changes(store: &dyn Store) {
    write(store, |tx| {
        let id = tx.next_ticket_id()?;
        assert!(tx.ticket(id)?.is_none());
        tx.put_ticket(&ticket(id, "carol@customer.test", Status::Open))?;
        assert_eq!(tx.ticket(id)?.map(|t| t.status), Some(Status::Open));
        assert!(tx.has_ticket_from("carol@customer.test")?);
        tx.index_message_id("Root@Customer.test", id)?;
        assert_eq!(tx.ticket_for_message_id("root@customer.test")?, Some(id));
        tx.put_rate("carol@customer.test", &[Utc::now()])?;
        assert_eq!(tx.rate("carol@customer.test")?.len(), 1);
        Ok(())
    });
    assert!(store.ticket(TicketId(1)).expect("read").is_some());
}

fn a_failed_write_stores_nothing(store: &dyn Store) {
    let failed = store.write(&mut |tx| {
        let id = tx.next_ticket_id()?;
        tx.put_ticket(&ticket(id, "carol@customer.test", Status::Open))?;
        anyhow::bail!("refused")
    });
    assert!(matches!(failed, Err(StoreError::Aborted(_))), "{failed:?}");
    assert_eq!(store.ticket_count().expect("count"), 0);
    assert!(store.ticket(TicketId(1)).expect("read").is_none());
}

fn savepoints(store: &dyn Store) {
    write(store, |tx| {
        let kept = tx.next_ticket_id()?;
        tx.put_ticket(&ticket(kept, "a@x.test", Status::Open))?;
        let point = tx.savepoint();
        let undone = tx.next_ticket_id()?;
        tx.put_ticket(&ticket(undone, "b@x.test", Status::Open))?;
        tx.put_message(
            &record("fp-undone", Disposition::NewTicket { ticket: undone }),
            b"raw",
        )?;
        tx.rollback_to(point);
        assert!(tx.ticket(undone)?.is_none());
        assert!(!tx.has_ticket_from("b@x.test")?);
        assert_eq!(
            tx.next_ticket_id()?,
            undone,
            "the number is handed out again"
        );
        Ok(())
    });
    assert!(store.message("fp-undone").expect("read").is_none());
    assert!(store.raw("fp-undone").expect("read").is_none());
    assert_eq!(store.ticket_count().expect("count"), 2);
}

fn counters_are_sequential(store: &dyn Store) {
    let ids = write(store, |tx| {
        Ok((
            tx.next_ticket_id()?,
            tx.next_ticket_id()?,
            tx.next_outbox_id()?,
        ))
    });
    assert_eq!(ids, (TicketId(1), TicketId(2), 1));
    let next = write(store, |tx| Ok((tx.next_ticket_id()?, tx.next_outbox_id()?)));
    assert_eq!(next, (TicketId(3), 2));
    assert_eq!(store.ticket_count().expect("count"), 3);
}

fn ticket_queries(store: &dyn Store) {
    let start = Utc::now();
    for n in 1..=6u64 {
        let requester = if n % 2 == 0 {
            "even@x.test"
        } else {
            "odd@x.test"
        };
        let id = open(store, requester);
        if n % 3 == 0 {
            write(store, |tx| {
                let mut t = tx.ticket(id)?.expect("ticket");
                t.status = Status::Closed;
                tx.put_ticket(&t)
            });
        }
    }
    let ids = |query: TicketQuery| -> Vec<u64> {
        let found = store.tickets(&query).expect("query");
        found.iter().map(|t| t.id.0).collect()
    };
    let query = |limit| TicketQuery {
        limit,
        ..TicketQuery::default()
    };
    assert_eq!(ids(query(4)), [6, 5, 4, 3]);
    assert_eq!(
        ids(TicketQuery {
            before: Some(TicketId(3)),
            ..query(4)
        }),
        [2, 1]
    );
    assert_eq!(
        ids(TicketQuery {
            status: Some(Status::Closed),
            ..query(10)
        }),
        [6, 3]
    );
    assert_eq!(
        ids(TicketQuery {
            status: Some(Status::Open),
            ..query(2)
        }),
        [5, 4]
    );
    let even = TicketQuery {
        requester: Some("even@x.test".into()),
        ..query(10)
    };
    assert_eq!(ids(even.clone()), [6, 4, 2]);
    assert_eq!(
        ids(TicketQuery {
            status: Some(Status::Open),
            ..even
        }),
        [4, 2]
    );
    assert_eq!(
        ids(TicketQuery {
            created_from: Some(start),
            ..query(10)
        })
        .len(),
        6
    );
    let later = Utc::now() + Duration::hours(1);
    assert!(
        ids(TicketQuery {
            created_from: Some(later),
            ..query(10)
        })
        .is_empty()
    );
    assert!(
        ids(TicketQuery {
            created_until: Some(start),
            ..query(10)
        })
        .is_empty()
    );
}

fn comments_and_events_page(store: &dyn Store) {
    let id = open(store, "carol@customer.test");
    write(store, |tx| {
        for seq in 1..12 {
            tx.put_comment(id, &comment(seq, &format!("comment {seq}")))?;
        }
        for seq in 0..7 {
            let kind = EventKind::Commented { comment: seq };
            let event = TicketEvent {
                seq,
                at: Utc::now(),
                actor: "x".into(),
                kind,
            };
            tx.put_event(id, &event)?;
        }
        Ok(())
    });
    let page = store.comments(id, 0, 5).expect("page");
    let seqs: Vec<u32> = page.comments.iter().map(|c| c.seq).collect();
    assert_eq!((seqs, page.next), (vec![0, 1, 2, 3, 4], Some(5)));
    let last = store.comments(id, 10, 5).expect("page");
    assert_eq!((last.comments.len(), last.next), (2, None));
    assert_eq!(
        store.comment(id, 7).expect("read").map(|c| c.text),
        Some("comment 7".into())
    );
    let events: Vec<u32> = store
        .latest_events(id, 3)
        .expect("events")
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(events, [4, 5, 6]);
    assert!(
        store
            .comments(TicketId(99), 0, 5)
            .expect("page")
            .comments
            .is_empty()
    );
}

fn messages(store: &dyn Store) {
    let id = open(store, "carol@customer.test");
    write(store, |tx| {
        tx.put_message(
            &record("fp-1", Disposition::NewTicket { ticket: id }),
            b"one",
        )?;
        tx.put_message(
            &record("fp-2", Disposition::Comment { ticket: id, seq: 1 }),
            b"two",
        )?;
        let quarantined = Disposition::Quarantined {
            reason: "bad".into(),
        };
        tx.put_message(&record("fp-3", quarantined), b"three")?;
        assert!(tx.message("fp-2")?.is_some(), "read back in the write");
        Ok(())
    });
    assert_eq!(store.raw("fp-2").expect("raw"), Some(b"two".to_vec()));
    assert_eq!(
        store
            .message_count(MessageKind::Quarantined)
            .expect("count"),
        1
    );
    let listed = store
        .messages(&[MessageKind::Quarantined], 10)
        .expect("list");
    assert_eq!(
        listed
            .iter()
            .map(|m| m.fingerprint.as_str())
            .collect::<Vec<_>>(),
        ["fp-3"]
    );
    let (of_ticket, more) = store.messages_for_ticket(id, 1).expect("list");
    assert_eq!((of_ticket.len(), more), (1, true));
    assert_eq!(of_ticket[0].fingerprint, "fp-1", "arrival order");
}

fn outbox(store: &dyn Store) {
    write(store, |tx| {
        let context = tx.put_alert_context(&serde_json::json!({ "n": 1 }))?;
        for (id, due) in [(1, 0), (2, 3600), (3, -10)] {
            tx.put_new_outbox(&item(id, due), context)?;
        }
        Ok(())
    });
    let due: Vec<u64> = store
        .due_outbox(Utc::now(), 10)
        .expect("due")
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(due, [3, 1], "oldest due first, not the future one");
    assert_eq!(store.pending_count().expect("count"), 3);
    assert_eq!(
        store
            .outbox_item(2)
            .expect("item")
            .map(|i| i.context["n"].clone()),
        Some(1.into())
    );
    assert!(
        store
            .outbox_record(2)
            .expect("record")
            .is_some_and(|i| i.context.is_null())
    );
    write(store, |tx| {
        let mut sent = tx.outbox_record(3)?.expect("item 3");
        sent.status = OutboxStatus::Sent { at: Utc::now() };
        tx.put_outbox(&sent)
    });
    let due: Vec<u64> = store
        .due_outbox(Utc::now(), 10)
        .expect("due")
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(due, [1], "a sent item is no longer due");
    let page: Vec<u64> = store
        .outbox_page(Some("pending"), Some(3), 10)
        .expect("page")
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(page, [2, 1]);
    let (of_ticket, older) = store.outbox_for_ticket(TicketId(1), 2).expect("list");
    assert_eq!(
        (of_ticket.iter().map(|i| i.id).collect::<Vec<_>>(), older),
        (vec![2, 3], true)
    );
    assert!(store.next_due().expect("next").is_some());
}

fn indexes(store: &dyn Store) {
    let id = open(store, "carol@customer.test");
    write(store, |tx| {
        tx.index_correlation("nagios/web01", id)?;
        tx.put_ticket_rate(id, "carol@customer.test", &[Utc::now(), Utc::now()])
    });
    write(store, |tx| {
        assert_eq!(tx.correlated_ticket("nagios/web01")?, Some(id));
        assert_eq!(tx.ticket_rate(id, "carol@customer.test")?.len(), 2);
        assert!(
            tx.rate("carol@customer.test")?.is_empty(),
            "per ticket and per address apart"
        );
        tx.unindex_correlation("nagios/web01")
    });
    write(store, |tx| {
        assert_eq!(tx.correlated_ticket("nagios/web01")?, None);
        Ok(())
    });
}

fn checkpoints_and_secrets(store: &dyn Store) {
    let checkpoint = super::MailboxCheckpoint {
        uid_validity: 7,
        last_uid: 42,
        ..Default::default()
    };
    write(store, |tx| tx.put_checkpoint("support", &checkpoint));
    let stored = store.checkpoints().expect("checkpoints");
    assert_eq!(stored, vec![("support".to_string(), checkpoint)]);
    let secret = store.secret("thread_secret", 32).expect("secret");
    assert_eq!(secret.len(), 32);
    assert_eq!(
        store.secret("thread_secret", 32).expect("again"),
        secret,
        "kept"
    );
}

/// Threads that read a ticket and write it back with one more comment
/// never lose one: every write sees the ones committed before it.
fn concurrent_writes_lose_no_update(store: &dyn Store) {
    let id = open(store, "carol@customer.test");
    let (threads, each) = (4, 25);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..each {
                    write(store, |tx| {
                        let mut t = tx.ticket(id)?.expect("ticket");
                        tx.put_comment(id, &comment(t.comment_count, "concurrent"))?;
                        t.comment_count += 1;
                        tx.put_ticket(&t)
                    });
                }
            });
        }
    });
    let t = store.ticket(id).expect("read").expect("ticket");
    assert_eq!(t.comment_count, 1 + threads * each);
    let page = store.comments(id, 0, 1000).expect("comments");
    assert_eq!(page.comments.len() as u32, t.comment_count);
}

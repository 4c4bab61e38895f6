//! The loop guard: what the per-ticket and per-recipient limits and the
//! sender's "no auto-replies" request hold back, and what they leave alone.

use chrono::{Duration, Utc};

use crate::domain::workflow::CommentDraft;
use crate::model::outbox::AlertKind;
use crate::model::outbox::{OutboxItem, OutboxStatus};
use crate::model::{AuthorRole, Source, TicketId, Visibility};
use crate::testutil;
use crate::testutil::Desk;

use crate::notify::enqueue::Trigger;

const NEW_MAIL: &str = "From: Carol <carol@customer.test>\r\nTo: support@example.test\r\nSubject: Printer jammed\r\nMessage-ID: <q1@customer.test>\r\n\r\nJammed.\r\n";

fn desk_with(extra: &[(&str, &str)]) -> (tempfile::TempDir, Desk) {
    let mut overrides = vec![(
        "notify_staff = [\"new_ticket\", \"customer_reply\"]",
        "notify_staff = [\"customer_reply\"]",
    )];
    overrides.extend_from_slice(extra);
    testutil::desk(&overrides)
}

fn open_ticket(desk: &Desk, raw: &str) -> TicketId {
    let outcome = desk
        .ingest(raw.as_bytes(), Source::Other("test".into()))
        .expect("ingest");
    outcome.disposition.ticket().expect("a ticket")
}

fn outbox(desk: &Desk) -> Vec<OutboxItem> {
    let mut items = desk.store.outbox_items(usize::MAX).expect("outbox");
    items.reverse();
    items
}

fn states(desk: &Desk, kind: AlertKind) -> Vec<String> {
    outbox(desk)
        .into_iter()
        .filter(|i| i.kind == kind)
        .map(|i| match i.status {
            OutboxStatus::Suppressed { rule } => rule,
            other => other.as_str().to_string(),
        })
        .collect()
}

/// Closes and reopens the ticket `times` times (each close alerts Carol).
fn close_and_reopen(desk: &Desk, id: TicketId, times: usize) {
    for _ in 0..times {
        let mut ticket = desk.ticket(id).expect("ticket");
        desk.write(|tx| {
            let trigger = Trigger::default();
            desk.close_ticket(tx, &mut ticket, "cli", &trigger)
                .expect("close");
            desk.reopen_ticket(tx, &mut ticket, "cli", &trigger)
                .expect("reopen");
            tx.put_ticket(&ticket).expect("put");
            Ok(())
        });
    }
}

fn comment(desk: &Desk, id: TicketId, role: AuthorRole, author: &str) {
    let mut ticket = desk.ticket(id).expect("ticket");
    desk.write(|tx| {
        let draft = CommentDraft {
            author: author.into(),
            role,
            visibility: Visibility::Public,
            text: "more".into(),
            html: None,
            attachments: Vec::new(),
            source_message: None,
            unproven_staff: false,
        };
        desk.add_comment(tx, &mut ticket, draft, &Trigger::default())
            .expect("comment");
        tx.put_ticket(&ticket).expect("put");
        Ok(())
    });
}

#[test]
fn the_per_ticket_limit_holds_back_the_third_closed_alert_to_one_address() {
    let (_dir, desk) = desk_with(&[("ticket_rate_limit_max = 5", "ticket_rate_limit_max = 2")]);
    let id = open_ticket(&desk, NEW_MAIL);
    close_and_reopen(&desk, id, 3);
    // The acknowledgement counts too: one more closed alert fits.
    let closed = states(&desk, AlertKind::TICKET_CLOSED);
    assert_eq!(closed.len(), 3, "{closed:?}");
    assert_eq!(closed[0], "pending");
    assert!(
        closed[1].starts_with("rate-limit:ticket: 2 automatic messages to this address about this ticket within 60 minutes"),
        "{closed:?}"
    );
    assert_eq!(closed[1], closed[2]);
    assert_eq!(
        desk.store.rate("carol@customer.test").expect("rate").len(),
        2,
        "held-back items use up no budget"
    );
}

#[test]
fn events_earlier_in_the_same_commit_count() {
    let (_dir, desk) = desk_with(&[("ticket_rate_limit_max = 5", "ticket_rate_limit_max = 2")]);
    let id = open_ticket(&desk, NEW_MAIL);
    let mut ticket = desk.ticket(id).expect("ticket");
    desk.write(|tx| {
        let trigger = Trigger::default();
        for _ in 0..2 {
            desk.close_ticket(tx, &mut ticket, "cli", &trigger)
                .expect("close");
            desk.reopen_ticket(tx, &mut ticket, "cli", &trigger)
                .expect("reopen");
        }
        tx.put_ticket(&ticket).expect("put");
        Ok(())
    });
    let closed = states(&desk, AlertKind::TICKET_CLOSED);
    assert_eq!(closed[0], "pending");
    assert!(closed[1].starts_with("rate-limit:ticket:"), "{closed:?}");
    assert_eq!(
        desk.store
            .ticket_rate(id, "carol@customer.test")
            .expect("rate")
            .len(),
        2,
        "the acknowledgement and the first closed alert"
    );
}

#[test]
fn the_per_ticket_limit_is_per_ticket() {
    let (_dir, desk) = desk_with(&[("ticket_rate_limit_max = 5", "ticket_rate_limit_max = 1")]);
    let first = open_ticket(&desk, NEW_MAIL);
    let second = open_ticket(&desk, &NEW_MAIL.replace("q1@", "q2@"));
    assert_ne!(first, second);
    assert_eq!(
        states(&desk, AlertKind::ACKNOWLEDGEMENT),
        ["pending", "pending"],
        "one acknowledgement per ticket fits a limit of one"
    );
}

#[test]
fn the_per_ticket_limit_covers_staff_notifications() {
    let (_dir, desk) = desk_with(&[("ticket_rate_limit_max = 5", "ticket_rate_limit_max = 2")]);
    let id = open_ticket(&desk, NEW_MAIL);
    for _ in 0..3 {
        comment(&desk, id, AuthorRole::Customer, "carol@customer.test");
    }
    let notes = states(&desk, AlertKind::STAFF_NOTIFICATION);
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert_eq!(&notes[..2], ["pending", "pending"]);
    assert!(notes[2].starts_with("rate-limit:ticket:"), "{notes:?}");
}

#[test]
fn the_per_recipient_limit_spares_staff() {
    let (_dir, desk) = desk_with(&[("rate_limit_max = 10", "rate_limit_max = 1")]);
    let id = open_ticket(&desk, NEW_MAIL);
    for _ in 0..3 {
        comment(&desk, id, AuthorRole::Customer, "carol@customer.test");
    }
    assert_eq!(
        states(&desk, AlertKind::STAFF_NOTIFICATION),
        ["pending", "pending", "pending"]
    );
}

#[test]
fn relayed_staff_replies_are_never_limited() {
    let (_dir, desk) = desk_with(&[
        ("ticket_rate_limit_max = 5", "ticket_rate_limit_max = 1"),
        ("rate_limit_max = 10", "rate_limit_max = 1"),
    ]);
    let id = open_ticket(&desk, NEW_MAIL);
    for _ in 0..3 {
        comment(&desk, id, AuthorRole::Staff, "staff@example.test");
    }
    assert_eq!(
        states(&desk, AlertKind::PUBLIC_REPLY),
        ["pending", "pending", "pending"]
    );
}

#[test]
fn sends_older_than_the_window_no_longer_count() {
    let (_dir, desk) = desk_with(&[("ticket_rate_limit_max = 5", "ticket_rate_limit_max = 1")]);
    let id = open_ticket(&desk, NEW_MAIL);
    let old = Utc::now() - Duration::minutes(61);
    desk.write(|tx| {
        tx.put_ticket_rate(id, "carol@customer.test", &[old])
            .expect("rate");
        Ok(())
    });
    close_and_reopen(&desk, id, 2);
    assert_eq!(
        states(&desk, AlertKind::TICKET_CLOSED)[0],
        "pending",
        "the acknowledgement's slot has been replaced by an old one"
    );
    assert!(states(&desk, AlertKind::TICKET_CLOSED)[1].starts_with("rate-limit:ticket:"));
}

#[test]
fn an_acknowledgement_is_held_back_when_the_sender_declines_auto_replies() {
    let (_dir, desk) = desk_with(&[]);
    let raw = NEW_MAIL.replace(
        "Subject:",
        "X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply\r\nSubject:",
    );
    let id = open_ticket(&desk, &raw);
    let acks = states(&desk, AlertKind::ACKNOWLEDGEMENT);
    assert_eq!(
        acks,
        [
            "auto-reply-declined: the message asked for no automatic replies (X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply)"
        ]
    );
    assert!(
        desk.store
            .rate("carol@customer.test")
            .expect("rate")
            .is_empty(),
        "a declined acknowledgement uses up no budget"
    );
    close_and_reopen(&desk, id, 1);
    assert_eq!(
        states(&desk, AlertKind::TICKET_CLOSED),
        ["pending"],
        "only auto-replies are declined; a closed notice is not an answer to that message"
    );
}

#[test]
fn oof_alone_does_not_decline_our_acknowledgement() {
    let (_dir, desk) = desk_with(&[]);
    let raw = NEW_MAIL.replace("Subject:", "X-Auto-Response-Suppress: OOF\r\nSubject:");
    open_ticket(&desk, &raw);
    assert_eq!(states(&desk, AlertKind::ACKNOWLEDGEMENT), ["pending"]);
}

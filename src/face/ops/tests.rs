//! Operations end to end on a throw-away desk: every listing and the
//! ticket view read one page, and recipient confirmation.

use super::*;
use crate::model::Origin;
use crate::testutil::{self, Desk};

fn run(desk: &Desk, request: Request) -> Response {
    execute(desk.app(), request).expect("operation succeeds")
}

fn create(desk: &Desk, requester: &str, recipients: &[&str]) -> TicketId {
    let request = Request::TicketCreate(NewTicketRequest {
        subject: "Visit".into(),
        requester: requester.into(),
        recipients: recipients.iter().map(|r| r.to_string()).collect(),
        text: "We come on Monday.".into(),
        category: None,
        actor: "cli".into(),
        origin: Origin::Staff,
    });
    match run(desk, request) {
        Response::Done {
            ticket: Some(id), ..
        } => id,
        other => panic!("{other:?}"),
    }
}

fn close(desk: &Desk, id: TicketId) {
    run(
        desk,
        Request::TicketClose {
            id,
            actor: "cli".into(),
        },
    );
}

/// Ingests a first mail from `from` with `count` Cc addresses
/// (`p0@elsewhere.test`, ...; numbers padded to `width` digits); it opens
/// ticket #1.
fn ingest_with_cc(desk: &Desk, from: &str, count: usize, width: usize) {
    let cc: Vec<String> = (0..count)
        .map(|n| format!("p{n:0width$}@elsewhere.test"))
        .collect();
    let raw = format!(
        "From: {from}\r\nTo: support@example.test\r\nCc: {}\r\nSubject: Hi\r\nMessage-ID: <first@customer.test>\r\n\r\nHello\r\n",
        cc.join(", ")
    );
    desk.ingest(raw.as_bytes(), crate::model::Source::Pipe)
        .expect("ingest");
}

fn ticket_ids(response: Response) -> Vec<u64> {
    match response {
        Response::Tickets { tickets } => tickets.iter().map(|t| t.id.0).collect(),
        other => panic!("{other:?}"),
    }
}

fn item_ids(response: Response) -> Vec<u64> {
    match response {
        Response::Outbox { items } => items.iter().map(|i| i.id).collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tickets_list_pages_by_status_and_cursor() {
    let (_dir, desk) = testutil::desk(&[]);
    for n in 1..=7 {
        let id = create(&desk, &format!("c{n}@customer.test"), &[]);
        if n % 2 == 1 {
            close(&desk, id);
        }
    }
    let page = |before: Option<u64>| Request::TicketsList {
        status: Some(Status::Closed),
        limit: 2,
        before: before.map(TicketId),
    };
    assert_eq!(ticket_ids(run(&desk, page(None))), [7, 5]);
    assert_eq!(ticket_ids(run(&desk, page(Some(5)))), [3, 1]);
    assert_eq!(ticket_ids(run(&desk, page(Some(1)))), Vec::<u64>::new());
}

#[test]
fn outbox_list_pages_by_status_and_cursor_without_contexts() {
    let (_dir, desk) = testutil::desk(&[]);
    let id = create(&desk, "carol@customer.test", &["dave@customer.test"]);
    close(&desk, id);
    let list = |status: Option<&str>, before| Request::OutboxList {
        status: status.map(String::from),
        limit: 3,
        before,
    };
    assert_eq!(item_ids(run(&desk, list(None, None))), [4, 3, 2]);
    assert_eq!(item_ids(run(&desk, list(None, Some(2)))), [1]);
    match run(&desk, list(Some("pending"), None)) {
        Response::Outbox { items } => {
            assert!(items.iter().all(|i| i.context.is_null()), "{items:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_page_over_the_maximum_is_refused() {
    let (_dir, desk) = testutil::desk(&[]);
    let too_many = Request::OutboxList {
        status: None,
        limit: MAX_PAGE + 1,
        before: None,
    };
    assert!(matches!(
        execute(desk.app(), too_many),
        Err(OpError::BadRequest(_))
    ));
}

fn show(desk: &Desk, id: TicketId, from: u32, limit: usize) -> TicketDetail {
    match run(desk, Request::TicketShow { id, from, limit }) {
        Response::Ticket(detail) => *detail,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_ticket_view_shows_one_page_of_comments_and_the_latest_of_the_rest() {
    let (_dir, desk) = testutil::desk(&[]);
    let id = create(&desk, "carol@customer.test", &[]);
    for n in 1..=12 {
        let comment = Request::TicketComment {
            id,
            text: format!("note {n}"),
            internal: n % 3 != 0,
            actor: "cli".into(),
        };
        run(&desk, comment);
    }
    let first = show(&desk, id, 0, 5);
    let seqs: Vec<u32> = first.comments.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4]);
    assert_eq!(first.more.next_comment, Some(5));
    assert_eq!(first.events.len(), 5);
    assert_eq!(first.events.last().map(|e| e.seq), Some(12), "the latest");
    assert_eq!(first.more.older_events, 8);
    assert_eq!(first.outbox.len(), 5, "1 new-ticket alert and 4 replies");
    assert!(!first.more.older_alerts);
    assert!(first.outbox.iter().all(|i| i.context.is_null()));
    let last = show(&desk, id, 10, 3);
    let seqs: Vec<u32> = last.comments.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, [10, 11, 12]);
    assert_eq!(last.more.next_comment, None);
    let items: Vec<u64> = last.outbox.iter().map(|i| i.id).collect();
    assert_eq!(items, [3, 4, 5], "the newest, oldest first");
    assert!(last.more.older_alerts);
}

#[test]
fn adding_a_recipient_that_was_not_added_takes_it_off_the_list() {
    let (_dir, desk) = testutil::desk(&[]);
    ingest_with_cc(&desk, "lead@customer.test", 25, 2);
    let id = TicketId(1);
    let ticket = desk.ticket(id).expect("ticket");
    let not_added = ticket.not_added.expect("some not added");
    assert_eq!(not_added.count, 6, "26 addresses, 20 kept");
    assert!(not_added.reason.contains("inbound.max_recipients (20)"));
    let left_out = not_added.listed[0].clone();
    let add = Request::RecipientsAdd {
        id,
        address: left_out.clone(),
    };
    run(&desk, add);
    let ticket = desk.ticket(id).expect("ticket");
    assert!(ticket.recipients.contains(&left_out));
    let still = ticket.not_added.expect("five still not added");
    assert_eq!(still.count, 5);
    assert!(!still.listed.contains(&left_out));
}

#[test]
fn confirmed_recipients_hear_about_the_closing() {
    let (_dir, desk) = testutil::desk(&[]);
    ingest_with_cc(&desk, "new@customer.test", 8, 0);
    let id = TicketId(1);
    assert!(desk.ticket(id).expect("ticket").recipients_unconfirmed);
    run(&desk, Request::RecipientsConfirm { id });
    assert!(matches!(
        execute(desk.app(), Request::RecipientsConfirm { id }),
        Err(OpError::BadRequest(_))
    ));
    close(&desk, id);
    let pending = desk
        .store
        .outbox_page(Some("pending"), None, MAX_PAGE)
        .expect("outbox");
    let closed = pending
        .iter()
        .filter(|i| i.kind == crate::model::outbox::AlertKind::TICKET_CLOSED)
        .count();
    assert_eq!(closed, 9, "the requester and the 8 in Cc");
}

#[test]
fn a_public_staff_reply_confirms_the_recipients() {
    let (_dir, desk) = testutil::desk(&[]);
    ingest_with_cc(&desk, "new@customer.test", 8, 0);
    let id = TicketId(1);
    let reply = Request::TicketComment {
        id,
        text: "We are on it.".into(),
        internal: false,
        actor: "cli".into(),
    };
    run(&desk, reply);
    assert!(!desk.ticket(id).expect("ticket").recipients_unconfirmed);
    let relayed = desk
        .store
        .outbox_page(Some("pending"), None, MAX_PAGE)
        .expect("outbox")
        .into_iter()
        .filter(|i| i.kind == crate::model::outbox::AlertKind::PUBLIC_REPLY)
        .count();
    assert_eq!(relayed, 9);
}

#[test]
fn one_events_fan_out_is_capped_and_the_rest_held_for_staff() {
    let (_dir, desk) = testutil::desk(&[(
        "notify_staff = [\"new_ticket\", \"customer_reply\"]",
        "notify_staff = []",
    )]);
    let recipients: Vec<String> = (0..60).map(|i| format!("c{i}@customer.test")).collect();
    let request = Request::TicketCreate(NewTicketRequest {
        subject: "Site visit".into(),
        requester: "lead@customer.test".into(),
        recipients,
        text: "We will visit on Monday.".into(),
        category: None,
        actor: "cli".into(),
        origin: crate::model::Origin::Staff,
    });
    execute(desk.app(), request).expect("create");
    let announced: Vec<crate::model::outbox::OutboxItem> = desk
        .store
        .outbox_items(1000)
        .expect("outbox")
        .into_iter()
        .filter(|i| i.kind == crate::model::outbox::AlertKind::NEW_TICKET)
        .collect();
    let pending_recipients = |items: &[crate::model::outbox::OutboxItem]| -> Vec<String> {
        items
            .iter()
            .filter(|i| i.status == crate::model::outbox::OutboxStatus::Pending)
            .map(|i| i.recipient.clone())
            .collect()
    };
    assert_eq!(announced.len(), 61);
    assert_eq!(pending_recipients(&announced).len(), 50);
    assert!(
        pending_recipients(&announced).contains(&"lead@customer.test".to_string()),
        "the requester comes first"
    );
    let held = announced
        .iter()
        .filter(|i| {
            matches!(&i.status, crate::model::outbox::OutboxStatus::Suppressed { rule } if rule.starts_with("fan-out-cap"))
        })
        .count();
    assert_eq!(held, 11);
}

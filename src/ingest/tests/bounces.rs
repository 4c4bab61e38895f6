//! Bounces through the ingest seam: attribution (VERP, our Message-ID in
//! the returned original), the note, the recipient's state, held alerts,
//! and that nothing ever reopens, alerts or opens a ticket.

use super::{NEW_MAIL, ack_of, feed, outbox, quiet_desk, staff_reply};
use crate::model::outbox::AlertKind;
use crate::model::outbox::{OutboxItem, OutboxStatus};
use crate::model::{
    AuthorRole, BounceKind, Comment, Disposition, EventKind, Status, TicketId, Visibility,
};
use crate::testutil;
use crate::testutil::Desk;

const CAROL: &str = "carol@customer.test";
const DAVE: &str = "dave@customer.test";

/// A Postfix-style DSN about `recipient`, sent to `to`, returning the
/// headers of our message `returned_id`.
pub(super) fn dsn(
    to: &str,
    id: &str,
    returned_id: &str,
    recipient: &str,
    action: &str,
    status: &str,
) -> String {
    format!(
        "From: MAILER-DAEMON@mx.customer.test (Mail Delivery System)
To: {to}
Subject: Undelivered Mail Returned to Sender
Message-ID: <{id}>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary=\"BND\"

--BND
Content-Type: text/plain

The mail system at mx.customer.test could not deliver your message.

--BND
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.customer.test

Final-Recipient: rfc822; {recipient}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; {status} remote server says no

--BND
Content-Type: text/rfc822-headers

From: Example Support <support@example.test>
To: {recipient}
Subject: [#1] We received your request: Printer jammed
Message-ID: <{returned_id}>
X-Ticketd-Loop: ticketd

--BND--
"
    )
}

/// The VERP envelope sender of an outbox item.
fn bounce_address(desk: &Desk, item: &OutboxItem) -> String {
    desk.key.bounce_address("support@example.test", item.id)
}

fn last_comment(desk: &Desk) -> Comment {
    let mut comments = desk.store.comments(TicketId(1)).expect("comments");
    comments.pop().expect("a comment")
}

fn hard_bounce_of_the_acknowledgement(desk: &Desk) -> crate::ingest::Outcome {
    let ack = ack_of(desk);
    let raw = dsn(
        &bounce_address(desk, &ack),
        "b1@mx.customer.test",
        &ack.message_id,
        CAROL,
        "failed",
        "5.1.1",
    );
    feed(desk, &raw)
}

fn close(desk: &Desk) {
    let mut ticket = desk.ticket(TicketId(1)).expect("ticket");
    desk.write(|tx| {
        desk.close_ticket(tx, &mut ticket, "cli", &Default::default())
            .expect("close");
        tx.put_ticket(&ticket).expect("put");
        Ok(())
    });
}

#[test]
fn a_hard_bounce_notes_the_recipient_and_later_alerts_to_it_are_suppressed() {
    let (_dir, desk) = testutil::desk(&[]);
    feed(&desk, NEW_MAIL);
    let before = outbox(&desk).len();

    let outcome = hard_bounce_of_the_acknowledgement(&desk);
    assert_eq!(
        outcome.disposition,
        Disposition::Comment {
            ticket: TicketId(1),
            seq: 1
        }
    );
    for part in [
        "bounce:multipart-report",
        "bounce-attributed-by:bounce-address",
        "bounce:carol@customer.test:hard",
    ] {
        assert!(outcome.rule.contains(part), "{part} in {}", outcome.rule);
    }
    assert_eq!(
        outbox(&desk).len(),
        before,
        "no reply, no alert, no staff notification"
    );
    let note = last_comment(&desk);
    assert_eq!(
        (note.role, note.visibility),
        (AuthorRole::System, Visibility::Internal)
    );
    for part in [
        "mail to carol@customer.test failed permanently (hard bounce, 5.1.1)",
        "Server said: 5.1.1 remote server says no",
        "Bounced mail: alert 1 (acknowledgement) to carol@customer.test",
        "Reported by: mx.customer.test",
        "`ticketd recipients reset 1 carol@customer.test` resumes it",
    ] {
        assert!(note.text.contains(part), "{part:?} in\n{}", note.text);
    }
    let ticket = desk.ticket(TicketId(1)).unwrap();
    assert_eq!(ticket.status, Status::Open);
    let state = &ticket.delivery[CAROL];
    let failing = state.failing.as_ref().expect("carol is failing");
    assert_eq!(
        (failing.kind, failing.status.as_deref(), failing.outbox_item),
        (BounceKind::Hard, Some("5.1.1"), Some(1))
    );
    assert!(!ticket.delivery.contains_key(DAVE));
    let events = desk.store.events(TicketId(1)).unwrap();
    assert!(
        events.iter().any(|e| matches!(&e.kind,
            EventKind::DeliveryStopped { address, .. } if address == CAROL)),
        "{events:?}"
    );

    close(&desk);
    let closed: Vec<OutboxItem> = outbox(&desk)
        .into_iter()
        .filter(|i| i.kind == AlertKind::TICKET_CLOSED)
        .collect();
    let by_recipient = |r: &str| {
        closed
            .iter()
            .find(|i| i.recipient == r)
            .map(|i| i.status.clone())
    };
    assert_eq!(by_recipient(DAVE), Some(OutboxStatus::Pending));
    match by_recipient(CAROL) {
        Some(OutboxStatus::Suppressed { rule }) => assert!(
            rule.starts_with("recipient-failing: hard bounce 5.1.1") && rule.contains("(alert 1)"),
            "{rule}"
        ),
        other => panic!("carol's closing alert should be suppressed, got {other:?}"),
    }
}

#[test]
fn resetting_a_failing_recipient_resumes_mail_to_it() {
    let (_dir, desk) = quiet_desk();
    feed(&desk, NEW_MAIL);
    hard_bounce_of_the_acknowledgement(&desk);
    let mut ticket = desk.ticket(TicketId(1)).unwrap();
    desk.write(|tx| {
        assert!(desk.reset_delivery(tx, &mut ticket, CAROL, "cli").unwrap());
        assert!(!desk.reset_delivery(tx, &mut ticket, DAVE, "cli").unwrap());
        tx.put_ticket(&ticket).unwrap();
        Ok(())
    });
    assert!(desk.ticket(TicketId(1)).unwrap().delivery.is_empty());
    close(&desk);
    let carol_closed = outbox(&desk)
        .into_iter()
        .find(|i| i.kind == AlertKind::TICKET_CLOSED && i.recipient == CAROL)
        .expect("a closing alert to carol");
    assert_eq!(carol_closed.status, OutboxStatus::Pending);
    let history: Vec<String> = desk
        .store
        .events(TicketId(1))
        .unwrap()
        .iter()
        .map(|e| e.kind.to_string())
        .collect();
    assert!(
        history.contains(&"mail to carol@customer.test resumed".to_string()),
        "{history:?}"
    );
}

#[test]
fn soft_bounces_are_counted_and_the_limit_stops_mail() {
    let (_dir, desk) = testutil::desk(&[
        ("soft_bounce_limit = 3", "soft_bounce_limit = 2"),
        (
            "notify_staff = [\"new_ticket\", \"customer_reply\"]",
            "notify_staff = []",
        ),
    ]);
    feed(&desk, NEW_MAIL);
    let ack = ack_of(&desk);
    let to = bounce_address(&desk, &ack);
    let soft = |id: &str| dsn(&to, id, &ack.message_id, CAROL, "failed", "5.2.2");

    let first = feed(&desk, &soft("s1@mx"));
    assert!(
        first.rule.contains("bounce:carol@customer.test:soft"),
        "{}",
        first.rule
    );
    let state = desk.ticket(TicketId(1)).unwrap().delivery[CAROL].clone();
    assert_eq!((state.soft_bounces, state.is_failing()), (1, false));
    assert!(
        last_comment(&desk)
            .text
            .contains("Soft bounce 1 for carol@customer.test")
    );

    feed(&desk, &soft("s2@mx"));
    let state = desk.ticket(TicketId(1)).unwrap().delivery[CAROL].clone();
    assert_eq!((state.soft_bounces, state.is_failing()), (2, true));
    assert_eq!(state.failing.map(|f| f.kind), Some(BounceKind::Soft));
    assert!(last_comment(&desk).text.contains("is stopped"));
}

#[test]
fn a_delay_warning_is_only_noted() {
    let (_dir, desk) = quiet_desk();
    feed(&desk, NEW_MAIL);
    let ack = ack_of(&desk);
    let raw = dsn(
        &bounce_address(&desk, &ack),
        "d1@mx",
        &ack.message_id,
        CAROL,
        "delayed",
        "4.4.1",
    );
    let outcome = feed(&desk, &raw);
    assert!(
        outcome.rule.contains("bounce:carol@customer.test:delayed"),
        "{}",
        outcome.rule
    );
    let state = desk.ticket(TicketId(1)).unwrap().delivery[CAROL].clone();
    assert_eq!(
        (state.soft_bounces, state.is_failing(), state.last.kind),
        (0, false, BounceKind::Delayed)
    );
    let note = last_comment(&desk);
    assert!(
        note.text
            .contains("is delayed (still being retried, 4.4.1)"),
        "{}",
        note.text
    );
    assert!(note.text.contains("Noted only"), "{}", note.text);
}

#[test]
fn without_verp_our_message_id_in_the_quoted_original_finds_the_item() {
    let (_dir, desk) = quiet_desk();
    feed(&desk, NEW_MAIL);
    let ack = ack_of(&desk);
    let exim = format!(
        "From: Mail Delivery System <Mailer-Daemon@mail.customer.test>
To: support@example.test
Subject: Mail delivery failed: returning message to sender
Message-ID: <exim-1@mail.customer.test>
X-Failed-Recipients: carol@customer.test

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  carol@customer.test
    550 5.1.1 <carol@customer.test>: Recipient address rejected: User unknown

------ This is a copy of the message, including all the headers. ------

From: Example Support <support@example.test>
To: carol@customer.test
Subject: [#1] We received your request: Printer jammed
Message-ID: <{}>
X-Ticketd-Loop: ticketd

Hello
",
        ack.message_id
    );
    let outcome = feed(&desk, &exim);
    assert!(
        outcome.rule.contains("bounce-attributed-by:our-message-id")
            && outcome.rule.contains("bounce:carol@customer.test:hard"),
        "{}",
        outcome.rule
    );
    assert!(desk.ticket(TicketId(1)).unwrap().delivery[CAROL].is_failing());
}

#[test]
fn a_bounced_staff_notification_is_noted_but_marks_nobody() {
    let (_dir, desk) = testutil::desk(&[]);
    feed(&desk, NEW_MAIL);
    let note = outbox(&desk)
        .into_iter()
        .find(|i| i.to_staff)
        .expect("a staff notification");
    let raw = dsn(
        &bounce_address(&desk, &note),
        "st1@mx",
        &note.message_id,
        "staff@example.test",
        "failed",
        "5.1.1",
    );
    let outcome = feed(&desk, &raw);
    assert!(matches!(outcome.disposition, Disposition::Comment { .. }));
    assert!(
        outcome
            .rule
            .contains("bounce:staff staff@example.test:hard"),
        "{}",
        outcome.rule
    );
    assert!(desk.ticket(TicketId(1)).unwrap().delivery.is_empty());
    assert!(last_comment(&desk).text.contains("check staff.addresses"));
}

#[test]
fn a_bounce_that_names_no_ticket_of_ours_is_ignored_and_opens_nothing() {
    let (_dir, desk) = quiet_desk();
    feed(&desk, NEW_MAIL);
    let ack = ack_of(&desk);
    let forged_verp = bounce_address(&desk, &ack).replacen("+b1.", "+b2.", 1);
    for (n, raw) in [
        dsn(
            "support@example.test",
            "x1@mx",
            "someone-else@x.test",
            CAROL,
            "failed",
            "5.1.1",
        ),
        dsn(
            &forged_verp,
            "x2@mx",
            "someone-else@x.test",
            CAROL,
            "failed",
            "5.1.1",
        ),
        dsn(
            "support@example.test",
            "x3@mx",
            &ack.message_id.replacen("t1.", "t2.", 1),
            CAROL,
            "failed",
            "5.1.1",
        ),
    ]
    .iter()
    .enumerate()
    {
        let outcome = feed(&desk, raw);
        assert!(
            matches!(
                outcome.disposition,
                Disposition::Ignored { ticket: None, .. }
            ),
            "case {n}: {outcome:?}"
        );
        assert!(
            outcome.rule.contains("not attributable"),
            "{}",
            outcome.rule
        );
    }
    assert_eq!(desk.store.ticket_count().unwrap(), 1);
    assert!(desk.ticket(TicketId(1)).unwrap().delivery.is_empty());
}

#[test]
fn a_bounce_on_a_closed_ticket_never_reopens_it() {
    let (_dir, desk) = testutil::desk(&[]);
    feed(&desk, NEW_MAIL);
    feed(
        &desk,
        &staff_reply(&desk, "{ticket}", "#close", "close-1@example.test"),
    );
    let before = outbox(&desk).len();
    let closing = outbox(&desk)
        .into_iter()
        .find(|i| i.kind == AlertKind::TICKET_CLOSED && i.recipient == DAVE)
        .expect("a closing alert to dave");
    let raw = dsn(
        &bounce_address(&desk, &closing),
        "c1@mx",
        &closing.message_id,
        DAVE,
        "failed",
        "5.1.1",
    );
    feed(&desk, &raw);
    let ticket = desk.ticket(TicketId(1)).unwrap();
    assert_eq!(ticket.status, Status::Closed);
    assert!(ticket.delivery[DAVE].is_failing());
    assert_eq!(outbox(&desk).len(), before);
}

#[test]
fn an_auto_reply_to_our_closing_alert_never_reopens_or_gets_an_answer() {
    let (_dir, desk) = testutil::desk(&[]);
    feed(&desk, NEW_MAIL);
    feed(
        &desk,
        &staff_reply(&desk, "{ticket}", "#close", "close-2@example.test"),
    );
    let before = outbox(&desk).len();
    let comments = desk.store.comments(TicketId(1)).unwrap().len();
    let closing = outbox(&desk)
        .into_iter()
        .find(|i| i.kind == AlertKind::TICKET_CLOSED && i.recipient == CAROL)
        .expect("a closing alert to carol");
    let oof = format!(
        "From: carol@customer.test\nTo: support@example.test\nSubject: Automatic reply: [#1] Ticket closed\nAuto-Submitted: auto-replied\nMessage-ID: <oof-closed@customer.test>\nIn-Reply-To: <{}>\n\nI am out of office until Monday.\n",
        closing.message_id
    );
    let outcome = feed(&desk, &oof);
    assert!(
        matches!(
            outcome.disposition,
            Disposition::Ignored {
                ticket: Some(TicketId(1)),
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(desk.ticket(TicketId(1)).unwrap().status, Status::Closed);
    assert_eq!(outbox(&desk).len(), before);
    assert_eq!(desk.store.comments(TicketId(1)).unwrap().len(), comments);
}

#[test]
fn a_bounce_cut_short_anywhere_never_errs_opens_reopens_or_sends() {
    let (_dir, desk) = testutil::desk(&[]);
    feed(&desk, NEW_MAIL);
    close(&desk);
    let ack = ack_of(&desk);
    let full = dsn(
        &bounce_address(&desk, &ack),
        "cut@mx",
        &ack.message_id,
        CAROL,
        "failed",
        "5.1.1",
    );
    let lines: Vec<&str> = full.lines().collect();
    let before = outbox(&desk).len();
    for n in 1..lines.len() {
        // A distinct Message-ID per cut, so none is a duplicate.
        let text = lines[..n]
            .join("\n")
            .replace("cut@mx", &format!("cut-{n}@mx"));
        let outcome = desk
            .ingest(text.as_bytes(), crate::model::Source::Other("cut".into()))
            .unwrap_or_else(|e| panic!("cut after line {n}: {e:#}"));
        if outcome.rule.starts_with("bounce:") {
            assert!(
                !matches!(outcome.disposition, Disposition::NewTicket { .. }),
                "cut after line {n}: {outcome:?}"
            );
        }
        assert_eq!(desk.ticket(TicketId(1)).unwrap().status, Status::Closed);
        assert_eq!(outbox(&desk).len(), before, "cut after line {n}");
    }
}

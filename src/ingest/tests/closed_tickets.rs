//! Replies to closed tickets: thanks stay closed, the reopen window, linked
//! follow-ups, and staff replies.

use chrono::{Duration, Utc};

use super::{NEW_MAIL, ack_of, feed, outbox, quiet_desk, staff_reply};
use crate::model::outbox::AlertKind;
use crate::model::{AuthorRole, Disposition, EventKind, Status, TicketId, Visibility};
use crate::testutil;
use crate::testutil::Desk;

const NO_STAFF_NOTES: (&str, &str) = (
    "notify_staff = [\"new_ticket\", \"customer_reply\"]",
    "notify_staff = []",
);

/// Opens #1 from NEW_MAIL and closes it by staff mail, `days` ago.
fn closed_ticket(desk: &Desk, days: i64) {
    feed(desk, NEW_MAIL);
    feed(
        desk,
        &staff_reply(desk, "{ticket}", "Done.\n#close", "close@example.test"),
    );
    let mut ticket = desk.ticket(TicketId(1)).unwrap();
    assert_eq!(ticket.status, Status::Closed);
    ticket.closed_at = Some(Utc::now() - Duration::days(days));
    desk.write(|tx| {
        tx.put_ticket(&ticket).unwrap();
        Ok(())
    });
}

/// A reply from carol to #1's acknowledgement with `body` as new text.
fn carol_replies(desk: &Desk, id: &str, body: &str) -> crate::ingest::Outcome {
    let ack = ack_of(desk);
    let raw = format!(
        "From: Carol Smith <carol@customer.test>\nTo: support@example.test\nSubject: Re: [#1] We received your request: Printer jammed\nMessage-ID: <{id}>\nIn-Reply-To: <{}>\n\n{body}\n\nOn Mon, Example Support wrote:\n> We received your request\n",
        ack.message_id
    );
    feed(desk, &raw)
}

#[test]
fn a_thank_you_on_a_closed_ticket_is_a_comment_that_alerts_nobody() {
    let (_dir, desk) = testutil::desk(&[]);
    closed_ticket(&desk, 1);
    let before = outbox(&desk).len();
    let outcome = carol_replies(
        &desk,
        "thx-1@customer.test",
        "Thanks a lot, works now!\n\nCarol",
    );
    assert_eq!(
        outcome.disposition,
        Disposition::Comment {
            ticket: TicketId(1),
            seq: 2
        }
    );
    assert!(
        outcome.rule.contains("closed-ticket:thanks-kept-closed"),
        "{}",
        outcome.rule
    );
    assert_eq!(desk.ticket(TicketId(1)).unwrap().status, Status::Closed);
    assert_eq!(outbox(&desk).len(), before, "not even staff are notified");
    let comment = &desk.store.comments(TicketId(1)).unwrap()[2];
    assert_eq!(
        (comment.role, comment.visibility, comment.text.as_str()),
        (
            AuthorRole::Customer,
            Visibility::Public,
            "Thanks a lot, works now!\n\nCarol"
        )
    );
}

/// A forward is not a thank-you: "Thanks" above a forwarded mail brings
/// new content, so it reopens like any reply and the forward is kept.
#[test]
fn thanks_above_a_forward_reopens_and_keeps_the_forward() {
    let (_dir, desk) = testutil::desk(&[NO_STAFF_NOTES]);
    closed_ticket(&desk, 1);
    let raw = format!(
        "From: Carol Smith <carol@customer.test>\nTo: {}\nSubject: FW: Printer error log\nMessage-ID: <fw-1@customer.test>\n\n\
         Thanks!\n\n-----Original Message-----\nFrom: Facilities <fm@customer.test>\nSent: Monday\n\nThe log says fuser error 50.1.\n",
        desk.key
            .reply_address(desk.config.reply_base_address(), TicketId(1))
    );
    let outcome = feed(&desk, &raw);
    assert!(
        outcome
            .rule
            .contains("closed-ticket:reopened-within-14-days"),
        "{}",
        outcome.rule
    );
    assert_eq!(desk.ticket(TicketId(1)).unwrap().status, Status::Open);
    let comment = &desk.store.comments(TicketId(1)).unwrap()[2];
    assert!(
        comment.text.contains("fuser error 50.1"),
        "{}",
        comment.text
    );
}

#[test]
fn thanks_reopens_like_any_reply_when_configured_so() {
    let (_dir, desk) = testutil::desk(&[
        ("thanks_keeps_closed = true", "thanks_keeps_closed = false"),
        NO_STAFF_NOTES,
    ]);
    closed_ticket(&desk, 1);
    let outcome = carol_replies(&desk, "thx-2@customer.test", "Thanks!");
    assert!(
        outcome
            .rule
            .contains("closed-ticket:reopened-within-14-days"),
        "{}",
        outcome.rule
    );
    assert_eq!(desk.ticket(TicketId(1)).unwrap().status, Status::Open);
}

#[test]
fn a_reply_within_the_window_reopens_and_notifies_staff() {
    let (_dir, desk) = testutil::desk(&[]);
    closed_ticket(&desk, 13);
    let before = outbox(&desk).len();
    let outcome = carol_replies(&desk, "again-1@customer.test", "It jammed again.");
    assert!(
        outcome
            .rule
            .contains("closed-ticket:reopened-within-14-days"),
        "{}",
        outcome.rule
    );
    assert_eq!(desk.ticket(TicketId(1)).unwrap().status, Status::Open);
    let new: Vec<AlertKind> = outbox(&desk)[before..]
        .iter()
        .map(|i| i.kind.clone())
        .collect();
    assert_eq!(new, [AlertKind::STAFF_NOTIFICATION]);
}

#[test]
fn a_reply_after_the_window_opens_a_linked_follow_up_and_later_replies_join_it() {
    let (_dir, desk) = quiet_desk();
    closed_ticket(&desk, 20);
    let before = outbox(&desk).len();
    let outcome = carol_replies(&desk, "late-1@customer.test", "It jammed again.");
    assert_eq!(
        outcome.disposition,
        Disposition::NewTicket {
            ticket: TicketId(2)
        }
    );
    assert!(
        outcome.rule.contains("closed-ticket:follow-up-of-#1"),
        "{}",
        outcome.rule
    );

    let old = desk.ticket(TicketId(1)).unwrap();
    let new = desk.ticket(TicketId(2)).unwrap();
    assert_eq!(old.status, Status::Closed);
    assert_eq!(old.links.follow_ups, [TicketId(2)]);
    assert_eq!(new.links.follow_up_of, Some(TicketId(1)));
    assert_eq!(
        new.subject, "Printer jammed",
        "the old subject, not the Re: line"
    );
    assert!(
        new.rule
            .as_deref()
            .unwrap_or("")
            .contains("follow-up-of-#1")
    );
    let comments = desk.store.comments(TicketId(2)).unwrap();
    assert_eq!(comments[0].text, "It jammed again.");
    assert_eq!(
        (comments[1].role, comments[1].visibility),
        (AuthorRole::System, Visibility::Internal)
    );
    assert!(
        comments[1]
            .text
            .starts_with("Follow-up of #1 \"Printer jammed\" (closed on ")
            && comments[1].text.contains("20 days after closing")
            && comments[1].text.contains("reopen_within_days = 14"),
        "{}",
        comments[1].text
    );
    assert!(
        desk.store
            .events(TicketId(1))
            .unwrap()
            .iter()
            .any(|e| e.kind
                == EventKind::FollowUpOpened {
                    ticket: TicketId(2)
                })
    );
    let new_alerts: Vec<(AlertKind, String)> = outbox(&desk)[before..]
        .iter()
        .map(|i| (i.kind.clone(), i.recipient.clone()))
        .collect();
    assert_eq!(
        new_alerts,
        [(
            AlertKind::ACKNOWLEDGEMENT,
            "carol@customer.test".to_string()
        )],
        "the follow-up is acknowledged like any new ticket"
    );

    let again = carol_replies(&desk, "late-2@customer.test", "Any news?");
    assert_eq!(
        again.disposition,
        Disposition::Comment {
            ticket: TicketId(2),
            seq: 2
        }
    );
    assert!(
        again
            .rule
            .contains("closed-ticket:joined-open-follow-up-#2"),
        "{}",
        again.rule
    );
    assert_eq!(desk.store.ticket_count().unwrap(), 2);
}

#[test]
fn policy_never_opens_a_follow_up_at_once_and_reopen_always_reopens() {
    let (_dir, never) = testutil::desk(&[
        (
            "customer_reply = \"reopen_within\"",
            "customer_reply = \"never\"",
        ),
        NO_STAFF_NOTES,
    ]);
    closed_ticket(&never, 0);
    let outcome = carol_replies(&never, "n-1@customer.test", "One more thing.");
    assert_eq!(
        outcome.disposition,
        Disposition::NewTicket {
            ticket: TicketId(2)
        }
    );
    let note = &never.store.comments(TicketId(2)).unwrap()[1];
    assert!(
        note.text.contains("customer_reply is \"never\""),
        "{}",
        note.text
    );

    let (_dir, always) = testutil::desk(&[
        (
            "customer_reply = \"reopen_within\"",
            "customer_reply = \"reopen\"",
        ),
        NO_STAFF_NOTES,
    ]);
    closed_ticket(&always, 400);
    let outcome = carol_replies(&always, "a-1@customer.test", "One more thing.");
    assert!(
        outcome.rule.contains("closed-ticket:reopened"),
        "{}",
        outcome.rule
    );
    assert_eq!(always.ticket(TicketId(1)).unwrap().status, Status::Open);
}

#[test]
fn a_staff_reply_to_a_closed_ticket_is_relayed_and_leaves_it_closed() {
    let (_dir, desk) = quiet_desk();
    closed_ticket(&desk, 30);
    let before = outbox(&desk).len();
    let outcome = feed(
        &desk,
        &staff_reply(&desk, "{ticket}", "You're welcome!", "yw@example.test"),
    );
    assert!(
        outcome
            .rule
            .contains("closed-ticket:staff-reply-kept-closed"),
        "{}",
        outcome.rule
    );
    assert_eq!(desk.ticket(TicketId(1)).unwrap().status, Status::Closed);
    let mut new: Vec<(AlertKind, String)> = outbox(&desk)[before..]
        .iter()
        .map(|i| (i.kind.clone(), i.recipient.clone()))
        .collect();
    new.sort();
    assert_eq!(
        new,
        [
            (AlertKind::PUBLIC_REPLY, "carol@customer.test".to_string()),
            (AlertKind::PUBLIC_REPLY, "dave@customer.test".to_string()),
        ]
    );
    assert_eq!(desk.store.ticket_count().unwrap(), 1);
}

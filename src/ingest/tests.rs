//! Tests of the ingest seam and the alert rules end to end, without a
//! network: raw bytes in, tickets, comments and outbox items out.
//! Batches, bounces, replies to closed tickets and automated-mail
//! correlation have their own files below.

mod batches;
mod bounces;
mod closed_tickets;
mod correlation;
mod hostile;
mod loop_guard;
mod staff_proof;

use crate::ingest::Outcome;
use crate::model::outbox::AlertKind;
use crate::model::outbox::{OutboxItem, OutboxStatus};
use crate::model::{AuthorRole, Disposition, Origin, Source, Status, TicketId, Visibility};
use crate::testutil;
use crate::testutil::Desk;

fn feed(desk: &Desk, raw: &str) -> Outcome {
    desk.ingest(
        raw.replace('\n', "\r\n").as_bytes(),
        Source::Other("test".into()),
    )
    .expect("ingest")
}

fn outbox(desk: &Desk) -> Vec<OutboxItem> {
    let mut items = desk.store.outbox_items(usize::MAX).expect("outbox");
    items.reverse();
    items
}

fn kinds_to(desk: &Desk) -> Vec<(AlertKind, String)> {
    outbox(desk)
        .into_iter()
        .map(|i| (i.kind, i.recipient))
        .collect()
}

const NEW_MAIL: &str = "From: Carol <carol@customer.test>
To: support@example.test
Cc: Dave <dave@customer.test>, staff@example.test
Subject: Printer jammed
Message-ID: <new-1@customer.test>

The printer is jammed.
";

fn quiet_desk() -> (tempfile::TempDir, Desk) {
    testutil::desk(&[(
        "notify_staff = [\"new_ticket\", \"customer_reply\"]",
        "notify_staff = []",
    )])
}

fn ack_of(desk: &Desk) -> OutboxItem {
    outbox(desk)
        .into_iter()
        .find(|i| i.kind == AlertKind::ACKNOWLEDGEMENT)
        .expect("an acknowledgement")
}

#[test]
fn customer_mail_opens_a_ticket_with_one_acknowledgement_and_no_new_ticket_alert() {
    let (_dir, desk) = quiet_desk();
    let outcome = feed(&desk, NEW_MAIL);
    assert_eq!(
        outcome.disposition,
        Disposition::NewTicket {
            ticket: TicketId(1)
        }
    );
    let ticket = desk.ticket(TicketId(1)).unwrap();
    assert_eq!(ticket.origin, Origin::CustomerEmail);
    assert_eq!(ticket.subject, "Printer jammed");
    let recipients: Vec<&str> = ticket.recipients.iter().map(String::as_str).collect();
    assert_eq!(
        recipients,
        ["carol@customer.test", "dave@customer.test"],
        "support and staff excluded"
    );
    assert_eq!(
        kinds_to(&desk),
        [(
            AlertKind::ACKNOWLEDGEMENT,
            "carol@customer.test".to_string()
        )]
    );
    let ack = ack_of(&desk);
    assert_eq!(ack.in_reply_to.as_deref(), Some("new-1@customer.test"));
    assert_eq!(
        desk.key.ticket_of_message_id(&ack.message_id),
        Some(TicketId(1))
    );
}

#[test]
fn acknowledge_cc_sends_one_acknowledgement_per_external_recipient() {
    let (_dir, desk) = testutil::desk(&[
        ("acknowledge_cc = false", "acknowledge_cc = true"),
        (
            "notify_staff = [\"new_ticket\", \"customer_reply\"]",
            "notify_staff = []",
        ),
    ]);
    feed(&desk, NEW_MAIL);
    let mut got = kinds_to(&desk);
    got.sort();
    assert_eq!(
        got,
        [
            (
                AlertKind::ACKNOWLEDGEMENT,
                "carol@customer.test".to_string()
            ),
            (AlertKind::ACKNOWLEDGEMENT, "dave@customer.test".to_string()),
        ]
    );
}

#[test]
fn the_same_message_twice_changes_nothing_and_sends_nothing() {
    let (_dir, desk) = testutil::desk(&[]);
    feed(&desk, NEW_MAIL);
    let before = outbox(&desk).len();
    let again = feed(&desk, NEW_MAIL);
    assert!(again.duplicate);
    assert_eq!(
        again.disposition,
        Disposition::NewTicket {
            ticket: TicketId(1)
        }
    );
    assert_eq!(outbox(&desk).len(), before);
    assert_eq!(desk.store.ticket_count().unwrap(), 1);
}

fn reply_to_ack(desk: &Desk, from: &str, id: &str) -> String {
    let ack = ack_of(desk);
    format!(
        "From: {from}\nTo: support@example.test\nSubject: Re: [#1] We received your request: Printer jammed\nMessage-ID: <{id}>\nIn-Reply-To: <{}>\nReferences: <new-1@customer.test> <{}>\n\nStill jammed.\n\nOn Mon, Support wrote:\n> We received your request\n",
        ack.message_id, ack.message_id
    )
}

#[test]
fn customer_reply_is_a_comment_with_no_acknowledgement_back() {
    let (_dir, desk) = quiet_desk();
    feed(&desk, NEW_MAIL);
    let before = outbox(&desk).len();
    let outcome = feed(
        &desk,
        &reply_to_ack(&desk, "carol@customer.test", "r1@customer.test"),
    );
    assert_eq!(
        outcome.disposition,
        Disposition::Comment {
            ticket: TicketId(1),
            seq: 1
        }
    );
    assert!(
        outcome.rule.contains("thread:own-message-id"),
        "{}",
        outcome.rule
    );
    assert_eq!(
        outbox(&desk).len(),
        before,
        "nothing goes back to the customer"
    );
    let comments = desk.store.comments(TicketId(1)).unwrap();
    assert_eq!(comments[1].role, AuthorRole::Customer);
    assert_eq!(comments[1].author, "carol@customer.test");
}

#[test]
fn a_reply_from_a_cc_recipient_is_a_comment_by_that_person() {
    let (_dir, desk) = quiet_desk();
    feed(&desk, NEW_MAIL);
    let reply = "From: dave@customer.test\nTo: support@example.test\nSubject: Re: Printer jammed\nMessage-ID: <d1@customer.test>\nIn-Reply-To: <new-1@customer.test>\n\nSame here.\n";
    let outcome = feed(&desk, reply);
    assert_eq!(
        outcome.disposition,
        Disposition::Comment {
            ticket: TicketId(1),
            seq: 1
        }
    );
    assert!(outcome.rule.contains("thread:stored-message-id"));
    assert_eq!(
        desk.store.comments(TicketId(1)).unwrap()[1].author,
        "dave@customer.test"
    );
}

#[test]
fn a_stranger_cannot_join_a_thread_by_tag_or_stored_message_id() {
    let (_dir, desk) = quiet_desk();
    feed(&desk, NEW_MAIL);
    let by_tag = "From: mallory@evil.test\nTo: support@example.test\nSubject: Re: [#1] Printer jammed\nMessage-ID: <m1@evil.test>\n\nlet me in\n";
    assert_eq!(
        feed(&desk, by_tag).disposition,
        Disposition::NewTicket {
            ticket: TicketId(2)
        }
    );
    let by_id = "From: mallory@evil.test\nTo: support@example.test\nSubject: hi\nMessage-ID: <m2@evil.test>\nIn-Reply-To: <new-1@customer.test>\n\nlet me in\n";
    assert_eq!(
        feed(&desk, by_id).disposition,
        Disposition::NewTicket {
            ticket: TicketId(3)
        }
    );
    let missing = "From: carol@customer.test\nTo: support@example.test\nSubject: [#99] where is it\nMessage-ID: <c9@customer.test>\n\n?\n";
    assert_eq!(
        feed(&desk, missing).disposition,
        Disposition::NewTicket {
            ticket: TicketId(4)
        }
    );
}

fn staff_reply(desk: &Desk, to: &str, body: &str, id: &str) -> String {
    format!(
        "From: Staff <staff@example.test>\nTo: {to}\nSubject: Re: [#1] Printer jammed\nMessage-ID: <{id}>\nIn-Reply-To: <new-1@customer.test>\n\n{body}\n",
    )
    .replace("{ticket}", &desk.key.staff_reply_address("support@example.test", TicketId(1), "staff@example.test"))
}

#[test]
fn staff_close_by_mail_sends_one_closed_alert_per_external_recipient() {
    let (_dir, desk) = quiet_desk();
    feed(&desk, NEW_MAIL);
    let before = outbox(&desk).len();
    let outcome = feed(
        &desk,
        &staff_reply(
            &desk,
            "{ticket}",
            "Cleared the jam.\n#close",
            "s1@example.test",
        ),
    );
    assert!(
        outcome.rule.contains("staff:reply-token"),
        "{}",
        outcome.rule
    );
    assert_eq!(desk.ticket(TicketId(1)).unwrap().status, Status::Closed);
    let mut new: Vec<(AlertKind, String)> = kinds_to(&desk).split_off(before);
    new.sort();
    assert_eq!(
        new,
        [
            (AlertKind::PUBLIC_REPLY, "carol@customer.test".to_string()),
            (AlertKind::PUBLIC_REPLY, "dave@customer.test".to_string()),
            (AlertKind::TICKET_CLOSED, "carol@customer.test".to_string()),
            (AlertKind::TICKET_CLOSED, "dave@customer.test".to_string()),
        ]
    );
    let comment = &desk.store.comments(TicketId(1)).unwrap()[1];
    assert_eq!(
        (comment.role, comment.visibility),
        (AuthorRole::Staff, Visibility::Public)
    );
    assert_eq!(comment.text, "Cleared the jam.", "command line removed");
}

#[test]
fn staff_internal_note_goes_to_nobody_outside() {
    let (_dir, desk) = quiet_desk();
    feed(&desk, NEW_MAIL);
    let before = outbox(&desk).len();
    feed(
        &desk,
        &staff_reply(
            &desk,
            "{ticket}",
            "#internal\nCustomer is on the old plan.",
            "s2@example.test",
        ),
    );
    assert_eq!(outbox(&desk).len(), before);
    let comment = &desk.store.comments(TicketId(1)).unwrap()[1];
    assert_eq!(comment.visibility, Visibility::Internal);
}

#[test]
fn a_forged_staff_from_line_gets_no_staff_rights() {
    let (_dir, desk) = quiet_desk();
    feed(&desk, NEW_MAIL);
    let outcome = feed(
        &desk,
        &staff_reply(
            &desk,
            "support@example.test",
            "#close",
            "forged@example.test",
        ),
    );
    assert!(
        outcome.rule.contains("staff-address-unverified"),
        "{}",
        outcome.rule
    );
    // Unproven, it is a stranger: it can neither act on nor post into #1.
    assert_eq!(
        outcome.disposition,
        Disposition::NewTicket {
            ticket: TicketId(2)
        }
    );
    assert_eq!(desk.ticket(TicketId(1)).unwrap().status, Status::Open);
    assert_eq!(desk.store.comments(TicketId(1)).unwrap().len(), 1);
    assert_eq!(
        desk.store.comments(TicketId(2)).unwrap()[0].role,
        AuthorRole::Customer
    );
}

#[test]
fn an_auto_reply_to_an_acknowledgement_does_nothing_at_all() {
    let (_dir, desk) = testutil::desk(&[]);
    feed(&desk, NEW_MAIL);
    let before = outbox(&desk).len();
    let ack = ack_of(&desk);
    let oof = format!(
        "From: carol@customer.test\nTo: support@example.test\nSubject: Automatic reply: [#1] We received your request\nAuto-Submitted: auto-replied\nMessage-ID: <oof@customer.test>\nIn-Reply-To: <{}>\n\nI am out of office.\n",
        ack.message_id
    );
    let outcome = feed(&desk, &oof);
    assert!(matches!(
        outcome.disposition,
        Disposition::Ignored {
            ticket: Some(TicketId(1)),
            ..
        }
    ));
    assert_eq!(outbox(&desk).len(), before);
    assert_eq!(desk.store.comments(TicketId(1)).unwrap().len(), 1);
    let fresh = oof
        .replace("In-Reply-To", "X-Old")
        .replace("oof@", "oof2@")
        .replace("[#1] ", "");
    assert!(matches!(
        feed(&desk, &fresh).disposition,
        Disposition::Ignored { ticket: None, .. }
    ));
    assert_eq!(
        desk.store.ticket_count().unwrap(),
        1,
        "an auto-reply never opens a ticket"
    );
}

#[test]
fn automated_mail_opens_a_ticket_that_alerts_no_customer_even_when_closed() {
    let (_dir, desk) = quiet_desk();
    let alert = "From: nagios@monitor.example.test\nTo: support@example.test\nCc: boss@customer.test\nSubject: PROBLEM: disk full\nMessage-ID: <n1@monitor>\n\nDisk / is 99% full.\n";
    let outcome = feed(&desk, alert);
    assert_eq!(
        outcome.disposition,
        Disposition::NewTicket {
            ticket: TicketId(1)
        }
    );
    assert!(outcome.rule.contains("automated-rule:monitoring"));
    let mut ticket = desk.ticket(TicketId(1)).unwrap();
    assert_eq!(
        (ticket.origin, ticket.category.as_deref()),
        (Origin::AutomatedEmail, Some("monitoring"))
    );
    desk.write(|tx| {
        desk.close_ticket(tx, &mut ticket, "cli", &Default::default())
            .unwrap();
        tx.put_ticket(&ticket).unwrap();
        Ok(())
    });
    assert!(outbox(&desk).is_empty(), "{:?}", kinds_to(&desk));
}

#[test]
fn automated_mail_notifies_staff_when_configured() {
    let (_dir, desk) = testutil::desk(&[(
        "notify_staff = [\"new_ticket\", \"customer_reply\"]",
        "notify_staff = [\"automated_ticket\"]",
    )]);
    let alert = "From: cron@host.test\nTo: support@example.test\nSubject: Cron <root@host> backup\nX-Cron-Env: <SHELL=/bin/sh>\nMessage-ID: <c1@host>\n\nbackup failed\n";
    feed(&desk, alert);
    assert_eq!(
        kinds_to(&desk),
        [(
            AlertKind::STAFF_NOTIFICATION,
            "staff@example.test".to_string()
        )]
    );
}

#[test]
fn customer_reply_to_a_closed_ticket_reopens_it_without_a_new_ticket_alert() {
    let (_dir, desk) = quiet_desk();
    feed(&desk, NEW_MAIL);
    feed(
        &desk,
        &staff_reply(&desk, "{ticket}", "#close", "s3@example.test"),
    );
    assert_eq!(desk.ticket(TicketId(1)).unwrap().status, Status::Closed);
    let before = outbox(&desk).len();
    feed(
        &desk,
        &reply_to_ack(&desk, "carol@customer.test", "r2@customer.test"),
    );
    assert_eq!(desk.ticket(TicketId(1)).unwrap().status, Status::Open);
    assert_eq!(outbox(&desk).len(), before);
}

#[test]
fn a_bounce_of_our_alert_becomes_an_internal_note_and_never_reopens_or_replies() {
    let (_dir, desk) = quiet_desk();
    feed(&desk, NEW_MAIL);
    feed(
        &desk,
        &staff_reply(&desk, "{ticket}", "#close", "s5@example.test"),
    );
    let before = outbox(&desk).len();
    let ack = ack_of(&desk);
    let bounce = format!(
        "From: MAILER-DAEMON@mx.customer.test\nTo: support@example.test\nSubject: Undelivered Mail Returned to Sender\nMessage-ID: <b1@mx>\nIn-Reply-To: <{}>\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\nUser unknown\n--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.customer.test\n\nFinal-Recipient: rfc822; carol@customer.test\nAction: failed\nStatus: 5.1.1\n--B--\n",
        ack.message_id
    );
    let outcome = feed(&desk, &bounce);
    assert!(
        matches!(
            outcome.disposition,
            Disposition::Comment {
                ticket: TicketId(1),
                ..
            }
        ),
        "{outcome:?}"
    );
    assert!(outcome.rule.starts_with("bounce:multipart-report"));
    assert_eq!(desk.ticket(TicketId(1)).unwrap().status, Status::Closed);
    assert_eq!(outbox(&desk).len(), before);
    let note = desk.store.comments(TicketId(1)).unwrap().pop().unwrap();
    assert_eq!(
        (note.role, note.visibility),
        (AuthorRole::System, Visibility::Internal)
    );
}

#[test]
fn our_own_mail_coming_back_is_ignored() {
    let (_dir, desk) = testutil::desk(&[]);
    let echo = "From: support@example.test\nTo: support@example.test\nSubject: [#1] We received your request\nX-Ticketd-Loop: ticketd\nMessage-ID: <echo@example.test>\n\nloop\n";
    let outcome = feed(&desk, echo);
    assert!(matches!(outcome.disposition, Disposition::Ignored { .. }));
    assert!(outcome.rule.starts_with("own-loop:"));
    assert!(outbox(&desk).is_empty());
}

#[test]
fn automatic_mail_to_one_recipient_is_rate_limited_and_recorded() {
    let (_dir, desk) = testutil::desk(&[
        ("rate_limit_max = 10", "rate_limit_max = 2"),
        (
            "notify_staff = [\"new_ticket\", \"customer_reply\"]",
            "notify_staff = []",
        ),
    ]);
    for n in 0..3 {
        feed(
            &desk,
            &NEW_MAIL
                .replace("new-1@", &format!("new-{n}x@"))
                .replace("Cc: Dave <dave@customer.test>, ", "Cc: "),
        );
    }
    let statuses: Vec<&str> = outbox(&desk).iter().map(|i| i.status.as_str()).collect();
    assert_eq!(statuses, ["pending", "pending", "suppressed"]);
    let OutboxStatus::Suppressed { rule } = &outbox(&desk)[2].status else {
        unreachable!()
    };
    assert!(rule.starts_with("rate-limit"));
}

#[test]
fn broken_input_is_quarantined_with_a_reason_and_the_raw_bytes() {
    let (_dir, desk) =
        testutil::desk(&[("max_message_bytes = 26214400", "max_message_bytes = 4096")]);
    let huge = format!("From: a@b.test\nSubject: big\n\n{}\n", "x".repeat(5000));
    for (raw, reason) in [
        ("", "unparseable"),
        (huge.as_str(), "exceeds inbound.max_message_bytes"),
    ] {
        let outcome = feed(&desk, raw);
        let Disposition::Quarantined { reason: got } = &outcome.disposition else {
            panic!("{outcome:?}")
        };
        assert!(got.contains(reason), "{got}");
    }
    let quarantined = desk
        .store
        .messages(&crate::store::MessageKind::ALL, 100)
        .unwrap();
    assert_eq!(quarantined.len(), 2);
    let big = quarantined.iter().find(|m| m.size > 4096).unwrap();
    assert_eq!(
        desk.store.raw(&big.raw_key).unwrap().unwrap().len() as u64,
        big.size
    );
}

#[test]
fn mail_without_from_or_message_id_still_becomes_a_ticket() {
    let (_dir, desk) = testutil::desk(&[]);
    let outcome = feed(
        &desk,
        "Subject: =?utf-8?B?w6TDtsO8?=\nContent-Type: text/plain; charset=x-unknown-charset\n\nbody \u{fffd}\n",
    );
    assert_eq!(
        outcome.disposition,
        Disposition::NewTicket {
            ticket: TicketId(1)
        }
    );
    let ticket = desk.ticket(TicketId(1)).unwrap();
    assert_eq!(ticket.subject, "äöü");
    assert!(ticket.recipients.is_empty());
    assert!(
        outbox(&desk).iter().all(|i| i.to_staff),
        "no acknowledgement to an unknown sender"
    );
    assert!(feed(&desk, "Subject: =?utf-8?B?w6TDtsO8?=\nContent-Type: text/plain; charset=x-unknown-charset\n\nbody \u{fffd}\n").duplicate);
}

#[test]
fn staff_opening_a_ticket_by_mail_alerts_the_external_recipients() {
    let (_dir, desk) = testutil::desk(&[("trust_from_header = false", "trust_from_header = true")]);
    let mail = "From: staff@example.test\nTo: support@example.test, erin@customer.test\nSubject: Your new laptop\nMessage-ID: <st1@example.test>\n\nWe ordered it.\n";
    let outcome = feed(&desk, mail);
    assert_eq!(
        outcome.disposition,
        Disposition::NewTicket {
            ticket: TicketId(1)
        }
    );
    assert_eq!(desk.ticket(TicketId(1)).unwrap().origin, Origin::Staff);
    assert_eq!(
        kinds_to(&desk),
        [(AlertKind::NEW_TICKET, "erin@customer.test".to_string())]
    );
}

#[test]
fn a_backlog_is_all_there_after_reopening() {
    let (dir, desk) = quiet_desk();
    for n in 0..200 {
        feed(
            &desk,
            &NEW_MAIL
                .replace("new-1@", &format!("bulk-{n}@"))
                .replace("carol@", &format!("c{n}@")),
        );
    }
    let config = desk.config.as_ref().clone();
    drop(desk);
    let store = crate::store::open(&config).unwrap();
    assert_eq!(store.ticket_count().unwrap(), 200);
    assert_eq!(store.pending_count().unwrap(), 200);
    drop(dir);
}

#[test]
fn the_same_message_from_two_sources_at_once_makes_one_ticket() {
    let (_dir, desk) = quiet_desk();
    let raw = NEW_MAIL.replace('\n', "\r\n");
    let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|n| {
                let (desk, raw) = (&desk, raw.as_bytes());
                scope.spawn(move || {
                    desk.ingest(raw, Source::Other(format!("source {n}")))
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        outcomes.iter().filter(|o| !o.duplicate).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(desk.store.ticket_count().unwrap(), 1);
    assert_eq!(outbox(&desk).len(), 1);
}

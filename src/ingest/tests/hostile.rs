//! Hostile mail through the ingest seam (issue 11): a stranger's Cc list
//! must not turn the desk into a mailer, a forged staff From must reach
//! staff's eyes, and a forged bounce must not silence anyone.

use super::{feed, outbox, quiet_desk};
use crate::model::outbox::AlertKind;
use crate::model::outbox::{OutboxItem, OutboxStatus};
use crate::model::{Status, TicketId};
use crate::testutil;
use crate::testutil::Desk;

/// A first mail from an unknown sender, Cc'ing `count` strangers.
fn mail_with_cc(count: usize) -> String {
    let cc: Vec<String> = (0..count)
        .map(|i| format!("victim{i}@elsewhere.test"))
        .collect();
    format!(
        "From: spammer@evil.test\nTo: support@example.test\nCc: {}\nSubject: Cheap pills\nMessage-ID: <spam-1@evil.test>\n\nBuy now.\n",
        cc.join(",\n ")
    )
}

fn close_by_cli(desk: &Desk, id: u64) {
    desk.write(|tx| {
        let mut ticket = desk.ticket_in(tx, TicketId(id))?;
        desk.close_ticket(tx, &mut ticket, "cli", &Default::default())?;
        tx.put_ticket(&ticket)
    });
}

fn of_kind(desk: &Desk, kind: AlertKind) -> Vec<OutboxItem> {
    outbox(desk)
        .into_iter()
        .filter(|i| i.kind == kind)
        .collect()
}

fn pending_recipients(items: &[OutboxItem]) -> Vec<&str> {
    items
        .iter()
        .filter(|i| i.status == OutboxStatus::Pending)
        .map(|i| i.recipient.as_str())
        .collect()
}

#[test]
fn recipients_taken_from_a_mail_are_capped() {
    let (_dir, desk) = quiet_desk();
    feed(&desk, &mail_with_cc(100));
    let ticket = desk.ticket(TicketId(1)).expect("ticket");
    assert_eq!(
        ticket.recipients.len(),
        20,
        "the requester and 19 of the Cc"
    );
    assert!(ticket.recipients.contains("spammer@evil.test"));
}

#[test]
fn closing_a_strangers_ticket_with_many_cc_alerts_only_the_requester() {
    let (_dir, desk) = quiet_desk();
    feed(&desk, &mail_with_cc(100));
    close_by_cli(&desk, 1);
    let closed = of_kind(&desk, AlertKind::TICKET_CLOSED);
    assert_eq!(pending_recipients(&closed), ["spammer@evil.test"]);
    for item in closed.iter().filter(|i| i.recipient != "spammer@evil.test") {
        assert!(
            matches!(&item.status, OutboxStatus::Suppressed { rule } if rule.starts_with("recipients-unconfirmed")),
            "{item:?}"
        );
    }
}

#[test]
fn a_new_sender_may_copy_a_few_colleagues() {
    let (_dir, desk) = quiet_desk();
    feed(&desk, &mail_with_cc(3));
    close_by_cli(&desk, 1);
    let closed = of_kind(&desk, AlertKind::TICKET_CLOSED);
    assert_eq!(pending_recipients(&closed).len(), 4, "{closed:?}");
}

#[test]
fn unproven_mail_from_a_staff_address_is_shown_to_staff() {
    let (_dir, desk) = testutil::desk(&[]);
    let forged = "From: Staff <staff@example.test>\nTo: support@example.test\nSubject: Please wire the money\nMessage-ID: <forged-1@evil.test>\n\nUrgent.\n";
    feed(&desk, forged);
    assert_eq!(desk.ticket(TicketId(1)).unwrap().status, Status::Open);
    let to_staff: Vec<OutboxItem> = outbox(&desk).into_iter().filter(|i| i.to_staff).collect();
    assert!(
        to_staff.iter().any(|i| i.recipient == "staff@example.test"),
        "staff are told: {to_staff:?}"
    );
}

const CAROL: &str = "carol@customer.test";
const DAVE: &str = "dave@customer.test";

/// A report that `recipient` bounced, claiming to return our mail
/// `returned_id`, written by the requester to the plain support address.
fn forged_bounce(returned_id: &str, recipient: &str, extra_header: &str) -> String {
    super::bounces::dsn(
        "support@example.test",
        "forged-bounce@customer.test",
        returned_id,
        recipient,
        "failed",
        "5.1.1",
    )
    .replace(
        "From: MAILER-DAEMON@mx.customer.test (Mail Delivery System)\n",
        &format!("From: {CAROL}\n{extra_header}"),
    )
    .replace(
        "Subject: Undelivered Mail Returned to Sender",
        "Subject: Re: [#1] Printer jammed",
    )
}

fn nobody_marked(desk: &Desk) {
    let ticket = desk.ticket(TicketId(1)).expect("ticket");
    assert!(ticket.delivery.is_empty(), "{:?}", ticket.delivery);
}

#[test]
fn a_bounce_tied_only_by_subject_tag_and_sender_marks_nobody() {
    let (_dir, desk) = quiet_desk();
    feed(&desk, super::NEW_MAIL);
    let outcome = feed(&desk, &forged_bounce("unknown@example.test", DAVE, ""));
    nobody_marked(&desk);
    assert!(
        outcome.rule.contains("not tied to our mail"),
        "{}",
        outcome.rule
    );
}

#[test]
fn a_bounce_naming_another_address_than_the_bounced_alerts_marks_nobody() {
    let (_dir, desk) = quiet_desk();
    feed(&desk, super::NEW_MAIL);
    let ack = super::ack_of(&desk);
    let raw = forged_bounce(&ack.message_id, DAVE, "");
    let outcome = feed(&desk, &raw);
    nobody_marked(&desk);
    assert!(
        outcome.rule.contains("bounce:disagrees"),
        "{}",
        outcome.rule
    );
    let comments = desk.store.comments(TicketId(1)).expect("comments");
    let note = &comments.last().expect("a note").text;
    assert!(
        note.contains(&format!("names {DAVE}")) && note.contains(&format!("went to {CAROL}")),
        "{note}"
    );
}

#[test]
fn a_message_id_of_ours_with_another_item_number_names_no_item() {
    let (_dir, desk) = testutil::desk(&[
        ("acknowledge_cc = false", "acknowledge_cc = true"),
        (
            "notify_staff = [\"new_ticket\", \"customer_reply\"]",
            "notify_staff = []",
        ),
    ]);
    feed(&desk, super::NEW_MAIL);
    let acks = of_kind(&desk, AlertKind::ACKNOWLEDGEMENT);
    let (to_carol, to_dave) = (
        acks.iter().find(|i| i.recipient == CAROL).expect("carol's"),
        acks.iter().find(|i| i.recipient == DAVE).expect("dave's"),
    );
    // Carol holds her own acknowledgement; she renumbers its id to dave's.
    let (local, domain) = to_carol.message_id.split_once('@').expect("an id");
    let mut fields: Vec<String> = local.split('.').map(String::from).collect();
    fields[2] = to_dave.id.to_string();
    let renumbered = format!("{}@{domain}", fields.join("."));
    assert_ne!(renumbered, to_carol.message_id);
    feed(&desk, &forged_bounce(&renumbered, DAVE, ""));
    nobody_marked(&desk);
}

#[test]
fn two_desks_with_the_default_name_never_take_each_others_mail_for_their_own() {
    let (_a_dir, desk_a) = quiet_desk();
    let (_b_dir, desk_b) = quiet_desk();
    let mut config_b = (*desk_b.config).clone();
    config_b.secret = Some("another-desks-secret-0123456789".into());
    let desk_b = Desk::with_store(config_b, desk_b.store.0.clone()).expect("desk b");
    assert_ne!(desk_a.config.loop_id(), desk_b.config.loop_id());
    assert!(desk_a.config.loop_id().starts_with("ticketd-"));
    let mut item = crate::notify::compose::sample_item();
    item.kind = AlertKind::PUBLIC_REPLY;
    item.mode = Some(crate::model::outbox::SendMode::Relayed);
    item.template = "public_reply".into();
    item.message_id = desk_a.key.message_id(TicketId(123), 1, "example.test");
    let templates = crate::notify::templates::Templates::new(desk_a.config.templates_dir.clone());
    let message = crate::notify::compose::compose(&item, &desk_a.config, &desk_a.key, &templates)
        .expect("composes");
    let raw = String::from_utf8(message.formatted())
        .expect("utf-8")
        .replace(
            "From: \"Example Support\" <support@example.test>",
            "From: Other Desk <help@other.test>",
        );
    let at_b = feed(&desk_b, &raw);
    assert!(
        matches!(
            at_b.disposition,
            crate::model::Disposition::NewTicket { .. }
        ),
        "{at_b:?}"
    );
    let at_a = feed(&desk_a, &raw);
    assert!(at_a.rule.contains("own-loop:header"), "{at_a:?}");
}

#[test]
fn a_desks_generated_loop_id_survives_a_restart() {
    let (_dir, desk) = quiet_desk();
    let first = desk.config.loop_id().to_string();
    let mut config = (*desk.config).clone();
    config.instance_id = None;
    let store = desk.store.0.clone();
    drop(desk);
    let again = Desk::with_store(config, store).expect("reopens");
    assert_eq!(again.config.loop_id(), first);
}

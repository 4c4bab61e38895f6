//! Outgoing message tests: threading and loop-protection headers, staff
//! reply addresses, and no header injection from mail content.

use std::path::Path;

use super::*;
use crate::model::TicketId;
use crate::model::outbox::AlertKind;
use crate::notify::templates::Templates;
use crate::testutil;

fn item(kind: AlertKind, to_staff: bool, subject: &str) -> OutboxItem {
    let mut item = sample_item();
    item.template = kind.event_name().into();
    item.kind = kind;
    // As stored before items carried their mode: derived from the kind.
    item.mode = None;
    item.to_staff = to_staff;
    item.ticket = TicketId(7);
    item.message_id = "t7.abc.42@example.test".into();
    item.in_reply_to = Some("orig@customer.test".into());
    item.references = vec!["root@customer.test".into(), "orig@customer.test".into()];
    item.context["ticket"]["subject"] = serde_json::json!(subject);
    item
}

fn formatted(item: &OutboxItem) -> String {
    let config = testutil::config(&[]);
    let key = ThreadKey::new(b"compose-test-secret".to_vec());
    let templates = Templates::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"));
    let message = compose(item, &config, &key, &templates).expect("composes");
    String::from_utf8(message.formatted()).unwrap()
}

fn header<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let head = text.split("\r\n\r\n").next().unwrap();
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
}

#[test]
fn acknowledgement_carries_threading_and_loop_headers() {
    let text = formatted(&item(AlertKind::ACKNOWLEDGEMENT, false, "Printer"));
    assert_eq!(header(&text, "Auto-Submitted"), Some("auto-replied"));
    assert_eq!(header(&text, "X-Auto-Response-Suppress"), Some("All"));
    assert_eq!(header(&text, "Precedence"), Some("bulk"));
    assert_eq!(header(&text, "X-Ticketd-Loop"), Some("ticketd"));
    assert_eq!(
        header(&text, "Message-ID"),
        Some("<t7.abc.42@example.test>")
    );
    assert_eq!(header(&text, "In-Reply-To"), Some("<orig@customer.test>"));
    assert_eq!(
        header(&text, "References"),
        Some("<root@customer.test> <orig@customer.test>")
    );
    let key = ThreadKey::new(b"compose-test-secret".to_vec());
    let reply_to = header(&text, "Reply-To").unwrap();
    assert!(
        reply_to.contains(&key.reply_address("support@example.test", TicketId(7))),
        "{reply_to}"
    );
}

#[test]
fn alerts_are_auto_generated_and_relayed_replies_are_not_auto_submitted() {
    let closed = formatted(&item(AlertKind::TICKET_CLOSED, false, "x"));
    assert_eq!(header(&closed, "Auto-Submitted"), Some("auto-generated"));
    let relay = formatted(&item(AlertKind::PUBLIC_REPLY, false, "x"));
    assert_eq!(header(&relay, "Auto-Submitted"), None);
    assert_eq!(header(&relay, "X-Ticketd-Loop"), Some("ticketd"));
}

#[test]
fn staff_copies_get_a_reply_address_bound_to_that_staff_member() {
    let mut staff = item(AlertKind::STAFF_NOTIFICATION, true, "x");
    staff.recipient = "staff@example.test".into();
    let text = formatted(&staff);
    let key = ThreadKey::new(b"compose-test-secret".to_vec());
    let expected =
        key.staff_reply_address("support@example.test", TicketId(7), "staff@example.test");
    assert!(header(&text, "Reply-To").unwrap().contains(&expected));
}

#[test]
fn a_hostile_subject_cannot_add_headers() {
    let text = formatted(&item(
        AlertKind::ACKNOWLEDGEMENT,
        false,
        "hi\r\nBcc: victim@evil.test\r\n\r\nbody",
    ));
    let head = text.split("\r\n\r\n").next().unwrap();
    assert!(
        !head
            .lines()
            .any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
        "{head}"
    );
    assert_eq!(head.lines().filter(|l| l.starts_with("To:")).count(), 1);
}

#[test]
fn a_bad_recipient_address_is_a_permanent_compose_error() {
    let mut bad = item(AlertKind::ACKNOWLEDGEMENT, false, "x");
    bad.recipient = "not an address".into();
    let config = testutil::config(&[]);
    let key = ThreadKey::new(b"k".to_vec());
    let templates = Templates::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"));
    assert!(matches!(
        compose(&bad, &config, &key, &templates),
        Err(ComposeError::Build(_))
    ));
}

#[test]
fn the_envelope_sender_is_the_items_keyed_bounce_address_unless_verp_is_off() {
    let key = ThreadKey::new(b"compose-test-secret".to_vec());
    let templates = Templates::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"));
    let ack = item(AlertKind::ACKNOWLEDGEMENT, false, "x");
    let envelope_from = |config: &Config| {
        let message = compose(&ack, config, &key, &templates).expect("composes");
        let envelope = message.envelope().clone();
        let to: Vec<String> = envelope.to().iter().map(ToString::to_string).collect();
        (envelope.from().map(ToString::to_string), to)
    };
    let (from, to) = envelope_from(&testutil::config(&[]));
    let from = from.expect("an envelope sender");
    assert_eq!(from, key.bounce_address("support@example.test", ack.id));
    assert_eq!(
        key.verify_bounce_address(&from, "support@example.test"),
        Some(ack.id)
    );
    assert_eq!(to, std::slice::from_ref(&ack.recipient));
    let off = testutil::config(&[("verp = true", "verp = false")]);
    assert_eq!(
        envelope_from(&off).0.as_deref(),
        Some("support@example.test")
    );
}

#[test]
fn inbound_ids_that_are_not_printable_ascii_stay_out_of_threading_headers() {
    let mut item = item(AlertKind::ACKNOWLEDGEMENT, false, "Printer");
    item.in_reply_to = Some("\u{fffd}".into());
    item.references = vec![
        "a b\r\n\tBcc: x@y.test".into(),
        "root@customer.test".into(),
        "nul\0@x.test".into(),
    ];
    let text = formatted(&item);
    assert_eq!(header(&text, "In-Reply-To"), None, "{text}");
    assert_eq!(
        header(&text, "References"),
        Some("<root@customer.test>"),
        "{text}"
    );
    assert!(!text.contains("=?utf-8?"), "no encoded word: {text}");
}

#[test]
fn an_inbound_message_id_too_long_for_a_header_line_is_left_out() {
    let long = format!("{}@customer.test", "x".repeat(5000));
    let near = format!("{}@customer.test", "y".repeat(900));
    let mut item = item(AlertKind::PUBLIC_REPLY, false, "s");
    item.in_reply_to = Some(long.clone());
    item.references = vec!["root@customer.test".into(), near.clone(), long.clone()];
    let text = formatted(&item);
    for line in text.split("\r\n") {
        assert!(line.len() <= 998, "a {}-byte line", line.len());
    }
    assert!(!text.contains(&long));
    assert_eq!(header(&text, "In-Reply-To"), None);
    let references = text.split("\r\n\r\n").next().unwrap().replace("\r\n ", " ");
    assert!(references.contains("<root@customer.test>"), "{references}");
    assert!(references.contains(&format!("<{near}>")), "{references}");
}

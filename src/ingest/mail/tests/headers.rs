//! Header fields of inbound mail: addresses normalized to lower case,
//! Message-ID, In-Reply-To and References without brackets, envelope
//! recipients (Delivered-To, X-Original-To), the header list itself
//! (lower-case names, unfolded and trimmed values, raw 8-bit values kept),
//! and fields that are missing or name no one.

use super::*;

#[test]
fn addresses_are_normalized_lower_case() {
    let mail = parsed(ADDRESSED);
    assert_eq!(mail.from.as_deref(), Some("bob@example.test"));
    assert_eq!(mail.from_name.as_deref(), Some("Bob Builder"));
    assert_eq!(mail.to, ["alice@customer.test", "support@example.test"]);
    assert_eq!(mail.cc, ["carol@cc.test", "dave@cc.test"]);
}

#[test]
fn message_ids_lose_their_brackets() {
    let mail = parsed(ADDRESSED);
    assert_eq!(
        mail.message_id.as_deref(),
        Some("AbC.123@Mail.Example.TEST")
    );
    assert_eq!(mail.in_reply_to, ["t7.abc.1@example.test"]);
    assert_eq!(
        mail.references,
        ["root@x.test", "middle@x.test", "t7.abc.1@example.test"]
    );
}

#[test]
fn referenced_ids_list_in_reply_to_then_newest_reference_first() {
    let mail = parsed(ADDRESSED);
    let ids: Vec<&str> = mail.referenced_ids().collect();
    assert_eq!(
        ids,
        [
            "t7.abc.1@example.test",
            "t7.abc.1@example.test",
            "middle@x.test",
            "root@x.test"
        ]
    );
}

#[test]
fn delivered_to_collects_envelope_headers_that_are_addresses() {
    let mail = parsed(ADDRESSED);
    assert_eq!(
        mail.delivered_to,
        ["support@example.test", "help@example.test"]
    );
    let all: Vec<&str> = mail.all_recipients().collect();
    assert_eq!(
        all,
        [
            "alice@customer.test",
            "support@example.test",
            "carol@cc.test",
            "dave@cc.test",
            "support@example.test",
            "help@example.test",
        ]
    );
}

#[test]
fn headers_are_lower_case_unfolded_and_trimmed() {
    let mail = parsed(ADDRESSED);
    assert_eq!(mail.header("subject"), Some("Folded subject line"));
    assert_eq!(mail.header("SUBJECT"), Some("Folded subject line"));
    assert_eq!(
        mail.header("references"),
        Some("<root@x.test> <middle@x.test> <t7.abc.1@example.test>")
    );
    assert!(mail.has_header("x-original-to"));
    assert!(!mail.has_header("x-autoreply"));
    // Repeated headers are all kept, in order; header() returns the first.
    let delivered: Vec<&str> = mail
        .headers
        .iter()
        .filter(|(n, _)| n == "delivered-to")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(delivered, ["Support@Example.test", "not-an-address"]);
    assert_eq!(mail.header("delivered-to"), Some("Support@Example.test"));
    assert!(
        mail.headers
            .iter()
            .all(|(n, _)| *n == n.to_ascii_lowercase())
    );
    assert_eq!(mail.subject, "Folded subject line");
    assert_eq!(mail.text, "Hello there.");
    assert_eq!(mail.content_type, "text/plain");
    assert_eq!(mail.html, None);
    assert!(mail.attachments.is_empty());
    assert!(!mail.encoding_problem);
}

#[test]
fn missing_fields_stay_empty() {
    // A trace field is the only mail field (see `plausible`) it has.
    let mail =
        parsed(b"Received: by mx.example.test; Mon, 2 Mar 2026 13:00:00 +0100\r\n\r\nbody\r\n");
    assert_eq!(mail.message_id, None);
    assert_eq!(mail.from, None);
    assert_eq!(mail.from_name, None);
    assert!(mail.to.is_empty() && mail.cc.is_empty() && mail.delivered_to.is_empty());
    assert!(mail.in_reply_to.is_empty() && mail.references.is_empty());
    assert_eq!(mail.subject, "");
    assert_eq!(mail.content_type, "text/plain");
    assert_eq!(mail.report_type, None);
    assert!(!mail.has_delivery_status);
    assert_eq!(mail.text, "body");
}

#[test]
fn group_syntax_without_members_gives_no_recipients() {
    let mail = parsed(b"From: a@b.test\r\nTo: undisclosed-recipients:;\r\n\r\nx\r\n");
    assert!(mail.to.is_empty(), "{:?}", mail.to);
}

/// Old mailers send raw 8-bit (Latin-1) header values. The header block is
/// still there and classification needs every header's presence.
#[test]
fn headers_with_8bit_values_are_kept() {
    let mail = parsed(b"From: a@b.test\r\nX-Autorespond: Abwesenheit f\xfcr Max\r\n\r\nbody\r\n");
    assert!(mail.has_header("x-autorespond"), "{:?}", mail.headers);
    assert!(parse(b"Subject: Caf\xe9\r\n\r\nbody\r\n").is_ok());
}

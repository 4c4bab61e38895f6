//! Staff answering by mail: `#close` and relayed text, what reaches the
//! customers, and a forged staff `From` that must not close or relay.

use serde_json::json;

use super::{CAROL, COLIN, expected, one, open_customer_ticket, staff_reply, summary, text};
use crate::util::{TestEnv, array, mail};

#[test]
fn staff_reply_to_the_staff_address_with_close_relays_text_and_closes() {
    let env = TestEnv::new();
    let mails = open_customer_ticket(&env);
    let note = one(&mails, "staff_notification");
    let staff_address = note.reply_to[0].clone();
    assert!(staff_address.starts_with("support+s1."), "{note:#?}");

    let reply = staff_reply(
        &staff_address,
        note,
        "<staff-1@example.test>",
        "We replaced the toner; it prints again.\n#close",
    );
    let outcome = env.ingest(&reply);
    assert_eq!(
        outcome["disposition"],
        json!({ "outcome": "comment", "ticket": 1, "seq": 1 }),
        "{outcome}"
    );
    assert!(
        text(&outcome["rule"]).contains("staff:reply-token"),
        "{outcome}"
    );

    let detail = env.ticket(1);
    assert_eq!(detail["ticket"]["status"], "closed", "{detail}");
    assert!(!detail["ticket"]["closed_at"].is_null());
    let comments = array(&detail["comments"]);
    assert_eq!(comments.len(), 2, "{detail}");
    assert_eq!(comments[1]["role"], "staff");
    assert_eq!(comments[1]["visibility"], "public");
    let stored = text(&comments[1]["text"]);
    assert!(stored.contains("We replaced the toner"), "{stored}");
    assert!(!stored.contains("#close"), "{stored}");

    env.deliver();
    let new = &env.outbound()[mails.len()..];
    assert_eq!(
        summary(new),
        expected(&[
            ("public_reply", CAROL),
            ("public_reply", COLIN),
            ("ticket_closed", CAROL),
            ("ticket_closed", COLIN),
        ])
    );
    for m in new {
        assert!(m.subject.contains("[#1]"), "{m:#?}");
        match m.kind.as_str() {
            "public_reply" => {
                assert!(m.text.contains("We replaced the toner"), "{m:#?}");
                assert!(!m.text.contains("#close"), "{m:#?}");
                assert_eq!(m.header("Auto-Submitted"), None, "{m:#?}");
            }
            _ => assert_eq!(m.header("Auto-Submitted"), Some("auto-generated"), "{m:#?}"),
        }
    }
}

#[test]
fn staff_reply_with_only_close_sends_only_the_closed_alerts() {
    let env = TestEnv::new();
    let mails = open_customer_ticket(&env);
    let note = one(&mails, "staff_notification");
    let reply = staff_reply(&note.reply_to[0], note, "<staff-2@example.test>", "#close");
    let outcome = env.ingest(&reply);
    assert_eq!(outcome["disposition"]["outcome"], "comment", "{outcome}");
    assert_eq!(env.ticket(1)["ticket"]["status"], "closed");

    env.deliver();
    let new = &env.outbound()[mails.len()..];
    assert_eq!(
        summary(new),
        expected(&[("ticket_closed", CAROL), ("ticket_closed", COLIN)]),
        "the quoted staff notification must not reach customers"
    );
}

#[test]
fn relayed_staff_reply_does_not_quote_the_staff_notification() {
    let env = TestEnv::new();
    let mails = open_customer_ticket(&env);
    let note = one(&mails, "staff_notification");
    let reply = staff_reply(
        &note.reply_to[0],
        note,
        "<staff-3@example.test>",
        "We replaced the toner; it prints again.",
    );
    env.ingest(&reply);
    env.deliver();
    let new = &env.outbound()[mails.len()..];
    assert_eq!(
        summary(new),
        expected(&[("public_reply", CAROL), ("public_reply", COLIN)])
    );
    for m in new {
        assert!(m.text.contains("We replaced the toner"), "{m:#?}");
        assert!(
            !m.text
                .contains("Reply to this message to answer the customer"),
            "the staff notification was relayed to a customer: {m:#?}"
        );
    }
}

#[test]
fn staff_from_line_without_the_staff_token_cannot_close() {
    let env = TestEnv::new();
    let mails = open_customer_ticket(&env);
    let note = one(&mails, "staff_notification");
    let ack_id = one(&mails, "acknowledgement")
        .message_id
        .clone()
        .expect("ack Message-ID");

    // Forged From, plain support address, subject tag only.
    let forged = mail(
        &[
            ("From", "Sam Staff <staff@example.test>"),
            ("To", "support@example.test"),
            ("Subject", &format!("Re: {}", note.subject)),
            ("Message-ID", "<forged-1@attacker.test>"),
        ],
        "Done.\n#close",
    );
    let outcome = env.ingest(&forged);
    assert_ne!(
        outcome["disposition"]["outcome"], "quarantined",
        "{outcome}"
    );
    // Forged From answering the customer's acknowledgement (threads by our
    // Message-ID, which anyone holding the mail may do).
    let forged_reply = mail(
        &[
            ("From", "Sam Staff <staff@example.test>"),
            ("To", "support@example.test"),
            ("Subject", "Re: [#1] We received your request"),
            ("Message-ID", "<forged-2@attacker.test>"),
            ("In-Reply-To", &format!("<{ack_id}>")),
        ],
        "Please send your password to attacker@evil.test.\n#close",
    );
    let outcome = env.ingest(&forged_reply);
    assert_eq!(
        outcome["disposition"]["ticket"], 1,
        "threads to #1 by our Message-ID: {outcome}"
    );
    assert!(
        text(&outcome["rule"]).contains("staff-address-unverified"),
        "{outcome}"
    );

    let detail = env.ticket(1);
    assert_eq!(detail["ticket"]["status"], "open", "{detail}");
    for comment in array(&detail["comments"]) {
        assert_ne!(comment["role"], "staff", "{comment}");
    }
    let outbox = env.outbox();
    assert!(
        outbox
            .iter()
            .all(|i| i["kind"] != "ticket_closed" && i["kind"] != "public_reply"),
        "a forged staff mail was relayed or closed a ticket: {outbox:#?}"
    );
    env.deliver();
    let new = &env.outbound()[mails.len()..];
    assert!(
        new.iter()
            .all(|m| !m.to.iter().any(|t| t.ends_with("@customer.test"))),
        "customers got mail because of a forged staff From: {new:#?}"
    );
}

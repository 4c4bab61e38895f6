//! Bad input: empty, headerless, oversized and malformed mail, garbage
//! senders, charset trouble, and a store that cannot be opened.

use serde_json::json;

use super::{STAFF, expected, summary, text};
use crate::util::{TestEnv, array, fixture, mail, set};

#[test]
fn empty_headerless_and_oversized_mail_is_quarantined() {
    let env = TestEnv::with_config(|c| set(c, "inbound.max_message_bytes", 2048));
    let oversized = mail(
        &[
            ("From", "carol@customer.test"),
            ("To", "support@example.test"),
            ("Subject", "Big"),
            ("Message-ID", "<big-1@customer.test>"),
        ],
        &"x".repeat(4000),
    );
    for raw in [Vec::new(), fixture("no_headers.eml"), oversized] {
        let run = env.ingest_run(&raw);
        assert_eq!(run.code(), Some(0), "{run}");
        let outcome = run.json()["outcome"].clone();
        assert_eq!(outcome["disposition"]["outcome"], "quarantined", "{run}");
    }
    assert_eq!(env.tickets().len(), 0);
    assert_eq!(env.outbox().len(), 0);

    let listed = array(&env.json(&["messages", "list"])["messages"]);
    assert_eq!(listed.len(), 3, "{listed:#?}");
    for m in &listed {
        assert_eq!(m["disposition"]["outcome"], "quarantined", "{m}");
        assert!(!text(&m["disposition"]["reason"]).is_empty(), "{m}");
    }
    assert!(
        listed
            .iter()
            .any(|m| text(&m["disposition"]["reason"]).contains("max_message_bytes")),
        "{listed:#?}"
    );
    let health = env.ok(&["--json", "health"]).json_stream();
    let figures = health.last().expect("health output");
    assert_eq!(figures["quarantined"], 3, "{health:#?}");
}

#[test]
fn malformed_mail_never_crashes() {
    let env = TestEnv::new();
    let anonymous = mail(
        &[("To", "support@example.test"), ("Subject", "No sender")],
        "Who wrote this?",
    );
    let garbage_headers = b"From: <<<@@@>>>\r\nTo: ,,,;;;\r\nSubject: =?utf-8?B?!!!not base64?=\r\n\
        Message-ID: <>\r\nIn-Reply-To: <unterminated\r\nContent-Type: multipart/mixed; boundary=\r\n\
        \r\n--\r\nbroken\r\n"
        .to_vec();
    let bad_transfer = b"From: dave@customer.test\r\nTo: support@example.test\r\nSubject: qp\r\n\
        Message-ID: <qp-1@customer.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\
        Content-Transfer-Encoding: base64\r\n\r\n!!!! this is not base64 \xff\r\n"
        .to_vec();
    for raw in [
        anonymous,
        fixture("bad_charset.eml"),
        garbage_headers,
        bad_transfer,
    ] {
        let run = env.ingest_run(&raw);
        assert_eq!(run.code(), Some(0), "{run}");
        assert!(!run.stderr.contains("panicked"), "{run}");
        let outcome = run.json()["outcome"].clone();
        let kind = text(&outcome["disposition"]["outcome"]).to_string();
        assert!(
            ["new_ticket", "comment", "quarantined", "ignored"].contains(&kind.as_str()),
            "{run}"
        );
    }
    // Whatever became of them, the store stays readable.
    assert!(!env.tickets().is_empty());
    for ticket in env.tickets() {
        let id = ticket["id"].as_u64().expect("ticket id");
        env.ticket(id);
    }
    let run = env.run(&["outbox", "deliver"]);
    assert!(
        matches!(run.code(), Some(0 | 1)) && !run.stderr.contains("panicked"),
        "{run}"
    );
    let all = env.json(&["messages", "list", "--all"]);
    assert_eq!(array(&all["messages"]).len(), 4, "{all}");
}

#[test]
fn a_garbage_sender_address_queues_no_undeliverable_mail() {
    let env = TestEnv::new();
    let raw = mail(
        &[
            ("From", "<<<@@@>>>"),
            ("To", "support@example.test"),
            ("Subject", "garbage sender"),
            ("Message-ID", "<garbage-1@customer.test>"),
        ],
        "body",
    );
    let outcome = env.ingest(&raw);
    assert_ne!(outcome["disposition"]["outcome"], "ignored", "{outcome}");
    for item in env.outbox() {
        let recipient = text(&item["recipient"]);
        let valid = recipient
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
        assert!(valid, "mail queued to a non-address: {item}");
    }
    env.deliver();
}

#[test]
fn charset_trouble_still_makes_a_ticket() {
    let env = TestEnv::new();
    let outcome = env.ingest(&fixture("bad_charset.eml"));
    assert_eq!(
        outcome["disposition"],
        json!({ "outcome": "new_ticket", "ticket": 1 }),
        "{outcome}"
    );
    let detail = env.ticket(1);
    assert_eq!(detail["ticket"]["requester"], "dave@customer.test");
    assert!(
        text(&array(&detail["comments"])[0]["text"]).contains("Qapla"),
        "{detail}"
    );
    env.deliver();
    let mails = env.outbound();
    assert_eq!(
        summary(&mails),
        expected(&[
            ("acknowledgement", "dave@customer.test"),
            ("staff_notification", STAFF)
        ])
    );
}

#[test]
fn ingest_exits_75_when_the_store_cannot_be_opened() {
    let mut env = TestEnv::new();
    let blocker = env.path().join("not-a-directory");
    std::fs::write(&blocker, "a regular file where the store should be").expect("writing");
    let path = blocker.display().to_string();
    env.edit_config(|c| set(c, "store.path", path.clone()));

    std::fs::write(env.path().join("msg.eml"), fixture("new_customer.eml")).expect("writing");
    let run = env.run(&["ingest", &env.path().join("msg.eml").display().to_string()]);
    assert_eq!(run.code(), Some(75), "{run}");
    let run = env.run_stdin(&["ingest"], &fixture("new_customer.eml"));
    assert_eq!(run.code(), Some(75), "{run}");
    // Other commands fail plainly.
    let run = env.run(&["tickets", "list"]);
    assert_eq!(run.code(), Some(1), "{run}");
}

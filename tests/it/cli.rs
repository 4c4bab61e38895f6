//! The CLI without a daemon: every command opens the store itself; mail
//! comes in with `ticketd ingest FILE` and goes out as `.eml` files with
//! `ticketd outbox deliver`.

use serde_json::{Value, json};

use crate::util::{Eml, TestEnv, array, copy_dir, fixture, mail, set};

const CAROL: &str = "carol@customer.test";
const COLIN: &str = "colin@customer.test";
const STAFF: &str = "staff@example.test";

/// (event, recipient) of each mail, sorted: exact counts in one assert.
fn summary(mails: &[Eml]) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = mails
        .iter()
        .map(|m| (m.kind.clone(), m.recipient().to_string()))
        .collect();
    list.sort();
    list
}

fn expected(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, r)| (k.to_string(), r.to_string()))
        .collect();
    list.sort();
    list
}

/// The one mail of that kind (panics unless there is exactly one).
#[track_caller]
fn one<'a>(mails: &'a [Eml], kind: &str) -> &'a Eml {
    let found: Vec<&Eml> = mails.iter().filter(|m| m.kind == kind).collect();
    assert_eq!(found.len(), 1, "expected one {kind} mail in {mails:#?}");
    found[0]
}

#[track_caller]
fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a JSON string, got {value}"))
}

/// Ingests the new-customer fixture (ticket #1) and delivers; returns
/// every mail written so far.
#[track_caller]
fn open_customer_ticket(env: &TestEnv) -> Vec<Eml> {
    let outcome = env.ingest(&fixture("new_customer.eml"));
    assert_eq!(
        outcome["disposition"],
        json!({ "outcome": "new_ticket", "ticket": 1 }),
        "{outcome}"
    );
    env.deliver();
    env.outbound()
}

/// A reply from a staff member's mail client: `#close` (and maybe text)
/// above the quoted staff notification.
fn staff_reply(to: &str, note: &Eml, message_id: &str, new_text: &str) -> Vec<u8> {
    let body = format!(
        "{new_text}\n\nOn Mon, 2 Mar 2026 at 10:00, Example Support <support@example.test> wrote:\n\
         > Ticket [#1] (customer_email, open)\n\
         > Requester: carol@customer.test\n\
         > Reply to this message to answer the customer."
    );
    mail(
        &[
            ("From", "Sam Staff <staff@example.test>"),
            ("To", to),
            ("Subject", &format!("Re: {}", note.subject)),
            ("Message-ID", message_id),
            (
                "In-Reply-To",
                &format!("<{}>", note.message_id.as_deref().unwrap_or_default()),
            ),
        ],
        &body,
    )
}

#[test]
fn new_customer_mail_opens_a_ticket_and_acknowledges_only_the_requester() {
    let env = TestEnv::new();
    let mails = open_customer_ticket(&env);
    assert_eq!(
        summary(&mails),
        expected(&[("acknowledgement", CAROL), ("staff_notification", STAFF)])
    );

    let ack = one(&mails, "acknowledgement");
    assert_eq!(ack.to, [CAROL]);
    assert_eq!(ack.from.as_deref(), Some("support@example.test"));
    assert_eq!(ack.header("Auto-Submitted"), Some("auto-replied"));
    assert_eq!(ack.header("X-Auto-Response-Suppress"), Some("All"));
    let loop_id = ack.header("X-Ticketd-Loop").unwrap_or_default();
    assert!(
        loop_id.starts_with("ticketd-"),
        "a generated loop id: {loop_id}"
    );
    assert_eq!(ack.in_reply_to, ["req-1@customer.test"]);
    assert_eq!(ack.reply_to.len(), 1, "{ack:#?}");
    assert!(
        ack.reply_to[0].starts_with("support+t1.") && ack.reply_to[0].ends_with("@example.test"),
        "Reply-To {:?}",
        ack.reply_to
    );
    assert!(ack.subject.contains("[#1]"), "subject {:?}", ack.subject);
    assert!(ack.message_id.is_some(), "{ack:#?}");

    let note = one(&mails, "staff_notification");
    assert!(
        note.reply_to[0].starts_with("support+s1."),
        "staff Reply-To {:?}",
        note.reply_to
    );

    let outbox = env.outbox();
    assert_eq!(outbox.len(), 2, "{outbox:#?}");
    assert!(
        outbox.iter().all(|i| i["kind"] != "new_ticket"),
        "{outbox:#?}"
    );

    let detail = env.ticket(1);
    let ticket = &detail["ticket"];
    assert_eq!(ticket["recipients"], json!([CAROL, COLIN]));
    assert_eq!(ticket["requester"], CAROL);
    assert_eq!(ticket["status"], "open");
    assert_eq!(ticket["origin"], "customer_email");
    assert_eq!(ticket["subject"], "Printer on floor 2 is jammed");
    assert_eq!(array(&detail["comments"]).len(), 1);
}

#[test]
fn customer_reply_becomes_a_comment_and_only_staff_are_told() {
    let env = TestEnv::new();
    let mails = open_customer_ticket(&env);
    let ack = one(&mails, "acknowledgement");
    let ack_id = ack.message_id.clone().expect("the ack has a Message-ID");

    let reply = mail(
        &[
            ("From", "Carol Customer <carol@customer.test>"),
            ("To", "support@example.test"),
            ("Subject", &format!("Re: {}", ack.subject)),
            ("Message-ID", "<req-2@customer.test>"),
            ("In-Reply-To", &format!("<{ack_id}>")),
            ("References", &format!("<req-1@customer.test> <{ack_id}>")),
        ],
        "It is jammed again, now on tray 3.\n\n\
         On Mon, 2 Mar 2026 at 10:00, Example Support <support@example.test> wrote:\n\
         > Hello,\n> thank you for writing to us.",
    );
    let outcome = env.ingest(&reply);
    assert_eq!(
        outcome["disposition"],
        json!({ "outcome": "comment", "ticket": 1, "seq": 1 }),
        "{outcome}"
    );
    assert_eq!(outcome["duplicate"], false);

    env.deliver();
    let new = &env.outbound()[mails.len()..];
    assert_eq!(summary(new), expected(&[("staff_notification", STAFF)]));
    assert!(new[0].text.contains("now on tray 3"), "{:#?}", new[0]);

    let detail = env.ticket(1);
    let comments = array(&detail["comments"]);
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[1]["author"], CAROL);
    assert_eq!(comments[1]["role"], "customer");
    assert!(text(&comments[1]["text"]).contains("now on tray 3"));
    assert_eq!(env.tickets().len(), 1);
}

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

#[test]
fn out_of_office_reply_to_the_acknowledgement_is_ignored() {
    let env = TestEnv::new();
    let mails = open_customer_ticket(&env);
    let ack = one(&mails, "acknowledgement");
    let outbox_before = env.outbox().len();

    let ooo = mail(
        &[
            ("From", "Carol Customer <carol@customer.test>"),
            ("To", &ack.reply_to[0]),
            ("Subject", &format!("Automatic reply: {}", ack.subject)),
            ("Message-ID", "<ooo-1@customer.test>"),
            (
                "In-Reply-To",
                &format!("<{}>", ack.message_id.as_deref().unwrap_or_default()),
            ),
            ("Auto-Submitted", "auto-replied"),
        ],
        "I am out of the office until Monday.",
    );
    let outcome = env.ingest(&ooo);
    assert_eq!(outcome["disposition"]["outcome"], "ignored", "{outcome}");

    assert_eq!(env.tickets().len(), 1);
    let detail = env.ticket(1);
    assert_eq!(array(&detail["comments"]).len(), 1, "{detail}");
    assert_eq!(env.outbox().len(), outbox_before);
    env.deliver();
    assert_eq!(env.outbound().len(), mails.len());

    let listed = array(&env.json(&["messages", "list", "--ignored"])["messages"]);
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(listed[0]["from"], CAROL);
    assert!(
        text(&listed[0]["rule"]).contains("auto-reply:auto-submitted=auto-replied"),
        "{listed:#?}"
    );
}

#[test]
fn the_same_message_twice_is_a_duplicate() {
    let env = TestEnv::new();
    let raw = fixture("new_customer.eml");
    let first = env.ingest(&raw);
    assert_eq!(first["duplicate"], false);
    let outbox = env.outbox().len();
    assert_eq!(outbox, 2);

    let second = env.ingest(&raw);
    assert_eq!(second["duplicate"], true, "{second}");
    assert_eq!(second["disposition"], first["disposition"]);
    assert_eq!(env.tickets().len(), 1);
    assert_eq!(env.outbox().len(), outbox);
    assert_eq!(array(&env.ticket(1)["comments"]).len(), 1);
}

#[test]
fn a_stranger_using_the_subject_tag_opens_a_new_ticket() {
    let env = TestEnv::new();
    open_customer_ticket(&env);
    let hijack = mail(
        &[
            ("From", "Eve Stranger <eve@elsewhere.test>"),
            ("To", "support@example.test"),
            ("Subject", "Re: [#1] Printer on floor 2 is jammed"),
            ("Message-ID", "<eve-1@elsewhere.test>"),
        ],
        "Let me in on this ticket.",
    );
    let outcome = env.ingest(&hijack);
    assert_eq!(
        outcome["disposition"],
        json!({ "outcome": "new_ticket", "ticket": 2 }),
        "{outcome}"
    );
    let first = env.ticket(1);
    assert_eq!(array(&first["comments"]).len(), 1, "{first}");
    assert_eq!(first["ticket"]["recipients"], json!([CAROL, COLIN]));
    let second = env.ticket(2);
    assert_eq!(second["ticket"]["requester"], "eve@elsewhere.test");
    assert_eq!(
        second["ticket"]["recipients"],
        json!(["eve@elsewhere.test"])
    );
}

#[test]
fn automated_mail_opens_a_silent_ticket() {
    let env = TestEnv::new();
    let outcome = env.ingest(&fixture("automated_nagios.eml"));
    assert_eq!(
        outcome["disposition"],
        json!({ "outcome": "new_ticket", "ticket": 1 }),
        "{outcome}"
    );
    assert!(
        text(&outcome["rule"]).contains("automated-rule:monitoring"),
        "{outcome}"
    );
    let ticket = env.ticket(1)["ticket"].clone();
    assert_eq!(ticket["origin"], "automated_email");
    assert_eq!(ticket["category"], "monitoring");
    assert_eq!(env.outbox(), Vec::<Value>::new());

    let closed = env.ok(&["tickets", "close", "1"]);
    assert!(closed.stdout.contains("closed"), "{closed}");
    assert_eq!(env.ticket(1)["ticket"]["status"], "closed");
    assert_eq!(env.outbox(), Vec::<Value>::new());
    env.deliver();
    assert_eq!(env.outbound().len(), 0);
}

#[test]
fn staff_created_ticket_alerts_every_recipient_without_acknowledgement() {
    let env = TestEnv::new();
    let created = env.json(&[
        "tickets",
        "create",
        "--subject",
        "New laptop for Ann",
        "--requester",
        "a@x.test",
        "--cc",
        "b@x.test",
        "--text",
        "Your laptop is ready for pickup.",
    ]);
    assert_eq!(created["ticket"], 1, "{created}");
    env.deliver();
    let mails = env.outbound();
    assert_eq!(
        summary(&mails),
        expected(&[("new_ticket", "a@x.test"), ("new_ticket", "b@x.test")])
    );
    for m in &mails {
        assert_eq!(m.header("Auto-Submitted"), Some("auto-generated"), "{m:#?}");
        assert!(m.subject.contains("[#1]"), "{m:#?}");
        assert!(m.text.contains("ready for pickup"), "{m:#?}");
    }
    let ticket = env.ticket(1)["ticket"].clone();
    assert_eq!(ticket["origin"], "staff");
    assert_eq!(ticket["recipients"], json!(["a@x.test", "b@x.test"]));
}

#[test]
fn internal_comment_sends_nothing_and_public_comment_is_relayed() {
    let env = TestEnv::new();
    env.ok(&[
        "tickets",
        "create",
        "--subject",
        "VPN access",
        "--requester",
        "a@x.test",
        "--cc",
        "b@x.test",
        "--text",
        "Opened for you.",
    ]);
    env.deliver();
    let before = env.outbound().len();
    assert_eq!(before, 2);
    let outbox = env.outbox().len();

    env.ok(&[
        "tickets",
        "comment",
        "1",
        "--internal",
        "--text",
        "Secret internal note",
    ]);
    assert_eq!(env.outbox().len(), outbox, "an internal note queued mail");
    env.deliver();
    assert_eq!(env.outbound().len(), before);

    env.ok(&["tickets", "comment", "1", "--text", "Your VPN works now."]);
    env.deliver();
    let new = &env.outbound()[before..];
    assert_eq!(
        summary(new),
        expected(&[("public_reply", "a@x.test"), ("public_reply", "b@x.test")])
    );
    for m in new {
        assert!(m.text.contains("Your VPN works now."), "{m:#?}");
        assert!(!m.text.contains("Secret internal note"), "{m:#?}");
    }
    let comments = array(&env.ticket(1)["comments"]);
    assert_eq!(comments.len(), 3);
    assert_eq!(comments[1]["visibility"], "internal");
    assert_eq!(comments[2]["visibility"], "public");
}

#[test]
fn recipients_can_be_listed_added_and_removed_but_not_staff() {
    let env = TestEnv::new();
    env.ok(&[
        "tickets",
        "create",
        "--subject",
        "S",
        "--requester",
        "a@x.test",
        "--text",
        "T",
    ]);
    let list = |env: &TestEnv| env.json(&["recipients", "list", "1"])["recipients"].clone();
    assert_eq!(list(&env), json!(["a@x.test"]));

    let added = env.json(&["recipients", "add", "1", "C@X.test"]);
    assert_eq!(added["recipients"], json!(["a@x.test", "c@x.test"]));
    assert_eq!(list(&env), json!(["a@x.test", "c@x.test"]));

    let removed = env.json(&["recipients", "remove", "1", "a@x.test"]);
    assert_eq!(removed["recipients"], json!(["c@x.test"]));

    for refused in [
        STAFF,
        "support@example.test",
        "support+t1.abcdef123456@example.test",
        "not-an-address",
    ] {
        let run = env
            .run(&["recipients", "add", "1", refused])
            .assert_failure();
        assert!(!run.stderr.is_empty(), "{run}");
    }
    assert_eq!(list(&env), json!(["c@x.test"]));
}

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
fn config_check_names_the_file_and_the_unknown_key() {
    let env = TestEnv::new();
    let good = env.ok(&["config", "check"]);
    assert!(good.stdout.contains("valid"), "{good}");

    let bad = TestEnv::with_config(|c| set(c, "alerts.acknowledge_everyone", true));
    let run = bad.run(&["config", "check"]).assert_failure();
    let file = bad.config_path().display().to_string();
    assert!(run.stderr.contains(&file), "{run}");
    assert!(run.stderr.contains("acknowledge_everyone"), "{run}");
}

#[test]
fn templates_check_passes_shipped_templates_and_locates_errors() {
    let mut env = TestEnv::new();
    let good = env.ok(&["templates", "check"]);
    assert!(good.stdout.contains("OK"), "{good}");

    let copy = env.path().join("my-templates");
    copy_dir(
        &std::path::Path::new(crate::util::ROOT).join("templates"),
        &copy,
    );
    let file = copy.join("acknowledgement/body.txt.j2");
    let original = std::fs::read_to_string(&file).expect("reading the template");
    let mut lines: Vec<&str> = original.lines().collect();
    lines[1] = "{{ ticket.nonexistent }}";
    std::fs::write(&file, lines.join("\n")).expect("writing the template");
    let dir = copy.display().to_string();
    env.edit_config(|c| set(c, "templates.dir", dir.clone()));

    let run = env.run(&["templates", "check"]).assert_failure();
    let location = format!("{dir}/acknowledgement/body.txt.j2:2");
    assert!(run.stderr.contains(&location), "want {location}\n{run}");
}

#[test]
fn rate_limit_suppresses_the_third_acknowledgement() {
    let env = TestEnv::with_config(|c| set(c, "alerts.rate_limit_max", 2));
    for n in 1..=3 {
        let raw = mail(
            &[
                ("From", "Carol Customer <carol@customer.test>"),
                ("To", "support@example.test"),
                ("Subject", &format!("Problem number {n}")),
                ("Message-ID", &format!("<rate-{n}@customer.test>")),
            ],
            "Another problem.",
        );
        let outcome = env.ingest(&raw);
        assert_eq!(
            outcome["disposition"],
            json!({ "outcome": "new_ticket", "ticket": n }),
            "{outcome}"
        );
    }
    env.deliver();

    let mut acks: Vec<Value> = env
        .outbox()
        .into_iter()
        .filter(|i| i["kind"] == "acknowledgement")
        .collect();
    acks.sort_by_key(|i| i["ticket"].as_u64());
    assert_eq!(acks.len(), 3, "{acks:#?}");
    assert_eq!(acks[0]["status"]["state"], "sent");
    assert_eq!(acks[1]["status"]["state"], "sent");
    assert_eq!(acks[2]["status"]["state"], "suppressed", "{:#}", acks[2]);
    assert!(
        text(&acks[2]["status"]["rule"]).contains("rate-limit"),
        "{:#}",
        acks[2]
    );

    let mails = env.outbound();
    assert_eq!(
        summary(&mails),
        expected(&[
            ("acknowledgement", CAROL),
            ("acknowledgement", CAROL),
            ("staff_notification", STAFF),
            ("staff_notification", STAFF),
            ("staff_notification", STAFF),
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

/// Attachments are listed with name, size and type (the name made safe),
/// and `tickets attachment` writes back exactly the bytes that came in.
#[test]
fn attachments_are_listed_and_downloadable_byte_for_byte() {
    let env = TestEnv::new();
    // 0..=255 twice: every byte value survives base64 and storage.
    let payload: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
    let encoded = base64_lines(&payload);
    let raw = format!(
        "From: {CAROL}\r\nTo: support@example.test\r\nSubject: Invoice\r\nMessage-ID: <att-1@customer.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n\
         --XX\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n\
         --XX\r\nContent-Type: application/pdf; name=\"../../etc/invoice.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"../../etc/invoice.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{encoded}--XX--\r\n"
    );
    env.ingest(raw.as_bytes());
    let ticket = env.ticket(1);
    let attachment = &ticket["comments"][0]["attachments"][0];
    assert_eq!(attachment["name"], "invoice.pdf", "{ticket:#}");
    assert_eq!(attachment["content_type"], "application/pdf");
    assert_eq!(attachment["size"], payload.len());

    let out = env.path().join("download.bin");
    let out_arg = out.to_string_lossy().to_string();
    env.ok(&["tickets", "attachment", "1", "0", "1", "--output", &out_arg]);
    assert_eq!(std::fs::read(&out).expect("the download"), payload);
    env.run(&["tickets", "attachment", "1", "0", "2"])
        .assert_failure();
}

fn base64_lines(bytes: &[u8]) -> String {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    text.as_bytes()
        .chunks(76)
        .map(|c| format!("{}\r\n", String::from_utf8_lossy(c)))
        .collect()
}

/// `templates render` previews a template for a stored ticket (its last
/// comment as the comment), and `templates list` names what each event uses.
#[test]
fn templates_render_previews_for_a_ticket_and_list_shows_events() {
    let env = TestEnv::new();
    env.ingest(&mail(
        &[
            ("From", CAROL),
            ("To", "support@example.test"),
            ("Subject", "Broken <b>chair</b>"),
            ("Message-ID", "<render-1@customer.test>"),
        ],
        "The chair & the desk.",
    ));
    let rendered = env.json(&["templates", "render", "public_reply", "--ticket", "1"]);
    assert_eq!(
        rendered["subject"], "Re: [#1] Broken <b>chair</b>",
        "{rendered:#}"
    );
    assert!(
        rendered["text"]
            .as_str()
            .unwrap_or_default()
            .contains("The chair & the desk.")
    );
    let html = rendered["html"].as_str().unwrap_or_default();
    assert!(html.contains("The chair &amp; the desk."), "{html}");
    assert!(html.contains("Broken &lt;b&gt;chair&lt;"), "{html}");
    assert!(!html.contains("<b>"), "mail content is never HTML: {html}");
    env.run(&["templates", "render", "no_such", "--ticket", "1"])
        .assert_failure();
    env.run(&["templates", "render", "public_reply", "--ticket", "9"])
        .assert_failure();

    let list = env.ok(&["templates", "list"]);
    assert!(
        list.stdout.contains("ticket_closed") && list.stdout.contains("used for: ticket_closed"),
        "{list}"
    );
}

//! Mail from customers: a new ticket and its acknowledgement, replies as
//! comments, auto-replies ignored, duplicates, a stranger using the
//! subject tag, automated mail, and the acknowledgement rate limit.

use serde_json::{Value, json};

use super::{CAROL, COLIN, STAFF, expected, one, open_customer_ticket, summary, text};
use crate::util::{TestEnv, array, fixture, mail, set};

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

//! Bounces, replies to closed tickets and automated-mail correlation
//! through the binary: mail goes out as `.eml` files (with the VERP
//! envelope sender as `Return-Path`), bounces and replies come back in
//! with `ticketd ingest`.

use serde_json::{Value, json};

use crate::util::{Eml, TestEnv, array, fixture, mail, set};

const CAROL: &str = "carol@customer.test";
const COLIN: &str = "colin@customer.test";

/// The raw bytes of the one `.eml` of `kind` to `recipient`.
fn raw_outbound(env: &TestEnv, kind: &str, recipient: &str) -> Vec<u8> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(env.outbound_dir()).expect("the outbound folder") {
        let path = entry.expect("an entry").path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if name.is_some_and(|n| n.ends_with(&format!("-{kind}.eml"))) {
            let raw = std::fs::read(&path).expect("reading an .eml");
            if Eml::parse(&raw, kind).to == [recipient] {
                found.push(raw);
            }
        }
    }
    assert_eq!(found.len(), 1, "expected one {kind} to {recipient}");
    found.remove(0)
}

/// What Postfix sends back for an undeliverable `returned` message.
fn postfix_bounce(to: &str, returned: &[u8], recipient: &str) -> Vec<u8> {
    let head = format!(
        "Return-Path: <>\r\nDelivered-To: {to}\r\nFrom: MAILER-DAEMON@mx.customer.test (Mail Delivery System)\r\n\
         To: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\n\
         Message-ID: <bounce-1@mx.customer.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"RPT\"\r\n\r\n\
         --RPT\r\nContent-Type: text/plain\r\n\r\n<{recipient}>: host mx.customer.test said: 550 5.1.1 User unknown\r\n\r\n\
         --RPT\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.customer.test\r\n\r\n\
         Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown\r\n\r\n\
         --RPT\r\nContent-Type: message/rfc822\r\n\r\n"
    );
    let mut raw = head.into_bytes();
    raw.extend_from_slice(returned);
    raw.extend_from_slice(b"\r\n--RPT--\r\n");
    raw
}

fn open_ticket_and_deliver(env: &TestEnv) {
    let outcome = env.ingest(&fixture("new_customer.eml"));
    assert_eq!(outcome["disposition"]["ticket"], 1, "{outcome}");
    env.deliver();
}

fn alerts(env: &TestEnv, kind: &str) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = env
        .outbox()
        .iter()
        .filter(|i| i["kind"] == kind)
        .map(|i| {
            let status = i["status"]["state"].as_str().unwrap_or("?").to_string();
            (i["recipient"].as_str().unwrap_or("?").to_string(), status)
        })
        .collect();
    list.sort();
    list
}

#[test]
fn a_bounced_acknowledgement_stops_mail_to_that_address_until_reset() {
    let env = TestEnv::new();
    open_ticket_and_deliver(&env);
    let ack = raw_outbound(&env, "acknowledgement", CAROL);
    let envelope = Eml::parse(&ack, "acknowledgement")
        .header("Return-Path")
        .map(|v| v.trim_matches(['<', '>']).to_string())
        .expect("the file transport records the envelope sender");
    assert!(
        envelope.starts_with("support+b") && envelope.ends_with("@example.test"),
        "{envelope}"
    );

    let outcome = env.ingest(&postfix_bounce(&envelope, &ack, CAROL));
    assert_eq!(
        outcome["disposition"],
        json!({ "outcome": "comment", "ticket": 1, "seq": 1 }),
        "{outcome}"
    );
    let rule = outcome["rule"].as_str().unwrap_or_default();
    assert!(
        rule.contains("bounce-attributed-by:bounce-address")
            && rule.contains("bounce:carol@customer.test:hard"),
        "{rule}"
    );

    let listed = env.json(&["recipients", "list", "1"]);
    assert_eq!(listed["recipients"], json!([CAROL, COLIN]));
    assert_eq!(listed["delivery"][CAROL]["failing"]["status"], "5.1.1");
    assert_eq!(listed["delivery"][CAROL]["failing"]["kind"], "hard");
    assert!(listed["delivery"][COLIN].is_null(), "{listed}");
    let text = env.ok(&["recipients", "list", "1"]).stdout;
    assert!(
        text.contains("FAILING, not mailed: hard bounce 5.1.1")
            && text.contains("Recipient address rejected"),
        "{text}"
    );
    let shown = env.ok(&["tickets", "show", "1"]).stdout;
    for part in [
        "carol@customer.test [not mailed: hard bounce 5.1.1",
        "Bounce: mail to carol@customer.test failed permanently (hard bounce, 5.1.1).",
        "mail to carol@customer.test stopped",
        "bounced: hard bounce 5.1.1",
    ] {
        assert!(shown.contains(part), "{part:?} in\n{shown}");
    }

    let files_before = env.outbound().len();
    env.ok(&["tickets", "close", "1"]);
    env.deliver();
    let new: Vec<(String, String)> = env.outbound()[files_before..]
        .iter()
        .map(|m| (m.kind.clone(), m.recipient().to_string()))
        .collect();
    assert_eq!(new, [("ticket_closed".to_string(), COLIN.to_string())]);
    assert_eq!(
        alerts(&env, "ticket_closed"),
        [
            (CAROL.to_string(), "suppressed".to_string()),
            (COLIN.to_string(), "sent".to_string()),
        ]
    );
    let suppressed = env.ok(&["outbox", "list", "--status", "suppressed"]).stdout;
    assert!(
        suppressed.contains("recipient-failing: hard bounce 5.1.1"),
        "{suppressed}"
    );

    let reset = env.json(&["recipients", "reset", "1", CAROL]);
    assert_eq!(reset["delivery"], json!({}), "{reset}");
    env.run(&["recipients", "reset", "1", CAROL])
        .assert_failure();
    env.ok(&[
        "tickets",
        "comment",
        "1",
        "--text",
        "One more thing: tray 2 is fixed too.",
    ]);
    env.deliver();
    assert_eq!(
        alerts(&env, "public_reply"),
        [
            (CAROL.to_string(), "sent".to_string()),
            (COLIN.to_string(), "sent".to_string()),
        ]
    );
}

fn reply_to_ack(env: &TestEnv, id: &str, body: &str) -> Value {
    let ack = Eml::parse(
        &raw_outbound(env, "acknowledgement", CAROL),
        "acknowledgement",
    );
    let ack_id = ack.message_id.clone().expect("the ack has a Message-ID");
    env.ingest(&mail(
        &[
            ("From", "Carol Customer <carol@customer.test>"),
            ("To", "support@example.test"),
            ("Subject", &format!("Re: {}", ack.subject)),
            ("Message-ID", id),
            ("In-Reply-To", &format!("<{ack_id}>")),
        ],
        &format!("{body}\n\nOn Mon, Example Support wrote:\n> We received your request"),
    ))
}

#[test]
fn replies_to_a_closed_ticket_follow_the_policy_and_thanks_stay_closed() {
    let env = TestEnv::with_config(|c| set(c, "closed_tickets.customer_reply", "never"));
    open_ticket_and_deliver(&env);
    env.ok(&["tickets", "close", "1"]);
    env.deliver();
    let files = env.outbound().len();

    let thanks = reply_to_ack(
        &env,
        "<thanks@customer.test>",
        "Thank you so much!\n\nCarol",
    );
    assert_eq!(
        thanks["disposition"],
        json!({ "outcome": "comment", "ticket": 1, "seq": 1 }),
        "{thanks}"
    );
    assert_eq!(env.ticket(1)["ticket"]["status"], "closed");
    env.deliver();
    assert_eq!(env.outbound().len(), files, "a thank-you alerts nobody");

    let again = reply_to_ack(&env, "<again@customer.test>", "Sorry, it is jammed again.");
    assert_eq!(
        again["disposition"],
        json!({ "outcome": "new_ticket", "ticket": 2 }),
        "{again}"
    );
    let new = env.ticket(2);
    assert_eq!(new["ticket"]["links"]["follow_up_of"], 1);
    assert_eq!(new["ticket"]["subject"], "Printer on floor 2 is jammed");
    let comments = array(&new["comments"]);
    assert_eq!(comments[0]["text"], "Sorry, it is jammed again.");
    assert_eq!(comments[1]["visibility"], "internal");
    assert!(
        env.ok(&["tickets", "show", "2"])
            .stdout
            .contains("follow-up of: [#1]")
    );
    assert!(
        env.ok(&["tickets", "show", "1"])
            .stdout
            .contains("follow-ups: [#2]")
    );
    env.deliver();
    let mut new_mail: Vec<(String, String)> = env.outbound()[files..]
        .iter()
        .map(|m| (m.kind.clone(), m.recipient().to_string()))
        .collect();
    new_mail.sort();
    assert_eq!(
        new_mail,
        [
            ("acknowledgement".to_string(), CAROL.to_string()),
            (
                "staff_notification".to_string(),
                "staff@example.test".to_string()
            ),
        ],
        "the follow-up is a new ticket for whoever wrote"
    );
}

#[test]
fn nagios_alerts_gather_on_one_ticket_and_recovery_closes_it() {
    let env = TestEnv::new();
    let nagios = |id: &str, subject: &str| {
        env.ingest(&mail(
            &[
                ("From", "nagios@monitor.example.test"),
                ("To", "support@example.test"),
                ("Subject", subject),
                ("Message-ID", id),
            ],
            "***** Nagios *****",
        ))
    };
    let first = nagios(
        "<n1@monitor>",
        "** PROBLEM Service Alert: web01/HTTP is CRITICAL **",
    );
    assert_eq!(
        first["disposition"],
        json!({ "outcome": "new_ticket", "ticket": 1 })
    );
    let second = nagios(
        "<n2@monitor>",
        "** PROBLEM Service Alert: web01/HTTP is WARNING **",
    );
    assert_eq!(
        second["disposition"],
        json!({ "outcome": "comment", "ticket": 1, "seq": 1 })
    );
    let recovery = nagios(
        "<n3@monitor>",
        "** RECOVERY Service Alert: web01/HTTP is OK **",
    );
    assert_eq!(
        recovery["disposition"],
        json!({ "outcome": "comment", "ticket": 1, "seq": 2 })
    );
    let tickets = env.tickets();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["status"], "closed");
    let shown = env.ok(&["tickets", "show", "1"]).stdout;
    assert!(
        shown.contains("correlation: monitoring/nagios:service/web01/http"),
        "{shown}"
    );
    let late = nagios(
        "<n4@monitor>",
        "** RECOVERY Service Alert: web01/HTTP is OK **",
    );
    assert_eq!(late["disposition"]["outcome"], "ignored", "{late}");
    assert_eq!(env.tickets().len(), 1);
}

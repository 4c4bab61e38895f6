//! Staff commands on tickets: `tickets create`, internal and public
//! comments, `recipients`, and attachments listed and downloaded.

use serde_json::json;

use super::{CAROL, STAFF, expected, summary};
use crate::util::{TestEnv, array};

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

//! Delivery through a real Postfix on loopback into Dovecot, read back over
//! IMAP. Needs the mail stack of `scripts/test` (`scripts/mailstack/`),
//! found through `TICKETD_MAILSTACK_ENV`; without it these tests skip,
//! unless `TICKETD_REQUIRE_MAILSTACK=1` makes that a failure.
//!
//! Each scenario runs twice: delivered by `ticketd outbox deliver`, and by
//! a running `ticketd serve`. The tests take turns (one lock) because each
//! empties the mailboxes it uses first; every instance also gets a unique
//! `instance.id`, which ticketd puts in the `X-Ticketd-Loop` header, so
//! only this test's mail is ever counted.

use serde_json::Value;

use crate::mailstack::{DEADLINE, MailStack, instance_name, take_turn};
use crate::util::{Daemon, Eml, TestEnv, free_port, poll_until, set};

/// A config sending through SMTP on `port` (plain, loopback).
fn smtp_env(instance: &str, port: u16, backoff_secs: i64) -> TestEnv {
    TestEnv::with_config(|c| {
        set(c, "instance.id", instance);
        set(c, "outbound.transport", "smtp");
        set(c, "outbound.smtp.host", "127.0.0.1");
        set(c, "outbound.smtp.port", i64::from(port));
        set(c, "outbound.smtp.security", "plain");
        set(c, "outbound.smtp.timeout_secs", 5);
        set(c, "outbound.initial_backoff_secs", backoff_secs);
        set(c, "outbound.max_backoff_secs", backoff_secs);
    })
}

fn with_subject<'a>(mails: &'a [Eml], subject_part: &str) -> Vec<&'a Eml> {
    mails
        .iter()
        .filter(|m| m.subject.contains(subject_part))
        .collect()
}

/// Who sends the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// `ticketd outbox deliver`, run by the test.
    Cli,
    /// A running `ticketd serve` (the CLI goes through its API).
    Daemon,
}

/// Sends what is due: runs `outbox deliver` (expecting `sent` mails), or
/// waits for the daemon to have sent every outbox item.
fn deliver(env: &TestEnv, via: Via, sent: usize) {
    match via {
        Via::Cli => {
            let run = env.deliver();
            assert!(run.stdout.contains(&format!("{sent} sent")), "{run}");
        }
        Via::Daemon => {
            poll_until("the daemon to send every item", DEADLINE, || {
                let items = env.outbox();
                items
                    .iter()
                    .all(|i| i["status"]["state"] == "sent")
                    .then_some(())
            });
        }
    }
}

/// Alerts of a staff-created ticket and of its closing reach the
/// requester's and the Cc's real mailboxes, each exactly once.
fn alerts_reach_real_mailboxes(via: Via) {
    let _turn = take_turn();
    let Some(stack) = MailStack::find() else {
        return;
    };
    let users = ["customer@example.test", "alice@example.test"];
    users.iter().for_each(|u| stack.empty_inbox(u));
    let instance = instance_name("alerts");
    let env = smtp_env(&instance, stack.smtp_port, 0);
    let daemon = (via == Via::Daemon).then(|| Daemon::start(&env));

    env.ok(&[
        "tickets",
        "create",
        "--subject",
        "Mailbox quota",
        "--requester",
        users[0],
        "--cc",
        users[1],
        "--text",
        "We raised your quota.",
    ]);
    deliver(&env, via, 2);
    let items: Vec<Value> = env.outbox();
    assert_eq!(items.len(), 2, "{items:#?}");

    for user in users {
        let mails = stack.wait_for(&instance, user, 1);
        let m = &mails[0];
        assert!(m.subject.contains("[#1] New ticket"), "{m:#?}");
        assert_eq!(m.to, [user]);
        assert_eq!(m.header("Auto-Submitted"), Some("auto-generated"));
        assert_eq!(m.header("X-Auto-Response-Suppress"), Some("All"));
        assert_eq!(m.header("X-Ticketd-Loop"), Some(instance.as_str()));
        assert!(
            m.reply_to.len() == 1 && m.reply_to[0].starts_with("support+t1."),
            "{m:#?}"
        );
        let envelope_sender = m.header("Return-Path").unwrap_or_default();
        assert!(
            envelope_sender.starts_with("<support+b"),
            "the keyed bounce address (VERP) is the envelope sender: {m:#?}"
        );
        let item = items
            .iter()
            .find(|i| i["recipient"] == user)
            .expect("an outbox item for the user");
        assert_eq!(
            m.message_id.as_deref(),
            item["message_id"].as_str(),
            "{m:#?}"
        );
        assert!(m.text.contains("We raised your quota."), "{m:#?}");
    }

    env.ok(&["tickets", "close", "1"]);
    deliver(&env, via, 2);
    for user in users {
        let mails = stack.wait_for(&instance, user, 2);
        assert_eq!(with_subject(&mails, "New ticket").len(), 1, "{mails:#?}");
        let closed = with_subject(&mails, "[#1] Closed");
        assert_eq!(closed.len(), 1, "{mails:#?}");
        assert_eq!(closed[0].header("Auto-Submitted"), Some("auto-generated"));
    }
    let items = env.outbox();
    assert_eq!(items.len(), 4, "{items:#?}");
    for item in &items {
        assert_eq!(item["status"]["state"], "sent", "{item}");
        assert_eq!(item["attempts"], 1, "{item}");
    }
    if let Some(daemon) = daemon {
        let status = daemon.terminate();
        assert!(status.success(), "ticketd serve exited with {status}");
    }
}

#[test]
fn alerts_reach_real_mailboxes_via_outbox_deliver() {
    alerts_reach_real_mailboxes(Via::Cli);
}

#[test]
fn alerts_reach_real_mailboxes_via_the_daemon() {
    alerts_reach_real_mailboxes(Via::Daemon);
}

#[test]
fn a_refused_connection_is_retried_by_outbox_deliver() {
    let _turn = take_turn();
    let Some(stack) = MailStack::find() else {
        return;
    };
    let user = "bob@example.test";
    stack.empty_inbox(user);
    let instance = instance_name("retry-cli");
    // No backoff: the retry is due at once.
    let mut env = smtp_env(&instance, free_port(), 0);

    create_ticket_for(&env, user);
    let failed = env.run(&["outbox", "deliver"]).assert_failure();
    assert!(failed.stdout.contains("1 to retry"), "{failed}");
    let item = only_item(&env);
    assert_eq!(item["status"]["state"], "pending", "{item}");
    assert_eq!(item["attempts"], 1, "{item}");
    assert!(has_error(&item), "{item}");

    env.edit_config(|c| set(c, "outbound.smtp.port", i64::from(stack.smtp_port)));
    deliver(&env, Via::Cli, 1);
    let item = only_item(&env);
    assert_eq!(item["status"]["state"], "sent", "{item}");
    assert_eq!(item["attempts"], 2, "{item}");

    let mails = stack.wait_for(&instance, user, 1);
    assert!(mails[0].subject.contains("[#1] New ticket"), "{mails:#?}");
    assert_eq!(mails[0].message_id.as_deref(), item["message_id"].as_str());
    // Nothing left to send.
    deliver(&env, Via::Cli, 0);
}

#[test]
fn a_refused_connection_is_retried_by_the_daemon() {
    let _turn = take_turn();
    let Some(stack) = MailStack::find() else {
        return;
    };
    let user = "bob@example.test";
    stack.empty_inbox(user);
    let instance = instance_name("retry-daemon");
    // Long enough that the daemon is stopped before its second attempt.
    let mut env = smtp_env(&instance, free_port(), 3);

    let daemon = Daemon::start(&env);
    create_ticket_for(&env, user);
    let item = poll_until("a failed first attempt", DEADLINE, || {
        let item = only_item(&env);
        (item["attempts"] == 1).then_some(item)
    });
    assert_eq!(item["status"]["state"], "pending", "{item}");
    assert!(has_error(&item), "{item}");
    let status = daemon.terminate();
    assert!(status.success(), "ticketd serve exited with {status}");

    env.edit_config(|c| set(c, "outbound.smtp.port", i64::from(stack.smtp_port)));
    let daemon = Daemon::start(&env);
    deliver(&env, Via::Daemon, 1);
    let item = only_item(&env);
    assert_eq!(item["attempts"], 2, "{item}");

    let mails = stack.wait_for(&instance, user, 1);
    assert!(mails[0].subject.contains("[#1] New ticket"), "{mails:#?}");
    assert_eq!(mails[0].message_id.as_deref(), item["message_id"].as_str());
    let status = daemon.terminate();
    assert!(status.success(), "ticketd serve exited with {status}");
}

fn create_ticket_for(env: &TestEnv, user: &str) {
    env.ok(&[
        "tickets",
        "create",
        "--subject",
        "Retry me",
        "--requester",
        user,
        "--text",
        "Hello Bob.",
    ]);
}

#[track_caller]
fn only_item(env: &TestEnv) -> Value {
    let items = env.outbox();
    assert_eq!(items.len(), 1, "{items:#?}");
    items[0].clone()
}

fn has_error(item: &Value) -> bool {
    item["last_error"].as_str().is_some_and(|e| !e.is_empty())
}

/// TLS to Postfix with `security`: the alert is refused (and kept for a
/// retry, not lost) while the server's certificate is not trusted, and
/// delivered once `ca_file` trusts its CA.
fn tls_needs_a_trusted_certificate(test: &str, security: &str, port: impl Fn(&MailStack) -> u16) {
    let _turn = take_turn();
    let Some(stack) = MailStack::find() else {
        return;
    };
    let user = "bob@example.test";
    stack.empty_inbox(user);
    let instance = instance_name(test);
    let mut env = smtp_env(&instance, port(&stack), 0);
    env.edit_config(|c| {
        set(c, "outbound.smtp.security", security);
        set(c, "outbound.smtp.host", "localhost");
    });

    create_ticket_for(&env, user);
    let failed = env.run(&["outbox", "deliver"]).assert_failure();
    assert!(failed.stdout.contains("1 to retry"), "{failed}");
    let item = only_item(&env);
    assert_eq!(item["status"]["state"], "pending", "{item}");
    let error = item["last_error"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        error.contains("certificate") || error.contains("issuer"),
        "{item}"
    );

    env.edit_config(|c| set(c, "outbound.smtp.ca_file", stack.ca.as_str()));
    deliver(&env, Via::Cli, 1);
    let mails = stack.wait_for(&instance, user, 1);
    assert_eq!(
        mails[0].message_id.as_deref(),
        only_item(&env)["message_id"].as_str()
    );
}

#[test]
fn starttls_needs_a_trusted_certificate_and_then_delivers() {
    tls_needs_a_trusted_certificate("starttls", "starttls", |s| s.smtp_port);
}

#[test]
fn implicit_tls_needs_a_trusted_certificate_and_then_delivers() {
    tls_needs_a_trusted_certificate("smtps", "tls", |s| s.smtps_port);
}

/// SMTP AUTH over STARTTLS: a wrong password is a permanent failure (the
/// item is given up with the server's answer, not retried forever); after
/// fixing the config, `outbox retry --all` sends it, once.
#[test]
fn a_rejected_login_is_given_up_and_outbox_retry_resends_it() {
    let _turn = take_turn();
    let Some(stack) = MailStack::find() else {
        return;
    };
    let user = "bob@example.test";
    stack.empty_inbox(user);
    let instance = instance_name("auth");
    let mut env = smtp_env(&instance, stack.smtp_port, 0);
    env.edit_config(|c| {
        set(c, "outbound.smtp.security", "starttls");
        set(c, "outbound.smtp.host", "localhost");
        set(c, "outbound.smtp.ca_file", stack.ca.as_str());
        set(c, "outbound.smtp.username", "support@example.test");
        set(c, "outbound.smtp.password", "wrong-password");
    });

    create_ticket_for(&env, user);
    let failed = env.run(&["outbox", "deliver"]).assert_failure();
    assert!(failed.stdout.contains("1 given up"), "{failed}");
    let item = only_item(&env);
    assert_eq!(item["status"]["state"], "gave_up", "{item}");
    assert!(
        item["status"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("535")),
        "{item}"
    );

    env.edit_config(|c| set(c, "outbound.smtp.password", stack.password.as_str()));
    env.ok(&["outbox", "retry", "--all"]);
    deliver(&env, Via::Cli, 1);
    let mails = stack.wait_for(&instance, user, 1);
    assert_eq!(
        mails[0].message_id.as_deref(),
        only_item(&env)["message_id"].as_str()
    );
    assert_eq!(only_item(&env)["status"]["state"], "sent");
}

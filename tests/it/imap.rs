//! `ticketd serve` on a real mailbox: Dovecot over IMAP (IDLE) for mail in,
//! Postfix for mail out, everything read back from the users' real
//! mailboxes. Needs the loopback mail stack (see [`crate::mailstack`]).
//!
//! The conversation test walks the whole story (new mail, acknowledgement,
//! customer reply, staff `#close`); the others each break something: an
//! auto-reply, SIGKILLs at random moments of a backlog, a SIGKILL while
//! sending, Postfix down,
//! bad credentials, a missing folder, an untrusted certificate, poisoned
//! messages, read (`\Seen`) mail and a UIDVALIDITY change.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::mailstack::{DEADLINE, MailStack, instance_name, take_turn};
use crate::util::{Daemon, Eml, TestEnv, array, free_port, mail, poll_until, set};

const SUPPORT: &str = "support@example.test";
const CUSTOMER: &str = "customer@example.test";
const ALICE: &str = "alice@example.test";
const BOB: &str = "bob@example.test";
const STAFF: &str = "staff@example.test";

/// What each test starts from: its turn at the shared mailboxes, the
/// stack with those mailboxes emptied, a unique instance name and a
/// config that watches support@'s INBOX.
struct Scene {
    _turn: std::sync::MutexGuard<'static, ()>,
    stack: MailStack,
    instance: String,
    env: TestEnv,
}

fn scene(test: &str) -> Option<Scene> {
    let turn = take_turn();
    let stack = MailStack::find()?;
    clean(&stack);
    let instance = instance_name(test);
    let env = stack.imap_env(&instance, SUPPORT);
    Some(Scene {
        _turn: turn,
        stack,
        instance,
        env,
    })
}

/// Empties every mailbox the tests use.
fn clean(stack: &MailStack) {
    for user in [SUPPORT, CUSTOMER, ALICE, BOB, STAFF] {
        stack.empty_inbox(user);
    }
    stack.empty(SUPPORT, "Processed");
}

/// Every stored message record (newest first).
fn records(env: &TestEnv) -> Vec<Value> {
    array(&env.json(&["messages", "list", "--all", "--limit", "1000"])["messages"])
}

/// Count of records per outcome kind (`new_ticket`, `comment`, ...).
fn outcomes(env: &TestEnv) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for record in records(env) {
        let kind = record["disposition"]["outcome"]
            .as_str()
            .unwrap_or("?")
            .to_string();
        *counts.entry(kind).or_default() += 1;
    }
    counts
}

/// Waits until `n` messages are stored.
fn wait_for_records(env: &TestEnv, n: usize) {
    poll_until(&format!("{n} stored messages"), DEADLINE, || {
        (records(env).len() >= n).then_some(())
    });
}

/// Waits until every outbox item is sent; returns them.
fn wait_all_sent(env: &TestEnv) -> Vec<Value> {
    poll_until("every outbox item to be sent", DEADLINE, || {
        let items = env.outbox();
        items
            .iter()
            .all(|i| i["status"]["state"] == "sent")
            .then_some(items)
    })
}

/// Outbox items per recipient.
fn items_for<'a>(items: &'a [Value], user: &str) -> Vec<&'a Value> {
    items.iter().filter(|i| i["recipient"] == user).collect()
}

/// Asserts each sent outbox item of `user` arrived exactly once (same
/// Message-ID), and nothing else of this instance did.
#[track_caller]
fn assert_each_arrived_once(
    stack: &MailStack,
    instance: &str,
    items: &[Value],
    user: &str,
) -> Vec<Eml> {
    let expected: BTreeSet<String> = items_for(items, user)
        .iter()
        .filter_map(|i| i["message_id"].as_str().map(str::to_string))
        .collect();
    let mails = stack.wait_for(instance, user, expected.len());
    let got: BTreeSet<String> = mails.iter().filter_map(|m| m.message_id.clone()).collect();
    assert_eq!(got, expected, "{user}: arrived vs. sent Message-IDs");
    mails
}

fn reply_to(mail: &Eml) -> &str {
    assert_eq!(mail.reply_to.len(), 1, "{mail:#?}");
    &mail.reply_to[0]
}

#[test]
fn a_conversation_over_real_mail() {
    let Some(Scene {
        _turn,
        stack,
        instance,
        env,
    }) = scene("conversation")
    else {
        return;
    };
    let daemon = Daemon::start(&env);

    // 1. A customer writes in (Cc Alice): a ticket, and the
    //    acknowledgement arrives threaded under the customer's mail.
    let first = mail(
        &[
            ("From", "Carla Customer <customer@example.test>"),
            ("To", SUPPORT),
            ("Cc", ALICE),
            ("Subject", "Printer on fire"),
            ("Message-ID", "<first@customer.example.test>"),
        ],
        "The printer on floor 2 is on fire.",
    );
    stack.send(CUSTOMER, &[SUPPORT], &first);
    let acks = stack.wait_for(&instance, CUSTOMER, 1);
    let ack = &acks[0];
    assert!(
        ack.subject
            .contains("[#1] We received your request: Printer on fire"),
        "{ack:#?}"
    );
    assert_eq!(ack.in_reply_to, ["first@customer.example.test"], "{ack:#?}");
    let references = ack.header("References").unwrap_or_default();
    assert!(
        references.contains("<first@customer.example.test>"),
        "{ack:#?}"
    );
    assert!(reply_to(ack).starts_with("support+t1."), "{ack:#?}");
    let tickets = env.tickets();
    assert_eq!(tickets.len(), 1, "{tickets:#?}");
    assert_eq!(
        stack.count(SUPPORT, "INBOX"),
        0,
        "processed mail leaves INBOX"
    );
    assert_eq!(stack.count(SUPPORT, "Processed"), 1);

    // 2. The customer replies the way a mail client does: to Reply-To,
    //    with In-Reply-To/References, "Re:" and the quote. A comment, and
    //    nothing goes back to the customer (staff are told).
    let ack_id = ack.message_id.clone().expect("the ack has a Message-ID");
    let reply = mail(
        &[
            ("From", "Carla Customer <customer@example.test>"),
            ("To", reply_to(ack)),
            ("Subject", &format!("Re: {}", ack.subject)),
            ("Message-ID", "<second@customer.example.test>"),
            ("In-Reply-To", &format!("<{ack_id}>")),
            (
                "References",
                &format!("<first@customer.example.test> <{ack_id}>"),
            ),
        ],
        "Now the scanner is smoking too.\n\nOn Mon, 2 Mar 2026, Support wrote:\n> We received your request.\n> Printer on fire",
    );
    stack.send(CUSTOMER, &[reply_to(ack)], &reply);
    let staff_mails = stack.wait_for(&instance, STAFF, 2);
    let detail = env.ticket(1);
    let comments = array(&detail["comments"]);
    assert_eq!(comments.len(), 2, "{detail:#}");
    let text = comments[1]["text"].as_str().unwrap_or_default();
    assert!(text.contains("scanner is smoking"), "{detail:#}");
    assert!(
        !text.contains("We received your request"),
        "quote kept: {detail:#}"
    );
    let items = wait_all_sent(&env);
    assert_eq!(
        items_for(&items, CUSTOMER).len(),
        1,
        "only the ack: {items:#?}"
    );

    // 3. Staff answer the notification with #close: the ticket closes and
    //    each external recipient gets the closed alert, once.
    let notification = staff_mails
        .iter()
        .find(|m| m.text.contains("scanner is smoking"))
        .expect("a staff notification of the reply");
    let close = mail(
        &[
            ("From", "Sam Staff <staff@example.test>"),
            ("To", reply_to(notification)),
            ("Subject", &format!("Re: {}", notification.subject)),
            ("Message-ID", "<close@staff.example.test>"),
            (
                "In-Reply-To",
                &format!("<{}>", notification.message_id.clone().unwrap_or_default()),
            ),
        ],
        "#close\nThe fire brigade has been. Both devices are replaced.",
    );
    stack.send(STAFF, &[reply_to(notification)], &close);
    poll_until("ticket 1 to close", DEADLINE, || {
        (env.ticket(1)["ticket"]["status"] == "closed").then_some(())
    });
    let items = wait_all_sent(&env);
    for user in [CUSTOMER, ALICE] {
        let mails = assert_each_arrived_once(&stack, &instance, &items, user);
        let closed: Vec<_> = mails
            .iter()
            .filter(|m| m.subject.contains("[#1] Closed"))
            .collect();
        assert_eq!(closed.len(), 1, "{user}: {mails:#?}");
    }
    assert_eq!(
        outcomes(&env).get("comment"),
        Some(&2),
        "{:#?}",
        records(&env)
    );
    let status = daemon.terminate();
    assert!(status.success(), "ticketd serve exited with {status}");
}

#[test]
fn an_out_of_office_reply_to_the_acknowledgement_makes_no_ticket_and_no_mail() {
    let Some(Scene {
        _turn,
        stack,
        instance,
        env,
    }) = scene("ooo")
    else {
        return;
    };
    let _daemon = Daemon::start(&env);
    let request = mail(
        &[
            ("From", CUSTOMER),
            ("To", SUPPORT),
            ("Subject", "VPN down"),
            ("Message-ID", "<vpn@customer.example.test>"),
        ],
        "The VPN does not connect.",
    );
    stack.send(CUSTOMER, &[SUPPORT], &request);
    let ack = stack.wait_for(&instance, CUSTOMER, 1).remove(0);
    let ooo = mail(
        &[
            ("From", CUSTOMER),
            ("To", reply_to(&ack)),
            ("Subject", &format!("Automatic reply: {}", ack.subject)),
            ("Auto-Submitted", "auto-replied"),
            ("X-Auto-Response-Suppress", "All"),
            (
                "In-Reply-To",
                &format!("<{}>", ack.message_id.clone().unwrap_or_default()),
            ),
            ("Message-ID", "<ooo@customer.example.test>"),
        ],
        "I am out of the office until Monday.",
    );
    stack.send(CUSTOMER, &[reply_to(&ack)], &ooo);
    wait_for_records(&env, 2);
    let counts = outcomes(&env);
    assert_eq!(counts.get("new_ticket"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("ignored"), Some(&1), "{counts:?}");
    let items = wait_all_sent(&env);
    assert_each_arrived_once(&stack, &instance, &items, CUSTOMER);
    assert_eq!(items_for(&items, CUSTOMER).len(), 1, "{items:#?}");
    assert_eq!(env.ticket(1)["comments"].as_array().map(Vec::len), Some(1));
}

/// A backlog of `n` messages in groups of three from one customer (the
/// customers take turns): two new requests, then a reply to the second
/// one (so a comment, not a ticket).
struct Backlog {
    messages: Vec<Vec<u8>>,
    /// New tickets (so acknowledgements) per customer.
    new_per_user: BTreeMap<&'static str, usize>,
}

impl Backlog {
    fn new(tag: &str, n: usize) -> Backlog {
        let senders = [CUSTOMER, ALICE, BOB];
        let mut backlog = Backlog {
            messages: Vec::new(),
            new_per_user: senders.iter().map(|s| (*s, 0)).collect(),
        };
        for i in 0..n {
            let from = senders[(i / 3) % 3];
            let mut headers = vec![
                ("From", from.to_string()),
                ("To", SUPPORT.to_string()),
                ("Message-ID", format!("<{tag}-{i}@example.test>")),
            ];
            if i % 3 == 2 {
                headers.push(("Subject", format!("Re: {tag} request {}", i - 1)));
                headers.push(("In-Reply-To", format!("<{tag}-{}@example.test>", i - 1)));
            } else {
                headers.push(("Subject", format!("{tag} request {i}")));
                *backlog.new_per_user.entry(from).or_default() += 1;
            }
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let body = format!("Backlog message {i}.\n{}", "Some detail. ".repeat(40));
            backlog.messages.push(mail(&headers, &body));
        }
        backlog
    }

    fn new_tickets(&self) -> usize {
        self.new_per_user.values().sum()
    }
}

/// The seed of a random fault test: `TICKETD_FAULT_SEED`, else a fresh
/// one. Printed, so a failure can be replayed.
fn fault_seed() -> u64 {
    let seed = std::env::var("TICKETD_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("fault seed: TICKETD_FAULT_SEED={seed}");
    seed
}

fn kill9(daemon: &Daemon) {
    let status = Command::new("kill")
        .args(["-KILL", &daemon.pid().to_string()])
        .status()
        .expect("running kill");
    assert!(status.success());
}

/// Ingest is exactly once across SIGKILLs at random moments of a backlog:
/// the daemon is killed in five rounds, each at a random point of the
/// next stretch of the backlog plus a random few milliseconds (so a kill
/// lands mid-fetch, mid-ingest, mid-flush or mid-move), and restarted each
/// time. Its SMTP server is unreachable until the last start, so every
/// alert was queued (never sent) before a kill: each must arrive exactly
/// once. `TICKETD_FAULT_SEED` replays a run (the seed is printed).
#[test]
fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let Some(Scene {
        _turn,
        stack,
        instance,
        mut env,
    }) = scene("sigkill")
    else {
        return;
    };
    env.edit_config(|c| {
        set(c, "alerts.rate_limit_max", 1000);
        set(c, "outbound.smtp.port", i64::from(free_port()));
    });
    MailStack::edit_mailbox(&mut env, "batch_size", 10);
    let backlog = Backlog::new("kill", 400);
    let (messages, new_tickets) = (&backlog.messages, backlog.new_tickets());
    stack.append(SUPPORT, "INBOX", messages, false);

    let seed = fault_seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    const ROUNDS: usize = 5;
    let (mut stored_before, mut processed_before) = (0, 0);
    for round in 0..ROUNDS {
        let stretch = (messages.len() - processed_before) / (ROUNDS - round + 1);
        let threshold = processed_before + 1 + rng.usize(..stretch.max(1));
        let daemon = Daemon::start(&env);
        let deadline = Instant::now() + DEADLINE;
        while stack.count(SUPPORT, "Processed") < threshold {
            assert!(
                Instant::now() < deadline,
                "no progress in round {round} (seed {seed})"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(rng.u64(..30)));
        kill9(&daemon);
        drop(daemon);
        let stored = records(&env).len();
        assert!(
            stored >= stored_before,
            "stored messages went missing (seed {seed})"
        );
        assert!(
            stored < messages.len(),
            "kill {round} came too late to test anything (seed {seed})"
        );
        (stored_before, processed_before) = (stored, stack.count(SUPPORT, "Processed"));
    }

    env.edit_config(|c| set(c, "outbound.smtp.port", i64::from(stack.smtp_port)));
    let daemon = Daemon::start(&env);
    wait_for_records(&env, messages.len());
    let counts = outcomes(&env);
    assert_eq!(counts.get("new_ticket"), Some(&new_tickets), "{counts:?}");
    assert_eq!(
        counts.get("comment"),
        Some(&(messages.len() - new_tickets)),
        "{counts:?}"
    );
    assert_eq!(records(&env).len(), messages.len());
    poll_until("INBOX to be empty", DEADLINE, || {
        (stack.count(SUPPORT, "INBOX") == 0).then_some(())
    });
    assert_eq!(stack.count(SUPPORT, "Processed"), messages.len());
    let items = wait_all_sent(&env);
    for (user, acks) in &backlog.new_per_user {
        assert_eq!(items_for(&items, user).len(), *acks, "{user}");
        assert_each_arrived_once(&stack, &instance, &items, user);
    }
    drop(daemon);
}

/// A SIGKILL while alerts go out loses none. RFC 1047's window remains:
/// a send the server accepted just before the kill, but not yet recorded
/// as sent, goes again after the restart, with the same Message-ID.
#[test]
fn sigkill_while_sending_loses_no_alert() {
    let Some(Scene {
        _turn,
        stack,
        instance,
        mut env,
    }) = scene("sigkill-send")
    else {
        return;
    };
    env.edit_config(|c| set(c, "alerts.rate_limit_max", 1000));
    let backlog = Backlog::new("send", 90);
    let messages = &backlog.messages;
    stack.append(SUPPORT, "INBOX", messages, false);
    let daemon = Daemon::start(&env);
    poll_until("some alerts to be sent", DEADLINE, || {
        (stack.mails(&instance, CUSTOMER).len() >= 3).then_some(())
    });
    kill9(&daemon);
    drop(daemon);

    let _daemon = Daemon::start(&env);
    wait_for_records(&env, messages.len());
    let items = wait_all_sent(&env);
    let mut duplicates = 0;
    for (user, acks) in &backlog.new_per_user {
        let expected: BTreeSet<String> = items_for(&items, user)
            .iter()
            .filter_map(|i| i["message_id"].as_str().map(str::to_string))
            .collect();
        assert_eq!(expected.len(), *acks, "{user}");
        let mails = poll_until("every alert to arrive", DEADLINE, || {
            let mails = stack.mails(&instance, user);
            let ids: BTreeSet<String> = mails.iter().filter_map(|m| m.message_id.clone()).collect();
            (ids == expected).then_some(mails)
        });
        duplicates += mails.len() - expected.len();
    }
    assert!(
        duplicates <= 1,
        "{duplicates} alerts arrived twice after one kill"
    );
}

/// Restarts Postfix when dropped, so a failing test leaves it running.
struct PostfixDown<'a>(&'a MailStack);

impl Drop for PostfixDown<'_> {
    fn drop(&mut self) {
        self.0.postfix("start");
    }
}

#[test]
fn alerts_wait_while_the_smtp_server_is_down_then_arrive_once() {
    let Some(Scene {
        _turn,
        stack,
        instance,
        env,
    }) = scene("smtp-down")
    else {
        return;
    };
    let _daemon = Daemon::start(&env);
    stack.postfix("stop");
    let down = PostfixDown(&stack);
    let backlog = Backlog::new("down", 9);
    let new_tickets = backlog.new_tickets();
    stack.append(SUPPORT, "INBOX", &backlog.messages, false);
    wait_for_records(&env, backlog.messages.len());
    poll_until("failed delivery attempts", DEADLINE, || {
        let items = env.outbox();
        (items.len() >= new_tickets
            && items
                .iter()
                .all(|i| i["status"]["state"] == "pending" && i["attempts"].as_u64() >= Some(1)))
        .then_some(())
    });
    drop(down);
    let items = wait_all_sent(&env);
    for (user, acks) in &backlog.new_per_user {
        assert_eq!(items_for(&items, user).len(), *acks, "{user}");
        assert_each_arrived_once(&stack, &instance, &items, user);
    }
}

/// A password that must never show up in a log.
const WRONG_PASSWORD: &str = "Wr0ngPa55-not-logged";

/// `health --json` through the daemon: the one mailbox's entry.
fn mailbox_health(env: &TestEnv) -> Value {
    let health = env.json(&["health"]);
    let mailboxes = array(&health["mailboxes"]);
    assert_eq!(mailboxes.len(), 1, "{health:#}");
    mailboxes[0].clone()
}

#[test]
fn bad_settings_are_logged_with_the_fix_and_retried_while_check_fails_fast() {
    let _turn = take_turn();
    let Some(stack) = MailStack::find() else {
        return;
    };
    let instance = instance_name("bad");
    let mut env = stack.imap_env(&instance, SUPPORT);
    let cases: [(&str, toml::Value, &str); 3] = [
        (
            "password",
            WRONG_PASSWORD.into(),
            "check username and password",
        ),
        ("folder", "NoSuchFolder".into(), "check the folder setting"),
        ("port", i64::from(free_port()).into(), "check host and port"),
    ];
    for (key, value, fix) in cases {
        let mut broken = stack.imap_env(&instance, SUPPORT);
        MailStack::edit_mailbox(&mut broken, key, value);
        let check = broken.run(&["serve", "--check"]).assert_failure();
        assert!(check.stderr.contains(fix), "{key}: {check}");
        assert!(
            check.stderr.contains("mailbox \"support\""),
            "{key}: {check}"
        );

        let mut daemon = Daemon::start(&broken);
        let health = poll_until("a failed attempt", DEADLINE, || {
            let h = mailbox_health(&broken);
            (h["consecutive_errors"].as_u64() >= Some(1)).then_some(h)
        });
        assert_eq!(health["state"], "retrying", "{health:#}");
        assert!(
            health["last_error"]
                .as_str()
                .unwrap_or_default()
                .contains(fix),
            "{health:#}"
        );
        daemon.assert_running();
        assert!(daemon.log().contains(fix), "{key}: {}", daemon.log());
        assert!(
            !daemon.log().contains(WRONG_PASSWORD),
            "password logged: {}",
            daemon.log()
        );
        let status = daemon.terminate();
        assert!(status.success(), "{status}");
    }

    // Implicit TLS: refused without the CA, then fine with it.
    MailStack::edit_mailbox(&mut env, "security", "tls");
    MailStack::edit_mailbox(&mut env, "host", "localhost");
    MailStack::edit_mailbox(&mut env, "port", i64::from(stack.imaps_port));
    let check = env.run(&["serve", "--check"]).assert_failure();
    assert!(check.stderr.contains("set ca_file"), "{check}");
    MailStack::edit_mailbox(&mut env, "ca_file", stack.ca.as_str());
    let mut daemon = Daemon::start_with(&env, &["serve", "--check"]);
    let health = poll_until("the mailbox to be watched", DEADLINE, || {
        let h = mailbox_health(&env);
        (h["state"] == "idle").then_some(h)
    });
    assert_eq!(health["consecutive_errors"], 0, "{health:#}");
    daemon.assert_running();
}

#[test]
fn starttls_and_authenticate_plain_work() {
    let Some(Scene {
        _turn,
        stack,
        mut env,
        ..
    }) = scene("starttls")
    else {
        return;
    };
    for (key, value) in [
        ("security", toml::Value::from("starttls")),
        ("host", "localhost".into()),
        ("auth", "plain".into()),
        ("ca_file", stack.ca.as_str().into()),
    ] {
        MailStack::edit_mailbox(&mut env, key, value);
    }
    let _daemon = Daemon::start_with(&env, &["serve", "--check"]);
    stack.send(
        CUSTOMER,
        &[SUPPORT],
        &mail(
            &[
                ("From", CUSTOMER),
                ("To", SUPPORT),
                ("Subject", "Over STARTTLS"),
            ],
            "Hello.",
        ),
    );
    wait_for_records(&env, 1);
    assert_eq!(env.tickets().len(), 1);
}

#[test]
fn poisoned_messages_are_quarantined_and_never_block_the_mailbox() {
    let _turn = take_turn();
    let Some(stack) = MailStack::find() else {
        return;
    };
    clean(&stack);
    stack.empty(SUPPORT, "Quarantine");
    let instance = instance_name("poison");
    let env = stack.imap_env(&instance, SUPPORT);
    let mut env = env;
    env.edit_config(|c| set(c, "inbound.max_message_bytes", 4096));
    let good = |n: usize| {
        mail(
            &[
                ("From", CUSTOMER),
                ("To", SUPPORT),
                ("Subject", &format!("Good {n}")),
            ],
            "Fine.",
        )
    };
    let huge = mail(
        &[("From", CUSTOMER), ("To", SUPPORT), ("Subject", "Huge")],
        &"x".repeat(10_000),
    );
    stack.append(SUPPORT, "INBOX", &[good(1), huge, good(2)], false);
    let _daemon = Daemon::start(&env);
    wait_for_records(&env, 3);
    let counts = outcomes(&env);
    assert_eq!(counts.get("new_ticket"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("quarantined"), Some(&1), "{counts:?}");
    poll_until("the mailbox to be sorted", DEADLINE, || {
        (stack.count(SUPPORT, "INBOX") == 0 && stack.count(SUPPORT, "Quarantine") == 1)
            .then_some(())
    });
    assert_eq!(stack.count(SUPPORT, "Processed"), 2);
    let quarantined = env.json(&["messages", "list"]);
    let reason = quarantined["messages"][0]["disposition"]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        reason.contains("exceeds inbound.max_message_bytes"),
        "{quarantined:#}"
    );
    let health = env.json(&["health"]);
    assert_eq!(health["quarantined"], 1, "{health:#}");
}

/// Mail already read in webmail (`\Seen`) is ingested; `on_processed =
/// "flag"` leaves it in place; a new UIDVALIDITY (the folder was
/// recreated) re-reads the folder without a duplicate ticket or alert.
#[test]
fn seen_mail_is_ingested_and_a_uidvalidity_change_duplicates_nothing() {
    let Some(Scene {
        _turn,
        stack,
        instance,
        mut env,
    }) = scene("uidvalidity")
    else {
        return;
    };
    MailStack::edit_mailbox(&mut env, "folder", "Tickets");
    MailStack::edit_mailbox(&mut env, "on_processed", "flag");
    MailStack::edit_mailbox(&mut env, "processed_flag", "$Ticketd");
    recreate_folder(&stack, "Tickets");
    stack.append(SUPPORT, "Tickets", &Backlog::new("seen", 2).messages, true);

    let daemon = Daemon::start(&env);
    wait_for_records(&env, 2);
    assert_eq!(stack.count(SUPPORT, "Tickets"), 2, "flagged, not moved");
    // A graceful stop: a SIGKILL could land in RFC 1047's window of an
    // acknowledgement being sent (see sigkill_while_sending_loses_no_alert).
    let status = daemon.terminate();
    assert!(status.success(), "{status}");

    recreate_folder(&stack, "Tickets");
    stack.append(SUPPORT, "Tickets", &Backlog::new("seen", 3).messages, true);
    let daemon = Daemon::start(&env);
    wait_for_records(&env, 3);
    assert!(
        daemon.log().contains("UIDVALIDITY changed"),
        "{}",
        daemon.log()
    );
    let counts = outcomes(&env);
    assert_eq!(counts.get("new_ticket"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("comment"), Some(&1), "{counts:?}");
    let items = wait_all_sent(&env);
    assert_eq!(
        items_for(&items, CUSTOMER).len(),
        2,
        "one ack per ticket: {items:#?}"
    );
    assert_each_arrived_once(&stack, &instance, &items, CUSTOMER);
}

fn recreate_folder(stack: &MailStack, folder: &str) {
    stack
        .doveadm(&["mailbox", "delete", "-u", SUPPORT, "-s", folder])
        .ok();
    stack
        .doveadm(&["mailbox", "create", "-u", SUPPORT, folder])
        .unwrap_or_else(|e| panic!("creating {folder}: {e}"));
    std::thread::sleep(Duration::from_millis(1100)); // UIDVALIDITY is a timestamp
}

/// SIGTERM in the middle of a backlog: the daemon finishes the batch in
/// flight and exits 0 within seconds; a restart takes the rest, and every
/// message is stored exactly once.
#[test]
fn sigterm_mid_backlog_exits_cleanly_and_a_restart_resumes() {
    let Some(Scene {
        _turn,
        stack,
        instance,
        mut env,
    }) = scene("sigterm")
    else {
        return;
    };
    env.edit_config(|c| set(c, "alerts.rate_limit_max", 1000));
    MailStack::edit_mailbox(&mut env, "batch_size", 10);
    let backlog = Backlog::new("term", 120);
    stack.append(SUPPORT, "INBOX", &backlog.messages, false);
    let daemon = Daemon::start(&env);
    poll_until("part of the backlog to be stored", DEADLINE, || {
        (stack.count(SUPPORT, "Processed") >= 20).then_some(())
    });
    let status = daemon.terminate();
    assert!(status.success(), "ticketd serve exited with {status}");
    let stored = records(&env).len();
    let processed = stack.count(SUPPORT, "Processed");
    assert_eq!(
        processed, stored,
        "every stored message, and only those, left INBOX"
    );

    let _daemon = Daemon::start(&env);
    wait_for_records(&env, backlog.messages.len());
    let counts = outcomes(&env);
    assert_eq!(
        counts.get("new_ticket"),
        Some(&backlog.new_tickets()),
        "{counts:?}"
    );
    let items = wait_all_sent(&env);
    for (user, acks) in &backlog.new_per_user {
        assert_eq!(items_for(&items, user).len(), *acks, "{user}");
        assert_each_arrived_once(&stack, &instance, &items, user);
    }
}

/// Two mailboxes at once, each with its own settings: support@ with IDLE,
/// bob@ as "billing" polled every second, with its own category.
#[test]
fn two_mailboxes_each_with_its_own_settings() {
    let Some(Scene {
        _turn,
        stack,
        instance,
        mut env,
    }) = scene("two")
    else {
        return;
    };
    let password = stack.password.clone();
    let imap_port = stack.imap_port;
    env.edit_config(|c| {
        set(
            c,
            "instance.support_addresses",
            toml::Value::Array(vec![SUPPORT.into(), BOB.into()]),
        );
        let list = c["inbound"]["imap"].as_array_mut().expect("an imap list");
        let mut billing = list[0].as_table().expect("a table").clone();
        for (key, value) in [
            ("name", toml::Value::from("billing")),
            ("username", BOB.into()),
            ("password", password.as_str().into()),
            ("port", i64::from(imap_port).into()),
            ("idle", false.into()),
            ("poll_interval_secs", 1.into()),
            ("category", "billing".into()),
        ] {
            billing.insert(key.into(), value);
        }
        list.push(billing.into());
    });
    stack.empty(BOB, "Processed");
    let _daemon = Daemon::start(&env);
    stack.send(
        CUSTOMER,
        &[SUPPORT],
        &mail(
            &[
                ("From", CUSTOMER),
                ("To", SUPPORT),
                ("Subject", "Login broken"),
            ],
            "Cannot log in.",
        ),
    );
    stack.send(
        CUSTOMER,
        &[BOB],
        &mail(
            &[
                ("From", CUSTOMER),
                ("To", BOB),
                ("Subject", "Invoice wrong"),
            ],
            "Invoice 42 is wrong.",
        ),
    );
    wait_for_records(&env, 2);
    let categories: BTreeMap<String, Value> = env
        .tickets()
        .iter()
        .map(|t| {
            (
                t["subject"].as_str().unwrap_or_default().to_string(),
                t["category"].clone(),
            )
        })
        .collect();
    assert_eq!(categories["Invoice wrong"], "billing", "{categories:#?}");
    assert_eq!(categories["Login broken"], Value::Null, "{categories:#?}");
    let health = env.json(&["health"]);
    let states: BTreeMap<String, String> = array(&health["mailboxes"])
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap_or_default().into(),
                m["state"].as_str().unwrap_or_default().into(),
            )
        })
        .collect();
    assert_eq!(
        states.get("support").map(String::as_str),
        Some("idle"),
        "{health:#}"
    );
    assert!(
        matches!(
            states.get("billing").map(String::as_str),
            Some("polling" | "fetching")
        ),
        "{health:#}"
    );
    assert_eq!(stack.count(BOB, "Processed"), 1);
    let items = wait_all_sent(&env);
    let acks = assert_each_arrived_once(&stack, &instance, &items, CUSTOMER);
    assert_eq!(acks.len(), 2, "{acks:#?}");
}

/// Dovecot restarts under an idling daemon: it reconnects by itself and
/// mail that arrived meanwhile is taken once.
#[test]
fn a_dovecot_restart_while_idling_is_survived() {
    let Some(Scene {
        _turn,
        stack,
        instance,
        env,
    }) = scene("dovecot-restart")
    else {
        return;
    };
    let mut daemon = Daemon::start(&env);
    poll_until("the daemon to idle", DEADLINE, || {
        (mailbox_health(&env)["state"] == "idle").then_some(())
    });
    stack.restart_dovecot();
    let request = mail(
        &[
            ("From", CUSTOMER),
            ("To", SUPPORT),
            ("Subject", "After the restart"),
        ],
        "Hello again.",
    );
    stack.send(CUSTOMER, &[SUPPORT], &request);
    let acks = stack.wait_for(&instance, CUSTOMER, 1);
    assert!(acks[0].subject.contains("After the restart"), "{acks:#?}");
    let health = poll_until("the mailbox to be healthy", DEADLINE, || {
        let h = mailbox_health(&env);
        (h["state"] == "idle" && h["consecutive_errors"] == 0).then_some(h)
    });
    assert!(health["last_fetch_at"].is_string(), "{health:#}");
    assert!(
        health["last_error"].is_string(),
        "the drop was noticed: {health:#}"
    );
    assert_eq!(records(&env).len(), 1);
    daemon.assert_running();
}

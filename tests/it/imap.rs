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
//!
//! The tests are grouped by topic in the submodules; the shared scene,
//! backlog and waiting helpers are here.

mod conversation;
mod crashes;
mod folders;
mod outages;
mod settings;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::mailstack::{DEADLINE, MailStack, instance_name, take_turn};
use crate::util::{Eml, TestEnv, array, mail, poll_until};

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

/// `health --json` through the daemon: the one mailbox's entry.
fn mailbox_health(env: &TestEnv) -> Value {
    let health = env.json(&["health"]);
    let mailboxes = array(&health["mailboxes"]);
    assert_eq!(mailboxes.len(), 1, "{health:#}");
    mailboxes[0].clone()
}

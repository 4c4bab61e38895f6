//! Writes that race: CLI clients working on the same tickets through the
//! daemon's API while replies to them arrive by mail. Every operation reads
//! the ticket and writes it back; none may lose another's update.

use std::time::Duration;

use serde_json::Value;

use crate::util::{Daemon, TestEnv, array, mail, poll_until, set};

/// CLI clients running at once, and the comments each adds.
const CLIENTS: usize = 6;
const COMMENTS_EACH: usize = 10;
/// Replies arriving by mail, spread over the tickets.
const REPLIES: usize = 60;
const TICKETS: usize = 2;

fn requester(ticket: usize) -> String {
    format!("requester{ticket}@customer.test")
}

fn opening(ticket: usize) -> Vec<u8> {
    mail(
        &[
            ("From", &requester(ticket)),
            ("To", "support@example.test"),
            ("Subject", &format!("Race {ticket}")),
            ("Message-ID", &format!("<open-{ticket}@customer.test>")),
        ],
        "Please help.",
    )
}

fn reply(ticket: usize, n: usize) -> Vec<u8> {
    mail(
        &[
            ("From", &requester(ticket)),
            ("To", "support@example.test"),
            ("Subject", &format!("Re: Race {ticket}")),
            ("Message-ID", &format!("<reply-{ticket}-{n}@customer.test>")),
            ("In-Reply-To", &format!("<open-{ticket}@customer.test>")),
        ],
        &format!("Reply {n}."),
    )
}

/// One client's work: comments (every third public), a close and a
/// reopen, a recipient added and removed, on alternating tickets.
fn client(env: &TestEnv, c: usize) {
    for n in 0..COMMENTS_EACH {
        let id = (1 + (c + n) % TICKETS).to_string();
        let text = format!("client {c} note {n}");
        let mut args = vec!["tickets", "comment", &id, "--text", &text];
        if n % 3 != 0 {
            args.push("--internal");
        }
        env.ok(&args);
        if n == 4 {
            env.ok(&["tickets", "close", &id]);
            env.ok(&["tickets", "reopen", &id]);
        }
        if n == 7 {
            let extra = format!("extra{c}@customer.test");
            env.ok(&["recipients", "add", &id, &extra]);
            env.ok(&["recipients", "remove", &id, &extra]);
        }
    }
}

/// (public comments, all comments) the clients added to `ticket`.
fn client_comments(ticket: usize) -> (usize, usize) {
    let (mut public, mut all) = (0, 0);
    for c in 0..CLIENTS {
        for n in 0..COMMENTS_EACH {
            if 1 + (c + n) % TICKETS == ticket {
                all += 1;
                public += usize::from(n % 3 == 0);
            }
        }
    }
    (public, all)
}

fn show(env: &TestEnv, id: usize) -> Value {
    env.json(&["tickets", "show", &id.to_string(), "--limit", "1000"])
}

#[test]
fn cli_operations_racing_mail_replies_lose_no_update() {
    let env = TestEnv::with_config(|c| {
        set(c, "inbound.maildir.poll_interval_ms", 20);
        set(c, "alerts.notify_staff", toml::Value::Array(Vec::new()));
    });
    let daemon = Daemon::start(&env);
    for t in 1..=TICKETS {
        env.drop_into_maildir(&format!("open-{t}"), &opening(t));
        poll_until("the ticket to open", Duration::from_secs(10), || {
            (array(&env.json(&["tickets", "list"])["tickets"]).len() == t).then_some(())
        });
    }
    std::thread::scope(|scope| {
        for c in 0..CLIENTS {
            let env = &env;
            scope.spawn(move || client(env, c));
        }
        for n in 0..REPLIES {
            env.drop_into_maildir(&format!("reply-{n}"), &reply(1 + n % TICKETS, n));
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    // Replies go round the tickets: each gets the same number.
    const _: () = assert!(REPLIES.is_multiple_of(TICKETS));
    let replies_in = |_: usize| REPLIES / TICKETS;
    poll_until(
        "every reply to be ingested",
        Duration::from_secs(30),
        || {
            let stored = env.json(&["messages", "list", "--all", "--limit", "1000"]);
            (array(&stored["messages"]).len() == TICKETS + REPLIES).then_some(())
        },
    );
    for t in 1..=TICKETS {
        check_ticket(&env, t, replies_in(t));
    }
    daemon.terminate();
}

/// Every comment once, counters and history in step with them, and one
/// relayed alert to the requester per public comment.
fn check_ticket(env: &TestEnv, t: usize, replies: usize) {
    let detail = show(env, t);
    let (public, by_clients) = client_comments(t);
    let comments = array(&detail["comments"]);
    assert_eq!(
        comments.len(),
        1 + by_clients + replies,
        "ticket {t}: every comment, once"
    );
    let seqs: Vec<u64> = comments.iter().filter_map(|c| c["seq"].as_u64()).collect();
    assert_eq!(
        seqs,
        (0..comments.len() as u64).collect::<Vec<_>>(),
        "ticket {t}: seq"
    );
    let ticket = &detail["ticket"];
    assert_eq!(
        ticket["comment_count"].as_u64(),
        Some(comments.len() as u64)
    );
    let events = array(&detail["events"]);
    assert_eq!(
        ticket["event_count"].as_u64(),
        Some(events.len() as u64),
        "ticket {t}: events"
    );
    let event_seqs: Vec<u64> = events.iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert_eq!(event_seqs, (0..events.len() as u64).collect::<Vec<_>>());
    // To the requester: an extra recipient, while there, gets some too.
    let relayed = array(&detail["outbox"])
        .iter()
        .filter(|i| i["kind"] == "public_reply" && i["recipient"] == requester(t).as_str())
        .count();
    assert_eq!(
        relayed, public,
        "ticket {t}: one relayed alert per public comment: {:#}",
        detail["outbox"]
    );
    assert_eq!(ticket["status"], "open");
    let recipients = array(&ticket["recipients"]);
    assert_eq!(
        recipients,
        [Value::from(requester(t))],
        "ticket {t}: extras removed"
    );
}

//! `ticketd serve` as a child process: mail dropped into the Maildir is
//! ingested and answered, the CLI goes through the local API while the
//! daemon holds the store, and SIGTERM stops it cleanly.

use std::time::Duration;

use serde_json::json;

use crate::util::{Daemon, Eml, TestEnv, fixture, set};

/// Longest wait for the daemon to act on something.
const DEADLINE: Duration = Duration::from_secs(10);

fn fast_maildir() -> TestEnv {
    TestEnv::with_config(|c| set(c, "inbound.maildir.poll_interval_ms", 50))
}

/// Waits until the outbound folder holds `count` mails of `kind`.
fn wait_for_mail(env: &TestEnv, kind: &str, count: usize) -> Vec<Eml> {
    crate::util::poll_until(
        &format!("{count} {kind} mail(s) in {}", env.outbound_dir().display()),
        DEADLINE,
        || {
            let found: Vec<Eml> = env
                .outbound()
                .into_iter()
                .filter(|m| m.kind == kind)
                .collect();
            assert!(found.len() <= count, "too many {kind} mails: {found:#?}");
            (found.len() == count).then_some(found)
        },
    )
}

fn file_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("reading a Maildir folder")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn daemon_ingests_the_maildir_serves_the_cli_and_stops_on_sigterm() {
    let env = fast_maildir();
    let mut daemon = Daemon::start(&env);

    env.drop_into_maildir("1700000000.M1P1.test", &fixture("new_customer.eml"));
    let acks = wait_for_mail(&env, "acknowledgement", 1);
    assert_eq!(acks[0].to, ["carol@customer.test"]);
    assert_eq!(acks[0].in_reply_to, ["req-1@customer.test"]);
    assert!(acks[0].subject.contains("[#1]"), "{:#?}", acks[0]);

    // The Maildir file moved to cur/ with the Seen flag.
    let moved = crate::util::poll_until("the Maildir file in cur/", DEADLINE, || {
        let cur = file_names(&env.maildir().join("cur"));
        (cur.len() == 1).then_some(cur)
    });
    assert_eq!(moved, ["1700000000.M1P1.test:2,S"]);
    assert_eq!(file_names(&env.maildir().join("new")), Vec::<String>::new());

    // The CLI works while the daemon holds the store: through the API.
    let tickets = env.tickets();
    assert_eq!(tickets.len(), 1, "{tickets:#?}");
    assert_eq!(tickets[0]["status"], "open");
    assert_eq!(tickets[0]["origin"], "customer_email");
    let closed = env.ok(&["tickets", "close", "1"]);
    assert!(closed.stdout.contains("#1 closed"), "{closed}");

    let closed_mails = wait_for_mail(&env, "ticket_closed", 2);
    let mut to: Vec<&str> = closed_mails.iter().map(|m| m.recipient()).collect();
    to.sort();
    assert_eq!(to, ["carol@customer.test", "colin@customer.test"]);
    daemon.assert_running();

    let status = daemon.terminate();
    assert!(status.success(), "ticketd serve exited with {status}");

    // The lock is released and the state was flushed: the CLI opens the
    // store itself now.
    let detail = env.ticket(1);
    assert_eq!(detail["ticket"]["status"], "closed");
    let outbox = env.outbox();
    assert_eq!(outbox.len(), 4, "{outbox:#?}");
    assert!(
        outbox.iter().all(|i| i["status"]["state"] == "sent"),
        "{outbox:#?}"
    );
}

#[test]
fn piped_ingest_goes_through_the_running_daemon() {
    let env = fast_maildir();
    let mut daemon = Daemon::start(&env);

    let run = env
        .run_stdin(&["--json", "ingest"], &fixture("new_customer.eml"))
        .assert_success();
    let reply = run.json();
    assert_eq!(
        reply["outcome"]["disposition"],
        json!({ "outcome": "new_ticket", "ticket": 1 }),
        "{run}"
    );
    // The same message again, as an MTA retrying would: nothing new.
    let again = env
        .run_stdin(&["--json", "ingest", "-"], &fixture("new_customer.eml"))
        .assert_success()
        .json();
    assert_eq!(again["outcome"]["duplicate"], true, "{again}");

    // The daemon's sender was woken and delivered the acknowledgement.
    let acks = wait_for_mail(&env, "acknowledgement", 1);
    assert_eq!(acks[0].to, ["carol@customer.test"]);

    // The store is the daemon's: a command that needs it directly fails,
    // so the ingest above really went through the API.
    let deliver = env.run(&["outbox", "deliver"]).assert_failure();
    assert!(
        deliver.stderr.contains("in use by another process"),
        "{deliver}"
    );
    daemon.assert_running();
    let status = daemon.terminate();
    assert!(status.success(), "ticketd serve exited with {status}");
}

/// The daemon's answer to a hand-written HTTP request.
#[derive(Debug)]
struct Reply {
    status: u16,
    /// The `error` of a JSON error body, or the whole body.
    error: String,
}

/// Sends `POST /v1/ops` announcing `announced` body bytes but sending
/// only `body`, then reads the answer without sending the rest (a reply
/// not sent before the body is complete fails the test after 10 s).
fn post_ops(port: u16, token: Option<&str>, announced: usize, body: &[u8]) -> Reply {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connecting");
    stream
        .set_read_timeout(Some(DEADLINE))
        .expect("a read timeout");
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let head = format!(
        "POST /v1/ops HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {announced}\r\n{auth}\r\n"
    );
    stream.write_all(head.as_bytes()).expect("sending the head");
    stream.write_all(body).expect("sending the body");
    let mut raw = Vec::new();
    if let Err(e) = stream.read_to_end(&mut raw) {
        let sent = if raw.is_empty() {
            "nothing"
        } else {
            "part of a reply"
        };
        panic!("the daemon sent {sent} before the body was complete ({e})");
    }
    parse_reply(&String::from_utf8_lossy(&raw))
}

fn parse_reply(raw: &str) -> Reply {
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP reply: {raw}"));
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let error = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.to_string());
    Reply { status, error }
}

/// The start of an ingest request far larger than what is sent of it.
fn huge_ingest_start() -> (usize, Vec<u8>) {
    let mut start = br#"{"op":"ingest","raw":""#.to_vec();
    start.resize(4096, b'A');
    (20 << 20, start)
}

#[test]
fn unauthenticated_requests_are_refused_before_their_body_is_read() {
    let env = TestEnv::new();
    let mut daemon = Daemon::start(&env);
    let refused = |reply: Reply| {
        assert_eq!(reply.status, 401, "{reply:?}");
        assert_eq!(reply.error, "missing or wrong API token", "{reply:?}");
    };

    let (announced, start) = huge_ingest_start();
    refused(post_ops(env.api_port, None, announced, &start));
    refused(post_ops(env.api_port, Some("wrong"), announced, &start));
    for body in [&b"{not json"[..], br#"{"op":"no_such_op"}"#, b"{\"op\":"] {
        refused(post_ops(env.api_port, None, body.len(), body));
    }

    daemon.assert_running();
    assert_eq!(env.tickets().len(), 0);
}

#[test]
fn an_authenticated_client_sending_a_bad_body_gets_a_short_400() {
    let env = TestEnv::new();
    let _daemon = Daemon::start(&env);
    let token = std::fs::read_to_string(env.path().join("store/api-token")).expect("the token");
    for body in [&b"{not json"[..], br#"{"op":"no_such_op"}"#, b"{\"op\":"] {
        let reply = post_ops(env.api_port, Some(&token), body.len(), body);
        assert_eq!(reply.status, 400, "{reply:?}");
        assert!(reply.error.len() < 120, "{reply:?}");
    }
}

#[test]
fn an_empty_api_token_file_left_by_a_crash_is_replaced_at_start() {
    let env = TestEnv::new();
    let store = env.path().join("store");
    std::fs::create_dir_all(&store).expect("creating the store directory");
    std::fs::write(store.join("api-token"), "").expect("writing an empty token file");

    let mut daemon = Daemon::start(&env);
    let run = env
        .run_stdin(&["--json", "ingest"], &fixture("new_customer.eml"))
        .assert_success();
    assert_eq!(run.json()["outcome"]["disposition"]["ticket"], 1, "{run}");
    assert_eq!(env.tickets().len(), 1);
    let token = std::fs::read_to_string(store.join("api-token")).expect("the token");
    assert_eq!(token.len(), 48, "{token:?}");
    daemon.assert_running();
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
}

/// `path` and everything under it that group or others may use.
fn shared_paths(path: &std::path::Path) -> Vec<String> {
    let mut shared = Vec::new();
    if mode(path) & 0o077 != 0 {
        shared.push(format!("{} {:o}", path.display(), mode(path) & 0o7777));
    }
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path).expect("listing a directory") {
            shared.extend(shared_paths(&entry.expect("an entry").path()));
        }
    }
    shared
}

#[test]
fn the_store_the_token_and_outgoing_mail_are_private() {
    let env = fast_maildir();
    let daemon = Daemon::start(&env);
    env.run_stdin(&["ingest"], &fixture("new_customer.eml"))
        .assert_success();
    wait_for_mail(&env, "acknowledgement", 1);
    let status = daemon.terminate();
    assert!(status.success(), "ticketd serve exited with {status}");

    let store = env.path().join("store");
    assert!(store.join("api-token").is_file());
    assert_eq!(shared_paths(&store), Vec::<String>::new());
    assert_eq!(shared_paths(&env.outbound_dir()), Vec::<String>::new());
}

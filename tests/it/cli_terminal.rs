//! What the CLI writes to a terminal: mail content with escape sequences
//! comes out visible but inert (no ESC, C1 or bidi control reaches the
//! terminal, in human or `--json` output), and a reader that goes away
//! early (`| head -1`) ends the command quietly.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use crate::util::{BIN, Run, TestEnv, mail, run_command, wait_with_deadline};

/// Sets the window title, then clears the screen; then an 8-bit CSI (SGR
/// red) and a right-to-left override.
const HOSTILE_SUBJECT: &str = "Invoice \x1b]0;pwned\x07\x1b[2J\u{9b}31m due \u{202e}fdp.exe";

/// Raw ESC (CSI, OSC 52 clipboard writes with both terminators), an
/// 8-bit CSI, DEL and a left-to-right isolate in the body.
const HOSTILE_BODY: &str = "Please pay.\x1b[2J\x1b]52;c;ZXZpbA==\x07\n\
                            Copy this: \x1b]52;c;ZXZpbA==\x1b\\ now\n\
                            Status: \u{9b}6n done\x7f, see \u{2066}attached\u{2069}.\n";

/// Characters that must never reach a terminal raw.
fn is_unsafe(c: char) -> bool {
    let code = c as u32;
    (c.is_control() && c != '\n' && c != '\t')
        || (0x202a..=0x202e).contains(&code)
        || (0x2066..=0x2069).contains(&code)
}

#[track_caller]
fn assert_terminal_safe(what: &str, stdout: &str) {
    let found: Vec<char> = stdout.chars().filter(|&c| is_unsafe(c)).collect();
    assert!(
        found.is_empty(),
        "{what} printed raw control characters {found:?}:\n{stdout}"
    );
}

/// `=?utf-8?b?...?=`: the subject as one RFC 2047 encoded word.
fn encoded_word(text: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    format!("=?utf-8?b?{encoded}?=")
}

fn ingest_hostile_mail(env: &TestEnv) {
    let outcome = env.ingest(&mail(
        &[
            ("From", "mallory@customer.test"),
            ("To", "support@example.test"),
            ("Subject", &encoded_word(HOSTILE_SUBJECT)),
            ("Message-ID", "<escape-1@customer.test>"),
        ],
        HOSTILE_BODY,
    ));
    assert_eq!(outcome["disposition"]["outcome"], "new_ticket", "{outcome}");
}

#[test]
fn escape_sequences_in_mail_never_reach_the_terminal() {
    let env = TestEnv::new();
    ingest_hostile_mail(&env);
    for args in [
        &["tickets", "list"][..],
        &["tickets", "show", "1"],
        &["messages", "list", "--all"],
        &["outbox", "list"],
    ] {
        let run = env.ok(args);
        assert_terminal_safe(&args.join(" "), &run.stdout);
    }
    let show = env.ok(&["tickets", "show", "1"]).stdout;
    assert!(show.contains(r"Invoice \x1b]0;pwned\x07\x1b[2J"), "{show}");
    assert!(show.contains(r"\u{9b}31m due \u{202e}fdp.exe"), "{show}");
    assert!(show.contains("Please pay."), "{show}");
    assert!(
        show.contains("Copy this:") && show.contains("Status:"),
        "the body's own lines stay lines: {show}"
    );
}

#[test]
fn json_output_escapes_controls_and_decodes_to_the_original() {
    let env = TestEnv::new();
    ingest_hostile_mail(&env);
    let list = env.ok(&["--json", "tickets", "list"]);
    assert_terminal_safe("tickets list --json", &list.stdout);
    assert_eq!(list.json()["tickets"][0]["subject"], HOSTILE_SUBJECT);

    let show = env.ok(&["--json", "tickets", "show", "1"]);
    assert_terminal_safe("tickets show --json", &show.stdout);
    let detail = show.json();
    assert_eq!(detail["ticket"]["subject"], HOSTILE_SUBJECT);
    let text = detail["comments"][0]["text"].as_str().unwrap_or_default();
    assert!(text.contains("\x1b]52;c;ZXZpbA==\x07"), "{text:?}");
    assert!(text.contains("\u{9b}6n done\x7f"), "{text:?}");
    assert!(text.contains("\u{2066}attached\u{2069}"), "{text:?}");

    let messages = env.ok(&["--json", "messages", "list", "--all"]);
    assert_terminal_safe("messages list --json", &messages.stdout);
    let subject = &messages.json()["messages"][0]["subject"];
    assert_eq!(subject, &Value::from(HOSTILE_SUBJECT));
}

/// An error message quotes its input (here the configuration file's
/// name) as it was given.
#[test]
fn errors_quoting_input_are_cleaned() {
    let env = TestEnv::new();
    let name = "no\x1b]0;pwned\x07\u{9b}2J\u{202e}.toml";
    let missing = env.path().join(name).display().to_string();
    let run = run_with_config(&missing, &["tickets", "list"]);
    assert_eq!(run.code(), Some(1), "{run}");
    assert_terminal_safe("the error message", &run.stderr);
    assert!(run.stderr.contains(r"no\x1b]0;pwned\x07\u{9b}2J"), "{run}");

    let run = run_with_config(&missing, &["--json", "tickets", "list"]);
    assert_eq!(run.code(), Some(1), "{run}");
    assert_terminal_safe("the JSON error", &run.stdout);
    let error = run.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(error.contains(name), "{error:?}");
}

/// `ticketd --config CONFIG ARGS...` to completion.
fn run_with_config(config: &str, args: &[&str]) -> Run {
    let mut command = Command::new(BIN);
    command.arg("--config").arg(config).args(args);
    run_command(command, args.iter().map(|a| a.to_string()).collect(), None)
}

/// `ticketd tickets show 1 | head -1` with a body far larger than a pipe's
/// buffer: the reader goes away after one line while ticketd still has
/// most of the body to write.
#[test]
fn a_reader_that_closes_early_ends_the_command_quietly() {
    let env = TestEnv::new();
    let body: String = (0..8_000)
        .map(|n| format!("line {n:05} of a long report\n"))
        .collect();
    assert!(body.len() > 200_000);
    env.ingest(&mail(
        &[
            ("From", "carol@customer.test"),
            ("To", "support@example.test"),
            ("Subject", "A long report"),
            ("Message-ID", "<long-1@customer.test>"),
        ],
        &body,
    ));
    let mut child = env
        .command(&["tickets", "show", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting ticketd");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut first = String::new();
    stdout
        .read_line(&mut first)
        .expect("reading the first line");
    assert!(first.contains("A long report"), "{first:?}");
    drop(stdout);

    let status = wait_with_deadline(&mut child, Duration::from_secs(30)).expect("ticketd ends");
    let mut stderr = String::new();
    let mut pipe = child.stderr.take().expect("piped stderr");
    pipe.read_to_string(&mut stderr).expect("reading stderr");
    assert!(!stderr.contains("panicked"), "{status}: {stderr}");
    assert!(!stderr.contains("Broken pipe"), "{status}: {stderr}");
    assert!(status.success(), "{status}: {stderr}");
}

//! The fixture corpus: every message under `tests/corpus/<origin>/` goes
//! through the real ingest seam ([`ticketd::ingest::ingest`]) into a fresh
//! store built from the shipped configuration, and what happened is compared
//! with the expectation stored beside it in `<name>.expected.toml`.
//!
//! A fixture that answers one of our mails names a `parent` fixture. The
//! parent is ingested first; placeholders in the child are then replaced by
//! what ticketd generated for the parent's ticket:
//!
//! | placeholder          | replaced by                                          |
//! |----------------------|------------------------------------------------------|
//! | `{{TICKET}}`         | the parent's ticket number                           |
//! | `{{ALERT_ID}}`       | Message-ID of the first alert queued to the customer |
//! | `{{STAFF_ALERT_ID}}` | Message-ID of the first staff notification           |
//! | `{{REPLY_TO}}`       | the ticket's customer reply address (keyed token)    |
//! | `{{STAFF_REPLY_TO}}` | the first staff address's personal reply address     |
//! | `{{LOOP_ID}}`        | this desk's loop id (its `X-Ticketd-Loop` value)     |
//!
//! The test reports every fixture that differs, field by field, then fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::desk::Desk;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use ticketd::config::Config;
use ticketd::ingest::Outcome;
use ticketd::ingest::classify::{ClassifyContext, classify};
use ticketd::model::outbox::{OutboxItem, OutboxStatus};
use ticketd::model::{Disposition, Source, TicketId};

use crate::util::{ROOT, TestEnv};

/// Fewest messages the corpus must hold.
const MIN_CORPUS: usize = 60;

/// The expectation stored beside a fixture. Optional fields are checked
/// only when given.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// What the message is and why the expectation holds.
    pub about: String,
    /// Where today's behaviour, pinned here, falls short (documentation).
    pub known_gap: Option<String>,
    /// Fixture (relative to `tests/corpus`) to ingest first.
    pub parent: Option<String>,
    /// `new_ticket`, `comment`, `ignored` or `quarantined`.
    pub disposition: String,
    /// Classifier kind (`human`, `automated`, `auto_reply`, `bounce`,
    /// `own_loop`); required unless quarantined.
    pub kind: Option<String>,
    /// Classifier rule that fired.
    pub rule: Option<String>,
    /// Sender verdict (`sender:outside`, `staff:reply-token`, ...).
    pub sender_rule: Option<String>,
    /// Threading rule (`thread:own-message-id`, ...).
    pub thread_rule: Option<String>,
    /// Whether the outcome names the parent's ticket (default: true for a
    /// comment, false otherwise).
    pub threaded: Option<bool>,
    /// New ticket's origin.
    pub origin: Option<String>,
    /// New ticket's category.
    pub category: Option<String>,
    /// New ticket's stored subject, exactly.
    pub subject: Option<String>,
    /// Kinds of alerts queued to people outside (pending).
    pub customer_alerts: Vec<String>,
    /// Kinds of alerts held back by a loop guard (default: none).
    #[serde(default)]
    pub suppressed_alerts: Vec<String>,
    /// Kinds of alerts queued to staff.
    pub staff_alerts: Option<Vec<String>>,
    /// Role of the stored comment.
    pub comment_role: Option<String>,
    /// Visibility of the stored comment.
    pub comment_visibility: Option<String>,
    /// Substrings of the stored comment text.
    #[serde(default)]
    pub text_contains: Vec<String>,
    /// Substrings the stored comment text must not contain.
    #[serde(default)]
    pub text_excludes: Vec<String>,
    /// Attachment names stored with the comment.
    pub attachments: Option<Vec<String>>,
    /// Substring of the quarantine reason.
    pub reason_contains: Option<String>,
}

/// One corpus message.
pub struct Fixture {
    /// Path relative to `tests/corpus`, e.g. `bounce/exim-unrouteable.eml`.
    pub name: String,
    /// Raw bytes as stored (placeholders not yet replaced).
    pub raw: Vec<u8>,
    /// Its expectation.
    pub expected: Expected,
}

/// The corpus directory.
pub fn corpus_dir() -> PathBuf {
    Path::new(ROOT).join("tests/corpus")
}

/// Every fixture, sorted by name. Panics on a missing or invalid sidecar.
pub fn load_corpus() -> Vec<Fixture> {
    let root = corpus_dir();
    let mut paths = Vec::new();
    collect_eml(&root, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path
                .strip_prefix(&root)
                .expect("a corpus path")
                .display()
                .to_string();
            let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {name}: {e}"));
            let expected = read_toml(&path.with_extension("expected.toml"));
            Fixture {
                name,
                raw,
                expected,
            }
        })
        .collect()
}

fn collect_eml(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading the corpus directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect_eml(&path, out);
        } else if path.extension().is_some_and(|e| e == "eml") {
            out.push(path);
        }
    }
}

fn read_toml<T: DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("every fixture needs {}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A desk over a fresh store, configured like the shipped example.
pub fn fresh_desk() -> (TestEnv, Desk) {
    let env = TestEnv::new();
    let config = Config::load(&env.config_path()).expect("the test configuration loads");
    let desk = Desk::open(config).expect("the desk opens");
    (env, desk)
}

/// Ingests raw bytes as a test source would.
pub fn feed(desk: &Desk, raw: &[u8], name: &str) -> Outcome {
    desk.ingest(raw, Source::Other(format!("corpus:{name}")))
        .unwrap_or_else(|e| panic!("{name}: ingest returned an error: {e:#}"))
}

/// What the parent's ticket gives the placeholders.
pub struct ParentThread {
    /// The ticket.
    pub ticket: TicketId,
    /// Placeholder -> value.
    pub values: Vec<(&'static str, String)>,
}

/// Ingests the parent fixture and collects the placeholder values.
pub fn open_parent(desk: &Desk, corpus: &[Fixture], parent: &str) -> Result<ParentThread, String> {
    let fixture = corpus
        .iter()
        .find(|f| f.name == parent)
        .ok_or_else(|| format!("parent {parent} is not in the corpus"))?;
    let outcome = feed(desk, &fixture.raw, parent);
    let Disposition::NewTicket { ticket } = outcome.disposition else {
        return Err(format!(
            "parent {parent} must open a ticket, got {}",
            outcome.disposition
        ));
    };
    let items = outbox(desk);
    let first = |staff: bool| {
        items
            .iter()
            .find(|i| i.ticket == ticket && i.to_staff == staff)
            .map(|i| i.message_id.clone())
            .ok_or_else(|| format!("parent {parent} queued no alert (to_staff = {staff})"))
    };
    let base = desk.config.reply_base_address();
    let staff = desk
        .config
        .staff
        .addresses
        .iter()
        .next()
        .ok_or("the configuration has no staff address")?;
    Ok(ParentThread {
        ticket,
        values: vec![
            ("{{TICKET}}", ticket.to_string()),
            ("{{ALERT_ID}}", first(false)?),
            ("{{STAFF_ALERT_ID}}", first(true)?),
            ("{{REPLY_TO}}", desk.key.reply_address(base, ticket)),
            (
                "{{STAFF_REPLY_TO}}",
                desk.key.staff_reply_address(base, ticket, staff),
            ),
            ("{{LOOP_ID}}", desk.config.loop_id().to_string()),
        ],
    })
}

/// Replaces every placeholder; fails when one is left over.
pub fn fill_placeholders(raw: &[u8], parent: Option<&ParentThread>) -> Result<Vec<u8>, String> {
    let mut out = raw.to_vec();
    for (token, value) in parent.map(|p| p.values.as_slice()).unwrap_or_default() {
        out = replace_bytes(&out, token.as_bytes(), value.as_bytes());
    }
    match PLACEHOLDERS
        .iter()
        .find(|t| find_bytes(&out, t.as_bytes()).is_some())
    {
        Some(token) => Err(format!("{token} left in the message (no parent?)")),
        None => Ok(out),
    }
}

const PLACEHOLDERS: [&str; 6] = [
    "{{LOOP_ID}}",
    "{{TICKET}}",
    "{{ALERT_ID}}",
    "{{STAFF_ALERT_ID}}",
    "{{REPLY_TO}}",
    "{{STAFF_REPLY_TO}}",
];

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = find_bytes(rest, needle) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// Every outbox item, oldest first.
pub fn outbox(desk: &Desk) -> Vec<OutboxItem> {
    let mut items = desk.store.outbox_items().expect("reading the outbox");
    items.reverse();
    items
}

fn snake<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

/// What one fixture did, as comparable text fields.
#[derive(Default)]
struct Observed {
    fields: BTreeMap<&'static str, String>,
    text: Option<String>,
    problems: Vec<String>,
}

impl Observed {
    fn set(&mut self, key: &'static str, value: impl Into<String>) {
        self.fields.insert(key, value.into());
    }
}

/// Runs one fixture in a fresh store and lists every mismatch.
fn check_fixture(fixture: &Fixture, corpus: &[Fixture]) -> Vec<String> {
    let (_env, desk) = fresh_desk();
    let parent = match fixture.expected.parent.as_deref() {
        Some(p) => match open_parent(&desk, corpus, p) {
            Ok(parent) => Some(parent),
            Err(e) => return vec![e],
        },
        None => None,
    };
    let raw = match fill_placeholders(&fixture.raw, parent.as_ref()) {
        Ok(raw) => raw,
        Err(e) => return vec![e],
    };
    let observed = observe(&desk, &raw, &fixture.name, parent.as_ref());
    compare(&fixture.expected, &observed)
}

fn observe(desk: &Desk, raw: &[u8], name: &str, parent: Option<&ParentThread>) -> Observed {
    let mut seen = Observed::default();
    let before = outbox(desk).len();
    let outcome = feed(desk, raw, name);
    if outcome.duplicate {
        seen.problems
            .push("the first ingest was reported as a duplicate".into());
    }
    observe_classification(desk, raw, &outcome, &mut seen);
    observe_disposition(desk, &outcome, parent, &mut seen);
    observe_alerts(&outbox(desk)[before..], &mut seen);
    let after = outbox(desk).len();
    let again = feed(desk, raw, name);
    if !again.duplicate || again.disposition != outcome.disposition || outbox(desk).len() != after {
        seen.problems
            .push(format!("ingesting it again was not a no-op: {again:?}"));
    }
    seen
}

fn observe_classification(desk: &Desk, raw: &[u8], outcome: &Outcome, seen: &mut Observed) {
    let mut parts = outcome.rule.split("; ");
    if let Ok(mail) = ticketd::ingest::mail::parse(raw) {
        let class = classify(&mail, ClassifyContext::new(&desk.config, &desk.key));
        seen.set("kind", snake(&class.kind));
        seen.set("rule", class.rule.clone());
        if parts.next() != Some(class.rule.as_str()) {
            seen.problems.push(format!(
                "the stored rule {:?} does not start with the classifier's {:?}",
                outcome.rule, class.rule
            ));
        }
        seen.set("sender_rule", parts.next().unwrap_or("(none)"));
        seen.set("thread_rule", parts.next().unwrap_or("(none)"));
    }
}

fn observe_disposition(
    desk: &Desk,
    outcome: &Outcome,
    parent: Option<&ParentThread>,
    seen: &mut Observed,
) {
    let (name, comment_seq) = match &outcome.disposition {
        Disposition::NewTicket { .. } => ("new_ticket", Some(0)),
        Disposition::Comment { seq, .. } => ("comment", Some(*seq)),
        Disposition::Ignored { .. } => ("ignored", None),
        Disposition::Quarantined { reason } => {
            seen.set("reason", reason.clone());
            ("quarantined", None)
        }
    };
    seen.set("disposition", name);
    let ticket = outcome.disposition.ticket();
    let threaded = ticket.is_some() && ticket == parent.map(|p| p.ticket);
    seen.set("threaded", threaded.to_string());
    let (Some(id), Some(seq)) = (ticket, comment_seq) else {
        return;
    };
    let Ok(Some(t)) = desk.store.ticket(id) else {
        seen.problems.push(format!("ticket #{id} is not stored"));
        return;
    };
    if seq == 0 {
        seen.set("origin", t.origin.as_str());
        seen.set("category", t.category.unwrap_or_else(|| "(none)".into()));
        seen.set("subject", t.subject);
    }
    let comments = desk.store.comments(id).unwrap_or_default();
    match comments.into_iter().find(|c| c.seq == seq) {
        Some(c) => {
            seen.set("comment_role", snake(&c.role));
            seen.set("comment_visibility", snake(&c.visibility));
            let names: Vec<&str> = c.attachments.iter().map(|a| a.name.as_str()).collect();
            seen.set("attachments", format!("{names:?}"));
            seen.text = Some(c.text);
        }
        None => seen
            .problems
            .push(format!("comment {seq} of #{id} is not stored")),
    }
}

fn observe_alerts(new_items: &[OutboxItem], seen: &mut Observed) {
    let kinds = |keep: &dyn Fn(&OutboxItem) -> bool| -> String {
        let list: Vec<&str> = new_items
            .iter()
            .filter(|i| keep(i))
            .map(|i| i.kind.event_name())
            .collect();
        format!("{list:?}")
    };
    let pending = |i: &OutboxItem| i.status == OutboxStatus::Pending;
    let suppressed = |i: &OutboxItem| matches!(i.status, OutboxStatus::Suppressed { .. });
    seen.set("customer_alerts", kinds(&|i| !i.to_staff && pending(i)));
    seen.set("staff_alerts", kinds(&|i| i.to_staff && pending(i)));
    seen.set("suppressed_alerts", kinds(&suppressed));
}

fn list(items: &[String]) -> String {
    let refs: Vec<&str> = items.iter().map(String::as_str).collect();
    format!("{refs:?}")
}

fn expected_fields(e: &Expected) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("disposition", Some(e.disposition.clone())),
        ("kind", e.kind.clone()),
        ("rule", e.rule.clone()),
        ("sender_rule", e.sender_rule.clone()),
        ("thread_rule", e.thread_rule.clone()),
        (
            "threaded",
            Some(e.threaded.unwrap_or(e.disposition == "comment").to_string()),
        ),
        ("origin", e.origin.clone()),
        ("category", e.category.clone()),
        ("subject", e.subject.clone()),
        ("customer_alerts", Some(list(&e.customer_alerts))),
        ("suppressed_alerts", Some(list(&e.suppressed_alerts))),
        ("staff_alerts", e.staff_alerts.as_deref().map(list)),
        ("comment_role", e.comment_role.clone()),
        ("comment_visibility", e.comment_visibility.clone()),
        ("attachments", e.attachments.as_deref().map(list)),
    ]
}

fn compare(expected: &Expected, seen: &Observed) -> Vec<String> {
    let mut out = seen.problems.clone();
    if expected.disposition != "quarantined" && expected.kind.is_none() {
        out.push("the expectation must name the classifier kind".into());
    }
    for (key, want) in expected_fields(expected) {
        let Some(want) = want else { continue };
        let got = seen.fields.get(key).map(String::as_str).unwrap_or("(none)");
        if got != want {
            out.push(format!("{key}: expected {want:?}, got {got:?}"));
        }
    }
    if let Some(want) = &expected.reason_contains {
        let got = seen.fields.get("reason").map(String::as_str).unwrap_or("");
        if !got.contains(want.as_str()) {
            out.push(format!("reason: expected to contain {want:?}, got {got:?}"));
        }
    }
    compare_text(expected, seen, &mut out);
    out
}

fn compare_text(expected: &Expected, seen: &Observed, out: &mut Vec<String>) {
    if expected.text_contains.is_empty() && expected.text_excludes.is_empty() {
        return;
    }
    let Some(text) = &seen.text else {
        out.push("text: no stored comment to check".into());
        return;
    };
    for want in &expected.text_contains {
        if !text.contains(want.as_str()) {
            out.push(format!("text: missing {want:?} in {text:?}"));
        }
    }
    for unwanted in &expected.text_excludes {
        if text.contains(unwanted.as_str()) {
            out.push(format!("text: must not contain {unwanted:?}, got {text:?}"));
        }
    }
}

#[test]
fn every_corpus_message_has_its_expected_outcome() {
    let corpus = load_corpus();
    assert!(
        corpus.len() >= MIN_CORPUS,
        "the corpus holds {} messages, at least {MIN_CORPUS} expected",
        corpus.len()
    );
    let mut report = Vec::new();
    for fixture in &corpus {
        let mismatches = check_fixture(fixture, &corpus);
        if !mismatches.is_empty() {
            let gap = fixture
                .expected
                .known_gap
                .as_deref()
                .map(|g| format!("\n    known gap: {g}"))
                .unwrap_or_default();
            report.push(format!(
                "{}\n    ({}){gap}\n    {}",
                fixture.name,
                fixture.expected.about,
                mismatches.join("\n    ")
            ));
        }
    }
    assert!(
        report.is_empty(),
        "{} of {} corpus messages differ from their expectation:\n\n{}\n",
        report.len(),
        corpus.len(),
        report.join("\n\n")
    );
}

#[test]
fn the_corpus_covers_every_origin_and_outcome() {
    let corpus = load_corpus();
    let folders: std::collections::BTreeSet<&str> = corpus
        .iter()
        .filter_map(|f| f.name.split_once('/').map(|(dir, _)| dir))
        .collect();
    for origin in [
        "autoreply",
        "bounce",
        "list",
        "machine",
        "human",
        "charset",
        "attachments",
        "malformed",
        "loop",
        "staff",
    ] {
        assert!(folders.contains(origin), "no fixtures in {origin}/");
    }
    for outcome in ["new_ticket", "comment", "ignored", "quarantined"] {
        assert!(
            corpus.iter().any(|f| f.expected.disposition == outcome),
            "no fixture expects {outcome}"
        );
    }
    for kind in ["human", "automated", "auto_reply", "bounce", "own_loop"] {
        assert!(
            corpus
                .iter()
                .any(|f| f.expected.kind.as_deref() == Some(kind)),
            "no fixture expects kind {kind}"
        );
    }
}

/// The decision is visible where people look: in the log line of the
/// ingest and in `tickets show`, for the opening mail and for an ignored
/// auto-reply that belongs to the ticket.
#[test]
fn the_rule_that_fired_is_logged_and_shown_on_the_ticket() {
    let corpus = load_corpus();
    let raw = |name: &str| {
        corpus
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{name} is in the corpus"))
            .raw
            .clone()
    };
    let env = TestEnv::new();
    env.ingest(&raw("human/gmail-new-request.eml"));
    env.deliver();
    let ack = env
        .outbound()
        .into_iter()
        .find(|m| m.kind == "acknowledgement")
        .expect("an acknowledgement");
    let parent = ParentThread {
        ticket: TicketId(1),
        values: vec![
            ("{{TICKET}}", "1".into()),
            (
                "{{ALERT_ID}}",
                ack.message_id.clone().expect("a Message-ID"),
            ),
            ("{{REPLY_TO}}", ack.reply_to[0].clone()),
        ],
    };
    let oof = fill_placeholders(&raw("autoreply/exchange-online-oof.eml"), Some(&parent))
        .expect("placeholders filled");
    let run = env.ingest_run(&oof).assert_success();
    assert!(
        run.stderr
            .contains("auto-reply:auto-submitted=auto-replied"),
        "{run}"
    );
    let show = env.ok(&["tickets", "show", "1"]);
    for line in [
        "rule: human:default; sender:outside",
        "ignored (auto-reply:auto-submitted=auto-replied), related to #1",
        "rule: auto-reply:auto-submitted=auto-replied; sender:outside; thread:own-message-id",
    ] {
        assert!(show.stdout.contains(line), "missing {line:?}:\n{show}");
    }
}

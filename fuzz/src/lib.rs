//! Shared set-up for ticketd's fuzz targets (see `docs/fuzzing.md`): the
//! shipped example configuration adapted for fuzzing, a throw-away desk
//! that one fuzzing process reuses, and the checks every ingested message
//! must pass.
//!
//! The desk is rebuilt from scratch every [`INPUTS_PER_DESK`] inputs so the
//! store (which keeps every raw message) stays small and fast, and each new
//! desk starts with ticket #1 opened by [`BASE_TICKET`], so fuzzed replies
//! (`[#1]` in the subject, `In-Reply-To: <req-1@customer.test>`) reach the
//! comment, staff-command and reopen paths, not only new tickets.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use ticketd::config::Config;
use ticketd::face::App as Desk;
use ticketd::ingest::{Outcome, ingest};
use ticketd::ingest::mail;
use ticketd::model::{Disposition, Source};
use ticketd::notify::compose::compose;
use ticketd::notify::templates::Templates;
use ticketd::model::outbox::OutboxItem;

/// How many inputs one desk takes before a fresh one replaces it.
pub const INPUTS_PER_DESK: u32 = 2_000;

/// The customer mail that opens ticket #1 on every fresh desk.
pub const BASE_TICKET: &[u8] = include_bytes!("../../tests/fixtures/new_customer.eml");

/// The repository root (the fuzz crate lives in `fuzz/`).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The shipped example configuration with staff proof by
/// `Authentication-Results` from `mx.example.test` switched on, so fuzzed
/// mail can reach the staff paths (`#close`, `#internal`) the honest way.
/// Store and templates are set by the caller.
pub fn config() -> Config {
    let text = include_str!("../../config/ticketd.toml").replace(
        "# authserv_id = \"mx.example.test\"",
        "authserv_id = \"mx.example.test\"",
    );
    let mut config = Config::parse(&text, Path::new("config/ticketd.toml"))
        .unwrap_or_else(|e| panic!("the example config must parse: {e}"));
    config.templates_dir = repo_root().join("templates");
    config.secret = Some("fuzzing-secret-0123456789abcdef".into());
    config
}

/// A desk over a fresh store in its own temp dir.
pub struct Session {
    _dir: tempfile::TempDir,
    /// The desk.
    pub desk: Desk,
    /// Outbox items up to this id were already checked.
    pub outbox_checked: u64,
    inputs: u32,
}

impl Session {
    fn new() -> Session {
        // Every write is synced: on tmpfs that costs nothing.
        let dir = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .unwrap_or_else(|e| panic!("temp dir: {e}"));
        let mut config = config();
        config.store_path = dir.path().join("store");
        let desk = Desk::open(config).unwrap_or_else(|e| panic!("desk opens: {e:#}"));
        let mut session = Session {
            _dir: dir,
            desk,
            outbox_checked: 0,
            inputs: 0,
        };
        let base = session.feed(BASE_TICKET);
        assert!(
            matches!(base.disposition, Disposition::NewTicket { .. }),
            "base ticket not opened: {base:?}"
        );
        session
    }

    /// Ingests `raw` and checks the outcome; see [`check_outcome`].
    pub fn feed(&mut self, raw: &[u8]) -> Outcome {
        let desk = &self.desk;
        let outcome = ingest(&*desk.store, &desk.workflow, raw, Source::Other("fuzz".into()))
            .unwrap_or_else(|e| panic!("ingest returned Err on a healthy store: {e:#}"));
        check_outcome(&self.desk, raw, &outcome);
        self.outbox_checked = check_new_outbox_items(&self.desk, self.outbox_checked);
        outcome
    }
}

/// Runs `f` on the process's session, replacing it with a fresh one every
/// [`INPUTS_PER_DESK`] inputs.
pub fn with_session<R>(f: impl FnOnce(&mut Session) -> R) -> R {
    static SESSION: Mutex<Option<Session>> = Mutex::new(None);
    let mut slot = SESSION.lock().unwrap_or_else(PoisonError::into_inner);
    if slot.as_ref().is_some_and(|s| s.inputs >= INPUTS_PER_DESK) {
        // Drop the old store (and its temp dir) before opening the next.
        *slot = None;
    }
    let session = slot.get_or_insert_with(Session::new);
    session.inputs += 1;
    f(session)
}

/// What must hold after any input: the outcome is stored under the
/// message's fingerprint, and nothing was quarantined because ticketd
/// itself failed (a bug) rather than because the input was bad.
pub fn check_outcome(desk: &Desk, raw: &[u8], outcome: &Outcome) {
    let parsed = mail::parse(raw).ok();
    let fingerprint = mail::fingerprint(parsed.as_ref(), raw);
    let record = desk
        .store
        .message(&fingerprint)
        .unwrap_or_else(|e| panic!("reading the message record: {e:#}"))
        .unwrap_or_else(|| panic!("no message record under {fingerprint}: {outcome:?}"));
    assert_eq!(record.disposition, outcome.disposition, "stored outcome");
    if let Disposition::Quarantined { reason } = &outcome.disposition {
        let expected = reason.starts_with("unparseable:") || reason.starts_with("message of ");
        assert!(expected, "quarantined by a ticketd failure: {reason}");
    }
    if let Some(ticket) = outcome.disposition.ticket() {
        let ticket = desk
            .store
            .ticket(ticket)
            .unwrap_or_else(|e| panic!("reading the outcome's ticket: {e:#}"))
            .unwrap_or_else(|| panic!("the outcome's ticket is missing"));
        assert!(!ticket.subject.is_empty(), "ticket with an empty subject");
    }
}

/// Composes every outbox item queued after `checked` (what the sender
/// would send) and checks that mail content did not leak into headers.
/// Returns the highest id checked.
pub fn check_new_outbox_items(desk: &Desk, checked: u64) -> u64 {
    let (config, key) = (&desk.workflow.config, &desk.workflow.key);
    let templates = Templates::new(&config.templates_dir);
    let mut id = checked;
    while let Some(item) = next_outbox_item(desk, id) {
        id = item.id;
        let message = compose(&item, config, key, &templates)
            .unwrap_or_else(|e| panic!("outbox item {id} does not compose: {e}"));
        check_headers(&item, &message.formatted());
    }
    id
}

fn next_outbox_item(desk: &Desk, after: u64) -> Option<OutboxItem> {
    desk.store
        .outbox_item(after + 1)
        .unwrap_or_else(|e| panic!("reading outbox item {}: {e:#}", after + 1))
}

/// The only header fields ticketd's outgoing mail may carry.
const ALLOWED_HEADERS: [&str; 15] = [
    "from",
    "reply-to",
    "to",
    "subject",
    "message-id",
    "date",
    "x-ticketd-loop",
    "in-reply-to",
    "references",
    "auto-submitted",
    "x-auto-response-suppress",
    "precedence",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
];

/// An outgoing `In-Reply-To` or `References` must be plain `<id>` tokens
/// (RFC 5322 msg-id: printable US-ASCII), or the receiver cannot thread
/// the answer; lettre would encode anything else as an RFC 2047 word.
fn check_msg_ids(name: &str, value: &str) {
    for token in value.split_whitespace() {
        let inner = token
            .strip_prefix('<')
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or_else(|| panic!("{name} token {token:?} is not <id> in {value:?}"));
        assert!(
            !inner.is_empty()
                && inner
                    .chars()
                    .all(|c| c.is_ascii_graphic() && c != '<' && c != '>'),
            "{name} id {inner:?} is not printable US-ASCII in {value:?}"
        );
    }
}

fn check_headers(item: &OutboxItem, formatted: &[u8]) {
    let message = mail_parser::MessageParser::default()
        .parse(formatted)
        .unwrap_or_else(|| panic!("outgoing mail does not parse"));
    let mut names: Vec<String> = message
        .root_part()
        .headers
        .iter()
        .map(|h| h.name.as_str().to_ascii_lowercase())
        .collect();
    for name in &names {
        assert!(
            ALLOWED_HEADERS.contains(&name.as_str()),
            "unexpected header {name:?} in outgoing mail:\n{}",
            String::from_utf8_lossy(formatted)
        );
    }
    for header in &message.root_part().headers {
        let name = header.name.as_str();
        if name.eq_ignore_ascii_case("in-reply-to") || name.eq_ignore_ascii_case("references") {
            let raw = formatted
                .get(header.offset_start as usize..header.offset_end as usize)
                .unwrap_or_default();
            check_msg_ids(name, &String::from_utf8_lossy(raw));
        }
    }
    let total = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), total, "a header appears twice");
    let to: Vec<&str> = message
        .to()
        .into_iter()
        .flat_map(|a| a.iter())
        .filter_map(|a| a.address())
        .collect();
    assert_eq!(
        to.len(),
        1,
        "outgoing mail to exactly one recipient: {to:?}"
    );
    assert!(
        to[0].eq_ignore_ascii_case(&item.recipient),
        "To {:?} is not the item's recipient {:?}",
        to[0],
        item.recipient
    );
}

//! Loop protection end to end: two ticketd daemons pointed at each other.
//!
//! Desk A (`support@a.test`) and desk B (`support@b.test`) each run
//! `ticketd serve` with a Maildir drop folder and the file transport. The
//! test plays the mail system between them: in rounds, every `.eml` one
//! desk wrote to the other's support address is delivered into the other's
//! Maildir, through a gateway that may strip headers, until nothing new
//! goes either way. Three conversations start it: a person writing to A
//! from B's support mailbox, A's staff opening a ticket for B's address,
//! and B's staff opening a ticket for A's address and answering on it.
//!
//! Whatever the gateway strips, the desks exchange at most one automatic
//! message per thread (per ticket of the sending desk). With every
//! identifying header and tag stripped, only the per-recipient limit is
//! left, and it ends the exchange.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use mail_parser::MessageParser;
use serde_json::Value;

use crate::util::{Daemon, Eml, TestEnv, poll_until, set};

/// Longest wait for both desks to finish a round.
const SETTLE: Duration = Duration::from_secs(20);
/// Rounds after which the exchange must have stopped.
const MAX_ROUNDS: usize = 8;

/// What the mail system between the desks does to each message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gateway {
    /// Delivers it as it is.
    Faithful,
    /// Drops the automatic-mail markers and the threading headers
    /// (Auto-Submitted, X-Auto-Response-Suppress, Precedence, our loop
    /// header, In-Reply-To, References), as a careless relay might.
    StripMarkers,
    /// Also removes every ticket tag from the subject.
    StripEverything,
}

const MARKERS: [&str; 6] = [
    "auto-submitted",
    "x-auto-response-suppress",
    "precedence",
    "x-ticketd-loop",
    "in-reply-to",
    "references",
];

/// One desk: its installation, its daemon, what was already delivered.
struct Desk {
    name: &'static str,
    support: &'static str,
    env: TestEnv,
    _daemon: Daemon,
    delivered: BTreeSet<String>,
}

impl Desk {
    fn start(name: &'static str, tag: &str, rate_limit: u32) -> Desk {
        let support = match name {
            "a" => "support@a.test",
            _ => "support@b.test",
        };
        let env = TestEnv::with_config(|c| {
            set(c, "instance.name", format!("desk-{name}"));
            set(c, "instance.support_addresses", vec![support.to_string()]);
            set(
                c,
                "instance.from_name",
                format!("Desk {}", name.to_uppercase()),
            );
            set(c, "staff.addresses", vec![format!("staff@{name}.test")]);
            set(c, "threading.subject_tag", format!("[{tag}#{{id}}]"));
            set(c, "inbound.maildir.poll_interval_ms", 50);
            set(c, "alerts.rate_limit_max", i64::from(rate_limit));
        });
        let daemon = Daemon::start(&env);
        Desk {
            name,
            support,
            env,
            _daemon: daemon,
            delivered: BTreeSet::new(),
        }
    }

    /// Delivers `raw` into this desk's Maildir (tmp/, then new/).
    fn receive(&self, file: &str, raw: &[u8]) {
        self.env.drop_into_maildir(file, raw);
    }

    /// Whether the Maildir is drained and nothing waits in the outbox.
    fn is_idle(&self) -> bool {
        let new_is_empty = std::fs::read_dir(self.env.maildir().join("new"))
            .map(|mut d| d.next().is_none())
            .unwrap_or(true);
        new_is_empty
            && self.env.json(&["outbox", "list", "--status", "pending"])["items"]
                .as_array()
                .is_some_and(Vec::is_empty)
    }

    /// Outbox files addressed to `other` not delivered yet, sorted.
    fn new_mail_for(&mut self, other: &str) -> Vec<(String, Vec<u8>)> {
        let dir = self.env.outbound_dir();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".eml") && !self.delivered.contains(n))
            .collect();
        names.sort();
        let mut out = Vec::new();
        for name in names {
            let raw = std::fs::read(dir.join(&name)).expect("reading an .eml");
            if Eml::parse(&raw, "")
                .to
                .iter()
                .any(|to| is_address_of(to, other))
            {
                out.push((name.clone(), raw));
            }
            self.delivered.insert(name);
        }
        out
    }

    /// Outbox items addressed to `other` (JSON, as `outbox list` shows).
    fn items_to(&self, other: &str) -> Vec<Value> {
        self.env
            .outbox()
            .into_iter()
            .filter(|i| {
                i["recipient"]
                    .as_str()
                    .is_some_and(|r| is_address_of(r, other))
            })
            .collect()
    }
}

/// `address` is `support` or a plus-tagged form of it.
fn is_address_of(address: &str, support: &str) -> bool {
    let (local, domain) = support.split_once('@').unwrap_or((support, ""));
    let address = address.to_ascii_lowercase();
    address == support
        || (address.starts_with(&format!("{local}+")) && address.ends_with(&format!("@{domain}")))
}

/// Applies the gateway to a raw message.
fn through(gateway: Gateway, raw: &[u8]) -> Vec<u8> {
    if gateway == Gateway::Faithful {
        return raw.to_vec();
    }
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut kept: Vec<String> = Vec::new();
    let mut dropping = false;
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if !dropping && let Some(last) = kept.last_mut() {
                last.push('\n');
                last.push_str(line);
            }
            continue;
        }
        let name = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let subject = gateway == Gateway::StripEverything && name == "subject";
        dropping = MARKERS.contains(&name.as_str()) || subject;
        if !dropping {
            kept.push(line.to_string());
        }
    }
    if gateway == Gateway::StripEverything {
        kept.push(format!("Subject: {}", untagged_subject(raw)));
    }
    format!("{}\n\n{body}", kept.join("\n")).into_bytes()
}

/// The decoded subject with every `[X#n]` tag removed.
fn untagged_subject(raw: &[u8]) -> String {
    let subject = MessageParser::default()
        .parse(raw)
        .and_then(|m| m.subject().map(str::to_string))
        .unwrap_or_default();
    let tags = regex::Regex::new(r"\[[AB]#\d+\]").expect("a valid regex");
    tags.replace_all(&subject, "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Waits until both desks are idle.
fn settle(a: &Desk, b: &Desk) {
    poll_until("both desks idle", SETTLE, || {
        (a.is_idle() && b.is_idle()).then_some(())
    });
}

/// Shuttles mail both ways through `gateway` until a round moves nothing;
/// returns the number of messages moved.
fn exchange(a: &mut Desk, b: &mut Desk, gateway: Gateway) -> usize {
    let mut moved = 0;
    for round in 0..MAX_ROUNDS {
        settle(a, b);
        let to_b = a.new_mail_for(b.support);
        let to_a = b.new_mail_for(a.support);
        if to_a.is_empty() && to_b.is_empty() {
            return moved;
        }
        for (name, raw) in &to_b {
            b.receive(&format!("{round}.from-a.{name}"), &through(gateway, raw));
        }
        for (name, raw) in &to_a {
            a.receive(&format!("{round}.from-b.{name}"), &through(gateway, raw));
        }
        moved += to_a.len() + to_b.len();
    }
    panic!("the desks still exchange mail after {MAX_ROUNDS} rounds ({moved} messages)");
}

/// Starts the three conversations described in the module docs.
fn seed(a: &Desk, b: &Desk) {
    let person = crate::util::mail(
        &[
            ("From", "Bea at Desk B <support@b.test>"),
            ("To", "support@a.test"),
            ("Subject", "Pallets for next week"),
            ("Message-ID", "<bea-1@b.test>"),
        ],
        "Hi, can you send us six pallets next week?\nBea",
    );
    a.receive("seed.person", &person);
    a.env.ok(&[
        "tickets",
        "create",
        "--subject",
        "Invoice 7781 overdue",
        "--requester",
        "support@b.test",
        "--text",
        "Please pay invoice 7781.",
    ]);
    let created = b.env.json(&[
        "tickets",
        "create",
        "--subject",
        "Broken pallet in delivery 12",
        "--requester",
        "support@a.test",
        "--text",
        "One pallet arrived broken.",
    ]);
    let id = created["ticket"]
        .as_u64()
        .unwrap_or_else(|| panic!("no ticket id in {created}"))
        .to_string();
    b.env.ok(&[
        "tickets",
        "comment",
        &id,
        "--text",
        "Photos are attached to the delivery note.",
    ]);
}

/// Per desk and ticket: automatic messages sent to the other desk.
fn automatic_per_thread(from: &Desk, to: &Desk) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for item in from.items_to(to.support) {
        if item["kind"] != "public_reply" && item["status"]["state"] == "sent" {
            *counts
                .entry(format!("desk {} ticket #{}", from.name, item["ticket"]))
                .or_insert(0) += 1;
        }
    }
    counts
}

fn assert_at_most_one_per_thread(a: &Desk, b: &Desk) -> usize {
    let mut all = automatic_per_thread(a, b);
    all.extend(automatic_per_thread(b, a));
    let looping: Vec<_> = all.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        looping.is_empty(),
        "more than one automatic message in a thread: {looping:?}\nA -> B: {:#?}\nB -> A: {:#?}",
        a.items_to(b.support),
        b.items_to(a.support)
    );
    all.values().sum()
}

/// Kinds of the mail `from` sent to `to`, sorted.
fn kinds(from: &Desk, to: &Desk) -> Vec<String> {
    let mut kinds: Vec<String> = from
        .items_to(to.support)
        .iter()
        .filter(|i| i["status"]["state"] == "sent")
        .filter_map(|i| i["kind"].as_str().map(str::to_string))
        .collect();
    kinds.sort();
    kinds
}

fn desks(rate_limit: u32) -> (Desk, Desk) {
    (
        Desk::start("a", "A", rate_limit),
        Desk::start("b", "B", rate_limit),
    )
}

#[test]
fn two_desks_exchange_at_most_one_automatic_message_per_thread() {
    let (mut a, mut b) = desks(10);
    seed(&a, &b);
    let moved = exchange(&mut a, &mut b, Gateway::Faithful);
    assert_at_most_one_per_thread(&a, &b);
    // A acknowledges Bea, announces its ticket, and acknowledges B's public
    // reply (it names only B's Message-IDs, so at A it opens a ticket); B
    // announces its ticket and relays its staff's reply. Nothing answers
    // an automatic message.
    assert_eq!(
        kinds(&a, &b),
        ["acknowledgement", "acknowledgement", "new_ticket"]
    );
    assert_eq!(kinds(&b, &a), ["new_ticket", "public_reply"]);
    assert_eq!(moved, 5);
    // B recognised A's acknowledgement as an auto-reply and did nothing.
    let ignored = b.env.json(&["messages", "list", "--ignored"]);
    let rules: Vec<&str> = ignored["messages"]
        .as_array()
        .map(|m| m.iter().filter_map(|r| r["rule"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        rules
            .iter()
            .any(|r| r.starts_with("auto-reply:auto-submitted=auto-replied")),
        "{ignored:#}"
    );
    // A's announcement became a silent automated ticket at B.
    let at_b = b.env.tickets();
    assert!(
        at_b.iter()
            .any(|t| t["origin"] == "automated_email" && t["requester"] == "support@a.test"),
        "{at_b:#?}"
    );
}

#[test]
fn with_markers_and_threading_headers_stripped_the_desks_still_stop() {
    let (mut a, mut b) = desks(10);
    seed(&a, &b);
    let moved = exchange(&mut a, &mut b, Gateway::StripMarkers);
    assert_at_most_one_per_thread(&a, &b);
    // Without markers each desk takes the other's first automatic message
    // for a person's and acknowledges it once; the acknowledgement carries
    // the other desk's tag in its subject, so there it lands as a comment
    // on the ticket it belongs to, and nothing answers a comment.
    assert_eq!(
        kinds(&a, &b),
        [
            "acknowledgement",
            "acknowledgement",
            "acknowledgement",
            "new_ticket"
        ]
    );
    assert_eq!(
        kinds(&b, &a),
        [
            "acknowledgement",
            "acknowledgement",
            "new_ticket",
            "public_reply"
        ]
    );
    assert_eq!(moved, 8);
    let suppressed: Vec<Value> = a
        .items_to(b.support)
        .into_iter()
        .chain(b.items_to(a.support))
        .filter(|i| i["status"]["state"] == "suppressed")
        .collect();
    assert!(
        suppressed.is_empty(),
        "the subject tags end it, the limits are not needed: {suppressed:#?}"
    );
}

#[test]
fn stripped_of_everything_the_per_recipient_limit_ends_the_exchange() {
    let limit = 3;
    let (mut a, mut b) = desks(limit);
    a.receive(
        "seed.person",
        &crate::util::mail(
            &[
                ("From", "Bea at Desk B <support@b.test>"),
                ("To", "support@a.test"),
                ("Subject", "Pallets for next week"),
                ("Message-ID", "<bea-2@b.test>"),
            ],
            "Six pallets, please.",
        ),
    );
    exchange(&mut a, &mut b, Gateway::StripEverything);
    assert_at_most_one_per_thread(&a, &b);
    let sent = |from: &Desk, to: &Desk| {
        from.items_to(to.support)
            .iter()
            .filter(|i| i["status"]["state"] == "sent")
            .count()
    };
    assert_eq!(sent(&a, &b), limit as usize, "A stops at the limit");
    assert_eq!(sent(&b, &a), limit as usize, "B stops at the limit");
    let held_back: Vec<String> = a
        .items_to(b.support)
        .iter()
        .filter_map(|i| i["status"]["rule"].as_str().map(str::to_string))
        .collect();
    assert_eq!(held_back.len(), 1, "{held_back:?}");
    assert!(
        held_back[0].starts_with("rate-limit:recipient: 3 automatic messages"),
        "{held_back:?}"
    );
}

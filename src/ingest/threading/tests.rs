//! Table-driven tests for threading: which ticket a reply belongs to (own
//! Message-IDs, reply-address tokens, stored Message-IDs, subject tags and
//! their priority), plus `subject_tag` and `clean_subject`.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::*;

const EXAMPLE: &str = include_str!("../../../config/ticketd.toml");
const SUPPORT: &str = "support@example.test";
const STAFF: &str = "staff@example.test";
const ALICE: &str = "alice@customer.test";
const BOB: &str = "bob@customer.test";
const MALLORY: &str = "mallory@evil.test";

fn config() -> Config {
    match Config::parse(EXAMPLE, Path::new("config/ticketd.toml")) {
        Ok(c) => c,
        Err(e) => panic!("example config: {e}"),
    }
}

fn config_with_tag(tag: &str) -> Config {
    let text = EXAMPLE.replace(
        "subject_tag = \"[#{id}]\"",
        &format!("subject_tag = \"{tag}\""),
    );
    assert_ne!(
        text, EXAMPLE,
        "example config no longer has the subject_tag line"
    );
    match Config::parse(&text, Path::new("config/ticketd.toml")) {
        Ok(c) => c,
        Err(e) => panic!("config with tag {tag}: {e}"),
    }
}

fn key() -> ThreadKey {
    ThreadKey::new(b"threading-test-secret-0123".to_vec())
}

fn other_key() -> ThreadKey {
    ThreadKey::new(b"some-other-installation-key".to_vec())
}

/// The store, faked: stored inbound ids and ticket participants.
struct FakeStore {
    message_ids: HashMap<String, TicketId>,
    participants: HashMap<TicketId, HashSet<String>>,
}

impl ThreadLookup for FakeStore {
    fn ticket_for_message_id(&self, message_id: &str) -> Option<TicketId> {
        self.message_ids.get(message_id).copied()
    }

    fn is_participant(&self, ticket: TicketId, address: &str) -> Option<bool> {
        self.participants.get(&ticket).map(|p| p.contains(address))
    }
}

/// Tickets 7 (alice) and 12 (alice, bob); 99 does not exist.
fn store() -> FakeStore {
    let set = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<HashSet<_>>();
    FakeStore {
        message_ids: [
            ("cust-7@customer.test".to_string(), TicketId(7)),
            ("cust-12@customer.test".to_string(), TicketId(12)),
            ("ghost@customer.test".to_string(), TicketId(99)),
        ]
        .into_iter()
        .collect(),
        participants: [
            (TicketId(7), set(&[ALICE])),
            (TicketId(12), set(&[ALICE, BOB])),
        ]
        .into_iter()
        .collect(),
    }
}

/// One row: a reply and the expected match.
struct Case {
    name: &'static str,
    mail: InboundMail,
    staff: bool,
    expected: Option<ThreadMatch>,
}

fn mail(from: &str) -> InboundMail {
    InboundMail {
        from: Some(from.to_string()),
        to: vec![SUPPORT.to_string()],
        subject: "Question".into(),
        ..InboundMail::default()
    }
}

fn with(mut m: InboundMail, f: impl FnOnce(&mut InboundMail)) -> InboundMail {
    f(&mut m);
    m
}

fn cases() -> Vec<Case> {
    use ThreadMatch::*;
    let k = key();
    let own7 = k.message_id(TicketId(7), 3, "example.test");
    let own99 = k.message_id(TicketId(99), 1, "example.test");
    let foreign7 = other_key().message_id(TicketId(7), 3, "example.test");
    let forged8 = own7.replacen("t7.", "t12.", 1);
    let reply7 = k.reply_address(SUPPORT, TicketId(7));
    let reply99 = k.reply_address(SUPPORT, TicketId(99));
    let staff_reply7 = k.staff_reply_address(SUPPORT, TicketId(7), STAFF);
    vec![
        // 1. our own Message-IDs
        Case {
            name: "own id in In-Reply-To, stranger",
            mail: with(mail(MALLORY), |m| m.in_reply_to = vec![own7.clone()]),
            staff: false,
            expected: Some(OwnMessageId(TicketId(7))),
        },
        Case {
            name: "own id deep in References",
            mail: with(mail(BOB), |m| {
                m.references = vec![own7.clone(), "x@y.test".into(), "z@y.test".into()]
            }),
            staff: false,
            expected: Some(OwnMessageId(TicketId(7))),
        },
        Case {
            name: "own id, token of another key",
            mail: with(mail(MALLORY), |m| m.in_reply_to = vec![foreign7.clone()]),
            staff: false,
            expected: None,
        },
        Case {
            name: "own id with token moved to another ticket",
            mail: with(mail(MALLORY), |m| m.in_reply_to = vec![forged8.clone()]),
            staff: false,
            expected: None,
        },
        Case {
            name: "own id with forged token, staff",
            mail: with(mail(STAFF), |m| m.in_reply_to = vec![forged8.clone()]),
            staff: true,
            expected: None,
        },
        Case {
            name: "own id for a ticket that does not exist",
            mail: with(mail(ALICE), |m| m.in_reply_to = vec![own99.clone()]),
            staff: true,
            expected: None,
        },
        // 2. reply addresses
        Case {
            name: "reply address in To, stranger",
            mail: with(mail(MALLORY), |m| m.to = vec![reply7.clone()]),
            staff: false,
            expected: Some(ReplyAddress(TicketId(7))),
        },
        Case {
            name: "reply address in Cc",
            mail: with(mail(BOB), |m| m.cc = vec![reply7.clone()]),
            staff: false,
            expected: Some(ReplyAddress(TicketId(7))),
        },
        Case {
            name: "reply address only in Delivered-To",
            mail: with(mail(ALICE), |m| {
                m.to = vec!["someone@else.test".into()];
                m.delivered_to = vec![reply7.clone()];
            }),
            staff: false,
            expected: Some(ReplyAddress(TicketId(7))),
        },
        Case {
            name: "reply address with tampered ticket number",
            mail: with(mail(ALICE), |m| {
                m.to = vec![reply7.replace("+t7.", "+t12.")]
            }),
            staff: false,
            expected: None,
        },
        Case {
            name: "reply address token on a non-support domain",
            mail: with(mail(ALICE), |m| {
                m.to = vec![k.reply_address("support@other.test", TicketId(7))]
            }),
            staff: false,
            expected: None,
        },
        Case {
            name: "reply address for a missing ticket",
            mail: with(mail(ALICE), |m| m.to = vec![reply99.clone()]),
            staff: true,
            expected: None,
        },
        Case {
            name: "staff reply address from that staff member",
            mail: with(mail(STAFF), |m| m.to = vec![staff_reply7.clone()]),
            staff: false,
            expected: Some(StaffReplyAddress(TicketId(7))),
        },
        Case {
            name: "staff reply address from someone else",
            mail: with(mail(MALLORY), |m| m.to = vec![staff_reply7.clone()]),
            staff: false,
            expected: None,
        },
        Case {
            name: "staff reply address from a participant who is not that staff member",
            mail: with(mail(ALICE), |m| m.to = vec![staff_reply7.clone()]),
            staff: false,
            expected: None,
        },
        Case {
            name: "staff reply address turned into a ticket token",
            mail: with(mail(MALLORY), |m| {
                m.to = vec![staff_reply7.replace("+s7.", "+t7.")]
            }),
            staff: false,
            expected: None,
        },
        // 3. stored inbound Message-IDs
        Case {
            name: "stored id, participant",
            mail: with(mail(ALICE), |m| {
                m.references = vec!["cust-7@customer.test".into()]
            }),
            staff: false,
            expected: Some(StoredMessageId(TicketId(7))),
        },
        Case {
            name: "stored id, participant of that ticket only",
            mail: with(mail(BOB), |m| {
                m.in_reply_to = vec!["cust-12@customer.test".into()]
            }),
            staff: false,
            expected: Some(StoredMessageId(TicketId(12))),
        },
        Case {
            name: "stored id, non-participant",
            mail: with(mail(BOB), |m| {
                m.references = vec!["cust-7@customer.test".into()]
            }),
            staff: false,
            expected: None,
        },
        Case {
            name: "stored id, stranger",
            mail: with(mail(MALLORY), |m| {
                m.in_reply_to = vec!["cust-7@customer.test".into()]
            }),
            staff: false,
            expected: None,
        },
        Case {
            name: "stored id, staff",
            mail: with(mail(STAFF), |m| {
                m.in_reply_to = vec!["cust-7@customer.test".into()]
            }),
            staff: true,
            expected: Some(StoredMessageId(TicketId(7))),
        },
        Case {
            name: "stored id of a ticket that no longer exists",
            mail: with(mail(ALICE), |m| {
                m.in_reply_to = vec!["ghost@customer.test".into()]
            }),
            staff: false,
            expected: None,
        },
        Case {
            name: "unknown id, participant",
            mail: with(mail(ALICE), |m| {
                m.in_reply_to = vec!["unknown@customer.test".into()]
            }),
            staff: false,
            expected: None,
        },
        // 4. subject tags
        Case {
            name: "tag, participant",
            mail: with(mail(BOB), |m| m.subject = "[#12] Printer".into()),
            staff: false,
            expected: Some(SubjectTag(TicketId(12))),
        },
        Case {
            name: "tag after Re:, participant",
            mail: with(mail(ALICE), |m| m.subject = "Re: [#12] Printer".into()),
            staff: false,
            expected: Some(SubjectTag(TicketId(12))),
        },
        Case {
            name: "tag at the end, with space inside",
            mail: with(mail(ALICE), |m| m.subject = "AW: Printer [# 7]".into()),
            staff: false,
            expected: Some(SubjectTag(TicketId(7))),
        },
        Case {
            name: "tag, staff",
            mail: with(mail(STAFF), |m| m.subject = "Re: [#7] Printer".into()),
            staff: true,
            expected: Some(SubjectTag(TicketId(7))),
        },
        Case {
            name: "tag, staff address but not proven staff",
            mail: with(mail(STAFF), |m| m.subject = "Re: [#7] Printer".into()),
            staff: false,
            expected: None,
        },
        Case {
            name: "tag, stranger",
            mail: with(mail(MALLORY), |m| m.subject = "Re: [#12] Printer".into()),
            staff: false,
            expected: None,
        },
        Case {
            name: "tag of another customer's ticket",
            mail: with(mail(BOB), |m| m.subject = "Re: [#7] Printer".into()),
            staff: false,
            expected: None,
        },
        Case {
            name: "tag for a missing ticket, participant elsewhere",
            mail: with(mail(ALICE), |m| m.subject = "Re: [#99] Printer".into()),
            staff: false,
            expected: None,
        },
        Case {
            name: "tag, no From at all",
            mail: with(mail(ALICE), |m| {
                m.from = None;
                m.subject = "[#7]".into();
            }),
            staff: false,
            expected: None,
        },
        Case {
            name: "no signal at all",
            mail: mail(ALICE),
            staff: true,
            expected: None,
        },
        // priority
        Case {
            name: "own id beats tag for another ticket",
            mail: with(mail(ALICE), |m| {
                m.in_reply_to = vec![own7.clone()];
                m.subject = "Re: [#12] Printer".into();
            }),
            staff: false,
            expected: Some(OwnMessageId(TicketId(7))),
        },
        Case {
            name: "own id beats reply address for another ticket",
            mail: with(mail(ALICE), |m| {
                m.references = vec![k.message_id(TicketId(12), 1, "example.test")];
                m.to = vec![reply7.clone()];
            }),
            staff: false,
            expected: Some(OwnMessageId(TicketId(12))),
        },
        Case {
            name: "reply address beats stored id",
            mail: with(mail(ALICE), |m| {
                m.to = vec![reply7.clone()];
                m.in_reply_to = vec!["cust-12@customer.test".into()];
            }),
            staff: false,
            expected: Some(ReplyAddress(TicketId(7))),
        },
        Case {
            name: "stored id beats tag",
            mail: with(mail(ALICE), |m| {
                m.in_reply_to = vec!["cust-12@customer.test".into()];
                m.subject = "Re: [#7]".into();
            }),
            staff: false,
            expected: Some(StoredMessageId(TicketId(12))),
        },
        Case {
            name: "forged own id falls through to the tag",
            mail: with(mail(ALICE), |m| {
                m.in_reply_to = vec![forged8.clone()];
                m.subject = "Re: [#7]".into();
            }),
            staff: false,
            expected: Some(SubjectTag(TicketId(7))),
        },
        Case {
            name: "own id of missing ticket falls through to reply address",
            mail: with(mail(ALICE), |m| {
                m.in_reply_to = vec![own99.clone()];
                m.to = vec![reply7.clone()];
            }),
            staff: false,
            expected: Some(ReplyAddress(TicketId(7))),
        },
    ]
}

fn show(m: Option<ThreadMatch>) -> String {
    match m {
        Some(m) => format!("{} #{}", m.rule(), m.ticket()),
        None => "no match (new ticket)".into(),
    }
}

#[test]
fn find_thread_table() {
    let config = config();
    let key = key();
    let store = store();
    let cases = cases();
    let mut failures = Vec::new();
    for case in &cases {
        let got = find_thread(&case.mail, &key, &config, case.staff, &store);
        if got != case.expected {
            failures.push(format!(
                "| {:<60} | expected {:<36} | got {:<36} |",
                case.name,
                show(case.expected),
                show(got)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Module docs: the tag matches "when that ticket exists and the sender is
/// a participant or staff", and "a tag for a missing ticket ... matches
/// nothing". Staff naming a non-existent ticket must open a new one rather
/// than be threaded into a ticket that isn't there.
#[test]
fn staff_tag_for_missing_ticket_matches_nothing() {
    let m = with(mail(STAFF), |m| m.subject = "Re: [#99] Printer".into());
    assert_eq!(find_thread(&m, &key(), &config(), true, &store()), None);
}

#[test]
fn thread_match_ticket_and_rule() {
    use ThreadMatch::*;
    let table = [
        (OwnMessageId(TicketId(1)), 1, "thread:own-message-id"),
        (ReplyAddress(TicketId(2)), 2, "thread:reply-address"),
        (
            StaffReplyAddress(TicketId(3)),
            3,
            "thread:staff-reply-address",
        ),
        (StoredMessageId(TicketId(4)), 4, "thread:stored-message-id"),
        (SubjectTag(TicketId(5)), 5, "thread:subject-tag"),
    ];
    for (m, ticket, rule) in table {
        assert_eq!((m.ticket(), m.rule()), (TicketId(ticket), rule), "{m:?}");
    }
}

#[test]
fn subject_tag_table() {
    let config = config();
    let table: [(&str, Option<u64>); 15] = [
        ("[#12]", Some(12)),
        ("[#12] Printer", Some(12)),
        ("Re: [#12] Printer", Some(12)),
        ("Printer [#12]", Some(12)),
        ("[# 12]", Some(12)),
        ("[#0012]", Some(12)),
        ("first [#3] then [#4]", Some(3)),
        ("[#999999999999999999]", Some(999_999_999_999_999_999)),
        ("[#1234567890123456789]", None),
        ("#12", None),
        ("[12]", None),
        ("[#12", None),
        ("[#abc]", None),
        ("[#]", None),
        ("", None),
    ];
    for (subject, expected) in table {
        assert_eq!(
            subject_tag(subject, &config),
            expected.map(TicketId),
            "{subject:?}"
        );
    }
}

#[test]
fn subject_tag_with_custom_format() {
    let config = config_with_tag("[Ticket {id}]");
    assert_eq!(config.threading.tag(TicketId(5)), "[Ticket 5]");
    let table: [(&str, Option<u64>); 7] = [
        ("[Ticket 12] Printer", Some(12)),
        ("Re: [ticket 12] Printer", Some(12)),
        ("RE: [TICKET 12]", Some(12)),
        ("[Ticket12]", Some(12)),
        ("[#12] Printer", None),
        ("Ticket 12", None),
        ("[Ticket 12", None),
    ];
    for (subject, expected) in table {
        assert_eq!(
            subject_tag(subject, &config),
            expected.map(TicketId),
            "{subject:?}"
        );
    }
    assert_eq!(clean_subject("Re: [Ticket 12] Printer", &config), "Printer");
    // The default tag is just text under this format.
    assert_eq!(clean_subject("Re: [#12] Printer", &config), "[#12] Printer");
}

#[test]
fn custom_tag_threads_participants() {
    let config = config_with_tag("[Ticket {id}]");
    let m = with(mail(BOB), |m| m.subject = "Re: [Ticket 12] Printer".into());
    assert_eq!(
        find_thread(&m, &key(), &config, false, &store()),
        Some(ThreadMatch::SubjectTag(TicketId(12)))
    );
}

#[test]
fn clean_subject_table() {
    let config = config();
    let table = [
        ("Re: [#12] Printer", "Printer"),
        ("[#12] Re: Printer", "Printer"),
        ("AW: Fwd: RE: x", "x"),
        ("Re:Re:Re: x", "x"),
        ("FW: WG: SV: VS: TR: RV: ODP: ANTW: RES: x", "x"),
        ("", "(no subject)"),
        ("   ", "(no subject)"),
        ("Re:", "(no subject)"),
        ("Re: [#12]", "(no subject)"),
        ("  Printer \t  on   fire  ", "Printer on fire"),
        ("Printer [#12] on fire", "Printer on fire"),
        ("Reply needed", "Reply needed"),
        ("Resume: attached", "Resume: attached"),
        ("Printer: Re: jam", "Printer: Re: jam"),
        ("Re: Grüße [#3] aus Köln", "Grüße aus Köln"),
    ];
    for (subject, expected) in table {
        assert_eq!(clean_subject(subject, &config), expected, "{subject:?}");
    }
}

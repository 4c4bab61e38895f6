//! Table-driven tests for the mail classifier: one row per rule in the
//! module docs (own loop, bounces, auto-replies, admin rules, machine mail,
//! humans) plus rows pinning the order in which the rules are tried.
//! The rows and the tests of each rule live in the files below, by topic;
//! the table, its helpers and the tests that span several rules stay here.

mod admin_rules;
mod auto_replies;
mod bounces;
mod humans;
mod machine_mail;
mod own_loop;

use std::collections::BTreeSet;

use regex::Regex;

use super::*;
use crate::model::TicketId;

/// One table row: a mail description and the expected decision.
struct Case {
    name: &'static str,
    from: Option<&'static str>,
    subject: &'static str,
    headers: &'static [(&'static str, &'static str)],
    content_type: &'static str,
    report_type: Option<&'static str>,
    has_delivery_status: bool,
    /// Message-ID; [`OURS`] stands for one of our own.
    message_id: Option<&'static str>,
    /// In-Reply-To ids; [`OURS`] stands for one of our own.
    in_reply_to: &'static [&'static str],
    /// To addresses; [`REPLY`] stands for our keyed reply address.
    to: &'static [&'static str],
    kind: MailKind,
    rule: &'static str,
    category: Option<&'static str>,
}

/// Stands for a Message-ID of ours (our domain, a verified token).
const OURS: &str = "<ours>";
/// Stands for our keyed customer reply address of ticket 1.
const REPLY: &str = "<reply>";

/// A plain human mail; rows override what they need.
const BASE: Case = Case {
    name: "",
    from: Some("alice@customer.test"),
    subject: "Printer is broken",
    headers: &[],
    content_type: "text/plain",
    report_type: None,
    has_delivery_status: false,
    message_id: Some("a1@customer.test"),
    in_reply_to: &[],
    to: &["support@example.test"],
    kind: MailKind::Human,
    rule: "human:default",
    category: None,
};

fn re(pattern: &str) -> Regex {
    Regex::new(&format!("(?i){pattern}")).expect("test regex compiles")
}

fn rules() -> Vec<AutomatedRule> {
    vec![
        AutomatedRule {
            name: "monitoring".into(),
            from: Some(re("^(nagios|zabbix)@")),
            subject: None,
            headers: Vec::new(),
            category: Some("monitoring".into()),
        },
        AutomatedRule {
            name: "cron".into(),
            from: None,
            subject: Some(re("^Cron <")),
            headers: vec![("x-cron-env".into(), re("."))],
            category: None,
        },
        AutomatedRule {
            name: "billing".into(),
            from: Some(re("@erp\\.test$")),
            subject: Some(re("invoice")),
            headers: Vec::new(),
            category: Some("billing".into()),
        },
    ]
}

/// Everything a [`ClassifyContext`] borrows.
struct Setup {
    support: BTreeSet<String>,
    rules: Vec<AutomatedRule>,
    key: ThreadKey,
}

impl Setup {
    fn new(rules: Vec<AutomatedRule>) -> Setup {
        Setup {
            support: ["support@example.test", "help@example.test"]
                .into_iter()
                .map(String::from)
                .collect(),
            rules,
            key: ThreadKey::new(b"classifier-test-secret".to_vec()),
        }
    }

    fn ctx(&self) -> ClassifyContext<'_> {
        ClassifyContext {
            loop_id: "ticketd",
            support_addresses: &self.support,
            automated_rules: &self.rules,
            key: &self.key,
            message_id_domain: "example.test",
        }
    }

    fn own_id(&self) -> String {
        self.key.message_id(TicketId(1), 1, "example.test")
    }

    fn mail_of(&self, case: &Case) -> InboundMail {
        let own = |v: &str| match v {
            OURS => self.own_id(),
            REPLY => self.key.reply_address("support@example.test", TicketId(1)),
            other => other.to_string(),
        };
        InboundMail {
            from: case.from.map(String::from),
            subject: case.subject.to_string(),
            headers: case
                .headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            content_type: case.content_type.to_string(),
            report_type: case.report_type.map(String::from),
            has_delivery_status: case.has_delivery_status,
            message_id: case.message_id.map(own),
            in_reply_to: case.in_reply_to.iter().map(|v| own(v)).collect(),
            to: case.to.iter().map(|v| own(v)).collect(),
            ..InboundMail::default()
        }
    }
}

fn run(case: &Case) -> Classification {
    let setup = Setup::new(rules());
    classify(&setup.mail_of(case), setup.ctx())
}

/// Every table row, in the order of the rules in the module docs.
fn cases() -> Vec<Case> {
    [
        own_loop::cases(),
        bounces::cases(),
        auto_replies::cases(),
        admin_rules::cases(),
        machine_mail::cases(),
        humans::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn row(kind: MailKind, rule: &str, category: Option<&str>) -> String {
    format!(
        "| {:<10} | {rule:<40} | {:<10} |",
        format!("{kind:?}"),
        category.unwrap_or("-")
    )
}

#[test]
fn classification_table() {
    let cases = cases();
    assert!(cases.len() >= 30, "table has {} rows", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let got = run(case);
        let ok = got.kind == case.kind
            && got.rule == case.rule
            && got.category.as_deref() == case.category;
        if !ok {
            failures.push(format!(
                "row {:?}\n  expected {}\n  got      {}",
                case.name,
                row(case.kind, case.rule, case.category),
                row(got.kind, &got.rule, got.category.as_deref()),
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

#[test]
fn no_rules_and_no_support_addresses_still_classify() {
    let mut setup = Setup::new(Vec::new());
    setup.support.clear();
    let human = setup.mail_of(&Case {
        from: Some("nagios@monitor.test"),
        ..BASE
    });
    let got = classify(&human, setup.ctx());
    assert_eq!(
        (got.kind, got.rule.as_str()),
        (MailKind::Human, "human:default")
    );
    let own = setup.mail_of(&Case {
        from: Some("support@example.test"),
        ..BASE
    });
    assert_eq!(classify(&own, setup.ctx()).kind, MailKind::Human);
}

/// The subject lists are compared lower-cased: every entry must be lower
/// case already, or it could never match.
#[test]
fn subject_lists_are_lower_case() {
    for prefix in AUTO_REPLY_SUBJECTS.iter().chain(BOUNCE_SUBJECTS.iter()) {
        assert_eq!(*prefix, prefix.to_lowercase(), "{prefix}");
    }
}

#[test]
fn only_humans_and_automated_mail_open_tickets() {
    let table = [
        (MailKind::Human, true),
        (MailKind::Automated, true),
        (MailKind::AutoReply, false),
        (MailKind::Bounce, false),
        (MailKind::OwnLoop, false),
    ];
    for (kind, expected) in table {
        assert_eq!(kind.may_open_ticket(), expected, "{kind:?}");
    }
}

#[test]
fn mail_kind_serializes_snake_case() {
    let table = [
        (MailKind::Human, "\"human\""),
        (MailKind::Automated, "\"automated\""),
        (MailKind::AutoReply, "\"auto_reply\""),
        (MailKind::Bounce, "\"bounce\""),
        (MailKind::OwnLoop, "\"own_loop\""),
    ];
    for (kind, json) in table {
        assert_eq!(serde_json::to_string(&kind).ok().as_deref(), Some(json));
    }
}

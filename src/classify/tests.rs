//! Table-driven tests for the mail classifier: one row per rule in the
//! module docs (own loop, bounces, auto-replies, admin rules, machine mail,
//! humans) plus rows pinning the order in which the rules are tried.

use std::collections::BTreeSet;

use regex::Regex;

use super::*;

/// One table row: a mail description and the expected decision.
struct Case {
    name: &'static str,
    from: Option<&'static str>,
    subject: &'static str,
    headers: &'static [(&'static str, &'static str)],
    content_type: &'static str,
    report_type: Option<&'static str>,
    has_delivery_status: bool,
    kind: MailKind,
    rule: &'static str,
    category: Option<&'static str>,
}

/// A plain human mail; rows override what they need.
const BASE: Case = Case {
    name: "",
    from: Some("alice@customer.test"),
    subject: "Printer is broken",
    headers: &[],
    content_type: "text/plain",
    report_type: None,
    has_delivery_status: false,
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

fn support() -> BTreeSet<String> {
    ["support@example.test", "help@example.test"]
        .into_iter()
        .map(String::from)
        .collect()
}

fn mail_of(case: &Case) -> InboundMail {
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
        ..InboundMail::default()
    }
}

fn run(case: &Case) -> Classification {
    let support = support();
    let rules = rules();
    let ctx = ClassifyContext {
        instance_name: "ticketd",
        support_addresses: &support,
        automated_rules: &rules,
    };
    classify(&mail_of(case), ctx)
}

fn cases() -> Vec<Case> {
    use MailKind::*;
    vec![
        // 1. own loop
        Case {
            name: "own loop header",
            headers: &[("x-ticketd-loop", "ticketd")],
            kind: OwnLoop,
            rule: "own-loop:header",
            ..BASE
        },
        Case {
            name: "own loop header, value case-insensitive",
            headers: &[("x-ticketd-loop", "TicketD")],
            kind: OwnLoop,
            rule: "own-loop:header",
            ..BASE
        },
        Case {
            name: "loop header of another instance is not ours",
            headers: &[("x-ticketd-loop", "other-desk")],
            ..BASE
        },
        Case {
            name: "from a support address",
            from: Some("support@example.test"),
            kind: OwnLoop,
            rule: "own-loop:from-support-address",
            ..BASE
        },
        Case {
            name: "from the second support address",
            from: Some("help@example.test"),
            kind: OwnLoop,
            rule: "own-loop:from-support-address",
            ..BASE
        },
        Case {
            name: "same local part, other domain is not ours",
            from: Some("support@customer.test"),
            ..BASE
        },
        Case {
            name: "own loop beats bounce",
            from: Some("support@example.test"),
            headers: &[("x-failed-recipients", "bob@customer.test")],
            kind: OwnLoop,
            rule: "own-loop:from-support-address",
            ..BASE
        },
        // 2. bounces
        Case {
            name: "multipart/report delivery-status",
            content_type: "multipart/report",
            report_type: Some("delivery-status"),
            kind: Bounce,
            rule: "bounce:multipart-report",
            ..BASE
        },
        Case {
            name: "read receipt (disposition-notification report) is an auto-reply, not a bounce",
            content_type: "multipart/report",
            report_type: Some("disposition-notification"),
            kind: AutoReply,
            rule: "read-receipt:disposition-notification",
            ..BASE
        },
        Case {
            name: "delivery-status part inside another multipart",
            content_type: "multipart/mixed",
            has_delivery_status: true,
            kind: Bounce,
            rule: "bounce:delivery-status-part",
            ..BASE
        },
        Case {
            name: "X-Failed-Recipients",
            headers: &[("x-failed-recipients", "bob@customer.test")],
            kind: Bounce,
            rule: "bounce:x-failed-recipients",
            ..BASE
        },
        Case {
            name: "mailer-daemon sender",
            from: Some("mailer-daemon@mx.customer.test"),
            kind: Bounce,
            rule: "bounce:mailer-daemon-sender",
            ..BASE
        },
        Case {
            name: "MAILER-DAEMON sender, upper case",
            from: Some("MAILER-DAEMON@mx.customer.test"),
            kind: Bounce,
            rule: "bounce:mailer-daemon-sender",
            ..BASE
        },
        Case {
            name: "postmaster sender",
            from: Some("Postmaster@customer.test"),
            kind: Bounce,
            rule: "bounce:mailer-daemon-sender",
            ..BASE
        },
        Case {
            name: "postmaster-like local part is a human",
            from: Some("postmaster.bob@customer.test"),
            ..BASE
        },
        Case {
            name: "bounce beats auto-reply",
            headers: &[
                ("auto-submitted", "auto-replied"),
                ("x-failed-recipients", "bob@customer.test"),
            ],
            kind: Bounce,
            rule: "bounce:x-failed-recipients",
            ..BASE
        },
        Case {
            name: "report beats delivery-status part flag",
            content_type: "multipart/report",
            report_type: Some("delivery-status"),
            has_delivery_status: true,
            kind: Bounce,
            rule: "bounce:multipart-report",
            ..BASE
        },
        // 3. auto-replies
        Case {
            name: "Auto-Submitted: auto-replied",
            headers: &[("auto-submitted", "auto-replied")],
            kind: AutoReply,
            rule: "auto-submitted:auto-replied",
            ..BASE
        },
        Case {
            name: "Auto-Submitted: Auto-Replied with parameter",
            headers: &[("auto-submitted", "Auto-Replied; owner-email=\"a@b.test\"")],
            kind: AutoReply,
            rule: "auto-submitted:auto-replied",
            ..BASE
        },
        Case {
            name: "Auto-Submitted: no is a human",
            headers: &[("auto-submitted", "no")],
            ..BASE
        },
        Case {
            name: "Auto-Submitted: No (case) is a human",
            headers: &[("auto-submitted", "No")],
            ..BASE
        },
        Case {
            name: "Auto-Submitted: no; with parameter is a human",
            headers: &[("auto-submitted", "no; reason=test")],
            ..BASE
        },
        Case {
            name: "X-Autoreply",
            headers: &[("x-autoreply", "yes")],
            kind: AutoReply,
            rule: "header:x-autoreply",
            ..BASE
        },
        Case {
            name: "X-Autorespond",
            headers: &[("x-autorespond", "Vacation")],
            kind: AutoReply,
            rule: "header:x-autorespond",
            ..BASE
        },
        Case {
            name: "X-AutoResponse (mixed-case header name)",
            headers: &[("X-AutoResponse", "1")],
            kind: AutoReply,
            rule: "header:x-autoresponse",
            ..BASE
        },
        Case {
            name: "X-Autoreply-From",
            headers: &[("x-autoreply-from", "alice@customer.test")],
            kind: AutoReply,
            rule: "header:x-autoreply-from",
            ..BASE
        },
        Case {
            name: "X-Mail-Autoreply",
            headers: &[("x-mail-autoreply", "1")],
            kind: AutoReply,
            rule: "header:x-mail-autoreply",
            ..BASE
        },
        Case {
            name: "X-Autoresponder",
            headers: &[("x-autoresponder", "1")],
            kind: AutoReply,
            rule: "header:x-autoresponder",
            ..BASE
        },
        Case {
            name: "Precedence: auto_reply",
            headers: &[("precedence", "auto_reply")],
            kind: AutoReply,
            rule: "precedence:auto_reply",
            ..BASE
        },
        Case {
            name: "Precedence: Auto-Reply spelled with dash and case",
            headers: &[("precedence", " Auto-Reply ")],
            kind: AutoReply,
            rule: "precedence:auto_reply",
            ..BASE
        },
        Case {
            name: "X-Precedence: auto_reply",
            headers: &[("x-precedence", "auto_reply")],
            kind: AutoReply,
            rule: "precedence:auto_reply",
            ..BASE
        },
        Case {
            name: "X-Auto-Response-Suppress: All",
            headers: &[("x-auto-response-suppress", "All")],
            kind: AutoReply,
            rule: "x-auto-response-suppress:all",
            ..BASE
        },
        Case {
            name: "X-Auto-Response-Suppress: DR, all (token in list)",
            headers: &[("x-auto-response-suppress", "DR, all")],
            kind: AutoReply,
            rule: "x-auto-response-suppress:all",
            ..BASE
        },
        Case {
            name: "X-Auto-Response-Suppress: OOF, DR is not an auto-reply",
            headers: &[("x-auto-response-suppress", "OOF, DR")],
            ..BASE
        },
        Case {
            name: "X-Auto-Response-Suppress: All with Auto-Submitted: auto-generated",
            headers: &[
                ("x-auto-response-suppress", "All"),
                ("auto-submitted", "auto-generated"),
            ],
            kind: Automated,
            rule: "auto-submitted:auto-generated",
            ..BASE
        },
        Case {
            name: "null Return-Path",
            headers: &[("return-path", "<>")],
            kind: AutoReply,
            rule: "return-path:null",
            ..BASE
        },
        Case {
            name: "empty Return-Path",
            headers: &[("return-path", "")],
            kind: AutoReply,
            rule: "return-path:null",
            ..BASE
        },
        Case {
            name: "ordinary Return-Path is a human",
            headers: &[("return-path", "<alice@customer.test>")],
            ..BASE
        },
        Case {
            name: "auto-reply beats admin rule",
            from: Some("nagios@monitor.test"),
            headers: &[("x-autoreply", "yes")],
            kind: AutoReply,
            rule: "header:x-autoreply",
            ..BASE
        },
        // 4. admin rules
        Case {
            name: "admin rule on from",
            from: Some("nagios@monitor.test"),
            subject: "PROBLEM: disk full",
            kind: Automated,
            rule: "automated-rule:monitoring",
            category: Some("monitoring"),
            ..BASE
        },
        Case {
            name: "admin rule on from, regex case-insensitive",
            from: Some("ZABBIX@monitor.test"),
            kind: Automated,
            rule: "automated-rule:monitoring",
            category: Some("monitoring"),
            ..BASE
        },
        Case {
            name: "admin rule on subject and header",
            from: Some("root@server.test"),
            subject: "Cron <root@server> backup",
            headers: &[("x-cron-env", "<SHELL=/bin/sh>")],
            kind: Automated,
            rule: "automated-rule:cron",
            ..BASE
        },
        Case {
            name: "admin rule: subject matches but header missing",
            from: Some("root@server.test"),
            subject: "Cron <root@server> backup",
            ..BASE
        },
        Case {
            name: "admin rule: header matches but subject does not",
            from: Some("root@server.test"),
            subject: "Backup report",
            headers: &[("x-cron-env", "<SHELL=/bin/sh>")],
            ..BASE
        },
        Case {
            name: "admin rule: from and subject both match",
            from: Some("robot@erp.test"),
            subject: "Your INVOICE 2024-17",
            kind: Automated,
            rule: "automated-rule:billing",
            category: Some("billing"),
            ..BASE
        },
        Case {
            name: "admin rule: from matches, subject does not",
            from: Some("robot@erp.test"),
            subject: "Delivery note",
            ..BASE
        },
        Case {
            name: "admin rule: subject matches, from does not",
            from: Some("robot@other.test"),
            subject: "Your invoice",
            ..BASE
        },
        Case {
            name: "admin rule beats list mail (category carried)",
            from: Some("nagios@monitor.test"),
            headers: &[("list-id", "<alerts.monitor.test>")],
            kind: Automated,
            rule: "automated-rule:monitoring",
            category: Some("monitoring"),
            ..BASE
        },
        Case {
            name: "admin rule beats Auto-Submitted: auto-generated",
            from: Some("zabbix@monitor.test"),
            headers: &[("auto-submitted", "auto-generated")],
            kind: Automated,
            rule: "automated-rule:monitoring",
            category: Some("monitoring"),
            ..BASE
        },
        // 5. other machine mail
        Case {
            name: "Auto-Submitted: auto-generated",
            headers: &[("auto-submitted", "auto-generated")],
            kind: Automated,
            rule: "auto-submitted:auto-generated",
            ..BASE
        },
        Case {
            name: "Auto-Submitted: Auto-Notified; parameter stripped from rule",
            headers: &[("auto-submitted", "Auto-Notified; foo=bar")],
            kind: Automated,
            rule: "auto-submitted:auto-notified",
            ..BASE
        },
        Case {
            name: "Precedence: bulk",
            headers: &[("precedence", "bulk")],
            kind: Automated,
            rule: "precedence:bulk",
            ..BASE
        },
        Case {
            name: "Precedence: Junk",
            headers: &[("precedence", "Junk")],
            kind: Automated,
            rule: "precedence:junk",
            ..BASE
        },
        Case {
            name: "Precedence: list",
            headers: &[("precedence", "list")],
            kind: Automated,
            rule: "precedence:list",
            ..BASE
        },
        Case {
            name: "X-Precedence: bulk",
            headers: &[("x-precedence", "bulk")],
            kind: Automated,
            rule: "precedence:bulk",
            ..BASE
        },
        Case {
            name: "Precedence: first-class is a human",
            headers: &[("precedence", "first-class")],
            ..BASE
        },
        Case {
            name: "List-Id",
            headers: &[("list-id", "Users <users.lists.test>")],
            kind: Automated,
            rule: "header:list-id",
            ..BASE
        },
        Case {
            name: "List-Unsubscribe",
            headers: &[("list-unsubscribe", "<mailto:leave@lists.test>")],
            kind: Automated,
            rule: "header:list-unsubscribe",
            ..BASE
        },
        Case {
            name: "Feedback-ID",
            headers: &[("feedback-id", "1:campaign:esp")],
            kind: Automated,
            rule: "header:feedback-id",
            ..BASE
        },
        Case {
            name: "Precedence bulk reported before List-Id",
            headers: &[("list-id", "<users.lists.test>"), ("precedence", "bulk")],
            kind: Automated,
            rule: "precedence:bulk",
            ..BASE
        },
        Case {
            name: "noreply sender",
            from: Some("noreply@shop.test"),
            kind: Automated,
            rule: "sender:no-reply",
            ..BASE
        },
        Case {
            name: "no-reply sender",
            from: Some("no-reply@shop.test"),
            kind: Automated,
            rule: "sender:no-reply",
            ..BASE
        },
        Case {
            name: "no-reply+tag sender",
            from: Some("no-reply+abc@shop.test"),
            kind: Automated,
            rule: "sender:no-reply",
            ..BASE
        },
        Case {
            name: "noreply-suffix sender",
            from: Some("noreply-billing@shop.test"),
            kind: Automated,
            rule: "sender:no-reply",
            ..BASE
        },
        Case {
            name: "donotreply sender",
            from: Some("DoNotReply@shop.test"),
            kind: Automated,
            rule: "sender:no-reply",
            ..BASE
        },
        Case {
            name: "do_not_reply sender",
            from: Some("do_not_reply@shop.test"),
            kind: Automated,
            rule: "sender:no-reply",
            ..BASE
        },
        Case {
            name: "noreplyish local part is a human",
            from: Some("noreplyx@shop.test"),
            ..BASE
        },
        Case {
            name: "reply local part is a human",
            from: Some("reply@shop.test"),
            ..BASE
        },
        Case {
            name: "admin rule beats no-reply sender",
            from: Some("noreply@erp.test"),
            subject: "Invoice 7",
            kind: Automated,
            rule: "automated-rule:billing",
            category: Some("billing"),
            ..BASE
        },
        // 6. humans
        Case {
            name: "plain human mail",
            ..BASE
        },
        Case {
            name: "human with ordinary headers",
            headers: &[
                ("received", "from mx by mx"),
                ("message-id", "<a@b.test>"),
                ("x-mailer", "Thunderbird"),
            ],
            ..BASE
        },
        Case {
            name: "no From at all is a human by default",
            from: None,
            ..BASE
        },
        // Subject-only heuristics are deliberately not used: a person who
        // types "Out of Office" in a subject still reaches a human desk, and
        // real out-of-office replies carry the headers checked above.
        Case {
            name: "subject 'Out of Office' without headers",
            subject: "Out of Office: back Monday",
            ..BASE
        },
        Case {
            name: "subject 'Undeliverable' without headers",
            subject: "Undeliverable: your message",
            ..BASE
        },
    ]
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

/// RFC 3834 allows whitespace (CFWS) between the keyword and `;`, so
/// `Auto-Submitted: no ; x` still says "no": it must stay a human mail.
#[test]
fn auto_submitted_no_with_cfws_is_human() {
    for value in ["no ; reason=test", "no (sent by a person)"] {
        let mut mail = mail_of(&BASE);
        mail.headers.push(("auto-submitted".into(), value.into()));
        let support = support();
        let rules = rules();
        let got = classify(
            &mail,
            ClassifyContext {
                instance_name: "ticketd",
                support_addresses: &support,
                automated_rules: &rules,
            },
        );
        assert_eq!(
            (got.kind, got.rule.as_str()),
            (MailKind::Human, "human:default"),
            "Auto-Submitted: {value}"
        );
    }
}

#[test]
fn no_rules_and_no_support_addresses_still_classify() {
    let empty = BTreeSet::new();
    let ctx = ClassifyContext {
        instance_name: "ticketd",
        support_addresses: &empty,
        automated_rules: &[],
    };
    let human = mail_of(&Case {
        from: Some("nagios@monitor.test"),
        ..BASE
    });
    let got = classify(&human, ctx);
    assert_eq!(
        (got.kind, got.rule.as_str()),
        (MailKind::Human, "human:default")
    );
    let own = mail_of(&Case {
        from: Some("support@example.test"),
        ..BASE
    });
    assert_eq!(classify(&own, ctx).kind, MailKind::Human);
}

#[test]
fn first_matching_admin_rule_wins() {
    let rules = vec![
        AutomatedRule {
            name: "first".into(),
            from: Some(re("@monitor\\.test$")),
            subject: None,
            headers: Vec::new(),
            category: Some("a".into()),
        },
        AutomatedRule {
            name: "second".into(),
            from: Some(re("^nagios@")),
            subject: None,
            headers: Vec::new(),
            category: Some("b".into()),
        },
    ];
    let support = support();
    let ctx = ClassifyContext {
        instance_name: "ticketd",
        support_addresses: &support,
        automated_rules: &rules,
    };
    let mail = mail_of(&Case {
        from: Some("nagios@monitor.test"),
        ..BASE
    });
    let got = classify(&mail, ctx);
    assert_eq!(got.rule, "automated-rule:first");
    assert_eq!(got.category.as_deref(), Some("a"));
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

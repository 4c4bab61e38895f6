//! Admin rules (rule 5, `[[automated]]`): matching on From, Subject and
//! headers (every condition must hold), the category they carry, what they
//! beat, and that the first matching rule wins.

use super::{BASE, Case, MailKind, Setup, re};
use crate::config::AutomatedRule;
use crate::ingest::classify::classify;

/// Table rows for rule 5, against the admin rules of `rules()`.
pub(super) fn cases() -> Vec<Case> {
    use MailKind::*;
    vec![
        // 5. admin rules
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
            from: Some("ops@server.test"),
            subject: "Cron <root@server> backup",
            ..BASE
        },
        Case {
            name: "admin rule: header matches but subject does not",
            from: Some("ops@server.test"),
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
    ]
}

#[test]
fn first_matching_admin_rule_wins() {
    let setup = Setup::new(vec![
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
    ]);
    let mail = setup.mail_of(&Case {
        from: Some("nagios@monitor.test"),
        ..BASE
    });
    let got = classify(&mail, setup.ctx());
    assert_eq!(got.rule, "automated-rule:first");
    assert_eq!(got.category.as_deref(), Some("a"));
}

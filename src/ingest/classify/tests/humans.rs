//! The last two rules: a null Return-Path (rule 7), which every labelled
//! rule beats, and mail from a person (rule 8, the default): ordinary
//! headers, no From, subjects that only look automatic, and
//! `Auto-Submitted: no` with comments or parameters.

use super::{BASE, Case, MailKind, Setup, rules};
use crate::ingest::classify::classify;

/// Table rows for rules 7 and 8, the null sender and people.
pub(super) fn cases() -> Vec<Case> {
    use MailKind::*;
    vec![
        // 7. the null sender, weakest of all
        Case {
            name: "a null Return-Path with Auto-Submitted: auto-generated is a ticket",
            headers: &[("return-path", "<>"), ("auto-submitted", "auto-generated")],
            kind: Automated,
            rule: "automated:auto-submitted=auto-generated",
            ..BASE
        },
        Case {
            name: "a null Return-Path with an admin rule is a ticket",
            from: Some("nagios@monitor.test"),
            headers: &[("return-path", "<>")],
            kind: Automated,
            rule: "automated-rule:monitoring",
            category: Some("monitoring"),
            ..BASE
        },
        Case {
            name: "a null Return-Path with List-Id is list mail",
            headers: &[("return-path", "<>"), ("list-id", "<users.lists.test>")],
            kind: Automated,
            rule: "list:list-id",
            ..BASE
        },
        // 8. humans
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

/// RFC 3834 allows whitespace (CFWS) between the keyword and `;`, so
/// `Auto-Submitted: no ; x` still says "no": it must stay a human mail.
#[test]
fn auto_submitted_no_with_cfws_is_human() {
    let setup = Setup::new(rules());
    for value in ["no ; reason=test", "no (sent by a person)"] {
        let mut mail = setup.mail_of(&BASE);
        mail.headers.push(("auto-submitted".into(), value.into()));
        let got = classify(&mail, setup.ctx());
        assert_eq!(
            (got.kind, got.rule.as_str()),
            (MailKind::Human, "human:auto-submitted=no"),
            "Auto-Submitted: {value}"
        );
    }
}

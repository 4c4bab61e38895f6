//! Table-driven tests for the mail classifier: one row per rule in the
//! module docs (own loop, bounces, auto-replies, admin rules, machine mail,
//! humans) plus rows pinning the order in which the rules are tried.

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
        Case {
            name: "our own Message-ID (a gateway stripped the loop header)",
            message_id: Some(OURS),
            kind: OwnLoop,
            rule: "own-loop:message-id",
            ..BASE
        },
        Case {
            name: "an id shaped like ours with a forged token is not ours",
            message_id: Some("t1.000000000000.1@example.test"),
            ..BASE
        },
        Case {
            name: "our loop header is named before our Message-ID",
            message_id: Some(OURS),
            headers: &[("x-ticketd-loop", "ticketd")],
            kind: OwnLoop,
            rule: "own-loop:header",
            ..BASE
        },
        Case {
            name: "X-Loop naming a support address",
            headers: &[("x-loop", "support@example.test")],
            kind: OwnLoop,
            rule: "own-loop:x-loop",
            ..BASE
        },
        Case {
            name: "X-Loop naming a support address, bracketed and in other case",
            headers: &[("x-loop", "Help Desk <Help@Example.TEST>")],
            kind: OwnLoop,
            rule: "own-loop:x-loop",
            ..BASE
        },
        Case {
            name: "our loop header after another instance's",
            headers: &[("x-ticketd-loop", "desk-b"), ("x-ticketd-loop", "ticketd")],
            kind: OwnLoop,
            rule: "own-loop:header",
            ..BASE
        },
        Case {
            name: "X-Loop naming a support address after another X-Loop",
            headers: &[
                ("x-loop", "it@customer.test"),
                ("x-loop", "support@example.test"),
            ],
            kind: OwnLoop,
            rule: "own-loop:x-loop",
            ..BASE
        },
        Case {
            name: "X-Loop naming someone else's mailbox is not ours",
            headers: &[("x-loop", "it@customer.test")],
            ..BASE
        },
        Case {
            name: "a plus-tagged support address as sender",
            from: Some("support+t5.abcdef012345@example.test"),
            kind: OwnLoop,
            rule: "own-loop:from-support-address",
            ..BASE
        },
        Case {
            name: "a plus-tagged address of another mailbox is not ours",
            from: Some("sales+news@example.test"),
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
            rule: "auto-reply:read-receipt",
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
        Case {
            name: "failure subject with a null Return-Path",
            subject: "Undeliverable: Printer is broken",
            headers: &[("return-path", "<>")],
            kind: Bounce,
            rule: "bounce:subject+null-return-path",
            ..BASE
        },
        Case {
            name: "German failure subject with Auto-Submitted: bounce beats auto-reply",
            subject: "Unzustellbar: Ihre Anfrage",
            headers: &[("auto-submitted", "auto-replied")],
            kind: Bounce,
            rule: "bounce:subject+auto-submitted",
            ..BASE
        },
        // 3. auto-replies
        Case {
            name: "Auto-Submitted: auto-replied",
            headers: &[("auto-submitted", "auto-replied")],
            kind: AutoReply,
            rule: "auto-reply:auto-submitted=auto-replied",
            ..BASE
        },
        Case {
            name: "Auto-Submitted: Auto-Replied with parameter",
            headers: &[("auto-submitted", "Auto-Replied; owner-email=\"a@b.test\"")],
            kind: AutoReply,
            rule: "auto-reply:auto-submitted=auto-replied",
            ..BASE
        },
        Case {
            name: "Auto-Submitted: no is a human",
            headers: &[("auto-submitted", "no")],
            rule: "human:auto-submitted=no",
            ..BASE
        },
        Case {
            name: "Auto-Submitted: No (case) is a human",
            headers: &[("auto-submitted", "No")],
            rule: "human:auto-submitted=no",
            ..BASE
        },
        Case {
            name: "Auto-Submitted: no; with parameter is a human",
            headers: &[("auto-submitted", "no; reason=test")],
            rule: "human:auto-submitted=no",
            ..BASE
        },
        Case {
            name: "X-Autoreply",
            headers: &[("x-autoreply", "yes")],
            kind: AutoReply,
            rule: "auto-reply:x-autoreply",
            ..BASE
        },
        Case {
            name: "X-Autorespond",
            headers: &[("x-autorespond", "Vacation")],
            kind: AutoReply,
            rule: "auto-reply:x-autorespond",
            ..BASE
        },
        Case {
            name: "X-AutoResponse (mixed-case header name)",
            headers: &[("X-AutoResponse", "1")],
            kind: AutoReply,
            rule: "auto-reply:x-autoresponse",
            ..BASE
        },
        Case {
            name: "X-Autoreply-From",
            headers: &[("x-autoreply-from", "alice@customer.test")],
            kind: AutoReply,
            rule: "auto-reply:x-autoreply-from",
            ..BASE
        },
        Case {
            name: "X-Mail-Autoreply",
            headers: &[("x-mail-autoreply", "1")],
            kind: AutoReply,
            rule: "auto-reply:x-mail-autoreply",
            ..BASE
        },
        Case {
            name: "X-Autoresponder",
            headers: &[("x-autoresponder", "1")],
            kind: AutoReply,
            rule: "auto-reply:x-autoresponder",
            ..BASE
        },
        Case {
            name: "Precedence: auto_reply",
            headers: &[("precedence", "auto_reply")],
            kind: AutoReply,
            rule: "auto-reply:precedence=auto_reply",
            ..BASE
        },
        Case {
            name: "Precedence: Auto-Reply spelled with dash and case",
            headers: &[("precedence", " Auto-Reply ")],
            kind: AutoReply,
            rule: "auto-reply:precedence=auto_reply",
            ..BASE
        },
        Case {
            name: "X-Precedence: auto_reply",
            headers: &[("x-precedence", "auto_reply")],
            kind: AutoReply,
            rule: "auto-reply:precedence=auto_reply",
            ..BASE
        },
        Case {
            name: "X-Auto-Response-Suppress: All alone decides nothing (a request, not a label)",
            headers: &[("x-auto-response-suppress", "All")],
            ..BASE
        },
        Case {
            name: "X-Auto-Response-Suppress: OOF, AutoReply alone decides nothing",
            headers: &[("x-auto-response-suppress", "DR, RN, NRN, OOF, AutoReply")],
            ..BASE
        },
        Case {
            name: "X-Auto-Response-Suppress: All with Auto-Submitted: auto-generated",
            headers: &[
                ("x-auto-response-suppress", "All"),
                ("auto-submitted", "auto-generated"),
            ],
            kind: Automated,
            rule: "automated:auto-submitted=auto-generated",
            ..BASE
        },
        Case {
            name: "null Return-Path",
            headers: &[("return-path", "<>")],
            kind: AutoReply,
            rule: "auto-reply:null-return-path",
            ..BASE
        },
        Case {
            name: "empty Return-Path",
            headers: &[("return-path", "")],
            kind: AutoReply,
            rule: "auto-reply:null-return-path",
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
            rule: "auto-reply:x-autoreply",
            ..BASE
        },
        Case {
            name: "Auto-Submitted: auto-replied with a comment (Zimbra)",
            headers: &[("auto-submitted", "auto-replied (zimbra; vacation)")],
            kind: AutoReply,
            rule: "auto-reply:auto-submitted=auto-replied",
            ..BASE
        },
        Case {
            name: "X-Auto-Reply-From",
            headers: &[("x-auto-reply-from", "alice@customer.test")],
            kind: AutoReply,
            rule: "auto-reply:x-auto-reply-from",
            ..BASE
        },
        Case {
            name: "X-Autogenerated: Reply",
            headers: &[("x-autogenerated", "Reply")],
            kind: AutoReply,
            rule: "auto-reply:x-autogenerated=reply",
            ..BASE
        },
        Case {
            name: "X-Autogenerated with another value is not an auto-reply",
            headers: &[("x-autogenerated", "Forward")],
            ..BASE
        },
        Case {
            name: "X-POST-MessageClass: 9; Autoreply",
            headers: &[("x-post-messageclass", "9; Autoreply")],
            kind: AutoReply,
            rule: "auto-reply:x-post-messageclass",
            ..BASE
        },
        Case {
            name: "X-POST-MessageClass of another class is not an auto-reply",
            headers: &[("x-post-messageclass", "1; Normal")],
            ..BASE
        },
        // 4. auto-replies, inferred
        Case {
            name: "auto-reply subject with Auto-Submitted: auto-generated (Exchange rules)",
            subject: "Automatic reply: Printer is broken",
            headers: &[("auto-submitted", "auto-generated")],
            kind: AutoReply,
            rule: "auto-reply:subject+auto-submitted",
            ..BASE
        },
        Case {
            name: "German auto-reply subject with the Exchange inbox-rules header",
            subject: "Abwesenheitsnotiz: Drucker",
            headers: &[("x-ms-exchange-inbox-rules-loop", "anna@customer.test")],
            kind: AutoReply,
            rule: "auto-reply:subject+x-ms-exchange-inbox-rules-loop",
            ..BASE
        },
        Case {
            name: "Japanese auto-reply subject with Precedence: bulk",
            subject: "自動応答: サーバー",
            headers: &[("precedence", "bulk")],
            kind: AutoReply,
            rule: "auto-reply:subject+precedence",
            ..BASE
        },
        Case {
            name: "auto-reply subject with X-Auto-Response-Suppress (Exchange internal OOF)",
            subject: "Automatic reply: Printer is broken",
            headers: &[("x-auto-response-suppress", "All")],
            kind: AutoReply,
            rule: "auto-reply:subject+x-auto-response-suppress",
            ..BASE
        },
        Case {
            name: "auto-reply subject with the list a person's MAPI client sends is a person",
            subject: "Out of office settings lost after the update",
            headers: &[("x-auto-response-suppress", "DR, RN, NRN, OOF, AutoReply")],
            ..BASE
        },
        Case {
            name: "failure subject with only X-Auto-Response-Suppress: All is a person",
            subject: "Undeliverable mail keeps coming back",
            headers: &[("x-auto-response-suppress", "All")],
            ..BASE
        },
        Case {
            name: "auto-reply subject with X-Auto-Response-Suppress about receipts only",
            subject: "Automatic reply: Printer is broken",
            headers: &[("x-auto-response-suppress", "DR, RN")],
            ..BASE
        },
        Case {
            name: "auto-reply subject answering our Message-ID, no headers",
            subject: "Out of Office: [#1] We received your request",
            in_reply_to: &[OURS],
            kind: AutoReply,
            rule: "auto-reply:subject+answer-to-our-mail",
            ..BASE
        },
        Case {
            name: "auto-reply subject sent to our keyed reply address, no headers",
            subject: "Out of office",
            to: &[REPLY],
            kind: AutoReply,
            rule: "auto-reply:subject+answer-to-our-mail",
            ..BASE
        },
        Case {
            name: "bulk mail answering our Message-ID (vacation(1))",
            subject: "away from my mail",
            in_reply_to: &[OURS],
            headers: &[("precedence", "bulk")],
            kind: AutoReply,
            rule: "auto-reply:answer-to-our-mail+precedence",
            ..BASE
        },
        Case {
            name: "generated mail answering our Message-ID (another help desk)",
            subject: "Ticket received",
            in_reply_to: &[OURS],
            headers: &[("auto-submitted", "auto-generated")],
            kind: AutoReply,
            rule: "auto-reply:answer-to-our-mail+auto-submitted",
            ..BASE
        },
        Case {
            name: "null sender answering our reply address",
            subject: "Re: your request",
            to: &[REPLY],
            headers: &[("return-path", "<>")],
            kind: AutoReply,
            rule: "auto-reply:answer-to-our-mail+null-return-path",
            ..BASE
        },
        Case {
            name: "a person's reply to our mail with X-Auto-Response-Suppress stays human",
            subject: "Re: [#1] We received your request",
            in_reply_to: &[OURS],
            headers: &[("x-auto-response-suppress", "DR, RN, NRN, OOF, AutoReply")],
            ..BASE
        },
        Case {
            name: "a person's plain reply to our mail stays human",
            subject: "Re: [#1] We received your request",
            in_reply_to: &[OURS],
            ..BASE
        },
        Case {
            name: "bulk mail answering a forged id of ours is only bulk",
            subject: "Re: hello",
            in_reply_to: &["t1.000000000000.1@example.test"],
            headers: &[("precedence", "bulk")],
            kind: Automated,
            rule: "bulk:precedence=bulk",
            ..BASE
        },
        Case {
            name: "auto-reply subject without anything else is a person (no subject-only guess)",
            subject: "Automatic reply: how do I set one up?",
            ..BASE
        },
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
        // 6. other machine mail
        Case {
            name: "Auto-Submitted: auto-generated",
            headers: &[("auto-submitted", "auto-generated")],
            kind: Automated,
            rule: "automated:auto-submitted=auto-generated",
            ..BASE
        },
        Case {
            name: "Auto-Submitted: Auto-Notified; parameter stripped from rule",
            headers: &[("auto-submitted", "Auto-Notified; foo=bar")],
            kind: Automated,
            rule: "automated:auto-submitted=auto-notified",
            ..BASE
        },
        Case {
            name: "Precedence: bulk",
            headers: &[("precedence", "bulk")],
            kind: Automated,
            rule: "bulk:precedence=bulk",
            ..BASE
        },
        Case {
            name: "Precedence: Junk",
            headers: &[("precedence", "Junk")],
            kind: Automated,
            rule: "bulk:precedence=junk",
            ..BASE
        },
        Case {
            name: "Precedence: list",
            headers: &[("precedence", "list")],
            kind: Automated,
            rule: "list:precedence=list",
            ..BASE
        },
        Case {
            name: "X-Precedence: bulk",
            headers: &[("x-precedence", "bulk")],
            kind: Automated,
            rule: "bulk:precedence=bulk",
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
            rule: "list:list-id",
            ..BASE
        },
        Case {
            name: "List-Unsubscribe",
            headers: &[("list-unsubscribe", "<mailto:leave@lists.test>")],
            kind: Automated,
            rule: "list:list-unsubscribe",
            ..BASE
        },
        Case {
            name: "Feedback-ID",
            headers: &[("feedback-id", "1:campaign:esp")],
            kind: Automated,
            rule: "bulk:feedback-id",
            ..BASE
        },
        Case {
            name: "List-Id reported before Precedence: bulk",
            headers: &[("list-id", "<users.lists.test>"), ("precedence", "bulk")],
            kind: Automated,
            rule: "list:list-id",
            ..BASE
        },
        Case {
            name: "noreply sender",
            from: Some("noreply@shop.test"),
            kind: Automated,
            rule: "automated:sender=no-reply",
            ..BASE
        },
        Case {
            name: "no-reply sender",
            from: Some("no-reply@shop.test"),
            kind: Automated,
            rule: "automated:sender=no-reply",
            ..BASE
        },
        Case {
            name: "no-reply+tag sender",
            from: Some("no-reply+abc@shop.test"),
            kind: Automated,
            rule: "automated:sender=no-reply",
            ..BASE
        },
        Case {
            name: "noreply-suffix sender",
            from: Some("noreply-billing@shop.test"),
            kind: Automated,
            rule: "automated:sender=no-reply",
            ..BASE
        },
        Case {
            name: "donotreply sender",
            from: Some("DoNotReply@shop.test"),
            kind: Automated,
            rule: "automated:sender=no-reply",
            ..BASE
        },
        Case {
            name: "do_not_reply sender",
            from: Some("do_not_reply@shop.test"),
            kind: Automated,
            rule: "automated:sender=no-reply",
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
        Case {
            name: "another RT's loop header",
            headers: &[("x-rt-loop-prevention", "vendor-rt")],
            kind: Automated,
            rule: "automated:x-rt-loop-prevention",
            ..BASE
        },
        Case {
            name: "X-OTRS-Loop: yes",
            headers: &[("x-otrs-loop", "yes")],
            kind: Automated,
            rule: "automated:x-otrs-loop",
            ..BASE
        },
        Case {
            name: "X-OTRS-Loop: no is no marker",
            headers: &[("x-otrs-loop", "no")],
            ..BASE
        },
        Case {
            name: "X-Loop: yes (Zammad)",
            headers: &[("x-loop", "yes")],
            kind: Automated,
            rule: "automated:x-loop",
            ..BASE
        },
        Case {
            name: "X-Loop: True",
            headers: &[("x-loop", "True")],
            kind: Automated,
            rule: "automated:x-loop",
            ..BASE
        },
        Case {
            name: "X-FC-Machinegenerated: true (RT)",
            headers: &[("x-fc-machinegenerated", "true")],
            kind: Automated,
            rule: "automated:x-fc-machinegenerated",
            ..BASE
        },
        Case {
            name: "List-Post",
            headers: &[("list-post", "<mailto:users@lists.test>")],
            kind: Automated,
            rule: "list:list-post",
            ..BASE
        },
        Case {
            name: "Mailing-List (ezmlm)",
            headers: &[(
                "mailing-list",
                "contact users-help@lists.test; run by ezmlm",
            )],
            kind: Automated,
            rule: "list:mailing-list",
            ..BASE
        },
        Case {
            name: "X-Mailing-List",
            headers: &[("x-mailing-list", "<users@lists.test>")],
            kind: Automated,
            rule: "list:x-mailing-list",
            ..BASE
        },
        Case {
            name: "X-Campaign",
            headers: &[("x-campaign", "spring-2026")],
            kind: Automated,
            rule: "bulk:x-campaign",
            ..BASE
        },
        Case {
            name: "X-CampaignID",
            headers: &[("X-campaignid", "mailchimp123")],
            kind: Automated,
            rule: "bulk:x-campaignid",
            ..BASE
        },
        Case {
            name: "Auto-Submitted: auto-generated reported before the list headers",
            headers: &[
                ("list-id", "<users.lists.test>"),
                ("auto-submitted", "auto-generated"),
            ],
            kind: Automated,
            rule: "automated:auto-submitted=auto-generated",
            ..BASE
        },
        Case {
            name: "X-No-Loop",
            headers: &[("x-no-loop", "yes")],
            kind: Automated,
            rule: "automated:x-no-loop",
            ..BASE
        },
        Case {
            name: "X-AMAZON-MAIL-RELAY-TYPE: NOTIFICATION",
            headers: &[("x-amazon-mail-relay-type", "NOTIFICATION")],
            kind: Automated,
            rule: "automated:x-amazon-mail-relay-type=notification",
            ..BASE
        },
        Case {
            name: "an abuse feedback report",
            content_type: "multipart/report",
            report_type: Some("feedback-report"),
            kind: Automated,
            rule: "automated:feedback-report",
            ..BASE
        },
        Case {
            name: "root as sender",
            from: Some("root@server.test"),
            kind: Automated,
            rule: "automated:sender=system-account",
            ..BASE
        },
        Case {
            name: "a person called root-ish is a person",
            from: Some("rootkit.researcher@server.test"),
            ..BASE
        },
        Case {
            name: "Precedence: normal is a person",
            headers: &[("precedence", "normal")],
            ..BASE
        },
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

/// Another installation's Message-ID with a token made by another key is
/// not ours, even on our domain.
#[test]
fn a_message_id_from_another_key_is_not_our_own() {
    let setup = Setup::new(rules());
    let other = ThreadKey::new(b"another installation's secret".to_vec());
    let mut mail = setup.mail_of(&BASE);
    mail.message_id = Some(other.message_id(TicketId(1), 1, "example.test"));
    assert_eq!(classify(&mail, setup.ctx()).kind, MailKind::Human);
    mail.message_id = Some(setup.own_id().replace("example.test", "elsewhere.test"));
    assert_eq!(
        classify(&mail, setup.ctx()).kind,
        MailKind::Human,
        "our token on another domain"
    );
}

#[test]
fn declined_auto_replies_need_all_or_autoreply() {
    let setup = Setup::new(rules());
    let table = [
        ("All", true),
        ("all", true),
        ("DR, RN, NRN, OOF, AutoReply", true),
        ("OOF", false),
        ("DR, NDR", false),
        ("None", false),
    ];
    for (value, declines) in table {
        let mut mail = setup.mail_of(&BASE);
        mail.headers
            .push(("x-auto-response-suppress".into(), value.into()));
        assert_eq!(
            declines_auto_replies(&mail).is_some(),
            declines,
            "X-Auto-Response-Suppress: {value}"
        );
    }
    assert_eq!(declines_auto_replies(&setup.mail_of(&BASE)), None);
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

//! Other machine mail (rule 6): Auto-Submitted keywords, RT's and
//! osTicket's machine labels, abuse reports, other systems' loop markers,
//! list and bulk headers, Precedence values, system accounts and no-reply
//! senders, and the ordinary values that stay a person.

use super::{BASE, Case, MailKind};

/// Table rows for rule 6, other machine mail.
pub(super) fn cases() -> Vec<Case> {
    use MailKind::*;
    vec![
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
    ]
}

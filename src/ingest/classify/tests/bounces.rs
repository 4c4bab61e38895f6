//! Bounces (rule 2): delivery-status reports and parts,
//! X-Failed-Recipients, mailer-daemon and postmaster senders, and failure
//! subjects with a strong marker; what a bounce beats and what it is not.

use super::{BASE, Case, MailKind};

/// Table rows for rule 2, bounces.
pub(super) fn cases() -> Vec<Case> {
    use MailKind::*;
    vec![
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
    ]
}

//! DSN parsing on hand-written bounces as Postfix, Exim, Exchange and
//! Gmail send them (`tests/fixtures/dsn/`), plus the status-code rules.

use super::*;

fn fixture(name: &str) -> DeliveryReport {
    let path = format!("{}/tests/fixtures/dsn/{name}", env!("CARGO_MANIFEST_DIR"));
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse(&raw).unwrap_or_else(|| panic!("{name} did not parse"))
}

fn code(text: &str) -> StatusCode {
    StatusCode::parse(text).unwrap_or_else(|| panic!("{text:?} is a status code"))
}

/// (final recipient, action, status, severity) per block.
fn blocks(report: &DeliveryReport) -> Vec<(Option<&str>, DsnAction, Option<String>, Severity)> {
    report
        .recipients
        .iter()
        .map(|r| {
            (
                r.final_recipient.as_deref(),
                r.action,
                r.status.map(|s| s.to_string()),
                r.severity(),
            )
        })
        .collect()
}

fn returned_id(report: &DeliveryReport) -> Option<&str> {
    report.returned.as_ref()?.message_id.as_deref()
}

#[test]
fn postfix_user_unknown_is_a_hard_failure_with_the_returned_original() {
    let report = fixture("postfix_user_unknown.eml");
    assert_eq!(report.format, ReportFormat::DeliveryStatus);
    assert_eq!(report.reporting_mta.as_deref(), Some("mx.customer.test"));
    assert_eq!(
        blocks(&report),
        [(
            Some("nobody@customer.test"),
            DsnAction::Failed,
            Some("5.1.1".into()),
            Severity::Hard
        )]
    );
    let block = &report.recipients[0];
    assert_eq!(
        block.original_recipient.as_deref(),
        Some("nobody@customer.test")
    );
    assert_eq!(
        block.diagnostic.as_deref(),
        Some("unknown user: \"nobody\"")
    );
    let returned = report.returned.as_ref().expect("returned headers");
    assert_eq!(
        returned.message_id.as_deref(),
        Some("t7.3f9a1c2b4d5e.12@example.test")
    );
    assert_eq!(returned.in_reply_to, ["req-7@customer.test"]);
    assert_eq!(returned.loop_header.as_deref(), Some("ticketd"));
    assert_eq!(returned.to, ["nobody@customer.test"]);
    assert_eq!(
        report.referenced_ids().collect::<Vec<_>>(),
        [
            "t7.3f9a1c2b4d5e.12@example.test",
            "req-7@customer.test",
            "req-7@customer.test"
        ]
    );
}

#[test]
fn postfix_delay_warning_is_delayed_with_headers_only() {
    let report = fixture("postfix_delayed.eml");
    assert_eq!(
        blocks(&report),
        [(
            Some("slow@customer.test"),
            DsnAction::Delayed,
            Some("4.4.1".into()),
            Severity::Delayed
        )]
    );
    assert_eq!(
        report.recipients[0].diagnostic.as_deref(),
        Some("connect to mx2.customer.test[198.51.100.7]:25: Connection timed out"),
        "continuation lines are unfolded"
    );
    assert_eq!(
        returned_id(&report),
        Some("t9.77aa01bc23de.21@example.test")
    );
}

#[test]
fn exim_text_bounce_is_read_from_wording_codes_and_the_quoted_copy() {
    let report = fixture("exim_text.eml");
    assert_eq!(report.format, ReportFormat::PlainText);
    assert_eq!(
        blocks(&report),
        [(
            Some("gone@customer.test"),
            DsnAction::Failed,
            Some("5.1.1".into()),
            Severity::Hard
        )]
    );
    let diagnostic = report.recipients[0].diagnostic.as_deref().unwrap_or("");
    assert!(
        diagnostic.starts_with("550 5.1.1 <gone@customer.test>: Recipient address rejected"),
        "{diagnostic}"
    );
    let returned = report.returned.as_ref().expect("quoted copy");
    assert_eq!(
        returned.message_id.as_deref(),
        Some("t11.9e8d7c6b5a49.30@example.test")
    );
    assert_eq!(
        returned.references,
        ["t11.9e8d7c6b5a49.0@example.test", "inv-114@customer.test"]
    );
    assert_eq!(returned.loop_header.as_deref(), Some("ticketd"));
}

#[test]
fn exim_delay_warning_is_delayed_for_the_named_address() {
    let report = fixture("exim_delay_warning.eml");
    assert_eq!(
        blocks(&report),
        [(
            Some("later@customer.test"),
            DsnAction::Delayed,
            Some("4.7.1".into()),
            Severity::Delayed
        )]
    );
    assert_eq!(report.returned, None, "no copy of the message");
}

#[test]
fn exchange_ndr_reads_the_mixed_case_fields_and_five_digit_detail() {
    let report = fixture("exchange_ndr.eml");
    assert_eq!(
        report.reporting_mta.as_deref(),
        Some("DB8PR01MB5555.eurprd01.prod.outlook.com")
    );
    assert_eq!(
        blocks(&report),
        [(
            Some("j.doe@contoso.com"),
            DsnAction::Failed,
            Some("5.1.10".into()),
            Severity::Hard
        )]
    );
    let diagnostic = report.recipients[0].diagnostic.as_deref().unwrap_or("");
    assert!(
        diagnostic.starts_with("550 5.1.10 RESOLVER.ADR.RecipientNotFound"),
        "{diagnostic}"
    );
    assert_eq!(
        returned_id(&report),
        Some("t14.1a2b3c4d5e6f.40@example.test")
    );
}

#[test]
fn legacy_exchange_text_ndr_names_the_address_and_the_original_headers() {
    let report = fixture("exchange_legacy_text.eml");
    assert_eq!(report.format, ReportFormat::PlainText);
    assert_eq!(
        blocks(&report),
        [(
            Some("old.user@fabrikam.test"),
            DsnAction::Failed,
            Some("5.1.1".into()),
            Severity::Hard
        )]
    );
    assert_eq!(
        report.recipients[0].diagnostic.as_deref(),
        Some("550 5.1.1 RESOLVER.ADR.RecipNotFound; not found")
    );
    assert_eq!(
        returned_id(&report),
        Some("t15.abcdefabcdef.44@example.test")
    );
}

#[test]
fn gmail_no_such_user_unfolds_the_long_diagnostic() {
    let report = fixture("gmail_no_such_user.eml");
    assert_eq!(
        blocks(&report),
        [(
            Some("no.such.person.4711@gmail.com"),
            DsnAction::Failed,
            Some("5.1.1".into()),
            Severity::Hard
        )]
    );
    let diagnostic = report.recipients[0].diagnostic.as_deref().unwrap_or("");
    assert!(
        diagnostic.starts_with(
            "550-5.1.1 The email account that you tried to reach does not exist. Please"
        ),
        "{diagnostic}"
    );
    assert!(!diagnostic.contains('\n'));
    assert_eq!(report.original_ids, ["t16.cafebabe0123.50@example.test"]);
    assert_eq!(
        returned_id(&report),
        Some("t16.cafebabe0123.50@example.test")
    );
}

#[test]
fn gmail_over_quota_is_a_soft_failure() {
    let report = fixture("gmail_over_quota.eml");
    assert_eq!(
        blocks(&report),
        [(
            Some("full.inbox@gmail.com"),
            DsnAction::Failed,
            Some("5.2.2".into()),
            Severity::Soft
        )]
    );
    assert_eq!(
        returned_id(&report),
        Some("t17.0f0f0f0f0f0f.51@example.test")
    );
}

#[test]
fn status_codes_parse_strictly() {
    assert_eq!(
        code("5.1.10"),
        StatusCode {
            class: 5,
            subject: 1,
            detail: 10
        }
    );
    for bad in [
        "",
        "5.1",
        "5.1.1.1",
        "3.1.1",
        "5.x.1",
        "192.0.2.10",
        "5.1.1234",
    ] {
        assert_eq!(StatusCode::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn status_codes_are_found_in_free_text_skipping_addresses_and_versions() {
    let text = "host 192.0.2.25 (Exim 4.96, build 14.3.498.0) said: 550-5.1.1 no such user";
    assert_eq!(StatusCode::find_in(text), Some(code("5.1.1")));
    assert_eq!(
        StatusCode::find_in("said: 452 too many recipients"),
        Some(code("4.0.0"))
    );
    assert_eq!(
        StatusCode::find_in("552 mailbox over quota"),
        Some(code("5.2.2"))
    );
    assert_eq!(StatusCode::find_in("nothing to see in 2026"), None);
}

#[test]
fn severity_separates_dead_addresses_from_everything_else() {
    let cases = [
        ("5.1.1", Severity::Hard),
        ("5.1.10", Severity::Hard),
        ("5.4.4", Severity::Hard),
        ("5.2.1", Severity::Hard),
        ("5.0.0", Severity::Hard),
        ("5.2.2", Severity::Soft),
        ("5.3.4", Severity::Soft),
        ("5.7.1", Severity::Soft),
        ("5.6.0", Severity::Soft),
        ("4.4.1", Severity::Soft),
        ("2.0.0", Severity::Delivered),
    ];
    for (text, expected) in cases {
        assert_eq!(code(text).severity(), expected, "{text}");
    }
}

#[test]
fn the_action_field_decides_before_the_status() {
    let block = |action, status: Option<&str>| RecipientReport {
        final_recipient: Some("a@b.test".into()),
        original_recipient: None,
        action,
        status: status.map(code),
        diagnostic: None,
    };
    assert_eq!(
        block(DsnAction::Delayed, Some("4.4.7")).severity(),
        Severity::Delayed
    );
    assert_eq!(
        block(DsnAction::Delivered, Some("2.0.0")).severity(),
        Severity::Delivered
    );
    assert_eq!(block(DsnAction::Failed, None).severity(), Severity::Hard);
    assert_eq!(
        block(DsnAction::Failed, Some("4.4.7")).severity(),
        Severity::Soft
    );
    assert_eq!(
        block(DsnAction::Unknown, None).severity(),
        Severity::Unknown
    );
}

#[test]
fn recipient_for_matches_final_or_original_and_falls_back_only_when_unambiguous() {
    let block = |final_: &str, original: Option<&str>, status: &str| RecipientReport {
        final_recipient: Some(final_.into()),
        original_recipient: original.map(str::to_string),
        action: DsnAction::Failed,
        status: Some(code(status)),
        diagnostic: None,
    };
    let forwarded = DeliveryReport {
        format: ReportFormat::DeliveryStatus,
        reporting_mta: None,
        recipients: vec![block(
            "carol@gmail.test",
            Some("carol@customer.test"),
            "5.1.1",
        )],
        original_ids: vec![],
        returned: None,
    };
    assert!(forwarded.recipient_for("Carol@Customer.test").is_some());
    assert!(
        forwarded.recipient_for("dave@customer.test").is_some(),
        "a single block is the one"
    );
    let two = DeliveryReport {
        recipients: vec![
            block("a@x.test", None, "5.1.1"),
            block("b@x.test", None, "4.2.2"),
        ],
        ..forwarded
    };
    assert_eq!(
        two.recipient_for("b@x.test").and_then(|r| r.status),
        Some(code("4.2.2"))
    );
    assert_eq!(two.recipient_for("c@x.test"), None);
    assert_eq!(
        two.worst().and_then(|r| r.final_recipient.as_deref()),
        Some("a@x.test")
    );
}

#[test]
fn garbage_never_panics_and_reads_as_unknown() {
    let raw = b"From: mailer-daemon@x.test\nSubject: ???\nContent-Type: multipart/report; report-type=delivery-status; boundary=Z\n\n--Z\nContent-Type: message/delivery-status\n\nFinal-Recipient\n: ;\nAction: exploded\n\tStatus: 9.9.9\n--Z--\n";
    let report = parse(raw).expect("a message");
    assert!(
        report
            .recipients
            .iter()
            .all(|r| r.severity() == Severity::Unknown)
    );
    for cut in 0..raw.len() {
        let _ = parse(&raw[..cut]);
    }
}

#[test]
fn every_fixture_cut_short_still_parses_without_panicking() {
    let dir = format!("{}/tests/fixtures/dsn", env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("fixture folder") {
        let raw = std::fs::read(entry.expect("entry").path()).expect("fixture");
        for cut in (0..raw.len()).step_by(7) {
            if let Some(report) = parse(&raw[..cut]) {
                assert!(report.recipients.len() <= 3, "{report:?}");
            }
            checked += 1;
        }
    }
    assert!(checked > 1000, "only {checked} cuts");
}

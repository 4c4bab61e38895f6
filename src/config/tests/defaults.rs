//! Defaults applied to a minimal file, explicit values overriding them,
//! and the SMTP transport's port, credentials and timeout.

use std::time::Duration;

use super::{MINIMAL, ok, smtp};
use crate::config::*;

#[test]
fn minimal_config_gets_defaults() {
    let c = ok(MINIMAL);
    assert_eq!(c.instance_name, "desk");
    assert!(
        c.support_addresses.contains("support@example.test"),
        "normalized"
    );
    assert_eq!(c.store_path, Path::new("var/ticketd"));
    assert_eq!(c.store_cache_bytes, raw::DEFAULT_CACHE_BYTES);
    assert!(c.staff.addresses.is_empty());
    assert_eq!(
        (
            c.threading.tag_prefix.as_str(),
            c.threading.tag_suffix.as_str()
        ),
        ("[#", "]")
    );
    assert!(c.threading.reply_to_token);
    assert_eq!(c.inbound.max_message_bytes, 25 * 1024 * 1024);
    assert_eq!(c.inbound.max_attachment_bytes, 10 * 1024 * 1024);
    assert!(c.inbound.maildir.is_none());
    assert_eq!(c.outbound.from_address, "support@example.test");
    assert_eq!(c.outbound.retry.max_attempts, 12);
    assert_eq!(c.outbound.retry.initial_backoff, Duration::from_secs(30));
    assert_eq!(c.outbound.retry.max_backoff, Duration::from_secs(3600));
    assert!(!c.alerts.acknowledge_cc);
    assert_eq!(
        c.closed_tickets.customer_reply,
        ReopenPolicy::ReopenWithin(chrono::Duration::days(
            raw::DEFAULT_REOPEN_WITHIN_DAYS.into()
        ))
    );
    assert!(c.closed_tickets.thanks_keeps_closed);
    assert!(c.bounces.verp);
    assert_eq!(c.bounces.soft_bounce_limit, raw::DEFAULT_SOFT_BOUNCE_LIMIT);
    assert!(c.correlations.is_empty());
    assert!(c.alerts.notify_staff.is_empty());
    assert!(c.alerts.staff_recipients.is_empty());
    assert_eq!(c.alerts.rate_limit_max, 10);
    assert_eq!(c.alerts.rate_limit_window, chrono::Duration::minutes(60));
    assert_eq!(c.alerts.ticket_rate_limit_max, 5);
    assert_eq!(
        c.alerts.ticket_rate_limit_window,
        chrono::Duration::minutes(60)
    );
    assert_eq!(c.templates_dir, Path::new("templates"));
    assert_eq!(c.template_names.len(), 6);
    assert_eq!(c.inbound.max_recipients, 20);
    assert_eq!(c.alerts.max_fanout, 50);
    assert_eq!(c.alerts.new_sender_max_cc, 5);
    assert_eq!(c.instance_id, None);
    assert!(c.automated.is_empty());
    assert_eq!(c.api.listen.to_string(), "127.0.0.1:8025");
}

#[test]
fn explicit_values_override_defaults() {
    let text = MINIMAL.replace(
        "file_dir = \"var/out\"",
        "file_dir = \"var/out\"\nfrom_address = \"Help@Example.test\"\nmax_attempts = 0\n\
         initial_backoff_secs = 5\nmax_backoff_secs = 50",
    ) + r#"
[staff]
addresses = ["Ann@Example.test"]
domains = ["@Staff.Example.TEST", " team.test "]
[threading]
reply_to_token = false
[inbound]
default_category = "general"
[inbound.maildir]
path = "drop"
poll_interval_ms = 1
[alerts]
acknowledge_cc = true
notify_staff = ["automated_ticket"]
staff_recipients = ["Boss@Example.test"]
rate_limit_max = 3
rate_limit_window_minutes = 5
ticket_rate_limit_max = 2
ticket_rate_limit_window_minutes = 1440
[templates.events]
new_ticket = "fancy-new_ticket2"
[api]
listen = "[::1]:9000"
token = "0123456789abcdef"
"#;
    let c = ok(&text);
    assert_eq!(c.outbound.from_address, "Help@Example.test");
    assert_eq!(c.message_id_domain(), "Example.test");
    assert_eq!(c.outbound.retry.max_attempts, 1, "at least one attempt");
    assert_eq!(c.outbound.retry.initial_backoff, Duration::from_secs(5));
    assert_eq!(c.outbound.retry.max_backoff, Duration::from_secs(50));
    assert!(c.staff.addresses.contains("ann@example.test"));
    assert_eq!(
        c.staff
            .domains
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["staff.example.test", "team.test"]
    );
    assert!(!c.threading.reply_to_token);
    assert_eq!(c.inbound.default_category.as_deref(), Some("general"));
    let poll = c.inbound.maildir.as_ref().map(|m| m.poll_interval);
    assert_eq!(poll, Some(Duration::from_millis(10)), "poll interval floor");
    assert!(c.alerts.acknowledge_cc);
    assert_eq!(
        c.alerts.notify_staff.iter().copied().collect::<Vec<_>>(),
        [StaffEvent::AutomatedTicket]
    );
    assert_eq!(c.alerts.staff_recipients, ["boss@example.test"]);
    assert_eq!(c.alerts.rate_limit_max, 3);
    assert_eq!(c.alerts.rate_limit_window, chrono::Duration::minutes(5));
    assert_eq!(c.alerts.ticket_rate_limit_max, 2);
    assert_eq!(
        c.alerts.ticket_rate_limit_window,
        chrono::Duration::minutes(1440)
    );
    assert_eq!(
        c.template_names.get("new_ticket").map(String::as_str),
        Some("fancy-new_ticket2")
    );
    assert_eq!(
        c.template_names.get("ticket_closed").map(String::as_str),
        Some("ticket_closed")
    );
    assert_eq!(c.api.listen.to_string(), "[::1]:9000");
    assert_eq!(c.api.token.as_deref(), Some("0123456789abcdef"));
}

#[test]
fn smtp_ports_default_by_security() {
    let table = [
        ("security = \"tls\"", SmtpSecurity::Tls, 465),
        ("security = \"starttls\"", SmtpSecurity::StartTls, 587),
        ("security = \"plain\"", SmtpSecurity::Plain, 25),
        (
            "security = \"starttls\"\nport = 2525",
            SmtpSecurity::StartTls,
            2525,
        ),
    ];
    for (extra, security, port) in table {
        let c = ok(&smtp(&format!("host = \"smtp.example.test\"\n{extra}")));
        match &c.outbound.transport {
            TransportConfig::Smtp(s) => {
                assert_eq!((s.security, s.port), (security, port), "{extra}");
                assert_eq!(s.host, "smtp.example.test");
                assert_eq!(s.credentials, None);
                assert_eq!(s.ca_pem, None);
                assert_eq!(s.timeout, Duration::from_secs(30));
            }
            other => panic!("expected smtp, got {other:?}"),
        }
    }
}

#[test]
fn smtp_credentials_and_timeout() {
    let c = ok(&smtp(
        "host = \"h.test\"\nsecurity = \"tls\"\nusername = \"u\"\npassword = \"p\"\ntimeout_secs = 0",
    ));
    match &c.outbound.transport {
        TransportConfig::Smtp(s) => {
            assert_eq!(s.credentials, Some(("u".to_string(), "p".to_string())));
            assert_eq!(s.timeout, Duration::from_secs(1), "timeout floor");
        }
        other => panic!("expected smtp, got {other:?}"),
    }
}

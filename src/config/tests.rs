//! Tests for configuration loading: the example `config/ticketd.toml`
//! parses with the documented values, defaults apply to a minimal file,
//! every kind of mistake yields an error naming the file, the key and what
//! is expected, and the small helpers (`is_support_address`,
//! `is_staff_address`, `RetryPolicy::backoff`) behave.

use std::time::Duration;

use super::*;

const EXAMPLE: &str = include_str!("../../config/ticketd.toml");
const FILE: &str = "config/test.toml";

/// The smallest valid file.
const MINIMAL: &str = r#"
[instance]
name = "desk"
support_addresses = ["Support@Example.test"]

[outbound]
transport = "file"
file_dir = "var/out"
"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new(FILE))
}

fn ok(text: &str) -> Config {
    match parse(text) {
        Ok(c) => c,
        Err(e) => panic!("expected a valid config, got {e}\n---\n{text}"),
    }
}

/// `MINIMAL` with extra TOML appended.
fn minimal_plus(extra: &str) -> String {
    format!("{MINIMAL}\n{extra}\n")
}

/// `MINIMAL` with an SMTP transport instead of the file transport.
fn smtp(table: &str) -> String {
    MINIMAL.replace(
        "transport = \"file\"\nfile_dir = \"var/out\"",
        &format!("transport = \"smtp\"\n\n[outbound.smtp]\n{table}"),
    )
}

#[test]
fn example_config_parses_with_documented_values() {
    let c = match Config::parse(EXAMPLE, Path::new("config/ticketd.toml")) {
        Ok(c) => c,
        Err(e) => panic!("example config: {e}"),
    };
    assert_eq!(c.source, Path::new("config/ticketd.toml"));
    assert_eq!(c.instance_name, "ticketd");
    assert_eq!(
        c.support_addresses.iter().collect::<Vec<_>>(),
        ["support@example.test"]
    );
    assert_eq!(c.from_name.as_deref(), Some("Example Support"));
    assert_eq!(c.secret, None);
    assert_eq!(c.store_path, Path::new("var/ticketd"));
    assert_eq!(c.store_cache_bytes, 8 * 1024 * 1024);

    assert_eq!(
        c.staff.addresses.iter().collect::<Vec<_>>(),
        ["staff@example.test"]
    );
    assert!(c.staff.domains.is_empty());
    assert_eq!(c.staff.authserv_id, None);
    assert!(!c.staff.trust_from_header);

    assert_eq!(c.threading.tag_prefix, "[#");
    assert_eq!(c.threading.tag_suffix, "]");
    assert_eq!(c.threading.tag(crate::model::TicketId(42)), "[#42]");
    assert!(c.threading.reply_to_token);

    assert_eq!(c.inbound.max_message_bytes, 26_214_400);
    assert_eq!(c.inbound.max_attachment_bytes, 10_485_760);
    assert_eq!(c.inbound.default_category, None);
    let maildir = c
        .inbound
        .maildir
        .as_ref()
        .map(|m| (m.path.clone(), m.poll_interval));
    assert_eq!(
        maildir,
        Some((PathBuf::from("var/inbound"), Duration::from_millis(250)))
    );

    match &c.outbound.transport {
        TransportConfig::File { dir } => assert_eq!(dir, Path::new("var/outbound")),
        other => panic!("expected the file transport, got {other:?}"),
    }
    assert_eq!(c.outbound.from_address, "support@example.test");
    assert_eq!(c.reply_base_address(), "support@example.test");
    assert_eq!(c.message_id_domain(), "example.test");
    assert_eq!(c.outbound.retry.max_attempts, 12);
    assert_eq!(c.outbound.retry.initial_backoff, Duration::from_secs(30));
    assert_eq!(c.outbound.retry.max_backoff, Duration::from_secs(3600));

    assert!(!c.alerts.acknowledge_cc);
    assert_eq!(
        c.closed_tickets.customer_reply,
        ReopenPolicy::ReopenWithin(chrono::Duration::days(14))
    );
    assert!(c.closed_tickets.thanks_keeps_closed);
    assert!(c.bounces.verp);
    assert_eq!(c.bounces.soft_bounce_limit, 3);
    assert_eq!(
        c.alerts.notify_staff.iter().copied().collect::<Vec<_>>(),
        [StaffEvent::NewTicket, StaffEvent::CustomerReply]
    );
    assert_eq!(c.alerts.staff_recipients, ["staff@example.test"]);
    assert_eq!(c.alerts.rate_limit_max, 10);
    assert_eq!(c.alerts.rate_limit_window, chrono::Duration::minutes(60));
    assert_eq!(c.alerts.ticket_rate_limit_max, 5);
    assert_eq!(
        c.alerts.ticket_rate_limit_window,
        chrono::Duration::minutes(60)
    );

    assert_eq!(c.templates_dir, Path::new("templates"));
    assert_eq!(
        c.template_names
            .keys()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        TEMPLATE_EVENTS.into_iter().collect::<BTreeSet<_>>()
    );
    assert!(c.template_names.iter().all(|(event, name)| event == name));

    let names: Vec<&str> = c.automated.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["monitoring", "cron", "backup"]);
    let backup = c.automated[2].subject.as_ref();
    assert_eq!(
        backup.map(|r| r.is_match("[Failed] Backup Job Daily-VMs (3 VMs) 1 failed")),
        Some(true)
    );
    assert_eq!(
        backup.map(|r| r.is_match("Failed backup of my laptop, please help")),
        Some(false),
        "a person's subject is not a backup report"
    );
    let monitoring = &c.automated[0];
    assert_eq!(monitoring.category.as_deref(), Some("monitoring"));
    let from = monitoring
        .from
        .as_ref()
        .map(|r| r.is_match("Nagios@host.test"));
    assert_eq!(from, Some(true), "from regex is case-insensitive");
    assert!(monitoring.subject.is_none() && monitoring.headers.is_empty());
    let cron = &c.automated[1];
    assert!(cron.from.is_none());
    assert_eq!(
        cron.subject.as_ref().map(|r| r.is_match("cron <root@h> x")),
        Some(true)
    );
    let headers: Vec<&str> = cron.headers.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(headers, ["x-cron-env"], "header names are lower-cased");
    assert_eq!(
        c.correlations.keys().collect::<Vec<_>>(),
        ["monitoring"],
        "only the monitoring rule correlates"
    );
    let entries = &c.correlations["monitoring"];
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["nagios", "alertmanager"]);
    let nagios = &entries[0];
    assert_eq!(
        (&nagios.key_in, &nagios.recovery_in),
        (&MailField::Subject, &MailField::Subject)
    );
    let key = |subject: &'static str| {
        nagios.key.captures(subject).map(|c| {
            c.iter()
                .skip(1)
                .flatten()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(
        key("** PROBLEM Service Alert: web01/Disk is full is CRITICAL **"),
        Some(vec!["Service", "web01/Disk is full"])
    );
    assert_eq!(
        key("** RECOVERY Host Alert: db01 is UP **"),
        Some(vec!["Host", "db01"])
    );
    let recovery = nagios
        .recovery
        .as_ref()
        .map(|r| r.is_match("** RECOVERY Host Alert: db01 is UP **"));
    assert_eq!(recovery, Some(true));
    let alertmanager = &entries[1];
    for (subject, group) in [
        ("[FIRING:3] HighCPU (node1 critical)", "HighCPU"),
        ("[RESOLVED] HighCPU (node1 critical)", "HighCPU"),
        ("[FIRING:1] DiskFull node7", "DiskFull node7"),
    ] {
        let got = alertmanager
            .key
            .captures(subject)
            .and_then(|c| c.get(1))
            .map(|m| m.as_str());
        assert_eq!(got, Some(group), "{subject}");
    }

    assert_eq!(c.api.listen.to_string(), "127.0.0.1:8025");
    assert_eq!(c.api.token, None);
}

#[test]
fn example_config_loads_from_disk() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/ticketd.toml");
    match Config::load(&path) {
        Ok(c) => assert_eq!(c.source, path),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn missing_file_names_the_file() {
    let path = Path::new("/nonexistent/ticketd-test/none.toml");
    match Config::load(path) {
        Ok(_) => panic!("loaded a missing file"),
        Err(e) => {
            assert_eq!(e.file, "/nonexistent/ticketd-test/none.toml");
            assert_eq!(e.key, "(file)");
            assert!(e.message.starts_with("cannot read"), "{}", e.message);
        }
    }
}

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

/// A valid automated rule to hang correlation entries on.
const RULE: &str = "[[automated]]\nname = \"mon\"\nfrom = \"^nagios@\"\n";

/// One error row: the file text, the key the error must name, and
/// fragments its message must contain.
struct ErrorCase {
    name: &'static str,
    text: String,
    key: &'static str,
    message: &'static [&'static str],
}

fn error_cases() -> Vec<ErrorCase> {
    let case = |name, text: String, key, message| ErrorCase {
        name,
        text,
        key,
        message,
    };
    vec![
        case(
            "unknown top-level key",
            format!("bogus = 1\n{MINIMAL}"),
            "bogus",
            &["unknown field `bogus`", "expected one of", "`instance`"],
        ),
        case(
            "unknown nested key",
            MINIMAL.replace("transport =", "trnsport ="),
            "outbound.trnsport",
            &["unknown field `trnsport`", "`transport`"],
        ),
        case(
            "unknown key in an array of tables",
            minimal_plus("[[automated]]\nname = \"a\"\nfrom = \"x\"\nsubjct = \"y\""),
            "automated[0].subjct",
            &["unknown field `subjct`", "`subject`"],
        ),
        case(
            "wrong type: port as string",
            smtp("host = \"h.test\"\nsecurity = \"tls\"\nport = \"x\""),
            "outbound.smtp.port",
            &["invalid type: string \"x\"", "expected u16"],
        ),
        case(
            "port out of range",
            smtp("host = \"h.test\"\nsecurity = \"tls\"\nport = 70000"),
            "outbound.smtp.port",
            &["70000", "expected u16"],
        ),
        case(
            "wrong type: list expected",
            minimal_plus("[staff]\naddresses = \"a@b.test\""),
            "staff.addresses",
            &["invalid type: string", "expected a sequence"],
        ),
        case(
            "smtp transport without [outbound.smtp]",
            MINIMAL.replace("transport = \"file\"", "transport = \"smtp\""),
            "outbound.smtp",
            &["expected an [outbound.smtp] table", "transport = \"smtp\""],
        ),
        case(
            "unknown transport",
            MINIMAL.replace("transport = \"file\"", "transport = \"sendmail\""),
            "outbound.transport",
            &["expected \"file\" or \"smtp\", found \"sendmail\""],
        ),
        case(
            "file transport without file_dir",
            MINIMAL.replace("file_dir = \"var/out\"", ""),
            "outbound.file_dir",
            &["expected a folder"],
        ),
        case(
            "smtp security ssl",
            smtp("host = \"h.test\"\nsecurity = \"ssl\""),
            "outbound.smtp.security",
            &["expected one of \"tls\", \"starttls\", \"plain\", found \"ssl\""],
        ),
        case(
            "username without password",
            smtp("host = \"h.test\"\nsecurity = \"tls\"\nusername = \"u\""),
            "outbound.smtp.username",
            &["expected both username and password, or neither"],
        ),
        case(
            "password without username",
            smtp("host = \"h.test\"\nsecurity = \"tls\"\npassword = \"p\""),
            "outbound.smtp.username",
            &["expected both username and password, or neither"],
        ),
        case(
            "unreadable ca_file",
            smtp("host = \"h.test\"\nsecurity = \"tls\"\nca_file = \"/nonexistent/ca.pem\""),
            "outbound.smtp.ca_file",
            &["cannot read \"/nonexistent/ca.pem\""],
        ),
        case(
            "subject_tag without {id}",
            minimal_plus("[threading]\nsubject_tag = \"[#]\""),
            "threading.subject_tag",
            &["expected a format containing {id}", "found \"[#]\""],
        ),
        case(
            "subject_tag with nothing before {id}",
            minimal_plus("[threading]\nsubject_tag = \" {id}]\""),
            "threading.subject_tag",
            &["expected some text before {id}"],
        ),
        case(
            "api.listen not loopback",
            minimal_plus("[api]\nlisten = \"0.0.0.0:8025\""),
            "api.listen",
            &["expected a loopback address"],
        ),
        case(
            "api.listen not an address",
            minimal_plus("[api]\nlisten = \"localhost:8025\""),
            "api.listen",
            &[
                "expected an address like \"127.0.0.1:8025\"",
                "found \"localhost:8025\"",
            ],
        ),
        case(
            "short api.token",
            minimal_plus("[api]\ntoken = \"0123456789abcde\""),
            "api.token",
            &["expected at least 16 characters"],
        ),
        case(
            "short instance.secret",
            MINIMAL.replace("name = \"desk\"", "name = \"desk\"\nsecret = \"too short\""),
            "instance.secret",
            &["expected at least 16 characters"],
        ),
        case(
            "invalid support address",
            MINIMAL.replace("[\"Support@Example.test\"]", "[\"support\"]"),
            "instance.support_addresses",
            &[
                "expected e-mail addresses like \"name@example.com\"",
                "found \"support\"",
            ],
        ),
        case(
            "support address without a dot in the domain",
            MINIMAL.replace(
                "[\"Support@Example.test\"]",
                "[\"ok@example.test\", \"x@intranet\"]",
            ),
            "instance.support_addresses",
            &["found \"x@intranet\""],
        ),
        case(
            "no support addresses",
            MINIMAL.replace("[\"Support@Example.test\"]", "[]"),
            "instance.support_addresses",
            &["expected at least one address"],
        ),
        case(
            "instance name with a space",
            MINIMAL.replace("name = \"desk\"", "name = \"help desk\""),
            "instance.name",
            &["expected a short name without spaces"],
        ),
        case(
            "invalid staff address",
            minimal_plus("[staff]\naddresses = [\"staff\"]"),
            "staff.addresses",
            &["found \"staff\""],
        ),
        case(
            "invalid from_address",
            MINIMAL.replace(
                "file_dir = \"var/out\"",
                "file_dir = \"x\"\nfrom_address = \"nobody\"",
            ),
            "outbound.from_address",
            &["found \"nobody\""],
        ),
        case(
            "invalid staff recipient",
            minimal_plus("[alerts]\nstaff_recipients = [\"boss\"]"),
            "alerts.staff_recipients",
            &["found \"boss\""],
        ),
        case(
            "unknown notify_staff event",
            minimal_plus("[alerts]\nnotify_staff = [\"new_ticket\", \"everything\"]"),
            "alerts.notify_staff",
            &["expected some of \"new_ticket\"", "found \"everything\""],
        ),
        case(
            "zero rate-limit window",
            minimal_plus("[alerts]\nrate_limit_window_minutes = 0"),
            "alerts.rate_limit_window_minutes",
            &["expected a positive number of minutes"],
        ),
        case(
            "zero per-ticket rate-limit window",
            minimal_plus("[alerts]\nticket_rate_limit_window_minutes = 0"),
            "alerts.ticket_rate_limit_window_minutes",
            &["expected a positive number of minutes"],
        ),
        case(
            "zero fan-out cap",
            minimal_plus("[alerts]\nmax_fanout = 0"),
            "alerts.max_fanout",
            &["expected a number of at least 1 (default 50)"],
        ),
        case(
            "zero recipients from a mail",
            minimal_plus("[inbound]\nmax_recipients = 0"),
            "inbound.max_recipients",
            &["expected a number of at least 1 (default 20)"],
        ),
        case(
            "short instance id",
            MINIMAL.replace("name = \"desk\"", "name = \"desk\"\nid = \"abc\""),
            "instance.id",
            &["expected at least 8 letters", "found \"abc\""],
        ),
        case(
            "negative per-ticket limit",
            minimal_plus("[alerts]\nticket_rate_limit_max = -1"),
            "alerts.ticket_rate_limit_max",
            &["invalid value"],
        ),
        case(
            "misspelled per-ticket limit key",
            minimal_plus("[alerts]\nticket_rate_max = 3"),
            "alerts.ticket_rate_max",
            &["unknown field `ticket_rate_max`", "`ticket_rate_limit_max`"],
        ),
        case(
            "tiny max_message_bytes",
            minimal_plus("[inbound]\nmax_message_bytes = 1023"),
            "inbound.max_message_bytes",
            &["expected at least 1024 bytes"],
        ),
        case(
            "tiny max_attachment_bytes",
            minimal_plus("[inbound]\nmax_attachment_bytes = 0"),
            "inbound.max_attachment_bytes",
            &["expected at least 1024 bytes"],
        ),
        case(
            "invalid automated subject regex",
            minimal_plus("[[automated]]\nname = \"a\"\nsubject = \"(unclosed\""),
            "automated[0].subject",
            &["invalid regex", "unclosed group"],
        ),
        case(
            "invalid regex in the second rule's from",
            minimal_plus(
                "[[automated]]\nname = \"a\"\nfrom = \"ok\"\n\
                 [[automated]]\nname = \"b\"\nfrom = \"[z-a]\"",
            ),
            "automated[1].from",
            &["invalid regex"],
        ),
        case(
            "invalid automated header regex",
            minimal_plus("[[automated]]\nname = \"a\"\nheaders = { \"X-Foo\" = \"[\" }"),
            "automated[0].headers.X-Foo",
            &["invalid regex"],
        ),
        case(
            "automated rule without conditions",
            minimal_plus("[[automated]]\nname = \"empty\"\ncategory = \"x\""),
            "automated[0].name",
            &["expected at least one condition: from, subject or headers"],
        ),
        case(
            "duplicate automated rule name",
            minimal_plus(
                "[[automated]]\nname = \"a\"\nfrom = \"x\"\n[[automated]]\nname = \"a\"\nfrom = \"y\"",
            ),
            "automated[1].name",
            &["expected a unique rule name", "\"a\" is used twice"],
        ),
        case(
            "correlation key without a capture group",
            minimal_plus(&format!(
                "{RULE}[[automated.correlate]]\nname = \"n\"\nkey = 'Alert: \\S+'"
            )),
            "automated[0].correlate[0].key",
            &["expected a regex with a capture group"],
        ),
        case(
            "invalid correlation recovery regex",
            minimal_plus(&format!(
                "{RULE}[[automated.correlate]]\nname = \"n\"\nkey = '(x)'\nrecovery = '(('"
            )),
            "automated[0].correlate[0].recovery",
            &["invalid regex"],
        ),
        case(
            "unknown correlation field",
            minimal_plus(&format!(
                "{RULE}[[automated.correlate]]\nname = \"n\"\nkey = '(x)'\nkey_in = \"subjekt\""
            )),
            "automated[0].correlate[0].key_in",
            &["expected \"subject\", \"body\" or \"header:Name\", found \"subjekt\""],
        ),
        case(
            "empty header name in recovery_in",
            minimal_plus(&format!(
                "{RULE}[[automated.correlate]]\nname = \"n\"\nkey = '(x)'\nrecovery_in = \"header:\""
            )),
            "automated[0].correlate[0].recovery_in",
            &["header:Name"],
        ),
        case(
            "correlation name with a separator",
            minimal_plus(&format!(
                "{RULE}[[automated.correlate]]\nname = \"a/b\"\nkey = '(x)'"
            )),
            "automated[0].correlate[0].name",
            &["without '/' or ':'"],
        ),
        case(
            "duplicate correlation name",
            minimal_plus(&format!(
                "{RULE}[[automated.correlate]]\nname = \"n\"\nkey = '(x)'\n[[automated.correlate]]\nname = \"n\"\nkey = '(y)'"
            )),
            "automated[0].correlate[1].name",
            &["expected a unique name within the rule"],
        ),
        case(
            "unknown key in a correlation",
            minimal_plus(&format!(
                "{RULE}[[automated.correlate]]\nname = \"n\"\nkey = '(x)'\nrecover = 'y'"
            )),
            "automated[0].correlate[0].recover",
            &["unknown field `recover`"],
        ),
        case(
            "unknown closed-ticket policy",
            minimal_plus("[closed_tickets]\ncustomer_reply = \"reopen_always\""),
            "closed_tickets.customer_reply",
            &["expected \"reopen\", \"reopen_within\" or \"never\", found \"reopen_always\""],
        ),
        case(
            "zero-day reopen window",
            minimal_plus("[closed_tickets]\nreopen_within_days = 0"),
            "closed_tickets.reopen_within_days",
            &["expected a positive number of days"],
        ),
        case(
            "the replaced reopen key",
            minimal_plus("[alerts]\nreopen_on_customer_reply = false"),
            "alerts.reopen_on_customer_reply",
            &[
                "replaced by [closed_tickets] customer_reply",
                "remove this key",
            ],
        ),
        case(
            "unknown key in [bounces]",
            minimal_plus("[bounces]\nsoft_limit = 2"),
            "bounces.soft_limit",
            &["unknown field `soft_limit`", "`soft_bounce_limit`"],
        ),
        case(
            "unknown templates.events key",
            minimal_plus("[templates.events]\nticket_opened = \"x\""),
            "templates.events.ticket_opened",
            &[
                "unknown event",
                "acknowledgement, new_ticket, ticket_closed, public_reply, staff_notification",
            ],
        ),
        case(
            "template name with a path",
            minimal_plus("[templates.events]\nnew_ticket = \"../x\""),
            "templates.events.new_ticket",
            &["expected a template folder name"],
        ),
        case(
            "TOML syntax error",
            minimal_plus("[api"),
            "(syntax)",
            &["TOML parse error", "expected `]`"],
        ),
        case(
            "TOML duplicate key",
            MINIMAL.replace("name = \"desk\"", "name = \"desk\"\nname = \"again\""),
            "(syntax)",
            &["duplicate key"],
        ),
    ]
}

#[test]
fn config_errors_name_file_key_and_expectation() {
    let cases = error_cases();
    let mut failures = Vec::new();
    for case in &cases {
        match parse(&case.text) {
            Ok(_) => failures.push(format!("{}: parsed without error", case.name)),
            Err(e) => {
                let missing: Vec<&&str> = case
                    .message
                    .iter()
                    .filter(|m| !e.message.contains(**m))
                    .collect();
                if e.file != FILE || e.key != case.key || !missing.is_empty() {
                    failures.push(format!(
                        "{}:\n  expected {FILE}: {}: ...{:?}...\n  got      {e}",
                        case.name, case.key, missing
                    ));
                }
                let rendered = e.to_string();
                if !rendered.starts_with(&format!("{FILE}: {}: ", e.key)) {
                    failures.push(format!("{}: rendered as {rendered:?}", case.name));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} error cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn syntax_errors_fit_on_one_line() {
    match parse(&minimal_plus("[api")) {
        Ok(_) => panic!("parsed"),
        Err(e) => assert!(!e.message.contains('\n'), "{:?}", e.message),
    }
}

#[test]
fn missing_required_table_is_named() {
    let text = MINIMAL.replace(
        "[outbound]\ntransport = \"file\"\nfile_dir = \"var/out\"",
        "",
    );
    match parse(&text) {
        Ok(_) => panic!("parsed without [outbound]"),
        Err(e) => {
            assert_eq!(e.file, FILE);
            assert!(e.message.contains("missing field `outbound`"), "{e}");
        }
    }
}

/// `"@localhost"` has no local part and must be rejected like `"@example.com"`.
#[test]
fn address_with_empty_local_part_at_localhost_is_rejected() {
    let text = MINIMAL.replace("[\"Support@Example.test\"]", "[\"@localhost\"]");
    match parse(&text) {
        Ok(c) => panic!("accepted support address {:?}", c.support_addresses),
        Err(e) => assert_eq!(e.key, "instance.support_addresses"),
    }
}

#[test]
fn address_validation_table() {
    let table = [
        ("name@example.com", true),
        ("<Name@Example.COM>", true),
        ("support@localhost", true),
        ("@example.com", false),
        ("support", false),
        ("support@intranet", false),
        ("", false),
    ];
    for (address, valid) in table {
        let text = MINIMAL.replace("Support@Example.test", address);
        assert_eq!(parse(&text).is_ok(), valid, "{address:?}");
    }
}

#[test]
fn is_support_address_table() {
    let c = ok(&MINIMAL.replace(
        "[\"Support@Example.test\"]",
        "[\"support@example.test\", \"billing@example.test\"]",
    ));
    let table = [
        ("support@example.test", true),
        ("Support@Example.TEST", true),
        (" <support@example.test> ", true),
        ("billing@example.test", true),
        ("support+t12.abc123@example.test", true),
        ("SUPPORT+anything@EXAMPLE.test", true),
        ("billing+s3.x@example.test", true),
        ("support+@example.test", true),
        ("support@other.test", false),
        ("support+t12.abc@other.test", false),
        ("supportx@example.test", false),
        ("x+support@example.test", false),
        ("sales+support@example.test", false),
        ("support", false),
        ("", false),
    ];
    for (address, expected) in table {
        assert_eq!(c.is_support_address(address), expected, "{address:?}");
    }
}

#[test]
fn is_staff_address_table() {
    let staff = StaffConfig {
        addresses: ["ann@corp.test".to_string()].into_iter().collect(),
        domains: ["staff.test".to_string()].into_iter().collect(),
        ..StaffConfig::default()
    };
    let table = [
        ("ann@corp.test", true),
        ("ANN@Corp.Test", true),
        ("<ann@corp.test>", true),
        ("bob@corp.test", false),
        ("anyone@staff.test", true),
        ("Anyone@STAFF.test", true),
        ("x@sub.staff.test", false),
        ("x@staff.test.evil.test", false),
        ("x@notstaff.test", false),
        ("staff.test", false),
        ("", false),
    ];
    for (address, expected) in table {
        assert_eq!(staff.is_staff_address(address), expected, "{address:?}");
    }
    assert!(!StaffConfig::default().is_staff_address("ann@corp.test"));
}

#[test]
fn staff_domains_from_config_match() {
    let c = ok(&minimal_plus("[staff]\ndomains = [\"@Team.Example.test\"]"));
    assert!(c.staff.is_staff_address("joe@team.example.test"));
    assert!(!c.staff.is_staff_address("joe@example.test"));
}

#[test]
fn staff_recipients_default_to_staff_addresses() {
    let c = ok(&minimal_plus(
        "[staff]\naddresses = [\"B@example.test\", \"a@example.test\"]",
    ));
    assert_eq!(
        c.alerts.staff_recipients,
        ["a@example.test", "b@example.test"]
    );
}

#[test]
fn retry_backoff_doubles_and_caps() {
    let policy = RetryPolicy {
        max_attempts: 12,
        initial_backoff: Duration::from_secs(30),
        max_backoff: Duration::from_secs(3600),
    };
    let table = [
        (0, 30),
        (1, 30),
        (2, 60),
        (3, 120),
        (4, 240),
        (5, 480),
        (7, 1920),
        (8, 3600),
        (9, 3600),
        (33, 3600),
        (64, 3600),
        (u32::MAX, 3600),
    ];
    for (attempts, secs) in table {
        assert_eq!(
            policy.backoff(attempts),
            Duration::from_secs(secs),
            "after {attempts} failures"
        );
    }
}

#[test]
fn retry_backoff_edge_policies() {
    let zero = RetryPolicy {
        max_attempts: 1,
        initial_backoff: Duration::ZERO,
        max_backoff: Duration::from_secs(10),
    };
    assert_eq!(zero.backoff(5), Duration::ZERO);
    let inverted = RetryPolicy {
        max_attempts: 1,
        initial_backoff: Duration::from_secs(100),
        max_backoff: Duration::from_secs(50),
    };
    assert_eq!(inverted.backoff(1), Duration::from_secs(50));
    let huge = RetryPolicy {
        max_attempts: 1,
        initial_backoff: Duration::MAX,
        max_backoff: Duration::from_secs(7),
    };
    assert_eq!(
        huge.backoff(40),
        Duration::from_secs(7),
        "saturates, no overflow"
    );
}

#[test]
fn config_error_renders_file_key_message() {
    let e = ConfigError {
        file: "a.toml".into(),
        key: "outbound.smtp.security".into(),
        message: "expected one of \"tls\"".into(),
    };
    assert_eq!(
        e.to_string(),
        "a.toml: outbound.smtp.security: expected one of \"tls\""
    );
}

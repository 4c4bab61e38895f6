//! The table of configuration mistakes: each yields an error naming the
//! file, the key and what is expected.

use super::{FILE, MINIMAL, minimal_plus, parse, smtp};

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

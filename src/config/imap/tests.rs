//! `[[inbound.imap]]`: defaults, explicit values, and each mistake named
//! with its file, key and fix.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::config::Config;

const BASE: &str = r#"
[instance]
name = "desk"
support_addresses = ["support@example.test"]

[outbound]
transport = "file"
file_dir = "var/out"
"#;

fn parse(mailboxes: &str) -> Result<Config, ConfigError> {
    Config::parse(&format!("{BASE}\n{mailboxes}"), Path::new("t.toml"))
}

fn one(entry: &str) -> Result<ImapConfig, ConfigError> {
    let config = parse(&format!("[[inbound.imap]]\n{entry}"))?;
    Ok(config.inbound.imap[0].clone())
}

const MINIMAL: &str = r#"
name = "support"
host = "imap.example.test"
security = "tls"
username = "support@example.test"
password = "pw"
"#;

#[test]
fn defaults_follow_security_and_are_safe() {
    let m = one(MINIMAL).expect("valid");
    assert_eq!(m.port, 993);
    assert_eq!(m.auth, ImapAuth::Login);
    assert_eq!(m.folder, "INBOX");
    assert_eq!(m.on_processed, ProcessedAction::Move("Processed".into()));
    assert_eq!(m.on_quarantine, QuarantineAction::Move("Quarantine".into()));
    assert!(m.idle);
    assert_eq!(m.idle_refresh, Duration::from_secs(25 * 60));
    assert_eq!(m.poll_interval, Duration::from_secs(60));
    assert_eq!(m.batch_size, 200);
    assert_eq!(m.password.expose(), "pw");
    assert!(
        !format!("{m:?}").contains("pw\""),
        "password in Debug output"
    );
    let starttls = one(&MINIMAL.replace("\"tls\"", "\"starttls\"")).expect("valid");
    assert_eq!(starttls.port, 143);
}

#[test]
fn explicit_values_are_kept() {
    let m = one(&format!(
        "{MINIMAL}\nport = 1993\nauth = \"plain\"\nfolder = \"Support\"\non_processed = \"flag\"\nprocessed_flag = \"$Done\"\non_quarantine = \"flag\"\nidle = false\npoll_interval_secs = 5\nbatch_size = 50\ncategory = \"billing\""
    ))
    .expect("valid");
    assert_eq!(m.port, 1993);
    assert_eq!(m.auth, ImapAuth::Plain);
    assert_eq!(m.folder, "Support");
    assert_eq!(m.on_processed, ProcessedAction::Flag("$Done".into()));
    assert_eq!(
        m.on_quarantine,
        QuarantineAction::Flag(QUARANTINE_KEYWORD.into())
    );
    assert!(!m.idle);
    assert_eq!(m.poll_interval, Duration::from_secs(5));
    assert_eq!(m.batch_size, 50);
    assert_eq!(m.category.as_deref(), Some("billing"));
    let deleting = one(&format!("{MINIMAL}\non_processed = \"delete\"")).expect("valid");
    assert_eq!(deleting.on_processed, ProcessedAction::Delete);
}

#[test]
fn password_file_gives_its_first_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("pw");
    std::fs::write(&file, "from-file\nignored\n").expect("write");
    let entry = MINIMAL.replace(
        "password = \"pw\"",
        &format!("password_file = {:?}", file.display().to_string()),
    );
    assert_eq!(one(&entry).expect("valid").password.expose(), "from-file");
}

#[test]
fn mistakes_name_the_key_and_the_fix() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "security = \"tls\"",
            "security = \"ssl\"",
            "inbound.imap[0].security",
        ),
        ("password = \"pw\"", "", "inbound.imap[0].password"),
        (
            "password = \"pw\"",
            "password = \"pw\"\npassword_file = \"/x\"",
            "inbound.imap[0].password",
        ),
        (
            "password = \"pw\"",
            "password_file = \"/no/such/file\"",
            "inbound.imap[0].password_file",
        ),
        (
            "name = \"support\"",
            "name = \"sup port\"",
            "inbound.imap[0].name",
        ),
        (
            "security = \"tls\"",
            "security = \"tls\"\nauth = \"xoauth2\"",
            "inbound.imap[0].auth",
        ),
        (
            "security = \"tls\"",
            "security = \"tls\"\non_processed = \"archive\"",
            "inbound.imap[0].on_processed",
        ),
        (
            "security = \"tls\"",
            "security = \"tls\"\non_quarantine = \"delete\"",
            "inbound.imap[0].on_quarantine",
        ),
        (
            "security = \"tls\"",
            "security = \"tls\"\nfolder = \"Sp\\\"am\"",
            "inbound.imap[0].folder",
        ),
        (
            "security = \"tls\"",
            "security = \"tls\"\nprocessed_folder = \"Erledigt/Übersicht\"",
            "inbound.imap[0].processed_folder",
        ),
        (
            "security = \"tls\"",
            "security = \"tls\"\non_processed = \"flag\"\nprocessed_flag = \"\\\\Se en\"",
            "inbound.imap[0].processed_flag",
        ),
        (
            "security = \"tls\"",
            "security = \"tls\"\nidle_refresh_secs = 1800",
            "inbound.imap[0].idle_refresh_secs",
        ),
        (
            "security = \"tls\"",
            "security = \"tls\"\nca_file = \"/no/such/ca.pem\"",
            "inbound.imap[0].ca_file",
        ),
        (
            "security = \"tls\"",
            "security = \"tls\"\npassword_env = \"X\"",
            "password_env",
        ),
    ];
    for (from, to, key) in cases {
        let entry = MINIMAL.replace(from, to);
        let error = one(&entry).expect_err(&format!("should fail: {to}"));
        let text = error.to_string();
        assert!(text.starts_with("t.toml: "), "{text}");
        assert!(text.contains(key), "{to}: {text}");
        assert!(
            text.contains("expected")
                || text.contains("cannot read")
                || text.contains("unknown field"),
            "{to}: {text}"
        );
    }
}

#[test]
fn mailbox_names_must_be_unique() {
    let entry = format!("[[inbound.imap]]\n{MINIMAL}\n[[inbound.imap]]\n{MINIMAL}");
    let error = parse(&entry).expect_err("duplicate names");
    assert_eq!(error.key, "inbound.imap[1].name");
    assert!(error.message.contains("used twice"), "{error}");
}

#[test]
fn the_mailbox_category_wins_over_the_default() {
    let config = parse(&format!(
        "[inbound]\ndefault_category = \"general\"\n[[inbound.imap]]\n{MINIMAL}\ncategory = \"billing\""
    ))
    .expect("valid");
    let from_imap = crate::model::Source::Imap {
        mailbox: "support".into(),
        uid_validity: 1,
        uid: 1,
    };
    assert_eq!(
        config.default_category(&from_imap).as_deref(),
        Some("billing")
    );
    let piped = crate::model::Source::Pipe;
    assert_eq!(config.default_category(&piped).as_deref(), Some("general"));
}

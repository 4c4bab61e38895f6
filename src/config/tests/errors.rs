//! Errors outside the table: an unreadable file, the shape of syntax
//! errors, a missing required table and how an error renders.

use super::{FILE, MINIMAL, minimal_plus, parse};
use crate::config::*;

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

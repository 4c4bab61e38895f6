//! Tests for configuration loading: the example `config/ticketd.toml`
//! parses with the documented values, defaults apply to a minimal file,
//! every kind of mistake yields an error naming the file, the key and what
//! is expected, and the small helpers (`is_support_address`,
//! `is_staff_address`, `RetryPolicy::backoff`) behave.
//!
//! The tests are grouped by topic in the submodules; the shared fixtures
//! and helpers (`MINIMAL`, `parse`, `ok`, ...) are here.

mod addresses;
mod defaults;
mod error_table;
mod errors;
mod example;
mod retry;

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

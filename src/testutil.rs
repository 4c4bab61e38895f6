//! Helpers for unit tests: a config built from the shipped example and a
//! desk over a throw-away store.

use std::path::Path;

use crate::config::Config;
use crate::domain::desk::Desk;

/// The example config with `overrides` applied as `(from, to)` text
/// replacements.
pub fn config(overrides: &[(&str, &str)]) -> Config {
    let mut text = include_str!("../config/ticketd.toml").to_string();
    for (from, to) in overrides {
        assert!(
            text.contains(from),
            "override target {from:?} not in example config"
        );
        text = text.replace(from, to);
    }
    Config::parse(&text, Path::new("config/ticketd.toml")).expect("test config parses")
}

/// A desk over a fresh store in a temp dir (kept alive by the returned guard).
pub fn desk(overrides: &[(&str, &str)]) -> (tempfile::TempDir, Desk) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = config(overrides);
    config.store_path = dir.path().join("store");
    config.templates_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    config.secret = Some("unit-test-secret-0123456789".into());
    let desk = Desk::open(config).expect("desk opens");
    (dir, desk)
}

//! Fuzz target: raw bytes through the pure steps of ingest, without a
//! store: `mail::parse`, then `classify::classify`, the subject helpers of
//! `threading`, `content::reply_text` and `new_text`, and
//! `commands::extract`, checking a few properties each must keep for any
//! input.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ticketd::ingest::classify::{ClassifyContext, classify};
use ticketd::config::Config;
use ticketd::model::token::ThreadKey;
use ticketd::ingest::{commands, content, mail, threading};

/// Reply and forward prefixes `clean_subject` removes.
const PREFIXES: [&str; 12] = [
    "re:", "fw:", "fwd:", "aw:", "wg:", "sv:", "vs:", "tr:", "rv:", "odp:", "antw:", "res:",
];

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(ticketd_fuzz::config)
}

/// The thread key of the fuzz configuration's fixed secret.
fn key() -> &'static ThreadKey {
    static KEY: OnceLock<ThreadKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let secret = config().secret.clone().unwrap_or_default();
        ThreadKey::new(secret.into_bytes())
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(mail) = mail::parse(data) else {
        return;
    };
    let config = config();
    let class = classify(
        &mail,
        ClassifyContext {
            loop_id: config.loop_id(),
            support_addresses: &config.support_addresses,
            automated_rules: &config.automated,
            key: key(),
            message_id_domain: config.message_id_domain(),
        },
    );
    assert!(
        !class.rule.is_empty(),
        "every classification names its rule"
    );

    let cleaned = threading::clean_subject(&mail.subject, config);
    assert!(!cleaned.is_empty(), "a cleaned subject is never empty");
    assert_eq!(cleaned, cleaned.trim(), "a cleaned subject is trimmed");
    let lower = cleaned.to_ascii_lowercase();
    assert!(
        cleaned == "(no subject)" || !PREFIXES.iter().any(|p| lower.starts_with(p)),
        "prefix left on {cleaned:?}"
    );
    let _ = threading::subject_tag(&mail.subject, config);

    let reply = content::reply_text(&mail.text);
    let all_lines = mail.text.lines().collect::<Vec<_>>().join("\n");
    assert!(
        all_lines.starts_with(&reply),
        "the reply text is a leading part of the body"
    );
    let new = content::new_text(&mail.subject, &mail.text);
    assert!(
        all_lines.starts_with(&new) || mail.text.starts_with(&new),
        "the new text is a leading part of the body"
    );
    let (_, kept) = commands::extract(&reply);
    assert!(kept.len() <= reply.len(), "commands only remove text");
});

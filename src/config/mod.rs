//! Configuration, in two phases: [`raw::RawConfig`] mirrors the TOML file;
//! [`Config`] is validated, with regexes compiled and defaults applied.
//!
//! Every error names the file, the key and what is expected, e.g.
//! `config/ticketd.toml: outbound.smtp.security: expected one of "tls",
//! "starttls", "plain", found "ssl"`.

pub mod imap;
pub mod raw;
mod sections;
pub mod tls;
mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::model::normalize_address;
use raw::RawConfig;
pub use sections::*;
use validate::Validator;

/// A configuration problem, rendered for humans.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {key}: {message}")]
pub struct ConfigError {
    /// The config file.
    pub file: String,
    /// Dotted key path, `(syntax)` for TOML syntax errors or `(file)` when
    /// the file cannot be read.
    pub key: String,
    /// What is wrong and what is expected.
    pub message: String,
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from.
    pub source: PathBuf,
    /// Short instance name (templates' `instance.name`).
    pub instance_name: String,
    /// Unique id of this desk in the loop header: `instance.id`, or the
    /// one generated into the store on first start (filled in when the
    /// desk's workflow is built over its store).
    pub instance_id: Option<String>,
    /// Support addresses, normalized.
    pub support_addresses: BTreeSet<String>,
    /// Display name for outgoing mail.
    pub from_name: Option<String>,
    /// Explicit token secret, if configured.
    pub secret: Option<String>,
    /// Store directory.
    pub store_path: PathBuf,
    /// sled cache size in bytes.
    pub store_cache_bytes: u64,
    /// Bytes kept free on the store's filesystem: a write that would leave
    /// less fails as "disk full" with nothing written, and is retried.
    pub store_min_free_bytes: u64,
    /// Who counts as staff.
    pub staff: StaffConfig,
    /// Threading options.
    pub threading: ThreadingConfig,
    /// Inbound options.
    pub inbound: InboundConfig,
    /// Outbound options.
    pub outbound: OutboundConfig,
    /// Alert policy.
    pub alerts: AlertsConfig,
    /// What replies to closed tickets do.
    pub closed_tickets: ClosedTicketsConfig,
    /// Bounce handling.
    pub bounces: BouncesConfig,
    /// Template directory.
    pub templates_dir: PathBuf,
    /// Template name per event, see [`crate::model::outbox::AlertKind`].
    pub template_names: BTreeMap<String, String>,
    /// Rules that mark mail as automated.
    pub automated: Vec<AutomatedRule>,
    /// Correlation keys per automated rule name (`[[automated.correlate]]`),
    /// tried in order; the first whose key matches wins.
    pub correlations: BTreeMap<String, Vec<Correlation>>,
    /// Local API.
    pub api: ApiConfig,
}

impl Config {
    /// Whether an address is one of ours, including plus-tagged variants
    /// such as `support+t12.abc@example.com`.
    pub fn is_support_address(&self, address: &str) -> bool {
        let address = normalize_address(address);
        if self.support_addresses.contains(&address) {
            return true;
        }
        match address.split_once('@') {
            Some((local, domain)) => match local.split_once('+') {
                Some((base, _)) => self.support_addresses.contains(&format!("{base}@{domain}")),
                None => false,
            },
            None => false,
        }
    }

    /// Whether an address is a deliverable address outside the
    /// organisation (not a support address, not staff).
    pub fn is_external_address(&self, address: &str) -> bool {
        crate::model::is_deliverable_address(address)
            && !self.is_support_address(address)
            && !self.staff.is_staff_address(address)
    }

    /// Category for a ticket opened from `source` when no rule gave one:
    /// the IMAP mailbox's own, else `inbound.default_category`.
    pub fn default_category(&self, source: &crate::model::Source) -> Option<String> {
        let mailbox_category = match source {
            crate::model::Source::Imap { mailbox, .. } => self
                .inbound
                .imap
                .iter()
                .find(|m| &m.name == mailbox)
                .and_then(|m| m.category.clone()),
            _ => None,
        };
        mailbox_category.or_else(|| self.inbound.default_category.clone())
    }

    /// The support address outgoing mail comes from and replies go to.
    pub fn reply_base_address(&self) -> &str {
        &self.outbound.from_address
    }

    /// Value of our loop header: `instance.id`, else the id the desk
    /// generated into its store (set when the desk opens); the instance
    /// name only for a config that never went through a desk (tests).
    pub fn loop_id(&self) -> &str {
        self.instance_id.as_deref().unwrap_or(&self.instance_name)
    }

    /// Domain used in our Message-IDs.
    pub fn message_id_domain(&self) -> &str {
        self.outbound
            .from_address
            .rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or("localhost")
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            key: "(file)".into(),
            message: format!("cannot read: {e}"),
        })?;
        Config::parse(&text, path)
    }

    /// Parses and validates config text; `path` is used in messages and
    /// to read referenced files.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let raw = parse_raw(text, &file)?;
        Validator { file }.config(raw, path)
    }
}

fn parse_raw(text: &str, file: &str) -> Result<RawConfig, ConfigError> {
    let syntax = |e: toml::de::Error| ConfigError {
        file: file.to_string(),
        key: "(syntax)".into(),
        message: e.to_string().trim().replace('\n', " "),
    };
    let deserializer = toml::Deserializer::parse(text).map_err(syntax)?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let key = match e.path().to_string() {
            path if path == "." || path.is_empty() => "(top level)".to_string(),
            path => path,
        };
        let message = e.into_inner().message().to_string();
        ConfigError {
            file: file.to_string(),
            key,
            message,
        }
    })
}

#[cfg(test)]
mod tests;

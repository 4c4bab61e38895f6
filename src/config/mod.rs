//! Configuration, in two phases: [`raw::RawConfig`] mirrors the TOML file;
//! [`Config`] is validated, with regexes compiled and defaults applied.
//!
//! Every error names the file, the key and what is expected, e.g.
//! `config/ticketd.toml: outbound.smtp.security: expected one of "tls",
//! "starttls", "plain", found "ssl"`.

pub mod imap;
pub mod raw;
pub mod tls;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;

use crate::model::normalize_address;
use raw::*;

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

/// `[staff]`, validated.
#[derive(Debug, Clone, Default)]
pub struct StaffConfig {
    /// Staff addresses.
    pub addresses: BTreeSet<String>,
    /// Staff domains.
    pub domains: BTreeSet<String>,
    /// Trusted authserv-id for `Authentication-Results`.
    pub authserv_id: Option<String>,
    /// Accept the From line as proof (insecure).
    pub trust_from_header: bool,
}

impl StaffConfig {
    /// Whether an address belongs to staff (by address or domain).
    pub fn is_staff_address(&self, address: &str) -> bool {
        let address = normalize_address(address);
        let domain = address.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        self.addresses.contains(&address) || self.domains.contains(domain)
    }
}

/// `[threading]`, validated.
#[derive(Debug, Clone)]
pub struct ThreadingConfig {
    /// Text before the number, e.g. `[#`.
    pub tag_prefix: String,
    /// Text after the number, e.g. `]`.
    pub tag_suffix: String,
    /// Regex finding the number in a subject.
    pub tag_regex: Regex,
    /// Whether Reply-To carries `local+token@domain`.
    pub reply_to_token: bool,
}

impl ThreadingConfig {
    /// The tag for a ticket, e.g. `[#42]`.
    pub fn tag(&self, id: crate::model::TicketId) -> String {
        format!("{}{}{}", self.tag_prefix, id, self.tag_suffix)
    }
}

/// `[inbound]`, validated.
#[derive(Debug, Clone)]
pub struct InboundConfig {
    /// Largest message accepted.
    pub max_message_bytes: u64,
    /// Largest attachment listed on a comment; larger ones get a note
    /// instead (the raw message keeps them).
    pub max_attachment_bytes: u64,
    /// Category for new tickets.
    pub default_category: Option<String>,
    /// External recipients a new ticket takes from the mail's From, To and
    /// Cc (the requester first); the rest are recorded as not added.
    pub max_recipients: usize,
    /// Maildir drop folder, if any.
    pub maildir: Option<MaildirConfig>,
    /// IMAP mailboxes watched.
    pub imap: Vec<imap::ImapConfig>,
}

/// `[inbound.maildir]`, validated.
#[derive(Debug, Clone)]
pub struct MaildirConfig {
    /// Maildir root.
    pub path: PathBuf,
    /// How often `new/` is scanned.
    pub poll_interval: Duration,
}

/// `[outbound]`, validated.
#[derive(Debug, Clone)]
pub struct OutboundConfig {
    /// Where mail goes.
    pub transport: TransportConfig,
    /// Envelope and header sender.
    pub from_address: String,
    /// Retry policy.
    pub retry: RetryPolicy,
}

/// Delivery retry policy.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// First delay.
    pub initial_backoff: Duration,
    /// Largest delay.
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// Delay before attempt `attempt + 1` after `attempt` failures.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Outbound transport.
#[derive(Debug, Clone)]
pub enum TransportConfig {
    /// One `.eml` per message into a folder.
    File {
        /// The folder.
        dir: PathBuf,
    },
    /// SMTP via lettre.
    Smtp(SmtpConfig),
}

/// SMTP connection security.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Implicit TLS (port 465).
    Tls,
    /// STARTTLS upgrade (port 587).
    StartTls,
    /// No TLS (loopback only).
    Plain,
}

/// `[outbound.smtp]`, validated.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Security.
    pub security: SmtpSecurity,
    /// Credentials.
    pub credentials: Option<(String, String)>,
    /// Extra CA (PEM file contents).
    pub ca_pem: Option<Vec<u8>>,
    /// Command timeout.
    pub timeout: Duration,
}

/// `[alerts]`, validated.
#[derive(Debug, Clone)]
pub struct AlertsConfig {
    /// Acknowledge Cc'd recipients too.
    pub acknowledge_cc: bool,
    /// Staff events that notify staff.
    pub notify_staff: BTreeSet<StaffEvent>,
    /// Who gets staff notifications.
    pub staff_recipients: Vec<String>,
    /// Max automatic messages per recipient per window.
    pub rate_limit_max: u32,
    /// Rate-limit window.
    pub rate_limit_window: chrono::Duration,
    /// Max automatic messages per ticket and recipient per window.
    pub ticket_rate_limit_max: u32,
    /// Per-ticket rate-limit window.
    pub ticket_rate_limit_window: chrono::Duration,
    /// Outside recipients one event may alert; alerts beyond are held
    /// (suppressed, `fan-out-cap`) for staff to release.
    pub max_fanout: usize,
    /// A first mail from a sender with no earlier ticket that names more
    /// than this many other outside recipients alerts only the requester
    /// until staff confirm the recipients.
    pub new_sender_max_cc: usize,
}

/// `[closed_tickets]`, validated.
#[derive(Debug, Clone)]
pub struct ClosedTicketsConfig {
    /// What a customer reply to a closed ticket does.
    pub customer_reply: ReopenPolicy,
    /// A reply that only says thanks stays a comment on the closed ticket.
    pub thanks_keeps_closed: bool,
}

/// What a customer reply to a closed ticket does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReopenPolicy {
    /// Always reopen.
    Reopen,
    /// Reopen when closed less than this long ago, else open a follow-up
    /// ticket linked to the closed one.
    ReopenWithin(chrono::Duration),
    /// Never reopen: open a follow-up ticket linked to the closed one.
    Never,
}

/// `[bounces]`, validated.
#[derive(Debug, Clone, Copy)]
pub struct BouncesConfig {
    /// Send with a keyed per-message envelope sender (VERP).
    pub verp: bool,
    /// Soft bounces of an address on a ticket before mail to it stops
    /// (0: never).
    pub soft_bounce_limit: u32,
}

/// Events that can notify staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StaffEvent {
    /// A customer opened a ticket.
    NewTicket,
    /// An automated ticket was opened.
    AutomatedTicket,
    /// A customer replied.
    CustomerReply,
}

impl StaffEvent {
    const ALL: [(&'static str, StaffEvent); 3] = [
        ("new_ticket", StaffEvent::NewTicket),
        ("automated_ticket", StaffEvent::AutomatedTicket),
        ("customer_reply", StaffEvent::CustomerReply),
    ];
}

/// An admin rule marking mail from an external application as automated.
#[derive(Debug, Clone)]
pub struct AutomatedRule {
    /// Rule name.
    pub name: String,
    /// Sender regex.
    pub from: Option<Regex>,
    /// Subject regex.
    pub subject: Option<Regex>,
    /// Header regexes (lower-case header name).
    pub headers: Vec<(String, Regex)>,
    /// Category for tickets it opens.
    pub category: Option<String>,
}

/// A correlation key of an automated rule: while a ticket opened with a
/// key is open, more mail with the same key becomes a comment on it, and
/// mail matching `recovery` closes it.
#[derive(Debug, Clone)]
pub struct Correlation {
    /// Name (unique within the rule).
    pub name: String,
    /// Where the key is looked for.
    pub key_in: MailField,
    /// The key: its capture groups, joined with `/`.
    pub key: Regex,
    /// Where the recovery pattern is looked for.
    pub recovery_in: MailField,
    /// Marks a recovery ("resolved", "OK") mail.
    pub recovery: Option<Regex>,
}

/// A part of a mail a pattern is applied to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailField {
    /// The decoded subject.
    Subject,
    /// The plain-text body.
    Body,
    /// The first header of this (lower-case) name.
    Header(String),
}

/// `[api]`, validated.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Listen address (loopback).
    pub listen: SocketAddr,
    /// Configured token, if any.
    pub token: Option<String>,
}

/// The template events and their default template names.
pub const TEMPLATE_EVENTS: [&str; 6] = [
    "acknowledgement",
    "new_ticket",
    "ticket_closed",
    "public_reply",
    "staff_notification",
    "staff_warning",
];

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

/// Collapses a multi-line library message onto one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Validator {
    file: String,
}

impl Validator {
    fn err(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    fn config(&self, raw: RawConfig, path: &Path) -> Result<Config, ConfigError> {
        let support_addresses = self.addresses(
            "instance.support_addresses",
            &raw.instance.support_addresses,
        )?;
        if support_addresses.is_empty() {
            return Err(self.err(
                "instance.support_addresses",
                "expected at least one address, e.g. [\"support@example.com\"]",
            ));
        }
        if raw.instance.name.trim().is_empty() || raw.instance.name.contains(char::is_whitespace) {
            return Err(self.err(
                "instance.name",
                "expected a short name without spaces, e.g. \"ticketd\"",
            ));
        }
        let first_support = normalize_address(&raw.instance.support_addresses[0]);
        let (automated, correlations) = self.automated_rules(raw.automated)?;
        let staff = self.staff(raw.staff)?;
        let mut alerts = self.alerts(raw.alerts)?;
        if alerts.staff_recipients.is_empty() {
            alerts.staff_recipients = staff.addresses.iter().cloned().collect();
        }
        Ok(Config {
            source: path.to_path_buf(),
            instance_name: raw.instance.name,
            instance_id: self.instance_id(raw.instance.id)?,
            support_addresses,
            from_name: raw.instance.from_name,
            secret: self.secret(raw.instance.secret)?,
            store_path: PathBuf::from(raw.store.path.unwrap_or_else(|| "var/ticketd".into())),
            store_cache_bytes: raw.store.cache_bytes.unwrap_or(DEFAULT_CACHE_BYTES),
            store_min_free_bytes: raw.store.min_free_bytes.unwrap_or(DEFAULT_MIN_FREE_BYTES),
            staff,
            threading: self.threading(raw.threading)?,
            inbound: self.inbound(raw.inbound)?,
            outbound: self.outbound(raw.outbound, &first_support)?,
            alerts,
            closed_tickets: self.closed_tickets(raw.closed_tickets)?,
            bounces: BouncesConfig {
                verp: raw.bounces.verp.unwrap_or(true),
                soft_bounce_limit: raw
                    .bounces
                    .soft_bounce_limit
                    .unwrap_or(DEFAULT_SOFT_BOUNCE_LIMIT),
            },
            templates_dir: PathBuf::from(
                raw.templates
                    .dir
                    .clone()
                    .unwrap_or_else(|| "templates".into()),
            ),
            template_names: self.template_names(raw.templates.events)?,
            automated,
            correlations,
            api: self.api(raw.api)?,
        })
    }

    fn instance_id(&self, id: Option<String>) -> Result<Option<String>, ConfigError> {
        match id {
            Some(id) if id.len() < 8 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') => Err(self.err(
                "instance.id",
                format!("expected at least 8 letters, digits, '-' or '.', unique to this desk, found \"{id}\" (or remove the key to have one generated)"),
            )),
            other => Ok(other),
        }
    }

    fn secret(&self, secret: Option<String>) -> Result<Option<String>, ConfigError> {
        match secret {
            Some(s) if s.len() < 16 => Err(self.err("instance.secret", "expected at least 16 characters of random text (or remove the key to have one generated)")),
            other => Ok(other),
        }
    }

    fn addresses(&self, key: &str, list: &[String]) -> Result<BTreeSet<String>, ConfigError> {
        list.iter()
            .map(|a| {
                let a = normalize_address(a);
                match a.split_once('@') {
                    Some((l, d)) if !l.is_empty() && (d.contains('.') || d == "localhost") => Ok(a),
                    _ => Err(self.err(
                        key,
                        format!(
                            "expected e-mail addresses like \"name@example.com\", found \"{a}\""
                        ),
                    )),
                }
            })
            .collect()
    }

    fn staff(&self, raw: RawStaff) -> Result<StaffConfig, ConfigError> {
        Ok(StaffConfig {
            addresses: self.addresses("staff.addresses", &raw.addresses)?,
            domains: raw
                .domains
                .iter()
                .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
                .collect(),
            authserv_id: raw.authserv_id,
            trust_from_header: raw.trust_from_header,
        })
    }

    fn threading(&self, raw: RawThreading) -> Result<ThreadingConfig, ConfigError> {
        let format = raw
            .subject_tag
            .unwrap_or_else(|| DEFAULT_SUBJECT_TAG.into());
        let Some((prefix, suffix)) = format.split_once("{id}") else {
            return Err(self.err(
                "threading.subject_tag",
                format!(
                    "expected a format containing {{id}}, e.g. \"[#{{id}}]\", found \"{format}\""
                ),
            ));
        };
        if prefix.trim().is_empty() {
            return Err(self.err(
                "threading.subject_tag",
                "expected some text before {id} so tags are recognisable, e.g. \"[#{id}]\"",
            ));
        }
        let pattern = format!(
            r"(?i){}\s*(\d{{1,18}}){}",
            regex::escape(prefix.trim_end()),
            regex::escape(suffix)
        );
        Ok(ThreadingConfig {
            tag_prefix: prefix.to_string(),
            tag_suffix: suffix.to_string(),
            tag_regex: Regex::new(&pattern)
                .map_err(|e| self.err("threading.subject_tag", e.to_string()))?,
            reply_to_token: raw.reply_to_token.unwrap_or(true),
        })
    }

    fn inbound(&self, raw: RawInbound) -> Result<InboundConfig, ConfigError> {
        let max = raw.max_message_bytes.unwrap_or(DEFAULT_MAX_MESSAGE_BYTES);
        if max < 1024 {
            return Err(self.err("inbound.max_message_bytes", "expected at least 1024 bytes"));
        }
        let max_attachment = raw
            .max_attachment_bytes
            .unwrap_or(DEFAULT_MAX_ATTACHMENT_BYTES);
        if max_attachment < 1024 {
            return Err(self.err(
                "inbound.max_attachment_bytes",
                "expected at least 1024 bytes (attachments over it are noted, not listed)",
            ));
        }
        let maildir = raw.maildir.map(|m| MaildirConfig {
            path: PathBuf::from(m.path),
            poll_interval: Duration::from_millis(
                m.poll_interval_ms
                    .unwrap_or(DEFAULT_MAILDIR_POLL_MS)
                    .max(10),
            ),
        });
        Ok(InboundConfig {
            max_message_bytes: max,
            max_attachment_bytes: max_attachment,
            default_category: raw.default_category,
            max_recipients: self.at_least_one(
                "inbound.max_recipients",
                raw.max_recipients,
                DEFAULT_MAX_RECIPIENTS,
            )?,
            maildir,
            imap: self.imap_list(raw.imap)?,
        })
    }

    fn outbound(
        &self,
        raw: RawOutbound,
        first_support: &str,
    ) -> Result<OutboundConfig, ConfigError> {
        let transport = match raw.transport.as_str() {
            "file" => TransportConfig::File {
                dir: PathBuf::from(raw.file_dir.ok_or_else(|| {
                    self.err(
                        "outbound.file_dir",
                        "expected a folder when transport = \"file\", e.g. \"var/outbox\"",
                    )
                })?),
            },
            "smtp" => TransportConfig::Smtp(self.smtp(raw.smtp.ok_or_else(|| {
                self.err(
                    "outbound.smtp",
                    "expected an [outbound.smtp] table when transport = \"smtp\"",
                )
            })?)?),
            other => {
                return Err(self.err(
                    "outbound.transport",
                    format!("expected \"file\" or \"smtp\", found \"{other}\""),
                ));
            }
        };
        let from_address = raw
            .from_address
            .unwrap_or_else(|| first_support.to_string());
        self.addresses("outbound.from_address", std::slice::from_ref(&from_address))?;
        let retry = RetryPolicy {
            max_attempts: raw.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1),
            initial_backoff: Duration::from_secs(
                raw.initial_backoff_secs
                    .unwrap_or(DEFAULT_INITIAL_BACKOFF_SECS),
            ),
            max_backoff: Duration::from_secs(
                raw.max_backoff_secs.unwrap_or(DEFAULT_MAX_BACKOFF_SECS),
            ),
        };
        Ok(OutboundConfig {
            transport,
            from_address,
            retry,
        })
    }

    fn smtp(&self, raw: RawSmtp) -> Result<SmtpConfig, ConfigError> {
        let security = match raw.security.as_str() {
            "tls" => SmtpSecurity::Tls,
            "starttls" => SmtpSecurity::StartTls,
            "plain" => SmtpSecurity::Plain,
            other => {
                return Err(self.err(
                    "outbound.smtp.security",
                    format!("expected one of \"tls\", \"starttls\", \"plain\", found \"{other}\""),
                ));
            }
        };
        let port = raw.port.unwrap_or(match security {
            SmtpSecurity::Tls => 465,
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Plain => 25,
        });
        let credentials = match (raw.username, raw.password) {
            (Some(u), Some(p)) => Some((u, p)),
            (None, None) => None,
            _ => {
                return Err(self.err(
                    "outbound.smtp.username",
                    "expected both username and password, or neither",
                ));
            }
        };
        let ca_pem = match raw.ca_file {
            Some(f) => Some(std::fs::read(&f).map_err(|e| {
                self.err("outbound.smtp.ca_file", format!("cannot read \"{f}\": {e}"))
            })?),
            None => None,
        };
        Ok(SmtpConfig {
            host: raw.host,
            port,
            security,
            credentials,
            ca_pem,
            timeout: Duration::from_secs(
                raw.timeout_secs.unwrap_or(DEFAULT_SMTP_TIMEOUT_SECS).max(1),
            ),
        })
    }

    fn alerts(&self, raw: RawAlerts) -> Result<AlertsConfig, ConfigError> {
        let notify_staff = raw
            .notify_staff
            .unwrap_or_default()
            .iter()
            .map(|name| {
                StaffEvent::ALL.iter().find(|(n, _)| n == name).map(|(_, e)| *e).ok_or_else(|| {
                    self.err("alerts.notify_staff", format!("expected some of \"new_ticket\", \"automated_ticket\", \"customer_reply\", found \"{name}\""))
                })
            })
            .collect::<Result<_, _>>()?;
        let staff_recipients = match raw.staff_recipients {
            Some(list) => self
                .addresses("alerts.staff_recipients", &list)?
                .into_iter()
                .collect(),
            None => Vec::new(),
        };
        if raw.reopen_on_customer_reply.is_some() {
            return Err(self.err(
                "alerts.reopen_on_customer_reply",
                "replaced by [closed_tickets] customer_reply = \"reopen\", \"reopen_within\" or \"never\"; remove this key",
            ));
        }
        let window = self.window(
            "alerts.rate_limit_window_minutes",
            raw.rate_limit_window_minutes,
            DEFAULT_RATE_LIMIT_WINDOW_MINUTES,
        )?;
        let ticket_window = self.window(
            "alerts.ticket_rate_limit_window_minutes",
            raw.ticket_rate_limit_window_minutes,
            DEFAULT_TICKET_RATE_LIMIT_WINDOW_MINUTES,
        )?;
        Ok(AlertsConfig {
            acknowledge_cc: raw.acknowledge_cc.unwrap_or(false),
            notify_staff,
            staff_recipients,
            rate_limit_max: raw.rate_limit_max.unwrap_or(DEFAULT_RATE_LIMIT_MAX),
            rate_limit_window: window,
            ticket_rate_limit_max: raw
                .ticket_rate_limit_max
                .unwrap_or(DEFAULT_TICKET_RATE_LIMIT_MAX),
            ticket_rate_limit_window: ticket_window,
            max_fanout: self.at_least_one(
                "alerts.max_fanout",
                raw.max_fanout,
                DEFAULT_MAX_FANOUT,
            )?,
            new_sender_max_cc: raw.new_sender_max_cc.unwrap_or(DEFAULT_NEW_SENDER_MAX_CC) as usize,
        })
    }

    fn closed_tickets(&self, raw: RawClosedTickets) -> Result<ClosedTicketsConfig, ConfigError> {
        let days = raw.reopen_within_days.unwrap_or(DEFAULT_REOPEN_WITHIN_DAYS);
        let customer_reply = match raw.customer_reply.as_deref().unwrap_or("reopen_within") {
            "reopen" => ReopenPolicy::Reopen,
            "never" => ReopenPolicy::Never,
            "reopen_within" if days == 0 => {
                return Err(self.err(
                    "closed_tickets.reopen_within_days",
                    "expected a positive number of days (or customer_reply = \"never\")",
                ));
            }
            "reopen_within" => ReopenPolicy::ReopenWithin(chrono::Duration::days(i64::from(days))),
            other => {
                return Err(self.err(
                    "closed_tickets.customer_reply",
                    format!(
                        "expected \"reopen\", \"reopen_within\" or \"never\", found \"{other}\""
                    ),
                ));
            }
        };
        Ok(ClosedTicketsConfig {
            customer_reply,
            thanks_keeps_closed: raw.thanks_keeps_closed.unwrap_or(true),
        })
    }

    /// A count that must be at least 1 (a cap of 0 would silence all).
    fn at_least_one(
        &self,
        key: &str,
        value: Option<u32>,
        default: u32,
    ) -> Result<usize, ConfigError> {
        match value.unwrap_or(default) {
            0 => Err(self.err(
                key,
                format!("expected a number of at least 1 (default {default})"),
            )),
            n => Ok(n as usize),
        }
    }

    /// A rate-limit window: a positive number of minutes.
    fn window(
        &self,
        key: &str,
        minutes: Option<u32>,
        default: u32,
    ) -> Result<chrono::Duration, ConfigError> {
        match minutes.unwrap_or(default) {
            0 => Err(self.err(key, "expected a positive number of minutes")),
            m => Ok(chrono::Duration::minutes(i64::from(m))),
        }
    }

    fn template_names(
        &self,
        overrides: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, ConfigError> {
        let mut names: BTreeMap<String, String> = TEMPLATE_EVENTS
            .iter()
            .map(|e| (e.to_string(), e.to_string()))
            .collect();
        for (event, name) in overrides {
            if !names.contains_key(&event) {
                return Err(self.err(
                    &format!("templates.events.{event}"),
                    format!(
                        "unknown event; expected one of {}",
                        TEMPLATE_EVENTS.join(", ")
                    ),
                ));
            }
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(self.err(
                    &format!("templates.events.{event}"),
                    "expected a template folder name of letters, digits, '_' or '-'",
                ));
            }
            names.insert(event, name);
        }
        Ok(names)
    }

    /// The rules, and their correlation keys by rule name.
    #[allow(clippy::type_complexity)]
    fn automated_rules(
        &self,
        raw: Vec<RawAutomatedRule>,
    ) -> Result<(Vec<AutomatedRule>, BTreeMap<String, Vec<Correlation>>), ConfigError> {
        let mut rules: Vec<AutomatedRule> = Vec::new();
        let mut correlations = BTreeMap::new();
        for (index, mut raw) in raw.into_iter().enumerate() {
            if rules.iter().any(|r| r.name == raw.name) {
                return Err(self.err(
                    &format!("automated[{index}].name"),
                    format!(
                        "expected a unique rule name; \"{}\" is used twice",
                        raw.name
                    ),
                ));
            }
            let correlate = std::mem::take(&mut raw.correlate);
            let rule = self.automated_rule(index, raw)?;
            if !correlate.is_empty() {
                correlations.insert(rule.name.clone(), self.correlations(index, correlate)?);
            }
            rules.push(rule);
        }
        Ok((rules, correlations))
    }

    fn correlations(
        &self,
        index: usize,
        raw: Vec<RawCorrelation>,
    ) -> Result<Vec<Correlation>, ConfigError> {
        let mut list: Vec<Correlation> = Vec::new();
        for (i, c) in raw.into_iter().enumerate() {
            let key = format!("automated[{index}].correlate[{i}]");
            let correlation = self.correlation(&key, c)?;
            if list.iter().any(|c| c.name == correlation.name) {
                return Err(self.err(
                    &format!("{key}.name"),
                    format!(
                        "expected a unique name within the rule; \"{}\" is used twice",
                        correlation.name
                    ),
                ));
            }
            list.push(correlation);
        }
        Ok(list)
    }

    /// Compiles a case-insensitive regex, naming `key` on error.
    fn regex(&self, key: &str, pattern: &str) -> Result<Regex, ConfigError> {
        Regex::new(&format!("(?i){pattern}"))
            .map_err(|e| self.err(key, format!("invalid regex: {}", one_line(&e.to_string()))))
    }

    fn automated_rule(
        &self,
        index: usize,
        raw: RawAutomatedRule,
    ) -> Result<AutomatedRule, ConfigError> {
        let key = |k: &str| format!("automated[{index}].{k}");
        let compile = |k: &str, p: &str| self.regex(&key(k), p);
        if raw.from.is_none() && raw.subject.is_none() && raw.headers.is_empty() {
            return Err(self.err(
                &key("name"),
                "expected at least one condition: from, subject or headers",
            ));
        }
        Ok(AutomatedRule {
            from: raw
                .from
                .as_deref()
                .map(|p| compile("from", p))
                .transpose()?,
            subject: raw
                .subject
                .as_deref()
                .map(|p| compile("subject", p))
                .transpose()?,
            headers: raw
                .headers
                .iter()
                .map(|(h, p)| Ok((h.to_ascii_lowercase(), compile(&format!("headers.{h}"), p)?)))
                .collect::<Result<_, ConfigError>>()?,
            name: raw.name,
            category: raw.category,
        })
    }

    fn correlation(&self, key: &str, raw: RawCorrelation) -> Result<Correlation, ConfigError> {
        let name = raw.name.trim();
        if name.is_empty() || name.contains(['/', ':']) {
            return Err(self.err(
                &format!("{key}.name"),
                "expected a short name without '/' or ':', e.g. \"nagios\"",
            ));
        }
        let pattern = self.regex(&format!("{key}.key"), &raw.key)?;
        if pattern.captures_len() < 2 {
            return Err(self.err(
                &format!("{key}.key"),
                "expected a regex with a capture group around the key, e.g. 'Alert: (\\S+) is'",
            ));
        }
        let key_in = self.mail_field(&format!("{key}.key_in"), raw.key_in.as_deref())?;
        let recovery_in = match raw.recovery_in.as_deref() {
            Some(field) => self.mail_field(&format!("{key}.recovery_in"), Some(field))?,
            None => key_in.clone(),
        };
        Ok(Correlation {
            name: name.to_string(),
            key_in,
            key: pattern,
            recovery_in,
            recovery: raw
                .recovery
                .as_deref()
                .map(|p| self.regex(&format!("{key}.recovery"), p))
                .transpose()?,
        })
    }

    fn mail_field(&self, key: &str, field: Option<&str>) -> Result<MailField, ConfigError> {
        match field.unwrap_or("subject") {
            "subject" => Ok(MailField::Subject),
            "body" => Ok(MailField::Body),
            other => match other.strip_prefix("header:").map(str::trim) {
                Some(name) if !name.is_empty() && !name.contains(char::is_whitespace) => {
                    Ok(MailField::Header(name.to_ascii_lowercase()))
                }
                _ => Err(self.err(
                    key,
                    format!("expected \"subject\", \"body\" or \"header:Name\", found \"{other}\""),
                )),
            },
        }
    }

    fn api(&self, raw: RawApi) -> Result<ApiConfig, ConfigError> {
        let listen_text = raw.listen.unwrap_or_else(|| DEFAULT_API_LISTEN.into());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            self.err(
                "api.listen",
                format!("expected an address like \"127.0.0.1:8025\", found \"{listen_text}\""),
            )
        })?;
        if !listen.ip().is_loopback() {
            return Err(self.err(
                "api.listen",
                "expected a loopback address (127.0.0.1 or ::1); the API is for local tools only",
            ));
        }
        if let Some(t) = &raw.token
            && t.len() < 16
        {
            return Err(self.err(
                "api.token",
                "expected at least 16 characters (or remove it to have one generated)",
            ));
        }
        Ok(ApiConfig {
            listen,
            token: raw.token,
        })
    }
}

#[cfg(test)]
mod tests;

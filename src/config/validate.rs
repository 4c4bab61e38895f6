//! The second phase of configuration: [`Validator`] turns the raw file
//! into a [`Config`], with defaults applied, regexes compiled and every
//! error naming the file, the key and what is expected.

mod automated;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;

use super::raw::*;
use super::*;
use crate::model::normalize_address;

/// Collapses a multi-line library message onto one line.
pub(super) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(super) struct Validator {
    pub(super) file: String,
}

impl Validator {
    pub(super) fn err(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    pub(super) fn config(&self, raw: RawConfig, path: &Path) -> Result<Config, ConfigError> {
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

    pub(super) fn instance_id(&self, id: Option<String>) -> Result<Option<String>, ConfigError> {
        match id {
            Some(id) if id.len() < 8 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') => Err(self.err(
                "instance.id",
                format!("expected at least 8 letters, digits, '-' or '.', unique to this desk, found \"{id}\" (or remove the key to have one generated)"),
            )),
            other => Ok(other),
        }
    }

    pub(super) fn secret(&self, secret: Option<String>) -> Result<Option<String>, ConfigError> {
        match secret {
            Some(s) if s.len() < 16 => Err(self.err("instance.secret", "expected at least 16 characters of random text (or remove the key to have one generated)")),
            other => Ok(other),
        }
    }

    pub(super) fn addresses(
        &self,
        key: &str,
        list: &[String],
    ) -> Result<BTreeSet<String>, ConfigError> {
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

    pub(super) fn staff(&self, raw: RawStaff) -> Result<StaffConfig, ConfigError> {
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

    pub(super) fn threading(&self, raw: RawThreading) -> Result<ThreadingConfig, ConfigError> {
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

    pub(super) fn inbound(&self, raw: RawInbound) -> Result<InboundConfig, ConfigError> {
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

    pub(super) fn outbound(
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

    pub(super) fn smtp(&self, raw: RawSmtp) -> Result<SmtpConfig, ConfigError> {
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

    pub(super) fn alerts(&self, raw: RawAlerts) -> Result<AlertsConfig, ConfigError> {
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

    pub(super) fn closed_tickets(
        &self,
        raw: RawClosedTickets,
    ) -> Result<ClosedTicketsConfig, ConfigError> {
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
    pub(super) fn at_least_one(
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
    pub(super) fn window(
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

    pub(super) fn template_names(
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
    pub(super) fn api(&self, raw: RawApi) -> Result<ApiConfig, ConfigError> {
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

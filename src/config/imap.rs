//! `[[inbound.imap]]`: the validated form of each watched mailbox, and its
//! checks. A mailbox names where to connect, how to log in, which folder
//! to watch and what to do with a message once its outcome is stored.

use std::time::Duration;

use super::raw::{
    DEFAULT_IMAP_BATCH, DEFAULT_IMAP_IDLE_REFRESH_SECS, DEFAULT_IMAP_POLL_SECS,
    DEFAULT_IMAP_TIMEOUT_SECS, RawImap,
};
use super::{ConfigError, SmtpSecurity, Validator};

/// A password: kept out of `Debug` output, so it never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// How ticketd logs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapAuth {
    /// The IMAP `LOGIN` command.
    Login,
    /// `AUTHENTICATE PLAIN` (RFC 4616).
    Plain,
}

/// What happens to a message whose outcome is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessedAction {
    /// `UID MOVE` into this folder (created when missing).
    Move(String),
    /// Add this flag or keyword; the message stays in the folder.
    Flag(String),
    /// Flag `\Deleted` and expunge (the raw original is in the store).
    Delete,
}

/// What happens to a quarantined message on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuarantineAction {
    /// `UID MOVE` into this folder (created when missing).
    Move(String),
    /// Add this keyword; the message stays in the folder.
    Flag(String),
}

impl QuarantineAction {
    /// The same marking as a [`ProcessedAction`] (which never deletes here).
    pub fn as_processed(&self) -> ProcessedAction {
        match self {
            QuarantineAction::Move(folder) => ProcessedAction::Move(folder.clone()),
            QuarantineAction::Flag(flag) => ProcessedAction::Flag(flag.clone()),
        }
    }
}

/// Keyword set on quarantined messages by `on_quarantine = "flag"`.
pub const QUARANTINE_KEYWORD: &str = "$TicketdQuarantined";

/// One `[[inbound.imap]]` mailbox, validated.
#[derive(Debug, Clone)]
pub struct ImapConfig {
    /// Short name: logs, health, checkpoint key.
    pub name: String,
    /// Server.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Connection security.
    pub security: SmtpSecurity,
    /// Login name.
    pub username: String,
    /// Password.
    pub password: Secret,
    /// Login method.
    pub auth: ImapAuth,
    /// Extra CA (PEM file contents).
    pub ca_pem: Option<Vec<u8>>,
    /// Folder watched.
    pub folder: String,
    /// After a message's outcome is durable.
    pub on_processed: ProcessedAction,
    /// After a message is quarantined.
    pub on_quarantine: QuarantineAction,
    /// Use IDLE when offered.
    pub idle: bool,
    /// Poll interval without IDLE.
    pub poll_interval: Duration,
    /// Longest single IDLE before it is re-issued.
    pub idle_refresh: Duration,
    /// Messages per batch.
    pub batch_size: usize,
    /// Timeout per network step.
    pub timeout: Duration,
    /// Category for tickets this mailbox opens.
    pub category: Option<String>,
}

impl Validator {
    /// Every `[[inbound.imap]]` entry; names must be unique.
    pub(super) fn imap_list(&self, raw: Vec<RawImap>) -> Result<Vec<ImapConfig>, ConfigError> {
        let mut seen = std::collections::BTreeSet::new();
        let mut list = Vec::with_capacity(raw.len());
        for (i, entry) in raw.into_iter().enumerate() {
            let mailbox = self.imap(i, entry)?;
            if !seen.insert(mailbox.name.clone()) {
                return Err(self.err(
                    &format!("inbound.imap[{i}].name"),
                    format!(
                        "\"{}\" is used twice; give each mailbox its own name",
                        mailbox.name
                    ),
                ));
            }
            list.push(mailbox);
        }
        Ok(list)
    }

    fn imap(&self, i: usize, raw: RawImap) -> Result<ImapConfig, ConfigError> {
        let key = |k: &str| format!("inbound.imap[{i}].{k}");
        if raw.name.is_empty()
            || !raw
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(self.err(
                &key("name"),
                format!(
                    "expected a short name of letters, digits, '-' or '_', e.g. \"support\", found \"{}\"",
                    raw.name
                ),
            ));
        }
        let security = self.imap_security(&key("security"), &raw.security)?;
        let port = raw.port.unwrap_or(match security {
            SmtpSecurity::Tls => 993,
            SmtpSecurity::StartTls | SmtpSecurity::Plain => 143,
        });
        let on_processed = self.processed_action(&key, &raw)?;
        let on_quarantine = self.quarantine_action(&key, &raw)?;
        Ok(ImapConfig {
            password: self.imap_password(&key, raw.password, raw.password_file)?,
            auth: self.imap_auth(&key("auth"), raw.auth.as_deref())?,
            ca_pem: self.imap_ca(&key("ca_file"), raw.ca_file)?,
            folder: self.folder_name(&key("folder"), raw.folder, "INBOX")?,
            on_processed,
            on_quarantine,
            idle: raw.idle.unwrap_or(true),
            poll_interval: Duration::from_secs(
                raw.poll_interval_secs
                    .unwrap_or(DEFAULT_IMAP_POLL_SECS)
                    .max(1),
            ),
            idle_refresh: self.idle_refresh(&key("idle_refresh_secs"), raw.idle_refresh_secs)?,
            batch_size: raw.batch_size.unwrap_or(DEFAULT_IMAP_BATCH).clamp(1, 5000) as usize,
            timeout: Duration::from_secs(
                raw.timeout_secs.unwrap_or(DEFAULT_IMAP_TIMEOUT_SECS).max(1),
            ),
            name: raw.name,
            host: raw.host,
            port,
            security,
            username: raw.username,
            category: raw.category,
        })
    }

    fn imap_security(&self, key: &str, value: &str) -> Result<SmtpSecurity, ConfigError> {
        match value {
            "tls" => Ok(SmtpSecurity::Tls),
            "starttls" => Ok(SmtpSecurity::StartTls),
            "plain" => Ok(SmtpSecurity::Plain),
            other => Err(self.err(
                key,
                format!("expected one of \"tls\", \"starttls\", \"plain\", found \"{other}\""),
            )),
        }
    }

    fn imap_auth(&self, key: &str, value: Option<&str>) -> Result<ImapAuth, ConfigError> {
        match value.unwrap_or("login") {
            "login" => Ok(ImapAuth::Login),
            "plain" => Ok(ImapAuth::Plain),
            other => Err(self.err(
                key,
                format!("expected \"login\" or \"plain\", found \"{other}\""),
            )),
        }
    }

    fn imap_password(
        &self,
        key: &dyn Fn(&str) -> String,
        password: Option<String>,
        file: Option<String>,
    ) -> Result<Secret, ConfigError> {
        match (password, file) {
            (Some(p), None) => Ok(Secret(p)),
            (None, Some(f)) => {
                let text = std::fs::read_to_string(&f).map_err(|e| {
                    self.err(&key("password_file"), format!("cannot read \"{f}\": {e}"))
                })?;
                Ok(Secret(text.lines().next().unwrap_or_default().to_string()))
            }
            _ => Err(self.err(
                &key("password"),
                "expected exactly one of password or password_file",
            )),
        }
    }

    fn imap_ca(&self, key: &str, file: Option<String>) -> Result<Option<Vec<u8>>, ConfigError> {
        file.map(|f| {
            std::fs::read(&f).map_err(|e| self.err(key, format!("cannot read \"{f}\": {e}")))
        })
        .transpose()
    }

    fn folder_name(
        &self,
        key: &str,
        value: Option<String>,
        default: &str,
    ) -> Result<String, ConfigError> {
        let name = value.unwrap_or_else(|| default.to_string());
        if name.trim().is_empty()
            || name
                .chars()
                .any(|c| !c.is_ascii() || c.is_ascii_control() || c == '"')
        {
            return Err(self.err(
                key,
                format!("expected a folder name in printable ASCII without quotes (non-ASCII names in their IMAP modified UTF-7 form), e.g. \"{default}\", found \"{name}\""),
            ));
        }
        Ok(name)
    }

    fn processed_action(
        &self,
        key: &dyn Fn(&str) -> String,
        raw: &RawImap,
    ) -> Result<ProcessedAction, ConfigError> {
        match raw.on_processed.as_deref().unwrap_or("move") {
            "move" => Ok(ProcessedAction::Move(self.folder_name(
                &key("processed_folder"),
                raw.processed_folder.clone(),
                "Processed",
            )?)),
            "flag" => Ok(ProcessedAction::Flag(self.flag_name(
                &key("processed_flag"),
                raw.processed_flag.clone(),
                "\\Seen",
            )?)),
            "delete" => Ok(ProcessedAction::Delete),
            other => Err(self.err(
                &key("on_processed"),
                format!("expected one of \"move\", \"flag\", \"delete\", found \"{other}\""),
            )),
        }
    }

    fn quarantine_action(
        &self,
        key: &dyn Fn(&str) -> String,
        raw: &RawImap,
    ) -> Result<QuarantineAction, ConfigError> {
        match raw.on_quarantine.as_deref().unwrap_or("move") {
            "move" => Ok(QuarantineAction::Move(self.folder_name(
                &key("quarantine_folder"),
                raw.quarantine_folder.clone(),
                "Quarantine",
            )?)),
            "flag" => Ok(QuarantineAction::Flag(QUARANTINE_KEYWORD.into())),
            other => Err(self.err(
                &key("on_quarantine"),
                format!(
                    "expected \"move\" or \"flag\" (quarantined mail is never deleted), found \"{other}\""
                ),
            )),
        }
    }

    fn flag_name(
        &self,
        key: &str,
        value: Option<String>,
        default: &str,
    ) -> Result<String, ConfigError> {
        let flag = value.unwrap_or_else(|| default.to_string());
        let body = flag.strip_prefix('\\').unwrap_or(&flag);
        if body.is_empty()
            || !body
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '$' || c == '_' || c == '-')
        {
            return Err(self.err(
                key,
                format!("expected a flag such as \"\\\\Seen\" or a keyword such as \"$Ticketd\", found \"{flag}\""),
            ));
        }
        Ok(flag)
    }

    fn idle_refresh(&self, key: &str, value: Option<u64>) -> Result<Duration, ConfigError> {
        let secs = value.unwrap_or(DEFAULT_IMAP_IDLE_REFRESH_SECS);
        if !(10..=29 * 60).contains(&secs) {
            return Err(self.err(
                key,
                format!("expected 10 to 1740 seconds (servers drop an IDLE after 30 minutes), found {secs}"),
            ));
        }
        Ok(Duration::from_secs(secs))
    }
}

#[cfg(test)]
mod tests;

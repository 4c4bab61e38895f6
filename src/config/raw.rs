//! Phase one of configuration: serde structs that mirror `ticketd.toml`
//! exactly. Unknown keys are rejected; defaults live in named constants.
//! Nothing here is validated beyond TOML syntax and types; see
//! [`super::Config::parse`] for phase two.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Default poll interval of the Maildir drop folder.
pub const DEFAULT_MAILDIR_POLL_MS: u64 = 250;
/// Default largest message accepted (25 MiB, the common MTA limit).
pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = 25 * 1024 * 1024;
/// Default `inbound.max_attachment_bytes`: 10 MiB.
pub const DEFAULT_MAX_ATTACHMENT_BYTES: u64 = 10 * 1024 * 1024;
/// Default automatic messages per recipient per window (loop guard).
pub const DEFAULT_RATE_LIMIT_MAX: u32 = 10;
/// Default rate-limit window.
pub const DEFAULT_RATE_LIMIT_WINDOW_MINUTES: u32 = 60;
/// Default automatic messages per ticket and recipient per window.
pub const DEFAULT_TICKET_RATE_LIMIT_MAX: u32 = 5;
/// Default per-ticket rate-limit window in minutes.
pub const DEFAULT_TICKET_RATE_LIMIT_WINDOW_MINUTES: u32 = 60;
/// Default delivery attempts before an outbox item is given up.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 12;
/// Default first retry delay; doubled on each attempt.
pub const DEFAULT_INITIAL_BACKOFF_SECS: u64 = 30;
/// Default cap on the retry delay.
pub const DEFAULT_MAX_BACKOFF_SECS: u64 = 3600;
/// Default SMTP command timeout.
pub const DEFAULT_SMTP_TIMEOUT_SECS: u64 = 30;
/// Default local API address.
pub const DEFAULT_API_LISTEN: &str = "127.0.0.1:8025";
/// Default subject tag format.
pub const DEFAULT_SUBJECT_TAG: &str = "[#{id}]";
/// Default IMAP poll interval without IDLE (seconds).
pub const DEFAULT_IMAP_POLL_SECS: u64 = 60;
/// Default IDLE refresh (seconds): under RFC 2177's 29-minute limit.
pub const DEFAULT_IMAP_IDLE_REFRESH_SECS: u64 = 25 * 60;
/// Default messages per IMAP batch (one durable commit, one UID MOVE).
pub const DEFAULT_IMAP_BATCH: u32 = 200;
/// Default timeout per IMAP network step (seconds).
pub const DEFAULT_IMAP_TIMEOUT_SECS: u64 = 30;
/// Default sled page cache (bytes).
pub const DEFAULT_CACHE_BYTES: u64 = 8 * 1024 * 1024;
/// Default `store.min_free_bytes`: room for sled's own housekeeping and for
/// the logs and tools of whoever frees the disk.
pub const DEFAULT_MIN_FREE_BYTES: u64 = 64 * 1024 * 1024;
/// Default days after closing within which a customer reply reopens.
pub const DEFAULT_REOPEN_WITHIN_DAYS: u32 = 14;
/// Default soft bounces of one address on one ticket before mail stops.
pub const DEFAULT_SOFT_BOUNCE_LIMIT: u32 = 3;
/// Default `inbound.max_recipients`: a customer's own team fits, a
/// harvested address list does not.
pub const DEFAULT_MAX_RECIPIENTS: u32 = 20;
/// Default `alerts.max_fanout`.
pub const DEFAULT_MAX_FANOUT: u32 = 50;
/// Default `alerts.new_sender_max_cc`.
pub const DEFAULT_NEW_SENDER_MAX_CC: u32 = 5;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[instance]`
    pub instance: RawInstance,
    /// `[store]`
    #[serde(default)]
    pub store: RawStore,
    /// `[staff]`
    #[serde(default)]
    pub staff: RawStaff,
    /// `[threading]`
    #[serde(default)]
    pub threading: RawThreading,
    /// `[inbound]`
    #[serde(default)]
    pub inbound: RawInbound,
    /// `[outbound]`
    pub outbound: RawOutbound,
    /// `[alerts]`
    #[serde(default)]
    pub alerts: RawAlerts,
    /// `[closed_tickets]`
    #[serde(default)]
    pub closed_tickets: RawClosedTickets,
    /// `[bounces]`
    #[serde(default)]
    pub bounces: RawBounces,
    /// `[templates]`
    #[serde(default)]
    pub templates: RawTemplates,
    /// `[[automated]]`
    #[serde(default)]
    pub automated: Vec<RawAutomatedRule>,
    /// `[api]`
    #[serde(default)]
    pub api: RawApi,
}

/// `[instance]`: who this installation is.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInstance {
    /// Short name, used in loop-detection headers.
    pub name: String,
    /// Addresses customers write to; never become ticket recipients.
    pub support_addresses: Vec<String>,
    /// Display name on outgoing mail.
    pub from_name: Option<String>,
    /// Secret for thread tokens; generated and stored when absent.
    pub secret: Option<String>,
    /// Unique id in the loop header; generated and stored when absent.
    pub id: Option<String>,
}

/// `[store]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// Directory of the database and raw messages.
    pub path: Option<String>,
    /// sled page cache in bytes.
    pub cache_bytes: Option<u64>,
    /// Space kept free on the store's disk; writes wait below it.
    pub min_free_bytes: Option<u64>,
}

/// `[staff]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStaff {
    /// Individual staff addresses.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// Whole domains whose senders are staff.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Trust an `Authentication-Results` header from this authserv-id.
    pub authserv_id: Option<String>,
    /// Accept staff commands on the From line alone (insecure).
    #[serde(default)]
    pub trust_from_header: bool,
}

/// `[threading]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawThreading {
    /// Subject tag with `{id}` placeholder.
    pub subject_tag: Option<String>,
    /// Put a keyed token in Reply-To as `local+token@domain`.
    pub reply_to_token: Option<bool>,
}

/// `[inbound]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInbound {
    /// Largest message accepted, bytes.
    pub max_message_bytes: Option<u64>,
    /// Largest attachment listed on a comment, bytes.
    pub max_attachment_bytes: Option<u64>,
    /// Category for tickets opened without one.
    pub default_category: Option<String>,
    /// Recipients a new ticket takes from a mail's headers.
    pub max_recipients: Option<u32>,
    /// `[inbound.maildir]`
    pub maildir: Option<RawMaildir>,
    /// `[[inbound.imap]]`: mailboxes to watch.
    #[serde(default)]
    pub imap: Vec<RawImap>,
}

/// One `[[inbound.imap]]` mailbox.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawImap {
    /// Short name for logs, health and the checkpoint.
    pub name: String,
    /// Server name.
    pub host: String,
    /// Port; default depends on `security`.
    pub port: Option<u16>,
    /// `tls`, `starttls` or `plain`.
    pub security: String,
    /// Login name.
    pub username: String,
    /// Password.
    pub password: Option<String>,
    /// File whose first line is the password.
    pub password_file: Option<String>,
    /// `login` or `plain` (AUTHENTICATE PLAIN).
    pub auth: Option<String>,
    /// Extra CA certificate (PEM) to trust.
    pub ca_file: Option<String>,
    /// Folder to watch.
    pub folder: Option<String>,
    /// `move`, `flag` or `delete`.
    pub on_processed: Option<String>,
    /// Target folder of `on_processed = "move"`.
    pub processed_folder: Option<String>,
    /// Flag set by `on_processed = "flag"`.
    pub processed_flag: Option<String>,
    /// `move` or `flag`.
    pub on_quarantine: Option<String>,
    /// Target folder of `on_quarantine = "move"`.
    pub quarantine_folder: Option<String>,
    /// Use IDLE when the server offers it.
    pub idle: Option<bool>,
    /// Seconds between polls without IDLE.
    pub poll_interval_secs: Option<u64>,
    /// Seconds before an IDLE is re-issued.
    pub idle_refresh_secs: Option<u64>,
    /// Messages fetched per batch.
    pub batch_size: Option<u32>,
    /// Timeout per network step, seconds.
    pub timeout_secs: Option<u64>,
    /// Category for tickets this mailbox opens.
    pub category: Option<String>,
}

/// `[inbound.maildir]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMaildir {
    /// Maildir root (with `new/`, `cur/`, `tmp/`).
    pub path: String,
    /// Poll interval in milliseconds.
    pub poll_interval_ms: Option<u64>,
}

/// `[outbound]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutbound {
    /// `file` or `smtp`.
    pub transport: String,
    /// Sender address of outgoing mail (default: first support address).
    pub from_address: Option<String>,
    /// Folder for the file transport.
    pub file_dir: Option<String>,
    /// `[outbound.smtp]`
    pub smtp: Option<RawSmtp>,
    /// Delivery attempts before giving up.
    pub max_attempts: Option<u32>,
    /// First retry delay in seconds.
    pub initial_backoff_secs: Option<u64>,
    /// Largest retry delay in seconds.
    pub max_backoff_secs: Option<u64>,
}

/// `[outbound.smtp]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSmtp {
    /// Server name.
    pub host: String,
    /// Port; default depends on `security`.
    pub port: Option<u16>,
    /// `tls`, `starttls` or `plain`.
    pub security: String,
    /// Login name.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Extra CA certificate (PEM) to trust.
    pub ca_file: Option<String>,
    /// Timeout per SMTP command, seconds.
    pub timeout_secs: Option<u64>,
}

/// `[alerts]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    /// Also acknowledge to the Cc'd recipients of a new ticket.
    pub acknowledge_cc: Option<bool>,
    /// Replaced by `[closed_tickets] customer_reply`; kept only to name
    /// the replacement when an old file still has it.
    pub reopen_on_customer_reply: Option<bool>,
    /// Events that notify staff.
    pub notify_staff: Option<Vec<String>>,
    /// Staff notification recipients (default: staff.addresses).
    pub staff_recipients: Option<Vec<String>>,
    /// Automatic messages per recipient per window.
    pub rate_limit_max: Option<u32>,
    /// Rate-limit window in minutes.
    pub rate_limit_window_minutes: Option<u32>,
    /// Automatic messages per ticket and recipient per window.
    pub ticket_rate_limit_max: Option<u32>,
    /// Per-ticket rate-limit window in minutes.
    pub ticket_rate_limit_window_minutes: Option<u32>,
    /// Outside recipients one event may alert; the rest are held.
    pub max_fanout: Option<u32>,
    /// Other outside recipients a new sender's first mail may bring
    /// before only the requester is alerted.
    pub new_sender_max_cc: Option<u32>,
}

/// `[closed_tickets]`: what a reply to a closed ticket does.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClosedTickets {
    /// `reopen`, `reopen_within` or `never`.
    pub customer_reply: Option<String>,
    /// Window for `reopen_within`, in days after closing.
    pub reopen_within_days: Option<u32>,
    /// A reply that only says thanks is kept as a comment on the closed
    /// ticket (no reopen, no follow-up, no alert).
    pub thanks_keeps_closed: Option<bool>,
}

/// `[bounces]`: delivery status notifications about our mail.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBounces {
    /// Keyed per-message envelope sender (VERP) on outgoing mail.
    pub verp: Option<bool>,
    /// Soft bounces of one address on one ticket before mail to it stops.
    pub soft_bounce_limit: Option<u32>,
}

/// `[templates]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTemplates {
    /// Template directory.
    pub dir: Option<String>,
    /// Event -> template name overrides.
    #[serde(default)]
    pub events: BTreeMap<String, String>,
}

/// One `[[automated]]` rule; every given condition must match.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAutomatedRule {
    /// Name recorded as the rule that fired.
    pub name: String,
    /// Regex on the sender address.
    pub from: Option<String>,
    /// Regex on the subject.
    pub subject: Option<String>,
    /// Header name -> regex on its value.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Category given to tickets it opens.
    pub category: Option<String>,
    /// `[[automated.correlate]]`: keys that gather repeated mail on one
    /// open ticket.
    #[serde(default)]
    pub correlate: Vec<RawCorrelation>,
}

/// One `[[automated.correlate]]` entry of an automated rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCorrelation {
    /// Name, part of the stored key and of notes.
    pub name: String,
    /// Regex whose capture groups form the key.
    pub key: String,
    /// Where `key` looks: `subject` (default), `body` or `header:Name`.
    pub key_in: Option<String>,
    /// Regex marking a recovery mail, which closes the open ticket.
    pub recovery: Option<String>,
    /// Where `recovery` looks; default: `key_in`.
    pub recovery_in: Option<String>,
}

/// `[api]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    /// Loopback address the daemon listens on.
    pub listen: Option<String>,
    /// Bearer token; generated into the store directory when absent.
    pub token: Option<String>,
}

//! The validated sections of the configuration, one type per `[section]`
//! of the file (see `config/ticketd.toml` for every key).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;

use crate::model::normalize_address;

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
    pub imap: Vec<super::imap::ImapConfig>,
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
    pub(super) const ALL: [(&'static str, StaffEvent); 3] = [
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

//! Delivery status notifications (bounces): which recipients a report is
//! about, how badly delivery failed, and which of our messages came back.
//!
//! A standard report (RFC 3464, `multipart/report;
//! report-type=delivery-status`, as Postfix, Exim, Exchange and Gmail send
//! them) has a `message/delivery-status` part: per-message fields
//! (Reporting-MTA), then one block per recipient (Final-Recipient,
//! Original-Recipient, Action, Status, Diagnostic-Code). The returned
//! original, a `message/rfc822` or `text/rfc822-headers` part, carries the
//! Message-ID and thread headers that tie the bounce to our mail. The
//! delivery-status fields are read in the child module `fields`.
//!
//! Plain-text bounces (older Exim, Exchange and appliances) are read
//! best-effort: the failed addresses from `X-Failed-Recipients` or the
//! explanation, the first status code in it, its permanent or temporary
//! wording, and the header block of the quoted copy.
//!
//! Pure: bytes in, a [`DeliveryReport`] out. What a bounce does to a
//! ticket is decided in [`crate::ingest`].

use std::borrow::Cow;
use std::fmt;

use mail_parser::{HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType};

use crate::model::{is_deliverable_address, normalize_address};
use crate::notify::compose::LOOP_HEADER;

mod fields;

use fields::from_status_part;

/// Longest diagnostic text kept, in characters.
const MAX_DIAGNOSTIC_CHARS: usize = 300;

/// What a bounce says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    /// How it was read.
    pub format: ReportFormat,
    /// The server that wrote the report, if named.
    pub reporting_mta: Option<String>,
    /// One entry per recipient reported on.
    pub recipients: Vec<RecipientReport>,
    /// Message-IDs of the returned original named in the report itself
    /// (e.g. Gmail's `X-Original-Message-ID`).
    pub original_ids: Vec<String>,
    /// Headers of the returned original, when it came back.
    pub returned: Option<ReturnedHeaders>,
}

/// How a report was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// A `message/delivery-status` part (RFC 3464).
    DeliveryStatus,
    /// Plain-text explanation, read by wording and codes.
    PlainText,
}

/// The report on one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientReport {
    /// Address delivery was last attempted to (normalized).
    pub final_recipient: Option<String>,
    /// Address as originally given by the sender (normalized).
    pub original_recipient: Option<String>,
    /// What happened.
    pub action: DsnAction,
    /// Enhanced status code (RFC 3463).
    pub status: Option<StatusCode>,
    /// The remote server's words, one line, shortened.
    pub diagnostic: Option<String>,
}

/// The `Action` field of a recipient block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsnAction {
    /// Delivery failed and will not be retried.
    Failed,
    /// Still being retried (a warning).
    Delayed,
    /// Delivered.
    Delivered,
    /// Handed to a system that sends no reports.
    Relayed,
    /// Delivered to a list or alias and expanded.
    Expanded,
    /// Missing or not understood.
    Unknown,
}

/// An enhanced mail system status code, e.g. `5.1.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusCode {
    /// 2 success, 4 temporary, 5 permanent.
    pub class: u8,
    /// Subject (1 address, 2 mailbox, 3 system, 4 routing, 5 protocol,
    /// 6 content, 7 policy).
    pub subject: u16,
    /// Detail.
    pub detail: u16,
}

/// How bad a report is for the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Delivered after all; nothing wrong.
    Delivered,
    /// Nothing could be read.
    Unknown,
    /// Still being retried.
    Delayed,
    /// Failed, but the address may be fine (temporary, mailbox full,
    /// message too big, content or policy rejection).
    Soft,
    /// The address does not work (unknown user, no such domain, ...).
    Hard,
}

/// Headers of the returned original message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReturnedHeaders {
    /// Its Message-ID, without brackets.
    pub message_id: Option<String>,
    /// Its In-Reply-To ids.
    pub in_reply_to: Vec<String>,
    /// Its References ids.
    pub references: Vec<String>,
    /// Its `X-Ticketd-Loop` value: our instance name when it was our mail.
    pub loop_header: Option<String>,
    /// Its To addresses (normalized).
    pub to: Vec<String>,
    /// Its subject.
    pub subject: Option<String>,
}

impl StatusCode {
    /// Parses `x.y.z` (class 2, 4 or 5; up to three digits each after).
    pub fn parse(text: &str) -> Option<StatusCode> {
        let mut parts = text.trim().split('.');
        let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
        let number = |p: &str| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
        if parts.next().is_some() || !matches!(class, "2" | "4" | "5") {
            return None;
        }
        if !number(subject) || !number(detail) {
            return None;
        }
        Some(StatusCode {
            class: class.parse().ok()?,
            subject: subject.parse().ok()?,
            detail: detail.parse().ok()?,
        })
    }

    /// The first enhanced code in free text, or a basic SMTP reply code
    /// (`550`, `452-`) turned into one (`5.0.0`, `4.0.0`; `552` into
    /// `5.2.2`, "exceeded storage").
    pub fn find_in(text: &str) -> Option<StatusCode> {
        let tokens = || text.split(|c: char| !(c.is_ascii_digit() || c == '.'));
        tokens()
            .find_map(StatusCode::parse)
            .or_else(|| tokens().find_map(StatusCode::from_reply_code))
    }

    fn from_reply_code(token: &str) -> Option<StatusCode> {
        let code: u16 = token.parse().ok().filter(|_| token.len() == 3)?;
        let (class, subject, detail) = match code {
            552 => (5, 2, 2),
            500..=599 => (5, 0, 0),
            400..=499 => (4, 0, 0),
            _ => return None,
        };
        Some(StatusCode {
            class,
            subject,
            detail,
        })
    }

    /// How bad the code is for the address. Permanent failures that say
    /// nothing about the address are soft: mailbox full (5.2.2), message
    /// too big (5.2.3, 5.3.4), content (5.6.x) and policy or spam
    /// rejections (5.7.x).
    pub fn severity(self) -> Severity {
        match (self.class, self.subject, self.detail) {
            (2, _, _) => Severity::Delivered,
            (4, _, _) => Severity::Soft,
            (5, 2, 2) | (5, 2, 3) | (5, 3, 4) | (5, 6, _) | (5, 7, _) => Severity::Soft,
            (5, _, _) => Severity::Hard,
            _ => Severity::Unknown,
        }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl RecipientReport {
    /// Whether this block is about `address` (final or original).
    pub fn is_for(&self, address: &str) -> bool {
        let address = normalize_address(address);
        self.final_recipient.as_deref() == Some(address.as_str())
            || self.original_recipient.as_deref() == Some(address.as_str())
    }

    /// The address reported on: original if given, else final.
    pub fn address(&self) -> Option<&str> {
        self.original_recipient
            .as_deref()
            .or(self.final_recipient.as_deref())
    }

    /// How bad this is for the address.
    pub fn severity(&self) -> Severity {
        match (self.action, self.status) {
            (DsnAction::Delayed, _) => Severity::Delayed,
            (DsnAction::Delivered | DsnAction::Relayed | DsnAction::Expanded, _) => {
                Severity::Delivered
            }
            (DsnAction::Failed, Some(s)) if s.class == 2 => Severity::Unknown,
            (_, Some(s)) => s.severity(),
            (DsnAction::Failed, None) => Severity::Hard,
            (DsnAction::Unknown, None) => Severity::Unknown,
        }
    }
}

impl DeliveryReport {
    /// Message-IDs naming the returned original, most specific first.
    pub fn referenced_ids(&self) -> impl Iterator<Item = &str> {
        let returned = self.returned.iter().flat_map(|r| {
            r.message_id
                .iter()
                .chain(&r.in_reply_to)
                .chain(r.references.iter().rev())
        });
        returned.chain(&self.original_ids).map(String::as_str)
    }

    /// The block about `address`, else the worst block when there is no
    /// block for any other address either.
    pub fn recipient_for(&self, address: &str) -> Option<&RecipientReport> {
        self.recipients
            .iter()
            .find(|r| r.is_for(address))
            .or_else(|| {
                let anonymous = self.recipients.iter().all(|r| r.address().is_none());
                (anonymous || self.recipients.len() == 1)
                    .then(|| self.worst())
                    .flatten()
            })
    }

    /// The block with the worst severity.
    pub fn worst(&self) -> Option<&RecipientReport> {
        self.recipients.iter().max_by_key(|r| r.severity())
    }
}

/// Reads a bounce. `None` only when the bytes are not a message at all.
pub fn parse(raw: &[u8]) -> Option<DeliveryReport> {
    let message = MessageParser::default().parse(raw)?;
    let returned = returned_headers(&message);
    let report = match message.parts.iter().find(|p| is_delivery_status(p)) {
        Some(part) => from_status_part(part, returned),
        None => from_plain_text(&message, returned),
    };
    Some(report)
}

fn content_type_is(part: &MessagePart<'_>, ctype: &str, subtypes: &[&str]) -> bool {
    part.content_type().is_some_and(|c| {
        c.ctype().eq_ignore_ascii_case(ctype)
            && c.subtype()
                .is_some_and(|s| subtypes.iter().any(|t| s.eq_ignore_ascii_case(t)))
    })
}

fn is_delivery_status(part: &MessagePart<'_>) -> bool {
    content_type_is(
        part,
        "message",
        &["delivery-status", "global-delivery-status"],
    )
}

fn one_line_shortened(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(MAX_DIAGNOSTIC_CHARS) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line,
    }
}

/// Lines that start the quoted copy of the original in text bounces.
const COPY_MARKERS: [&str; 7] = [
    "this is a copy of the message",
    "original message headers",
    "original message follows",
    "----- original message -----",
    "undelivered message headers",
    "the original message was received",
    "message headers follow",
];

/// Wording of a permanent failure.
const PERMANENT_WORDS: [&str; 3] = ["permanent error", "permanently", "permanent failure"];

/// Wording of a warning that delivery is still being retried.
const DELAY_WORDS: [&str; 7] = [
    "has not yet been delivered",
    "not yet delivered",
    "will be retried",
    "attempts will continue",
    "still being retried",
    "warning only",
    "delivery is delayed",
];

/// Wording of a failure.
const FAILURE_WORDS: [&str; 10] = [
    "could not be delivered",
    "couldn't be delivered",
    "wasn't delivered",
    "was not delivered",
    "delivery has failed",
    "delivery failed",
    "undeliverable",
    "user unknown",
    "does not exist",
    "address rejected",
];

fn from_plain_text(message: &Message<'_>, returned: Option<ReturnedHeaders>) -> DeliveryReport {
    let text = all_text(message);
    let explanation = explanation_of(&text);
    let lower = explanation.to_ascii_lowercase();
    let failed_header = failed_recipients_header(message);
    let status = StatusCode::find_in(explanation);
    let says = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    let action = if says(&PERMANENT_WORDS) {
        DsnAction::Failed
    } else if says(&DELAY_WORDS) {
        DsnAction::Delayed
    } else if says(&FAILURE_WORDS) || !failed_header.is_empty() {
        DsnAction::Failed
    } else {
        DsnAction::Unknown
    };
    let addresses = if failed_header.is_empty() {
        explained_addresses(message, explanation)
    } else {
        failed_header
    };
    let diagnostic = status.and_then(|_| diagnostic_line(explanation));
    let block = |address: Option<String>| RecipientReport {
        final_recipient: address,
        original_recipient: None,
        action,
        status,
        diagnostic: diagnostic.clone(),
    };
    let mut recipients: Vec<RecipientReport> = addresses.into_iter().map(Some).map(block).collect();
    if recipients.is_empty() && (action != DsnAction::Unknown || status.is_some()) {
        recipients.push(block(None));
    }
    DeliveryReport {
        format: ReportFormat::PlainText,
        reporting_mta: None,
        recipients,
        original_ids: Vec::new(),
        returned,
    }
}

/// Every text part (HTML turned to text when there is no plain one).
fn all_text(message: &Message<'_>) -> String {
    let parts: Vec<Cow<'_, str>> = (0..message.text_body_count())
        .filter_map(|i| message.body_text(i))
        .collect();
    if parts.is_empty() {
        message.body_text(0).unwrap_or_default().into_owned()
    } else {
        parts.join("\n")
    }
}

/// The text before the quoted copy of the original.
fn explanation_of(text: &str) -> &str {
    let lower = text.to_ascii_lowercase();
    let cut = COPY_MARKERS
        .iter()
        .filter_map(|m| lower.find(m))
        .min()
        .unwrap_or(text.len());
    text.get(..cut).unwrap_or(text)
}

fn failed_recipients_header(message: &Message<'_>) -> Vec<String> {
    let mut found = Vec::new();
    for (name, value) in message.headers_raw() {
        if !name.eq_ignore_ascii_case("x-failed-recipients") {
            continue;
        }
        for address in value.split(',').map(normalize_address) {
            if is_deliverable_address(&address) && !found.contains(&address) {
                found.push(address);
            }
        }
    }
    found
}

/// Addresses named in the explanation, minus the bounce's own sender and
/// recipients and mail-system mailboxes.
fn explained_addresses(message: &Message<'_>, explanation: &str) -> Vec<String> {
    let own: Vec<String> = [message.from(), message.to()]
        .into_iter()
        .flatten()
        .flat_map(|a| a.iter())
        .filter_map(|a| a.address())
        .map(normalize_address)
        .collect();
    let mut found: Vec<String> = Vec::new();
    for token in explanation.split(|c: char| c.is_whitespace() || "<>()[]\"',;:".contains(c)) {
        let address = normalize_address(token.trim_end_matches('.'));
        let local = address.split('@').next().unwrap_or("");
        let system = matches!(local, "mailer-daemon" | "postmaster");
        if address.contains('@')
            && is_deliverable_address(&address)
            && !system
            && !own.contains(&address)
            && !found.contains(&address)
        {
            found.push(address);
        }
    }
    found
}

/// The explanation line carrying the status code, shortened.
fn diagnostic_line(explanation: &str) -> Option<String> {
    explanation
        .lines()
        .map(str::trim)
        .find(|l| StatusCode::find_in(l).is_some())
        .map(|l| one_line_shortened(l.trim_start_matches('#').trim_end_matches('#')))
}

/// Headers of the returned original: a `message/rfc822` part, else a
/// headers-only part, else a header block quoted in the text.
fn returned_headers(message: &Message<'_>) -> Option<ReturnedHeaders> {
    let nested = message.parts.iter().find_map(|p| match &p.body {
        PartType::Message(m) => Some(headers_of(m)),
        _ => None,
    });
    nested
        .or_else(|| {
            let headers_only = ["rfc822-headers", "global-headers"];
            let part = message.parts.iter().find(|p| {
                content_type_is(p, "text", &headers_only)
                    || content_type_is(p, "message", &headers_only)
            })?;
            parsed_header_block(part.contents())
        })
        .or_else(|| quoted_header_block(&all_text(message)))
}

fn parsed_header_block(bytes: &[u8]) -> Option<ReturnedHeaders> {
    let parsed = MessageParser::default().parse_headers(bytes)?;
    let headers = headers_of(&parsed);
    (headers != ReturnedHeaders::default()).then_some(headers)
}

/// A header block quoted in text, found by its Message-ID line.
fn quoted_header_block(text: &str) -> Option<ReturnedHeaders> {
    let lines: Vec<&str> = text.lines().collect();
    let is_field = |l: &str| {
        l.split_once(':').is_some_and(|(name, _)| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
    };
    let is_header_line = |l: &&str| is_field(l) || l.starts_with([' ', '\t']);
    let id_line = lines
        .iter()
        .position(|l| l.to_ascii_lowercase().starts_with("message-id:"))?;
    let start = lines[..id_line]
        .iter()
        .rposition(|l| !is_header_line(l))
        .map_or(0, |i| i + 1);
    let end = lines[id_line..]
        .iter()
        .position(|l| !is_header_line(l))
        .map_or(lines.len(), |i| id_line + i);
    let block = format!("{}\n\n", lines[start..end].join("\n"));
    parsed_header_block(block.as_bytes())
}

fn headers_of(message: &Message<'_>) -> ReturnedHeaders {
    ReturnedHeaders {
        message_id: message
            .message_id()
            .map(clean_id)
            .filter(|id| !id.is_empty()),
        in_reply_to: id_list(message.in_reply_to()),
        references: id_list(message.references()),
        loop_header: message
            .header_raw(LOOP_HEADER)
            .map(|v| v.trim().to_string()),
        to: message
            .to()
            .into_iter()
            .flat_map(|a| a.iter())
            .filter_map(|a| a.address())
            .map(normalize_address)
            .collect(),
        subject: message.subject().map(|s| s.trim().to_string()),
    }
}

fn clean_id(id: &str) -> String {
    id.trim().trim_matches(['<', '>']).trim().to_string()
}

fn id_list(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(id) => vec![clean_id(id)],
        HeaderValue::TextList(ids) => ids.iter().map(|id| clean_id(id)).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;

//! Inbound mail: turns raw RFC 5322 bytes into an [`InboundMail`], the
//! plain-data view every later step (classification, threading, storing)
//! works on. Parsing is lenient (mail-parser never panics); what cannot be
//! understood is left empty rather than guessed, beyond the documented
//! repairs ([`body`], [`charset`]). Input that is not plausibly a mail at
//! all is refused ([`plausible`]).

pub mod dsn;

use std::borrow::Cow;

use mail_parser::{
    HeaderName, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};
use sha2::{Digest, Sha256};

use crate::ingest::content;
use crate::model::normalize_address;

mod body;
mod charset;
mod plausible;

/// A parsed inbound message.
#[derive(Debug, Clone, Default)]
pub struct InboundMail {
    /// Message-ID without angle brackets.
    pub message_id: Option<String>,
    /// Sender address (From), normalized.
    pub from: Option<String>,
    /// Sender display name.
    pub from_name: Option<String>,
    /// Mailboxes named by all From fields together, a field in which none
    /// can be read counting as one. [`from`](Self::from) is the first
    /// mailbox of the last field (mail-parser's choice), so anything above
    /// 1 means the sender is ambiguous.
    pub from_mailboxes: usize,
    /// To addresses, normalized.
    pub to: Vec<String>,
    /// Cc addresses, normalized.
    pub cc: Vec<String>,
    /// Envelope recipients recorded by the MTA (Delivered-To, X-Original-To).
    pub delivered_to: Vec<String>,
    /// Decoded subject (empty when absent).
    pub subject: String,
    /// In-Reply-To ids.
    pub in_reply_to: Vec<String>,
    /// References ids.
    pub references: Vec<String>,
    /// All headers as (lower-case name, unfolded trimmed value).
    pub headers: Vec<(String, String)>,
    /// Top-level MIME type, e.g. `multipart/report`.
    pub content_type: String,
    /// `report-type` parameter of a multipart/report.
    pub report_type: Option<String>,
    /// Whether any part contains `message/delivery-status`.
    pub has_delivery_status: bool,
    /// Plain-text body: the text part, or the HTML converted to text
    /// (quoted history `>` quoted) when there is no usable text part.
    pub text: String,
    /// HTML body, sanitized (see [`content::sanitize_html`]); the HTML as
    /// sent stays only in the raw message.
    pub html: Option<String>,
    /// Attachments (metadata; bytes stay in the raw message).
    pub attachments: Vec<AttachmentInfo>,
    /// Set when some part could not be decoded cleanly.
    pub encoding_problem: bool,
}

/// An attachment's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentInfo {
    /// Sanitized file name.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Decoded size in bytes.
    pub size: u64,
    /// Part index in the raw message.
    pub part: u32,
}

impl InboundMail {
    /// Value of the first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether a header with this name is present.
    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    /// Every Message-ID this mail refers to, In-Reply-To first.
    pub fn referenced_ids(&self) -> impl Iterator<Item = &str> {
        self.in_reply_to
            .iter()
            .chain(self.references.iter().rev())
            .map(String::as_str)
    }

    /// Every address the mail was sent to (To, Cc, envelope).
    pub fn all_recipients(&self) -> impl Iterator<Item = &str> {
        self.to
            .iter()
            .chain(&self.cc)
            .chain(&self.delivered_to)
            .map(String::as_str)
    }
}

/// Why raw bytes could not be turned into a mail at all (see
/// [`plausible`] for the rules).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    /// Nothing that looks like a header block.
    #[error("no RFC 5322 header block found")]
    NoHeaders,
    /// The first line is not `Name: value`.
    #[error("not a mail: the first line is not a header field (Name: value)")]
    NotAHeaderField,
    /// Header-like lines, but none of the fields mail has.
    #[error(
        "not a mail: no From, Sender, To, Cc, Subject, Date, Message-ID, Return-Path or Received header"
    )]
    NoMailFields,
    /// Control bytes all over the header block.
    #[error("not a mail: the header block is binary ({percent}% control bytes)")]
    Binary {
        /// Share of control bytes in the header block.
        percent: usize,
    },
}

/// Parses raw bytes. Fails when they are not plausibly a mail (see
/// [`plausible`]) or hold no header block at all.
///
/// Input cut off inside its header block (no empty line, no final line
/// break) is parsed with a line break added, so the last, partial header
/// is kept; the caller keeps the raw bytes as they came, and so does
/// [`fingerprint`].
pub fn parse(raw: &[u8]) -> Result<InboundMail, ParseError> {
    plausible::check(raw)?;
    let completed = with_complete_last_header(raw);
    let message = MessageParser::default()
        .parse(completed.as_ref())
        .ok_or(ParseError::NoHeaders)?;
    if message.root_part().headers.is_empty() {
        return Err(ParseError::NoHeaders);
    }
    Ok(from_message(&message))
}

/// `raw`, with a line break added when it ends inside its header block
/// (mail-parser drops a last header line without one).
fn with_complete_last_header(raw: &[u8]) -> Cow<'_, [u8]> {
    if plausible::header_end(raw).is_some() || raw.ends_with(b"\n") {
        return Cow::Borrowed(raw);
    }
    let crlf_lines = raw.windows(2).any(|w| w == b"\r\n");
    let ending: &[u8] = if crlf_lines && !raw.ends_with(b"\r") {
        b"\r\n"
    } else {
        b"\n"
    };
    Cow::Owned([raw, ending].concat())
}

fn from_message(message: &Message<'_>) -> InboundMail {
    let from = message.from().and_then(|a| a.first());
    let content_type = message.content_type();
    let body = body::read(message);
    InboundMail {
        message_id: message
            .message_id()
            .map(clean_id)
            .filter(|id| !id.is_empty()),
        from: from.and_then(|a| a.address()).map(normalize_address),
        from_name: from.and_then(|a| a.name()).map(str::to_string),
        from_mailboxes: from_mailboxes(message),
        to: addresses(message.to()),
        cc: addresses(message.cc()),
        delivered_to: delivered_to(message),
        subject: subject(message),
        in_reply_to: id_list(message.in_reply_to()),
        references: id_list(message.references()),
        headers: headers(message),
        content_type: content_type
            .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
            .unwrap_or_else(|| "text/plain".into())
            .to_ascii_lowercase(),
        report_type: content_type
            .and_then(|c| c.attribute("report-type"))
            .map(str::to_ascii_lowercase),
        has_delivery_status: message.parts.iter().any(is_delivery_status),
        text: body.text,
        html: body.html.and_then(|html| content::sanitize_html(&html)),
        attachments: attachments(message, body.recovered_part),
        encoding_problem: message.parts.iter().any(|p| p.is_encoding_problem),
    }
}

/// The decoded subject, repaired where mail-parser had to guess (see
/// [`charset`]).
fn subject(message: &Message<'_>) -> String {
    let decoded = message.subject().unwrap_or_default();
    let raw = message
        .root_part()
        .headers
        .iter()
        .find(|h| h.name.as_str().eq_ignore_ascii_case("subject"))
        .and_then(|h| {
            message
                .raw_message()
                .get(h.offset_start as usize..h.offset_end as usize)
        });
    raw.and_then(|raw| charset::repair_header(raw, decoded))
        .unwrap_or_else(|| decoded.to_string())
        .trim()
        .to_string()
}

/// See [`InboundMail::from_mailboxes`].
fn from_mailboxes(message: &Message<'_>) -> usize {
    message
        .header_values(HeaderName::From)
        .map(|value| match value {
            HeaderValue::Address(address) => address.iter().count().max(1),
            _ => 1,
        })
        .sum()
}

fn is_delivery_status(part: &MessagePart<'_>) -> bool {
    part.content_type().is_some_and(|c| {
        c.ctype().eq_ignore_ascii_case("message")
            && c.subtype().is_some_and(|s| {
                s.eq_ignore_ascii_case("delivery-status")
                    || s.eq_ignore_ascii_case("global-delivery-status")
            })
    })
}

fn clean_id(id: &str) -> String {
    id.trim().trim_matches(['<', '>']).trim().to_string()
}

fn addresses(address: Option<&mail_parser::Address<'_>>) -> Vec<String> {
    address
        .into_iter()
        .flat_map(|a| a.iter())
        .filter_map(|a| a.address())
        .map(normalize_address)
        .filter(|a| a.contains('@'))
        .collect()
}

fn id_list(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(id) => vec![clean_id(id)],
        HeaderValue::TextList(ids) => ids.iter().map(|id| clean_id(id)).collect(),
        _ => Vec::new(),
    }
}

fn delivered_to(message: &Message<'_>) -> Vec<String> {
    headers(message)
        .into_iter()
        .filter(|(name, _)| name == "delivered-to" || name == "x-original-to")
        .map(|(_, value)| normalize_address(&value))
        .filter(|a| a.contains('@'))
        .collect()
}

/// Every top-level header as (lower-case name, unfolded value). Values are
/// read from the raw bytes, decoded lossily, so a header with 8-bit bytes
/// (a legacy charset, no RFC 2047) is kept instead of dropped.
fn headers(message: &Message<'_>) -> Vec<(String, String)> {
    let raw = message.raw_message();
    message
        .root_part()
        .headers
        .iter()
        .map(|h| {
            let bytes = raw
                .get(h.offset_start as usize..h.offset_end as usize)
                .unwrap_or_default();
            (
                h.name.as_str().to_ascii_lowercase(),
                unfold(&String::from_utf8_lossy(bytes)),
            )
        })
        .collect()
}

fn unfold(value: &str) -> String {
    let mut unfolded = String::with_capacity(value.len());
    for word in value.split_whitespace() {
        if !unfolded.is_empty() {
            unfolded.push(' ');
        }
        unfolded.push_str(word);
    }
    unfolded
}

/// Every attachment but `body_part`, the body recovered from a part
/// mail-parser took for one.
fn attachments(message: &Message<'_>, body_part: Option<u32>) -> Vec<AttachmentInfo> {
    message
        .attachments
        .iter()
        .filter(|&&id| Some(id) != body_part)
        .filter_map(|&id| message.part(id).map(|part| (id, part)))
        .enumerate()
        .map(|(n, (id, part))| AttachmentInfo {
            name: attachment_name(part, n),
            content_type: part
                .content_type()
                .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("octet-stream")))
                .unwrap_or_else(|| "application/octet-stream".into())
                .to_ascii_lowercase(),
            size: part.len() as u64,
            part: id,
        })
        .collect()
}

/// The part's file name (RFC 2231 and RFC 2047 forms decoded by
/// mail-parser), sanitized; an attached mail without one is named after
/// its subject, `Subject.eml`.
fn attachment_name(part: &MessagePart<'_>, index: usize) -> String {
    let attached_mail_subject = match &part.body {
        PartType::Message(inner) if part.attachment_name().is_none() => {
            Some(inner.subject().unwrap_or("message").to_string())
        }
        _ => None,
    };
    match attached_mail_subject {
        Some(subject) => {
            let stem = sanitize_file_name(Some(&subject.replace(['/', '\\'], "-")), index);
            sanitize_file_name(Some(&format!("{stem}.eml")), index)
        }
        None => sanitize_file_name(part.attachment_name(), index),
    }
}

/// Longest file name kept, in characters and in bytes (file systems allow
/// 255 bytes).
const MAX_NAME_CHARS: usize = 120;
const MAX_NAME_BYTES: usize = 240;

/// Makes a file name safe to show and to write: the last path component
/// only; no control, bidirectional-override or zero-width characters; no
/// `<>:"|?*`; no leading dots or spaces, no trailing dots or spaces; no
/// Windows device name (`CON`, `nul.txt`, `COM1`); at most 120 characters
/// and 240 bytes, keeping the extension. An empty result becomes
/// `attachment-N`.
pub fn sanitize_file_name(name: Option<&str>, index: usize) -> String {
    let last = name
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|&c| !c.is_control() && !is_invisible(c))
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c if c.is_whitespace() => ' ',
            c => c,
        })
        .collect();
    let trimmed = cleaned
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' ']);
    let short = shorten(trimmed);
    if short.is_empty() {
        format!("attachment-{}", index + 1)
    } else if is_windows_device_name(&short) {
        format!("_{short}")
    } else {
        short
    }
}

/// Characters that change how a name displays without being visible: the
/// bidirectional overrides (`invoice\u{202e}fdp.exe` shows as
/// `invoiceexe.pdf`), zero-width characters and the soft hyphen.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{061c}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// Cuts `name` to the limits, keeping a short extension.
fn shorten(name: &str) -> String {
    let fits = |s: &str| s.chars().count() <= MAX_NAME_CHARS && s.len() <= MAX_NAME_BYTES;
    if fits(name) {
        return name.to_string();
    }
    let extension = name
        .rfind('.')
        .map(|dot| &name[dot..])
        .filter(|ext| ext.len() <= 17 && ext[1..].chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or("");
    let stem = &name[..name.len() - extension.len()];
    let mut kept = String::new();
    for c in stem.chars() {
        let candidate_len = kept.len() + c.len_utf8() + extension.len();
        let candidate_chars = kept.chars().count() + 1 + extension.chars().count();
        if candidate_len > MAX_NAME_BYTES || candidate_chars > MAX_NAME_CHARS {
            break;
        }
        kept.push(c);
    }
    let kept = kept.trim_end_matches(['.', ' ']);
    format!("{kept}{extension}")
}

/// `CON`, `PRN`, `AUX`, `NUL`, `COM0`-`COM9`, `LPT0`-`LPT9` (also with
/// superscript digits), `CONIN$`, `CONOUT$`, with or without extension.
fn is_windows_device_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or_default().trim_end();
    let upper = stem.to_uppercase();
    if matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) {
        return true;
    }
    let mut chars = upper.chars();
    let prefix: String = chars.by_ref().take(3).collect();
    let rest: Vec<char> = chars.collect();
    (prefix == "COM" || prefix == "LPT")
        && matches!(rest.as_slice(), [d] if d.is_ascii_digit() || matches!(d, '¹' | '²' | '³'))
}

/// The decoded bytes of an attachment part of a stored raw message.
pub fn attachment_bytes(raw: &[u8], part: u32) -> Option<Vec<u8>> {
    let message = MessageParser::default().parse(raw)?;
    message.part(part).map(|p| p.contents().to_vec())
}

/// Stable identity of a message for de-duplication: its Message-ID when it
/// has one, else a hash of its bytes.
pub fn fingerprint(mail: Option<&InboundMail>, raw: &[u8]) -> String {
    match mail.and_then(|m| m.message_id.as_deref()) {
        Some(id) => format!("id:{}", id.to_ascii_lowercase()),
        None => format!("sha256:{}", hex::encode(Sha256::digest(raw))),
    }
}

#[cfg(test)]
mod tests;

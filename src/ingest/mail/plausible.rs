//! Is this plausibly a mail at all? mail-parser reads a "header" out of
//! almost any bytes (binary garbage holds `:` bytes), so [`super::parse`]
//! first checks the header block (everything before the first empty line,
//! or the whole input when there is none) against three rules:
//!
//! 1. **It starts with a header field**: the first line (after an mbox
//!    `From ` separator line, which some tools leave in) is a field name of
//!    printable ASCII characters other than `:` (RFC 5322 `ftext`),
//!    optionally followed by blanks (the obsolete syntax), then `:`.
//! 2. **It has a field every mail carries at least one of**: one of the
//!    fields RFC 5322 section 3.6 defines (From, Sender, Reply-To, To, Cc,
//!    Bcc, Date, Message-ID, In-Reply-To, References, Subject, Comments,
//!    Keywords, the Resent- fields, Return-Path, Received). A bare
//!    `Subject: x` or a lone `From:` passes; a MIME part on its own
//!    (Content-Type only) does not.
//! 3. **It is text**: at most one byte in twenty is a control character
//!    (C0 other than tab, line feed, carriage return and escape, which
//!    ISO-2022-JP uses; DEL). 8-bit bytes are not counted: raw Latin-1 or
//!    Shift_JIS header values are real mail.
//!
//! A failed rule names itself in the [`ParseError`], which ingest stores as
//! the quarantine reason.

use super::ParseError;

/// Control bytes allowed per byte of header block: one in twenty.
const MAX_CONTROL_SHARE: f64 = 0.05;

/// Fields RFC 5322 section 3.6 defines, lower case.
const MAIL_FIELDS: [&str; 22] = [
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "subject",
    "comments",
    "keywords",
    "resent-date",
    "resent-from",
    "resent-sender",
    "resent-to",
    "resent-cc",
    "resent-bcc",
    "resent-message-id",
    "return-path",
    "received",
];

/// Checks the three rules of the module docs on `raw`.
pub(super) fn check(raw: &[u8]) -> Result<(), ParseError> {
    let block = header_block(raw);
    let mut lines = block
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .peekable();
    if lines.peek().is_some_and(|line| line.starts_with(b"From ")) {
        lines.next();
    }
    let first = lines.peek().copied().unwrap_or_default();
    if first.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::NoHeaders);
    }
    if field_name(first).is_none() {
        return Err(ParseError::NotAHeaderField);
    }
    if !lines
        .filter_map(field_name)
        .any(|name| MAIL_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(name)))
    {
        return Err(ParseError::NoMailFields);
    }
    let controls = block.iter().filter(|&&b| is_control(b)).count();
    if controls as f64 > block.len() as f64 * MAX_CONTROL_SHARE {
        return Err(ParseError::Binary {
            percent: controls * 100 / block.len().max(1),
        });
    }
    Ok(())
}

/// Everything before the first empty line, or all of `raw` when there is
/// none.
fn header_block(raw: &[u8]) -> &[u8] {
    &raw[..header_end(raw).unwrap_or(raw.len())]
}

/// Where the first empty line (LF LF, or LF CR LF) starts: the end of the
/// header block, when it has one.
pub(super) fn header_end(raw: &[u8]) -> Option<usize> {
    raw.windows(2).enumerate().find_map(|(i, pair)| match pair {
        b"\n\n" => Some(i + 1),
        b"\n\r" if raw.get(i + 2) == Some(&b'\n') => Some(i + 1),
        _ => None,
    })
}

/// The field name when `line` starts a header field (`Name:` or the
/// obsolete `Name :`); `None` for a continuation or any other line.
fn field_name(line: &[u8]) -> Option<&str> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = line[..colon].trim_ascii_end();
    let well_formed = !name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b));
    well_formed
        .then(|| std::str::from_utf8(name).ok())
        .flatten()
}

/// A byte no text has: C0 controls except tab, line feed, carriage return
/// and escape; DEL.
fn is_control(byte: u8) -> bool {
    (byte < 0x20 && !matches!(byte, b'\t' | b'\n' | b'\r' | 0x1b)) || byte == 0x7f
}

//! The readable body of a mail: its plain-text part, else its HTML as
//! text, else a text part mail-parser gave up on and filed as an
//! attachment (bad base64), else, for a multipart mail-parser could not
//! split (no usable boundary), the text of its raw body.
//!
//! Each part's text gets the charset repairs of [`super::charset`], and a
//! base64 part mail-parser gave up on (one bad line) is decoded leniently.

use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders, PartType};

use super::charset;
use crate::ingest::content;

/// Longest boundary RFC 2046 allows.
const MAX_BOUNDARY: usize = 70;

/// What a mail's body reads as.
pub(super) struct Body {
    /// Plain text (HTML read as text when there is no plain text).
    pub text: String,
    /// The HTML as sent (decoded, not yet sanitized).
    pub html: Option<String>,
    /// A part mail-parser listed as an attachment that is the body.
    pub recovered_part: Option<u32>,
}

/// Reads the body of `message` (see the module docs for the order).
pub(super) fn read(message: &Message<'_>) -> Body {
    let body = readable_body(message);
    if !body.text.is_empty() {
        return body;
    }
    Body {
        text: unsplit_multipart_text(message).unwrap_or_default(),
        ..body
    }
}

/// The body found in the parts mail-parser made, without the raw-body
/// fallback of [`read`].
fn readable_body(message: &Message<'_>) -> Body {
    let html = html_body(message);
    let plain = message
        .text_bodies()
        .find(|p| !is_html_part(p))
        .and_then(|p| part_text(message, p))
        .and_then(tidy);
    if let Some(text) = plain {
        return Body {
            text,
            html,
            recovered_part: None,
        };
    }
    if let Some(html) = html {
        return Body {
            text: content::html_to_text(&html),
            html: Some(html),
            recovered_part: None,
        };
    }
    match recovered_text_part(message) {
        Some((id, true, html)) => Body {
            text: content::html_to_text(&html),
            html: Some(html),
            recovered_part: Some(id),
        },
        Some((id, false, text)) => Body {
            text: tidy(text).unwrap_or_default(),
            html: None,
            recovered_part: Some(id),
        },
        None => Body {
            text: String::new(),
            html: None,
            recovered_part: None,
        },
    }
}

/// LF line ends, no trailing blanks; `None` when nothing is left.
fn tidy(text: String) -> Option<String> {
    let text = text.replace("\r\n", "\n").trim_end().to_string();
    (!text.trim().is_empty()).then_some(text)
}

fn is_html_part(part: &MessagePart<'_>) -> bool {
    part.is_content_type("text", "html")
}

/// The first HTML body part as sent (decoded, not yet sanitized).
fn html_body(message: &Message<'_>) -> Option<String> {
    message
        .html_bodies()
        .find(|p| is_html_part(p))
        .and_then(|p| part_text(message, p))
        .filter(|html| !html.trim().is_empty())
}

/// A text part's decoded text, repaired where mail-parser had to give up
/// (bad base64) or guess (replacement characters).
fn part_text(message: &Message<'_>, part: &MessagePart<'_>) -> Option<String> {
    let raw = message.raw_message();
    if let Some(text) = charset::lenient_base64_text(raw, part) {
        return Some(text);
    }
    let text = part.text_contents()?;
    Some(charset::repair_body(raw, part, text).unwrap_or_else(|| text.to_string()))
}

/// The first part mail-parser gave up on and listed as an attachment that
/// was meant as the body: declared `text/plain`, `text/html` or nothing,
/// not an attachment by disposition or file name, and readable by the
/// lenient base64 decoding. Returns its id, whether it is HTML and its
/// text.
fn recovered_text_part(message: &Message<'_>) -> Option<(u32, bool, String)> {
    message.attachments.iter().find_map(|&id| {
        let part = message.part(id)?;
        let declared = part.content_type();
        let html = declared.is_some_and(|c| {
            c.ctype().eq_ignore_ascii_case("text")
                && c.subtype().is_some_and(|s| s.eq_ignore_ascii_case("html"))
        });
        let plain = declared.is_none_or(|c| {
            c.ctype().eq_ignore_ascii_case("text")
                && c.subtype().is_none_or(|s| s.eq_ignore_ascii_case("plain"))
        });
        let inline = part
            .content_disposition()
            .is_none_or(|d| !d.is_attachment())
            && part.attachment_name().is_none();
        if !part.is_encoding_problem || !inline || !(html || plain) {
            return None;
        }
        let text = charset::lenient_base64_text(message.raw_message(), part)?;
        Some((id, html, text))
    })
}

/// The text of a multipart body mail-parser left in one piece (no
/// boundary parameter, or one that never appears): the body is split at
/// the delimiter lines it does use and each piece read as a MIME part
/// (pieces without text, attachments, add nothing); without such lines
/// the whole body is read as text.
fn unsplit_multipart_text(message: &Message<'_>) -> Option<String> {
    let root = message.root_part();
    let multipart = root
        .content_type()
        .is_some_and(|c| c.ctype().eq_ignore_ascii_case("multipart"));
    if !multipart || matches!(root.body, PartType::Multipart(_)) {
        return None;
    }
    let body = message
        .raw_message()
        .get(root.raw_body_offset() as usize..root.raw_end_offset() as usize)?;
    let text = match guessed_boundary(body) {
        Some(boundary) => split_at_delimiters(body, &boundary)
            .into_iter()
            .filter_map(piece_text)
            .collect::<Vec<_>>()
            .join("\n\n"),
        None => {
            let charset = root.content_type().and_then(|c| c.attribute("charset"));
            charset::decode_body_bytes(charset, body)
                .replace("\r\n", "\n")
                .trim()
                .to_string()
        }
    };
    (!text.is_empty()).then_some(text)
}

/// The text of one piece of an unsplit multipart, read as a MIME part; a
/// piece without part headers (it starts with an empty line) is plain
/// text.
fn piece_text(piece: &[u8]) -> Option<String> {
    let headerless = piece.starts_with(b"\n") || piece.starts_with(b"\r\n");
    if headerless {
        let text = charset::decode_body_bytes(None, piece);
        let text = text.replace("\r\n", "\n").trim().to_string();
        return (!text.is_empty()).then_some(text);
    }
    let body = readable_body(&MessageParser::default().parse(piece)?);
    (!body.text.is_empty()).then_some(body.text)
}

/// The boundary of the first line that looks like a delimiter (`--`, then
/// 1 to 70 characters, RFC 2046) and is followed by a `Content-` header
/// field, as every MIME writer puts there. A separator line in plain text
/// (`-----Original Message-----`, `---`) is not taken for one.
fn guessed_boundary(body: &[u8]) -> Option<Vec<u8>> {
    let all: Vec<&[u8]> = lines(body).collect();
    all.windows(2).find_map(|pair| {
        let token = pair[0].strip_prefix(b"--")?.trim_ascii_end();
        let starts_part = pair[1]
            .get(..8)
            .is_some_and(|start| start.eq_ignore_ascii_case(b"content-"));
        let plausible = starts_part
            && !token.is_empty()
            && token.len() <= MAX_BOUNDARY
            && token.iter().all(|&b| b.is_ascii_graphic() || b == b' ');
        plausible.then(|| token.to_vec())
    })
}

/// The pieces between delimiter lines (`--boundary`, `--boundary--`);
/// the preamble before the first one and the epilogue after the closing
/// one are left out.
fn split_at_delimiters<'b>(body: &'b [u8], boundary: &[u8]) -> Vec<&'b [u8]> {
    let mut pieces = Vec::new();
    let mut start: Option<usize> = None;
    let mut offset = 0;
    for line in body.split_inclusive(|&b| b == b'\n') {
        let token = line
            .strip_prefix(b"--")
            .map(<[u8]>::trim_ascii_end)
            .unwrap_or_default();
        let closing = token.strip_suffix(b"--") == Some(boundary);
        if token == boundary || closing {
            if let Some(from) = start {
                pieces.push(&body[from..offset]);
            }
            start = (!closing).then_some(offset + line.len());
        }
        offset += line.len();
    }
    if let Some(from) = start {
        pieces.push(&body[from..]);
    }
    pieces
}

fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
}

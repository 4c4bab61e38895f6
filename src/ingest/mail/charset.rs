//! Repairs for text mail-parser could only decode with replacement
//! characters (`�`): mail that does not declare its 8-bit charset, or
//! declares UTF-8 and is not, and RFC 2047 subjects that split one
//! character over two encoded words. Also for text it could not decode at
//! all: a base64 body with a corrupt line, and the raw body of a multipart
//! it could not split.
//!
//! Undeclared 8-bit text is read as UTF-8 where it is valid and as
//! windows-1252 (the superset of Latin-1 such mailers use) byte by byte
//! where it is not, so a mostly-UTF-8 text with one stray byte is not
//! turned into mojibake.

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{Encoding, MessagePart, MimeHeaders};
use regex::Regex;

const REPLACEMENT: char = '\u{fffd}';

/// UTF-8 where valid, windows-1252 for each byte that is not.
pub(super) fn lenient_utf8(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for &byte in chunk.invalid() {
            out.push_str(&windows_1252(&[byte]));
        }
    }
    out
}

fn windows_1252(bytes: &[u8]) -> String {
    match charset_decoder(b"windows-1252") {
        Some(decode) => decode(bytes),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// A better reading of a header value than mail-parser's `decoded`, when
/// that has replacement characters: raw 8-bit text read leniently, or the
/// encoded words decoded with adjacent same-charset words joined first.
pub(super) fn repair_header(raw_value: &[u8], decoded: &str) -> Option<String> {
    if !decoded.contains(REPLACEMENT) {
        return None;
    }
    let value = lenient_utf8(raw_value);
    let repaired = if value.contains("=?") {
        decode_encoded_words(&value)
    } else {
        value
    };
    let repaired = repaired.split_whitespace().collect::<Vec<_>>().join(" ");
    (repaired.matches(REPLACEMENT).count() < decoded.matches(REPLACEMENT).count())
        .then_some(repaired)
}

static ENCODED_WORD: LazyLock<Regex> =
    LazyLock::new(
        || match Regex::new(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=") {
            Ok(regex) => regex,
            Err(e) => unreachable!("built-in pattern is invalid: {e}"),
        },
    );

/// RFC 2047 decoding that joins the bytes of adjacent encoded words in the
/// same charset before decoding them, as the RFC's own examples need when
/// a character is split between words.
fn decode_encoded_words(value: &str) -> String {
    let mut out = String::new();
    let mut pending: Option<(String, Vec<u8>)> = None;
    let mut last = 0;
    for word in ENCODED_WORD.captures_iter(value) {
        let (Some(all), Some(charset), Some(kind), Some(text)) =
            (word.get(0), word.get(1), word.get(2), word.get(3))
        else {
            continue;
        };
        let between = &value[last..all.start()];
        if pending.is_none() || !between.trim().is_empty() {
            flush(&mut out, &mut pending);
            out.push_str(between);
        }
        last = all.end();
        let charset = charset.as_str().split('*').next().unwrap_or_default();
        let charset = charset.to_ascii_lowercase();
        let Some(bytes) = decode_word(kind.as_str(), text.as_str()) else {
            flush(&mut out, &mut pending);
            out.push_str(all.as_str());
            continue;
        };
        match &mut pending {
            Some((open, buffer)) if *open == charset => buffer.extend(bytes),
            _ => {
                flush(&mut out, &mut pending);
                pending = Some((charset, bytes));
            }
        }
    }
    flush(&mut out, &mut pending);
    out.push_str(&value[last..]);
    out
}

fn decode_word(kind: &str, text: &str) -> Option<Vec<u8>> {
    if kind.eq_ignore_ascii_case("b") {
        base64_decode(text.as_bytes())
    } else {
        quoted_printable_decode(text.replace('_', " ").as_bytes())
    }
}

fn flush(out: &mut String, pending: &mut Option<(String, Vec<u8>)>) {
    if let Some((charset, bytes)) = pending.take() {
        out.push_str(&decode_charset(&charset, &bytes));
    }
}

fn decode_charset(charset: &str, bytes: &[u8]) -> String {
    if is_utf8_or_ascii(charset) {
        return lenient_utf8(bytes);
    }
    match charset_decoder(charset.as_bytes()) {
        Some(decode) => decode(bytes),
        None => lenient_utf8(bytes),
    }
}

fn is_utf8_or_ascii(charset: &str) -> bool {
    matches!(
        charset.to_ascii_lowercase().as_str(),
        "utf-8" | "utf8" | "us-ascii" | "ascii"
    )
}

/// The text of `part` read again from the raw message when mail-parser's
/// reading has replacement characters and the part declares no charset,
/// UTF-8, or one nobody knows: undeclared 8-bit text is read leniently.
/// A part in a real legacy charset keeps mail-parser's reading.
pub(super) fn repair_body(raw: &[u8], part: &MessagePart<'_>, decoded: &str) -> Option<String> {
    if !decoded.contains(REPLACEMENT) {
        return None;
    }
    let declared = part.content_type().and_then(|c| c.attribute("charset"));
    if declared.is_some_and(|c| !is_utf8_or_ascii(c) && charset_decoder(c.as_bytes()).is_some()) {
        return None;
    }
    let body = raw.get(part.raw_body_offset() as usize..part.raw_end_offset() as usize)?;
    let bytes = match part.encoding {
        Encoding::QuotedPrintable => quoted_printable_decode(body)?,
        Encoding::Base64 => base64_decode(body)?,
        Encoding::None => body.to_vec(),
    };
    let repaired = lenient_utf8(&bytes).replace("\r\n", "\n");
    (repaired.matches(REPLACEMENT).count() < decoded.matches(REPLACEMENT).count())
        .then_some(repaired)
}

/// Bytes of a body mail-parser could not attach to a decoded part, as
/// text: in `charset` when it is a known legacy one, else leniently (UTF-8
/// where valid, windows-1252 byte by byte where not).
pub(super) fn decode_body_bytes(charset: Option<&str>, bytes: &[u8]) -> String {
    match charset {
        Some(charset) => decode_charset(charset, bytes),
        None => lenient_utf8(bytes),
    }
}

/// The text of a base64 `part` mail-parser gave up on (it then returns
/// the undecoded base64), decoded line by line: lines that are not base64
/// (a character outside the alphabet, padding before the end) are
/// skipped, the others decoded, padding ending one run of data and
/// starting the next.
///
/// Only when the part still looks like base64: the valid lines hold more
/// bytes than the skipped ones, and one of them is at least as long as an
/// encoder's shortest full line would be (16 letters). Plain text sent
/// with a wrong label has blanks and punctuation on nearly every line and
/// short words on the rest; mail-parser's reading of it (the text as
/// sent) stands.
pub(super) fn lenient_base64_text(raw: &[u8], part: &MessagePart<'_>) -> Option<String> {
    let declared_base64 = part
        .content_transfer_encoding()
        .is_some_and(|e| e.trim().eq_ignore_ascii_case("base64"));
    if !part.is_encoding_problem || !declared_base64 {
        return None;
    }
    let body = raw.get(part.raw_body_offset() as usize..part.raw_end_offset() as usize)?;
    let bytes = lenient_base64(body)?;
    let charset = part.content_type().and_then(|c| c.attribute("charset"));
    Some(decode_body_bytes(charset, &bytes).replace("\r\n", "\n"))
}

/// Shortest line that shows a body is base64 after all.
const MIN_FULL_LINE: usize = 16;

/// Decodes the valid lines of `body`; `None` unless it still looks like
/// base64 (see [`lenient_base64_text`]).
fn lenient_base64(body: &[u8]) -> Option<Vec<u8>> {
    let mut decoded = Vec::new();
    let mut run = Vec::new();
    let (mut valid, mut skipped, mut longest) = (0usize, 0usize, 0usize);
    for line in body.split(|&b| b == b'\n').map(<[u8]>::trim_ascii) {
        if line.is_empty() {
            continue;
        }
        let data = line
            .strip_suffix(b"==")
            .or_else(|| line.strip_suffix(b"="))
            .unwrap_or(line);
        if data.is_empty() || !data.iter().all(is_base64_letter) {
            skipped += line.len();
            continue;
        }
        valid += line.len();
        longest = longest.max(line.len());
        run.extend_from_slice(data);
        if data.len() < line.len() {
            decode_run(&mut run, &mut decoded);
        }
    }
    decode_run(&mut run, &mut decoded);
    (valid > skipped && longest >= MIN_FULL_LINE).then_some(decoded)
}

fn is_base64_letter(byte: &u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'/')
}

/// Decodes one run of base64 letters (no padding) into `out` and empties
/// it; a dangling last letter (six bits, no whole byte) is dropped.
fn decode_run(run: &mut Vec<u8>, out: &mut Vec<u8>) {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    if run.len() % 4 == 1 {
        run.pop();
    }
    if let Ok(bytes) = LENIENT.decode(&run) {
        out.extend(bytes);
    }
    run.clear();
}

//! Everything the CLI prints goes through here, because mail content is
//! untrusted and a terminal obeys escape sequences (window titles, screen
//! clearing, OSC 52 clipboard writes, bidi reordering of what staff read).
//!
//! **Human output** is written through [`Out`], which cleans every piece of
//! text as a block ([`clean_block`]); one-line fields (subjects,
//! addresses, rules, reasons, names) also go through [`clean_line`] so
//! that they cannot fake extra output lines. A character is shown in a
//! visible form instead of being sent:
//!
//! - C0 controls (U+0000–U+001F) and DEL (U+007F) as `\xHH`, e.g. `\x1b`
//!   for ESC; a block keeps line feed and tab, a line replaces them too
//!   (`\x0a`, `\x09`);
//! - C1 controls (U+0080–U+009F, among them the 8-bit CSI U+009B) and the
//!   bidi embeddings, overrides and isolates (U+202A–U+202E,
//!   U+2066–U+2069) as `\u{HHHH}` in lower-case hex without leading
//!   zeros, e.g. `\u{9b}`, `\u{202e}`.
//!
//! A backslash is printed as it is, so `\x1b` may also be text someone
//! typed; what matters is that nothing reaches the terminal raw.
//!
//! **JSON output** ([`Out::json`], [`Out::json_line`]) is serde_json's,
//! which escapes C0 controls, with DEL, C1 and bidi controls escaped as
//! well (`\u007f`, `\u009b`, `\u202e`): still the same JSON value, but
//! safe on a terminal.
//!
//! **Raw dumps** (`tickets attachment`, `messages original`) are written
//! byte for byte with [`Out::raw`], also to a terminal: the user asked for
//! the exact bytes, and cleaning would make them wrong.
//!
//! **Errors**: a failed write to standard output is an [`OutputError`];
//! when the reader went away (`| head -1`, a broken pipe) the command ends
//! quietly and successfully, like other Unix tools. Messages for standard
//! error go through [`warn`], which cleans them and never fails.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};

/// Standard output was not written (the reader may have gone away).
#[derive(Debug, thiserror::Error)]
#[error("Writing to standard output")]
pub struct OutputError(#[source] io::Error);

impl OutputError {
    /// The reader closed the pipe: nobody wants the rest of the output.
    pub fn is_broken_pipe(&self) -> bool {
        self.0.kind() == io::ErrorKind::BrokenPipe
    }
}

/// `e` (or a cause of it) is standard output's reader having gone away.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|cause| cause.downcast_ref::<OutputError>())
        .any(OutputError::is_broken_pipe)
}

/// What printing answers.
pub type Printed = Result<(), OutputError>;

/// A text with every control character replaced (newlines and tabs too),
/// for one-line fields.
pub fn clean_line(text: &str) -> Cow<'_, str> {
    clean(text, is_unsafe_in_line)
}

/// A text with every control character but line feed and tab replaced,
/// for multi-line text (comments, rendered templates, messages).
pub fn clean_block(text: &str) -> Cow<'_, str> {
    clean(text, is_unsafe_in_block)
}

fn clean(text: &str, is_unsafe: fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut cleaned = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) {
            cleaned.push_str(&visible_form(c));
        } else {
            cleaned.push(c);
        }
    }
    Cow::Owned(cleaned)
}

/// `\xHH` for C0 controls and DEL, `\u{HHHH}` for the others.
fn visible_form(c: char) -> String {
    let code = u32::from(c);
    if code < 0x80 {
        format!("\\x{code:02x}")
    } else {
        format!("\\u{{{code:x}}}")
    }
}

fn is_unsafe_in_line(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

fn is_unsafe_in_block(c: char) -> bool {
    c != '\n' && c != '\t' && is_unsafe_in_line(c)
}

/// Bidi embeddings and overrides (U+202A–U+202E) and isolates
/// (U+2066–U+2069): they reorder the text that follows them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A character serde_json leaves raw in a string but a terminal may obey:
/// DEL, C1 controls and bidi controls (it escapes U+0000–U+001F itself).
fn is_unescaped_by_serde_json(c: char) -> bool {
    (c.is_control() && c >= '\u{7f}') || is_bidi_control(c)
}

/// serde_json's text with DEL, C1 and bidi controls escaped as `\uXXXX`.
/// Such characters can only occur inside JSON strings (keys included), and
/// never right after an escaping backslash, so the value stays the same.
pub fn escape_json_text(json: &str) -> Cow<'_, str> {
    if !json.chars().any(is_unescaped_by_serde_json) {
        return Cow::Borrowed(json);
    }
    let mut escaped = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_unescaped_by_serde_json(c) {
            escaped.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

/// Terminal-safe standard output (or any writer, for tests).
pub struct Out<W: Write = io::Stdout> {
    sink: W,
}

impl Out {
    /// Standard output.
    pub fn stdout() -> Out {
        Out::new(io::stdout())
    }
}

impl<W: Write> Out<W> {
    /// Output to `sink`.
    pub fn new(sink: W) -> Out<W> {
        Out { sink }
    }

    /// Writes formatted text, cleaned as a block: what `write!` and
    /// `writeln!` call. One-line fields still need [`clean_line`].
    pub fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> Printed {
        let text = match args.as_str() {
            Some(text) => Cow::Borrowed(text),
            None => Cow::Owned(args.to_string()),
        };
        self.write_raw(clean_block(&text).as_bytes())
    }

    /// Writes a value as pretty-printed JSON and a newline.
    pub fn json(&mut self, value: &impl serde::Serialize) -> Printed {
        let text = serde_json::to_string_pretty(value).map_err(io::Error::from);
        self.json_text(text)
    }

    /// Writes a value as one line of JSON.
    pub fn json_line(&mut self, value: &impl serde::Serialize) -> Printed {
        let text = serde_json::to_string(value).map_err(io::Error::from);
        self.json_text(text)
    }

    fn json_text(&mut self, text: io::Result<String>) -> Printed {
        let mut text = escape_json_text(&text.map_err(OutputError)?).into_owned();
        text.push('\n');
        self.write_raw(text.as_bytes())
    }

    /// Writes bytes exactly as given (raw dumps the user asked for).
    pub fn raw(&mut self, bytes: &[u8]) -> Printed {
        self.write_raw(bytes)
    }

    /// Sends what is buffered.
    pub fn flush(&mut self) -> Printed {
        self.sink.flush().map_err(OutputError)
    }

    fn write_raw(&mut self, bytes: &[u8]) -> Printed {
        self.sink.write_all(bytes).map_err(OutputError)
    }

    /// The writer, for tests.
    #[cfg(test)]
    pub fn into_inner(self) -> W {
        self.sink
    }
}

/// Writes a message and a newline to standard error, cleaned as a block;
/// a failure to write is ignored (there is nowhere left to report it).
pub fn warn(message: &str) {
    let mut line = clean_block(message).into_owned();
    line.push('\n');
    let _ = io::stderr().write_all(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (input, as a line, as a block).
    const CASES: &[(&str, &str, &str)] = &[
        ("plain ASCII", "plain ASCII", "plain ASCII"),
        (
            "Grüße, 你好, こんにちは, emoji 🎫👍🏽, \\ and \u{a0}",
            "Grüße, 你好, こんにちは, emoji 🎫👍🏽, \\ and \u{a0}",
            "Grüße, 你好, こんにちは, emoji 🎫👍🏽, \\ and \u{a0}",
        ),
        ("\x1b[2J cleared", r"\x1b[2J cleared", r"\x1b[2J cleared"),
        (
            "\x1b[31mred\x1b[0m",
            r"\x1b[31mred\x1b[0m",
            r"\x1b[31mred\x1b[0m",
        ),
        ("\x1b]0;title\x07", r"\x1b]0;title\x07", r"\x1b]0;title\x07"),
        (
            "\x1b]52;c;ZXZpbA==\x07",
            r"\x1b]52;c;ZXZpbA==\x07",
            r"\x1b]52;c;ZXZpbA==\x07",
        ),
        (
            "\x1b]52;c;ZXZpbA==\x1b\\",
            r"\x1b]52;c;ZXZpbA==\x1b\",
            r"\x1b]52;c;ZXZpbA==\x1b\",
        ),
        (
            "8-bit \u{9b}2J CSI",
            r"8-bit \u{9b}2J CSI",
            r"8-bit \u{9b}2J CSI",
        ),
        ("\u{80}\u{9f}", r"\u{80}\u{9f}", r"\u{80}\u{9f}"),
        ("DEL\x7f", r"DEL\x7f", r"DEL\x7f"),
        (
            "\0 NUL, \x08 BS",
            r"\x00 NUL, \x08 BS",
            r"\x00 NUL, \x08 BS",
        ),
        ("a\u{202e}cba", r"a\u{202e}cba", r"a\u{202e}cba"),
        (
            "\u{202a}\u{202b}\u{202c}\u{202d}",
            r"\u{202a}\u{202b}\u{202c}\u{202d}",
            r"\u{202a}\u{202b}\u{202c}\u{202d}",
        ),
        (
            "\u{2066}x\u{2067}y\u{2068}z\u{2069}",
            r"\u{2066}x\u{2067}y\u{2068}z\u{2069}",
            r"\u{2066}x\u{2067}y\u{2068}z\u{2069}",
        ),
        ("one\ntwo", r"one\x0atwo", "one\ntwo"),
        ("col\tcol", r"col\x09col", "col\tcol"),
        ("over\rwrite", r"over\x0dwrite", r"over\x0dwrite"),
        ("crlf\r\n", r"crlf\x0d\x0a", "crlf\\x0d\n"),
    ];

    #[test]
    fn lines_and_blocks_show_controls_visibly() {
        for (input, line, block) in CASES {
            assert_eq!(clean_line(input), *line, "clean_line({input:?})");
            assert_eq!(clean_block(input), *block, "clean_block({input:?})");
        }
    }

    #[test]
    fn clean_text_is_borrowed_not_copied() {
        let text = "Grüße 🎫\nnext line";
        assert!(matches!(clean_block(text), Cow::Borrowed(_)));
        assert!(matches!(clean_line("Grüße 🎫"), Cow::Borrowed(_)));
    }

    #[test]
    fn nothing_unsafe_survives_either_cleaning() {
        let every_char = (0..=0x2100u32).filter_map(char::from_u32);
        let text: String = every_char.collect();
        let unsafe_in_block =
            |c: char| (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c);
        assert!(!clean_block(&text).chars().any(unsafe_in_block));
        assert!(
            !clean_line(&text)
                .chars()
                .any(|c| c.is_control() || is_bidi_control(c))
        );
    }

    #[test]
    fn json_escapes_del_c1_and_bidi_and_decodes_to_the_same_value() {
        let original = "t\x1b]0;x\x07 \u{7f}\u{85}\u{9b}2J \u{202e}\u{2066} \\ \" 🎫 你好";
        let value = serde_json::json!({ "subject": original, original: [original] });
        for pretty in [false, true] {
            let mut out = Out::new(Vec::new());
            let printed = if pretty {
                out.json(&value)
            } else {
                out.json_line(&value)
            };
            assert!(printed.is_ok());
            let text = String::from_utf8(out.into_inner()).expect("UTF-8 JSON");
            assert!(
                !text
                    .chars()
                    .any(|c| (c.is_control() && c != '\n') || is_bidi_control(c)),
                "{text:?}"
            );
            assert!(
                text.contains(r"\u007f\u0085\u009b2J \u202e\u2066"),
                "{text}"
            );
            let decoded: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
            assert_eq!(decoded, value);
        }
    }

    #[test]
    fn formatted_output_is_cleaned_as_a_block() {
        let mut out = Out::new(Vec::new());
        let subject = "a\x1b[2J\nfake line";
        let body = "body\x1b]0;t\x07";
        let written = writeln!(out, "{}\n{body}", clean_line(subject));
        assert!(written.is_ok());
        assert!(write!(out, "literal\x1b[2J").is_ok());
        let text = String::from_utf8(out.into_inner()).expect("UTF-8");
        let expected = "a\\x1b[2J\\x0afake line\nbody\\x1b]0;t\\x07\nliteral\\x1b[2J";
        assert_eq!(text, expected);
    }

    #[test]
    fn raw_output_is_byte_exact() {
        let bytes: Vec<u8> = (0..=255).collect();
        let mut out = Out::new(Vec::new());
        assert!(out.raw(&bytes).is_ok());
        assert_eq!(out.into_inner(), bytes);
    }

    #[test]
    fn a_closed_pipe_is_told_apart_from_other_failures() {
        let broken = OutputError(io::Error::from(io::ErrorKind::BrokenPipe));
        let full = OutputError(io::Error::from(io::ErrorKind::StorageFull));
        assert!(broken.is_broken_pipe());
        assert!(!full.is_broken_pipe());
        assert!(is_broken_pipe(
            &anyhow::Error::from(broken).context("printing")
        ));
        assert!(!is_broken_pipe(&anyhow::Error::from(full)));
        // A broken connection to the daemon is a real failure.
        let elsewhere = io::Error::from(io::ErrorKind::BrokenPipe);
        assert!(!is_broken_pipe(&anyhow::Error::from(elsewhere)));
    }
}

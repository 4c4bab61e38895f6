//! Quoted history in plain text: finds where the new part of a reply ends.
//!
//! Works on text as mail clients write it and as [`super::html_to_text`]
//! renders HTML (blockquotes become `>` lines). Cut points, the first one
//! from the top wins:
//! - a "reply above this line" marker (ours, quoted or not, or a peer
//!   helpdesk's);
//! - an "original message" separator line (`-----Original Message-----`,
//!   `-----Ursprüngliche Nachricht-----`, ...);
//! - a rule line (`________________________________`, `-----`, `───`)
//!   directly followed by a `From:` header line in any of the common
//!   languages (Outlook, OWA);
//! - a `From:` / `Sent:` header block after a blank line (Outlook without
//!   the rule; `Von:`/`Gesendet:`, `De :`/`Envoyé :`, ...);
//! - an attribution line (`On ... wrote:`, `Am ... schrieb ...:`,
//!   `Le ... a écrit :`, `El ... escribió:`, ..., also wrapped over two or
//!   three lines) followed only by `>` quoted or blank lines, or, when it
//!   names a date, followed by unquoted history with no `>` line at all.
//!
//! Then a trailing run of `>` quoted lines is dropped with the attribution
//! line right above it, and so is a mobile signature ("Sent from my
//! iPhone") left at the end. Interleaved answers (quote, answer, quote,
//! answer) are never cut: only quoted lines after the last new line go.
//!
//! A forward is not a reply: what looks like quoted history (Outlook's
//! `From:`/`Sent:` block, Gmail's forwarded header) is the content it
//! brings, so [`new_text`] keeps all of it when the subject marks a
//! forward ([`is_forward_subject`]).

use std::sync::LazyLock;

use regex::Regex;

use crate::notify::compose::REPLY_MARKER;

/// The new part of a reply: `text` without the quoted history, trimmed at
/// the end. Empty when everything was quoted.
pub fn reply_text(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let rest = rest_counts(&lines);
    let cut = (0..lines.len())
        .find(|&i| is_cut_point(&lines, &rest, i))
        .unwrap_or(lines.len());
    let mut kept = &lines[..cut];
    kept = &kept[..trailing_quote_start(kept)];
    kept = without_mobile_signature(kept);
    kept.join("\n").trim_end().to_string()
}

/// What a mail adds to the ticket it is threaded into: for a forward
/// (see [`is_forward_subject`]) its whole text, for anything else the new
/// part of the reply ([`reply_text`]).
pub fn new_text(subject: &str, text: &str) -> String {
    if is_forward_subject(subject) {
        text.trim_end().to_string()
    } else {
        reply_text(text)
    }
}

/// Whether `subject` marks a forward: after any `[tags]`, its first prefix
/// is one mail clients put on forwards: `FW`, `Fwd` (English), `WG`
/// (German), `TR` (French), `RV` (Spanish), `ENC` (Portuguese), `Doorst`
/// (Dutch), `VB` (Swedish), `VL` (Finnish), `PD` (Polish). A reply to a
/// forward (`RE: FW: ...`) is a reply. `VS` and `I` are left out: Finnish
/// writes `VS` on replies, and `I:` is too likely a word.
pub fn is_forward_subject(subject: &str) -> bool {
    FORWARD_SUBJECT.is_match(subject)
}

/// For each position, how many quoted and how many unquoted non-blank
/// lines follow from there (one pass, so long mail stays linear).
fn rest_counts(lines: &[&str]) -> Vec<(usize, usize)> {
    let mut counts = vec![(0, 0); lines.len() + 1];
    for i in (0..lines.len()).rev() {
        let (quoted, unquoted) = counts[i + 1];
        counts[i] = if is_quoted(lines[i]) {
            (quoted + 1, unquoted)
        } else if lines[i].trim().is_empty() {
            (quoted, unquoted)
        } else {
            (quoted, unquoted + 1)
        };
    }
    counts
}

/// Cut points are unquoted lines: quoted history is left to the trailing
/// run, so an answer written below a quote is never lost.
fn is_cut_point(lines: &[&str], rest: &[(usize, usize)], i: usize) -> bool {
    !is_quoted(lines[i])
        && (is_marker(lines[i])
            || ORIGINAL_MESSAGE.is_match(lines[i].trim())
            || (is_rule(lines[i]) && lines.get(i + 1).is_some_and(|l| is_from_label(l)))
            || is_header_block(lines, i)
            || is_attribution_of_history(lines, rest, i))
}

fn is_marker(line: &str) -> bool {
    line.contains(REPLY_MARKER) || REPLY_ABOVE.is_match(line)
}

/// A line drawn with one repeated punctuation character (Outlook's
/// underscores, an `<hr>` rendered as `───`).
fn is_rule(line: &str) -> bool {
    let line = line.trim();
    let mut chars = line.chars();
    let first = chars.next();
    line.chars().count() >= 10
        && first.is_some_and(|c| matches!(c, '_' | '-' | '─' | '━' | '=' | '*'))
        && chars.all(|c| Some(c) == first)
}

fn is_from_label(line: &str) -> bool {
    FROM_LABEL.is_match(line.trim())
}

/// `From:` then `Sent:`/`Date:` within three lines, after a blank or rule
/// line: the header block Outlook puts above the message it quotes.
fn is_header_block(lines: &[&str], i: usize) -> bool {
    i > 0
        && (lines[i - 1].trim().is_empty() || is_rule(lines[i - 1]))
        && is_from_label(lines[i])
        && lines[i + 1..]
            .iter()
            .take(3)
            .any(|l| SENT_LABEL.is_match(l.trim()))
}

/// Number of lines (1 to 3) starting at `i` that form an attribution line.
fn attribution_len(lines: &[&str], i: usize) -> Option<usize> {
    let window = lines.get(i..)?;
    let usable = window
        .iter()
        .take(3)
        .map(|l| l.trim())
        .take_while(|l| !l.is_empty() && !l.starts_with('>'))
        .count();
    // Every attribution ends in a colon: most lines are rejected here,
    // without joining them or running the regex on them.
    if !window[..usable].iter().any(|l| ends_with_colon(l.trim())) {
        return None;
    }
    let mut joined = String::new();
    for (n, line) in window[..usable].iter().enumerate() {
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(line.trim());
        if joined.chars().count() > 400 {
            return None;
        }
        if ends_with_colon(&joined) && ATTRIBUTION.is_match(&joined) {
            return Some(n + 1);
        }
    }
    None
}

fn ends_with_colon(text: &str) -> bool {
    text.ends_with([':', '：'])
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// An attribution whose remaining lines are all history: `>` quoted (with
/// blanks), or, for a dated `On ... wrote:` line, unquoted history as Yahoo
/// and some mobile clients write it.
fn is_attribution_of_history(lines: &[&str], rest: &[(usize, usize)], i: usize) -> bool {
    let Some(len) = attribution_len(lines, i) else {
        return false;
    };
    match rest[i + len] {
        (0, 0) => false,
        (_, 0) => true,
        (0, _) => is_dated_attribution(&lines[i..i + len]),
        _ => false,
    }
}

fn is_dated_attribution(lines: &[&str]) -> bool {
    let joined = lines.join(" ");
    DATED_ATTRIBUTION.is_match(joined.trim()) && joined.chars().any(|c| c.is_ascii_digit())
}

/// Start of the trailing run of quoted and blank lines, including the
/// attribution line right above it (also a verb-less one such as Gmail's
/// Japanese `2026年1月5日(月) 10:00 Bob <bob@x>:`).
fn trailing_quote_start(lines: &[&str]) -> usize {
    let mut start = lines.len();
    while start > 0 && (lines[start - 1].trim().is_empty() || is_quoted(lines[start - 1])) {
        start -= 1;
    }
    if !lines[start..].iter().any(|l| is_quoted(l)) {
        return lines.len();
    }
    for len in 1..=3 {
        let Some(first) = start.checked_sub(len) else {
            break;
        };
        if attribution_len(lines, first) == Some(len) || is_bare_attribution(&lines[first..start]) {
            return first;
        }
    }
    start
}

/// A line ending in a colon that names an address and a date or time.
fn is_bare_attribution(lines: &[&str]) -> bool {
    let [line] = lines else {
        return false;
    };
    let line = line.trim();
    ends_with_colon(line)
        && line.contains('@')
        && line.chars().any(|c| c.is_ascii_digit())
        && line.chars().count() <= 200
}

fn without_mobile_signature<'a, 'b>(lines: &'a [&'b str]) -> &'a [&'b str] {
    let mut end = lines.len();
    while end > 0 && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    match end.checked_sub(1) {
        Some(last) if is_mobile_signature(lines[last]) => &lines[..last],
        _ => lines,
    }
}

fn is_mobile_signature(line: &str) -> bool {
    let line = line.trim();
    line.chars().count() <= 60 && MOBILE_SIGNATURE.is_match(line)
}

fn regex(pattern: &str) -> Regex {
    match Regex::new(pattern) {
        Ok(regex) => regex,
        Err(e) => unreachable!("built-in pattern {pattern:?} is invalid: {e}"),
    }
}

static FORWARD_SUBJECT: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)^\s*(\[[^\]]*\]\s*)*(fwd?|wg|tr|rv|enc|doorst|vb|vl|pd)\s*[:：]"));

// Word boundaries are written `(^|\W)` and `(\W|$)` rather than `\b`:
// a Unicode `\b` on non-ASCII text makes the regex crate leave its fast
// DFA for a backtracker, which fuzzing found taking half a second on a
// 13 KiB mail in a debug build. Only `is_match` is asked of these, so
// consuming the neighbouring character changes nothing.

/// Peer helpdesks' markers ("-- reply above this line --") and ours
/// reworded in a customised template.
static REPLY_ABOVE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)(^|\W)(type your |write your )?reply above this line(\W|$)"));

static ORIGINAL_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    regex(concat!(
        r"(?i)^-{2,}\s*(original message|ursprüngliche nachricht|originalnachricht|",
        r"message d['’]origine|mensaje original|messaggio originale|oorspronkelijk bericht|",
        r"mensagem original|ursprungligt meddelande|originalmeddelande|opprinnelig melding|",
        r"original meddelelse|oprindelig meddelelse|alkuperäinen viesti|oryginalna wiadomość|",
        r"wiadomość oryginalna|původní zpráva|eredeti üzenet|исходное сообщение|",
        r"оригинальное сообщение)\s*-{2,}$",
    ))
});

/// Header labels: optional `*bold*` as some converters write it, then a
/// colon, also after a (no-break) space as in French.
static FROM_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    regex(concat!(
        r"(?i)^\*?(from|von|de|da|van|från|fra|od|от|feladó|kimden|lähettäjä|",
        r"差出人|发件人|寄件者|보낸 사람)\*?\s*[:：]",
    ))
});

static SENT_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    regex(concat!(
        r"(?i)^\*?(sent|date|gesendet|datum|envoyé|enviado|enviada|fecha|inviato|data|",
        r"verzonden|skickat|sendt|dato|wysłano|odesláno|datum odeslání|отправлено|дата|",
        r"elküldve|dátum|gönderildi|tarih|lähetetty|päivämäärä|送信日時|日付|发送时间|",
        r"日期|發送時間|보낸 날짜)\*?\s*[:：]",
    ))
});

/// `... wrote:` in the languages mail clients localise it to; in some the
/// name follows the verb (`schrieb Support:`).
static ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    regex(concat!(
        r"(?i)(((^|\W)(wrote|schrieb|a écrit|escribió|ha scritto|schreef|escreveu|skrev|",
        r"napisał\(a\)|napisała|napisał|napsal\(a\)|napsal|kirjoitti|írta|yazdı|",
        r"написал\(а\)|написала|написал))|写道|寫道)[^:：]*[:：]$",
    ))
});

/// An attribution that opens like the clients' own (`On`, `Am`, `Le`, ...),
/// trusted even when the history below it is not `>` quoted.
static DATED_ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    regex(concat!(
        r"(?i)^(on|am|le|el|il giorno|il|op|em|den|w dniu|dne)\s(.*\W)?",
        r"(wrote|schrieb|a écrit|escribió|ha scritto|schreef|escreveu|",
        r"skrev|napisał\(a\)|napsal\(a\))[^:：]*[:：]$",
    ))
});

/// The one-line signatures mobile mail apps add.
static MOBILE_SIGNATURE: LazyLock<Regex> = LazyLock::new(|| {
    regex(concat!(
        r"(?i)^(sent from my [\w\- ]+|sent from (mail|outlook|yahoo mail) for [\w ]+|",
        r"sent from yahoo mail( on android| for iphone)?|get outlook for (ios|android)(\s*<[^>]*>)?|",
        r"von meinem [\w\- ]+ gesendet|envoyé de mon [\w\- ]+|",
        r"enviado desde mi [\w\- ]+|inviato da [\w\- ]+|verzonden met mijn [\w\- ]+|",
        r"enviado do meu [\w\- ]+|skickat från min [\w\- ]+)\.?$",
    ))
});

#[cfg(test)]
mod tests;

//! Reply text: the part of a reply that is new, without the quoted
//! history mail clients append. Used for comments on existing tickets, so
//! a relayed staff reply carries what staff wrote, not the notification
//! they answered. The full original is always kept in the raw message.
//!
//! Cut points, first match wins:
//! - our own "reply above this line" marker, quoted or not;
//! - a top-posting separator: `-----Original Message-----`, Outlook's
//!   `________________________________` line followed by a `From:` line, or
//!   a `From:` / `Sent:` header block as Outlook writes it;
//! - an attribution line (`On ... wrote:`, also split over two lines)
//!   followed only by `>` quoted or blank lines;
//! - otherwise a trailing run of `>` quoted lines.
//!
//! Interleaved answers (quote, answer, quote) are kept whole.

use crate::notify::compose::REPLY_MARKER;

/// The new part of a reply.
pub fn reply_text(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let end = (0..lines.len())
        .find(|&i| is_separator(&lines, i) || is_attribution_of_trailing_quote(&lines, i))
        .unwrap_or_else(|| trailing_quote_start(&lines));
    let kept = lines[..end].join("\n");
    let kept = kept.trim_end();
    if kept.trim().is_empty() {
        String::new()
    } else {
        kept.to_string()
    }
}

fn is_separator(lines: &[&str], i: usize) -> bool {
    let line = lines[i].trim();
    let next = lines.get(i + 1).map(|l| l.trim()).unwrap_or("");
    line.contains(REPLY_MARKER)
        || line.trim_start_matches('>').trim().contains(REPLY_MARKER)
        || line.eq_ignore_ascii_case("-----Original Message-----")
        || (line.starts_with("________________________________") && next.starts_with("From:"))
        || (line.starts_with("From:")
            && (next.starts_with("Sent:") || next.starts_with("Date:"))
            && i > 0
            && lines[i - 1].trim().is_empty())
}

fn is_attribution_of_trailing_quote(lines: &[&str], i: usize) -> bool {
    let line = lines[i].trim();
    let joined = match lines.get(i + 1) {
        Some(next) if !line.ends_with(':') => format!("{line} {}", next.trim()),
        _ => line.to_string(),
    };
    let is_attribution =
        (line.starts_with("On ") || line.starts_with("Am ") || line.starts_with("Le "))
            && joined.ends_with(':')
            && ["wrote", "schrieb", "écrit"]
                .iter()
                .any(|w| joined.contains(w));
    if !is_attribution {
        return false;
    }
    let rest_start = if line.ends_with(':') { i + 1 } else { i + 2 };
    let rest = lines.get(rest_start..).unwrap_or_default();
    rest.iter().any(|l| l.trim_start().starts_with('>'))
        && rest
            .iter()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('>'))
}

fn trailing_quote_start(lines: &[&str]) -> usize {
    let mut start = lines.len();
    while start > 0 {
        let line = lines[start - 1].trim();
        if line.is_empty() || line.starts_with('>') {
            start -= 1;
        } else {
            break;
        }
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_text_cases() {
        let marker = REPLY_MARKER;
        let cases: Vec<(&str, String, &str)> = vec![
            ("plain text stays", "Hello\nthere".into(), "Hello\nthere"),
            ("gmail attribution", "Thanks!\n\nOn Mon, 1 Jan 2026 at 10:00, Support <s@x> wrote:\n> old\n> older".into(), "Thanks!"),
            ("attribution split over two lines", "Fixed.\n\nOn Mon, 1 Jan 2026 at 10:00, Support\n<support@example.test> wrote:\n> old".into(), "Fixed."),
            ("our marker quoted", format!("Done.\n\n> {marker}\n> Hello"), "Done."),
            ("our marker bare (outlook top-post)", format!("Done.\n{marker}\nHello"), "Done."),
            ("outlook original message", "Yes.\n\n-----Original Message-----\nFrom: a\nold".into(), "Yes."),
            ("outlook underscore block", "Yes.\n\n________________________________\nFrom: Support\nSent: Monday\nold".into(), "Yes."),
            ("outlook header block", "Yes.\n\nFrom: Support <s@x>\nSent: Monday\nTo: me\nold".into(), "Yes."),
            ("german attribution", "Danke.\n\nAm 01.01.2026 um 10:00 schrieb Support:\n> alt".into(), "Danke."),
            ("trailing quote without attribution", "Ok\n> quoted\n>\n".into(), "Ok"),
            ("interleaved answers are kept", "On Mon, X wrote:\n> question 1\nanswer 1\n> question 2\nanswer 2".into(), "On Mon, X wrote:\n> question 1\nanswer 1\n> question 2\nanswer 2"),
            ("only a quote leaves nothing", "On Mon, X wrote:\n> hi".into(), ""),
            ("a From: line in prose is kept", "From: the start it failed.\nSent: twice".into(), "From: the start it failed.\nSent: twice"),
        ];
        for (name, input, expected) in cases {
            assert_eq!(reply_text(&input), expected, "case: {name}");
        }
    }
}

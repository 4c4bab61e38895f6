//! Text and HTML bodies: HTML-only mail read as text and stored
//! sanitized, multipart/alternative, the fallback for multiparts without
//! a usable boundary, and base64 parts with corrupt lines.

use super::*;

#[test]
fn html_only_mail_gets_a_readable_text_body() {
    let raw = b"From: a@b.test\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<html><head><style>p { color: red }</style></head><body>\
<p>Hello <b>World</b></p><p>Fish &amp; chips</p></body></html>\r\n";
    let mail = parsed(raw);
    assert!(mail.text.contains("Hello World"), "{:?}", mail.text);
    assert!(mail.text.contains("Fish & chips"), "{:?}", mail.text);
    assert!(!mail.text.contains('<'), "tags left in {:?}", mail.text);
    assert!(
        !mail.text.contains("&amp;"),
        "entity left in {:?}",
        mail.text
    );
    let html = mail.html.as_deref().unwrap_or_default();
    assert!(html.contains("<b>World</b>"), "{html:?}");
    assert_eq!(mail.content_type, "text/html");
}

#[test]
fn multipart_alternative_uses_the_text_part() {
    let mail = parsed(ALTERNATIVE);
    assert_eq!(mail.text, "Plain version");
    assert_eq!(mail.html.as_deref(), Some("<p>HTML <i>version</i></p>"));
    assert_eq!(mail.content_type, "multipart/alternative");
    assert!(mail.attachments.is_empty());
}

#[test]
fn plain_text_mail_has_no_html() {
    let mail = parsed(b"From: a@b.test\r\n\r\nJust <text>, not HTML\r\n");
    assert_eq!(mail.html, None);
    assert_eq!(mail.text, "Just <text>, not HTML");
}

const HTML_ONLY_HOSTILE: &[u8] = b"From: a@b.test\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n\
<html><head><script>steal()</script></head><body onload=\"steal()\">\
<p>Hello, the <a href=\"https://status.example.test/\">status page</a> is down.</p>\
<img src=\"https://tracker.example.test/open.gif\" alt=\"\">\
<p>&lt;script&gt;alert(1)&lt;/script&gt; is what it shows.</p></body></html>\r\n";

#[test]
fn html_only_mail_is_stored_sanitized_and_read_as_text() {
    let mail = parsed(HTML_ONLY_HOSTILE);
    let html = mail.html.as_deref().unwrap_or_default();
    assert!(html.contains("status page</a>"), "{html}");
    for gone in ["steal", "<script", "onload", "tracker.example.test"] {
        assert!(!html.contains(gone), "{gone} survived: {html}");
    }
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "text that merely shows a tag stays escaped: {html}"
    );
    assert_eq!(
        mail.text,
        "Hello, the status page <https://status.example.test/> is down.\n\n\
         <script>alert(1)</script> is what it shows."
    );
}

#[test]
fn an_empty_text_part_falls_back_to_the_html_part() {
    let raw = b"From: a@b.test\r\n\
Content-Type: multipart/alternative; boundary=\"ALT\"\r\n\r\n\
--ALT\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\n\
\r\n\
--ALT\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n\
<ul><li>first</li><li>second</li></ul>\r\n\
--ALT--\r\n";
    assert_eq!(parsed(raw).text, "- first\n- second");
}

#[test]
fn a_multipart_without_a_usable_boundary_is_read_from_its_raw_body() {
    let table: Vec<(&str, &[u8], &str)> = vec![
        (
            "no boundary parameter",
            b"From: a@b.test\nContent-Type: multipart/mixed\n\n\
--whatever\nContent-Type: text/plain\n\nText nobody declared a boundary for.\n--whatever--\n",
            "Text nobody declared a boundary for.",
        ),
        (
            "a declared boundary that never appears, CRLF",
            b"From: a@b.test\r\nContent-Type: multipart/alternative; boundary=\"declared\"\r\n\r\n\
This is a multi-part message in MIME format.\r\n\
--actual\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe aus K=F6ln\r\n\
--actual\r\nContent-Type: text/html\r\n\r\n<p>Gr&uuml;&szlig;e</p>\r\n--actual--\r\nepilogue\r\n",
            "Grüße aus Köln\n\nGrüße",
        ),
        (
            "a piece without part headers, another with an attachment",
            b"From: a@b.test\nContent-Type: multipart/mixed\n\n\
--b1\n\nplain text piece\n--b1\nContent-Type: application/pdf\n\
Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b1--\n",
            "plain text piece",
        ),
        (
            "no delimiter lines at all, undeclared 8-bit",
            b"From: a@b.test\nContent-Type: multipart/mixed\n\nJust text, Gr\xfc\xdfe.\n",
            "Just text, Grüße.",
        ),
        (
            "a separator line is not a delimiter",
            b"From: a@b.test\nContent-Type: multipart/mixed\n\nNew text on top.\n\n\
-----Original Message-----\nFrom: b@c.test\nold text\n",
            "New text on top.\n\n-----Original Message-----\nFrom: b@c.test\nold text",
        ),
        (
            "a short rule line is not a delimiter",
            b"From: a@b.test\nContent-Type: multipart/mixed\n\nText\n---\n\nMore text\n",
            "Text\n---\n\nMore text",
        ),
    ];
    for (what, raw, text) in table {
        assert_eq!(parsed(raw).text, text, "{what}");
    }
}

/// The fallback is only for what mail-parser could not split, and only
/// for text: a multipart with attachments only keeps an empty text, split
/// or not (no base64 in the comment).
#[test]
fn a_multipart_without_text_gets_no_fallback_text() {
    let raw = b"From: a@b.test\nContent-Type: multipart/mixed; boundary=\"b\"\n\n\
--b\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b--\n";
    let mail = parsed(raw);
    assert_eq!(mail.text, "");
    assert_eq!(mail.attachments.len(), 1);
    let unsplit = String::from_utf8_lossy(raw).replace("; boundary=\"b\"", "");
    assert_eq!(parsed(unsplit.as_bytes()).text, "");
}

#[test]
fn base64_with_bad_lines_decodes_the_good_ones() {
    let part = |headers: &str, body: &str| {
        format!(
            "From: a@b.test\nMIME-Version: 1.0\n{headers}Content-Transfer-Encoding: base64\n\n{body}"
        )
    };
    let table: Vec<(&str, String, &str)> = vec![
        (
            "an invalid line between two valid ones",
            part(
                "Content-Type: text/plain; charset=utf-8\n",
                "SGVsbG8sIHRoaXMgaXMgdmFsaWQgYmFzZTY0Lg==\n!!!! this line is not base64 at all ****\nV2l0aCBhIHZhbGlkIGxpbmUgYWZ0ZXIu\n",
            ),
            "Hello, this is valid base64.With a valid line after.",
        ),
        (
            "a padded run, a bad line, the next run; a declared legacy charset, CRLF",
            part(
                "Content-Type: text/plain; charset=iso-8859-1\n",
                "R3L832UgYXVzIEv2bG4sIA==\r\n%%%\r\nc2No9m5lIEdy/N9lIHp1cvxjaw==\r\n",
            ),
            "Grüße aus Köln, schöne Grüße zurück",
        ),
        (
            "lines wrapped off the four-letter grid, undeclared charset",
            part(
                "",
                "R3LDvMOfZSBhdXMgS8\nO2bG4gdW5kIHNjaMO2b\n@@@\nmUgR3LDvMOfZQ==\n",
            ),
            "Grüße aus Köln und schöne Grüße",
        ),
        (
            "a dangling last letter",
            part(
                "Content-Type: text/plain\n",
                "SGVsbG8gdGhlcmUsIGZyaWVuZA==\n*\nISEh\nI\n",
            ),
            "Hello there, friend!!!",
        ),
    ];
    for (what, raw, text) in table {
        let mail = parsed(raw.as_bytes());
        assert_eq!(mail.text, text, "{what}");
        assert!(mail.encoding_problem, "{what}: the problem stays flagged");
    }
}

/// A part labelled base64 that is mostly plain text keeps mail-parser's
/// reading (the text as sent); valid base64 is decoded as before.
#[test]
fn lenient_base64_leaves_mislabelled_and_valid_parts_alone() {
    for text in [
        "Hello, this was never base64.\nSecond line!\nOK",
        "Hi,\nThanks\nBob",
        "Hi,\nunderstandable",
    ] {
        let raw = format!("From: a@b.test\nContent-Transfer-Encoding: base64\n\n{text}\n");
        let mail = parsed(raw.as_bytes());
        assert_eq!(mail.text, text);
        assert!(mail.encoding_problem, "{text}");
    }
    let valid = b"From: a@b.test\nContent-Transfer-Encoding: base64\n\nSGVsbG8=\n";
    let mail = parsed(valid);
    assert_eq!(mail.text, "Hello");
    assert!(!mail.encoding_problem);
}

#[test]
fn an_html_part_with_bad_base64_is_read_from_its_good_lines() {
    let raw = b"From: a@b.test\nContent-Type: text/html; charset=utf-8\n\
Content-Transfer-Encoding: base64\n\nPHA+SGVsbG8gPGI+dGhlcmU8L2I+PC9wPg==\n#broken#\n";
    let mail = parsed(raw);
    assert_eq!(mail.text, "Hello there");
    assert_eq!(mail.html.as_deref(), Some("<p>Hello <b>there</b></p>"));
}

/// In a multipart/mixed mail-parser files a text part it cannot decode as
/// an attachment; it is the body all the same, and is not listed twice.
#[test]
fn a_bad_base64_text_part_filed_as_an_attachment_is_the_body() {
    let raw = b"From: a@b.test\nContent-Type: multipart/mixed; boundary=\"b\"\n\n\
--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n\
SGVsbG8sIHRoaXMgaXMgdmFsaWQgYmFzZTY0Lg==\n!!!! not base64 ****\n\
--b\nContent-Type: text/plain; name=\"notes.txt\"\nContent-Disposition: attachment; filename=\"notes.txt\"\n\
Content-Transfer-Encoding: base64\n\nbm90ZXM=\n--b--\n";
    let mail = parsed(raw);
    assert_eq!(mail.text, "Hello, this is valid base64.");
    let names: Vec<&str> = mail.attachments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["notes.txt"]);
}

/// A broken part that is an attachment by its disposition stays one.
#[test]
fn a_bad_base64_attachment_stays_an_attachment() {
    let raw = b"From: a@b.test\nContent-Type: multipart/mixed; boundary=\"b\"\n\n\
--b\nContent-Type: text/plain\n\nSee the file.\n\
--b\nContent-Type: text/plain\nContent-Disposition: attachment; filename=\"log.txt\"\n\
Content-Transfer-Encoding: base64\n\nbG9n\n!!\n--b--\n";
    let mail = parsed(raw);
    assert_eq!(mail.text, "See the file.");
    let names: Vec<&str> = mail.attachments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["log.txt"]);
}

//! Robustness on missing, truncated or non-mail input: what is refused as
//! not a mail and why, what sparse or old-fashioned mail still passes,
//! header blocks cut off mid-line, and truncated mail never panicking.

use super::*;

#[test]
fn input_without_a_header_block_is_rejected() {
    let table: [&[u8]; 5] = [
        b"",
        b"\r\n\r\njust body",
        b"\n\njust body",
        b"   \r\n",
        b"\r\n",
    ];
    for raw in table {
        assert_eq!(
            parse(raw).err(),
            Some(ParseError::NoHeaders),
            "{:?}",
            String::from_utf8_lossy(raw)
        );
    }
}

#[test]
fn header_only_input_parses_with_an_empty_body() {
    let mail = parsed(b"From: a@b.test\r\nSubject: hi\r\n\r\n");
    assert_eq!(mail.from.as_deref(), Some("a@b.test"));
    assert_eq!(mail.subject, "hi");
    assert_eq!(mail.text, "");
}

#[test]
fn truncated_messages_never_panic() {
    for raw in [WITH_ATTACHMENTS, DSN, ALTERNATIVE, ADDRESSED] {
        for len in (0..=raw.len()).step_by(7) {
            let prefix = &raw[..len];
            if let Ok(mail) = parse(prefix) {
                for attachment in &mail.attachments {
                    let _ = attachment_bytes(prefix, attachment.part);
                }
                let _ = fingerprint(Some(&mail), prefix);
            }
        }
        assert!(parse(&raw[..0]).is_err());
        assert!(parse(raw).is_ok());
    }
}

/// Bytes no mail is made of: every byte value in turn, colons and NULs
/// included, the way binary-garbage.eml in the corpus is built.
fn binary_garbage() -> Vec<u8> {
    (0..1200u32).map(|n| ((n * 37 + 11) % 256) as u8).collect()
}

#[test]
fn input_that_is_not_plausibly_a_mail_is_rejected_with_the_rule() {
    let mut controls_after_a_good_start = b"From: a@b.test\r\nX-Junk: ".to_vec();
    controls_after_a_good_start.extend([0u8, 1, 2, 3, 4, 5, 6, 7, 8].repeat(4));
    controls_after_a_good_start.extend(b"\r\n\r\nbody\r\n");
    let garbage = binary_garbage();
    let table: Vec<(&str, &[u8], ParseError)> = vec![
        ("binary garbage", &garbage, ParseError::NotAHeaderField),
        (
            "text before the first field",
            b"Hello support,\nFrom: a@b.test\n\nbody\n",
            ParseError::NotAHeaderField,
        ),
        (
            "8-bit bytes in the first field name",
            b"Fr\xf6m: a@b.test\nSubject: x\n\nbody\n",
            ParseError::NotAHeaderField,
        ),
        (
            "a continuation line first",
            b" From: a@b.test\nSubject: x\n\nbody\n",
            ParseError::NotAHeaderField,
        ),
        (
            "an extension field only",
            b"X-Note: nothing else\r\n\r\nbody\r\n",
            ParseError::NoMailFields,
        ),
        (
            "a MIME part on its own",
            b"Content-Type: text/plain\nContent-Transfer-Encoding: 7bit\n\nbody\n",
            ParseError::NoMailFields,
        ),
        (
            "a mail field only after the header block",
            b"X-Note: x\n\nFrom: a@b.test\n",
            ParseError::NoMailFields,
        ),
        (
            "control bytes all over the header block",
            &controls_after_a_good_start,
            ParseError::Binary { percent: 58 },
        ),
        (
            "blank first line",
            b"   \nFrom: a@b.test\n",
            ParseError::NoHeaders,
        ),
    ];
    for (what, raw, error) in table {
        assert_eq!(parse(raw).err(), Some(error), "{what}");
    }
}

#[test]
fn rejections_explain_themselves_for_the_quarantine_reason() {
    let reason = |raw: &[u8]| parse(raw).err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(
        reason(&binary_garbage()),
        "not a mail: the first line is not a header field (Name: value)"
    );
    assert!(reason(b"X-Note: x\n\nbody").contains("no From, Sender, To"));
    assert!(reason(b"Subject: \x01\x02\x03\x04\n\n").contains("binary (28% control bytes)"));
}

/// Real mail can be sparse or old-fashioned and still be mail.
#[test]
fn sparse_and_old_fashioned_mail_is_still_mail() {
    let table: Vec<(&str, &[u8])> = vec![
        ("a bare subject", b"Subject: x\n\nbody"),
        ("only From, no body", b"From: a@b.test"),
        ("only From, CRLF", b"From: a@b.test\r\n\r\n"),
        (
            "a trace field only",
            b"Received: by mx.test; Mon, 2 Mar 2026 13:00:00 +0100\n\nx\n",
        ),
        ("upper-case name", b"SUBJECT: shouting\n\nbody\n"),
        (
            "obsolete blank before the colon",
            b"Subject : old\n\nbody\n",
        ),
        ("Resent- field", b"Resent-From: a@b.test\n\nbody\n"),
        (
            "mbox From_ line first",
            b"From a@b.test Mon Mar  2 13:00:00 2026\nFrom: a@b.test\n\nbody\n",
        ),
        ("raw Latin-1 subject", b"Subject: Gr\xfc\xdfe\n\nbody\n"),
        (
            "raw Shift_JIS subject",
            b"Subject: \x93\xfa\x96\x7b\x8c\xea\x82\xcc\x8c\x8f\n\nx\n",
        ),
        (
            "raw ISO-2022-JP subject (escape bytes)",
            b"Subject: \x1b$BF|K\\8l\x1b(B\n\nx\n",
        ),
        (
            "a NUL or two in a long header block",
            b"From: a@b.test\nTo: support@example.test\nSubject: a\0b\n\nbody\n",
        ),
        (
            "binary body",
            b"From: a@b.test\n\n\0\0\0\x01\x02\x03\xff\xfe\0\0\0\0\0",
        ),
    ];
    for (what, raw) in table {
        assert!(parse(raw).is_ok(), "{what}: {:?}", parse(raw).err());
    }
}

#[test]
fn a_header_block_cut_off_keeps_its_last_header() {
    for (raw, subject) in [
        (
            &b"From: a@b.test\nSubject: Connection lost while sen"[..],
            "Connection lost while sen",
        ),
        (b"From: a@b.test\r\nSubject: cut after CR\r", "cut after CR"),
        (b"From: a@b.test\r\nSubject: CRLF mail", "CRLF mail"),
        (
            b"From: a@b.test\nSubject: folded\n and cut",
            "folded and cut",
        ),
        (b"Subject: only this", "only this"),
    ] {
        assert_eq!(
            parsed(raw).subject,
            subject,
            "{:?}",
            String::from_utf8_lossy(raw)
        );
    }
    let cut_in_from: &[u8] = b"Subject: s\nFrom: Broken <a@b.te";
    assert_eq!(parsed(cut_in_from).from_name.as_deref(), Some("Broken"));
}

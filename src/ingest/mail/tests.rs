//! Tests for inbound mail parsing: raw RFC 5322 bytes in, [`InboundMail`]
//! out. Covers addresses, ids, encoded subjects and bodies (RFC 2047 also
//! broken or split, quoted-printable, base64, ISO-2022-JP, Shift_JIS,
//! windows-125x, undeclared or mislabelled 8-bit text), HTML and multipart
//! bodies (sanitized HTML, HTML read as text), attachments and their file
//! names (RFC 2231, RFC 2047, attached mail, winmail.dat, hostile names),
//! DSN detection, fingerprints, and robustness on missing or truncated
//! input: what is refused as not a mail (and what sparse mail still
//! passes), a header block cut off mid-line, base64 with corrupt lines,
//! and multiparts without a usable boundary.

use super::*;

fn parsed(raw: &[u8]) -> InboundMail {
    match parse(raw) {
        Ok(mail) => mail,
        Err(e) => panic!(
            "expected {:?} to parse, got {e}",
            String::from_utf8_lossy(raw)
        ),
    }
}

const ADDRESSED: &[u8] = b"From: \"Bob Builder\" <Bob@Example.TEST>\r\n\
To: Alice <Alice@Customer.TEST>, support@EXAMPLE.test\r\n\
Cc: Carol <CAROL@cc.test>, dave@CC.test\r\n\
Message-ID: <AbC.123@Mail.Example.TEST>\r\n\
In-Reply-To: <t7.abc.1@example.test>\r\n\
References: <root@x.test>\r\n <middle@x.test>\r\n\t<t7.abc.1@example.test>\r\n\
Subject:   Folded\r\n  subject line  \r\n\
Delivered-To: Support@Example.test\r\n\
X-Original-To: <help@example.test>\r\n\
Delivered-To: not-an-address\r\n\
\r\n\
Hello there.\r\n\
\r\n";

#[test]
fn addresses_are_normalized_lower_case() {
    let mail = parsed(ADDRESSED);
    assert_eq!(mail.from.as_deref(), Some("bob@example.test"));
    assert_eq!(mail.from_name.as_deref(), Some("Bob Builder"));
    assert_eq!(mail.to, ["alice@customer.test", "support@example.test"]);
    assert_eq!(mail.cc, ["carol@cc.test", "dave@cc.test"]);
}

#[test]
fn message_ids_lose_their_brackets() {
    let mail = parsed(ADDRESSED);
    assert_eq!(
        mail.message_id.as_deref(),
        Some("AbC.123@Mail.Example.TEST")
    );
    assert_eq!(mail.in_reply_to, ["t7.abc.1@example.test"]);
    assert_eq!(
        mail.references,
        ["root@x.test", "middle@x.test", "t7.abc.1@example.test"]
    );
}

#[test]
fn referenced_ids_list_in_reply_to_then_newest_reference_first() {
    let mail = parsed(ADDRESSED);
    let ids: Vec<&str> = mail.referenced_ids().collect();
    assert_eq!(
        ids,
        [
            "t7.abc.1@example.test",
            "t7.abc.1@example.test",
            "middle@x.test",
            "root@x.test"
        ]
    );
}

#[test]
fn delivered_to_collects_envelope_headers_that_are_addresses() {
    let mail = parsed(ADDRESSED);
    assert_eq!(
        mail.delivered_to,
        ["support@example.test", "help@example.test"]
    );
    let all: Vec<&str> = mail.all_recipients().collect();
    assert_eq!(
        all,
        [
            "alice@customer.test",
            "support@example.test",
            "carol@cc.test",
            "dave@cc.test",
            "support@example.test",
            "help@example.test",
        ]
    );
}

#[test]
fn headers_are_lower_case_unfolded_and_trimmed() {
    let mail = parsed(ADDRESSED);
    assert_eq!(mail.header("subject"), Some("Folded subject line"));
    assert_eq!(mail.header("SUBJECT"), Some("Folded subject line"));
    assert_eq!(
        mail.header("references"),
        Some("<root@x.test> <middle@x.test> <t7.abc.1@example.test>")
    );
    assert!(mail.has_header("x-original-to"));
    assert!(!mail.has_header("x-autoreply"));
    // Repeated headers are all kept, in order; header() returns the first.
    let delivered: Vec<&str> = mail
        .headers
        .iter()
        .filter(|(n, _)| n == "delivered-to")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(delivered, ["Support@Example.test", "not-an-address"]);
    assert_eq!(mail.header("delivered-to"), Some("Support@Example.test"));
    assert!(
        mail.headers
            .iter()
            .all(|(n, _)| *n == n.to_ascii_lowercase())
    );
    assert_eq!(mail.subject, "Folded subject line");
    assert_eq!(mail.text, "Hello there.");
    assert_eq!(mail.content_type, "text/plain");
    assert_eq!(mail.html, None);
    assert!(mail.attachments.is_empty());
    assert!(!mail.encoding_problem);
}

#[test]
fn missing_fields_stay_empty() {
    // A trace field is the only mail field (see `plausible`) it has.
    let mail =
        parsed(b"Received: by mx.example.test; Mon, 2 Mar 2026 13:00:00 +0100\r\n\r\nbody\r\n");
    assert_eq!(mail.message_id, None);
    assert_eq!(mail.from, None);
    assert_eq!(mail.from_name, None);
    assert!(mail.to.is_empty() && mail.cc.is_empty() && mail.delivered_to.is_empty());
    assert!(mail.in_reply_to.is_empty() && mail.references.is_empty());
    assert_eq!(mail.subject, "");
    assert_eq!(mail.content_type, "text/plain");
    assert_eq!(mail.report_type, None);
    assert!(!mail.has_delivery_status);
    assert_eq!(mail.text, "body");
}

#[test]
fn group_syntax_without_members_gives_no_recipients() {
    let mail = parsed(b"From: a@b.test\r\nTo: undisclosed-recipients:;\r\n\r\nx\r\n");
    assert!(mail.to.is_empty(), "{:?}", mail.to);
}

#[test]
fn encoded_subjects_are_decoded() {
    let table: [(&str, &[u8], &str); 4] = [
        (
            "UTF-8 B",
            b"Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n\r\nx\r\n",
            "Grüße aus Köln",
        ),
        (
            "ISO-8859-1 Q",
            b"Subject: =?ISO-8859-1?Q?Caf=E9_cr=E8me?=\r\n\r\nx\r\n",
            "Café crème",
        ),
        (
            "mixed plain and encoded words",
            b"Subject: Re: =?utf-8?q?Gr=C3=B6=C3=9Fe?= [#12]\r\n\r\nx\r\n",
            "Re: Größe [#12]",
        ),
        (
            "adjacent encoded words join without space",
            b"Subject: =?UTF-8?B?R3LDtsOfZSA=?=\r\n =?UTF-8?B?4piD?=\r\n\r\nx\r\n",
            "Größe ☃",
        ),
    ];
    for (name, raw, expected) in table {
        assert_eq!(parsed(raw).subject, expected, "{name}");
    }
}

#[test]
fn quoted_printable_latin1_body_is_decoded() {
    let raw = b"From: a@b.test\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Sch=F6ne Gr=FC=DFe, soft=\r\n\
break and =3D sign\r\n";
    let mail = parsed(raw);
    assert_eq!(mail.text, "Schöne Grüße, softbreak and = sign");
    assert!(!mail.encoding_problem);
}

#[test]
fn iso_2022_jp_body_is_decoded() {
    // "こんにちは" in ISO-2022-JP: ESC $ B, JIS X 0208 pairs, ESC ( B.
    let raw = b"From: a@b.test\r\n\
Content-Type: text/plain; charset=ISO-2022-JP\r\n\
Content-Transfer-Encoding: 7bit\r\n\
\r\n\
\x1b$B$3$s$K$A$O\x1b(B world\r\n";
    assert_eq!(parsed(raw).text, "こんにちは world");
}

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

const ALTERNATIVE: &[u8] = b"From: a@b.test\r\n\
Subject: alt\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"ALT\"\r\n\
\r\n\
--ALT\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Plain version\r\n\
--ALT\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<p>HTML <i>version</i></p>\r\n\
--ALT--\r\n";

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

const WITH_ATTACHMENTS: &[u8] = b"From: a@b.test\r\n\
Subject: files\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"MIX\"\r\n\
\r\n\
--MIX\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
See attached.\r\n\
--MIX\r\n\
Content-Type: Application/PDF; name=\"report.pdf\"\r\n\
Content-Disposition: attachment; filename=\"report.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQKAAEC/yBiaW5hcnk=\r\n\
--MIX\r\n\
Content-Type: text/plain\r\n\
Content-Disposition: attachment; filename=\"../../etc/passwd\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
cm9vdDp4OjA6MAo=\r\n\
--MIX\r\n\
Content-Type: application/octet-stream\r\n\
Content-Disposition: attachment\r\n\
\r\n\
raw\r\n\
--MIX\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Disposition: attachment; filename*=UTF-8''na%C3%AFve.txt\r\n\
\r\n\
hi\r\n\
--MIX--\r\n";

#[test]
fn attachment_metadata_and_bytes() {
    let mail = parsed(WITH_ATTACHMENTS);
    assert_eq!(mail.text, "See attached.");
    let summary: Vec<(&str, &str, u64)> = mail
        .attachments
        .iter()
        .map(|a| (a.name.as_str(), a.content_type.as_str(), a.size))
        .collect();
    assert_eq!(
        summary,
        [
            ("report.pdf", "application/pdf", 20),
            ("passwd", "text/plain", 11),
            ("attachment-3", "application/octet-stream", 3),
            ("naïve.txt", "text/plain", 2),
        ]
    );
    let parts: Vec<u32> = mail.attachments.iter().map(|a| a.part).collect();
    assert_eq!(parts, [2, 3, 4, 5], "part 0 is the multipart, 1 the text");

    let expected: [&[u8]; 4] = [
        b"%PDF-1.4\n\x00\x01\x02\xff binary",
        b"root:x:0:0\n",
        b"raw",
        b"hi",
    ];
    for (attachment, bytes) in mail.attachments.iter().zip(expected) {
        let got = attachment_bytes(WITH_ATTACHMENTS, attachment.part);
        assert_eq!(got.as_deref(), Some(bytes), "{}", attachment.name);
        assert_eq!(attachment.size, bytes.len() as u64, "{}", attachment.name);
    }
}

#[test]
fn attachment_bytes_of_missing_part_or_garbage_is_none() {
    assert_eq!(attachment_bytes(WITH_ATTACHMENTS, 99), None);
    assert_eq!(attachment_bytes(b"", 1), None);
}

#[test]
fn sanitize_file_name_table() {
    let long = "a".repeat(200);
    let long_multibyte = "é".repeat(130);
    let long_with_extension = format!("{}.pdf", "a".repeat(300));
    let long_cjk = format!("{}.txt", "日".repeat(200));
    let table: Vec<(&str, Option<&str>, usize, String)> = vec![
        ("plain", Some("report.pdf"), 0, "report.pdf".into()),
        (
            "unix traversal",
            Some("../../etc/passwd"),
            0,
            "passwd".into(),
        ),
        (
            "windows traversal",
            Some("..\\..\\boot.ini"),
            0,
            "boot.ini".into(),
        ),
        ("absolute path", Some("/tmp/x/y.txt"), 0, "y.txt".into()),
        ("mixed separators", Some("a\\b/c.txt"), 0, "c.txt".into()),
        (
            "control characters",
            Some("in\u{0}vo\nice\t.pdf"),
            0,
            "invoice.pdf".into(),
        ),
        (
            "escape and DEL",
            Some("a\u{1b}[31mb\u{7f}.txt"),
            0,
            "a[31mb.txt".into(),
        ),
        ("leading dots", Some("...hidden"), 0, "hidden".into()),
        ("dot file", Some(".htaccess"), 0, "htaccess".into()),
        (
            "surrounding spaces",
            Some("  name.txt  "),
            0,
            "name.txt".into(),
        ),
        ("space then dot", Some(" .bashrc"), 0, "bashrc".into()),
        (
            "reserved characters",
            Some("a<b>:c\"d|e?f*.txt"),
            0,
            "a_b__c_d_e_f_.txt".into(),
        ),
        (
            "unicode kept",
            Some("Grüße 日本.txt"),
            0,
            "Grüße 日本.txt".into(),
        ),
        ("none", None, 0, "attachment-1".into()),
        ("none, third attachment", None, 2, "attachment-3".into()),
        ("empty", Some(""), 4, "attachment-5".into()),
        ("only dots", Some(".."), 0, "attachment-1".into()),
        ("only spaces", Some("   "), 1, "attachment-2".into()),
        ("trailing separator", Some("dir/"), 0, "attachment-1".into()),
        (
            "only control chars",
            Some("\u{1}\u{2}"),
            0,
            "attachment-1".into(),
        ),
        ("capped at 120", Some(&long), 0, "a".repeat(120)),
        (
            "capped at 120 chars, not bytes",
            Some(&long_multibyte),
            0,
            "é".repeat(120),
        ),
        (
            "long name keeps its extension",
            Some(&long_with_extension),
            0,
            format!("{}.pdf", "a".repeat(116)),
        ),
        (
            "long CJK name capped at 240 bytes",
            Some(&long_cjk),
            0,
            format!("{}.txt", "日".repeat(78)),
        ),
        (
            "bidi override cannot fake the extension",
            Some("invoice\u{202e}fdp.exe"),
            0,
            "invoicefdp.exe".into(),
        ),
        (
            "zero-width and soft hyphen removed",
            Some("re\u{200b}po\u{ad}rt\u{feff}.pdf"),
            0,
            "report.pdf".into(),
        ),
        (
            "unicode spaces become plain spaces",
            Some("a\u{a0}b\u{2028}c.txt"),
            0,
            "a b c.txt".into(),
        ),
        (
            "trailing dots and spaces",
            Some("report.pdf. . "),
            0,
            "report.pdf".into(),
        ),
        ("windows device name", Some("CON"), 0, "_CON".into()),
        (
            "device name with extension",
            Some("nul.txt"),
            0,
            "_nul.txt".into(),
        ),
        (
            "numbered device name",
            Some("LPT1.pdf"),
            0,
            "_LPT1.pdf".into(),
        ),
        (
            "superscript device name",
            Some("com\u{b9}"),
            0,
            "_com\u{b9}".into(),
        ),
        (
            "device name in a path",
            Some("C:\\dir\\aux.log"),
            0,
            "_aux.log".into(),
        ),
        (
            "longer names are not devices",
            Some("CONSOLE.txt"),
            0,
            "CONSOLE.txt".into(),
        ),
        ("COM10 is not a device", Some("COM10"), 0, "COM10".into()),
        ("dot dot slash only", Some("../"), 3, "attachment-4".into()),
    ];
    let mut failures = Vec::new();
    for (name, input, index, expected) in &table {
        let got = sanitize_file_name(*input, *index);
        if &got != expected {
            failures.push(format!(
                "{name}: {input:?} #{index} => {got:?}, expected {expected:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const DSN: &[u8] = b"From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r\n\
To: support@example.test\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; Report-Type=Delivery-Status; boundary=\"DSN\"\r\n\
\r\n\
--DSN\r\n\
Content-Type: text/plain\r\n\
\r\n\
Your message could not be delivered.\r\n\
--DSN\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mx.example.test\r\n\
\r\n\
Final-Recipient: rfc822; bob@customer.test\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
--DSN\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
From: support@example.test\r\n\
To: bob@customer.test\r\n\
Subject: [#3] Your ticket\r\n\
\r\n\
Original body\r\n\
--DSN--\r\n";

#[test]
fn multipart_report_is_recognised_as_a_dsn() {
    let mail = parsed(DSN);
    assert_eq!(mail.content_type, "multipart/report");
    assert_eq!(mail.report_type.as_deref(), Some("delivery-status"));
    assert!(mail.has_delivery_status);
    assert_eq!(mail.from.as_deref(), Some("mailer-daemon@mx.example.test"));
    assert!(
        mail.text.contains("could not be delivered"),
        "{:?}",
        mail.text
    );
}

#[test]
fn delivery_status_part_is_found_inside_other_multiparts() {
    let raw = b"From: postmaster@x.test\r\n\
Content-Type: multipart/mixed; boundary=\"M\"\r\n\
\r\n\
--M\r\n\
Content-Type: text/plain\r\n\
\r\n\
failed\r\n\
--M\r\n\
Content-Type: message/global-delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mx.x.test\r\n\
--M--\r\n";
    let mail = parsed(raw);
    assert_eq!(mail.content_type, "multipart/mixed");
    assert_eq!(mail.report_type, None);
    assert!(mail.has_delivery_status);
}

#[test]
fn ordinary_multipart_has_no_delivery_status() {
    let mail = parsed(WITH_ATTACHMENTS);
    assert_eq!(mail.content_type, "multipart/mixed");
    assert_eq!(mail.report_type, None);
    assert!(!mail.has_delivery_status);
}

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

/// Old mailers send raw 8-bit (Latin-1) header values. The header block is
/// still there and classification needs every header's presence.
#[test]
fn headers_with_8bit_values_are_kept() {
    let mail = parsed(b"From: a@b.test\r\nX-Autorespond: Abwesenheit f\xfcr Max\r\n\r\nbody\r\n");
    assert!(mail.has_header("x-autorespond"), "{:?}", mail.headers);
    assert!(parse(b"Subject: Caf\xe9\r\n\r\nbody\r\n").is_ok());
}

#[test]
fn fingerprint_prefers_the_message_id() {
    let mail = parsed(ADDRESSED);
    assert_eq!(
        fingerprint(Some(&mail), ADDRESSED),
        "id:abc.123@mail.example.test"
    );
    // Same id, different bytes: same fingerprint.
    let resent = [ADDRESSED, b"trailer\r\n"].concat();
    assert_eq!(
        fingerprint(parse(&resent).ok().as_ref(), &resent),
        fingerprint(Some(&mail), ADDRESSED)
    );
}

#[test]
fn fingerprint_hashes_bytes_without_a_message_id() {
    // SHA-256 of the empty input.
    assert_eq!(
        fingerprint(None, b""),
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let raw: &[u8] = b"From: a@b.test\r\nSubject: no id\r\n\r\nbody\r\n";
    let mail = parsed(raw);
    assert_eq!(mail.message_id, None);
    let first = fingerprint(Some(&mail), raw);
    let hex = first.strip_prefix("sha256:").unwrap_or_default();
    assert_eq!(hex.len(), 64, "{first}");
    assert!(
        hex.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    let copy = raw.to_vec();
    assert_eq!(fingerprint(parse(&copy).ok().as_ref(), &copy), first);
    let other: &[u8] = b"From: a@b.test\r\nSubject: no id\r\n\r\nbody!\r\n";
    assert_ne!(fingerprint(parse(other).ok().as_ref(), other), first);
}

#[test]
fn empty_message_id_counts_as_missing() {
    let raw: &[u8] = b"From: a@b.test\r\nMessage-ID: <>\r\n\r\nx\r\n";
    let mail = parsed(raw);
    assert_eq!(mail.message_id, None);
    assert!(fingerprint(Some(&mail), raw).starts_with("sha256:"));
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

/// Bodies in the charsets mail really arrives in, each with its transfer
/// encoding, and 8-bit text that declares no charset or the wrong one.
#[test]
fn body_charsets_are_decoded() {
    let table: Vec<(&str, &[u8], &str)> = vec![
        (
            "windows-1252 quoted-printable (curly quotes, euro)",
            b"Content-Type: text/plain; charset=windows-1252\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\r\n\
=93It=92s broken=94 =96 costs =8050\r\n",
            "\u{201c}It\u{2019}s broken\u{201d} \u{2013} costs \u{20ac}50",
        ),
        (
            "cp1252 alias",
            b"Content-Type: text/plain; charset=\"cp1252\"\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\r\n=80 5\r\n",
            "\u{20ac} 5",
        ),
        (
            "windows-1258 quoted-printable apostrophe",
            b"Content-Type: text/plain; charset=windows-1258\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\r\nIt=92s\r\n",
            "It\u{2019}s",
        ),
        (
            "windows-1251 8bit",
            b"Content-Type: text/plain; charset=windows-1251\r\n\
Content-Transfer-Encoding: 8bit\r\n\r\n\xcf\xf0\xe8\xe2\xe5\xf2, \xec\xe8\xf0\r\n",
            "Привет, мир",
        ),
        (
            "Shift_JIS 8bit",
            b"Content-Type: text/plain; charset=Shift_JIS\r\n\
Content-Transfer-Encoding: 8bit\r\n\r\n\x93\xfa\x96\x7b\x8c\xea\r\n",
            "日本語",
        ),
        (
            "UTF-8 base64",
            b"Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: base64\r\n\r\n\
R3LDvMOfZSBhdXMgS8O2bG4g4pyTCg==\r\n",
            "Grüße aus Köln ✓",
        ),
        (
            "gb2312 base64",
            b"Content-Type: text/plain; charset=gb2312\r\n\
Content-Transfer-Encoding: base64\r\n\r\nxOO6ww==\r\n",
            "你好",
        ),
        (
            "undeclared 8-bit Latin-1",
            b"Content-Type: text/plain\r\n\r\nCaf\xe9 cr\xe8me\r\n",
            "Café crème",
        ),
        (
            "declared UTF-8 but Latin-1",
            b"Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe\r\n",
            "Grüße",
        ),
        (
            "mostly UTF-8 with one stray Latin-1 byte",
            b"Content-Type: text/plain; charset=utf-8\r\n\r\nK\xc3\xb6ln \xb1 2\r\n",
            "Köln ± 2",
        ),
        (
            "unknown charset, 8-bit text",
            b"Content-Type: text/plain; charset=x-bogus\r\n\r\nna\xefve\r\n",
            "naïve",
        ),
    ];
    let mut failures = Vec::new();
    for (name, body, expected) in table {
        let raw = [b"From: a@b.test\r\nSubject: x\r\n".as_slice(), body].concat();
        let text = parsed(&raw).text;
        if text != expected {
            failures.push(format!("{name}: got {text:?}, expected {expected:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_mislabelled_part_inside_a_multipart_is_read_without_the_boundary() {
    let raw = b"From: a@b.test\r\n\
Content-Type: multipart/alternative; boundary=\"ALT\"\r\n\r\n\
--ALT\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\n\
Sch\xf6ne Gr\xfc\xdfe\r\n\
--ALT\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n\
<p>x</p>\r\n\
--ALT--\r\n";
    assert_eq!(parsed(raw).text, "Schöne Grüße");
}

#[test]
fn encoded_and_broken_subjects() {
    let table: Vec<(&str, &[u8], &str)> = vec![
        (
            "ISO-2022-JP B",
            b"Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=",
            "日本語",
        ),
        (
            "Shift_JIS B",
            b"Subject: =?Shift_JIS?B?k/qWe4zq?=",
            "日本語",
        ),
        (
            "windows-1251 Q",
            b"Subject: =?windows-1251?Q?=CF=F0=E8=E2=E5=F2?=",
            "Привет",
        ),
        (
            "two charsets in one subject",
            b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus =?ISO-8859-1?Q?K=F6ln?=",
            "Grüße aus Köln",
        ),
        (
            "one character split over two encoded words",
            b"Subject: =?UTF-8?Q?Gr=C3?= =?UTF-8?Q?=BC=C3=9Fe?=",
            "Grüße",
        ),
        (
            "split base64 words",
            b"Subject: =?UTF-8?B?w6l0w6kg?=\r\n =?UTF-8?B?4pyT?= ok",
            "été ✓ ok",
        ),
        (
            "emoji then latin-1 word",
            b"Subject: =?utf-8?b?8J+YgA==?= =?iso-8859-1?q?=E9?=",
            "😀é",
        ),
        (
            "raw 8-bit Latin-1, no encoding",
            b"Subject: Caf\xe9 cr\xe8me",
            "Café crème",
        ),
        (
            "raw UTF-8, no encoding",
            "Subject: Grüße ✓".as_bytes(),
            "Grüße ✓",
        ),
        (
            "broken base64 stays as written",
            b"Subject: =?UTF-8?B?###?= rest",
            "=?UTF-8?B?###?= rest",
        ),
        (
            "unterminated encoded word stays as written",
            b"Subject: Re: =?UTF-8?Q?abc",
            "Re: =?UTF-8?Q?abc",
        ),
    ];
    let mut failures = Vec::new();
    for (name, header, expected) in table {
        let raw = [b"From: a@b.test\r\n".as_slice(), header, b"\r\n\r\nx\r\n"].concat();
        let subject = parsed(&raw).subject;
        if subject != expected {
            failures.push(format!("{name}: got {subject:?}, expected {expected:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn encoded_display_names_are_decoded() {
    let mail =
        parsed(b"From: \"=?UTF-8?B?w4lsb2RpZQ==?= Dupont\" <e@x.test>\r\nSubject: x\r\n\r\nx\r\n");
    assert_eq!(mail.from_name.as_deref(), Some("Élodie Dupont"));
}

const NAMED_ATTACHMENTS: &[u8] = b"From: a@b.test\r\n\
Content-Type: multipart/mixed; boundary=B\r\n\r\n\
--B\r\n\
Content-Type: text/plain\r\n\r\n\
hi\r\n\
--B\r\n\
Content-Type: application/pdf\r\n\
Content-Disposition: attachment;\r\n filename*0*=UTF-8''Gr%C3%BC%C3%9Fe%20aus;\r\n filename*1*=%20K%C3%B6ln.pdf\r\n\r\n\
x\r\n\
--B\r\n\
Content-Type: application/pdf; name=\"=?UTF-8?B?UmVjaG51bmcgTcOkcnoucGRm?=\"\r\n\
Content-Disposition: attachment; filename=\"=?UTF-8?B?UmVjaG51bmcgTcOkcnoucGRm?=\"\r\n\r\n\
x\r\n\
--B\r\n\
Content-Type: message/rfc822\r\n\r\n\
From: x@y.test\r\n\
Subject: Fwd: the/original: offer\r\n\r\n\
body\r\n\
--B\r\n\
Content-Type: application/ms-tnef; name=\"winmail.dat\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n\
eJ8+IgAAAQ==\r\n\
--B\r\n\
Content-Type: application/octet-stream; name=\"..\\\\..\\\\CON\"\r\n\r\n\
x\r\n\
--B--\r\n";

#[test]
fn attachment_names_from_rfc2231_rfc2047_and_attached_mail() {
    let mail = parsed(NAMED_ATTACHMENTS);
    let names: Vec<(&str, &str)> = mail
        .attachments
        .iter()
        .map(|a| (a.name.as_str(), a.content_type.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("Grüße aus Köln.pdf", "application/pdf"),
            ("Rechnung März.pdf", "application/pdf"),
            ("Fwd_ the-original_ offer.eml", "message/rfc822"),
            ("winmail.dat", "application/ms-tnef"),
            ("_CON", "application/octet-stream"),
        ]
    );
    let tnef = &mail.attachments[3];
    assert_eq!(
        attachment_bytes(NAMED_ATTACHMENTS, tnef.part).as_deref(),
        Some(&b"\x78\x9f\x3e\x22\x00\x00\x01"[..]),
        "winmail.dat keeps its bytes (TNEF signature)"
    );
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

/// The line break added for parsing is not part of the message: the
/// fingerprint (and the stored original) are the bytes as they came.
#[test]
fn a_completed_header_block_is_fingerprinted_as_it_came() {
    let raw: &[u8] = b"From: a@b.test\nSubject: cut";
    let mail = parsed(raw);
    assert_eq!(
        fingerprint(Some(&mail), raw),
        format!("sha256:{}", hex::encode(Sha256::digest(raw)))
    );
    let completed = [raw, b"\n"].concat();
    assert_ne!(
        fingerprint(Some(&mail), raw),
        fingerprint(parse(&completed).ok().as_ref(), &completed)
    );
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

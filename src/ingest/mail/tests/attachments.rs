//! Attachments: their metadata and decoded bytes, file names from
//! RFC 2231, RFC 2047 and attached mail (winmail.dat included), and the
//! sanitizing of hostile or overlong file names.

use super::*;

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

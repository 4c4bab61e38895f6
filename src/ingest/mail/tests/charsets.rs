//! Decoding of text in its many charsets: RFC 2047 encoded subjects and
//! display names (also broken, split or mixing charsets), and bodies in
//! quoted-printable, base64, ISO-2022-JP, Shift_JIS, windows-125x and
//! 8-bit text that declares no charset or the wrong one.

use super::*;

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

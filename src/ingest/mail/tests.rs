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
//!
//! The tests live in one child module per topic; this file holds what
//! several of them share: the `parsed` helper and the sample mails
//! `ADDRESSED`, `ALTERNATIVE`, `WITH_ATTACHMENTS` and `DSN`.

use super::*;

mod attachments;
mod bodies;
mod charsets;
mod dsn_detection;
mod fingerprints;
mod headers;
mod robustness;

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

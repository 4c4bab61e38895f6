//! Content end to end through the ingest seam: what a ticket's comments
//! hold for HTML-only mail, quoted replies, oversized attachments and
//! winmail.dat, and that customer markup never reaches an outgoing HTML
//! body raw.

use mail_parser::MessageParser;

use crate::model::outbox::AlertKind;
use crate::model::{Disposition, Source, TicketId};
use crate::notify::compose::compose;
use crate::notify::templates::Templates;
use crate::testutil;
use crate::testutil::Desk;

fn feed(desk: &Desk, raw: &[u8]) -> Disposition {
    desk.ingest(raw, Source::Other("test".into()))
        .expect("ingest")
        .disposition
}

fn crlf(text: &str) -> Vec<u8> {
    text.replace('\n', "\r\n").into_bytes()
}

const OPENING: &str = "From: Bob <bob@customer.test>
To: support@example.test
Subject: Printer on floor 2
Message-ID: <open-1@customer.test>

The printer is jammed.
";

/// An OWA reply, HTML only, quoting the acknowledgement below its header
/// block.
fn owa_reply(in_reply_to: &str) -> Vec<u8> {
    crlf(&format!(
        "From: Bob <bob@customer.test>
To: support@example.test
Subject: AW: [#1] We received your request: Printer on floor 2
Message-ID: <reply-1@customer.test>
In-Reply-To: <{in_reply_to}>
MIME-Version: 1.0
Content-Type: text/html; charset=\"iso-8859-1\"
Content-Transfer-Encoding: quoted-printable

<html><body><div>Jetzt geht er wieder, danke!<img src=3D\"https://track.ex=
ample.test/o.gif\"></div><hr><div id=3D\"divRplyFwdMsg\"><b>Von:</b> Support<br>=
<b>Gesendet:</b> Montag, 5. Januar 2026 10:00<br><b>Betreff:</b> [#1]</div>=
<div><p>##- Please type your reply above this line -##</p><p>Gr=FC=DFe</p></div>=
<script>steal()</script></body></html>
"
    ))
}

#[test]
fn an_html_only_reply_becomes_its_new_text_with_sanitized_html() {
    let (_dir, desk) = testutil::desk(&[]);
    assert_eq!(
        feed(&desk, &crlf(OPENING)),
        Disposition::NewTicket {
            ticket: TicketId(1)
        }
    );
    let ack = desk
        .store
        .outbox_items(usize::MAX)
        .unwrap()
        .into_iter()
        .find(|i| i.kind == AlertKind::ACKNOWLEDGEMENT)
        .expect("an acknowledgement");
    let outcome = feed(&desk, &owa_reply(&ack.message_id));
    assert_eq!(
        outcome,
        Disposition::Comment {
            ticket: TicketId(1),
            seq: 1
        }
    );
    let comments = desk.store.comments(TicketId(1)).unwrap();
    let reply = &comments[1];
    assert_eq!(reply.text, "Jetzt geht er wieder, danke!");
    let html = reply.html.as_deref().expect("HTML kept");
    assert!(html.contains("Jetzt geht er wieder"), "{html}");
    assert!(html.contains("Grüße"), "the full HTML is kept: {html}");
    for gone in ["steal", "<script", "track.example.test"] {
        assert!(!html.contains(gone), "{gone} stored: {html}");
    }
}

/// A mail with a small attachment, one over a 2 KiB limit, and a
/// winmail.dat.
fn with_attachments() -> Vec<u8> {
    let big = "QUFB".repeat(1024); // 3 KiB decoded
    crlf(&format!(
        "From: Bob <bob@customer.test>
To: support@example.test
Subject: Logs
Message-ID: <files-1@customer.test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"B\"

--B
Content-Type: text/plain

Logs attached.
--B
Content-Type: text/plain; name=\"small.log\"
Content-Disposition: attachment; filename=\"small.log\"

ok
--B
Content-Type: application/octet-stream; name=\"huge.bin\"
Content-Disposition: attachment; filename=\"huge.bin\"
Content-Transfer-Encoding: base64

{big}
--B
Content-Type: application/ms-tnef; name=\"winmail.dat\"
Content-Transfer-Encoding: base64

eJ8+IgAAAQ==
--B--
"
    ))
}

#[test]
fn an_oversized_attachment_is_noted_not_listed_and_stays_in_the_original() {
    let (_dir, desk) = testutil::desk(&[(
        "max_attachment_bytes = 10485760",
        "max_attachment_bytes = 2048",
    )]);
    let raw = with_attachments();
    assert_eq!(
        feed(&desk, &raw),
        Disposition::NewTicket {
            ticket: TicketId(1)
        }
    );
    let opening = &desk.store.comments(TicketId(1)).unwrap()[0];
    let listed: Vec<&str> = opening
        .attachments
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(listed, ["small.log", "winmail.dat"]);
    let key = opening.source_message.clone().expect("source message");
    assert!(
        opening.text.starts_with("Logs attached.\n\n"),
        "{}",
        opening.text
    );
    assert!(
        opening.text.contains(&format!(
            "Attachment \"huge.bin\" (3.0 KiB) exceeded the limit of 2.0 KiB and was not kept; \
             it is still in the original message: ticketd messages original '{key}'"
        )),
        "{}",
        opening.text
    );
    assert!(
        opening
            .text
            .contains("\"winmail.dat\" is an Outlook TNEF container"),
        "{}",
        opening.text
    );

    let stored = desk.store.raw(&key).unwrap().expect("raw message kept");
    let huge = crate::ingest::mail::parse(&stored)
        .unwrap()
        .attachments
        .into_iter()
        .find(|a| a.name == "huge.bin")
        .expect("still in the original");
    let bytes = crate::ingest::mail::attachment_bytes(&stored, huge.part).unwrap();
    assert_eq!(bytes, vec![b'A'; 3072]);
}

#[test]
fn attachments_within_the_limit_get_no_note() {
    let (_dir, desk) = testutil::desk(&[]);
    feed(&desk, &with_attachments());
    let opening = &desk.store.comments(TicketId(1)).unwrap()[0];
    assert_eq!(opening.attachments.len(), 3);
    assert!(!opening.text.contains("exceeded"), "{}", opening.text);
}

/// Staff forward a customer's text, markup and all, as a new ticket; the
/// "new ticket" alert quotes it in its HTML body.
#[test]
fn customer_markup_never_reaches_an_outgoing_html_body_raw() {
    let (_dir, desk) = testutil::desk(&[("trust_from_header = false", "trust_from_header = true")]);
    let mail = crlf(
        "From: staff@example.test
To: support@example.test, erin@customer.test
Subject: Your web form
Message-ID: <st-1@example.test>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=\"A\"

--A
Content-Type: text/plain; charset=utf-8

Erin wrote in the form: <script>alert(1)</script> <img src=x onerror=alert(2)>
--A
Content-Type: text/html; charset=utf-8

<p>Erin wrote in the form: &lt;script&gt;alert(1)&lt;/script&gt;</p><script>alert(3)</script>
--A--
",
    );
    feed(&desk, &mail);
    let item = desk
        .store
        .outbox_items(usize::MAX)
        .unwrap()
        .into_iter()
        .find(|i| i.kind == AlertKind::NEW_TICKET)
        .expect("a new-ticket alert");
    let templates = Templates::new(desk.config.templates_dir.clone());
    let message = compose(&item, &desk.config, &desk.key, &templates).expect("composes");
    let bytes = message.formatted();
    let sent = MessageParser::default().parse(&bytes).expect("parses");
    let html = sent.body_html(0).expect("an HTML alternative");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;"),
        "customer text shown escaped: {html}"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "{html}"
    );
    for raw in ["<script", "<img", "alert(3)"] {
        assert!(!html.contains(raw), "{raw} reached the HTML body: {html}");
    }
    let text = sent.body_text(0).expect("a text part");
    assert!(
        text.contains("<script>alert(1)</script>"),
        "the text part is plain: {text}"
    );
}

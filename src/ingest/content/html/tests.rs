//! HTML to text and sanitizing: realistic bodies as the major clients
//! write them, hostile markup, and bodies too big or too deep to parse.

use super::*;
use crate::ingest::content::reply_text;

#[test]
fn structure_becomes_readable_text() {
    let html = r##"<html><head><title>Invoice</title>
<style>p { color: red }</style><script>alert("x")</script></head>
<body><h1>Your order</h1>
<p>Hello <b>Bob</b>,<br>thanks for your order.</p>
<p>Fish &amp; chips &lt;3 &eacute;t&eacute; &#8364;5</p>
<ul><li>one</li><li>two</li></ul>
<ol><li>first</li><li>second</li></ol>
<p>See <a href="https://shop.example.test/orders/7">your order</a>,
<a href="https://shop.example.test/">https://shop.example.test/</a> or write to
<a href="mailto:help@shop.example.test">help@shop.example.test</a>.
<a href="#top">Top</a> <a href="javascript:alert(1)">Click</a></p>
<table><tr><td>Item</td><td>Price</td></tr><tr><td>Book</td><td>12.00</td></tr></table>
<img src="https://tracker.example.test/p.gif"><img src="cid:logo@x" alt="Shop logo">
<div>line one</div><div>line two</div></body></html>"##;
    let text = html_to_text(html);
    let expected_lines = [
        "Your order",
        "Hello Bob,",
        "thanks for your order.",
        "Fish & chips <3 été €5",
        "- one",
        "- two",
        "1. first",
        "2. second",
        "See your order <https://shop.example.test/orders/7>, https://shop.example.test/ or \
         write to help@shop.example.test. Top Click",
        "[Shop logo]",
        "line one",
        "line two",
    ];
    for line in expected_lines {
        assert!(
            text.lines().any(|l| l.trim() == line),
            "missing line {line:?} in:\n{text}"
        );
    }
    assert!(text.contains("Item") && text.contains("12.00"), "{text}");
    for absent in [
        "alert",
        "color: red",
        "Invoice",
        "<b>",
        "&amp;",
        "javascript",
        "#top",
        "tracker",
    ] {
        assert!(!text.contains(absent), "{absent:?} leaked into:\n{text}");
    }
    assert!(!text.contains("\n\n\n"), "at most one blank line:\n{text}");
}

#[test]
fn paragraphs_are_separated_by_one_blank_line() {
    let text = html_to_text("<p>one</p><p>two</p><p>&nbsp;</p><p>&nbsp;</p><p>three</p>");
    assert_eq!(text, "one\n\ntwo\n\nthree");
}

/// Gmail: the new text in `div dir=ltr`, the history in
/// `div.gmail_quote` with a `gmail_attr` line and a `blockquote`.
const GMAIL_REPLY: &str = r##"<div dir="ltr">Thanks, that fixed it!<div><br></div><div>Bob</div></div><br><div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">On Mon, Jan 5, 2026 at 10:00 AM Example Support &lt;<a href="mailto:support@example.test">support@example.test</a>&gt; wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex"><p style="color:#888">##- Please type your reply above this line -##</p><p>Hello,</p><p>your request has the number <strong>[#12]</strong>.</p></blockquote></div>"##;

/// OWA / new Outlook: `hr`, then `#divRplyFwdMsg` with the header block,
/// then the old message as siblings, not in a blockquote.
const OWA_REPLY_GERMAN: &str = r##"<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body><div class="elementToProof" style="font-family: Aptos, sans-serif">Ja, bitte tauschen.</div><div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" color="#000000"><b>Von:</b> Example Support &lt;support@example.test&gt;<br><b>Gesendet:</b> Montag, 5. Januar 2026 10:00<br><b>An:</b> Bob Beispiel &lt;bob@customer.test&gt;<br><b>Betreff:</b> [#12] Drucker</font><div>&nbsp;</div></div><div><p>##- Please type your reply above this line -##</p><p>Hallo, der Toner ist leer.</p></div></body></html>"##;

/// Desktop Outlook (Word HTML): the header block is a top-bordered `div`
/// nested in another `div`; the old message follows that outer `div`.
const OUTLOOK_DESKTOP_REPLY: &str = r##"<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><style><!-- p.MsoNormal {margin:0cm} --></style></head><body lang="EN-US"><div class="WordSection1"><p class="MsoNormal">Please go ahead on Friday.<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p><div><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p class="MsoNormal"><b>Från:</b> Example Support &lt;support@example.test&gt; <br><b>Skickat:</b> den 5 januari 2026 10:00<br><b>Till:</b> Bob<br><b>Ämne:</b> [#12] Printer<o:p></o:p></p></div></div><p class="MsoNormal"><o:p>&nbsp;</o:p></p><p class="MsoNormal">We would like to replace the printer.<o:p></o:p></p></div></body></html>"##;

/// Apple Mail: attribution in a `div`, history in `blockquote type=cite`.
const APPLE_MAIL_REPLY: &str = r##"<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head><body dir="auto"><div dir="ltr">Works now, thank you.</div><div dir="ltr"><br><blockquote type="cite">On 5 Jan 2026, at 10:00, Example Support &lt;support@example.test&gt; wrote:<br><br></blockquote></div><blockquote type="cite"><div dir="ltr">﻿<p>Hello,</p><p>please restart the printer.</p></div></blockquote></body></html>"##;

/// Thunderbird: `moz-cite-prefix` attribution, then `blockquote type=cite`.
const THUNDERBIRD_REPLY: &str = r##"<html><body><p>Agreed, Friday is fine.</p><div class="moz-cite-prefix">On 05/01/2026 10:00, Example Support wrote:<br></div><blockquote type="cite" cite="mid:t12.abc@example.test"><p>Can we come on Friday?</p></blockquote><br></body></html>"##;

/// Thunderbird inline answers between quotes.
const THUNDERBIRD_INLINE: &str = r##"<html><body><div class="moz-cite-prefix">On 05/01/2026 10:00, Example Support wrote:<br></div><blockquote type="cite">Which model is it?</blockquote>HP LaserJet 4000.<br><blockquote type="cite">Which floor?</blockquote>Second floor.<br><blockquote type="cite">Regards, Support</blockquote></body></html>"##;

/// Yahoo: the history sits in `div.yahoo_quoted`, without a blockquote.
const YAHOO_REPLY: &str = r##"<html><body><div class="ydp1 yahoo-style-wrap"><div dir="ltr">All good now.</div></div><div id="yahoo_quoted_123" class="yahoo_quoted"><div style="font-family:'Helvetica Neue'"><div>On Monday, January 5, 2026, 10:00:00 AM GMT+1, Example Support &lt;support@example.test&gt; wrote:</div><div><br></div><div><div dir="ltr">Hello, your ticket [#12] was received.</div></div></div></div></body></html>"##;

#[test]
fn html_replies_of_the_major_clients_lose_their_history() {
    let table = [
        ("gmail", GMAIL_REPLY, "Thanks, that fixed it!\n\nBob"),
        ("owa german", OWA_REPLY_GERMAN, "Ja, bitte tauschen."),
        (
            "outlook desktop swedish",
            OUTLOOK_DESKTOP_REPLY,
            "Please go ahead on Friday.",
        ),
        ("apple mail", APPLE_MAIL_REPLY, "Works now, thank you."),
        ("thunderbird", THUNDERBIRD_REPLY, "Agreed, Friday is fine."),
        ("yahoo", YAHOO_REPLY, "All good now."),
    ];
    let mut failures = Vec::new();
    for (client, html, expected) in table {
        let text = html_to_text(html);
        let reply = reply_text(&text);
        if reply != expected {
            failures.push(format!(
                "{client}: expected {expected:?}, got {reply:?}\nfrom text:\n{text}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn html_history_stays_in_the_full_text_as_a_quote() {
    let owa = html_to_text(OWA_REPLY_GERMAN);
    assert!(
        owa.contains("> Von: Example Support <support@example.test>"),
        "{owa}"
    );
    assert!(owa.contains("> Hallo, der Toner ist leer."), "{owa}");
    let desktop = html_to_text(OUTLOOK_DESKTOP_REPLY);
    assert!(
        desktop.contains("> We would like to replace the printer."),
        "{desktop}"
    );
    let yahoo = html_to_text(YAHOO_REPLY);
    assert!(
        yahoo.contains("> Hello, your ticket [#12] was received."),
        "{yahoo}"
    );
}

#[test]
fn html_inline_answers_keep_every_new_line() {
    let text = html_to_text(THUNDERBIRD_INLINE);
    let reply = reply_text(&text);
    assert!(reply.contains("HP LaserJet 4000."), "{reply}");
    assert!(reply.contains("Second floor."), "{reply}");
    assert!(reply.contains("> Which floor?"), "context kept: {reply}");
    assert!(
        !reply.contains("Regards, Support"),
        "final quote dropped: {reply}"
    );
}

#[test]
fn a_gmail_forward_is_not_quoted() {
    let html = r##"<div dir="ltr">FYI<br><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>From: <strong class="gmail_sendername" dir="auto">Vendor</strong> <span dir="auto">&lt;<a href="mailto:v@vendor.test">v@vendor.test</a>&gt;</span><br>Date: Mon, Jan 5, 2026 at 10:00 AM<br>Subject: Delivery<br></div><br><br><div dir="ltr">It ships Friday.</div></div></div>"##;
    let text = html_to_text(html);
    assert!(text.lines().any(|l| l == "It ships Friday."), "{text}");
    assert_eq!(reply_text(&text), text, "a forward is content, not history");
}

#[test]
fn sanitized_html_keeps_formatting_and_drops_everything_active() {
    let html = r##"<html><head><title>T</title><style>body{background:url(https://t.example.test/x)}</style>
<script>steal()</script><meta http-equiv="refresh" content="0;url=https://evil.test"></head>
<body onload="steal()"><p style="color:red" class="x" id="y">Hello <b>bold</b> <i>it</i></p>
<a href="https://example.test/ok" onclick="steal()">ok</a>
<a href="javascript:steal()">js</a> <a href="vbscript:x">vb</a> <a href="data:text/html,x">data</a>
<a href="relative/path">rel</a>
<img src="https://tracker.example.test/open.gif" alt="pixel" width="1">
<img src="data:image/png;base64,AAAA" alt="inline data">
<img src="CID:logo@example.test" alt="logo">
<iframe src="https://evil.test"></iframe><form action="https://evil.test"><input name="pw"></form>
<svg onload="steal()"><circle r="1"/></svg><object data="x.swf"></object>
<blockquote type="cite">quoted</blockquote><table><tr><td>cell</td></tr></table>
</body></html>"##;
    let clean = sanitize_html(html).expect("small HTML is sanitized");
    for kept in [
        "<b>bold</b>",
        "<i>it</i>",
        "<blockquote>quoted</blockquote>",
        "<td>cell</td>",
        r#"href="https://example.test/ok""#,
        r#"src="CID:logo@example.test""#,
        r#"alt="pixel""#,
        "noopener",
    ] {
        assert!(clean.contains(kept), "{kept:?} missing from {clean}");
    }
    for dropped in [
        "<script",
        "steal",
        "onload",
        "onclick",
        "javascript:",
        "vbscript:",
        "data:",
        "tracker.example.test",
        "<iframe",
        "<form",
        "<input",
        "<svg",
        "<object",
        "<style",
        "background",
        "refresh",
        "evil.test",
        "style=",
        "relative/path",
        ">T<",
    ] {
        assert!(
            !clean.to_ascii_lowercase().contains(dropped),
            "{dropped:?} survived in {clean}"
        );
    }
}

#[test]
fn the_nesting_estimate_counts_containers_not_void_or_open_ended_tags() {
    assert_eq!(nesting_estimate("<div><div><b>x</b></div></div>").0, 3);
    assert_eq!(nesting_estimate("<p>a<p>b<br><img src=x><li>c<td>d").0, 0);
    assert_eq!(nesting_estimate("a < b and 3<4 </ >").0, 0);
    let deep = "<div>".repeat(MAX_NESTING + 1);
    assert_eq!(nesting_estimate(&deep).0, MAX_NESTING + 1);
}

#[test]
fn bodies_too_deep_or_too_big_for_the_parser_fall_back_to_the_simple_converter() {
    let deep = format!(
        "{}Hello &amp; bye{}",
        "<div>".repeat(MAX_NESTING + 1),
        "</div>".repeat(MAX_NESTING + 1)
    );
    assert!(!is_parseable(&deep));
    assert_eq!(html_to_text(&deep), "Hello & bye");
    assert_eq!(sanitize_html(&deep), None, "not stored rather than parsed");

    let busy = format!("{}{}", "<div>".repeat(900), "<span>x</span>".repeat(30_000));
    assert!(!is_parseable(&busy), "depth times elements over the budget");

    let big = format!("<p>{}</p>", "a".repeat(MAX_HTML_BYTES));
    assert!(!is_parseable(&big));
    assert_eq!(sanitize_html(&big), None);
    assert!(html_to_text(&big).starts_with("aaaa"));

    let ordinary = "<div><p>Hello</p></div>".repeat(2_000);
    assert!(is_parseable(&ordinary));
}

#[test]
fn garbage_html_never_panics() {
    let inputs = [
        "",
        "<",
        "</",
        "<<<>>>",
        "<div",
        "<a href=",
        "<table><td><table><td>",
        "</blockquote></blockquote>x",
        "<div id=divRplyFwdMsg>",
        "<div class=yahoo_quoted><div class=yahoo_quoted>x",
        "\u{0}\u{feff}<p>\u{fffd}</p>",
        "<![CDATA[x]]><!-- unterminated",
    ];
    for html in inputs {
        let _ = html_to_text(html);
        let _ = sanitize_html(html);
    }
    assert_eq!(html_to_text("<div id=divRplyFwdMsg>old"), "> old");
}

#[test]
fn hostile_tables_and_list_numbers_render() {
    let table = [
        (
            "<table><tr><td colspan=\"1000000\">x</td><td>y</td></tr></table>",
            "x y",
        ),
        (
            "<ol start=\"9223372036854775807\"><li>a</li><li>b</li></ol>",
            "1. a\n2. b",
        ),
        ("<ol start=\"-3\"><li>a</li><li>b</li></ol>", "-3. a\n-2. b"),
        ("<ol start=\"junk\"><li>a</li></ol>", "1. a"),
    ];
    for (html, expected) in table {
        assert_eq!(html_to_text(html), expected, "{html}");
    }
}

/// Truncated and byte-flipped copies of the client samples: never a
/// panic, never an unsanitized script.
#[test]
fn mutated_client_html_never_panics_or_leaks_script() {
    let samples = [
        GMAIL_REPLY,
        OWA_REPLY_GERMAN,
        OUTLOOK_DESKTOP_REPLY,
        APPLE_MAIL_REPLY,
        THUNDERBIRD_INLINE,
        YAHOO_REPLY,
    ];
    for sample in samples {
        let hostile = format!("{sample}<script>steal()</script>");
        let bytes = hostile.as_bytes();
        for cut in (0..bytes.len()).step_by(37) {
            let mut mutated = bytes[..cut].to_vec();
            if let Some(b) = mutated.get_mut(cut / 2) {
                *b = b"<>\"'/="[cut % 6];
            }
            let html = String::from_utf8_lossy(&mutated);
            let _ = html_to_text(&html);
            if let Some(clean) = sanitize_html(&html) {
                assert!(!clean.contains("<script"), "{clean}");
            }
        }
    }
}

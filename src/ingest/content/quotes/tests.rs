//! Quote stripping, one table row per client style: what each client
//! writes below a reply, and what must survive (new text, interleaved
//! answers, prose that merely looks like a header).

use super::*;

const MARKER: &str = REPLY_MARKER;

/// (case, reply as the client sends it, expected new text)
fn cases() -> Vec<(&'static str, String, &'static str)> {
    vec![
        // --- plain text that must stay whole ---
        ("plain text stays", "Hello\nthere".into(), "Hello\nthere"),
        (
            "a From: line in prose is kept",
            "From: the start it failed.\nSent: twice".into(),
            "From: the start it failed.\nSent: twice",
        ),
        (
            "prose header-like lines after a blank line but no Sent/Date",
            "See below.\n\nFrom: accounting\nTo: whoever".into(),
            "See below.\n\nFrom: accounting\nTo: whoever",
        ),
        (
            "a quoted line in the middle is kept",
            "The log says\n> disk full\nand then it stopped.".into(),
            "The log says\n> disk full\nand then it stopped.",
        ),
        (
            "interleaved answers are kept",
            "On Mon, X wrote:\n> question 1\nanswer 1\n> question 2\nanswer 2".into(),
            "On Mon, X wrote:\n> question 1\nanswer 1\n> question 2\nanswer 2",
        ),
        (
            "interleaved answers keep the new lines, drop the final quote",
            "On Mon, 5 Jan 2026 at 10:00, Support <support@example.test> wrote:\n\
             > Which model is it?\n\
             HP LaserJet 4000.\n\
             > Which floor?\n\
             Second.\n\
             > Regards\n\
             > Support"
                .into(),
            "On Mon, 5 Jan 2026 at 10:00, Support <support@example.test> wrote:\n\
             > Which model is it?\n\
             HP LaserJet 4000.\n\
             > Which floor?\n\
             Second.",
        ),
        (
            "a quoted separator inside an interleaved reply does not cut new text",
            "> q1\na1\n> -----Original Message-----\n> From: x\nstill new".into(),
            "> q1\na1\n> -----Original Message-----\n> From: x\nstill new",
        ),
        (
            "a forwarded message is not quoted history",
            "FYI\n\n---------- Forwarded message ---------\nFrom: Vendor <v@vendor.test>\n\
             Date: Mon, 5 Jan 2026 at 10:00\nSubject: Delivery\n\nIt ships Friday."
                .into(),
            "FYI\n\n---------- Forwarded message ---------\nFrom: Vendor <v@vendor.test>\n\
             Date: Mon, 5 Jan 2026 at 10:00\nSubject: Delivery\n\nIt ships Friday.",
        ),
        ("only a quote leaves nothing", "On Mon, X wrote:\n> hi".into(), ""),
        // --- our marker and peers' markers ---
        (
            "our marker quoted",
            format!("Done.\n\n> {MARKER}\n> Hello"),
            "Done.",
        ),
        (
            "our marker bare (top-posting client)",
            format!("Done.\n{MARKER}\nHello"),
            "Done.",
        ),
        (
            "another helpdesk's marker",
            "Ok thanks\n\n-- Please reply above this line --\nTicket 7".into(),
            "Ok thanks",
        ),
        // --- Gmail ---
        (
            "gmail attribution",
            "Thanks!\n\nOn Mon, 1 Jan 2026 at 10:00, Support <s@x> wrote:\n> old\n> older".into(),
            "Thanks!",
        ),
        (
            "gmail attribution wrapped inside the address",
            "Fixed.\n\nOn Mon, Jan 5, 2026 at 10:00 AM Example Support Team <\n\
             support@example.test> wrote:\n\n> old\n>\n> older"
                .into(),
            "Fixed.",
        ),
        (
            "gmail attribution split before wrote",
            "Fixed.\n\nOn Mon, 1 Jan 2026 at 10:00, Support\n<support@example.test> wrote:\n> old"
                .into(),
            "Fixed.",
        ),
        (
            "gmail japanese attribution without a verb",
            "了解しました。\n\n2026年1月5日(月) 10:00 Support <support@example.test>:\n\n> 古い".into(),
            "了解しました。",
        ),
        // --- Outlook / OWA ---
        (
            "outlook original message",
            "Yes.\n\n-----Original Message-----\nFrom: a\nold".into(),
            "Yes.",
        ),
        (
            "outlook german original message",
            "Ja.\n\n-----Ursprüngliche Nachricht-----\nVon: a\nalt".into(),
            "Ja.",
        ),
        (
            "outlook french original message",
            "Oui.\n\n-----Message d'origine-----\nDe : a\nancien".into(),
            "Oui.",
        ),
        (
            "outlook underscore block",
            "Yes.\n\n________________________________\nFrom: Support\nSent: Monday\nold".into(),
            "Yes.",
        ),
        (
            "outlook underscore block directly below the text",
            "Yes.\n________________________________\nFrom: Support <support@example.test>\nold"
                .into(),
            "Yes.",
        ),
        (
            "outlook header block",
            "Yes.\n\nFrom: Support <s@x>\nSent: Monday\nTo: me\nold".into(),
            "Yes.",
        ),
        (
            "outlook bold header block from a converter",
            "Yes.\n\n*From:* Support <s@x>\n*Sent:* Monday\n*To:* me\nold".into(),
            "Yes.",
        ),
        (
            "outlook for mac header block with Date",
            "Sure.\n\nFrom: Support <support@example.test>\nDate: Monday, 5 January 2026 at 10:00\n\
             To: Bob\nSubject: Re: [#12] Printer\n\nold"
                .into(),
            "Sure.",
        ),
        (
            "outlook german header block",
            "Passt.\n\nVon: Support <support@example.test>\nGesendet: Montag, 5. Januar 2026 10:00\n\
             An: Bob\nBetreff: AW: [#12] Drucker\n\nalt"
                .into(),
            "Passt.",
        ),
        (
            "outlook french header block with a no-break space before the colon",
            "Merci.\n\nDe\u{a0}: Support <support@example.test>\nEnvoyé\u{a0}: lundi 5 janvier 2026 10:00\n\
             À\u{a0}: Bob\nObjet\u{a0}: RE: [#12] Imprimante\n\nancien"
                .into(),
            "Merci.",
        ),
        (
            "outlook spanish header block",
            "Gracias.\n\nDe: Support <support@example.test>\nEnviado: lunes, 5 de enero de 2026 10:00\n\
             Para: Bob\nAsunto: RE: [#12] Impresora\n\nviejo"
                .into(),
            "Gracias.",
        ),
        (
            "html rendered outlook: rule line then header block",
            "Yes, go ahead.\n──────────────────────────\nFrom: Support\nSent: Monday\nold".into(),
            "Yes, go ahead.",
        ),
        // --- Apple Mail / iPhone ---
        (
            "apple mail attribution",
            "Works now.\n\nOn 5 Jan 2026, at 10:00, Example Support <support@example.test> wrote:\n\n\
             > old"
                .into(),
            "Works now.",
        ),
        (
            "iphone signature and attribution",
            "Works now.\n\nSent from my iPhone\n\n\
             On Jan 5, 2026, at 10:00 AM, Example Support <support@example.test> wrote:\n\n> old"
                .into(),
            "Works now.",
        ),
        (
            "iphone signature without a quote",
            "On my way.\n\nSent from my iPhone".into(),
            "On my way.",
        ),
        (
            "german iphone signature",
            "Bin unterwegs.\n\nVon meinem iPhone gesendet".into(),
            "Bin unterwegs.",
        ),
        (
            "outlook mobile signature with its link",
            "Ok.\n\nGet Outlook for iOS <https://aka.ms/o0ukef>".into(),
            "Ok.",
        ),
        (
            "a sentence about a phone is not a signature",
            "I sent it from my phone yesterday.".into(),
            "I sent it from my phone yesterday.",
        ),
        // --- Thunderbird ---
        (
            "thunderbird attribution",
            "Agreed.\n\nOn 01/02/2026 10:00, Example Support wrote:\n> old\n>\n> older".into(),
            "Agreed.",
        ),
        (
            "thunderbird bottom-posting with the quote on top",
            "On 01/02/2026 10:00, Example Support wrote:\n> Is it fixed?\n\nYes, thanks.".into(),
            "On 01/02/2026 10:00, Example Support wrote:\n> Is it fixed?\n\nYes, thanks.",
        ),
        // --- Yahoo: dated attribution, history not quoted ---
        (
            "yahoo attribution over unquoted history",
            "All good.\n\n\
             On Monday, January 5, 2026, 10:00:00 AM GMT+1, Example Support <support@example.test> wrote:\n\n\
             Hello,\nyour ticket [#12] was received."
                .into(),
            "All good.",
        ),
        (
            "an undated wrote: line over unquoted text is prose",
            "Here is what the vendor wrote:\n\nIt ships Friday.".into(),
            "Here is what the vendor wrote:\n\nIt ships Friday.",
        ),
        // --- localized attributions ---
        (
            "german attribution",
            "Danke.\n\nAm 01.01.2026 um 10:00 schrieb Support:\n> alt".into(),
            "Danke.",
        ),
        (
            "german gmail attribution",
            "Danke.\n\nAm Mo., 5. Jan. 2026 um 10:00 Uhr schrieb Support <support@example.test>:\n\n> alt"
                .into(),
            "Danke.",
        ),
        (
            "french attribution with a no-break space",
            "Merci.\n\nLe lun. 5 janv. 2026 à 10:00, Support <support@example.test> a écrit\u{a0}:\n> ancien"
                .into(),
            "Merci.",
        ),
        (
            "spanish attribution",
            "Gracias.\n\nEl lun, 5 ene 2026 a las 10:00, Support (<support@example.test>) escribió:\n> viejo"
                .into(),
            "Gracias.",
        ),
        (
            "italian attribution",
            "Grazie.\n\nIl giorno lun 5 gen 2026 alle ore 10:00 Support <support@example.test> ha scritto:\n\n> vecchio"
                .into(),
            "Grazie.",
        ),
        (
            "dutch attribution",
            "Bedankt.\n\nOp ma 5 jan. 2026 om 10:00 schreef Support <support@example.test>:\n> oud".into(),
            "Bedankt.",
        ),
        (
            "portuguese attribution",
            "Obrigado.\n\nEm seg., 5 de jan. de 2026 às 10:00, Support <support@example.test> escreveu:\n> velho"
                .into(),
            "Obrigado.",
        ),
        (
            "trailing quote without attribution",
            "Ok\n> quoted\n>\n".into(),
            "Ok",
        ),
    ]
}

#[test]
fn reply_text_table() {
    let mut failures = Vec::new();
    for (name, input, expected) in cases() {
        let got = reply_text(&input);
        if got != expected {
            failures.push(format!(
                "{name}:\n  input:    {input:?}\n  expected: {expected:?}\n  got:      {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn crlf_and_trailing_blank_lines_do_not_matter() {
    let text =
        "Thanks!\r\n\r\nOn Mon, 1 Jan 2026 at 10:00, Support <s@x> wrote:\r\n> old\r\n\r\n\r\n";
    assert_eq!(reply_text(text), "Thanks!");
    assert_eq!(reply_text(""), "");
    assert_eq!(reply_text("\n\n"), "");
}

#[test]
fn rule_lines_need_one_repeated_character() {
    assert!(is_rule("________________________________"));
    assert!(is_rule("──────────"));
    assert!(!is_rule("-----"), "too short");
    assert!(!is_rule("---------- Forwarded message ---------"));
    assert!(!is_rule("-_-_-_-_-_-_"));
}

#[test]
fn long_hostile_text_stays_fast() {
    let text = "Bob wrote:\n".repeat(200_000);
    let started = std::time::Instant::now();
    assert_eq!(reply_text(&text), text.trim_end());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn forward_subjects_are_recognised() {
    for subject in [
        "FW: Printer",
        "Fwd: Printer",
        "fwd:Printer",
        "WG: Drucker",
        "TR : Imprimante",
        "RV: Impresora",
        "ENC: Impressora",
        "Doorst: Printer",
        "VB: Skrivare",
        "VL: Tulostin",
        "PD: Drukarka",
        "FW: RE: Printer",
        "[#12] Fwd: Printer",
        "  [EXTERNAL] [#12] FW: Printer",
    ] {
        assert!(is_forward_subject(subject), "{subject}");
    }
    for subject in [
        "RE: FW: Printer",
        "AW: WG: Drucker",
        "Printer FW: note",
        "Fwdx: not a prefix",
        "Training: FW update",
        "TRex: roar",
        "VS: Tulostin",
        "I: printer",
        "",
    ] {
        assert!(!is_forward_subject(subject), "{subject}");
    }
}

#[test]
fn a_forward_keeps_the_forwarded_mail_a_reply_does_not() {
    let text = "Please see below.\n\n\
________________________________\n\
From: IT Desk <it@customer.test>\n\
Sent: Monday, March 2, 2026 10:00\n\
To: Hannah Berg <hannah@customer.test>\n\
Subject: VPN log\n\n\
The VPN log shows error 809.\n";
    assert_eq!(new_text("FW: VPN log", text), text.trim_end());
    assert_eq!(new_text("RE: VPN log", text), "Please see below.");
    assert_eq!(new_text("VPN log", text), "Please see below.");
}

//! The staff-proof rules: what an `Authentication-Results` value from our
//! MTA proves about a From domain (each forgery an adversarial review
//! found, and the legitimate passes), which DKIM signing domains cover a
//! From domain, how From fields are counted, and that more than one From
//! mailbox defeats every proof, even `trust_from_header`.

use super::{SenderKind, Unproven, authentication_passes, sender_role, signing_domain_covers};
use crate::ingest::mail;
use crate::model::TicketId;
use crate::model::token::ThreadKey;
use crate::testutil;

/// (case, Authentication-Results value, From address, proves staff?)
const ACCEPTANCE: &[(&str, &str, &str, bool)] = &[
    (
        "dmarc pass for the From domain",
        "mx.example.test; dmarc=pass header.from=example.test",
        "ann@example.test",
        true,
    ),
    (
        "dmarc pass, domain in other case",
        "mx.example.test; dmarc=pass header.from=EXAMPLE.test",
        "ann@example.test",
        true,
    ),
    (
        "dkim pass, d is the From domain",
        "mx.example.test; dkim=pass header.d=example.test",
        "ann@example.test",
        true,
    ),
    (
        "dkim pass, d is a parent of the From domain",
        "mx.example.test; dkim=pass header.d=example.test",
        "ann@mail.example.test",
        true,
    ),
    (
        "dkim/1 pass with a reason",
        "mx.example.test; dkim/1=pass reason=\"good; key\" header.d=example.test",
        "ann@example.test",
        true,
    ),
    (
        "a pass after a failing result",
        "mx.example.test 1; spf=fail smtp.mailfrom=x; dkim=pass header.d=example.test",
        "ann@example.test",
        true,
    ),
    (
        "authserv-id in other case",
        "MX.Example.Test; dmarc=pass header.from=example.test",
        "ann@example.test",
        true,
    ),
    (
        "pass hidden in a comment",
        "mx.example.test; spf=fail (x;dmarc=pass header.from=example.test) smtp.mailfrom=evil.test",
        "ann@example.test",
        false,
    ),
    (
        "pass hidden in a nested comment",
        "mx.example.test; spf=fail (a (b;dmarc=pass header.from=example.test) c) smtp.mailfrom=evil.test",
        "ann@example.test",
        false,
    ),
    (
        "pass hidden in a quoted value",
        "mx.example.test; spf=fail smtp.mailfrom=\"x;dmarc=pass header.from=example.test\"@evil.test",
        "ann@example.test",
        false,
    ),
    (
        "pass hidden after an escaped quote",
        "mx.example.test; spf=fail smtp.mailfrom=\"x\\\";dmarc=pass header.from=example.test\"",
        "ann@example.test",
        false,
    ),
    (
        "dmarc pass for another domain",
        "mx.example.test; dmarc=pass header.from=evil.test",
        "ann@example.test",
        false,
    ),
    (
        "dmarc pass without header.from",
        "mx.example.test; dmarc=pass",
        "ann@example.test",
        false,
    ),
    (
        "dmarc pass, header.from only in a comment",
        "mx.example.test; dmarc=pass (header.from=example.test)",
        "ann@example.test",
        false,
    ),
    (
        "dmarc pass, a second header.from not ours",
        "mx.example.test; dmarc=pass header.from=example.test header.from=evil.test",
        "ann@example.test",
        false,
    ),
    (
        "dmarc pass for the parent domain only",
        "mx.example.test; dmarc=pass header.from=example.test",
        "ann@mail.example.test",
        false,
    ),
    (
        "dkim pass for another domain, header.i ours",
        "mx.example.test; dkim=pass header.d=evil.test header.i=@example.test",
        "ann@example.test",
        false,
    ),
    (
        "dkim pass with header.i only",
        "mx.example.test; dkim=pass header.i=@example.test",
        "ann@example.test",
        false,
    ),
    (
        "dkim pass for a look-alike suffix",
        "mx.example.test; dkim=pass header.d=ample.test",
        "ann@example.test",
        false,
    ),
    (
        "dkim pass for a bare TLD",
        "mx.example.test; dkim=pass header.d=test",
        "ann@example.test",
        false,
    ),
    (
        "dkim pass for a child of the From domain",
        "mx.example.test; dkim=pass header.d=mail.example.test",
        "ann@example.test",
        false,
    ),
    (
        "dkim pass for our domain, From another",
        "mx.example.test; dkim=pass header.d=example.test",
        "ann@evil.test",
        false,
    ),
    (
        "dkim fail",
        "mx.example.test; dkim=fail header.d=example.test",
        "ann@example.test",
        false,
    ),
    (
        "dkim of an unknown version",
        "mx.example.test; dkim/2=pass header.d=example.test",
        "ann@example.test",
        false,
    ),
    (
        "header of an unknown version",
        "mx.example.test 2; dkim=pass header.d=example.test",
        "ann@example.test",
        false,
    ),
    (
        "another method passing for the domain",
        "mx.example.test; spf=pass smtp.mailfrom=example.test header.d=example.test",
        "ann@example.test",
        false,
    ),
    (
        "dmarc passing as a result prefix",
        "mx.example.test; dmarc=passed header.from=example.test",
        "ann@example.test",
        false,
    ),
    (
        "another authserv-id",
        "mx.evil.test; dmarc=pass header.from=example.test",
        "ann@example.test",
        false,
    ),
    (
        "our authserv-id as a prefix",
        "mx.example.test.evil.test; dmarc=pass header.from=example.test",
        "ann@example.test",
        false,
    ),
    ("none", "mx.example.test; none", "ann@example.test", false),
    (
        "garbage",
        "mx.example.test; ;;== (( \"",
        "ann@example.test",
        false,
    ),
    (
        "no sender domain",
        "mx.example.test; dmarc=pass header.from=\"\"",
        "ann@",
        false,
    ),
];

#[test]
fn authentication_results_prove_only_a_pass_for_the_from_domain() {
    let wrong: Vec<String> = ACCEPTANCE
        .iter()
        .filter(|(_, value, sender, expected)| {
            authentication_passes(value, "mx.example.test", sender) != *expected
        })
        .map(|(case, value, _, expected)| format!("{case} (expected {expected}): {value}"))
        .collect();
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
}

#[test]
fn a_dkim_signing_domain_covers_its_own_and_its_subdomains_only() {
    for (signing, from, covers) in [
        ("example.test", "example.test", true),
        ("Example.TEST", "example.test", true),
        ("example.test", "mail.example.test", true),
        ("example.test", "a.b.example.test", true),
        ("ample.test", "example.test", false),
        ("test", "example.test", false),
        ("mail.example.test", "example.test", false),
        (".example.test", "mail.example.test", false),
        ("example.test.", "example.test", false),
        ("", "example.test", false),
        ("example.test", ".example.test", false),
    ] {
        assert_eq!(
            signing_domain_covers(signing, from),
            covers,
            "{signing} for {from}"
        );
    }
}

#[test]
fn from_mailboxes_counts_every_from_field_and_mailbox() {
    for (from_lines, count) in [
        ("From: Staff <staff@example.test>", 1),
        ("From: \"Staff, Team\" <staff@example.test>", 1),
        (
            "From: Eve <eve@evil.test>\r\nFrom: Staff <staff@example.test>",
            2,
        ),
        ("From: staff@example.test, eve@evil.test", 2),
        ("From: Team: staff@example.test, eve@evil.test;", 2),
        ("From: undisclosed:;\r\nFrom: staff@example.test", 2),
        ("Sender: staff@example.test", 0),
    ] {
        let raw = format!("{from_lines}\r\nTo: support@example.test\r\nSubject: x\r\n\r\nx\r\n");
        let mail = mail::parse(raw.as_bytes()).expect("parses");
        assert_eq!(mail.from_mailboxes, count, "{from_lines}");
    }
}

const TWO_FROMS: &str = "Authentication-Results: mx.example.test; dmarc=pass header.from=example.test\r\nFrom: Eve <eve@evil.test>\r\nFrom: Staff <staff@example.test>\r\nTo: {to}\r\nSubject: Re: [#1] x\r\n\r\n#close\r\n";

#[test]
fn more_than_one_from_mailbox_defeats_every_proof() {
    let key = ThreadKey::new(b"sender-test-secret-0123".to_vec());
    let token = key.staff_reply_address("support@example.test", TicketId(1), "staff@example.test");
    let authserv = (
        "# authserv_id = \"mx.example.test\"",
        "authserv_id = \"mx.example.test\"",
    );
    let trust = ("trust_from_header = false", "trust_from_header = true");
    for (case, overrides, to) in [
        (
            "authentication-results",
            vec![authserv],
            "support@example.test",
        ),
        ("reply token", vec![], token.as_str()),
        ("trust_from_header", vec![trust], "support@example.test"),
    ] {
        let config = testutil::config(&overrides);
        let one_from = TWO_FROMS
            .replace("From: Eve <eve@evil.test>\r\n", "")
            .replace("{to}", to);
        let mail = mail::parse(one_from.as_bytes()).expect("parses");
        let role = sender_role(&mail, &config, &key);
        assert!(role.is_verified_staff(), "{case}, one From: {role:?}");

        let mail = mail::parse(TWO_FROMS.replace("{to}", to).as_bytes()).expect("parses");
        let role = sender_role(&mail, &config, &key);
        assert_eq!(role.address, "staff@example.test", "{case}");
        assert_eq!(
            role.kind,
            SenderKind::UnverifiedStaff(Unproven::MultipleFrom),
            "{case}"
        );
        assert_eq!(role.rule(), "staff-address-unverified:multiple-from");
    }
}

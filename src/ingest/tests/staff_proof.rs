//! Staff proof end to end: `Authentication-Results` from our own MTA
//! (`staff.authserv_id = "mx.example.test"`) makes `#close` from a staff
//! address work, while the forgeries an adversarial review found (a pass
//! hidden in a comment or a quoted value, a pass for another domain, a
//! second `From:` field) leave ticket #1 open and the mail a customer's.

use super::{NEW_MAIL, feed};
use crate::ingest::Outcome;
use crate::model::{AuthorRole, Status, TicketId};
use crate::testutil;
use crate::testutil::Desk;

const OUR_AUTHSERV: (&str, &str) = (
    "# authserv_id = \"mx.example.test\"",
    "authserv_id = \"mx.example.test\"",
);
const NO_STAFF_NOTES: (&str, &str) = (
    "notify_staff = [\"new_ticket\", \"customer_reply\"]",
    "notify_staff = []",
);
const TRUST_FROM: (&str, &str) = ("trust_from_header = false", "trust_from_header = true");

/// A desk that trusts `Authentication-Results` from `mx.example.test`,
/// holding ticket #1 (opened by NEW_MAIL), plus `extra` overrides.
fn desk_with_ticket(extra: &[(&str, &str)]) -> (tempfile::TempDir, Desk) {
    let mut overrides = vec![OUR_AUTHSERV, NO_STAFF_NOTES];
    overrides.extend_from_slice(extra);
    let (dir, desk) = testutil::desk(&overrides);
    feed(&desk, NEW_MAIL);
    (dir, desk)
}

/// A `#close` reply on #1 sent to the plain support address (no reply
/// token), with `from_lines` as its From field(s) and `results` as its
/// topmost `Authentication-Results` value.
fn close_mail(from_lines: &str, results: &str, id: &str) -> String {
    format!(
        "Authentication-Results: {results}\nReceived: from mx.example.test\n{from_lines}\nTo: support@example.test\nSubject: Re: [#1] Printer jammed\nMessage-ID: <{id}>\nIn-Reply-To: <new-1@customer.test>\n\nDone.\n#close\n"
    )
}

fn staff_close_mail(results: &str, id: &str) -> String {
    close_mail("From: Staff <staff@example.test>", results, id)
}

/// The mail was treated as a customer's: #1 is still open and whatever
/// the mail became was written as a customer comment.
fn assert_not_staff(desk: &Desk, outcome: &Outcome, case: &str) {
    assert!(
        !outcome.rule.split("; ").any(|r| r.starts_with("staff:")),
        "{case}: {}",
        outcome.rule
    );
    assert_eq!(
        desk.ticket(TicketId(1)).unwrap().status,
        Status::Open,
        "{case}: #close must not apply"
    );
    let ticket = outcome.disposition.ticket().expect("stored on a ticket");
    let comments = desk.store.comments(ticket).unwrap();
    let last = comments.last().expect("a comment");
    assert_eq!(last.role, AuthorRole::Customer, "{case}");
}

#[test]
fn forged_authentication_results_never_close_a_ticket() {
    let forgeries = [
        (
            "pass inside a comment",
            "mx.example.test; spf=fail (x;dmarc=pass header.from=example.test) smtp.mailfrom=evil.test",
        ),
        (
            "pass inside a quoted value",
            "mx.example.test; spf=fail smtp.mailfrom=\"x;dmarc=pass header.from=example.test\"@evil.test",
        ),
        (
            "dmarc pass for another domain",
            "mx.example.test; dmarc=pass header.from=evil.test",
        ),
        ("dmarc pass naming no domain", "mx.example.test; dmarc=pass"),
        (
            "dkim pass for another domain, header.i ours",
            "mx.example.test; dkim=pass header.d=evil.test header.i=@example.test",
        ),
        (
            "dkim pass for a domain that only ends like ours",
            "mx.example.test; dkim=pass header.d=ample.test",
        ),
        (
            "a pass from another authserv-id",
            "mx.evil.test; dmarc=pass header.from=example.test",
        ),
    ];
    for (n, (case, results)) in forgeries.into_iter().enumerate() {
        let (_dir, desk) = desk_with_ticket(&[]);
        let outcome = feed(
            &desk,
            &staff_close_mail(results, &format!("forged-{n}@example.test")),
        );
        assert_not_staff(&desk, &outcome, case);
        assert!(
            outcome.rule.contains("staff-address-unverified"),
            "{case}: {}",
            outcome.rule
        );
    }
}

#[test]
fn only_the_topmost_authentication_results_counts() {
    let (_dir, desk) = desk_with_ticket(&[]);
    let raw = staff_close_mail("mx.evil.test; dmarc=none", "below@example.test").replace(
        "Received: from mx.example.test\n",
        "Received: from mx.example.test\nAuthentication-Results: mx.example.test; dmarc=pass header.from=example.test\n",
    );
    let outcome = feed(&desk, &raw);
    assert_not_staff(&desk, &outcome, "a pass below a foreign header");
}

#[test]
fn a_second_from_field_is_never_staff() {
    let two_froms = "From: Eve <eve@evil.test>\nFrom: Staff <staff@example.test>";
    // mail-parser reads the last From field, and its first mailbox: that
    // is the sender ticketd sees, staff or not.
    let cases = [
        (
            "dmarc pass for the first From, staff in the last",
            two_froms,
            "mx.example.test; dmarc=pass header.from=evil.test",
        ),
        (
            "a pass for the staff domain, a second From",
            two_froms,
            "mx.example.test; dmarc=pass header.from=example.test",
        ),
        (
            "two mailboxes in one From field",
            "From: Staff <staff@example.test>, Eve <eve@evil.test>",
            "mx.example.test; dmarc=pass header.from=example.test",
        ),
    ];
    for (n, (case, from_lines, results)) in cases.into_iter().enumerate() {
        let (_dir, desk) = desk_with_ticket(&[]);
        let raw = close_mail(from_lines, results, &format!("two-from-{n}@example.test"));
        let outcome = feed(&desk, &raw);
        assert_not_staff(&desk, &outcome, case);
        assert!(
            outcome
                .rule
                .contains("staff-address-unverified:multiple-from"),
            "{case}: {}",
            outcome.rule
        );
    }
}

#[test]
fn a_second_from_field_is_not_staff_even_when_the_from_line_is_trusted() {
    let (_dir, desk) = desk_with_ticket(&[TRUST_FROM]);
    let raw = close_mail(
        "From: Eve <eve@evil.test>\nFrom: Staff <staff@example.test>",
        "mx.evil.test; none",
        "trusted-two-from@example.test",
    );
    let outcome = feed(&desk, &raw);
    assert_not_staff(&desk, &outcome, "trust_from_header, two From fields");
    assert!(
        outcome
            .rule
            .contains("staff-address-unverified:multiple-from"),
        "{}",
        outcome.rule
    );
}

#[test]
fn a_genuine_pass_from_our_mta_is_staff() {
    let genuine = [
        (
            "dmarc pass for the From domain",
            "mx.example.test 1; spf=pass smtp.mailfrom=example.test; dmarc=pass (p=reject) header.from=Example.Test",
        ),
        (
            "dkim pass for the From domain",
            "MX.example.test; dkim=pass (2048-bit key; secure) header.d=example.test header.s=sel header.b=\"ab/cd+ef\"",
        ),
    ];
    for (n, (case, results)) in genuine.into_iter().enumerate() {
        let (_dir, desk) = desk_with_ticket(&[]);
        let outcome = feed(
            &desk,
            &staff_close_mail(results, &format!("genuine-{n}@example.test")),
        );
        assert!(
            outcome.rule.contains("staff:authentication-results"),
            "{case}: {}",
            outcome.rule
        );
        assert_eq!(
            desk.ticket(TicketId(1)).unwrap().status,
            Status::Closed,
            "{case}"
        );
        let comments = desk.store.comments(TicketId(1)).unwrap();
        assert_eq!(comments.last().unwrap().role, AuthorRole::Staff, "{case}");
    }
}

//! Own loop (rule 1): our loop header, our own Message-ID (and forged or
//! foreign ones that are not ours), X-Loop naming a support address, and
//! mail from a support address, plus-tags included.

use super::{BASE, Case, MailKind, OURS, Setup, rules};
use crate::ingest::classify::classify;
use crate::model::TicketId;
use crate::model::token::ThreadKey;

/// Table rows for rule 1, our own mail coming back.
pub(super) fn cases() -> Vec<Case> {
    use MailKind::*;
    vec![
        // 1. own loop
        Case {
            name: "own loop header",
            headers: &[("x-ticketd-loop", "ticketd")],
            kind: OwnLoop,
            rule: "own-loop:header",
            ..BASE
        },
        Case {
            name: "own loop header, value case-insensitive",
            headers: &[("x-ticketd-loop", "TicketD")],
            kind: OwnLoop,
            rule: "own-loop:header",
            ..BASE
        },
        Case {
            name: "loop header of another instance is not ours",
            headers: &[("x-ticketd-loop", "other-desk")],
            ..BASE
        },
        Case {
            name: "from a support address",
            from: Some("support@example.test"),
            kind: OwnLoop,
            rule: "own-loop:from-support-address",
            ..BASE
        },
        Case {
            name: "from the second support address",
            from: Some("help@example.test"),
            kind: OwnLoop,
            rule: "own-loop:from-support-address",
            ..BASE
        },
        Case {
            name: "same local part, other domain is not ours",
            from: Some("support@customer.test"),
            ..BASE
        },
        Case {
            name: "own loop beats bounce",
            from: Some("support@example.test"),
            headers: &[("x-failed-recipients", "bob@customer.test")],
            kind: OwnLoop,
            rule: "own-loop:from-support-address",
            ..BASE
        },
        Case {
            name: "our own Message-ID (a gateway stripped the loop header)",
            message_id: Some(OURS),
            kind: OwnLoop,
            rule: "own-loop:message-id",
            ..BASE
        },
        Case {
            name: "an id shaped like ours with a forged token is not ours",
            message_id: Some("t1.000000000000.1@example.test"),
            ..BASE
        },
        Case {
            name: "our loop header is named before our Message-ID",
            message_id: Some(OURS),
            headers: &[("x-ticketd-loop", "ticketd")],
            kind: OwnLoop,
            rule: "own-loop:header",
            ..BASE
        },
        Case {
            name: "X-Loop naming a support address",
            headers: &[("x-loop", "support@example.test")],
            kind: OwnLoop,
            rule: "own-loop:x-loop",
            ..BASE
        },
        Case {
            name: "X-Loop naming a support address, bracketed and in other case",
            headers: &[("x-loop", "Help Desk <Help@Example.TEST>")],
            kind: OwnLoop,
            rule: "own-loop:x-loop",
            ..BASE
        },
        Case {
            name: "our loop header after another instance's",
            headers: &[("x-ticketd-loop", "desk-b"), ("x-ticketd-loop", "ticketd")],
            kind: OwnLoop,
            rule: "own-loop:header",
            ..BASE
        },
        Case {
            name: "X-Loop naming a support address after another X-Loop",
            headers: &[
                ("x-loop", "it@customer.test"),
                ("x-loop", "support@example.test"),
            ],
            kind: OwnLoop,
            rule: "own-loop:x-loop",
            ..BASE
        },
        Case {
            name: "X-Loop naming someone else's mailbox is not ours",
            headers: &[("x-loop", "it@customer.test")],
            ..BASE
        },
        Case {
            name: "a plus-tagged support address as sender",
            from: Some("support+t5.abcdef012345@example.test"),
            kind: OwnLoop,
            rule: "own-loop:from-support-address",
            ..BASE
        },
        Case {
            name: "a plus-tagged address of another mailbox is not ours",
            from: Some("sales+news@example.test"),
            ..BASE
        },
    ]
}

/// Another installation's Message-ID with a token made by another key is
/// not ours, even on our domain.
#[test]
fn a_message_id_from_another_key_is_not_our_own() {
    let setup = Setup::new(rules());
    let other = ThreadKey::new(b"another installation's secret".to_vec());
    let mut mail = setup.mail_of(&BASE);
    mail.message_id = Some(other.message_id(TicketId(1), 1, "example.test"));
    assert_eq!(classify(&mail, setup.ctx()).kind, MailKind::Human);
    mail.message_id = Some(setup.own_id().replace("example.test", "elsewhere.test"));
    assert_eq!(
        classify(&mail, setup.ctx()).kind,
        MailKind::Human,
        "our token on another domain"
    );
}

//! The alert matrix: for each event and ticket origin, who gets what.

use std::collections::BTreeSet;

use chrono::Utc;

use super::*;
use crate::model::{Status, TicketId};
use crate::testutil;

fn ticket(origin: Origin) -> Ticket {
    Ticket {
        id: TicketId(1),
        subject: "s".into(),
        status: Status::Open,
        requester: "carol@customer.test".into(),
        origin,
        category: None,
        recipients: BTreeSet::from([
            "carol@customer.test".to_string(),
            "dave@customer.test".to_string(),
        ]),
        created_at: Utc::now(),
        updated_at: Utc::now(),
        closed_at: None,
        comment_count: 1,
        rule: None,
        root_message_id: None,
    }
}

fn comment(author: &str, role: AuthorRole, visibility: Visibility) -> Comment {
    Comment {
        seq: 0,
        author: author.into(),
        role,
        visibility,
        text: "t".into(),
        html: None,
        attachments: vec![],
        source_message: None,
        created_at: Utc::now(),
    }
}

fn summary(intents: &[AlertIntent]) -> Vec<(AlertKind, Vec<&str>)> {
    intents
        .iter()
        .map(|i| (i.kind, i.recipients.iter().map(String::as_str).collect()))
        .collect()
}

/// Expected alerts: kind and recipients, in order.
type Expected<'a> = Vec<(AlertKind, Vec<&'a str>)>;

const BOTH: [&str; 2] = ["carol@customer.test", "dave@customer.test"];

#[test]
fn alert_matrix() {
    let config = testutil::config(&[(
        "notify_staff = [\"new_ticket\", \"customer_reply\"]",
        "notify_staff = []",
    )]);
    let customer_opening = comment(
        "carol@customer.test",
        AuthorRole::Customer,
        Visibility::Public,
    );
    let staff_opening = comment("staff@example.test", AuthorRole::Staff, Visibility::Public);
    let staff_public = comment("staff@example.test", AuthorRole::Staff, Visibility::Public);
    let staff_internal = comment(
        "staff@example.test",
        AuthorRole::Staff,
        Visibility::Internal,
    );
    let customer_reply = comment(
        "dave@customer.test",
        AuthorRole::Customer,
        Visibility::Public,
    );
    let cases: Vec<(&str, Event<'_>, Origin, Expected<'_>)> = vec![
        (
            "customer opens",
            Event::TicketCreated {
                opening: &customer_opening,
            },
            Origin::CustomerEmail,
            vec![(AlertKind::Acknowledgement, vec!["carol@customer.test"])],
        ),
        (
            "staff opens",
            Event::TicketCreated {
                opening: &staff_opening,
            },
            Origin::Staff,
            vec![(AlertKind::NewTicket, BOTH.to_vec())],
        ),
        (
            "api opens",
            Event::TicketCreated {
                opening: &staff_opening,
            },
            Origin::Api,
            vec![(AlertKind::NewTicket, BOTH.to_vec())],
        ),
        (
            "automated opens",
            Event::TicketCreated {
                opening: &customer_opening,
            },
            Origin::AutomatedEmail,
            vec![],
        ),
        (
            "closed",
            Event::TicketClosed { actor: "cli" },
            Origin::CustomerEmail,
            vec![(AlertKind::TicketClosed, BOTH.to_vec())],
        ),
        (
            "closed by a participant",
            Event::TicketClosed {
                actor: "dave@customer.test",
            },
            Origin::Staff,
            vec![(AlertKind::TicketClosed, vec!["carol@customer.test"])],
        ),
        (
            "automated closed",
            Event::TicketClosed { actor: "cli" },
            Origin::AutomatedEmail,
            vec![],
        ),
        (
            "staff public reply",
            Event::CommentAdded {
                comment: &staff_public,
            },
            Origin::CustomerEmail,
            vec![(AlertKind::PublicReply, BOTH.to_vec())],
        ),
        (
            "staff internal note",
            Event::CommentAdded {
                comment: &staff_internal,
            },
            Origin::CustomerEmail,
            vec![],
        ),
        (
            "customer reply",
            Event::CommentAdded {
                comment: &customer_reply,
            },
            Origin::CustomerEmail,
            vec![],
        ),
        (
            "reopened",
            Event::TicketReopened,
            Origin::CustomerEmail,
            vec![],
        ),
    ];
    for (name, event, origin, expected) in cases {
        let got = alerts_for(event, &ticket(origin), &config);
        assert_eq!(summary(&got), expected, "case: {name}");
    }
}

#[test]
fn staff_notifications_follow_config_and_skip_the_actor() {
    let config = testutil::config(&[]);
    let opening = comment(
        "carol@customer.test",
        AuthorRole::Customer,
        Visibility::Public,
    );
    let got = alerts_for(
        Event::TicketCreated { opening: &opening },
        &ticket(Origin::CustomerEmail),
        &config,
    );
    assert_eq!(
        summary(&got),
        [
            (AlertKind::Acknowledgement, vec!["carol@customer.test"]),
            (AlertKind::StaffNotification, vec!["staff@example.test"])
        ]
    );
    assert!(got[1].to_staff && !got[0].to_staff);
    let reply = comment(
        "dave@customer.test",
        AuthorRole::Customer,
        Visibility::Public,
    );
    let got = alerts_for(
        Event::CommentAdded { comment: &reply },
        &ticket(Origin::CustomerEmail),
        &config,
    );
    assert_eq!(
        summary(&got),
        [(AlertKind::StaffNotification, vec!["staff@example.test"])]
    );
    let auto = alerts_for(
        Event::TicketCreated { opening: &opening },
        &ticket(Origin::AutomatedEmail),
        &config,
    );
    assert!(
        auto.is_empty(),
        "automated_ticket is not in the example's notify_staff"
    );
}

#[test]
fn staff_and_support_addresses_never_get_customer_alerts() {
    let config = testutil::config(&[]);
    let mut t = ticket(Origin::Staff);
    t.recipients.insert("staff@example.test".into());
    t.recipients.insert("support+t1.abc@example.test".into());
    let got = alerts_for(Event::TicketClosed { actor: "cli" }, &t, &config);
    assert_eq!(summary(&got), [(AlertKind::TicketClosed, BOTH.to_vec())]);
}

#[test]
fn only_relayed_replies_are_not_automatic() {
    for kind in [
        AlertKind::Acknowledgement,
        AlertKind::NewTicket,
        AlertKind::TicketClosed,
        AlertKind::StaffNotification,
    ] {
        assert!(
            kind.is_automatic() && kind.auto_submitted().is_some(),
            "{kind:?}"
        );
    }
    assert_eq!(
        AlertKind::Acknowledgement.auto_submitted(),
        Some("auto-replied")
    );
    assert!(!AlertKind::PublicReply.is_automatic());
    assert_eq!(AlertKind::PublicReply.auto_submitted(), None);
}

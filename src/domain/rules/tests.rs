//! The alert matrix: for each event and ticket origin, who gets what and
//! which rule decided it.

use std::collections::BTreeSet;

use chrono::Utc;

use super::*;
use crate::model::outbox::AlertKind;
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
        event_count: 1,
        delivery: Default::default(),
        links: Default::default(),
        correlation: None,
        recipients_unconfirmed: false,
        not_added: None,
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
        unproven_staff: false,
    }
}

fn event(kind: EventKind, actor: &str) -> TicketEvent {
    TicketEvent {
        seq: 0,
        at: Utc::now(),
        actor: actor.into(),
        kind,
    }
}

/// Expected alerts: rule, kind and recipients, in order.
type Expected<'a> = Vec<(&'a str, AlertKind, Vec<&'a str>)>;

fn run(
    config: &Config,
    origin: Origin,
    e: &TicketEvent,
    c: Option<&Comment>,
) -> Vec<(String, AlertKind, Vec<String>)> {
    let t = ticket(origin);
    let ctx = EventContext {
        ticket: &t,
        event: e,
        comment: c,
        config,
    };
    evaluate(&ctx)
        .into_iter()
        .map(|action| match action {
            Action::Notify(i) => (i.rule, i.kind, i.recipients),
            Action::Hold { .. } => panic!("nothing is held without bounces: {action:?}"),
        })
        .collect()
}

/// The built-in rules of `ctx.config` on one event.
fn evaluate(ctx: &EventContext<'_>) -> Vec<Action> {
    RuleSet::from_config(ctx.config).evaluate(ctx)
}

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
    let created = |actor: &str| event(EventKind::Created, actor);
    let commented = |actor: &str| event(EventKind::Commented { comment: 0 }, actor);
    let cases: Vec<(&str, TicketEvent, Option<&Comment>, Origin, Expected<'_>)> = vec![
        (
            "customer opens",
            created("carol@customer.test"),
            Some(&customer_opening),
            Origin::CustomerEmail,
            vec![(
                "acknowledge-customer",
                AlertKind::ACKNOWLEDGEMENT,
                vec!["carol@customer.test"],
            )],
        ),
        (
            "staff opens",
            created("cli"),
            Some(&staff_public),
            Origin::Staff,
            vec![("announce-new-ticket", AlertKind::NEW_TICKET, BOTH.to_vec())],
        ),
        (
            "api opens",
            created("api"),
            Some(&staff_public),
            Origin::Api,
            vec![("announce-new-ticket", AlertKind::NEW_TICKET, BOTH.to_vec())],
        ),
        (
            "staff opens on behalf of a recipient",
            created("dave@customer.test"),
            Some(&staff_public),
            Origin::Staff,
            vec![(
                "announce-new-ticket",
                AlertKind::NEW_TICKET,
                vec!["carol@customer.test"],
            )],
        ),
        (
            "automated opens",
            created("nagios@x.test"),
            Some(&customer_opening),
            Origin::AutomatedEmail,
            vec![],
        ),
        (
            "closed",
            event(EventKind::Closed, "cli"),
            None,
            Origin::CustomerEmail,
            vec![("announce-closure", AlertKind::TICKET_CLOSED, BOTH.to_vec())],
        ),
        (
            "closed by a participant",
            event(EventKind::Closed, "dave@customer.test"),
            None,
            Origin::Staff,
            vec![(
                "announce-closure",
                AlertKind::TICKET_CLOSED,
                vec!["carol@customer.test"],
            )],
        ),
        (
            "automated closed",
            event(EventKind::Closed, "cli"),
            None,
            Origin::AutomatedEmail,
            vec![],
        ),
        (
            "staff public reply",
            commented("staff@example.test"),
            Some(&staff_public),
            Origin::CustomerEmail,
            vec![("relay-public-reply", AlertKind::PUBLIC_REPLY, BOTH.to_vec())],
        ),
        (
            "staff internal note",
            commented("staff@example.test"),
            Some(&staff_internal),
            Origin::CustomerEmail,
            vec![],
        ),
        (
            "customer reply",
            commented("dave@customer.test"),
            Some(&customer_reply),
            Origin::CustomerEmail,
            vec![],
        ),
        (
            "reopened",
            event(EventKind::Reopened, "carol@customer.test"),
            None,
            Origin::CustomerEmail,
            vec![],
        ),
        (
            "recipient added",
            event(
                EventKind::RecipientAdded {
                    address: "x@y.test".into(),
                },
                "cli",
            ),
            None,
            Origin::CustomerEmail,
            vec![],
        ),
    ];
    for (name, e, c, origin, expected) in cases {
        let got = run(&config, origin, &e, c);
        let expected: Vec<(String, AlertKind, Vec<String>)> = expected
            .into_iter()
            .map(|(r, k, to)| (r.to_string(), k, to.into_iter().map(String::from).collect()))
            .collect();
        assert_eq!(got, expected, "case: {name}");
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
    let created = event(EventKind::Created, "carol@customer.test");
    let got = run(&config, Origin::CustomerEmail, &created, Some(&opening));
    let kinds: Vec<(&str, AlertKind)> = got
        .iter()
        .map(|(r, k, _)| (r.as_str(), k.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("acknowledge-customer", AlertKind::ACKNOWLEDGEMENT),
            ("notify-staff", AlertKind::STAFF_NOTIFICATION)
        ]
    );
    assert_eq!(got[1].2, ["staff@example.test"]);
    let reply = comment(
        "dave@customer.test",
        AuthorRole::Customer,
        Visibility::Public,
    );
    let got = run(
        &config,
        Origin::CustomerEmail,
        &event(EventKind::Commented { comment: 1 }, "dave@customer.test"),
        Some(&reply),
    );
    assert_eq!(
        got,
        [(
            "notify-staff".to_string(),
            AlertKind::STAFF_NOTIFICATION,
            vec!["staff@example.test".to_string()]
        )]
    );
    let auto = run(&config, Origin::AutomatedEmail, &created, Some(&opening));
    assert!(
        auto.is_empty(),
        "automated_ticket is not in the example's notify_staff"
    );
    let by_staff = comment("staff@example.test", AuthorRole::Staff, Visibility::Public);
    let own = run(
        &config,
        Origin::Staff,
        &event(EventKind::Created, "staff@example.test"),
        Some(&by_staff),
    );
    assert!(
        own.iter()
            .all(|(_, k, _)| *k != AlertKind::STAFF_NOTIFICATION)
    );
}

#[test]
fn staff_and_support_addresses_never_get_customer_alerts() {
    let config = testutil::config(&[]);
    let mut t = ticket(Origin::Staff);
    t.recipients.insert("staff@example.test".into());
    t.recipients.insert("support+t1.abc@example.test".into());
    t.recipients.insert("not-an-address".into());
    let e = event(EventKind::Closed, "cli");
    let got = evaluate(&EventContext {
        ticket: &t,
        event: &e,
        comment: None,
        config: &config,
    });
    let Some(Action::Notify(intent)) = got.first() else {
        panic!("{got:?}")
    };
    assert_eq!(intent.recipients, BOTH);
}

#[test]
fn only_relayed_replies_are_not_automatic() {
    let config = testutil::config(&[]);
    let rules = RuleSet::from_config(&config);
    for rule in rules.rules() {
        for ActionSpec::Notify { kind, mode, .. } in &rule.then {
            let relayed = *kind == AlertKind::PUBLIC_REPLY;
            assert_eq!(mode.is_automatic(), !relayed, "{}", rule.name);
            assert_eq!(mode.auto_submitted().is_none(), relayed, "{}", rule.name);
            if *kind == AlertKind::ACKNOWLEDGEMENT {
                assert_eq!(mode.auto_submitted(), Some("auto-replied"));
            }
        }
    }
}

fn hard_bounce(address: &str) -> crate::model::RecipientDelivery {
    let problem = crate::model::DeliveryProblem {
        at: Utc::now(),
        kind: crate::model::BounceKind::Hard,
        status: Some("5.1.1".into()),
        diagnostic: Some("user unknown".into()),
        outbox_item: Some(7),
    };
    let state = crate::model::RecipientDelivery::after(None, problem, 3);
    assert!(state.is_failing(), "{address}: a hard bounce stops mail");
    state
}

#[test]
fn alerts_to_a_failing_recipient_are_held_with_the_bounce_as_reason() {
    let config = testutil::config(&[]);
    let mut t = ticket(Origin::Staff);
    t.delivery.insert(
        "dave@customer.test".into(),
        hard_bounce("dave@customer.test"),
    );
    let closed = event(EventKind::Closed, "cli");
    let got = evaluate(&EventContext {
        ticket: &t,
        event: &closed,
        comment: None,
        config: &config,
    });
    let [Action::Notify(sent), Action::Hold { intent, reason }] = got.as_slice() else {
        panic!("expected one alert and one held alert: {got:?}")
    };
    assert_eq!(sent.recipients, ["carol@customer.test"]);
    assert_eq!(
        (
            intent.kind.clone(),
            intent.rule.as_str(),
            intent.recipients.as_slice()
        ),
        (
            AlertKind::TICKET_CLOSED,
            "announce-closure",
            ["dave@customer.test".to_string()].as_slice()
        )
    );
    assert!(
        reason.starts_with("recipient-failing: hard bounce 5.1.1")
            && reason.contains("(alert 7)")
            && reason.contains("ticketd recipients reset 1 dave@customer.test"),
        "{reason}"
    );
}

#[test]
fn a_soft_bounce_below_the_limit_holds_nothing_and_staff_are_never_held() {
    let config = testutil::config(&[]);
    let mut t = ticket(Origin::CustomerEmail);
    let soft = crate::model::DeliveryProblem {
        at: Utc::now(),
        kind: crate::model::BounceKind::Soft,
        status: Some("4.2.2".into()),
        diagnostic: None,
        outbox_item: None,
    };
    t.delivery.insert(
        "carol@customer.test".into(),
        crate::model::RecipientDelivery::after(None, soft, 3),
    );
    t.delivery.insert(
        "staff@example.test".into(),
        hard_bounce("staff@example.test"),
    );
    let opening = comment(
        "carol@customer.test",
        AuthorRole::Customer,
        Visibility::Public,
    );
    let created = event(EventKind::Created, "carol@customer.test");
    let got = evaluate(&EventContext {
        ticket: &t,
        event: &created,
        comment: Some(&opening),
        config: &config,
    });
    assert!(
        got.iter().all(|a| matches!(a, Action::Notify(_))),
        "{got:?}"
    );
    assert_eq!(got.len(), 2, "acknowledgement and staff notification");
}

#[test]
fn a_customer_comment_on_a_closed_ticket_notifies_nobody() {
    let config = testutil::config(&[]);
    let mut t = ticket(Origin::CustomerEmail);
    t.status = Status::Closed;
    let thanks = comment(
        "carol@customer.test",
        AuthorRole::Customer,
        Visibility::Public,
    );
    let e = event(EventKind::Commented { comment: 3 }, "carol@customer.test");
    let got = evaluate(&EventContext {
        ticket: &t,
        event: &e,
        comment: Some(&thanks),
        config: &config,
    });
    assert!(got.is_empty(), "{got:?}");
    t.status = Status::Open;
    let got = evaluate(&EventContext {
        ticket: &t,
        event: &e,
        comment: Some(&thanks),
        config: &config,
    });
    assert_eq!(got.len(), 1, "open: staff hear about it");
}

//! The whole story over real mail (new mail, acknowledgement, customer
//! reply, staff `#close`), and an out-of-office reply that makes nothing.

use super::{
    ALICE, CUSTOMER, STAFF, SUPPORT, Scene, assert_each_arrived_once, items_for, outcomes, records,
    reply_to, scene, wait_all_sent, wait_for_records,
};
use crate::mailstack::DEADLINE;
use crate::util::{Daemon, array, mail, poll_until};

#[test]
fn a_conversation_over_real_mail() {
    let Some(Scene {
        _turn,
        stack,
        instance,
        env,
    }) = scene("conversation")
    else {
        return;
    };
    let daemon = Daemon::start(&env);

    // 1. A customer writes in (Cc Alice): a ticket, and the
    //    acknowledgement arrives threaded under the customer's mail.
    let first = mail(
        &[
            ("From", "Carla Customer <customer@example.test>"),
            ("To", SUPPORT),
            ("Cc", ALICE),
            ("Subject", "Printer on fire"),
            ("Message-ID", "<first@customer.example.test>"),
        ],
        "The printer on floor 2 is on fire.",
    );
    stack.send(CUSTOMER, &[SUPPORT], &first);
    let acks = stack.wait_for(&instance, CUSTOMER, 1);
    let ack = &acks[0];
    assert!(
        ack.subject
            .contains("[#1] We received your request: Printer on fire"),
        "{ack:#?}"
    );
    assert_eq!(ack.in_reply_to, ["first@customer.example.test"], "{ack:#?}");
    let references = ack.header("References").unwrap_or_default();
    assert!(
        references.contains("<first@customer.example.test>"),
        "{ack:#?}"
    );
    assert!(reply_to(ack).starts_with("support+t1."), "{ack:#?}");
    let tickets = env.tickets();
    assert_eq!(tickets.len(), 1, "{tickets:#?}");
    assert_eq!(
        stack.count(SUPPORT, "INBOX"),
        0,
        "processed mail leaves INBOX"
    );
    assert_eq!(stack.count(SUPPORT, "Processed"), 1);

    // 2. The customer replies the way a mail client does: to Reply-To,
    //    with In-Reply-To/References, "Re:" and the quote. A comment, and
    //    nothing goes back to the customer (staff are told).
    let ack_id = ack.message_id.clone().expect("the ack has a Message-ID");
    let reply = mail(
        &[
            ("From", "Carla Customer <customer@example.test>"),
            ("To", reply_to(ack)),
            ("Subject", &format!("Re: {}", ack.subject)),
            ("Message-ID", "<second@customer.example.test>"),
            ("In-Reply-To", &format!("<{ack_id}>")),
            (
                "References",
                &format!("<first@customer.example.test> <{ack_id}>"),
            ),
        ],
        "Now the scanner is smoking too.\n\nOn Mon, 2 Mar 2026, Support wrote:\n> We received your request.\n> Printer on fire",
    );
    stack.send(CUSTOMER, &[reply_to(ack)], &reply);
    let staff_mails = stack.wait_for(&instance, STAFF, 2);
    let detail = env.ticket(1);
    let comments = array(&detail["comments"]);
    assert_eq!(comments.len(), 2, "{detail:#}");
    let text = comments[1]["text"].as_str().unwrap_or_default();
    assert!(text.contains("scanner is smoking"), "{detail:#}");
    assert!(
        !text.contains("We received your request"),
        "quote kept: {detail:#}"
    );
    let items = wait_all_sent(&env);
    assert_eq!(
        items_for(&items, CUSTOMER).len(),
        1,
        "only the ack: {items:#?}"
    );

    // 3. Staff answer the notification with #close: the ticket closes and
    //    each external recipient gets the closed alert, once.
    let notification = staff_mails
        .iter()
        .find(|m| m.text.contains("scanner is smoking"))
        .expect("a staff notification of the reply");
    let close = mail(
        &[
            ("From", "Sam Staff <staff@example.test>"),
            ("To", reply_to(notification)),
            ("Subject", &format!("Re: {}", notification.subject)),
            ("Message-ID", "<close@staff.example.test>"),
            (
                "In-Reply-To",
                &format!("<{}>", notification.message_id.clone().unwrap_or_default()),
            ),
        ],
        "#close\nThe fire brigade has been. Both devices are replaced.",
    );
    stack.send(STAFF, &[reply_to(notification)], &close);
    poll_until("ticket 1 to close", DEADLINE, || {
        (env.ticket(1)["ticket"]["status"] == "closed").then_some(())
    });
    let items = wait_all_sent(&env);
    for user in [CUSTOMER, ALICE] {
        let mails = assert_each_arrived_once(&stack, &instance, &items, user);
        let closed: Vec<_> = mails
            .iter()
            .filter(|m| m.subject.contains("[#1] Closed"))
            .collect();
        assert_eq!(closed.len(), 1, "{user}: {mails:#?}");
    }
    assert_eq!(
        outcomes(&env).get("comment"),
        Some(&2),
        "{:#?}",
        records(&env)
    );
    let status = daemon.terminate();
    assert!(status.success(), "ticketd serve exited with {status}");
}

#[test]
fn an_out_of_office_reply_to_the_acknowledgement_makes_no_ticket_and_no_mail() {
    let Some(Scene {
        _turn,
        stack,
        instance,
        env,
    }) = scene("ooo")
    else {
        return;
    };
    let _daemon = Daemon::start(&env);
    let request = mail(
        &[
            ("From", CUSTOMER),
            ("To", SUPPORT),
            ("Subject", "VPN down"),
            ("Message-ID", "<vpn@customer.example.test>"),
        ],
        "The VPN does not connect.",
    );
    stack.send(CUSTOMER, &[SUPPORT], &request);
    let ack = stack.wait_for(&instance, CUSTOMER, 1).remove(0);
    let ooo = mail(
        &[
            ("From", CUSTOMER),
            ("To", reply_to(&ack)),
            ("Subject", &format!("Automatic reply: {}", ack.subject)),
            ("Auto-Submitted", "auto-replied"),
            ("X-Auto-Response-Suppress", "All"),
            (
                "In-Reply-To",
                &format!("<{}>", ack.message_id.clone().unwrap_or_default()),
            ),
            ("Message-ID", "<ooo@customer.example.test>"),
        ],
        "I am out of the office until Monday.",
    );
    stack.send(CUSTOMER, &[reply_to(&ack)], &ooo);
    wait_for_records(&env, 2);
    let counts = outcomes(&env);
    assert_eq!(counts.get("new_ticket"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("ignored"), Some(&1), "{counts:?}");
    let items = wait_all_sent(&env);
    assert_each_arrived_once(&stack, &instance, &items, CUSTOMER);
    assert_eq!(items_for(&items, CUSTOMER).len(), 1, "{items:#?}");
    assert_eq!(env.ticket(1)["comments"].as_array().map(Vec::len), Some(1));
}

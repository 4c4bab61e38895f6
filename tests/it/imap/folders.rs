//! What happens in the folders: poisoned messages go to Quarantine without
//! blocking the mailbox; read (`\Seen`) mail is ingested and flagged in
//! place, and a UIDVALIDITY change duplicates nothing.

use std::time::Duration;

use super::{
    Backlog, CUSTOMER, SUPPORT, Scene, assert_each_arrived_once, clean, items_for, outcomes, scene,
    wait_all_sent, wait_for_records,
};
use crate::mailstack::{DEADLINE, MailStack, instance_name, take_turn};
use crate::util::{Daemon, mail, poll_until, set};

#[test]
fn poisoned_messages_are_quarantined_and_never_block_the_mailbox() {
    let _turn = take_turn();
    let Some(stack) = MailStack::find() else {
        return;
    };
    clean(&stack);
    stack.empty(SUPPORT, "Quarantine");
    let instance = instance_name("poison");
    let env = stack.imap_env(&instance, SUPPORT);
    let mut env = env;
    env.edit_config(|c| set(c, "inbound.max_message_bytes", 4096));
    let good = |n: usize| {
        mail(
            &[
                ("From", CUSTOMER),
                ("To", SUPPORT),
                ("Subject", &format!("Good {n}")),
            ],
            "Fine.",
        )
    };
    let huge = mail(
        &[("From", CUSTOMER), ("To", SUPPORT), ("Subject", "Huge")],
        &"x".repeat(10_000),
    );
    stack.append(SUPPORT, "INBOX", &[good(1), huge, good(2)], false);
    let _daemon = Daemon::start(&env);
    wait_for_records(&env, 3);
    let counts = outcomes(&env);
    assert_eq!(counts.get("new_ticket"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("quarantined"), Some(&1), "{counts:?}");
    poll_until("the mailbox to be sorted", DEADLINE, || {
        (stack.count(SUPPORT, "INBOX") == 0 && stack.count(SUPPORT, "Quarantine") == 1)
            .then_some(())
    });
    assert_eq!(stack.count(SUPPORT, "Processed"), 2);
    let quarantined = env.json(&["messages", "list"]);
    let reason = quarantined["messages"][0]["disposition"]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        reason.contains("exceeds inbound.max_message_bytes"),
        "{quarantined:#}"
    );
    let health = env.json(&["health"]);
    assert_eq!(health["quarantined"], 1, "{health:#}");
}

/// Mail already read in webmail (`\Seen`) is ingested; `on_processed =
/// "flag"` leaves it in place; a new UIDVALIDITY (the folder was
/// recreated) re-reads the folder without a duplicate ticket or alert.
#[test]
fn seen_mail_is_ingested_and_a_uidvalidity_change_duplicates_nothing() {
    let Some(Scene {
        _turn,
        stack,
        instance,
        mut env,
    }) = scene("uidvalidity")
    else {
        return;
    };
    MailStack::edit_mailbox(&mut env, "folder", "Tickets");
    MailStack::edit_mailbox(&mut env, "on_processed", "flag");
    MailStack::edit_mailbox(&mut env, "processed_flag", "$Ticketd");
    recreate_folder(&stack, "Tickets");
    stack.append(SUPPORT, "Tickets", &Backlog::new("seen", 2).messages, true);

    let daemon = Daemon::start(&env);
    wait_for_records(&env, 2);
    assert_eq!(stack.count(SUPPORT, "Tickets"), 2, "flagged, not moved");
    // A graceful stop: a SIGKILL could land in RFC 1047's window of an
    // acknowledgement being sent (see sigkill_while_sending_loses_no_alert).
    let status = daemon.terminate();
    assert!(status.success(), "{status}");

    recreate_folder(&stack, "Tickets");
    stack.append(SUPPORT, "Tickets", &Backlog::new("seen", 3).messages, true);
    let daemon = Daemon::start(&env);
    wait_for_records(&env, 3);
    assert!(
        daemon.log().contains("UIDVALIDITY changed"),
        "{}",
        daemon.log()
    );
    let counts = outcomes(&env);
    assert_eq!(counts.get("new_ticket"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("comment"), Some(&1), "{counts:?}");
    let items = wait_all_sent(&env);
    assert_eq!(
        items_for(&items, CUSTOMER).len(),
        2,
        "one ack per ticket: {items:#?}"
    );
    assert_each_arrived_once(&stack, &instance, &items, CUSTOMER);
}

fn recreate_folder(stack: &MailStack, folder: &str) {
    stack
        .doveadm(&["mailbox", "delete", "-u", SUPPORT, "-s", folder])
        .ok();
    stack
        .doveadm(&["mailbox", "create", "-u", SUPPORT, folder])
        .unwrap_or_else(|e| panic!("creating {folder}: {e}"));
    std::thread::sleep(Duration::from_millis(1100)); // UIDVALIDITY is a timestamp
}

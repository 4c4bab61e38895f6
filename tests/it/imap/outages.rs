//! Outages of the mail stack: Postfix down while alerts wait, and a
//! Dovecot restart under an idling daemon.

use super::{
    Backlog, CUSTOMER, SUPPORT, Scene, assert_each_arrived_once, items_for, mailbox_health,
    records, scene, wait_all_sent, wait_for_records,
};
use crate::mailstack::{DEADLINE, MailStack};
use crate::util::{Daemon, mail, poll_until};

/// Restarts Postfix when dropped, so a failing test leaves it running.
struct PostfixDown<'a>(&'a MailStack);

impl Drop for PostfixDown<'_> {
    fn drop(&mut self) {
        self.0.postfix("start");
    }
}

#[test]
fn alerts_wait_while_the_smtp_server_is_down_then_arrive_once() {
    let Some(Scene {
        _turn,
        stack,
        instance,
        env,
    }) = scene("smtp-down")
    else {
        return;
    };
    let _daemon = Daemon::start(&env);
    stack.postfix("stop");
    let down = PostfixDown(&stack);
    let backlog = Backlog::new("down", 9);
    let new_tickets = backlog.new_tickets();
    stack.append(SUPPORT, "INBOX", &backlog.messages, false);
    wait_for_records(&env, backlog.messages.len());
    poll_until("failed delivery attempts", DEADLINE, || {
        let items = env.outbox();
        (items.len() >= new_tickets
            && items
                .iter()
                .all(|i| i["status"]["state"] == "pending" && i["attempts"].as_u64() >= Some(1)))
        .then_some(())
    });
    drop(down);
    let items = wait_all_sent(&env);
    for (user, acks) in &backlog.new_per_user {
        assert_eq!(items_for(&items, user).len(), *acks, "{user}");
        assert_each_arrived_once(&stack, &instance, &items, user);
    }
}

/// Dovecot restarts under an idling daemon: it reconnects by itself and
/// mail that arrived meanwhile is taken once.
#[test]
fn a_dovecot_restart_while_idling_is_survived() {
    let Some(Scene {
        _turn,
        stack,
        instance,
        env,
    }) = scene("dovecot-restart")
    else {
        return;
    };
    let mut daemon = Daemon::start(&env);
    poll_until("the daemon to idle", DEADLINE, || {
        (mailbox_health(&env)["state"] == "idle").then_some(())
    });
    stack.restart_dovecot();
    let request = mail(
        &[
            ("From", CUSTOMER),
            ("To", SUPPORT),
            ("Subject", "After the restart"),
        ],
        "Hello again.",
    );
    stack.send(CUSTOMER, &[SUPPORT], &request);
    let acks = stack.wait_for(&instance, CUSTOMER, 1);
    assert!(acks[0].subject.contains("After the restart"), "{acks:#?}");
    let health = poll_until("the mailbox to be healthy", DEADLINE, || {
        let h = mailbox_health(&env);
        (h["state"] == "idle" && h["consecutive_errors"] == 0).then_some(h)
    });
    assert!(health["last_fetch_at"].is_string(), "{health:#}");
    assert!(
        health["last_error"].is_string(),
        "the drop was noticed: {health:#}"
    );
    assert_eq!(records(&env).len(), 1);
    daemon.assert_running();
}

//! Crashes and stops: SIGKILLs at random moments of a backlog, a SIGKILL
//! while sending, and a SIGTERM mid-backlog followed by a restart.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use super::{
    Backlog, CUSTOMER, SUPPORT, Scene, assert_each_arrived_once, items_for, outcomes, records,
    scene, wait_all_sent, wait_for_records,
};
use crate::mailstack::{DEADLINE, MailStack};
use crate::util::{Daemon, free_port, poll_until, set};

/// The seed of a random fault test: `TICKETD_FAULT_SEED`, else a fresh
/// one. Printed, so a failure can be replayed.
fn fault_seed() -> u64 {
    let seed = std::env::var("TICKETD_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("fault seed: TICKETD_FAULT_SEED={seed}");
    seed
}

fn kill9(daemon: &Daemon) {
    let status = Command::new("kill")
        .args(["-KILL", &daemon.pid().to_string()])
        .status()
        .expect("running kill");
    assert!(status.success());
}

/// Ingest is exactly once across SIGKILLs at random moments of a backlog:
/// the daemon is killed in five rounds, each at a random point of the
/// next stretch of the backlog plus a random few milliseconds (so a kill
/// lands mid-fetch, mid-ingest, mid-flush or mid-move), and restarted each
/// time. Its SMTP server is unreachable until the last start, so every
/// alert was queued (never sent) before a kill: each must arrive exactly
/// once. `TICKETD_FAULT_SEED` replays a run (the seed is printed).
#[test]
fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let Some(Scene {
        _turn,
        stack,
        instance,
        mut env,
    }) = scene("sigkill")
    else {
        return;
    };
    env.edit_config(|c| {
        set(c, "alerts.rate_limit_max", 1000);
        set(c, "outbound.smtp.port", i64::from(free_port()));
    });
    MailStack::edit_mailbox(&mut env, "batch_size", 10);
    let backlog = Backlog::new("kill", 400);
    let (messages, new_tickets) = (&backlog.messages, backlog.new_tickets());
    stack.append(SUPPORT, "INBOX", messages, false);

    let seed = fault_seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    const ROUNDS: usize = 5;
    let (mut stored_before, mut processed_before) = (0, 0);
    for round in 0..ROUNDS {
        let stretch = (messages.len() - processed_before) / (ROUNDS - round + 1);
        let threshold = processed_before + 1 + rng.usize(..stretch.max(1));
        let daemon = Daemon::start(&env);
        let deadline = Instant::now() + DEADLINE;
        while stack.count(SUPPORT, "Processed") < threshold {
            assert!(
                Instant::now() < deadline,
                "no progress in round {round} (seed {seed})"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(rng.u64(..30)));
        kill9(&daemon);
        drop(daemon);
        let stored = records(&env).len();
        assert!(
            stored >= stored_before,
            "stored messages went missing (seed {seed})"
        );
        assert!(
            stored < messages.len(),
            "kill {round} came too late to test anything (seed {seed})"
        );
        (stored_before, processed_before) = (stored, stack.count(SUPPORT, "Processed"));
    }

    env.edit_config(|c| set(c, "outbound.smtp.port", i64::from(stack.smtp_port)));
    let daemon = Daemon::start(&env);
    wait_for_records(&env, messages.len());
    let counts = outcomes(&env);
    assert_eq!(counts.get("new_ticket"), Some(&new_tickets), "{counts:?}");
    assert_eq!(
        counts.get("comment"),
        Some(&(messages.len() - new_tickets)),
        "{counts:?}"
    );
    assert_eq!(records(&env).len(), messages.len());
    poll_until("INBOX to be empty", DEADLINE, || {
        (stack.count(SUPPORT, "INBOX") == 0).then_some(())
    });
    assert_eq!(stack.count(SUPPORT, "Processed"), messages.len());
    let items = wait_all_sent(&env);
    for (user, acks) in &backlog.new_per_user {
        assert_eq!(items_for(&items, user).len(), *acks, "{user}");
        assert_each_arrived_once(&stack, &instance, &items, user);
    }
    drop(daemon);
}

/// A SIGKILL while alerts go out loses none. RFC 1047's window remains:
/// a send the server accepted just before the kill, but not yet recorded
/// as sent, goes again after the restart, with the same Message-ID.
#[test]
fn sigkill_while_sending_loses_no_alert() {
    let Some(Scene {
        _turn,
        stack,
        instance,
        mut env,
    }) = scene("sigkill-send")
    else {
        return;
    };
    env.edit_config(|c| set(c, "alerts.rate_limit_max", 1000));
    let backlog = Backlog::new("send", 90);
    let messages = &backlog.messages;
    stack.append(SUPPORT, "INBOX", messages, false);
    let daemon = Daemon::start(&env);
    poll_until("some alerts to be sent", DEADLINE, || {
        (stack.mails(&instance, CUSTOMER).len() >= 3).then_some(())
    });
    kill9(&daemon);
    drop(daemon);

    let _daemon = Daemon::start(&env);
    wait_for_records(&env, messages.len());
    let items = wait_all_sent(&env);
    let mut duplicates = 0;
    for (user, acks) in &backlog.new_per_user {
        let expected: BTreeSet<String> = items_for(&items, user)
            .iter()
            .filter_map(|i| i["message_id"].as_str().map(str::to_string))
            .collect();
        assert_eq!(expected.len(), *acks, "{user}");
        let mails = poll_until("every alert to arrive", DEADLINE, || {
            let mails = stack.mails(&instance, user);
            let ids: BTreeSet<String> = mails.iter().filter_map(|m| m.message_id.clone()).collect();
            (ids == expected).then_some(mails)
        });
        duplicates += mails.len() - expected.len();
    }
    assert!(
        duplicates <= 1,
        "{duplicates} alerts arrived twice after one kill"
    );
}

/// SIGTERM in the middle of a backlog: the daemon finishes the batch in
/// flight and exits 0 within seconds; a restart takes the rest, and every
/// message is stored exactly once.
#[test]
fn sigterm_mid_backlog_exits_cleanly_and_a_restart_resumes() {
    let Some(Scene {
        _turn,
        stack,
        instance,
        mut env,
    }) = scene("sigterm")
    else {
        return;
    };
    env.edit_config(|c| set(c, "alerts.rate_limit_max", 1000));
    MailStack::edit_mailbox(&mut env, "batch_size", 10);
    let backlog = Backlog::new("term", 120);
    stack.append(SUPPORT, "INBOX", &backlog.messages, false);
    let daemon = Daemon::start(&env);
    poll_until("part of the backlog to be stored", DEADLINE, || {
        (stack.count(SUPPORT, "Processed") >= 20).then_some(())
    });
    let status = daemon.terminate();
    assert!(status.success(), "ticketd serve exited with {status}");
    let stored = records(&env).len();
    let processed = stack.count(SUPPORT, "Processed");
    assert_eq!(
        processed, stored,
        "every stored message, and only those, left INBOX"
    );

    let _daemon = Daemon::start(&env);
    wait_for_records(&env, backlog.messages.len());
    let counts = outcomes(&env);
    assert_eq!(
        counts.get("new_ticket"),
        Some(&backlog.new_tickets()),
        "{counts:?}"
    );
    let items = wait_all_sent(&env);
    for (user, acks) in &backlog.new_per_user {
        assert_eq!(items_for(&items, user).len(), *acks, "{user}");
        assert_each_arrived_once(&stack, &instance, &items, user);
    }
}

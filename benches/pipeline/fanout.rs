//! **fanout**: one event that alerts many recipients, in process: the time
//! to close a ticket with N recipients (N alerts queued, each through the
//! loop guard's rate checks, in one durable write) at two sizes. Per-recipient time that stays
//! flat as N grows means the checks are O(1) per recipient; it grew with
//! N while a rate read scanned every write pending in the commit.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use ticketd::domain::workflow::{CommentDraft, TicketDraft};
use ticketd::face::App;
use ticketd::model::{AuthorRole, Origin, Visibility};

use crate::scenarios::{Row, judged, row};
use crate::stack::Stack;
use crate::ticketd::{Install, Outbound};

/// Runs the scenario at `small` and `large` recipients.
pub fn fanout(stack: &Stack, work: &Path, small: usize, large: usize) -> anyhow::Result<Vec<Row>> {
    let per_small = close_time_per_recipient(stack, work, small)?;
    let per_large = close_time_per_recipient(stack, work, large)?;
    let ratio = per_large / per_small;
    Ok(vec![
        row(
            "fanout",
            &format!("close with {small} recipients, per recipient"),
            per_small,
            "us",
        ),
        row(
            "fanout",
            &format!("close with {large} recipients, per recipient"),
            per_large,
            "us",
        ),
        judged(
            row(
                "fanout",
                &format!("per-recipient time at {large} / at {small}"),
                ratio,
                "x",
            ),
            "<= 2",
            ratio <= 2.0,
        ),
    ])
}

/// Microseconds per recipient to close a ticket with `n` outside
/// recipients, every one alerted: the rules, the loop guard and the
/// durable write.
fn close_time_per_recipient(stack: &Stack, work: &Path, n: usize) -> anyhow::Result<f64> {
    let install = Install::new(&work.join(format!("fanout-{n}")), stack, Outbound::Parked)?;
    let mut config = install.parsed()?;
    config.alerts.max_fanout = n;
    let app = App::open(config)?;
    let wf = &app.workflow;
    let draft = draft(n);
    let ticket = app
        .store
        .transact(|tx| wf.open_ticket(tx, draft.clone(), &Default::default()))?;
    let started = Instant::now();
    app.store.transact(|tx| {
        let mut ticket = ticket.clone();
        wf.close_ticket(tx, &mut ticket, "cli", &Default::default())?;
        tx.put_ticket(&ticket)
    })?;
    Ok(started.elapsed().as_secs_f64() * 1e6 / n as f64)
}

/// A staff ticket with `n` outside recipients (beyond what the CLI lets
/// a ticket have: the desk API is used directly).
fn draft(n: usize) -> TicketDraft {
    let recipients: BTreeSet<String> = (0..n)
        .map(|i| format!("r{i}@customers.example.test"))
        .collect();
    TicketDraft {
        subject: "Fan-out".into(),
        requester: "r0@customers.example.test".into(),
        origin: Origin::Staff,
        category: None,
        recipients,
        rule: None,
        root_message_id: None,
        correlation: None,
        recipients_unconfirmed: false,
        not_added: None,
        opening: CommentDraft {
            author: "cli".into(),
            role: AuthorRole::Staff,
            visibility: Visibility::Internal,
            text: "Opened for the benchmark.".into(),
            html: None,
            attachments: Vec::new(),
            source_message: None,
            unproven_staff: false,
        },
    }
}

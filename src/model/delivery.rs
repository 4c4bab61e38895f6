//! Delivery trouble: what a bounce reported for an address on a ticket,
//! and when mail to it stops.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How bad a reported delivery problem is for the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BounceKind {
    /// Permanent failure of the address (5.x.x, e.g. 5.1.1 user unknown):
    /// the address gets no more mail on the ticket.
    Hard,
    /// Failure that says little about the address (4.x.x, mailbox full,
    /// policy or content rejection): counted; enough of them stop mail.
    Soft,
    /// A warning that delivery is still being retried: noted only.
    Delayed,
}

impl BounceKind {
    /// Lower-case name for output.
    pub fn as_str(self) -> &'static str {
        match self {
            BounceKind::Hard => "hard",
            BounceKind::Soft => "soft",
            BounceKind::Delayed => "delayed",
        }
    }
}

/// One delivery problem reported for an address (a bounce).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryProblem {
    /// When the report arrived.
    pub at: DateTime<Utc>,
    /// How bad it is.
    pub kind: BounceKind,
    /// Enhanced status code, e.g. `5.1.1`.
    pub status: Option<String>,
    /// The remote server's words, shortened.
    pub diagnostic: Option<String>,
    /// The outbox item that bounced, when known.
    pub outbox_item: Option<u64>,
}

impl fmt::Display for DeliveryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bounce", self.kind.as_str())?;
        if let Some(status) = &self.status {
            write!(f, " {status}")?;
        }
        write!(f, " on {}", self.at.format("%Y-%m-%d %H:%M"))?;
        if let Some(item) = self.outbox_item {
            write!(f, " (alert {item})")?;
        }
        Ok(())
    }
}

/// Delivery state of one address on one ticket. An address is *failing*
/// after a hard bounce, or after `bounces.soft_bounce_limit` soft ones:
/// from then on nothing is mailed to it on this ticket (alerts are kept
/// as suppressed outbox items) until staff reset it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientDelivery {
    /// Soft bounces counted since the last reset.
    pub soft_bounces: u32,
    /// The problem that stopped mail to the address, while stopped.
    pub failing: Option<DeliveryProblem>,
    /// The latest problem reported.
    pub last: DeliveryProblem,
}

impl RecipientDelivery {
    /// Whether mail to the address is stopped on this ticket.
    pub fn is_failing(&self) -> bool {
        self.failing.is_some()
    }

    /// The state after `problem` is reported, given the soft-bounce limit
    /// (0: soft bounces never stop mail). `previous` is the state before.
    pub fn after(
        previous: Option<&RecipientDelivery>,
        problem: DeliveryProblem,
        soft_limit: u32,
    ) -> RecipientDelivery {
        let mut soft_bounces = previous.map_or(0, |p| p.soft_bounces);
        if problem.kind == BounceKind::Soft {
            soft_bounces += 1;
        }
        let stops = match problem.kind {
            BounceKind::Hard => true,
            BounceKind::Soft => soft_limit > 0 && soft_bounces >= soft_limit,
            BounceKind::Delayed => false,
        };
        let failing = previous
            .and_then(|p| p.failing.clone())
            .or_else(|| stops.then(|| problem.clone()));
        RecipientDelivery {
            soft_bounces,
            failing,
            last: problem,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(kind: BounceKind, status: &str) -> DeliveryProblem {
        DeliveryProblem {
            at: Utc::now(),
            kind,
            status: Some(status.into()),
            diagnostic: None,
            outbox_item: None,
        }
    }

    #[test]
    fn delivery_state_counts_soft_bounces_and_keeps_the_problem_that_stopped_mail() {
        let soft = || problem(BounceKind::Soft, "4.2.2");
        let one = RecipientDelivery::after(None, soft(), 2);
        assert_eq!((one.soft_bounces, one.is_failing()), (1, false));
        let delayed =
            RecipientDelivery::after(Some(&one), problem(BounceKind::Delayed, "4.4.1"), 2);
        assert_eq!((delayed.soft_bounces, delayed.is_failing()), (1, false));
        let two = RecipientDelivery::after(Some(&delayed), soft(), 2);
        assert!(two.is_failing());
        let hard_later =
            RecipientDelivery::after(Some(&two), problem(BounceKind::Hard, "5.1.1"), 2);
        assert_eq!(
            hard_later.failing.and_then(|p| p.status).as_deref(),
            Some("4.2.2"),
            "the first reason stays"
        );
        assert_eq!(hard_later.last.status.as_deref(), Some("5.1.1"));
    }

    #[test]
    fn soft_limit_zero_never_stops_mail_but_a_hard_bounce_does() {
        let mut state = None;
        for _ in 0..10 {
            state = Some(RecipientDelivery::after(
                state.as_ref(),
                problem(BounceKind::Soft, "5.7.1"),
                0,
            ));
        }
        let state = state.expect("a state");
        assert_eq!((state.soft_bounces, state.is_failing()), (10, false));
        assert!(
            RecipientDelivery::after(Some(&state), problem(BounceKind::Hard, "5.1.1"), 0)
                .is_failing()
        );
    }
}

//! `RetryPolicy::backoff`: doubling, the cap and edge policies.

use std::time::Duration;

use crate::config::*;

#[test]
fn retry_backoff_doubles_and_caps() {
    let policy = RetryPolicy {
        max_attempts: 12,
        initial_backoff: Duration::from_secs(30),
        max_backoff: Duration::from_secs(3600),
    };
    let table = [
        (0, 30),
        (1, 30),
        (2, 60),
        (3, 120),
        (4, 240),
        (5, 480),
        (7, 1920),
        (8, 3600),
        (9, 3600),
        (33, 3600),
        (64, 3600),
        (u32::MAX, 3600),
    ];
    for (attempts, secs) in table {
        assert_eq!(
            policy.backoff(attempts),
            Duration::from_secs(secs),
            "after {attempts} failures"
        );
    }
}

#[test]
fn retry_backoff_edge_policies() {
    let zero = RetryPolicy {
        max_attempts: 1,
        initial_backoff: Duration::ZERO,
        max_backoff: Duration::from_secs(10),
    };
    assert_eq!(zero.backoff(5), Duration::ZERO);
    let inverted = RetryPolicy {
        max_attempts: 1,
        initial_backoff: Duration::from_secs(100),
        max_backoff: Duration::from_secs(50),
    };
    assert_eq!(inverted.backoff(1), Duration::from_secs(50));
    let huge = RetryPolicy {
        max_attempts: 1,
        initial_backoff: Duration::MAX,
        max_backoff: Duration::from_secs(7),
    };
    assert_eq!(
        huge.backoff(40),
        Duration::from_secs(7),
        "saturates, no overflow"
    );
}

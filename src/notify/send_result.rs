//! What one delivery attempt came to, as every transport reports it:
//! sent, worth retrying later, or never going to work as it is.

/// What happened to one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendResult {
    /// Accepted.
    Sent,
    /// Try again later (4xx, connection or TLS trouble, timeout).
    Retry(String),
    /// Will never work as is (5xx, bad address).
    Permanent(String),
}

//! The domain: what happens to a ticket. Ticket operations ([`desk`])
//! record an event and run the [`rules`] on it, in the caller's write.

pub mod desk;
pub mod rules;

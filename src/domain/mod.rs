//! The domain: what happens to a ticket. Ticket operations ([`workflow`])
//! record an event and run the [`rules`] on it, in the caller's write.

pub mod rules;
pub mod workflow;

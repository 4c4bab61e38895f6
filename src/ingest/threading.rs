//! Threading: which ticket, if any, a reply belongs to. Pure: store
//! lookups come in as closures so the rules are testable on their own.
//!
//! In order:
//! 1. In-Reply-To/References naming one of our own Message-IDs whose keyed
//!    token verifies (anyone holding our mail may answer it);
//! 2. a recipient address carrying a valid reply token (`support+tN.K@`);
//! 3. In-Reply-To/References naming a stored inbound Message-ID, when the
//!    sender is a participant of that ticket or staff;
//! 4. the subject tag (`[#123]`), when that ticket exists and the sender is
//!    a participant or staff.
//!
//! A tag for a missing ticket, or from a stranger, matches nothing and the
//! message opens a new ticket.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::ingest::mail::InboundMail;
use crate::model::TicketId;
use crate::model::token::{AddressToken, ThreadKey};

/// How a message was matched to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadMatch {
    /// One of our Message-IDs (token verified).
    OwnMessageId(TicketId),
    /// A reply address token.
    ReplyAddress(TicketId),
    /// A staff reply address token bound to the sender.
    StaffReplyAddress(TicketId),
    /// A stored inbound Message-ID.
    StoredMessageId(TicketId),
    /// The subject tag.
    SubjectTag(TicketId),
}

impl ThreadMatch {
    /// The ticket.
    pub fn ticket(self) -> TicketId {
        match self {
            ThreadMatch::OwnMessageId(t)
            | ThreadMatch::ReplyAddress(t)
            | ThreadMatch::StaffReplyAddress(t)
            | ThreadMatch::StoredMessageId(t)
            | ThreadMatch::SubjectTag(t) => t,
        }
    }

    /// Name recorded with the decision.
    pub fn rule(self) -> &'static str {
        match self {
            ThreadMatch::OwnMessageId(_) => "thread:own-message-id",
            ThreadMatch::ReplyAddress(_) => "thread:reply-address",
            ThreadMatch::StaffReplyAddress(_) => "thread:staff-reply-address",
            ThreadMatch::StoredMessageId(_) => "thread:stored-message-id",
            ThreadMatch::SubjectTag(_) => "thread:subject-tag",
        }
    }
}

/// Store lookups threading needs.
pub trait ThreadLookup {
    /// Ticket a stored Message-ID belongs to.
    fn ticket_for_message_id(&self, message_id: &str) -> Option<TicketId>;
    /// `None` if the ticket doesn't exist, else whether `address` takes part.
    fn is_participant(&self, ticket: TicketId, address: &str) -> Option<bool>;
}

/// Finds the ticket a message belongs to.
pub fn find_thread(
    mail: &InboundMail,
    key: &ThreadKey,
    config: &Config,
    sender_is_staff: bool,
    lookup: &impl ThreadLookup,
) -> Option<ThreadMatch> {
    let sender = mail.from.as_deref().unwrap_or("");
    let trusted = |t: TicketId| match lookup.is_participant(t, sender) {
        Some(participant) => participant || sender_is_staff,
        None => false,
    };
    if let Some(t) = mail
        .referenced_ids()
        .find_map(|id| key.ticket_of_message_id(id))
        && lookup.is_participant(t, sender).is_some()
    {
        return Some(ThreadMatch::OwnMessageId(t));
    }
    if let Some(m) = reply_address(mail, key, config, sender)
        && lookup.is_participant(m.ticket(), sender).is_some()
    {
        return Some(m);
    }
    if let Some(t) = mail
        .referenced_ids()
        .find_map(|id| lookup.ticket_for_message_id(id))
        .filter(|t| trusted(*t))
    {
        return Some(ThreadMatch::StoredMessageId(t));
    }
    subject_tag(&mail.subject, config)
        .filter(|t| trusted(*t))
        .map(ThreadMatch::SubjectTag)
}

fn reply_address(
    mail: &InboundMail,
    key: &ThreadKey,
    config: &Config,
    sender: &str,
) -> Option<ThreadMatch> {
    mail.all_recipients().find_map(|address| {
        config
            .support_addresses
            .iter()
            .find_map(|support| key.verify_address(address, support, sender))
            .map(|token| match token {
                AddressToken::Ticket(t) => ThreadMatch::ReplyAddress(t),
                AddressToken::Staff(t) => ThreadMatch::StaffReplyAddress(t),
            })
    })
}

/// The ticket number in a subject tag, if any.
pub fn subject_tag(subject: &str, config: &Config) -> Option<TicketId> {
    let captures = config.threading.tag_regex.captures(subject)?;
    captures.get(1)?.as_str().parse().ok().map(TicketId)
}

/// A subject with our tag and reply/forward prefixes removed.
pub fn clean_subject(subject: &str, config: &Config) -> String {
    let without_tag = config.threading.tag_regex.replace_all(subject, " ");
    let mut rest = without_tag.trim();
    loop {
        // Compare only the head: lower-casing all of `rest` per prefix made
        // a subject of many `Re:` quadratic.
        let prefix = [
            "re:", "fw:", "fwd:", "aw:", "wg:", "sv:", "vs:", "tr:", "rv:", "odp:", "antw:", "res:",
        ]
        .iter()
        .find(|p| {
            rest.get(..p.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(p))
        });
        match prefix {
            Some(p) => rest = rest[p.len()..].trim_start(),
            None => break,
        }
    }
    let collapsed = rest.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        "(no subject)".into()
    } else {
        collapsed
    }
}

#[cfg(test)]
mod tests;

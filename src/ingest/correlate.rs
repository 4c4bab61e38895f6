//! Automated-mail correlation (`[[automated.correlate]]` in the config).
//!
//! The `[[automated]]` rule that classified a mail may name correlation
//! keys: a regex applied to the subject, the body or a header, whose
//! capture groups (joined with `/`, lower-cased) form the key. The store
//! keeps key -> ticket only while that ticket is open (the index is
//! written in the same commit as the ticket, and cleared when it closes).
//!
//! - No open ticket for the key: the mail opens one, indexed by the key.
//! - An open ticket: the mail becomes an (automated) comment on it.
//! - A recovery mail (the entry's `recovery` pattern) with an open
//!   ticket: comment, then close it. Without one it is stored as ignored:
//!   a "resolved" mail alone is no news and opens nothing.

use super::{Applied, Decision};
use crate::config::{Config, MailField};
use crate::domain::workflow::Workflow;
use crate::ingest::mail::InboundMail;
use crate::model::{AuthorRole, Status, Ticket, Visibility};
use crate::store::WriteTx;

/// A correlation key found in a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    /// Store key: `rule/correlation:key`.
    pub key: String,
    /// For notes and rules: `correlation=key`.
    pub label: String,
    /// Whether the mail reports recovery.
    pub recovery: bool,
}

/// The correlation key of an automated mail: from the first admin rule
/// that matches it (the one the classifier used), its first correlation
/// entry whose key pattern matches.
pub(super) fn find(mail: &InboundMail, config: &Config) -> Option<Found> {
    let rule = config
        .automated
        .iter()
        .find(|r| crate::ingest::classify::rule_matches(r, mail))?;
    config.correlations.get(&rule.name)?.iter().find_map(|c| {
        let captures = c.key.captures(field(mail, &c.key_in)?)?;
        let key = captures
            .iter()
            .skip(1)
            .flatten()
            .map(|m| m.as_str().trim())
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("/")
            .to_lowercase();
        let recovery = c.recovery.as_ref().is_some_and(|pattern| {
            field(mail, &c.recovery_in).is_some_and(|text| pattern.is_match(text))
        });
        (!key.is_empty()).then(|| Found {
            key: format!("{}/{}:{key}", rule.name, c.name),
            label: format!("{}={key}", c.name),
            recovery,
        })
    })
}

fn field<'m>(mail: &'m InboundMail, field: &MailField) -> Option<&'m str> {
    match field {
        MailField::Subject => Some(&mail.subject),
        MailField::Body => Some(&mail.text),
        MailField::Header(name) => mail.header(name),
    }
}

/// Files a correlated mail: comment on the key's open ticket (closing it
/// on recovery), or open one, or ignore a recovery with nothing open.
pub(super) fn apply(
    wf: &Workflow,
    tx: &mut dyn WriteTx,
    d: &Decision<'_>,
    found: Found,
) -> anyhow::Result<Applied> {
    match (open_ticket(&*tx, &found.key)?, found.recovery) {
        (Some(ticket), recovery) => add_to(wf, tx, d, ticket, &found, recovery),
        (None, true) => {
            let note = format!("correlate:{}:recovery with no open ticket", found.label);
            let reason = format!("{}; {note}", d.class.rule);
            Ok(Applied::ignored(None, reason).note(note))
        }
        (None, false) => {
            let note = format!("correlate:{}:opened", found.label);
            let mut draft =
                super::ticket_draft(wf, &*tx, d, d.rule_with(std::slice::from_ref(&note)))?;
            draft.correlation = Some(found.key);
            let ticket = wf.open_ticket(tx, draft, &super::decide::trigger(d))?;
            let opened = crate::model::Disposition::NewTicket { ticket: ticket.id };
            Ok(Applied::new(opened).note(note))
        }
    }
}

fn open_ticket(tx: &dyn WriteTx, key: &str) -> anyhow::Result<Option<Ticket>> {
    let Some(id) = tx.correlated_ticket(key)? else {
        return Ok(None);
    };
    Ok(tx.ticket(id)?.filter(|t| t.status == Status::Open))
}

fn add_to(
    wf: &Workflow,
    tx: &mut dyn WriteTx,
    d: &Decision<'_>,
    mut ticket: Ticket,
    found: &Found,
    recovery: bool,
) -> anyhow::Result<Applied> {
    let trigger = super::decide::trigger(d);
    let text = d.mail.text.clone();
    let comment_draft = super::draft(d, AuthorRole::Automated, Visibility::Public, text);
    let comment = wf.add_comment(tx, &mut ticket, comment_draft, &trigger)?;
    if recovery {
        wf.close_ticket(tx, &mut ticket, &d.sender.address, &trigger)?;
    }
    tx.put_ticket(&ticket)?;
    let what = if recovery { "recovered" } else { "repeated" };
    Ok(Applied::comment(ticket.id, comment.seq).note(format!("correlate:{}:{what}", found.label)))
}

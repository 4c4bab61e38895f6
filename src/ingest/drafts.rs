//! What a message becomes before it is stored: the comment it adds and,
//! for a new ticket, the ticket with its recipients (capped, see
//! [`initial_recipients`]) and its origin.

use std::collections::BTreeSet;

use super::Decision;
use crate::domain::workflow::{CommentDraft, TicketDraft, Workflow};
use crate::ingest::classify::MailKind;
use crate::ingest::mail::InboundMail;
use crate::ingest::staff_proof::SenderKind;
use crate::ingest::threading::clean_subject;
use crate::ingest::{commands, content};
use crate::model::{
    AuthorRole, MAX_NOT_ADDED_LISTED, NotAddedRecipients, Origin, Visibility, normalize_address,
};
use crate::store::WriteTx;

/// Attachments over the size limit, and winmail.dat, get a note in the
/// text (see [`content::file_attachments`]).
pub(super) fn draft(
    d: &Decision<'_>,
    role: AuthorRole,
    visibility: Visibility,
    text: String,
) -> CommentDraft {
    let filed = content::file_attachments(&d.mail.attachments, d.max_attachment_bytes, &d.raw_key);
    CommentDraft {
        author: d
            .mail
            .from
            .clone()
            .unwrap_or_else(|| "(unknown sender)".into()),
        role,
        visibility,
        text: filed.annotate(text),
        html: d.mail.html.clone(),
        attachments: filed.kept,
        source_message: Some(d.raw_key.clone()),
        unproven_staff: matches!(d.sender.kind, SenderKind::UnverifiedStaff(_)),
    }
}

/// The ticket a message opens, recording `rule`.
pub(super) fn ticket_draft(
    wf: &Workflow,
    tx: &dyn WriteTx,
    d: &Decision<'_>,
    rule: String,
) -> anyhow::Result<TicketDraft> {
    let staff = d.sender.is_verified_staff();
    let (origin, role) = match (d.class.kind, staff) {
        (_, true) => (Origin::Staff, AuthorRole::Staff),
        (MailKind::Automated, false) => (Origin::AutomatedEmail, AuthorRole::Automated),
        _ => (Origin::CustomerEmail, AuthorRole::Customer),
    };
    let (text, visibility) = if staff {
        let (cmds, text) = commands::extract(&d.mail.text);
        (
            text,
            if cmds.internal {
                Visibility::Internal
            } else {
                Visibility::Public
            },
        )
    } else {
        (d.mail.text.clone(), Visibility::Public)
    };
    let requester = d
        .mail
        .from
        .clone()
        .unwrap_or_else(|| "(unknown sender)".into());
    let (recipients, not_added) = initial_recipients(wf, d.mail);
    let recipients_unconfirmed = origin == Origin::CustomerEmail
        && recipients.len().saturating_sub(1) > wf.config.alerts.new_sender_max_cc
        && !tx.has_ticket_from(&normalize_address(&requester))?;
    Ok(TicketDraft {
        subject: clean_subject(&d.mail.subject, &wf.config),
        requester,
        origin,
        category: d
            .class
            .category
            .clone()
            .or_else(|| d.default_category.clone()),
        recipients,
        rule: Some(rule),
        root_message_id: d.mail.message_id.clone(),
        correlation: None,
        recipients_unconfirmed,
        not_added,
        opening: draft(d, role, visibility, text),
    })
}

/// From + To + Cc minus support addresses and staff, in that order, at
/// most `inbound.max_recipients` of them (so the sender is always kept);
/// the rest are returned as not added.
fn initial_recipients(
    wf: &Workflow,
    mail: &InboundMail,
) -> (BTreeSet<String>, Option<NotAddedRecipients>) {
    let mut ordered: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    for address in mail.from.iter().chain(&mail.to).chain(&mail.cc) {
        let address = normalize_address(address);
        if wf.config.is_external_address(&address) && seen.insert(address.clone()) {
            ordered.push(address);
        }
    }
    let max = wf.config.inbound.max_recipients;
    let left_out = ordered.split_off(max.min(ordered.len()));
    let not_added = (!left_out.is_empty()).then(|| NotAddedRecipients {
        count: left_out.len(),
        reason: format!("the mail named more than inbound.max_recipients ({max})"),
        listed: left_out.into_iter().take(MAX_NOT_ADDED_LISTED).collect(),
    });
    (ordered.into_iter().collect(), not_added)
}

//! Stored mail: ignored and quarantined messages, raw originals,
//! attachments, ingesting a raw message, and template previews.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::{OpError, Response, load};
use crate::domain::desk::Desk;
use crate::domain::rules::{AlertIntent, AlertKind};
use crate::ingest::ingest;
use crate::model::{Source, TicketId};
use crate::notify::compose::template_context;
use crate::notify::queue::{Trigger, new_item, snapshot};
use crate::notify::templates::Templates;

pub(super) fn list_messages(desk: &Desk, filter: &str, limit: usize) -> Result<Response, OpError> {
    use crate::store::MessageKind;
    let kinds: &[MessageKind] = match filter {
        "quarantined" => &[MessageKind::Quarantined],
        "ignored" => &[MessageKind::Ignored],
        "all" => &MessageKind::ALL,
        other => {
            return Err(OpError::BadRequest(format!(
                "unknown filter {other:?}; expected quarantined, ignored or all"
            )));
        }
    };
    let messages = desk.store.messages_of(kinds, limit)?;
    Ok(Response::Messages { messages })
}

pub(super) fn raw_message(desk: &Desk, key: &str) -> Result<Response, OpError> {
    let raw = desk
        .store
        .raw(key)?
        .ok_or_else(|| OpError::NotFound(format!("no stored message {key:?}")))?;
    Ok(Response::Raw {
        raw_base64: BASE64.encode(raw),
    })
}

pub(super) fn attachment(
    desk: &Desk,
    id: TicketId,
    seq: u32,
    index: usize,
) -> Result<Response, OpError> {
    let not_found =
        || OpError::NotFound(format!("no attachment {index} on comment {seq} of #{id}"));
    let comment = desk.store.comment(id, seq)?.ok_or_else(not_found)?;
    let attachment = index
        .checked_sub(1)
        .and_then(|i| comment.attachments.get(i))
        .ok_or_else(not_found)?;
    let source = comment.source_message.as_deref().ok_or_else(not_found)?;
    let raw = desk.store.raw(source)?.ok_or_else(not_found)?;
    let bytes =
        crate::ingest::mail::attachment_bytes(&raw, attachment.part).ok_or_else(not_found)?;
    Ok(Response::Raw {
        raw_base64: BASE64.encode(bytes),
    })
}

pub(super) fn ingest_raw(desk: &Desk, raw_base64: &str) -> Result<Response, OpError> {
    let raw = BASE64
        .decode(raw_base64)
        .map_err(|e| OpError::BadRequest(format!("raw_base64: {e}")))?;
    let outcome = ingest(desk, &raw, Source::Pipe)?;
    Ok(Response::Ingested { outcome })
}

pub(super) fn render_template(desk: &Desk, name: &str, id: TicketId) -> Result<Response, OpError> {
    let ticket = load(desk, id)?;
    let last = match ticket.comment_count.checked_sub(1) {
        Some(seq) => desk.store.comment(id, seq)?,
        None => None,
    };
    // An unsaved item, as if this ticket's last comment were being relayed.
    let intent = AlertIntent {
        kind: AlertKind::PublicReply,
        recipients: Vec::new(),
        to_staff: false,
        rule: "preview",
    };
    let trigger = Trigger::default();
    let mut item = new_item(desk, 0, &ticket, &intent, &ticket.requester, &trigger);
    item.context = snapshot(&ticket, last.as_ref());
    let templates = Templates::new(desk.config.templates_dir.clone());
    let rendered = templates
        .render(name, &template_context(&item, &desk.config))
        .map_err(|e| OpError::BadRequest(e.to_string()))?;
    Ok(Response::Rendered {
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
    })
}

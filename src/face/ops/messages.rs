//! Stored mail: ignored and quarantined messages, raw originals,
//! attachments, ingesting a raw message, and template previews.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::{OpError, Response, load};
use crate::face::App;
use crate::ingest::ingest;
use crate::model::outbox::{AlertKind, SendMode};
use crate::model::{Source, TicketId};
use crate::notify::compose::template_context;
use crate::notify::enqueue::{AlertIntent, Sources, Trigger, new_item, snapshot};
use crate::notify::templates::Templates;

pub(super) fn list_messages(app: &App, filter: &str, limit: usize) -> Result<Response, OpError> {
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
    let messages = app.store.messages(kinds, limit)?;
    Ok(Response::Messages { messages })
}

pub(super) fn raw_message(app: &App, key: &str) -> Result<Response, OpError> {
    let raw = app
        .store
        .raw(key)?
        .ok_or_else(|| OpError::NotFound(format!("no stored message {key:?}")))?;
    Ok(Response::Raw {
        raw_base64: BASE64.encode(raw),
    })
}

pub(super) fn attachment(
    app: &App,
    id: TicketId,
    seq: u32,
    index: usize,
) -> Result<Response, OpError> {
    let not_found =
        || OpError::NotFound(format!("no attachment {index} on comment {seq} of #{id}"));
    let comment = app.store.comment(id, seq)?.ok_or_else(not_found)?;
    let attachment = index
        .checked_sub(1)
        .and_then(|i| comment.attachments.get(i))
        .ok_or_else(not_found)?;
    let source = comment.source_message.as_deref().ok_or_else(not_found)?;
    let raw = app.store.raw(source)?.ok_or_else(not_found)?;
    let bytes =
        crate::ingest::mail::attachment_bytes(&raw, attachment.part).ok_or_else(not_found)?;
    Ok(Response::Raw {
        raw_base64: BASE64.encode(bytes),
    })
}

pub(super) fn ingest_raw(app: &App, raw_base64: &str) -> Result<Response, OpError> {
    let raw = BASE64
        .decode(raw_base64)
        .map_err(|e| OpError::BadRequest(format!("raw_base64: {e}")))?;
    let outcome = ingest(&*app.store, &app.workflow, &raw, Source::Pipe)?;
    Ok(Response::Ingested { outcome })
}

pub(super) fn render_template(app: &App, name: &str, id: TicketId) -> Result<Response, OpError> {
    let ticket = load(app, id)?;
    let last = match ticket.comment_count.checked_sub(1) {
        Some(seq) => app.store.comment(id, seq)?,
        None => None,
    };
    // An unsaved item, as if this ticket's last comment were being relayed.
    let intent = AlertIntent {
        kind: AlertKind::PUBLIC_REPLY,
        mode: SendMode::Relayed,
        recipients: Vec::new(),
        to_staff: false,
        rule: "preview".into(),
    };
    let (config, trigger) = (&app.workflow.config, Trigger::default());
    let sources = Sources {
        config,
        key: &app.workflow.key,
    };
    let mut item = new_item(sources, 0, &ticket, &intent, &ticket.requester, &trigger);
    item.context = snapshot(&ticket, last.as_ref());
    let templates = Templates::new(config.templates_dir.clone());
    let rendered = templates
        .render(name, &template_context(&item, config))
        .map_err(|e| OpError::BadRequest(e.to_string()))?;
    Ok(Response::Rendered {
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
    })
}

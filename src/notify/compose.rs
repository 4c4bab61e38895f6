//! Builds the outgoing message for an outbox item: rendered template plus
//! the headers that make threading and loop protection work.
//!
//! Every mail carries our Message-ID (stable across retries, so receivers
//! can drop a duplicate), In-Reply-To/References, a Reply-To with a keyed
//! token, our loop header, and on automatic mail `Auto-Submitted`,
//! `X-Auto-Response-Suppress: All` and `Precedence: bulk` (the only signal
//! old vacation(1)-style responders honour). With `bounces.verp` the envelope
//! sender is the item's keyed bounce address, so a bounce names the exact
//! mail and recipient. lettre encodes every header value, and
//! subjects are collapsed to one line first, so mail content cannot inject
//! headers.

use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MessageBuilder, MultiPart};
use serde_json::json;

use crate::config::Config;
use crate::model::outbox::OutboxItem;
use crate::model::token::ThreadKey;

use super::templates::{Rendered, TemplateError, Templates};

/// Header ticketd puts on everything it sends; its value is this desk's
/// loop id (see [`Config::loop_id`]).
pub const LOOP_HEADER: &str = "X-Ticketd-Loop";

/// Line that tells people where to write their answer.
pub const REPLY_MARKER: &str = "##- Please type your reply above this line -##";

/// Why an item could not be turned into a message (permanent).
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// The template failed.
    #[error("template: {0}")]
    Template(#[from] TemplateError),
    /// An address or header was rejected.
    #[error("building the message: {0}")]
    Build(String),
}

/// The full template context for an item.
pub fn template_context(item: &OutboxItem, config: &Config) -> serde_json::Value {
    let mut ctx = item.context.clone();
    if let Some(map) = ctx.as_object_mut() {
        map.insert(
            "recipient".into(),
            json!({ "address": item.recipient, "is_staff": item.to_staff }),
        );
        map.insert(
            "instance".into(),
            json!({
                "name": config.instance_name,
                "from_name": config.from_name.clone().unwrap_or_else(|| "Support".into()),
                "support_address": config.outbound.from_address,
            }),
        );
        map.insert("tag".into(), json!(config.threading.tag(item.ticket)));
        map.insert("event".into(), json!(item.kind.event_name()));
        map.insert("reply_marker".into(), json!(REPLY_MARKER));
    }
    ctx
}

/// Renders and builds the message for `item`.
pub fn compose(
    item: &OutboxItem,
    config: &Config,
    key: &ThreadKey,
    templates: &Templates,
) -> Result<Message, ComposeError> {
    let rendered = templates.render(&item.template, &template_context(item, config))?;
    build(item, config, key, rendered)
}

fn mailbox(address: &str, name: Option<&str>) -> Result<Mailbox, ComposeError> {
    let parsed = address
        .parse()
        .map_err(|e| ComposeError::Build(format!("address {address:?}: {e}")))?;
    Ok(Mailbox::new(
        name.map(crate::notify::templates::one_line),
        parsed,
    ))
}

fn bracket(id: &str) -> String {
    format!("<{id}>")
}

fn build(
    item: &OutboxItem,
    config: &Config,
    key: &ThreadKey,
    rendered: Rendered,
) -> Result<Message, ComposeError> {
    let builder = headers(item, config, key, rendered.subject)?;
    let result = match rendered.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(rendered.text, html)),
        None => builder.header(ContentType::TEXT_PLAIN).body(rendered.text),
    };
    result.map_err(|e| ComposeError::Build(e.to_string()))
}

/// Addressing, threading and loop-protection headers.
fn headers(
    item: &OutboxItem,
    config: &Config,
    key: &ThreadKey,
    subject: String,
) -> Result<MessageBuilder, ComposeError> {
    let from = config.reply_base_address();
    let reply_to = match (config.threading.reply_to_token, item.to_staff) {
        (false, _) => from.to_string(),
        (true, false) => key.reply_address(from, item.ticket),
        (true, true) => key.staff_reply_address(from, item.ticket, &item.recipient),
    };
    let mut builder = Message::builder()
        .from(mailbox(from, config.from_name.as_deref())?)
        .reply_to(mailbox(&reply_to, config.from_name.as_deref())?)
        .to(mailbox(&item.recipient, None)?)
        .subject(subject)
        .message_id(Some(bracket(&item.message_id)))
        .date_now()
        .raw_header(raw_header(LOOP_HEADER, config.loop_id()));
    if config.bounces.verp {
        builder = builder.envelope(verp_envelope(item, from, key)?);
    }
    if let Some(parent) = item.in_reply_to.as_deref().filter(|id| is_msg_id(id)) {
        builder = builder.in_reply_to(bracket(parent));
    }
    let refs: Vec<String> = item
        .references
        .iter()
        .filter(|r| is_msg_id(r))
        .map(|r| bracket(r))
        .collect();
    if !refs.is_empty() {
        builder = builder.references(refs.join(" "));
    }
    if let Some(value) = item.send_mode().auto_submitted() {
        builder = builder
            .raw_header(raw_header("Auto-Submitted", value))
            .raw_header(raw_header("X-Auto-Response-Suppress", "All"))
            .raw_header(raw_header("Precedence", "bulk"));
    }
    Ok(builder)
}

/// Envelope from the item's keyed bounce address to its recipient.
fn verp_envelope(
    item: &OutboxItem,
    from: &str,
    key: &ThreadKey,
) -> Result<lettre::address::Envelope, ComposeError> {
    let parse = |a: &str| {
        a.parse::<lettre::Address>()
            .map_err(|e| ComposeError::Build(format!("address {a:?}: {e}")))
    };
    let sender = parse(&key.bounce_address(from, item.id))?;
    lettre::address::Envelope::new(Some(sender), vec![parse(&item.recipient)?])
        .map_err(|e| ComposeError::Build(e.to_string()))
}

/// Longest Message-ID we put in a threading header: `In-Reply-To: <`,
/// the id and `>` must fit one line of at most 998 octets (RFC 5322
/// 2.1.1), and an id cannot be folded.
const MAX_MSG_ID_OCTETS: usize = 998 - "In-Reply-To: <>".len();

/// Whether `id` can go out as `<id>`: an RFC 5322 msg-id is printable
/// US-ASCII without angle brackets. Inbound ids are stored as received; one
/// that is not (control or 8-bit bytes, found by fuzzing), or too long for
/// a header line, is left out of our threading headers rather than sent as
/// an RFC 2047 word no client can thread on or a line servers reject.
fn is_msg_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_MSG_ID_OCTETS
        && id
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>'))
}

fn raw_header(name: &'static str, value: &str) -> HeaderValue {
    let name = HeaderName::new_from_ascii_str(name);
    HeaderValue::new(name, crate::notify::templates::one_line(value))
}

#[cfg(test)]
mod tests;

/// A context with every variable set, for `templates check`.
pub fn sample_context(config: &Config) -> serde_json::Value {
    template_context(&sample_item(), config)
}

/// A realistic unsaved item (ticket #123) for checks and previews.
pub fn sample_item() -> OutboxItem {
    use crate::model::{AuthorRole, Comment, Origin, Status, Ticket, TicketId, Visibility};
    let now = chrono::Utc::now();
    let ticket = Ticket {
        id: TicketId(123),
        subject: "Printer on floor 2 is jammed".into(),
        status: Status::Open,
        requester: "customer@example.com".into(),
        origin: Origin::CustomerEmail,
        category: Some("facilities".into()),
        recipients: [
            "customer@example.com".to_string(),
            "colleague@example.com".to_string(),
        ]
        .into(),
        created_at: now,
        updated_at: now,
        closed_at: None,
        comment_count: 1,
        rule: None,
        root_message_id: None,
        event_count: 1,
        delivery: Default::default(),
        links: Default::default(),
        correlation: None,
        recipients_unconfirmed: false,
        not_added: None,
    };
    let comment = Comment {
        seq: 0,
        author: "customer@example.com".into(),
        role: AuthorRole::Customer,
        visibility: Visibility::Public,
        text: "It has been jammed since this morning.\nPlease send someone.".into(),
        html: None,
        attachments: vec![crate::model::Attachment {
            name: "photo.jpg".into(),
            content_type: "image/jpeg".into(),
            size: 48213,
            part: 2,
        }],
        source_message: None,
        created_at: now,
        unproven_staff: false,
    };
    OutboxItem {
        id: 1,
        ticket: ticket.id,
        kind: crate::model::outbox::AlertKind::ACKNOWLEDGEMENT,
        mode: Some(crate::model::outbox::SendMode::AutoReplied),
        template: String::new(),
        rule: "sample".into(),
        recipient: ticket.requester.clone(),
        to_staff: false,
        message_id: String::new(),
        in_reply_to: None,
        references: Vec::new(),
        context: super::enqueue::snapshot(&ticket, Some(&comment)),
        status: crate::model::outbox::OutboxStatus::Pending,
        attempts: 0,
        next_attempt_at: now,
        last_error: None,
        created_at: now,
    }
}

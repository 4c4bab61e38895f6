//! Human and JSON output for CLI results.

use std::process::ExitCode;

use crate::api::Health;
use crate::config::Config;
use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Comment, MessageRecord, RecipientDelivery, Ticket, TicketId, Visibility};
use crate::notify::compose::sample_context;
use crate::notify::templates::Templates;
use crate::ops::{Response, TicketDetail};
use crate::outbox::{OutboxItem, OutboxStatus};

/// Prints a one-line confirmation.
pub fn done(json: bool, message: &str) {
    if json {
        println!("{}", serde_json::json!({ "message": message }));
    } else {
        println!("{message}");
    }
}

fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("ticketd: cannot encode output: {e}"),
    }
}

/// Prints an operation's response.
pub fn print(response: &Response, json: bool, config: &Config) {
    if json {
        return print_json(response);
    }
    match response {
        Response::Tickets { tickets } => ticket_table(tickets),
        Response::Ticket(detail) => ticket(detail, config),
        Response::Recipients {
            id,
            recipients,
            delivery,
        } => recipient_list(*id, recipients, delivery),
        Response::Outbox { items } => outbox_table(items),
        Response::Messages { messages } => messages.iter().for_each(message),
        Response::Raw { .. } => println!("(raw message; use `messages original`)"),
        Response::Ingested { outcome } => {
            let dup = if outcome.duplicate {
                " (already ingested; nothing changed)"
            } else {
                ""
            };
            println!("{}{dup}\nrule: {}", outcome.disposition, outcome.rule);
        }
        Response::Rendered {
            subject,
            text,
            html,
        } => {
            println!("Subject: {subject}\n\n{text}");
            if let Some(html) = html {
                println!("\n--- HTML ---\n{html}");
            }
        }
        Response::Done { message, .. } => println!("{message}"),
    }
}

/// `recipients list`: each address with its bounce state; addresses that
/// bounced but are no longer recipients are listed too.
fn recipient_list(
    id: TicketId,
    recipients: &BTreeSet<String>,
    delivery: &BTreeMap<String, RecipientDelivery>,
) {
    println!("External recipients of #{id}:");
    for address in recipients {
        println!("  {address:<32} {}", delivery_state(delivery.get(address)));
    }
    for (address, state) in delivery.iter().filter(|(a, _)| !recipients.contains(*a)) {
        let state = delivery_state(Some(state));
        println!("  {address:<32} {state} (not a recipient)");
    }
}

/// One line about an address's bounces: `ok`, `ok (...)` or `FAILING: ...`.
fn delivery_state(state: Option<&RecipientDelivery>) -> String {
    let Some(state) = state else {
        return "ok".into();
    };
    let said = |p: &crate::model::DeliveryProblem| {
        p.diagnostic
            .as_ref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default()
    };
    match &state.failing {
        Some(problem) => format!("FAILING, not mailed: {problem}{}", said(problem)),
        None => format!(
            "ok ({} soft bounce(s); last: {}{})",
            state.soft_bounces,
            state.last,
            said(&state.last)
        ),
    }
}

fn ticket_table(tickets: &[Ticket]) {
    println!(
        "{:>6}  {:<7} {:<15} {:<17} {:<28} SUBJECT",
        "ID", "STATUS", "ORIGIN", "UPDATED", "REQUESTER"
    );
    for t in tickets {
        let id = format!("#{}", t.id);
        let updated = t.updated_at.format("%Y-%m-%d %H:%M");
        let (status, origin) = (t.status.as_str(), t.origin.as_str());
        println!(
            "{id:>6}  {status:<7} {origin:<15} {updated:<17} {:<28} {}",
            t.requester, t.subject
        );
    }
}

fn outbox_table(items: &[OutboxItem]) {
    println!(
        "{:>6}  {:>6}  {:<18} {:<10} {:>3}  RECIPIENT / NOTE",
        "ITEM", "TICKET", "KIND", "STATUS", "TRY"
    );
    for i in items {
        let note = match &i.status {
            OutboxStatus::Suppressed { rule } => format!(" ({rule})"),
            OutboxStatus::GaveUp { reason } => format!(" ({reason})"),
            _ => i
                .last_error
                .as_ref()
                .map(|e| format!(" (last error: {e})"))
                .unwrap_or_default(),
        };
        let (ticket, kind, status) = (
            format!("#{}", i.ticket),
            i.kind.event_name(),
            i.status.as_str(),
        );
        println!(
            "{:>6}  {ticket:>6}  {kind:<18} {status:<10} {:>3}  {}{note}",
            i.id, i.attempts, i.recipient
        );
    }
}

fn message(m: &MessageRecord) {
    let at = m.received_at.format("%Y-%m-%d %H:%M:%S");
    let from = m.from.as_deref().unwrap_or("?");
    println!(
        "{at}  {}  from {from}  \"{}\"",
        m.raw_key,
        m.subject.as_deref().unwrap_or("")
    );
    println!("    {}  rule: {}", m.disposition, m.rule);
}

fn ticket(d: &TicketDetail, config: &Config) {
    ticket_header(&d.ticket, config);
    d.comments.iter().for_each(comment);
    if !d.messages.is_empty() {
        println!("\nMessages:");
        for m in &d.messages {
            println!("  {}  {}\n      rule: {}", m.raw_key, m.disposition, m.rule);
        }
    }
    if !d.events.is_empty() {
        println!("\nHistory:");
        for e in &d.events {
            println!(
                "  {}  {} by {}",
                e.at.format("%Y-%m-%d %H:%M:%S"),
                e.kind,
                e.actor
            );
        }
    }
    if !d.outbox.is_empty() {
        println!("\nAlerts:");
        for i in &d.outbox {
            let (kind, status) = (i.kind.event_name(), i.status.as_str());
            println!(
                "  {:>5} {kind:<18} {status:<10} {:<28} rule: {}",
                i.id, i.recipient, i.rule
            );
            if let OutboxStatus::Suppressed { rule } = &i.status {
                println!("        not sent: {rule}");
            }
            if let Some(problem) = bounce_of(&d.ticket, i.id) {
                println!("        bounced: {problem}");
            }
        }
    }
}

/// The latest recorded bounce of outbox item `item`, if any.
fn bounce_of(t: &Ticket, item: u64) -> Option<&crate::model::DeliveryProblem> {
    t.delivery
        .values()
        .flat_map(|d| d.failing.iter().chain(std::iter::once(&d.last)))
        .filter(|p| p.outbox_item == Some(item))
        .max_by_key(|p| p.at)
}

fn ticket_header(t: &Ticket, config: &Config) {
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".into())
    };
    println!("{} {}", config.threading.tag(t.id), t.subject);
    let category = t.category.as_deref().unwrap_or("-");
    println!(
        "status: {}   origin: {}   category: {category}",
        t.status.as_str(),
        t.origin.as_str()
    );
    println!("requester: {}", t.requester);
    let recipients: Vec<String> = t
        .recipients
        .iter()
        .map(
            |r| match t.delivery.get(r).and_then(|d| d.failing.as_ref()) {
                Some(problem) => format!("{r} [not mailed: {problem}]"),
                None => r.clone(),
            },
        )
        .collect();
    println!("recipients: {}", recipients.join(", "));
    if let Some(previous) = t.links.follow_up_of {
        println!("follow-up of: {}", config.threading.tag(previous));
    }
    if !t.links.follow_ups.is_empty() {
        let tags: Vec<String> = t
            .links
            .follow_ups
            .iter()
            .map(|id| config.threading.tag(*id))
            .collect();
        println!("follow-ups: {}", tags.join(", "));
    }
    if let Some(key) = &t.correlation {
        println!("correlation: {key}");
    }
    println!(
        "created: {}   updated: {}   closed: {}",
        time(Some(t.created_at)),
        time(Some(t.updated_at)),
        time(t.closed_at)
    );
    if let Some(rule) = &t.rule {
        println!("rule: {rule}");
    }
}

fn comment(c: &Comment) {
    let visibility = if c.visibility == Visibility::Internal {
        "internal"
    } else {
        "public"
    };
    let at = c.created_at.format("%Y-%m-%d %H:%M");
    println!(
        "\n--- {} {} ({:?}, {visibility}) {at}",
        c.seq, c.author, c.role
    );
    println!("{}", c.text);
    for a in &c.attachments {
        println!(
            "[attachment: {} ({}, {} bytes)]",
            a.name, a.content_type, a.size
        );
    }
    if let Some(src) = &c.source_message {
        println!("[original: ticketd messages original '{src}']");
    }
}

/// `templates list`.
pub fn template_list(config: &Config, json: bool) {
    let templates = Templates::new(config.templates_dir.clone());
    let names = templates.names();
    if json {
        return print_json(
            &serde_json::json!({ "templates": names, "events": config.template_names }),
        );
    }
    println!(
        "Templates in {} (shipped defaults fill gaps):",
        config.templates_dir.display()
    );
    for name in &names {
        let events: Vec<&str> = config
            .template_names
            .iter()
            .filter(|(_, n)| *n == name)
            .map(|(e, _)| e.as_str())
            .collect();
        println!(
            "  {name:<20} {}",
            if events.is_empty() {
                "(unused)".into()
            } else {
                format!("used for: {}", events.join(", "))
            }
        );
    }
}

/// `templates check`: exit 1 when any template fails.
pub fn template_check(config: &Config, json: bool) -> ExitCode {
    let templates = Templates::new(config.templates_dir.clone());
    let mut problems = templates.check(&sample_context(config));
    for (event, name) in &config.template_names {
        if !templates.names().contains(name) {
            problems.push(crate::notify::templates::TemplateError {
                file: config.source.display().to_string(),
                line: 0,
                message: format!("event {event} uses template {name:?}, which does not exist"),
            });
        }
    }
    if json {
        print_json(
            &serde_json::json!({ "ok": problems.is_empty(), "problems": problems.iter().map(|p| p.to_string()).collect::<Vec<_>>() }),
        );
    } else if problems.is_empty() {
        println!("{} templates OK", templates.names().len());
    } else {
        problems.iter().for_each(|p| eprintln!("{p}"));
    }
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `health`.
pub fn health(h: &Health, json: bool) {
    if json {
        return print_json(h);
    }
    println!("tickets: {}", h.tickets);
    println!("outbox pending: {}", h.outbox_pending);
    if let Some(age) = h.outbox_oldest_due_secs {
        println!("oldest pending item overdue by: {age}s");
    }
    println!("quarantined messages: {}", h.quarantined);
    for mailbox in &h.mailboxes {
        println!("{}", mailbox_line(mailbox));
    }
}

fn mailbox_line(m: &crate::inbound::status::MailboxHealth) -> String {
    let mut line = format!("mailbox {}: {}", m.name, m.state);
    if let Some(at) = m.last_fetch_at {
        line.push_str(&format!(
            ", last fetch {}",
            at.format("%Y-%m-%d %H:%M:%S UTC")
        ));
    }
    if let Some(backlog) = m.backlog {
        line.push_str(&format!(", backlog {backlog}"));
    }
    line.push_str(&format!(", ingested {}", m.ingested));
    if m.consecutive_errors > 0 {
        line.push_str(&format!(", {} consecutive errors", m.consecutive_errors));
    }
    if let Some(error) = &m.last_error {
        line.push_str(&format!("\n  last error: {error}"));
    }
    line
}

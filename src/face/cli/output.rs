//! Human and JSON output for CLI results. Everything is written through
//! [`Out`] (see [`super::terminal`]), which cleans what it prints as a
//! block; fields that must stay on one line (subjects, addresses, rules,
//! reasons, names) are also passed through [`clean_line`].

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use super::terminal::{Out, OutputError, Printed, clean_line, warn};
use crate::config::Config;
use crate::face::api::Health;
use crate::face::ops::Response;
use crate::model::outbox::{OutboxItem, OutboxStatus};
use crate::model::{MessageRecord, RecipientDelivery, Ticket, TicketId};
use crate::notify::compose::sample_context;
use crate::notify::templates::Templates;

/// Prints a one-line confirmation.
pub fn done(out: &mut Out, json: bool, message: &str) -> Printed {
    if json {
        out.json_line(&serde_json::json!({ "message": message }))
    } else {
        writeln!(out, "{}", clean_line(message))
    }
}

/// Prints a command's error (which may quote input), cleaned: as JSON on
/// standard output with `--json`, else on standard error.
pub fn error(out: &mut Out, e: &anyhow::Error, json: bool) {
    let message = format!("{e:#}");
    if json {
        let printed = out.json_line(&serde_json::json!({ "error": message }));
        // Nothing more can be said when standard output fails too.
        drop(printed.and_then(|()| out.flush()));
    } else {
        warn(&format!("ticketd: {message}"));
    }
}

/// Prints an operation's response.
pub fn print(out: &mut Out, response: &Response, json: bool, config: &Config) -> Printed {
    if json {
        return out.json(response);
    }
    match response {
        Response::Tickets { tickets } => ticket_table(out, tickets),
        Response::Ticket(detail) => super::ticket_view::ticket(out, detail, config),
        Response::Recipients {
            id,
            recipients,
            delivery,
        } => recipient_list(out, *id, recipients, delivery),
        Response::Outbox { items } => outbox_table(out, items),
        Response::Messages { messages } => messages.iter().try_for_each(|m| message(out, m)),
        Response::Raw { .. } => writeln!(out, "(raw message; use `messages original`)"),
        Response::Ingested { outcome } => {
            let dup = if outcome.duplicate {
                " (already ingested; nothing changed)"
            } else {
                ""
            };
            let disposition = outcome.disposition.to_string();
            let (disposition, rule) = (clean_line(&disposition), clean_line(&outcome.rule));
            writeln!(out, "{disposition}{dup}\nrule: {rule}")
        }
        Response::Rendered {
            subject,
            text,
            html,
        } => {
            writeln!(out, "Subject: {}\n\n{text}", clean_line(subject))?;
            match html {
                Some(html) => writeln!(out, "\n--- HTML ---\n{html}"),
                None => Ok(()),
            }
        }
        Response::Done { message, .. } => writeln!(out, "{}", clean_line(message)),
    }
}

/// `recipients list`: each address with its bounce state; addresses that
/// bounced but are no longer recipients are listed too.
fn recipient_list(
    out: &mut Out,
    id: TicketId,
    recipients: &BTreeSet<String>,
    delivery: &BTreeMap<String, RecipientDelivery>,
) -> Printed {
    writeln!(out, "External recipients of #{id}:")?;
    for address in recipients {
        let state = delivery_state(delivery.get(address));
        writeln!(out, "  {:<32} {}", clean_line(address), clean_line(&state))?;
    }
    for (address, state) in delivery.iter().filter(|(a, _)| !recipients.contains(*a)) {
        let state = delivery_state(Some(state));
        let (address, state) = (clean_line(address), clean_line(&state));
        writeln!(out, "  {address:<32} {state} (not a recipient)")?;
    }
    Ok(())
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

fn ticket_table(out: &mut Out, tickets: &[Ticket]) -> Printed {
    writeln!(
        out,
        "{:>6}  {:<7} {:<15} {:<17} {:<28} SUBJECT",
        "ID", "STATUS", "ORIGIN", "UPDATED", "REQUESTER"
    )?;
    for t in tickets {
        let id = format!("#{}", t.id);
        let updated = t.updated_at.format("%Y-%m-%d %H:%M");
        let (status, origin) = (t.status.as_str(), t.origin.as_str());
        let (requester, subject) = (clean_line(&t.requester), clean_line(&t.subject));
        writeln!(
            out,
            "{id:>6}  {status:<7} {origin:<15} {updated:<17} {requester:<28} {subject}"
        )?;
    }
    Ok(())
}

fn outbox_table(out: &mut Out, items: &[OutboxItem]) -> Printed {
    writeln!(
        out,
        "{:>6}  {:>6}  {:<18} {:<10} {:>3}  RECIPIENT / NOTE",
        "ITEM", "TICKET", "KIND", "STATUS", "TRY"
    )?;
    for i in items {
        let (ticket, kind, status) = (
            format!("#{}", i.ticket),
            i.kind.event_name(),
            i.status.as_str(),
        );
        let (recipient, note) = (clean_line(&i.recipient), outbox_note(i));
        writeln!(
            out,
            "{:>6}  {ticket:>6}  {kind:<18} {status:<10} {:>3}  {recipient}{}",
            i.id,
            i.attempts,
            clean_line(&note)
        )?;
    }
    Ok(())
}

/// Why an item was suppressed or given up, or its last error.
fn outbox_note(i: &OutboxItem) -> String {
    match &i.status {
        OutboxStatus::Suppressed { rule } => format!(" ({rule})"),
        OutboxStatus::GaveUp { reason } => format!(" ({reason})"),
        _ => i
            .last_error
            .as_ref()
            .map(|e| format!(" (last error: {e})"))
            .unwrap_or_default(),
    }
}

fn message(out: &mut Out, m: &MessageRecord) -> Printed {
    let at = m.received_at.format("%Y-%m-%d %H:%M:%S");
    let from = clean_line(m.from.as_deref().unwrap_or("?"));
    let subject = clean_line(m.subject.as_deref().unwrap_or(""));
    writeln!(
        out,
        "{at}  {}  from {from}  \"{subject}\"",
        clean_line(&m.raw_key)
    )?;
    let disposition = m.disposition.to_string();
    let (disposition, rule) = (clean_line(&disposition), clean_line(&m.rule));
    writeln!(out, "    {disposition}  rule: {rule}")
}

/// `templates list`.
pub fn template_list(out: &mut Out, config: &Config, json: bool) -> Printed {
    let templates = Templates::new(config.templates_dir.clone());
    let names = templates.names();
    if json {
        return out
            .json(&serde_json::json!({ "templates": names, "events": config.template_names }));
    }
    let dir = config.templates_dir.display().to_string();
    writeln!(
        out,
        "Templates in {} (shipped defaults fill gaps):",
        clean_line(&dir)
    )?;
    for name in &names {
        let uses = template_uses(config, name);
        writeln!(out, "  {:<20} {}", clean_line(name), clean_line(&uses))?;
    }
    Ok(())
}

/// `used for: EVENT, ...` or `(unused)`.
fn template_uses(config: &Config, name: &str) -> String {
    let events: Vec<&str> = config
        .template_names
        .iter()
        .filter(|(_, n)| *n == name)
        .map(|(e, _)| e.as_str())
        .collect();
    if events.is_empty() {
        "(unused)".into()
    } else {
        format!("used for: {}", events.join(", "))
    }
}

/// `templates check`: exit 1 when any template fails.
pub fn template_check(out: &mut Out, config: &Config, json: bool) -> Result<ExitCode, OutputError> {
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
        let problems: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        out.json(&serde_json::json!({ "ok": problems.is_empty(), "problems": problems }))?;
    } else if problems.is_empty() {
        writeln!(out, "{} templates OK", templates.names().len())?;
    } else {
        problems.iter().for_each(|p| warn(&p.to_string()));
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `health`.
pub fn health(out: &mut Out, h: &Health, json: bool) -> Printed {
    if json {
        return out.json(h);
    }
    writeln!(out, "tickets: {}", h.tickets)?;
    writeln!(out, "outbox pending: {}", h.outbox_pending)?;
    if let Some(age) = h.outbox_oldest_due_secs {
        writeln!(out, "oldest pending item overdue by: {age}s")?;
    }
    writeln!(out, "quarantined messages: {}", h.quarantined)?;
    match &h.store.problem {
        Some(problem) => writeln!(
            out,
            "store: {} ({})",
            clean_line(&h.store.state),
            clean_line(problem)
        )?,
        None => writeln!(out, "store: {}", clean_line(&h.store.state))?,
    }
    for mailbox in &h.mailboxes {
        writeln!(out, "{}", mailbox_line(mailbox))?;
    }
    Ok(())
}

fn mailbox_line(m: &crate::inbound::status::MailboxHealth) -> String {
    let (name, state) = (clean_line(&m.name), clean_line(&m.state));
    let mut line = format!("mailbox {name}: {state}");
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
        line.push_str(&format!("\n  last error: {}", clean_line(error)));
    }
    line
}

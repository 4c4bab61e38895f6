//! `tickets show`: one ticket as a page of its history. Everything is
//! written through [`Out`], which cleans it as a block; one-line fields
//! also go through [`clean_line`].

use super::terminal::{Out, Printed, clean_line};
use crate::config::Config;
use crate::face::ops::TicketDetail;
use crate::model::outbox::OutboxStatus;
use crate::model::{Comment, Ticket, Visibility};

/// `tickets show`: the header, a page of comments, then the latest
/// messages, history and alerts, each with a hint to what was left out.
pub fn ticket(out: &mut Out, d: &TicketDetail, config: &Config) -> Printed {
    ticket_header(out, &d.ticket, config)?;
    d.comments.iter().try_for_each(|c| comment(out, c))?;
    if let Some(next) = d.more.next_comment {
        let id = d.ticket.id;
        writeln!(
            out,
            "\n(more comments: `ticketd tickets show {id} --from {next}`)"
        )?;
    }
    ticket_messages(out, d)?;
    ticket_history(out, d)?;
    ticket_alerts(out, d)
}

fn ticket_messages(out: &mut Out, d: &TicketDetail) -> Printed {
    if d.messages.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nMessages:")?;
    if d.more.more_messages {
        writeln!(out, "  (not all shown: `ticketd messages list --all`)")?;
    }
    for m in &d.messages {
        let disposition = m.disposition.to_string();
        let (key, rule) = (clean_line(&m.raw_key), clean_line(&m.rule));
        let disposition = clean_line(&disposition);
        writeln!(out, "  {key}  {disposition}\n      rule: {rule}")?;
    }
    Ok(())
}

fn ticket_history(out: &mut Out, d: &TicketDetail) -> Printed {
    if d.events.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nHistory:")?;
    if d.more.older_events > 0 {
        writeln!(out, "  ({} older entries not shown)", d.more.older_events)?;
    }
    for e in &d.events {
        let at = e.at.format("%Y-%m-%d %H:%M:%S");
        let kind = e.kind.to_string();
        let (kind, actor) = (clean_line(&kind), clean_line(&e.actor));
        writeln!(out, "  {at}  {kind} by {actor}")?;
    }
    Ok(())
}

fn ticket_alerts(out: &mut Out, d: &TicketDetail) -> Printed {
    if d.outbox.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nAlerts:")?;
    if d.more.older_alerts {
        writeln!(out, "  (older alerts not shown: `ticketd outbox list`)")?;
    }
    for i in &d.outbox {
        let (kind, status) = (i.kind.event_name(), i.status.as_str());
        let (recipient, rule) = (clean_line(&i.recipient), clean_line(&i.rule));
        writeln!(
            out,
            "  {:>5} {kind:<18} {status:<10} {recipient:<28} rule: {rule}",
            i.id
        )?;
        if let OutboxStatus::Suppressed { rule } = &i.status {
            writeln!(out, "        not sent: {}", clean_line(rule))?;
        }
        if let Some(problem) = bounce_of(&d.ticket, i.id) {
            writeln!(out, "        bounced: {}", clean_line(&problem.to_string()))?;
        }
    }
    Ok(())
}

/// The latest recorded bounce of outbox item `item`, if any.
fn bounce_of(t: &Ticket, item: u64) -> Option<&crate::model::DeliveryProblem> {
    t.delivery
        .values()
        .flat_map(|d| d.failing.iter().chain(std::iter::once(&d.last)))
        .filter(|p| p.outbox_item == Some(item))
        .max_by_key(|p| p.at)
}

fn ticket_header(out: &mut Out, t: &Ticket, config: &Config) -> Printed {
    let tag = config.threading.tag(t.id);
    writeln!(out, "{} {}", clean_line(&tag), clean_line(&t.subject))?;
    let category = clean_line(t.category.as_deref().unwrap_or("-"));
    writeln!(
        out,
        "status: {}   origin: {}   category: {category}",
        t.status.as_str(),
        t.origin.as_str()
    )?;
    writeln!(out, "requester: {}", clean_line(&t.requester))?;
    writeln!(out, "recipients: {}", clean_line(&recipient_summary(t)))?;
    recipient_warnings(out, t)?;
    ticket_links(out, t, config)?;
    ticket_times(out, t)?;
    match &t.rule {
        Some(rule) => writeln!(out, "rule: {}", clean_line(rule)),
        None => Ok(()),
    }
}

/// The ticket's recipients, each that is not mailed with the reason.
fn recipient_summary(t: &Ticket) -> String {
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
    recipients.join(", ")
}

/// Recipients waiting for confirmation, and addresses not added.
fn recipient_warnings(out: &mut Out, t: &Ticket) -> Printed {
    if t.recipients_unconfirmed {
        writeln!(
            out,
            "recipients unconfirmed: alerts go to the requester only (a new sender's first mail named many others); `ticketd recipients confirm {}` lets them reach all",
            t.id
        )?;
    }
    let Some(not_added) = &t.not_added else {
        return Ok(());
    };
    let mut listed = not_added.listed.join(", ");
    if not_added.count > not_added.listed.len() {
        let rest = not_added.count - not_added.listed.len();
        listed.push_str(&format!(" and {rest} more"));
    }
    writeln!(
        out,
        "not added ({}, {}): {}; `ticketd recipients add {} ADDRESS` adds one",
        not_added.count,
        clean_line(&not_added.reason),
        clean_line(&listed),
        t.id
    )
}

/// Follow-up links and the correlation key.
fn ticket_links(out: &mut Out, t: &Ticket, config: &Config) -> Printed {
    if let Some(previous) = t.links.follow_up_of {
        let tag = config.threading.tag(previous);
        writeln!(out, "follow-up of: {}", clean_line(&tag))?;
    }
    if !t.links.follow_ups.is_empty() {
        let tags: Vec<String> = t
            .links
            .follow_ups
            .iter()
            .map(|id| config.threading.tag(*id))
            .collect();
        writeln!(out, "follow-ups: {}", clean_line(&tags.join(", ")))?;
    }
    match &t.correlation {
        Some(key) => writeln!(out, "correlation: {}", clean_line(key)),
        None => Ok(()),
    }
}

fn ticket_times(out: &mut Out, t: &Ticket) -> Printed {
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".into())
    };
    writeln!(
        out,
        "created: {}   updated: {}   closed: {}",
        time(Some(t.created_at)),
        time(Some(t.updated_at)),
        time(t.closed_at)
    )
}

fn comment(out: &mut Out, c: &Comment) -> Printed {
    let visibility = if c.visibility == Visibility::Internal {
        "internal"
    } else {
        "public"
    };
    let at = c.created_at.format("%Y-%m-%d %H:%M");
    let author = clean_line(&c.author);
    let unproven = if c.unproven_staff {
        " [claims to be staff, not proven]"
    } else {
        ""
    };
    writeln!(
        out,
        "\n--- {} {author} ({:?}, {visibility}) {at}{unproven}",
        c.seq, c.role
    )?;
    writeln!(out, "{}", c.text)?;
    for a in &c.attachments {
        let (name, content_type) = (clean_line(&a.name), clean_line(&a.content_type));
        writeln!(
            out,
            "[attachment: {name} ({content_type}, {} bytes)]",
            a.size
        )?;
    }
    match &c.source_message {
        Some(src) => writeln!(
            out,
            "[original: ticketd messages original '{}']",
            clean_line(src)
        ),
        None => Ok(()),
    }
}

//! Telling mail apart: decides what kind of sender wrote a message and
//! records the rule that fired. Pure: looks only at the parsed mail and the
//! configuration.
//!
//! Order of checks (first match wins):
//! 1. our own mail coming back (our loop header or a support address as sender);
//! 2. bounces (DSN reports, mailer-daemon/postmaster senders, X-Failed-Recipients);
//! 3. auto-replies (Auto-Submitted: auto-replied, read receipts, X-Autoreply
//!    and friends, Precedence: auto_reply, X-Auto-Response-Suppress: All,
//!    null Return-Path);
//! 4. admin rules for automated mail (`[[automated]]` in the config);
//! 5. other machine mail: Auto-Submitted other than `no` (RFC 3834), list
//!    and bulk mail (List-Id, List-Unsubscribe, Feedback-ID, Precedence
//!    bulk/junk/list), no-reply senders;
//! 6. otherwise a human.
//!
//! `Auto-Submitted: no` explicitly marks a human and is never a match.

use serde::{Deserialize, Serialize};

use crate::config::AutomatedRule;
use crate::mail::InboundMail;

/// Header ticketd puts on everything it sends; its value is the instance name.
pub const LOOP_HEADER: &str = "X-Ticketd-Loop";

/// What kind of sender a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// A person.
    Human,
    /// An application matched by an admin rule, or other machine mail
    /// (Auto-Submitted: auto-generated, list/bulk mail, no-reply senders).
    Automated,
    /// An out-of-office or other automatic answer. Never opens a ticket.
    AutoReply,
    /// A delivery status notification. Never opens a ticket.
    Bounce,
    /// Our own outgoing mail came back. Never opens a ticket.
    OwnLoop,
}

impl MailKind {
    /// Whether this kind may open a ticket or add a comment.
    pub fn may_open_ticket(self) -> bool {
        matches!(self, MailKind::Human | MailKind::Automated)
    }
}

/// The decision and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    /// The kind.
    pub kind: MailKind,
    /// The rule that fired, e.g. `auto-submitted:auto-replied`.
    pub rule: String,
    /// Category from an admin rule.
    pub category: Option<String>,
}

impl Classification {
    fn new(kind: MailKind, rule: impl Into<String>) -> Self {
        Classification {
            kind,
            rule: rule.into(),
            category: None,
        }
    }
}

/// Inputs the classifier needs from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ClassifyContext<'a> {
    /// Our instance name (value of [`LOOP_HEADER`]).
    pub instance_name: &'a str,
    /// Our support addresses.
    pub support_addresses: &'a std::collections::BTreeSet<String>,
    /// Admin rules.
    pub automated_rules: &'a [AutomatedRule],
}

/// Classifies a message.
pub fn classify(mail: &InboundMail, ctx: ClassifyContext<'_>) -> Classification {
    own_loop(mail, ctx)
        .or_else(|| bounce(mail))
        .or_else(|| auto_reply(mail))
        .or_else(|| admin_rule(mail, ctx.automated_rules))
        .or_else(|| machine_mail(mail))
        .unwrap_or_else(|| Classification::new(MailKind::Human, "human:default"))
}

fn own_loop(mail: &InboundMail, ctx: ClassifyContext<'_>) -> Option<Classification> {
    if mail
        .header(LOOP_HEADER)
        .is_some_and(|v| v.eq_ignore_ascii_case(ctx.instance_name))
    {
        return Some(Classification::new(MailKind::OwnLoop, "own-loop:header"));
    }
    let from = mail.from.as_deref()?;
    ctx.support_addresses
        .contains(from)
        .then(|| Classification::new(MailKind::OwnLoop, "own-loop:from-support-address"))
}

fn local_part(address: &str) -> &str {
    address.rsplit_once('@').map(|(l, _)| l).unwrap_or(address)
}

fn bounce(mail: &InboundMail) -> Option<Classification> {
    let rule = if mail.content_type == "multipart/report"
        && mail.report_type.as_deref() == Some("delivery-status")
    {
        "bounce:multipart-report"
    } else if mail.has_delivery_status {
        "bounce:delivery-status-part"
    } else if mail.has_header("x-failed-recipients") {
        "bounce:x-failed-recipients"
    } else if mail
        .from
        .as_deref()
        .map(local_part)
        .is_some_and(is_bounce_sender)
    {
        "bounce:mailer-daemon-sender"
    } else {
        return None;
    };
    Some(Classification::new(MailKind::Bounce, rule))
}

fn is_bounce_sender(local: &str) -> bool {
    let local = local.to_ascii_lowercase();
    local == "mailer-daemon" || local == "postmaster"
}

/// Headers whose mere presence marks an auto-reply (osTicket, FreeScout, RT).
const AUTO_REPLY_HEADERS: [&str; 6] = [
    "x-autoreply",
    "x-autorespond",
    "x-autoresponse",
    "x-autoreply-from",
    "x-mail-autoreply",
    "x-autoresponder",
];

fn auto_reply(mail: &InboundMail) -> Option<Classification> {
    let auto_submitted = auto_submitted(mail);
    if let Some(value) = &auto_submitted
        && value.starts_with("auto-replied")
    {
        return Some(Classification::new(
            MailKind::AutoReply,
            "auto-submitted:auto-replied",
        ));
    }
    if mail.content_type == "multipart/report"
        && mail.report_type.as_deref() == Some("disposition-notification")
    {
        return Some(Classification::new(
            MailKind::AutoReply,
            "read-receipt:disposition-notification",
        ));
    }
    if let Some(name) = AUTO_REPLY_HEADERS.iter().find(|h| mail.has_header(h)) {
        return Some(Classification::new(
            MailKind::AutoReply,
            format!("header:{name}"),
        ));
    }
    if precedence(mail).is_some_and(|p| p == "auto_reply" || p == "auto-reply") {
        return Some(Classification::new(
            MailKind::AutoReply,
            "precedence:auto_reply",
        ));
    }
    if mail
        .header("x-auto-response-suppress")
        .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("all")))
        && auto_submitted.is_none()
    {
        return Some(Classification::new(
            MailKind::AutoReply,
            "x-auto-response-suppress:all",
        ));
    }
    if mail
        .header("return-path")
        .is_some_and(|v| v.trim() == "<>" || v.trim().is_empty())
    {
        return Some(Classification::new(MailKind::AutoReply, "return-path:null"));
    }
    None
}

/// The Auto-Submitted keyword (lower-cased, parameters and comments
/// dropped), `None` when absent or `no`.
fn auto_submitted(mail: &InboundMail) -> Option<String> {
    let value = mail.header("auto-submitted")?.to_ascii_lowercase();
    let keyword = value
        .split([';', '(', ' ', '\t'])
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    (!keyword.is_empty() && keyword != "no").then_some(keyword)
}

fn precedence(mail: &InboundMail) -> Option<String> {
    mail.header("precedence")
        .or_else(|| mail.header("x-precedence"))
        .map(|v| v.trim().to_ascii_lowercase())
}

fn admin_rule(mail: &InboundMail, rules: &[AutomatedRule]) -> Option<Classification> {
    let rule = rules.iter().find(|rule| rule_matches(rule, mail))?;
    Some(Classification {
        kind: MailKind::Automated,
        rule: format!("automated-rule:{}", rule.name),
        category: rule.category.clone(),
    })
}

/// Whether every condition of an admin rule matches the mail.
pub fn rule_matches(rule: &AutomatedRule, mail: &InboundMail) -> bool {
    let from = mail.from.as_deref().unwrap_or("");
    rule.from.as_ref().is_none_or(|r| r.is_match(from))
        && rule
            .subject
            .as_ref()
            .is_none_or(|r| r.is_match(&mail.subject))
        && rule
            .headers
            .iter()
            .all(|(name, r)| mail.header(name).is_some_and(|v| r.is_match(v)))
}

/// Sender local parts that never read replies.
const NO_REPLY_LOCALS: [&str; 6] = [
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
    "do_not_reply",
];

fn machine_mail(mail: &InboundMail) -> Option<Classification> {
    let rule = if let Some(value) = auto_submitted(mail) {
        format!(
            "auto-submitted:{}",
            value.split(';').next().unwrap_or(&value).trim()
        )
    } else if let Some(p) =
        precedence(mail).filter(|p| matches!(p.as_str(), "bulk" | "junk" | "list"))
    {
        format!("precedence:{p}")
    } else if let Some(h) = ["list-id", "list-unsubscribe", "feedback-id"]
        .iter()
        .find(|h| mail.has_header(h))
    {
        format!("header:{h}")
    } else if mail
        .from
        .as_deref()
        .map(|f| local_part(f).to_ascii_lowercase())
        .is_some_and(|l| {
            NO_REPLY_LOCALS.iter().any(|n| {
                l == *n || l.starts_with(&format!("{n}-")) || l.starts_with(&format!("{n}+"))
            })
        })
    {
        "sender:no-reply".to_string()
    } else {
        return None;
    };
    Some(Classification::new(MailKind::Automated, rule))
}

#[cfg(test)]
mod tests;

//! Customer replies to closed tickets (`[closed_tickets]` in the config).
//!
//! In order:
//! 1. a reply whose new text only says thanks (with greetings, a sign-off,
//!    the sender's name) is kept as a comment on the closed ticket: no
//!    reopen, no follow-up, no alert to anyone (`thanks_keeps_closed`,
//!    default on);
//! 2. `customer_reply = "reopen"`: the ticket reopens;
//! 3. `"reopen_within"` (default, 14 days): it reopens when closed less
//!    than `reopen_within_days` ago, else the reply opens a follow-up;
//! 4. `"never"`: the reply opens a follow-up.
//!
//! A follow-up is a new ticket with the old subject, linked both ways
//! (`tickets show` names the link; the new ticket starts with an internal
//! note saying why). While the newest follow-up is open, further replies
//! to the old thread join it instead of opening yet another ticket.

use chrono::{DateTime, Utc};

use super::{Applied, Decision};
use crate::config::{ClosedTicketsConfig, ReopenPolicy};
use crate::domain::workflow::Workflow;
use crate::ingest::mail::InboundMail;
use crate::model::{Disposition, Status, Ticket, TicketId};
use crate::store::WriteTx;

/// Most words a thank-you reply may have.
const MAX_THANKS_WORDS: usize = 25;

/// What a customer reply to a closed ticket does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ClosedReply {
    /// Reopen, then comment (the note names the rule).
    Reopen(String),
    /// Comment and leave the ticket closed.
    KeepClosed(String),
    /// Open a linked follow-up ticket (the text says why).
    FollowUp(String),
}

/// Applies the policy to a customer reply to the closed `ticket`.
pub(super) fn decide(
    ticket: &Ticket,
    mail: &InboundMail,
    config: &ClosedTicketsConfig,
    now: DateTime<Utc>,
) -> ClosedReply {
    let new_text = crate::ingest::content::new_text(&mail.subject, &mail.text);
    if config.thanks_keeps_closed && is_thanks_only(&new_text, &sender_names(mail)) {
        return ClosedReply::KeepClosed("closed-ticket:thanks-kept-closed".into());
    }
    match config.customer_reply {
        ReopenPolicy::Reopen => ClosedReply::Reopen("closed-ticket:reopened".into()),
        ReopenPolicy::ReopenWithin(window) => {
            let closed_for = ticket.closed_at.map(|t| now - t).unwrap_or_default();
            if closed_for < window {
                ClosedReply::Reopen(format!(
                    "closed-ticket:reopened-within-{}-days",
                    window.num_days()
                ))
            } else {
                ClosedReply::FollowUp(format!(
                    "the reply came {} days after closing, later than closed_tickets.reopen_within_days = {}",
                    closed_for.num_days(),
                    window.num_days()
                ))
            }
        }
        ReopenPolicy::Never => {
            ClosedReply::FollowUp("closed_tickets.customer_reply is \"never\"".into())
        }
    }
}

/// Routes a reply to the closed `previous` ticket to its open follow-up,
/// or opens a new follow-up.
pub(super) fn follow_up(
    wf: &Workflow,
    tx: &mut dyn WriteTx,
    d: &Decision<'_>,
    mut previous: Ticket,
    why: &str,
) -> anyhow::Result<Applied> {
    if let Some(open) = open_follow_up(&*tx, &previous)? {
        let applied = super::decide::reply(wf, tx, d, open)?;
        return Ok(applied.note(format!("closed-ticket:joined-open-follow-up-#{open}")));
    }
    let note = format!("closed-ticket:follow-up-of-#{}", previous.id);
    let mut draft = super::ticket_draft(wf, &*tx, d, d.rule_with(std::slice::from_ref(&note)))?;
    draft.subject = previous.subject.clone();
    draft.opening.text = super::decide::outside_reply_text(d.mail);
    let ticket = wf.open_follow_up(tx, &mut previous, draft, why, &super::decide::trigger(d))?;
    Ok(Applied::new(Disposition::NewTicket { ticket: ticket.id }).note(note))
}

/// The newest follow-up of `ticket`, when it is open.
fn open_follow_up(tx: &dyn WriteTx, ticket: &Ticket) -> anyhow::Result<Option<TicketId>> {
    let Some(&newest) = ticket.links.follow_ups.last() else {
        return Ok(None);
    };
    let open = tx.ticket(newest)?.is_some_and(|t| t.status == Status::Open);
    Ok(open.then_some(newest))
}

/// Words of the sender's name and address, allowed as a signature.
fn sender_names(mail: &InboundMail) -> Vec<String> {
    let local = mail
        .from
        .as_deref()
        .and_then(|a| a.split('@').next())
        .unwrap_or_default();
    words(&format!(
        "{} {}",
        mail.from_name.as_deref().unwrap_or_default(),
        local
    ))
}

/// Words that say thanks, in the languages customers commonly write.
const THANKS: [&str; 36] = [
    "thanks",
    "thank",
    "thx",
    "thnx",
    "thanx",
    "tks",
    "danke",
    "dankeschön",
    "dank",
    "merci",
    "gracias",
    "grazie",
    "obrigado",
    "obrigada",
    "bedankt",
    "tack",
    "takk",
    "tak",
    "kiitos",
    "dziękuję",
    "dzięki",
    "děkuji",
    "díky",
    "köszönöm",
    "teşekkürler",
    "hvala",
    "mulțumesc",
    "спасибо",
    "благодарю",
    "ευχαριστώ",
    "ありがとう",
    "ありがとうございます",
    "ありがとうございました",
    "谢谢",
    "感谢",
    "감사합니다",
];

/// Words that may surround a thank-you without adding a request:
/// intensifiers, "it works now", greetings and sign-offs.
const FILLER: [&str; 113] = [
    "you",
    "u",
    "so",
    "very",
    "much",
    "many",
    "a",
    "lot",
    "lots",
    "again",
    "all",
    "for",
    "the",
    "your",
    "this",
    "that",
    "it",
    "is",
    "was",
    "has",
    "now",
    "works",
    "worked",
    "working",
    "fixed",
    "solved",
    "resolved",
    "sorted",
    "done",
    "help",
    "support",
    "assistance",
    "quick",
    "fast",
    "prompt",
    "great",
    "awesome",
    "perfect",
    "perfectly",
    "excellent",
    "wonderful",
    "super",
    "ok",
    "okay",
    "good",
    "nice",
    "kind",
    "best",
    "regards",
    "br",
    "kr",
    "cheers",
    "greetings",
    "sincerely",
    "yours",
    "hi",
    "hello",
    "hey",
    "dear",
    "team",
    "everyone",
    "guys",
    "and",
    "have",
    "day",
    "weekend",
    "really",
    "appreciated",
    "appreciate",
    "indeed",
    "vielen",
    "herzlichen",
    "herzlich",
    "lieben",
    "liebe",
    "besten",
    "beste",
    "gruß",
    "grüße",
    "gruss",
    "grüsse",
    "viele",
    "mfg",
    "lg",
    "vg",
    "hallo",
    "sehr",
    "für",
    "die",
    "ihre",
    "hilfe",
    "schnelle",
    "prima",
    "alles",
    "klar",
    "jetzt",
    "funktioniert",
    "es",
    "gut",
    "und",
    "schönen",
    "tag",
    "beaucoup",
    "bonjour",
    "cordialement",
    "pour",
    "votre",
    "aide",
    "muchas",
    "saludos",
    "hola",
    "por",
    "su",
];

/// Lines from which on a reply is signature or client boilerplate.
const SIGNATURE_STARTS: [&str; 5] = [
    "-- ",
    "sent from my",
    "get outlook for",
    "von meinem",
    "envoyé de mon",
];

/// Whether the new text of a reply only says thanks: it has a thank-you
/// word, at most [`MAX_THANKS_WORDS`] words before the signature, and
/// every other word is filler or one of `names`.
pub(super) fn is_thanks_only(new_text: &str, names: &[String]) -> bool {
    let body: Vec<&str> = new_text
        .lines()
        .take_while(|l| {
            let lower = l.to_lowercase();
            l.trim_end() != "--" && !SIGNATURE_STARTS.iter().any(|s| lower.starts_with(s))
        })
        .collect();
    let words = words(&body.join(" "));
    words.len() <= MAX_THANKS_WORDS
        && words.iter().any(|w| THANKS.contains(&w.as_str()))
        && words.iter().all(|w| {
            THANKS.contains(&w.as_str()) || FILLER.contains(&w.as_str()) || names.contains(w)
        })
}

/// Lower-case words: runs of letters and digits.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["carol".into(), "smith".into()]
    }

    #[test]
    fn thank_you_notes_in_many_forms_are_recognised() {
        for text in [
            "Thanks!",
            "thank you so much",
            "Thanks, that fixed it. Cheers, Carol",
            "Thank you very much for the quick help!\n\nBest regards\nCarol Smith",
            "Vielen Dank! 🙏\n\nLG Carol",
            "Danke, funktioniert jetzt.",
            "Merci beaucoup, cordialement",
            "ありがとうございます。",
            "Thanks!\n-- \nCarol Smith | ACME Corp | +1 555 0100 | Floor 3, desk 12 and more",
            "Thx\n\nSent from my iPhone",
        ] {
            assert!(is_thanks_only(text, &names()), "{text:?}");
        }
    }

    #[test]
    fn anything_more_than_thanks_is_not() {
        for text in [
            "",
            "Cheers, Carol",
            "👍",
            "Thanks, but it is broken again.",
            "Thanks! One more question: can you also reset my VPN token?",
            "Thank you. The printer on floor 3 does the same now.",
            "ok",
            "Thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks",
        ] {
            assert!(!is_thanks_only(text, &names()), "{text:?}");
        }
    }

    #[test]
    fn a_name_counts_only_when_it_is_the_senders() {
        assert!(is_thanks_only("Thanks, Carol", &names()));
        assert!(!is_thanks_only("Thanks, Mallory", &names()));
    }
}

//! The evidence the classifier's rules read off a mail: header values and
//! the addresses in them, the Auto-Submitted keyword and Precedence, the
//! strong and machine markers (described in `ingest::classify`'s docs),
//! `X-Auto-Response-Suppress` tokens, and the subject beginnings of
//! auto-replies and delivery failures in many languages.

use crate::ingest::mail::InboundMail;

/// Whether `X-Auto-Response-Suppress` names one of `tokens` (lower case).
pub(super) fn suppresses_auto_responses(mail: &InboundMail, tokens: &[&str]) -> bool {
    mail.header("x-auto-response-suppress")
        .is_some_and(|value| {
            value
                .split([',', ' ', '\t'])
                .any(|t| tokens.contains(&t.to_ascii_lowercase().as_str()))
        })
}

/// Values of every header with this name: loop headers are added once per
/// hop, so ours need not be the first.
pub(super) fn all_values<'m>(
    mail: &'m InboundMail,
    name: &'m str,
) -> impl Iterator<Item = &'m str> {
    mail.headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Address-like tokens of a header value (`<a@b>`, `a@b`, `Name <a@b>`).
pub(super) fn addresses_in(value: &str) -> impl Iterator<Item = &str> {
    value
        .split([' ', ',', '<', '>', ';', '\t'])
        .filter(|t| t.contains('@'))
}

pub(super) fn local_part(address: &str) -> &str {
    address.rsplit_once('@').map(|(l, _)| l).unwrap_or(address)
}

/// The first machine marker of a mail (see the docs of `ingest::classify`).
pub(super) fn machine_marker(mail: &InboundMail) -> Option<&'static str> {
    strong_marker(mail).or_else(|| {
        if suppresses_auto_responses(mail, &["all"]) {
            Some("x-auto-response-suppress")
        } else if mail.has_header("x-ms-exchange-inbox-rules-loop") {
            Some("x-ms-exchange-inbox-rules-loop")
        } else {
            None
        }
    })
}

/// The first strong marker: the mail says it was generated.
pub(super) fn strong_marker(mail: &InboundMail) -> Option<&'static str> {
    if auto_submitted(mail).is_some() {
        Some("auto-submitted")
    } else if precedence(mail).is_some_and(|p| matches!(p.as_str(), "bulk" | "junk" | "list")) {
        Some("precedence")
    } else if has_null_return_path(mail) {
        Some("null-return-path")
    } else {
        None
    }
}

pub(super) fn has_null_return_path(mail: &InboundMail) -> bool {
    mail.header("return-path")
        .is_some_and(|v| matches!(v.trim(), "" | "<>" | "<<>>"))
}

/// The Auto-Submitted keyword (lower-cased, parameters and comments
/// dropped), `None` when absent or `no`.
pub(super) fn auto_submitted(mail: &InboundMail) -> Option<String> {
    let value = mail.header("auto-submitted")?.to_ascii_lowercase();
    let keyword = value
        .split([';', '(', ' ', '\t'])
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    (!keyword.is_empty() && keyword != "no").then_some(keyword)
}

pub(super) fn precedence(mail: &InboundMail) -> Option<String> {
    mail.header("precedence")
        .or_else(|| mail.header("x-precedence"))
        .map(|v| v.trim().to_ascii_lowercase())
}

pub(super) fn header_is(mail: &InboundMail, name: &str, value: &str) -> bool {
    mail.header(name)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(value))
}

/// Whether a subject starts with one of `prefixes` (compared lower-cased).
pub(super) fn subject_starts_with(subject: &str, prefixes: &[&str]) -> bool {
    let subject = subject.trim_start().to_lowercase();
    prefixes.iter().any(|p| subject.starts_with(p))
}

/// Subject beginnings of out-of-office and other automatic answers, as the
/// common mail systems write them in their users' languages (lower case).
pub(super) const AUTO_REPLY_SUBJECTS: [&str; 48] = [
    "automatic reply",
    "auto reply",
    "auto-reply",
    "autoreply",
    "auto response",
    "auto-response",
    "autoresponse",
    "automatic response",
    "auto:",
    "out of office",
    "out of the office",
    "out-of-office",
    "ooo:",
    "away from the office",
    "vacation reply",
    "automatische antwort",
    "abwesenheitsnotiz",
    "abwesend:",
    "réponse automatique",
    "reponse automatique",
    "absence du bureau",
    "message d'absence",
    "respuesta automática",
    "fuera de la oficina",
    "risposta automatica",
    "fuori sede",
    "resposta automática",
    "fora do escritório",
    "automatisch antwoord",
    "afwezig:",
    "automatiskt svar",
    "automatisk svar",
    "autosvar",
    "automaattinen vastaus",
    "odpowiedź automatyczna",
    "automatyczna odpowiedź",
    "automatická odpověď",
    "automatikus válasz",
    "otomatik yanıt",
    "автоматический ответ",
    "автоответ",
    "автоматична відповідь",
    "自動応答",
    "自動返信",
    "自动回复",
    "自動回覆",
    "자동 회신",
    "자동 응답",
];

/// Subject beginnings of delivery failure notices (lower case).
pub(super) const BOUNCE_SUBJECTS: [&str; 16] = [
    "undeliverable",
    "undelivered mail",
    "delivery status notification",
    "delivery failure",
    "delivery has failed",
    "mail delivery failed",
    "returned mail",
    "failure notice",
    "non remis",
    "unzustellbar",
    "nicht zustellbar",
    "no se puede entregar",
    "non recapitabile",
    "onbestelbaar",
    "配信不能",
    "无法投递",
];

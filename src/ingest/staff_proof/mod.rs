//! Who sent a message, as far as we can prove it. A From line is trivially
//! forged, so a staff address alone earns nothing: staff rights (public
//! replies relayed to customers, `#close`, `#internal`) need proof.
//!
//! A mail with more than one `From:` field, or a From field naming more
//! than one mailbox, is never staff, whatever else it carries (rule
//! `staff-address-unverified:multiple-from`): which From a reader sees, and
//! which one a DKIM or DMARC check looked at, is anybody's guess. Otherwise
//! a mail from a staff address is staff when one of these holds:
//! - `staff.trust_from_header = true` (insecure; for closed networks):
//!   rule `staff:from-header-trusted-by-config`;
//! - it was sent to a staff reply address whose token is bound to this
//!   sender (`support+sN.K@`, sent only to that staff member):
//!   `staff:reply-token`;
//! - the FIRST (topmost) `Authentication-Results` header has the configured
//!   `staff.authserv_id` (our own MTA, compared case-insensitively) and,
//!   parsed by RFC 8601 ([`auth_results`]: text in comments and quoted
//!   strings is no result), header version and method version absent or
//!   `1`, holds either `dmarc=pass` whose `header.from` is the From
//!   domain, or `dkim=pass` whose `header.d` is the From domain or a
//!   parent of it (`example.test` for `mail.example.test`; `header.d` must
//!   contain a dot, so a bare TLD never counts). Every `header.from`
//!   (`header.d`) of that result must match, and a result without one does
//!   not count; `header.i` is never looked at. Domains compare
//!   case-insensitively: `staff:authentication-results`.
//!
//! Unproven mail from a staff address is treated as customer mail (rule
//! `staff-address-unverified`).

pub mod auth_results;

use crate::config::Config;
use crate::ingest::mail::InboundMail;
use crate::model::token::{AddressToken, ThreadKey};
use auth_results::{PropertyType, ResInfo};

/// The sender and what we could verify about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderRole {
    /// Sender address (normalized; empty when missing).
    pub address: String,
    /// The verdict.
    pub kind: SenderKind,
}

/// Verdict on the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenderKind {
    /// Verified staff, with how.
    Staff(&'static str),
    /// Staff address without proof, with why.
    UnverifiedStaff(Unproven),
    /// Anyone else.
    Outside,
}

/// Why a staff address did not count as staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unproven {
    /// None of the proofs held.
    NoProof,
    /// More than one From field or mailbox: no proof is looked at.
    MultipleFrom,
}

impl SenderRole {
    /// Whether the sender is proven staff.
    pub fn is_verified_staff(&self) -> bool {
        matches!(self.kind, SenderKind::Staff(_))
    }

    /// Rule name for the record.
    pub fn rule(&self) -> String {
        match self.kind {
            SenderKind::Staff(how) => format!("staff:{how}"),
            SenderKind::UnverifiedStaff(Unproven::NoProof) => "staff-address-unverified".into(),
            SenderKind::UnverifiedStaff(Unproven::MultipleFrom) => {
                "staff-address-unverified:multiple-from".into()
            }
            SenderKind::Outside => "sender:outside".into(),
        }
    }
}

/// Decides the sender's role.
pub fn sender_role(mail: &InboundMail, config: &Config, key: &ThreadKey) -> SenderRole {
    let address = mail.from.clone().unwrap_or_default();
    let kind = if address.is_empty() || !config.staff.is_staff_address(&address) {
        SenderKind::Outside
    } else if mail.from_mailboxes > 1 {
        SenderKind::UnverifiedStaff(Unproven::MultipleFrom)
    } else if let Some(how) = staff_proof(mail, config, key, &address) {
        SenderKind::Staff(how)
    } else {
        SenderKind::UnverifiedStaff(Unproven::NoProof)
    };
    SenderRole { address, kind }
}

fn staff_proof(
    mail: &InboundMail,
    config: &Config,
    key: &ThreadKey,
    sender: &str,
) -> Option<&'static str> {
    if config.staff.trust_from_header {
        return Some("from-header-trusted-by-config");
    }
    if sent_to_own_reply_token(mail, config, key, sender) {
        return Some("reply-token");
    }
    let authserv = config.staff.authserv_id.as_deref()?;
    let topmost = mail.header("authentication-results")?;
    authentication_passes(topmost, authserv, sender).then_some("authentication-results")
}

/// Whether a recipient is a staff reply address bound to `sender`.
fn sent_to_own_reply_token(
    mail: &InboundMail,
    config: &Config,
    key: &ThreadKey,
    sender: &str,
) -> bool {
    mail.all_recipients().any(|a| {
        config.support_addresses.iter().any(|s| {
            matches!(
                key.verify_address(a, s, sender),
                Some(AddressToken::Staff(_))
            )
        })
    })
}

/// Whether one `Authentication-Results` value, from `authserv`, proves
/// that `sender`'s domain sent the mail (the rules are in the module doc).
pub fn authentication_passes(value: &str, authserv: &str, sender: &str) -> bool {
    let Some((_, from_domain)) = sender.rsplit_once('@').filter(|(_, d)| !d.is_empty()) else {
        return false;
    };
    let Ok(parsed) = auth_results::parse(value) else {
        return false;
    };
    parsed.authserv_id.eq_ignore_ascii_case(authserv)
        && is_version_one(parsed.version.as_deref())
        && parsed
            .results
            .iter()
            .any(|info| result_proves_domain(info, from_domain))
}

fn result_proves_domain(info: &ResInfo, from_domain: &str) -> bool {
    if info.result != "pass" || !is_version_one(info.method_version.as_deref()) {
        return false;
    }
    match info.method.as_str() {
        "dmarc" => every_and_some(info.values(PropertyType::Header, "from"), |d| {
            d.eq_ignore_ascii_case(from_domain)
        }),
        "dkim" => every_and_some(info.values(PropertyType::Header, "d"), |d| {
            signing_domain_covers(d, from_domain)
        }),
        _ => false,
    }
}

/// RFC 8601 defines version 1 only; a version written as anything else
/// is one we cannot read.
fn is_version_one(version: Option<&str>) -> bool {
    version.is_none_or(|v| v == "1")
}

/// Whether there is at least one value and every value passes.
fn every_and_some<'a>(
    mut values: impl Iterator<Item = &'a str>,
    passes: impl Fn(&str) -> bool,
) -> bool {
    let mut any = false;
    values.all(|v| {
        any = true;
        passes(v)
    }) && any
}

/// Whether a DKIM signature by `signing` vouches for mail from
/// `from_domain`: the same domain or a parent of it, never a bare TLD
/// (`signing` needs a dot) nor a look-alike suffix (`ample.test` does not
/// cover `example.test`).
pub fn signing_domain_covers(signing: &str, from_domain: &str) -> bool {
    let signing = signing.to_ascii_lowercase();
    let from_domain = from_domain.to_ascii_lowercase();
    if !signing.contains('.') || signing.starts_with('.') || signing.ends_with('.') {
        return false;
    }
    from_domain == signing
        || from_domain
            .strip_suffix(&signing)
            .is_some_and(|label| label.len() > 1 && label.ends_with('.'))
}

#[cfg(test)]
mod tests;

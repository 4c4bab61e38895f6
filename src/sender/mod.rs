//! Who sent a message, as far as we can prove it. A From line is trivially
//! forged, so a staff address alone earns nothing: staff rights (public
//! replies relayed to customers, `#close`, `#internal`) need one of
//! - a reply to a staff reply address whose token is bound to this sender
//!   (`support+sN.K@`, sent only to that staff member);
//! - the first `Authentication-Results` header, from the configured
//!   `staff.authserv_id` (our own MTA), saying `dmarc=pass`, or
//!   `dkim=pass` with `header.d` equal to the sender's domain;
//! - `staff.trust_from_header = true` (insecure; for closed networks).
//!
//! Unproven mail from a staff address is treated as customer mail.

pub mod auth_results;

use crate::config::Config;
use crate::mail::InboundMail;
use crate::token::{AddressToken, ThreadKey};

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
    /// Staff address without proof.
    UnverifiedStaff,
    /// Anyone else.
    Outside,
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
            SenderKind::UnverifiedStaff => "staff-address-unverified".into(),
            SenderKind::Outside => "sender:outside".into(),
        }
    }
}

/// Decides the sender's role.
pub fn sender_role(mail: &InboundMail, config: &Config, key: &ThreadKey) -> SenderRole {
    let address = mail.from.clone().unwrap_or_default();
    let kind = if address.is_empty() || !config.staff.is_staff_address(&address) {
        SenderKind::Outside
    } else if let Some(how) = staff_proof(mail, config, key, &address) {
        SenderKind::Staff(how)
    } else {
        SenderKind::UnverifiedStaff
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
    let token_ok = mail.all_recipients().any(|a| {
        config.support_addresses.iter().any(|s| {
            matches!(
                key.verify_address(a, s, sender),
                Some(AddressToken::Staff(_))
            )
        })
    });
    if token_ok {
        return Some("reply-token");
    }
    let authserv = config.staff.authserv_id.as_deref()?;
    let results = mail.header("authentication-results")?;
    authentication_passes(results, authserv, sender).then_some("authentication-results")
}

/// Checks one `Authentication-Results` value (RFC 8601) from `authserv`.
pub fn authentication_passes(value: &str, authserv: &str, sender: &str) -> bool {
    let mut parts = value.split(';').map(str::trim);
    let Some(id) = parts.next() else { return false };
    if !id
        .split_whitespace()
        .next()
        .is_some_and(|i| i.eq_ignore_ascii_case(authserv))
    {
        return false;
    }
    let domain = sender.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    parts.any(|result| {
        let lower = result.to_ascii_lowercase();
        lower.starts_with("dmarc=pass")
            || (lower.starts_with("dkim=pass")
                && lower.split_whitespace().any(|t| {
                    t == format!("header.d={domain}") || t == format!("header.i=@{domain}")
                }))
    })
}

#[cfg(test)]
mod tests {
    use super::authentication_passes;

    #[test]
    fn authentication_results_needs_our_authserv_and_a_pass() {
        let ok = "mx.example.test; dkim=pass header.d=example.test; spf=pass";
        assert!(authentication_passes(
            ok,
            "mx.example.test",
            "ann@example.test"
        ));
        assert!(!authentication_passes(
            ok,
            "mx.other.test",
            "ann@example.test"
        ));
        assert!(!authentication_passes(
            ok,
            "mx.example.test",
            "ann@evil.test"
        ));
        let fail = "mx.example.test; dkim=fail header.d=example.test; dmarc=fail";
        assert!(!authentication_passes(
            fail,
            "mx.example.test",
            "ann@example.test"
        ));
        let dmarc = "mx.example.test 1; dmarc=pass header.from=example.test";
        assert!(authentication_passes(
            dmarc,
            "mx.example.test",
            "ann@example.test"
        ));
    }
}

//! Keyed thread tokens: short HMAC-SHA256 tags that tie outgoing
//! Message-IDs and Reply-To addresses to one ticket (and, for staff
//! notifications, to one staff address), so a thread can't be joined by
//! guessing ticket numbers and staff can't be impersonated by a From line.
//!
//! Formats (`T` ticket number, `N` outbox item, `K` token):
//! - Message-ID: `tT.K.N.J@domain` (our own ids; `J` is bound to the
//!   item, so holding one of our mails does not let anyone name another
//!   item; ids of earlier versions, `tT.K.N@domain`, still thread)
//! - Reply-To:   `local+tT.K@domain` (customers) and `local+sT.K@domain`
//!   (a staff notification, K bound to the staff address).
//! - Envelope sender (VERP): `local+bN.K@domain`, K bound to outbox item
//!   N, so a bounce names the exact mail and recipient and cannot be
//!   forged for another one.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::model::{TicketId, normalize_address};

/// Hex characters kept from the MAC: 48 bits, far beyond guessing by mail.
const TOKEN_HEX_LEN: usize = 12;

/// The secret behind every token.
#[derive(Clone)]
pub struct ThreadKey {
    secret: Vec<u8>,
}

impl std::fmt::Debug for ThreadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ThreadKey(..)")
    }
}

/// What a plus-address token proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressToken {
    /// A customer-facing reply address of this ticket.
    Ticket(TicketId),
    /// A staff reply address of this ticket, valid for the given sender.
    Staff(TicketId),
}

impl ThreadKey {
    /// Wraps secret bytes.
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        ThreadKey {
            secret: secret.into(),
        }
    }

    fn mac(&self, input: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(input.as_bytes());
        let digest = hex::encode(mac.finalize().into_bytes());
        digest[..TOKEN_HEX_LEN].to_string()
    }

    /// Token for a ticket's customer-facing thread.
    pub fn ticket_token(&self, id: TicketId) -> String {
        self.mac(&format!("ticket:{id}"))
    }

    /// Token for a staff member's reply address on a ticket.
    pub fn staff_token(&self, id: TicketId, staff_address: &str) -> String {
        self.mac(&format!("staff:{id}:{}", normalize_address(staff_address)))
    }

    /// Token binding outbox item `item` to ticket `id`.
    fn item_token(&self, id: TicketId, item: u64) -> String {
        self.mac(&format!("item:{id}:{item}"))
    }

    /// Our Message-ID for outbox item `item` of ticket `id` (no brackets).
    pub fn message_id(&self, id: TicketId, item: u64, domain: &str) -> String {
        format!(
            "t{id}.{}.{item}.{}@{domain}",
            self.ticket_token(id),
            self.item_token(id, item)
        )
    }

    /// The ticket a Message-ID of ours belongs to, if the token verifies.
    pub fn ticket_of_message_id(&self, message_id: &str) -> Option<TicketId> {
        let (local, _) = message_id.rsplit_once('@')?;
        let mut parts = local.split('.');
        let id = TicketId(parts.next()?.strip_prefix('t')?.parse().ok()?);
        let token = parts.next()?;
        (constant_eq(token, &self.ticket_token(id))).then_some(id)
    }

    /// The ticket and outbox item of one of our Message-IDs, if both the
    /// ticket and the item token verify (ids of earlier versions, without
    /// an item token, name no item).
    pub fn outbox_item_of_message_id(&self, message_id: &str) -> Option<(TicketId, u64)> {
        let ticket = self.ticket_of_message_id(message_id)?;
        let (local, _) = message_id.rsplit_once('@')?;
        let mut fields = local.split('.').skip(2);
        let item = fields.next()?.parse().ok()?;
        let token = fields.next()?;
        let proven = fields.next().is_none() && constant_eq(token, &self.item_token(ticket, item));
        proven.then_some((ticket, item))
    }

    /// Envelope sender for outbox item `item`: `local+bITEM.TOKEN@domain`.
    /// Bounces come back to it (VERP).
    pub fn bounce_address(&self, base: &str, item: u64) -> String {
        plus_address(
            base,
            &format!("b{item}.{}", self.mac(&format!("bounce:{item}"))),
        )
    }

    /// The outbox item a bounce address of `base` names, if its token
    /// verifies.
    pub fn verify_bounce_address(&self, address: &str, base: &str) -> Option<u64> {
        let (local, domain) = address.rsplit_once('@')?;
        let (base_local, base_domain) = base.rsplit_once('@')?;
        let (plain, tag) = local.split_once('+')?;
        if !plain.eq_ignore_ascii_case(base_local) || !domain.eq_ignore_ascii_case(base_domain) {
            return None;
        }
        let (number, token) = tag.strip_prefix('b')?.split_once('.')?;
        let item: u64 = number.parse().ok()?;
        constant_eq(token, &self.mac(&format!("bounce:{item}"))).then_some(item)
    }

    /// Reply-To address for customers: `local+tID.TOKEN@domain`.
    pub fn reply_address(&self, support: &str, id: TicketId) -> String {
        plus_address(support, &format!("t{id}.{}", self.ticket_token(id)))
    }

    /// Reply-To address for one staff member.
    pub fn staff_reply_address(&self, support: &str, id: TicketId, staff: &str) -> String {
        plus_address(support, &format!("s{id}.{}", self.staff_token(id, staff)))
    }

    /// Checks a recipient address against a support address: returns what
    /// its plus-token proves for mail from `sender`.
    pub fn verify_address(
        &self,
        address: &str,
        support: &str,
        sender: &str,
    ) -> Option<AddressToken> {
        let (local, domain) = address.rsplit_once('@')?;
        let (support_local, support_domain) = support.rsplit_once('@')?;
        let (base, tag) = local.split_once('+')?;
        if !base.eq_ignore_ascii_case(support_local) || !domain.eq_ignore_ascii_case(support_domain)
        {
            return None;
        }
        let (kind_and_id, token) = tag.split_once('.')?;
        let (kind, number) = kind_and_id.split_at_checked(1)?;
        let id = TicketId(number.parse().ok()?);
        match kind {
            "t" if constant_eq(token, &self.ticket_token(id)) => Some(AddressToken::Ticket(id)),
            "s" if constant_eq(token, &self.staff_token(id, sender)) => {
                Some(AddressToken::Staff(id))
            }
            _ => None,
        }
    }
}

fn plus_address(address: &str, tag: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => format!("{local}+{tag}@{domain}"),
        None => address.to_string(),
    }
}

fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ThreadKey {
        ThreadKey::new(b"0123456789abcdef0123".to_vec())
    }

    #[test]
    fn message_id_round_trips_and_rejects_forgery() {
        let k = key();
        let id = k.message_id(TicketId(42), 7, "example.test");
        assert_eq!(k.ticket_of_message_id(&id), Some(TicketId(42)));
        let forged = id.replacen("t42", "t43", 1);
        assert_eq!(k.ticket_of_message_id(&forged), None);
        assert_eq!(
            k.ticket_of_message_id("t42.000000000000.1@example.test"),
            None
        );
        let other = ThreadKey::new(b"another secret value".to_vec());
        assert_eq!(other.ticket_of_message_id(&id), None);
    }

    #[test]
    fn reply_address_verifies_only_for_its_ticket() {
        let k = key();
        let a = k.reply_address("support@example.test", TicketId(5));
        assert!(a.starts_with("support+t5."));
        let got = k.verify_address(&a, "support@example.test", "anyone@x.test");
        assert_eq!(got, Some(AddressToken::Ticket(TicketId(5))));
        let tampered = a.replace("+t5.", "+t6.");
        assert_eq!(
            k.verify_address(&tampered, "support@example.test", "x@x.test"),
            None
        );
        assert_eq!(
            k.verify_address(&a, "billing@example.test", "x@x.test"),
            None
        );
    }

    #[test]
    fn bounce_address_names_one_item_and_rejects_forgery() {
        let k = key();
        let a = k.bounce_address("support@example.test", 17);
        assert!(a.starts_with("support+b17."), "{a}");
        assert_eq!(
            k.verify_bounce_address(&a, "support@example.test"),
            Some(17)
        );
        let other_item = a.replacen("+b17.", "+b18.", 1);
        assert_eq!(
            k.verify_bounce_address(&other_item, "support@example.test"),
            None
        );
        assert_eq!(k.verify_bounce_address(&a, "billing@example.test"), None);
        let ticket_token = k.reply_address("support@example.test", TicketId(17));
        assert_eq!(
            k.verify_bounce_address(&ticket_token, "support@example.test"),
            None
        );
        assert_eq!(
            k.verify_address(&a, "support@example.test", "x@x.test"),
            None,
            "a bounce address never threads as a reply address"
        );
    }

    #[test]
    fn outbox_item_of_message_id_needs_valid_ticket_and_item_tokens() {
        let k = key();
        let id = k.message_id(TicketId(3), 41, "example.test");
        assert_eq!(k.outbox_item_of_message_id(&id), Some((TicketId(3), 41)));
        assert_eq!(
            k.outbox_item_of_message_id(&id.replacen("t3", "t4", 1)),
            None
        );
        assert_eq!(
            k.outbox_item_of_message_id(&id.replacen(".41.", ".42.", 1)),
            None,
            "another item number"
        );
        assert_eq!(k.outbox_item_of_message_id("t3.abc@example.test"), None);
        let earlier = format!("t3.{}.41@example.test", k.ticket_token(TicketId(3)));
        assert_eq!(k.ticket_of_message_id(&earlier), Some(TicketId(3)));
        assert_eq!(k.outbox_item_of_message_id(&earlier), None);
    }

    #[test]
    fn staff_address_is_bound_to_the_staff_sender() {
        let k = key();
        let a = k.staff_reply_address("support@example.test", TicketId(9), "Ann@Example.test");
        let ok = k.verify_address(&a, "support@example.test", "ann@example.test");
        assert_eq!(ok, Some(AddressToken::Staff(TicketId(9))));
        assert_eq!(
            k.verify_address(&a, "support@example.test", "mallory@example.test"),
            None
        );
    }
}

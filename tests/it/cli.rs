//! The CLI without a daemon: every command opens the store itself; mail
//! comes in with `ticketd ingest FILE` and goes out as `.eml` files with
//! `ticketd outbox deliver`.
//!
//! The tests are grouped by topic in the submodules; the shared addresses
//! and helpers are here.

mod bad_input;
mod commands;
mod config_and_templates;
mod customer_mail;
mod staff_replies;

use serde_json::{Value, json};

use crate::util::{Eml, TestEnv, fixture, mail};

const CAROL: &str = "carol@customer.test";
const COLIN: &str = "colin@customer.test";
const STAFF: &str = "staff@example.test";

/// (event, recipient) of each mail, sorted: exact counts in one assert.
fn summary(mails: &[Eml]) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = mails
        .iter()
        .map(|m| (m.kind.clone(), m.recipient().to_string()))
        .collect();
    list.sort();
    list
}

fn expected(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, r)| (k.to_string(), r.to_string()))
        .collect();
    list.sort();
    list
}

/// The one mail of that kind (panics unless there is exactly one).
#[track_caller]
fn one<'a>(mails: &'a [Eml], kind: &str) -> &'a Eml {
    let found: Vec<&Eml> = mails.iter().filter(|m| m.kind == kind).collect();
    assert_eq!(found.len(), 1, "expected one {kind} mail in {mails:#?}");
    found[0]
}

#[track_caller]
fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a JSON string, got {value}"))
}

/// Ingests the new-customer fixture (ticket #1) and delivers; returns
/// every mail written so far.
#[track_caller]
fn open_customer_ticket(env: &TestEnv) -> Vec<Eml> {
    let outcome = env.ingest(&fixture("new_customer.eml"));
    assert_eq!(
        outcome["disposition"],
        json!({ "outcome": "new_ticket", "ticket": 1 }),
        "{outcome}"
    );
    env.deliver();
    env.outbound()
}

/// A reply from a staff member's mail client: `#close` (and maybe text)
/// above the quoted staff notification.
fn staff_reply(to: &str, note: &Eml, message_id: &str, new_text: &str) -> Vec<u8> {
    let body = format!(
        "{new_text}\n\nOn Mon, 2 Mar 2026 at 10:00, Example Support <support@example.test> wrote:\n\
         > Ticket [#1] (customer_email, open)\n\
         > Requester: carol@customer.test\n\
         > Reply to this message to answer the customer."
    );
    mail(
        &[
            ("From", "Sam Staff <staff@example.test>"),
            ("To", to),
            ("Subject", &format!("Re: {}", note.subject)),
            ("Message-ID", message_id),
            (
                "In-Reply-To",
                &format!("<{}>", note.message_id.as_deref().unwrap_or_default()),
            ),
        ],
        &body,
    )
}

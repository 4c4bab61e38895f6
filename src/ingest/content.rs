//! Mail content: what of a message ends up on a ticket, and how.
//!
//! - [`reply_text`]: the new part of a reply, without the quoted history
//!   mail clients append (Gmail, Outlook and OWA, Apple Mail, Thunderbird,
//!   Yahoo, in the common languages), and without our "reply above this
//!   line" marker and what follows it. Used for comments on existing
//!   tickets; the full original is always kept in the raw message.
//!   [`new_text`] keeps a forward whole: its "history" is what it brings.
//! - [`html_to_text`]: readable text for HTML-only mail, with quoted
//!   history `>` quoted so [`reply_text`] finds it;
//!   [`sanitize_html`]: the only HTML ticketd stores.
//! - [`file_attachments`]: which attachments a comment lists, and the
//!   notes that explain the others (over `inbound.max_attachment_bytes`)
//!   and Outlook's `winmail.dat`.

mod attachments;
mod html;
mod quotes;

pub use attachments::{FiledAttachments, file_attachments};
pub use html::{html_to_text, sanitize_html};
pub use quotes::{is_forward_subject, new_text, reply_text};

#[cfg(test)]
mod tests;

//! Which attachments of a mail a comment lists, and notes for the rest.
//!
//! An attachment over `inbound.max_attachment_bytes` is not listed (so it
//! is neither offered for download nor named in alerts); a note on the
//! comment names it, its size and the limit, and says where the original
//! message is: its bytes are still there, nothing is lost. Outlook's
//! `winmail.dat` (TNEF) is kept as an ordinary attachment with a note that
//! ticketd does not unpack it.

use crate::ingest::mail::AttachmentInfo;
use crate::model::Attachment;

/// The outcome of [`file_attachments`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FiledAttachments {
    /// Attachments the comment lists.
    pub kept: Vec<Attachment>,
    /// One line per attachment that needs explaining.
    pub notes: Vec<String>,
}

impl FiledAttachments {
    /// `text` with the notes appended after a blank line.
    pub fn annotate(&self, text: String) -> String {
        match (self.notes.is_empty(), text.trim().is_empty()) {
            (true, _) => text,
            (false, true) => self.notes.join("\n"),
            (false, false) => format!("{}\n\n{}", text.trim_end(), self.notes.join("\n")),
        }
    }
}

/// Splits `found` into kept attachments and notes. `original` is the key
/// of the stored raw message, named in the notes.
pub fn file_attachments(
    found: &[AttachmentInfo],
    max_bytes: u64,
    original: &str,
) -> FiledAttachments {
    let mut filed = FiledAttachments::default();
    for a in found {
        if a.size > max_bytes {
            filed.notes.push(format!(
                "[ticketd] Attachment \"{}\" ({}) exceeded the limit of {} and was not kept; \
                 it is still in the original message: ticketd messages original '{original}'",
                a.name,
                human_size(a.size),
                human_size(max_bytes),
            ));
            continue;
        }
        if is_tnef(a) {
            filed.notes.push(format!(
                "[ticketd] \"{}\" is an Outlook TNEF container (winmail.dat); it is kept as an \
                 attachment but not unpacked. Open it with a TNEF viewer, or ask the sender to \
                 send plain text or HTML mail.",
                a.name
            ));
        }
        filed.kept.push(Attachment {
            name: a.name.clone(),
            content_type: a.content_type.clone(),
            size: a.size,
            part: a.part,
        });
    }
    filed
}

fn is_tnef(a: &AttachmentInfo) -> bool {
    a.content_type == "application/ms-tnef"
        || a.content_type == "application/vnd.ms-tnef"
        || a.name.eq_ignore_ascii_case("winmail.dat")
}

/// `512 bytes`, `12.5 KiB`, `30.0 MiB`.
pub(crate) fn human_size(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let value = bytes as f64;
    if value >= KIB * KIB {
        format!("{:.1} MiB", value / (KIB * KIB))
    } else if value >= KIB {
        format!("{:.1} KiB", value / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

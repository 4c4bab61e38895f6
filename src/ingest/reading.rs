//! The part of ingest that needs no store: the size limit, parsing and the
//! fingerprint. It never panics: a panic becomes a refusal with the panic's
//! text, so a bug on one message cannot block the source behind it (an
//! IMAP folder would fetch the same message forever).

use super::Incoming;
use super::mail::{self, InboundMail};
use crate::domain::workflow::Workflow;

/// A message read but not yet stored.
pub(super) enum Reading {
    /// Parsed, with its fingerprint.
    Parsed {
        mail: Box<InboundMail>,
        fingerprint: String,
    },
    /// To be quarantined, for this reason (with what could be parsed).
    Refused {
        mail: Option<Box<InboundMail>>,
        fingerprint: String,
        reason: String,
    },
}

/// Reads one incoming message.
pub(super) fn read(wf: &Workflow, message: &Incoming) -> Reading {
    match message {
        Incoming::Whole { raw, .. } => read_whole(wf, raw),
        Incoming::Oversized { header, size, .. } => {
            let mail = mail::parse(header).ok();
            let reason = format!(
                "message of {size} bytes exceeds inbound.max_message_bytes ({}); only its header is stored, the message is left on the server",
                wf.config.inbound.max_message_bytes
            );
            Reading::Refused {
                fingerprint: mail::fingerprint(mail.as_ref(), header),
                mail: mail.map(Box::new),
                reason,
            }
        }
    }
}

fn read_whole(wf: &Workflow, raw: &[u8]) -> Reading {
    let refused = |reason: String| Reading::Refused {
        mail: None,
        fingerprint: mail::fingerprint(None, raw),
        reason,
    };
    guarded(|| {
        let max = wf.config.inbound.max_message_bytes;
        if raw.len() as u64 > max {
            return refused(format!(
                "message of {} bytes exceeds inbound.max_message_bytes ({max})",
                raw.len()
            ));
        }
        match mail::parse(raw) {
            Ok(mail) => Reading::Parsed {
                fingerprint: mail::fingerprint(Some(&mail), raw),
                mail: Box::new(mail),
            },
            Err(e) => refused(format!("unparseable: {e}")),
        }
    })
    .unwrap_or_else(refused)
}

/// Runs `work`, turning a panic into the quarantine reason it deserves.
pub(super) fn guarded<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).map_err(|panic| {
        let text = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        format!("internal error while processing (please report): {text}")
    })
}

//! Where outgoing mail goes: SMTP ([`super::smtp`]: implicit TLS, STARTTLS
//! or plain) or a folder of `.eml` files for local use. Every send returns a
//! [`SendResult`] that separates transient from permanent failures.
//!
//! SMTP uses the message's envelope (see [`super::compose`]); a `.eml`
//! file records the envelope sender as a `Return-Path` line, as a
//! delivering server would.

use std::path::PathBuf;

use lettre::Message;

use super::smtp::SmtpClient;
use crate::config::TransportConfig;

pub use super::send_result::SendResult;

/// A configured transport.
#[derive(Clone)]
pub enum Transport {
    /// One `.eml` per message.
    File(PathBuf),
    /// SMTP.
    Smtp(SmtpClient),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::File(dir) => write!(f, "File({})", dir.display()),
            Transport::Smtp(_) => f.write_str("Smtp(..)"),
        }
    }
}

impl Transport {
    /// Builds the transport from config.
    pub fn from_config(config: &TransportConfig) -> anyhow::Result<Transport> {
        Ok(match config {
            TransportConfig::File { dir } => Transport::File(dir.clone()),
            TransportConfig::Smtp(smtp) => Transport::Smtp(SmtpClient::new(smtp)?),
        })
    }

    /// Connects once (SMTP: greeting, TLS, login) or checks that the
    /// folder can be created; a line for `serve --check` either way.
    pub async fn check(&self) -> Result<String, String> {
        match self {
            Transport::File(dir) => match tokio::fs::create_dir_all(dir).await {
                Ok(()) => Ok(format!("outbound: ok (files in {})", dir.display())),
                Err(e) => Err(format!(
                    "outbound: cannot create {}: {e}; fix outbound.file_dir",
                    dir.display()
                )),
            },
            Transport::Smtp(smtp) => match smtp.check().await {
                Ok(()) => Ok("outbound: ok (SMTP server answers)".into()),
                Err(e) => Err(format!(
                    "outbound: SMTP check failed: {e:#}; check outbound.smtp (host, port, security, credentials, ca_file)"
                )),
            },
        }
    }

    /// Delivers `message`; `name` names the file for the file transport
    /// (the same name on every retry, so a resend overwrites, not doubles).
    pub async fn send(&self, message: &Message, name: &str) -> SendResult {
        match self {
            Transport::File(dir) => write_file(dir, name, &as_delivered(message)).await,
            Transport::Smtp(smtp) => smtp.send(message.envelope(), &message.formatted()).await,
        }
    }
}

/// The message as a mailbox would store it: `Return-Path` first.
fn as_delivered(message: &Message) -> Vec<u8> {
    let mut bytes = match message.envelope().from() {
        Some(sender) => format!("Return-Path: <{sender}>\r\n").into_bytes(),
        None => Vec::new(),
    };
    bytes.extend_from_slice(&message.formatted());
    bytes
}

async fn write_file(dir: &std::path::Path, name: &str, bytes: &[u8]) -> SendResult {
    let tmp = dir.join(format!(".{name}.tmp"));
    let path = dir.join(format!("{name}.eml"));
    let result = async {
        tokio::fs::create_dir_all(dir).await?;
        tokio::fs::write(&tmp, bytes).await?;
        tokio::fs::rename(&tmp, &path).await
    }
    .await;
    match result {
        Ok(()) => SendResult::Sent,
        Err(e) => SendResult::Retry(format!("writing {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_records_the_envelope_sender_as_return_path() {
        let envelope = lettre::address::Envelope::new(
            "support+b3.abc@example.test".parse().ok(),
            vec!["carol@customer.test".parse().expect("address")],
        )
        .expect("envelope");
        let message = Message::builder()
            .from("support@example.test".parse().expect("mailbox"))
            .to("carol@customer.test".parse().expect("mailbox"))
            .subject("s")
            .envelope(envelope)
            .body(String::from("b"))
            .expect("message");
        let text = String::from_utf8(as_delivered(&message)).expect("utf-8");
        assert!(
            text.starts_with("Return-Path: <support+b3.abc@example.test>\r\nFrom: "),
            "{text}"
        );
    }
}

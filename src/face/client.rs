//! The CLI's side of the local API: sends an [`crate::face::ops::Request`] to a running
//! daemon. [`call`] reports [`ClientError::NoDaemon`] when nothing listens,
//! so the CLI can open the store itself instead.

use std::time::Duration;

use crate::config::Config;
use crate::face::api::{ApiError, Health, existing_token};
use crate::face::ops::{Request, Response};

/// Largest reply accepted: a raw message or attachment of the largest
/// accepted size (`inbound.max_message_bytes` defaults to 25 MiB),
/// base64-encoded, with room to spare.
const MAX_REPLY_BYTES: u64 = 128 * 1024 * 1024;

/// Time allowed for a call (ingesting a large message included).
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing is listening on the API address.
    #[error("no daemon is listening on {0}")]
    NoDaemon(String),
    /// The daemon answered with an error.
    #[error("{message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Its message.
        message: String,
    },
    /// Transport trouble.
    #[error("talking to the daemon: {0}")]
    Transport(String),
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(CALL_TIMEOUT))
        .build()
        .into()
}

fn connect_error(e: ureq::Error, listen: &str) -> ClientError {
    match e {
        ureq::Error::ConnectionFailed | ureq::Error::Io(_) => {
            ClientError::NoDaemon(listen.to_string())
        }
        other => ClientError::Transport(other.to_string()),
    }
}

/// Runs `request` on the daemon.
pub fn call(config: &Config, request: &Request) -> Result<Response, ClientError> {
    let listen = config.api.listen.to_string();
    let token = existing_token(config).ok_or_else(|| ClientError::NoDaemon(listen.clone()))?;
    let mut response = agent()
        .post(&format!("http://{listen}/v1/ops"))
        .header("Authorization", &format!("Bearer {token}"))
        .send_json(request)
        .map_err(|e| connect_error(e, &listen))?;
    read(&mut response)
}

/// Fetches the daemon's health.
pub fn health(config: &Config) -> Result<Health, ClientError> {
    let listen = config.api.listen.to_string();
    let token = existing_token(config).ok_or_else(|| ClientError::NoDaemon(listen.clone()))?;
    let mut response = agent()
        .get(&format!("http://{listen}/v1/health"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .map_err(|e| connect_error(e, &listen))?;
    read(&mut response)
}

fn read<T: serde::de::DeserializeOwned>(
    response: &mut ureq::http::Response<ureq::Body>,
) -> Result<T, ClientError> {
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_REPLY_BYTES)
        .read_to_string()
        .map_err(|e| ClientError::Transport(e.to_string()))?;
    if status == 200 {
        return serde_json::from_str(&body)
            .map_err(|e| ClientError::Transport(format!("bad reply: {e}")));
    }
    let message = serde_json::from_str::<ApiError>(&body)
        .map(|e| e.error)
        .unwrap_or(body);
    Err(ClientError::Refused { status, message })
}

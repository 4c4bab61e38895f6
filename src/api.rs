//! The local API the daemon serves on loopback, so the CLI keeps working
//! while `ticketd serve` holds the store's lock. Every call carries
//! `Authorization: Bearer <token>`; the token is `api.token` from the
//! config or, when absent, a random one written to `<store>/api-token`
//! (mode 0600) for local tools to read.
//!
//! The token is checked before a request's body is read: a request
//! without it gets a fixed 401 and its connection is closed, so an
//! unauthenticated client can make the daemon neither parse a body nor
//! learn the request schema from its errors. Only an authenticated body
//! is read, up to [`max_body_bytes`], and parsed.
//!
//! Routes: `POST /v1/ops` runs an [`ops::Request`]; `GET /v1/health`
//! returns [`Health`].

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Request as HttpRequest, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Notify;

use crate::config::Config;
use crate::desk::Desk;
use crate::inbound::status::{MailboxHealth, MailboxStatuses};
use crate::ops::{self, OpError, Request};

/// Room for the JSON around an ingested message in a request body.
const BODY_SLACK_BYTES: usize = 64 * 1024;

/// Largest request body: twice the largest accepted message, so a message
/// up to half again too big still arrives base64-encoded (4 bytes per 3)
/// and is quarantined with its reason rather than refused.
fn max_body_bytes(config: &Config) -> usize {
    let message = usize::try_from(config.inbound.max_message_bytes).unwrap_or(usize::MAX);
    message.saturating_mul(2).saturating_add(BODY_SLACK_BYTES)
}

/// Daemon health, for `ticketd health` and monitoring.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Health {
    /// Tickets stored.
    pub tickets: u64,
    /// Outbox items waiting.
    pub outbox_pending: usize,
    /// Seconds the oldest pending item has waited past its due time.
    pub outbox_oldest_due_secs: Option<i64>,
    /// Quarantined messages.
    pub quarantined: usize,
    /// Each watched IMAP mailbox.
    #[serde(default)]
    pub mailboxes: Vec<MailboxHealth>,
}

#[derive(Clone)]
struct ApiState {
    desk: Desk,
    expected_authorization: AuthorizationDigest,
    wake_sender: Arc<Notify>,
    statuses: MailboxStatuses,
}

/// The token: configured, or read from (or created in) the store directory.
pub fn token(config: &Config) -> anyhow::Result<String> {
    if let Some(t) = &config.api.token {
        return Ok(t.clone());
    }
    let path = config.store_path.join("api-token");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(existing.trim().to_string());
    }
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("No randomness for the API token: {e}"))?;
    let token = hex::encode(bytes);
    std::fs::create_dir_all(&config.store_path)?;
    write_private(&path, &token)?;
    Ok(token)
}

fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?.write_all(text.as_bytes())?;
    Ok(())
}

/// Reads the token a running daemon uses, without creating one.
pub fn existing_token(config: &Config) -> Option<String> {
    config.api.token.clone().or_else(|| {
        std::fs::read_to_string(config.store_path.join("api-token"))
            .ok()
            .map(|t| t.trim().to_string())
    })
}

/// The router.
pub fn router(
    desk: Desk,
    token: String,
    wake_sender: Arc<Notify>,
    statuses: MailboxStatuses,
) -> Router {
    let body_limit = max_body_bytes(&desk.config);
    let state = ApiState {
        desk,
        expected_authorization: AuthorizationDigest::of_token(&token),
        wake_sender,
        statuses,
    };
    Router::new()
        .route("/v1/ops", post(run_op))
        .route("/v1/health", get(health))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token))
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// SHA-256 of an `Authorization` header value. Comparing digests in
/// constant time reveals neither where a wrong value differs nor the
/// expected value's length.
#[derive(Clone, Copy)]
struct AuthorizationDigest([u8; 32]);

impl AuthorizationDigest {
    fn of(value: &[u8]) -> AuthorizationDigest {
        AuthorizationDigest(Sha256::digest(value).into())
    }

    fn of_token(token: &str) -> AuthorizationDigest {
        AuthorizationDigest::of(format!("Bearer {token}").as_bytes())
    }
}

/// Whether `headers` carry the expected `Authorization` value.
fn authorized(headers: &HeaderMap, expected: &AuthorizationDigest) -> bool {
    let Some(presented) = headers.get(header::AUTHORIZATION) else {
        return false;
    };
    let presented = AuthorizationDigest::of(presented.as_bytes());
    presented.0.ct_eq(&expected.0).into()
}

/// The one answer to a request without the right token.
const UNAUTHORIZED: &str = "missing or wrong API token";

/// Lets a request with the right token through to its handler; answers
/// any other with [`UNAUTHORIZED`] before its body is read, and closes
/// the connection rather than reading the body to keep it open.
async fn require_token(
    State(state): State<ApiState>,
    request: HttpRequest,
    next: Next,
) -> Response {
    if authorized(request.headers(), &state.expected_authorization) {
        return next.run(request).await;
    }
    let mut response = error(StatusCode::UNAUTHORIZED, UNAUTHORIZED.into());
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Error body.
#[derive(Debug, Serialize, Deserialize)]
pub struct ApiError {
    /// Message.
    pub error: String,
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(ApiError { error: message })).into_response()
}

/// An authenticated request's body as an [`ops::Request`], or the error
/// to answer: 413 over the size limit, 400 for a body that is not a request.
fn parse_request(body: Result<Bytes, BytesRejection>) -> Result<Request, (StatusCode, String)> {
    let bytes = body.map_err(|rejection| (rejection.status(), rejection.body_text()))?;
    serde_json::from_slice(&bytes).map_err(|e| (StatusCode::BAD_REQUEST, bad_body(&e)))
}

/// A short description of why a body is not a request.
fn bad_body(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Data => "not a request this daemon knows (another version?)",
        _ => "not valid JSON",
    };
    format!(
        "request body at line {}, column {}: {what}",
        e.line(),
        e.column()
    )
}

async fn run_op(State(state): State<ApiState>, body: Result<Bytes, BytesRejection>) -> Response {
    let request = match parse_request(body) {
        Ok(request) => request,
        Err((status, message)) => return error(status, message),
    };
    let wake = request.may_queue_mail();
    let desk = state.desk.clone();
    let result = tokio::task::spawn_blocking(move || ops::execute(&desk, request)).await;
    if wake {
        state.wake_sender.notify_one();
    }
    match result {
        Ok(Ok(response)) => Json(response).into_response(),
        Ok(Err(OpError::NotFound(m))) => error(StatusCode::NOT_FOUND, m),
        Ok(Err(OpError::BadRequest(m))) => error(StatusCode::BAD_REQUEST, m),
        Ok(Err(OpError::Internal(e))) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn health(State(state): State<ApiState>) -> Response {
    let desk = state.desk.clone();
    let mailboxes = state.statuses.snapshot();
    match tokio::task::spawn_blocking(move || health_of(&desk, mailboxes)).await {
        Ok(Ok(h)) => Json(h).into_response(),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// Computes health figures from the store.
pub fn health_of(desk: &Desk, mailboxes: Vec<MailboxHealth>) -> anyhow::Result<Health> {
    let quarantined = desk
        .store
        .message_count(crate::store::MessageKind::Quarantined);
    Ok(Health {
        tickets: desk.store.ticket_count()?,
        outbox_pending: desk.store.outbox_pending_count(),
        outbox_oldest_due_secs: desk
            .store
            .outbox_next_due()?
            .map(|t| (chrono::Utc::now() - t).num_seconds().max(0)),
        quarantined,
        mailboxes,
    })
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    use super::{AuthorizationDigest, authorized};

    fn with_authorization(value: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_bytes(value).unwrap();
        headers.insert(header::AUTHORIZATION, value);
        headers
    }

    #[test]
    fn only_the_exact_bearer_token_is_authorized() {
        let token = "0123456789abcdef0123456789abcdef0123456789abcdef";
        let expected = AuthorizationDigest::of_token(token);
        let right = format!("Bearer {token}");
        assert!(authorized(&with_authorization(right.as_bytes()), &expected));
        let wrong = format!("Bearer {}0", &token[..47]);
        let refused = [
            wrong.as_str(),
            &right[..right.len() - 1],
            &format!("{right}0"),
            &format!("bearer {token}"),
            token,
            "Bearer ",
            "",
        ];
        for value in refused {
            let headers = with_authorization(value.as_bytes());
            assert!(!authorized(&headers, &expected), "{value:?} was accepted");
        }
        assert!(!authorized(&HeaderMap::new(), &expected));
    }
}

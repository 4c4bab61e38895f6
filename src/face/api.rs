//! The local API the daemon serves on loopback, so the CLI keeps working
//! while `ticketd serve` holds the store's lock. Every call carries
//! `Authorization: Bearer <token>`; the token is `api.token` from the
//! config, used as it is, or else the one in `<store>/api-token`: 48 hex
//! digits, generated when the file is missing or holds anything else (a
//! crash can leave it empty) and written atomically with mode 0600.
//!
//! The token is checked before a request's body is read: a request
//! without it gets a fixed 401 and its connection is closed, so an
//! unauthenticated client can make the daemon neither parse a body nor
//! learn the request schema from its errors. Only an authenticated body
//! is read, up to [`max_body_bytes`], and parsed.
//!
//! Routes: `POST /v1/ops` runs an [`ops::Request`]; `GET /v1/health`
//! returns [`Health`].

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
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
use crate::face::App;
use crate::face::ops::{self, OpError, Request};
use crate::inbound::status::{MailboxHealth, MailboxStatuses};
use crate::store::StoreHealth;

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
    /// The store's state: whether it can write (a full disk stops writes).
    #[serde(default = "store_ok")]
    pub store: StoreHealth,
}

fn store_ok() -> StoreHealth {
    StoreHealth {
        state: "ok".into(),
        problem: None,
    }
}

#[derive(Clone)]
struct ApiState {
    app: App,
    expected_authorization: AuthorizationDigest,
    wake_sender: Arc<Notify>,
    statuses: MailboxStatuses,
}

/// The token file's name in the store directory.
const TOKEN_FILE: &str = "api-token";

/// Random bytes in a generated token (hex-encoded: 48 characters).
const GENERATED_TOKEN_BYTES: usize = 24;

/// Whether `text` is a token as [`token`] generates them: 48 hex digits.
fn is_generated_token(text: &str) -> bool {
    text.len() == 2 * GENERATED_TOKEN_BYTES && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The token in the file at `path`, if it holds a generated one
/// (surrounding whitespace aside).
fn read_token_file(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let token = text.trim();
    is_generated_token(token).then(|| token.to_string())
}

/// The token: configured, or read from (or created in) the store
/// directory. A token file that is empty or holds anything but a
/// generated token is replaced with a new one.
pub fn token(config: &Config) -> anyhow::Result<String> {
    if let Some(t) = &config.api.token {
        return Ok(t.clone());
    }
    let path = config.store_path.join(TOKEN_FILE);
    if let Some(existing) = read_token_file(&path) {
        return Ok(existing);
    }
    if std::fs::symlink_metadata(&path).is_ok() {
        tracing::warn!(
            path = %path.display(),
            "The API token file holds no valid token (left by a crash?); writing a new one"
        );
    }
    let mut bytes = [0u8; GENERATED_TOKEN_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("No randomness for the API token: {e}"))?;
    let token = hex::encode(bytes);
    crate::store::create_private_dir(&config.store_path)
        .with_context(|| format!("Creating {}", config.store_path.display()))?;
    write_private_atomically(&path, &token)
        .with_context(|| format!("Writing the API token to {}", path.display()))?;
    Ok(token)
}

/// Replaces `path` with `text` so that a crash leaves either the old file
/// or the whole new one: a temporary file (mode 0600) in the same folder,
/// synced, renamed over `path`, then the folder synced.
fn write_private_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let folder = path.parent().context("A file path without a folder")?;
    let temporary = folder.join(format!(".{TOKEN_FILE}.tmp"));
    match std::fs::remove_file(&temporary) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
        _ => {}
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    std::fs::File::open(folder)?.sync_all()?;
    Ok(())
}

/// Reads the token a running daemon uses, without creating one: the
/// configured token, or the token file's when it holds a generated one.
pub fn existing_token(config: &Config) -> Option<String> {
    config
        .api
        .token
        .clone()
        .or_else(|| read_token_file(&config.store_path.join(TOKEN_FILE)))
}

/// The router.
pub fn router(
    app: App,
    token: String,
    wake_sender: Arc<Notify>,
    statuses: MailboxStatuses,
) -> Router {
    let body_limit = max_body_bytes(&app.workflow.config);
    let state = ApiState {
        app,
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
    let app = state.app.clone();
    let result = tokio::task::spawn_blocking(move || ops::execute(&app, request)).await;
    if wake {
        state.wake_sender.notify_one();
    }
    match result {
        Ok(Ok(response)) => Json(response).into_response(),
        Ok(Err(OpError::NotFound(m))) => error(StatusCode::NOT_FOUND, m),
        Ok(Err(OpError::BadRequest(m))) => error(StatusCode::BAD_REQUEST, m),
        Ok(Err(OpError::Unavailable(m))) => error(StatusCode::SERVICE_UNAVAILABLE, m),
        Ok(Err(OpError::Internal(e))) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn health(State(state): State<ApiState>) -> Response {
    let app = state.app.clone();
    let mailboxes = state.statuses.snapshot();
    match tokio::task::spawn_blocking(move || health_of(&app, mailboxes)).await {
        Ok(Ok(h)) => Json(h).into_response(),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// Computes health figures from the store.
pub fn health_of(app: &App, mailboxes: Vec<MailboxHealth>) -> anyhow::Result<Health> {
    let store = &app.store;
    Ok(Health {
        tickets: store.ticket_count()?,
        outbox_pending: store.pending_count()?,
        outbox_oldest_due_secs: store
            .next_due()?
            .map(|t| (chrono::Utc::now() - t).num_seconds().max(0)),
        quarantined: store.message_count(crate::store::MessageKind::Quarantined)?,
        mailboxes,
        store: store.health(),
    })
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    use super::{AuthorizationDigest, authorized, existing_token, token};
    use crate::config::Config;

    fn config_in(dir: &tempfile::TempDir) -> Config {
        let mut config = crate::testutil::config(&[]);
        config.store_path = dir.path().join("store");
        config
    }

    fn token_file(config: &Config, text: &str) {
        std::fs::create_dir_all(&config.store_path).unwrap();
        std::fs::write(config.store_path.join("api-token"), text).unwrap();
    }

    fn is_generated(token: &str) -> bool {
        token.len() == 48 && token.bytes().all(|b| b.is_ascii_hexdigit())
    }

    #[test]
    fn an_empty_token_file_is_replaced_with_a_new_token() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(&dir);
        token_file(&config, "");
        assert_eq!(existing_token(&config), None);
        let made = token(&config).unwrap();
        assert!(is_generated(&made), "{made:?}");
        assert_eq!(existing_token(&config), Some(made));
    }

    #[test]
    fn a_token_file_holding_something_else_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(&dir);
        token_file(&config, "half-written\n");
        assert_eq!(existing_token(&config), None);
        let made = token(&config).unwrap();
        assert!(is_generated(&made), "{made:?}");
        let on_disk = std::fs::read_to_string(config.store_path.join("api-token")).unwrap();
        assert_eq!(on_disk, made);
    }

    #[test]
    fn a_valid_token_file_is_kept_and_a_missing_one_created_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(&dir);
        let made = token(&config).unwrap();
        assert!(is_generated(&made), "{made:?}");
        let path = config.store_path.join("api-token");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(token(&config).unwrap(), made);
        token_file(&config, &format!("{made}\n"));
        assert_eq!(token(&config).unwrap(), made);
        assert_eq!(existing_token(&config), Some(made));
    }

    #[test]
    fn a_configured_token_is_used_as_it_is_and_the_file_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config_in(&dir);
        token_file(&config, "");
        config.api.token = Some("configured token, any format".into());
        assert_eq!(token(&config).unwrap(), "configured token, any format");
        assert_eq!(
            existing_token(&config).as_deref(),
            Some("configured token, any format")
        );
        let on_disk = std::fs::read_to_string(config.store_path.join("api-token")).unwrap();
        assert_eq!(on_disk, "");
    }

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

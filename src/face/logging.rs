//! Logging setup: `RUST_LOG` filters (default `info`), and
//! `TICKETD_LOG_FORMAT=json` switches to one JSON object per line. Logs go
//! to standard error. Message bodies, passwords and tokens are never logged.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (once; later calls are no-ops).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if std::env::var("TICKETD_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    drop(result);
}

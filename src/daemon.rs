//! `ticketd serve`: opens the desk, then runs one supervised task per loop
//! (the Maildir watcher, the outbox sender, the local API) until SIGINT or
//! SIGTERM, when it stops taking work, lets in-flight work finish, flushes
//! the store and returns.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::desk::Desk;
use crate::notify::transport::Transport;
use crate::{api, inbound, notify};

/// Time allowed for tasks to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Runs the daemon until `shutdown` is cancelled.
pub async fn serve(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let desk = open_desk(&config).await?;
    let token = api::token(&config)?;
    let transport = Transport::from_config(&config.outbound.transport)
        .context("Setting up the outbound transport")?;
    let listener = tokio::net::TcpListener::bind(config.api.listen)
        .await
        .with_context(|| {
            format!(
                "Binding the local API to {} (api.listen)",
                config.api.listen
            )
        })?;
    let wake = Arc::new(Notify::new());
    let tasks = TaskTracker::new();
    tasks.spawn(notify::sender::run(
        desk.clone(),
        transport,
        wake.clone(),
        shutdown.clone(),
    ));
    if let Some(maildir) = config.inbound.maildir.clone() {
        tracing::info!(path = %maildir.path.display(), "Watching Maildir drop folder");
        tasks.spawn(inbound::maildir::run(
            desk.clone(),
            maildir,
            wake.clone(),
            shutdown.clone(),
        ));
    }
    let router = api::router(desk.clone(), token, wake);
    tasks.spawn(serve_api(listener, router, shutdown.clone()));
    tracing::info!(api = %config.api.listen, "ticketd is running");
    tasks.close();
    shutdown.cancelled().await;
    tracing::info!("Shutting down");
    if tokio::time::timeout(SHUTDOWN_GRACE, tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("Some tasks did not stop in time");
    }
    desk.store.flush_async().await?;
    Ok(())
}

async fn serve_api(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    stop: CancellationToken,
) {
    let server = axum::serve(listener, router).with_graceful_shutdown(stop.cancelled_owned());
    if let Err(e) = server.await {
        tracing::error!(error = %e, "Local API stopped");
    }
}

/// How long start-up waits for a CLI command that briefly holds the store.
const STORE_LOCK_WAIT: Duration = Duration::from_secs(5);

/// Opens the desk, waiting out a CLI command that holds the store's lock
/// for a moment (the CLI opens the store itself when no daemon answers).
async fn open_desk(config: &Config) -> anyhow::Result<Desk> {
    let deadline = tokio::time::Instant::now() + STORE_LOCK_WAIT;
    loop {
        match Desk::open(config.clone()) {
            Err(e)
                if e.is::<crate::store::StoreLocked>()
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

/// Cancels `token` on SIGINT or SIGTERM.
pub fn cancel_on_signals(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!(error = %e, "Cannot listen for SIGTERM");
                        let _ = ctrl_c.await;
                        token.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        token.cancel();
    });
}

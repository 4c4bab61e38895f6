//! `ticketd serve`: opens the desk, then runs one supervised task per loop
//! (each IMAP mailbox, the Maildir watcher, the outbox sender, the
//! template watcher, the local API) until SIGINT or SIGTERM, when it stops
//! taking work, lets in-flight work finish, flushes the store and returns.
//! A task that panics is logged and restarted; one that fails retries on
//! its own with backoff, so a bad mailbox never stops the daemon.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::domain::desk::Desk;
use crate::face::api;
use crate::inbound::status::MailboxStatuses;
use crate::notify::transport::Transport;
use crate::{inbound, notify};

/// Time allowed for tasks to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Runs the daemon until `shutdown` is cancelled. With `check`, first
/// connects to every mailbox and the SMTP server once and fails fast.
pub async fn serve(config: Config, shutdown: CancellationToken, check: bool) -> anyhow::Result<()> {
    if check {
        check_connections(&config).await?;
    }
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
    let statuses = MailboxStatuses::default();
    let tasks = TaskTracker::new();
    spawn_loops(&tasks, &desk, transport, &wake, &statuses, &shutdown);
    let router = api::router(desk.clone(), token, wake, statuses);
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

/// Starts the sender, the template watcher and one task per inbound source.
fn spawn_loops(
    tasks: &TaskTracker,
    desk: &Desk,
    transport: Transport,
    wake: &Arc<Notify>,
    statuses: &MailboxStatuses,
    shutdown: &CancellationToken,
) {
    let (d, w, s) = (desk.clone(), wake.clone(), shutdown.clone());
    supervise(tasks, "outbox sender", shutdown, move || {
        notify::sender::run(d.clone(), transport.clone(), w.clone(), s.clone())
    });
    let (config, s) = (desk.config.clone(), shutdown.clone());
    supervise(tasks, "template watcher", shutdown, move || {
        notify::watch::run(config.clone(), s.clone())
    });
    if let Some(maildir) = desk.config.inbound.maildir.clone() {
        tracing::info!(path = %maildir.path.display(), "Watching Maildir drop folder");
        let (d, w, s) = (desk.clone(), wake.clone(), shutdown.clone());
        supervise(tasks, "maildir", shutdown, move || {
            inbound::maildir::run(d.clone(), maildir.clone(), w.clone(), s.clone())
        });
    }
    for mailbox in desk.config.inbound.imap.clone() {
        statuses.update(&mailbox.name, |h| h.state = "starting".into());
        let shared = inbound::imap::Shared {
            desk: desk.clone(),
            statuses: statuses.clone(),
            wake_sender: wake.clone(),
            shutdown: shutdown.clone(),
        };
        let name = format!("mailbox {}", mailbox.name);
        supervise(tasks, &name, shutdown, move || {
            inbound::imap::run(mailbox.clone(), shared.clone())
        });
    }
}

/// Delay before a panicked task is restarted.
const RESTART_DELAY: Duration = Duration::from_secs(1);

/// Runs `make()` as a task, restarting it after a panic until shutdown.
/// A task that returns has finished (normally because of shutdown).
fn supervise<F, Fut>(tasks: &TaskTracker, name: &str, shutdown: &CancellationToken, make: F)
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (name, shutdown) = (name.to_string(), shutdown.clone());
    tasks.spawn(async move {
        loop {
            match tokio::spawn(make()).await {
                Err(e) if e.is_panic() && !shutdown.is_cancelled() => {
                    tracing::error!(task = %name, "Task panicked; restarting it");
                    tokio::select! {
                        _ = tokio::time::sleep(RESTART_DELAY) => {}
                        _ = shutdown.cancelled() => return,
                    }
                }
                _ => return,
            }
        }
    });
}

/// `serve --check`: every mailbox and the SMTP server must answer.
async fn check_connections(config: &Config) -> anyhow::Result<()> {
    let (imap_ok, mut lines) = match inbound::imap::check(&config.inbound.imap).await {
        Ok(lines) => (true, lines),
        Err(lines) => (false, lines),
    };
    let transport = Transport::from_config(&config.outbound.transport)
        .context("Setting up the outbound transport")?;
    let outbound = transport.check().await;
    let outbound_ok = outbound.is_ok();
    lines.push(outbound.unwrap_or_else(|e| e));
    for line in &lines {
        // Lines quote server replies: printed cleaned of escape sequences.
        crate::face::cli::terminal::warn(line);
    }
    if imap_ok && outbound_ok {
        Ok(())
    } else {
        anyhow::bail!("start-up check failed (see above); fix the configuration and start again")
    }
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

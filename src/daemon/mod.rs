//! `ticketd serve`: opens the store and the workflow, then runs one
//! supervised task per loop (each IMAP mailbox, the Maildir watcher, the
//! outbox's delivery loop, the template watcher, the local API the caller
//! hands in) until SIGINT or SIGTERM, when it stops taking work, lets
//! in-flight work finish and returns. A task that panics is logged and
//! restarted; one that fails retries on its own with backoff, so a bad
//! mailbox never stops the daemon. A full disk stops writes, not the
//! daemon: every loop waits and resumes when there is room. A store whose
//! engine failed stops the daemon with an error, so its supervisor
//! (systemd) restarts it and the store is reopened from disk.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::domain::workflow::Workflow;
use crate::inbound::status::MailboxStatuses;
use crate::notify::delivery::Delivery;
use crate::notify::transport::Transport;
use crate::store::{Store, StoreLocked};
use crate::{inbound, notify};

/// What the local API is built from.
pub struct ApiParts {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The workflow.
    pub workflow: Workflow,
    /// Woken when an operation may have queued mail.
    pub wake_sender: Arc<Notify>,
    /// Live mailbox health.
    pub statuses: MailboxStatuses,
}

/// Builds the local API's router (the face layer's).
pub type ApiFactory = Box<dyn FnOnce(ApiParts) -> anyhow::Result<axum::Router> + Send>;

/// How often the daemon checks that the store's engine still works.
const STORE_WATCH: Duration = Duration::from_secs(1);

/// Time allowed for tasks to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Runs the daemon until `shutdown` is cancelled, serving the API `api`
/// builds. Fails when the store's engine fails (see the module doc).
pub async fn serve(
    config: Config,
    shutdown: CancellationToken,
    api: ApiFactory,
) -> anyhow::Result<()> {
    let (store, workflow) = open_store(config.clone()).await?;
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
    let delivery = Delivery {
        store: store.clone(),
        config: workflow.config.clone(),
        key: workflow.key.clone(),
        transport,
    };
    spawn_loops(
        &tasks, &store, &workflow, delivery, &wake, &statuses, &shutdown,
    );
    let router = api(ApiParts {
        store: store.clone(),
        workflow,
        wake_sender: wake,
        statuses,
    })?;
    tasks.spawn(serve_api(listener, router, shutdown.clone()));
    tracing::info!(api = %config.api.listen, "ticketd is running");
    tasks.close();
    let failed = watch_store(&*store, &shutdown).await;
    tracing::info!("Shutting down");
    if tokio::time::timeout(SHUTDOWN_GRACE, tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("Some tasks did not stop in time");
    }
    match failed {
        Some(problem) => {
            anyhow::bail!("the store failed ({problem}); restart ticketd to reopen it")
        }
        None => Ok(()),
    }
}

/// Waits for shutdown, or for the store's engine to fail (then cancels
/// `shutdown` and returns the problem).
async fn watch_store(store: &dyn Store, shutdown: &CancellationToken) -> Option<String> {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            _ = tokio::time::sleep(STORE_WATCH) => {}
        }
        let health = store.health();
        if health.state == "failed" {
            shutdown.cancel();
            return health.problem;
        }
    }
}

/// Starts the delivery loop, the template watcher and one task per
/// inbound source.
fn spawn_loops(
    tasks: &TaskTracker,
    store: &Arc<dyn Store>,
    workflow: &Workflow,
    delivery: Delivery,
    wake: &Arc<Notify>,
    statuses: &MailboxStatuses,
    shutdown: &CancellationToken,
) {
    let (w, s) = (wake.clone(), shutdown.clone());
    supervise(tasks, "outbox delivery", shutdown, move || {
        notify::delivery::run(delivery.clone(), w.clone(), s.clone())
    });
    let (config, s) = (workflow.config.clone(), shutdown.clone());
    supervise(tasks, "template watcher", shutdown, move || {
        notify::watch::run(config.clone(), s.clone())
    });
    if let Some(maildir) = workflow.config.inbound.maildir.clone() {
        tracing::info!(path = %maildir.path.display(), "Watching Maildir drop folder");
        let (st, wf, w, s) = (
            store.clone(),
            workflow.clone(),
            wake.clone(),
            shutdown.clone(),
        );
        supervise(tasks, "maildir", shutdown, move || {
            inbound::maildir::run(
                st.clone(),
                wf.clone(),
                maildir.clone(),
                w.clone(),
                s.clone(),
            )
        });
    }
    for mailbox in workflow.config.inbound.imap.clone() {
        statuses.update(&mailbox.name, |h| h.state = "starting".into());
        let shared = inbound::imap::Shared {
            store: store.clone(),
            workflow: workflow.clone(),
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

/// `serve --check`: connects to every mailbox and the SMTP server once.
/// Returns whether all answered, and a line about each (lines quote
/// server replies: the caller prints them cleaned).
pub async fn check_connections(config: &Config) -> anyhow::Result<(bool, Vec<String>)> {
    let (imap_ok, mut lines) = match inbound::imap::check(&config.inbound.imap).await {
        Ok(lines) => (true, lines),
        Err(lines) => (false, lines),
    };
    let transport = Transport::from_config(&config.outbound.transport)
        .context("Setting up the outbound transport")?;
    let outbound = transport.check().await;
    let outbound_ok = outbound.is_ok();
    lines.push(outbound.unwrap_or_else(|e| e));
    Ok((imap_ok && outbound_ok, lines))
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

/// Opens the store and the workflow over it, waiting out a CLI command
/// that holds the store's lock for a moment (the CLI opens the store itself
/// when no daemon answers).
async fn open_store(config: Config) -> anyhow::Result<(Arc<dyn Store>, Workflow)> {
    let deadline = tokio::time::Instant::now() + STORE_LOCK_WAIT;
    loop {
        let opened = crate::store::open(&config).and_then(|store| {
            let workflow = Workflow::new(config.clone(), &*store)?;
            Ok((store, workflow))
        });
        match opened {
            Err(e) if e.is::<StoreLocked>() && tokio::time::Instant::now() < deadline => {
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

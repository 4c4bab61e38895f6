//! The face: how people and tools reach ticketd. The command line
//! ([`cli`]), the daemon's local API ([`api`]) and the CLI's client for it
//! ([`client`]), and every command as data ([`ops`]), run the same way
//! whether the daemon or the CLI holds the store.

pub mod allocator;
pub mod api;
pub mod cli;
pub mod client;
pub mod logging;
pub mod ops;

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::domain::workflow::Workflow;
use crate::store::{Store, StoreLocked};

/// The store and the workflow over it: what every operation runs on.
#[derive(Clone, Debug)]
pub struct App {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The desk's workflow.
    pub workflow: Workflow,
}

/// How long opening waits for another process that briefly holds the
/// store (a CLI command opens it itself when no daemon answers).
const STORE_LOCK_WAIT: Duration = Duration::from_secs(5);

impl App {
    /// Opens the store `config` names and the workflow over it.
    pub fn open(config: Config) -> anyhow::Result<App> {
        let store = crate::store::open(&config)?;
        App::with_store(config, store)
    }

    /// [`App::open`], waiting up to five seconds while another process
    /// holds the store.
    pub fn open_waiting(config: Config) -> anyhow::Result<App> {
        let deadline = std::time::Instant::now() + STORE_LOCK_WAIT;
        loop {
            match App::open(config.clone()) {
                Err(e) if e.is::<StoreLocked>() && std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                other => return other,
            }
        }
    }

    /// The workflow for `config` over an open store.
    pub fn with_store(config: Config, store: Arc<dyn Store>) -> anyhow::Result<App> {
        let workflow = Workflow::new(config, &*store)?;
        Ok(App { store, workflow })
    }
}

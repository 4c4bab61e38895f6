//! Helpers for unit tests: a config built from the shipped example and a
//! desk (store and workflow) over a throw-away store, with the reads the
//! tests use most.

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use crate::config::Config;
use crate::domain::workflow::Workflow;
use crate::face::App;
use crate::ingest::Outcome;
use crate::model::outbox::OutboxItem;
use crate::model::{Comment, Source, Ticket, TicketEvent, TicketId};
use crate::store::{Store, StoreError, WriteTx};

/// The example config with `overrides` applied as `(from, to)` text
/// replacements.
pub fn config(overrides: &[(&str, &str)]) -> Config {
    let mut text = include_str!("../config/ticketd.toml").to_string();
    for (from, to) in overrides {
        assert!(
            text.contains(from),
            "override target {from:?} not in example config"
        );
        text = text.replace(from, to);
    }
    Config::parse(&text, Path::new("config/ticketd.toml")).expect("test config parses")
}

/// A desk over a fresh store in a temp dir (kept alive by the returned guard).
pub fn desk(overrides: &[(&str, &str)]) -> (tempfile::TempDir, Desk) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = config(overrides);
    config.store_path = dir.path().join("store");
    config.templates_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    config.secret = Some("unit-test-secret-0123456789".into());
    config.store_min_free_bytes = 0;
    let app = App::open(config).expect("desk opens");
    (dir, Desk::new(app))
}

/// The store and the workflow, with the reads tests use; derefs to the
/// workflow.
pub struct Desk {
    /// The store.
    pub store: TestStore,
    app: App,
}

impl Desk {
    /// A test desk for `config` over an open store.
    pub fn with_store(config: Config, store: Arc<dyn Store>) -> anyhow::Result<Desk> {
        Ok(Desk::new(App::with_store(config, store)?))
    }

    /// A test desk over an app.
    pub fn new(app: App) -> Desk {
        Desk {
            store: TestStore(app.store.clone()),
            app,
        }
    }

    /// The app (for operations).
    pub fn app(&self) -> &App {
        &self.app
    }

    /// A ticket, or an error.
    pub fn ticket(&self, id: TicketId) -> anyhow::Result<Ticket> {
        self.store
            .0
            .ticket(id)?
            .ok_or_else(|| anyhow::anyhow!("No ticket #{id}"))
    }

    /// A ticket inside a write, or an error.
    pub fn ticket_in(&self, tx: &dyn WriteTx, id: TicketId) -> anyhow::Result<Ticket> {
        tx.ticket(id)?
            .ok_or_else(|| anyhow::anyhow!("No ticket #{id}"))
    }

    /// Ingests `raw` from `source`.
    pub fn ingest(&self, raw: &[u8], source: Source) -> Result<Outcome, StoreError> {
        crate::ingest::ingest(&*self.app.store, &self.app.workflow, raw, source)
    }

    /// Runs a write that must succeed.
    pub fn write<R>(&self, work: impl FnMut(&mut dyn WriteTx) -> anyhow::Result<R>) -> R {
        self.app.store.transact(work).expect("the write succeeds")
    }
}

impl Deref for Desk {
    type Target = Workflow;

    fn deref(&self) -> &Workflow {
        &self.app.workflow
    }
}

/// The store, with whole-list reads for tests.
#[derive(Clone)]
pub struct TestStore(pub Arc<dyn Store>);

impl Deref for TestStore {
    type Target = dyn Store;

    fn deref(&self) -> &(dyn Store + 'static) {
        &*self.0
    }
}

impl TestStore {
    /// Every comment of a ticket.
    pub fn comments(&self, id: TicketId) -> anyhow::Result<Vec<Comment>> {
        Ok(self.0.comments(id, 0, 100_000)?.comments)
    }

    /// Every event of a ticket.
    pub fn events(&self, id: TicketId) -> anyhow::Result<Vec<TicketEvent>> {
        self.0.latest_events(id, 100_000)
    }

    /// Outbox items with their contexts, newest first, at most `limit`.
    pub fn outbox_items(&self, limit: usize) -> anyhow::Result<Vec<OutboxItem>> {
        let limit = limit.min(100_000);
        let records = self.0.outbox_page(None, None, limit)?;
        let mut items = Vec::new();
        for record in records {
            items.extend(self.0.outbox_item(record.id)?);
        }
        Ok(items)
    }

    /// The open ticket collecting a correlation key's mail.
    pub fn correlated_ticket(&self, key: &str) -> anyhow::Result<Option<TicketId>> {
        Ok(self.0.transact(|tx| tx.correlated_ticket(key))?)
    }

    /// A recipient's recent automatic send times about one ticket.
    pub fn ticket_rate(
        &self,
        ticket: TicketId,
        recipient: &str,
    ) -> anyhow::Result<Vec<chrono::DateTime<chrono::Utc>>> {
        Ok(self.0.transact(|tx| tx.ticket_rate(ticket, recipient))?)
    }

    /// A recipient's recent automatic send times.
    pub fn rate(&self, recipient: &str) -> anyhow::Result<Vec<chrono::DateTime<chrono::Utc>>> {
        Ok(self.0.transact(|tx| tx.rate(recipient))?)
    }
}

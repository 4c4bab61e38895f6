//! A desk for tests that drive the library directly: the store and the
//! workflow (as `ticketd serve` opens them), with whole-list reads.

use std::ops::Deref;
use std::sync::Arc;

use ticketd::config::Config;
use ticketd::domain::workflow::Workflow;
use ticketd::face::App;
use ticketd::ingest::Outcome;
use ticketd::model::outbox::OutboxItem;
use ticketd::model::{Comment, MessageRecord, Source, TicketEvent, TicketId};
use ticketd::store::{MessageKind, Store, StoreError};

/// The store and the workflow; derefs to the workflow.
#[derive(Clone)]
pub struct Desk {
    /// The store, with whole-list reads.
    pub store: Reads,
    app: App,
}

impl Desk {
    /// Opens the store `config` names.
    pub fn open(config: Config) -> anyhow::Result<Desk> {
        let app = App::open(config)?;
        Ok(Desk {
            store: Reads(app.store.clone()),
            app,
        })
    }

    /// A ticket, or an error.
    pub fn ticket(&self, id: TicketId) -> anyhow::Result<ticketd::model::Ticket> {
        self.store
            .0
            .ticket(id)?
            .ok_or_else(|| anyhow::anyhow!("No ticket #{id}"))
    }

    /// Ingests `raw` from `source` (one durable write).
    pub fn ingest(&self, raw: &[u8], source: Source) -> Result<Outcome, StoreError> {
        ticketd::ingest::ingest(&*self.app.store, &self.app.workflow, raw, source)
    }
}

impl Deref for Desk {
    type Target = Workflow;

    fn deref(&self) -> &Workflow {
        &self.app.workflow
    }
}

/// The store, with whole-list reads for checks.
#[derive(Clone)]
pub struct Reads(pub Arc<dyn Store>);

impl Deref for Reads {
    type Target = dyn Store;

    fn deref(&self) -> &(dyn Store + 'static) {
        &*self.0
    }
}

/// More than any test stores.
const ALL: usize = 1_000_000;

impl Reads {
    /// Every comment of a ticket.
    pub fn comments(&self, id: TicketId) -> anyhow::Result<Vec<Comment>> {
        Ok(self.0.comments(id, 0, ALL)?.comments)
    }

    /// Every event of a ticket.
    pub fn events(&self, id: TicketId) -> anyhow::Result<Vec<TicketEvent>> {
        self.0.latest_events(id, ALL)
    }

    /// Outbox items with their contexts, newest first.
    pub fn outbox_items(&self) -> anyhow::Result<Vec<OutboxItem>> {
        let mut items = Vec::new();
        for record in self.0.outbox_page(None, None, ALL)? {
            items.extend(self.0.outbox_item(record.id)?);
        }
        Ok(items)
    }

    /// Every message record, newest first.
    pub fn all_messages(&self) -> anyhow::Result<Vec<MessageRecord>> {
        self.0.messages(&MessageKind::ALL, ALL)
    }
}

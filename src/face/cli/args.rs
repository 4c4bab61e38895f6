//! The command line's definitions (clap derive): every command and its
//! arguments, as `ticketd --help` shows them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::face::ops;

/// ticketd: e-mail in, tickets and alerts out.
#[derive(Debug, Parser)]
#[command(name = "ticketd", version, about)]
pub struct Cli {
    /// Configuration file.
    #[arg(
        long,
        short,
        global = true,
        env = "TICKETD_CONFIG",
        default_value = "config/ticketd.toml"
    )]
    pub config: PathBuf,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon (inbound mail, outbox sender, local API).
    Serve {
        /// First connect to every mailbox and the SMTP server once; exit
        /// non-zero if any fails (otherwise failures are retried forever).
        #[arg(long)]
        check: bool,
    },
    /// Ingest one raw message from FILE or standard input (MTA pipe).
    /// Exits 75 on a temporary failure so the MTA retries.
    Ingest {
        /// File to read; `-` or nothing for standard input.
        file: Option<PathBuf>,
    },
    /// Tickets.
    #[command(subcommand)]
    Tickets(TicketsCommand),
    /// A ticket's external recipients.
    #[command(subcommand)]
    Recipients(RecipientsCommand),
    /// Outgoing mail queue.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Ingested messages that were quarantined or ignored, and why.
    #[command(subcommand)]
    Messages(MessagesCommand),
    /// Alert templates.
    #[command(subcommand)]
    Templates(TemplatesCommand),
    /// Configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Health of the running daemon.
    Health,
}

/// `tickets ...`
#[derive(Debug, Subcommand)]
pub enum TicketsCommand {
    /// Newest tickets first.
    List {
        /// Only `open` or `closed`.
        #[arg(long)]
        status: Option<String>,
        /// At most this many (up to 1000).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Only tickets numbered below this one (the next page).
        #[arg(long)]
        before: Option<u64>,
    },
    /// One ticket with a page of its comments and its latest events,
    /// alerts and source messages.
    Show {
        /// Ticket number.
        id: u64,
        /// First comment shown (its number).
        #[arg(long, default_value_t = 0)]
        from: u32,
        /// Most comments, events, alerts and messages shown (up to 1000).
        #[arg(long, default_value_t = ops::DEFAULT_PAGE)]
        limit: usize,
    },
    /// Open a ticket as staff; alerts every external recipient.
    Create(CreateArgs),
    /// Add a staff comment (public reply unless --internal).
    Comment {
        /// Ticket number.
        id: u64,
        /// Text; read from standard input when absent.
        #[arg(long)]
        text: Option<String>,
        /// Internal note: goes to nobody outside.
        #[arg(long)]
        internal: bool,
    },
    /// Write an attachment's bytes to standard output (or --output FILE).
    Attachment {
        /// Ticket number.
        id: u64,
        /// Comment number (as in `tickets show`).
        comment: u32,
        /// Attachment position in that comment, from 1.
        index: usize,
        /// File to write instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Close; alerts every external recipient.
    Close {
        /// Ticket number.
        id: u64,
    },
    /// Reopen.
    Reopen {
        /// Ticket number.
        id: u64,
    },
}

/// `tickets create` arguments.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Subject.
    #[arg(long)]
    pub subject: String,
    /// Requester's address.
    #[arg(long)]
    pub requester: String,
    /// More external recipients.
    #[arg(long = "cc")]
    pub cc: Vec<String>,
    /// Opening text; read from standard input when absent.
    #[arg(long)]
    pub text: Option<String>,
    /// Category.
    #[arg(long)]
    pub category: Option<String>,
}

/// `recipients ...`
#[derive(Debug, Subcommand)]
pub enum RecipientsCommand {
    /// List, with each address's bounce state.
    List {
        /// Ticket number.
        id: u64,
    },
    /// Add an address.
    Add {
        /// Ticket number.
        id: u64,
        /// Address.
        address: String,
    },
    /// Remove an address.
    Remove {
        /// Ticket number.
        id: u64,
        /// Address.
        address: String,
    },
    /// Let alerts reach every recipient of a ticket opened by a new
    /// sender's mail with many recipients (until then only the requester
    /// is alerted; a public staff reply confirms them too).
    Confirm {
        /// Ticket number.
        id: u64,
    },
    /// Forget an address's bounces on the ticket, so it is mailed again
    /// (`add` of a bounced address does the same).
    Reset {
        /// Ticket number.
        id: u64,
        /// Address.
        address: String,
    },
}

/// `outbox ...`
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Newest items first.
    List {
        /// Only `pending`, `sent`, `gave_up` or `suppressed`.
        #[arg(long)]
        status: Option<String>,
        /// At most this many (up to 1000).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Only items numbered below this one (the next page).
        #[arg(long)]
        before: Option<u64>,
    },
    /// Send an item again (or every given-up item with --all).
    Retry {
        /// Item id.
        id: Option<u64>,
        /// Every given-up item.
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
    /// Deliver what is due now and exit (only without a running daemon).
    Deliver,
}

/// `messages ...`
#[derive(Debug, Subcommand)]
pub enum MessagesCommand {
    /// Quarantined (default), ignored or all messages, with the reason.
    List {
        /// Show ignored messages (auto-replies, own mail, ...).
        #[arg(long, conflicts_with = "all")]
        ignored: bool,
        /// Show every message.
        #[arg(long)]
        all: bool,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Print a stored original message as received.
    Original {
        /// Its key (as shown by `messages list` or `tickets show`).
        key: String,
    },
}

/// `templates ...`
#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// Template names and the events that use them.
    List,
    /// Render every template against a sample ticket; non-zero on errors.
    Check,
    /// Render one template for a stored ticket.
    Render {
        /// Template name.
        name: String,
        /// Ticket number.
        #[arg(long)]
        ticket: u64,
    },
}

/// `config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration file.
    Check,
}

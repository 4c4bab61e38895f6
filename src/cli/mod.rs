//! The command line: clap definitions and dispatch. Commands that touch
//! tickets become an [`ops::Request`], run through the daemon's local API
//! when one is running, or against the store directly when none is.
//! Everything it prints goes through [`terminal`] (mail content must not
//! reach a terminal as escape sequences).

mod output;
pub(crate) mod terminal;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use clap::{Args, Parser, Subcommand};

use crate::client::{self, ClientError};
use crate::config::Config;
use crate::desk::Desk;
use crate::model::{Origin, Status, TicketId};
use crate::ops::{self, Request, Response};
use terminal::Out;

/// Exit code asking an MTA to retry later (EX_TEMPFAIL).
pub const EXIT_TEMPFAIL: u8 = 75;
/// Exit code for an input file that cannot be read (EX_NOINPUT); retrying
/// would not help.
pub const EXIT_NOINPUT: u8 = 66;

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

/// Runs the parsed command line. A reader that closed standard output
/// early (`| head -1`) ends the command quietly and successfully.
pub fn run(cli: Cli) -> ExitCode {
    let json = cli.json;
    let ingest = matches!(cli.command, Command::Ingest { .. });
    let mut out = Out::stdout();
    let result = dispatch(cli, &mut out).and_then(|code| {
        out.flush()?;
        Ok(code)
    });
    match result {
        Ok(code) => code,
        Err(e) if terminal::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            output::error(&mut out, &e, json);
            if ingest {
                ExitCode::from(EXIT_TEMPFAIL)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    Ok(Config::load(&cli.config)?)
}

fn dispatch(cli: Cli, out: &mut Out) -> anyhow::Result<ExitCode> {
    let config = load_config(&cli)?;
    let json = cli.json;
    match cli.command {
        Command::Serve { check } => serve(config, check),
        Command::Ingest { file } => ingest(out, &config, file, json),
        Command::Tickets(TicketsCommand::Attachment {
            id,
            comment,
            index,
            output,
        }) => {
            let request = Request::Attachment {
                id: TicketId(id),
                comment,
                index,
            };
            write_bytes(out, &config, request, output)
        }
        Command::Tickets(c) => request(out, &config, tickets_request(c)?, json),
        Command::Recipients(c) => request(out, &config, recipients_request(c), json),
        Command::Outbox(OutboxCommand::Deliver) => deliver(out, config, json),
        Command::Outbox(c) => request(out, &config, outbox_request(c), json),
        Command::Messages(MessagesCommand::Original { key }) => original(out, &config, key),
        Command::Messages(c) => request(out, &config, messages_request(c), json),
        Command::Templates(c) => templates(out, &config, c, json),
        Command::Config(ConfigCommand::Check) => {
            let message = format!("{}: configuration is valid", config.source.display());
            output::done(out, json, &message)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Health => health(out, &config, json),
    }
}

fn serve(config: Config, check: bool) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("Starting the async runtime")?;
    runtime.block_on(async {
        let shutdown = tokio_util::sync::CancellationToken::new();
        crate::daemon::cancel_on_signals(shutdown.clone());
        crate::daemon::serve(config, shutdown, check).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Runs a request through the daemon, or locally when none is running.
pub fn execute(config: &Config, req: Request) -> anyhow::Result<Response> {
    match client::call(config, &req) {
        Ok(response) => Ok(response),
        Err(ClientError::NoDaemon(_)) => {
            let desk = Desk::open(config.clone())?;
            Ok(ops::execute(&desk, req)?)
        }
        Err(e) => Err(e.into()),
    }
}

fn request(out: &mut Out, config: &Config, req: Request, json: bool) -> anyhow::Result<ExitCode> {
    let response = execute(config, req)?;
    output::print(out, &response, json, config)?;
    Ok(ExitCode::SUCCESS)
}

fn read_text(text: Option<String>) -> anyhow::Result<String> {
    match text {
        Some(t) => Ok(t),
        None => {
            let mut buf = String::new();
            std::io::stdin()
                .read_to_string(&mut buf)
                .context("Reading text from standard input")?;
            Ok(buf)
        }
    }
}

fn tickets_request(c: TicketsCommand) -> anyhow::Result<Request> {
    Ok(match c {
        TicketsCommand::List {
            status,
            limit,
            before,
        } => Request::TicketsList {
            status: parse_status(status)?,
            limit,
            before: before.map(TicketId),
        },
        TicketsCommand::Show { id, from, limit } => Request::TicketShow {
            id: TicketId(id),
            from,
            limit,
        },
        TicketsCommand::Create(a) => Request::TicketCreate(ops::NewTicketRequest {
            subject: a.subject,
            requester: a.requester,
            recipients: a.cc,
            text: read_text(a.text)?,
            category: a.category,
            actor: "cli".into(),
            origin: Origin::Staff,
        }),
        TicketsCommand::Comment { id, text, internal } => Request::TicketComment {
            id: TicketId(id),
            text: read_text(text)?,
            internal,
            actor: "cli".into(),
        },
        TicketsCommand::Attachment {
            id, comment, index, ..
        } => Request::Attachment {
            id: TicketId(id),
            comment,
            index,
        },
        TicketsCommand::Close { id } => Request::TicketClose {
            id: TicketId(id),
            actor: "cli".into(),
        },
        TicketsCommand::Reopen { id } => Request::TicketReopen {
            id: TicketId(id),
            actor: "cli".into(),
        },
    })
}

fn parse_status(status: Option<String>) -> anyhow::Result<Option<Status>> {
    match status.as_deref() {
        None => Ok(None),
        Some("open") => Ok(Some(Status::Open)),
        Some("closed") => Ok(Some(Status::Closed)),
        Some(other) => anyhow::bail!("unknown status {other:?}; expected open or closed"),
    }
}

fn recipients_request(c: RecipientsCommand) -> Request {
    match c {
        RecipientsCommand::List { id } => Request::RecipientsList { id: TicketId(id) },
        RecipientsCommand::Add { id, address } => Request::RecipientsAdd {
            id: TicketId(id),
            address,
        },
        RecipientsCommand::Remove { id, address } => Request::RecipientsRemove {
            id: TicketId(id),
            address,
        },
        RecipientsCommand::Confirm { id } => Request::RecipientsConfirm { id: TicketId(id) },
        RecipientsCommand::Reset { id, address } => Request::RecipientsReset {
            id: TicketId(id),
            address,
        },
    }
}

fn outbox_request(c: OutboxCommand) -> Request {
    match c {
        OutboxCommand::List {
            status,
            limit,
            before,
        } => Request::OutboxList {
            status,
            limit,
            before,
        },
        OutboxCommand::Retry { id, .. } => Request::OutboxRetry { id },
        OutboxCommand::Deliver => unreachable!("handled before"),
    }
}

fn messages_request(c: MessagesCommand) -> Request {
    match c {
        MessagesCommand::List {
            ignored,
            all,
            limit,
        } => {
            let filter = if all {
                "all"
            } else if ignored {
                "ignored"
            } else {
                "quarantined"
            };
            Request::MessagesList {
                filter: filter.into(),
                limit,
            }
        }
        MessagesCommand::Original { .. } => unreachable!("handled before"),
    }
}

fn ingest(
    out: &mut Out,
    config: &Config,
    file: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let raw = match file {
        Some(path) if path.as_os_str() != "-" => match std::fs::read(&path) {
            Ok(raw) => raw,
            Err(e) => {
                terminal::warn(&format!("ticketd: cannot read {}: {e}", path.display()));
                return Ok(ExitCode::from(EXIT_NOINPUT));
            }
        },
        _ => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("Reading the message from standard input")?;
            buf
        }
    };
    let response = execute(
        config,
        Request::Ingest {
            raw_base64: BASE64.encode(&raw),
        },
    )?;
    output::print(out, &response, json, config)?;
    Ok(ExitCode::SUCCESS)
}

fn original(out: &mut Out, config: &Config, key: String) -> anyhow::Result<ExitCode> {
    write_bytes(out, config, Request::MessageRaw { key }, None)
}

/// Runs a request answering raw bytes; writes them to `output` or stdout,
/// exactly as stored even when stdout is a terminal (see [`terminal`]).
fn write_bytes(
    out: &mut Out,
    config: &Config,
    request: Request,
    output: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let Response::Raw { raw_base64 } = execute(config, request)? else {
        anyhow::bail!("unexpected reply from the daemon");
    };
    let bytes = BASE64
        .decode(raw_base64)
        .context("Decoding the stored bytes")?;
    match output {
        Some(path) => {
            std::fs::write(&path, bytes).with_context(|| format!("Writing {}", path.display()))?
        }
        None => out.raw(&bytes)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn deliver(out: &mut Out, config: Config, json: bool) -> anyhow::Result<ExitCode> {
    let desk = Desk::open(config.clone()).context(
        "`outbox deliver` needs the store; with a daemon running, it delivers by itself",
    )?;
    let runtime = tokio::runtime::Runtime::new()?;
    // lettre's SMTP pool spawns tasks when built and dropped: keep it inside the runtime.
    let report = runtime.block_on(async {
        let transport =
            crate::notify::transport::Transport::from_config(&config.outbound.transport)?;
        let never = tokio_util::sync::CancellationToken::new();
        crate::notify::sender::deliver_due(&desk, &transport, &never).await
    })?;
    let message = format!(
        "{} sent, {} to retry, {} given up",
        report.sent, report.retried, report.gave_up
    );
    output::done(out, json, &message)?;
    Ok(if report.retried + report.gave_up == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn templates(
    out: &mut Out,
    config: &Config,
    c: TemplatesCommand,
    json: bool,
) -> anyhow::Result<ExitCode> {
    match c {
        TemplatesCommand::List => {
            output::template_list(out, config, json)?;
            Ok(ExitCode::SUCCESS)
        }
        TemplatesCommand::Check => Ok(output::template_check(out, config, json)?),
        TemplatesCommand::Render { name, ticket } => request(
            out,
            config,
            Request::TemplateRender {
                name,
                ticket: TicketId(ticket),
            },
            json,
        ),
    }
}

fn health(out: &mut Out, config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let health = match client::health(config) {
        Ok(h) => h,
        Err(ClientError::NoDaemon(addr)) => {
            let desk = Desk::open(config.clone())?;
            let message = format!("no daemon listening on {addr}; figures from the store");
            output::done(out, json, &message)?;
            let mailboxes = crate::inbound::status::from_checkpoints(desk.store.checkpoints()?);
            crate::api::health_of(&desk, mailboxes)?
        }
        Err(e) => return Err(e.into()),
    };
    output::health(out, &health, json)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}

//! The command line: dispatch of the commands defined in [`args`]. Commands that touch
//! tickets become an [`ops::Request`], run through the daemon's local API
//! when one is running, or against the store directly when none is.
//! Everything it prints goes through [`terminal`] (mail content must not
//! reach a terminal as escape sequences).

mod args;
mod output;
mod requests;
pub(crate) mod terminal;
mod ticket_view;

pub use args::*;
use requests::{messages_request, outbox_request, recipients_request, tickets_request};

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::config::Config;
use crate::face::App;
use crate::face::client::{self, ClientError};
use crate::face::ops::{self, Request, Response};
use crate::model::TicketId;
use terminal::Out;

/// Exit code asking an MTA to retry later (EX_TEMPFAIL).
pub const EXIT_TEMPFAIL: u8 = 75;
/// Exit code for an input file that cannot be read (EX_NOINPUT); retrying
/// would not help.
pub const EXIT_NOINPUT: u8 = 66;

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
        if check {
            check_connections(&config).await?;
        }
        let shutdown = tokio_util::sync::CancellationToken::new();
        crate::daemon::cancel_on_signals(shutdown.clone());
        crate::daemon::serve(config, shutdown, Box::new(api_router)).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The local API over the daemon's store and workflow.
fn api_router(parts: crate::daemon::ApiParts) -> anyhow::Result<axum::Router> {
    let token = crate::face::api::token(&parts.workflow.config)?;
    let app = App {
        store: parts.store,
        workflow: parts.workflow,
    };
    Ok(crate::face::api::router(
        app,
        token,
        parts.wake_sender,
        parts.statuses,
    ))
}

/// `serve --check`: every mailbox and the SMTP server must answer.
async fn check_connections(config: &Config) -> anyhow::Result<()> {
    let (ok, lines) = crate::daemon::check_connections(config).await?;
    for line in &lines {
        // Lines quote server replies: printed cleaned of escape sequences.
        terminal::warn(line);
    }
    if !ok {
        anyhow::bail!("start-up check failed (see above); fix the configuration and start again");
    }
    Ok(())
}

/// Runs a request through the daemon, or locally when none is running.
pub fn execute(config: &Config, req: Request) -> anyhow::Result<Response> {
    match client::call(config, &req) {
        Ok(response) => Ok(response),
        Err(ClientError::NoDaemon(_)) => {
            let app = App::open(config.clone())?;
            Ok(ops::execute(&app, req)?)
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
    let app = App::open(config.clone()).context(
        "`outbox deliver` needs the store; with a daemon running, it delivers by itself",
    )?;
    let runtime = tokio::runtime::Runtime::new()?;
    // lettre's SMTP pool spawns tasks when built and dropped: keep it inside the runtime.
    let report = runtime.block_on(async {
        let delivery = crate::notify::delivery::Delivery {
            store: app.store.clone(),
            config: app.workflow.config.clone(),
            key: app.workflow.key.clone(),
            transport: crate::notify::transport::Transport::from_config(
                &config.outbound.transport,
            )?,
        };
        let never = tokio_util::sync::CancellationToken::new();
        crate::notify::delivery::deliver_due(&delivery, &never).await
    })?;
    if report.store_blocked {
        anyhow::bail!("the store cannot record sends (disk full?); nothing more was sent");
    }
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
            let app = App::open(config.clone())?;
            let message = format!("no daemon listening on {addr}; figures from the store");
            output::done(out, json, &message)?;
            let mailboxes = crate::inbound::status::from_checkpoints(app.store.checkpoints()?);
            crate::face::api::health_of(&app, mailboxes)?
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

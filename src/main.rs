//! The `ticketd` binary: make what it creates private, parse arguments,
//! set up logging, run.

use std::process::ExitCode;

use clap::Parser;
use rustix::fs::Mode;

fn main() -> ExitCode {
    // Everything ticketd creates (the store, the API token, outgoing .eml
    // files, exported attachments) is for its own user only: files 0600,
    // folders 0700. Files moved rather than created keep their mode.
    rustix::process::umask(Mode::RWXG | Mode::RWXO);
    let cli = ticketd::cli::Cli::parse();
    ticketd::logging::init();
    ticketd::cli::run(cli)
}

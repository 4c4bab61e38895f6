//! The `ticketd` binary: parse arguments, set up logging, run.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = ticketd::cli::Cli::parse();
    ticketd::logging::init();
    ticketd::cli::run(cli)
}

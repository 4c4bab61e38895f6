//! The `ticketd` binary: make what it creates private, limit the
//! allocator, parse arguments, set up logging, run.

use std::process::ExitCode;

use clap::Parser;
use rustix::fs::Mode;

fn main() -> ExitCode {
    // Everything ticketd creates (the store, the API token, outgoing .eml
    // files, exported attachments) is for its own user only: files 0600,
    // folders 0700. Files moved rather than created keep their mode.
    rustix::process::umask(Mode::RWXG | Mode::RWXO);
    ticketd::face::allocator::limit_memory();
    let cli = ticketd::face::cli::Cli::parse();
    ticketd::face::logging::init();
    ticketd::face::cli::run(cli)
}

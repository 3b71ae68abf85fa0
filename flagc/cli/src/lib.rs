//! The `flagc` command line: a thin layer over the `flagc` library.
//!
//! [`cli`] declares the arguments, [`commands`] holds one module per subcommand, and
//! [`render`] turns the library's diagnostics into text (human, JSON, GitHub annotations).
//! No flag semantics live here.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;
pub mod commands;
pub mod render;

use std::process::ExitCode;

use clap::Parser;

/// Parses the command line, runs the command and returns its exit code.
pub fn run() -> ExitCode {
    // clap exits with 2 on usage errors and 0 for `--help`/`--version`.
    let cli = cli::Cli::parse();
    commands::run(cli.command).into()
}

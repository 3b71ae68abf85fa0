//! The command-line grammar (clap derive).
//!
//! Each subcommand's arguments are declared next to its implementation in
//! [`commands`](crate::commands); this module only lists the subcommands.

use clap::{Parser, Subcommand};

use crate::commands;

/// Git-native feature flags: check the flag files in a directory.
#[derive(Debug, Parser)]
#[command(
    name = "flagc",
    version,
    about = "Git-native feature flags: validate, evaluate and compile TOML flag files",
    long_about = "Git-native feature flags.\n\nFlags are TOML files in your repository: one \
                  `flagc.toml` manifest and any number of flag files below it. `flagc` checks \
                  them with precise diagnostics.",
    after_help = "Start with `flagc init` to create a flag directory, then run `flagc check` \
                  (in CI: `flagc check --format github --deny-warnings`).",
    propagate_version = true
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a flag directory (exit 0 valid, 1 invalid, 2 usage or I/O error)
    Check(commands::check::Args),
    /// Re-check a flag directory on every change, through the runtime's own watcher
    Watch(commands::watch::Args),
    /// Evaluate a flag for a context and say which rule decided (or many, from JSONL)
    Eval(commands::eval::Args),
    /// What a flag change does for users, compared with a git revision (text, Markdown, JSON)
    Diff(commands::diff::Args),
    /// Flag debt: expired, soon-to-expire and constant flags, with owner and place
    Stale(commands::stale::Args),
    /// Create a flag directory with a starter manifest, flag file and editor schemas
    Init(commands::init::Args),
    /// Write a flagd flag-definition document that evaluates exactly as flagc does
    Export(commands::export::Args),
    /// Create a manifest and flag files from a flagd flag-definition document
    Import(commands::import::Args),
    /// Print the Rust that `flags!` generates for a flag directory, formatted
    Generate(commands::generate::Args),
}

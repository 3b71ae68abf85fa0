//! `flagc import flagd FILE [--out DIR]` (being written).

use std::path::PathBuf;

use super::{Exit, trouble};

/// Arguments of `flagc import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The document's format
    #[arg(value_enum)]
    pub format: ImportFormat,
    /// The flagd flag-definition file
    pub file: PathBuf,
}

/// Import formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFormat {
    /// A flagd flag-definition document
    Flagd,
}

/// Runs `flagc import`.
pub fn run(_args: &Args) -> Exit {
    trouble("not yet")
}

//! `flagc check [DIR]`: load and check a flag directory, print its diagnostics.

use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;

use flagc::{CheckOptions, Severity};

use super::{DEFAULT_DIR, Exit, io_reason, trouble};
use crate::render::{self, Report};

/// Arguments of `flagc check`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 valid, 1 invalid, 2 usage or I/O error. Notes never fail the check."
)]
pub struct Args {
    /// The flag directory (the one holding `flagc.toml`)
    #[arg(default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Treat warnings as errors
    #[arg(long)]
    pub deny_warnings: bool,
    /// Treat expired flags as errors
    #[arg(long)]
    pub deny_expired: bool,
}

/// How diagnostics are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// rustc-style messages with source snippets, coloured on a terminal
    Human,
    /// One JSON object with every diagnostic and the counts
    Json,
    /// GitHub Actions workflow commands (`::error file=…`), one per diagnostic
    Github,
}

/// Runs `flagc check`.
pub fn run(args: &Args) -> Exit {
    let dir = &args.dir;
    let unreadable = |reason: &str| {
        trouble(format_args!(
            "cannot read flag directory `{}`: {reason}",
            dir.display()
        ))
    };
    match fs::metadata(dir) {
        Err(e) => return unreadable(&io_reason(&e)),
        Ok(meta) if !meta.is_dir() => return unreadable("not a directory"),
        Ok(_) => {}
    }
    let options = CheckOptions {
        deny_expired: args.deny_expired,
        ..CheckOptions::default()
    };
    let checked = match flagc::check_dir(dir, &options) {
        Ok(checked) => checked,
        Err(e) => return unreadable(&io_reason(&e)),
    };

    let mut diagnostics = checked.diagnostics;
    if args.deny_warnings {
        // As rustc's `-D warnings`: they are reported, and counted, as errors.
        for d in &mut diagnostics {
            if d.severity == Severity::Warning {
                d.severity = Severity::Error;
            }
        }
    }
    let report = Report {
        dir,
        sources: &checked.sources,
        diagnostics: &diagnostics,
        flags: checked.model.as_ref().map(|m| m.flags.len()),
    };
    let written = match args.format {
        // Rendered with colour; anstream strips it unless stdout is a terminal (and honours
        // NO_COLOR / CLICOLOR_FORCE).
        Format::Human => write_all(anstream::stdout(), &render::human(&report, true)),
        Format::Json => write_all(io::stdout(), &render::json(&report)),
        Format::Github => write_all(io::stdout(), &render::github(&report)),
    };
    if let Err(e) = written
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        return trouble(format_args!("cannot write the report: {}", io_reason(&e)));
    }
    if report.errors() > 0 {
        Exit::Invalid
    } else {
        Exit::Ok
    }
}

fn write_all(mut out: impl Write, text: &str) -> io::Result<()> {
    out.write_all(text.as_bytes())?;
    out.flush()
}

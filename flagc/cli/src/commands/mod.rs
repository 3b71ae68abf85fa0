//! One module per subcommand, each with its `Args` and a `run` returning an [`Exit`].

pub mod check;
pub mod diff;
pub mod eval;
pub mod export;
pub mod generate;
pub mod import;
pub mod init;
pub mod stale;
pub mod watch;

use std::path::Path;
use std::process::ExitCode;

use crate::cli::Command;

/// The directory every command uses when none is given.
pub const DEFAULT_DIR: &str = "flags";

/// How a command ended; the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done; the flags are valid (0).
    Ok,
    /// The flags are invalid (1).
    Invalid,
    /// A usage or I/O error prevented the command from doing its work (2).
    Trouble,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(match exit {
            Exit::Ok => 0,
            Exit::Invalid => 1,
            Exit::Trouble => 2,
        })
    }
}

/// Runs a parsed command.
pub fn run(command: Command) -> Exit {
    match command {
        Command::Check(args) => check::run(&args),
        Command::Watch(args) => watch::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Stale(args) => stale::run(&args),
        Command::Init(args) => init::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Import(args) => import::run(&args),
        Command::Generate(args) => generate::run(&args),
    }
}

/// Reads and checks the flag directory for a command that needs valid flags. An unreadable
/// directory is reported as trouble (exit 2); invalid flags get their diagnostics on stderr
/// (exit 1). On success the returned `Checked` has a model.
pub(crate) fn load_valid(dir: &Path) -> Result<flagc::Checked, Exit> {
    let unreadable = |reason: &str| {
        trouble(format_args!(
            "cannot read flag directory `{}`: {reason}",
            dir.display()
        ))
    };
    match std::fs::metadata(dir) {
        Err(e) => return Err(unreadable(&io_reason(&e))),
        Ok(meta) if !meta.is_dir() => return Err(unreadable("not a directory")),
        Ok(_) => {}
    }
    let checked = flagc::check_dir(dir, &flagc::CheckOptions::default())
        .map_err(|e| unreadable(&io_reason(&e)))?;
    if checked.model.is_none() {
        let report = crate::render::Report {
            dir,
            sources: &checked.sources,
            diagnostics: &checked.diagnostics,
            flags: None,
        };
        anstream::eprint!("{}", crate::render::human(&report, true));
        return Err(Exit::Invalid);
    }
    Ok(checked)
}

/// Prints `error: <message>` to stderr and returns [`Exit::Trouble`].
pub(crate) fn trouble(message: impl std::fmt::Display) -> Exit {
    anstream::eprintln!("error: {message}");
    Exit::Trouble
}

/// An I/O error's text without Rust's ` (os error N)` suffix, which users do not need.
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_owned(),
        _ => text,
    }
}

/// `flagc <command>` or `flagc <command> DIR`, as a user would type it next.
pub(crate) fn command_line(command: &str, dir: &Path) -> String {
    let dir = dir.to_string_lossy();
    if dir == DEFAULT_DIR {
        return format!("flagc {command}");
    }
    let plain = dir
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@,".contains(c));
    if plain {
        format!("flagc {command} {dir}")
    } else {
        format!("flagc {command} '{}'", dir.replace('\'', r"'\''"))
    }
}

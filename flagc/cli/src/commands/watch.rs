//! `flagc watch [DIR]`: re-checks the flag directory on every change, through the runtime's
//! own watcher ([`Runtime::watch`]), and prints each reload attempt as it happens.
//!
//! Every attempt that changes something is printed: a new snapshot (`ok`, with the flags
//! whose definition changed), a rejection (`ok: false`, with its diagnostics; the last good
//! flags stay live, as in a service), or a recovery. Content already seen is not re-printed.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use flagc::runtime::{Reload, ReloadEvent, Reloaded, Runtime};
use flagc::watch::WatchOptions;

use super::export::parse_pair;
use super::{DEFAULT_DIR, Exit, io_reason, trouble};
use crate::render::{self, Report};

/// Arguments of `flagc watch`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Runs until interrupted (Ctrl-C). With `--format json`, one line per \
                        reload attempt: {\"generation\": N, \"ok\": true|false, \"changed\": \
                        [flag keys], \"diagnostics\": [...]} (diagnostics as in `flagc check \
                        --format json`)."
)]
pub struct Args {
    /// The flag directory (the one holding `flagc.toml`)
    #[arg(default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// A static attribute's value, `name=value`, as a service would run with; the static
    /// attributes not given are compiled for each of their values
    #[arg(long = "static", value_name = "NAME=VALUE", value_parser = parse_pair)]
    pub statics: Vec<(String, String)>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also watch a break-glass override file and check it against the flags
    #[arg(long, value_name = "FILE")]
    pub overrides: Option<PathBuf>,
    /// The debounce window, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 100)]
    pub debounce_ms: u64,
    /// Exit after this many printed reload attempts (for tests and scripts)
    #[arg(long, value_name = "N", hide = true)]
    pub max_reloads: Option<u64>,
}

/// How reload attempts are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A header per attempt, then rustc-style diagnostics, coloured on a terminal
    Human,
    /// One JSON object per line, per attempt
    Json,
}

/// Runs `flagc watch`.
pub fn run(args: &Args) -> Exit {
    let dir = &args.dir;
    match std::fs::metadata(dir) {
        Err(e) => {
            return trouble(format_args!(
                "cannot read flag directory `{}`: {}",
                dir.display(),
                io_reason(&e)
            ));
        }
        Ok(meta) if !meta.is_dir() => {
            return trouble(format_args!(
                "cannot read flag directory `{}`: not a directory",
                dir.display()
            ));
        }
        Ok(_) => {}
    }
    let rt = Runtime::checker(dir, args.statics.clone());
    let events = rt.subscribe();
    let mut options = WatchOptions::default().debounce(Duration::from_millis(args.debounce_ms));
    if let Some(file) = &args.overrides {
        options = options.overrides(file);
    }
    let _watching = match rt.watch(options) {
        Ok(guard) => guard,
        Err(e) => return trouble(e),
    };
    if args.format == Format::Human {
        anstream::eprintln!("watching `{}` (Ctrl-C to stop)", dir.display());
    }
    let mut last_ok = true;
    for (printed, event) in (1u64..).zip(events.iter()) {
        let text = match args.format {
            Format::Human => human(dir, &rt, &event),
            Format::Json => json(dir, &event),
        };
        let written = match args.format {
            Format::Human => write_flush(anstream::stdout(), &text),
            Format::Json => write_flush(io::stdout(), &text),
        };
        if let Err(e) = written {
            if e.kind() == io::ErrorKind::BrokenPipe {
                return Exit::Ok;
            }
            return trouble(format_args!("cannot write: {}", io_reason(&e)));
        }
        last_ok = event.ok();
        if args.max_reloads.is_some_and(|max| printed >= max) {
            break;
        }
    }
    if last_ok { Exit::Ok } else { Exit::Invalid }
}

/// The directory an event's diagnostics are relative to.
fn base<'a>(dir: &'a Path, event: &'a ReloadEvent) -> &'a Path {
    match &event.reloaded {
        Reloaded::Flags => dir,
        Reloaded::Overrides(file) => file.parent().unwrap_or(Path::new("")),
    }
}

fn json(dir: &Path, event: &ReloadEvent) -> String {
    let report = Report {
        dir: base(dir, event),
        sources: &event.sources,
        diagnostics: &event.diagnostics,
        flags: None,
    };
    let line = serde_json::json!({
        "generation": event.generation,
        "ok": event.ok(),
        "changed": event.changed(),
        "diagnostics": render::json_diagnostics(&report),
    });
    format!("{line}\n")
}

fn human(dir: &Path, rt: &Runtime, event: &ReloadEvent) -> String {
    let what = match &event.reloaded {
        Reloaded::Flags => String::new(),
        Reloaded::Overrides(file) => format!(" override file {}:", file.display()),
    };
    let time = jiff::Zoned::now().strftime("%H:%M:%S");
    let outcome = match &event.outcome {
        Reload::Swapped { changed, .. } if changed.is_empty() => "live, no flag changed".into(),
        Reload::Swapped { changed, .. } => format!("live; changed: {}", changed.join(", ")),
        Reload::Unchanged => "valid again; the live flags are unchanged".into(),
        Reload::Rejected(_) => "rejected; the last good flags stay live".into(),
    };
    let mut out = format!(
        "[{time}] generation {}:{what} {outcome} ({} ms)\n",
        event.generation,
        event.elapsed.as_millis()
    );
    for kept in &event.kept {
        out.push_str(&format!("  note: {kept}\n"));
    }
    let flags = matches!(event.reloaded, Reloaded::Flags)
        .then(|| rt.snapshot().all_flags().flags.len())
        .filter(|_| event.ok());
    let report = Report {
        dir: base(dir, event),
        sources: &event.sources,
        diagnostics: &event.diagnostics,
        flags,
    };
    if !event.diagnostics.is_empty() || flags.is_some() {
        out.push_str(&render::human(&report, true));
    }
    out
}

fn write_flush(mut out: impl Write, text: &str) -> io::Result<()> {
    out.write_all(text.as_bytes())?;
    out.flush()
}

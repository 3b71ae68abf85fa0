//! `flagc export --format flagd [DIR] --static k=v… [--out FILE]`: a flagd flag-definition
//! document that evaluates exactly as flagc does, for one combination of static values.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flagc::Sources;
use flagc::compile::Statics;
use flagc::flagd::{self, ExportError};

use super::{DEFAULT_DIR, Exit, io_reason, trouble};

/// Arguments of `flagc export`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 written, 1 invalid flags or a flag that cannot be \
                        exported exactly, 2 usage or I/O error.\n\nOne document per \
                        environment: every static attribute needs a value, e.g. \
                        `flagc export --format flagd flags --static env=production`."
)]
pub struct Args {
    /// The document format
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// The flag directory (the one holding `flagc.toml`)
    #[arg(default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// A static attribute's value, `name=value` (every static attribute needs one)
    #[arg(long = "static", value_name = "NAME=VALUE", value_parser = parse_pair)]
    pub statics: Vec<(String, String)>,
    /// Write the document to this file (atomically: a temporary file, then a rename)
    /// instead of standard output
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Leave out the flags that flagd cannot evaluate exactly (each is reported as a
    /// warning) instead of failing
    #[arg(long)]
    pub skip_unsupported: bool,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// flagd flag-definition JSON (flagd's JSONLogic targeting, `fractional` bucketing)
    Flagd,
}

/// `name=value`.
pub(crate) fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
        _ => Err(format!("expected `name=value`, got `{s}`")),
    }
}

/// Runs `flagc export`.
pub fn run(args: &Args) -> Exit {
    let dir = &args.dir;
    let checked = match super::load_valid(dir) {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    let Some(model) = &checked.model else {
        return Exit::Invalid;
    };
    let statics = match Statics::from_pairs(&model.manifest, args.statics.iter().cloned()) {
        Ok(s) => s,
        Err(errors) => {
            let mut stderr = anstream::stderr();
            for e in errors {
                let _ = writeln!(stderr, "error: {e}");
                if let Some(help) = e.help() {
                    let _ = writeln!(stderr, "  = help: {help}");
                }
            }
            return Exit::Trouble;
        }
    };

    let export = flagd::export(model, &checked.sources, &statics);
    let mut stderr = anstream::stderr();
    let severity = if args.skip_unsupported {
        "warning"
    } else {
        "error"
    };
    for e in &export.errors {
        let _ = write!(stderr, "{}", describe(severity, e, dir, &checked.sources));
    }
    if !export.errors.is_empty() && !args.skip_unsupported {
        let flags = skipped_flags(&export.errors);
        let _ = writeln!(
            stderr,
            "error: {} cannot be exported to flagd exactly; nothing was written\n  = help: \
             change the rules, or pass `--skip-unsupported` to leave {} out",
            plural(flags, "flag"),
            if flags == 1 { "it" } else { "them" }
        );
        return Exit::Invalid;
    }

    let text = export.to_json_string();
    let written = match &args.out {
        Some(path) => write_atomically(path, text.as_bytes()).map_err(|e| (path.clone(), e)),
        None => write_all(io::stdout(), &text).map_err(|e| (PathBuf::from("<stdout>"), e)),
    };
    match written {
        Err((_, e)) if e.kind() == io::ErrorKind::BrokenPipe => Exit::Ok,
        Err((path, e)) => trouble(format_args!(
            "cannot write `{}`: {}",
            path.display(),
            io_reason(&e)
        )),
        Ok(()) => {
            if let Some(path) = &args.out {
                let _ = writeln!(
                    stderr,
                    "wrote {} to {}{}",
                    plural(export.exported.len(), "flag"),
                    path.display(),
                    match skipped_flags(&export.errors) {
                        0 => String::new(),
                        n => format!(" ({} left out)", plural(n, "flag")),
                    }
                );
            }
            Exit::Ok
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn skipped_flags(errors: &[ExportError]) -> usize {
    let mut flags: Vec<&str> = errors.iter().map(|e| e.flag.as_str()).collect();
    flags.dedup();
    flags.len()
}

/// `error: flag `x` cannot be exported to flagd: …` with its place, rustc style.
fn describe(severity: &str, e: &ExportError, dir: &Path, sources: &Sources) -> String {
    let place = match sources.get(&e.loc.file) {
        Some(file) => {
            let (line, col) = file.line_col(e.loc.span.start);
            format!("{}:{line}:{col}", dir.join(&e.loc.file).display())
        }
        None => dir.join(&e.loc.file).display().to_string(),
    };
    let segment = e
        .segment
        .as_ref()
        .map(|s| format!(" (through segment `{s}`)"))
        .unwrap_or_default();
    format!(
        "{severity}: flag `{}` cannot be exported to flagd: {}{segment}: {}\n  --> {place}\n",
        e.flag, e.rule, e.kind
    )
}

fn write_all(mut out: impl Write, text: &str) -> io::Result<()> {
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`, so that a
/// reader (flagd watching the file) never sees half a document.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
    let tmp = path.with_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

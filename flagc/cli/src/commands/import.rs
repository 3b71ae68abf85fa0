//! `flagc import flagd FILE [--out DIR]`: a manifest and flag file from a flagd flag
//! definition, for teams migrating. What has no exact flagc equivalent is reported with its
//! JSON path and the flag is left out, never guessed.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use flagc::flagd;

use super::{DEFAULT_DIR, Exit, io_reason, trouble};

/// The editor schemas, as `flagc init` writes them, so the `#:schema` lines resolve.
const FLAGS_SCHEMA: &str = include_str!("../../../../schema/flags.schema.json");
const MANIFEST_SCHEMA: &str = include_str!("../../../../schema/manifest.schema.json");

/// Arguments of `flagc import`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 every flag imported, 1 written but some flags were \
                        left out (each reported with its JSON path), 2 usage or I/O error."
)]
pub struct Args {
    /// The document's format
    #[arg(value_enum)]
    pub format: ImportFormat,
    /// The flagd flag-definition file (JSON)
    pub file: PathBuf,
    /// The flag directory to create (it must not hold a `flagc.toml` yet)
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DIR)]
    pub out: PathBuf,
}

/// Import formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFormat {
    /// A flagd flag-definition document
    Flagd,
}

/// Runs `flagc import`.
pub fn run(args: &Args) -> Exit {
    let text = match fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => {
            return trouble(format_args!(
                "cannot read `{}`: {}",
                args.file.display(),
                io_reason(&e)
            ));
        }
    };
    let manifest = args.out.join(flagc::source::MANIFEST);
    if manifest.exists() {
        return trouble(format_args!(
            "`{}` already exists; import into a new directory (`--out DIR`)",
            manifest.display()
        ));
    }
    let import = flagd::import(&text);
    let mut stderr = anstream::stderr();
    for note in &import.notes {
        let _ = writeln!(stderr, "note: {note}");
    }
    for issue in &import.issues {
        let _ = writeln!(stderr, "warning: {issue}");
        if let Some(flag) = &issue.flag {
            let _ = writeln!(stderr, "  = note: flag `{flag}` is left out");
        }
    }
    if import.files.is_empty() {
        let _ = writeln!(stderr, "error: nothing to import");
        return Exit::Invalid;
    }
    let errors: Vec<_> = import.diagnostics.iter().filter(|d| d.is_error()).collect();
    if !errors.is_empty() {
        for d in errors {
            let _ = writeln!(
                stderr,
                "error[{}]: {} ({})",
                d.code,
                d.message,
                d.file.as_deref().unwrap_or("")
            );
        }
        return trouble("the imported files do not pass `flagc check` (a bug in the importer)");
    }
    let mut files: Vec<(PathBuf, &str)> = import
        .files
        .iter()
        .map(|f| (args.out.join(&f.path), f.text.as_str()))
        .collect();
    files.push((args.out.join(".flagc/flags.schema.json"), FLAGS_SCHEMA));
    files.push((
        args.out.join(".flagc/manifest.schema.json"),
        MANIFEST_SCHEMA,
    ));
    for (path, text) in &files {
        let written = path
            .parent()
            .map_or(Ok(()), fs::create_dir_all)
            .and_then(|()| fs::write(path, text));
        if let Err(e) = written {
            return trouble(format_args!(
                "cannot write `{}`: {}",
                path.display(),
                io_reason(&e)
            ));
        }
    }
    let skipped = import
        .issues
        .iter()
        .filter_map(|i| i.flag.as_deref())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let _ = writeln!(
        stderr,
        "imported {} flag{} into {}{}",
        import.imported.len(),
        if import.imported.len() == 1 { "" } else { "s" },
        args.out.display(),
        if skipped > 0 {
            format!(" ({skipped} left out)")
        } else {
            String::new()
        }
    );
    if import.issues.is_empty() {
        Exit::Ok
    } else {
        Exit::Invalid
    }
}

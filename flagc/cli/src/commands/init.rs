//! `flagc init [DIR]`: a starter manifest, flag file and editor schema association.
//!
//! The schemas are the committed `schema/*.json`, embedded at build time, so what editors
//! validate against is exactly what `flagc check` enforces.

use std::fs;
use std::path::{Path, PathBuf};

use super::{DEFAULT_DIR, Exit, command_line, io_reason, trouble};

/// Arguments of `flagc init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The directory to create (or fill)
    #[arg(default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// Overwrite files that already exist
    #[arg(long)]
    pub force: bool,
    /// Do not write `build.rs` next to DIR in a crate root (it makes cargo re-expand
    /// `flags!` when a flag file is added; it is only written when absent)
    #[arg(long)]
    pub no_build_rs: bool,
}

const FLAGS_SCHEMA: &str = include_str!("../../../../schema/flags.schema.json");
const MANIFEST_SCHEMA: &str = include_str!("../../../../schema/manifest.schema.json");

/// The starter manifest (its `#:schema` line points Taplo-based editors at the schema).
const MANIFEST: &str = r#"#:schema ./.flagc/manifest.schema.json
# The flagc manifest: the attributes that flags may test.
format = 1

# Known once, when the program starts: flags are compiled for each value.
[static]
env = ["development", "staging", "production"]

# Known per evaluation: the fields of the generated `Context`.
[context]
user_id = "string"
email = "string"
country = "string"
plan = ["free", "pro", "enterprise"]    # a list of strings declares an enum

# What percentage rollouts bucket by, unless a rollout says `by = "…"`.
[rollout]
by = "user_id"

# Reusable conditions: `when = { segment = "internal" }`.
[segments]
internal = { email = { ends_with = "@example.com" } }
"#;

/// The starter flag file; `{expires}` is replaced by a date some months ahead.
const RELEASE: &str = r#"#:schema ./.flagc/flags.schema.json
# Every top-level table is a flag. Flag keys are unique across the whole directory.

# A release toggle: merge the code dark, then turn it on step by step.
[new_checkout]
description = "One-page checkout replacing the three-step flow"
owner = "payments"
expires = {expires}    # remove the flag (and the old code path) by then
default = false

# Rules are tried in order; the first that matches decides.
[[new_checkout.rules]]
when = { env = "development" }
value = true

[[new_checkout.rules]]
when = { segment = "internal" }
value = true

[[new_checkout.rules]]
when = { env = "production", country = ["US", "CA"] }
rollout = 10    # 10 % of these users get `true`, bucketed by `user_id`

# A multi-variant flag, for an experiment.
[checkout_layout]
description = "Which checkout layout to show"
owner = "payments"
expires = {expires}
variants = ["classic", "one_page"]
default = "classic"

[[checkout_layout.rules]]
when = { plan = ["pro", "enterprise"] }
rollout = { classic = 50, one_page = 50 }

# An operational knob: it never expires.
[search_page_size]
description = "Results per search page"
owner = "search"
permanent = true
default = 20
"#;

/// Every file `init` writes, relative to DIR, with its contents.
fn files() -> [(&'static str, String); 4] {
    [
        ("flagc.toml", MANIFEST.to_owned()),
        ("release.toml", RELEASE.replace("{expires}", &expiry_date())),
        (".flagc/flags.schema.json", FLAGS_SCHEMA.to_owned()),
        (".flagc/manifest.schema.json", MANIFEST_SCHEMA.to_owned()),
    ]
}

/// Six months from today (UTC), so the starter flags do not expire right away.
fn expiry_date() -> String {
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    today
        .checked_add(jiff::Span::new().months(6))
        .unwrap_or(today)
        .to_string()
}

/// Runs `flagc init`.
pub fn run(args: &Args) -> Exit {
    let dir = &args.dir;
    let files = files();
    let existing: Vec<PathBuf> = files
        .iter()
        .map(|(rel, _)| dir.join(rel))
        .filter(|p| p.symlink_metadata().is_ok())
        .collect();
    if !existing.is_empty() && !args.force {
        let list: Vec<String> = existing
            .iter()
            .map(|p| format!("`{}`", p.display()))
            .collect();
        anstream::eprintln!(
            "error: refusing to overwrite {}\nhelp: pass `--force` to replace {}, or choose another directory",
            list.join(", "),
            if existing.len() == 1 { "it" } else { "them" },
        );
        return Exit::Trouble;
    }
    for (rel, text) in &files {
        let path = dir.join(rel);
        if let Err(e) = write(&path, text) {
            return trouble(format_args!(
                "cannot write `{}`: {}",
                path.display(),
                io_reason(&e)
            ));
        }
        let verb = if existing.contains(&path) {
            "overwrote"
        } else {
            "created"
        };
        println!("{verb} {}", path.display());
    }
    if !args.no_build_rs {
        build_script(dir);
    }
    println!("\nnext: {}", command_line("check", dir));
    Exit::Ok
}

/// When DIR's parent is a crate root without a build script, writes one that makes cargo
/// re-expand `flags!` when a flag file is added (edits and deletions are tracked by the
/// expansion itself); with a build script already there, says what to add to it.
fn build_script(dir: &Path) {
    let parent = match dir.parent() {
        Some(p) if p.as_os_str().is_empty() => Path::new("."),
        Some(p) => p,
        None => return,
    };
    let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
        return;
    };
    if !parent.join("Cargo.toml").is_file() {
        return;
    }
    let line = format!("println!(\"cargo:rerun-if-changed={name}\");");
    let path = parent.join("build.rs");
    if path.symlink_metadata().is_ok() {
        let has_it = fs::read_to_string(&path).is_ok_and(|t| t.contains(&line));
        if !has_it {
            println!(
                "note: add `{line}` to `{}` so that cargo re-expands `flags!` when a flag file is added",
                path.display()
            );
        }
        return;
    }
    let text = format!(
        "// Re-expand `flags!` when a flag file is added (cargo watches the directory's\n\
         // entries; edits and deletions are tracked by the macro's expansion).\n\
         fn main() {{\n    {line}\n}}\n"
    );
    match fs::write(&path, text) {
        Ok(()) => println!("created {}", path.display()),
        Err(e) => println!("note: cannot write `{}`: {}", path.display(), io_reason(&e)),
    }
}

fn write(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, text)
}

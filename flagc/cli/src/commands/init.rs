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
    println!("\nnext: {}", command_line("check", dir));
    Exit::Ok
}

fn write(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, text)
}

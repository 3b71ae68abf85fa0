//! `flagc stale [DIR]`: flag debt. Expired flags, flags expiring soon and flags that no longer
//! decide anything, with owner and `file:line`; with `--git`, when each was added and last
//! changed. The findings are the library's ([`flagc::stale`]); this module renders them.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flagc::diag::Diagnostics;
use flagc::diff::git::Repo;
use flagc::model::Date;
use flagc::stale::{Options, Report, StaleFlag};
use flagc::{CheckOptions, Diagnostic, Sources};

use super::{DEFAULT_DIR, Exit, io_reason, trouble};
use crate::render::{self, Report as DiagReport};

/// Arguments of `flagc stale`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 listed (with --exit-code: 0 nothing stale, 1 something is), \
                  2 invalid flags or another error.",
    after_long_help = AFTER_LONG_HELP
)]
pub struct Args {
    /// The flag directory (the one holding `flagc.toml`)
    #[arg(default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// Also list flags that expire within this many days
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub within: u32,
    /// The date to judge expiry by, in UTC (default: today, or SOURCE_DATE_EPOCH when set)
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub today: Option<Date>,
    /// Add when each flag was added and last changed, from git history
    #[arg(long)]
    pub git: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Exit with 1 when any flag is listed
    #[arg(long)]
    pub exit_code: bool,
}

const AFTER_LONG_HELP: &str = "\
Lists, most urgent first:
  expired                   past `expires` (a flag is valid through its expiry date, UTC)
  expiring                  `expires` within --within days
  constant                  the same value whatever the context, in every static combination:
                            fully rolled out (or never launched); remove it and its dead code
  constant_per_combination  a value the static attributes alone decide (no targeting left)
Permanent flags never expire, and are only listed as constant when they have rules that
change nothing.

With --git, `added` is the commit that added the flag and `changed` the last commit that
changed its definition (formatting and comments aside), on the first-parent history of
HEAD (on a merged branch: the merge); `uncommitted` says the working tree differs.

JSON output (--format json), format 1:
  {format: 1, today, within_days, summary: {flags, stale, expired, expiring, constant},
   flags: [{key, owner, file, line, expires, permanent,
            reasons: [{kind: expired, expires, days_ago} | {kind: expiring, expires, days_left}
                    | {kind: constant, value}
                    | {kind: constant_per_combination, values: [{where, statics, value}]}],
            history: {added: {commit, date}, changed: {commit, date}, uncommitted} | null}]}

Examples:
  flagc stale
  flagc stale flags --within 14 --git --format markdown
  flagc stale --today 2027-01-01 --format json";

/// How the report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text for a terminal
    Human,
    /// One JSON object (see --help)
    Json,
    /// A table, for an issue or a report
    Markdown,
}

fn parse_date(s: &str) -> Result<Date, String> {
    let d: jiff::civil::Date = s
        .parse()
        .map_err(|_| format!("expected a date as YYYY-MM-DD, found `{s}`"))?;
    Ok(Date {
        year: d.year(),
        month: d.month(),
        day: d.day(),
    })
}

/// Runs `flagc stale`.
pub fn run(args: &Args) -> Exit {
    let dir = &args.dir;
    let unreadable = |reason: &str| {
        trouble(format_args!(
            "cannot read flag directory `{}`: {reason}",
            dir.display()
        ))
    };
    match std::fs::metadata(dir) {
        Err(e) => return unreadable(&io_reason(&e)),
        Ok(meta) if !meta.is_dir() => return unreadable("not a directory"),
        Ok(_) => {}
    }
    let mut diags = Diagnostics::new();
    let sources = match Sources::read_dir(dir, &mut diags) {
        Ok(s) => s,
        Err(e) => return unreadable(&io_reason(&e)),
    };
    let today = args.today.unwrap_or_else(flagc::check::today_utc);
    let options = CheckOptions {
        today: Some(today),
        deny_expired: false,
    };
    let model = flagc::check::check(&sources, &options, &mut diags);
    let errors: Vec<Diagnostic> = diags
        .into_sorted()
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    let model = match model {
        Some(m) if errors.is_empty() => m,
        _ => {
            let report = DiagReport {
                dir,
                sources: &sources,
                diagnostics: &errors,
                flags: None,
            };
            let mut err = anstream::stderr();
            let _ = write!(err, "{}", render::human(&report, true));
            let _ = writeln!(
                err,
                "error: the flags are invalid; `flagc check` shows the same errors"
            );
            return Exit::Trouble;
        }
    };

    let mut report = flagc::stale::stale(
        &model,
        &sources,
        &Options {
            today,
            within_days: args.within,
        },
    );
    if args.git {
        let history = Repo::discover(dir)
            .and_then(|(repo, prefix)| flagc::stale::history(&repo, &prefix, &sources));
        match history {
            Ok(mut h) => {
                for f in &mut report.flags {
                    f.history = Some(h.remove(&f.key).unwrap_or_default());
                }
            }
            Err(e) => return trouble(format_args!("--git: {e}")),
        }
    }

    let text = match args.format {
        Format::Human => human(&report, dir),
        Format::Markdown => markdown(&report, dir),
        Format::Json => match serde_json::to_string_pretty(&report) {
            Ok(mut s) => {
                s.push('\n');
                s
            }
            Err(e) => return trouble(format_args!("cannot write JSON: {e}")),
        },
    };
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        return trouble(format_args!("cannot write the report: {}", io_reason(&e)));
    }
    if args.exit_code && !report.flags.is_empty() {
        Exit::Invalid
    } else {
        Exit::Ok
    }
}

fn place(f: &StaleFlag, dir: &Path) -> String {
    format!("{}:{}", dir.join(&f.file).display(), f.line)
}

fn why(f: &StaleFlag) -> String {
    let parts: Vec<String> = f.reasons.iter().map(|r| r.text()).collect();
    parts.join("; ")
}

fn short(commit: &str) -> &str {
    commit.get(..7).unwrap_or(commit)
}

fn history_words(f: &StaleFlag) -> Option<String> {
    let h = f.history.as_ref()?;
    let mut parts = Vec::new();
    match &h.added {
        Some(e) => parts.push(format!("added {} ({})", e.date, short(&e.commit))),
        None => parts.push("not committed".to_owned()),
    }
    if let Some(e) = &h.changed
        && h.added.as_ref() != Some(e)
    {
        parts.push(format!("last changed {} ({})", e.date, short(&e.commit)));
    }
    if h.uncommitted && h.added.is_some() {
        parts.push("changed in the working tree".to_owned());
    }
    Some(parts.join(", "))
}

fn summary_line(r: &Report) -> String {
    let s = &r.summary;
    if s.stale == 0 {
        return format!(
            "no stale flags among {} (today is {}; expiring means within {} days)",
            s.flags, r.today, r.within_days
        );
    }
    format!(
        "{} of {} flags need attention: {} expired, {} expiring within {} days, {} constant (today is {})",
        s.stale, s.flags, s.expired, s.expiring, r.within_days, s.constant, r.today
    )
}

/// Aligned text: `file:line  key  owner  why`, then history.
pub fn human(r: &Report, dir: &Path) -> String {
    let mut out = String::new();
    let rows: Vec<(String, &str, &str, String)> = r
        .flags
        .iter()
        .map(|f| (place(f, dir), f.key.as_str(), f.owner.as_str(), why(f)))
        .collect();
    let w0 = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    let w2 = rows.iter().map(|r| r.2.chars().count()).max().unwrap_or(0);
    for ((p, k, o, w), f) in rows.iter().zip(&r.flags) {
        let _ = writeln!(out, "{p:w0$}  {k:w1$}  {o:w2$}  {w}");
        if let Some(h) = history_words(f) {
            let _ = writeln!(out, "{:w0$}  {h}", "");
        }
    }
    if !rows.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "{}", summary_line(r));
    out
}

fn md(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A Markdown table.
pub fn markdown(r: &Report, dir: &Path) -> String {
    let mut out = String::from("### Stale flags\n\n");
    let _ = writeln!(out, "{}.", summary_line(r));
    if r.flags.is_empty() {
        return out;
    }
    let git = r.flags.iter().any(|f| f.history.is_some());
    out.push_str("\n| Flag | Owner | Where | Why |");
    if git {
        out.push_str(" History |");
    }
    out.push_str("\n|---|---|---|---|");
    if git {
        out.push_str("---|");
    }
    out.push('\n');
    for f in &r.flags {
        let _ = write!(
            out,
            "| `{}` | {} | `{}` | {} |",
            f.key,
            md(&f.owner),
            place(f, dir),
            md(&why(f))
        );
        if git {
            let _ = write!(out, " {} |", md(&history_words(f).unwrap_or_default()));
        }
        out.push('\n');
    }
    out
}

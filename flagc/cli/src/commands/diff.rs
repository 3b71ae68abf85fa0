//! `flagc diff REV [DIR]`: what the working tree's flag changes do, compared with a git
//! revision, flag by flag and per static combination. The comparison is the library's
//! ([`flagc::diff`]); this module reads the revision through git, checks both sides and
//! renders the result as text, Markdown (a pull-request comment) or JSON.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flagc::diag::Diagnostics;
use flagc::diff::git::{GitError, Repo};
use flagc::diff::{Base, Change, Diff, Effect, FlagDiff, RiskLevel, Side};
use flagc::{CheckOptions, Diagnostic, Model, Sources};

use super::{DEFAULT_DIR, Exit, io_reason, trouble};
use crate::render::{self, Report};

/// Arguments of `flagc diff`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 compared (with --exit-code: 0 no differences, 1 differences), \
                  2 invalid flags on either side, unknown revision, or another error.",
    after_long_help = AFTER_LONG_HELP
)]
pub struct Args {
    /// The git revision to compare with: a branch, tag or commit (CI passes the merge-base
    /// with the target branch)
    pub rev: String,
    /// The flag directory (the one holding `flagc.toml`), in a git work tree
    #[arg(default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Exit with 1 when there are differences, 0 when there are none (as `git diff --exit-code`)
    #[arg(long)]
    pub exit_code: bool,
}

const AFTER_LONG_HELP: &str = "\
The revision is read through git (`git ls-tree` and `git cat-file`, no checkout), with the
same rules as the directory: `*.toml` files only, dot-files and dot-directories skipped. A
revision without the flag directory compares as empty: every flag is added.

For each flag added, removed, renamed or changed: the changed fields (owner, expiry, type,
default, salt, …), the changed rules (matched by `id`, then by meaning, then by position),
and the effect for users in every combination of the static attributes the flag refers to
(\"production: 25 % → 50 % of users matching country in [US, CA]\"). Risks are called out:
removed flags and changed types break services built against them, a changed salt or
bucketing attribute reshuffles users, a lower percentage moves users out. Segment and
manifest changes are listed with the flags whose meaning they change.

JSON output (--format json), format 1; fields are only added within a format:
  {format: 1, base: {rev, commit, has_flags}, dir,
   summary: {added, removed, changed, renamed, unchanged, manifest, segments, risks,
             breaking, differences},
   manifest: [{kind, name, before, after, text, risk}],
   segments: [{name, change, before, after, flags: [key], text}],
   flags: [{key, change: added|removed|changed|renamed, renamed_from, buckets_preserved,
            owner, description, expires, type, file, line, before_file, before_line,
            fields: [{field, before, after, text}],
            rules: [{change: added|removed|changed|moved, rule, before, after, text}],
            segments: [name],
            effects: [{label, statics: [{attr: value}],
                       changes: [{kind, rule, when, before, after,
                                  moved: [{from, to, percent}], reshuffled, text}]}],
            risks: [{level: breaking|rebucket|warning, kind, text}]}]}
  An outcome (before/after) is {\"value\": V} or {\"rollout\": {bucket: percent}, \"by\": attr}.
  Every kind is listed in the `flagc::diff` module documentation.

Examples:
  flagc diff main
  flagc diff \"$(git merge-base origin/main HEAD)\" flags --format markdown > comment.md
  flagc diff HEAD --exit-code   # did anything change since the last commit?";

/// How the diff is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Indented text for a terminal
    Human,
    /// A pull-request comment: a summary table, then details per flag
    Markdown,
    /// One JSON object (see --help)
    Json,
}

/// Runs `flagc diff`.
pub fn run(args: &Args) -> Exit {
    let dir = &args.dir;
    let (repo, prefix) = match Repo::discover(dir) {
        Ok(found) => found,
        Err(e) => return trouble(git_trouble(&e)),
    };
    let commit = match repo.resolve(&args.rev) {
        Ok(c) => c,
        Err(e) => return trouble(git_trouble(&e)),
    };
    let options = CheckOptions::default();

    // The two sides are independent: read and check the revision on another thread.
    let (old, new) = std::thread::scope(|s| {
        let old = s.spawn(|| -> Result<Option<Version>, GitError> {
            let mut diags = Diagnostics::new();
            let Some(sources) = repo.read_sources(&commit, &prefix, &mut diags)? else {
                return Ok(None);
            };
            Ok(Some(Version::check(sources, diags, &options)))
        });
        let new = read_work_tree(dir, &options);
        let old = old.join().unwrap_or_else(|_| {
            Err(GitError::Io(io::Error::other(
                "reading the revision failed",
            )))
        });
        (old, new)
    });
    let old = match old {
        Ok(v) => v,
        Err(e) => return trouble(git_trouble(&e)),
    };
    let new = match new {
        Ok(v) => v,
        Err(e) => {
            return trouble(format_args!(
                "cannot read flag directory `{}`: {}",
                dir.display(),
                io_reason(&e)
            ));
        }
    };
    if old.is_none() && new.is_none() {
        return trouble(format_args!(
            "no flag directory `{}`, neither in the working tree nor at `{}`",
            dir.display(),
            args.rev
        ));
    }

    // Invalid flags on either side: nothing to compare.
    let rev_dir = PathBuf::from(format!("{}:{}", args.rev, prefix));
    let mut invalid = false;
    for (v, shown, what) in [
        (&old, rev_dir.as_path(), format!("at `{}`", args.rev)),
        (&new, dir.as_path(), "in the working tree".to_owned()),
    ] {
        if let Some(v) = v
            && v.model.is_none()
        {
            invalid = true;
            print_invalid(v, shown, &what);
        }
    }
    if invalid {
        return Exit::Trouble;
    }

    let empty_model = Model::default();
    let empty_sources = Sources::default();
    fn side<'a>(v: &'a Option<Version>, empty: (&'a Model, &'a Sources)) -> Side<'a> {
        match v {
            Some(Version {
                model: Some(m),
                sources,
                ..
            }) => Side { model: m, sources },
            _ => Side {
                model: empty.0,
                sources: empty.1,
            },
        }
    }
    let empty = (&empty_model, &empty_sources);
    let mut diff = flagc::diff::diff(side(&old, empty), side(&new, empty));
    diff.base = Some(Base {
        rev: args.rev.clone(),
        commit,
        has_flags: old.is_some(),
    });
    diff.dir = Some(prefix);

    let text = match args.format {
        Format::Human => human(&diff, dir),
        Format::Markdown => markdown(&diff, dir),
        Format::Json => match serde_json::to_string_pretty(&diff) {
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
        return trouble(format_args!("cannot write the diff: {}", io_reason(&e)));
    }
    if args.exit_code && diff.has_differences() {
        // As `git diff --exit-code`: 1 means "there are differences".
        Exit::Invalid
    } else {
        Exit::Ok
    }
}

/// One side, read and checked.
struct Version {
    sources: Sources,
    model: Option<Model>,
    diagnostics: Vec<Diagnostic>,
}

impl Version {
    fn check(sources: Sources, mut diags: Diagnostics, options: &CheckOptions) -> Version {
        // Only validity matters here, so the cleanup lint that `check` adds is skipped.
        let model = flagc::check::check(&sources, options, &mut diags);
        let diagnostics: Vec<Diagnostic> = diags
            .into_sorted()
            .into_iter()
            .filter(Diagnostic::is_error)
            .collect();
        Version {
            model: model.filter(|_| diagnostics.is_empty()),
            sources,
            diagnostics,
        }
    }
}

/// The working tree's flag directory; `None` when it does not exist (everything removed).
fn read_work_tree(dir: &Path, options: &CheckOptions) -> io::Result<Option<Version>> {
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
        Ok(m) if !m.is_dir() => {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "not a directory",
            ));
        }
        Ok(_) => {}
    }
    let mut diags = Diagnostics::new();
    let sources = Sources::read_dir(dir, &mut diags)?;
    Ok(Some(Version::check(sources, diags, options)))
}

fn print_invalid(v: &Version, shown: &Path, what: &str) {
    let report = Report {
        dir: shown,
        sources: &v.sources,
        diagnostics: &v.diagnostics,
        flags: None,
    };
    let mut err = anstream::stderr();
    let _ = write!(err, "{}", render::human(&report, true));
    let _ = writeln!(
        err,
        "error: the flags {what} are invalid, so there is nothing to compare; fix them first"
    );
}

fn git_trouble(e: &GitError) -> String {
    match e {
        GitError::UnknownRevision(rev) => format!(
            "unknown revision `{rev}`: not a branch, tag or commit of this repository \
             (in CI, fetch the full history: `fetch-depth: 0`)"
        ),
        e => e.to_string(),
    }
}

// ---- rendering ---------------------------------------------------------------------------

fn short(commit: &str) -> &str {
    commit.get(..7).unwrap_or(commit)
}

/// `main (1a2b3c4)`, or just `1a2b3c4` when the revision is a hash already.
fn revision(base: &Base, quote: &str) -> String {
    let commit = short(&base.commit);
    let is_hash = base.rev.len() >= 4 && base.commit.starts_with(&base.rev.to_ascii_lowercase());
    if is_hash {
        format!("{quote}{commit}{quote}")
    } else {
        format!("{quote}{}{quote} ({quote}{commit}{quote})", base.rev)
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `1 added, 2 changed; 3 risks (1 breaking)`, or `no changes`.
fn summary_line(d: &Diff) -> String {
    let s = &d.summary;
    let mut parts = Vec::new();
    for (n, word) in [
        (s.added, "added"),
        (s.removed, "removed"),
        (s.changed, "changed"),
        (s.renamed, "renamed"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    let mut line = if parts.is_empty() {
        "no flag changes".to_owned()
    } else {
        format!("flags: {}", parts.join(", "))
    };
    if s.manifest + s.segments > 0 {
        let _ = write!(
            line,
            "; {}",
            plural(
                s.manifest + s.segments,
                "manifest change",
                "manifest changes"
            )
        );
    }
    if s.risks > 0 {
        let _ = write!(line, "; {}", plural(s.risks, "risk", "risks"));
        if s.breaking > 0 {
            let _ = write!(line, " ({} breaking)", s.breaking);
        }
    }
    line
}

fn sigil(c: Change) -> char {
    match c {
        Change::Added => '+',
        Change::Removed => '-',
        Change::Changed => '~',
        Change::Renamed => '>',
    }
}

fn place(f: &FlagDiff) -> String {
    match (&f.file, f.line, &f.before_file, f.before_line) {
        (Some(file), Some(line), _, _) => format!("{file}:{line}"),
        (_, _, Some(file), Some(line)) => format!("was {file}:{line}"),
        _ => String::new(),
    }
}

/// The text for a terminal.
pub fn human(d: &Diff, dir: &Path) -> String {
    let mut out = String::new();
    if let Some(base) = &d.base {
        let _ = writeln!(
            out,
            "flagc diff: {} at {} → working tree{}",
            dir.display(),
            revision(base, ""),
            if base.has_flags {
                ""
            } else {
                " (no flag directory at that revision)"
            }
        );
    }
    if !d.manifest.is_empty() {
        out.push_str("\nmanifest\n");
        for m in &d.manifest {
            let _ = writeln!(out, "  {}", m.text);
            if let Some(r) = &m.risk {
                let _ = writeln!(out, "    ! {}: {}", r.level.as_str(), r.text);
            }
        }
    }
    if !d.segments.is_empty() {
        out.push_str("\nsegments\n");
        for s in &d.segments {
            let _ = writeln!(out, "  {}", s.text);
        }
    }
    for f in &d.flags {
        out.push('\n');
        let mut head = format!("{} {}", sigil(f.change), f.key);
        let mut notes = vec![place(f), format!("owner {}", f.owner)];
        if let Some(from) = &f.renamed_from {
            notes.insert(
                0,
                format!(
                    "renamed from {from}; {}",
                    if f.buckets_preserved == Some(true) {
                        "buckets preserved"
                    } else {
                        "buckets NOT preserved"
                    }
                ),
            );
        }
        if f.change == Change::Added {
            notes.push(f.ty.to_owned());
            notes.push(match &f.expires {
                Some(d) => format!("expires {d}"),
                None => "permanent".to_owned(),
            });
        }
        notes.retain(|n| !n.is_empty());
        let _ = write!(head, " ({})", notes.join(", "));
        let _ = writeln!(out, "{head}");
        if f.change == Change::Added {
            let _ = writeln!(out, "    {}", first_line(&f.description));
        }
        for c in &f.fields {
            let _ = writeln!(out, "    {}", c.text);
        }
        if !f.segments.is_empty() {
            let segs: Vec<String> = f.segments.iter().map(|s| format!("`{s}`")).collect();
            let _ = writeln!(out, "    through changed segment {}", segs.join(", "));
        }
        for r in &f.rules {
            let _ = writeln!(out, "    {}", r.text);
        }
        for e in &f.effects {
            effect_lines(&mut out, e, "    ");
        }
        for r in &f.risks {
            let _ = writeln!(out, "    ! {}: {}", r.level.as_str(), r.text);
        }
    }
    let _ = writeln!(out, "\n{}", summary_line(d));
    out
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}

fn effect_lines(out: &mut String, e: &Effect, indent: &str) {
    if let [one] = e.changes.as_slice() {
        let _ = writeln!(out, "{indent}{}: {}", e.label, one.text);
        return;
    }
    let _ = writeln!(out, "{indent}{}:", e.label);
    for c in &e.changes {
        let _ = writeln!(out, "{indent}  {}", c.text);
    }
}

/// The marker the CI workflow looks for to update its one comment.
pub const MARKDOWN_MARKER: &str = "<!-- flagc-diff -->";

/// GitHub refuses comments over 65 536 characters; details stop well before.
const MARKDOWN_BUDGET: usize = 60_000;

/// Escapes text for Markdown (and table cells), leaving `code spans` as they are.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut code = false;
    for c in text.chars() {
        match c {
            '`' => {
                code = !code;
                out.push(c);
            }
            '|' => out.push_str("\\|"),
            _ if code => out.push(c),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '*' | '_' | '[' | ']' | '\\' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(max).collect();
    // Never leave a code span open.
    if s.matches('`').count() % 2 == 1 {
        s.push('`');
    }
    s.push('…');
    s
}

/// The first thing that changes for users, for the summary table.
fn headline(f: &FlagDiff) -> String {
    let first = f
        .effects
        .first()
        .and_then(|e| {
            e.changes
                .first()
                .map(|c| format!("{}: {}", e.label, c.text))
        })
        .or_else(|| f.rules.first().map(|r| r.text.clone()))
        .or_else(|| f.fields.first().map(|c| c.text.clone()))
        .or_else(|| {
            f.segments
                .first()
                .map(|s| format!("through changed segment `{s}`"))
        })
        .unwrap_or_default();
    let more: usize = f.effects.iter().map(|e| e.changes.len()).sum::<usize>();
    let mut s = cut(&first, 140);
    if more > 1 {
        let _ = write!(s, " (+{} more)", more - 1);
    }
    s
}

/// A pull-request comment: summary, risks, a table, then details per flag.
pub fn markdown(d: &Diff, dir: &Path) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MARKDOWN_MARKER}");
    let _ = writeln!(out, "### Flag changes in `{}`", dir.display());
    out.push('\n');
    if let Some(base) = &d.base {
        let _ = write!(out, "Compared with {}", revision(base, "`"));
        if !base.has_flags {
            out.push_str(", which has no flag directory");
        }
        out.push_str(": ");
    }
    let _ = writeln!(out, "**{}**.", summary_line(d));
    if !d.summary.differences {
        return out;
    }
    let mut risks: Vec<_> = d.risks().collect();
    risks.sort_by_key(|(_, r)| std::cmp::Reverse(r.level));
    if !risks.is_empty() {
        out.push_str("\n> [!WARNING]\n");
        for (key, r) in &risks {
            let who = key.map(|k| format!("`{k}`: ")).unwrap_or_default();
            let _ = writeln!(out, "> - **{}** {who}{}", r.level.as_str(), md(&r.text));
        }
    }
    if !d.flags.is_empty() {
        out.push_str("\n| | Flag | Owner | What changes for users |\n|---|---|---|---|\n");
        for f in &d.flags {
            let key = match &f.renamed_from {
                Some(from) => format!("`{}` ← `{from}`", f.key),
                None => format!("`{}`", f.key),
            };
            let risk = f
                .risks
                .iter()
                .map(|r| r.level)
                .max()
                .map(|l| match l {
                    RiskLevel::Breaking => " ⚠️ breaking",
                    RiskLevel::Rebucket => " ⚠️ rebucket",
                    RiskLevel::Warning => " ⚠️",
                })
                .unwrap_or("");
            let _ = writeln!(
                out,
                "| {}{risk} | {key} | {} | {} |",
                f.change.as_str(),
                md(&f.owner),
                md(&headline(f))
            );
        }
    }
    if !d.manifest.is_empty() || !d.segments.is_empty() {
        out.push_str("\n#### Manifest\n\n");
        for m in &d.manifest {
            let _ = writeln!(out, "- {}", md(&m.text));
        }
        for s in &d.segments {
            let _ = writeln!(out, "- {}", md(&s.text));
        }
    }
    for (n, f) in d.flags.iter().enumerate() {
        // Blocks separated by blank lines: heading, where, description, list, table.
        let mut blocks: Vec<String> = Vec::new();
        let mut heading = format!("#### `{}` — {}", f.key, f.change.as_str());
        if let Some(from) = &f.renamed_from {
            let _ = write!(
                heading,
                " from `{from}` ({})",
                if f.buckets_preserved == Some(true) {
                    "buckets preserved"
                } else {
                    "buckets **not** preserved"
                }
            );
        }
        blocks.push(heading);
        let mut place_line = format!("{} · owner {}", md(&place(f)), md(&f.owner));
        if f.change == Change::Added {
            let expiry = match &f.expires {
                Some(d) => format!("expires {d}"),
                None => "permanent".to_owned(),
            };
            let _ = write!(place_line, " · {} · {expiry}", f.ty);
        }
        blocks.push(place_line);
        if f.change == Change::Added {
            blocks.push(format!("> {}", md(first_line(&f.description))));
        }
        let mut list = String::new();
        for c in &f.fields {
            let _ = writeln!(list, "- {}", md(&c.text));
        }
        if !f.segments.is_empty() {
            let segs: Vec<String> = f.segments.iter().map(|s| format!("`{s}`")).collect();
            let _ = writeln!(list, "- through changed segment {}", segs.join(", "));
        }
        for r in &f.rules {
            let _ = writeln!(list, "- {}", md(&r.text));
        }
        if !list.is_empty() {
            blocks.push(list.trim_end().to_owned());
        }
        if !f.effects.is_empty() {
            let mut table = String::from("| Where | What changes for users |\n|---|---|");
            for e in &f.effects {
                let changes: Vec<String> = e.changes.iter().map(|c| md(&c.text)).collect();
                let _ = write!(table, "\n| {} | {} |", md(&e.label), changes.join("<br>"));
            }
            blocks.push(table);
        }
        let section = format!("\n{}\n", blocks.join("\n\n"));
        if out.len() + section.len() > MARKDOWN_BUDGET {
            let _ = writeln!(
                out,
                "\n…and {} more flags: run `flagc diff` locally for every detail.",
                d.flags.len() - n
            );
            break;
        }
        out.push_str(&section);
    }
    out
}

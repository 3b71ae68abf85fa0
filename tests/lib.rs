//! Fixture and end-to-end tests of flagc; this library is what the test files share.
//!
//! A checker fixture is a directory under `fixtures/check/`:
//!
//! * `flags/`: the flag directory to check (manifest and flag files);
//! * `expected.txt`: every diagnostic, in order, one line each (see [`listing`]), with the
//!   secondary labels indented below it; `#` starts a comment line;
//! * `case.toml` (optional): the check options and what to build at run time that git should
//!   not hold (see [`Setup`]).
//!
//! Adding a case is adding such a directory; `fixtures.rs` runs them all.
#![forbid(unsafe_code)]

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use flagc::model::Date;
use flagc::{CheckOptions, Checked, Diagnostic, Sources};
use serde::Deserialize;

/// The date every case is checked on unless its `case.toml` says otherwise, so that fixtures
/// do not expire as time passes.
pub const TODAY: Date = Date {
    year: 2026,
    month: 6,
    day: 1,
};

/// Where the checker fixtures are.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/check")
}

/// The repository's example flag directory.
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/flags")
}

/// One fixture case.
#[derive(Debug)]
pub struct Case {
    /// The directory name.
    pub name: String,
    /// The case directory.
    pub dir: PathBuf,
    /// Its `case.toml`.
    pub setup: Setup,
}

/// A case's `case.toml`: every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    /// `CheckOptions::today` (default [`TODAY`]).
    pub today: Option<toml::value::Datetime>,
    /// `CheckOptions::deny_expired`.
    #[serde(default)]
    pub deny_expired: bool,
    /// The number of flags the model must hold (so there must be no errors).
    pub flags: Option<usize>,
    /// Symlinks to create in the copy of `flags/`.
    #[serde(default)]
    pub symlink: Vec<Symlink>,
    /// Files made of `size` zero bytes, sparse where the filesystem allows.
    #[serde(default)]
    pub sparse_file: Vec<SizedFile>,
    /// Files of `flags/` padded with comment lines to exactly `size` bytes.
    #[serde(default)]
    pub pad: Vec<SizedFile>,
}

/// A symlink at `link` (relative to `flags/`) pointing at `target` (as written in the link).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Symlink {
    /// Where the link is, relative to `flags/`.
    pub link: String,
    /// What it points at.
    pub target: String,
}

/// A file of an exact size.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizedFile {
    /// Relative to `flags/`.
    pub path: String,
    /// In bytes.
    pub size: u64,
}

/// Every case, sorted by name.
pub fn cases() -> io::Result<Vec<Case>> {
    let mut cases = Vec::new();
    for entry in fs::read_dir(fixtures_dir())? {
        let dir = entry?.path();
        if !dir.is_dir() {
            continue;
        }
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let setup = match fs::read_to_string(dir.join("case.toml")) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidData, format!("{name}/case.toml: {e}"))
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Setup::default(),
            Err(e) => return Err(e),
        };
        cases.push(Case { name, dir, setup });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cases)
}

impl Case {
    /// The options to check this case with.
    pub fn options(&self) -> CheckOptions {
        let today = self
            .setup
            .today
            .and_then(|dt| dt.date)
            .map_or(TODAY, |d| Date {
                year: d.year as i16,
                month: d.month as i8,
                day: d.day as i8,
            });
        CheckOptions {
            today: Some(today),
            deny_expired: self.setup.deny_expired,
        }
    }

    /// `expected.txt` without comments and blank lines.
    pub fn expected(&self) -> io::Result<String> {
        let text = fs::read_to_string(self.dir.join("expected.txt"))?;
        Ok(text
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect())
    }

    /// Copies `flags/` into a fresh temporary directory and builds what `case.toml` asks for
    /// there. The flag directory is `<returned dir>/flags`.
    pub fn materialize(&self) -> io::Result<tempfile::TempDir> {
        let tmp = tempfile::tempdir()?;
        let flags = tmp.path().join("flags");
        copy_dir(&self.dir.join("flags"), &flags)?;
        for f in &self.setup.pad {
            pad(&flags.join(&f.path), f.size)?;
        }
        for f in &self.setup.sparse_file {
            let file = fs::File::create(flags.join(&f.path))?;
            file.set_len(f.size)?;
        }
        for s in &self.setup.symlink {
            symlink(&s.target, &flags.join(&s.link))?;
        }
        Ok(tmp)
    }

    /// Checks the case: materializes it and runs [`flagc::check_dir`].
    pub fn check(&self) -> io::Result<Checked> {
        let tmp = self.materialize()?;
        flagc::check_dir(&tmp.path().join("flags"), &self.options())
    }
}

/// Whether symlinks can be created here (tests that need one are skipped elsewhere).
pub const SYMLINKS: bool = cfg!(unix);

#[cfg(unix)]
fn symlink(target: &str, link: &Path) -> io::Result<()> {
    if let Some(parent) = link.parent() {
        fs::create_dir_all(parent)?;
    }
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(_target: &str, _link: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "symlink fixtures need a unix filesystem",
    ))
}

fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Appends `#` comment lines to a file until it is exactly `size` bytes.
fn pad(path: &Path, size: u64) -> io::Result<()> {
    let mut text = fs::read(path)?;
    let size = usize::try_from(size).map_err(io::Error::other)?;
    if !text.ends_with(b"\n") {
        text.push(b'\n');
    }
    while text.len() < size {
        let line = (size - text.len()).min(100);
        text.extend(std::iter::repeat_n(b'#', line - 1));
        text.push(b'\n');
    }
    if text.len() != size {
        return Err(io::Error::other(format!(
            "{} is already longer than {size} bytes",
            path.display()
        )));
    }
    fs::write(path, text)
}

/// The diagnostics as `expected.txt` writes them: one line per diagnostic,
/// `severity code file:line:column` (or `severity code file` for a file as a whole, or
/// `severity code` for the directory), each secondary label below it as
/// `  label file:line:column`.
pub fn listing(checked: &Checked) -> String {
    let mut out = String::new();
    for d in &checked.diagnostics {
        out.push_str(&format!("{} {}", d.severity.as_str(), d.code));
        if let Some(place) = place(&checked.sources, d.file.as_deref(), d.span.as_ref()) {
            out.push(' ');
            out.push_str(&place);
        }
        out.push('\n');
        for l in &d.labels {
            let place = place(&checked.sources, Some(&l.file), Some(&l.span));
            out.push_str(&format!("  label {}\n", place.unwrap_or_default()));
        }
    }
    out
}

fn place(
    sources: &Sources,
    file: Option<&str>,
    span: Option<&std::ops::Range<usize>>,
) -> Option<String> {
    let file = file?;
    let Some(span) = span else {
        return Some(file.to_owned());
    };
    // Positions come from the same code the renderers use.
    let probe = Diagnostic::error(flagc::Code::Io, file, span.clone(), "");
    Some(match sources.position(&probe) {
        Some(p) => format!("{file}:{}:{}", p.line, p.column),
        None => format!("{file}:?"),
    })
}

/// Every way a diagnostic's place can be wrong: a span outside its file or not on character
/// boundaries, or a file that is not among the sources although it has a span. Returns one
/// line per problem.
pub fn span_problems(checked: &Checked) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |what: &str, file: &str, span: &std::ops::Range<usize>| {
        let Some(source) = checked.sources.get(file) else {
            problems.push(format!(
                "{what}: file `{file}` has a span but is not a source"
            ));
            return;
        };
        let text = &source.text;
        if span.start > span.end || span.end > text.len() {
            problems.push(format!(
                "{what}: span {span:?} outside `{file}` ({} bytes)",
                text.len()
            ));
        } else if !text.is_char_boundary(span.start) || !text.is_char_boundary(span.end) {
            problems.push(format!(
                "{what}: span {span:?} of `{file}` is not on character boundaries"
            ));
        }
    };
    for d in &checked.diagnostics {
        let what = format!("{} {}", d.code, d.message);
        if let (Some(file), Some(span)) = (&d.file, &d.span) {
            check(&what, file, span);
        }
        for l in &d.labels {
            check(&format!("label of {what}"), &l.file, &l.span);
        }
    }
    problems
}

//! flagc: git-native feature flags for Rust.
//!
//! Flags are TOML files in the service's repository. This crate holds all of flagc's
//! semantics, as one pipeline of stages, one module each:
//!
//! 1. [`source`]: read the flag directory (symlinks followed, loops reported);
//! 2. [`parse`]: TOML into a spanned tree, every syntax error collected;
//! 3. [`schema`] then [`check`]: structure (the JSON Schema editors also use), then meaning,
//!    producing the typed [`model::Model`];
//! 4. compile and evaluate (static attributes folded away, then per-request evaluation).
//!
//! The CLI (`flagc`), the proc macro (`flags-macros`) and the runtime are thin layers over it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bucket;
pub mod check;
#[cfg(feature = "codegen")]
pub mod codegen;
pub mod compile;
pub mod diag;
pub mod diff;
pub mod eval;
pub mod flagd;
pub mod interp;
pub mod ir;
pub mod model;
mod par;
pub mod parse;
pub mod runtime;
pub mod schema;
pub mod source;
pub mod stale;
pub mod watch;

use std::io;
use std::path::Path;

pub use diag::{Code, Diagnostic, Severity};
pub use model::Model;
pub use source::Sources;

/// How to check a flag directory.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Today's date in UTC, for expiry; `None` means the system clock (or
    /// `SOURCE_DATE_EPOCH` when set).
    pub today: Option<model::Date>,
    /// Expired flags are errors rather than warnings.
    pub deny_expired: bool,
}

/// The result of loading and checking a flag directory.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The files read.
    pub sources: Sources,
    /// The checked model, when there were no errors.
    pub model: Option<Model>,
    /// Every diagnostic, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// Number of errors.
    pub fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }
}

/// Reads and checks the flag directory at `dir`. The error is for a directory that cannot be
/// read at all; everything else is a diagnostic.
pub fn check_dir(dir: &Path, options: &CheckOptions) -> io::Result<Checked> {
    check_dir_with(dir, options, true)
}

/// [`check_dir`] without the cleanup lint (never-firing rules, constant flags: notes for
/// people, which compile every flag under every static combination): what a build needs,
/// the model and the errors. `flags!` uses it.
pub fn check_dir_for_build(dir: &Path, options: &CheckOptions) -> io::Result<Checked> {
    check_dir_with(dir, options, false)
}

fn check_dir_with(dir: &Path, options: &CheckOptions, lint: bool) -> io::Result<Checked> {
    let mut diags = diag::Diagnostics::new();
    let sources = Sources::read_dir(dir, &mut diags)?;
    Ok(check_sources_with(sources, diags, options, lint))
}

/// Checks sources already in memory (tests, git revisions), with the diagnostics gathered
/// while reading them.
pub fn check_sources(
    sources: Sources,
    diags: diag::Diagnostics,
    options: &CheckOptions,
) -> Checked {
    check_sources_with(sources, diags, options, true)
}

/// [`check_sources`], with the cleanup lint (never-firing rules, constant flags) only when
/// `lint`: those notes are for people; a service reloading its flags needs only the errors.
pub(crate) fn check_sources_with(
    sources: Sources,
    mut diags: diag::Diagnostics,
    options: &CheckOptions,
    lint: bool,
) -> Checked {
    let model = check::check(&sources, options, &mut diags);
    if let Some(m) = model.as_ref().filter(|_| lint && !diags.has_errors()) {
        // Cleanup candidates: rules that fire under no static combination, constant flags.
        diags.extend(compile::lint(m));
    }
    let diagnostics = diags.into_sorted();
    let model = if diagnostics.iter().any(Diagnostic::is_error) {
        None
    } else {
        model
    };
    Checked {
        sources,
        model,
        diagnostics,
    }
}

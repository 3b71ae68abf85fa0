//! Rendering diagnostics at the edge: the library's [`Diagnostic`]s carry no text layout.
//!
//! Three renderers over one [`Report`]: [`human`] (rustc style, annotate-snippets), [`json`]
//! (one object for tools) and [`github`] (workflow commands that annotate a pull request).
//! Every renderer returns the whole output as a `String`, so tests can snapshot it.

mod github;
mod human;
mod json;

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;

use flagc::{Diagnostic, Severity, Sources};

pub use github::github;
pub use human::human;
pub use json::{json, json_diagnostics};

/// What a check produced, ready to print.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// The flag directory as the user typed it; file paths are shown joined to it.
    pub dir: &'a Path,
    /// The files read (for snippets and line/column).
    pub sources: &'a Sources,
    /// The diagnostics to print, in order.
    pub diagnostics: &'a [Diagnostic],
    /// How many flags were checked, when the checked model was built.
    pub flags: Option<usize>,
}

impl Report<'_> {
    /// Number of errors.
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }

    /// A file of the flag directory as shown to the user: `DIR/relative`.
    fn display_path(&self, relative: &str) -> String {
        self.dir.join(relative).display().to_string()
    }

    /// How many distinct files the errors and warnings are in.
    fn files_with_problems(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity != Severity::Note)
            .filter_map(|d| d.file.as_deref())
            .collect::<BTreeSet<_>>()
            .len()
    }
}

/// `1 error`, `2 errors`.
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A span made safe to slice `text` with: inside it and on character boundaries.
fn clamp_span(span: &Range<usize>, text: &str) -> Range<usize> {
    let floor = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = floor(span.start);
    start..floor(span.end).max(start)
}

//! Diagnostics: what went wrong, where, and how to fix it.
//!
//! A [`Diagnostic`] carries no rendering: it names a file (relative to the flag directory) and
//! a byte span in it. Front ends (the CLI's annotate-snippets renderer, the proc macro's
//! `compile_error!`, the runtime's status) turn it into text with the help of [`Sources`].
//!
//! [`Sources`]: crate::source::Sources

use std::fmt;
use std::ops::Range;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Something worth knowing that needs no action (e.g. a cleanup candidate).
    Note,
    /// Valid, but probably not what was meant (shadowed rule, expired flag).
    Warning,
    /// The flag directory is invalid.
    Error,
}

impl Severity {
    /// `error`, `warning` or `note`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

macro_rules! codes {
    ($($(#[doc = $doc:literal])* $name:ident = $code:literal,)*) => {
        /// Stable diagnostic codes. A code never changes meaning once released.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $($(#[doc = $doc])* $name,)*
        }

        impl Code {
            /// The code as printed, e.g. `E0201`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$name => $code,)* }
            }

            /// Every code, in order (for documentation and tests).
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            /// The one-paragraph explanation of the code.
            pub fn explain(self) -> &'static str {
                match self { $(Code::$name => concat!($($doc, "\n"),*).trim_ascii(),)* }
            }
        }
    };
}

codes! {
    // ---- E00xx: reading the directory -------------------------------------------------
    /// A file or directory could not be read.
    Io = "E0001",
    /// A file is larger than 1 MiB and was refused before being read.
    FileTooLarge = "E0002",
    /// A file is not valid UTF-8.
    NotUtf8 = "E0003",
    /// Following symlinks leads back to a directory already being walked.
    SymlinkLoop = "E0004",
    /// The flag directory has no `flagc.toml` manifest at its top.
    MissingManifest = "E0005",
    /// A second `flagc.toml` below the top: one manifest per tree.
    NestedManifest = "E0006",
    /// A flag file that holds no flags (an empty manifest is valid).
    EmptyFile = "E0007",
    // ---- E01xx: TOML and structure (JSON Schema) --------------------------------------
    /// The file is not valid TOML.
    TomlSyntax = "E0101",
    /// A field that the format does not know (often a misspelling).
    UnknownField = "E0102",
    /// A required field is missing.
    MissingField = "E0103",
    /// A field has the wrong TOML type.
    WrongType = "E0104",
    /// A value is outside what the format allows (a pattern, range or list of choices).
    InvalidValue = "E0105",
    // ---- E02xx: names and references ---------------------------------------------------
    /// A flag key, attribute or variant name is not a valid snake_case identifier.
    InvalidName = "E0201",
    /// A name is a Rust keyword or is reserved by flagc.
    ReservedName = "E0202",
    /// The same flag key is defined twice (in one directory, across files).
    DuplicateFlag = "E0203",
    /// A condition or rollout names an attribute the manifest does not declare.
    UnknownAttribute = "E0204",
    /// A condition names a segment the manifest does not declare.
    UnknownSegment = "E0205",
    /// A value that is not one of an enum's (variant's, static attribute's) values.
    UnknownVariant = "E0206",
    /// An operator that flagc does not know.
    UnknownOperator = "E0207",
    /// Segments that refer to each other in a cycle.
    SegmentCycle = "E0208",
    /// The same name twice in a list that must be unique (variants, enum values, rule ids).
    DuplicateName = "E0209",
    // ---- E03xx: types and literals -----------------------------------------------------
    /// A literal whose type does not fit the attribute or flag it is used with.
    TypeMismatch = "E0301",
    /// A string that is not a valid semantic version.
    InvalidSemver = "E0302",
    /// An invalid datetime literal (it must be a TOML offset date-time).
    InvalidDatetime = "E0303",
    /// A regular expression that does not compile.
    InvalidRegex = "E0304",
    /// A date written as a string; TOML dates are written bare: `expires = 2027-03-01`.
    DateAsString = "E0305",
    /// An operator that does not apply to the attribute's type (e.g. `lt` on a string).
    OperatorType = "E0306",
    // ---- E04xx: rules and rollouts -----------------------------------------------------
    /// A rule must have exactly one outcome: `value` or `rollout`.
    RuleOutcome = "E0401",
    /// Rollout percentages must sum to exactly 100.
    RolloutSum = "E0402",
    /// A rollout percentage with more than three decimals, or outside 0..=100.
    RolloutPrecision = "E0403",
    /// Rollouts are for bool and enum flags only.
    RolloutFlagType = "E0404",
    /// A rollout's bucketing attribute must be a `string`, `int` or enum context attribute.
    RolloutBy = "E0405",
    /// No bucketing attribute: neither the rollout's `by` nor the manifest's `[rollout] by`.
    RolloutNoBy = "E0406",
    // ---- W05xx: warnings -----------------------------------------------------------------
    /// A rule that can never fire because an earlier rule always decides.
    ShadowedRule = "W0501",
    /// A flag past its `expires` date (an error with `--deny-expired`).
    ExpiredFlag = "W0502",
    /// A rule that fires under no combination of the static attributes.
    NeverFires = "W0503",
    /// A flag whose value is the same for every context in every static combination.
    ConstantFlag = "N0504",
    /// A flag that `permanent = true` and `expires` both describe: `expires` is ignored.
    PermanentWithExpiry = "W0505",
    // ---- E06xx: evaluation inputs ------------------------------------------------------------
    /// A static attribute value is missing or unknown where flags are compiled.
    StaticValue = "E0601",
    /// A context value that does not fit its attribute.
    ContextValue = "E0602",
    /// A flag key that does not exist.
    UnknownFlag = "E0603",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secondary location that explains the primary one ("first defined here").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// File, relative to the flag directory, with `/` separators.
    pub file: String,
    /// Byte span in that file.
    pub span: Range<usize>,
    /// What this location contributes.
    pub message: String,
}

/// One problem (or remark) about the flag directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error, warning or note.
    pub severity: Severity,
    /// Stable code.
    pub code: Code,
    /// One sentence: what is wrong.
    pub message: String,
    /// File, relative to the flag directory, with `/` separators; `None` for directory-wide
    /// problems (a missing directory).
    pub file: Option<String>,
    /// Byte span in `file` of the offending key or value.
    pub span: Option<Range<usize>>,
    /// Other places that explain this one.
    pub labels: Vec<Label>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error about `file` at `span`.
    pub fn error(code: Code, file: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, file, span, message)
    }

    /// A warning about `file` at `span`.
    pub fn warning(code: Code, file: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, file, span, message)
    }

    /// A diagnostic at a place.
    pub fn new(
        severity: Severity,
        code: Code,
        file: &str,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            code,
            message: message.into(),
            file: Some(file.to_owned()),
            span: Some(span),
            labels: Vec::new(),
            help: None,
        }
    }

    /// A diagnostic about the whole directory or a file as a whole.
    pub fn global(
        severity: Severity,
        code: Code,
        file: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            code,
            message: message.into(),
            file: file.map(str::to_owned),
            span: None,
            labels: Vec::new(),
            help: None,
        }
    }

    /// Adds a help line.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a secondary label.
    #[must_use]
    pub fn with_label(
        mut self,
        file: &str,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        self.labels.push(Label {
            file: file.to_owned(),
            span,
            message: message.into(),
        });
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Collects diagnostics from every stage, so that one run reports every problem.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a diagnostic.
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    /// Whether any error was recorded.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    /// The diagnostics recorded so far.
    pub fn as_slice(&self) -> &[Diagnostic] {
        &self.items
    }

    /// Sorted by file, then position, then code, without exact duplicates.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by(|a, b| {
            (
                &a.file,
                a.span.as_ref().map(|s| (s.start, s.end)),
                a.code,
                &a.message,
            )
                .cmp(&(
                    &b.file,
                    b.span.as_ref().map(|s| (s.start, s.end)),
                    b.code,
                    &b.message,
                ))
        });
        self.items.dedup();
        self.items
    }

    /// Appends all of another collector's diagnostics.
    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(other);
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// The closest of `candidates` to `name`, if one is close enough to be a likely misspelling.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// `help: did you mean `x`?` when a close candidate exists, else a list of what is allowed.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> Option<String> {
    if let Some(s) = suggest(name, candidates.clone()) {
        return Some(format!("did you mean `{s}`?"));
    }
    let all: Vec<&str> = candidates.into_iter().collect();
    if all.is_empty() {
        None
    } else if all.len() <= 12 {
        Some(format!(
            "expected one of: {}",
            all.iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    } else {
        None
    }
}

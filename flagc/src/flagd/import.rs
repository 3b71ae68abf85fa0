//! A flagd flag-definition document as a manifest and flag files (being written).

/// The result of an import.
#[derive(Debug, Clone, Default)]
pub struct Import {
    /// The files to write, manifest first.
    pub files: Vec<ImportedFile>,
    /// What could not be translated.
    pub issues: Vec<ImportIssue>,
}

/// One file of the imported flag directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedFile {
    /// Path relative to the flag directory.
    pub path: String,
    /// Its text.
    pub text: String,
}

/// Something of the document that has no exact flagc equivalent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportIssue {
    /// JSON pointer into the document.
    pub path: String,
    /// Why.
    pub message: String,
}

/// Imports a flagd document.
pub fn import(_document: &str) -> Import {
    Import::default()
}

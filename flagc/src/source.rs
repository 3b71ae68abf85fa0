//! Reading a flag directory: the manifest plus every `*.toml` below it.
//!
//! Symlinks are followed (Kubernetes ConfigMaps are symlink farms) and a loop is reported, not
//! walked forever. Dot-files and dot-directories are skipped. Files over [`MAX_FILE_SIZE`] are
//! refused before they are read. Every per-file problem becomes a diagnostic; only a directory
//! that cannot be read at all is an [`io::Error`].

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::diag::{Code, Diagnostic, Diagnostics, Severity};

/// The manifest's file name.
pub const MANIFEST: &str = "flagc.toml";

/// Files larger than this are refused before being read.
pub const MAX_FILE_SIZE: u64 = 1024 * 1024;

/// One file of a flag directory.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the flag directory, with `/` separators.
    pub path: String,
    /// The file's text.
    pub text: String,
    /// Byte offset of the start of each line, computed when a position is first asked for
    /// (a clean directory never needs them).
    line_starts: OnceLock<Vec<usize>>,
}

/// Files are equal when their paths and texts are, whether or not their lines were indexed.
impl PartialEq for SourceFile {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path && self.text == other.text
    }
}

impl Eq for SourceFile {}

impl SourceFile {
    /// A file from its relative path and text.
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile {
            path: path.into(),
            text: text.into(),
            line_starts: OnceLock::new(),
        }
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        })
    }

    /// Whether this is the manifest.
    pub fn is_manifest(&self) -> bool {
        self.path == MANIFEST
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_starts = self.line_starts();
        let line = line_starts.partition_point(|&s| s <= offset) - 1;
        let start = line_starts[line];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text(&self, line: usize) -> &str {
        let line_starts = self.line_starts();
        let Some(&start) = line_starts.get(line.saturating_sub(1)) else {
            return "";
        };
        let end = line_starts.get(line).copied().unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }
}

/// All files of a flag directory, manifest first, the others sorted by path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    /// The directory they were read from (empty for in-memory sources).
    pub root: PathBuf,
    /// The files.
    pub files: Vec<SourceFile>,
}

impl Sources {
    /// Sources from memory (tests, git revisions): `(relative path, bytes)` pairs. The same
    /// rules as for a directory apply: size limit, UTF-8, dot-entries and non-TOML skipped.
    pub fn from_memory<P: AsRef<str>, B: AsRef<[u8]>>(
        files: impl IntoIterator<Item = (P, B)>,
        diags: &mut Diagnostics,
    ) -> Sources {
        let mut map = BTreeMap::new();
        for (path, bytes) in files {
            let path = path.as_ref().trim_start_matches("./").to_owned();
            if !is_flag_path(&path) {
                continue;
            }
            let bytes = bytes.as_ref();
            if bytes.len() as u64 > MAX_FILE_SIZE {
                diags.push(too_large(&path, bytes.len() as u64));
                continue;
            }
            if let Some(text) = decode(&path, bytes.to_vec(), diags) {
                map.insert(path, text);
            }
        }
        Sources::assemble(PathBuf::new(), map, diags)
    }

    /// Reads the flag directory at `root`. Per-file problems are diagnostics; the error is for
    /// a directory that does not exist or cannot be listed at all.
    pub fn read_dir(root: &Path, diags: &mut Diagnostics) -> io::Result<Sources> {
        let meta = fs::metadata(root)?;
        if !meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a directory", root.display()),
            ));
        }
        let mut map = BTreeMap::new();
        let mut ancestors = Vec::new();
        walk(root, "", &mut ancestors, &mut map, diags)?;
        Ok(Sources::assemble(root.to_path_buf(), map, diags))
    }

    fn assemble(
        root: PathBuf,
        mut map: BTreeMap<String, String>,
        diags: &mut Diagnostics,
    ) -> Sources {
        let mut files = Vec::with_capacity(map.len());
        match map.remove(MANIFEST) {
            Some(text) => files.push(SourceFile::new(MANIFEST, text)),
            None => diags.push(
                Diagnostic::global(
                    Severity::Error,
                    Code::MissingManifest,
                    None,
                    format!("no `{MANIFEST}` manifest at the top of the flag directory"),
                )
                .with_help(
                    "run `flagc init` to create one, or point flagc at the directory that holds it",
                ),
            ),
        }
        files.extend(map.into_iter().map(|(p, t)| SourceFile::new(p, t)));
        Sources { root, files }
    }

    /// A file by relative path.
    pub fn get(&self, path: &str) -> Option<&SourceFile> {
        self.files.iter().find(|f| f.path == path)
    }

    /// The manifest, if present.
    pub fn manifest(&self) -> Option<&SourceFile> {
        self.files.first().filter(|f| f.is_manifest())
    }

    /// Line and column of a diagnostic's start and end (1-based), if it has a place.
    pub fn position(&self, d: &Diagnostic) -> Option<Position> {
        let file = self.get(d.file.as_deref()?)?;
        let span = d.span.clone()?;
        let (line, column) = file.line_col(span.start);
        let (end_line, end_column) = file.line_col(span.end.max(span.start));
        Some(Position {
            line,
            column,
            end_line,
            end_column,
        })
    }
}

/// A resolved place in a file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line of the start.
    pub line: usize,
    /// Column (in characters) of the start.
    pub column: usize,
    /// Line of the end.
    pub end_line: usize,
    /// Column of the end (exclusive).
    pub end_column: usize,
}

/// Whether a relative path names a file flagc reads: a `.toml` file, with no dot-entry in it.
fn is_flag_path(path: &str) -> bool {
    path.ends_with(".toml") && !path.split('/').any(|c| c.starts_with('.') || c.is_empty())
}

fn too_large(path: &str, size: u64) -> Diagnostic {
    Diagnostic::global(
        Severity::Error,
        Code::FileTooLarge,
        Some(path),
        format!("file is {size} bytes; flag files are limited to {MAX_FILE_SIZE} bytes (1 MiB)"),
    )
    .with_help("split the flags into several files")
}

fn decode(path: &str, bytes: Vec<u8>, diags: &mut Diagnostics) -> Option<String> {
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.drain(..3);
            }
            Some(text)
        }
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let bytes = e.as_bytes();
            let line = bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
            diags.push(
                Diagnostic::global(
                    Severity::Error,
                    Code::NotUtf8,
                    Some(path),
                    format!("file is not valid UTF-8 (first invalid byte at offset {offset}, line {line})"),
                )
                .with_help("TOML files must be UTF-8; re-save the file with UTF-8 encoding"),
            );
            None
        }
    }
}

fn walk(
    dir: &Path,
    rel: &str,
    ancestors: &mut Vec<PathBuf>,
    out: &mut BTreeMap<String, String>,
    diags: &mut Diagnostics,
) -> io::Result<()> {
    let canonical = fs::canonicalize(dir)?;
    if ancestors.contains(&canonical) {
        diags.push(
            Diagnostic::global(
                Severity::Error,
                Code::SymlinkLoop,
                Some(rel.trim_end_matches('/')),
                format!(
                    "symlink loop: `{}` leads back to a directory above it",
                    rel.trim_end_matches('/')
                ),
            )
            .with_help("remove or repoint the symlink"),
        );
        return Ok(());
    }
    ancestors.push(canonical);
    let mut entries: Vec<_> = fs::read_dir(dir)?.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let rel_path = format!("{rel}{name}");
        // `metadata` follows symlinks; a dangling or looping link fails here.
        let meta = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                let code = if is_loop_error(&e) {
                    Code::SymlinkLoop
                } else {
                    Code::Io
                };
                if code == Code::Io && !name.ends_with(".toml") {
                    continue; // a dangling link to something we would not read anyway
                }
                diags.push(unreadable(code, &rel_path, "", &e));
                continue;
            }
        };
        if meta.is_dir() {
            if let Err(e) = walk(&path, &format!("{rel_path}/"), ancestors, out, diags) {
                let code = if is_loop_error(&e) {
                    Code::SymlinkLoop
                } else {
                    Code::Io
                };
                diags.push(unreadable(code, &rel_path, "directory ", &e));
            }
        } else if meta.is_file() && name.ends_with(".toml") {
            if name == MANIFEST && !rel.is_empty() {
                diags.push(
                    Diagnostic::global(
                        Severity::Error,
                        Code::NestedManifest,
                        Some(&rel_path),
                        format!("a second `{MANIFEST}` below the top of the flag directory"),
                    )
                    .with_help(
                        "one manifest per flag tree: merge it into the top-level `flagc.toml`",
                    ),
                );
                continue;
            }
            if meta.len() > MAX_FILE_SIZE {
                diags.push(too_large(&rel_path, meta.len()));
                continue;
            }
            match fs::read(&path) {
                Ok(bytes) if bytes.len() as u64 > MAX_FILE_SIZE => {
                    diags.push(too_large(&rel_path, bytes.len() as u64))
                }
                Ok(bytes) => {
                    if let Some(text) = decode(&rel_path, bytes, diags) {
                        out.insert(rel_path, text);
                    }
                }
                Err(e) => diags.push(unreadable(Code::Io, &rel_path, "", &e)),
            }
        }
    }
    ancestors.pop();
    Ok(())
}

fn is_loop_error(e: &io::Error) -> bool {
    // "Too many levels of symbolic links" has no stable `io::ErrorKind` yet.
    const ELOOP: i32 = if cfg!(any(target_os = "linux", target_os = "android")) {
        40
    } else if cfg!(windows) {
        1921 // ERROR_CANT_RESOLVE_FILENAME
    } else {
        62 // macOS and the BSDs
    };
    e.raw_os_error() == Some(ELOOP)
}

/// A file or directory that cannot be read (or loops).
fn unreadable(code: Code, rel_path: &str, what: &str, e: &io::Error) -> Diagnostic {
    let d = Diagnostic::global(
        Severity::Error,
        code,
        Some(rel_path),
        format!("cannot read {what}`{rel_path}`: {e}"),
    );
    if code == Code::SymlinkLoop {
        d.with_help("a symlink leads back to itself; remove or repoint it")
    } else {
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_from_one() {
        let f = SourceFile::new("a.toml", "ab\ncé d\n");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(6), (2, 3)); // after the two-byte é
        assert_eq!(f.line_text(2), "cé d");
    }

    #[test]
    fn equality_ignores_whether_lines_were_indexed() {
        let a = SourceFile::new("a.toml", "x\ny\n");
        let b = a.clone();
        assert_eq!(a.line_col(2), (2, 1));
        assert_eq!(a, b);
    }

    #[test]
    fn memory_sources_skip_dot_entries_and_non_toml() {
        let mut d = Diagnostics::new();
        let s = Sources::from_memory(
            [
                ("flagc.toml", "x"),
                (".flagc/a.toml", "y"),
                ("a/..data/b.toml", "z"),
                ("README.md", "w"),
                ("b.toml", "v"),
            ],
            &mut d,
        );
        let paths: Vec<_> = s.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["flagc.toml", "b.toml"]);
        assert!(!d.has_errors());
    }

    #[test]
    fn missing_manifest_and_bad_utf8_are_reported() {
        let mut d = Diagnostics::new();
        let s = Sources::from_memory([("a.toml", &b"x = \"\xff\""[..])], &mut d);
        assert!(s.files.is_empty());
        let codes: Vec<_> = d.as_slice().iter().map(|d| d.code).collect();
        assert_eq!(codes, [Code::NotUtf8, Code::MissingManifest]);
    }
}

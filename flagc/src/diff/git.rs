//! Reading a flag directory as it is at a git revision, without a checkout.
//!
//! Everything goes through the `git` command line (plumbing commands with NUL-separated
//! output, so no path is ever quoted or mangled): `rev-parse` to find the repository and
//! resolve the revision, `ls-tree -r -z` to list the directory, one `cat-file --batch` for
//! every file's bytes. The files then go through [`Sources::from_memory`], which applies the
//! directory loader's rules (`*.toml` only, dot-entries skipped, size limit, UTF-8); a
//! nested `flagc.toml` is reported as the loader reports it. Symlinks are followed when they
//! point at a file inside the flag directory (git stores a symlink's target, not the file).

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use crate::diag::{Code, Diagnostic, Diagnostics, Severity};
use crate::source::{MANIFEST, Sources};

/// Why git could not give us what we asked for.
#[derive(Debug)]
pub enum GitError {
    /// The `git` program is not installed (or not on `PATH`).
    NotInstalled,
    /// The directory is not inside a git work tree.
    NotARepository {
        /// The directory asked about.
        dir: PathBuf,
        /// What git said.
        message: String,
    },
    /// The revision does not name a commit in this repository.
    UnknownRevision(String),
    /// A git command failed.
    Failed {
        /// The command, for the message.
        command: String,
        /// What git said.
        message: String,
    },
    /// Talking to git failed.
    Io(io::Error),
}

impl fmt::Display for GitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GitError::NotInstalled => write!(f, "`git` is not installed or not on PATH"),
            GitError::NotARepository { dir, message } => write!(
                f,
                "`{}` is not inside a git repository ({message})",
                dir.display()
            ),
            GitError::UnknownRevision(rev) => write!(f, "unknown revision `{rev}`"),
            GitError::Failed { command, message } => write!(f, "`{command}` failed: {message}"),
            GitError::Io(e) => write!(f, "cannot run git: {e}"),
        }
    }
}

impl std::error::Error for GitError {}

impl From<io::Error> for GitError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::NotFound {
            GitError::NotInstalled
        } else {
            GitError::Io(e)
        }
    }
}

/// A git work tree, found from a directory inside it.
#[derive(Debug, Clone)]
pub struct Repo {
    root: PathBuf,
}

/// The last line of what git printed on stderr (its `fatal:` line), for messages.
fn git_message(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    line.trim()
        .trim_start_matches("fatal: ")
        .trim_start_matches("error: ")
        .to_owned()
}

impl Repo {
    /// The repository holding `dir` (which need not exist yet: its nearest existing ancestor
    /// is asked), and `dir`'s path relative to the repository root, with `/` separators and
    /// no trailing slash (empty for the root itself).
    pub fn discover(dir: &Path) -> Result<(Repo, String), GitError> {
        let mut anchor = dir;
        let mut rest: Vec<String> = Vec::new();
        while !anchor.as_os_str().is_empty() && !anchor.is_dir() {
            let Some(name) = anchor.file_name() else {
                break;
            };
            rest.push(name.to_string_lossy().into_owned());
            anchor = anchor.parent().unwrap_or(Path::new(""));
        }
        rest.reverse();
        if dir
            .components()
            .rev()
            .take(rest.len())
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            return Err(GitError::NotARepository {
                dir: dir.to_path_buf(),
                message: "the path does not exist".to_owned(),
            });
        }
        let anchor = if anchor.as_os_str().is_empty() {
            Path::new(".")
        } else {
            anchor
        };
        let out = Command::new("git")
            .arg("-C")
            .arg(anchor)
            .args(["rev-parse", "--show-toplevel", "--show-prefix"])
            .stdin(Stdio::null())
            .output()?;
        if !out.status.success() {
            return Err(GitError::NotARepository {
                dir: dir.to_path_buf(),
                message: git_message(&out.stderr),
            });
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let root = lines.next().unwrap_or("").to_owned();
        let prefix = lines.next().unwrap_or("").trim_end_matches('/').to_owned();
        if root.is_empty() {
            return Err(GitError::NotARepository {
                dir: dir.to_path_buf(),
                message: "not inside a work tree".to_owned(),
            });
        }
        let mut parts: Vec<String> = prefix
            .split('/')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        parts.extend(rest);
        Ok((
            Repo {
                root: PathBuf::from(root),
            },
            parts.join("/"),
        ))
    }

    /// A repository by its root directory (no check).
    pub fn at(root: impl Into<PathBuf>) -> Repo {
        Repo { root: root.into() }
    }

    /// The work tree's top directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn command(&self) -> Command {
        let mut c = Command::new("git");
        c.arg("-C").arg(&self.root).stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Result<Vec<u8>, GitError> {
        let out = self.command().args(args).output()?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(GitError::Failed {
                command: format!("git {}", args.join(" ")),
                message: git_message(&out.stderr),
            })
        }
    }

    /// The full hash of the commit `rev` names.
    pub fn resolve(&self, rev: &str) -> Result<String, GitError> {
        // A leading `-` would be taken for an option.
        if rev.is_empty() || rev.starts_with('-') {
            return Err(GitError::UnknownRevision(rev.to_owned()));
        }
        let out = self
            .command()
            .args(["rev-parse", "--verify", "--quiet"])
            .arg(format!("{rev}^{{commit}}"))
            .output()?;
        let hash = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if out.status.success() && !hash.is_empty() {
            Ok(hash)
        } else {
            Err(GitError::UnknownRevision(rev.to_owned()))
        }
    }

    /// Every file under `prefix` at `commit`, as `(path relative to prefix, object id, is a
    /// symlink)`; `None` when the commit has no directory there.
    pub fn list(&self, commit: &str, prefix: &str) -> Result<Option<Vec<TreeEntry>>, GitError> {
        let tree = format!("{commit}:{prefix}");
        let kind = self
            .command()
            .args(["cat-file", "-t"])
            .arg(&tree)
            .stderr(Stdio::null())
            .output()?;
        if !kind.status.success() || kind.stdout.trim_ascii() != b"tree" {
            return Ok(None);
        }
        let out = self.run(&["ls-tree", "-r", "-z", &tree])?;
        let mut entries = Vec::new();
        for record in out.split(|&b| b == 0).filter(|r| !r.is_empty()) {
            // `<mode> SP <type> SP <object> TAB <path>`
            let Some(tab) = record.iter().position(|&b| b == b'\t') else {
                continue;
            };
            let (meta, path) = (&record[..tab], &record[tab + 1..]);
            let meta = String::from_utf8_lossy(meta);
            let mut fields = meta.split(' ');
            let (Some(mode), Some(kind), Some(oid)) = (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            if kind != "blob" {
                continue; // submodules
            }
            let Ok(path) = String::from_utf8(path.to_vec()) else {
                continue; // the directory loader skips names that are not UTF-8 too
            };
            entries.push(TreeEntry {
                path,
                oid: oid.to_owned(),
                symlink: mode == "120000",
            });
        }
        Ok(Some(entries))
    }

    /// The contents of objects, in order, through one `git cat-file --batch`.
    pub fn read_blobs(&self, oids: &[&str]) -> Result<Vec<Vec<u8>>, GitError> {
        if oids.is_empty() {
            return Ok(Vec::new());
        }
        let mut child = self
            .command()
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut input = String::with_capacity(oids.len() * 41);
        for oid in oids {
            input.push_str(oid);
            input.push('\n');
        }
        let stdin = child.stdin.take();
        // Write from another thread: git's output fills its pipe long before it has read
        // every request.
        let writer = std::thread::spawn(move || -> io::Result<()> {
            if let Some(mut stdin) = stdin {
                stdin.write_all(input.as_bytes())?;
            }
            Ok(())
        });
        let mut out = Vec::with_capacity(oids.len());
        let read = match child.stdout.take() {
            Some(stdout) => read_batch(BufReader::new(stdout), oids.len(), &mut out),
            None => Err(io::Error::other("no stdout")),
        };
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("writer thread panicked")));
        let status = child.wait()?;
        if let Err(e) = read.and(written) {
            let mut stderr = Vec::new();
            if let Some(mut s) = child.stderr.take() {
                let _ = s.read_to_end(&mut stderr);
            }
            return Err(GitError::Failed {
                command: "git cat-file --batch".to_owned(),
                message: if stderr.is_empty() {
                    e.to_string()
                } else {
                    git_message(&stderr)
                },
            });
        }
        if !status.success() {
            return Err(GitError::Failed {
                command: "git cat-file --batch".to_owned(),
                message: format!("exited with {status}"),
            });
        }
        Ok(out)
    }

    /// The flag directory at `prefix` as it is at `commit`, ready to check; `None` when the
    /// commit has no directory there. Per-file problems are diagnostics, as for a directory.
    pub fn read_sources(
        &self,
        commit: &str,
        prefix: &str,
        diags: &mut Diagnostics,
    ) -> Result<Option<Sources>, GitError> {
        let Some(entries) = self.list(commit, prefix)? else {
            return Ok(None);
        };
        // Symlinks first: their objects are their targets' paths.
        let links: Vec<&TreeEntry> = entries.iter().filter(|e| e.symlink).collect();
        let link_oids: Vec<&str> = links.iter().map(|e| e.oid.as_str()).collect();
        let targets: HashMap<&str, String> = links
            .iter()
            .map(|e| e.path.as_str())
            .zip(
                self.read_blobs(&link_oids)?
                    .into_iter()
                    .map(|b| String::from_utf8_lossy(&b).into_owned()),
            )
            .collect();
        let files = flag_files(&entries, &targets, diags);
        let oids: Vec<&str> = files.iter().map(|(_, oid)| *oid).collect();
        let blobs = self.read_blobs(&oids)?;
        let files: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, _)| *p).zip(blobs).collect();
        Ok(Some(Sources::from_memory(files, diags)))
    }

    /// The first-parent history of `prefix` up to `HEAD`, oldest first: each commit with the
    /// files under `prefix` it added, changed or deleted (paths relative to `prefix`).
    /// Empty when the repository has no commit yet.
    pub fn history(&self, prefix: &str) -> Result<Vec<HistoryCommit>, GitError> {
        if self.resolve("HEAD").is_err() {
            return Ok(Vec::new());
        }
        let mut args = vec![
            "--literal-pathspecs",
            "log",
            "--first-parent",
            "--reverse",
            "--no-renames",
            "--raw",
            "--no-abbrev",
            "-z",
            "--format=%x1e%H %cs",
            "HEAD",
            "--",
        ];
        if !prefix.is_empty() {
            args.push(prefix);
        }
        let out = self.run(&args)?;
        let strip = |p: &str| -> Option<String> {
            if prefix.is_empty() {
                Some(p.to_owned())
            } else {
                p.strip_prefix(prefix)?.strip_prefix('/').map(str::to_owned)
            }
        };
        let mut commits = Vec::new();
        for chunk in out.split(|&b| b == 0x1e).filter(|c| !c.is_empty()) {
            // `<hash> <date>\n` then NUL-separated `:<modes> <oids> <status>` / `<path>` pairs.
            let mut parts = chunk.split(|&b| b == 0);
            let head = String::from_utf8_lossy(parts.next().unwrap_or_default());
            let mut head = head.trim().splitn(2, ' ');
            let (Some(hash), Some(date)) = (head.next(), head.next()) else {
                continue;
            };
            let mut changes = Vec::new();
            while let Some(meta) = parts.next() {
                let meta = String::from_utf8_lossy(meta);
                let meta = meta.trim_start_matches(['\n', ':']);
                if meta.is_empty() {
                    continue;
                }
                let Some(path) = parts.next() else { break };
                let fields: Vec<&str> = meta.split(' ').collect();
                let (Some(new_oid), Some(status)) = (fields.get(3), fields.get(4)) else {
                    continue;
                };
                let Some(path) = std::str::from_utf8(path).ok().and_then(strip) else {
                    continue;
                };
                let new_mode = fields.get(1).copied().unwrap_or("");
                let oid = (!status.starts_with('D') && new_mode != "160000")
                    .then(|| (*new_oid).to_owned());
                changes.push((path, oid));
            }
            commits.push(HistoryCommit {
                hash: hash.to_owned(),
                date: date.trim().to_owned(),
                changes,
            });
        }
        Ok(commits)
    }
}

/// One commit of a directory's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryCommit {
    /// Full hash.
    pub hash: String,
    /// Committer date, `YYYY-MM-DD`.
    pub date: String,
    /// Files (relative to the directory) and their new object id, `None` when deleted.
    pub changes: Vec<(String, Option<String>)>,
}

/// A file in a tree listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// Path relative to the listed directory.
    pub path: String,
    /// Object id.
    pub oid: String,
    /// Whether it is a symlink (its object is the target path).
    pub symlink: bool,
}

fn read_batch(mut r: impl BufRead, count: usize, out: &mut Vec<Vec<u8>>) -> io::Result<()> {
    let mut header = Vec::new();
    for _ in 0..count {
        header.clear();
        r.read_until(b'\n', &mut header)?;
        let line = String::from_utf8_lossy(&header);
        let fields: Vec<&str> = line.trim_end().split(' ').collect();
        let size = match fields.as_slice() {
            [_, _, size] => size
                .parse::<usize>()
                .map_err(|_| io::Error::other(format!("unexpected output: {line:?}")))?,
            _ => return Err(io::Error::other(format!("object missing: {}", line.trim()))),
        };
        let mut body = vec![0; size];
        r.read_exact(&mut body)?;
        let mut lf = [0u8; 1];
        r.read_exact(&mut lf)?;
        out.push(body);
    }
    Ok(())
}

/// The files the directory loader would read, with their object ids: symlinks resolved to
/// the file they point at inside the directory (others dropped, as git cannot say what is
/// outside the tree), nested manifests reported.
fn flag_files<'e>(
    entries: &'e [TreeEntry],
    targets: &HashMap<&str, String>,
    diags: &mut Diagnostics,
) -> Vec<(&'e str, &'e str)> {
    let by_path: HashMap<&str, &TreeEntry> = entries.iter().map(|e| (e.path.as_str(), e)).collect();
    let mut out = Vec::new();
    for e in entries {
        if !e.path.ends_with(".toml") || e.path.split('/').any(|c| c.starts_with('.')) {
            continue;
        }
        if e.path != MANIFEST && e.path.ends_with(&format!("/{MANIFEST}")) {
            diags.push(
                Diagnostic::global(
                    Severity::Error,
                    Code::NestedManifest,
                    Some(&e.path),
                    format!("a second `{MANIFEST}` below the top of the flag directory"),
                )
                .with_help("one manifest per flag tree: merge it into the top-level `flagc.toml`"),
            );
            continue;
        }
        let mut at = e;
        let mut hops = 0;
        while at.symlink {
            hops += 1;
            let next = targets
                .get(at.path.as_str())
                .and_then(|t| link_target(&at.path, t))
                .and_then(|t| by_path.get(t.as_str()).copied());
            match next {
                Some(n) if hops <= 40 => at = n,
                Some(_) => {
                    diags.push(Diagnostic::global(
                        Severity::Error,
                        Code::SymlinkLoop,
                        Some(&e.path),
                        format!("symlink loop: `{}` leads back to itself", e.path),
                    ));
                    break;
                }
                None => break,
            }
        }
        if !at.symlink {
            out.push((e.path.as_str(), at.oid.as_str()));
        }
    }
    out
}

/// Where a symlink at `link` with content `target` points, relative to the listed
/// directory; `None` when it leaves it or is absolute.
fn link_target(link: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_targets_stay_inside_the_directory() {
        assert_eq!(
            link_target("a/b.toml", "c.toml").as_deref(),
            Some("a/c.toml")
        );
        assert_eq!(
            link_target("a/b.toml", "../c.toml").as_deref(),
            Some("c.toml")
        );
        assert_eq!(link_target("b.toml", "../c.toml"), None);
        assert_eq!(link_target("b.toml", "/etc/c.toml"), None);
    }

    #[test]
    fn batch_output_is_split_by_sizes() {
        let text = b"aaaa blob 3\nabc\nbbbb blob 0\n\n";
        let mut out = Vec::new();
        read_batch(&text[..], 2, &mut out).expect("parses");
        assert_eq!(out, vec![b"abc".to_vec(), Vec::new()]);
        let mut out = Vec::new();
        assert!(read_batch(&b"cccc missing\n"[..], 1, &mut out).is_err());
    }
}

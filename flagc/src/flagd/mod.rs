//! flagd interoperability (DESIGN §5): flag definitions for flagd and back.
//!
//! * [`export`] turns a checked [`Model`](crate::Model), with its static attributes fixed,
//!   into a flagd flag-definition document whose JSONLogic evaluates exactly as flagc does;
//!   what flagd cannot express exactly is an [`ExportError`] naming the flag, the rule and
//!   the reason, never an approximation.
//! * [`import`] turns a flagd document into a manifest and flag files, translating the
//!   JSONLogic it can translate exactly and reporting the rest with its JSON path.
//!
//! The semantics that must survive the trip, and how the JSONLogic keeps them:
//!
//! * **An unset attribute never matches.** flagd reads a missing variable as `null`, and
//!   JSONLogic coerces `null` to `0` in numeric comparisons and makes `!`/`!=`/`none` true
//!   on it. Every test whose JSONLogic could be truthy on `null` is guarded by
//!   `{"!==": [{"var": a}, null]}` (strict, so that `0`, `""`, `false` and `[]` count as set).
//! * **A rollout without its bucketing attribute falls through.** flagd's `cat` skips `null`,
//!   so a rollout rule's condition also requires the attribute.
//! * **Bucketing** is flagd's `fractional` with the bucketing expression `cat(salt, attr)` and
//!   the weights in units of 0.001 % (which sum to 100 000, the same total flagc uses).
//!
//! **Invariant:** an exported flag evaluates, in flagd, to the value flagc gives it for every
//! context whose values flagd represents exactly (strings, integers within ±2^53, finite
//! floats); the differential test in `flagc/cli/tests/flagd.rs` runs flagd's own evaluator to
//! check it. flagd's JavaScript evaluator hashes UTF-16 code units, so its bucketing agrees
//! with flagc (and flagd's Go evaluator) only for ASCII salts and bucketing values.

mod export;
mod import;

pub use export::{Export, ExportError, Unsupported, export};
pub use import::{Import, ImportIssue, ImportedFile, import};

/// The largest integer a JSON number holds exactly in flagd (`Number.MAX_SAFE_INTEGER`).
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// The `$schema` of flagd flag-definition documents.
pub const FLAGD_SCHEMA: &str = "https://flagd.dev/schema/v0/flags.json";

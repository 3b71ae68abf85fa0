//! `--format json`: exactly one JSON object, `{"diagnostics": [...], "errors": N, "warnings": N}`.
//!
//! `file` is relative to the flag directory; lines and columns are 1-based (columns count
//! characters) and `null` when the diagnostic has no place.

use serde::Serialize;

use super::Report;

#[derive(Serialize)]
struct JsonReport<'a> {
    diagnostics: Vec<JsonDiagnostic<'a>>,
    errors: usize,
    warnings: usize,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    severity: &'static str,
    code: &'static str,
    message: &'a str,
    file: Option<&'a str>,
    line: Option<usize>,
    column: Option<usize>,
    end_line: Option<usize>,
    end_column: Option<usize>,
    help: Option<&'a str>,
}

/// The report as one line of JSON, with a trailing newline.
pub fn json(report: &Report<'_>) -> String {
    let value = JsonReport {
        diagnostics: diagnostics(report),
        errors: report.errors(),
        warnings: report.warnings(),
    };
    // Serializing plain structs of strings and numbers cannot fail.
    let mut out =
        serde_json::to_string(&value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    out.push('\n');
    out
}

/// Just the report's `diagnostics` array, each object as in [`json`] (for `flagc watch`).
pub fn json_diagnostics(report: &Report<'_>) -> serde_json::Value {
    serde_json::to_value(diagnostics(report)).unwrap_or_default()
}

fn diagnostics<'a>(report: &Report<'a>) -> Vec<JsonDiagnostic<'a>> {
    report
        .diagnostics
        .iter()
        .map(|d| {
            let pos = report.sources.position(d);
            JsonDiagnostic {
                severity: d.severity.as_str(),
                code: d.code.as_str(),
                message: &d.message,
                file: d.file.as_deref(),
                line: pos.map(|p| p.line),
                column: pos.map(|p| p.column),
                end_line: pos.map(|p| p.end_line),
                end_column: pos.map(|p| p.end_column),
                help: d.help.as_deref(),
            }
        })
        .collect()
}

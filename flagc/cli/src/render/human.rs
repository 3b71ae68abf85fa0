//! rustc-style output: `error[E0101]: …`, ` --> flags/x.toml:3:7`, the source line with carets,
//! secondary labels, `= help: …`, then a one-line summary.

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};
use flagc::{Diagnostic, Severity};

use super::{Report, clamp_span, plural};

/// Renders every diagnostic and the summary line; `color` adds ANSI styles.
pub fn human(report: &Report<'_>, color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    for d in report.diagnostics {
        out.push_str(&renderer.render(&[group(report, d)]));
        out.push_str("\n\n");
    }
    out.push_str(&summary(report, &renderer));
    out.push('\n');
    out
}

fn level(severity: Severity) -> Level<'static> {
    match severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Note => Level::NOTE,
    }
}

/// One diagnostic as an annotate-snippets group.
fn group<'a>(report: &Report<'a>, d: &'a Diagnostic) -> Group<'a> {
    let title = level(d.severity)
        .primary_title(d.message.as_str())
        .id(d.code.as_str());
    let mut group = Group::with_title(title);
    // Labels that can be drawn in the primary snippet, in their own snippets, or only as text.
    let mut pending: Vec<_> = d.labels.iter().collect();

    let source = d.file.as_deref().and_then(|f| report.sources.get(f));
    match (&d.file, source, &d.span) {
        (Some(file), Some(source), Some(span)) => {
            let (here, elsewhere): (Vec<_>, Vec<_>) =
                pending.into_iter().partition(|l| l.file == *file);
            pending = elsewhere;
            let snippet = Snippet::source(source.text.as_str())
                .path(report.display_path(file))
                .annotation(AnnotationKind::Primary.span(clamp_span(span, &source.text)))
                .annotations(here.into_iter().map(|label| {
                    AnnotationKind::Context
                        .span(clamp_span(&label.span, &source.text))
                        .label(label.message.as_str())
                }));
            group = group.element(snippet);
        }
        (Some(file), _, _) => group = group.element(Origin::path(report.display_path(file))),
        (None, _, _) => {}
    }

    let mut unplaced = Vec::new();
    for label in pending {
        match report.sources.get(&label.file) {
            Some(source) => {
                let span = clamp_span(&label.span, &source.text);
                group = group.element(
                    Snippet::source(source.text.as_str())
                        .path(report.display_path(&label.file))
                        .annotation(
                            AnnotationKind::Context
                                .span(span)
                                .label(label.message.as_str()),
                        ),
                );
            }
            None => unplaced.push(format!(
                "{}: {}",
                report.display_path(&label.file),
                label.message
            )),
        }
    }
    for text in unplaced {
        group = group.element(Level::NOTE.message(text));
    }
    if let Some(help) = &d.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    group
}

/// `error: 3 errors and 1 warning in 2 files` or `checked 17 flags in 3 files: ok`.
fn summary(report: &Report<'_>, renderer: &Renderer) -> String {
    let (errors, warnings) = (report.errors(), report.warnings());
    if errors > 0 {
        let mut text = plural(errors, "error");
        if warnings > 0 {
            text = format!("{text} and {}", plural(warnings, "warning"));
        }
        match report.files_with_problems() {
            0 => {}
            n => text = format!("{text} in {}", plural(n, "file")),
        }
        return renderer.render(&[Group::with_title(Level::ERROR.primary_title(text))]);
    }
    let files = plural(report.sources.files.len(), "file");
    let mut text = match report.flags {
        Some(flags) => format!("checked {} in {files}: ok", plural(flags, "flag")),
        None => format!("checked {files}: ok"),
    };
    if warnings > 0 {
        text = format!("{text} ({})", plural(warnings, "warning"));
    }
    text
}

//! Semantic checks: from parsed files to the typed model.
use crate::diag::Diagnostics;
use crate::model::Model;
use crate::source::Sources;
use crate::CheckOptions;

/// Checks every file and builds the model (`None` when the model could not be built).
pub fn check(sources: &Sources, _options: &CheckOptions, diags: &mut Diagnostics) -> Option<Model> {
    for f in &sources.files {
        crate::parse::parse_file(&f.path, &f.text, diags);
    }
    None
}

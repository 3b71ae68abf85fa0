//! The ingest scenario: 10,000 flags shaped like the scenario flags (a tenth of them with a
//! list of 100 ids), as flagc TOML files in memory and as each peer's document, and each
//! engine's own load from that text.
//!
//! flagc's load is the runtime's: parse every file, check it (JSON Schema, then semantics,
//! then the compiler's lint over every static combination), and compile the IR for the
//! process's statics. The peers' loads are what their SDKs do with a full payload:
//! Unleash deserializes `ClientFeatures` and compiles it into an engine, LaunchDarkly
//! deserializes its flag data, flagd parses its flag definitions.

use std::fmt::Write;

use flagc::Sources;
use flagc::compile::{Statics, compile};
use flagc::ir::{Layout, Program};

use crate::engines::{Documents, Flagd, LaunchDarkly, Unleash};

/// Number of flags.
pub const FLAGS: usize = 10_000;

/// Number of flag files they are spread over (a repository keeps flags in files by team).
pub const FILES: usize = 100;

/// The flag files: the bench's manifest and [`FILES`] files of flags.
pub fn flag_files() -> Vec<(String, String)> {
    let manifest = std::fs::read_to_string(crate::flag_dir().join("flagc.toml"))
        .unwrap_or_else(|e| panic!("bench/flags/flagc.toml: {e}"));
    let mut files = vec![("flagc.toml".to_owned(), manifest)];
    let per_file = FLAGS / FILES;
    for f in 0..FILES {
        let mut text = String::new();
        for i in f * per_file..(f + 1) * per_file {
            flag(&mut text, i);
        }
        files.push((format!("team_{f:03}.toml"), text));
    }
    files
}

/// One flag of the set: the shape of scenario `i % 10`, with its own key and literals.
fn flag(out: &mut String, i: usize) {
    let key = format!("flag_{i:05}");
    let head = |out: &mut String, default: &str| {
        let _ = write!(
            out,
            "\n[{key}]\ndescription = \"Generated flag {i}\"\nowner = \"team-{}\"\n\
             expires = 2099-12-31\ndefault = {default}\n",
            i % FILES
        );
    };
    match i % 10 {
        0 => head(out, "true"),
        1 => {
            head(out, "false");
            let ids: Vec<String> = (0..100)
                .map(|k| format!("\"user-{:05}\"", (i + k * 7) % 100_000))
                .collect();
            let _ = write!(
                out,
                "[[{key}.rules]]\nwhen.user_id = [{}]\nvalue = true\n",
                ids.join(", ")
            );
        }
        2 | 7 => {
            head(out, "false");
            let _ = write!(
                out,
                "[[{key}.rules]]\nwhen = {{ country = [\"US\", \"CA\"], plan = [\"pro\", \"enterprise\"] }}\nvalue = true\n"
            );
        }
        3 => {
            head(out, "false");
            let _ = write!(
                out,
                "[[{key}.rules]]\nwhen = {{ email = {{ starts_with = \"test{i}+\" }} }}\nvalue = true\n"
            );
        }
        4 | 8 => {
            head(out, "false");
            let _ = write!(
                out,
                "[[{key}.rules]]\nwhen = {{ app_version = {{ gt = \"3.{}.0\" }} }}\nvalue = true\n",
                i % 20
            );
        }
        5 | 9 => {
            head(out, "false");
            let _ = write!(
                out,
                "[[{key}.rules]]\nwhen = {{ country = [\"US\", \"CA\", \"MX\"] }}\nvalue = true\n\n\
                 [[{key}.rules]]\nrollout = {}\n",
                1 + i % 99
            );
        }
        _ => {
            let _ = write!(
                out,
                "\n[{key}]\ndescription = \"Generated flag {i}\"\nowner = \"team-{}\"\n\
                 expires = 2099-12-31\nvariants = [\"classic\", \"one_page\", \"wizard\"]\n\
                 default = \"classic\"\n\n[[{key}.rules]]\nwhen = {{ plan = \"enterprise\" }}\n\
                 value = \"wizard\"\n\n[[{key}.rules]]\n\
                 rollout = {{ classic = 34, one_page = 33, wizard = 33 }}\n",
                i % FILES
            );
        }
    }
}

/// flagc's load: parse, check and compile the files, for `env = production`.
pub fn flagc_load(files: &[(String, String)]) -> Program {
    let mut diags = flagc::diag::Diagnostics::new();
    let sources = Sources::from_memory(
        files.iter().map(|(p, t)| (p.as_str(), t.as_bytes())),
        &mut diags,
    );
    let model = crate::check(sources);
    let statics: Statics = crate::statics(&model);
    compile(&model, &statics, &Layout::of(&model.manifest))
}

/// The peers' documents for the 10,000 flags.
pub fn documents(files: &[(String, String)]) -> Documents {
    let mut diags = flagc::diag::Diagnostics::new();
    let sources = Sources::from_memory(
        files.iter().map(|(p, t)| (p.as_str(), t.as_bytes())),
        &mut diags,
    );
    let model = crate::check(sources);
    Documents::translate(&model).unwrap_or_else(|e| panic!("translating 10,000 flags:\n{e}"))
}

/// Unleash's load.
pub fn unleash_load(text: &str) -> Unleash {
    Unleash::load(text).unwrap_or_else(|e| panic!("{e}"))
}

/// LaunchDarkly's load.
pub fn launchdarkly_load(text: &str) -> LaunchDarkly {
    LaunchDarkly::load(text).unwrap_or_else(|e| panic!("{e}"))
}

/// flagd's load.
pub fn flagd_load(text: &str) -> Flagd {
    Flagd::load(text).unwrap_or_else(|e| panic!("{e}"))
}

//! Writes a flag directory with N flags (default 1,000): `cargo run -p flagc-accessor-tests
//! --example thousand_flags -- DIR [N]`. Used to measure what expanding `flags!` costs a
//! build (see BENCHMARKS.md); the benchmark `expand` makes the same directory.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: thousand_flags DIR [N]");
        return ExitCode::from(2);
    };
    let n = args.next().and_then(|s| s.parse().ok()).unwrap_or(1_000);
    match flagc_accessor_tests::many_flags::write(&dir, n) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cannot write {}: {e}", dir.display());
            ExitCode::from(2)
        }
    }
}

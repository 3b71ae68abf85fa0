//! The `flagc` binary: everything lives in the `flagc_cli` library.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    flagc_cli::run()
}

//! The `flagc` command line, built with this package so that its tests can run it.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    flagc_cli::run()
}

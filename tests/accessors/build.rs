//! Re-expand `flags!` when a file is added to a flag directory (cargo scans a directory's
//! entries recursively); edits and deletions are tracked by the expansion itself.
fn main() {
    println!("cargo:rerun-if-changed=flags");
    println!("cargo:rerun-if-changed=../../examples/flags");
}

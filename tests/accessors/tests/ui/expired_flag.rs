// Expired flags are `#[deprecated]`: a warning at every call site, an error under
// `deny(deprecated)` (or `-D warnings` in CI).
#![deny(deprecated)]

flags_macros::flags!("ui/flags/expired");

fn main() {
    let flags = flags::load(flags::DIR, flags::Statics { env: flags::Env::Production }).unwrap();
    let ctx = flags::Context::new();
    if flags.old_banner(&ctx) && !flags.dark_mode(&ctx) {
        println!("banner");
    }
}

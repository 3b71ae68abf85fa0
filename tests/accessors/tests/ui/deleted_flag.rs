// `legacy_search` was deleted from the flag files; the code that still asks for it must not build.
flags_macros::flags!("ui/flags/basic");

fn main() {
    let flags = flags::load(flags::DIR, flags::Statics { env: flags::Env::Production }).unwrap();
    let ctx = flags::Context::new();
    if flags.legacy_search(&ctx) {
        println!("old search");
    }
}

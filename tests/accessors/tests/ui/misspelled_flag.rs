flags_macros::flags!("ui/flags/basic");

fn main() {
    let flags = flags::load(flags::DIR, flags::Statics { env: flags::Env::Production }).unwrap();
    let ctx = flags::Context::new().user_id("u-1");
    if flags.dark_mod(&ctx) {
        println!("dark");
    }
}

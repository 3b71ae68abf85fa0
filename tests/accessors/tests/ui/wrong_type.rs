flags_macros::flags!("ui/flags/basic", env = "production");

fn main() {
    let flags = flags::load("", flags::Statics { env: flags::Env::Production }).unwrap();
    let ctx = flags::Context::new();
    let size: u32 = flags.page_size(&ctx);
    if flags.checkout_layout(&ctx) {
        println!("{size}");
    }
}

// A static value the manifest does not list: the error points at it, and the module (in
// dynamic mode, which has the same items) is still there for the rest of the code.
flags_macros::flags!("ui/flags/basic", env = "prodution");

fn main() {
    let flags = flags::load("", flags::Statics { env: flags::Env::Production }).unwrap();
    println!("{}", flags.page_size(&flags::Context::new()));
}

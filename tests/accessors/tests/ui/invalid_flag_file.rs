// Errors in the flag files point at the file, line and column; the code using the module sees
// no follow-on errors (every item is still there).
flags_macros::flags!("ui/flags/invalid");

fn main() {
    let flags = flags::load(flags::DIR, flags::Statics { env: flags::Env::Production }).unwrap();
    let ctx = flags::Context::new().user_id("u-1").plan(flags::Plan::Pro);
    let layout = match flags.checkout_layout(&ctx) {
        flags::CheckoutLayout::Classic => "classic",
        flags::CheckoutLayout::OnePage => "one page",
    };
    if flags.dark_mode(&ctx) {
        println!("{layout}");
    }
    flags::Overrides { dark_mode: Some(true), ..Default::default() }.apply(&mut flags.clone());
}

flags_macros::flags!("ui/flags/basic");

fn main() {
    let flags = flags::load(flags::DIR, flags::Statics { env: flags::Env::Production }).unwrap();
    let ctx = flags::Context::new().plan(flags::Plan::Pro);
    // A variant added to the flag file is a compile error wherever the flag is matched.
    let page = match flags.checkout_layout(&ctx) {
        flags::CheckoutLayout::Classic => "cart",
        flags::CheckoutLayout::OnePage => "checkout",
    };
    println!("{page}");
}

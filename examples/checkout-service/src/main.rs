//! An example checkout service: the same flags through both generated modes.
//!
//! `cargo run -p checkout-service` loads `examples/flags` at startup (dynamic mode) and
//! compares every answer with the copy compiled for production in the EU (static mode).

/// Dynamic mode: flags read from the directory at run time.
mod live {
    flags_macros::flags!("../flags");
}

/// Static mode: compiled for production in the EU; no files at run time.
mod prod_eu {
    flags_macros::flags!("../flags", env = "production", region = "eu");
}

use live::flags;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| flags::DIR.to_owned());
    let statics = flags::Statics {
        env: flags::Env::Production,
        region: flags::Region::Eu,
    };
    let live = flags::load(&dir, statics)?;
    let compiled = prod_eu::flags::load(
        "",
        prod_eu::flags::Statics {
            env: prod_eu::flags::Env::Production,
            region: prod_eu::flags::Region::Eu,
        },
    )?;

    let shopper = flags::Context::new()
        .user_id("u-1042")
        .email("ana@example.org")
        .country("DE")
        .plan(flags::Plan::Plus)
        .platform(flags::Platform::Ios)
        .app_version("4.2.0")?
        .cart_total(79.5)
        .groups(["beta"]);
    let same = prod_eu::flags::Context::new()
        .user_id("u-1042")
        .email("ana@example.org")
        .country("DE")
        .plan(prod_eu::flags::Plan::Plus)
        .platform(prod_eu::flags::Platform::Ios)
        .app_version("4.2.0")?
        .cart_total(79.5)
        .groups(["beta"]);

    let status = live.rt.status();
    println!(
        "flags generation {} from {:?}",
        status.generation, status.origin
    );
    println!(
        "one_page_checkout        {:>8} (static: {})",
        live.one_page_checkout(&shopper),
        compiled.one_page_checkout(&same)
    );
    println!(
        "checkout_layout          {:>8} (static: {})",
        live.checkout_layout(&shopper),
        compiled.checkout_layout(&same)
    );
    println!(
        "free_shipping_threshold  {:>8} (static: {})",
        live.free_shipping_threshold(&shopper),
        compiled.free_shipping_threshold(&same)
    );
    println!(
        "search_page_size         {:>8} (static: {})",
        live.search_page_size(&shopper),
        compiled.search_page_size(&same)
    );
    Ok(())
}

//! An example checkout service: the same flags through both generated modes.
//!
//! `cargo run -p checkout-service [DIR]` loads `examples/flags` (or DIR) at startup (dynamic
//! mode) and answers every question a second time from the copy compiled for production in
//! the EU (static mode), which needs no files at run time. The two must agree.
//!
//! With `--watch` it then keeps running and hot-reloads the directory, printing what changed
//! and its answers after every reload (and `--overrides FILE` adds a break-glass file).

/// Dynamic mode: flags read from the directory at run time (and reloadable).
mod live {
    flags_macros::flags!("../flags");
}

/// Static mode: compiled for production in the EU; no files at run time.
mod prod_eu {
    flags_macros::flags!("../flags", env = "production", region = "eu");
}

use flagc::runtime::{Origin, Reload};
use flagc::watch::WatchOptions;
use live::flags;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut dir, mut watching, mut overrides) = (None, false, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--watch" => watching = true,
            "--overrides" => overrides = args.next(),
            _ => dir = Some(arg),
        }
    }
    let dir = dir.unwrap_or_else(|| flags::DIR.to_owned());
    let statics = flags::Statics {
        env: flags::Env::Production,
        region: flags::Region::Eu,
    };
    // A missing or invalid directory is an error: this service refuses to start rather
    // than serve the copy embedded at build time (`flags::embedded`), which may re-enable a
    // feature switched off since.
    let live = flags::load(&dir, statics)?;
    let compiled = prod_eu::flags::load(
        "",
        prod_eu::flags::Statics {
            env: prod_eu::flags::Env::Production,
            region: prod_eu::flags::Region::Eu,
        },
    )?;

    // Setters take natural Rust types; versions and dates are validated here.
    let shopper = flags::Context::new()
        .user_id("u-1042")
        .email("ana@example.org")
        .country("DE")
        .plan(flags::Plan::Business)
        .platform(flags::Platform::Ios)
        .app_version("4.2.0")?
        .cart_total(79.5)
        .risk_score(0.05)
        .groups(["beta"]);
    let same = prod_eu::flags::Context::new()
        .user_id("u-1042")
        .email("ana@example.org")
        .country("DE")
        .plan(prod_eu::flags::Plan::Business)
        .platform(prod_eu::flags::Platform::Ios)
        .app_version("4.2.0")?
        .cart_total(79.5)
        .risk_score(0.05)
        .groups(["beta"]);
    if let Err(e) = flags::Context::new().app_version("4.2") {
        println!("rejected context value: {e}");
    }

    let status = live.rt.status();
    println!(
        "flags generation {} (content {}) from {}",
        status.generation,
        status.hash,
        match &status.origin {
            Origin::Directory(p) => p.display().to_string(),
            Origin::Embedded => "the embedded copy".to_owned(),
        }
    );
    let mut disagreements = 0;
    let mut show = |name: &str, dynamic: String, fixed: String| {
        let mark = if dynamic == fixed {
            ""
        } else {
            disagreements += 1;
            "  <- modes disagree"
        };
        println!("{name:<28} {dynamic:<25} static: {fixed}{mark}");
    };
    show(
        "one_page_checkout",
        live.one_page_checkout(&shopper).to_string(),
        compiled.one_page_checkout(&same).to_string(),
    );
    show(
        "checkout_layout",
        live.checkout_layout(&shopper).to_string(),
        compiled.checkout_layout(&same).to_string(),
    );
    show(
        "apple_pay",
        live.apple_pay(&shopper).to_string(),
        compiled.apple_pay(&same).to_string(),
    );
    show(
        "three_ds_mode",
        live.three_ds_mode(&shopper).to_string(),
        compiled.three_ds_mode(&same).to_string(),
    );
    show(
        "free_shipping_threshold",
        live.free_shipping_threshold(&shopper).to_string(),
        compiled.free_shipping_threshold(&same).to_string(),
    );
    show(
        "max_cart_items",
        live.max_cart_items(&shopper).to_string(),
        compiled.max_cart_items(&same).to_string(),
    );
    show(
        "order_confirmation_template",
        live.order_confirmation_template(&shopper).to_string(),
        compiled.order_confirmation_template(&same).to_string(),
    );
    show(
        "search_ranking_model",
        live.search_ranking_model(&shopper).to_string(),
        compiled.search_ranking_model(&same).to_string(),
    );
    // Lookups by key, for tools and flags added after the build.
    println!(
        "lookup(\"search_page_size\")  {:?}",
        live.rt.lookup("search_page_size", &shopper)
    );
    if disagreements > 0 {
        return Err(format!("{disagreements} flags differ between the modes").into());
    }
    if watching {
        watch(&live, &shopper, overrides)?;
    }
    Ok(())
}

/// Hot reload: after every reload attempt, what happened and the answers now. Runs until
/// interrupted.
fn watch(
    live: &flags::Flags,
    shopper: &flags::Context,
    overrides: Option<String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut options = WatchOptions::default();
    if let Some(file) = overrides {
        options = options.overrides(file);
    }
    let events = live.rt.subscribe();
    let _watching = live.rt.watch(options)?;
    println!("watching for changes (Ctrl-C to stop)");
    for event in events {
        match &event.outcome {
            Reload::Swapped {
                generation,
                changed,
            } => println!(
                "generation {generation}: changed {} (reloaded in {} ms)",
                changed.join(", "),
                event.elapsed.as_millis()
            ),
            Reload::Rejected(error) => println!(
                "rejected, still serving generation {}: {}",
                event.generation,
                error.to_string().replace('\n', "\n  ")
            ),
            Reload::Unchanged => {
                println!("valid again, still serving generation {}", event.generation)
            }
        }
        for kept in &event.kept {
            println!("  warning: {kept}");
        }
        for o in live.rt.break_glass().active {
            println!(
                "  break glass: {} = {} ({})",
                o.key,
                o.value_json(),
                o.reason.as_deref().unwrap_or("no reason given")
            );
        }
        println!(
            "  one_page_checkout {}, max_cart_items {}, search_page_size {}",
            live.one_page_checkout(shopper),
            live.max_cart_items(shopper),
            live.search_page_size(shopper)
        );
    }
    Ok(())
}

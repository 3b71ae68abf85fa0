//! `flags!("flags")`: typed accessors for a flagc flag directory.
//!
//! A thin layer over `flagc::codegen`: it reads and checks the directory (path relative to
//! `CARGO_MANIFEST_DIR`), turns every error into a `compile_error!` carrying the flag file's
//! `path:line:col`, and otherwise emits the generated `flags` module. With static attributes
//! in the call (`flags!("flags", env = "production")`) it generates static mode; a manifest
//! without static attributes selects static mode with a bare `static`
//! (`flags!("flags", static)`).
//!
//! ```ignore
//! flags_macros::flags!("flags");
//!
//! let flags = flags::load(flags::DIR, flags::Statics { env: flags::Env::Production })?;
//! let ctx = flags::Context::new().user_id("u-42");
//! if flags.new_checkout(&ctx) { /* … */ }
//! ```
//!
//! Cargo re-runs the macro when a flag file it read changes or disappears (the expansion
//! `include_str!`s each one). A file *added* to the directory is only noticed with a build
//! script that watches the directory: `println!("cargo:rerun-if-changed=flags");` (`flagc
//! init` writes one).
//!
//! **Invariant:** the macro never panics and, on any error, still emits the `flags` module's
//! items (`flagc::codegen::fallback`), so the user sees the real errors only.
#![forbid(unsafe_code)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Token};

struct Input {
    dir: LitStr,
    /// A bare `static` was given: static mode even without static values.
    static_mode: bool,
    statics: Vec<(syn::Ident, LitStr)>,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let dir: LitStr = input.parse()?;
        let mut statics = Vec::new();
        let mut static_mode = false;
        while input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            if input.peek(Token![static]) && !input.peek2(Token![=]) {
                input.parse::<Token![static]>()?;
                static_mode = true;
                continue;
            }
            let key: syn::Ident = input.call(syn::ext::IdentExt::parse_any)?;
            input.parse::<Token![=]>()?;
            let value: LitStr = input.parse()?;
            if statics
                .iter()
                .any(|(k, _): &(syn::Ident, LitStr)| *k == key)
            {
                return Err(syn::Error::new(
                    key.span(),
                    format!("static attribute `{key}` is given twice"),
                ));
            }
            statics.push((key, value));
        }
        if !input.is_empty() {
            return Err(input.error(
                "expected `, name = \"value\"` (a static attribute) or `, static` after the flag directory",
            ));
        }
        Ok(Input {
            dir,
            static_mode: static_mode || !statics.is_empty(),
            statics,
        })
    }
}

/// Generates the `flags` module for a flag directory; see the crate documentation.
#[proc_macro]
pub fn flags(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as Input);
    // The pipeline never panics by design; should it ever, the user gets an error, not an
    // aborted build.
    catch_unwind(AssertUnwindSafe(|| expand(&input)))
        .unwrap_or_else(|_| {
            Err(syn::Error::new(
                input.dir.span(),
                "internal error in `flags!` (a bug in flagc: please report it with the flag directory)",
            ))
        })
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

fn expand(input: &Input) -> syn::Result<TokenStream> {
    let span = input.dir.span();
    let rel = input.dir.value();
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").map_err(|_| {
        syn::Error::new(
            span,
            "CARGO_MANIFEST_DIR is not set: `flags!` must be built by cargo",
        )
    })?;
    let dir = PathBuf::from(&manifest_dir).join(&rel);
    let empty = flagc::Sources::default();
    let checked = match flagc::check_dir_for_build(&dir, &flagc::CheckOptions::default()) {
        Ok(c) => c,
        Err(e) => {
            let error = syn::Error::new(
                span,
                format!(
                    "cannot read flag directory `{rel}`: {}\n\
                     = help: the path is relative to the crate root (the directory of its Cargo.toml)",
                    io_reason(&e)
                ),
            )
            .into_compile_error();
            let fallback = flagc::codegen::fallback(&empty, &rel, input.static_mode);
            return Ok(quote! { #error #fallback });
        }
    };
    let Some(model) = &checked.model else {
        return Ok(errors(&rel, &checked, span, input.static_mode));
    };
    let options = flagc::codegen::Options {
        dir: rel.clone(),
        statics: input.static_mode.then(|| {
            input
                .statics
                .iter()
                .map(|(k, v)| (k.to_string(), v.value()))
                .collect()
        }),
        today: flagc::check::today_utc(),
    };
    match flagc::codegen::generate(model, &checked.sources, &options) {
        Ok(tokens) => Ok(tokens),
        Err(diags) => {
            // The static values do not fit the manifest: report each at the value or name it
            // is about, and emit the dynamic module, which has the same items.
            let errors = diags.iter().map(|d| {
                let at = static_span(input, &d.message).unwrap_or(span);
                let msg = match &d.help {
                    Some(h) => format!("{}\n= help: {h}", d.message),
                    None => d.message.clone(),
                };
                syn::Error::new(at, msg).into_compile_error()
            });
            let dynamic = flagc::codegen::Options {
                statics: None,
                ..options.clone()
            };
            let module = flagc::codegen::generate(model, &checked.sources, &dynamic)
                .unwrap_or_else(|_| flagc::codegen::fallback(&checked.sources, &rel, true));
            Ok(quote! { #(#errors)* #module })
        }
    }
}

/// The span of the static attribute or value a message is about (messages quote the name in
/// backticks and the value in double quotes).
fn static_span(input: &Input, message: &str) -> Option<Span> {
    input.statics.iter().find_map(|(k, v)| {
        if message.contains(&format!("{:?}", v.value())) {
            Some(v.span())
        } else if message.contains(&format!("`{k}`")) {
            Some(k.span())
        } else {
            None
        }
    })
}

/// An I/O error's text without Rust's ` (os error N)` suffix.
fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_owned(),
        _ => text,
    }
}

/// `compile_error!`s for every error, plus the module's items so that the user's code sees
/// only these errors.
fn errors(rel: &str, checked: &flagc::Checked, span: Span, static_mode: bool) -> TokenStream {
    let messages = checked
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| syn::Error::new(span, describe(rel, checked, d)).into_compile_error());
    let fallback = flagc::codegen::fallback(&checked.sources, rel, static_mode);
    quote! { #(#messages)* #fallback }
}

/// `dir/file:line:col: message [CODE]`, the offending line with the place underlined, and
/// the help, in the shape of rustc's own messages.
fn describe(rel: &str, checked: &flagc::Checked, d: &flagc::Diagnostic) -> String {
    let base = rel.trim_end_matches('/');
    let file = d.file.as_deref().and_then(|f| checked.sources.get(f));
    let mut text = match (&d.file, checked.sources.position(d)) {
        (Some(name), Some(p)) => format!(
            "{base}/{name}:{}:{}: {} [{}]",
            p.line, p.column, d.message, d.code
        ),
        (Some(name), None) => format!("{base}/{name}: {} [{}]", d.message, d.code),
        (None, _) => format!("{base}: {} [{}]", d.message, d.code),
    };
    if let (Some(file), Some(p)) = (file, checked.sources.position(d)) {
        let line = file.line_text(p.line);
        let number = p.line.to_string();
        let pad = " ".repeat(number.len());
        let width = line.chars().count();
        let start = p.column.saturating_sub(1).min(width);
        let end = if p.end_line == p.line {
            p.end_column.saturating_sub(1).min(width)
        } else {
            width
        };
        let marks = "^".repeat(end.saturating_sub(start).max(1));
        text.push_str(&format!(
            "\n{pad} |\n{number} | {line}\n{pad} | {}{marks}",
            " ".repeat(start)
        ));
    }
    if let Some(h) = &d.help {
        text.push_str("\n= help: ");
        text.push_str(h);
    }
    text
}

//! `flags!("flags")`: typed accessors for a flagc flag directory.
//!
//! A thin layer over `flagc::codegen`: it reads and checks the directory (path relative to
//! `CARGO_MANIFEST_DIR`), turns every error into a `compile_error!` carrying the flag file's
//! `path:line:col`, and otherwise emits the generated `flags` module. With static attributes
//! in the call (`flags!("flags", env = "production")`) it generates static mode.
//!
//! ```ignore
//! flags_macros::flags!("flags");
//!
//! let flags = flags::load(flags::DIR, flags::Statics { env: flags::Env::Production })?;
//! let ctx = flags::Context::new().user_id("u-42");
//! if flags.new_checkout(&ctx) { /* … */ }
//! ```
#![forbid(unsafe_code)]

use std::path::PathBuf;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Token};

struct Input {
    dir: LitStr,
    statics: Vec<(syn::Ident, LitStr)>,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let dir: LitStr = input.parse()?;
        let mut statics = Vec::new();
        while input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
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
        Ok(Input { dir, statics })
    }
}

/// Generates the `flags` module for a flag directory; see the crate documentation.
#[proc_macro]
pub fn flags(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as Input);
    expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

fn expand(input: &Input) -> syn::Result<TokenStream> {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").map_err(|_| {
        syn::Error::new(
            input.dir.span(),
            "CARGO_MANIFEST_DIR is not set: `flags!` must be built by cargo",
        )
    })?;
    let rel = input.dir.value();
    let dir = PathBuf::from(&manifest_dir).join(&rel);
    let options = flagc::CheckOptions::default();
    let checked = flagc::check_dir(&dir, &options).map_err(|e| {
        syn::Error::new(
            input.dir.span(),
            format!("cannot read flag directory `{}`: {e}", dir.display()),
        )
    })?;
    let span = input.dir.span();
    let Some(model) = &checked.model else {
        return Ok(errors(&rel, &checked, span));
    };
    let codegen_options = flagc::codegen::Options {
        dir: rel.clone(),
        // Static attributes in the call select static mode.
        statics: (!input.statics.is_empty()).then(|| {
            input
                .statics
                .iter()
                .map(|(k, v)| (k.to_string(), v.value()))
                .collect()
        }),
        today: flagc::check::today_utc(),
    };
    match flagc::codegen::generate(model, &checked.sources, &codegen_options) {
        Ok(tokens) => Ok(tokens),
        Err(diags) => {
            let mut err: Option<syn::Error> = None;
            for d in diags {
                let msg = match &d.help {
                    Some(h) => format!("{}\nhelp: {h}", d.message),
                    None => d.message.clone(),
                };
                let e = syn::Error::new(span, msg);
                match &mut err {
                    Some(all) => all.combine(e),
                    None => err = Some(e),
                }
            }
            Err(err.unwrap_or_else(|| syn::Error::new(span, "invalid static attributes")))
        }
    }
}

/// `compile_error!`s for every error, plus the module's items so that the user's code sees
/// only these errors.
fn errors(rel: &str, checked: &flagc::Checked, span: Span) -> TokenStream {
    let rel = rel.trim_end_matches('/');
    let messages = checked
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let mut text = match (&d.file, checked.sources.position(d)) {
                (Some(file), Some(p)) => format!(
                    "{rel}/{file}:{}:{}: error[{}]: {}",
                    p.line, p.column, d.code, d.message
                ),
                (Some(file), None) => format!("{rel}/{file}: error[{}]: {}", d.code, d.message),
                (None, _) => format!("{rel}: error[{}]: {}", d.code, d.message),
            };
            if let Some(h) = &d.help {
                text.push_str("\nhelp: ");
                text.push_str(h);
            }
            syn::Error::new(span, text).into_compile_error()
        });
    let (keys, attrs) = names(checked);
    let fallback = flagc::codegen::fallback(&keys, &attrs);
    quote! { #(#messages)* #fallback }
}

/// Flag keys and context attribute names found in whatever parsed, for the fallback items.
fn names(checked: &flagc::Checked) -> (Vec<String>, Vec<String>) {
    let mut keys = Vec::new();
    let mut attrs = Vec::new();
    let mut sink = flagc::diag::Diagnostics::new();
    for f in &checked.sources.files {
        let parsed = flagc::parse::parse_file(&f.path, &f.text, &mut sink);
        let Some(table) = parsed.root.as_table() else {
            continue;
        };
        if f.is_manifest() {
            if let Some(ctx) = parsed.root.get("context").and_then(|c| c.as_table()) {
                attrs.extend(ctx.iter().map(|(k, _)| k.name.clone()));
            }
        } else {
            keys.extend(table.iter().map(|(k, _)| k.name.clone()));
        }
    }
    (keys, attrs)
}

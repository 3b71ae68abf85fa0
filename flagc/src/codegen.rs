//! Rust code generation: the module that `flags!` expands to and `flagc generate` prints.
//!
//! Two modes, one API. In **dynamic** mode the accessors read the runtime's live snapshot
//! (one atomic load) and evaluate its compiled IR. In **static** mode the static attributes
//! are fixed at build time and every flag becomes plain Rust over the `Context` fields,
//! compiled from the same IR, so both modes return the same values.
//!
//! **Invariant:** generated names never collide. Context fields and setters are the
//! attributes' names; `Flags` methods are the flag keys and nothing else (the runtime is the
//! `rt` field, a separate namespace); module-level functions are snake_case and types are
//! UpperCamelCase, allocated by [`Names`] with a suffix when two would clash.
//!
//! **Invariant:** the output is deterministic: it depends only on the model, the options
//! and the files' relative paths (paths are built from `CARGO_MANIFEST_DIR` at compile time).

use std::collections::BTreeSet;

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use crate::compile::{Statics, compile};
use crate::diag::Diagnostic;
use crate::ir::{
    BucketKey, CompiledFlag, CompiledOutcome, Cond, Layout, Pred, StrPred, Test, Value,
};
use crate::model::{AttrType, CmpOp, Date, Flag, FlagType, FlagValue, Model, type_ident};
use crate::source::Sources;

mod fallback;
mod pattern;

/// How to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// The flag directory as written in the macro call, relative to `CARGO_MANIFEST_DIR`.
    pub dir: String,
    /// `None` for dynamic mode; the static attributes' values for static mode.
    pub statics: Option<Vec<(String, String)>>,
    /// Today's date, for `#[deprecated]` on expired flags.
    pub today: Date,
}

/// Generates the `flags` module. Errors are static values that do not fit the manifest.
pub fn generate(
    model: &Model,
    sources: &Sources,
    options: &Options,
) -> Result<TokenStream, Vec<Diagnostic>> {
    let static_values = match &options.statics {
        None => None,
        Some(pairs) => Some(
            Statics::from_pairs(
                &model.manifest,
                pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .map_err(|errs| errs.iter().map(|e| e.to_diagnostic()).collect::<Vec<_>>())?,
        ),
    };
    let g = Gen {
        model,
        sources,
        options,
        names: Names::new(model),
        strs: Default::default(),
    };
    Ok(g.module(static_values.as_ref()))
}

pub use fallback::fallback;

/// `concat!(env!("CARGO_MANIFEST_DIR"), "/dir/file")`; an absolute `dir` is used as it is.
fn path_expr(dir: &str, file: &str) -> TokenStream {
    let dir = dir.trim_end_matches('/');
    let tail = if file.is_empty() {
        String::new()
    } else {
        format!("/{file}")
    };
    if std::path::Path::new(dir).is_absolute() {
        let path = format!("{dir}{tail}");
        return quote!(#path);
    }
    let rel = if dir.is_empty() || dir == "." {
        tail
    } else {
        format!("/{dir}{tail}")
    };
    quote! { ::core::concat!(::core::env!("CARGO_MANIFEST_DIR"), #rel) }
}

fn is_ident(s: &str) -> bool {
    syn_like_ident(s) && !crate::check::RUST_KEYWORDS.contains(&s)
}

fn syn_like_ident(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// Rust type names for the generated enums, allocated without collisions.
#[derive(Debug, Clone)]
pub struct Names {
    /// One per static attribute.
    pub statics: Vec<Ident>,
    /// One per context attribute that is an enum.
    pub attrs: Vec<Option<Ident>>,
    /// One per flag that is an enum.
    pub flags: Vec<Option<Ident>>,
}

impl Names {
    /// Allocates the names: statics, then enum attributes, then enum flags, each taking its
    /// UpperCamelCase name unless it is taken, else with a `Static`/`Attr`/`Flag` suffix
    /// (and a number if that is taken too).
    pub fn new(model: &Model) -> Names {
        Names::allocate(
            model.manifest.statics.iter().map(|s| s.name.as_str()),
            model
                .manifest
                .context
                .iter()
                .map(|a| (a.name.as_str(), matches!(a.ty, AttrType::Enum(_)))),
            model
                .flags
                .iter()
                .map(|f| (f.key.as_str(), matches!(f.ty, FlagType::Enum(_)))),
        )
    }

    /// [`Names::new`] from the names alone: static attributes, then context attributes and
    /// flags with whether each is an enum. Names must be ASCII identifiers.
    pub fn allocate<'a>(
        statics: impl IntoIterator<Item = &'a str>,
        attrs: impl IntoIterator<Item = (&'a str, bool)>,
        flags: impl IntoIterator<Item = (&'a str, bool)>,
    ) -> Names {
        let mut taken: BTreeSet<String> = RESERVED_TYPES.iter().map(|s| (*s).to_owned()).collect();
        let mut take = |base: String, suffix: &str| -> Ident {
            let mut name = base.clone();
            if taken.contains(&name) {
                name = format!("{base}{suffix}");
            }
            let mut n = 2;
            while taken.contains(&name) {
                name = format!("{base}{suffix}{n}");
                n += 1;
            }
            taken.insert(name.clone());
            format_ident!("{}", name)
        };
        let statics = statics
            .into_iter()
            .map(|s| take(type_ident(s), "Static"))
            .collect();
        let attrs = attrs
            .into_iter()
            .map(|(a, is_enum)| is_enum.then(|| take(type_ident(a), "Attr")))
            .collect();
        let flags = flags
            .into_iter()
            .map(|(f, is_enum)| is_enum.then(|| take(type_ident(f), "Flag")))
            .collect();
        Names {
            statics,
            attrs,
            flags,
        }
    }
}

/// Type and constant names the module defines itself, which enums never take.
const RESERVED_TYPES: &[&str] = &[
    "Flags",
    "Context",
    "Statics",
    "Overrides",
    "StaticRuntime",
    "DIR",
    "EMBEDDED",
];

/// The Rust variant name for an enum value (`Self` is a keyword, so it gets a `_`).
pub fn variant_ident(value: &str) -> Ident {
    let name = type_ident(value);
    if name == "Self" {
        format_ident!("Self_")
    } else {
        format_ident!("{}", name)
    }
}

struct Gen<'a> {
    model: &'a Model,
    sources: &'a Sources,
    options: &'a Options,
    names: Names,
    /// Static mode's string values, each once: one `static` table for the module rather
    /// than a `static` per value (each item is work for rustc).
    strs: std::cell::RefCell<std::collections::BTreeMap<String, usize>>,
}

impl Gen<'_> {
    fn module(&self, statics: Option<&Statics>) -> TokenStream {
        let m = &self.model.manifest;
        let static_enums = m.statics.iter().zip(&self.names.statics).map(|(s, name)| {
            enum_items(
                name,
                &s.values,
                &format!("Values of the static attribute `{}`.", s.name),
                true,
            )
        });
        let attr_enums = m
            .context
            .iter()
            .zip(&self.names.attrs)
            .filter_map(|(a, name)| match (&a.ty, name) {
                (AttrType::Enum(values), Some(name)) => Some(enum_items(
                    name,
                    values,
                    &format!("Values of the context attribute `{}`.", a.name),
                    true,
                )),
                _ => None,
            });
        let flag_enums = self
            .model
            .flags
            .iter()
            .zip(&self.names.flags)
            .filter_map(|(f, name)| match (&f.ty, name) {
                (FlagType::Enum(values), Some(name)) => Some(enum_items(
                    name,
                    values,
                    &format!("Variants of the flag `{}`.", f.key),
                    false,
                )),
                _ => None,
            });
        let context = self.context();
        let statics_struct = self.statics_struct();
        let overrides = self.overrides(statics.is_some());
        let flags = match statics {
            None => self.dynamic_flags(),
            Some(st) => self.static_flags(st),
        };
        let tracking = self.tracking(statics.is_some());
        let doc = match statics {
            None => format!(
                " Typed accessors for the flags in `{}` (dynamic mode: read from the flag directory at run time).",
                self.options.dir
            ),
            Some(st) => format!(
                " Typed accessors for the flags in `{}`, compiled for {} (static mode: no files at run time).",
                self.options.dir,
                st.describe(m)
            ),
        };
        quote! {
            #[doc = #doc]
            #[allow(dead_code, unused_imports, unused_parens, unreachable_patterns, non_camel_case_types, clippy::all, clippy::pedantic)]
            pub mod flags {
                #tracking
                #(#static_enums)*
                #(#attr_enums)*
                #(#flag_enums)*
                #context
                #statics_struct
                #overrides
                #flags
            }
        }
    }

    /// `concat!(env!("CARGO_MANIFEST_DIR"), "/dir/file")` for a file of the directory (the
    /// directory itself for an empty `file`); an absolute directory is used as it is.
    fn path_expr(&self, file: &str) -> TokenStream {
        path_expr(&self.options.dir, file)
    }

    fn tracking(&self, static_mode: bool) -> TokenStream {
        let embedded = self.sources.files.iter().map(|f| {
            let rel = &f.path;
            let path = self.path_expr(&f.path);
            quote! { (#rel, ::core::include_str!(#path)) }
        });
        let dir = self.path_expr("");
        let mode_note = if static_mode {
            " The flag files, embedded so that cargo rebuilds when they change."
        } else {
            " The flag files as they were at build time (see [`embedded`])."
        };
        quote! {
            /// The flag directory: the path given to `flags!`, joined to the crate root at build time.
            pub const DIR: &str = #dir;
            #[doc = #mode_note]
            pub const EMBEDDED: &[(&str, &str)] = &[#(#embedded),*];
            // Rebuild when the reproducible-build date changes (it decides deprecations).
            const _: ::core::option::Option<&str> = ::core::option_env!("SOURCE_DATE_EPOCH");
        }
    }

    fn attr_rust_type(&self, i: usize) -> TokenStream {
        let a = &self.model.manifest.context[i];
        match &a.ty {
            AttrType::String => quote!(::std::string::String),
            AttrType::Int => quote!(i64),
            AttrType::Float => quote!(f64),
            AttrType::Bool => quote!(bool),
            AttrType::Semver => quote!(::flagc::runtime::__private::semver::Version),
            AttrType::Datetime => quote!(::flagc::runtime::__private::jiff::Timestamp),
            AttrType::StringList => quote!(::std::vec::Vec<::std::string::String>),
            AttrType::Enum(_) => {
                let n = self.names.attrs[i]
                    .clone()
                    .unwrap_or_else(|| format_ident!("String"));
                quote!(#n)
            }
        }
    }

    fn context(&self) -> TokenStream {
        let m = &self.model.manifest;
        let fields = m.context.iter().enumerate().map(|(i, a)| {
            let name = format_ident!("{}", a.name);
            let ty = self.attr_rust_type(i);
            let doc = format!(
                " `{}` ({}); `None` means unset: no condition on it matches.",
                a.name,
                describe_attr_type(&a.ty)
            );
            quote! { #[doc = #doc] pub #name: ::core::option::Option<#ty>, }
        });
        let setters = m.context.iter().enumerate().map(|(i, a)| {
            let name = format_ident!("{}", a.name);
            let ty = self.attr_rust_type(i);
            let doc = format!(" Sets `{}`.", a.name);
            match &a.ty {
                AttrType::String => quote! {
                    #[doc = #doc] #[must_use]
                    pub fn #name(mut self, value: impl ::core::convert::Into<::std::string::String>) -> Self { self.#name = Some(value.into()); self }
                },
                AttrType::StringList => quote! {
                    #[doc = #doc] #[must_use]
                    pub fn #name<I: ::core::iter::IntoIterator<Item = S>, S: ::core::convert::Into<::std::string::String>>(mut self, values: I) -> Self {
                        self.#name = Some(values.into_iter().map(::core::convert::Into::into).collect()); self
                    }
                },
                AttrType::Semver => quote! {
                    #[doc = #doc]
                    /// A string is validated here: an invalid version is an error, never a panic.
                    pub fn #name(mut self, value: impl ::flagc::runtime::IntoSemver) -> ::core::result::Result<Self, ::flagc::runtime::ValueError> {
                        self.#name = Some(value.into_semver()?); Ok(self)
                    }
                },
                AttrType::Datetime => quote! {
                    #[doc = #doc]
                    /// Takes a `jiff::Timestamp`, a `SystemTime` or an RFC 3339 string (validated here).
                    pub fn #name(mut self, value: impl ::flagc::runtime::IntoTimestamp) -> ::core::result::Result<Self, ::flagc::runtime::ValueError> {
                        self.#name = Some(value.into_timestamp()?); Ok(self)
                    }
                },
                _ => quote! {
                    #[doc = #doc] #[must_use]
                    pub fn #name(mut self, value: #ty) -> Self { self.#name = Some(value); self }
                },
            }
        });
        let has_new = m.context.iter().any(|a| a.name == "new");
        let new = (!has_new).then(|| {
            quote! {
                /// A context with every attribute unset.
                #[must_use]
                pub fn new() -> Self { <Self as ::core::default::Default>::default() }
            }
        });
        let view = |method: &str,
                    ret: TokenStream,
                    pick: &dyn Fn(&AttrType) -> bool,
                    get: &dyn Fn(&Ident) -> TokenStream| {
            let method = format_ident!("{}", method);
            let arms = m
                .context
                .iter()
                .enumerate()
                .filter(|(_, a)| pick(&a.ty))
                .map(|(i, a)| {
                    let name = format_ident!("{}", a.name);
                    let value = get(&name);
                    quote! { #i => #value, }
                });
            quote! {
                #[inline]
                fn #method(&self, field: usize) -> #ret { match field { #(#arms)* _ => ::core::option::Option::None } }
            }
        };
        let views = [
            view(
                "str",
                quote!(::core::option::Option<&str>),
                &|t| *t == AttrType::String,
                &|n| quote!(self.#n.as_deref()),
            ),
            view(
                "int",
                quote!(::core::option::Option<i64>),
                &|t| *t == AttrType::Int,
                &|n| quote!(self.#n),
            ),
            view(
                "float",
                quote!(::core::option::Option<f64>),
                &|t| *t == AttrType::Float,
                &|n| quote!(self.#n),
            ),
            view(
                "bool",
                quote!(::core::option::Option<bool>),
                &|t| *t == AttrType::Bool,
                &|n| quote!(self.#n),
            ),
            view(
                "semver",
                quote!(::core::option::Option<&::flagc::runtime::__private::semver::Version>),
                &|t| *t == AttrType::Semver,
                &|n| quote!(self.#n.as_ref()),
            ),
            view(
                "datetime",
                quote!(::core::option::Option<::flagc::runtime::__private::jiff::Timestamp>),
                &|t| *t == AttrType::Datetime,
                &|n| quote!(self.#n),
            ),
            view(
                "enum_index",
                quote!(::core::option::Option<u32>),
                &|t| matches!(t, AttrType::Enum(_)),
                &|n| quote!(self.#n.map(|v| v as u32)),
            ),
            view(
                "list",
                quote!(::core::option::Option<&[::std::string::String]>),
                &|t| *t == AttrType::StringList,
                &|n| quote!(self.#n.as_deref()),
            ),
        ];
        quote! {
            /// Who and what a flag is evaluated for. Every attribute is optional.
            #[derive(Debug, Clone, Default, PartialEq)]
            pub struct Context { #(#fields)* }
            impl Context {
                #new
                #(#setters)*
            }
            impl ::flagc::eval::ContextView for Context { #(#views)* }
        }
    }

    fn statics_struct(&self) -> TokenStream {
        let m = &self.model.manifest;
        let fields = m.statics.iter().zip(&self.names.statics).map(|(s, ty)| {
            let name = format_ident!("{}", s.name);
            let doc = format!(" `{}`", s.name);
            quote! { #[doc = #doc] pub #name: #ty, }
        });
        let pairs = m.statics.iter().map(|s| {
            let name = format_ident!("{}", s.name);
            let key = &s.name;
            quote! { (::std::string::String::from(#key), ::std::string::String::from(self.#name.as_str())) }
        });
        quote! {
            /// The static attributes, fixed for the life of the process.
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
            pub struct Statics { #(#fields)* }
            impl Statics {
                fn __pairs(&self) -> ::std::vec::Vec<(::std::string::String, ::std::string::String)> { ::std::vec![#(#pairs),*] }
            }
        }
    }

    fn flag_rust_type(&self, i: usize) -> TokenStream {
        match &self.model.flags[i].ty {
            FlagType::Bool => quote!(bool),
            FlagType::Int => quote!(i64),
            FlagType::Float => quote!(f64),
            FlagType::String => quote!(::std::sync::Arc<str>),
            FlagType::Enum(_) => {
                let n = self.names.flags[i]
                    .clone()
                    .unwrap_or_else(|| format_ident!("String"));
                quote!(#n)
            }
        }
    }

    fn overrides(&self, static_mode: bool) -> TokenStream {
        let fields = self.model.flags.iter().enumerate().map(|(i, f)| {
            let name = format_ident!("{}", f.key);
            let ty = match f.ty {
                FlagType::String => quote!(::std::string::String),
                _ => self.flag_rust_type(i),
            };
            let doc = format!(" Forces `{}`.", f.key);
            quote! { #[doc = #doc] pub #name: ::core::option::Option<#ty>, }
        });
        let (apply, clear) = if static_mode {
            (
                quote! { flags.rt.ov = ::core::option::Option::Some(::std::sync::Arc::new(self)); },
                quote! { flags.rt.ov = ::core::option::Option::None; },
            )
        } else {
            // One call of shared code per flag (enum flags' types are `Forced`, see
            // `dynamic_flags`).
            let pushes = self.model.flags.iter().enumerate().map(|(i, f)| {
                let name = format_ident!("{}", f.key);
                quote! { force(&mut forced, #i, self.#name); }
            });
            (
                quote! {
                    use ::flagc::runtime::__private::force;
                    let mut forced = ::std::vec::Vec::new();
                    #(#pushes)*
                    flags.rt.set_overrides(forced);
                },
                quote! { flags.rt.clear_overrides(); },
            )
        };
        let scope = if static_mode {
            " They stay with that handle (clones made afterwards share them); other handles never see them."
        } else {
            " They live in that handle's runtime, so clones of the handle share them; handles loaded separately never see them."
        };
        quote! {
            /// Typed test overrides: set the fields to force, then [`Overrides::apply`] them to
            /// a `Flags` handle. No files involved; lookups by key see them too.
            #[doc = ""]
            #[doc = #scope]
            // `Default` only: with a field per flag, each derived impl is a thousand-line
            // function for rustc to check (`Debug`, `Clone` and `PartialEq` were a fifth of
            // the build time of a 1,000-flag module).
            #[derive(Default)]
            pub struct Overrides { #(#fields)* }
            impl Overrides {
                /// Forces the flags set here on `flags`, replacing earlier overrides.
                #[inline] // compiled only into the tests that use it
                pub fn apply(self, flags: &mut Flags) { #apply }
                /// Removes every override from `flags`.
                pub fn clear(flags: &mut Flags) { #clear }
            }
        }
    }

    fn doc_attrs(&self, f: &Flag) -> TokenStream {
        let line = self
            .sources
            .get(&f.loc.file)
            .map_or(0, |s| s.line_col(f.loc.span.start).0);
        let mut doc = vec![];
        for l in f.description.lines() {
            doc.push(format!(" {l}"));
        }
        doc.push(String::new());
        doc.push(format!(" - **owner:** {}", f.owner));
        match (f.permanent, f.expires) {
            (true, _) => doc.push(" - **expires:** never (permanent)".to_owned()),
            (false, Some(d)) => doc.push(format!(" - **expires:** {d}")),
            (false, None) => {}
        }
        match &f.ty {
            FlagType::Enum(v) => doc.push(format!(" - **variants:** {}", v.join(", "))),
            t => doc.push(format!(" - **type:** {}", t.name())),
        }
        doc.push(format!(" - **default:** {}", f.default.display(&f.ty)));
        doc.push(format!(
            " - **defined at:** `{}/{}:{line}`",
            self.options.dir.trim_end_matches('/'),
            f.loc.file
        ));
        let deprecated = match f.expires {
            Some(d)
                if !f.permanent
                    && d < self.options.today
                    && self.model.manifest.deprecate_expired =>
            {
                let note = format!(
                    "flag `{}` expired on {d} (owner: {}): remove it and the code it guards, or extend `expires`",
                    f.key, f.owner
                );
                quote!(#[deprecated(note = #note)])
            }
            _ => quote!(),
        };
        // One attribute for the whole text: a thousand flags are a thousand attributes, not
        // seven thousand.
        let doc = doc.join("\n");
        quote! { #[doc = #doc] #deprecated }
    }

    fn default_value(&self, i: usize) -> TokenStream {
        let f = &self.model.flags[i];
        self.value_tokens(i, &Value::from(&f.default))
    }

    fn value_tokens(&self, i: usize, v: &Value) -> TokenStream {
        match v {
            Value::Bool(b) => quote!(#b),
            Value::Int(n) => i64_tokens(*n),
            Value::Float(x) => f64_tokens(*x),
            Value::Str(s) => {
                let mut strs = self.strs.borrow_mut();
                let n = strs.len();
                let k = *strs.entry(s.to_string()).or_insert(n);
                quote!(__FLAGC_STRS.get(#k))
            }
            Value::Enum(e) => {
                let (FlagType::Enum(values), Some(ty)) =
                    (&self.model.flags[i].ty, &self.names.flags[i])
                else {
                    return quote!(::core::unreachable!());
                };
                let var = variant_ident(values.get(*e as usize).map_or("", String::as_str));
                quote!(#ty::#var)
            }
        }
    }

    /// `spec()`: the flags and context layout this binary is built against.
    fn spec_fn(&self) -> TokenStream {
        // A table (data) rather than code per flag.
        let spec_flags = self.model.flags.iter().map(|f| {
            let key = &f.key;
            let ty = match &f.ty {
                FlagType::Bool => quote!(Ty::Bool),
                FlagType::Int => quote!(Ty::Int),
                FlagType::Float => quote!(Ty::Float),
                FlagType::String => quote!(Ty::Str),
                FlagType::Enum(v) => quote!(Ty::Enum(&[#(#v),*])),
            };
            quote! { (#key, #ty) }
        });
        let layout = layout_tokens(&Layout::of(&self.model.manifest));
        quote! {
            /// What this binary was built against.
            pub fn spec() -> ::flagc::runtime::Spec {
                use ::flagc::runtime::__private::Ty;
                ::flagc::runtime::__private::spec(&[#(#spec_flags),*], #layout, EMBEDDED)
            }
        }
    }

    fn dynamic_flags(&self) -> TokenStream {
        let methods = self.model.flags.iter().enumerate().map(|(i, f)| {
            let name = format_ident!("{}", f.key);
            let ty = self.flag_rust_type(i);
            let docs = self.doc_attrs(f);
            // One call of the runtime's typed, shared evaluation path; the default is only
            // for a flag of another type, which the runtime never serves.
            let body = match (&f.ty, &f.default) {
                (FlagType::Enum(_), FlagValue::Enum(d)) => {
                    let ty_name = &self.names.flags[i];
                    let d = *d as usize;
                    quote!(self.rt.enum_flag::<#i, Context, #ty_name>(ctx, #d, #ty_name::all()))
                }
                (FlagType::String, FlagValue::Str(d)) => {
                    quote!(self.rt.str_flag::<#i, Context>(ctx, #d))
                }
                (FlagType::Bool, _) => {
                    let d = self.default_value(i);
                    quote!(self.rt.bool_flag::<#i, Context>(ctx, #d))
                }
                (FlagType::Int, _) => {
                    let d = self.default_value(i);
                    quote!(self.rt.int_flag::<#i, Context>(ctx, #d))
                }
                _ => {
                    let d = self.default_value(i);
                    quote!(self.rt.float_flag::<#i, Context>(ctx, #d))
                }
            };
            quote! {
                #docs
                #[inline]
                pub fn #name(&self, ctx: &Context) -> #ty { #body }
            }
        });
        // Enum flags' types can be forced by `Overrides::apply`.
        let forced = self.names.flags.iter().flatten().map(|ty| {
            quote! {
                impl ::flagc::runtime::__private::Forced for #ty {
                    #[inline]
                    fn value(self) -> ::flagc::ir::Value { ::flagc::ir::Value::Enum(self as u32) }
                }
            }
        });
        let spec = self.spec_fn();
        quote! {
            /// The handle on this service's flags: one method per flag.
            ///
            /// The runtime (status, reloads, lookups by key) is the `rt` field, so that no
            /// flag name can collide with it.
            #[derive(Clone, Debug)]
            pub struct Flags {
                /// The runtime behind the accessors.
                pub rt: ::flagc::runtime::Runtime,
            }
            impl Flags { #(#methods)* }

            #(#forced)*

            #spec

            /// Loads the flag directory `dir` with the static attributes fixed for this
            /// process. A missing or invalid directory is an error.
            pub fn load(dir: impl ::core::convert::AsRef<::std::path::Path>, statics: Statics) -> ::core::result::Result<Flags, ::flagc::runtime::LoadError> {
                ::flagc::runtime::Runtime::load(dir.as_ref(), spec(), statics.__pairs()).map(|rt| Flags { rt })
            }

            /// Serves the flag files embedded at build time: the service's explicit choice
            /// when the directory cannot be loaded (logged as an error, shown in the status;
            /// it may re-enable a feature switched off since the build).
            pub fn embedded(statics: Statics, reason: ::core::option::Option<::flagc::runtime::LoadError>) -> ::core::result::Result<Flags, ::flagc::runtime::LoadError> {
                ::flagc::runtime::Runtime::embedded(spec(), statics.__pairs(), reason).map(|rt| Flags { rt })
            }
        }
    }

    fn static_flags(&self, statics: &Statics) -> TokenStream {
        let layout = Layout::of(&self.model.manifest);
        let program = compile(self.model, statics, &layout);
        // One method per flag with the flag's code in it; the lookup by key calls them.
        let methods = self.model.flags.iter().enumerate().map(|(i, f)| {
            let name = format_ident!("{}", f.key);
            let ty = self.flag_rust_type(i);
            let docs = self.doc_attrs(f);
            let over = match f.ty {
                FlagType::String => quote!(::std::sync::Arc::from(v.as_str())),
                _ => quote!(*v),
            };
            let body = self.flag_body(i, &program.flags[i]);
            quote! {
                #docs
                #[inline]
                pub fn #name(&self, ctx: &Context) -> #ty {
                    if let ::core::option::Option::Some(o) = &self.rt.ov {
                        if let ::core::option::Option::Some(v) = &o.#name { return #over; }
                    }
                    #body
                }
            }
        });
        // After the bodies: they fill the table.
        let methods: Vec<TokenStream> = methods.collect();
        let strs = {
            let strs = self.strs.borrow();
            let mut by_index: Vec<&str> = vec![""; strs.len()];
            for (text, &k) in strs.iter() {
                by_index[k] = text;
            }
            let n = by_index.len();
            quote! {
                /// The string values of the flags, each made an `Arc` once.
                static __FLAGC_STRS: ::flagc::runtime::__private::StaticStrs<#n> =
                    ::flagc::runtime::__private::StaticStrs::new([#(#by_index),*]);
            }
        };
        let lookups = self.model.flags.iter().map(|f| {
            let key = &f.key;
            let name = format_ident!("{}", f.key);
            let value = match &f.ty {
                FlagType::Bool => quote!(::flagc::ir::Value::Bool(v)),
                FlagType::Int => quote!(::flagc::ir::Value::Int(v)),
                FlagType::Float => quote!(::flagc::ir::Value::Float(v)),
                FlagType::String => quote!(::flagc::ir::Value::Str(v)),
                FlagType::Enum(_) => quote!(::flagc::ir::Value::Enum(v as u32)),
            };
            quote! { #key => { let v = flags.#name(ctx); #value } }
        });
        let overridden = self.model.flags.iter().map(|f| {
            let key = &f.key;
            let name = format_ident!("{}", f.key);
            quote! { if o.#name.is_some() { keys.push(::std::string::String::from(#key)); } }
        });
        let hash = format!("{:016x}", crate::runtime::content_hash(self.sources));
        let runtime = quote! {
            /// What static mode has of the runtime, with the same methods as dynamic mode's
            /// [`flagc::runtime::Runtime`] so that user code is the same in both modes: lookups
            /// by key, status, and reloads (there is nothing to reload).
            #[derive(Clone)]
            pub struct StaticRuntime {
                ov: ::core::option::Option<::std::sync::Arc<Overrides>>,
                loaded_at: ::std::time::SystemTime,
            }
            impl ::core::fmt::Debug for StaticRuntime {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.debug_struct("StaticRuntime")
                        .field("overridden", &self.ov.is_some())
                        .field("loaded_at", &self.loaded_at)
                        .finish()
                }
            }
            impl StaticRuntime {
                /// Evaluates a flag by key (with the handle's overrides); `None` for a key
                /// this binary was not compiled with.
                // `#[inline]` here and on `status`: machine code only in crates that call
                // them, so a library with the module does not compile every flag for them.
                #[inline]
                #[allow(deprecated)] // it evaluates expired flags too
                pub fn lookup(&self, key: &str, ctx: &Context) -> ::core::option::Option<::flagc::ir::Value> {
                    // A handle sharing these overrides (a reference-count bump), to call the
                    // accessors on.
                    let flags = Flags { rt: ::core::clone::Clone::clone(self) };
                    ::core::option::Option::Some(match key {
                        #(#lookups)*
                        _ => return ::core::option::Option::None,
                    })
                }
                /// The status: generation 1, from the flag files embedded at build time.
                #[inline]
                pub fn status(&self) -> ::flagc::runtime::Status {
                    let mut keys = ::std::vec::Vec::new();
                    if let ::core::option::Option::Some(o) = self.ov.as_deref() { #(#overridden)* }
                    ::flagc::runtime::Status {
                        generation: 1,
                        hash: ::std::string::String::from(#hash),
                        loaded_at: self.loaded_at,
                        origin: ::flagc::runtime::Origin::Embedded,
                        last_error: ::core::option::Option::None,
                        kept: ::std::vec::Vec::new(),
                        overrides: keys,
                    }
                }
                /// Static mode reads no files: always [`Reload::Unchanged`](::flagc::runtime::Reload::Unchanged).
                pub fn reload(&self) -> ::flagc::runtime::Reload {
                    ::flagc::runtime::Reload::Unchanged
                }
                /// Static mode reads no directory: `None`.
                pub fn dir(&self) -> ::core::option::Option<&::std::path::Path> {
                    ::core::option::Option::None
                }
            }
        };
        let check_statics = self.model.manifest.statics.iter().zip(&self.names.statics).map(|(s, ty)| {
            let name = format_ident!("{}", s.name);
            let value = statics
                .get(self.model.manifest.static_index(&s.name).unwrap_or(0))
                .and_then(|v| s.values.get(v as usize))
                .map_or_else(|| format_ident!("Invalid"), |v| variant_ident(v));
            let key = &s.name;
            quote! {
                if statics.#name != #ty::#value {
                    return ::core::result::Result::Err(::flagc::runtime::LoadError::Statics(::std::format!(
                        "this binary was compiled in static mode for {} = {}, not {}", #key, #ty::#value, statics.#name)));
                }
            }
        });
        let spec = self.spec_fn();
        quote! {
            /// The handle on this service's flags: one method per flag, compiled to plain Rust.
            ///
            /// The runtime (status, lookups by key) is the `rt` field, so that no flag name can
            /// collide with it.
            #[derive(Clone, Debug)]
            pub struct Flags {
                /// Lookups by key and status, as in dynamic mode.
                pub rt: StaticRuntime,
            }
            impl Flags { #(#methods)* }

            #runtime

            #strs

            #spec

            /// Static mode needs no files: succeeds when `statics` are the ones compiled in,
            /// so that user code is the same in both modes.
            pub fn load(_dir: impl ::core::convert::AsRef<::std::path::Path>, statics: Statics) -> ::core::result::Result<Flags, ::flagc::runtime::LoadError> {
                #(#check_statics)*
                ::core::result::Result::Ok(Flags {
                    rt: StaticRuntime { ov: ::core::option::Option::None, loaded_at: ::std::time::SystemTime::now() },
                })
            }

            /// Same as [`load`] in static mode.
            pub fn embedded(statics: Statics, _reason: ::core::option::Option<::flagc::runtime::LoadError>) -> ::core::result::Result<Flags, ::flagc::runtime::LoadError> {
                load("", statics)
            }
        }
    }

    fn flag_body(&self, i: usize, f: &CompiledFlag) -> TokenStream {
        if let Some(c) = &f.constant {
            let v = self.value_tokens(i, c);
            return quote! { let _ = ctx; #v };
        }
        let rules = f.rules.iter().map(|r| {
            let cond = self.all(&r.when);
            match &r.outcome {
                CompiledOutcome::Value(v) => {
                    let v = self.value_tokens(i, v);
                    quote! { if #cond { return #v; } }
                }
                CompiledOutcome::Rollout(ro) => {
                    let field = self.field(ro.field);
                    let salt = Literal::byte_string(f.salt.as_bytes());
                    // The salt's murmur3 blocks are mixed here, at build time: a call hashes
                    // the value only.
                    let (h, carry, len) = crate::bucket::Prefix::new(f.salt.as_bytes()).raw();
                    let prefix = quote!(::flagc::bucket::Prefix::from_raw(#h, #carry, #len));
                    // `k` is the bucketing attribute's value.
                    let (access, bucket) = match &ro.key {
                        BucketKey::Str => (quote!(ctx.#field.as_deref()), quote!(#prefix.bucket(k.as_bytes()))),
                        BucketKey::Int => (quote!(ctx.#field), quote!(::flagc::runtime::__private::bucket_int(#salt, k))),
                        BucketKey::Enum(_) => (quote!(ctx.#field), quote!(#prefix.bucket(k.as_str().as_bytes()))),
                    };
                    let weights = ro.weights.iter();
                    let arms = ro.values.iter().enumerate().map(|(k, v)| {
                        let v = self.value_tokens(i, v);
                        quote!(#k => return #v,)
                    });
                    let pick = quote! {
                        if let ::core::option::Option::Some(k) = #access {
                            match ::flagc::runtime::__private::pick(&[#(#weights),*], #bucket) { #(#arms)* _ => {} }
                        }
                    };
                    if r.when.is_empty() {
                        pick
                    } else {
                        quote! { if #cond { #pick } }
                    }
                }
            }
        });
        let default = self.value_tokens(i, &f.default);
        quote! { #(#rules)* #default }
    }

    fn field(&self, i: usize) -> Ident {
        format_ident!(
            "{}",
            self.model
                .manifest
                .context
                .get(i)
                .map_or("__unknown", |a| a.name.as_str())
        )
    }

    /// The conjunction of `conds`, without parentheses around the whole: it is an `if`
    /// condition, where rustc's `unused_parens` lint would look at them (and on checked-in
    /// `flagc generate` output, that lint's source lookups were 40 % of the build).
    fn all(&self, conds: &[Cond]) -> TokenStream {
        if conds.is_empty() {
            return quote!(true);
        }
        let many = conds.len() > 1;
        let parts = conds.iter().map(|c| match c {
            Cond::Test(t) => self.test(t),
            Cond::Any(branches) if branches.is_empty() => quote!(false),
            Cond::Any(branches) => {
                // Parentheses only where precedence needs them: around a conjunction in a
                // disjunction, and around a disjunction in a conjunction.
                let alone = branches.len() == 1;
                let b: Vec<TokenStream> = branches
                    .iter()
                    .map(|b| {
                        let e = self.all(b);
                        if b.len() > 1 && (many || !alone) {
                            quote!((#e))
                        } else {
                            e
                        }
                    })
                    .collect();
                if many && !alone {
                    quote!((#(#b)||*))
                } else {
                    quote!(#(#b)||*)
                }
            }
        });
        quote!(#(#parts)&&*)
    }

    fn test(&self, t: &Test) -> TokenStream {
        let field = self.field(t.field);
        let (access, hit) = match &t.pred {
            Pred::IsSet(_) => {
                return if t.negate {
                    quote!(false)
                } else {
                    quote!(ctx.#field.is_some())
                };
            }
            Pred::Str(p) => (quote!(ctx.#field.as_deref()), self.str_pred(p, &quote!(v))),
            Pred::List(p) => {
                let each = self.str_pred(p, &quote!(s.as_str()));
                (
                    quote!(ctx.#field.as_deref()),
                    quote!(v.iter().any(|s| #each)),
                )
            }
            Pred::EnumIn(set) => {
                let ty = self.names.attrs.get(t.field).cloned().flatten();
                let values = match self.model.manifest.context.get(t.field).map(|a| &a.ty) {
                    Some(AttrType::Enum(v)) => v.clone(),
                    _ => Vec::new(),
                };
                let vars: Vec<TokenStream> = values
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| set.contains(*k as u32))
                    .map(|(_, v)| {
                        let var = variant_ident(v);
                        quote!(#ty::#var)
                    })
                    .collect();
                let hit = if vars.is_empty() {
                    quote!(false)
                } else {
                    quote!(::core::matches!(v, #(#vars)|*))
                };
                (quote!(ctx.#field), hit)
            }
            Pred::IntIn(set) => {
                let lits = set.iter().map(|n| i64_tokens(*n));
                let hit = if set.is_empty() {
                    quote!(false)
                } else {
                    quote!(::core::matches!(v, #(#lits)|*))
                };
                (quote!(ctx.#field), hit)
            }
            Pred::IntCmp(op, n) => (
                quote!(ctx.#field),
                cmp_tokens(*op, quote!(v), i64_tokens(*n)),
            ),
            Pred::FloatIn(set) => {
                let lits = set.iter().map(|x| f64_tokens(*x));
                let hit = if set.is_empty() {
                    quote!(false)
                } else {
                    quote!(#(v == #lits)||*)
                };
                (quote!(ctx.#field), hit)
            }
            Pred::FloatCmp(op, x) => (
                quote!(ctx.#field),
                cmp_tokens(*op, quote!(v), f64_tokens(*x)),
            ),
            Pred::BoolIn(mask) => {
                let hit = match mask & 3 {
                    0 => quote!(false),
                    1 => quote!(!v),
                    2 => quote!(v),
                    _ => quote!(true),
                };
                (quote!(ctx.#field), hit)
            }
            Pred::SemverIn(set) => {
                let checks = set.iter().map(|lit| {
                    let ord = semver_static(lit);
                    quote!(#ord.is_eq())
                });
                let hit = if set.is_empty() {
                    quote!(false)
                } else {
                    quote!(#(#checks)||*)
                };
                (quote!(ctx.#field.as_ref()), hit)
            }
            Pred::SemverCmp(op, lit) => {
                let ord = semver_static(lit);
                let hit = match op {
                    CmpOp::Lt => quote!(#ord.is_lt()),
                    CmpOp::Lte => quote!(#ord.is_le()),
                    CmpOp::Gt => quote!(#ord.is_gt()),
                    CmpOp::Gte => quote!(#ord.is_ge()),
                };
                (quote!(ctx.#field.as_ref()), hit)
            }
            Pred::DatetimeIn(set) => {
                let lits = set.iter().map(timestamp_tokens);
                let hit = if set.is_empty() {
                    quote!(false)
                } else {
                    quote!(#(v == #lits)||*)
                };
                (quote!(ctx.#field), hit)
            }
            Pred::DatetimeCmp(op, ts) => (
                quote!(ctx.#field),
                cmp_tokens(*op, quote!(v), timestamp_tokens(ts)),
            ),
        };
        let hit = if t.negate { quote!(!(#hit)) } else { hit };
        quote! { match #access { ::core::option::Option::Some(v) => #hit, ::core::option::Option::None => false } }
    }

    fn str_pred(&self, p: &StrPred, s: &TokenStream) -> TokenStream {
        let any = |method: &str, needles: Vec<&str>| {
            let method = format_ident!("{}", method);
            if needles.is_empty() {
                quote!(false)
            } else {
                quote!(#(#s.#method(#needles))||*)
            }
        };
        match p {
            StrPred::In(set) if set.len() <= 8 => {
                let items = set.items().iter().map(|i| &**i);
                if set.is_empty() {
                    quote!(false)
                } else {
                    quote!(::core::matches!(#s, #(#items)|*))
                }
            }
            StrPred::In(set) => {
                let items = set.items().iter().map(|i| &**i);
                quote! {{
                    static SET: ::flagc::runtime::__private::LazyLock<::flagc::runtime::__private::StrSet> =
                        ::flagc::runtime::__private::LazyLock::new(|| ::flagc::runtime::__private::StrSet::new([#(#items),*]));
                    SET.contains(#s)
                }}
            }
            StrPred::StartsWith(n) => any("starts_with", n.iter().map(|n| &**n).collect()),
            StrPred::EndsWith(n) => any("ends_with", n.iter().map(|n| &**n).collect()),
            StrPred::Contains(n) => any("contains", n.iter().map(|n| n.as_str()).collect()),
            StrPred::Matches(re) => {
                if let Some(lowered) = pattern::lower(re.as_str()) {
                    return lowered.tokens(s);
                }
                let pattern = re.as_str();
                quote! {{
                    static RE: ::flagc::runtime::__private::LazyLock<::flagc::runtime::__private::Pattern> =
                        ::flagc::runtime::__private::LazyLock::new(|| {
                            // Checked when the flags were compiled; the fallback never matches.
                            ::flagc::runtime::__private::Pattern::new(#pattern)
                                .unwrap_or_else(|_| ::flagc::runtime::__private::Pattern::never())
                        });
                    RE.is_match(#s)
                }}
            }
        }
    }
}

/// The precedence of the context's version `v` against the literal `lit`: an `Ordering`.
fn semver_static(lit: &semver::Version) -> TokenStream {
    let (major, minor, patch) = (lit.major, lit.minor, lit.patch);
    let pre = lit.pre.as_str();
    if pre.is_empty() {
        // A plain version: compared field by field, no value to build.
        return quote!(::flagc::runtime::__private::semver_cmp(v, #major, #minor, #patch));
    }
    quote! {{
        static V: ::flagc::runtime::__private::LazyLock<::flagc::runtime::__private::semver::Version> =
            ::flagc::runtime::__private::LazyLock::new(|| ::flagc::runtime::__private::semver::Version {
                major: #major, minor: #minor, patch: #patch,
                pre: ::flagc::runtime::__private::semver::Prerelease::new(#pre).unwrap_or(::flagc::runtime::__private::semver::Prerelease::EMPTY),
                build: ::flagc::runtime::__private::semver::BuildMetadata::EMPTY,
            });
        v.cmp_precedence(&V)
    }}
}

fn timestamp_tokens(ts: &jiff::Timestamp) -> TokenStream {
    let s = i64_tokens(ts.as_second());
    // Sub-second nanoseconds are within ±999_999_999, so `abs` cannot overflow.
    let nanos = ts.subsec_nanosecond();
    let lit = Literal::i32_suffixed(nanos.abs());
    let n = if nanos < 0 {
        quote!(-#lit)
    } else {
        quote!(#lit)
    };
    quote!(::flagc::runtime::__private::jiff::Timestamp::constant(#s, #n))
}

/// An `i64` literal. A negative number is a `-` token and a literal (a negative literal
/// token does not survive every round trip through text, e.g. `flagc generate`'s).
fn i64_tokens(n: i64) -> TokenStream {
    if n == i64::MIN {
        return quote!(::core::primitive::i64::MIN);
    }
    let lit = Literal::i64_suffixed(n.abs());
    if n < 0 { quote!(-#lit) } else { quote!(#lit) }
}

/// An `f64` literal; the checker only lets finite numbers through, but a NaN or an infinity
/// must not panic the macro (`Literal::f64_suffixed` would).
fn f64_tokens(x: f64) -> TokenStream {
    if x.is_nan() {
        return quote!(::core::primitive::f64::NAN);
    }
    if x.is_infinite() {
        return if x > 0.0 {
            quote!(::core::primitive::f64::INFINITY)
        } else {
            quote!(::core::primitive::f64::NEG_INFINITY)
        };
    }
    let lit = Literal::f64_suffixed(x.abs());
    if x.is_sign_negative() {
        quote!(-#lit)
    } else {
        quote!(#lit)
    }
}

fn cmp_tokens(op: CmpOp, a: TokenStream, b: TokenStream) -> TokenStream {
    match op {
        CmpOp::Lt => quote!(#a < #b),
        CmpOp::Lte => quote!(#a <= #b),
        CmpOp::Gt => quote!(#a > #b),
        CmpOp::Gte => quote!(#a >= #b),
    }
}

/// An enum and its impls. Attribute values are parsed and ordered (`full`: `FromStr`,
/// `PartialOrd`, `Ord`); a flag's variants are only returned, so a flag enum has the rest
/// only: a directory can have hundreds of enum flags, and each impl costs build time.
fn enum_items(name: &Ident, values: &[String], doc: &str, full: bool) -> TokenStream {
    let vars: Vec<Ident> = values.iter().map(|v| variant_ident(v)).collect();
    let docs = values.iter().map(|v| format!(" `{v}`"));
    let doc = format!(" {doc}");
    let strs = values.iter();
    let n = values.len();
    let expected = format!("one of {}", values.join(", "));
    // The strings are one table that `as_str` indexes and `from_str` searches with shared
    // code: per enum, data rather than a `match` arm per variant.
    let (ord, from_str) = if full {
        (
            quote!(PartialOrd, Ord,),
            quote! {
                impl ::core::str::FromStr for #name {
                    type Err = ::flagc::runtime::ValueError;
                    #[inline]
                    fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                        ::flagc::runtime::__private::parse(s, &Self::__STRS, Self::all(), #expected)
                    }
                }
            },
        )
    } else {
        (quote!(), quote!())
    };
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, #ord)]
        pub enum #name { #(#[doc = #docs] #vars,)* }
        impl #name {
            const __STRS: [&'static str; #n] = [#(#strs),*];
            /// Every value, in declaration order.
            #[inline]
            pub const fn all() -> &'static [#name; #n] { &[#(#name::#vars),*] }
            /// The value as written in the flag files.
            #[inline]
            pub const fn as_str(self) -> &'static str { Self::__STRS[self as usize] }
        }
        // `#[inline]`: machine code only where used (hundreds of enums, most never printed).
        impl ::core::fmt::Display for #name {
            #[inline]
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result { f.write_str(self.as_str()) }
        }
        #from_str
    }
}

fn describe_attr_type(t: &AttrType) -> String {
    match t {
        AttrType::Enum(v) => format!("one of {}", v.join(", ")),
        t => t.name().to_owned(),
    }
}

fn attr_type_tokens(t: &AttrType) -> TokenStream {
    match t {
        AttrType::String => quote!(::flagc::model::AttrType::String),
        AttrType::Int => quote!(::flagc::model::AttrType::Int),
        AttrType::Float => quote!(::flagc::model::AttrType::Float),
        AttrType::Bool => quote!(::flagc::model::AttrType::Bool),
        AttrType::Semver => quote!(::flagc::model::AttrType::Semver),
        AttrType::Datetime => quote!(::flagc::model::AttrType::Datetime),
        AttrType::StringList => quote!(::flagc::model::AttrType::StringList),
        AttrType::Enum(v) => quote!(::flagc::model::AttrType::Enum(
            ::std::vec![#(::std::string::String::from(#v)),*]
        )),
    }
}

fn layout_tokens(layout: &Layout) -> TokenStream {
    let attrs = layout.attrs().iter().map(|a| {
        let name = &a.name;
        let ty = attr_type_tokens(&a.ty);
        quote!((::std::string::String::from(#name), #ty))
    });
    quote!(::flagc::ir::Layout::new(::std::vec![#(#attrs),*]))
}

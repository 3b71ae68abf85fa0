//! What `flags!` emits beside its `compile_error!`s when the flag directory is invalid: the
//! module's items, salvaged from whatever parsed, so that the user's code sees only the real
//! errors rather than a flood of "cannot find type `Context` in module `flags`".
//!
//! **Invariant:** the output compiles on its own for any input (every name is checked to be
//! an identifier and is emitted once); bodies are `unreachable!()`, since a crate with these
//! items never finishes compiling.

use std::collections::BTreeSet;

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::{Names, enum_items, is_ident, path_expr, variant_ident};
use crate::diag::Diagnostics;
use crate::model::{AttrType, FlagType};
use crate::parse::{Node, NodeKind, parse_file};
use crate::source::Sources;

/// The names and types that could be read from an invalid directory.
#[derive(Debug, Default)]
struct Skeleton {
    statics: Vec<(String, Vec<String>)>,
    /// `None` when the type could not be read.
    context: Vec<(String, Option<AttrType>)>,
    /// `None` when the type could not be read.
    flags: Vec<(String, Option<FlagType>)>,
}

impl Skeleton {
    fn read(sources: &Sources) -> Skeleton {
        let mut sk = Skeleton::default();
        let mut sink = Diagnostics::new();
        let mut seen_attrs = BTreeSet::new();
        let mut seen_flags = BTreeSet::new();
        for f in &sources.files {
            let parsed = parse_file(&f.path, &f.text, &mut sink);
            let Some(table) = parsed.root.as_table() else {
                continue;
            };
            if f.is_manifest() {
                let entries = |name: &str| {
                    parsed
                        .root
                        .get(name)
                        .and_then(Node::as_table)
                        .unwrap_or_default()
                };
                for (k, v) in entries("static") {
                    if is_ident(&k.name) && seen_attrs.insert(k.name.clone()) {
                        sk.statics
                            .push((k.name.clone(), enum_values(v).unwrap_or_default()));
                    }
                }
                for (k, v) in entries("context") {
                    if is_ident(&k.name) && seen_attrs.insert(k.name.clone()) {
                        let ty = match &v.kind {
                            NodeKind::Str(t) => AttrType::from_name(t),
                            _ => enum_values(v).map(AttrType::Enum),
                        };
                        sk.context.push((k.name.clone(), ty));
                    }
                }
                continue;
            }
            for (k, v) in table {
                if v.as_table().is_some() && is_ident(&k.name) && seen_flags.insert(k.name.clone())
                {
                    sk.flags.push((k.name.clone(), flag_type(v)));
                }
            }
        }
        sk.flags.sort_by(|a, b| a.0.cmp(&b.0));
        sk
    }
}

/// A list of enum values that all make distinct Rust variants; `None` if it is not a list.
fn enum_values(node: &Node) -> Option<Vec<String>> {
    let mut idents = BTreeSet::new();
    let values = node
        .as_array()?
        .iter()
        .filter_map(Node::as_str)
        .filter(|s| {
            s.starts_with(|c: char| c.is_ascii_alphanumeric())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        })
        .filter(|s| idents.insert(variant_ident(s).to_string()))
        .map(str::to_owned)
        .collect();
    Some(values)
}

/// The flag's type as the checker would decide it, when the fields it needs are readable.
fn flag_type(node: &Node) -> Option<FlagType> {
    if let Some(v) = node.get("variants") {
        return enum_values(v).map(FlagType::Enum);
    }
    if let Some(t) = node.get("type").and_then(Node::as_str) {
        return match t {
            "bool" => Some(FlagType::Bool),
            "int" => Some(FlagType::Int),
            "float" => Some(FlagType::Float),
            "string" => Some(FlagType::String),
            _ => None,
        };
    }
    match node.get("default").map(|d| &d.kind) {
        Some(NodeKind::Bool(_)) => Some(FlagType::Bool),
        Some(NodeKind::Int(_)) => Some(FlagType::Int),
        Some(NodeKind::Float(..)) => Some(FlagType::Float),
        Some(NodeKind::Str(_)) => Some(FlagType::String),
        _ => None,
    }
}

/// The `flags` module's items for an invalid directory, typed as far as the files could be
/// read: enums, `Context` setters, `Statics`, `Overrides`, `Flags` and its accessors (any
/// type where a flag's type is unknown), `load`, `embedded`, `spec`, `DIR`. `dir` is the path
/// as written in the macro call; `static_mode` selects the type of `Flags::rt`.
pub fn fallback(sources: &Sources, dir: &str, static_mode: bool) -> TokenStream {
    let sk = Skeleton::read(sources);
    let names = Names::allocate(
        sk.statics.iter().map(|(n, _)| n.as_str()),
        sk.context
            .iter()
            .map(|(n, t)| (n.as_str(), matches!(t, Some(AttrType::Enum(_))))),
        sk.flags
            .iter()
            .map(|(n, t)| (n.as_str(), matches!(t, Some(FlagType::Enum(_))))),
    );
    let unreachable = quote!(::core::unreachable!());

    let mut enums = Vec::new();
    for ((name, values), ty) in sk.statics.iter().zip(&names.statics) {
        enums.push(enum_items(
            ty,
            values,
            &format!("Static attribute `{name}`."),
            true,
        ));
    }
    for ((name, t), ty) in sk.context.iter().zip(&names.attrs) {
        if let (Some(AttrType::Enum(values)), Some(ty)) = (t, ty) {
            enums.push(enum_items(
                ty,
                values,
                &format!("Context attribute `{name}`."),
                true,
            ));
        }
    }
    for ((name, t), ty) in sk.flags.iter().zip(&names.flags) {
        if let (Some(FlagType::Enum(values)), Some(ty)) = (t, ty) {
            enums.push(enum_items(ty, values, &format!("Flag `{name}`."), false));
        }
    }

    let mut fields = Vec::new();
    let mut setters = Vec::new();
    for ((name, t), enum_ty) in sk.context.iter().zip(&names.attrs) {
        let id = format_ident!("{}", name);
        let field_ty = match t {
            Some(AttrType::String) => Some(quote!(::std::string::String)),
            Some(AttrType::Int) => Some(quote!(i64)),
            Some(AttrType::Float) => Some(quote!(f64)),
            Some(AttrType::Bool) => Some(quote!(bool)),
            Some(AttrType::Enum(_)) => enum_ty.as_ref().map(|e| quote!(#e)),
            _ => None,
        };
        if let Some(ft) = &field_ty {
            fields.push(quote! { pub #id: ::core::option::Option<#ft>, });
        }
        setters.push(match (t, &field_ty) {
            (Some(AttrType::String), _) => quote! {
                pub fn #id(self, _value: impl ::core::convert::Into<::std::string::String>) -> Self { #unreachable }
            },
            (Some(AttrType::Semver | AttrType::Datetime), _) => quote! {
                pub fn #id<T>(self, _value: T) -> ::core::result::Result<Self, ::flagc::runtime::ValueError> { #unreachable }
            },
            (Some(_), Some(ft)) => quote! { pub fn #id(self, _value: #ft) -> Self { #unreachable } },
            _ => quote! { pub fn #id<T>(self, _value: T) -> Self { #unreachable } },
        });
    }
    let new = (!sk.context.iter().any(|(n, _)| n == "new")).then(|| {
        quote! { pub fn new() -> Self { #unreachable } }
    });

    let static_fields = sk
        .statics
        .iter()
        .zip(&names.statics)
        .map(|((name, _), ty)| {
            let id = format_ident!("{}", name);
            quote! { pub #id: #ty, }
        });

    let mut methods = Vec::new();
    let mut overrides = Vec::new();
    for ((key, t), enum_ty) in sk.flags.iter().zip(&names.flags) {
        let id = format_ident!("{}", key);
        let ty: Option<TokenStream> = match t {
            Some(FlagType::Bool) => Some(quote!(bool)),
            Some(FlagType::Int) => Some(quote!(i64)),
            Some(FlagType::Float) => Some(quote!(f64)),
            Some(FlagType::String) => Some(quote!(::std::sync::Arc<str>)),
            Some(FlagType::Enum(_)) => enum_ty.as_ref().map(|e| quote!(#e)),
            None => None,
        };
        match &ty {
            Some(ty) => {
                methods.push(quote! { pub fn #id(&self, _ctx: &Context) -> #ty { #unreachable } });
                let ov: &dyn quote::ToTokens = match t {
                    Some(FlagType::String) => &quote!(::std::string::String),
                    _ => ty,
                };
                overrides.push(quote! { pub #id: ::core::option::Option<#ov>, });
            }
            None => {
                methods.push(quote! { pub fn #id<T>(&self, _ctx: &Context) -> T { #unreachable } });
            }
        }
    }

    let runtime: TokenStream = if static_mode {
        quote! {
            #[derive(Clone, Debug)]
            pub struct StaticRuntime {}
            impl StaticRuntime {
                pub fn lookup(&self, _key: &str, _ctx: &Context) -> ::core::option::Option<::flagc::ir::Value> { #unreachable }
                pub fn status(&self) -> ::flagc::runtime::Status { #unreachable }
                pub fn reload(&self) -> ::flagc::runtime::Reload { #unreachable }
                pub fn dir(&self) -> ::core::option::Option<&::std::path::Path> { #unreachable }
            }
        }
    } else {
        TokenStream::new()
    };
    let rt_ty: Ident = if static_mode {
        format_ident!("StaticRuntime")
    } else {
        format_ident!("Runtime")
    };
    let rt_path = if static_mode {
        quote!(#rt_ty)
    } else {
        quote!(::flagc::runtime::#rt_ty)
    };
    let dir_expr = path_expr(dir, "");

    quote! {
        /// Placeholder items: the flag directory has errors (see the `compile_error!`s).
        #[allow(dead_code, unused, unreachable_code, non_camel_case_types, clippy::all, clippy::pedantic)]
        pub mod flags {
            pub const DIR: &str = #dir_expr;
            pub const EMBEDDED: &[(&str, &str)] = &[];
            #(#enums)*
            #[derive(Debug, Clone, Default, PartialEq)]
            pub struct Context { #(#fields)* }
            impl Context { #new #(#setters)* }
            impl ::flagc::eval::ContextView for Context {}
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
            pub struct Statics { #(#static_fields)* }
            #[derive(Default)]
            pub struct Overrides { #(#overrides)* }
            impl Overrides {
                pub fn apply(self, _flags: &mut Flags) { #unreachable }
                pub fn clear(_flags: &mut Flags) { #unreachable }
            }
            #runtime
            #[derive(Clone, Debug)]
            pub struct Flags { pub rt: #rt_path }
            impl Flags { #(#methods)* }
            pub fn spec() -> ::flagc::runtime::Spec { #unreachable }
            pub fn load(_dir: impl ::core::convert::AsRef<::std::path::Path>, _statics: Statics) -> ::core::result::Result<Flags, ::flagc::runtime::LoadError> { #unreachable }
            pub fn embedded(_statics: Statics, _reason: ::core::option::Option<::flagc::runtime::LoadError>) -> ::core::result::Result<Flags, ::flagc::runtime::LoadError> { #unreachable }
        }
    }
}

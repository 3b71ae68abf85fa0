//! An [OpenFeature](https://openfeature.dev) provider for the `open-feature` Rust SDK that
//! serves flags from a flagc snapshot.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use flagc_openfeature::FlagcProvider;
//! use open_feature::{EvaluationContext, OpenFeature};
//!
//! // Checks and compiles `flags/` for production; `runtime.reload()` (or the runtime's
//! // watcher) swaps in new snapshots, which the provider serves from the next evaluation on.
//! let provider = FlagcProvider::load("flags".as_ref(), &[("env", "production")])?;
//! let runtime = provider.source().clone();
//! OpenFeature::singleton_mut().await.set_provider(provider).await;
//!
//! let client = OpenFeature::singleton().await.create_client();
//! let ctx = EvaluationContext::default()
//!     .with_targeting_key("user-42") // fills the manifest's `[rollout] by` attribute
//!     .with_custom_field("country", "DE");
//! // On an error (an unknown flag, a context value of the wrong type), the caller's default.
//! let on = client.get_bool_value("one_page_checkout", Some(&ctx), None).await.unwrap_or(false);
//! # let _ = (on, runtime); Ok(()) }
//! ```
//!
//! **Context.** Custom fields are matched to the manifest's `[context]` attributes by name and
//! type: strings for `string`, `semver` (validated) and enum attributes (a listed value),
//! integers for `int`, integers or floats for `float`, bools for `bool`, a `DateTime` or an
//! RFC 3339 string for `datetime`, and a `Vec<String>` struct for `string[]`. A field of the
//! wrong type is an `INVALID_CONTEXT` error naming the attribute; a field the manifest does
//! not declare is ignored (OpenFeature contexts are shared by every provider). The targeting
//! key fills the `[rollout] by` attribute when the context does not set it explicitly.
//!
//! **Results.** The reason is `STATIC` for a flag that can only take one value, `DEFAULT`
//! when no rule decided, `SPLIT` when a rollout did and `TARGETING_MATCH` when a rule with a
//! fixed value did. The variant is the value's name (`true`/`false`, the enum variant, or the
//! value as text), as `flagc export --format flagd` names them. A key the snapshot does not
//! have is `FLAG_NOT_FOUND`; asking for another type than the flag's is `TYPE_MISMATCH`
//! (int and float are distinct, as in the SDK; enum flags are strings).
//!
//! **Hot reload.** The provider reads its [`FlagSource`] once per evaluation: a
//! [`flagc::runtime::Runtime`] (whose reloads swap snapshots atomically), or any
//! `Arc<ArcSwap<Program>>` a service or a test swaps itself.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod context;
mod source;

use std::path::Path;
use std::sync::Arc;

use flagc::compile::Statics;
use flagc::eval::Context;
use flagc::ir::{CompiledOutcome, Program, Value};
use flagc::model::FlagType;
use flagc::runtime::{Runtime, Spec};
use open_feature::provider::{
    FeatureProvider, ProviderMetadata, ProviderStatus, ResolutionDetails,
};
use open_feature::{
    EvaluationContext, EvaluationError, EvaluationErrorCode, EvaluationReason, EvaluationResult,
    StructValue, async_trait,
};

pub use source::{FlagSource, Snapshot};

/// An OpenFeature provider over a flagc snapshot source.
#[derive(Debug)]
pub struct FlagcProvider<S> {
    source: S,
    /// The attribute the targeting key fills (the manifest's `[rollout] by`).
    targeting_attr: Option<String>,
    metadata: ProviderMetadata,
}

/// Why [`FlagcProvider::load`] could not start.
#[derive(Debug)]
pub enum LoadError {
    /// The directory could not be read.
    Io(std::io::Error),
    /// The flag files are invalid: each error, one line.
    Invalid(Vec<String>),
    /// The static values do not fit the manifest.
    Statics(Vec<String>),
    /// The runtime refused the directory.
    Runtime(flagc::runtime::LoadError),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Io(e) => write!(f, "cannot read the flag directory: {e}"),
            LoadError::Invalid(errors) => {
                write!(f, "invalid flag directory: {}", errors.join("; "))
            }
            LoadError::Statics(errors) => write!(f, "bad static values: {}", errors.join("; ")),
            LoadError::Runtime(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for LoadError {}

impl FlagcProvider<Runtime> {
    /// Checks and compiles the flag directory `dir` with the static values `statics` and
    /// serves it through a [`Runtime`] (see [`FlagcProvider::source`] to reload or watch it).
    /// The targeting key fills the manifest's `[rollout] by` attribute.
    pub fn load(dir: &Path, statics: &[(&str, &str)]) -> Result<Self, LoadError> {
        let checked =
            flagc::check_dir(dir, &flagc::CheckOptions::default()).map_err(LoadError::Io)?;
        let Some(model) = checked.model else {
            return Err(LoadError::Invalid(
                checked
                    .diagnostics
                    .iter()
                    .filter(|d| d.is_error())
                    .map(|d| flagc::runtime::one_line(&checked.sources, d))
                    .collect(),
            ));
        };
        if let Err(errors) = Statics::from_pairs(&model.manifest, statics.iter().copied()) {
            return Err(LoadError::Statics(
                errors.iter().map(ToString::to_string).collect(),
            ));
        }
        let by = model
            .manifest
            .rollout_by
            .and_then(|i| model.manifest.context.get(i))
            .map(|a| a.name.clone());
        let statics = statics
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let runtime =
            Runtime::load(dir, Spec::of(&model, &[]), statics).map_err(LoadError::Runtime)?;
        let mut provider = FlagcProvider::new(runtime);
        provider.targeting_attr = by;
        Ok(provider)
    }
}

impl<S: FlagSource> FlagcProvider<S> {
    /// A provider over `source`. The targeting key fills no attribute until
    /// [`FlagcProvider::with_targeting_key_attribute`] names one.
    pub fn new(source: S) -> Self {
        FlagcProvider {
            source,
            targeting_attr: None,
            metadata: ProviderMetadata::new("flagc"),
        }
    }

    /// The context attribute that OpenFeature's targeting key fills when the context does not
    /// set it explicitly (usually the manifest's `[rollout] by`).
    #[must_use]
    pub fn with_targeting_key_attribute(mut self, attr: impl Into<String>) -> Self {
        self.targeting_attr = Some(attr.into());
        self
    }

    /// The targeting key fills `manifest`'s `[rollout] by` attribute (if it has one).
    #[must_use]
    pub fn with_manifest(mut self, manifest: &flagc::model::Manifest) -> Self {
        self.targeting_attr = manifest
            .rollout_by
            .and_then(|i| manifest.context.get(i))
            .map(|a| a.name.clone());
        self
    }

    /// The source the provider reads.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// Evaluates `key` for `ctx`, checking that the flag's type is `want`.
    fn resolve(
        &self,
        key: &str,
        ctx: &EvaluationContext,
        want: Want,
    ) -> EvaluationResult<(Value, FlagType, ResolutionMeta)> {
        let snapshot = self.source.snapshot();
        let Some((program, index)) = snapshot.flag(key) else {
            return Err(error(
                EvaluationErrorCode::FlagNotFound,
                format!("no flag `{key}` in the flagc snapshot"),
            ));
        };
        let flag = &program.flags[index];
        if !want.accepts(&flag.ty) {
            return Err(error(
                EvaluationErrorCode::TypeMismatch,
                format!(
                    "flag `{key}` is a {} flag, but a {} was asked for",
                    type_name(&flag.ty),
                    want.name()
                ),
            ));
        }
        let layout = program.layout();
        let mut context = Context::new(layout);
        context::fill(&mut context, layout, ctx, self.targeting_attr.as_deref())
            .map_err(|e| error(EvaluationErrorCode::InvalidContext, e))?;
        let evaluation = program.eval(index, &context);
        let reason = reason(program, index, evaluation.rule);
        let meta = ResolutionMeta {
            reason,
            variant: variant_name(evaluation.value, &flag.ty),
        };
        Ok((evaluation.value.clone(), flag.ty.clone(), meta))
    }
}

struct ResolutionMeta {
    reason: EvaluationReason,
    variant: String,
}

impl ResolutionMeta {
    fn details<T>(self, value: T) -> ResolutionDetails<T> {
        ResolutionDetails {
            value,
            variant: Some(self.variant),
            reason: Some(self.reason),
            flag_metadata: None,
        }
    }
}

/// The type a `resolve_*` call asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Bool,
    Int,
    Float,
    String,
}

impl Want {
    fn accepts(self, ty: &FlagType) -> bool {
        matches!(
            (self, ty),
            (Want::Bool, FlagType::Bool)
                | (Want::Int, FlagType::Int)
                | (Want::Float, FlagType::Float)
                | (Want::String, FlagType::String | FlagType::Enum(_))
        )
    }

    fn name(self) -> &'static str {
        match self {
            Want::Bool => "bool",
            Want::Int => "int",
            Want::Float => "float",
            Want::String => "string",
        }
    }
}

fn type_name(ty: &FlagType) -> String {
    match ty {
        FlagType::Enum(v) => format!("enum ({})", v.join(", ")),
        t => t.name().to_owned(),
    }
}

fn error(code: EvaluationErrorCode, message: impl Into<String>) -> EvaluationError {
    EvaluationError {
        code,
        message: Some(message.into()),
    }
}

/// OpenFeature's reason for an evaluation.
fn reason(program: &Program, index: usize, rule: Option<usize>) -> EvaluationReason {
    let flag = &program.flags[index];
    if flag.constant.is_some() {
        return EvaluationReason::Static;
    }
    let Some(rule) = rule else {
        return EvaluationReason::Default;
    };
    match flag
        .rules
        .iter()
        .find(|r| r.index == rule)
        .map(|r| &r.outcome)
    {
        Some(CompiledOutcome::Rollout(_)) => EvaluationReason::Split,
        _ => EvaluationReason::TargetingMatch,
    }
}

/// The value's name, as the flagd export names variants.
fn variant_name(value: &Value, ty: &FlagType) -> String {
    match (value, ty) {
        (Value::Bool(b), _) => b.to_string(),
        (Value::Int(i), _) => i.to_string(),
        (Value::Float(x), _) => format!("{x:?}"),
        (Value::Str(s), _) if s.is_empty() => "empty".to_owned(),
        (Value::Str(s), _) => s.to_string(),
        (Value::Enum(i), FlagType::Enum(names)) => {
            names.get(*i as usize).cloned().unwrap_or_default()
        }
        (Value::Enum(i), _) => format!("variant_{i}"),
    }
}

fn mismatch(key: &str) -> EvaluationError {
    error(
        EvaluationErrorCode::TypeMismatch,
        format!("flag `{key}` evaluated to a value of another type"),
    )
}

#[async_trait]
impl<S: FlagSource> FeatureProvider for FlagcProvider<S> {
    fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }

    fn status(&self) -> ProviderStatus {
        ProviderStatus::Ready
    }

    async fn resolve_bool_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<bool>> {
        match self.resolve(flag_key, evaluation_context, Want::Bool)? {
            (Value::Bool(b), _, meta) => Ok(meta.details(b)),
            _ => Err(mismatch(flag_key)),
        }
    }

    async fn resolve_int_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<i64>> {
        match self.resolve(flag_key, evaluation_context, Want::Int)? {
            (Value::Int(i), _, meta) => Ok(meta.details(i)),
            _ => Err(mismatch(flag_key)),
        }
    }

    async fn resolve_float_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<f64>> {
        match self.resolve(flag_key, evaluation_context, Want::Float)? {
            (Value::Float(x), _, meta) => Ok(meta.details(x)),
            _ => Err(mismatch(flag_key)),
        }
    }

    async fn resolve_string_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<String>> {
        match self.resolve(flag_key, evaluation_context, Want::String)? {
            (Value::Str(s), _, meta) => Ok(meta.details(s.to_string())),
            (Value::Enum(i), FlagType::Enum(names), meta) => {
                let name = names.get(i as usize).cloned().unwrap_or_default();
                Ok(meta.details(name))
            }
            _ => Err(mismatch(flag_key)),
        }
    }

    async fn resolve_struct_value(
        &self,
        flag_key: &str,
        _evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<StructValue>> {
        let snapshot = self.source.snapshot();
        match snapshot.flag(flag_key) {
            None => Err(error(
                EvaluationErrorCode::FlagNotFound,
                format!("no flag `{flag_key}` in the flagc snapshot"),
            )),
            Some((program, i)) => Err(error(
                EvaluationErrorCode::TypeMismatch,
                format!(
                    "flag `{flag_key}` is a {} flag; flagc has no struct flags",
                    type_name(&program.flags[i].ty)
                ),
            )),
        }
    }
}

/// A snapshot source a test or service swaps itself.
pub type SwappableProgram = Arc<arc_swap::ArcSwap<Program>>;

//! Every engine, loaded from its own document, with its context built from a [`Person`] and
//! the call its SDK makes to evaluate one flag. The benchmark's timed loops call exactly
//! these functions; [`Engines::answer`] turns their results into comparable [`Answer`]s
//! for the agreement check.

use std::collections::HashMap;

use flagc::model::{Flag, FlagType, FlagValue};
use serde_json::Value as Json;

use crate::scenarios::{Answer, Person};
use crate::{compiled, live};

/// The engines under test, loaded with the scenario flags.
pub struct Engines {
    /// flagc, static mode (`flags!("flags", env = "production")`).
    pub compiled: compiled::flags::Flags,
    /// flagc, dynamic mode (`flags!("flags")`, loaded from `bench/flags`).
    pub live: live::flags::Flags,
    /// unleash-yggdrasil.
    pub unleash: Unleash,
    /// launchdarkly-server-sdk-evaluation.
    pub launchdarkly: LaunchDarkly,
    /// flagd-evaluation-engine.
    pub flagd: Flagd,
}

/// Every engine's context for one person.
pub struct Contexts {
    /// flagc, static mode.
    pub compiled: compiled::flags::Context,
    /// flagc, dynamic mode (also used for lookups by key).
    pub live: live::flags::Context,
    /// Unleash.
    pub unleash: unleash_yggdrasil::Context,
    /// LaunchDarkly.
    pub launchdarkly: launchdarkly_server_sdk_evaluation::Context,
    /// flagd (OpenFeature's evaluation context).
    pub flagd: open_feature::EvaluationContext,
}

/// The engine documents translated from the scenario flags, as text (what each engine
/// loads).
#[derive(Debug, Clone)]
pub struct Documents {
    /// Unleash `ClientFeatures`.
    pub unleash: String,
    /// LaunchDarkly flag data.
    pub launchdarkly: String,
    /// flagd flag definitions.
    pub flagd: String,
}

impl Documents {
    /// Translates `model` for every peer.
    pub fn translate(model: &flagc::Model) -> Result<Documents, String> {
        let text = |doc: Result<Json, Vec<crate::translate::Untranslatable>>| {
            doc.map(|d| d.to_string()).map_err(|errs| {
                errs.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        };
        Ok(Documents {
            unleash: text(crate::translate::unleash::document(model))?,
            launchdarkly: text(crate::translate::launchdarkly::document(model))?,
            flagd: text(crate::translate::flagd::document(model))?,
        })
    }
}

impl Engines {
    /// Loads every engine with the scenario flags (flagc from `bench/flags`, the peers from
    /// their translations of it).
    pub fn load(docs: &Documents) -> Result<Engines, String> {
        let live = live::flags::load(
            crate::flag_dir(),
            live::flags::Statics {
                env: live::flags::Env::Production,
            },
        )
        .map_err(|e| format!("flagc dynamic mode: {e}"))?;
        let compiled = compiled::flags::load(
            "",
            compiled::flags::Statics {
                env: compiled::flags::Env::Production,
            },
        )
        .map_err(|e| format!("flagc static mode: {e}"))?;
        Ok(Engines {
            compiled,
            live,
            unleash: Unleash::load(&docs.unleash)?,
            launchdarkly: LaunchDarkly::load(&docs.launchdarkly)?,
            flagd: Flagd::load(&docs.flagd)?,
        })
    }

    /// Every engine's answer for `key` (`flag` is its definition, `None` for a flag that
    /// does not exist), named by engine, flagc's lookup by key first.
    pub fn answers(
        &self,
        flag: Option<&Flag>,
        key: &str,
        ctx: &Contexts,
    ) -> Vec<(&'static str, Answer)> {
        let ty = flag.map(|f| &f.ty);
        let mut out = vec![(
            "flagc lookup",
            flagc_answer(ty, self.live.rt.lookup(key, &ctx.live)),
        )];
        if let Some(a) = self.typed(key, ctx) {
            out.extend(a);
        }
        out.push(("unleash", self.unleash.answer(flag, key, &ctx.unleash)));
        out.push((
            "launchdarkly",
            self.launchdarkly.answer(key, &ctx.launchdarkly),
        ));
        out.push(("flagd", self.flagd.answer(key, &ctx.flagd)));
        out
    }

    /// The typed accessors' answers (static and dynamic mode), for the scenario flags.
    fn typed(&self, key: &str, ctx: &Contexts) -> Option<[(&'static str, Answer); 2]> {
        use Answer::{Bool, Variant};
        let (c, l) = (&ctx.compiled, &ctx.live);
        let (s, d) = (&self.compiled, &self.live);
        Some(match key {
            "no_rules" => [
                ("flagc static", Bool(s.no_rules(c))),
                ("flagc dynamic", Bool(d.no_rules(l))),
            ],
            "user_in_list" => [
                ("flagc static", Bool(s.user_in_list(c))),
                ("flagc dynamic", Bool(d.user_in_list(l))),
            ],
            "two_conditions" => [
                ("flagc static", Bool(s.two_conditions(c))),
                ("flagc dynamic", Bool(d.two_conditions(l))),
            ],
            "starts_with" => [
                ("flagc static", Bool(s.starts_with(c))),
                ("flagc dynamic", Bool(d.starts_with(l))),
            ],
            "semver_gt" => [
                ("flagc static", Bool(s.semver_gt(c))),
                ("flagc dynamic", Bool(d.semver_gt(l))),
            ],
            "rollout_50" => [
                ("flagc static", Bool(s.rollout_50(c))),
                ("flagc dynamic", Bool(d.rollout_50(l))),
            ],
            "three_way_split" => [
                (
                    "flagc static",
                    Variant(s.three_way_split(c).as_str().to_owned()),
                ),
                (
                    "flagc dynamic",
                    Variant(d.three_way_split(l).as_str().to_owned()),
                ),
            ],
            _ => return None,
        })
    }
}

impl Contexts {
    /// Every engine's context for `p`. Panics on a value a generated setter rejects (an
    /// invalid semver or plan in the scenario data).
    pub fn of(p: &Person) -> Contexts {
        let mut compiled = compiled::flags::Context::new().user_id(p.user_id.as_str());
        let mut live = live::flags::Context::new().user_id(p.user_id.as_str());
        if let Some(v) = &p.email {
            compiled = compiled.email(v.as_str());
            live = live.email(v.as_str());
        }
        if let Some(v) = &p.country {
            compiled = compiled.country(v.as_str());
            live = live.country(v.as_str());
        }
        if let Some(v) = &p.plan {
            compiled = compiled.plan(v.parse().unwrap_or_else(|e| panic!("plan: {e}")));
            live = live.plan(v.parse().unwrap_or_else(|e| panic!("plan: {e}")));
        }
        if let Some(v) = &p.app_version {
            compiled = compiled
                .app_version(v.as_str())
                .unwrap_or_else(|e| panic!("app_version: {e}"));
            live = live
                .app_version(v.as_str())
                .unwrap_or_else(|e| panic!("app_version: {e}"));
        }
        Contexts {
            compiled,
            live,
            unleash: Unleash::context(p),
            launchdarkly: LaunchDarkly::context(p),
            flagd: Flagd::context(p),
        }
    }
}

/// flagc's lookup result as an answer.
pub fn flagc_answer(ty: Option<&FlagType>, v: Option<flagc::ir::Value>) -> Answer {
    match (v, ty) {
        (Some(v), Some(ty)) => match v.to_flag_value() {
            FlagValue::Bool(b) => Answer::Bool(b),
            FlagValue::Enum(i) => match ty {
                FlagType::Enum(names) => Answer::Variant(names[i as usize].clone()),
                _ => Answer::Variant(i.to_string()),
            },
            other => Answer::Variant(other.display(ty).to_string()),
        },
        (Some(_), None) => Answer::Variant("a value for a flag the model does not have".into()),
        (None, _) => Answer::NotFound,
    }
}

/// unleash-yggdrasil's engine, as Unleash's server SDKs embed it.
pub struct Unleash {
    /// The engine with the compiled toggles.
    pub engine: unleash_yggdrasil::EngineState,
}

impl Unleash {
    /// Deserializes a `ClientFeatures` document and compiles it into a fresh engine (what an
    /// SDK does with every poll response). Compile warnings are errors here.
    pub fn load(text: &str) -> Result<Unleash, String> {
        let features: unleash_yggdrasil::ClientFeatures =
            serde_json::from_str(text).map_err(|e| format!("unleash document: {e}"))?;
        let engine = unleash_yggdrasil::EngineState::default();
        let warnings = engine.take_state(unleash_yggdrasil::UpdateMessage::FullResponse(features));
        match warnings {
            Some(w) if !w.is_empty() => Err(format!(
                "unleash: {}",
                w.iter()
                    .map(|w| format!("{}: {}", w.toggle_name, w.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
            _ => Ok(Unleash { engine }),
        }
    }

    /// The identity is `userId`; every other attribute is a context property.
    pub fn context(p: &Person) -> unleash_yggdrasil::Context {
        let properties: HashMap<String, String> = p
            .attributes()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        unleash_yggdrasil::Context {
            user_id: Some(p.user_id.clone()),
            properties: Some(properties),
            ..Default::default()
        }
    }

    /// A bool flag: `is_enabled`, as the SDKs call it.
    #[inline]
    pub fn is_enabled(&self, key: &str, ctx: &unleash_yggdrasil::Context) -> bool {
        self.engine.is_enabled(key, ctx, &None)
    }

    /// An enum flag: `get_variant`, as the SDKs call it.
    #[inline]
    pub fn variant(
        &self,
        key: &str,
        ctx: &unleash_yggdrasil::Context,
    ) -> unleash_yggdrasil::ExtendedVariantDef {
        self.engine.get_variant(key, ctx, &None)
    }

    /// The answer for `flag` (`None`: the key is not a flag). An enum flag whose toggle is
    /// off, or that resolves no variant, has the flag's default.
    pub fn answer(
        &self,
        flag: Option<&Flag>,
        key: &str,
        ctx: &unleash_yggdrasil::Context,
    ) -> Answer {
        let Some(flag) = flag else {
            return match self.engine.resolve(key, ctx, &None) {
                None if !self.is_enabled(key, ctx) => Answer::NotFound,
                _ => Answer::Variant("a toggle that should not exist".into()),
            };
        };
        match &flag.ty {
            FlagType::Enum(names) => {
                let v = self.variant(key, ctx);
                if v.feature_enabled && v.enabled {
                    Answer::Variant(v.name)
                } else {
                    match flag.default {
                        FlagValue::Enum(i) => Answer::Variant(names[i as usize].clone()),
                        _ => Answer::Variant("?".into()),
                    }
                }
            }
            _ => Answer::Bool(self.is_enabled(key, ctx)),
        }
    }
}

/// LaunchDarkly's flag data, held as its server SDK's in-memory store holds it.
#[derive(serde::Deserialize)]
pub struct LdData {
    /// Flags by key.
    pub flags: HashMap<String, launchdarkly_server_sdk_evaluation::Flag>,
    /// Segments by key.
    pub segments: HashMap<String, launchdarkly_server_sdk_evaluation::Segment>,
}

impl launchdarkly_server_sdk_evaluation::Store for LdData {
    fn flag(&self, flag_key: &str) -> Option<launchdarkly_server_sdk_evaluation::Flag> {
        self.flags.get(flag_key).cloned()
    }
    fn segment(&self, segment_key: &str) -> Option<launchdarkly_server_sdk_evaluation::Segment> {
        self.segments.get(segment_key).cloned()
    }
}

/// launchdarkly-server-sdk-evaluation, with the flags in a store.
pub struct LaunchDarkly {
    /// The store.
    pub data: LdData,
}

impl LaunchDarkly {
    /// Deserializes the flag data (what the SDK does with a full payload).
    pub fn load(text: &str) -> Result<LaunchDarkly, String> {
        let data: LdData =
            serde_json::from_str(text).map_err(|e| format!("launchdarkly document: {e}"))?;
        Ok(LaunchDarkly { data })
    }

    /// A `user` context keyed by the user id, every other attribute a custom attribute.
    pub fn context(p: &Person) -> launchdarkly_server_sdk_evaluation::Context {
        let mut b = launchdarkly_server_sdk_evaluation::ContextBuilder::new(p.user_id.as_str());
        for (k, v) in p.attributes() {
            b.set_string(k, v);
        }
        b.build()
            .unwrap_or_else(|e| panic!("launchdarkly context: {e}"))
    }

    /// Looks the flag up by key and evaluates it; `None` when there is no such flag (the SDK
    /// then returns the application's default with `FLAG_NOT_FOUND`). The flag is borrowed
    /// from the store, not cloned, which is cheaper than the SDK's own store access.
    #[inline]
    pub fn evaluate<'a>(
        &'a self,
        key: &str,
        ctx: &'a launchdarkly_server_sdk_evaluation::Context,
    ) -> Option<
        launchdarkly_server_sdk_evaluation::Detail<
            &'a launchdarkly_server_sdk_evaluation::FlagValue,
        >,
    > {
        let flag = self.data.flags.get(key)?;
        Some(launchdarkly_server_sdk_evaluation::evaluate(
            &self.data, flag, ctx, None,
        ))
    }

    /// The answer for `key`.
    pub fn answer(&self, key: &str, ctx: &launchdarkly_server_sdk_evaluation::Context) -> Answer {
        use launchdarkly_server_sdk_evaluation::FlagValue as V;
        match self.evaluate(key, ctx) {
            None => Answer::NotFound,
            Some(detail) => match detail.value {
                Some(V::Bool(b)) => Answer::Bool(*b),
                Some(V::Str(s)) => Answer::Variant(s.clone()),
                other => Answer::Variant(format!("unexpected {other:?} ({:?})", detail.reason)),
            },
        }
    }
}

/// flagd-evaluation-engine, with the flag definitions held as flagd's in-process provider
/// holds them: a map by key, each flag's targeting kept as the JSON text the engine takes.
pub struct Flagd {
    operator: flagd_evaluation_engine::Operator,
    flags: HashMap<String, FlagdFlag>,
}

struct FlagdFlag {
    flag: flagd_evaluation_engine::FeatureFlag,
    /// The targeting rule as JSON text, serialized once at load (the engine's `apply` takes
    /// text and parses and compiles it on every call; that is its only public API).
    targeting: Option<String>,
}

impl Flagd {
    /// Parses the flag definitions (resolving `$evaluators`) and keeps each targeting rule
    /// as text.
    pub fn load(text: &str) -> Result<Flagd, String> {
        let parsed = flagd_evaluation_engine::FlagParser::parse_string(text)
            .map_err(|e| format!("flagd document: {e:?}"))?;
        let flags = parsed
            .flags
            .into_iter()
            .map(|(k, flag)| {
                let targeting = flag.targeting.as_ref().map(ToString::to_string);
                (k, FlagdFlag { flag, targeting })
            })
            .collect();
        Ok(Flagd {
            operator: flagd_evaluation_engine::Operator::new(),
            flags,
        })
    }

    /// The user id is the targeting key; every other attribute a custom field.
    pub fn context(p: &Person) -> open_feature::EvaluationContext {
        let mut ctx =
            open_feature::EvaluationContext::default().with_targeting_key(p.user_id.as_str());
        for (k, v) in p.attributes() {
            ctx = ctx.with_custom_field(k, v);
        }
        ctx
    }

    /// Resolves a flag as flagd's in-process provider does: look it up, run its targeting
    /// (if any), and map the variant name it returns (or the default variant when it returns
    /// `null`) to the variant's value. `None` when there is no such flag.
    #[inline]
    pub fn resolve(
        &self,
        key: &str,
        ctx: &open_feature::EvaluationContext,
    ) -> Option<Result<&Json, String>> {
        let f = self.flags.get(key)?;
        if f.flag.state == "DISABLED" {
            return Some(Err("disabled".into()));
        }
        let variant = match &f.targeting {
            None => None,
            Some(t) => match self.operator.apply(key, t, ctx) {
                Ok(v) => v,
                Err(e) => return Some(Err(format!("{e:?}"))),
            },
        };
        let name = variant.as_deref().unwrap_or(&f.flag.default_variant);
        Some(
            f.flag
                .variants
                .get(name)
                .ok_or_else(|| format!("no variant {name:?}")),
        )
    }

    /// The answer for `key`.
    pub fn answer(&self, key: &str, ctx: &open_feature::EvaluationContext) -> Answer {
        match self.resolve(key, ctx) {
            None => Answer::NotFound,
            Some(Ok(Json::Bool(b))) => Answer::Bool(*b),
            Some(Ok(Json::String(s))) => Answer::Variant(s.clone()),
            Some(Ok(other)) => Answer::Variant(format!("unexpected {other}")),
            Some(Err(e)) => Answer::Variant(format!("error: {e}")),
        }
    }
}

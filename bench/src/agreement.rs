//! The agreement check: nothing is timed unless every engine means the same thing.
//!
//! * For every non-rollout scenario and every context of
//!   [`agreement_people`](crate::scenarios::agreement_people), every engine gives flagc's
//!   answer (and the unknown flag is "not found" everywhere).
//! * For every rollout scenario, each engine splits [`ROLLOUT_SAMPLE`] ids within one
//!   percentage point of the intended shares. The three flagc modes must moreover agree on
//!   every single id (DESIGN §3: one semantics).

use std::collections::BTreeMap;

use flagc::Model;

use crate::engines::{Contexts, Engines};
use crate::scenarios::{
    Answer, Kind, Person, ROLLOUT_SAMPLE, SCENARIOS, agreement_people, sample_id,
};

/// Largest allowed distance between an engine's share and the intended one, in percentage
/// points.
pub const TOLERANCE: f64 = 1.0;

/// What the check saw, for the bench's log.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Number of (scenario, context, engine) answers compared.
    pub compared: usize,
    /// Per rollout scenario and engine: how it split the sample.
    pub splits: Vec<Split>,
}

/// How one engine split the rollout sample of one scenario.
#[derive(Debug, Clone)]
pub struct Split {
    /// The scenario.
    pub scenario: String,
    /// The engine.
    pub engine: String,
    /// Each variant's share, in percent.
    pub shares: Vec<(String, f64)>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "agreement: {} answers equal to flagc's on every non-rollout scenario",
            self.compared
        )?;
        for split in &self.splits {
            let s: Vec<String> = split
                .shares
                .iter()
                .map(|(v, p)| format!("{v} {p:.2} %"))
                .collect();
            writeln!(
                f,
                "agreement: {:<18} {:<14} {}",
                split.scenario,
                split.engine,
                s.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Runs the whole check; the error lists every disagreement.
pub fn check(model: &Model, engines: &Engines) -> Result<Report, Vec<String>> {
    let mut report = Report::default();
    let mut errors = Vec::new();
    let people = agreement_people();
    let contexts: Vec<Contexts> = people.iter().map(Contexts::of).collect();
    for s in SCENARIOS {
        let flag = model.flag(s.key);
        match s.kind {
            Kind::Exact | Kind::Unknown => {
                for (p, ctx) in people.iter().zip(&contexts) {
                    let answers = engines.answers(flag, s.key, ctx);
                    let expected = match s.kind {
                        Kind::Unknown => Answer::NotFound,
                        _ => answers[0].1.clone(),
                    };
                    if s.kind == Kind::Exact && expected == Answer::NotFound {
                        errors.push(format!("{}: flagc has no flag `{}`", s.name, s.key));
                    }
                    for (engine, a) in &answers {
                        report.compared += 1;
                        if *a != expected {
                            errors.push(format!(
                                "{}: {engine} answers {a}, flagc {expected}, for {p:?}",
                                s.name
                            ));
                        }
                    }
                }
            }
            Kind::Rollout => rollout(s, flag, engines, &mut report, &mut errors),
        }
    }
    if errors.is_empty() {
        Ok(report)
    } else {
        Err(errors)
    }
}

fn rollout(
    s: &crate::scenarios::Scenario,
    flag: Option<&flagc::model::Flag>,
    engines: &Engines,
    report: &mut Report,
    errors: &mut Vec<String>,
) {
    let mut counts: BTreeMap<&'static str, BTreeMap<String, usize>> = BTreeMap::new();
    let mut order: Vec<&'static str> = Vec::new();
    let mut mismatched_ids = 0usize;
    for i in 0..ROLLOUT_SAMPLE {
        let ctx = Contexts::of(&Person::id(sample_id(i)));
        let answers = engines.answers(flag, s.key, &ctx);
        let flagc: Vec<&Answer> = answers
            .iter()
            .filter(|(e, _)| e.starts_with("flagc"))
            .map(|(_, a)| a)
            .collect();
        if flagc.windows(2).any(|w| w[0] != w[1]) {
            mismatched_ids += 1;
        }
        for (engine, a) in answers {
            if !order.contains(&engine) {
                order.push(engine);
            }
            *counts
                .entry(engine)
                .or_default()
                .entry(a.to_string())
                .or_default() += 1;
        }
    }
    if mismatched_ids > 0 {
        errors.push(format!(
            "{}: flagc's static, dynamic and lookup answers differ for {mismatched_ids} ids",
            s.name
        ));
    }
    for engine in order {
        let c = &counts[engine];
        let mut shares = Vec::new();
        for (variant, intended) in s.shares {
            let n = c.get(*variant).copied().unwrap_or(0);
            let share = n as f64 * 100.0 / ROLLOUT_SAMPLE as f64;
            if (share - intended).abs() > TOLERANCE {
                errors.push(format!(
                    "{}: {engine} gives `{variant}` to {share:.2} % of {ROLLOUT_SAMPLE} ids, \
                     not {intended} % ± {TOLERANCE}",
                    s.name
                ));
            }
            shares.push(((*variant).to_owned(), share));
        }
        let others: usize = c
            .iter()
            .filter(|(v, _)| !s.shares.iter().any(|(name, _)| name == v))
            .map(|(_, n)| n)
            .sum();
        if others > 0 {
            errors.push(format!(
                "{}: {engine} gives {others} ids an answer outside the split: {c:?}",
                s.name
            ));
        }
        report.splits.push(Split {
            scenario: s.name.to_owned(),
            engine: engine.to_owned(),
            shares,
        });
    }
}

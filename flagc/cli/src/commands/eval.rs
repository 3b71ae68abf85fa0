//! `flagc eval [DIR] --flag KEY --static k=v --context k=v [--explain]`: one flag's value and
//! why; `--contexts FILE.jsonl` evaluates many, one JSON result a line.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use flagc::Checked;
use flagc::compile::{Statics, compile};
use flagc::eval::Context;
use flagc::interp::{self, Verdict};
use flagc::ir::{Layout, Program};
use flagc::model::Model;
use serde_json::{Value as Json, json};

use super::{DEFAULT_DIR, Exit, io_reason, trouble};

/// Arguments of `flagc eval`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  flagc eval --flag new_checkout --static env=production --static region=eu --context user_id=u-1 --explain
  flagc eval --contexts requests.jsonl --static env=production --static region=eu

Context values are parsed by the manifest's types: numbers for int and float, true/false for
bool, semver and RFC 3339 datetimes validated, enum values by name, and comma-separated
elements for string[].

Batch mode reads one JSON object a line: {\"flag\": KEY, \"static\": {...}, \"context\": {...}}
(a null context value means unset; `static` may be left out when --static gives every value)
and prints, in input order, {\"flag\": KEY, \"value\": V, \"rule\": INDEX_OR_NULL} (with
\"rule_id\" when the deciding rule has an id), or {\"flag\": KEY, \"error\": \"...\"} for a bad
line. `rule` is the 0-based index of the deciding rule in the flag's rules as written; null
means the default decided.

Exit status: 0 evaluated, 1 invalid flags or a failed line, 2 usage or I/O error.")]
pub struct Args {
    /// The flag directory (the one holding `flagc.toml`)
    #[arg(default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// The flag to evaluate
    #[arg(
        long,
        required_unless_present = "contexts",
        conflicts_with = "contexts"
    )]
    pub flag: Option<String>,
    /// A static attribute's value, `name=value` (repeat for each static attribute)
    #[arg(long = "static", value_name = "NAME=VALUE", value_parser = parse_pair)]
    pub statics: Vec<(String, String)>,
    /// A context attribute's value, `name=value` (repeat; attributes not given are unset)
    #[arg(long = "context", value_name = "NAME=VALUE", value_parser = parse_pair)]
    pub context: Vec<(String, String)>,
    /// Show the deciding rule with its file and line, and why each earlier rule did not fire
    #[arg(long)]
    pub explain: bool,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
    /// Evaluate every line of a JSONL file (`-` for standard input)
    #[arg(long, value_name = "FILE.jsonl")]
    pub contexts: Option<PathBuf>,
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("expected NAME=VALUE, found `{s}`")),
    }
}

/// Runs `flagc eval`.
pub fn run(args: &Args) -> Exit {
    let checked = match super::load_valid(&args.dir) {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    let Some(model) = checked.model.as_ref() else {
        return Exit::Invalid;
    };
    match &args.contexts {
        Some(file) => batch(model, args, file),
        None => single(model, &checked, args),
    }
}

fn statics_or_report(model: &Model, pairs: &[(String, String)]) -> Result<Statics, String> {
    Statics::from_pairs(
        &model.manifest,
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )
    .map_err(|errors| {
        errors
            .iter()
            .map(|e| match e.help() {
                Some(h) => format!("{e}\n  help: {h}"),
                None => e.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

fn unknown_flag(model: &Model, key: &str) -> String {
    let mut text = format!("unknown flag `{key}`");
    if let Some(h) = flagc::diag::did_you_mean(key, model.flags.iter().map(|f| f.key.as_str())) {
        text.push_str("\n  help: ");
        text.push_str(&h);
    }
    text
}

fn single(model: &Model, checked: &Checked, args: &Args) -> Exit {
    let Some(key) = args.flag.as_deref() else {
        return trouble("give --flag KEY, or --contexts FILE.jsonl");
    };
    let Some(index) = model.flag_index(key) else {
        return trouble(unknown_flag(model, key));
    };
    let statics = match statics_or_report(model, &args.statics) {
        Ok(s) => s,
        Err(e) => return trouble(e),
    };
    let layout = Layout::of(&model.manifest);
    let mut ctx = Context::new(&layout);
    for (name, value) in &args.context {
        if let Err(e) = ctx.set_text(name, value) {
            let mut text = format!("--context {name}={value}: {e}");
            if let Some(h) = e.help() {
                text.push_str("\n  help: ");
                text.push_str(&h);
            }
            return trouble(text);
        }
    }
    let program = compile(model, &statics, &layout);
    let evaluation = program.eval(index, &ctx);
    let flag = &model.flags[index];
    let value = evaluation.value.to_json(&flag.ty);
    let rule_id = evaluation
        .rule
        .and_then(|r| flag.rules.get(r))
        .and_then(|r| r.id.clone());

    let mut out = String::new();
    if args.json {
        let mut obj = json!({ "flag": key, "value": value, "rule": evaluation.rule });
        if let Some(id) = &rule_id {
            obj["rule_id"] = json!(id);
        }
        if args.explain {
            obj["explain"] = json!(explanation_lines(
                model, checked, &statics, index, &ctx, &args.dir
            ));
        }
        out.push_str(&obj.to_string());
        out.push('\n');
    } else {
        out.push_str(&plain(&value));
        out.push('\n');
        if args.explain {
            for line in explanation_lines(model, checked, &statics, index, &ctx, &args.dir) {
                out.push_str("  ");
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    let mut stdout = io::stdout();
    match stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => trouble(io_reason(&e)),
        _ => Exit::Ok,
    }
}

/// A JSON value as a person would read it on a command line (strings bare).
fn plain(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn explanation_lines(
    model: &Model,
    checked: &Checked,
    statics: &Statics,
    index: usize,
    ctx: &Context<'_>,
    dir: &Path,
) -> Vec<String> {
    let Some(exp) = interp::explain(model, statics, index, ctx) else {
        return Vec::new();
    };
    let flag = &model.flags[index];
    let place = |loc: &flagc::model::Loc| {
        let line = checked
            .sources
            .get(&loc.file)
            .map_or(0, |f| f.line_col(loc.span.start).0);
        format!("{}:{line}", dir.join(&loc.file).display())
    };
    let mut lines = Vec::new();
    for t in &exp.trace {
        let what = match &t.verdict {
            Verdict::Failed { condition, reason } => {
                format!("skipped: {reason} (condition at {})", place(condition))
            }
            v => v.to_string(),
        };
        lines.push(format!("{} ({}): {what}", t.label, place(&t.loc)));
    }
    match exp.rule.and_then(|r| flag.rules.get(r)) {
        Some(rule) => lines.push(format!(
            "decided by {} at {}: {}",
            rule.label(),
            place(&rule.loc),
            exp.value.display(&flag.ty)
        )),
        None => lines.push(format!(
            "no rule decided: the default {} (flag `{}` at {})",
            exp.value.display(&flag.ty),
            flag.key,
            place(&flag.loc)
        )),
    }
    lines
}

fn batch(model: &Model, args: &Args, file: &Path) -> Exit {
    let reader: Box<dyn BufRead> = if file == Path::new("-") {
        Box::new(BufReader::new(io::stdin()))
    } else {
        match File::open(file) {
            Ok(f) => Box::new(BufReader::new(f)),
            Err(e) => {
                return trouble(format_args!(
                    "cannot read `{}`: {}",
                    file.display(),
                    io_reason(&e)
                ));
            }
        }
    };
    let layout = Layout::of(&model.manifest);
    let mut programs: HashMap<Vec<(String, String)>, Result<Program, String>> = HashMap::new();
    let mut failed = false;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    for (n, line) in reader.lines().enumerate() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                return trouble(format_args!(
                    "cannot read line {}: {}",
                    n + 1,
                    io_reason(&e)
                ));
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let result = eval_line(model, &layout, &args.statics, &mut programs, &line);
        if result.get("error").is_some() {
            failed = true;
        }
        if let Err(e) = writeln!(out, "{result}") {
            if e.kind() == io::ErrorKind::BrokenPipe {
                return Exit::Ok;
            }
            return trouble(io_reason(&e));
        }
    }
    if let Err(e) = out.flush()
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        return trouble(io_reason(&e));
    }
    if failed { Exit::Invalid } else { Exit::Ok }
}

fn eval_line(
    model: &Model,
    layout: &Layout,
    default_statics: &[(String, String)],
    programs: &mut HashMap<Vec<(String, String)>, Result<Program, String>>,
    line: &str,
) -> Json {
    let input: Json = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return json!({ "flag": Json::Null, "error": format!("invalid JSON: {e}") }),
    };
    let key = input.get("flag").cloned().unwrap_or(Json::Null);
    let fail = |message: String| json!({ "flag": key, "error": message });
    let Some(name) = key.as_str() else {
        return fail("missing \"flag\" (a string)".to_owned());
    };
    let Some(index) = model.flag_index(name) else {
        return fail(unknown_flag(model, name).replace("\n  help: ", "; "));
    };
    // Statics: the line's, over the command line's defaults.
    let mut pairs: Vec<(String, String)> = default_statics.to_vec();
    match input.get("static") {
        None | Some(Json::Null) => {}
        Some(Json::Object(m)) => {
            for (k, v) in m {
                let Some(v) = v.as_str() else {
                    return fail(format!("static `{k}` must be a string"));
                };
                pairs.retain(|(dk, _)| dk != k);
                pairs.push((k.clone(), v.to_owned()));
            }
        }
        Some(_) => return fail("\"static\" must be an object".to_owned()),
    }
    pairs.sort();
    let program = programs.entry(pairs.clone()).or_insert_with(|| {
        statics_or_report(model, &pairs)
            .map(|st| compile(model, &st, layout))
            .map_err(|e| e.replace("\n  help: ", "; ").replace('\n', "; "))
    });
    let program = match program {
        Ok(p) => p,
        Err(e) => return fail(e.clone()),
    };
    let ctx = match input.get("context") {
        None | Some(Json::Null) => Context::new(layout),
        Some(c) => match Context::from_json(layout, c) {
            Ok(ctx) => ctx,
            Err(e) => return fail(e.to_string()),
        },
    };
    let flag = &model.flags[index];
    let evaluation = program.eval(index, &ctx);
    let mut obj = json!({ "flag": name, "value": evaluation.value.to_json(&flag.ty), "rule": evaluation.rule });
    if let Some(id) = evaluation
        .rule
        .and_then(|r| flag.rules.get(r))
        .and_then(|r| r.id.clone())
    {
        obj["rule_id"] = json!(id);
    }
    obj
}

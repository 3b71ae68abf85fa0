//! `matches` patterns in both modes agree with the `regex` crate: static mode lowers most of
//! `flags/patterns` to native slice patterns (`flagc::codegen`'s pattern lowering), dynamic
//! mode searches with the runtime's DFA. Every flag is tried on hand-picked texts and on
//! 20,000 generated ones over the patterns' own alphabet.

use std::path::Path;

use flagc::model::{Condition, Op, StrOp};
use flagc_accessor_tests::rng::Rng;
use flagc_accessor_tests::{patterns, patterns_static};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/flags/patterns");

/// `(key, static accessor, dynamic accessor)` for every flag of `flags/patterns`.
macro_rules! table {
    ($($key:ident,)*) => {
        [$((
            stringify!($key),
            (|f, c| patterns_static::flags::Flags::$key(f, c))
                as fn(&patterns_static::flags::Flags, &patterns_static::flags::Context) -> bool,
            (|f, c| patterns::flags::Flags::$key(f, c))
                as fn(&patterns::flags::Flags, &patterns::flags::Context) -> bool,
        ),)*]
    };
}

/// The pattern of flag `key`'s one rule (`text = { matches = '…' }`), as the files say.
fn pattern_of(model: &flagc::Model, key: &str) -> String {
    let flag = model.flag(key).expect("a flag of flags/patterns");
    match &flag.rules[0].when[0] {
        Condition::Attr { ops, .. } => match &ops[0] {
            Op::Str(StrOp::Matches, patterns) => patterns[0].clone(),
            other => panic!("{key}: expected a `matches` test, found {other:?}"),
        },
        other => panic!("{key}: expected a condition on `text`, found {other:?}"),
    }
}

/// A text of up to 16 pieces from the patterns' alphabets, whole literals included.
fn text(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "a",
        "b",
        "q",
        "x",
        "y",
        "z",
        "u",
        "-",
        "V",
        "0",
        "1",
        "6",
        "7",
        "9",
        "é",
        "e",
        ".",
        "@",
        "/",
        "A",
        "B",
        "C",
        "c",
        "\n",
        "٣",
        "Version/",
        "@corp",
        "@contractors",
        ".example",
        "aa",
        "u-1",
        "ab",
        "Version/1",
        "K",
    ];
    (0..rng.below(17))
        .filter_map(|_| rng.pick(PIECES).copied())
        .collect()
}

#[test]
fn both_modes_agree_with_the_regex_crate() {
    let table = table! {
        version_tail,
        domain_suffix,
        anchored_start,
        exact,
        periodic_prefix,
        prefix_then_class,
        folded_tail,
        non_ascii_prefix,
        start_alternatives,
        end_alternatives,
        byte_class,
        unicode_digits,
        any_char,
        no_literal,
        unbounded,
    };
    let fixed = patterns_static::flags::load("", patterns_static::flags::Statics {})
        .expect("static mode needs no files");
    let live =
        patterns::flags::load(DIR, patterns::flags::Statics {}).expect("flags/patterns loads");
    let keys: Vec<&str> = live
        .rt
        .spec()
        .flags
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    let mut listed: Vec<&str> = table.iter().map(|t| t.0).collect();
    listed.sort_unstable();
    let mut all = keys.clone();
    all.sort_unstable();
    assert_eq!(listed, all, "the table lists every flag of flags/patterns");

    let hand_picked = [
        "",
        "aab",
        "aaab",
        "aaaab",
        "Version/17.1",
        "Version/15.1",
        "Version/1Version/16.",
        "Version/100.0",
        "u-123",
        "xu-123",
        "u-12",
        "a@corp.example",
        "@corp.example.org",
        "x@contractors.example",
        "ab",
        "ab\n",
        "xabc",
        "xAbC",
        "éa",
        "eé",
        "yz",
        "wyz",
        "x",
        "qa",
        "q",
        "12",
        "٣٣",
        "a\nb",
        "aéb",
        "9x",
        "abbb",
        "K",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let texts: Vec<String> = hand_picked
        .iter()
        .map(|t| (*t).to_owned())
        .chain((0..20_000).map(|_| text(&mut rng)))
        .collect();
    let checked = flagc::check_dir(Path::new(DIR), &flagc::CheckOptions::default())
        .expect("flags/patterns is readable");
    let model = checked.model.as_ref().expect("flags/patterns is valid");

    // What static mode made of the patterns: eleven lowered (six searched for their literal,
    // five slice patterns at an anchored end), four left to the runtime's DFA.
    let code = flagc::codegen::generate(
        model,
        &checked.sources,
        &flagc::codegen::Options {
            dir: "flags/patterns".to_owned(),
            statics: Some(Vec::new()),
            today: flagc::check::today_utc(),
        },
    )
    .expect("static mode generates")
    .to_string();
    let count = |needle: &str| code.matches(needle).count();
    assert_eq!(
        count("__private :: any_after ("),
        6,
        "searched for a literal"
    );
    assert_eq!(
        count("matches ! (v . as_bytes ()"),
        5,
        "slice patterns at an end"
    );
    assert_eq!(count("__private :: Pattern :: new ("), 4, "left to the DFA");
    let patterns: Vec<String> = table.iter().map(|t| pattern_of(model, t.0)).collect();
    let regexes: Vec<regex::Regex> = patterns
        .iter()
        .map(|p| regex::Regex::new(p).expect("valid"))
        .collect();
    let mut matched = vec![0usize; table.len()];
    for text in &texts {
        let sctx = patterns_static::flags::Context::new().text(text.as_str());
        let dctx = patterns::flags::Context::new().text(text.as_str());
        for (k, (key, static_fn, dynamic_fn)) in table.iter().enumerate() {
            let pattern = &patterns[k];
            let want = regexes[k].is_match(text);
            assert_eq!(
                static_fn(&fixed, &sctx),
                want,
                "static {key} ({pattern}) on {text:?}"
            );
            assert_eq!(
                dynamic_fn(&live, &dctx),
                want,
                "dynamic {key} ({pattern}) on {text:?}"
            );
            matched[k] += usize::from(want);
        }
    }
    for ((key, ..), n) in table.iter().zip(&matched) {
        assert!(
            *n >= 5,
            "{key}: the texts match it only {n} times; the test would not tell"
        );
    }
}

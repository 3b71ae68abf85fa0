//! `matches` patterns in both modes agree with the `regex` crate: static mode lowers most of
//! `flags/patterns` to native slice patterns (`flagc::codegen`'s pattern lowering), dynamic
//! mode searches with the runtime's DFA. Every flag is tried on hand-picked texts and on
//! 20,000 generated ones over the patterns' own alphabet.

use flagc_accessor_tests::{patterns, patterns_static};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/flags/patterns");

/// `(key, pattern, static accessor, dynamic accessor)` for every flag of `flags/patterns`.
macro_rules! table {
    ($($key:ident: $pattern:literal,)*) => {
        [$((
            stringify!($key),
            $pattern,
            (|f, c| patterns_static::flags::Flags::$key(f, c))
                as fn(&patterns_static::flags::Flags, &patterns_static::flags::Context) -> bool,
            (|f, c| patterns::flags::Flags::$key(f, c))
                as fn(&patterns::flags::Flags, &patterns::flags::Context) -> bool,
        ),)*]
    };
}

/// A small deterministic generator (xorshift), so that failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A text of up to 16 pieces from the patterns' alphabets, whole literals included.
    fn text(&mut self) -> String {
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
        let n = self.next() % 17;
        (0..n)
            .map(|_| PIECES[(self.next() % PIECES.len() as u64) as usize])
            .collect()
    }
}

#[test]
fn both_modes_agree_with_the_regex_crate() {
    let table = table! {
        version_tail: r"Version/(1[6-9]|[2-9][0-9])\.",
        domain_suffix: r"@(corp|contractors)\.example$",
        anchored_start: r"^u-[0-9]{3}",
        exact: r"^ab$",
        periodic_prefix: r"aab",
        prefix_then_class: r"aa(b|c)",
        folded_tail: r"x(?i)abc",
        non_ascii_prefix: r"é[a-c]",
        start_alternatives: r"^(x|yz)",
        end_alternatives: r"(x|yz)$",
        byte_class: r"q(?-u:[a-c])",
        unicode_digits: r"\d{2}",
        any_char: r"a.b",
        no_literal: r"[0-9]x",
        unbounded: r"ab+$",
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
        .chain((0..20_000).map(|_| rng.text()))
        .collect();
    let regexes: Vec<regex::Regex> = table
        .iter()
        .map(|t| regex::Regex::new(t.1).expect("valid"))
        .collect();
    let mut matched = vec![0usize; table.len()];
    for text in &texts {
        let sctx = patterns_static::flags::Context::new().text(text.as_str());
        let dctx = patterns::flags::Context::new().text(text.as_str());
        for (k, (key, pattern, static_fn, dynamic_fn)) in table.iter().enumerate() {
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

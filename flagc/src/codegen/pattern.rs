//! Static mode's native code for `matches` patterns of a common shape: a literal followed by
//! a short tail of fixed length (`Version/(1[6-9]|[2-9][0-9])\.`), or a fixed-length pattern
//! anchored at either end (`@(corp|contractors)\.example$`, `^u-[0-9]{3}`).
//!
//! Such a pattern's language is a handful of byte sequences, each position one ASCII byte
//! class or one literal byte. The generated code is a slice pattern (`matches!(bytes, [b'1',
//! b'6'..=b'9', b'.', ..] | …)`) tried where the literal occurs (a `memchr` substring search,
//! overlapping occurrences included) or at the anchored end, instead of a DFA walk. Any other
//! pattern keeps the runtime's [`Pattern`](crate::ir::Pattern).
//!
//! **Invariant:** [`lower`] returns `Some` only when the slice patterns accept exactly the
//! strings the `regex` crate's unanchored `is_match` accepts. So only ASCII classes (a
//! Unicode class such as `\d`, `.` or a case-folded `k` spans several byte lengths), literal
//! bytes of any kind (a UTF-8 sequence starting with a lead byte only matches at a character
//! boundary), exact repetitions, and `^`/`$` as the pattern's first and last items.

use proc_macro2::{Literal, TokenStream};
use quote::quote;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// The most alternatives a pattern expands to (`(a|b)(c|d)` is four).
const MAX_ALTS: usize = 16;
/// The longest alternative, in bytes.
const MAX_LEN: usize = 64;

/// One position of an alternative: the bytes it accepts, as inclusive ranges.
type ByteClass = Vec<(u8, u8)>;

/// A pattern lowered to fixed-length alternatives.
#[derive(Debug, PartialEq)]
pub(super) struct Lowered {
    /// `^`: a match starts at the start of the text.
    start: bool,
    /// `$`: a match ends at the end of the text.
    end: bool,
    /// Every match is one of these, none empty.
    alts: Vec<Vec<ByteClass>>,
}

/// `source` lowered, when it has the shape this module handles (see the module's invariant).
pub(super) fn lower(source: &str) -> Option<Lowered> {
    let hir = regex_syntax::Parser::new().parse(source).ok()?;
    let mut items: Vec<&Hir> = match hir.kind() {
        HirKind::Concat(items) => items.iter().collect(),
        _ => vec![&hir],
    };
    let start = matches!(
        items.first().map(|h| h.kind()),
        Some(HirKind::Look(Look::Start))
    );
    if start {
        items.remove(0);
    }
    let end = matches!(
        items.last().map(|h| h.kind()),
        Some(HirKind::Look(Look::End))
    );
    if end {
        items.pop();
    }
    let lowered = Lowered {
        start,
        end,
        alts: expand_seq(items)?,
    };
    let usable = !lowered.alts.is_empty()
        && lowered.alts.iter().all(|a| !a.is_empty())
        && (start || end || !lowered.prefix().is_empty());
    usable.then_some(lowered)
}

/// The alternatives `h` matches, if it only matches fixed-length sequences of ASCII classes
/// and literal bytes, within the limits.
fn expand(h: &Hir) -> Option<Vec<Vec<ByteClass>>> {
    match h.kind() {
        HirKind::Empty => Some(vec![Vec::new()]),
        HirKind::Literal(lit) => Some(vec![lit.0.iter().map(|&b| vec![(b, b)]).collect()]),
        HirKind::Class(class) => {
            let ranges: Option<ByteClass> = match class {
                Class::Unicode(c) => c
                    .ranges()
                    .iter()
                    .map(|r| Some((ascii(u32::from(r.start()))?, ascii(u32::from(r.end()))?)))
                    .collect(),
                Class::Bytes(c) => c
                    .ranges()
                    .iter()
                    .map(|r| Some((ascii(r.start().into())?, ascii(r.end().into())?)))
                    .collect(),
            };
            ranges.filter(|r| !r.is_empty()).map(|r| vec![vec![r]])
        }
        HirKind::Capture(c) => expand(&c.sub),
        HirKind::Concat(items) => expand_seq(items),
        HirKind::Alternation(items) => {
            let mut all = Vec::new();
            for h in items {
                all.extend(expand(h)?);
                if all.len() > MAX_ALTS {
                    return None;
                }
            }
            Some(all)
        }
        HirKind::Repetition(r) if Some(r.min) == r.max && r.min as usize <= MAX_LEN => {
            let sub = expand(&r.sub)?;
            (0..r.min).try_fold(vec![Vec::new()], |acc, _| concat(&acc, &sub))
        }
        HirKind::Repetition(_) | HirKind::Look(_) => None,
    }
}

/// Every alternative of `items` one after the other, within the limits.
fn expand_seq<'h>(items: impl IntoIterator<Item = &'h Hir>) -> Option<Vec<Vec<ByteClass>>> {
    items
        .into_iter()
        .try_fold(vec![Vec::new()], |acc, h| concat(&acc, &expand(h)?))
}

/// The code point or byte `c` as a byte, if ASCII.
fn ascii(c: u32) -> Option<u8> {
    u8::try_from(c).ok().filter(u8::is_ascii)
}

/// Every `a` followed by every `b`, within the limits.
fn concat(a: &[Vec<ByteClass>], b: &[Vec<ByteClass>]) -> Option<Vec<Vec<ByteClass>>> {
    if a.len() * b.len() > MAX_ALTS {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            if x.len() + y.len() > MAX_LEN {
                return None;
            }
            out.push(x.iter().chain(y).cloned().collect());
        }
    }
    Some(out)
}

impl Lowered {
    /// The literal every alternative starts with.
    fn prefix(&self) -> Vec<u8> {
        let first = &self.alts[0];
        let mut prefix = Vec::new();
        for (i, class) in first.iter().enumerate() {
            let &[(lo, hi)] = class.as_slice() else { break };
            if lo != hi || !self.alts.iter().all(|a| a.get(i) == Some(class)) {
                break;
            }
            prefix.push(lo);
        }
        prefix
    }

    /// The code testing `s` (a `&str`).
    pub(super) fn tokens(&self, s: &TokenStream) -> TokenStream {
        let p = quote!(::flagc::runtime::__private);
        if self.start || self.end {
            let pats = self.alts.iter().map(|alt| {
                let items = alt.iter().map(class_tokens);
                match (self.start, self.end) {
                    (true, true) => quote!([#(#items),*]),
                    (true, false) => quote!([#(#items,)* ..]),
                    _ => quote!([.., #(#items),*]),
                }
            });
            return quote!(::core::matches!(#s.as_bytes(), #(#pats)|*));
        }
        let prefix = self.prefix();
        let skip = prefix.len();
        let tails = self.alts.iter().map(|alt| {
            let items = alt[skip..].iter().map(class_tokens);
            quote!([#(#items,)* ..])
        });
        let needle = Literal::byte_string(&prefix);
        quote! {{
            static FIND: #p::LazyLock<#p::Finder<'static>> =
                #p::LazyLock::new(|| #p::Finder::new(#needle));
            #p::any_after(#s, &FIND, |t| ::core::matches!(t, #(#tails)|*))
        }}
    }

    /// What the generated code computes, for the tests that compare it with the `regex`
    /// crate over many texts (the accessor tests compare the generated code itself).
    #[cfg(test)]
    fn is_match(&self, s: &str) -> bool {
        let b = s.as_bytes();
        let fits = |alt: &[ByteClass], t: &[u8]| {
            alt.len() <= t.len()
                && alt
                    .iter()
                    .zip(t)
                    .all(|(class, &x)| class.iter().any(|&(lo, hi)| (lo..=hi).contains(&x)))
        };
        self.alts.iter().any(|alt| match (self.start, self.end) {
            (true, true) => alt.len() == b.len() && fits(alt, b),
            (true, false) => fits(alt, b),
            (false, true) => b.len() >= alt.len() && fits(alt, &b[b.len() - alt.len()..]),
            (false, false) => (0..b.len()).any(|i| fits(alt, &b[i..])),
        })
    }
}

/// One position's pattern: `b'x'`, `b'0'..=b'9'`, or several joined by `|`.
fn class_tokens(class: &ByteClass) -> TokenStream {
    let ranges = class.iter().map(|&(lo, hi)| {
        let (l, h) = (Literal::byte_character(lo), Literal::byte_character(hi));
        if lo == hi {
            quote!(#l)
        } else {
            quote!(#l..=#h)
        }
    });
    quote!(#(#ranges)|*)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Patterns of flag files: which lower, and what to.
    #[test]
    fn the_common_shapes_lower_and_the_rest_do_not() {
        let v = lower(r"Version/(1[6-9]|[2-9][0-9])\.").unwrap();
        assert_eq!((v.start, v.end, v.alts.len()), (false, false, 2));
        assert_eq!(v.prefix(), b"Version/");
        let v = lower(r"@(corp|contractors)\.example$").unwrap();
        assert_eq!((v.start, v.end, v.alts.len()), (false, true, 2));
        let v = lower(r"^u-[0-9]{3}").unwrap();
        assert_eq!((v.start, v.end, v.alts[0].len()), (true, false, 5));
        for p in [
            r"\d{2}",                   // Unicode digits: not one byte each
            r"a.b",                     // any character
            r"(?i)kelvin",              // `k` folds to the Kelvin sign
            r"[0-9]x",                  // unanchored, no literal to search for
            r"ab+",                     // unbounded
            r"a(?m)^b",                 // a look-around inside
            r"\bword\b",                // word boundaries
            r"",                        // empty
            r"^$",                      // empty alternative
            r"(a|b|c|d|e)(a|b|c|d|e)x", // 25 alternatives
        ] {
            assert_eq!(lower(p), None, "{p:?} should not lower");
        }
    }

    /// The generated code's token shape for each case.
    #[test]
    fn tokens_are_slice_patterns() {
        let s = quote!(v);
        let code = lower(r"Version/(1[6-9]|[2-9][0-9])\.")
            .unwrap()
            .tokens(&s)
            .to_string();
        assert!(code.contains(r#"Finder :: new (b"Version/")"#), "{code}");
        assert!(
            code.contains("[b'1' , b'6' ..= b'9' , b'.' , ..] | [b'2' ..= b'9'"),
            "{code}"
        );
        let code = lower(r"\.example$").unwrap().tokens(&s).to_string();
        assert!(
            code.starts_with(":: core :: matches ! (v . as_bytes () , [.. , b'.'"),
            "{code}"
        );
    }

    const PATTERNS: &[&str] = &[
        r"Version/(1[6-9]|[2-9][0-9])\.",
        r"@(corp|contractors)\.example$",
        r"^u-[0-9]{3}",
        r"^ab$",
        r"aab",
        r"aa(b|c)",
        r"x(?i)abc",
        r"é[a-c]",
        r"^(x|yz)",
        r"(x|yz)$",
        r"q(?-u:[a-c])",
        r"a\.",
    ];

    /// Lowered patterns agree with the `regex` crate on hand-picked texts.
    #[test]
    fn lowered_patterns_agree_with_the_regex_crate_on_edge_cases() {
        let texts = [
            "",
            "a",
            "aab",
            "aaab",
            "aaaab",
            "ab",
            "xab",
            "aa",
            "aaa",
            "aab\n",
            "Version/17.1",
            "Version/15.1",
            "Version/1Version/16.",
            "u-123",
            "u-12",
            "xu-123",
            "a@corp.example",
            "@corp.example.org",
            "ABC",
            "aBc",
            "éa",
            "éé",
            "eb",
            "x",
            "yz",
            "wyz",
            "zz",
            "{z",
            "qcq",
            "a.",
            "a",
        ];
        for p in PATTERNS {
            let lowered = lower(p).unwrap_or_else(|| panic!("{p:?} should lower"));
            let re = regex::Regex::new(p).unwrap();
            for t in texts {
                assert_eq!(lowered.is_match(t), re.is_match(t), "{p:?} on {t:?}");
            }
        }
    }

    proptest! {
        /// ... and on random texts over the patterns' own alphabet.
        #[test]
        fn lowered_patterns_agree_with_the_regex_crate(
            p in proptest::sample::select(PATTERNS),
            t in "[abqxyzuV0-9é.@/\\-ersion]{0,14}",
        ) {
            let lowered = lower(p).unwrap();
            prop_assert_eq!(lowered.is_match(&t), regex::Regex::new(p).unwrap().is_match(&t));
        }
    }
}

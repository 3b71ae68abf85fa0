//! Compiled string searches: `matches` patterns and `contains` needles, built once when a
//! program is compiled so that evaluating them allocates nothing and builds nothing.

use std::fmt;
use std::sync::OnceLock;

use memchr::memmem;
use regex_automata::dfa::{Automaton, dense};
use regex_automata::{Input, nfa::thompson, util::syntax};

/// The most memory one pattern's DFA may take; a pattern whose DFA would be bigger (large
/// Unicode classes, long counted repetitions) uses the `regex` crate instead.
const DFA_SIZE_LIMIT: usize = 256 * 1024;
/// The most memory building one DFA may use along the way.
const DETERMINIZE_SIZE_LIMIT: usize = 2 * 1024 * 1024;
/// The biggest NFA a DFA is attempted from (the `regex` crate allows 10 MiB, and then
/// handles such a pattern itself).
const NFA_SIZE_LIMIT: usize = 512 * 1024;

/// A `matches` pattern (the `regex` crate's syntax and semantics: an unanchored search,
/// Unicode-aware), compiled.
///
/// Most patterns in flag files (a domain suffix, a version range) become a fully built DFA:
/// a search is a walk over a table, skipping with `memchr` where the DFA would loop, with no
/// per-thread cache to fetch and no lock. Patterns the DFA cannot express within its size
/// limit, or at all (Unicode word boundaries), use `regex::Regex`.
#[derive(Clone)]
pub struct Pattern {
    source: Box<str>,
    engine: Engine,
}

#[derive(Clone)]
enum Engine {
    /// The DFA, and the `regex` crate's engine built only if a DFA search ever reports an
    /// error (it cannot, as built here: no quit bytes, no size-bounded cache).
    Dfa(Box<dense::DFA<Vec<u32>>>, OnceLock<Option<regex::Regex>>),
    Regex(regex::Regex),
    /// Matches nothing (a pattern the generated code could not build, which a checked model
    /// never has).
    Never,
}

impl Pattern {
    /// Compiles `source`; the error is the `regex` crate's, for a pattern it rejects.
    pub fn new(source: &str) -> Result<Pattern, regex::Error> {
        let engine = match dfa(source) {
            Some(dfa) => Engine::Dfa(Box::new(dfa), OnceLock::new()),
            None => Engine::Regex(regex::Regex::new(source)?),
        };
        Ok(Pattern {
            source: source.into(),
            engine,
        })
    }

    /// A pattern that matches nothing.
    pub fn never() -> Pattern {
        Pattern {
            source: r"[^\s\S]".into(),
            engine: Engine::Never,
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the search found a DFA for it (`false`: the `regex` crate searches).
    pub fn is_dfa(&self) -> bool {
        matches!(self.engine, Engine::Dfa(..))
    }

    /// Whether the pattern matches somewhere in `s`.
    #[inline]
    pub fn is_match(&self, s: &str) -> bool {
        match &self.engine {
            Engine::Dfa(dfa, fallback) => match dfa.try_search_fwd(&Input::new(s).earliest(true)) {
                Ok(found) => found.is_some(),
                Err(_) => fallback
                    .get_or_init(|| regex::Regex::new(&self.source).ok())
                    .as_ref()
                    .is_some_and(|re| re.is_match(s)),
            },
            Engine::Regex(re) => re.is_match(s),
            Engine::Never => false,
        }
    }
}

/// The DFA for `source`, when one can be built within the limits, with the `regex` crate's
/// defaults (Unicode, UTF-8, the same nesting limit).
fn dfa(source: &str) -> Option<dense::DFA<Vec<u32>>> {
    dense::Builder::new()
        .configure(
            dense::DFA::config()
                .dfa_size_limit(Some(DFA_SIZE_LIMIT))
                .determinize_size_limit(Some(DETERMINIZE_SIZE_LIMIT)),
        )
        .syntax(syntax::Config::new())
        .thompson(thompson::Config::new().nfa_size_limit(Some(NFA_SIZE_LIMIT)))
        .build(source)
        .ok()
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let engine = match self.engine {
            Engine::Dfa(..) => "dfa",
            Engine::Regex(_) => "regex",
            Engine::Never => "never",
        };
        f.debug_struct("Pattern")
            .field("source", &self.source)
            .field("engine", &engine)
            .finish()
    }
}

/// A `contains` needle with its substring searcher built.
#[derive(Clone)]
pub struct Needle {
    finder: memmem::Finder<'static>,
}

impl Needle {
    /// A searcher for `needle`.
    pub fn new(needle: &str) -> Needle {
        Needle {
            finder: memmem::Finder::new(needle.as_bytes()).into_owned(),
        }
    }

    /// The needle.
    pub fn as_str(&self) -> &str {
        // Built from a `&str`, so always valid UTF-8.
        std::str::from_utf8(self.finder.needle()).unwrap_or_default()
    }

    /// Whether `s` contains the needle.
    #[inline]
    pub fn is_in(&self, s: &str) -> bool {
        self.finder.find(s.as_bytes()).is_some()
    }
}

impl fmt::Debug for Needle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Needle").field(&self.as_str()).finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The DFA agrees with the `regex` crate, including on non-ASCII text and patterns.
    #[test]
    fn dfa_patterns_agree_with_the_regex_crate() {
        let patterns = [
            r"@(corp|contractors)\.example$",
            r"Version/(1[6-9]|[2-9][0-9])\.",
            r"^u-[0-9]+@",
            r"(?i)^ABC",
            r"^$",
            r"",
            r"é+$",
            r".",
            r"^.{3}$",
            r"(?m)^b$",
            r"\d{2,}",
            r"[[:alpha:]]x",
        ];
        let texts = [
            "",
            "abc",
            "ABC",
            "a@corp.example",
            "x@contractors.example.org",
            "Version/17.1",
            "Version/15.1",
            "u-12@x",
            "é",
            "aéé",
            "ééé",
            "a\nb\nc",
            "12",
            "١٢",
            "xx",
            "ßx",
        ];
        for p in patterns {
            let pattern = Pattern::new(p).unwrap();
            assert!(pattern.is_dfa(), "{p} should build a DFA");
            let re = regex::Regex::new(p).unwrap();
            for t in texts {
                assert_eq!(pattern.is_match(t), re.is_match(t), "{p:?} on {t:?}");
            }
        }
    }

    #[test]
    fn patterns_a_dfa_cannot_hold_fall_back_to_the_regex_crate() {
        // Unicode word boundaries, and a DFA far over the size limit.
        for (p, hit, miss) in [
            (r"\bcat\b", "a cat sat".to_owned(), "concatenate".to_owned()),
            (r"\w{50}", "ж".repeat(50), "ж".repeat(49)),
        ] {
            let pattern = Pattern::new(p).unwrap();
            assert!(!pattern.is_dfa(), "{p} should not build a DFA");
            assert!(pattern.is_match(&hit), "{p}");
            assert!(!pattern.is_match(&miss), "{p}");
        }
        assert!(Pattern::new("(").is_err());
        assert!(!Pattern::never().is_match(""));
    }

    #[test]
    fn needles() {
        let n = Needle::new("Safari");
        assert_eq!(n.as_str(), "Safari");
        assert!(n.is_in("AppleWebKit Safari/605"));
        assert!(!n.is_in("Chrome"));
        assert!(Needle::new("").is_in(""));
    }
}

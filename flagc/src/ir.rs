//! The compiled IR: flags with the static attributes folded away, ready to evaluate.
//!
//! [`compile`](crate::compile::compile) builds a [`Program`] from a [`Model`](crate::Model),
//! one value per static attribute and the [`Layout`] of the context the evaluator will see;
//! [`Program::eval`](crate::ir::Program::eval) (in [`eval`](crate::eval)) runs it.
//!
//! **Invariant:** everything the evaluator needs is resolved here: attributes are field
//! indices into the [`Layout`], literals are parsed (semver, datetimes, regexes), string sets
//! are hashed, enum literals are the layout's indices. Evaluating never allocates and never
//! looks a name up.
//!
//! **Invariant:** a compiled rule keeps its source `index`, so an evaluation can say which
//! rule of the flag file decided, exactly as the interpreter ([`interp`](crate::interp)) does.

use std::fmt;
use std::sync::Arc;

use crate::model::{AttrType, CmpOp, FlagType, FlagValue, Manifest};

mod pattern;
pub use pattern::{Needle, Pattern};

/// A flag's value in the IR.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A bool flag's value.
    Bool(bool),
    /// An int flag's value.
    Int(i64),
    /// A float flag's value.
    Float(f64),
    /// A string flag's value (shared, so handing it out is a reference-count bump).
    Str(Arc<str>),
    /// An enum flag's value: index into its variants.
    Enum(u32),
}

impl Value {
    /// The value as JSON (enum values as their variant names).
    pub fn to_json(&self, ty: &FlagType) -> serde_json::Value {
        self.to_flag_value().to_json(ty)
    }

    /// The model's spelling of the value.
    pub fn to_flag_value(&self) -> FlagValue {
        match self {
            Value::Bool(b) => FlagValue::Bool(*b),
            Value::Int(i) => FlagValue::Int(*i),
            Value::Float(x) => FlagValue::Float(*x),
            Value::Str(s) => FlagValue::Str(s.to_string()),
            Value::Enum(i) => FlagValue::Enum(*i),
        }
    }
}

impl From<&FlagValue> for Value {
    fn from(v: &FlagValue) -> Self {
        match v {
            FlagValue::Bool(b) => Value::Bool(*b),
            FlagValue::Int(i) => Value::Int(*i),
            FlagValue::Float(x) => Value::Float(*x),
            FlagValue::Str(s) => Value::Str(Arc::from(s.as_str())),
            FlagValue::Enum(i) => Value::Enum(*i),
        }
    }
}

impl PartialEq<FlagValue> for Value {
    fn eq(&self, other: &FlagValue) -> bool {
        match (self, other) {
            (Value::Bool(a), FlagValue::Bool(b)) => a == b,
            (Value::Int(a), FlagValue::Int(b)) => a == b,
            (Value::Float(a), FlagValue::Float(b)) => a == b,
            (Value::Str(a), FlagValue::Str(b)) => **a == **b,
            (Value::Enum(a), FlagValue::Enum(b)) => a == b,
            _ => false,
        }
    }
}

/// One context attribute as the evaluator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LayoutAttr {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: AttrType,
}

/// The context attributes an evaluator sees, in field order.
///
/// Usually the model's own `[context]`; but a running binary may have been built against an
/// older manifest, and then its layout is the one it was built with. Conditions on attributes
/// the layout lacks, or has with another type, never match; enum literals are matched to the
/// layout's values by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Layout {
    attrs: Vec<LayoutAttr>,
}

impl Layout {
    /// A layout from names and types, in field order. When a name repeats, the first wins.
    pub fn new(attrs: impl IntoIterator<Item = (String, AttrType)>) -> Self {
        Layout {
            attrs: attrs
                .into_iter()
                .map(|(name, ty)| LayoutAttr { name, ty })
                .collect(),
        }
    }

    /// The layout of a manifest's own `[context]`.
    pub fn of(manifest: &Manifest) -> Self {
        Self::new(
            manifest
                .context
                .iter()
                .map(|a| (a.name.clone(), a.ty.clone())),
        )
    }

    /// Every attribute, in field order.
    pub fn attrs(&self) -> &[LayoutAttr] {
        &self.attrs
    }

    /// An attribute's field index by name.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.attrs.iter().position(|a| a.name == name)
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.attrs.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.attrs.is_empty()
    }
}

/// A compiled flag directory for one combination of static values.
#[derive(Debug, Clone)]
pub struct Program {
    /// Every flag, sorted by key (the model's order, so indices agree with the model's).
    pub flags: Vec<CompiledFlag>,
    /// The context layout the program was compiled for.
    pub layout: Layout,
}

impl Program {
    /// A flag's index by key.
    pub fn flag_index(&self, key: &str) -> Option<usize> {
        self.flags.binary_search_by(|f| (*f.key).cmp(key)).ok()
    }

    /// The context layout the program was compiled for.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }
}

/// One flag, compiled.
#[derive(Debug, Clone)]
pub struct CompiledFlag {
    /// Its key.
    pub key: Box<str>,
    /// Its type.
    pub ty: FlagType,
    /// The value when no rule decides.
    pub default: Value,
    /// Bucketing salt.
    pub salt: Box<str>,
    /// The rules that can still fire, in order.
    pub rules: Vec<CompiledRule>,
    /// `Some(v)` when no context can make the flag anything but `v`.
    pub constant: Option<Value>,
}

/// One rule, compiled.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// Position in the flag's rules as written (0-based).
    pub index: usize,
    /// All must hold; empty means always.
    pub when: Vec<Cond>,
    /// What it decides.
    pub outcome: CompiledOutcome,
}

impl CompiledRule {
    /// Whether the rule always decides (no conditions and a fixed value).
    pub fn is_unconditional(&self) -> bool {
        self.when.is_empty() && matches!(self.outcome, CompiledOutcome::Value(_))
    }
}

/// What a compiled rule decides.
#[derive(Debug, Clone)]
pub enum CompiledOutcome {
    /// A fixed value.
    Value(Value),
    /// A percentage split.
    Rollout(CompiledRollout),
}

/// A percentage split with its bucketing attribute resolved.
#[derive(Debug, Clone)]
pub struct CompiledRollout {
    /// The flag's salt, already hashed.
    pub salt: crate::bucket::Prefix,
    /// Field index of the bucketing attribute.
    pub field: usize,
    /// How the attribute's string form is made.
    pub key: BucketKey,
    /// Weights in units of 0.001 %, in [`FlagType::rollout_keys`] order.
    pub weights: Box<[u32]>,
    /// The value of each bucket.
    pub values: Box<[Value]>,
}

/// How a rollout's bucketing attribute becomes the string that is hashed.
#[derive(Debug, Clone)]
pub enum BucketKey {
    /// A `string` attribute: the string itself.
    Str,
    /// An `int` attribute: its decimal form.
    Int,
    /// An enum attribute: the value's name, by the layout's index.
    Enum(Box<[Box<str>]>),
}

/// One condition of a compiled rule.
#[derive(Debug, Clone)]
pub enum Cond {
    /// A test of one attribute.
    Test(Test),
    /// Segments: any of the branches holds, each branch being all of its conditions.
    Any(Box<[Box<[Cond]>]>),
}

/// One operator on one attribute. Fails when the attribute is unset.
#[derive(Debug, Clone)]
pub struct Test {
    /// Field index in the layout.
    pub field: usize,
    /// For membership: the result is inverted (`not_in`, `ne`), but only for set values.
    pub negate: bool,
    /// What is asked of the value.
    pub pred: Pred,
}

/// What a test asks of an attribute's value.
#[derive(Debug, Clone)]
pub enum Pred {
    /// The attribute is set (a condition with no operators, `not_in = []`), of this type.
    IsSet(SetKind),
    /// A `string` attribute passes the test.
    Str(StrPred),
    /// Some element of a `string[]` attribute passes the test.
    List(StrPred),
    /// An `int` attribute is one of these (sorted).
    IntIn(Box<[i64]>),
    /// An `int` attribute compared with a literal.
    IntCmp(CmpOp, i64),
    /// A `float` attribute equals one of these (IEEE equality).
    FloatIn(Box<[f64]>),
    /// A `float` attribute compared with a literal (IEEE: NaN compares false).
    FloatCmp(CmpOp, f64),
    /// A `bool` attribute is one of these: bit 0 for `false`, bit 1 for `true`.
    BoolIn(u8),
    /// An enum attribute's index is in the set.
    EnumIn(EnumSet),
    /// A `semver` attribute has the precedence of one of these.
    SemverIn(Box<[semver::Version]>),
    /// A `semver` attribute compared by precedence.
    SemverCmp(CmpOp, Box<semver::Version>),
    /// A `datetime` attribute is one of these instants.
    DatetimeIn(Box<[jiff::Timestamp]>),
    /// A `datetime` attribute compared as instants.
    DatetimeCmp(CmpOp, jiff::Timestamp),
}

/// Which getter [`Pred::IsSet`] asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKind {
    /// `string`.
    Str,
    /// `int`.
    Int,
    /// `float`.
    Float,
    /// `bool`.
    Bool,
    /// `semver`.
    Semver,
    /// `datetime`.
    Datetime,
    /// `string[]`.
    List,
    /// An enum.
    Enum,
}

impl SetKind {
    /// The getter kind for an attribute type.
    pub fn of(ty: &AttrType) -> SetKind {
        match ty {
            AttrType::String => SetKind::Str,
            AttrType::Int => SetKind::Int,
            AttrType::Float => SetKind::Float,
            AttrType::Bool => SetKind::Bool,
            AttrType::Semver => SetKind::Semver,
            AttrType::Datetime => SetKind::Datetime,
            AttrType::StringList => SetKind::List,
            AttrType::Enum(_) => SetKind::Enum,
        }
    }
}

/// A test on one string.
#[derive(Debug, Clone)]
pub enum StrPred {
    /// Equal to one of the set.
    In(StrSet),
    /// Starts with one of these.
    StartsWith(Box<[Box<str>]>),
    /// Ends with one of these.
    EndsWith(Box<[Box<str>]>),
    /// Contains one of these.
    Contains(Box<[Needle]>),
    /// One of the regexes matches somewhere (they are joined into one alternation).
    Matches(Pattern),
}

/// A set of enum indices (a bitset: one word covers 64 values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumSet {
    words: Box<[u64]>,
}

impl EnumSet {
    /// The set of the given indices.
    pub fn new(indices: impl IntoIterator<Item = u32>) -> Self {
        let mut words: Vec<u64> = Vec::new();
        for i in indices {
            let w = (i / 64) as usize;
            if words.len() <= w {
                words.resize(w + 1, 0);
            }
            words[w] |= 1 << (i % 64);
        }
        EnumSet {
            words: words.into_boxed_slice(),
        }
    }

    /// Whether `i` is in the set.
    #[inline]
    pub fn contains(&self, i: u32) -> bool {
        match self.words.get((i / 64) as usize) {
            Some(w) => w & (1 << (i % 64)) != 0,
            None => false,
        }
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }
}

/// A set of strings with a fast membership test.
///
/// Small sets are scanned (cheaper than hashing), larger ones use an open-addressing table;
/// either way the slots hold each string's `Key`: its length and two words
/// that, for strings of up to 16 bytes, are the string itself. A lookup computes the key
/// once, hashes it, and compares keys in the table: no load of the stored strings, whose
/// pointer chase was most of the cost of a hit. Longer strings compare their bytes after a
/// key match. Binary search over the sorted strings was the alternative; see BENCHMARKS.md.
#[derive(Clone)]
pub struct StrSet {
    items: Box<[Box<str>]>,
    /// The hash table, or for small sets the items' keys in order (scanned).
    table: Box<[Slot]>,
    /// `64 - log2(table.len())`: the hash's top bits pick the slot; 64 for scanned sets.
    shift: u32,
}

/// One slot of a [`StrSet`] table.
#[derive(Clone, Copy, Default)]
struct Slot {
    key: Key,
    /// Item index + 1; 0 = empty.
    item: u32,
}

/// Sets up to this size are scanned rather than hashed.
const SCAN_MAX: usize = 4;

impl StrSet {
    /// The set of `items` (duplicates are dropped).
    pub fn new<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Self {
        // Sized up front from the hint: a grown `Vec` would be reallocated again by
        // `into_boxed_slice`, and compiling 10,000 flags builds many small sets.
        let items = items.into_iter();
        let mut v: Vec<Box<str>> = Vec::with_capacity(items.size_hint().1.unwrap_or(0));
        v.extend(items.map(|s| Box::from(s.as_ref())));
        let mut items = v;
        items.sort_unstable();
        items.dedup();
        let items = items.into_boxed_slice();
        if items.len() <= SCAN_MAX {
            // Scanned: the slots are the items' keys, in order.
            let table = items.iter().enumerate().map(|(i, s)| Slot {
                key: Key::of(s.as_bytes()),
                item: i as u32 + 1,
            });
            return StrSet {
                table: table.collect(),
                items,
                shift: 64,
            };
        }
        // Load factor at most 1/2: short probe sequences, and every one ends at an empty slot.
        let slots = (items.len() * 2).next_power_of_two();
        let shift = 64 - slots.trailing_zeros();
        let mut table = vec![Slot::default(); slots];
        let mask = slots - 1;
        for (i, item) in items.iter().enumerate() {
            let key = Key::of(item.as_bytes());
            let mut slot = (key.hash() >> shift) as usize;
            while table[slot].item != 0 {
                slot = (slot + 1) & mask;
            }
            table[slot] = Slot {
                key,
                item: i as u32 + 1,
            };
        }
        StrSet {
            items,
            table: table.into_boxed_slice(),
            shift,
        }
    }

    /// Whether `s` is in the set.
    #[inline(always)]
    pub fn contains(&self, s: &str) -> bool {
        let key = Key::of(s.as_bytes());
        if self.shift == 64 {
            return self
                .table
                .iter()
                .any(|e| e.key == key && (key.len <= 16 || self.long_item_is(e.item, s)));
        }
        let mask = self.table.len() - 1;
        let mut slot = (key.hash() >> self.shift) as usize;
        loop {
            let Some(entry) = self.table.get(slot) else {
                return false;
            };
            if entry.item == 0 {
                return false;
            }
            if entry.key == key && (key.len <= 16 || self.long_item_is(entry.item, s)) {
                return true;
            }
            slot = (slot + 1) & mask;
        }
    }

    #[cold]
    #[inline(never)]
    fn long_item_is(&self, item: u32, s: &str) -> bool {
        self.items.get(item as usize - 1).is_some_and(|i| **i == *s)
    }

    /// The strings, sorted.
    pub fn items(&self) -> &[Box<str>] {
        &self.items
    }

    /// Number of strings.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl fmt::Debug for StrSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.items.iter()).finish()
    }
}

/// A string's lookup key: its length and two words. For strings of up to 16 bytes the words
/// determine the string (first and last eight bytes, overlapping; four and four; or the
/// first, middle and last byte), so equal keys mean equal strings. For longer strings the
/// words are the last 16 bytes and `seed` has folded in the rest.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Key {
    a: u64,
    b: u64,
    seed: u64,
    len: usize,
}

const P0: u64 = 0xa076_1d64_78bd_642f;
const P1: u64 = 0xe703_7ed1_a0b4_28db;

/// wyhash's "mum": one 64×64→128-bit multiply, the halves folded.
#[inline(always)]
fn mum(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

impl Key {
    #[inline(always)]
    fn of(bytes: &[u8]) -> Key {
        #[inline(always)]
        fn word(b: &[u8], at: usize) -> u64 {
            b.get(at..at + 8)
                .and_then(|w| w.first_chunk::<8>())
                .map_or(0, |w| u64::from_le_bytes(*w))
        }
        #[inline(always)]
        fn half(b: &[u8], at: usize) -> u64 {
            b.get(at..at + 4)
                .and_then(|w| w.first_chunk::<4>())
                .map_or(0, |w| u64::from(u32::from_le_bytes(*w)))
        }
        let len = bytes.len();
        let mut seed = P0 ^ len as u64;
        let (a, b) = match len {
            0 => (0, 0),
            1..=3 => {
                let tiny = u64::from(bytes[0])
                    | u64::from(bytes[len / 2]) << 8
                    | u64::from(bytes[len - 1]) << 16;
                (tiny, 0)
            }
            4..=7 => (half(bytes, 0), half(bytes, len - 4)),
            8..=16 => (word(bytes, 0), word(bytes, len - 8)),
            _ => {
                let mut at = 0;
                while len - at > 16 {
                    seed = mum(word(bytes, at) ^ P1, word(bytes, at + 8) ^ seed);
                    at += 16;
                }
                // The last 16 bytes, overlapping what the loop took.
                (word(bytes, len - 16), word(bytes, len - 8))
            }
        };
        Key { a, b, seed, len }
    }

    /// One multiply of latency for ids up to 16 bytes, where a chain of 64-bit multiplies
    /// costs four. Set strings come from flag files: adversarial collisions are no concern.
    #[inline(always)]
    fn hash(&self) -> u64 {
        mum(self.a ^ P1, self.b ^ self.seed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn str_set_membership() {
        for n in [0usize, 1, 8, 9, 100, 1000] {
            let items: Vec<String> = (0..n).map(|i| format!("user-{i}")).collect();
            let set = StrSet::new(&items);
            assert_eq!(set.len(), n);
            for i in &items {
                assert!(set.contains(i), "{i} in set of {n}");
            }
            for i in n..n + 200 {
                assert!(!set.contains(&format!("user-{i}")));
            }
            assert!(!set.contains(""));
            assert!(!set.contains("user-"));
        }
    }

    #[test]
    fn str_set_of_every_length() {
        // Every length class of the hash (0, 1-3, 4-7, 8, longer with a partial word).
        let items: Vec<String> = (0..40)
            .map(|n| "abéxyz".chars().cycle().take(n).collect())
            .collect();
        let set = StrSet::new(&items);
        for i in &items {
            assert!(set.contains(i), "{i:?}");
            assert!(!set.contains(&format!("{i}!")), "{i:?}!");
        }
        assert!(!set.contains("b"));
        assert!(!set.contains("baé"));
    }

    #[test]
    fn str_set_long_strings_compare_their_bytes() {
        // Same length and same last 16 bytes: only the folded prefix tells them apart.
        let tail = "0123456789abcdef";
        let items: Vec<String> = (0..20).map(|i| format!("{:>20}{tail}", i)).collect();
        for set in [StrSet::new(&items), StrSet::new(&items[..3])] {
            for i in 0..20 {
                let s = format!("{:>20}{tail}", i);
                assert_eq!(set.contains(&s), i < set.len(), "{s}");
            }
            assert!(!set.contains(&format!("{:>20}{tail}", "x")));
        }
    }

    #[test]
    fn enum_set_membership() {
        let s = EnumSet::new([0, 3, 64, 130]);
        for i in 0..200 {
            assert_eq!(s.contains(i), [0, 3, 64, 130].contains(&i), "{i}");
        }
        assert!(EnumSet::new([]).is_empty());
        assert!(!EnumSet::new([]).contains(0));
    }
}

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
    Contains(Box<[Box<str>]>),
    /// One of the regexes matches somewhere (they are joined into one alternation).
    Matches(regex::Regex),
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
/// Small sets are scanned (comparing lengths first is cheaper than hashing); larger ones use
/// an open-addressing table keyed by a multiplicative hash of the bytes, each slot keeping 32
/// bits of the hash so that a probe compares strings only when those agree. Binary search
/// over a sorted slice was the alternative; see BENCHMARKS.md for the comparison.
#[derive(Clone)]
pub struct StrSet {
    items: Box<[Box<str>]>,
    /// Slots: `(item index + 1, low 32 bits of its hash)`; index 0 = empty. Empty for scanned
    /// sets.
    table: Box<[(u32, u32)]>,
    /// `64 - log2(table.len())`: the hash's top bits pick the slot.
    shift: u32,
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
            return StrSet {
                items,
                table: Box::new([]),
                shift: 64,
            };
        }
        // Load factor at most 1/4: short probe sequences, and every one ends at an empty slot.
        let slots = (items.len() * 4).next_power_of_two();
        let shift = 64 - slots.trailing_zeros();
        let mut table = vec![(0u32, 0u32); slots];
        let mask = slots - 1;
        for (i, item) in items.iter().enumerate() {
            let h = str_hash(item.as_bytes());
            let mut slot = (h >> shift) as usize;
            while table[slot].0 != 0 {
                slot = (slot + 1) & mask;
            }
            table[slot] = (i as u32 + 1, h as u32);
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
        if self.table.is_empty() {
            return self
                .items
                .iter()
                .any(|i| same_bytes(i.as_bytes(), s.as_bytes()));
        }
        let h = str_hash(s.as_bytes());
        let mask = self.table.len() - 1;
        let mut slot = (h >> self.shift) as usize;
        loop {
            let (i, tag) = self.table[slot];
            if i == 0 {
                return false;
            }
            if tag == h as u32
                && let Some(item) = self.items.get(i as usize - 1)
                && same_bytes(item.as_bytes(), s.as_bytes())
            {
                return true;
            }
            slot = (slot + 1) & mask;
        }
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

/// Byte equality without a `memcmp` call for strings up to 16 bytes (ids, country codes,
/// plan names), which is most of what sets hold: two overlapping loads per side.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    #[inline(always)]
    fn u64_at(x: &[u8], at: usize) -> u64 {
        x.get(at..at + 8)
            .and_then(|w| w.first_chunk::<8>())
            .map_or(0, |w| u64::from_le_bytes(*w))
    }
    #[inline(always)]
    fn u32_at(x: &[u8], at: usize) -> u32 {
        x.get(at..at + 4)
            .and_then(|w| w.first_chunk::<4>())
            .map_or(0, |w| u32::from_le_bytes(*w))
    }
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => u32_at(a, 0) == u32_at(b, 0) && u32_at(a, n - 4) == u32_at(b, n - 4),
        8..=16 => u64_at(a, 0) == u64_at(b, 0) && u64_at(a, n - 8) == u64_at(b, n - 8),
        _ => long_eq(a, b),
    }
}

/// Kept out of line so the short-string path above needs no call (and no register saves).
#[cold]
#[inline(never)]
fn long_eq(a: &[u8], b: &[u8]) -> bool {
    a == b
}

/// A multiplicative hash of bytes, eight at a time (FxHash's mixing); the last partial word
/// is read as overlapping loads rather than copied. Set strings come from flag files, so
/// adversarial collisions are not a concern; speed on ids of 5–40 bytes is.
#[inline]
fn str_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
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
    let mut h = (len as u64).wrapping_mul(K);
    let mix = |h: u64, w: u64| (h.rotate_left(5) ^ w).wrapping_mul(K);
    if len >= 8 {
        // Whole words while more than 16 bytes remain, then the last 9–16 bytes as two
        // (overlapping) words: ids of up to 16 bytes take no loop at all.
        let mut at = 0;
        while len - at > 16 {
            h = mix(h, word(bytes, at));
            at += 8;
        }
        h = mix(h, word(bytes, at));
        h = mix(h, word(bytes, len - 8));
    } else if len >= 4 {
        h = mix(h, half(bytes, 0) | half(bytes, len - 4) << 32);
    } else if len > 0 {
        let w =
            u64::from(bytes[0]) | u64::from(bytes[len / 2]) << 8 | u64::from(bytes[len - 1]) << 16;
        h = mix(h, w);
    }
    // The multiply leaves the low bits weak and slots take the top bits; fold and mix once
    // more so that both halves depend on every input bit.
    (h ^ (h >> 32)).wrapping_mul(K)
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
    fn byte_equality_at_every_length() {
        for n in 0..40usize {
            let a: Vec<u8> = (0..n as u8).collect();
            assert!(same_bytes(&a, &a.clone()), "{n}");
            for i in 0..n {
                let mut b = a.clone();
                b[i] ^= 0x40;
                assert!(!same_bytes(&a, &b), "{n} differ at {i}");
            }
            assert!(!same_bytes(&a, &a[..n.saturating_sub(1)]) || n == 0);
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

//! Percentage bucketing, exactly as DESIGN §1 "Rollouts" specifies it (flagd's fractional
//! bucketing v2): `h = murmur3_x86_32(salt ++ value, seed 0)`, `bucket = (h * total) >> 32`,
//! and the chosen variant is the first whose cumulative weight exceeds the bucket.
//!
//! The hash is hand-written and streams over the two byte slices so that evaluating a rollout
//! never concatenates (allocates) the salt and the value. It is checked against the `murmur3`
//! crate and against flagd's own vectors in the tests.

use crate::model::WEIGHT_TOTAL;

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

/// Mixes one full 4-byte block into the running hash.
#[inline(always)]
fn mix_block(h: u32, k: u32) -> u32 {
    let h = h ^ mix_k(k);
    h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64)
}

#[inline(always)]
fn mix_k(k: u32) -> u32 {
    k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2)
}

#[inline(always)]
fn block(b: &[u8]) -> u32 {
    // Callers pass exactly four bytes; the fallback keeps this total without a panic path.
    match b.first_chunk::<4>() {
        Some(c) => u32::from_le_bytes(*c),
        None => 0,
    }
}

/// murmur3_x86_32 with seed 0 over the bytes of `a` followed by the bytes of `b`, without
/// concatenating them.
#[inline]
pub fn murmur3_x86_32(a: &[u8], b: &[u8]) -> u32 {
    Prefix::new(a).hash(b)
}

/// The murmur3 state after hashing a prefix (a flag's salt): the full 4-byte blocks are
/// mixed in once, at compile time, so a rollout only hashes the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    /// The running hash after the prefix's full blocks.
    h: u32,
    /// The prefix's last `len % 4` bytes, little-endian, waiting for the value's bytes to
    /// fill a block.
    carry: u32,
    /// The prefix's length in bytes (modulo 2^32, as murmur3 counts it).
    len: u32,
}

impl Prefix {
    /// The state after hashing `prefix`.
    pub fn new(prefix: &[u8]) -> Self {
        let mut h: u32 = 0;
        let mut chunks = prefix.chunks_exact(4);
        for c in &mut chunks {
            h = mix_block(h, block(c));
        }
        Prefix {
            h,
            carry: partial(chunks.remainder()),
            len: prefix.len() as u32,
        }
    }

    /// The state as three numbers, for generated code to rebuild it with
    /// [`Prefix::from_raw`] as a constant.
    pub const fn raw(&self) -> (u32, u32, u32) {
        (self.h, self.carry, self.len)
    }

    /// The state [`Prefix::raw`] returned.
    pub const fn from_raw(h: u32, carry: u32, len: u32) -> Self {
        Prefix { h, carry, len }
    }

    /// murmur3_x86_32 (seed 0) of the prefix followed by `value`.
    #[inline]
    pub fn hash(&self, value: &[u8]) -> u32 {
        let mut h = self.h;
        let len = self.len.wrapping_add(value.len() as u32);
        let mut rest = value;
        let have = (self.len % 4) as usize;
        if have > 0 {
            // The block that straddles prefix and value: the prefix's leftover bytes, topped
            // up from the value. With four value bytes at hand one load does it (the shift
            // drops the bytes that belong to the next block).
            let need = 4 - have;
            match value.first_chunk::<4>() {
                Some(w) => {
                    h = mix_block(h, self.carry | u32::from_le_bytes(*w) << (8 * have));
                    rest = &value[need..];
                }
                None => {
                    let k = self.carry | partial(&value[..need.min(value.len())]) << (8 * have);
                    if value.len() < need {
                        // The value ran out: this is the tail.
                        return fmix(h ^ mix_k(k) ^ len);
                    }
                    h = mix_block(h, k);
                    rest = &value[need..];
                }
            }
        }
        let mut chunks = rest.chunks_exact(4);
        for c in &mut chunks {
            h = mix_block(h, block(c));
        }
        let tail = chunks.remainder();
        if !tail.is_empty() {
            // The tail is the value's last bytes: read the last four (overlapping what was
            // hashed) and shift the extra ones out, rather than assembling byte by byte.
            let k = match value.last_chunk::<4>() {
                Some(w) => u32::from_le_bytes(*w) >> (8 * (4 - tail.len())),
                None => partial(tail),
            };
            h ^= mix_k(k);
        }
        fmix(h ^ len)
    }

    /// The bucket of `value` in `0..100_000` (see [`bucket`]).
    #[inline]
    pub fn bucket(&self, value: &[u8]) -> u32 {
        scale(self.hash(value), WEIGHT_TOTAL)
    }
}

/// Up to three bytes, little-endian.
#[inline(always)]
fn partial(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .enumerate()
        .fold(0, |k, (i, &b)| k | u32::from(b) << (8 * i))
}

#[inline(always)]
fn scale(h: u32, total: u32) -> u32 {
    ((u64::from(h) * u64::from(total)) >> 32) as u32
}

#[inline(always)]
fn fmix(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// The bucket of `value` under `salt` in `0..total`: `(h * total) >> 32`.
///
/// Flags always use a total of [`WEIGHT_TOTAL`] (see [`bucket`]); other totals exist for
/// flagd's vectors, whose weights need not sum to 100 000.
#[inline]
pub fn bucket_in(salt: &[u8], value: &[u8], total: u32) -> u32 {
    scale(murmur3_x86_32(salt, value), total)
}

/// The bucket of `value` under `salt` in `0..100_000` (units of 0.001 %).
#[inline]
pub fn bucket(salt: &[u8], value: &[u8]) -> u32 {
    bucket_in(salt, value, WEIGHT_TOTAL)
}

/// The index of the first variant whose cumulative weight is greater than `bucket`.
///
/// When the weights sum to less than or equal to `bucket` (impossible for a checked rollout,
/// whose weights sum to the total the bucket was taken in), the last variant is chosen rather
/// than panicking; an empty slice gives 0.
#[inline]
pub fn pick(weights: &[u32], bucket: u32) -> usize {
    let mut cumulative: u64 = 0;
    for (i, &w) in weights.iter().enumerate() {
        cumulative += u64::from(w);
        if cumulative > u64::from(bucket) {
            return i;
        }
    }
    weights.len().saturating_sub(1)
}

/// The sum of `weights` (the total a vector's bucket is taken in).
pub fn total(weights: &[u32]) -> u32 {
    weights.iter().fold(0u32, |t, &w| t.saturating_add(w))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn known_hashes() {
        // Reference values of murmur3_x86_32 with seed 0.
        assert_eq!(murmur3_x86_32(b"", b""), 0);
        assert_eq!(murmur3_x86_32(b"hello", b""), 0x248b_fa47);
        assert_eq!(murmur3_x86_32(b"hel", b"lo"), 0x248b_fa47);
        assert_eq!(murmur3_x86_32(b"", b"hello"), 0x248b_fa47);
    }

    #[test]
    fn pick_is_first_cumulative_above() {
        assert_eq!(pick(&[25_000, 75_000], 0), 0);
        assert_eq!(pick(&[25_000, 75_000], 24_999), 0);
        assert_eq!(pick(&[25_000, 75_000], 25_000), 1);
        assert_eq!(pick(&[0, 100_000], 0), 1);
        assert_eq!(pick(&[50_000, 0, 50_000], 50_000), 2);
        assert_eq!(pick(&[10, 10], 99), 1);
        assert_eq!(pick(&[], 5), 0);
    }
}

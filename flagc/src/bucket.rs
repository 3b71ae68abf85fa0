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
    // The length is taken modulo 2^32, as the reference implementation does.
    let len = a.len().wrapping_add(b.len()) as u32;
    let mut h: u32 = 0;
    let mut chunks = a.chunks_exact(4);
    for c in &mut chunks {
        h = mix_block(h, block(c));
    }
    // The block that straddles the two slices: `a`'s leftover bytes, topped up from `b`.
    let rest_a = chunks.remainder();
    let mut carry = [0u8; 4];
    let mut n = rest_a.len();
    carry[..n].copy_from_slice(rest_a);
    let take = if n == 0 { 0 } else { (4 - n).min(b.len()) };
    carry[n..n + take].copy_from_slice(&b[..take]);
    n += take;
    let b = &b[take..];
    if n == 4 {
        h = mix_block(h, u32::from_le_bytes(carry));
        n = 0;
    }
    // When `n` is still non-zero, `b` is exhausted and `carry[..n]` is the tail.
    let mut chunks = b.chunks_exact(4);
    for c in &mut chunks {
        h = mix_block(h, block(c));
    }
    let tail: &[u8] = if n > 0 {
        &carry[..n]
    } else {
        chunks.remainder()
    };
    if !tail.is_empty() {
        let mut k = 0u32;
        for (i, &byte) in tail.iter().enumerate() {
            k |= u32::from(byte) << (8 * i);
        }
        h ^= mix_k(k);
    }
    h ^= len;
    fmix(h)
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
    let h = murmur3_x86_32(salt, value);
    ((u64::from(h) * u64::from(total)) >> 32) as u32
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

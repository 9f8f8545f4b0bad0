//! Mutations of a byte input, chosen for header grammars: flips and random bytes, the
//! separators and escapes the parsers branch on, cut and doubled chunks, splices of two
//! inputs, and now and then a chunk repeated until the input is large.

use crate::rng::Rng;

/// Bytes the header parsers treat specially.
const INTERESTING: &[u8] = b"-=,;%+ \t@*/_.:\"\\\r\n\x00\x7f\x80\xff\xc3\xa90129afAFgz";

/// Fragments worth inserting whole.
const TOKENS: &[&[u8]] = &[
    b"00-",
    b"ff-",
    b"cc-",
    b"-01",
    b"-03",
    b"%+A",
    b"%0D%0A",
    b"%E2%80%AE",
    b"%FF",
    b"%",
    b"order.id=",
    b"user.id=",
    b"1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    b"4bf92f3577b34da6a3ce929d0e0e4736",
    b"00f067aa0ba902b7",
    b"00000000000000000000000000000000",
    b"traceparent",
    b"tracestate",
    b"baggage",
    b"\n",
    b",,",
    b";p=1",
    b"k@v=1",
    b"\xe2\x80\xae",
];

/// Largest input a mutation produces.
pub const MAX_INPUT: usize = 1 << 20;

/// Applies 1 to 8 random mutations to `input`, using `other` for splices.
pub fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8]) {
    let rounds = 1 + rng.below(8);
    for _ in 0..rounds {
        mutate_once(rng, input, other);
    }
    input.truncate(MAX_INPUT);
}

fn mutate_once(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8]) {
    let len = input.len();
    let at = |rng: &mut Rng| rng.below(len + 1);
    match rng.below(11) {
        0 if len > 0 => {
            let i = rng.below(len);
            input[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            input[i] = rng.next_u64() as u8;
        }
        2 if len > 0 => {
            let i = rng.below(len);
            input[i] = *rng.pick(INTERESTING);
        }
        3 => {
            let i = at(rng);
            input.insert(i, *rng.pick(INTERESTING));
        }
        4 => {
            let i = at(rng);
            let token = *rng.pick(TOKENS);
            input.splice(i..i, token.iter().copied());
        }
        5 if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(16)).min(len);
            input.drain(start..end);
        }
        6 if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(32)).min(len);
            let chunk = input[start..end].to_vec();
            let i = at(rng);
            input.splice(i..i, chunk);
        }
        7 if !other.is_empty() => {
            let cut = at(rng);
            let from = rng.below(other.len());
            input.truncate(cut);
            input.extend_from_slice(&other[from..]);
        }
        8 if len > 0 => {
            input.truncate(rng.below(len));
        }
        9 if rng.one_in(64) && len > 0 => {
            // Grow: repeat a chunk up to a large size, as an attacker would.
            let start = rng.below(len);
            let end = (start + 1 + rng.below(16)).min(len);
            let chunk = input[start..end].to_vec();
            let target = 1usize << (10 + rng.below(11));
            while input.len() < target {
                input.extend_from_slice(&chunk);
            }
        }
        _ => {
            let i = at(rng);
            input.insert(i, rng.next_u64() as u8);
        }
    }
}

//! Compares two 64-byte secrets that differ at one position, many times, for
//! `tests/e2e/test_security.py`: run under `valgrind --tool=callgrind`, the
//! instruction count must not depend on where they differ.
//!
//! `ct_probe <ct|naive> <position>`: `ct` is [`sigv4::constant_time_eq`], the
//! comparison every secret in daxd goes through; `naive` is `==`, the control
//! that shows the measurement can see an early exit.

use std::hint::black_box;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, position) = match args.as_slice() {
        [_, mode, position] => (mode.as_str(), position.parse::<usize>().expect("a position")),
        _ => panic!("usage: ct_probe <ct|naive> <position 0..63>"),
    };
    let secret: Vec<u8> = (0..64u8).map(|i| b'a' + i % 26).collect();
    let mut guess = secret.clone();
    guess[position] ^= 0x20;
    let mut equal = 0u32;
    for _ in 0..20_000 {
        let (a, b) = (black_box(secret.as_slice()), black_box(guess.as_slice()));
        let same = match mode {
            "ct" => sigv4::constant_time_eq(a, b),
            "naive" => naive_eq(a, b),
            other => panic!("unknown mode {other}"),
        };
        equal += u32::from(black_box(same));
    }
    assert_eq!(equal, 0);
}

/// A byte-by-byte comparison that stops at the first difference.
#[inline(never)]
fn naive_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

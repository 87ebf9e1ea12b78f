//! DynamoDB numbers: 38 significant decimal digits, magnitude 1E-130 ..= 9.99…E+125.
//!
//! [`Number`] is always canonical (no leading or trailing zeros, `-0` is `0`), so equal
//! values are equal Rust values, hash the same and print the same. It is built from every
//! encoding DAX clients use (CBOR int, bignum tags 2/3, decimal tag 4, floats, LexDecimal)
//! and from DynamoDB JSON strings, with DynamoDB's `ValidationException` messages for
//! numbers it cannot store.

use crate::cbor::{Float, Reader, Writer};
use crate::error::{Result, WireError};
use minicbor::data::Type;
use std::cmp::Ordering;
use std::fmt;

/// DynamoDB's message for a number above the supported range.
pub const NUMBER_OVERFLOW: &str =
    "Number overflow. Attempting to store a number with magnitude larger than supported range";
/// DynamoDB's message for a number below the supported range.
pub const NUMBER_UNDERFLOW: &str =
    "Number underflow. Attempting to store a number with magnitude smaller than supported range";
/// DynamoDB's message for more than 38 significant digits.
pub const NUMBER_PRECISION: &str = "Attempting to store more than 38 significant digits in a Number";
/// DynamoDB's message for text that is not a number (followed by `: <text>` when non-empty).
pub const NUMBER_NOT_NUMERIC: &str = "The parameter cannot be converted to a numeric value";

/// Largest decimal exponent of the most significant digit.
const MAX_SCI_EXP: i128 = 125;
/// Smallest decimal exponent of the most significant digit.
const MIN_SCI_EXP: i128 = -130;
/// DynamoDB's precision: significant decimal digits of a number.
const MAX_DIGITS: usize = 38;
/// Bignum magnitudes longer than this are refused before conversion (≈ 2466 digits).
const MAX_BIGNUM_BYTES: usize = 1024;

/// A canonical DynamoDB number: `(-1)^neg × coeff × 10^exp`, `coeff` without trailing
/// zeros and at most 38 digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Number {
    neg: bool,
    coeff: u128,
    exp: i16,
}

fn digit_count(mut v: u128) -> u32 {
    let mut n = 1;
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}

impl Number {
    /// Zero.
    pub const ZERO: Number = Number { neg: false, coeff: 0, exp: 0 };

    /// Parses DynamoDB number text (`-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?`), validating
    /// range and precision exactly as DynamoDB does.
    pub fn parse(s: &str) -> Result<Number> {
        if s.is_empty() {
            return Err(WireError::validation(NUMBER_NOT_NUMERIC));
        }
        let not_numeric = || WireError::validation(format!("{NUMBER_NOT_NUMERIC}: {s}"));
        let b = s.as_bytes();
        let mut i = 0;
        let neg = b.first() == Some(&b'-');
        if neg {
            i += 1;
        }
        let mut digits: Vec<u8> = Vec::new();
        let mut int_digits = 0usize;
        let mut frac_digits = 0usize;
        while i < b.len() && b[i].is_ascii_digit() {
            digits.push(b[i]);
            int_digits += 1;
            i += 1;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                digits.push(b[i]);
                frac_digits += 1;
                i += 1;
            }
        }
        if int_digits + frac_digits == 0 {
            return Err(not_numeric());
        }
        let mut exp: i128 = 0;
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            i += 1;
            let mut eneg = false;
            if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                eneg = b[i] == b'-';
                i += 1;
            }
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                // Saturate: anything this large is out of range anyway.
                exp = (exp * 10 + i128::from(b[i] - b'0')).min(1_000_000_000_000);
                i += 1;
            }
            if i == start {
                return Err(not_numeric());
            }
            if eneg {
                exp = -exp;
            }
        }
        if i != b.len() {
            return Err(not_numeric());
        }
        Number::from_digits(neg, &digits, exp - frac_digits as i128)
    }

    /// Builds a number from ASCII digits (leading/trailing zeros allowed) and a power of
    /// ten, applying DynamoDB's checks in DynamoDB's order (overflow, underflow, precision).
    pub(crate) fn from_digits(neg: bool, digits: &[u8], exp: i128) -> Result<Number> {
        let lead = digits.iter().take_while(|&&d| d == b'0').count();
        let digits = &digits[lead..];
        if digits.is_empty() {
            return Ok(Number::ZERO);
        }
        let trail = digits.iter().rev().take_while(|&&d| d == b'0').count();
        let digits = &digits[..digits.len() - trail];
        let exp = exp.saturating_add(trail as i128);
        let sci = exp.saturating_add(digits.len() as i128 - 1);
        if sci > MAX_SCI_EXP {
            return Err(WireError::validation(NUMBER_OVERFLOW));
        }
        if sci < MIN_SCI_EXP {
            return Err(WireError::validation(NUMBER_UNDERFLOW));
        }
        if digits.len() > MAX_DIGITS {
            return Err(WireError::validation(NUMBER_PRECISION));
        }
        let coeff = digits.iter().fold(0u128, |acc, &d| acc * 10 + u128::from(d - b'0'));
        Ok(Number {
            neg,
            coeff,
            // In range: sci ∈ [-130, 125] and at most 38 digits.
            exp: exp as i16,
        })
    }

    /// An integer (always in range).
    pub fn from_i128(v: i128) -> Result<Number> {
        let digits = v.unsigned_abs().to_string();
        Number::from_digits(v < 0, digits.as_bytes(), 0)
    }

    /// A float, via its shortest round-trip decimal (what JavaScript's `Number.toString`
    /// produces). NaN and infinities are rejected.
    pub fn from_f64(v: f64) -> Result<Number> {
        if !v.is_finite() {
            return Err(WireError::validation(format!("{NUMBER_NOT_NUMERIC}: {v}")));
        }
        Number::parse(&format!("{v:e}"))
    }

    fn from_f32(v: f32) -> Result<Number> {
        if !v.is_finite() {
            return Err(WireError::validation(format!("{NUMBER_NOT_NUMERIC}: {v}")));
        }
        Number::parse(&format!("{v:e}"))
    }

    /// True for zero.
    pub fn is_zero(&self) -> bool {
        self.coeff == 0
    }

    /// True for values below zero.
    pub fn is_negative(&self) -> bool {
        self.neg
    }

    /// The coefficient's significant digits (no trailing zeros; `0` for zero).
    pub fn coefficient(&self) -> u128 {
        self.coeff
    }

    /// The power of ten applied to the coefficient.
    pub fn exponent(&self) -> i32 {
        i32::from(self.exp)
    }

    /// Exponent of the most significant digit (`1.5E+3` → 3).
    fn sci_exponent(&self) -> i32 {
        i32::from(self.exp) + digit_count(self.coeff) as i32 - 1
    }

    /// The integer value if this number is integral and fits an `i64`.
    pub fn to_i64(&self) -> Option<i64> {
        if self.exp < 0 {
            return None;
        }
        let mag = 10u128.checked_pow(self.exp as u32).and_then(|p| p.checked_mul(self.coeff))?;
        if self.neg {
            i64::try_from(-i128::try_from(mag).ok()?).ok()
        } else {
            i64::try_from(mag).ok()
        }
    }

    /// Nearest `f64` (may lose precision).
    pub fn to_f64(&self) -> f64 {
        self.to_string().parse().unwrap_or(0.0)
    }

    // ---- CBOR -------------------------------------------------------------------------

    /// Writes the number the way DAX expects from a server: int when it fits 64 bits,
    /// bignum (tags 2/3) for larger integers, tag-4 decimal `[exp, mantissa]` otherwise.
    pub(crate) fn write_cbor(&self, w: &mut Writer) {
        if self.coeff == 0 {
            w.u64(0);
            return;
        }
        if self.exp >= 0 {
            let mag = 10u128.checked_pow(self.exp as u32).and_then(|p| p.checked_mul(self.coeff));
            match mag {
                Some(m) => write_int_mag(w, self.neg, m),
                None => {
                    let mut be = u128_be(self.coeff);
                    for _ in 0..self.exp {
                        mul_small(&mut be, 10);
                    }
                    write_bignum(w, self.neg, be);
                }
            }
        } else {
            w.tag(4).array(2).i64(i64::from(self.exp));
            write_int_mag(w, self.neg, self.coeff);
        }
    }

    /// Reads any CBOR number form clients send.
    pub(crate) fn read_cbor(r: &mut Reader<'_>) -> Result<Number> {
        match r.datatype()? {
            Type::U8 | Type::U16 | Type::U32 | Type::U64 | Type::I8 | Type::I16 | Type::I32 | Type::I64 | Type::Int => {
                Number::from_i128(r.int()?)
            }
            Type::F16 | Type::F32 | Type::F64 => match r.float()? {
                Float::F32(v) => Number::from_f32(v),
                Float::F64(v) => Number::from_f64(v),
            },
            Type::Tag => {
                let pos = r.position();
                let tag = r.tag()?;
                match tag {
                    2 | 3 => {
                        let (neg, digits) = read_bignum_digits(r, tag)?;
                        Number::from_digits(neg, &digits, 0)
                    }
                    4 => {
                        if r.array()? != Some(2) {
                            return Err(WireError::malformed("decimal fraction must be [exponent, mantissa]"));
                        }
                        let exp = match r.datatype()? {
                            Type::Tag => return Err(WireError::malformed("decimal exponent must be an integer")),
                            _ => r.int()?,
                        };
                        let (neg, digits) = match r.datatype()? {
                            Type::Tag => {
                                let t = r.tag()?;
                                if t != 2 && t != 3 {
                                    return Err(WireError::malformed("decimal mantissa must be an integer"));
                                }
                                read_bignum_digits(r, t)?
                            }
                            _ => {
                                let m = r.int()?;
                                (m < 0, m.unsigned_abs().to_string().into_bytes())
                            }
                        };
                        Number::from_digits(neg, &digits, exp)
                    }
                    other => {
                        r.set_position(pos);
                        Err(WireError::malformed(format!("tag {other} is not a number")))
                    }
                }
            }
            other => Err(WireError::malformed(format!("expected a number, found {other}"))),
        }
    }

    // ---- LexDecimal -------------------------------------------------------------------

    /// The order-preserving LexDecimal bytes DAX uses for numeric sort keys.
    pub fn to_lex_bytes(&self) -> Vec<u8> {
        if self.coeff == 0 {
            return vec![0x80];
        }
        // Integers keep their trailing zeros (`10` is the digits "10", not "1" × 10¹), as
        // DynamoDB writes them and as DAX encodes the numbers it reads from DynamoDB: the
        // clients render the decoded digits as they are, so "1" × 10¹ would show as `1E1`.
        // Only up to DynamoDB's 38 digits of precision, though: the clients decode the
        // digits in a 38-digit decimal context, and the Python client fails on more
        // (`decimal.Rounded` for a 101-digit `1E+100`); past that the digits are the
        // coefficient's, with the exponent, as the clients encode such a number themselves.
        let mut digits = self.coeff.to_string().into_bytes();
        let expand = self.exp > 0 && digits.len() + self.exp as usize <= MAX_DIGITS;
        if expand {
            digits.resize(digits.len() + self.exp as usize, b'0');
        }
        let p = digits.len() as i32;
        let e = if expand { p } else { p + i32::from(self.exp) };
        let mut out = Vec::with_capacity(8 + digits.len());
        if self.neg {
            if (-62..62).contains(&e) {
                out.push((0x3f - e) as u8);
            } else {
                out.push(if e < 0 { 0x7e } else { 0x01 });
                out.extend_from_slice(&((e as u32) ^ 0x7fff_ffff).to_be_bytes());
            }
        } else if (-62..62).contains(&e) {
            out.push((e + 0xc0) as u8);
        } else {
            out.push(if e < 0 { 0x81 } else { 0xfe });
            out.extend_from_slice(&((e as u32) ^ 0x8000_0000).to_be_bytes());
        }
        let terminator: u16 = match digits.len() % 3 {
            1 => 0,
            2 => 1,
            _ => 2,
        };
        let mut groups: Vec<u16> = Vec::new();
        for chunk in digits.chunks(3) {
            let mut g: u16 = 0;
            for k in 0..3 {
                let d = chunk.get(k).map_or(0, |&c| u16::from(c - b'0'));
                g = g * 10 + d;
            }
            groups.push(if self.neg { 1011 - g } else { g + 12 });
        }
        groups.push(if self.neg { 1023 - terminator } else { terminator });
        let mut acc: u32 = 0;
        let mut bits = 0;
        for g in groups {
            acc = (acc << 10) | u32::from(g);
            bits += 10;
            while bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
            acc &= (1 << bits) - 1;
        }
        if bits > 0 {
            out.push((acc << (8 - bits)) as u8);
        }
        out
    }

    /// Decodes LexDecimal bytes (trailing bytes after the terminator are ignored, as the
    /// official clients do). The header bytes for "null" are an error.
    pub fn from_lex_bytes(bytes: &[u8]) -> Result<Number> {
        let Some(&h) = bytes.first() else {
            return Err(WireError::malformed("empty LexDecimal"));
        };
        let read_u32 = || -> Result<u32> {
            let raw = bytes.get(1..5).ok_or_else(|| WireError::malformed("truncated LexDecimal exponent"))?;
            Ok(u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]))
        };
        let (neg, e, start): (bool, i32, usize) = match h {
            0x00 | 0xff => return Err(WireError::malformed("LexDecimal null is not a number")),
            0x80 | 0x7f => return Ok(Number::ZERO),
            0x01 | 0x7e => (true, (read_u32()? ^ 0x7fff_ffff) as i32, 5),
            0x81 | 0xfe => (false, (read_u32()? ^ 0x8000_0000) as i32, 5),
            h if h >= 0x82 => (false, i32::from(h) - 0xc0, 1),
            h => (true, 0x3f - i32::from(h), 1),
        };
        let mut digits: Vec<u8> = Vec::new();
        let mut acc: u32 = 0;
        let mut bits = 0;
        let mut idx = start;
        loop {
            while bits < 10 {
                let Some(&b) = bytes.get(idx) else {
                    return Err(WireError::malformed("unterminated LexDecimal"));
                };
                idx += 1;
                acc = ((acc << 8) | u32::from(b)) & 0x3ffff;
                bits += 8;
            }
            let v = ((acc >> (bits - 10)) & 0x3ff) as u16;
            bits -= 10;
            let term = match v {
                0..=2 => Some(v),
                1021..=1023 => Some(1023 - v),
                12..=1011 => None,
                _ => return Err(WireError::malformed("invalid LexDecimal digit")),
            };
            match term {
                Some(t) => {
                    if digits.is_empty() {
                        return Err(WireError::malformed("LexDecimal without digits"));
                    }
                    let drop = 2 - t as usize;
                    digits.truncate(digits.len() - drop);
                    break;
                }
                None => {
                    let g = if neg { 1011 - v } else { v - 12 };
                    digits.push(b'0' + (g / 100) as u8);
                    digits.push(b'0' + (g / 10 % 10) as u8);
                    digits.push(b'0' + (g % 10) as u8);
                }
            }
        }
        let exp = i128::from(e) - digits.len() as i128;
        Number::from_digits(neg, &digits, exp)
    }
}

fn write_int_mag(w: &mut Writer, neg: bool, mag: u128) {
    // mag > 0 here.
    if neg {
        match u64::try_from(mag - 1) {
            Ok(n) => {
                w.neg_raw(n);
            }
            Err(_) => write_bignum(w, true, u128_be(mag)),
        }
    } else {
        match u64::try_from(mag) {
            Ok(n) => {
                w.u64(n);
            }
            Err(_) => write_bignum(w, false, u128_be(mag)),
        }
    }
}

fn write_bignum(w: &mut Writer, neg: bool, mut mag_be: Vec<u8>) {
    if neg {
        sub_one(&mut mag_be);
        w.tag(3);
    } else {
        w.tag(2);
    }
    let lead = mag_be.iter().take_while(|&&b| b == 0).count();
    w.bytes(&mag_be[lead..]);
}

fn read_bignum_digits(r: &mut Reader<'_>, tag: u64) -> Result<(bool, Vec<u8>)> {
    let mut be = r.bytes()?;
    let lead = be.iter().take_while(|&&b| b == 0).count();
    be.drain(..lead);
    if be.len() > MAX_BIGNUM_BYTES {
        return Err(WireError::validation(NUMBER_OVERFLOW));
    }
    let neg = tag == 3;
    if neg {
        add_one(&mut be);
    }
    Ok((neg, be_to_decimal(&be)))
}

fn u128_be(v: u128) -> Vec<u8> {
    let b = v.to_be_bytes();
    let lead = b.iter().take_while(|&&x| x == 0).count();
    b[lead..].to_vec()
}

fn mul_small(be: &mut Vec<u8>, m: u32) {
    let mut carry: u32 = 0;
    for b in be.iter_mut().rev() {
        let v = u32::from(*b) * m + carry;
        *b = v as u8;
        carry = v >> 8;
    }
    while carry > 0 {
        be.insert(0, carry as u8);
        carry >>= 8;
    }
}

fn add_one(be: &mut Vec<u8>) {
    for b in be.iter_mut().rev() {
        if *b == 0xff {
            *b = 0;
        } else {
            *b += 1;
            return;
        }
    }
    be.insert(0, 1);
}

fn sub_one(be: &mut [u8]) {
    for b in be.iter_mut().rev() {
        if *b == 0 {
            *b = 0xff;
        } else {
            *b -= 1;
            return;
        }
    }
}

/// Big-endian magnitude → ASCII decimal digits (no leading zeros; `"0"` for zero).
fn be_to_decimal(be: &[u8]) -> Vec<u8> {
    const CHUNK: u64 = 10_000_000_000_000_000; // 10^16: rem * 256 + 255 fits in u64
    let mut n: Vec<u8> = be.to_vec();
    let mut chunks: Vec<u64> = Vec::new();
    while n.iter().any(|&b| b != 0) {
        let mut rem: u64 = 0;
        for b in n.iter_mut() {
            let cur = (rem << 8) | u64::from(*b);
            *b = (cur / CHUNK) as u8;
            rem = cur % CHUNK;
        }
        chunks.push(rem);
        let lead = n.iter().take_while(|&&b| b == 0).count();
        n.drain(..lead);
    }
    if chunks.is_empty() {
        return b"0".to_vec();
    }
    let mut out = String::new();
    for (i, c) in chunks.iter().rev().enumerate() {
        if i == 0 {
            out.push_str(&c.to_string());
        } else {
            out.push_str(&format!("{c:016}"));
        }
    }
    out.into_bytes()
}

impl fmt::Display for Number {
    /// DynamoDB's canonical text: plain notation, no exponent, no trailing zeros.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.coeff == 0 {
            return f.write_str("0");
        }
        let digits = self.coeff.to_string();
        let mut s = String::with_capacity(digits.len() + 140);
        if self.neg {
            s.push('-');
        }
        if self.exp >= 0 {
            s.push_str(&digits);
            for _ in 0..self.exp {
                s.push('0');
            }
        } else {
            let scale = (-i32::from(self.exp)) as usize;
            if digits.len() > scale {
                let (a, b) = digits.split_at(digits.len() - scale);
                s.push_str(a);
                s.push('.');
                s.push_str(b);
            } else {
                s.push_str("0.");
                for _ in 0..scale - digits.len() {
                    s.push('0');
                }
                s.push_str(&digits);
            }
        }
        f.write_str(&s)
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

impl std::str::FromStr for Number {
    type Err = WireError;
    fn from_str(s: &str) -> Result<Number> {
        Number::parse(s)
    }
}

impl From<i64> for Number {
    fn from(v: i64) -> Number {
        Number::from_i128(i128::from(v)).unwrap_or(Number::ZERO)
    }
}

impl From<u64> for Number {
    fn from(v: u64) -> Number {
        Number::from_i128(i128::from(v)).unwrap_or(Number::ZERO)
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        let sign = |n: &Number| -> i8 {
            if n.coeff == 0 {
                0
            } else if n.neg {
                -1
            } else {
                1
            }
        };
        let (a, b) = (sign(self), sign(other));
        if a != b || a == 0 {
            return a.cmp(&b);
        }
        let mag = |n: &Number| -> (i32, u128) {
            let d = digit_count(n.coeff);
            (n.sci_exponent(), n.coeff * 10u128.pow(38 - d))
        };
        let ord = mag(self).cmp(&mag(other));
        if a < 0 {
            ord.reverse()
        } else {
            ord
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bignum_helpers() {
        assert_eq!(be_to_decimal(&[0x01, 0x00]), b"256");
        assert_eq!(be_to_decimal(&[]), b"0");
        let mut v = vec![0xff, 0xff];
        add_one(&mut v);
        assert_eq!(v, vec![1, 0, 0]);
        let mut v = vec![1, 0];
        sub_one(&mut v);
        assert_eq!(v, vec![0, 0xff]);
        let mut v = vec![0x19];
        mul_small(&mut v, 10);
        assert_eq!(v, vec![0xfa]);
        mul_small(&mut v, 10);
        assert_eq!(v, vec![0x09, 0xc4]);
    }
}

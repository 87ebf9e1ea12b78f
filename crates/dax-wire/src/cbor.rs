//! The CBOR layer: a bounded structural scanner (for incremental framing and for checking
//! embedded byte strings before they are decoded), a typed reader over `minicbor`'s
//! decoder, and a writer over `minicbor`'s encoder.

use crate::error::{Result, WireError};
use crate::limits::Limits;
use minicbor::data::Type;

/// One open container while scanning.
enum Open {
    /// Definite array/map/tag: items still expected.
    Definite(u64),
    /// Indefinite array or map: items seen so far.
    Indefinite { is_map: bool, count: u64 },
    /// Indefinite byte or text string (major type 2 or 3).
    IndefString(u8),
}

/// Running counters shared by all items of one frame or embedded byte string.
pub(crate) struct Budget {
    items: usize,
}

impl Budget {
    pub(crate) fn new() -> Self {
        Budget { items: 0 }
    }
}

fn need_more(buf: &[u8], frame_start: usize, limits: &Limits) -> Result<Option<usize>> {
    if buf.len().saturating_sub(frame_start) >= limits.max_frame_bytes {
        Err(WireError::LimitExceeded(format!("frame larger than {} bytes", limits.max_frame_bytes)))
    } else {
        Ok(None)
    }
}

/// Finds the end of the well-formed CBOR data item starting at `start`.
///
/// `Ok(None)` means the buffer ends before the item does. `frame_start` is where the
/// enclosing frame began (for the size limit). Never recurses, never allocates more than
/// `max_depth` stack entries.
pub(crate) fn scan_item(
    buf: &[u8],
    start: usize,
    frame_start: usize,
    limits: &Limits,
    budget: &mut Budget,
) -> Result<Option<usize>> {
    let mut pos = start;
    let mut stack: Vec<Open> = Vec::new();
    loop {
        let Some(&b) = buf.get(pos) else {
            return need_more(buf, frame_start, limits);
        };
        budget.items += 1;
        if budget.items > limits.max_items {
            return Err(WireError::LimitExceeded(format!("more than {} CBOR items", limits.max_items)));
        }
        let major = b >> 5;
        let info = b & 0x1f;
        let mut p = pos + 1;
        let arg: Option<u64> = match info {
            0..=23 => Some(u64::from(info)),
            24..=27 => {
                let n = 1usize << (info - 24);
                let Some(raw) = buf.get(p..p + n) else {
                    return need_more(buf, frame_start, limits);
                };
                p += n;
                Some(raw.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
            }
            28..=30 => {
                return Err(WireError::malformed(format!("reserved additional information {info} at offset {pos}")))
            }
            _ => None,
        };
        if let Some(Open::IndefString(m)) = stack.last() {
            if b != 0xff && (major != *m || arg.is_none()) {
                return Err(WireError::malformed("indefinite-length string chunk of the wrong type"));
            }
        }
        let depth_check = |stack: &Vec<Open>| -> Result<()> {
            if stack.len() >= limits.max_depth {
                Err(WireError::LimitExceeded(format!("nesting deeper than {}", limits.max_depth)))
            } else {
                Ok(())
            }
        };
        let complete = match (major, arg) {
            (0 | 1, Some(_)) => true,
            (2 | 3, Some(len)) => {
                if len >= limits.max_frame_bytes as u64 {
                    return Err(WireError::LimitExceeded(format!("string of {len} bytes exceeds the frame limit")));
                }
                let Some(end) = usize::try_from(len).ok().and_then(|l| p.checked_add(l)) else {
                    return Err(WireError::LimitExceeded("string length overflows".into()));
                };
                if end - frame_start > limits.max_frame_bytes {
                    return Err(WireError::LimitExceeded(format!(
                        "frame larger than {} bytes",
                        limits.max_frame_bytes
                    )));
                }
                if buf.len() < end {
                    return need_more(buf, frame_start, limits);
                }
                p = end;
                true
            }
            (2 | 3, None) => {
                depth_check(&stack)?;
                stack.push(Open::IndefString(major));
                false
            }
            (4 | 5, Some(len)) => {
                if len > limits.max_container_len {
                    return Err(WireError::LimitExceeded(format!(
                        "container of {len} entries exceeds {}",
                        limits.max_container_len
                    )));
                }
                let n = if major == 5 { len.saturating_mul(2) } else { len };
                if n == 0 {
                    true
                } else {
                    depth_check(&stack)?;
                    stack.push(Open::Definite(n));
                    false
                }
            }
            (4 | 5, None) => {
                depth_check(&stack)?;
                stack.push(Open::Indefinite { is_map: major == 5, count: 0 });
                false
            }
            (6, Some(_)) => {
                depth_check(&stack)?;
                stack.push(Open::Definite(1));
                false
            }
            (7, Some(_)) => true,
            (7, None) => match stack.pop() {
                Some(Open::Indefinite { is_map, count }) => {
                    if is_map && count % 2 == 1 {
                        return Err(WireError::malformed("indefinite map with a key but no value"));
                    }
                    true
                }
                Some(Open::IndefString(_)) => true,
                _ => return Err(WireError::malformed(format!("unexpected break at offset {pos}"))),
            },
            _ => return Err(WireError::malformed(format!("indefinite length not allowed for major type {major}"))),
        };
        pos = p;
        if pos - frame_start > limits.max_frame_bytes {
            return Err(WireError::LimitExceeded(format!("frame larger than {} bytes", limits.max_frame_bytes)));
        }
        if complete {
            loop {
                match stack.last_mut() {
                    None => return Ok(Some(pos)),
                    Some(Open::Definite(n)) => {
                        *n -= 1;
                        if *n == 0 {
                            stack.pop();
                            continue;
                        }
                        break;
                    }
                    Some(Open::Indefinite { count, .. }) => {
                        *count += 1;
                        break;
                    }
                    Some(Open::IndefString(_)) => break,
                }
            }
        }
    }
}

/// Checks that `bytes` is a complete sequence of zero or more well-formed items within
/// the limits; returns how many top-level items it holds.
pub(crate) fn check_sequence(bytes: &[u8], limits: &Limits) -> Result<usize> {
    let mut budget = Budget::new();
    let mut pos = 0;
    let mut n = 0;
    while pos < bytes.len() {
        match scan_item(bytes, pos, 0, limits, &mut budget)? {
            Some(end) => pos = end,
            None => return Err(WireError::malformed("truncated CBOR item")),
        }
        n += 1;
    }
    Ok(n)
}

/// Checks that `bytes` is exactly one well-formed item.
pub(crate) fn check_single(bytes: &[u8], limits: &Limits) -> Result<()> {
    let mut budget = Budget::new();
    match scan_item(bytes, 0, 0, limits, &mut budget)? {
        Some(end) if end == bytes.len() => Ok(()),
        Some(_) => Err(WireError::malformed("trailing bytes after CBOR item")),
        None => Err(WireError::malformed("truncated CBOR item")),
    }
}

fn half_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let frac = f64::from(bits & 0x3ff);
    let mag = match exp {
        0 => frac * 2f64.powi(-24),
        31 => {
            if frac == 0.0 {
                f64::INFINITY
            } else {
                f64::NAN
            }
        }
        e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    };
    sign * mag
}

/// A CBOR float as decoded: the width matters for choosing the shortest decimal.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Float {
    F32(f32),
    F64(f64),
}

/// Typed reads over input that has already been checked by [`scan_item`], so every read
/// either succeeds or reports a type mismatch; nothing is unbounded.
pub(crate) struct Reader<'b> {
    d: minicbor::Decoder<'b>,
    pub(crate) limits: Limits,
}

impl<'b> Reader<'b> {
    pub(crate) fn new(bytes: &'b [u8], limits: Limits) -> Self {
        Reader { d: minicbor::Decoder::new(bytes), limits }
    }

    pub(crate) fn position(&self) -> usize {
        self.d.position()
    }

    pub(crate) fn set_position(&mut self, pos: usize) {
        self.d.set_position(pos)
    }

    pub(crate) fn at_end(&self) -> bool {
        self.d.position() >= self.d.input().len()
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.d.input().get(self.d.position()).copied()
    }

    pub(crate) fn datatype(&self) -> Result<Type> {
        Ok(self.d.datatype()?)
    }

    pub(crate) fn is_null(&self) -> bool {
        self.peek() == Some(0xf6)
    }

    pub(crate) fn at_break(&self) -> bool {
        self.peek() == Some(0xff)
    }

    /// Consumes `null` if it is next.
    pub(crate) fn take_null(&mut self) -> bool {
        if self.is_null() || self.peek() == Some(0xf7) {
            self.d.set_position(self.d.position() + 1);
            true
        } else {
            false
        }
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(self.d.u64()?)
    }

    pub(crate) fn int(&mut self) -> Result<i128> {
        Ok(i128::from(self.d.int()?))
    }

    pub(crate) fn bool(&mut self) -> Result<bool> {
        Ok(self.d.bool()?)
    }

    /// A boolean sent either as CBOR bool or as uint 0/1.
    pub(crate) fn bool_or_int(&mut self) -> Result<bool> {
        match self.datatype()? {
            Type::Bool => self.bool(),
            _ => Ok(self.int()? != 0),
        }
    }

    pub(crate) fn tag(&mut self) -> Result<u64> {
        Ok(self.d.tag()?.as_u64())
    }

    pub(crate) fn float(&mut self) -> Result<Float> {
        let pos = self.d.position();
        match self.peek() {
            Some(0xf9) => {
                let raw =
                    self.d.input().get(pos + 1..pos + 3).ok_or_else(|| WireError::malformed("truncated half float"))?;
                let bits = u16::from_be_bytes([raw[0], raw[1]]);
                self.d.set_position(pos + 3);
                let v = half_to_f64(bits);
                Ok(Float::F32(v as f32))
            }
            Some(0xfa) => Ok(Float::F32(self.d.f32()?)),
            _ => Ok(Float::F64(self.d.f64()?)),
        }
    }

    pub(crate) fn text(&mut self) -> Result<String> {
        match self.datatype()? {
            Type::StringIndef => {
                let mut out = String::new();
                for chunk in self.d.str_iter()? {
                    out.push_str(chunk?);
                }
                Ok(out)
            }
            _ => Ok(self.d.str()?.to_owned()),
        }
    }

    pub(crate) fn bytes(&mut self) -> Result<Vec<u8>> {
        match self.datatype()? {
            Type::BytesIndef => {
                let mut out = Vec::new();
                for chunk in self.d.bytes_iter()? {
                    out.extend_from_slice(chunk?);
                }
                Ok(out)
            }
            _ => Ok(self.d.bytes()?.to_vec()),
        }
    }

    /// Text or bytes (UTF-8 checked), for names that clients send either way.
    pub(crate) fn text_or_bytes(&mut self) -> Result<String> {
        match self.datatype()? {
            Type::Bytes | Type::BytesIndef => {
                let b = self.bytes()?;
                String::from_utf8(b).map_err(|_| WireError::malformed("name is not valid UTF-8"))
            }
            _ => self.text(),
        }
    }

    pub(crate) fn array(&mut self) -> Result<Option<u64>> {
        Ok(self.d.array()?)
    }

    pub(crate) fn map(&mut self) -> Result<Option<u64>> {
        Ok(self.d.map()?)
    }

    pub(crate) fn consume_break(&mut self) -> Result<()> {
        if self.at_break() {
            self.d.set_position(self.d.position() + 1);
            Ok(())
        } else {
            Err(WireError::malformed("expected break"))
        }
    }

    /// Calls `f` once per array element (definite or indefinite).
    pub(crate) fn array_each(&mut self, mut f: impl FnMut(&mut Self) -> Result<()>) -> Result<()> {
        match self.array()? {
            Some(n) => {
                for _ in 0..n {
                    f(self)?;
                }
                Ok(())
            }
            None => {
                while !self.at_break() {
                    if self.at_end() {
                        return Err(WireError::malformed("unterminated array"));
                    }
                    f(self)?;
                }
                self.consume_break()
            }
        }
    }

    /// Collects the array's elements.
    pub(crate) fn array_of<T>(&mut self, mut f: impl FnMut(&mut Self) -> Result<T>) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.array_each(|r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Calls `f` once per map entry; `f` reads key and value.
    pub(crate) fn map_each(&mut self, mut f: impl FnMut(&mut Self) -> Result<()>) -> Result<()> {
        match self.map()? {
            Some(n) => {
                for _ in 0..n {
                    f(self)?;
                }
                Ok(())
            }
            None => {
                while !self.at_break() {
                    if self.at_end() {
                        return Err(WireError::malformed("unterminated map"));
                    }
                    f(self)?;
                }
                self.consume_break()
            }
        }
    }

    /// Skips one data item.
    pub(crate) fn skip(&mut self) -> Result<()> {
        let input = self.d.input();
        let mut budget = Budget::new();
        let start = self.d.position();
        let unbounded = Limits { max_frame_bytes: usize::MAX, max_items: usize::MAX, ..self.limits };
        match scan_item(input, start, start, &unbounded, &mut budget)? {
            Some(end) => {
                self.d.set_position(end);
                Ok(())
            }
            None => Err(WireError::malformed("truncated CBOR item")),
        }
    }

    /// Fails unless all input was consumed.
    pub(crate) fn expect_end(&self) -> Result<()> {
        if self.at_end() {
            Ok(())
        } else {
            Err(WireError::malformed("trailing bytes"))
        }
    }
}

/// CBOR output into a `Vec<u8>`. Writing to memory cannot fail, so the methods do not
/// return errors.
pub(crate) struct Writer {
    e: minicbor::Encoder<Vec<u8>>,
}

macro_rules! w {
    ($self:ident . $m:ident ( $($a:expr),* )) => {{
        // Writing into a Vec<u8> is infallible.
        let _ = $self.e.$m($($a),*);
        $self
    }};
}

impl Writer {
    pub(crate) fn new() -> Self {
        Writer { e: minicbor::Encoder::new(Vec::new()) }
    }

    /// A writer whose buffer has room for `n` bytes.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Writer { e: minicbor::Encoder::new(Vec::with_capacity(n)) }
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.e.into_writer()
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.e.writer_mut().extend_from_slice(bytes);
        self
    }

    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        w!(self.u64(v))
    }

    pub(crate) fn i64(&mut self, v: i64) -> &mut Self {
        w!(self.i64(v))
    }

    /// Major type 1 with raw argument `n` (the value −1−n).
    pub(crate) fn neg_raw(&mut self, n: u64) -> &mut Self {
        self.head(1, n)
    }

    pub(crate) fn head(&mut self, major: u8, n: u64) -> &mut Self {
        let m = major << 5;
        let out = self.e.writer_mut();
        if n < 24 {
            out.push(m | n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[m | 24, n as u8]);
        } else if n <= 0xffff {
            out.push(m | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(m | 26);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(m | 27);
            out.extend_from_slice(&n.to_be_bytes());
        }
        self
    }

    pub(crate) fn f64(&mut self, v: f64) -> &mut Self {
        w!(self.f64(v))
    }

    pub(crate) fn bool(&mut self, v: bool) -> &mut Self {
        w!(self.bool(v))
    }

    pub(crate) fn null(&mut self) -> &mut Self {
        w!(self.null())
    }

    pub(crate) fn str(&mut self, v: &str) -> &mut Self {
        w!(self.str(v))
    }

    pub(crate) fn bytes(&mut self, v: &[u8]) -> &mut Self {
        w!(self.bytes(v))
    }

    pub(crate) fn array(&mut self, n: u64) -> &mut Self {
        w!(self.array(n))
    }

    pub(crate) fn map(&mut self, n: u64) -> &mut Self {
        w!(self.map(n))
    }

    pub(crate) fn begin_map(&mut self) -> &mut Self {
        w!(self.begin_map())
    }

    pub(crate) fn end(&mut self) -> &mut Self {
        w!(self.end())
    }

    pub(crate) fn tag(&mut self, t: u64) -> &mut Self {
        w!(self.tag(minicbor::data::Tag::new(t)))
    }
}

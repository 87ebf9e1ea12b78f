//! Preamble and request framing over arbitrary bytes, whole and split in two.
#![no_main]

use dax_wire::{try_decode, try_decode_preamble, Limits, StreamDecoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(Some((_, n))) = try_decode(data, &limits) {
        assert!(n <= data.len());
        // A complete frame is also complete when more bytes follow, and never earlier.
        if n > 0 {
            assert!(matches!(
                try_decode(&data[..n - 1], &limits),
                Ok(None) | Err(_)
            ));
        }
    }
    let _ = try_decode_preamble(data, &limits);
    let mut d = StreamDecoder::new(limits);
    let mut pos = 0;
    while let Ok(Some((_, n))) = d.decode(&data[pos..]) {
        pos += n;
    }
});

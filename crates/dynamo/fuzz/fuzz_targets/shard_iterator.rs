//! DynamoDB Streams shard iterators as clients send them back to `GetRecords`
//! (untrusted: any string up to 2048 characters).
//!
//! Invariants: decoding never panics; what decodes re-encodes to an iterator that
//! decodes to the same stream, position and time, and starts with that stream ARN,
//! which is the ARN `GetRecords` is authorized on when it names a stream.
#![no_main]

use dynamo::fuzzing::{decode_iterator, encode_iterator, iterator_stream_arn};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let named = iterator_stream_arn(s);
    if let Some((arn, position, issued)) = decode_iterator(s) {
        let again = encode_iterator(arn, position, issued);
        assert_eq!(decode_iterator(&again), Some((arn, position, issued)));
        assert!(again.starts_with(arn));
        if arn.starts_with("arn:") && arn.contains("/stream/") {
            assert_eq!(named, Some(arn));
        }
    }
});

//! `parse`, `canonical_request` and `verify` over thousands of random and
//! randomly-mutated requests: any panic fails the test. (The `fuzz/`
//! directory has the coverage-guided version of this.)

use sigv4::{canonical_request, parse, sign, verify, Request};
use time::OffsetDateTime;

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.below(max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }
    /// Bytes biased towards characters that matter to the parsers.
    fn interesting(&mut self, max: usize) -> Vec<u8> {
        const ALPHABET: &[u8] = b"aZ09/=,; %+&.-_~\t\r\nT:\xff\xc3\xa9XAmz";
        let len = self.below(max + 1);
        (0..len)
            .map(|_| if self.chance(4) { self.next() as u8 } else { ALPHABET[self.below(ALPHABET.len())] })
            .collect()
    }
}

/// Randomly mutates `base`: flip, insert, delete or truncate.
fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(4) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            1 => {
                let i = rng.below(v.len() + 1);
                let ins = rng.interesting(6);
                v.splice(i..i, ins);
            }
            2 if !v.is_empty() => {
                let i = rng.below(v.len());
                let j = (i + rng.below(8)).min(v.len());
                v.drain(i..j);
            }
            _ => v.truncate(rng.below(v.len() + 1)),
        }
    }
    v
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn random_time(rng: &mut Rng) -> OffsetDateTime {
    let unix = match rng.below(4) {
        0 => i64::MIN,
        1 => i64::MAX,
        2 => 1_704_067_200 + (rng.next() % 4_000) as i64 - 2_000,
        _ => (rng.next() % 400_000_000_000) as i64 - 200_000_000_000,
    };
    OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[test]
fn random_requests_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let now = OffsetDateTime::from_unix_timestamp(1_704_067_200).unwrap();
    // A valid header-signed request and a presigned-looking query to mutate.
    let valid = sign(
        "POST",
        "localhost",
        "/",
        "a=1",
        &[("x-amz-target", "DynamoDB_20120810.ListTables")],
        b"{}",
        "AKID",
        "secret",
        Some("token"),
        "us-east-1",
        "dynamodb",
        now,
    );
    let valid_auth = valid[0].1.as_bytes().to_vec();
    let presigned_query = b"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=00".to_vec();
    let names: [&str; 9] = [
        "authorization",
        "Authorization",
        "x-amz-date",
        "Date",
        "host",
        "x-amz-security-token",
        "x-amz-content-sha256",
        "x-amz-target",
        " X-Amz-Date ",
    ];

    let mut parsed_ok = 0;
    for _ in 0..5_000 {
        let method = lossy(&rng.interesting(6));
        let path = match rng.below(3) {
            0 => "/".to_owned(),
            _ => lossy(&rng.interesting(24)),
        };
        let query = match rng.below(3) {
            0 => String::new(),
            1 => lossy(&mutate(&mut rng, &presigned_query)),
            _ => lossy(&rng.interesting(40)),
        };
        let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
        if rng.chance(2) {
            // Start from the valid request's headers, lightly mutated.
            headers.push(("host".into(), b"localhost".to_vec()));
            headers.push(("x-amz-target".into(), b"DynamoDB_20120810.ListTables".to_vec()));
            for (n, v) in &valid {
                let v = if rng.chance(3) { mutate(&mut rng, v.as_bytes()) } else { v.as_bytes().to_vec() };
                headers.push((n.clone(), v));
            }
        }
        for _ in 0..rng.below(4) {
            let name = if rng.chance(5) { lossy(&rng.interesting(8)) } else { rng.pick(&names).to_owned() };
            let value = if name.trim().eq_ignore_ascii_case("authorization") {
                if rng.chance(3) {
                    rng.bytes(40)
                } else {
                    mutate(&mut rng, &valid_auth)
                }
            } else if name.to_ascii_lowercase().contains("date") && rng.chance(2) {
                mutate(&mut rng, b"20240101T000000Z")
            } else {
                rng.interesting(30)
            };
            headers.push((name, value));
        }
        let body = rng.bytes(16);
        let header_refs: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
        let req = Request { method: &method, path: &path, query: &query, headers: &header_refs, body: &body };
        let Ok(mut parsed) = parse(&req) else {
            continue;
        };
        parsed_ok += 1;
        let _ = canonical_request(&req, &parsed);
        let _ = verify(&req, &parsed, "secret", random_time(&mut rng));
        // Also hostile values in the pub fields.
        parsed.signed_headers.push(lossy(&rng.interesting(6)));
        parsed.signature = lossy(&rng.bytes(70));
        parsed.expires = Some(rng.next());
        parsed.normalize_path = rng.chance(2);
        parsed.presigned = rng.chance(2);
        let _ = canonical_request(&req, &parsed);
        let _ = verify(&req, &parsed, "secret", random_time(&mut rng));
    }
    // The mutations must get past parse often enough to exercise verify.
    eprintln!("{parsed_ok} of 5000 random requests parsed");
    assert!(parsed_ok > 100, "only {parsed_ok} random requests parsed");
}

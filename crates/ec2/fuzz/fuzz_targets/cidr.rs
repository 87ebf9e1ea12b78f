//! EC2's CIDR blocks (`CidrBlock` of CreateVpc and CreateSubnet, `CidrIp` and `CidrIpv6` of
//! security group rules) and IPv4 addresses (`PrivateIpAddress`).
//!
//! `crates/ec2/src/cidr.rs` is private to `ec2` and needs nothing but `std`, so the target
//! compiles that very file as a module of its own rather than reach it through a store.
//!
//! Invariants: a parsed IPv4 block's first address is at most its last, both inside it, and
//! its size is their distance plus one; its canonical text parses back to its network
//! block; two blocks overlap symmetrically, and a block that contains another overlaps it;
//! canonical IPv6 text and printed addresses parse back to themselves.
#![no_main]

#[allow(dead_code)]
#[path = "../../src/cidr.rs"]
mod cidr;

use cidr::{canonical_v6, ip_string, parse_ip, Cidr4};
use libfuzzer_sys::fuzz_target;

fn check_block(c: Cidr4) {
    assert!(c.prefix() <= 32);
    assert!(c.first() <= c.last());
    assert!(c.contains(c.first()) && c.contains(c.last()));
    assert_eq!(c.size(), u64::from(c.last() - c.first()) + 1);
    assert!(u64::from(c.usable()) <= c.size());
    assert!(c.contains_block(c) && c.overlaps(c));
    let net = Cidr4::parse(&c.to_string()).expect("the canonical form parses");
    assert!(net.is_network());
    assert_eq!((net.first(), net.last(), net.prefix()), (c.first(), c.last(), c.prefix()));
    assert_eq!(net.to_string(), c.to_string());
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let (a, b) = s.split_once('\n').unwrap_or((s, ""));
    let blocks: Vec<Cidr4> = [a, b].iter().filter_map(|t| Cidr4::parse(t)).collect();
    for c in &blocks {
        check_block(*c);
    }
    if let [x, y] = blocks[..] {
        assert_eq!(x.overlaps(y), y.overlaps(x));
        if x.contains_block(y) {
            assert!(x.overlaps(y) && x.contains(y.first()) && x.contains(y.last()));
        }
    }
    for t in [a, b] {
        if let Some(v6) = canonical_v6(t) {
            assert_eq!(canonical_v6(&v6).as_deref(), Some(v6.as_str()));
        }
        if let Some(ip) = parse_ip(t) {
            assert_eq!(parse_ip(&ip_string(ip)), Some(ip));
        }
    }
});

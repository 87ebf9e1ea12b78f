//! IPv4 CIDR arithmetic for VPCs, subnets and address allocation, and the
//! IPv6 CIDR syntax security group rules accept.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// An IPv4 block `a.b.c.d/n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr4 {
    addr: u32,
    prefix: u8,
}

fn parse_prefix(s: &str, max: u8) -> Option<u8> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u8>().ok().filter(|p| *p <= max)
}

impl Cidr4 {
    /// Parse `a.b.c.d/n`; host bits may be set (see [`Cidr4::is_network`]).
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let (ip, prefix) = s.split_once('/')?;
        let addr: Ipv4Addr = ip.parse().ok()?;
        Some(Cidr4 { addr: u32::from(addr), prefix: parse_prefix(prefix, 32)? })
    }

    pub(crate) fn prefix(self) -> u8 {
        self.prefix
    }

    fn mask(self) -> u32 {
        u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0)
    }

    /// Whether no host bit is set.
    pub(crate) fn is_network(self) -> bool {
        self.addr & !self.mask() == 0
    }

    pub(crate) fn first(self) -> u32 {
        self.addr & self.mask()
    }

    pub(crate) fn last(self) -> u32 {
        self.first() | !self.mask()
    }

    /// The number of addresses in the block.
    pub(crate) fn size(self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    pub(crate) fn contains(self, ip: u32) -> bool {
        ip & self.mask() == self.first()
    }

    pub(crate) fn contains_block(self, other: Cidr4) -> bool {
        other.prefix >= self.prefix && self.contains(other.first())
    }

    pub(crate) fn overlaps(self, other: Cidr4) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }

    /// Addresses EC2 lets instances use: all but the first four and the last.
    pub(crate) fn usable(self) -> u32 {
        u32::try_from(self.size().saturating_sub(5)).unwrap_or(u32::MAX)
    }
}

impl fmt::Display for Cidr4 {
    /// The canonical form, host bits cleared.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.first()), self.prefix)
    }
}

/// An IPv6 block in canonical text form, or `None` when malformed.
pub(crate) fn canonical_v6(s: &str) -> Option<String> {
    let (ip, prefix) = s.split_once('/')?;
    let addr: Ipv6Addr = ip.parse().ok()?;
    let prefix = parse_prefix(prefix, 128)?;
    let bits = u128::from(addr) & u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
    Some(format!("{}/{prefix}", Ipv6Addr::from(bits)))
}

pub(crate) fn ip_string(ip: u32) -> String {
    Ipv4Addr::from(ip).to_string()
}

pub(crate) fn parse_ip(s: &str) -> Option<u32> {
    s.parse::<Ipv4Addr>().ok().map(u32::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_arithmetic() {
        let vpc = Cidr4::parse("172.31.0.0/16").expect("vpc");
        let sub = Cidr4::parse("172.31.16.0/20").expect("subnet");
        assert!(vpc.is_network() && vpc.contains_block(sub) && !sub.contains_block(vpc));
        assert_eq!(sub.usable(), 4091);
        assert_eq!(sub.to_string(), "172.31.16.0/20");
        assert!(sub.overlaps(Cidr4::parse("172.31.17.0/24").expect("c")));
        assert!(!sub.overlaps(Cidr4::parse("172.31.32.0/20").expect("c")));
        assert!(!Cidr4::parse("10.0.0.1/24").expect("host bits").is_network());
        assert_eq!(Cidr4::parse("0.0.0.0/0").expect("all").size(), 1 << 32);
        for bad in ["", "10.0.0.0", "10.0.0.0/33", "10.0.0/8", "10.0.0.0/+8", "10.0.0.0/", "x/8", "10.0.0.256/8"] {
            assert!(Cidr4::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(canonical_v6("2001:DB8::1/32").as_deref(), Some("2001:db8::/32"));
        assert_eq!(canonical_v6("::/0").as_deref(), Some("::/0"));
        assert!(canonical_v6("2001:db8::/129").is_none());
        assert!(canonical_v6("10.0.0.0/8").is_none());
    }
}

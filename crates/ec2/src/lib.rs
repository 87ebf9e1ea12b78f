//! The EC2 network subset of daxd: what DAX needs of EC2, per account and
//! per region.
//!
//! Each region has a default VPC (172.31.0.0/16) with a default subnet in
//! each of three availability zones (`<region>a..c`) and the VPC's
//! `default` security group. They are created the first time a region is
//! touched, persisted in the same batch as that first call's own change,
//! and their ids are a pure function of (account, region), so they are the
//! same after a reset. Beyond the defaults callers create and delete VPCs,
//! subnets, security groups (with ingress rules) and network interfaces,
//! and describe them with EC2's filters (`*`/`?` wildcards) and
//! `MaxResults`/`NextToken` paging.
//!
//! State lives in memory behind a lock; every change is written to the
//! durable [`state::Store`] in one batch before memory is updated and
//! before the call returns. Ids come from [`base::Env::ids`].
//!
//! It is not EC2: no instances, route tables, network ACLs, internet
//! gateways, DHCP options objects, IPv6 blocks on VPCs or subnets, egress
//! rule APIs, attachments or tagging APIs. It knows no wire format (callers
//! pass plain values and get plain values or an [`Ec2Error`] carrying EC2's
//! code and message), does no authorization, and has no async.

mod cidr;
mod enis;
mod error;
mod filter;
mod groups;
mod model;
mod vpcs;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use base::page::TokenForm;
use base::Env;
use cidr::Cidr4;
use filter::one;
use serde::Serialize;
use state::{Op, Store};

pub use error::Ec2Error;
pub use filter::Filter;
pub use model::{
    AvailabilityZone, GroupIdentifier, GroupPair, GroupRef, IpPermission, IpRange, NetworkInterface,
    NetworkInterfaceAttribute, NewNetworkInterface, Page, Paging, Peer, RevokeOutcome, SecurityGroup,
    SecurityGroupRule, Subnet, Tag, Vpc,
};

/// The requester id of interfaces a service creates on the account's behalf.
pub const DAX_REQUESTER_ID: &str = "amazon-dax";
/// The CIDR of every default VPC.
pub const DEFAULT_VPC_CIDR: &str = "172.31.0.0/16";
/// The description of every VPC's `default` security group.
pub const DEFAULT_GROUP_DESCRIPTION: &str = "default VPC security group";
/// The zone letters of a region's availability zones.
const ZONE_LETTERS: [char; 3] = ['a', 'b', 'c'];
/// Regions whose defaults exist (key = region).
const NS_REGIONS: &str = "ec2/regions";
/// EC2's per-group quota of inbound rules.
pub const RULES_PER_GROUP: usize = 60;
/// EC2's quota of security groups per network interface.
pub const GROUPS_PER_INTERFACE: usize = 5;
/// EC2's quota of tags per resource.
pub const TAGS_PER_RESOURCE: usize = 50;

/// The objects of one region.
#[derive(Debug, Clone, Default)]
pub(crate) struct Region {
    pub(crate) vpcs: BTreeMap<String, Vpc>,
    pub(crate) subnets: BTreeMap<String, Subnet>,
    pub(crate) groups: BTreeMap<String, SecurityGroup>,
    pub(crate) enis: BTreeMap<String, NetworkInterface>,
}

impl Region {
    pub(crate) fn default_vpc(&self) -> Option<&Vpc> {
        self.vpcs.values().find(|v| v.is_default)
    }

    pub(crate) fn default_group(&self, vpc_id: &str) -> Option<&SecurityGroup> {
        self.groups.values().find(|g| g.vpc_id == vpc_id && g.is_default())
    }

    pub(crate) fn group_by_name(&self, vpc_id: &str, name: &str) -> Option<&SecurityGroup> {
        self.groups.values().find(|g| g.vpc_id == vpc_id && g.group_name == name)
    }

    fn contains_id(&self, id: &str) -> bool {
        self.vpcs.contains_key(id)
            || self.subnets.contains_key(id)
            || self.groups.contains_key(id)
            || self.enis.contains_key(id)
            || self.groups.values().any(|g| g.rules.iter().any(|r| r.rule_id == id))
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Vpcs,
    Subnets,
    Groups,
    Enis,
}

impl Kind {
    fn ns(self, region: &str) -> String {
        let kind = match self {
            Kind::Vpcs => "vpcs",
            Kind::Subnets => "subnets",
            Kind::Groups => "security-groups",
            Kind::Enis => "network-interfaces",
        };
        format!("ec2/{region}/{kind}")
    }
}

/// One mutation in progress: a copy of the region and the batch that
/// persists the changes made to it.
pub(crate) struct Tx<'a> {
    region: &'a str,
    pub(crate) reg: Region,
    ops: Vec<Op>,
}

impl Tx<'_> {
    pub(crate) fn region(&self) -> &str {
        self.region
    }

    fn put<T: Serialize>(&mut self, kind: Kind, id: &str, v: &T) -> Result<(), Ec2Error> {
        self.ops.push(Op::put_json(&kind.ns(self.region), id, v)?);
        Ok(())
    }

    fn delete(&mut self, kind: Kind, id: &str) {
        self.ops.push(Op::delete(&kind.ns(self.region), id));
    }

    pub(crate) fn put_vpc(&mut self, v: Vpc) -> Result<(), Ec2Error> {
        self.put(Kind::Vpcs, &v.vpc_id, &v)?;
        self.reg.vpcs.insert(v.vpc_id.clone(), v);
        Ok(())
    }

    pub(crate) fn put_subnet(&mut self, s: Subnet) -> Result<(), Ec2Error> {
        self.put(Kind::Subnets, &s.subnet_id, &s)?;
        self.reg.subnets.insert(s.subnet_id.clone(), s);
        Ok(())
    }

    pub(crate) fn put_group(&mut self, g: SecurityGroup) -> Result<(), Ec2Error> {
        self.put(Kind::Groups, &g.group_id, &g)?;
        self.reg.groups.insert(g.group_id.clone(), g);
        Ok(())
    }

    pub(crate) fn put_eni(&mut self, e: NetworkInterface) -> Result<(), Ec2Error> {
        self.put(Kind::Enis, &e.network_interface_id, &e)?;
        self.reg.enis.insert(e.network_interface_id.clone(), e);
        Ok(())
    }

    pub(crate) fn delete_vpc(&mut self, id: &str) {
        self.delete(Kind::Vpcs, id);
        self.reg.vpcs.remove(id);
    }

    pub(crate) fn delete_subnet(&mut self, id: &str) {
        self.delete(Kind::Subnets, id);
        self.reg.subnets.remove(id);
    }

    pub(crate) fn delete_group(&mut self, id: &str) {
        self.delete(Kind::Groups, id);
        self.reg.groups.remove(id);
    }

    pub(crate) fn delete_eni(&mut self, id: &str) {
        self.delete(Kind::Enis, id);
        self.reg.enis.remove(id);
    }
}

#[derive(Debug, Default)]
struct State {
    regions: BTreeMap<String, Region>,
}

/// The EC2 network subset of one account, all regions.
pub struct Ec2 {
    account: String,
    env: Env,
    store: Arc<Store>,
    state: RwLock<State>,
}

/// `len` hex characters that depend only on the inputs (FNV-1a, then a
/// SplitMix64 finaliser), for the ids of a region's default objects.
fn stable_hex(account: &str, region: &str, what: &str, len: usize) -> String {
    let mut out = String::with_capacity(len + 16);
    let mut round = 0u64;
    while out.len() < len {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ round;
        for b in account.bytes().chain([0]).chain(region.bytes()).chain([0]).chain(what.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h ^= h >> 30;
        h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= h >> 27;
        h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^= h >> 31;
        let _ = write!(out, "{h:016x}");
        round += 1;
    }
    out.truncate(len);
    out
}

/// The short code zone ids start with: `us-east-1` -> `use1`,
/// `ap-southeast-2` -> `apse2`, `us-gov-west-1` -> `usgw1`.
#[must_use]
pub fn region_short_code(region: &str) -> String {
    let parts: Vec<&str> = region.split('-').collect();
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i == 0 || i + 1 == parts.len() {
            out.push_str(p);
            continue;
        }
        let short = match *p {
            "northeast" => "ne",
            "northwest" => "nw",
            "southeast" => "se",
            "southwest" => "sw",
            other => other.get(..1).unwrap_or(""),
        };
        out.push_str(short);
    }
    out
}

/// The availability zones of `region`, as `DescribeAvailabilityZones` lists them.
#[must_use]
pub fn availability_zones(region: &str) -> Vec<AvailabilityZone> {
    let code = region_short_code(region);
    ZONE_LETTERS
        .iter()
        .enumerate()
        .map(|(i, letter)| AvailabilityZone {
            zone_name: format!("{region}{letter}"),
            zone_id: format!("{code}-az{}", i + 1),
            state: "available".to_owned(),
            region_name: region.to_owned(),
            group_name: region.to_owned(),
            network_border_group: region.to_owned(),
            zone_type: "availability-zone".to_owned(),
            opt_in_status: "opt-in-not-required".to_owned(),
        })
        .collect()
}

fn check_region(region: &str) -> Result<(), Ec2Error> {
    if base::is_region(region) {
        Ok(())
    } else {
        Err(Ec2Error::invalid(format!("Invalid region: {region}")))
    }
}

pub(crate) fn check_tags(tags: &[Tag]) -> Result<(), Ec2Error> {
    if tags.len() > TAGS_PER_RESOURCE {
        return Err(Ec2Error::TagLimitExceeded);
    }
    for t in tags {
        if t.key.is_empty() || t.key.chars().count() > 127 {
            return Err(Ec2Error::invalid(format!("Tag key must be between 1 and 127 characters long: '{}'", t.key)));
        }
        if t.value.chars().count() > 255 {
            return Err(Ec2Error::invalid(format!("Tag value for key '{}' exceeds 255 characters", t.key)));
        }
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(Ec2Error::invalid("Tag keys starting with 'aws:' are reserved for internal use"));
        }
    }
    Ok(())
}

/// Later tags with the same key replace earlier ones.
pub(crate) fn dedup_tags(tags: Vec<Tag>) -> Vec<Tag> {
    let mut out: Vec<Tag> = Vec::with_capacity(tags.len());
    for t in tags {
        if let Some(existing) = out.iter_mut().find(|e| e.key == t.key) {
            *existing = t;
        } else {
            out.push(t);
        }
    }
    out
}

/// Page through `(id, item)` pairs given in id order, with EC2's rules over
/// the shared walk of [`base::page`]: `MaxResults` 5 to 1000 (absent: all),
/// and a token that is the id of the first item of the next page (empty:
/// absent).
pub(crate) fn paginate<T>(items: Vec<(String, T)>, paging: &Paging, prefix: &str) -> Result<Page<T>, Ec2Error> {
    let max = match paging.max_results {
        None => usize::MAX,
        Some(n) if n < 5 => {
            return Err(Ec2Error::invalid(format!(
                "Value ( {n} ) for parameter maxResults is invalid. Expecting a value greater than 5."
            )))
        }
        Some(n) if n > 1000 => {
            return Err(Ec2Error::invalid(format!(
                "Value ( {n} ) for parameter maxResults is invalid. Expecting a value less than 1000."
            )))
        }
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    base::page::paginate(items, paging.next_token.as_deref(), TokenForm::Id(prefix), max)
        .map_err(|_| Ec2Error::InvalidNextToken(paging.next_token.clone().unwrap_or_default()))
}

/// Select the objects named by `ids` (all when empty), failing on the first
/// unknown id.
pub(crate) fn select<'a, T>(
    map: &'a BTreeMap<String, T>,
    ids: &[String],
    missing: impl Fn(&str) -> Ec2Error,
) -> Result<Vec<&'a T>, Ec2Error> {
    if ids.is_empty() {
        return Ok(map.values().collect());
    }
    let mut wanted: Vec<&String> = ids.iter().collect();
    wanted.sort();
    wanted.dedup();
    wanted.into_iter().map(|id| map.get(id).ok_or_else(|| missing(id))).collect()
}

const ZONE_FILTERS: &[&str] = &[
    "zone-name",
    "zone-id",
    "state",
    "region-name",
    "group-name",
    "zone-type",
    "opt-in-status",
    "network-border-group",
];

fn zone_field(z: &AvailabilityZone, name: &str) -> Vec<String> {
    match name {
        "zone-name" => one(&z.zone_name),
        "zone-id" => one(&z.zone_id),
        "state" => one(&z.state),
        "region-name" => one(&z.region_name),
        "group-name" => one(&z.group_name),
        "zone-type" => one(&z.zone_type),
        "opt-in-status" => one(&z.opt_in_status),
        "network-border-group" => one(&z.network_border_group),
        _ => Vec::new(),
    }
}

impl Ec2 {
    /// Load the account's EC2 state from `store`.
    ///
    /// # Errors
    /// When the store cannot be read or holds a corrupt record.
    pub fn open(account: &str, env: Env, store: Arc<Store>) -> Result<Self, Ec2Error> {
        let ec2 = Ec2 { account: account.to_owned(), env, store, state: RwLock::new(State::default()) };
        ec2.reload()?;
        Ok(ec2)
    }

    /// Re-read everything from the store (after open, or after the admin
    /// reset). Regions absent from the store get their defaults again the
    /// next time they are touched, with the same ids.
    ///
    /// # Errors
    /// When the store cannot be read or holds a corrupt record.
    pub fn reload(&self) -> Result<(), Ec2Error> {
        let mut regions = BTreeMap::new();
        for (name, _) in self.store.scan(NS_REGIONS)? {
            let mut reg = Region::default();
            for (_, v) in self.store.scan_json::<Vpc>(&Kind::Vpcs.ns(&name))? {
                reg.vpcs.insert(v.vpc_id.clone(), v);
            }
            for (_, s) in self.store.scan_json::<Subnet>(&Kind::Subnets.ns(&name))? {
                reg.subnets.insert(s.subnet_id.clone(), s);
            }
            for (_, g) in self.store.scan_json::<SecurityGroup>(&Kind::Groups.ns(&name))? {
                reg.groups.insert(g.group_id.clone(), g);
            }
            for (_, e) in self.store.scan_json::<NetworkInterface>(&Kind::Enis.ns(&name))? {
                reg.enis.insert(e.network_interface_id.clone(), e);
            }
            regions.insert(name, reg);
        }
        self.write().regions = regions;
        Ok(())
    }

    #[must_use]
    pub fn account(&self) -> &str {
        &self.account
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A region's default objects, a pure function of (account, region).
    fn defaults(&self, region: &str) -> Region {
        let h = |what: &str| stable_hex(&self.account, region, what, 17);
        let mut reg = Region::default();
        let vpc = Vpc {
            vpc_id: format!("vpc-{}", h("vpc")),
            cidr_block: DEFAULT_VPC_CIDR.to_owned(),
            cidr_block_association_id: format!("vpc-cidr-assoc-{}", h("vpc-cidr-assoc")),
            state: "available".to_owned(),
            is_default: true,
            owner_id: self.account.clone(),
            dhcp_options_id: self.dhcp_options_id(region),
            instance_tenancy: "default".to_owned(),
            tags: Vec::new(),
        };
        for (i, zone) in availability_zones(region).into_iter().enumerate() {
            let letter = zone.zone_name.chars().last().unwrap_or('a');
            let id = format!("subnet-{}", h(&format!("subnet-{letter}")));
            let cidr = format!("172.31.{}.0/20", i * 16);
            let subnet = Subnet {
                subnet_arn: self.arn(region, "subnet", &id),
                subnet_id: id,
                vpc_id: vpc.vpc_id.clone(),
                available_ip_address_count: Cidr4::parse(&cidr).map_or(0, Cidr4::usable),
                cidr_block: cidr,
                availability_zone: zone.zone_name,
                availability_zone_id: zone.zone_id,
                default_for_az: true,
                map_public_ip_on_launch: true,
                state: "available".to_owned(),
                owner_id: self.account.clone(),
                tags: Vec::new(),
            };
            reg.subnets.insert(subnet.subnet_id.clone(), subnet);
        }
        let group = self.new_default_group(
            region,
            &vpc.vpc_id,
            format!("sg-{}", h("sg-default")),
            [format!("sgr-{}", h("sgr-default-ingress")), format!("sgr-{}", h("sgr-default-egress"))],
        );
        reg.groups.insert(group.group_id.clone(), group);
        reg.vpcs.insert(vpc.vpc_id.clone(), vpc);
        reg
    }

    fn dhcp_options_id(&self, region: &str) -> String {
        format!("dopt-{}", stable_hex(&self.account, region, "dopt", 17))
    }

    pub(crate) fn arn(&self, region: &str, kind: &str, id: &str) -> String {
        format!("arn:aws:ec2:{region}:{}:{kind}/{id}", self.account)
    }

    /// A VPC's `default` group: all traffic in from itself, all traffic out.
    fn new_default_group(&self, region: &str, vpc_id: &str, group_id: String, rule_ids: [String; 2]) -> SecurityGroup {
        let [ingress_id, egress_id] = rule_ids;
        SecurityGroup {
            arn: self.arn(region, "security-group", &group_id),
            group_name: "default".to_owned(),
            description: DEFAULT_GROUP_DESCRIPTION.to_owned(),
            vpc_id: vpc_id.to_owned(),
            owner_id: self.account.clone(),
            rules: vec![
                SecurityGroupRule {
                    rule_id: ingress_id,
                    group_id: group_id.clone(),
                    is_egress: false,
                    ip_protocol: "-1".to_owned(),
                    from_port: None,
                    to_port: None,
                    peer: Peer::Group { group_id: group_id.clone(), user_id: self.account.clone() },
                    description: None,
                },
                groups::allow_all_egress(&group_id, egress_id),
            ],
            group_id,
            tags: Vec::new(),
        }
    }

    /// A fresh `prefix-` + 17 hex id, unused in the region.
    pub(crate) fn fresh_id(&self, reg: &Region, prefix: &str) -> String {
        let mut id = format!("{prefix}-{}", self.env.ids.chars(base::HEX, 17));
        for _ in 0..16 {
            if !reg.contains_id(&id) {
                break;
            }
            id = format!("{prefix}-{}", self.env.ids.chars(base::HEX, 17));
        }
        id
    }

    /// Run `f` on a copy of the region (its defaults first, when new), then
    /// persist its batch in one transaction and only then install the copy.
    pub(crate) fn mutate<T>(
        &self,
        region: &str,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, Ec2Error>,
    ) -> Result<T, Ec2Error> {
        check_region(region)?;
        let mut st = self.write();
        let mut tx = match st.regions.get(region) {
            Some(r) => Tx { region, reg: r.clone(), ops: Vec::new() },
            None => {
                let mut tx =
                    Tx { region, reg: Region::default(), ops: vec![Op::put(NS_REGIONS, region, b"{}".to_vec())] };
                let d = self.defaults(region);
                for v in d.vpcs.into_values() {
                    tx.put_vpc(v)?;
                }
                for s in d.subnets.into_values() {
                    tx.put_subnet(s)?;
                }
                for g in d.groups.into_values() {
                    tx.put_group(g)?;
                }
                tx
            }
        };
        let out = f(&mut tx)?;
        self.store.apply(&tx.ops)?;
        st.regions.insert(region.to_owned(), tx.reg);
        Ok(out)
    }

    /// Read a region, creating (and persisting) its defaults first if it is new.
    pub(crate) fn view<T>(&self, region: &str, f: impl FnOnce(&Region) -> Result<T, Ec2Error>) -> Result<T, Ec2Error> {
        check_region(region)?;
        {
            let st = self.read();
            if let Some(r) = st.regions.get(region) {
                return f(r);
            }
        }
        self.mutate(region, |_| Ok(()))?;
        let st = self.read();
        match st.regions.get(region) {
            Some(r) => f(r),
            None => f(&self.defaults(region)),
        }
    }

    /// Read a region without writing: a new region reads as its defaults.
    fn peek<T>(&self, region: &str, f: impl FnOnce(&Region) -> T) -> Option<T> {
        if !base::is_region(region) {
            return None;
        }
        let st = self.read();
        Some(match st.regions.get(region) {
            Some(r) => f(r),
            None => f(&self.defaults(region)),
        })
    }

    // ----- availability zones -----

    /// `DescribeAvailabilityZones`.
    ///
    /// # Errors
    /// `InvalidParameterValue` for a zone or zone id not in the region, or an unknown filter.
    pub fn describe_availability_zones(
        &self,
        region: &str,
        zone_names: &[String],
        zone_ids: &[String],
        filters: &[Filter],
    ) -> Result<Vec<AvailabilityZone>, Ec2Error> {
        check_region(region)?;
        filter::check(filters, ZONE_FILTERS)?;
        let zones = availability_zones(region);
        for n in zone_names {
            if !zones.iter().any(|z| &z.zone_name == n) {
                return Err(Ec2Error::invalid(format!("Invalid availability zone: [{n}]")));
            }
        }
        for n in zone_ids {
            if !zones.iter().any(|z| &z.zone_id == n) {
                return Err(Ec2Error::invalid(format!("Invalid availability zone id: [{n}]")));
            }
        }
        Ok(zones
            .into_iter()
            .filter(|z| zone_names.is_empty() || zone_names.contains(&z.zone_name))
            .filter(|z| zone_ids.is_empty() || zone_ids.contains(&z.zone_id))
            .filter(|z| filter::matches(filters, &[], |n| zone_field(z, n)))
            .collect())
    }

    // ----- read helpers for the DAX control plane -----

    /// A subnet, or `None` (also for a malformed region).
    #[must_use]
    pub fn subnet(&self, region: &str, subnet_id: &str) -> Option<Subnet> {
        self.peek(region, |r| r.subnets.get(subnet_id).cloned()).flatten()
    }

    /// A security group by id.
    #[must_use]
    pub fn security_group(&self, region: &str, group_id: &str) -> Option<SecurityGroup> {
        self.peek(region, |r| r.groups.get(group_id).cloned()).flatten()
    }

    /// The `default` group of a VPC.
    #[must_use]
    pub fn default_security_group(&self, region: &str, vpc_id: &str) -> Option<SecurityGroup> {
        self.peek(region, |r| r.default_group(vpc_id).cloned()).flatten()
    }

    /// The region's default VPC (`None` once the user deleted it).
    #[must_use]
    pub fn default_vpc(&self, region: &str) -> Option<Vpc> {
        self.peek(region, |r| r.default_vpc().cloned()).flatten()
    }

    /// The regions that have EC2 state.
    #[must_use]
    pub fn regions(&self) -> Vec<String> {
        self.read().regions.keys().cloned().collect()
    }

    /// The network interfaces whose description starts with `prefix`, in id order.
    #[must_use]
    pub fn network_interfaces_with_description_prefix(&self, region: &str, prefix: &str) -> Vec<NetworkInterface> {
        self.peek(region, |r| r.enis.values().filter(|e| e.description.starts_with(prefix)).cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod write_failures;

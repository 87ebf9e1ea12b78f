//! Security groups and their ingress rules.

use crate::cidr::{self, Cidr4};
use crate::filter::{self, Filter};
use crate::model::{
    GroupPair, GroupRef, IpPermission, IpRange, Page, Paging, Peer, RevokeOutcome, SecurityGroup, SecurityGroupRule,
    Tag,
};
use crate::{check_tags, dedup_tags, paginate, Ec2, Ec2Error, Region, RULES_PER_GROUP};

const GROUP_FILTERS: &[&str] = &[
    "group-id",
    "group-name",
    "description",
    "vpc-id",
    "owner-id",
    "ip-permission.cidr",
    "ip-permission.ipv6-cidr",
    "ip-permission.from-port",
    "ip-permission.to-port",
    "ip-permission.protocol",
    "ip-permission.group-id",
    "egress.ip-permission.cidr",
    "egress.ip-permission.ipv6-cidr",
    "egress.ip-permission.from-port",
    "egress.ip-permission.to-port",
    "egress.ip-permission.protocol",
    "egress.ip-permission.group-id",
];

fn group_field(g: &SecurityGroup, name: &str) -> Vec<String> {
    let (egress, rule_field) = match name.strip_prefix("egress.ip-permission.") {
        Some(f) => (true, Some(f)),
        None => (false, name.strip_prefix("ip-permission.")),
    };
    if let Some(f) = rule_field {
        let port = |p: Option<i32>| p.map_or_else(|| "-1".to_owned(), |p| p.to_string());
        return g
            .rules
            .iter()
            .filter(|r| r.is_egress == egress)
            .filter_map(|r| match (f, &r.peer) {
                ("cidr", Peer::Cidr { cidr }) | ("ipv6-cidr", Peer::Ipv6 { cidr }) => Some(cidr.clone()),
                ("group-id", Peer::Group { group_id, .. }) => Some(group_id.clone()),
                ("protocol", _) => Some(r.ip_protocol.clone()),
                ("from-port", _) => Some(port(r.from_port)),
                ("to-port", _) => Some(port(r.to_port)),
                _ => None,
            })
            .collect();
    }
    let one = |v: &str| vec![v.to_owned()];
    match name {
        "group-id" => one(&g.group_id),
        "group-name" => one(&g.group_name),
        "description" => one(&g.description),
        "vpc-id" => one(&g.vpc_id),
        "owner-id" => one(&g.owner_id),
        _ => Vec::new(),
    }
}

/// Whether `id` is spelled like a security group id (`sg-` + hex).
pub(crate) fn is_group_id(id: &str) -> bool {
    id.strip_prefix("sg-").is_some_and(|h| !h.is_empty() && h.len() <= 17 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The group with this id: malformed or unknown ids are errors.
pub(crate) fn group_by_id<'a>(reg: &'a Region, id: &str) -> Result<&'a SecurityGroup, Ec2Error> {
    if !is_group_id(id) {
        return Err(Ec2Error::InvalidGroupIdMalformed(id.to_owned()));
    }
    reg.groups.get(id).ok_or_else(|| Ec2Error::group_not_found(id))
}

/// The group a caller names: by id anywhere, by name in the default VPC.
fn resolve<'a>(reg: &'a Region, group: &GroupRef) -> Result<&'a SecurityGroup, Ec2Error> {
    match group {
        GroupRef::Id(id) if id.is_empty() => Err(Ec2Error::MissingParameter("groupId".to_owned())),
        GroupRef::Id(id) => group_by_id(reg, id),
        GroupRef::Name(name) if name.is_empty() => Err(Ec2Error::MissingParameter("groupName".to_owned())),
        GroupRef::Name(name) => in_default_vpc(reg, name),
    }
}

fn in_default_vpc<'a>(reg: &'a Region, name: &str) -> Result<&'a SecurityGroup, Ec2Error> {
    let vpc = reg.default_vpc().ok_or_else(|| Ec2Error::group_not_found(name))?;
    reg.group_by_name(&vpc.vpc_id, name).ok_or_else(|| {
        Ec2Error::InvalidGroupNotFound(format!(
            "The security group '{name}' does not exist in default VPC '{}'",
            vpc.vpc_id
        ))
    })
}

/// The rule every new VPC security group starts with: all traffic out.
pub(crate) fn allow_all_egress(group_id: &str, rule_id: String) -> SecurityGroupRule {
    SecurityGroupRule {
        rule_id,
        group_id: group_id.to_owned(),
        is_egress: true,
        ip_protocol: "-1".to_owned(),
        from_port: None,
        to_port: None,
        peer: Peer::Cidr { cidr: "0.0.0.0/0".to_owned() },
        description: None,
    }
}

/// `tcp`/`6` -> `tcp`, `all`/`-1` -> `-1`, other numbers kept.
fn protocol(p: &str) -> Result<String, Ec2Error> {
    let lower = p.to_ascii_lowercase();
    let named = match lower.as_str() {
        "" => return Err(Ec2Error::MissingParameter("ipProtocol".to_owned())),
        "tcp" | "6" => "tcp",
        "udp" | "17" => "udp",
        "icmp" | "1" => "icmp",
        "icmpv6" | "58" => "icmpv6",
        "-1" | "all" => "-1",
        other => {
            return match other.parse::<u8>() {
                Ok(n) if other.bytes().all(|b| b.is_ascii_digit()) => Ok(n.to_string()),
                _ => Err(Ec2Error::invalid(format!("Invalid value '{p}' for IP protocol. Unknown protocol."))),
            }
        }
    };
    Ok(named.to_owned())
}

/// The ports a rule keeps for a protocol.
fn ports(proto: &str, from: Option<i32>, to: Option<i32>) -> Result<(Option<i32>, Option<i32>), Ec2Error> {
    match proto {
        "tcp" | "udp" => {
            let (Some(f), Some(t)) = (from, to) else {
                return Err(Ec2Error::invalid(
                    "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.",
                ));
            };
            if !(0..=65535).contains(&f) || !(0..=65535).contains(&t) || f > t {
                return Err(Ec2Error::invalid(format!(
                    "Invalid value '{f}-{t}' for portRange. Ports must be between 0 and 65535, from port not above to port."
                )));
            }
            Ok((Some(f), Some(t)))
        }
        "icmp" | "icmpv6" => {
            let (f, t) = (from.unwrap_or(-1), to.unwrap_or(-1));
            if !(-1..=255).contains(&f) || !(-1..=255).contains(&t) {
                return Err(Ec2Error::invalid(format!("Invalid value '{f}' or '{t}' for ICMP type or code.")));
            }
            Ok((Some(f), Some(t)))
        }
        _ => Ok((None, None)),
    }
}

fn check_description(d: Option<&String>) -> Result<Option<String>, Ec2Error> {
    match d {
        Some(d) if d.chars().count() > 255 => {
            Err(Ec2Error::invalid("Invalid rule description. Length must not exceed 255 characters."))
        }
        other => Ok(other.cloned()),
    }
}

impl Ec2 {
    /// Turn `IpPermission`s into one rule per peer (rule ids left empty).
    fn expand(
        &self,
        reg: &Region,
        target: &SecurityGroup,
        perms: &[IpPermission],
        egress: bool,
    ) -> Result<Vec<SecurityGroupRule>, Ec2Error> {
        let mut out = Vec::new();
        for p in perms {
            let proto = protocol(&p.ip_protocol)?;
            let (from_port, to_port) = ports(&proto, p.from_port, p.to_port)?;
            if p.ip_ranges.is_empty() && p.ipv6_ranges.is_empty() && p.groups.is_empty() {
                return Err(Ec2Error::MissingParameter(
                    "ipPermissions.ipRanges, ipPermissions.ipv6Ranges or ipPermissions.groups".to_owned(),
                ));
            }
            let mut peers: Vec<(Peer, Option<String>)> = Vec::new();
            for IpRange { cidr, description } in &p.ip_ranges {
                let block =
                    Cidr4::parse(cidr).ok_or_else(|| Ec2Error::invalid(format!("CIDR block {cidr} is malformed")))?;
                peers.push((Peer::Cidr { cidr: block.to_string() }, check_description(description.as_ref())?));
            }
            for IpRange { cidr, description } in &p.ipv6_ranges {
                let block = cidr::canonical_v6(cidr)
                    .ok_or_else(|| Ec2Error::invalid(format!("CIDR block {cidr} is malformed")))?;
                peers.push((Peer::Ipv6 { cidr: block }, check_description(description.as_ref())?));
            }
            for pair in &p.groups {
                let source = self.source_group(reg, target, pair)?;
                peers.push((
                    Peer::Group { group_id: source, user_id: self.account.clone() },
                    check_description(pair.description.as_ref())?,
                ));
            }
            for (peer, description) in peers {
                out.push(SecurityGroupRule {
                    rule_id: String::new(),
                    group_id: target.group_id.clone(),
                    is_egress: egress,
                    ip_protocol: proto.clone(),
                    from_port,
                    to_port,
                    peer,
                    description,
                });
            }
        }
        Ok(out)
    }

    /// The id of the group a rule refers to: by id, or by name in the target's VPC.
    fn source_group(&self, reg: &Region, target: &SecurityGroup, pair: &GroupPair) -> Result<String, Ec2Error> {
        let source = match (pair.group_id.as_deref(), pair.group_name.as_deref()) {
            (Some(id), _) if !id.is_empty() => group_by_id(reg, id)?,
            (_, Some(name)) if !name.is_empty() => reg.group_by_name(&target.vpc_id, name).ok_or_else(|| {
                Ec2Error::InvalidGroupNotFound(format!(
                    "The security group '{name}' does not exist in VPC '{}'",
                    target.vpc_id
                ))
            })?,
            _ => return Err(Ec2Error::MissingParameter("groupId".to_owned())),
        };
        if source.vpc_id != target.vpc_id {
            return Err(Ec2Error::invalid(format!(
                "You have specified two resources that belong to different networks: {} and {}.",
                target.group_id, source.group_id
            )));
        }
        Ok(source.group_id.clone())
    }

    /// `DescribeSecurityGroups`. Names are looked up in the default VPC; ids and names together select their union.
    ///
    /// # Errors
    /// `InvalidGroupId.Malformed`, `InvalidGroup.NotFound`, `InvalidParameterValue` (filter,
    /// `MaxResults`), `InvalidNextToken`.
    pub fn describe_security_groups(
        &self,
        region: &str,
        ids: &[String],
        names: &[String],
        filters: &[Filter],
        paging: &Paging,
    ) -> Result<Page<SecurityGroup>, Ec2Error> {
        filter::check(filters, GROUP_FILTERS)?;
        self.view(region, |reg| {
            let mut chosen: Vec<&SecurityGroup> = if ids.is_empty() && names.is_empty() {
                reg.groups.values().collect()
            } else {
                let mut v = Vec::new();
                for id in ids {
                    v.push(group_by_id(reg, id)?);
                }
                for name in names {
                    v.push(in_default_vpc(reg, name)?);
                }
                v
            };
            chosen.sort_by(|a, b| a.group_id.cmp(&b.group_id));
            chosen.dedup_by(|a, b| a.group_id == b.group_id);
            let items = chosen
                .into_iter()
                .filter(|g| filter::matches(filters, &g.tags, |n| group_field(g, n)))
                .map(|g| (g.group_id.clone(), g.clone()))
                .collect();
            paginate(items, paging, "sg-")
        })
    }

    /// `CreateSecurityGroup`, in `vpc_id` or the default VPC, with an allow-all egress rule.
    ///
    /// # Errors
    /// `MissingParameter`, `InvalidParameterValue` (name, description, tags),
    /// `InvalidVpcID.NotFound`, `VPCIdNotSpecified` (no default VPC), `InvalidGroup.Duplicate`.
    pub fn create_security_group(
        &self,
        region: &str,
        name: &str,
        description: &str,
        vpc_id: Option<&str>,
        tags: Vec<Tag>,
    ) -> Result<SecurityGroup, Ec2Error> {
        if name.is_empty() {
            return Err(Ec2Error::MissingParameter("groupName".to_owned()));
        }
        if description.is_empty() {
            return Err(Ec2Error::MissingParameter("groupDescription".to_owned()));
        }
        if name.chars().count() > 255 {
            return Err(Ec2Error::invalid(format!(
                "Value ({name}) for parameter groupName is invalid. Length exceeds 255 characters."
            )));
        }
        if description.chars().count() > 255 {
            return Err(Ec2Error::invalid(format!(
                "Value ({description}) for parameter groupDescription is invalid. Length exceeds 255 characters."
            )));
        }
        if name.to_ascii_lowercase().starts_with("sg-") {
            return Err(Ec2Error::invalid("Group names may not be in the format sg-*"));
        }
        check_tags(&tags)?;
        self.mutate(region, |tx| {
            let vpc_id = match vpc_id.filter(|v| !v.is_empty()) {
                Some(id) => tx.reg.vpcs.get(id).ok_or_else(|| Ec2Error::InvalidVpcIdNotFound(id.to_owned()))?,
                None => tx.reg.default_vpc().ok_or(Ec2Error::VpcIdNotSpecified)?,
            }
            .vpc_id
            .clone();
            if tx.reg.group_by_name(&vpc_id, name).is_some() {
                return Err(Ec2Error::InvalidGroupDuplicate { name: name.to_owned(), vpc_id });
            }
            let group_id = self.fresh_id(&tx.reg, "sg");
            let rule_id = self.fresh_id(&tx.reg, "sgr");
            let group = SecurityGroup {
                arn: self.arn(tx.region(), "security-group", &group_id),
                rules: vec![allow_all_egress(&group_id, rule_id)],
                group_id,
                group_name: name.to_owned(),
                description: description.to_owned(),
                vpc_id,
                owner_id: self.account.clone(),
                tags: dedup_tags(tags),
            };
            tx.put_group(group.clone())?;
            Ok(group)
        })
    }

    /// `DeleteSecurityGroup`; returns the deleted group.
    ///
    /// # Errors
    /// `InvalidGroupId.Malformed`, `InvalidGroup.NotFound`, `CannotDelete` (a `default` group),
    /// `DependencyViolation` (used by a network interface or referenced by another group's rule).
    pub fn delete_security_group(&self, region: &str, group: &GroupRef) -> Result<SecurityGroup, Ec2Error> {
        self.mutate(region, |tx| {
            let g = resolve(&tx.reg, group)?.clone();
            if g.is_default() {
                return Err(Ec2Error::CannotDelete(g.group_id));
            }
            let used = tx.reg.enis.values().any(|e| e.groups.iter().any(|x| x.group_id == g.group_id));
            let referenced = tx.reg.groups.values().filter(|o| o.group_id != g.group_id).any(|o| {
                o.rules.iter().any(|r| matches!(&r.peer, Peer::Group { group_id, .. } if *group_id == g.group_id))
            });
            if used || referenced {
                return Err(Ec2Error::DependencyViolation(format!("resource {} has a dependent object", g.group_id)));
            }
            tx.delete_group(&g.group_id);
            Ok(g)
        })
    }

    /// `AuthorizeSecurityGroupIngress`; returns the new rules.
    ///
    /// # Errors
    /// Group resolution errors, `MissingParameter`, `InvalidParameterValue` (protocol, ports,
    /// CIDR, groups in another VPC), `InvalidPermission.Duplicate`,
    /// `RulesPerSecurityGroupLimitExceeded`.
    pub fn authorize_security_group_ingress(
        &self,
        region: &str,
        group: &GroupRef,
        permissions: &[IpPermission],
    ) -> Result<Vec<SecurityGroupRule>, Ec2Error> {
        if permissions.is_empty() {
            return Err(Ec2Error::MissingParameter("ipPermissions".to_owned()));
        }
        self.mutate(region, |tx| {
            let mut g = resolve(&tx.reg, group)?.clone();
            let wanted = self.expand(&tx.reg, &g, permissions, false)?;
            let mut added: Vec<SecurityGroupRule> = Vec::new();
            for mut rule in wanted {
                if g.rules.iter().chain(added.iter()).any(|r| r.same_as(&rule)) {
                    return Err(Ec2Error::InvalidPermissionDuplicate(rule.describe()));
                }
                rule.rule_id = self.fresh_id(&tx.reg, "sgr");
                // Reserve the id so the next fresh id differs even with a random source.
                tx.reg.groups.entry(g.group_id.clone()).and_modify(|x| x.rules.push(rule.clone()));
                added.push(rule);
            }
            if g.rules.iter().filter(|r| !r.is_egress).count() + added.len() > RULES_PER_GROUP {
                return Err(Ec2Error::RulesPerSecurityGroupLimitExceeded);
            }
            g.rules.extend(added.iter().cloned());
            tx.put_group(g)?;
            Ok(added)
        })
    }

    /// `RevokeSecurityGroupIngress`, by permission and/or by rule id. Permissions that
    /// match no rule are reported in `unknown`; if nothing matched at all it is an error.
    ///
    /// # Errors
    /// Group resolution errors, `MissingParameter`, `InvalidParameterValue`,
    /// `InvalidSecurityGroupRuleId.NotFound`, `InvalidPermission.NotFound`.
    pub fn revoke_security_group_ingress(
        &self,
        region: &str,
        group: &GroupRef,
        permissions: &[IpPermission],
        rule_ids: &[String],
    ) -> Result<RevokeOutcome, Ec2Error> {
        if permissions.is_empty() && rule_ids.is_empty() {
            return Err(Ec2Error::MissingParameter("ipPermissions".to_owned()));
        }
        self.mutate(region, |tx| {
            let mut g = resolve(&tx.reg, group)?.clone();
            let mut outcome = RevokeOutcome::default();
            for id in rule_ids {
                let pos = g
                    .rules
                    .iter()
                    .position(|r| &r.rule_id == id && !r.is_egress)
                    .ok_or_else(|| Ec2Error::InvalidSecurityGroupRuleIdNotFound(id.clone()))?;
                outcome.revoked.push(g.rules.remove(pos));
            }
            for spec in self.expand(&tx.reg, &g, permissions, false)? {
                match g.rules.iter().position(|r| r.same_as(&spec)) {
                    Some(pos) => outcome.revoked.push(g.rules.remove(pos)),
                    None => outcome.unknown.push(as_permission(&spec)),
                }
            }
            if outcome.revoked.is_empty() {
                return Err(Ec2Error::InvalidPermissionNotFound);
            }
            tx.put_group(g)?;
            Ok(outcome)
        })
    }
}

/// A single rule as an `IpPermission`.
fn as_permission(r: &SecurityGroupRule) -> IpPermission {
    let mut p = IpPermission {
        ip_protocol: r.ip_protocol.clone(),
        from_port: r.from_port,
        to_port: r.to_port,
        ..IpPermission::default()
    };
    let description = r.description.clone();
    match &r.peer {
        Peer::Cidr { cidr } => p.ip_ranges.push(IpRange { cidr: cidr.clone(), description }),
        Peer::Ipv6 { cidr } => p.ipv6_ranges.push(IpRange { cidr: cidr.clone(), description }),
        Peer::Group { group_id, user_id } => p.groups.push(GroupPair {
            group_id: Some(group_id.clone()),
            group_name: None,
            user_id: Some(user_id.clone()),
            description,
        }),
    }
    p
}

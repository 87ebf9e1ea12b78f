//! VPCs and subnets: `DescribeVpcs`, `CreateVpc`, `DeleteVpc`,
//! `DescribeSubnets`, `CreateSubnet`, `DeleteSubnet`, and the filters their
//! describes accept. A region's default VPC and subnets are made in
//! `lib.rs`, with the region.

use crate::cidr::Cidr4;
use crate::filter::{self, one, Filter};
use crate::model::{Page, Paging, Subnet, Tag, Vpc};
use crate::{availability_zones, check_region, check_tags, dedup_tags, paginate, select, Ec2, Ec2Error};

const VPC_FILTERS: &[&str] = &[
    "vpc-id",
    "cidr",
    "cidr-block",
    "cidrBlock",
    "cidr-block-association.cidr-block",
    "cidr-block-association.association-id",
    "cidr-block-association.state",
    "dhcp-options-id",
    "is-default",
    "isDefault",
    "state",
    "owner-id",
];

fn vpc_field(v: &Vpc, name: &str) -> Vec<String> {
    match name {
        "vpc-id" => one(&v.vpc_id),
        "cidr" | "cidr-block" | "cidrBlock" | "cidr-block-association.cidr-block" => one(&v.cidr_block),
        "cidr-block-association.association-id" => one(&v.cidr_block_association_id),
        "cidr-block-association.state" => one("associated"),
        "dhcp-options-id" => one(&v.dhcp_options_id),
        "is-default" | "isDefault" => vec![filter::bool_str(v.is_default)],
        "state" => one(&v.state),
        "owner-id" => one(&v.owner_id),
        _ => Vec::new(),
    }
}

const SUBNET_FILTERS: &[&str] = &[
    "subnet-id",
    "subnet-arn",
    "vpc-id",
    "vpcId",
    "cidr",
    "cidr-block",
    "cidrBlock",
    "availability-zone",
    "availabilityZone",
    "availability-zone-id",
    "availabilityZoneId",
    "available-ip-address-count",
    "default-for-az",
    "defaultForAz",
    "map-public-ip-on-launch",
    "state",
    "owner-id",
];

fn subnet_field(s: &Subnet, name: &str) -> Vec<String> {
    match name {
        "subnet-id" => one(&s.subnet_id),
        "subnet-arn" => one(&s.subnet_arn),
        "vpc-id" | "vpcId" => one(&s.vpc_id),
        "cidr" | "cidr-block" | "cidrBlock" => one(&s.cidr_block),
        "availability-zone" | "availabilityZone" => one(&s.availability_zone),
        "availability-zone-id" | "availabilityZoneId" => one(&s.availability_zone_id),
        "available-ip-address-count" => vec![s.available_ip_address_count.to_string()],
        "default-for-az" | "defaultForAz" => vec![filter::bool_str(s.default_for_az)],
        "map-public-ip-on-launch" => vec![filter::bool_str(s.map_public_ip_on_launch)],
        "state" => one(&s.state),
        "owner-id" => one(&s.owner_id),
        _ => Vec::new(),
    }
}

impl Ec2 {
    /// `DescribeVpcs`.
    ///
    /// # Errors
    /// `InvalidVpcID.NotFound`, `InvalidParameterValue` (filter, `MaxResults`), `InvalidNextToken`.
    pub fn describe_vpcs(
        &self,
        region: &str,
        ids: &[String],
        filters: &[Filter],
        paging: &Paging,
    ) -> Result<Page<Vpc>, Ec2Error> {
        filter::check(filters, VPC_FILTERS)?;
        self.view(region, |reg| {
            let items = select(&reg.vpcs, ids, |id| Ec2Error::InvalidVpcIdNotFound(id.to_owned()))?
                .into_iter()
                .filter(|v| filter::matches(filters, &v.tags, |n| vpc_field(v, n)))
                .map(|v| (v.vpc_id.clone(), v.clone()))
                .collect();
            paginate(items, paging, "vpc-")
        })
    }

    /// `CreateVpc`, with its `default` security group.
    ///
    /// # Errors
    /// `MissingParameter`, `InvalidParameterValue` (malformed block, tags), `InvalidVpc.Range`
    /// (outside /16../28).
    pub fn create_vpc(&self, region: &str, cidr_block: &str, tags: Vec<Tag>) -> Result<Vpc, Ec2Error> {
        if cidr_block.is_empty() {
            return Err(Ec2Error::MissingParameter("cidrBlock".to_owned()));
        }
        let block = parse_block(cidr_block)?;
        if !(16..=28).contains(&block.prefix()) {
            return Err(Ec2Error::InvalidVpcRange(cidr_block.to_owned()));
        }
        check_tags(&tags)?;
        self.mutate(region, |tx| {
            let vpc_id = self.fresh_id(&tx.reg, "vpc");
            let vpc = Vpc {
                cidr_block_association_id: format!("vpc-cidr-assoc-{}", self.env.ids.chars(base::HEX, 17)),
                vpc_id: vpc_id.clone(),
                cidr_block: block.to_string(),
                state: "available".to_owned(),
                is_default: false,
                owner_id: self.account.clone(),
                dhcp_options_id: self.dhcp_options_id(tx.region()),
                instance_tenancy: "default".to_owned(),
                tags: dedup_tags(tags),
            };
            tx.put_vpc(vpc.clone())?;
            let group_id = self.fresh_id(&tx.reg, "sg");
            let ingress = self.fresh_id(&tx.reg, "sgr");
            let egress = self.fresh_id(&tx.reg, "sgr");
            let group = self.new_default_group(tx.region(), &vpc_id, group_id, [ingress, egress]);
            tx.put_group(group)?;
            Ok(vpc)
        })
    }

    /// `DeleteVpc`; its `default` security group goes with it.
    ///
    /// # Errors
    /// `InvalidVpcID.NotFound`; `DependencyViolation` while it has subnets or other groups.
    pub fn delete_vpc(&self, region: &str, vpc_id: &str) -> Result<(), Ec2Error> {
        self.mutate(region, |tx| {
            if !tx.reg.vpcs.contains_key(vpc_id) {
                return Err(Ec2Error::InvalidVpcIdNotFound(vpc_id.to_owned()));
            }
            let has_subnets = tx.reg.subnets.values().any(|s| s.vpc_id == vpc_id);
            let has_groups = tx.reg.groups.values().any(|g| g.vpc_id == vpc_id && !g.is_default());
            if has_subnets || has_groups {
                return Err(Ec2Error::DependencyViolation(format!(
                    "The vpc '{vpc_id}' has dependencies and cannot be deleted."
                )));
            }
            let defaults: Vec<String> =
                tx.reg.groups.values().filter(|g| g.vpc_id == vpc_id).map(|g| g.group_id.clone()).collect();
            for id in defaults {
                tx.delete_group(&id);
            }
            tx.delete_vpc(vpc_id);
            Ok(())
        })
    }

    /// `DescribeSubnets`.
    ///
    /// # Errors
    /// `InvalidSubnetID.NotFound`, `InvalidParameterValue` (filter, `MaxResults`), `InvalidNextToken`.
    pub fn describe_subnets(
        &self,
        region: &str,
        ids: &[String],
        filters: &[Filter],
        paging: &Paging,
    ) -> Result<Page<Subnet>, Ec2Error> {
        filter::check(filters, SUBNET_FILTERS)?;
        self.view(region, |reg| {
            let items = select(&reg.subnets, ids, |id| Ec2Error::InvalidSubnetIdNotFound(id.to_owned()))?
                .into_iter()
                .filter(|s| filter::matches(filters, &s.tags, |n| subnet_field(s, n)))
                .map(|s| (s.subnet_id.clone(), s.clone()))
                .collect();
            paginate(items, paging, "subnet-")
        })
    }

    /// `CreateSubnet`. Without a zone, the region's first zone.
    ///
    /// # Errors
    /// `InvalidVpcID.NotFound`, `MissingParameter`, `InvalidParameterValue` (malformed block,
    /// zone outside the region, tags), `InvalidSubnet.Range` (outside /16../28 or the VPC),
    /// `InvalidSubnet.Conflict` (overlaps a subnet of the VPC).
    pub fn create_subnet(
        &self,
        region: &str,
        vpc_id: &str,
        cidr_block: &str,
        availability_zone: Option<&str>,
        tags: Vec<Tag>,
    ) -> Result<Subnet, Ec2Error> {
        if vpc_id.is_empty() {
            return Err(Ec2Error::MissingParameter("vpcId".to_owned()));
        }
        if cidr_block.is_empty() {
            return Err(Ec2Error::MissingParameter("cidrBlock".to_owned()));
        }
        let block = parse_block(cidr_block)?;
        check_tags(&tags)?;
        check_region(region)?;
        let zones = availability_zones(region);
        let zone = match availability_zone {
            None => zones.first(),
            Some(name) => zones.iter().find(|z| z.zone_name == name),
        }
        .cloned()
        .ok_or_else(|| Ec2Error::InvalidAvailabilityZone {
            zone: availability_zone.unwrap_or_default().to_owned(),
            valid: zones.iter().map(|z| z.zone_name.as_str()).collect::<Vec<_>>().join(", "),
        })?;
        self.mutate(region, |tx| {
            let vpc = tx.reg.vpcs.get(vpc_id).ok_or_else(|| Ec2Error::InvalidVpcIdNotFound(vpc_id.to_owned()))?;
            let in_vpc = Cidr4::parse(&vpc.cidr_block).is_some_and(|v| v.contains_block(block));
            if !(16..=28).contains(&block.prefix()) || !in_vpc {
                return Err(Ec2Error::InvalidSubnetRange(cidr_block.to_owned()));
            }
            let conflict = tx
                .reg
                .subnets
                .values()
                .filter(|s| s.vpc_id == vpc_id)
                .any(|s| Cidr4::parse(&s.cidr_block).is_some_and(|c| c.overlaps(block)));
            if conflict {
                return Err(Ec2Error::InvalidSubnetConflict(cidr_block.to_owned()));
            }
            let id = self.fresh_id(&tx.reg, "subnet");
            let subnet = Subnet {
                subnet_arn: self.arn(tx.region(), "subnet", &id),
                subnet_id: id,
                vpc_id: vpc_id.to_owned(),
                cidr_block: block.to_string(),
                availability_zone: zone.zone_name,
                availability_zone_id: zone.zone_id,
                available_ip_address_count: block.usable(),
                default_for_az: false,
                map_public_ip_on_launch: false,
                state: "available".to_owned(),
                owner_id: self.account.clone(),
                tags: dedup_tags(tags),
            };
            tx.put_subnet(subnet.clone())?;
            Ok(subnet)
        })
    }

    /// `DeleteSubnet`.
    ///
    /// # Errors
    /// `InvalidSubnetID.NotFound`; `DependencyViolation` while network interfaces use it.
    pub fn delete_subnet(&self, region: &str, subnet_id: &str) -> Result<(), Ec2Error> {
        self.mutate(region, |tx| {
            if !tx.reg.subnets.contains_key(subnet_id) {
                return Err(Ec2Error::InvalidSubnetIdNotFound(subnet_id.to_owned()));
            }
            if tx.reg.enis.values().any(|e| e.subnet_id == subnet_id) {
                return Err(Ec2Error::DependencyViolation(format!(
                    "The subnet '{subnet_id}' has dependencies and cannot be deleted."
                )));
            }
            tx.delete_subnet(subnet_id);
            Ok(())
        })
    }
}

/// A VPC or subnet block: well-formed, no host bits set.
fn parse_block(cidr_block: &str) -> Result<Cidr4, Ec2Error> {
    Cidr4::parse(cidr_block).filter(|c| c.is_network()).ok_or_else(|| {
        Ec2Error::invalid(format!(
            "Value ({cidr_block}) for parameter cidrBlock is invalid. This is not a valid CIDR block."
        ))
    })
}

//! Network interfaces: the ENIs DAX places in a subnet for each node.

use std::collections::HashSet;

use crate::cidr::{self, Cidr4};
use crate::filter::{self, Filter};
use crate::groups::group_by_id;
use crate::model::{
    GroupIdentifier, NetworkInterface, NetworkInterfaceAttribute, NewNetworkInterface, Page, Paging, Subnet,
};
use crate::{check_tags, dedup_tags, paginate, select, Ec2, Ec2Error, Region, DAX_REQUESTER_ID, GROUPS_PER_INTERFACE};

const ENI_FILTERS: &[&str] = &[
    "network-interface-id",
    "subnet-id",
    "vpc-id",
    "availability-zone",
    "description",
    "status",
    "requester-managed",
    "requester-id",
    "private-ip-address",
    "addresses.private-ip-address",
    "private-dns-name",
    "mac-address",
    "owner-id",
    "group-id",
    "group-name",
    "source-dest-check",
    "interface-type",
];

fn eni_field(e: &NetworkInterface, name: &str) -> Vec<String> {
    let one = |v: &str| vec![v.to_owned()];
    match name {
        "network-interface-id" => one(&e.network_interface_id),
        "subnet-id" => one(&e.subnet_id),
        "vpc-id" => one(&e.vpc_id),
        "availability-zone" => one(&e.availability_zone),
        "description" => one(&e.description),
        "status" => one(&e.status),
        "requester-managed" => vec![filter::bool_str(e.requester_managed)],
        "requester-id" => e.requester_id.iter().cloned().collect(),
        "private-ip-address" | "addresses.private-ip-address" => one(&e.private_ip_address),
        "private-dns-name" => one(&e.private_dns_name),
        "mac-address" => one(&e.mac_address),
        "owner-id" => one(&e.owner_id),
        "group-id" => e.groups.iter().map(|g| g.group_id.clone()).collect(),
        "group-name" => e.groups.iter().map(|g| g.group_name.clone()).collect(),
        "source-dest-check" => vec![filter::bool_str(e.source_dest_check)],
        "interface-type" => one(&e.interface_type),
        _ => Vec::new(),
    }
}

fn check_eni_id(id: &str) -> Result<(), Ec2Error> {
    let ok = id
        .strip_prefix("eni-")
        .is_some_and(|h| !h.is_empty() && h.len() <= 17 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(Ec2Error::InvalidNetworkInterfaceIdMalformed(id.to_owned()))
    }
}

fn eni_by_id<'a>(reg: &'a Region, id: &str) -> Result<&'a NetworkInterface, Ec2Error> {
    check_eni_id(id)?;
    reg.enis.get(id).ok_or_else(|| Ec2Error::InvalidNetworkInterfaceIdNotFound(id.to_owned()))
}

/// `ip-172-31-0-4.ec2.internal` in us-east-1, `ip-….<region>.compute.internal` elsewhere.
fn private_dns_name(region: &str, ip: &str) -> String {
    let host = format!("ip-{}", ip.replace('.', "-"));
    if region == "us-east-1" {
        format!("{host}.ec2.internal")
    } else {
        format!("{host}.{region}.compute.internal")
    }
}

/// The group set of an interface in `subnet`'s VPC: the VPC's default group when `ids` is empty.
fn group_set(reg: &Region, subnet: &Subnet, ids: &[String]) -> Result<Vec<GroupIdentifier>, Ec2Error> {
    let mut out: Vec<GroupIdentifier> = Vec::new();
    if ids.is_empty() {
        let g = reg.default_group(&subnet.vpc_id).ok_or_else(|| Ec2Error::group_not_found("default"))?;
        out.push(GroupIdentifier { group_id: g.group_id.clone(), group_name: g.group_name.clone() });
        return Ok(out);
    }
    for id in ids {
        let g = group_by_id(reg, id)?;
        if g.vpc_id != subnet.vpc_id {
            return Err(Ec2Error::invalid(format!(
                "Security group {} and subnet {} belong to different networks.",
                g.group_id, subnet.subnet_id
            )));
        }
        if !out.iter().any(|x| x.group_id == g.group_id) {
            out.push(GroupIdentifier { group_id: g.group_id.clone(), group_name: g.group_name.clone() });
        }
    }
    if out.len() > GROUPS_PER_INTERFACE {
        return Err(Ec2Error::SecurityGroupsPerInterfaceLimitExceeded);
    }
    Ok(out)
}

/// The requested address, or the lowest free one: EC2 reserves the first
/// four addresses of a subnet and its last.
fn allocate(reg: &Region, subnet: &Subnet, wanted: Option<&str>) -> Result<String, Ec2Error> {
    let block = Cidr4::parse(&subnet.cidr_block).ok_or_else(|| {
        Ec2Error::InternalError(format!("subnet {} has block {}", subnet.subnet_id, subnet.cidr_block))
    })?;
    let used: HashSet<u32> = reg
        .enis
        .values()
        .filter(|e| e.subnet_id == subnet.subnet_id)
        .filter_map(|e| cidr::parse_ip(&e.private_ip_address))
        .collect();
    let (low, high) = (block.first().saturating_add(4), block.last().saturating_sub(1));
    if let Some(text) = wanted {
        let ip = cidr::parse_ip(text)
            .ok_or_else(|| Ec2Error::invalid(format!("Invalid value '{text}' for privateIpAddress")))?;
        if !block.contains(ip) {
            return Err(Ec2Error::invalid(format!("Address {text} does not fall within the subnet's address range")));
        }
        if ip < low || ip > high {
            return Err(Ec2Error::invalid(format!("Address {text} is reserved by EC2 in subnet {}", subnet.subnet_id)));
        }
        if used.contains(&ip) {
            return Err(Ec2Error::InvalidIpAddressInUse(text.to_owned()));
        }
        return Ok(cidr::ip_string(ip));
    }
    (low..=high)
        .find(|ip| !used.contains(ip))
        .map(cidr::ip_string)
        .ok_or_else(|| Ec2Error::InsufficientFreeAddressesInSubnet(subnet.subnet_id.clone()))
}

impl Ec2 {
    /// `CreateNetworkInterface`. A repeated client token returns the interface it created.
    ///
    /// # Errors
    /// `MissingParameter`, `InvalidSubnetID.NotFound`, `InvalidGroupId.Malformed`,
    /// `InvalidGroup.NotFound`, `InvalidParameterValue` (groups of another VPC, address, tags),
    /// `SecurityGroupsPerInterfaceLimitExceeded`, `InvalidIPAddress.InUse`,
    /// `InsufficientFreeAddressesInSubnet`, `IdempotentParameterMismatch`.
    pub fn create_network_interface(
        &self,
        region: &str,
        req: NewNetworkInterface,
    ) -> Result<NetworkInterface, Ec2Error> {
        if req.subnet_id.is_empty() {
            return Err(Ec2Error::MissingParameter("subnetId".to_owned()));
        }
        check_tags(&req.tags)?;
        let description = req.description.unwrap_or_default();
        if description.chars().count() > 255 {
            return Err(Ec2Error::invalid("Description must not exceed 255 characters."));
        }
        self.mutate(region, |tx| {
            let token = req.client_token.as_deref().filter(|t| !t.is_empty());
            if let Some(token) = token {
                if let Some(e) = tx.reg.enis.values().find(|e| e.client_token.as_deref() == Some(token)) {
                    if e.subnet_id == req.subnet_id && e.description == description {
                        return Ok(e.clone());
                    }
                    return Err(Ec2Error::IdempotentParameterMismatch(format!(
                        "Client token {token} has already been used with different parameters."
                    )));
                }
            }
            let mut subnet = tx
                .reg
                .subnets
                .get(&req.subnet_id)
                .cloned()
                .ok_or_else(|| Ec2Error::InvalidSubnetIdNotFound(req.subnet_id.clone()))?;
            let groups = group_set(&tx.reg, &subnet, &req.security_group_ids)?;
            let ip = allocate(&tx.reg, &subnet, req.private_ip_address.as_deref())?;
            let id = self.fresh_id(&tx.reg, "eni");
            let mac = self.env.ids.chars(base::HEX, 10);
            let eni = NetworkInterface {
                network_interface_id: id,
                subnet_id: subnet.subnet_id.clone(),
                vpc_id: subnet.vpc_id.clone(),
                availability_zone: subnet.availability_zone.clone(),
                description,
                groups,
                mac_address: format!(
                    "0e:{}:{}:{}:{}:{}",
                    &mac.get(0..2).unwrap_or("00"),
                    &mac.get(2..4).unwrap_or("00"),
                    &mac.get(4..6).unwrap_or("00"),
                    &mac.get(6..8).unwrap_or("00"),
                    &mac.get(8..10).unwrap_or("00")
                ),
                owner_id: self.account.clone(),
                private_dns_name: private_dns_name(tx.region(), &ip),
                private_ip_address: ip,
                requester_id: req.requester_managed.then(|| DAX_REQUESTER_ID.to_owned()),
                requester_managed: req.requester_managed,
                source_dest_check: true,
                status: if req.requester_managed { "in-use" } else { "available" }.to_owned(),
                interface_type: "interface".to_owned(),
                client_token: token.map(str::to_owned),
                tags: dedup_tags(req.tags),
            };
            subnet.available_ip_address_count = subnet.available_ip_address_count.saturating_sub(1);
            tx.put_subnet(subnet)?;
            tx.put_eni(eni.clone())?;
            Ok(eni)
        })
    }

    /// `DeleteNetworkInterface` as a user: an interface in use (a service's) cannot be deleted.
    ///
    /// # Errors
    /// `InvalidNetworkInterfaceId.Malformed`, `InvalidNetworkInterfaceID.NotFound`,
    /// `InvalidNetworkInterface.InUse`.
    pub fn delete_network_interface(&self, region: &str, id: &str) -> Result<(), Ec2Error> {
        self.remove_eni(region, id, false)
    }

    /// `DeleteNetworkInterface` on behalf of the service that requested it
    /// (DAX removing a node): deletes even an interface in use.
    ///
    /// # Errors
    /// `InvalidNetworkInterfaceId.Malformed`, `InvalidNetworkInterfaceID.NotFound`.
    pub fn delete_network_interface_as_requester(&self, region: &str, id: &str) -> Result<(), Ec2Error> {
        self.remove_eni(region, id, true)
    }

    fn remove_eni(&self, region: &str, id: &str, as_requester: bool) -> Result<(), Ec2Error> {
        if id.is_empty() {
            return Err(Ec2Error::MissingParameter("networkInterfaceId".to_owned()));
        }
        self.mutate(region, |tx| {
            let eni = eni_by_id(&tx.reg, id)?.clone();
            if eni.status == "in-use" && !as_requester {
                return Err(Ec2Error::InvalidNetworkInterfaceInUse(id.to_owned()));
            }
            if let Some(mut subnet) = tx.reg.subnets.get(&eni.subnet_id).cloned() {
                let cap = Cidr4::parse(&subnet.cidr_block).map_or(u32::MAX, Cidr4::usable);
                subnet.available_ip_address_count = subnet.available_ip_address_count.saturating_add(1).min(cap);
                tx.put_subnet(subnet)?;
            }
            tx.delete_eni(id);
            Ok(())
        })
    }

    /// `DescribeNetworkInterfaces`.
    ///
    /// # Errors
    /// `InvalidNetworkInterfaceId.Malformed`, `InvalidNetworkInterfaceID.NotFound`,
    /// `InvalidParameterValue` (filter, `MaxResults`), `InvalidNextToken`.
    pub fn describe_network_interfaces(
        &self,
        region: &str,
        ids: &[String],
        filters: &[Filter],
        paging: &Paging,
    ) -> Result<Page<NetworkInterface>, Ec2Error> {
        filter::check(filters, ENI_FILTERS)?;
        for id in ids {
            check_eni_id(id)?;
        }
        self.view(region, |reg| {
            let items = select(&reg.enis, ids, |id| Ec2Error::InvalidNetworkInterfaceIdNotFound(id.to_owned()))?
                .into_iter()
                .filter(|e| filter::matches(filters, &e.tags, |n| eni_field(e, n)))
                .map(|e| (e.network_interface_id.clone(), e.clone()))
                .collect();
            paginate(items, paging, "eni-")
        })
    }

    /// `ModifyNetworkInterfaceAttribute`; returns the updated interface.
    ///
    /// # Errors
    /// `InvalidNetworkInterfaceId.Malformed`, `InvalidNetworkInterfaceID.NotFound`,
    /// `MissingParameter` (empty group list), group errors as in create,
    /// `InvalidParameterValue` (description too long).
    pub fn modify_network_interface_attribute(
        &self,
        region: &str,
        id: &str,
        attribute: NetworkInterfaceAttribute,
    ) -> Result<NetworkInterface, Ec2Error> {
        self.mutate(region, |tx| {
            let mut eni = eni_by_id(&tx.reg, id)?.clone();
            match attribute {
                NetworkInterfaceAttribute::SecurityGroups(ids) => {
                    if ids.is_empty() {
                        return Err(Ec2Error::MissingParameter("groupId".to_owned()));
                    }
                    let subnet = tx
                        .reg
                        .subnets
                        .get(&eni.subnet_id)
                        .ok_or_else(|| Ec2Error::InvalidSubnetIdNotFound(eni.subnet_id.clone()))?;
                    eni.groups = group_set(&tx.reg, subnet, &ids)?;
                }
                NetworkInterfaceAttribute::Description(d) => {
                    if d.chars().count() > 255 {
                        return Err(Ec2Error::invalid("Description must not exceed 255 characters."));
                    }
                    eni.description = d;
                }
                NetworkInterfaceAttribute::SourceDestCheck(b) => eni.source_dest_check = b,
            }
            tx.put_eni(eni.clone())?;
            Ok(eni)
        })
    }
}

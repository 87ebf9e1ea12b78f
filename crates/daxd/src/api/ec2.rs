//! EC2 operations (the network subset DAX uses): wire values in, domain
//! calls, wire values out.

use std::sync::Arc;

use ec2::{
    Ec2, Ec2Error, Filter, GroupPair, GroupRef, IpPermission, IpRange, NetworkInterface, NetworkInterfaceAttribute,
    NewNetworkInterface, Paging, Peer, SecurityGroup, SecurityGroupRule, Subnet, Tag, Vpc,
};
use serde_json::{json, Map, Value};
use wire::AwsError;

use super::handler::{operations, Grant, Handler, Operation, Principal};
use super::input::In;
use super::Target;
use crate::services::Service;

operations! {
    /// The EC2 operations daxd serves (the network subset DAX uses).
    pub enum Ec2Op {
        AuthorizeSecurityGroupIngress, CreateNetworkInterface, CreateSecurityGroup, CreateSubnet, CreateVpc,
        DeleteNetworkInterface, DeleteSecurityGroup, DeleteSubnet, DeleteVpc, DescribeAvailabilityZones,
        DescribeNetworkInterfaces, DescribeSecurityGroups, DescribeSubnets, DescribeVpcs,
        ModifyNetworkInterfaceAttribute, RevokeSecurityGroupIngress,
    }
}

fn err(e: Ec2Error) -> AwsError {
    AwsError::new(e.status(), e.code(), e.to_string())
}

fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::new(400, "InvalidParameterValue", message)
}

fn combination(message: impl Into<String>) -> AwsError {
    AwsError::new(400, "InvalidParameterCombination", message)
}

fn dry_run() -> AwsError {
    AwsError::new(412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
}

// ----- reading inputs -----

fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn int_of(v: &Value, key: &str) -> Option<i32> {
    v.get(key).and_then(Value::as_i64).map(|n| i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX }))
}

fn items_of<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn filters(i: In) -> Vec<Filter> {
    i.items("Filters")
        .iter()
        .map(|f| Filter {
            name: str_of(f, "Name").unwrap_or_default(),
            values: items_of(f, "Values").iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        })
        .collect()
}

fn paging(i: In) -> Paging {
    Paging { max_results: i.0.get("MaxResults").and_then(Value::as_i64), next_token: i.o("NextToken") }
}

fn tag_list(v: &Value) -> Vec<Tag> {
    items_of(v, "Tags")
        .iter()
        .map(|t| Tag { key: str_of(t, "Key").unwrap_or_default(), value: str_of(t, "Value").unwrap_or_default() })
        .collect()
}

/// The tags of the `TagSpecifications` for `resource_type`; a specification
/// for another resource type is an error, as in EC2.
fn tags_for(i: In, resource_type: &str) -> Result<Vec<Tag>, AwsError> {
    let mut out = Vec::new();
    for spec in i.items("TagSpecifications") {
        match str_of(&spec, "ResourceType").filter(|t| !t.is_empty()) {
            Some(t) if t == resource_type => out.extend(tag_list(&spec)),
            Some(t) => return Err(invalid(format!("'{t}' is not a valid taggable resource type for this operation."))),
            None => return Err(invalid("Tag specification resource type must have a value")),
        }
    }
    Ok(out)
}

fn permission_in(v: &Value) -> Result<IpPermission, AwsError> {
    if let Some(pl) = items_of(v, "PrefixListIds").first() {
        let id = str_of(pl, "PrefixListId").unwrap_or_default();
        return Err(AwsError::new(
            400,
            "InvalidPrefixListID.NotFound",
            format!("The prefix list ID '{id}' does not exist"),
        ));
    }
    let range = |r: &Value, key: &str| IpRange {
        cidr: str_of(r, key).unwrap_or_default(),
        description: str_of(r, "Description"),
    };
    Ok(IpPermission {
        ip_protocol: str_of(v, "IpProtocol").unwrap_or_default(),
        from_port: int_of(v, "FromPort"),
        to_port: int_of(v, "ToPort"),
        ip_ranges: items_of(v, "IpRanges").iter().map(|r| range(r, "CidrIp")).collect(),
        ipv6_ranges: items_of(v, "Ipv6Ranges").iter().map(|r| range(r, "CidrIpv6")).collect(),
        groups: items_of(v, "UserIdGroupPairs")
            .iter()
            .map(|g| GroupPair {
                group_id: str_of(g, "GroupId"),
                group_name: str_of(g, "GroupName"),
                user_id: str_of(g, "UserId"),
                description: str_of(g, "Description"),
            })
            .collect(),
    })
}

const LEGACY_RULE_KEYS: [&str; 6] =
    ["CidrIp", "IpProtocol", "FromPort", "ToPort", "SourceSecurityGroupName", "SourceSecurityGroupOwnerId"];

/// The permissions of an Authorize/Revoke request: `IpPermissions`, or the
/// legacy flat `IpProtocol`/`FromPort`/`ToPort`/`CidrIp`/`SourceSecurityGroupName`.
fn permissions_in(i: In) -> Result<Vec<IpPermission>, AwsError> {
    let perms = i.items("IpPermissions").iter().map(permission_in).collect::<Result<Vec<_>, _>>()?;
    let legacy: Vec<&str> = LEGACY_RULE_KEYS.iter().copied().filter(|k| i.0.get(*k).is_some()).collect();
    if legacy.is_empty() {
        return Ok(perms);
    }
    if !perms.is_empty() {
        return Err(combination(format!(
            "The parameter 'ipPermissions' may not be used in combination with '{}'",
            legacy.join("', '")
        )));
    }
    let source = i.o("SourceSecurityGroupName").map(|name| GroupPair {
        group_name: Some(name),
        user_id: i.o("SourceSecurityGroupOwnerId"),
        ..GroupPair::default()
    });
    let cidr = i.o("CidrIp");
    match (i.o("IpProtocol"), source) {
        // A source group alone grants full ICMP, UDP and TCP access.
        (None, Some(pair)) if cidr.is_none() && i.0.get("FromPort").is_none() && i.0.get("ToPort").is_none() => {
            Ok([("icmp", -1, -1), ("tcp", 0, 65535), ("udp", 0, 65535)]
                .into_iter()
                .map(|(proto, from, to)| IpPermission {
                    ip_protocol: proto.to_owned(),
                    from_port: Some(from),
                    to_port: Some(to),
                    groups: vec![pair.clone()],
                    ..IpPermission::default()
                })
                .collect())
        }
        (proto, source) => Ok(vec![IpPermission {
            ip_protocol: proto.unwrap_or_default(),
            from_port: int_of(i.0, "FromPort"),
            to_port: int_of(i.0, "ToPort"),
            ip_ranges: cidr.into_iter().map(|c| IpRange { cidr: c, description: None }).collect(),
            ipv6_ranges: Vec::new(),
            groups: source.into_iter().collect(),
        }]),
    }
}

fn group_ref(i: In) -> GroupRef {
    match (i.o("GroupId"), i.o("GroupName")) {
        (Some(id), _) if !id.is_empty() => GroupRef::Id(id),
        (_, Some(name)) if !name.is_empty() => GroupRef::Name(name),
        _ => GroupRef::Id(String::new()),
    }
}

// ----- writing outputs -----

fn tags_out(tags: &[Tag]) -> Value {
    Value::Array(tags.iter().map(|t| json!({"Key": t.key, "Value": t.value})).collect())
}

/// `Tags` (tagSet), present only when the resource has tags, as EC2 does.
fn put_tags(v: &mut Value, key: &str, tags: &[Tag]) {
    if !tags.is_empty() {
        v[key] = tags_out(tags);
    }
}

fn vpc_out(v: &Vpc) -> Value {
    let mut out = json!({
        "VpcId": v.vpc_id,
        "State": v.state,
        "CidrBlock": v.cidr_block,
        "DhcpOptionsId": v.dhcp_options_id,
        "OwnerId": v.owner_id,
        "InstanceTenancy": v.instance_tenancy,
        "IsDefault": v.is_default,
        "CidrBlockAssociationSet": [{
            "AssociationId": v.cidr_block_association_id,
            "CidrBlock": v.cidr_block,
            "CidrBlockState": {"State": "associated"},
        }],
        "BlockPublicAccessStates": {"InternetGatewayBlockMode": "off"},
    });
    put_tags(&mut out, "Tags", &v.tags);
    out
}

fn subnet_out(s: &Subnet) -> Value {
    let mut out = json!({
        "SubnetId": s.subnet_id,
        "SubnetArn": s.subnet_arn,
        "VpcId": s.vpc_id,
        "CidrBlock": s.cidr_block,
        "AvailabilityZone": s.availability_zone,
        "AvailabilityZoneId": s.availability_zone_id,
        "AvailableIpAddressCount": s.available_ip_address_count,
        "DefaultForAz": s.default_for_az,
        "MapPublicIpOnLaunch": s.map_public_ip_on_launch,
        "MapCustomerOwnedIpOnLaunch": false,
        "State": s.state,
        "OwnerId": s.owner_id,
        "AssignIpv6AddressOnCreation": false,
        "Ipv6CidrBlockAssociationSet": [],
        "Ipv6Native": false,
        "EnableDns64": false,
        "PrivateDnsNameOptionsOnLaunch": {
            "HostnameType": "ip-name",
            "EnableResourceNameDnsARecord": false,
            "EnableResourceNameDnsAAAARecord": false,
        },
        "BlockPublicAccessStates": {"InternetGatewayBlockMode": "off"},
    });
    put_tags(&mut out, "Tags", &s.tags);
    out
}

fn with_description(mut v: Value, d: Option<&String>) -> Value {
    if let Some(d) = d {
        v["Description"] = json!(d);
    }
    v
}

fn permission_out(p: &IpPermission) -> Value {
    let ranges = |rs: &[IpRange], key: &str| -> Value {
        Value::Array(rs.iter().map(|r| with_description(json!({key: r.cidr}), r.description.as_ref())).collect())
    };
    let mut v = json!({
        "IpProtocol": p.ip_protocol,
        "IpRanges": ranges(&p.ip_ranges, "CidrIp"),
        "Ipv6Ranges": ranges(&p.ipv6_ranges, "CidrIpv6"),
        "PrefixListIds": [],
        "UserIdGroupPairs": p.groups.iter().map(|g| {
            let mut pair = Map::new();
            for (k, val) in [("GroupId", &g.group_id), ("GroupName", &g.group_name), ("UserId", &g.user_id), ("Description", &g.description)] {
                if let Some(val) = val {
                    pair.insert(k.to_owned(), json!(val));
                }
            }
            Value::Object(pair)
        }).collect::<Vec<_>>(),
    });
    if let Some(f) = p.from_port {
        v["FromPort"] = json!(f);
    }
    if let Some(t) = p.to_port {
        v["ToPort"] = json!(t);
    }
    v
}

fn group_out(g: &SecurityGroup) -> Value {
    let mut out = json!({
        "GroupId": g.group_id,
        "GroupName": g.group_name,
        "Description": g.description,
        "VpcId": g.vpc_id,
        "OwnerId": g.owner_id,
        "SecurityGroupArn": g.arn,
        "IpPermissions": g.ip_permissions().iter().map(permission_out).collect::<Vec<_>>(),
        "IpPermissionsEgress": g.ip_permissions_egress().iter().map(permission_out).collect::<Vec<_>>(),
    });
    put_tags(&mut out, "Tags", &g.tags);
    out
}

/// A `SecurityGroupRule` (the `securityGroupRuleSet` of `AuthorizeSecurityGroupIngress`).
/// Ports of protocols without ports read -1, as EC2 shows them.
fn rule_out(r: &SecurityGroupRule, account: &str, region: &str) -> Value {
    let mut v = json!({
        "SecurityGroupRuleId": r.rule_id,
        "GroupId": r.group_id,
        "GroupOwnerId": account,
        "IsEgress": r.is_egress,
        "IpProtocol": r.ip_protocol,
        "FromPort": r.from_port.unwrap_or(-1),
        "ToPort": r.to_port.unwrap_or(-1),
        "SecurityGroupRuleArn": format!("arn:aws:ec2:{region}:{account}:security-group-rule/{}", r.rule_id),
    });
    match &r.peer {
        Peer::Cidr { cidr } => v["CidrIpv4"] = json!(cidr),
        Peer::Ipv6 { cidr } => v["CidrIpv6"] = json!(cidr),
        Peer::Group { group_id, user_id } => v["ReferencedGroupInfo"] = json!({"GroupId": group_id, "UserId": user_id}),
    }
    with_description(v, r.description.as_ref())
}

/// A `RevokedSecurityGroupRule`.
fn revoked_out(r: &SecurityGroupRule) -> Value {
    let mut v = json!({
        "SecurityGroupRuleId": r.rule_id,
        "GroupId": r.group_id,
        "IsEgress": r.is_egress,
        "IpProtocol": r.ip_protocol,
        "FromPort": r.from_port.unwrap_or(-1),
        "ToPort": r.to_port.unwrap_or(-1),
    });
    match &r.peer {
        Peer::Cidr { cidr } => v["CidrIpv4"] = json!(cidr),
        Peer::Ipv6 { cidr } => v["CidrIpv6"] = json!(cidr),
        Peer::Group { group_id, .. } => v["ReferencedGroupId"] = json!(group_id),
    }
    with_description(v, r.description.as_ref())
}

fn eni_out(e: &NetworkInterface, region: &str) -> Value {
    let zone_id =
        ec2::availability_zones(region).into_iter().find(|z| z.zone_name == e.availability_zone).map(|z| z.zone_id);
    let mut v = json!({
        "NetworkInterfaceId": e.network_interface_id,
        "SubnetId": e.subnet_id,
        "VpcId": e.vpc_id,
        "AvailabilityZone": e.availability_zone,
        "Description": e.description,
        "Groups": e.groups.iter().map(|g| json!({"GroupId": g.group_id, "GroupName": g.group_name})).collect::<Vec<_>>(),
        "InterfaceType": e.interface_type,
        "Ipv6Addresses": [],
        "MacAddress": e.mac_address,
        "OwnerId": e.owner_id,
        "PrivateDnsName": e.private_dns_name,
        "PrivateIpAddress": e.private_ip_address,
        "PrivateIpAddresses": [{
            "Primary": true,
            "PrivateDnsName": e.private_dns_name,
            "PrivateIpAddress": e.private_ip_address,
        }],
        "RequesterManaged": e.requester_managed,
        "SourceDestCheck": e.source_dest_check,
        "Status": e.status,
        "TagSet": tags_out(&e.tags),
        "Ipv6Native": false,
        "Operator": {"Managed": false},
    });
    if let Some(z) = zone_id {
        v["AvailabilityZoneId"] = json!(z);
    }
    if let Some(r) = &e.requester_id {
        v["RequesterId"] = json!(r);
    }
    v
}

fn page_out(list_key: &str, items: Vec<Value>, next_token: Option<String>) -> Value {
    let mut v = json!({ list_key: items });
    if let Some(t) = next_token {
        v["NextToken"] = json!(t);
    }
    v
}

// ----- authorization -----

/// The resource type and id an operation acts on, when it names one.
fn resource_of(op: Ec2Op, i: In) -> Option<(&'static str, String)> {
    use Ec2Op as O;
    let (kind, key) = match op {
        O::DeleteVpc => ("vpc", "VpcId"),
        O::DeleteSubnet => ("subnet", "SubnetId"),
        O::DeleteSecurityGroup | O::AuthorizeSecurityGroupIngress | O::RevokeSecurityGroupIngress => {
            ("security-group", "GroupId")
        }
        O::DeleteNetworkInterface | O::ModifyNetworkInterfaceAttribute => ("network-interface", "NetworkInterfaceId"),
        _ => return None,
    };
    i.o(key).filter(|id| !id.is_empty()).map(|id| (kind, id))
}

/// What an EC2 action is authorized on: the ARN of the resource it names
/// (deletes, modifications, rule changes), else `*` (describes, creates),
/// with `aws:RequestTag/*` and `aws:TagKeys` from `TagSpecifications`.
pub fn target(account: &str, region: &str, op: Ec2Op, input: &Value) -> Target {
    let i = In(input);
    let resource = match resource_of(op, i) {
        Some((kind, id)) => format!("arn:aws:ec2:{region}:{account}:{kind}/{id}"),
        None => "*".to_owned(),
    };
    let mut t = Target::new("ec2", op.name(), &resource);
    for spec in i.items("TagSpecifications") {
        for tag in tag_list(&spec) {
            t.context.push((format!("aws:RequestTag/{}", tag.key), tag.value));
            if !t.tag_keys.contains(&tag.key) {
                t.tag_keys.push(tag.key);
            }
        }
    }
    t
}

// ----- operations -----

#[allow(clippy::too_many_lines)]
pub fn call(ec2: &Ec2, region: &str, op: &str, input: &Value) -> Result<Value, AwsError> {
    let i = In(input);
    if i.bool("DryRun") == Some(true) {
        return Err(dry_run());
    }
    let account = ec2.account();
    match op {
        "DescribeAvailabilityZones" => {
            // `AllAvailabilityZones` adds Local and Wavelength Zones and zones not opted
            // into: daxd's regions have only their standard zones, all opted in, so
            // the answer is the same with it or without.
            let _all_zones = i.bool("AllAvailabilityZones");
            let zones = ec2
                .describe_availability_zones(region, &i.list("ZoneNames"), &i.list("ZoneIds"), &filters(i))
                .map_err(err)?;
            let zones: Vec<Value> = zones
                .iter()
                .map(|z| {
                    json!({
                        "ZoneName": z.zone_name,
                        "ZoneId": z.zone_id,
                        "State": z.state,
                        "RegionName": z.region_name,
                        "GroupName": z.group_name,
                        "NetworkBorderGroup": z.network_border_group,
                        "ZoneType": z.zone_type,
                        "OptInStatus": z.opt_in_status,
                        "Messages": [],
                    })
                })
                .collect();
            Ok(json!({"AvailabilityZones": zones}))
        }

        // ----- VPCs -----
        "DescribeVpcs" => {
            let page = ec2.describe_vpcs(region, &i.list("VpcIds"), &filters(i), &paging(i)).map_err(err)?;
            Ok(page_out("Vpcs", page.items.iter().map(vpc_out).collect(), page.next_token))
        }
        "CreateVpc" => {
            let unsupported = [
                "Ipv6CidrBlock",
                "Ipv6Pool",
                "Ipv4IpamPoolId",
                "Ipv6IpamPoolId",
                "Ipv4NetmaskLength",
                "Ipv6NetmaskLength",
                "Ipv6CidrBlockNetworkBorderGroup",
                "VpcEncryptionControl",
            ]
            .into_iter()
            .find(|k| i.0.get(*k).is_some())
            .or_else(|| (i.bool("AmazonProvidedIpv6CidrBlock") == Some(true)).then_some("AmazonProvidedIpv6CidrBlock"));
            if let Some(k) = unsupported {
                return Err(invalid(format!(
                    "The parameter {k} is not supported: daxd VPCs have one IPv4 CIDR block."
                )));
            }
            if let Some(t) = i.o("InstanceTenancy").filter(|t| t != "default") {
                return Err(invalid(format!(
                    "Value ({t}) for parameter instanceTenancy is invalid. daxd supports only 'default'."
                )));
            }
            let tags = tags_for(i, "vpc")?;
            let vpc = ec2.create_vpc(region, &i.s("CidrBlock"), tags).map_err(err)?;
            Ok(json!({"Vpc": vpc_out(&vpc)}))
        }
        "DeleteVpc" => {
            ec2.delete_vpc(region, &i.s("VpcId")).map_err(err)?;
            Ok(json!({}))
        }

        // ----- subnets -----
        "DescribeSubnets" => {
            let page = ec2.describe_subnets(region, &i.list("SubnetIds"), &filters(i), &paging(i)).map_err(err)?;
            Ok(page_out("Subnets", page.items.iter().map(subnet_out).collect(), page.next_token))
        }
        "CreateSubnet" => {
            let unsupported = [
                "Ipv6CidrBlock",
                "Ipv4IpamPoolId",
                "Ipv6IpamPoolId",
                "Ipv4NetmaskLength",
                "Ipv6NetmaskLength",
                "OutpostArn",
            ]
            .into_iter()
            .find(|k| i.0.get(*k).is_some())
            .or_else(|| (i.bool("Ipv6Native") == Some(true)).then_some("Ipv6Native"));
            if let Some(k) = unsupported {
                return Err(invalid(format!(
                    "The parameter {k} is not supported: daxd subnets have one IPv4 CIDR block."
                )));
            }
            let zone = match (i.o("AvailabilityZone"), i.o("AvailabilityZoneId")) {
                (Some(_), Some(_)) => {
                    return Err(combination(
                        "The parameter availabilityZone cannot be used with the parameter availabilityZoneId",
                    ))
                }
                (Some(name), None) => Some(name),
                // A zone id names its zone; an unknown id is reported as an invalid zone.
                (None, Some(id)) => Some(
                    ec2::availability_zones(region).into_iter().find(|z| z.zone_id == id).map_or(id, |z| z.zone_name),
                ),
                (None, None) => None,
            };
            let tags = tags_for(i, "subnet")?;
            let subnet =
                ec2.create_subnet(region, &i.s("VpcId"), &i.s("CidrBlock"), zone.as_deref(), tags).map_err(err)?;
            Ok(json!({"Subnet": subnet_out(&subnet)}))
        }
        "DeleteSubnet" => {
            ec2.delete_subnet(region, &i.s("SubnetId")).map_err(err)?;
            Ok(json!({}))
        }

        // ----- security groups -----
        "DescribeSecurityGroups" => {
            let page = ec2
                .describe_security_groups(region, &i.list("GroupIds"), &i.list("GroupNames"), &filters(i), &paging(i))
                .map_err(err)?;
            Ok(page_out("SecurityGroups", page.items.iter().map(group_out).collect(), page.next_token))
        }
        "CreateSecurityGroup" => {
            let tags = tags_for(i, "security-group")?;
            let g = ec2
                .create_security_group(region, &i.s("GroupName"), &i.s("Description"), i.o("VpcId").as_deref(), tags)
                .map_err(err)?;
            let mut out = json!({"GroupId": g.group_id, "SecurityGroupArn": g.arn});
            put_tags(&mut out, "Tags", &g.tags);
            Ok(out)
        }
        "DeleteSecurityGroup" => {
            let g = ec2.delete_security_group(region, &group_ref(i)).map_err(err)?;
            Ok(json!({"Return": true, "GroupId": g.group_id}))
        }
        "AuthorizeSecurityGroupIngress" => {
            let perms = permissions_in(i)?;
            // Tags on the new rules are not kept; reject them rather than drop them.
            if let Some(spec) = i.items("TagSpecifications").first() {
                let t = str_of(spec, "ResourceType").unwrap_or_default();
                if t != "security-group-rule" {
                    return Err(invalid(format!("'{t}' is not a valid taggable resource type for this operation.")));
                }
                if !tag_list(spec).is_empty() {
                    return Err(invalid("daxd does not support tags on security group rules."));
                }
            }
            let rules = ec2.authorize_security_group_ingress(region, &group_ref(i), &perms).map_err(err)?;
            Ok(json!({
                "Return": true,
                "SecurityGroupRules": rules.iter().map(|r| rule_out(r, account, region)).collect::<Vec<_>>(),
            }))
        }
        "RevokeSecurityGroupIngress" => {
            let perms = permissions_in(i)?;
            let outcome = ec2
                .revoke_security_group_ingress(region, &group_ref(i), &perms, &i.list("SecurityGroupRuleIds"))
                .map_err(err)?;
            let mut out = json!({
                "Return": true,
                "RevokedSecurityGroupRules": outcome.revoked.iter().map(revoked_out).collect::<Vec<_>>(),
            });
            if !outcome.unknown.is_empty() {
                out["UnknownIpPermissions"] = Value::Array(outcome.unknown.iter().map(permission_out).collect());
            }
            Ok(out)
        }

        // ----- network interfaces -----
        "CreateNetworkInterface" => {
            if let Some(t) = i.o("InterfaceType").filter(|t| t != "interface") {
                return Err(invalid(format!(
                    "Value ({t}) for parameter interfaceType is invalid. daxd creates only 'interface' network interfaces."
                )));
            }
            let unsupported = [
                "Ipv4Prefixes",
                "Ipv4PrefixCount",
                "Ipv6Prefixes",
                "Ipv6PrefixCount",
                "Ipv6Addresses",
                "Ipv6AddressCount",
                "SecondaryPrivateIpAddressCount",
            ]
            .into_iter()
            .find(|k| i.0.get(*k).is_some());
            if let Some(k) = unsupported {
                return Err(invalid(format!(
                    "The parameter {k} is not supported: daxd interfaces have one private IPv4 address."
                )));
            }
            let unsupported = ["ConnectionTrackingSpecification", "EnablePrimaryIpv6", "Operator"]
                .into_iter()
                .find(|k| i.0.get(*k).is_some());
            if let Some(k) = unsupported {
                return Err(invalid(format!("The parameter {k} is not supported: daxd interfaces have default connection tracking, no IPv6 and no operator.")));
            }
            let listed = i.items("PrivateIpAddresses");
            if listed.len() > 1 {
                return Err(invalid(
                    "daxd interfaces have one private IPv4 address: give at most one in privateIpAddresses.",
                ));
            }
            let from_list = listed.first().and_then(|p| str_of(p, "PrivateIpAddress"));
            let private_ip_address = match (i.o("PrivateIpAddress"), from_list) {
                (Some(a), Some(b)) if a != b => {
                    return Err(combination(
                        "The parameter privateIpAddress and the primary address of privateIpAddresses differ.",
                    ))
                }
                (a, b) => a.or(b),
            };
            let client_token = i.o("ClientToken");
            let req = NewNetworkInterface {
                subnet_id: i.s("SubnetId"),
                description: i.o("Description"),
                security_group_ids: i.list("Groups"),
                private_ip_address,
                requester_managed: false,
                tags: tags_for(i, "network-interface")?,
                client_token: client_token.clone(),
            };
            let eni = ec2.create_network_interface(region, req).map_err(err)?;
            let mut out = json!({"NetworkInterface": eni_out(&eni, region)});
            if let Some(t) = client_token.filter(|t| !t.is_empty()) {
                out["ClientToken"] = json!(t);
            }
            Ok(out)
        }
        "DeleteNetworkInterface" => {
            ec2.delete_network_interface(region, &i.s("NetworkInterfaceId")).map_err(err)?;
            Ok(json!({}))
        }
        "DescribeNetworkInterfaces" => {
            // `IncludeManagedResources: false` hides interfaces an operator manages;
            // none of daxd's are (`Operator.Managed` is false), so it hides none.
            let _include_managed = i.bool("IncludeManagedResources");
            let page = ec2
                .describe_network_interfaces(region, &i.list("NetworkInterfaceIds"), &filters(i), &paging(i))
                .map_err(err)?;
            Ok(page_out("NetworkInterfaces", page.items.iter().map(|e| eni_out(e, region)).collect(), page.next_token))
        }
        "ModifyNetworkInterfaceAttribute" => {
            let attribute = modify_attribute(i)?;
            ec2.modify_network_interface_attribute(region, &i.s("NetworkInterfaceId"), attribute).map_err(err)?;
            Ok(json!({}))
        }
        _ => Err(super::not_served("ec2", op)),
    }
}

/// The one attribute a `ModifyNetworkInterfaceAttribute` request changes.
fn modify_attribute(i: In) -> Result<NetworkInterfaceAttribute, AwsError> {
    let unsupported = [
        "EnaSrdSpecification",
        "EnablePrimaryIpv6",
        "ConnectionTrackingSpecification",
        "AssociatePublicIpAddress",
        "AssociatedSubnetIds",
    ]
    .into_iter()
    .find(|k| i.0.get(*k).is_some());
    if let Some(k) = unsupported {
        return Err(invalid(format!("The parameter {k} is not supported by daxd.")));
    }
    let mut named: Vec<(&str, NetworkInterfaceAttribute)> = Vec::new();
    if i.0.get("Groups").is_some() {
        named.push(("groupSet", NetworkInterfaceAttribute::SecurityGroups(i.list("Groups"))));
    }
    if let Some(d) = i.0.get("Description") {
        named.push(("description", NetworkInterfaceAttribute::Description(str_of(d, "Value").unwrap_or_default())));
    }
    if let Some(s) = i.0.get("SourceDestCheck") {
        let value = s.get("Value").and_then(Value::as_bool).ok_or_else(|| {
            AwsError::new(400, "MissingParameter", "The request must contain the parameter sourceDestCheck.value")
        })?;
        named.push(("sourceDestCheck", NetworkInterfaceAttribute::SourceDestCheck(value)));
    }
    if let Some(a) = i.0.get("Attachment") {
        // daxd interfaces are never attached, so no attachment id exists.
        let id = str_of(a, "AttachmentId").unwrap_or_default();
        return Err(AwsError::new(
            400,
            "InvalidAttachmentID.NotFound",
            format!("The attachment ID '{id}' does not exist"),
        ));
    }
    match named.len() {
        0 => Err(combination("No attributes specified.")),
        1 => Ok(named.remove(0).1),
        _ => Err(combination(format!(
            "Fields for multiple attribute types specified: {}",
            named.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// EC2's handler. Its impl comes after `call` (the input-member walk of
/// `tests/repo/input_members.rs` reads the first `fn call` of this file).
pub struct Ec2Api {
    pub ec2: Arc<Ec2>,
}

impl Handler for Ec2Api {
    type Op = Ec2Op;
    const SERVICE: Service = Service::Ec2;
    const BLOCKING: bool = true;

    async fn targets(&self, op: Ec2Op, input: &Value, who: &Principal<'_>) -> Vec<Target> {
        vec![target(who.account, who.region, op, input)]
    }

    async fn call(&self, op: Ec2Op, input: Value, who: &Principal<'_>, _grant: &Grant<'_>) -> Result<Value, AwsError> {
        call(&self.ec2, who.region, op.name(), &input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_the_models() {
        assert_eq!(super::super::handler::tests::check_operations::<Ec2Api>(), 16);
    }
}

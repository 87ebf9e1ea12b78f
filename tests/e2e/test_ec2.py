"""The EC2 network subset (default VPC, subnets, security groups and their
ingress rules, network interfaces) through boto3 and the AWS CLI against
the real daxd: defaults per region, filters and paging, lifecycles with
EC2's error codes, DryRun, authorization, and durability across restarts."""
import json

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
DRY_RUN_MESSAGE = "Request would have succeeded, but DryRun flag is set."


def err(exc_info):
    e = exc_info.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"], e["Error"].get("Message", "")


def fails(call, code, status=400, **kwargs):
    """Call, expect an EC2 error with `code` and `status`; return its message."""
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    got_code, got_status, message = err(e)
    assert (got_code, got_status) == (code, status), message
    return message


def cli(daxd, *args, region="us-east-1", key=None):
    return json.loads(daxd.aws("ec2", *args, region=region, key=key).stdout or "{}")


def cli_fails(daxd, *args, region="us-east-1", key=None):
    proc = daxd.aws("ec2", *args, region=region, key=key, check=False)
    assert proc.returncode != 0, proc.stdout
    return proc.stderr


def tag_spec(resource_type, **tags):
    return [{"ResourceType": resource_type, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def default_vpc(ec2):
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    return vpc


def default_subnets(ec2):
    subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    return sorted(subnets, key=lambda s: s["AvailabilityZone"])


def default_group(ec2, vpc_id):
    (g,) = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    return g


# ----- defaults per region -----


@pytest.mark.parametrize("region,code", [("us-east-1", "use1"), ("eu-west-1", "euw1")])
def test_region_defaults(daxd, region, code):
    ec2 = daxd.client("ec2", region=region)

    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert [(z["ZoneName"], z["ZoneId"], z["State"], z["RegionName"], z["ZoneType"], z["OptInStatus"]) for z in zones] == [
        (f"{region}{l}", f"{code}-az{n}", "available", region, "availability-zone", "opt-in-not-required")
        for n, l in enumerate("abc", 1)
    ]

    (vpc,) = ec2.describe_vpcs()["Vpcs"]
    assert vpc["IsDefault"] is True
    assert vpc["CidrBlock"] == "172.31.0.0/16" and vpc["State"] == "available"
    assert vpc["OwnerId"] == ACCOUNT and vpc["InstanceTenancy"] == "default"
    assert vpc["VpcId"].startswith("vpc-") and len(vpc["VpcId"]) == 21
    assert vpc["DhcpOptionsId"].startswith("dopt-")
    (assoc,) = vpc["CidrBlockAssociationSet"]
    assert assoc["CidrBlock"] == "172.31.0.0/16" and assoc["CidrBlockState"] == {"State": "associated"}
    assert "Tags" not in vpc

    subnets = sorted(ec2.describe_subnets()["Subnets"], key=lambda s: s["AvailabilityZone"])
    assert [(s["AvailabilityZone"], s["AvailabilityZoneId"], s["CidrBlock"]) for s in subnets] == [
        (f"{region}a", f"{code}-az1", "172.31.0.0/20"),
        (f"{region}b", f"{code}-az2", "172.31.16.0/20"),
        (f"{region}c", f"{code}-az3", "172.31.32.0/20"),
    ]
    for s in subnets:
        assert s["VpcId"] == vpc["VpcId"] and s["DefaultForAz"] is True and s["MapPublicIpOnLaunch"] is True
        assert s["AvailableIpAddressCount"] == 4091 and s["State"] == "available" and s["OwnerId"] == ACCOUNT
        assert s["SubnetArn"] == f"arn:aws:ec2:{region}:{ACCOUNT}:subnet/{s['SubnetId']}"
        assert s["Ipv6CidrBlockAssociationSet"] == [] and s["AssignIpv6AddressOnCreation"] is False

    (sg,) = ec2.describe_security_groups()["SecurityGroups"]
    assert (sg["GroupName"], sg["Description"], sg["VpcId"], sg["OwnerId"]) == (
        "default", "default VPC security group", vpc["VpcId"], ACCOUNT)
    assert sg["SecurityGroupArn"] == f"arn:aws:ec2:{region}:{ACCOUNT}:security-group/{sg['GroupId']}"
    assert sg["IpPermissions"] == [{
        "IpProtocol": "-1", "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [],
        "UserIdGroupPairs": [{"GroupId": sg["GroupId"], "UserId": ACCOUNT}],
    }]
    assert sg["IpPermissionsEgress"] == [{
        "IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": [],
        "UserIdGroupPairs": [],
    }]
    assert ec2.describe_network_interfaces()["NetworkInterfaces"] == []

    # The AWS CLI sees the same objects.
    assert cli(daxd, "describe-vpcs", region=region)["Vpcs"] == [vpc]
    by_cli = cli(daxd, "describe-subnets", "--filters", "Name=default-for-az,Values=true", region=region)["Subnets"]
    assert sorted(s["SubnetId"] for s in by_cli) == sorted(s["SubnetId"] for s in subnets)
    assert cli(daxd, "describe-security-groups", "--group-names", "default", region=region)["SecurityGroups"] == [sg]
    got = cli(daxd, "describe-availability-zones", "--zone-names", f"{region}b", region=region)["AvailabilityZones"]
    assert [(z["ZoneName"], z["ZoneId"]) for z in got] == [(f"{region}b", f"{code}-az2")]


def test_regions_are_independent(daxd):
    east, west = daxd.client("ec2"), daxd.client("ec2", region="eu-west-1")
    east_vpc, west_vpc = default_vpc(east), default_vpc(west)
    assert east_vpc["VpcId"] != west_vpc["VpcId"]
    assert {s["SubnetId"] for s in default_subnets(east)}.isdisjoint(s["SubnetId"] for s in default_subnets(west))
    assert default_group(east, east_vpc["VpcId"])["GroupId"] != default_group(west, west_vpc["VpcId"])["GroupId"]

    vpc = east.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]
    sg = east.create_security_group(GroupName="only-east", Description="d")
    assert len(east.describe_vpcs()["Vpcs"]) == 2
    assert [v["VpcId"] for v in west.describe_vpcs()["Vpcs"]] == [west_vpc["VpcId"]]
    fails(west.describe_vpcs, "InvalidVpcID.NotFound", VpcIds=[vpc["VpcId"]])
    fails(west.describe_security_groups, "InvalidGroup.NotFound", GroupIds=[sg["GroupId"]])
    # The same name is free in the other region.
    assert west.create_security_group(GroupName="only-east", Description="d")["GroupId"] != sg["GroupId"]
    # Describing a zone of another region is an error.
    msg = fails(west.describe_availability_zones, "InvalidParameterValue", ZoneNames=["us-east-1a"])
    assert "us-east-1a" in msg


# ----- filters and paging -----


def test_filters(daxd):
    ec2 = daxd.client("ec2")
    dvpc = default_vpc(ec2)
    alpha = ec2.create_vpc(CidrBlock="10.1.0.0/16", TagSpecifications=tag_spec("vpc", Name="alpha", team="dax"))["Vpc"]
    beta = ec2.create_vpc(CidrBlock="10.2.0.0/16", TagSpecifications=tag_spec("vpc", Name="beta"))["Vpc"]
    assert alpha["Tags"] == [{"Key": "Name", "Value": "alpha"}, {"Key": "team", "Value": "dax"}]
    a1 = ec2.create_subnet(VpcId=alpha["VpcId"], CidrBlock="10.1.1.0/24", AvailabilityZone="us-east-1b",
                           TagSpecifications=tag_spec("subnet", Name="alpha-1"))["Subnet"]
    a2 = ec2.create_subnet(VpcId=alpha["VpcId"], CidrBlock="10.1.2.0/24", AvailabilityZone="us-east-1c")["Subnet"]

    def vpc_ids(*filters):
        return sorted(v["VpcId"] for v in ec2.describe_vpcs(Filters=list(filters))["Vpcs"])

    def f(name, *values):
        return {"Name": name, "Values": list(values)}

    assert vpc_ids(f("tag:Name", "alpha")) == [alpha["VpcId"]]
    assert vpc_ids(f("tag:Name", "al*", "bet?")) == sorted([alpha["VpcId"], beta["VpcId"]])
    assert vpc_ids(f("tag:Name", "alpha"), f("tag:team", "dax")) == [alpha["VpcId"]]
    assert vpc_ids(f("tag:Name", "beta"), f("tag:team", "dax")) == []
    assert vpc_ids(f("tag-key", "team")) == [alpha["VpcId"]]
    assert vpc_ids(f("is-default", "true")) == [dvpc["VpcId"]]
    assert vpc_ids(f("is-default", "false")) == sorted([alpha["VpcId"], beta["VpcId"]])
    assert vpc_ids(f("vpc-id", beta["VpcId"])) == [beta["VpcId"]]
    assert vpc_ids(f("cidr-block", "10.*")) == sorted([alpha["VpcId"], beta["VpcId"]])
    # Ids and filters together: the filter narrows the named set.
    assert [v["VpcId"] for v in ec2.describe_vpcs(VpcIds=[alpha["VpcId"], beta["VpcId"]],
                                                  Filters=[f("tag:Name", "beta")])["Vpcs"]] == [beta["VpcId"]]

    def subnet_ids(*filters):
        return sorted(s["SubnetId"] for s in ec2.describe_subnets(Filters=list(filters))["Subnets"])

    defaults = default_subnets(ec2)
    assert subnet_ids(f("vpc-id", alpha["VpcId"])) == sorted([a1["SubnetId"], a2["SubnetId"]])
    assert subnet_ids(f("availability-zone", "us-east-1b")) == sorted([a1["SubnetId"], defaults[1]["SubnetId"]])
    assert subnet_ids(f("availability-zone", "us-east-1b"), f("default-for-az", "true")) == [defaults[1]["SubnetId"]]
    assert subnet_ids(f("default-for-az", "true")) == sorted(s["SubnetId"] for s in defaults)
    assert subnet_ids(f("default-for-az", "false")) == sorted([a1["SubnetId"], a2["SubnetId"]])
    assert subnet_ids(f("tag:Name", "alpha-1")) == [a1["SubnetId"]]
    assert subnet_ids(f("vpc-id", beta["VpcId"])) == []

    def group_names(*filters):
        return sorted((g["GroupName"], g["VpcId"]) for g in ec2.describe_security_groups(Filters=list(filters))["SecurityGroups"])

    ec2.create_security_group(GroupName="web", Description="web", VpcId=alpha["VpcId"])
    assert group_names(f("group-name", "default")) == sorted(
        ("default", v) for v in (dvpc["VpcId"], alpha["VpcId"], beta["VpcId"]))
    assert group_names(f("group-name", "w*")) == [("web", alpha["VpcId"])]
    assert group_names(f("vpc-id", alpha["VpcId"])) == sorted([("default", alpha["VpcId"]), ("web", alpha["VpcId"])])
    assert group_names(f("group-name", "default"), f("vpc-id", beta["VpcId"])) == [("default", beta["VpcId"])]

    msg = fails(ec2.describe_vpcs, "InvalidParameterValue", Filters=[f("bogus", "x")])
    assert msg == "The filter 'bogus' is invalid"
    fails(ec2.describe_subnets, "InvalidParameterValue", Filters=[f("group-name", "x")])

    # The AWS CLI's filter shorthand.
    out = cli(daxd, "describe-vpcs", "--filters", "Name=tag:Name,Values=alpha")["Vpcs"]
    assert [(v["VpcId"], v["IsDefault"]) for v in out] == [(alpha["VpcId"], False)]
    out = cli(daxd, "describe-subnets", "--filters", f"Name=vpc-id,Values={alpha['VpcId']}",
              "Name=availability-zone,Values=us-east-1c")["Subnets"]
    assert [s["SubnetId"] for s in out] == [a2["SubnetId"]]


def test_pagination(daxd):
    ec2 = daxd.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]
    for n in range(9):
        ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock=f"10.9.{n}.0/24")
    every = sorted(s["SubnetId"] for s in ec2.describe_subnets()["Subnets"])
    assert len(every) == 12

    pages = list(ec2.get_paginator("describe_subnets").paginate(PaginationConfig={"PageSize": 5}))
    assert [len(p["Subnets"]) for p in pages] == [5, 5, 2]
    assert [s["SubnetId"] for p in pages for s in p["Subnets"]] == every
    assert "NextToken" in pages[0] and "NextToken" not in pages[-1]

    # Filters apply before paging: the nine subnets of the VPC in two pages.
    pages = list(ec2.get_paginator("describe_subnets").paginate(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}], PaginationConfig={"PageSize": 5}))
    assert [len(p["Subnets"]) for p in pages] == [5, 4]

    first = ec2.describe_subnets(MaxResults=5)
    second = ec2.describe_subnets(MaxResults=5, NextToken=first["NextToken"])
    assert [s["SubnetId"] for s in first["Subnets"] + second["Subnets"]] == every[:10]

    for n in range(6):
        ec2.create_security_group(GroupName=f"g{n}", Description="d")
    groups = list(ec2.get_paginator("describe_security_groups").paginate(PaginationConfig={"PageSize": 5}))
    assert [len(p["SecurityGroups"]) for p in groups] == [5, 3]  # 6 + the two VPCs' default groups
    vpcs = list(ec2.get_paginator("describe_vpcs").paginate(PaginationConfig={"PageSize": 5}))
    assert [len(p["Vpcs"]) for p in vpcs] == [2]

    msg = fails(ec2.describe_subnets, "InvalidNextToken", MaxResults=5, NextToken="garbage")
    assert msg == "The token 'garbage' is invalid"
    fails(ec2.describe_vpcs, "InvalidParameterValue", MaxResults=1001)

    # The AWS CLI pages on its own and returns everything.
    out = cli(daxd, "describe-subnets", "--page-size", "5")["Subnets"]
    assert sorted(s["SubnetId"] for s in out) == every


# ----- VPCs and subnets -----


def test_vpc_and_subnet_lifecycle(daxd):
    ec2 = daxd.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]
    vid = vpc["VpcId"]
    assert (vpc["CidrBlock"], vpc["IsDefault"], vpc["State"], vpc["OwnerId"]) == ("10.0.0.0/16", False, "available", ACCOUNT)
    assert vpc["VpcId"] != default_vpc(ec2)["VpcId"] and vpc["CidrBlockAssociationSet"][0]["CidrBlock"] == "10.0.0.0/16"
    # Every VPC gets its own default group.
    vdefault = default_group(ec2, vid)
    assert vdefault["IpPermissions"][0]["UserIdGroupPairs"] == [{"GroupId": vdefault["GroupId"], "UserId": ACCOUNT}]

    assert fails(ec2.create_vpc, "InvalidVpc.Range", CidrBlock="10.0.0.0/8") == "The CIDR '10.0.0.0/8' is invalid."
    fails(ec2.create_vpc, "InvalidVpc.Range", CidrBlock="10.0.0.0/29")
    msg = fails(ec2.create_vpc, "InvalidParameterValue", CidrBlock="10.0.0.1/16")
    assert msg == "Value (10.0.0.1/16) for parameter cidrBlock is invalid. This is not a valid CIDR block."
    fails(ec2.create_vpc, "InvalidParameterValue", CidrBlock="not-a-cidr")
    fails(ec2.create_vpc, "MissingParameter")
    msg = fails(ec2.create_vpc, "InvalidParameterValue", CidrBlock="10.5.0.0/16", TagSpecifications=tag_spec("subnet", a="b"))
    assert msg == "'subnet' is not a valid taggable resource type for this operation."

    s1 = ec2.create_subnet(VpcId=vid, CidrBlock="10.0.1.0/24")["Subnet"]
    assert (s1["AvailabilityZone"], s1["AvailabilityZoneId"]) == ("us-east-1a", "use1-az1")
    assert (s1["VpcId"], s1["CidrBlock"], s1["AvailableIpAddressCount"], s1["DefaultForAz"]) == (vid, "10.0.1.0/24", 251, False)
    assert s1["SubnetArn"] == f"arn:aws:ec2:us-east-1:{ACCOUNT}:subnet/{s1['SubnetId']}"
    s2 = ec2.create_subnet(VpcId=vid, CidrBlock="10.0.2.0/28", AvailabilityZoneId="use1-az3")["Subnet"]
    assert (s2["AvailabilityZone"], s2["AvailableIpAddressCount"]) == ("us-east-1c", 11)

    assert fails(ec2.create_subnet, "InvalidSubnet.Range", VpcId=vid, CidrBlock="192.168.0.0/24") == \
        "The CIDR '192.168.0.0/24' is invalid."
    fails(ec2.create_subnet, "InvalidSubnet.Range", VpcId=vid, CidrBlock="10.0.3.0/29")
    msg = fails(ec2.create_subnet, "InvalidSubnet.Conflict", VpcId=vid, CidrBlock="10.0.1.128/25")
    assert msg == "The CIDR '10.0.1.128/25' conflicts with another subnet"
    fails(ec2.create_subnet, "InvalidParameterValue", VpcId=vid, CidrBlock="10.0.1.1/24")
    msg = fails(ec2.create_subnet, "InvalidParameterValue", VpcId=vid, CidrBlock="10.0.4.0/24", AvailabilityZone="us-west-2a")
    assert msg == ("Value (us-west-2a) for parameter availabilityZone is invalid. Subnets can currently only be "
                   "created in the following availability zones: us-east-1a, us-east-1b, us-east-1c.")
    fails(ec2.create_subnet, "InvalidParameterCombination", VpcId=vid, CidrBlock="10.0.4.0/24",
          AvailabilityZone="us-east-1a", AvailabilityZoneId="use1-az1")
    msg = fails(ec2.create_subnet, "InvalidVpcID.NotFound", VpcId="vpc-0123456789abcdef0", CidrBlock="10.0.4.0/24")
    assert msg == "The vpc ID 'vpc-0123456789abcdef0' does not exist"
    # A subnet of another VPC may reuse the block.
    other = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]
    ec2.create_subnet(VpcId=other["VpcId"], CidrBlock="10.0.1.0/24")

    sg = ec2.create_security_group(GroupName="app", Description="app", VpcId=vid)
    msg = fails(ec2.delete_vpc, "DependencyViolation", VpcId=vid)
    assert msg == f"The vpc '{vid}' has dependencies and cannot be deleted."
    ec2.delete_subnet(SubnetId=s1["SubnetId"])
    ec2.delete_subnet(SubnetId=s2["SubnetId"])
    fails(ec2.delete_vpc, "DependencyViolation", VpcId=vid)  # still the "app" group
    msg = fails(ec2.delete_subnet, "InvalidSubnetID.NotFound", SubnetId=s1["SubnetId"])
    assert msg == f"The subnet ID '{s1['SubnetId']}' does not exist"
    fails(ec2.describe_subnets, "InvalidSubnetID.NotFound", SubnetIds=[s1["SubnetId"]])
    ec2.delete_security_group(GroupId=sg["GroupId"])
    ec2.delete_vpc(VpcId=vid)
    fails(ec2.describe_vpcs, "InvalidVpcID.NotFound", VpcIds=[vid])
    fails(ec2.delete_vpc, "InvalidVpcID.NotFound", VpcId=vid)
    # Its default group went with it.
    assert ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vid]}])["SecurityGroups"] == []
    fails(ec2.describe_security_groups, "InvalidGroup.NotFound", GroupIds=[vdefault["GroupId"]])

    # The AWS CLI: create and delete a VPC and a subnet.
    v = cli(daxd, "create-vpc", "--cidr-block", "10.20.0.0/16",
            "--tag-specifications", "ResourceType=vpc,Tags=[{Key=Name,Value=cli}]")["Vpc"]
    assert v["Tags"] == [{"Key": "Name", "Value": "cli"}] and v["CidrBlock"] == "10.20.0.0/16"
    s = cli(daxd, "create-subnet", "--vpc-id", v["VpcId"], "--cidr-block", "10.20.0.0/20",
            "--availability-zone", "us-east-1b")["Subnet"]
    assert (s["AvailabilityZone"], s["AvailableIpAddressCount"]) == ("us-east-1b", 4091)
    assert "DependencyViolation" in cli_fails(daxd, "delete-vpc", "--vpc-id", v["VpcId"])
    assert cli(daxd, "delete-subnet", "--subnet-id", s["SubnetId"]) == {}
    assert cli(daxd, "delete-vpc", "--vpc-id", v["VpcId"]) == {}
    assert "InvalidVpcID.NotFound" in cli_fails(daxd, "describe-vpcs", "--vpc-ids", v["VpcId"])


def test_default_vpc_can_be_deleted(daxd):
    ec2 = daxd.client("ec2", region="ap-southeast-2")
    vpc = default_vpc(ec2)
    for s in default_subnets(ec2):
        ec2.delete_subnet(SubnetId=s["SubnetId"])
    ec2.delete_vpc(VpcId=vpc["VpcId"])
    assert ec2.describe_vpcs()["Vpcs"] == [] and ec2.describe_security_groups()["SecurityGroups"] == []
    # Without a default VPC a group needs a VpcId.
    assert fails(ec2.create_security_group, "VPCIdNotSpecified", GroupName="g", Description="d") == \
        "No default VPC for this user"


# ----- security groups and ingress rules -----


def test_security_groups_and_ingress_rules(daxd):
    ec2 = daxd.client("ec2")
    dvpc = default_vpc(ec2)["VpcId"]
    dsg = default_group(ec2, dvpc)

    created = ec2.create_security_group(GroupName="dax-nodes", Description="DAX nodes",
                                        TagSpecifications=tag_spec("security-group", Name="nodes"))
    gid = created["GroupId"]
    assert gid.startswith("sg-") and created["Tags"] == [{"Key": "Name", "Value": "nodes"}]
    assert created["SecurityGroupArn"] == f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/{gid}"
    (g,) = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"]
    assert (g["GroupName"], g["Description"], g["VpcId"]) == ("dax-nodes", "DAX nodes", dvpc)
    assert g["IpPermissions"] == [] and g["Tags"] == [{"Key": "Name", "Value": "nodes"}]
    assert g["IpPermissionsEgress"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]

    msg = fails(ec2.create_security_group, "InvalidGroup.Duplicate", GroupName="dax-nodes", Description="again")
    assert msg == f"The security group 'dax-nodes' already exists for VPC '{dvpc}'"
    fails(ec2.create_security_group, "InvalidParameterValue", GroupName="sg-lookalike", Description="d")
    fails(ec2.create_security_group, "InvalidVpcID.NotFound", GroupName="x", Description="d", VpcId="vpc-00000000000000000")
    assert fails(ec2.describe_security_groups, "InvalidGroupId.Malformed", GroupIds=["nope"]) == \
        'Invalid id: "nope" (expecting "sg-...")'
    assert fails(ec2.describe_security_groups, "InvalidGroup.NotFound", GroupIds=["sg-00000000000000000"]) == \
        "The security group 'sg-00000000000000000' does not exist"
    assert [x["GroupId"] for x in ec2.describe_security_groups(GroupNames=["dax-nodes"])["SecurityGroups"]] == [gid]

    # Authorize with IpPermissions: one CIDR with a description and the VPC's default group.
    out = ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 8111, "ToPort": 8111,
        "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "clients"}],
        "UserIdGroupPairs": [{"GroupId": dsg["GroupId"]}],
    }])
    assert out["Return"] is True
    cidr_rule, group_rule = out["SecurityGroupRules"]
    for r in (cidr_rule, group_rule):
        assert r["SecurityGroupRuleId"].startswith("sgr-") and r["GroupId"] == gid and r["GroupOwnerId"] == ACCOUNT
        assert (r["IsEgress"], r["IpProtocol"], r["FromPort"], r["ToPort"]) == (False, "tcp", 8111, 8111)
        assert r["SecurityGroupRuleArn"] == f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group-rule/{r['SecurityGroupRuleId']}"
    assert (cidr_rule["CidrIpv4"], cidr_rule["Description"]) == ("10.0.0.0/8", "clients")
    assert group_rule["ReferencedGroupInfo"] == {"GroupId": dsg["GroupId"], "UserId": ACCOUNT}

    msg = fails(ec2.authorize_security_group_ingress, "InvalidPermission.Duplicate", GroupId=gid, IpPermissions=[
        {"IpProtocol": "6", "FromPort": 8111, "ToPort": 8111, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    assert msg == 'the specified rule "peer: 10.0.0.0/8, TCP, from port: 8111, to port: 8111, ALLOW" already exists'

    # The legacy flat form, by group name.
    out = ec2.authorize_security_group_ingress(GroupName="dax-nodes", IpProtocol="tcp", FromPort=9111, ToPort=9111,
                                               CidrIp="192.168.0.0/16")
    ((legacy,),) = [out["SecurityGroupRules"]]
    assert (legacy["IpProtocol"], legacy["FromPort"], legacy["CidrIpv4"]) == ("tcp", 9111, "192.168.0.0/16")
    # A source group alone grants all ICMP, TCP and UDP from it.
    other = ec2.create_security_group(GroupName="peers", Description="d")["GroupId"]
    out = ec2.authorize_security_group_ingress(GroupId=other, SourceSecurityGroupName="dax-nodes")
    assert sorted((r["IpProtocol"], r["FromPort"], r["ToPort"], r["ReferencedGroupInfo"]["GroupId"])
                  for r in out["SecurityGroupRules"]) == [
        ("icmp", -1, -1, gid), ("tcp", 0, 65535, gid), ("udp", 0, 65535, gid)]

    (g,) = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"]
    assert g["IpPermissions"] == [
        {"IpProtocol": "tcp", "FromPort": 8111, "ToPort": 8111, "PrefixListIds": [], "Ipv6Ranges": [],
         "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "clients"}],
         "UserIdGroupPairs": [{"GroupId": dsg["GroupId"], "UserId": ACCOUNT}]},
        {"IpProtocol": "tcp", "FromPort": 9111, "ToPort": 9111, "PrefixListIds": [], "Ipv6Ranges": [],
         "IpRanges": [{"CidrIp": "192.168.0.0/16"}], "UserIdGroupPairs": []},
    ]
    hits = ec2.describe_security_groups(Filters=[{"Name": "ip-permission.from-port", "Values": ["9111"]}])["SecurityGroups"]
    assert [x["GroupId"] for x in hits] == [gid]

    fails(ec2.authorize_security_group_ingress, "InvalidParameterValue", GroupId=gid,
          IpPermissions=[{"IpProtocol": "bogus", "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    fails(ec2.authorize_security_group_ingress, "InvalidParameterValue", GroupId=gid,
          IpPermissions=[{"IpProtocol": "tcp", "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    fails(ec2.authorize_security_group_ingress, "InvalidParameterValue", GroupId=gid,
          IpPermissions=[{"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "IpRanges": [{"CidrIp": "300.0.0.0/8"}]}])
    fails(ec2.authorize_security_group_ingress, "MissingParameter", GroupId=gid)
    fails(ec2.authorize_security_group_ingress, "InvalidGroup.NotFound", GroupId="sg-00000000000000000",
          IpProtocol="tcp", FromPort=1, ToPort=1, CidrIp="1.2.3.4/32")

    # Revoke by permission: one known, one unknown.
    out = ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 9111, "ToPort": 9111, "IpRanges": [{"CidrIp": "192.168.0.0/16"}]},
        {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "IpRanges": [{"CidrIp": "8.8.8.8/32"}]},
    ])
    assert out["Return"] is True
    (revoked,) = out["RevokedSecurityGroupRules"]
    assert revoked["SecurityGroupRuleId"] == legacy["SecurityGroupRuleId"]
    assert (revoked["GroupId"], revoked["IsEgress"], revoked["CidrIpv4"], revoked["FromPort"]) == (gid, False, "192.168.0.0/16", 9111)
    assert [(p["IpProtocol"], p["FromPort"], p["IpRanges"]) for p in out["UnknownIpPermissions"]] == [
        ("udp", 53, [{"CidrIp": "8.8.8.8/32"}])]
    msg = fails(ec2.revoke_security_group_ingress, "InvalidPermission.NotFound", GroupId=gid,
                IpProtocol="tcp", FromPort=9111, ToPort=9111, CidrIp="192.168.0.0/16")
    assert msg == "The specified rule does not exist in this security group."

    # Revoke by rule id.
    out = ec2.revoke_security_group_ingress(GroupId=gid, SecurityGroupRuleIds=[group_rule["SecurityGroupRuleId"]])
    assert [r["ReferencedGroupId"] for r in out["RevokedSecurityGroupRules"]] == [dsg["GroupId"]]
    msg = fails(ec2.revoke_security_group_ingress, "InvalidSecurityGroupRuleId.NotFound", GroupId=gid,
                SecurityGroupRuleIds=[group_rule["SecurityGroupRuleId"]])
    assert msg == f"The security group rule ID '{group_rule['SecurityGroupRuleId']}' does not exist"
    (g,) = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"]
    assert [(p["FromPort"], p["IpRanges"], p["UserIdGroupPairs"]) for p in g["IpPermissions"]] == [
        (8111, [{"CidrIp": "10.0.0.0/8", "Description": "clients"}], [])]

    # The AWS CLI's --protocol/--port/--cidr shorthand, and describe by id.
    out = cli(daxd, "authorize-security-group-ingress", "--group-id", gid, "--protocol", "tcp", "--port", "22",
              "--cidr", "1.2.3.4/32")
    assert out["Return"] is True and [(r["FromPort"], r["CidrIpv4"]) for r in out["SecurityGroupRules"]] == [(22, "1.2.3.4/32")]
    assert "InvalidPermission.Duplicate" in cli_fails(daxd, "authorize-security-group-ingress", "--group-id", gid,
                                                      "--protocol", "tcp", "--port", "22", "--cidr", "1.2.3.4/32")
    (g,) = cli(daxd, "describe-security-groups", "--group-ids", gid)["SecurityGroups"]
    assert [p["FromPort"] for p in g["IpPermissions"]] == [8111, 22]
    assert cli(daxd, "revoke-security-group-ingress", "--group-id", gid, "--protocol", "tcp", "--port", "22",
               "--cidr", "1.2.3.4/32")["Return"] is True

    # Deleting: the default group never; a group another group's rule refers to, not yet.
    msg = fails(ec2.delete_security_group, "CannotDelete", GroupId=dsg["GroupId"])
    assert msg == f'the specified group: "{dsg["GroupId"]}" name: "default" cannot be deleted by a user'
    msg = fails(ec2.delete_security_group, "DependencyViolation", GroupId=gid)
    assert msg == f"resource {gid} has a dependent object"
    out = ec2.delete_security_group(GroupName="peers")
    assert (out["Return"], out["GroupId"]) == (True, other)
    assert ec2.delete_security_group(GroupId=gid)["GroupId"] == gid
    fails(ec2.delete_security_group, "InvalidGroup.NotFound", GroupId=gid)
    msg = fails(ec2.delete_security_group, "InvalidGroup.NotFound", GroupName="dax-nodes")
    assert msg == f"The security group 'dax-nodes' does not exist in default VPC '{dvpc}'"


# ----- network interfaces -----


def test_network_interfaces(daxd):
    ec2 = daxd.client("ec2")
    dvpc = default_vpc(ec2)["VpcId"]
    dsg = default_group(ec2, dvpc)["GroupId"]
    sub_a = default_subnets(ec2)[0]

    eni = ec2.create_network_interface(SubnetId=sub_a["SubnetId"], Description="DAX node a",
                                       TagSpecifications=tag_spec("network-interface", Name="node-a"))["NetworkInterface"]
    eid = eni["NetworkInterfaceId"]
    assert eid.startswith("eni-") and len(eid) == 21
    assert (eni["SubnetId"], eni["VpcId"], eni["AvailabilityZone"], eni["AvailabilityZoneId"]) == (
        sub_a["SubnetId"], dvpc, "us-east-1a", "use1-az1")
    assert eni["Groups"] == [{"GroupId": dsg, "GroupName": "default"}]
    assert (eni["Status"], eni["RequesterManaged"], eni["SourceDestCheck"], eni["InterfaceType"]) == (
        "available", False, True, "interface")
    assert "RequesterId" not in eni
    assert (eni["PrivateIpAddress"], eni["PrivateDnsName"]) == ("172.31.0.4", "ip-172-31-0-4.ec2.internal")
    assert eni["PrivateIpAddresses"] == [{"Primary": True, "PrivateIpAddress": "172.31.0.4",
                                          "PrivateDnsName": "ip-172-31-0-4.ec2.internal"}]
    assert eni["Description"] == "DAX node a" and eni["OwnerId"] == ACCOUNT
    assert eni["TagSet"] == [{"Key": "Name", "Value": "node-a"}]
    assert len(eni["MacAddress"].split(":")) == 6
    (sub,) = ec2.describe_subnets(SubnetIds=[sub_a["SubnetId"]])["Subnets"]
    assert sub["AvailableIpAddressCount"] == 4090

    sg = ec2.create_security_group(GroupName="nodes", Description="d")["GroupId"]
    second = ec2.create_network_interface(SubnetId=sub_a["SubnetId"], Groups=[sg], PrivateIpAddress="172.31.5.6",
                                          ClientToken="tok-1")
    e2 = second["NetworkInterface"]
    assert second["ClientToken"] == "tok-1"
    assert e2["Groups"] == [{"GroupId": sg, "GroupName": "nodes"}] and e2["PrivateIpAddress"] == "172.31.5.6"
    # The same client token returns the same interface.
    again = ec2.create_network_interface(SubnetId=sub_a["SubnetId"], Groups=[sg], PrivateIpAddress="172.31.5.6",
                                         ClientToken="tok-1")["NetworkInterface"]
    assert again["NetworkInterfaceId"] == e2["NetworkInterfaceId"]
    fails(ec2.create_network_interface, "IdempotentParameterMismatch", SubnetId=default_subnets(ec2)[1]["SubnetId"],
          ClientToken="tok-1")

    assert fails(ec2.create_network_interface, "InvalidIPAddress.InUse", SubnetId=sub_a["SubnetId"],
                 PrivateIpAddress="172.31.0.4") == "Address 172.31.0.4 is in use."
    fails(ec2.create_network_interface, "InvalidParameterValue", SubnetId=sub_a["SubnetId"], PrivateIpAddress="10.0.0.5")
    fails(ec2.create_network_interface, "InvalidParameterValue", SubnetId=sub_a["SubnetId"], PrivateIpAddress="172.31.0.1")
    msg = fails(ec2.create_network_interface, "InvalidSubnetID.NotFound", SubnetId="subnet-00000000000000000")
    assert msg == "The subnet ID 'subnet-00000000000000000' does not exist"
    fails(ec2.create_network_interface, "InvalidGroup.NotFound", SubnetId=sub_a["SubnetId"], Groups=["sg-00000000000000000"])
    fails(ec2.create_network_interface, "InvalidGroupId.Malformed", SubnetId=sub_a["SubnetId"], Groups=["web"])
    other_vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    foreign = ec2.create_security_group(GroupName="foreign", Description="d", VpcId=other_vpc)["GroupId"]
    msg = fails(ec2.create_network_interface, "InvalidParameterValue", SubnetId=sub_a["SubnetId"], Groups=[foreign])
    assert msg == f"Security group {foreign} and subnet {sub_a['SubnetId']} belong to different networks."

    def eni_ids(*filters):
        return sorted(e["NetworkInterfaceId"] for e in ec2.describe_network_interfaces(Filters=list(filters))["NetworkInterfaces"])

    both = sorted([eid, e2["NetworkInterfaceId"]])
    assert eni_ids() == both
    assert eni_ids({"Name": "subnet-id", "Values": [sub_a["SubnetId"]]}) == both
    assert eni_ids({"Name": "group-id", "Values": [sg]}) == [e2["NetworkInterfaceId"]]
    assert eni_ids({"Name": "group-name", "Values": ["default"]}) == [eid]
    assert eni_ids({"Name": "description", "Values": ["DAX node *"]}) == [eid]
    assert eni_ids({"Name": "tag:Name", "Values": ["node-a"]}) == [eid]
    assert eni_ids({"Name": "requester-managed", "Values": ["false"]}) == both
    assert eni_ids({"Name": "status", "Values": ["in-use"]}) == []
    assert eni_ids({"Name": "private-ip-address", "Values": ["172.31.5.6"]}) == [e2["NetworkInterfaceId"]]
    (got,) = ec2.describe_network_interfaces(NetworkInterfaceIds=[eid])["NetworkInterfaces"]
    assert got == eni
    assert fails(ec2.describe_network_interfaces, "InvalidNetworkInterfaceId.Malformed", NetworkInterfaceIds=["bad"]) == \
        'Invalid id: "bad" (expecting "eni-...")'
    msg = fails(ec2.describe_network_interfaces, "InvalidNetworkInterfaceID.NotFound",
                NetworkInterfaceIds=["eni-00000000000000000"])
    assert msg == "The networkInterface ID 'eni-00000000000000000' does not exist"

    # Modify: groups, description, source/dest check, one at a time.
    assert "ResponseMetadata" in ec2.modify_network_interface_attribute(NetworkInterfaceId=eid, Groups=[sg, dsg])
    ec2.modify_network_interface_attribute(NetworkInterfaceId=eid, Description={"Value": "renamed"})
    ec2.modify_network_interface_attribute(NetworkInterfaceId=eid, SourceDestCheck={"Value": False})
    (got,) = ec2.describe_network_interfaces(NetworkInterfaceIds=[eid])["NetworkInterfaces"]
    assert got["Groups"] == [{"GroupId": sg, "GroupName": "nodes"}, {"GroupId": dsg, "GroupName": "default"}]
    assert (got["Description"], got["SourceDestCheck"]) == ("renamed", False)
    msg = fails(ec2.modify_network_interface_attribute, "InvalidParameterCombination", NetworkInterfaceId=eid,
                Description={"Value": "x"}, SourceDestCheck={"Value": True})
    assert msg == "Fields for multiple attribute types specified: description, sourceDestCheck"
    fails(ec2.modify_network_interface_attribute, "InvalidParameterCombination", NetworkInterfaceId=eid)
    fails(ec2.modify_network_interface_attribute, "InvalidParameterValue", NetworkInterfaceId=eid, Groups=[foreign])
    fails(ec2.modify_network_interface_attribute, "InvalidNetworkInterfaceID.NotFound",
          NetworkInterfaceId="eni-00000000000000000", Description={"Value": "x"})
    fails(ec2.modify_network_interface_attribute, "InvalidNetworkInterfaceId.Malformed",
          NetworkInterfaceId="nope", Description={"Value": "x"})

    # What an interface holds cannot go: its subnet, its groups.
    msg = fails(ec2.delete_subnet, "DependencyViolation", SubnetId=sub_a["SubnetId"])
    assert msg == f"The subnet '{sub_a['SubnetId']}' has dependencies and cannot be deleted."
    assert fails(ec2.delete_security_group, "DependencyViolation", GroupId=sg) == f"resource {sg} has a dependent object"

    ec2.delete_network_interface(NetworkInterfaceId=eid)
    ec2.delete_network_interface(NetworkInterfaceId=e2["NetworkInterfaceId"])
    fails(ec2.delete_network_interface, "InvalidNetworkInterfaceID.NotFound", NetworkInterfaceId=eid)
    fails(ec2.delete_network_interface, "InvalidNetworkInterfaceId.Malformed", NetworkInterfaceId="eni-xyz")
    assert ec2.describe_network_interfaces()["NetworkInterfaces"] == []
    (sub,) = ec2.describe_subnets(SubnetIds=[sub_a["SubnetId"]])["Subnets"]
    assert sub["AvailableIpAddressCount"] == 4091
    ec2.delete_security_group(GroupId=sg)

    # The AWS CLI, end to end.
    sub_b = default_subnets(ec2)[1]["SubnetId"]
    e = cli(daxd, "create-network-interface", "--subnet-id", sub_b, "--description", "from cli",
            "--groups", dsg)["NetworkInterface"]
    assert (e["SubnetId"], e["AvailabilityZone"], e["PrivateIpAddress"], e["Status"]) == (
        sub_b, "us-east-1b", "172.31.16.4", "available")
    assert cli(daxd, "modify-network-interface-attribute", "--network-interface-id", e["NetworkInterfaceId"],
               "--no-source-dest-check") == {}
    (d,) = cli(daxd, "describe-network-interfaces", "--filters", "Name=description,Values=from*")["NetworkInterfaces"]
    assert d["NetworkInterfaceId"] == e["NetworkInterfaceId"] and d["SourceDestCheck"] is False
    assert cli(daxd, "delete-network-interface", "--network-interface-id", e["NetworkInterfaceId"]) == {}
    assert "InvalidNetworkInterfaceID.NotFound" in cli_fails(
        daxd, "delete-network-interface", "--network-interface-id", e["NetworkInterfaceId"])


# ----- DryRun and authorization -----


def test_dry_run(daxd):
    ec2 = daxd.client("ec2")
    subnet = default_subnets(ec2)[0]["SubnetId"]
    dsg = default_group(ec2, default_vpc(ec2)["VpcId"])["GroupId"]
    calls = [
        (ec2.describe_vpcs, {}),
        (ec2.describe_availability_zones, {}),
        (ec2.create_vpc, {"CidrBlock": "10.0.0.0/16"}),
        (ec2.delete_subnet, {"SubnetId": subnet}),
        (ec2.create_security_group, {"GroupName": "dry", "Description": "d"}),
        (ec2.authorize_security_group_ingress, {"GroupId": dsg, "IpProtocol": "tcp", "FromPort": 1, "ToPort": 1,
                                                "CidrIp": "1.1.1.1/32"}),
        (ec2.create_network_interface, {"SubnetId": subnet}),
    ]
    for call, kwargs in calls:
        assert fails(call, "DryRunOperation", 412, DryRun=True, **kwargs) == DRY_RUN_MESSAGE
    # Nothing happened.
    assert len(ec2.describe_vpcs()["Vpcs"]) == 1 and len(ec2.describe_subnets()["Subnets"]) == 3
    assert [g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]] == ["default"]
    assert ec2.describe_network_interfaces()["NetworkInterfaces"] == []
    # DryRun=False is an ordinary call.
    assert len(ec2.describe_vpcs(DryRun=False)["Vpcs"]) == 1

    stderr = cli_fails(daxd, "create-vpc", "--cidr-block", "10.0.0.0/16", "--dry-run")
    assert "DryRunOperation" in stderr and DRY_RUN_MESSAGE in stderr


def test_unauthorized_user(daxd, iam, user_key):
    name, key = user_key
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"
    root = daxd.client("ec2")
    alice = daxd.client("ec2", key=key)

    msg = fails(alice.describe_vpcs, "UnauthorizedOperation", 403)
    assert user_arn in msg and "ec2:DescribeVpcs" in msg
    fails(alice.create_vpc, "UnauthorizedOperation", 403, CidrBlock="10.0.0.0/16")
    # Authorization comes before DryRun: a dry run without permission is denied.
    fails(alice.describe_subnets, "UnauthorizedOperation", 403, DryRun=True)
    assert "UnauthorizedOperation" in cli_fails(daxd, "describe-security-groups", key=key)

    keep = root.create_security_group(GroupName="keep", Description="d")["GroupId"]
    drop = root.create_security_group(GroupName="drop", Description="d")["GroupId"]
    iam.put_user_policy(UserName=name, PolicyName="ec2", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
            {"Effect": "Allow", "Action": "ec2:DeleteSecurityGroup",
             "Resource": f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/{drop}"},
            {"Effect": "Allow", "Action": "ec2:CreateVpc", "Resource": "*",
             "Condition": {"StringEquals": {"aws:RequestTag/team": "dax"}}},
        ],
    }))
    assert len(alice.describe_vpcs()["Vpcs"]) == 1
    assert len(alice.describe_security_groups()["SecurityGroups"]) == 3
    assert cli(daxd, "describe-vpcs", key=key)["Vpcs"][0]["IsDefault"] is True
    # A delete is authorized on the group's ARN.
    msg = fails(alice.delete_security_group, "UnauthorizedOperation", 403, GroupId=keep)
    assert f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/{keep}" in msg
    assert alice.delete_security_group(GroupId=drop)["GroupId"] == drop
    # A create is conditioned on the tags it asks for.
    fails(alice.create_vpc, "UnauthorizedOperation", 403, CidrBlock="10.0.0.0/16")
    fails(alice.create_vpc, "UnauthorizedOperation", 403, CidrBlock="10.0.0.0/16",
          TagSpecifications=tag_spec("vpc", team="other"))
    vpc = alice.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=tag_spec("vpc", team="dax"))["Vpc"]
    assert vpc["Tags"] == [{"Key": "team", "Value": "dax"}]
    # Other actions stay denied, and an allowed DryRun says it would succeed.
    fails(alice.create_subnet, "UnauthorizedOperation", 403, VpcId=vpc["VpcId"], CidrBlock="10.0.0.0/24")
    fails(alice.describe_subnets, "DryRunOperation", 412, DryRun=True)

    # Wrong credentials are EC2's AuthFailure.
    fails(daxd.client("ec2", key=("AKIAUNKNOWN000000000", "secret")).describe_vpcs, "AuthFailure", 401)


# ----- durability -----


def snapshot(ec2):
    return {
        "vpcs": ec2.describe_vpcs()["Vpcs"],
        "subnets": ec2.describe_subnets()["Subnets"],
        "groups": ec2.describe_security_groups()["SecurityGroups"],
        "enis": ec2.describe_network_interfaces()["NetworkInterfaces"],
    }


def test_state_survives_restart(daxd):
    ec2 = daxd.client("ec2")
    west = daxd.client("ec2", region="eu-west-1")
    vpc = ec2.create_vpc(CidrBlock="10.3.0.0/16", TagSpecifications=tag_spec("vpc", Name="kept"))["Vpc"]
    subnet = ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock="10.3.1.0/24", AvailabilityZone="us-east-1c")["Subnet"]
    sg = ec2.create_security_group(GroupName="kept", Description="kept", VpcId=vpc["VpcId"])["GroupId"]
    rule = ec2.authorize_security_group_ingress(GroupId=sg, IpProtocol="tcp", FromPort=8111, ToPort=8111,
                                                CidrIp="10.3.0.0/16")["SecurityGroupRules"][0]
    eni = ec2.create_network_interface(SubnetId=subnet["SubnetId"], Groups=[sg], Description="kept",
                                       TagSpecifications=tag_spec("network-interface", Name="kept"))["NetworkInterface"]
    ec2.modify_network_interface_attribute(NetworkInterfaceId=eni["NetworkInterfaceId"], SourceDestCheck={"Value": False})
    west_sg = west.create_security_group(GroupName="west", Description="d")["GroupId"]
    before, west_before = snapshot(ec2), snapshot(west)
    assert len(before["vpcs"]) == 2 and len(before["enis"]) == 1

    daxd.restart()
    ec2, west = daxd.client("ec2"), daxd.client("ec2", region="eu-west-1")
    assert snapshot(ec2) == before and snapshot(west) == west_before
    (got,) = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni["NetworkInterfaceId"]])["NetworkInterfaces"]
    assert (got["SourceDestCheck"], got["TagSet"], got["Groups"][0]["GroupId"]) == (False, [{"Key": "Name", "Value": "kept"}], sg)
    (s,) = ec2.describe_subnets(SubnetIds=[subnet["SubnetId"]])["Subnets"]
    assert s["AvailableIpAddressCount"] == 250
    # Rules keep their ids; names stay taken.
    ec2.revoke_security_group_ingress(GroupId=sg, SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])
    fails(west.create_security_group, "InvalidGroup.Duplicate", GroupName="west", Description="d")
    assert [g["GroupId"] for g in west.describe_security_groups(GroupNames=["west"])["SecurityGroups"]] == [west_sg]

    # Acknowledged means durable, even through SIGKILL.
    ec2.delete_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"])
    extra = ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock="10.3.2.0/24")["Subnet"]["SubnetId"]
    daxd.kill9()
    daxd.start()
    ec2 = daxd.client("ec2")
    assert ec2.describe_network_interfaces()["NetworkInterfaces"] == []
    assert sorted(s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]) == sorted([subnet["SubnetId"], extra])
    (g,) = ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"]
    assert g["IpPermissions"] == []
    assert cli(daxd, "describe-vpcs", "--vpc-ids", vpc["VpcId"])["Vpcs"][0]["Tags"] == [{"Key": "Name", "Value": "kept"}]


def test_default_ids_are_stable_across_data_dirs(daxd):
    """A region's defaults are a function of (account, region): a second
    daxd with its own data dir shows the same ids."""
    from daxd import Daxd

    first = snapshot(daxd.client("ec2", region="us-west-2"))
    other = Daxd().start()
    try:
        assert snapshot(other.client("ec2", region="us-west-2")) == first
    finally:
        other.close()

"""DAX control-plane calls that had no end-to-end test with a real
client: UpdateCluster, DescribeSubnetGroups, UpdateSubnetGroup, DescribeParameterGroups,
DescribeEvents with its filters, RebootNode with what it must show, and removing a chosen
middle node. boto3 against the real daxd binary; shapes and codes from botocore's dax
model, behaviour from the DAX API reference."""
import datetime as dt
import json

import pytest
from botocore.exceptions import ClientError

from daxd import Daxd, wait_for

ACCOUNT = "123456789012"
DAX_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "dax.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/DAXMore"


def err(exc_info):
    e = exc_info.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"], e["Error"].get("Message", "")


def cluster(dax, name):
    return dax.describe_clusters(ClusterNames=[name])["Clusters"][0]


def wait_available(dax, name, nodes=None):
    def ready():
        c = cluster(dax, name)
        ok = c["Status"] == "available" and all(n["NodeStatus"] == "available" for n in c.get("Nodes", []))
        return c if ok and (nodes is None or c["TotalNodes"] == nodes) else None
    return wait_for(ready, 20)


@pytest.fixture(scope="module")
def env():
    server = Daxd(args=["--provisioning-delay-ms", "200", "--dax-ports", "27000-27039"]).start()
    iam, dax = server.client("iam"), server.client("dax")
    iam.create_role(RoleName="DAXMore", AssumeRolePolicyDocument=DAX_TRUST)
    yield server, dax
    server.close()


def test_update_cluster(env):
    server, dax = env
    dax.create_parameter_group(ParameterGroupName="short", Description="short TTLs")
    dax.create_cluster(ClusterName="upd", NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=ROLE_ARN,
                       Description="before")
    wait_available(dax, "upd")
    sg = server.client("ec2").create_security_group(GroupName="dax-more", Description="for DAX")["GroupId"]
    out = dax.update_cluster(ClusterName="upd", Description="after", PreferredMaintenanceWindow="sun:05:00-sun:06:00",
                             ParameterGroupName="short", SecurityGroupIds=[sg])["Cluster"]
    assert out["ClusterName"] == "upd" and out["Description"] == "after"
    c = wait_available(dax, "upd")
    assert c["Description"] == "after"
    assert c["PreferredMaintenanceWindow"] == "sun:05:00-sun:06:00"
    assert c["ParameterGroup"]["ParameterGroupName"] == "short"
    assert [g["SecurityGroupIdentifier"] for g in c["SecurityGroups"]] == [sg]
    with pytest.raises(ClientError) as e:
        dax.update_cluster(ClusterName="nope", Description="x")
    assert err(e)[:2] == ("ClusterNotFoundFault", 400)
    with pytest.raises(ClientError) as e:
        dax.update_cluster(ClusterName="upd", ParameterGroupName="no-such-group")
    assert err(e)[:2] == ("ParameterGroupNotFoundFault", 400)
    # A refused update changed nothing.
    assert cluster(dax, "upd")["ParameterGroup"]["ParameterGroupName"] == "short"


def test_subnet_groups(env):
    server, dax = env
    ec2 = server.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
    assert len(subnets) >= 2
    made = dax.create_subnet_group(SubnetGroupName="sg-one", Description="one", SubnetIds=subnets[:1])["SubnetGroup"]
    assert [s["SubnetIdentifier"] for s in made["Subnets"]] == subnets[:1]
    groups = {g["SubnetGroupName"]: g for g in dax.describe_subnet_groups()["SubnetGroups"]}
    assert {"default", "sg-one"} <= set(groups)
    assert groups["sg-one"]["VpcId"] == vpc and groups["sg-one"]["Description"] == "one"
    assert dax.describe_subnet_groups(SubnetGroupNames=["sg-one"])["SubnetGroups"][0]["SubnetGroupName"] == "sg-one"
    page = dax.describe_subnet_groups(MaxResults=20)
    assert len(page["SubnetGroups"]) >= 2
    with pytest.raises(ClientError) as e:
        dax.describe_subnet_groups(SubnetGroupNames=["no-such"])
    assert err(e)[:2] == ("SubnetGroupNotFoundFault", 400)
    upd = dax.update_subnet_group(SubnetGroupName="sg-one", Description="two", SubnetIds=subnets[:2])["SubnetGroup"]
    assert upd["Description"] == "two"
    assert sorted(s["SubnetIdentifier"] for s in upd["Subnets"]) == sorted(subnets[:2])
    got = dax.describe_subnet_groups(SubnetGroupNames=["sg-one"])["SubnetGroups"][0]
    assert sorted(s["SubnetIdentifier"] for s in got["Subnets"]) == sorted(subnets[:2])
    azs = {s["SubnetAvailabilityZone"] for s in got["Subnets"]}
    assert len(azs) == 2
    with pytest.raises(ClientError) as e:
        dax.update_subnet_group(SubnetGroupName="default", Description="mine")
    assert err(e) == ("InvalidParameterValueException", 400, "default is reserved and cannot be modified.")
    dax.delete_subnet_group(SubnetGroupName="sg-one")
    assert "sg-one" not in {g["SubnetGroupName"] for g in dax.describe_subnet_groups()["SubnetGroups"]}


def test_parameter_groups(env):
    _, dax = env
    dax.create_parameter_group(ParameterGroupName="pg-a", Description="a")
    dax.create_parameter_group(ParameterGroupName="pg-b", Description="b")
    names = [g["ParameterGroupName"] for g in dax.describe_parameter_groups()["ParameterGroups"]]
    assert "default.dax1.0" in names and {"pg-a", "pg-b"} <= set(names)
    got = dax.describe_parameter_groups(ParameterGroupNames=["pg-b"])["ParameterGroups"]
    assert got == [{"ParameterGroupName": "pg-b", "Description": "b"}]
    # Paging walks every group once.
    seen, token = [], None
    while True:
        kw = {"MaxResults": 20, **({"NextToken": token} if token else {})}
        page = dax.describe_parameter_groups(**kw)
        seen += [g["ParameterGroupName"] for g in page["ParameterGroups"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(names) and len(seen) == len(set(seen))
    with pytest.raises(ClientError) as e:
        dax.describe_parameter_groups(ParameterGroupNames=["pg-none"])
    assert err(e)[:2] == ("ParameterGroupNotFoundFault", 400)


def test_events_filters(env):
    _, dax = env
    dax.create_parameter_group(ParameterGroupName="ev-pg", Description="events")
    dax.create_cluster(ClusterName="ev", NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=ROLE_ARN)
    wait_available(dax, "ev")
    everything = dax.describe_events()["Events"]
    assert everything and all({"SourceName", "SourceType", "Message", "Date"} <= set(e) for e in everything)
    mine = dax.describe_events(SourceName="ev")["Events"]
    assert mine and all(e["SourceName"] == "ev" for e in mine)
    clusters = dax.describe_events(SourceType="CLUSTER")["Events"]
    assert clusters and all(e["SourceType"] == "CLUSTER" for e in clusters)
    groups = dax.describe_events(SourceType="PARAMETER_GROUP")["Events"]
    assert all(e["SourceType"] == "PARAMETER_GROUP" for e in groups)
    # A time window in the future holds nothing; the last hour holds them all.
    now = dt.datetime.now(dt.timezone.utc)
    assert dax.describe_events(StartTime=now + dt.timedelta(hours=1))["Events"] == []
    recent = dax.describe_events(Duration=60)["Events"]
    assert {(e["SourceName"], e["Message"]) for e in mine} <= {(e["SourceName"], e["Message"]) for e in recent}
    before = dax.describe_events(EndTime=now - dt.timedelta(days=1))["Events"]
    assert before == []
    page = dax.describe_events(MaxResults=20)
    assert len(page["Events"]) <= 20


def test_reboot_and_removing_a_middle_node(env):
    server, dax = env
    dax.create_cluster(ClusterName="mid", NodeType="dax.t3.small", ReplicationFactor=3, IamRoleArn=ROLE_ARN)
    c = wait_available(dax, "mid", nodes=3)
    ids = sorted(n["NodeId"] for n in c["Nodes"])
    assert ids == ["mid-a", "mid-b", "mid-c"]
    # RebootNode: the node reboots, then is available again, and an event says so.
    out = dax.reboot_node(ClusterName="mid", NodeId="mid-b")["Cluster"]
    assert {n["NodeId"]: n["NodeStatus"] for n in out["Nodes"]}["mid-b"] == "rebooting"
    c = wait_available(dax, "mid", nodes=3)
    assert {n["NodeId"]: n["NodeStatus"] for n in c["Nodes"]}["mid-b"] == "available"
    assert any(e["Message"].startswith("Rebooted node mid-b") or "mid-b" in e["Message"]
               for e in dax.describe_events(SourceName="mid")["Events"])
    with pytest.raises(ClientError) as e:
        dax.reboot_node(ClusterName="mid", NodeId="mid-z")
    assert err(e)[:2] == ("NodeNotFoundFault", 400)
    # Remove the middle node by name: the others stay, with their endpoints and interfaces.
    ports = {n["NodeId"]: n["Endpoint"]["Port"] for n in c["Nodes"]}
    dax.decrease_replication_factor(ClusterName="mid", NewReplicationFactor=2, NodeIdsToRemove=["mid-b"])
    c = wait_available(dax, "mid", nodes=2)
    assert sorted(n["NodeId"] for n in c["Nodes"]) == ["mid-a", "mid-c"]
    assert {n["NodeId"]: n["Endpoint"]["Port"] for n in c["Nodes"]} == {k: v for k, v in ports.items() if k != "mid-b"}
    descs = [e.get("Description", "") for e in server.client("ec2").describe_network_interfaces()["NetworkInterfaces"]]
    assert not any(d.endswith(" mid-b") for d in descs)
    assert "Removed node mid-b." in [e["Message"] for e in dax.describe_events(SourceName="mid")["Events"]]

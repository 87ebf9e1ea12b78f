"""The DAX control plane and the EC2 subset, acting through
AWSServiceRoleForDAX in every region — the seed's whole story, told with
the real AWS CLI and boto3 against the real daxd binary."""
import json
import time

import pytest
from botocore.exceptions import ClientError

from daxd import Daxd, wait_for

ACCOUNT = "123456789012"
SLR = "AWSServiceRoleForDAX"
SLR_ARN = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/dax.amazonaws.com/{SLR}"
DAX_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "dax.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/DAXtoDynamoDB"


def err(exc_info):
    e = exc_info.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"], e["Error"].get("Message", "")


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def wait_status(dax, name, status, timeout=15):
    def check():
        c = dax.describe_clusters(ClusterNames=[name])["Clusters"][0]
        return c if c["Status"] == status else None
    return wait_for(check, timeout)


def wait_gone(dax, name, timeout=15):
    def gone():
        try:
            dax.describe_clusters(ClusterNames=[name])
        except ClientError as e:
            return e.response["Error"]["Code"] == "ClusterNotFoundFault"
        return False
    wait_for(gone, timeout)


def deletion(iam, timeout=15):
    task = iam.delete_service_linked_role(RoleName=SLR)["DeletionTaskId"]
    def done():
        s = iam.get_service_linked_role_deletion_status(DeletionTaskId=task)
        return s if s["Status"] in ("SUCCEEDED", "FAILED") else None
    return wait_for(done, timeout)


@pytest.fixture
def slow():
    """A daxd whose lifecycles take a visible moment."""
    server = Daxd(args=["--provisioning-delay-ms", "300"]).start()
    yield server
    server.close()


def test_seed_story(slow):
    daxd = slow
    iam = daxd.client("iam")

    # 1. The root creates the cluster's DynamoDB access role and a subnet group.
    daxd.aws("iam", "create-role", "--role-name", "DAXtoDynamoDB", "--assume-role-policy-document", DAX_TRUST)
    iam.attach_role_policy(RoleName="DAXtoDynamoDB", PolicyArn="arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess")
    ec2 = daxd.client("ec2")
    subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    assert sorted(s["AvailabilityZone"] for s in subnets) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    out = json.loads(daxd.aws("dax", "create-subnet-group", "--subnet-group-name", "MyGroup",
                              "--subnet-ids", *[s["SubnetId"] for s in subnets]).stdout)["SubnetGroup"]
    assert out["SubnetGroupName"] == "mygroup" and len(out["Subnets"]) == 3

    # The operator: may use DAX and pass the role, but not create service-linked roles.
    iam.create_user(UserName="operator")
    k = iam.create_access_key(UserName="operator")["AccessKey"]
    op_key = (k["AccessKeyId"], k["SecretAccessKey"])
    iam.put_user_policy(UserName="operator", PolicyName="dax", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["dax:*", "ec2:Describe*"], "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": ROLE_ARN,
         "Condition": {"StringEquals": {"iam:PassedToService": "dax.amazonaws.com"}}}))
    dax_op = daxd.client("dax", key=op_key)

    # 2. Without iam:CreateServiceLinkedRole, CreateCluster fails and leaves nothing behind.
    create = ["dax", "create-cluster", "--cluster-name", "seed", "--node-type", "dax.r5.large",
              "--replication-factor", "3", "--iam-role-arn", ROLE_ARN, "--subnet-group-name", "mygroup"]
    proc = daxd.aws(*create, key=op_key, check=False)
    assert proc.returncode != 0 and "AccessDeniedException" in proc.stderr
    assert (f"User: arn:aws:iam::{ACCOUNT}:user/operator is not authorized to perform: iam:CreateServiceLinkedRole "
            f"on resource: {SLR_ARN} because no identity-based policy allows the iam:CreateServiceLinkedRole action") in proc.stderr
    assert dax_op.describe_clusters()["Clusters"] == []
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName=SLR)
    assert err(e)[:2] == ("NoSuchEntity", 404)
    assert ec2.describe_network_interfaces()["NetworkInterfaces"] == []

    # 3. With the permission (conditioned on iam:AWSServiceName), the cluster is created,
    #    the role appears with its 12 EC2 actions, and the cluster becomes available.
    iam.put_user_policy(UserName="operator", PolicyName="slr", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "Resource": "*",
         "Condition": {"StringLike": {"iam:AWSServiceName": "dax.amazonaws.com"}}}))
    created = json.loads(daxd.aws(*create, key=op_key).stdout)["Cluster"]
    assert created["Status"] == "creating" and created["ActiveNodes"] == 0
    assert "Nodes" not in created and "Address" not in created["ClusterDiscoveryEndpoint"]
    role = iam.get_role(RoleName=SLR)["Role"]
    assert role["Path"] == "/aws-service-role/dax.amazonaws.com/"
    attached = iam.list_attached_role_policies(RoleName=SLR)["AttachedPolicies"]
    doc_v1 = iam.get_policy_version(PolicyArn=attached[0]["PolicyArn"], VersionId="v1")["PolicyVersion"]["Document"]
    assert len(doc_v1["Statement"][0]["Action"]) == 12
    cluster = wait_status(dax_op, "seed", "available")
    assert cluster["ActiveNodes"] == cluster["TotalNodes"] == 3
    assert cluster["ClusterArn"] == f"arn:aws:dax:us-east-1:{ACCOUNT}:cache/seed"
    assert cluster["ClusterDiscoveryEndpoint"]["URL"].startswith("dax://127.0.0.1:")
    assert sorted(n["AvailabilityZone"] for n in cluster["Nodes"]) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    ports = {n["Endpoint"]["Port"] for n in cluster["Nodes"]}
    assert len(ports) == 3

    # 4. Its network interfaces are visible.
    enis = ec2.describe_network_interfaces(Filters=[{"Name": "description", "Values": ["DAX cluster seed *"]}])["NetworkInterfaces"]
    assert len(enis) == 3
    assert all(e["RequesterManaged"] and e["Status"] == "in-use" for e in enis)
    assert {e["SubnetId"] for e in enis} == {s["SubnetId"] for s in subnets}

    # 5. A second cluster in another region (its own default subnet group there).
    dax_eu = daxd.client("dax", key=op_key, region="eu-west-1")
    dax_eu.create_cluster(ClusterName="seed-eu", NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=ROLE_ARN)
    wait_status(dax_eu, "seed-eu", "available")
    assert len(daxd.client("ec2", region="eu-west-1").describe_network_interfaces()["NetworkInterfaces"]) == 1

    # 6. Deleting the role fails, naming both regions and their clusters.
    status = deletion(iam)
    assert status["Status"] == "FAILED"
    usage = {u["Region"]: u["Resources"] for u in status["Reason"]["RoleUsageList"]}
    assert usage == {
        "us-east-1": [f"arn:aws:dax:us-east-1:{ACCOUNT}:cache/seed"],
        "eu-west-1": [f"arn:aws:dax:eu-west-1:{ACCOUNT}:cache/seed-eu"],
    }
    assert status["Reason"]["Reason"] == (
        "The role is in use by 2 resources of dax.amazonaws.com in 2 regions. Delete them before deleting the role.")

    # 7. RoleLastUsed and Access Advisor show DAX's EC2 work.
    last = iam.get_role(RoleName=SLR)["Role"]["RoleLastUsed"]
    assert last["Region"] in ("us-east-1", "eu-west-1") and "LastUsedDate" in last
    job = iam.generate_service_last_accessed_details(Arn=role["Arn"], Granularity="ACTION_LEVEL")["JobId"]
    report = iam.get_service_last_accessed_details(JobId=job)["ServicesLastAccessed"]
    assert [s["ServiceNamespace"] for s in report] == ["ec2"]
    assert report[0]["LastAuthenticatedEntity"] == role["Arn"]
    assert "CreateNetworkInterface" in {a["ActionName"] for a in report[0]["TrackedActionsLastAccessed"]}

    # 8. Both clusters are removed with the CLI, and their interfaces go.
    out = json.loads(daxd.aws("dax", "delete-cluster", "--cluster-name", "seed", key=op_key).stdout)["Cluster"]
    assert out["Status"] == "deleting"
    daxd.aws("dax", "delete-cluster", "--cluster-name", "seed-eu", key=op_key, region="eu-west-1")
    wait_gone(dax_op, "seed")
    wait_gone(dax_eu, "seed-eu")
    assert ec2.describe_network_interfaces()["NetworkInterfaces"] == []
    assert daxd.client("ec2", region="eu-west-1").describe_network_interfaces()["NetworkInterfaces"] == []
    events = [e["Message"] for e in dax_op.describe_events(SourceName="seed")["Events"]]
    assert "Cluster created." in events and "Cluster deleted." in events

    # 9. Now the role deletion succeeds.
    assert deletion(iam)["Status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName=SLR)
    assert err(e)[:2] == ("NoSuchEntity", 404)

    # 10. Creating a cluster again brings the role back.
    dax_op.create_cluster(ClusterName="again", NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=ROLE_ARN)
    assert iam.get_role(RoleName=SLR)["Role"]["Arn"] == SLR_ARN


def test_pass_role_and_role_checks(daxd):
    iam, dax = daxd.client("iam"), daxd.client("dax")
    iam.create_role(RoleName="DAXtoDynamoDB", AssumeRolePolicyDocument=DAX_TRUST)
    iam.create_role(RoleName="notdax", AssumeRolePolicyDocument=doc(
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    cases = [
        (f"arn:aws:iam::{ACCOUNT}:role/nosuch", "does not exist"),
        (f"arn:aws:iam::{ACCOUNT}:role/notdax", "cannot be assumed by dax.amazonaws.com"),
    ]
    for arn, text in cases:
        with pytest.raises(ClientError) as e:
            dax.create_cluster(ClusterName="c1", NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=arn)
        code, status, message = err(e)
        assert (code, status) == ("InvalidParameterValueException", 400) and text in message
    # A user allowed dax:* but not iam:PassRole.
    iam.create_user(UserName="u")
    k = iam.create_access_key(UserName="u")["AccessKey"]
    iam.put_user_policy(UserName="u", PolicyName="dax", PolicyDocument=doc({"Effect": "Allow", "Action": "dax:*", "Resource": "*"}))
    with pytest.raises(ClientError) as e:
        daxd.client("dax", key=(k["AccessKeyId"], k["SecretAccessKey"])).create_cluster(
            ClusterName="c1", NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=ROLE_ARN)
    code, status, message = err(e)
    assert (code, status) == ("AccessDeniedException", 400)
    assert f"is not authorized to perform: iam:PassRole on resource: {ROLE_ARN}" in message
    assert dax.describe_clusters()["Clusters"] == []


def test_refused_input_creates_nothing(daxd):
    """A CreateCluster refused for its own input leaves no trace: not even the
    AWSServiceRoleForDAX it would have created on the caller's behalf."""
    iam, dax = daxd.client("iam"), daxd.client("dax")
    iam.create_role(RoleName="DAXtoDynamoDB", AssumeRolePolicyDocument=DAX_TRUST)
    base = dict(ClusterName="c", NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=ROLE_ARN)
    faults = [
        (dict(IamRoleArn="DAXAccessRole"), "ARNs must start with 'arn:'"),
        (dict(ClusterName="1bad"), "Cluster ID specified is not a valid identifier"),
        (dict(NodeType="t3.small"), "Invalid node type: t3.small"),
        (dict(ReplicationFactor=2, AvailabilityZones=["us-east-1a"]), ""),
        (dict(PreferredMaintenanceWindow="someday"), ""),
    ]
    for kwargs, text in faults:
        with pytest.raises(ClientError) as e:
            dax.create_cluster(**{**base, **kwargs})
        code, status, message = err(e)
        assert (code, status) == ("InvalidParameterValueException", 400), (kwargs, message)
        assert text in message, (kwargs, message)
        with pytest.raises(ClientError) as e:
            iam.get_role(RoleName=SLR)
        assert err(e)[0] == "NoSuchEntity", kwargs
    assert dax.describe_clusters()["Clusters"] == []
    dax.create_cluster(**base)
    assert iam.get_role(RoleName=SLR)["Role"]["Arn"] == SLR_ARN


def test_validation_errors(daxd):
    iam, dax = daxd.client("iam"), daxd.client("dax")
    iam.create_role(RoleName="DAXtoDynamoDB", AssumeRolePolicyDocument=DAX_TRUST)
    base = dict(NodeType="dax.t3.small", IamRoleArn=ROLE_ARN)
    cases = [
        (dict(ClusterName="1bad", ReplicationFactor=1), "InvalidParameterValueException", "Cluster ID specified is not a valid identifier"),
        (dict(ClusterName="bad--name", ReplicationFactor=1), "InvalidParameterValueException", "Cluster ID specified is not a valid identifier"),
        (dict(ClusterName="bad-", ReplicationFactor=1), "InvalidParameterValueException", "Cluster ID specified is not a valid identifier"),
        (dict(ClusterName="c", ReplicationFactor=1, IamRoleArn="notanarn"), "InvalidParameterValueException", "ARNs must start with 'arn:'"),
        (dict(ClusterName="c", ReplicationFactor=1, SubnetGroupName="nosuch"), "SubnetGroupNotFoundFault", ""),
        (dict(ClusterName="c", ReplicationFactor=2, AvailabilityZones=["us-east-1a"]), "InvalidParameterValueException", ""),
        (dict(ClusterName="c", ReplicationFactor=1, ParameterGroupName="nosuch"), "ParameterGroupNotFoundFault", ""),
    ]
    for kwargs, code, text in cases:
        with pytest.raises(ClientError) as e:
            dax.create_cluster(**{**base, **kwargs})
        got_code, status, message = err(e)
        assert (got_code, status) == (code, 400), (kwargs, message)
        assert text in message, (kwargs, message)
    dax.create_cluster(ClusterName="c", ReplicationFactor=1, **base)
    with pytest.raises(ClientError) as e:
        dax.create_cluster(ClusterName="C", ReplicationFactor=1, **base)
    assert err(e)[0] == "ClusterAlreadyExistsFault"
    wait_status(dax, "c", "available")
    with pytest.raises(ClientError) as e:
        dax.decrease_replication_factor(ClusterName="c", NewReplicationFactor=0)
    assert err(e)[0] == "InvalidParameterValueException"
    with pytest.raises(ClientError) as e:
        dax.describe_clusters(ClusterNames=["nosuch"])
    assert err(e) == ("ClusterNotFoundFault", 400, "Cluster nosuch not found.")
    with pytest.raises(ClientError) as e:
        dax.delete_cluster(ClusterName="nosuch")
    assert err(e) == ("ClusterNotFoundFault", 400, "Cluster not found.")
    # A subnet group in use cannot be deleted; the default one cannot be modified.
    subnets = [s["SubnetId"] for s in daxd.client("ec2").describe_subnets()["Subnets"]]
    dax.create_subnet_group(SubnetGroupName="g", SubnetIds=subnets[:1])
    dax.create_cluster(ClusterName="d", ReplicationFactor=1, SubnetGroupName="g", **base)
    with pytest.raises(ClientError) as e:
        dax.delete_subnet_group(SubnetGroupName="g")
    assert err(e)[0] == "SubnetGroupInUseFault"
    with pytest.raises(ClientError) as e:
        dax.update_subnet_group(SubnetGroupName="default", Description="x")
    assert err(e) == ("InvalidParameterValueException", 400, "default is reserved and cannot be modified.")
    with pytest.raises(ClientError) as e:
        dax.tag_resource(ResourceName="c", Tags=[{"Key": "a", "Value": "b"}])
    assert err(e)[0] == "InvalidARNFault"


def test_replication_reboot_parameters_and_tags(daxd):
    iam, dax = daxd.client("iam"), daxd.client("dax")
    iam.create_role(RoleName="DAXtoDynamoDB", AssumeRolePolicyDocument=DAX_TRUST)
    dax.create_parameter_group(ParameterGroupName="fast", Description="short TTLs")
    dax.update_parameter_group(ParameterGroupName="fast", ParameterNameValues=[
        {"ParameterName": "record-ttl-millis", "ParameterValue": "1000"}])
    params = {p["ParameterName"]: p for p in dax.describe_parameters(ParameterGroupName="fast")["Parameters"]}
    assert params["record-ttl-millis"]["ParameterValue"] == "1000"
    assert params["query-ttl-millis"]["ParameterValue"] == "300000"
    defaults = {p["ParameterName"]: p["ParameterValue"] for p in dax.describe_default_parameters()["Parameters"]}
    assert defaults == {"query-ttl-millis": "300000", "record-ttl-millis": "300000"}
    c = dax.create_cluster(ClusterName="r", NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=ROLE_ARN,
                           ParameterGroupName="fast", Tags=[{"Key": "env", "Value": "dev"}])["Cluster"]
    arn = c["ClusterArn"]
    wait_status(dax, "r", "available")
    assert dax.list_tags(ResourceName=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]
    dax.tag_resource(ResourceName=arn, Tags=[{"Key": "team", "Value": "db"}])
    assert dax.untag_resource(ResourceName=arn, TagKeys=["env"])["Tags"] == [{"Key": "team", "Value": "db"}]
    dax.increase_replication_factor(ClusterName="r", NewReplicationFactor=3)
    c = wait_status(dax, "r", "available")
    assert c["TotalNodes"] == c["ActiveNodes"] == 3
    assert len(daxd.client("ec2").describe_network_interfaces()["NetworkInterfaces"]) == 3
    dax.reboot_node(ClusterName="r", NodeId="r-b")
    dax.decrease_replication_factor(ClusterName="r", NewReplicationFactor=2, NodeIdsToRemove=["r-c"])
    c = wait_for(lambda: (lambda x: x if x["Status"] == "available" and x["TotalNodes"] == 2 else None)(
        dax.describe_clusters(ClusterNames=["r"])["Clusters"][0]))
    assert sorted(n["NodeId"] for n in c["Nodes"]) == ["r-a", "r-b"]
    assert len(daxd.client("ec2").describe_network_interfaces()["NetworkInterfaces"]) == 2
    with pytest.raises(ClientError) as e:
        dax.delete_parameter_group(ParameterGroupName="fast")
    assert err(e)[0] == "InvalidParameterGroupStateFault"
    events = [e["Message"] for e in dax.describe_events(SourceName="r")["Events"]]
    assert "Removed node r-c." in events


def test_restart_keeps_clusters_groups_interfaces_and_ports(daxd):
    iam, dax = daxd.client("iam"), daxd.client("dax")
    iam.create_role(RoleName="DAXtoDynamoDB", AssumeRolePolicyDocument=DAX_TRUST)
    dax.create_parameter_group(ParameterGroupName="pg")
    dax.create_cluster(ClusterName="keep", NodeType="dax.t3.small", ReplicationFactor=2, IamRoleArn=ROLE_ARN, ParameterGroupName="pg")
    before = wait_status(dax, "keep", "available")
    enis = daxd.client("ec2").describe_network_interfaces()["NetworkInterfaces"]
    daxd.restart()
    dax = daxd.client("dax")
    after = dax.describe_clusters(ClusterNames=["keep"])["Clusters"][0]
    assert [n["Endpoint"]["Port"] for n in after["Nodes"]] == [n["Endpoint"]["Port"] for n in before["Nodes"]]
    assert after["ParameterGroup"]["ParameterGroupName"] == "pg"
    assert daxd.client("ec2").describe_network_interfaces()["NetworkInterfaces"] == enis
    # A new cluster after the restart gets ports the old nodes do not hold.
    dax.create_cluster(ClusterName="new", NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=ROLE_ARN)
    new = wait_status(dax, "new", "available")
    assert new["Nodes"][0]["Endpoint"]["Port"] not in {n["Endpoint"]["Port"] for n in after["Nodes"]}


def test_tls_cluster_endpoints_use_daxs(daxd):
    daxd.client("iam").create_role(RoleName="DAXtoDynamoDB", AssumeRolePolicyDocument=DAX_TRUST)
    dax = daxd.client("dax")
    dax.create_cluster(ClusterName="secure", NodeType="dax.t3.small", ReplicationFactor=1, IamRoleArn=ROLE_ARN,
                       ClusterEndpointEncryptionType="TLS", SSESpecification={"Enabled": True})
    c = wait_status(dax, "secure", "available")
    assert c["ClusterEndpointEncryptionType"] == "TLS"
    assert c["SSEDescription"]["Status"] == "ENABLED"
    endpoint = c["ClusterDiscoveryEndpoint"]
    assert endpoint["URL"] == f"daxs://127.0.0.1:{endpoint['Port']}"
    assert c["Nodes"][0]["Endpoint"]["URL"].startswith("daxs://127.0.0.1:")


def test_advertise_host_and_port_range():
    server = Daxd(args=["--dax-advertise-host", "localhost", "--dax-ports", "23100-23110"]).start()
    try:
        server.client("iam").create_role(RoleName="DAXtoDynamoDB", AssumeRolePolicyDocument=DAX_TRUST)
        dax = server.client("dax")
        dax.create_cluster(ClusterName="adv", NodeType="dax.t3.small", ReplicationFactor=2, IamRoleArn=ROLE_ARN)
        c = wait_status(dax, "adv", "available")
        for n in c["Nodes"]:
            assert n["Endpoint"]["Address"] == "localhost"
            assert 23100 <= n["Endpoint"]["Port"] <= 23110
        assert c["ClusterDiscoveryEndpoint"]["URL"].startswith("dax://localhost:")
    finally:
        server.close()

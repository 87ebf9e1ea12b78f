"""The AWS Fault Injection Service API on daxd's endpoint, driven by boto3 (rest-json,
signing name `fis`): experiment templates and their validation, the action catalog,
experiments that stop DAX nodes of a 3-node cluster and end their faults, the
service-linked role the first StartExperiment creates, and the authorization of the
caller and of the experiment's role."""
import json
import time

import amazondax
import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from daxd import Daxd, refused, wait_for

ACCOUNT = "123456789012"
REGION = "us-east-1"
ARGS = ["--dax-ports", "24700-24799"]
SLR = "AWSServiceRoleForFIS"


def trust(service):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*"):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def role(iam, name, service, *statements):
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(service))["Role"]["Arn"]
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=doc(*statements))
    return arn


def error(exc_info):
    e = exc_info.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]


def experiment(fis, eid):
    return fis.get_experiment(id=eid)["experiment"]


def wait_state(fis, eid, *states, timeout=15):
    return wait_for(lambda: (lambda e: e if e["state"]["status"] in states else None)(experiment(fis, eid)), timeout)


@pytest.fixture(scope="module")
def env():
    """One daxd with a 3-node cluster tagged `env=fis`, an experiment role that may do
    everything daxd's actions need, and one that may do nothing."""
    daxd = Daxd(args=ARGS).start()
    iam = daxd.client("iam")
    dax_role = role(iam, "DaxRole", "dax.amazonaws.com", allow("dynamodb:*"))
    dax = daxd.client("dax")
    cluster = available_cluster(dax, "fis", dax_role, Tags=[{"Key": "env", "Value": "fis"}])
    daxd.cluster = cluster
    daxd.ports = {n["NodeId"]: n["Endpoint"]["Port"] for n in cluster["Nodes"]}
    daxd.full_role = role(iam, "FisFull", "fis.amazonaws.com", allow([
        "dax:RebootNode", "daxd:*", "ec2:DescribeSubnets", "ec2:CreateNetworkAclEntry",
        "ec2:ReplaceNetworkAclAssociation"]))
    daxd.empty_role = role(iam, "FisNothing", "fis.amazonaws.com")
    daxd.untrusted_role = role(iam, "FisUntrusted", "dax.amazonaws.com", allow(["dax:*", "daxd:*"]))
    yield daxd
    daxd.close()


def node_target(arns=None, mode="ALL", **extra):
    t = {"resourceType": "daxd:dax:node", "selectionMode": mode}
    if arns:
        t["resourceArns"] = arns
    else:
        t["resourceTags"] = {"env": "fis"}
    t.update(extra)
    return t


def template(fis, role_arn, actions, targets=None, **kw):
    return fis.create_experiment_template(description="daxd e2e", roleArn=role_arn, stopConditions=[{"source": "none"}],
                                          actions=actions, targets=targets or {}, **kw)["experimentTemplate"]


def replica_arn(env):
    """The ARN of one replica of the cluster (a node that is not the primary)."""
    c = env.cluster
    return f"{c['ClusterArn']}/{c['Nodes'][2]['NodeId']}"


# ---------------------------------------------------------------------------------------


def test_template_crud_tags_and_validation_errors(env):
    fis = env.client("fis")
    t = template(fis, env.full_role, {"wait": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}}},
                 tags={"team": "sre"})
    assert t["arn"] == f"arn:aws:fis:{REGION}:{ACCOUNT}:experiment-template/{t['id']}"
    assert t["roleArn"] == env.full_role and t["tags"] == {"team": "sre"}
    assert fis.get_experiment_template(id=t["id"])["experimentTemplate"]["actions"]["wait"]["actionId"] == "aws:fis:wait"
    assert t["id"] in [x["id"] for x in fis.list_experiment_templates()["experimentTemplates"]]

    u = fis.update_experiment_template(id=t["id"], description="changed")["experimentTemplate"]
    assert u["description"] == "changed" and u["actions"] == t["actions"]
    fis.tag_resource(resourceArn=t["arn"], tags={"k": "v"})
    assert fis.list_tags_for_resource(resourceArn=t["arn"])["tags"] == {"team": "sre", "k": "v"}
    fis.untag_resource(resourceArn=t["arn"], tagKeys=["team"])
    assert fis.list_tags_for_resource(resourceArn=t["arn"])["tags"] == {"k": "v"}

    # The same client token gives back the same template.
    again = fis.create_experiment_template(clientToken="tok", description="x", roleArn=env.full_role,
                                           stopConditions=[{"source": "none"}],
                                           actions={"w": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}}})
    same = fis.create_experiment_template(clientToken="tok", description="x", roleArn=env.full_role,
                                          stopConditions=[{"source": "none"}],
                                          actions={"w": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}}})
    assert again["experimentTemplate"]["id"] == same["experimentTemplate"]["id"]

    bad = [
        # An action the catalog does not have.
        dict(actions={"a": {"actionId": "aws:ec2:stop-instances"}}),
        # A required parameter missing, and a duration out of range.
        dict(actions={"a": {"actionId": "aws:fis:wait"}}),
        dict(actions={"a": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT13H"}}}),
        # A daxd action without its target, and one naming a target the template lacks.
        dict(actions={"a": {"actionId": "daxd:dax:stall-node", "parameters": {"duration": "PT1S"}}}),
        dict(actions={"a": {"actionId": "daxd:dax:stall-node", "parameters": {"duration": "PT1S"},
                            "targets": {"Nodes": "missing"}}}),
        # A selection mode that is not one, and ARNs with tags.
        dict(actions={"a": {"actionId": "daxd:dax:stall-node", "parameters": {"duration": "PT1S"},
                            "targets": {"Nodes": "n"}}}, targets={"n": node_target(mode="SOME")}),
        dict(actions={"a": {"actionId": "daxd:dax:stall-node", "parameters": {"duration": "PT1S"},
                            "targets": {"Nodes": "n"}}},
             targets={"n": node_target(arns=[replica_arn(env)], resourceTags={"env": "fis"})}),
        # startAfter naming an action that is not there.
        dict(actions={"a": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}, "startAfter": ["b"]}}),
    ]
    for kw in bad:
        with pytest.raises(ClientError) as e:
            template(fis, env.full_role, **kw)
        assert error(e) == ("ValidationException", 400), kw
    with pytest.raises(ClientError) as e:
        fis.create_experiment_template(description="d", roleArn="arn:aws:iam::123456789012:user/x",
                                       stopConditions=[{"source": "none"}],
                                       actions={"a": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}}})
    assert error(e) == ("ValidationException", 400)
    # The model's constraints are checked before anything else (description over 512).
    with pytest.raises(ClientError) as e:
        fis.create_experiment_template(description="x" * 513, roleArn=env.full_role,
                                       stopConditions=[{"source": "none"}],
                                       actions={"w": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}}})
    assert error(e) == ("ValidationException", 400)

    fis.delete_experiment_template(id=t["id"])
    for call in (lambda: fis.get_experiment_template(id=t["id"]), lambda: fis.delete_experiment_template(id=t["id"]),
                 lambda: fis.get_experiment(id="EXPnothing"), lambda: fis.start_experiment(experimentTemplateId=t["id"])):
        with pytest.raises(ClientError) as e:
            call()
        assert error(e) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as e:
        fis.list_actions(maxResults=101)
    assert error(e)[0] == "ValidationException"


def test_the_catalog_lists_daxds_actions_and_target_types(env):
    fis = env.client("fis")
    ids = []
    page = fis.list_actions(maxResults=4)
    ids += [a["id"] for a in page["actions"]]
    assert len(page["actions"]) == 4 and "nextToken" in page
    ids += [a["id"] for a in fis.list_actions(nextToken=page["nextToken"])["actions"]]
    for a in ["aws:fis:wait", "aws:network:disrupt-connectivity", "daxd:dax:stop-node", "daxd:dax:stall-node",
              "daxd:dax:add-latency", "daxd:dax:throttle-requests", "daxd:dax:fail-requests",
              "daxd:dax:failover-primary", "daxd:dax:pause-replication", "daxd:dax:slow-backend",
              "daxd:dax:fail-backend"]:
        assert a in ids
    a = fis.get_action(id="daxd:dax:throttle-requests")["action"]
    assert a["targets"] == {"Nodes": {"resourceType": "daxd:dax:node"}}
    assert a["parameters"]["percentage"]["required"] is True
    assert a["arn"] == f"arn:aws:fis:{REGION}:{ACCOUNT}:action/daxd:dax:throttle-requests"
    with pytest.raises(ClientError) as e:
        fis.get_action(id="aws:ec2:stop-instances")
    assert error(e) == ("ResourceNotFoundException", 404)
    types = [t["resourceType"] for t in fis.list_target_resource_types()["targetResourceTypes"]]
    assert types == ["aws:ec2:subnet", "daxd:dax:cluster", "daxd:dax:node"]
    assert fis.get_target_resource_type(resourceType="daxd:dax:node")["targetResourceType"]["resourceType"] == "daxd:dax:node"


def test_an_experiment_stops_a_replica_then_completes_and_the_first_start_creates_the_slr(env):
    fis, iam = env.client("fis"), env.client("iam")
    with pytest.raises(ClientError):
        iam.get_role(RoleName=SLR)
    target = replica_arn(env)
    node = target.rsplit("/", 1)[1]
    t = template(fis, env.full_role,
                 {"stop": {"actionId": "daxd:dax:stop-node", "parameters": {"duration": "PT3S"},
                           "targets": {"Nodes": "replica"}}},
                 targets={"replica": node_target(arns=[target])})
    e = fis.start_experiment(experimentTemplateId=t["id"])["experiment"]
    assert e["state"]["status"] == "pending" and e["experimentTemplateId"] == t["id"]

    slr = iam.get_role(RoleName=SLR)["Role"]
    assert slr["Path"] == "/aws-service-role/fis.amazonaws.com/"
    assert slr["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"] == ["fis.amazonaws.com"]
    attached = iam.list_attached_role_policies(RoleName=SLR)["AttachedPolicies"]
    assert attached == [{"PolicyName": "AmazonFISServiceRolePolicy",
                         "PolicyArn": "arn:aws:iam::aws:policy/aws-service-role/AmazonFISServiceRolePolicy"}]
    policy = iam.get_policy(PolicyArn=attached[0]["PolicyArn"])["Policy"]
    assert policy["DefaultVersionId"] == "v7"
    iam.create_user(UserName="not-a-service")
    with pytest.raises(ClientError) as x:
        iam.attach_user_policy(UserName="not-a-service", PolicyArn=policy["Arn"])
    assert x.value.response["Error"]["Code"] == "PolicyNotAttachable"
    # Protected like AWSServiceRoleForDAX.
    with pytest.raises(ClientError) as x:
        iam.delete_role(RoleName=SLR)
    assert x.value.response["Error"]["Code"] == "UnmodifiableEntity"

    running = wait_state(fis, e["id"], "running")
    assert running["actions"]["stop"]["state"]["status"] == "running"
    wait_for(lambda: refused(env.ports[node]), 5)
    others = [p for n, p in env.ports.items() if n != node]
    assert not any(refused(p) for p in others)
    resolved = fis.list_experiment_resolved_targets(experimentId=e["id"])["resolvedTargets"]
    assert resolved == [{"resourceType": "daxd:dax:node", "targetName": "replica", "targetInformation": {"arn": target}}]

    done = wait_state(fis, e["id"], "completed", timeout=15)
    assert done["state"]["reason"] == "Experiment completed."
    assert done["actions"]["stop"]["state"] == {"status": "completed", "reason": "Action was completed."}
    assert done["endTime"] >= done["startTime"]
    wait_for(lambda: not refused(env.ports[node]), 5)
    assert [x["id"] for x in fis.list_experiments(experimentTemplateId=t["id"])["experiments"]] == [e["id"]]


def test_stop_experiment_ends_every_fault_within_a_second(env):
    fis = env.client("fis")
    target = replica_arn(env)
    node = target.rsplit("/", 1)[1]
    t = template(fis, env.full_role, {
        "wait": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}},
        "stop": {"actionId": "daxd:dax:stop-node", "parameters": {"duration": "PT10M"}, "targets": {"Nodes": "n"}},
        "after": {"actionId": "daxd:dax:stall-node", "parameters": {"duration": "PT1M"}, "targets": {"Nodes": "n"},
                  "startAfter": ["wait"]},
    }, targets={"n": node_target(arns=[target])})
    e = fis.start_experiment(experimentTemplateId=t["id"])["experiment"]
    wait_state(fis, e["id"], "running")
    wait_for(lambda: refused(env.ports[node]), 5)
    started = time.time()
    stopping = fis.stop_experiment(id=e["id"])["experiment"]
    assert stopping["state"] == {"status": "stopping", "reason": "Stopping Experiment."}
    wait_for(lambda: not refused(env.ports[node]), 1.0)
    assert time.time() - started < 1.0
    stopped = wait_state(fis, e["id"], "stopped", timeout=2)
    states = {n: a["state"]["status"] for n, a in stopped["actions"].items()}
    assert states == {"wait": "stopped", "stop": "stopped", "after": "cancelled"}
    # Stopping a stopped experiment changes nothing.
    assert fis.stop_experiment(id=e["id"])["experiment"]["state"]["status"] == "stopped"


def test_tags_filters_and_count_select_one_replica(env):
    fis = env.client("fis")
    t = template(fis, env.full_role, {
        "slow": {"actionId": "daxd:dax:add-latency", "parameters": {"duration": "PT2S", "latencyMilliseconds": "50"},
                 "targets": {"Nodes": "one"}}},
        targets={"one": node_target(mode="COUNT(1)", filters=[{"path": "State.Role", "values": ["replica"]}])})
    e = fis.start_experiment(experimentTemplateId=t["id"])["experiment"]
    wait_state(fis, e["id"], "running", "completed")
    resolved = fis.list_experiment_resolved_targets(experimentId=e["id"])["resolvedTargets"]
    assert len(resolved) == 1
    primary = env.cluster["Nodes"][0]["NodeId"]
    assert not resolved[0]["targetInformation"]["arn"].endswith("/" + primary)
    wait_state(fis, e["id"], "completed", timeout=10)


def test_a_role_lacking_the_permission_fails_the_experiment_and_leaves_no_fault(env):
    fis = env.client("fis")
    target = replica_arn(env)
    node = target.rsplit("/", 1)[1]
    actions = {"stop": {"actionId": "daxd:dax:stop-node", "parameters": {"duration": "PT5S"}, "targets": {"Nodes": "n"}}}
    t = template(fis, env.empty_role, actions, targets={"n": node_target(arns=[target])})
    e = fis.start_experiment(experimentTemplateId=t["id"])["experiment"]
    failed = wait_state(fis, e["id"], "failed")
    reason = failed["state"]["reason"]
    assert "is not authorized to perform: dax:RebootNode" in reason, reason
    assert "assumed-role/FisNothing/" in reason, reason
    # The experiment's error: AWS's code for a permission error, the action, the account.
    assert failed["state"]["error"] == {"accountId": ACCOUNT, "code": "AuthorizationFailure", "location": "stop"}
    assert failed["actions"]["stop"]["state"]["status"] == "failed"
    assert not refused(env.ports[node])

    # A trust policy with the conditions AWS recommends (aws:SourceAccount, aws:SourceArn).
    iam = env.client("iam")
    iam.create_role(RoleName="FisScoped", AssumeRolePolicyDocument=doc({
        "Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                      "ArnLike": {"aws:SourceArn": f"arn:aws:fis:{REGION}:{ACCOUNT}:experiment/*"}}}))
    iam.put_role_policy(RoleName="FisScoped", PolicyName="p", PolicyDocument=doc(allow("dax:RebootNode")))
    scoped = iam.get_role(RoleName="FisScoped")["Role"]["Arn"]
    t = template(fis, scoped, {"stop": {**actions["stop"], "parameters": {"duration": "PT1S"}}},
                 targets={"n": node_target(arns=[target])})
    e = fis.start_experiment(experimentTemplateId=t["id"])["experiment"]
    assert wait_state(fis, e["id"], "completed", "failed")["state"]["status"] == "completed"
    wait_for(lambda: not refused(env.ports[node]), 5)

    # A role that does not trust fis.amazonaws.com cannot be assumed for the experiment.
    t = template(fis, env.untrusted_role, actions, targets={"n": node_target(arns=[target])})
    e = fis.start_experiment(experimentTemplateId=t["id"])["experiment"]
    failed = wait_state(fis, e["id"], "failed")
    assert "cannot be assumed by fis.amazonaws.com" in failed["state"]["reason"]
    assert failed["state"]["error"]["code"] == "AuthorizationFailure"
    assert not refused(env.ports[node])


def test_callers_are_authenticated_and_authorized(env):
    fis, iam = env.client("fis"), env.client("iam")
    unsigned = boto3.client("fis", endpoint_url=env.endpoint, region_name=REGION,
                            config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as e:
        unsigned.list_actions()
    assert error(e) == ("MissingAuthenticationTokenException", 403)

    iam.create_user(UserName="nobody")
    k = iam.create_access_key(UserName="nobody")["AccessKey"]
    nobody = env.client("fis", key=(k["AccessKeyId"], k["SecretAccessKey"]))
    with pytest.raises(ClientError) as e:
        nobody.list_experiment_templates()
    assert error(e) == ("AccessDeniedException", 403)
    assert "is not authorized to perform: fis:ListExperimentTemplates" in e.value.response["Error"]["Message"]

    # May create templates, but not pass the role to FIS.
    iam.create_user(UserName="author")
    iam.put_user_policy(UserName="author", PolicyName="p", PolicyDocument=doc(allow("fis:*")))
    k = iam.create_access_key(UserName="author")["AccessKey"]
    author = env.client("fis", key=(k["AccessKeyId"], k["SecretAccessKey"]))
    with pytest.raises(ClientError) as e:
        template(author, env.full_role, {"w": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}}})
    assert error(e) == ("AccessDeniedException", 403)
    assert "iam:PassRole" in e.value.response["Error"]["Message"]
    iam.put_user_policy(UserName="author", PolicyName="pass", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": env.full_role,
         "Condition": {"StringEquals": {"iam:PassedToService": "fis.amazonaws.com"}}}))
    t = template(author, env.full_role, {"w": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}}})
    assert fis.get_experiment_template(id=t["id"])["experimentTemplate"]["roleArn"] == env.full_role
    # A Deny on one template applies to it, not to the others.
    iam.put_user_policy(UserName="author", PolicyName="deny", PolicyDocument=doc(
        {"Effect": "Deny", "Action": "fis:DeleteExperimentTemplate", "Resource": t["arn"]}))
    with pytest.raises(ClientError) as e:
        author.delete_experiment_template(id=t["id"])
    assert error(e) == ("AccessDeniedException", 403)
    fis.delete_experiment_template(id=t["id"])


def test_starting_needs_create_service_linked_role_while_the_role_is_missing():
    daxd = Daxd(args=["--dax-ports", "24800-24810"]).start()
    try:
        iam = daxd.client("iam")
        fis_role = role(iam, "FisWait", "fis.amazonaws.com")
        iam.create_user(UserName="starter")
        iam.put_user_policy(UserName="starter", PolicyName="p", PolicyDocument=doc(
            allow("fis:*"),
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": fis_role}))
        k = iam.create_access_key(UserName="starter")["AccessKey"]
        starter = daxd.client("fis", key=(k["AccessKeyId"], k["SecretAccessKey"]))
        t = template(starter, fis_role, {"w": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}}})
        with pytest.raises(ClientError) as e:
            starter.start_experiment(experimentTemplateId=t["id"])
        assert error(e) == ("AccessDeniedException", 403)
        assert "iam:CreateServiceLinkedRole" in e.value.response["Error"]["Message"]
        with pytest.raises(ClientError):
            iam.get_role(RoleName=SLR)
        assert starter.list_experiments()["experiments"] == []

        iam.put_user_policy(UserName="starter", PolicyName="slr", PolicyDocument=doc(
            {"Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "Resource": "*",
             "Condition": {"StringEquals": {"iam:AWSServiceName": "fis.amazonaws.com"}}}))
        e = starter.start_experiment(experimentTemplateId=t["id"])["experiment"]
        assert iam.get_role(RoleName=SLR)["Role"]["RoleName"] == SLR
        starter.stop_experiment(id=e["id"])
        wait_state(starter, e["id"], "stopped")
    finally:
        daxd.close()


def test_a_stop_condition_in_alarm_stops_the_experiment(env):
    fis, cw = env.client("fis"), env.client("cloudwatch")
    cw.put_metric_alarm(AlarmName="fis-guard", Namespace="AWS/DAX", MetricName="ErrorRequestCount",
                        Dimensions=[{"Name": "ClusterId", "Value": "fis"}], Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold")
    alarm = cw.describe_alarms(AlarmNames=["fis-guard"])["MetricAlarms"][0]["AlarmArn"]
    target = replica_arn(env)
    node = target.rsplit("/", 1)[1]
    t = fis.create_experiment_template(
        description="guarded", roleArn=env.full_role,
        stopConditions=[{"source": "aws:cloudwatch:alarm", "value": alarm}],
        targets={"n": node_target(arns=[target])},
        actions={"stop": {"actionId": "daxd:dax:stop-node", "parameters": {"duration": "PT10M"},
                          "targets": {"Nodes": "n"}}})["experimentTemplate"]
    e = fis.start_experiment(experimentTemplateId=t["id"])["experiment"]
    wait_state(fis, e["id"], "running")
    wait_for(lambda: refused(env.ports[node]), 5)
    cw.set_alarm_state(AlarmName="fis-guard", StateValue="ALARM", StateReason="test")
    stopped = wait_state(fis, e["id"], "stopped", timeout=5)
    assert stopped["state"]["reason"] == f"Stop condition {alarm} was triggered."
    assert stopped["actions"]["stop"]["state"]["status"] == "stopped"
    wait_for(lambda: not refused(env.ports[node]), 2)
    # An alarm already in ALARM fails the next experiment before any action starts.
    e = fis.start_experiment(experimentTemplateId=t["id"])["experiment"]
    failed = wait_state(fis, e["id"], "failed")
    assert alarm in failed["state"]["reason"]
    assert failed["state"]["error"] == {"accountId": ACCOUNT, "code": "ConfigurationFailure"}
    assert failed["actions"]["stop"]["state"]["status"] == "cancelled"
    cw.delete_alarms(AlarmNames=["fis-guard"])


def test_the_official_python_client_keeps_reading_through_a_stalled_replica(env):
    """amazon-dax-client 2.1.0 against a 3-node cluster while FIS stalls one replica for
    three seconds, reading one item in a loop with a 0.5 s read timeout: the reads that
    reach the stalled node time out (5 of 1,700 to 2,200 in runs on 2026-12-07), the others
    are answered by the other nodes, and after the action every read is answered."""
    fis, ddb = env.client("fis"), env.client("dynamodb")
    ddb.create_table(TableName="FisReads", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="FisReads", Item={"id": {"S": "k"}, "v": {"N": "1"}})
    target = replica_arn(env)
    url = env.cluster["ClusterDiscoveryEndpoint"]["URL"]
    t = template(fis, env.full_role, {
        "stall": {"actionId": "daxd:dax:stall-node", "parameters": {"duration": "PT3S"}, "targets": {"Nodes": "n"}}},
        targets={"n": node_target(arns=[target])})
    client = amazondax.AmazonDaxClient(endpoint_url=url, region_name=REGION, aws_access_key_id=env.root[0],
                                       aws_secret_access_key=env.root[1],
                                       config=Config(connect_timeout=1, read_timeout=0.5))
    try:
        assert client.get_item(TableName="FisReads", Key={"id": {"S": "k"}})["Item"]["v"] == {"N": "1"}
        e = fis.start_experiment(experimentTemplateId=t["id"])["experiment"]
        wait_state(fis, e["id"], "running")
        reads, failures, slow = 0, [], 0
        deadline = time.time() + 3
        while time.time() < deadline:
            started = time.time()
            try:
                item = client.get_item(TableName="FisReads", Key={"id": {"S": "k"}})["Item"]
                assert item["v"] == {"N": "1"}
                reads += 1
            except Exception as x:  # a failure is counted, not fatal: the client may give up on one read
                failures.append(repr(x))
            slow += time.time() - started > 0.4
        print(f"stalled replica: {reads} reads, {len(failures)} failed, {slow} took over 0.4 s")
        # A read sent to the stalled node waits for the client's read timeout and fails; the
        # client's router then prefers the nodes that answer (a few reads in thousands).
        assert reads > 100, (reads, failures)
        assert all("TimeoutError" in f for f in failures), failures
        assert len(failures) <= max(10, reads // 50), (reads, failures)
        wait_state(fis, e["id"], "completed", timeout=10)
        # Once the action has ended, every read is answered again.
        for _ in range(50):
            assert client.get_item(TableName="FisReads", Key={"id": {"S": "k"}})["Item"]["v"] == {"N": "1"}
    finally:
        client.close()


def dax_client(env, **config):
    return amazondax.AmazonDaxClient(endpoint_url=env.cluster["ClusterDiscoveryEndpoint"]["URL"], region_name=REGION,
                                     aws_access_key_id=env.root[0], aws_secret_access_key=env.root[1],
                                     config=Config(connect_timeout=1, read_timeout=1, **config))


def dax_table(env):
    ddb = env.client("dynamodb")
    if "FisReads" not in ddb.list_tables()["TableNames"]:
        ddb.create_table(TableName="FisReads", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="FisReads", Item={"id": {"S": "k"}, "v": {"N": "1"}})


@pytest.mark.parametrize("action,code", [("daxd:dax:throttle-requests", "ThrottlingException"),
                                         ("daxd:dax:fail-requests", "InternalServerError")])
def test_every_request_throttled_or_failed_while_the_action_runs(env, action, code):
    fis = env.client("fis")
    dax_table(env)
    t = template(fis, env.full_role, {
        "a": {"actionId": action, "parameters": {"duration": "PT2S", "percentage": "100"}, "targets": {"Nodes": "all"}}},
        targets={"all": node_target()})
    client = dax_client(env, retries={"max_attempts": 1})
    try:
        key = {"id": {"S": "k"}}
        assert client.get_item(TableName="FisReads", Key=key)["Item"]["v"] == {"N": "1"}
        e = fis.start_experiment(experimentTemplateId=t["id"])["experiment"]
        wait_state(fis, e["id"], "running")
        with pytest.raises(ClientError) as x:
            client.get_item(TableName="FisReads", Key=key)
        assert x.value.response["Error"]["Code"] == code
        wait_state(fis, e["id"], "completed", timeout=10)
        assert client.get_item(TableName="FisReads", Key=key)["Item"]["v"] == {"N": "1"}
    finally:
        client.close()


def test_disrupt_connectivity_on_the_clusters_subnets_refuses_every_node(env):
    fis, ec2 = env.client("fis"), env.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    t = template(fis, env.full_role, {
        "cut": {"actionId": "aws:network:disrupt-connectivity", "parameters": {"duration": "PT1M", "scope": "all"},
                "targets": {"Subnets": "vpc"}}},
        targets={"vpc": {"resourceType": "aws:ec2:subnet", "selectionMode": "ALL",
                         "filters": [{"path": "VpcId", "values": [vpc]}]}})
    e = fis.start_experiment(experimentTemplateId=t["id"])["experiment"]
    running = wait_state(fis, e["id"], "running", "failed")
    assert running["state"]["status"] == "running", running["state"]
    resolved = fis.list_experiment_resolved_targets(experimentId=e["id"])["resolvedTargets"]
    assert {r["resourceType"] for r in resolved} == {"aws:ec2:subnet"} and len(resolved) >= 1
    wait_for(lambda: all(refused(p) for p in env.ports.values()), 5)
    fis.stop_experiment(id=e["id"])
    wait_for(lambda: not any(refused(p) for p in env.ports.values()), 1.0)
    wait_state(fis, e["id"], "stopped")


def test_failover_primary_moves_the_writes_to_another_node(env):
    fis = env.client("fis")
    dax_table(env)
    ports = env.ports
    client = dax_client(env)
    try:
        routes = lambda: dict(client._cluster._router.backends)  # noqa: E731
        leaders = lambda: {ap.port for ap, b in routes().items() if b.leader}  # noqa: E731
        wait_for(lambda: len(routes()) == 3, 10)
        before = wait_for(lambda: leaders() or None, 10)
        t = template(fis, env.full_role, {"fo": {"actionId": "daxd:dax:failover-primary", "targets": {"Clusters": "c"}}},
                     targets={"c": {"resourceType": "daxd:dax:cluster", "selectionMode": "ALL",
                                    "resourceArns": [env.cluster["ClusterArn"]]}})
        e = fis.start_experiment(experimentTemplateId=t["id"])["experiment"]
        done = wait_state(fis, e["id"], "completed")
        assert done["actions"]["fo"]["state"]["status"] == "completed"
        after = wait_for(lambda: (lambda l: l if l and l != before else None)(leaders()), 15)
        assert len(after) == 1 and after <= set(ports.values())
        client.put_item(TableName="FisReads", Item={"id": {"S": "after-failover"}, "v": {"N": "2"}})
        got = env.client("dynamodb").get_item(TableName="FisReads", Key={"id": {"S": "after-failover"}})
        assert got["Item"]["v"] == {"N": "2"}
    finally:
        client.close()


def test_the_aws_cli_recipe_of_docs_fault_injection(env, tmp_path):
    """The recipe of docs/fault-injection.md, with the AWS CLI: a template from a file,
    an experiment started, watched and stopped."""
    target = replica_arn(env)
    node = target.rsplit("/", 1)[1]
    spec = {
        "description": "Stop one DAX node for two minutes",
        "roleArn": env.full_role,
        "stopConditions": [{"source": "none"}],
        "targets": {"node": {"resourceType": "daxd:dax:node", "resourceArns": [target], "selectionMode": "ALL"}},
        "actions": {"stop": {"actionId": "daxd:dax:stop-node", "parameters": {"duration": "PT2M"},
                             "targets": {"Nodes": "node"}}},
    }
    path = tmp_path / "template.json"
    path.write_text(json.dumps(spec))
    out = json.loads(env.aws("fis", "create-experiment-template", "--cli-input-json", f"file://{path}").stdout)
    tid = out["experimentTemplate"]["id"]
    actions = json.loads(env.aws("fis", "list-actions").stdout)["actions"]
    assert "daxd:dax:stop-node" in [a["id"] for a in actions]
    eid = json.loads(env.aws("fis", "start-experiment", "--experiment-template-id", tid).stdout)["experiment"]["id"]
    wait_for(lambda: json.loads(env.aws("fis", "get-experiment", "--id", eid).stdout)["experiment"]["state"]["status"]
             == "running", 5)
    wait_for(lambda: refused(env.ports[node]), 5)
    stopped = json.loads(env.aws("fis", "stop-experiment", "--id", eid).stdout)["experiment"]
    assert stopped["state"]["status"] == "stopping"
    wait_for(lambda: not refused(env.ports[node]), 1.0)
    env.aws("fis", "delete-experiment-template", "--id", tid)
    bad = env.aws("fis", "get-experiment-template", "--id", tid, check=False)
    assert bad.returncode != 0 and "ResourceNotFoundException" in bad.stderr


def test_the_fis_role_cannot_be_deleted_while_an_experiment_runs(env):
    """Like DAX's: a deletion task fails while an experiment that has not ended uses the
    role, naming it, and succeeds once none does; the next StartExperiment makes it again."""
    fis, iam = env.client("fis"), env.client("iam")
    t = template(fis, env.full_role, {"wait": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT5M"}}})
    e = fis.start_experiment(experimentTemplateId=t["id"])["experiment"]
    wait_state(fis, e["id"], "running")

    def finished(task):
        status = iam.get_service_linked_role_deletion_status(DeletionTaskId=task)
        return status if status["Status"] in ("SUCCEEDED", "FAILED") else None
    task = iam.delete_service_linked_role(RoleName=SLR)["DeletionTaskId"]
    status = wait_for(lambda: finished(task), 15)
    assert status["Status"] == "FAILED"
    usage = status["Reason"]["RoleUsageList"]
    assert [u["Region"] for u in usage] == [REGION]
    assert e["arn"] in usage[0]["Resources"]
    assert iam.get_role(RoleName=SLR)["Role"]["RoleName"] == SLR

    fis.stop_experiment(id=e["id"])
    wait_state(fis, e["id"], "stopped")
    task = iam.delete_service_linked_role(RoleName=SLR)["DeletionTaskId"]
    assert wait_for(lambda: finished(task), 15)["Status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as exc:
        iam.get_role(RoleName=SLR)
    assert error(exc)[0] == "NoSuchEntity"
    again = fis.start_experiment(experimentTemplateId=t["id"])["experiment"]
    assert iam.get_role(RoleName=SLR)["Role"]["Path"] == "/aws-service-role/fis.amazonaws.com/"
    fis.stop_experiment(id=again["id"])
    wait_state(fis, again["id"], "stopped")


def test_a_restart_fails_the_running_experiment_and_leaves_no_fault(env):
    """Last in the module: it restarts the module's daxd."""
    fis = env.client("fis")
    target = replica_arn(env)
    node = target.rsplit("/", 1)[1]
    t = template(fis, env.full_role, {
        "stop": {"actionId": "daxd:dax:stop-node", "parameters": {"duration": "PT10M"}, "targets": {"Nodes": "n"}}},
        targets={"n": node_target(arns=[target])})
    e = fis.start_experiment(experimentTemplateId=t["id"])["experiment"]
    wait_state(fis, e["id"], "running")
    wait_for(lambda: refused(env.ports[node]), 5)
    env.restart()
    fis = env.client("fis")
    after = experiment(fis, e["id"])
    assert after["state"] == {"status": "failed", "reason": "Experiment was interrupted by a restart of daxd.",
                              "error": {"accountId": ACCOUNT, "code": "InternalFailure"}}
    assert after["actions"]["stop"]["state"]["status"] == "stopped"
    wait_for(lambda: not refused(env.ports[node]), 10)


def available_cluster(dax, name, dax_role, **kwargs):
    """Create a 3-node dax.t3.small cluster; return it once every node is available and listens."""
    dax.create_cluster(ClusterName=name, NodeType="dax.t3.small", ReplicationFactor=3, IamRoleArn=dax_role, **kwargs)

    def available():
        c = dax.describe_clusters(ClusterNames=[name])["Clusters"][0]
        nodes = c.get("Nodes", [])
        ok = c["Status"] == "available" and len(nodes) == 3 and all(n["NodeStatus"] == "available" for n in nodes)
        return c if ok else None

    cluster = wait_for(available, 30)
    wait_for(lambda: not any(refused(n["Endpoint"]["Port"]) for n in cluster["Nodes"]), 10)
    return cluster

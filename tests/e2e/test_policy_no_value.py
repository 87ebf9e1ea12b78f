"""The four over-grants, on real API calls.

A user tagged team=eng, with no `dept` tag, calls dynamodb:GetItem on
table/Orders with boto3. Each policy below is one the independent evaluator
(checked against AWS's documentation) denies; each was once allowed by daxd. The
evaluation table in crates/policy/tests/policy/evaluation.rs holds the same cases
for the evaluator alone; here they go through SigV4, the front door and
DynamoDB's per-table authorization. Sources:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
("Policy variables with no value") and
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
(set operators on a missing key).
"""
import json

import pytest
from botocore.exceptions import ClientError

from daxd import Daxd

ACCOUNT = "123456789012"
ORDERS = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Orders"
ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}

# (name, statements, allowed?)
CASES = [
    # 1. NotResource with an entry whose variable has no value excludes nothing.
    ("deny-notresource-unresolved",
     [ALLOW_ALL, {"Effect": "Deny", "Action": "dynamodb:GetItem",
                  "NotResource": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/${{aws:PrincipalTag/dept}}"}], False),
    # ... and in an Allow, the other Resource entry still matches.
    ("allow-resource-one-unresolved",
     [{"Effect": "Allow", "Action": "dynamodb:GetItem",
       "Resource": [f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/${{aws:PrincipalTag/dept}}", ORDERS]}], True),
    # 2. A negated operator against a variable with no value holds.
    ("deny-stringnotequals-unresolved",
     [ALLOW_ALL, {"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*",
                  "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "${aws:PrincipalTag/dept}"}}}], False),
    # 3. One unresolved value among several: the others still count.
    ("deny-stringequals-one-unresolved",
     [ALLOW_ALL, {"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*",
                  "Condition": {"StringEquals": {"aws:PrincipalTag/team": ["eng", "${aws:PrincipalTag/dept}"]}}}], False),
    # 4. ForAnyValue is false for a missing key, whatever IfExists says.
    ("allow-foranyvalue-ifexists-missing",
     [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*",
       "Condition": {"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": ["team"]}}}], False),
    # ... and ForAllValues is true for it.
    ("allow-forallvalues-ifexists-missing",
     [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*",
       "Condition": {"ForAllValues:StringEqualsIfExists": {"aws:TagKeys": ["team"]}}}], True),
    # A default for the variable resolves it.
    ("deny-stringnotequals-default",
     [ALLOW_ALL, {"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*",
                  "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "${aws:PrincipalTag/dept, 'eng'}"}}}], True),
]


@pytest.fixture(scope="module")
def setup():
    server = Daxd().start()
    ddb = server.client("dynamodb")
    ddb.create_table(TableName="Orders", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    iam = server.client("iam")
    iam.create_user(UserName="eng", Tags=[{"Key": "team", "Value": "eng"}])
    k = iam.create_access_key(UserName="eng")["AccessKey"]
    yield server, iam, server.client("dynamodb", key=(k["AccessKeyId"], k["SecretAccessKey"]))
    server.close()


@pytest.mark.parametrize("name,statements,allowed", CASES, ids=[c[0] for c in CASES])
def test_case_on_a_real_get_item(setup, name, statements, allowed):
    server, iam, ddb = setup
    document = json.dumps({"Version": "2012-10-17", "Statement": statements})
    iam.put_user_policy(UserName="eng", PolicyName="case", PolicyDocument=document)
    try:
        ddb.get_item(TableName="Orders", Key={"pk": {"S": "1"}})
        got = True
    except ClientError as e:
        assert e.response["Error"]["Code"] == "AccessDeniedException", e.response
        got = False
    assert got == allowed, name
    # The simulator, given the same context, agrees with enforcement.
    sim = iam.simulate_custom_policy(
        PolicyInputList=[document], ActionNames=["dynamodb:GetItem"], ResourceArns=[ORDERS],
        CallerArn=f"arn:aws:iam::{ACCOUNT}:user/eng",
        ContextEntries=[{"ContextKeyName": "aws:PrincipalTag/team", "ContextKeyValues": ["eng"], "ContextKeyType": "string"}])
    assert (sim["EvaluationResults"][0]["EvalDecision"] == "allowed") == allowed, (name, sim["EvaluationResults"][0])

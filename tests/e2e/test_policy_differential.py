"""daxd's policy evaluator, differentially tested.

Random identity policies and random requests, judged three ways:

1. daxd's `SimulateCustomPolicy` (the same engine that authorizes requests);
2. `policy_model.py`, an independent Python model of the documented IAM
   evaluation logic;
3. for about half the cases, real enforcement: the policy is put on an IAM
   user, and the user makes the real API call (IAM, DynamoDB or DAX); the
   call is allowed unless it fails with AccessDenied(Exception). The
   simulator then gets the context the real request carries.

daxd allowing what the model denies is an over-grant; daxd denying what the
model allows is an under-grant; a Deny of the wrong kind (explicit vs
implicit), enforcement disagreeing with the simulator, and the simulator's
MissingContextValues differing from the model's are failures too.
A failing case is shrunk (statements, conditions, values dropped while it
still fails) and printed with the seed.

The policies use policy variables that may have no value in the request
(`${aws:username}`, `${aws:PrincipalTag/dept}` -- alice has a team tag but no
dept tag --, with and without a default) in Resource, NotResource and string
and ARN condition values, beside resolvable ones; multivalued keys
(`aws:TagKeys`, `dynamodb:LeadingKeys`) with and without set qualifiers;
`IfExists` and set qualifiers on every operator family, the key present or
absent. Enforced requests carry what daxd sets: the caller's name, ARN and
tags, `dynamodb:LeadingKeys` for items, `aws:TagKeys` for iam:TagUser.
`test_operator_grid_matches_model` walks the operator corners (qualifier x
IfExists x absent/matching/other value x variable values) exhaustively.

Knobs: POLICY_DIFF_SEED (default below), POLICY_DIFF_CASES (default 600: at
150 cases, 3 of 11 one-rule mutations of the model went unnoticed; at 600, 1
of 12, caught at 2,000).
"""
import copy
import datetime as dt
import ipaddress
import json
import os
import random
import time

import pytest
from botocore.exceptions import ClientError

import policy_model
from daxd import Daxd

ACCOUNT = "123456789012"
DEFAULT_SEED = 20261126
SEED = int(os.environ.get("POLICY_DIFF_SEED", DEFAULT_SEED))
CASES = int(os.environ.get("POLICY_DIFF_CASES", 600))
ENFORCE_SHARE = 0.5

ACTIONS = ["iam:GetUser", "iam:ListUsers", "iam:CreateUser", "iam:TagUser",
           "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DescribeTable", "dax:DescribeClusters"]
ACTION_PATTERNS = ACTIONS + [
    "*", "iam:*", "iam:Get*", "iam:List*", "iam:*User", "iam:*Users", "iam:?etUser", "iam:Create*",
    "IAM:getuser", "iam:TAGUSER", "Iam:List?sers", "iam:*e*", "iam:Get", "iam:GetUser*",
    "dynamodb:*", "dynamodb:*Item", "dynamodb:Get*", "DynamoDB:putitem", "dynamodb:Describe*",
    "dynamodb:?etItem", "dax:*", "dax:Describe*", "DAX:describeclusters",
    "dax:DescribeCluster", "dynamodb:GetItems",
]

IAM = f"arn:aws:iam::{ACCOUNT}"
DDB = f"arn:aws:dynamodb:{{}}:{ACCOUNT}:table/{{}}"
RESOURCE_PATTERNS = [
    "*", f"{IAM}:user/alice", f"{IAM}:user/bob", f"{IAM}:user/Bob", f"{IAM}:user/ops/carol", f"{IAM}:user/dave",
    f"{IAM}:user/*", f"{IAM}:user/ops/*", f"{IAM}:user/", f"{IAM}:user/b?b", f"{IAM}:user/?lice",
    f"{IAM}:*", "arn:aws:iam::*:user/*", f"{IAM}:user/${{aws:username}}", f"{IAM}:user/*/carol",
    f"{IAM}:role/*", "arn:aws:iam::999999999999:user/*", f"{IAM}:user/ALICE",
    DDB.format("us-east-1", "Books"), DDB.format("us-east-1", "books"), DDB.format("us-east-1", "Orders"),
    DDB.format("eu-west-1", "Books"), DDB.format("*", "Books"), DDB.format("us-east-1", "*"),
    DDB.format("us-east-?", "*"), DDB.format("*", "B*"), DDB.format("us-east-1", "Books/*"),
    "arn:aws:dynamodb:*:*:table/*", f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:*",
    f"arn:aws:dax:us-east-1:{ACCOUNT}:cache/*", f"arn:aws:dax:*:{ACCOUNT}:*",
]
# Patterns with policy variables that can have no value in the request
# (alice has no dept tag; simulation-only requests may lack any of them).
VAR_RESOURCE_PATTERNS = [
    f"{IAM}:user/${{aws:username}}", f"{IAM}:user/${{aws:PrincipalTag/dept}}/*",
    f"{IAM}:user/${{aws:PrincipalTag/dept, 'ops'}}/*", f"{IAM}:user/${{aws:PrincipalTag/team}}",
    f"{IAM}:user/${{aws:username, 'dave'}}", f"{IAM}:user/${{aws:PrincipalTag/dept}}",
    DDB.format("us-east-1", "${aws:PrincipalTag/team, 'Books'}"),
]
RESOURCE_PATTERNS += VAR_RESOURCE_PATTERNS[1:]
REQUEST_RESOURCES = [
    "*", f"{IAM}:user/alice", f"{IAM}:user/bob", f"{IAM}:user/Bob", f"{IAM}:user/ops/carol",
    f"{IAM}:user/dave", f"{IAM}:user/", f"{IAM}:role/admin",
    DDB.format("us-east-1", "Books"), DDB.format("us-east-1", "books"), DDB.format("us-east-1", "Orders"),
    DDB.format("eu-west-1", "Books"), DDB.format("us-east-1", "Books") + "/index/byV",
    f"arn:aws:dax:us-east-1:{ACCOUNT}:cache/c1",
]

# Condition keys: type (which picks the operators), policy values, and the
# values a simulation-only request may carry. Values with policy variables
# (${...}) are in the string, ARN and multivalued keys only.
OLD, NEW = "2019-06-01T00:00:00Z", "2040-01-01T00:00:00Z"
DEPT, TEAM, USER = "${aws:PrincipalTag/dept}", "${aws:PrincipalTag/team}", "${aws:username}"
KEYS = {
    "aws:username": ("string", ["alice", "bob", "Alice", "a*", "b?b", "*", "carol", "ALICE", TEAM,
                                "${aws:PrincipalTag/dept, 'alice'}"],
                     ["alice", "bob", "Alice", "carol", "b*b"]),
    "aws:PrincipalTag/team": ("string", ["eng", "ops", "Eng", "e*", DEPT, "${aws:PrincipalTag/dept, 'eng'}", USER],
                              ["eng", "ops", "alice", "Eng"]),
    "aws:PrincipalTag/dept": ("string", ["ops", "eng", "o?s", "none", TEAM, "${aws:PrincipalTag/team, 'ops'}",
                                         "${aws:PrincipalTag/dept, 'none'}"],
                              ["ops", "eng", "none", "bob"]),
    "aws:PrincipalArn": ("arn", [f"{IAM}:user/alice", f"{IAM}:user/*", f"{IAM}:user/{USER}",
                                 "arn:aws:iam::*:user/b?b", f"{IAM}:role/*", f"{IAM}:user/{DEPT}/*",
                                 f"{IAM}:user/${{aws:PrincipalTag/dept, 'ops'}}/*", "arn:aws:iam::*:*",
                                 f"{IAM}:user/ALICE", f"arn:*:iam::{ACCOUNT}:user/?lice"],
                         [f"{IAM}:user/alice", f"{IAM}:user/bob", f"{IAM}:user/ops/carol", f"{IAM}:role/admin"]),
    "aws:RequestedRegion": ("string", ["us-east-1", "eu-west-1", "us-*", "EU-WEST-1", "*-west-?"],
                            ["us-east-1", "eu-west-1", "ap-south-1"]),
    "aws:SourceIp": ("ip", ["127.0.0.0/8", "127.0.0.1/32", "10.0.0.0/8", "192.168.0.0/16", "0.0.0.0/0", "127.0.0.1",
                            "10.1.2.0/24"],
                     ["127.0.0.1", "10.1.2.3", "192.168.7.7", "8.8.8.8"]),
    "aws:CurrentTime": ("date", [OLD, NEW, "2030-01-01T00:00:00Z", "1577836800", "2030-01-01T02:00:00+02:00"],
                        ["2018-01-01T00:00:00Z", "2030-01-01T00:00:00Z", "2040-01-01T00:00:00Z", "2045-05-05T05:05:05Z"]),
    "aws:EpochTime": ("numeric", ["1577836800", "2208988800", "1893456000", "1.9e9"],
                      [1500000000, 1893456000, 1900000000, 2300000000]),
    "aws:SecureTransport": ("boolean", ["true", "false"], [True, False]),
    "dynamodb:LeadingKeys": ("stringList", ["alice", "bob", "a*", "x?", "*", USER], ["alice", "bob", "x1", "Alice"]),
    "aws:TagKeys": ("stringList", ["t", "env", "team", "T*", "e?v", "*", "cost", "${aws:PrincipalTag/dept, 'env'}"],
                    ["t", "env", "team", "Env", "cost"]),
}
MULTIVALUED = {k for k, (kind, _, _) in KEYS.items() if kind == "stringList"}
OPS = {
    "string": ["StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
               "StringLike", "StringNotLike"],
    "ip": ["IpAddress", "NotIpAddress"],
    "date": ["DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
             "DateGreaterThanEquals"],
    "numeric": ["NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
                "NumericGreaterThan", "NumericGreaterThanEquals"],
    "boolean": ["Bool"],
    "arn": ["ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "StringEquals", "StringNotLike"],
}
OPS["stringList"] = OPS["string"]
QUALIFIERS = ["ForAnyValue", "ForAllValues"]

# What real enforcement can exercise: callers (users with keys), targets.
CALLERS = ["alice", "bob"]
# Their IAM tags, which daxd puts in the context as aws:PrincipalTag/<key>.
# iam:TagUser calls only send other keys (TAG_KEYS), so these stay put.
CALLER_TAGS = {"alice": {"team": "eng"}, "bob": {"dept": "ops", "team": "ops"}}
TAG_KEYS = ["t", "env", "cost"]
TARGET_USERS = {"alice": f"{IAM}:user/alice", "bob": f"{IAM}:user/bob",
                "carol": f"{IAM}:user/ops/carol", "dave": f"{IAM}:user/dave"}
TABLES = [("us-east-1", "Books"), ("us-east-1", "Orders"), ("eu-west-1", "Books")]


# ----- generation -----

def gen_condition(rng, request_ctx):
    block = {}
    for _ in range(rng.choice([1, 1, 2])):
        # Keys the request carries are likelier, so conditions decide something;
        # keys it lacks, for the absent-key rules (IfExists, set qualifiers).
        present = [k for k in KEYS if k in request_ctx]
        absent = [k for k in KEYS if k not in request_ctx]
        r = rng.random()
        key = rng.choice(present if present and r < 0.45 else absent if absent and r < 0.7 else list(KEYS))
        kind, values, _ = KEYS[key]
        if rng.random() < 0.1:
            op, vals = "Null", rng.choice(["true", "false"])
        else:
            op = rng.choice(OPS[kind])
            if rng.random() < 0.25:
                op += "IfExists"
            # Multivalued keys mostly with a set qualifier (without one, several
            # request values match nothing: docs/iam-evaluation.md reading (b));
            # single-valued keys with one sometimes (AWS allows it).
            if key in MULTIVALUED:
                if rng.random() < 0.7:
                    op = f"{rng.choice(QUALIFIERS)}:{op}"
            elif rng.random() < 0.15:
                op = f"{rng.choice(QUALIFIERS)}:{op}"
            vals = rng.sample(values, rng.choice([1, 1, 2]))
            with_vars = [v for v in values if "${" in v]
            if with_vars and rng.random() < 0.3:
                # A variable (maybe without a value) beside a literal value.
                plain = [v for v in values if "${" not in v]
                vals = [rng.choice(plain), rng.choice(with_vars)]
                rng.shuffle(vals)
            if kind == "boolean":
                vals = vals[:1]
            vals = vals[0] if len(vals) == 1 and rng.random() < 0.5 else vals
        name = key.upper() if rng.random() < 0.1 else key
        block.setdefault(op, {})[name] = vals
    return block


def gen_statement(rng, action, resource, request_ctx):
    st = {"Effect": "Deny" if rng.random() < 0.3 else "Allow"}
    acts = rng.sample(ACTION_PATTERNS, rng.choice([1, 1, 2, 3]))
    if rng.random() < 0.4:
        acts[0] = rng.choice([action, action.lower(), action.upper()])
    st["NotAction" if rng.random() < 0.2 else "Action"] = acts[0] if len(acts) == 1 else acts
    res = rng.sample(RESOURCE_PATTERNS, rng.choice([1, 1, 2]))
    if rng.random() < 0.4:
        res[0] = resource
        if rng.random() < 0.2:  # ARNs are case-sensitive: a near miss
            res[0] = resource[:-1] + resource[-1].swapcase()
    if rng.random() < 0.25:  # a variable, maybe without a value, beside the rest
        res.insert(rng.randrange(len(res) + 1), rng.choice(VAR_RESOURCE_PATTERNS))
    key = "NotResource" if rng.random() < 0.2 else "Resource"
    st[key] = res[0] if len(res) == 1 else res
    if rng.random() < 0.6:
        st["Condition"] = gen_condition(rng, request_ctx)
    return st


def gen_policies(rng, action, resource, ctx):
    out = []
    for _ in range(rng.choice([1, 1, 1, 2])):
        sts = [gen_statement(rng, action, resource, ctx) for _ in range(rng.choice([1, 2, 2, 3, 4]))]
        for j, st in enumerate(sts):
            if rng.random() < 0.2:
                st["Sid"] = f"S{j}"  # unique in the policy (PutUserPolicy requires it)
        out.append({"Version": "2012-10-17", "Statement": sts})
    return out


def iso(t):
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def gen_request(rng, now):
    """A request: action, resource, context {key: (type, [values])}, and how to
    make it for real (None for simulation-only cases)."""
    if rng.random() < ENFORCE_SHARE:
        action = rng.choice(ACTIONS)
        caller = rng.choice(CALLERS)
        region = rng.choice(["us-east-1", "eu-west-1"])
        call = {"caller": caller, "region": region, "action": action}
        leading = tag_keys = None
        if action.startswith("iam:") and action != "iam:ListUsers":
            target = rng.choice(list(TARGET_USERS))
            resource, call["user"] = TARGET_USERS[target], target
            if action == "iam:TagUser":
                tag_keys = rng.sample(TAG_KEYS, rng.choice([1, 1, 2, 3]))
                call["tags"] = tag_keys
        elif action == "iam:ListUsers":
            resource = f"{IAM}:user/"
        elif action.startswith("dynamodb:"):
            region, table = rng.choice(TABLES)
            call.update(region=region, table=table)
            resource = DDB.format(region, table)
            if action != "dynamodb:DescribeTable":
                leading = rng.choice(["alice", "bob", "x1"])
                call["key"] = leading
        else:
            resource = "*"
        ctx = {"aws:username": ("string", [caller]),
               "aws:SourceIp": ("ip", [ipaddress.ip_address("127.0.0.1")]),
               "aws:SecureTransport": ("boolean", [False]),
               "aws:RequestedRegion": ("string", [region]),
               "aws:CurrentTime": ("date", [now]),
               "aws:EpochTime": ("numeric", [float(int(now.timestamp()))]),
               "aws:PrincipalArn": ("string", [f"{IAM}:user/{caller}"])}
        for k, v in CALLER_TAGS[caller].items():
            ctx[f"aws:PrincipalTag/{k}"] = ("string", [v])
        if leading is not None:
            ctx["dynamodb:LeadingKeys"] = ("stringList", [leading])
        if tag_keys is not None:
            # daxd: the keys of the Tags sent (crates/daxd/src/api/iam.rs, auth.rs)
            ctx["aws:TagKeys"] = ("stringList", list(tag_keys))
        return action, resource, ctx, call
    action = rng.choice(ACTIONS)
    resource = rng.choice(REQUEST_RESOURCES)
    ctx = {}
    for key, (kind, _, values) in KEYS.items():
        if rng.random() < 0.5:
            if kind == "stringList":
                ctx[key] = ("stringList", rng.sample(values, rng.choice([1, 2, 3])))
            else:
                # Half the time a value the policies use too, for the boundaries.
                v = rng.choice(values if rng.random() < 0.5 else [x for x in KEYS[key][1] if "${" not in x])
                v = {"ip": lambda x: ipaddress.ip_address(x.split("/")[0]), "date": policy_model.parse_date,
                     "numeric": float, "boolean": lambda x: x if isinstance(x, bool) else x == "true",
                     }.get(kind, lambda x: x)(v)
                ctx[key] = (kind, [v])
    return action, resource, ctx, None


# ----- the three oracles -----

def context_entries(ctx):
    out = []
    for key, (kind, values) in ctx.items():
        text = [iso(v) if isinstance(v, dt.datetime) else ("true" if v else "false") if isinstance(v, bool)
                else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)) for v in values]
        ktype = {"boolean": "boolean", "ip": "ip", "date": "date", "numeric": "numeric",
                 "stringList": "stringList"}.get(kind, "string")
        out.append({"ContextKeyName": key, "ContextKeyValues": text, "ContextKeyType": ktype})
    return out


# Errors a service gives only after authorizing the call.
AUTHORIZED_REFUSALS = {"NoSuchEntity", "EntityAlreadyExists", "ResourceNotFoundException"}


class World:
    def __init__(self, server):
        self.server = server
        self.iam = server.client("iam")
        self.keys = {}
        self.clients = {}
        self.iam.create_user(UserName="carol", Path="/ops/")
        for name in CALLERS:
            self.iam.create_user(UserName=name)
            self.iam.tag_user(UserName=name, Tags=[{"Key": k, "Value": v} for k, v in CALLER_TAGS[name].items()])
            k = self.iam.create_access_key(UserName=name)["AccessKey"]
            self.keys[name] = (k["AccessKeyId"], k["SecretAccessKey"])
        for region, table in TABLES:
            server.client("dynamodb", region=region).create_table(
                TableName=table, BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        self.attached = {name: set() for name in CALLERS}

    def simulate(self, policies, action, resource, ctx):
        return self.simulate_full(policies, action, resource, ctx)[0]

    def simulate_full(self, policies, action, resource, ctx):
        """The simulator's decision and its MissingContextValues (lower-cased)."""
        try:
            res = self.iam.simulate_custom_policy(
                PolicyInputList=[json.dumps(p) for p in policies], ActionNames=[action],
                ResourceArns=[resource], ContextEntries=context_entries(ctx))["EvaluationResults"]
        except ClientError as e:
            return "error: " + e.response["Error"]["Code"] + ": " + e.response["Error"].get("Message", ""), set()
        assert len(res) == 1
        missing = res[0]["MissingContextValues"]
        assert len({k.lower() for k in missing}) == len(missing), f"a key listed twice: {missing}"
        return res[0]["EvalDecision"], {k.lower() for k in missing}

    def client(self, caller, service, region):
        k = (caller, service, region)
        if k not in self.clients:
            self.clients[k] = self.server.client(service, key=self.keys[caller], region=region)
        return self.clients[k]

    def enforce(self, policies, call):
        caller = call["caller"]
        names = set()
        for i, p in enumerate(policies):
            self.iam.put_user_policy(UserName=caller, PolicyName=f"p{i}", PolicyDocument=json.dumps(p))
            names.add(f"p{i}")
        for stale in self.attached[caller] - names:
            self.iam.delete_user_policy(UserName=caller, PolicyName=stale)
        self.attached[caller] = names
        service, op = call["action"].split(":")
        c = self.client(caller, service, call["region"])
        try:
            if op == "GetUser":
                c.get_user(UserName=call["user"])
            elif op == "ListUsers":
                c.list_users()
            elif op == "CreateUser":
                c.create_user(UserName=call["user"])
            elif op == "TagUser":
                c.tag_user(UserName=call["user"], Tags=[{"Key": k, "Value": "v"} for k in call["tags"]])
            elif op == "GetItem":
                c.get_item(TableName=call["table"], Key={"pk": {"S": call["key"]}})
            elif op == "PutItem":
                c.put_item(TableName=call["table"], Item={"pk": {"S": call["key"]}, "v": {"S": "x"}})
            elif op == "DescribeTable":
                c.describe_table(TableName=call["table"])
            elif op == "DescribeClusters":
                c.describe_clusters()
            else:
                raise AssertionError(op)
        except ClientError as e:
            code = e.response["Error"]["Code"]
            if code in ("AccessDenied", "AccessDeniedException"):
                return "denied"
            # Only the service's own answers to an authorized call count as
            # "allowed": the user or table does not exist, or already does.
            # Anything else (a validation error, a 500) is a failure of the test.
            if code in AUTHORIZED_REFUSALS and e.response["ResponseMetadata"]["HTTPStatusCode"] < 500:
                return "allowed"
            raise AssertionError(f"enforcement call {call} failed with neither a denial nor a service refusal: {e}")
        return "allowed"


def judge(world, case):
    """Each oracle's answer, and the failure kinds ([] when they agree)."""
    policies, action, resource, ctx, call = case
    simulation, missing = world.simulate_full(policies, action, resource, ctx)
    got = {"model": policy_model.evaluate(policies, action, resource, ctx), "simulation": simulation}
    if call is not None:
        got["enforcement"] = world.enforce(policies, call)
    fails = []
    model_allows = got["model"] == "allowed"
    daxd_allows = [k for k in ("simulation", "enforcement") if got.get(k) == "allowed"]
    if got["simulation"].startswith("error"):
        fails.append("simulation error")
    if daxd_allows and not model_allows:
        fails.append("over-grant")
    if model_allows and any(k in got and got[k] != "allowed" for k in ("simulation", "enforcement")):
        fails.append("under-grant")
    if not model_allows and got["simulation"] in ("explicitDeny", "implicitDeny") and got["simulation"] != got["model"]:
        fails.append("deny kind")
    if "enforcement" in got and (got["enforcement"] == "allowed") != (got["simulation"] == "allowed"):
        fails.append("enforcement vs simulation")
    want_missing = policy_model.missing_keys(policies, action, resource, ctx)
    if not got["simulation"].startswith("error") and missing != want_missing:
        got["missing context values"] = {"simulator": sorted(missing), "model": sorted(want_missing)}
        fails.append("missing context values")
    return got, fails


# ----- shrinking -----

def smaller(policies):
    """Candidate policies one step simpler than `policies`."""
    for i in range(len(policies)):
        if len(policies) > 1:
            yield policies[:i] + policies[i + 1:]
    for i, p in enumerate(policies):
        sts = p["Statement"]
        for j, st in enumerate(sts):
            def with_st(new, i=i, j=j):
                out = copy.deepcopy(policies)
                if new is None:
                    del out[i]["Statement"][j]
                else:
                    out[i]["Statement"][j] = new
                return out
            if len(sts) > 1:
                yield with_st(None)
            for field in ("Action", "NotAction", "Resource", "NotResource"):
                v = st.get(field)
                if isinstance(v, list):
                    for k in range(len(v)):
                        s2 = copy.deepcopy(st)
                        s2[field] = v[k]
                        yield with_st(s2)
            if "Sid" in st:
                s2 = copy.deepcopy(st)
                del s2["Sid"]
                yield with_st(s2)
            cond = st.get("Condition")
            if cond:
                s2 = copy.deepcopy(st)
                del s2["Condition"]
                yield with_st(s2)
                for op, keys in cond.items():
                    for key, vals in keys.items():
                        if len(cond) > 1 or len(keys) > 1:
                            s2 = copy.deepcopy(st)
                            del s2["Condition"][op][key]
                            if not s2["Condition"][op]:
                                del s2["Condition"][op]
                            yield with_st(s2)
                        if isinstance(vals, list):
                            for k in range(len(vals)):
                                s2 = copy.deepcopy(st)
                                s2["Condition"][op][key] = vals[k]
                                yield with_st(s2)


def shrink(world, case, kinds, budget=150):
    policies, action, resource, ctx, call = case
    progress = True
    while progress and budget > 0:
        progress = False
        for cand in smaller(policies):
            budget -= 1
            _, f = judge(world, (cand, action, resource, ctx, call))
            if set(kinds) & set(f):
                policies, progress = cand, True
                break
            if budget <= 0:
                break
    # Drop context keys the failure does not need (simulation-only cases).
    if call is None:
        for key in list(ctx):
            smaller_ctx = {k: v for k, v in ctx.items() if k != key}
            _, f = judge(world, (policies, action, resource, smaller_ctx, call))
            if set(kinds) & set(f):
                ctx = smaller_ctx
    return policies, action, resource, ctx, call


def show(case, got, kinds):
    policies, action, resource, ctx, call = case
    shown_ctx = {k: [iso(v) if isinstance(v, dt.datetime) else str(v) for v in vals] for k, (_, vals) in ctx.items()}
    return (f"  {', '.join(kinds)}: {got}\n"
            f"    action={action} resource={resource}\n    context={json.dumps(shown_ctx)}\n"
            f"    real call={json.dumps(call)}\n    policies={json.dumps(policies)}")


# ----- the test -----

@pytest.fixture(scope="module")
def world():
    server = Daxd().start()
    try:
        yield World(server)
    finally:
        server.close()


def test_evaluator_matches_model_simulator_and_enforcement(world):
    rng = random.Random(SEED)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    print(f"\npolicy differential: seed {SEED}, {CASES} cases (POLICY_DIFF_SEED / POLICY_DIFF_CASES)")
    started = time.time()
    counts = {"allowed": 0, "explicitDeny": 0, "implicitDeny": 0, "enforced": 0}
    failures = []
    for n in range(CASES):
        action, resource, ctx, call = gen_request(rng, now)
        policies = gen_policies(rng, action, resource, ctx)
        case = (policies, action, resource, ctx, call)
        got, kinds = judge(world, case)
        counts[got["model"]] += 1
        counts["enforced"] += call is not None
        if kinds:
            small = shrink(world, copy.deepcopy(case), kinds)
            small_got, small_kinds = judge(world, small)
            if not set(kinds) & set(small_kinds):
                small, small_got, small_kinds = case, got, kinds
            text = f"case {n} (seed {SEED}):\n" + show(small, small_got, small_kinds)
            failures.append(text)
    took = time.time() - started
    print(f"policy differential: {CASES} cases in {took:.1f} s; model decisions {counts}; "
          f"{len(failures)} failing")
    assert not failures, (f"seed {SEED}: {len(failures)} of {CASES} cases disagree "
                          f"(rerun: POLICY_DIFF_SEED={SEED} POLICY_DIFF_CASES={CASES})\n" + "\n".join(failures[:5]))


# Every operator family with and without a set qualifier and IfExists, the
# key absent, matching and not matching; string and ARN values also beside and
# as an unresolvable variable. The random cases reach the rarer corners of this
# (a qualifier with IfExists on an absent Bool key, say) only now and then.
GRID = [  # key, operators, policy value, a matching and another request value
    ("aws:username", ["StringEquals", "StringNotEquals", "StringLike"], "a*", "a*", "alice"),
    ("aws:username", ["StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringNotLike"], "alice", "ALICE", "bob"),
    ("aws:EpochTime", ["NumericLessThan", "NumericNotEquals"], "1893456000", 1500000000.0, 1893456000.0),
    ("aws:CurrentTime", ["DateGreaterThan", "DateNotEquals"], "2030-01-01T00:00:00Z",
     policy_model.parse_date("2040-01-01T00:00:00Z"), policy_model.parse_date("2030-01-01T00:00:00Z")),
    ("aws:SecureTransport", ["Bool"], "true", True, False),
    ("aws:SourceIp", ["IpAddress", "NotIpAddress"], "10.0.0.0/8",
     ipaddress.ip_address("10.1.2.3"), ipaddress.ip_address("127.0.0.1")),
    ("aws:PrincipalArn", ["ArnLike", "ArnNotEquals", "ArnNotLike"], f"{IAM}:user/a*",
     f"{IAM}:user/alice", f"{IAM}:role/alice"),
    ("aws:TagKeys", ["StringLike", "StringNotEquals"], "t*", ["t"], ["t", "env"]),
]


def grid_cases():
    kinds = {"aws:EpochTime": "numeric", "aws:CurrentTime": "date", "aws:SecureTransport": "boolean",
             "aws:SourceIp": "ip", "aws:TagKeys": "stringList"}
    for key, ops, value, hit, miss in GRID:
        kind = kinds.get(key, "string")
        variants = [value]
        if kind in ("string", "stringList") or key == "aws:PrincipalArn":
            variants += [[value, DEPT], DEPT, "${aws:PrincipalTag/dept, 'none'}"]
        for op in ops:
            for qualifier in ("", "ForAnyValue:", "ForAllValues:"):
                for suffix in ("", "IfExists"):
                    for values in variants:
                        for request in (None, hit, miss):
                            ctx = {}
                            if request is not None:
                                ctx[key] = (kind, request if isinstance(request, list) else [request])
                            st = {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*",
                                  "Condition": {f"{qualifier}{op}{suffix}": {key: values}}}
                            policies = [{"Version": "2012-10-17", "Statement": [st]}]
                            yield policies, "iam:GetUser", f"{IAM}:user/alice", ctx, None


def test_operator_grid_matches_model(world):
    failures = []
    cases = list(grid_cases())
    for case in cases:
        got, kinds = judge(world, case)
        if kinds:
            failures.append(show(case, got, kinds))
    assert not failures, f"{len(failures)} of {len(cases)} grid cases disagree\n" + "\n".join(failures[:8])


def test_simulator_does_not_invent_a_username(world):
    """Minimal case found by the differential test (seed 3, shrunk; fixed since):
    nothing in the request says who the caller is, so `Null: aws:username
    false` must not hold, and the Allow must not apply."""
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "dax:DescribeClusters", "Resource": "*",
        "Condition": {"Null": {"aws:username": "false"}}}]}
    assert policy_model.evaluate([policy], "dax:DescribeClusters", "*", {}) == "implicitDeny"
    assert world.simulate([policy], "dax:DescribeClusters", "*", {}) == "implicitDeny"

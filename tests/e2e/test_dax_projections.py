"""Projections read through a DAX node answer what DynamoDB answers.

A differential test: random items (every type, nested maps and lists) and random
projection expressions (list indexes in and out of range, nested paths, repeated and
overlapping paths, names that need `#` placeholders), read through the OFFICIAL Python
DAX client (`amazondax`) with GetItem, BatchGetItem, Query, Scan and TransactGetItems,
each twice (a cache miss, then the same read again: a cache hit), and compared with
daxd's own DynamoDB API (boto3) answering the same request.

Knobs: DAXD_PROJ_SEED (default: random, printed), DAXD_PROJ_CASES (default 150).
"""
import json
import os
import random
import re
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from daxd import Daxd
from test_dax_data import create_cluster, dax_client, norm, role

ARGS = ["--dax-ports", "26500-26519"]
TABLE = "Projections"
SEED = int(os.environ.get("DAXD_PROJ_SEED", random.randrange(1 << 32)))
CASES = int(os.environ.get("DAXD_PROJ_CASES", "150"))

# Names an expression may hold as they are, and names that need a placeholder (reserved
# words, characters outside an identifier).
PLAIN = ["a", "b", "c", "x", "mylist", "mymap", "nested", "deep"]
PLACEHOLDER = ["other", "name", "size", "status", "a.b", "with space", "x-y", "ünï", "0lead", "[i]"]
NAMES = PLAIN + PLACEHOLDER
IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@pytest.fixture(scope="module")
def env():
    print(f"\nprojection differential: DAXD_PROJ_SEED={SEED} DAXD_PROJ_CASES={CASES}")
    daxd = Daxd(args=ARGS).start()
    iam = daxd.client("iam")
    full = role(iam, "DAXFull", managed="arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess")
    ddb = daxd.client("dynamodb")
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST")
    cluster = create_cluster(daxd, "proj", full)
    daxd.url = cluster["ClusterDiscoveryEndpoint"]["URL"]
    with dax_client(daxd.url, daxd.root) as dax:
        daxd.ddb, daxd.dax = ddb, dax
        yield daxd
    daxd.close()


# ---- random items and projections -----------------------------------------------------

def rand_number(r):
    return r.choice([str(r.randint(-1000, 1000)), f"{r.uniform(-1e6, 1e6):.4f}", f"{r.randint(1, 9)}E{r.randint(-20, 20)}"])


def rand_scalar(r):
    t = r.choice(["S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS"])
    if t == "S":
        return {"S": r.choice(["", "zero", "one", "two", "héllo", "x" * r.randint(1, 5)])}
    if t == "N":
        return {"N": rand_number(r)}
    if t == "B":
        return {"B": bytes(r.randrange(256) for _ in range(r.randint(0, 4)))}
    if t == "BOOL":
        return {"BOOL": r.random() < 0.5}
    if t == "NULL":
        return {"NULL": True}
    if t == "SS":
        return {"SS": sorted({r.choice("abcdef") * r.randint(1, 3) for _ in range(r.randint(1, 4))})}
    if t == "NS":
        return {"NS": list({str(Decimal(rand_number(r)).normalize()): None for _ in range(r.randint(1, 4))})}
    return {"BS": list({bytes([r.randrange(256), r.randrange(256)]): None for _ in range(r.randint(1, 3))})}


def rand_value(r, depth):
    roll = r.random()
    if depth < 3 and roll < 0.25:
        return {"L": [rand_value(r, depth + 1) for _ in range(r.randint(0, 4))]}
    if depth < 3 and roll < 0.45:
        return {"M": {n: rand_value(r, depth + 1) for n in r.sample(NAMES, r.randint(0, 4))}}
    return rand_scalar(r)


def rand_item(r):
    return {n: rand_value(r, 0) for n in r.sample(NAMES, r.randint(1, 6))}


def walk(r, value, path):
    """A path into `value` (mostly to something that exists, sometimes past its end)."""
    while r.random() < 0.75:
        if "M" in value and value["M"] and r.random() < 0.9:
            name = r.choice(list(value["M"]))
            path, value = path + [name], value["M"][name]
        elif "L" in value and value["L"] and r.random() < 0.9:
            i = r.randrange(len(value["L"]))
            path, value = path + [i], value["L"][i]
        else:
            # Past what exists: an index out of range, a name that is not there, an index
            # into a map or a name into a list.
            path = path + [r.choice([r.randint(0, 6), r.choice(NAMES)])]
            if r.random() < 0.5:
                break
            value = {}
    return path


def rand_paths(r, item):
    paths = []
    roots = r.sample(list(item), len(item))
    for _ in range(r.randint(1, 4)):
        if roots and r.random() < 0.85:
            root = roots.pop() if r.random() < 0.7 else r.choice(list(item))
            paths.append(walk(r, item[root], [root]))
        else:
            paths.append(walk(r, {}, [r.choice(NAMES)]))
    # Other elements of a list a path goes through (in request order or not, in range
    # or not, the same element again under another name).
    for _ in range(r.randint(0, 3)):
        p = r.choice(paths)
        at = [i for i, e in enumerate(p) if isinstance(e, int)]
        if at:
            i = r.choice(at)
            other = r.choice([k for k in range(6) if k != p[i] or r.random() < 0.1] or [p[i]])
            sibling = p[:i] + [other] + walk(r, {}, [])[:r.randint(0, 1)]
            paths.insert(r.randrange(len(paths) + 1), sibling)
    # Repeated and overlapping paths (DynamoDB refuses them; the node must too).
    if r.random() < 0.08:
        p = r.choice(paths)
        extra = r.choice([list(p), p[:max(1, len(p) - 1)], p + [r.choice([0, "x"])]])
        paths.insert(r.randrange(len(paths) + 1), extra)
    return paths


def render(r, paths):
    """A ProjectionExpression and its ExpressionAttributeNames."""
    names, out = {}, []
    for p in paths:
        text = ""
        for e in p:
            if isinstance(e, int):
                text += f"[{e}]"
                continue
            if not IDENT.match(e) or e not in PLAIN or r.random() < 0.3:
                ph = next((k for k, v in names.items() if v == e), None) or f"#n{len(names)}"
                names[ph] = e
                e = ph
            text += ("." if text else "") + e
        out.append(text)
    return ", ".join(out), names


# ---- the two sides --------------------------------------------------------------------

def call(client, op, **kw):
    try:
        return ("ok", getattr(client, op)(**kw))
    except ClientError as e:
        return ("error", e.response["Error"]["Code"], e.response["Error"].get("Message"))


def answer(op, out, dynamodb=False):
    """The part of a response both sides must agree on."""
    if out[0] == "error":
        return out
    r = out[1]
    if op == "transact_get_items" and dynamodb:
        # daxd's DynamoDB adds the key attributes to an item a projection matched in
        # TransactGetItems; a DAX answer cannot carry them (a projected item is a map of
        # the request's path ordinals), so they are compared without them. The random
        # projections never name `pk` or `sk`.
        for x in r["Responses"]:
            if "Item" in x:
                x["Item"] = {k: v for k, v in x["Item"].items() if k not in ("pk", "sk")}
    if op == "get_item":
        return ("ok", norm(r["Item"]) if "Item" in r else None)
    if op == "batch_get_item":
        return ("ok", sorted(norm(i) for i in r["Responses"].get(TABLE, [])), r.get("UnprocessedKeys") or {})
    if op in ("query", "scan"):
        return ("ok", [norm(i) for i in r["Items"]], r["Count"], r["ScannedCount"])
    if op == "transact_get_items":
        return ("ok", [norm(x["Item"]) if "Item" in x else None for x in r["Responses"]])
    raise AssertionError(op)


def requests(case, expr, names):
    """Each read of a case, on keys of its own (so that the first read is a cache miss)."""
    proj = {"ProjectionExpression": expr}
    if names:
        proj["ExpressionAttributeNames"] = names
    key = lambda op: {"pk": {"S": f"{case}-{op}"}, "sk": {"S": "0"}}  # noqa: E731
    missing = {"pk": {"S": f"{case}-none"}, "sk": {"S": "0"}}
    scan_names = {**names, "#pk": "pk"}
    return [
        ("get_item", dict(TableName=TABLE, Key=key("get"), **proj)),
        ("batch_get_item", dict(RequestItems={TABLE: {"Keys": [key("batch"), missing], **proj}})),
        ("query", dict(TableName=TABLE, KeyConditionExpression="pk = :p",
                       ExpressionAttributeValues={":p": {"S": f"{case}-query"}}, **proj)),
        ("scan", dict(TableName=TABLE, FilterExpression="#pk = :p", ExpressionAttributeValues={":p": {"S": f"{case}-scan"}},
                      ProjectionExpression=expr, ExpressionAttributeNames=scan_names)),
        ("transact_get_items", dict(TransactItems=[{"Get": dict(TableName=TABLE, Key=key("tget"), **proj)},
                                                   {"Get": dict(TableName=TABLE, Key=missing, **proj)}])),
    ]


def check_case(env, case, items, expr, names):
    """Write `items` (the first under each read's own key, the rest beside it for Query and
    Scan) around DAX, then compare every read through DAX, twice, with DynamoDB's answer."""
    for op in ("get", "batch", "query", "scan", "tget"):
        for i, item in enumerate(items if op in ("query", "scan") else items[:1]):
            env.ddb.put_item(TableName=TABLE, Item={**item, "pk": {"S": f"{case}-{op}"}, "sk": {"S": str(i)}})
    failures = []
    for op, kw in requests(case, expr, names):
        want = answer(op, call(env.ddb, op, **kw), dynamodb=True)
        for attempt in ("miss", "hit"):
            got = answer(op, call(env.dax, op, **json.loads(json.dumps(kw, default=_b), object_hook=_unb)))
            if got != want:
                failures.append(f"{op} ({attempt}):\n  dax:      {got}\n  dynamodb: {want}")
    assert not failures, (
        f"case {case} (DAXD_PROJ_SEED={SEED}): ProjectionExpression={expr!r} ExpressionAttributeNames={names}\n"
        f"items={items!r}\n" + "\n".join(failures))


def _b(o):
    """Copies of a request (the clients may change what they are given)."""
    if isinstance(o, bytes):
        return {"__b": o.hex()}
    raise TypeError(o)


def _unb(d):
    return bytes.fromhex(d["__b"]) if set(d) == {"__b"} else d


# ---- fixed cases ----------------------------------------------------------------------

ISSUE_ITEM = {"mylist": {"L": [{"S": "zero"}, {"S": "one"}, {"S": "two"}]},
              "mymap": {"M": {"nested": {"S": "deep"}, "other": {"N": "42"}}},
              "a": {"M": {"b": {"S": "x"}}},
              "deep": {"L": [{"M": {"x": {"L": [{"S": "p"}, {"M": {"a": {"S": "q"}, "b": {"N": "1"}}}]}}}, {"S": "s"}]}}


@pytest.mark.parametrize("expr,names", [
    # The three rows of the issue.
    ("mylist[1], mymap.nested", {}),
    ("mylist[1], mylist[2]", {}),
    ("mylist[1]", {}),
    # Request order is not list order; out of range; into a scalar.
    ("mylist[2], mylist[0]", {}),
    ("mylist[7], mylist[1]", {}),
    ("mylist[0].x, mylist[2]", {}),
    # Repeated and overlapping paths are refused.
    ("a.b, a", {}),
    ("a, a.b", {}),
    ("mylist[0], mylist[0]", {}),
    ("mylist, mylist[1]", {}),
    # Placeholders, a reserved word, nested list-in-map-in-list paths.
    ("#m.#o, #l[1]", {"#m": "mymap", "#o": "other", "#l": "mylist"}),
    ("deep[0].x[1].b, deep[0].x[0], deep[1]", {}),
    ("deep[0].x[1].a, deep[0].x[1].b", {}),
    ("deep[0].x[3], deep[5].x", {}),
])
def test_fixed_projections(env, expr, names):
    case = "fixed-" + re.sub(r"[^A-Za-z0-9]", "_", expr)
    check_case(env, case, [ISSUE_ITEM, {**ISSUE_ITEM, "mylist": {"L": [{"S": "only"}]}}], expr, names)


def test_issue_rows_answer_what_dynamodb_answers(env):
    """The issue's table, spelled out."""
    check_case(env, "issue", [ISSUE_ITEM], "mylist[1], mymap.nested", {})
    out = env.dax.query(TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "issue-query"}},
                        ProjectionExpression="mylist[1], mymap.nested")
    assert out["Items"] == [{"mylist": {"L": [{"S": "one"}]}, "mymap": {"M": {"nested": {"S": "deep"}}}}]
    out = env.dax.transact_get_items(TransactItems=[{"Get": {"TableName": TABLE, "Key": {"pk": {"S": "issue-tget"}, "sk": {"S": "0"}},
                                                             "ProjectionExpression": "mylist[1]"}}])
    assert out["Responses"][0]["Item"] == {"mylist": {"L": [{"S": "one"}]}}


# ---- the differential -----------------------------------------------------------------

def test_random_projections_answer_what_dynamodb_answers(env):
    r = random.Random(SEED)
    for n in range(CASES):
        items = [rand_item(r) for _ in range(r.randint(1, 3))]
        expr, names = render(r, rand_paths(r, items[0]))
        check_case(env, f"r{n}", items, expr, names)

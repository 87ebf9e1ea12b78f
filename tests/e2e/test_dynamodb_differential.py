"""DynamoDB's answers through daxd are the engine's answers.

Every request of the corpus is sent, as raw JSON over HTTP signed with SigV4
(so no client-side validation interferes), to daxd as root and to the
engine's own server (`dynoxide serve`, dynoxide-rs 3.2.0, whose error texts
are checked against DynamoDB by its authors' AWS-verified suite). Both must
answer with the same HTTP status, error code and message, and, for a
success, the same output modulo what must differ (ARNs' region and account,
timestamps, table ids).

The corpus: the request shapes of daxd's DynamoDB tests (`test_dynamodb.py`,
moto's conformance cases in `docs/conformance.md`, the issue's list), then
invalid requests generated from the botocore model for every DynamoDB
operation daxd serves: each required member missing, each member of the
wrong type, empty, too long or too short, out of its enum or range, and
faults combined. Where daxd differs on purpose, the case is in EXCEPTIONS,
which must match the table in docs/conformance.md.

The engine's binary is built by `cargo install dynoxide-rs --version 3.2.0
--locked --root target/tools` (scripts/test does it). Without it the test
skips, unless DAXD_DIFF_REQUIRED is set (as in scripts/test), when it fails.
"""
import copy
import http.client
import json
import os
import re
import socket
import subprocess
import tempfile
import time
from types import SimpleNamespace

import pytest

from daxd import ROOT, Daxd, signed_headers

DYNOXIDE = ROOT / "target" / "tools" / "bin" / "dynoxide"
MODEL = json.loads((ROOT / "models" / "dynamodb.json").read_text())
SHAPES = MODEL["shapes"]
DOC = ROOT / "docs" / "conformance.md"

# The operations the embedded engine runs (crates/dynamo/src/engine.rs) that
# the DynamoDB model has, and the ones daxd answers itself.
ENGINE_OPS = [
    "CreateTable", "DeleteTable", "DescribeTable", "ListTables", "UpdateTable", "PutItem", "GetItem", "DeleteItem",
    "UpdateItem", "Query", "Scan", "SearchVectors", "BatchGetItem", "BatchWriteItem", "TransactWriteItems",
    "TransactGetItems", "UpdateTimeToLive", "DescribeTimeToLive", "ExecuteStatement", "ExecuteTransaction",
    "BatchExecuteStatement", "TagResource", "UntagResource", "ListTagsOfResource",
]
DAXD_OPS = ["DescribeEndpoints", "DescribeLimits", "PutResourcePolicy", "GetResourcePolicy", "DeleteResourcePolicy"]

# Cases where daxd answers differently on purpose: case id -> the row of
# docs/conformance.md ("Where daxd differs from the engine on purpose") that
# decides it. test_exceptions_match_the_doc keeps the two in step.
EXCEPTIONS = {
    "arn-as-name/GetItem": "table ARNs as names",
    "arn-as-name/DescribeTable": "table ARNs as names",
    "daxd-op/DescribeEndpoints": "operations the engine does not serve",
    "daxd-op/DescribeLimits": "operations the engine does not serve",
    "daxd-op/PutResourcePolicy": "resource policies",
    "daxd-op/GetResourcePolicy": "resource policies",
    "daxd-op/DeleteResourcePolicy": "resource policies",
    "conf/transact-empty-names": "checks the engine lacks",
    "conf/between-null": "checks the engine lacks",
    "conf/unused-missing-table": "checks the engine lacks",
    "conf/key-two-attributes": "checks the engine lacks",
    "conf/create-gsi-bad-key-type": "checks the engine lacks",
    "conf/create-lsi-bad-key-type": "checks the engine lacks",
    **{f"gen/{op}/type-{member}": "members the engine does not read" for op, member in [
        ("CreateTable", "WarmThroughput"), ("CreateTable", "ResourcePolicy"), ("CreateTable", "GlobalTableSourceArn"),
        ("CreateTable", "GlobalTableSettingsReplicationMode"), ("UpdateTable", "SSESpecification"),
        ("UpdateTable", "ReplicaUpdates"), ("UpdateTable", "MultiRegionConsistency"),
        ("UpdateTable", "GlobalTableWitnessUpdates"), ("UpdateTable", "WarmThroughput"),
        ("UpdateTable", "GlobalTableSettingsReplicationMode"), ("UpdateTable", "DisassociationProtectionEnabled"),
        ("ListTagsOfResource", "NextToken")]},
}

BOOKS = "Books"
KEY = {"author": {"S": "Herbert"}, "title": {"S": "Dune"}}


def book(author, title, year, **extra):
    return {"author": {"S": author}, "title": {"S": title}, "year": {"N": str(year)}, **extra}


def create_books(name=BOOKS):
    return {
        "TableName": name,
        "AttributeDefinitions": [
            {"AttributeName": "author", "AttributeType": "S"},
            {"AttributeName": "title", "AttributeType": "S"},
            {"AttributeName": "year", "AttributeType": "N"},
        ],
        "KeySchema": [{"AttributeName": "author", "KeyType": "HASH"}, {"AttributeName": "title", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [{
            "IndexName": "by-year",
            "KeySchema": [{"AttributeName": "year", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        }],
        "BillingMode": "PAY_PER_REQUEST",
    }


# ---------------------------------------------------------------- the corpus

def shapes_of_daxd_tests():
    """Requests as daxd's DynamoDB tests make them, in order (they build on each other)."""
    c = []
    add = lambda cid, op, body: c.append((cid, op, body))  # noqa: E731
    add("setup/create-books", "CreateTable", create_books())
    add("setup/create-simple", "CreateTable", {
        "TableName": "Simple", "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}})
    add("setup/create-exists", "CreateTable", create_books())
    add("table/describe", "DescribeTable", {"TableName": BOOKS})
    add("table/describe-missing", "DescribeTable", {"TableName": "Nope"})
    add("table/list", "ListTables", {})
    add("table/list-limit", "ListTables", {"Limit": 1})
    add("table/list-start", "ListTables", {"ExclusiveStartTableName": "Books", "Limit": 5})
    add("item/put", "PutItem", {"TableName": BOOKS, "Item": book("Herbert", "Dune", 1965, pages={"N": "412"})})
    add("item/put2", "PutItem", {"TableName": BOOKS, "Item": book("Herbert", "Dune Messiah", 1969)})
    add("item/put-return-old", "PutItem", {"TableName": BOOKS, "Item": book("Herbert", "Dune Messiah", 1969), "ReturnValues": "ALL_OLD"})
    add("item/get", "GetItem", {"TableName": BOOKS, "Key": KEY})
    add("item/get-projection", "GetItem", {"TableName": BOOKS, "Key": KEY, "ProjectionExpression": "#p, author",
                                           "ExpressionAttributeNames": {"#p": "pages"}, "ConsistentRead": True})
    add("item/get-missing", "GetItem", {"TableName": BOOKS, "Key": {"author": {"S": "x"}, "title": {"S": "y"}}})
    add("item/update", "UpdateItem", {"TableName": BOOKS, "Key": KEY, "UpdateExpression": "SET pages = pages + :one ADD reads :one",
                                      "ExpressionAttributeValues": {":one": {"N": "1"}}, "ReturnValues": "UPDATED_NEW"})
    add("item/update-condition-fails", "UpdateItem", {
        "TableName": BOOKS, "Key": KEY, "UpdateExpression": "SET pages = :p", "ConditionExpression": "pages > :big",
        "ExpressionAttributeValues": {":p": {"N": "1"}, ":big": {"N": "10000"}}})
    add("item/update-condition-fails-return", "UpdateItem", {
        "TableName": BOOKS, "Key": KEY, "UpdateExpression": "SET pages = :p", "ConditionExpression": "attribute_not_exists(author)",
        "ExpressionAttributeValues": {":p": {"N": "1"}}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
    add("item/update-legacy", "UpdateItem", {"TableName": BOOKS, "Key": KEY,
                                             "AttributeUpdates": {"note": {"Action": "PUT", "Value": {"S": "classic"}}}})
    add("item/update-remove", "UpdateItem", {"TableName": BOOKS, "Key": KEY, "UpdateExpression": "REMOVE note", "ReturnValues": "ALL_NEW"})
    add("query/begins-with", "Query", {"TableName": BOOKS, "KeyConditionExpression": "author = :a AND begins_with(title, :t)",
                                       "ExpressionAttributeValues": {":a": {"S": "Herbert"}, ":t": {"S": "Dune"}}})
    add("query/index", "Query", {"TableName": BOOKS, "IndexName": "by-year", "KeyConditionExpression": "#y = :y",
                                 "ExpressionAttributeNames": {"#y": "year"}, "ExpressionAttributeValues": {":y": {"N": "1965"}}})
    add("query/legacy", "Query", {"TableName": BOOKS, "KeyConditions": {"author": {"AttributeValueList": [{"S": "Herbert"}], "ComparisonOperator": "EQ"}}})
    add("query/count-desc", "Query", {"TableName": BOOKS, "Select": "COUNT", "ScanIndexForward": False,
                                      "KeyConditionExpression": "author = :a", "ExpressionAttributeValues": {":a": {"S": "Herbert"}}})
    add("batch/write", "BatchWriteItem", {"RequestItems": {BOOKS: [{"PutRequest": {"Item": book("Le Guin", f"Book {i:02}", 1970 + i)}} for i in range(12)]}})
    add("batch/write-delete", "BatchWriteItem", {"RequestItems": {BOOKS: [{"DeleteRequest": {"Key": {"author": {"S": "Le Guin"}, "title": {"S": "Book 11"}}}}]}})
    add("batch/get", "BatchGetItem", {"RequestItems": {BOOKS: {"Keys": [{"author": {"S": "Le Guin"}, "title": {"S": "Book 03"}}]}}})
    add("batch/get-projection", "BatchGetItem", {"RequestItems": {BOOKS: {"Keys": [KEY], "ProjectionExpression": "title"}}})
    add("scan/page", "Scan", {"TableName": BOOKS, "Limit": 5})
    add("scan/count", "Scan", {"TableName": BOOKS, "Select": "COUNT"})
    add("scan/filter", "Scan", {"TableName": BOOKS, "FilterExpression": "#y BETWEEN :a AND :b",
                                "ExpressionAttributeNames": {"#y": "year"}, "ExpressionAttributeValues": {":a": {"N": "1970"}, ":b": {"N": "1975"}}})
    add("transact/write", "TransactWriteItems", {"TransactItems": [{"Put": {"TableName": BOOKS, "Item": book("Banks", "Excession", 1996)}}]})
    add("transact/write-mixed", "TransactWriteItems", {"TransactItems": [
        {"Update": {"TableName": BOOKS, "Key": {"author": {"S": "Banks"}, "title": {"S": "Excession"}},
                    "UpdateExpression": "SET pages = :p", "ExpressionAttributeValues": {":p": {"N": "451"}}}},
        {"ConditionCheck": {"TableName": BOOKS, "Key": KEY, "ConditionExpression": "attribute_exists(author)"}}]})
    add("transact/write-cancelled", "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": BOOKS, "Item": book("Banks", "Matter", 2008)}},
        {"ConditionCheck": {"TableName": BOOKS, "Key": KEY, "ConditionExpression": "attribute_not_exists(author)"}}]})
    add("transact/get", "TransactGetItems", {"TransactItems": [{"Get": {"TableName": BOOKS, "Key": {"author": {"S": "Banks"}, "title": {"S": "Excession"}}}}]})
    add("item/put-condition-fails", "PutItem", {"TableName": BOOKS, "Item": book("Herbert", "Dune", 1), "ConditionExpression": "attribute_not_exists(author)"})
    add("item/delete", "DeleteItem", {"TableName": BOOKS, "Key": {"author": {"S": "Le Guin"}, "title": {"S": "Book 10"}}, "ReturnValues": "ALL_OLD"})
    add("item/missing-table", "GetItem", {"TableName": "Nope", "Key": KEY})
    add("ttl/update", "UpdateTimeToLive", {"TableName": "Simple", "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "exp"}})
    add("ttl/describe", "DescribeTimeToLive", {"TableName": "Simple"})
    add("tags/tag", "TagResource", {"ResourceArn": "{ARN}", "Tags": [{"Key": "team", "Value": "books"}]})
    add("tags/list", "ListTagsOfResource", {"ResourceArn": "{ARN}"})
    add("tags/untag", "UntagResource", {"ResourceArn": "{ARN}", "TagKeys": ["team"]})
    add("partiql/select", "ExecuteStatement", {"Statement": "SELECT * FROM \"Books\" WHERE author = ?", "Parameters": [{"S": "Herbert"}]})
    add("partiql/insert", "ExecuteStatement", {"Statement": "INSERT INTO \"Simple\" VALUE {'pk': 'a'}"})
    add("partiql/batch", "BatchExecuteStatement", {"Statements": [{"Statement": "SELECT * FROM \"Simple\" WHERE pk = 'a'"}]})
    add("partiql/transaction", "ExecuteTransaction", {"TransactStatements": [{"Statement": "UPDATE \"Simple\" SET v = 1 WHERE pk = 'a'"}]})
    add("table/update", "UpdateTable", {"TableName": "Simple", "ProvisionedThroughput": {"ReadCapacityUnits": 6, "WriteCapacityUnits": 6}})
    add("table/update-stream", "UpdateTable", {"TableName": "Simple", "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}})

    # The list (item 4), each one DynamoDB's text as AWS writes it.
    for kind, val in [("SS", []), ("NS", []), ("BS", [])]:
        add(f"issue/empty-{kind}", "PutItem", {"TableName": BOOKS, "Item": {**KEY, "s": {kind: val}}})
    add("issue/duplicate-SS", "PutItem", {"TableName": BOOKS, "Item": {**KEY, "s": {"SS": ["a", "a"]}}})
    add("issue/duplicate-NS", "PutItem", {"TableName": BOOKS, "Item": {**KEY, "s": {"NS": ["1", "1.0"]}}})
    add("issue/null-false", "PutItem", {"TableName": BOOKS, "Item": {**KEY, "n": {"NULL": False}}})
    add("issue/expected-and-condition", "PutItem", {"TableName": BOOKS, "Item": KEY, "Expected": {"a": {"Exists": False}},
                                                    "ConditionExpression": "attribute_not_exists(a)"})
    add("issue/values-without-expression", "PutItem", {"TableName": BOOKS, "Item": KEY, "ExpressionAttributeValues": {":a": {"S": "x"}}})
    add("issue/update-syntax", "UpdateItem", {"TableName": BOOKS, "Key": KEY, "UpdateExpression": "INVALID SYNTAX"})
    add("issue/unused-name", "UpdateItem", {"TableName": BOOKS, "Key": KEY, "UpdateExpression": "SET a = :a",
                                            "ExpressionAttributeValues": {":a": {"S": "x"}}, "ExpressionAttributeNames": {"#unused": "u"}})
    add("issue/batch-get-empty", "BatchGetItem", {"RequestItems": {}})
    add("issue/batch-write-empty", "BatchWriteItem", {"RequestItems": {}})
    add("issue/create-no-name", "CreateTable", {k: v for k, v in create_books().items() if k != "TableName"})
    add("issue/query-limit-0", "Query", {"TableName": BOOKS, "Limit": 0, "KeyConditionExpression": "author = :a",
                                         "ExpressionAttributeValues": {":a": {"S": "x"}}})
    add("issue/batch-get-101", "BatchGetItem", {"RequestItems": {BOOKS: {"Keys": [{"author": {"S": "a"}, "title": {"S": str(i)}} for i in range(101)]}}})
    add("issue/transact-get-101", "TransactGetItems", {"TransactItems": [{"Get": {"TableName": BOOKS, "Key": {"author": {"S": "a"}, "title": {"S": str(i)}}}} for i in range(101)]})
    add("issue/transact-write-101", "TransactWriteItems", {"TransactItems": [{"Put": {"TableName": BOOKS, "Item": {"author": {"S": "a"}, "title": {"S": str(i)}}}} for i in range(101)]})
    # docs/conformance.md's fixes and its disputed case.
    add("conf/transact-empty-names", "TransactWriteItems", {"TransactItems": [{"Put": {"TableName": BOOKS, "Item": KEY,
                                                            "ConditionExpression": "attribute_exists(a)", "ExpressionAttributeNames": {}}}]})
    add("conf/between-null", "Scan", {"TableName": BOOKS, "FilterExpression": "a BETWEEN :x AND :y",
                                      "ExpressionAttributeValues": {":x": {"NULL": True}, ":y": {"N": "1"}}})
    add("conf/between-order", "PutItem", {"TableName": BOOKS, "Item": KEY, "ConditionExpression": "a BETWEEN :x AND :y",
                                          "ExpressionAttributeValues": {":x": {"N": "5"}, ":y": {"N": "1"}}})
    add("conf/unused-missing-table", "BatchGetItem", {"RequestItems": {"Nope": {"Keys": [KEY], "ProjectionExpression": "a",
                                                      "ExpressionAttributeNames": {"#x": "x"}}}})
    add("conf/key-two-attributes", "Query", {"TableName": BOOKS, "KeyConditionExpression": "#0 = x", "ExpressionAttributeNames": {"#0": "author"}})
    add("conf/update-empty-ns-value", "UpdateItem", {"TableName": BOOKS, "Key": KEY, "UpdateExpression": "ADD s :one",
                                                     "ExpressionAttributeValues": {":one": {"NS": []}}})
    # Item and expression faults inside values.
    add("value/empty-av", "PutItem", {"TableName": BOOKS, "Item": {**KEY, "x": {}}})
    add("value/two-types", "PutItem", {"TableName": BOOKS, "Item": {**KEY, "x": {"S": "a", "N": "1"}}})
    add("value/bad-number", "PutItem", {"TableName": BOOKS, "Item": {**KEY, "x": {"N": "abc"}}})
    add("value/empty-key", "PutItem", {"TableName": BOOKS, "Item": {"author": {"S": ""}, "title": {"S": "t"}}})
    add("value/missing-key", "PutItem", {"TableName": BOOKS, "Item": {"author": {"S": "a"}}})
    add("value/wrong-key-type", "GetItem", {"TableName": BOOKS, "Key": {"author": {"N": "1"}, "title": {"S": "t"}}})
    add("value/unknown-type", "PutItem", {"TableName": BOOKS, "Item": {**KEY, "x": {"Z": "a"}}})
    add("value/bool-string", "PutItem", {"TableName": BOOKS, "Item": {**KEY, "x": {"BOOL": "true"}}})
    add("expr/undefined-value", "UpdateItem", {"TableName": BOOKS, "Key": KEY, "UpdateExpression": "SET a = :nope"})
    add("expr/reserved-word", "Query", {"TableName": BOOKS, "KeyConditionExpression": "author = :a AND name = :b",
                                        "ExpressionAttributeValues": {":a": {"S": "x"}, ":b": {"S": "y"}}})
    add("expr/projection-syntax", "GetItem", {"TableName": BOOKS, "Key": KEY, "ProjectionExpression": "a,,b"})
    add("expr/update-key", "UpdateItem", {"TableName": BOOKS, "Key": KEY, "UpdateExpression": "SET author = :a",
                                          "ExpressionAttributeValues": {":a": {"S": "x"}}})
    add("expr/condition-syntax", "DeleteItem", {"TableName": BOOKS, "Key": KEY, "ConditionExpression": "a = = b"})
    add("expr/filter-on-key-query", "Query", {"TableName": BOOKS, "KeyConditionExpression": "author = :a",
                                              "FilterExpression": "author = :a", "ExpressionAttributeValues": {":a": {"S": "x"}}})
    add("expr/index-missing", "Query", {"TableName": BOOKS, "IndexName": "nope", "KeyConditionExpression": "author = :a",
                                        "ExpressionAttributeValues": {":a": {"S": "x"}}})
    add("misc/attributes-to-get-and-projection", "GetItem", {"TableName": BOOKS, "Key": KEY, "AttributesToGet": ["a"], "ProjectionExpression": "a"})
    add("misc/batch-write-both", "BatchWriteItem", {"RequestItems": {BOOKS: [{"PutRequest": {"Item": KEY}, "DeleteRequest": {"Key": KEY}}]}})
    add("misc/batch-write-duplicate", "BatchWriteItem", {"RequestItems": {BOOKS: [{"PutRequest": {"Item": KEY}}, {"DeleteRequest": {"Key": KEY}}]}})
    add("misc/transact-same-item", "TransactWriteItems", {"TransactItems": [{"Put": {"TableName": BOOKS, "Item": KEY}},
                                                                            {"Delete": {"TableName": BOOKS, "Key": KEY}}]})
    add("misc/transact-two-actions", "TransactWriteItems", {"TransactItems": [{"Put": {"TableName": BOOKS, "Item": KEY},
                                                                               "Delete": {"TableName": BOOKS, "Key": KEY}}]})
    add("misc/create-bad-key-type", "CreateTable", {**create_books("Bad"), "KeySchema": [{"AttributeName": "author", "KeyType": "FOO"}]})
    pt = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    two_keys = {"TableName": "unknown-key-type", "ProvisionedThroughput": pt,
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}]}
    add("conf/create-gsi-bad-key-type", "CreateTable", {**two_keys, "GlobalSecondaryIndexes": [{
        "IndexName": "TestGSI", "KeySchema": [{"AttributeName": "n/a", "KeyType": "HASH"}, {"AttributeName": "sth", "KeyType": "SORT"}],
        "Projection": {"ProjectionType": "ALL"}, "ProvisionedThroughput": pt}]})
    add("conf/create-lsi-bad-key-type", "CreateTable", {**two_keys, "LocalSecondaryIndexes": [{
        "IndexName": "test_lsi", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "lsi_range_key", "KeyType": "SORT"}],
        "Projection": {"ProjectionType": "ALL"}}]})
    add("misc/create-undefined-attr", "CreateTable", {**create_books("Bad"), "KeySchema": [{"AttributeName": "zzz", "KeyType": "HASH"}]})
    add("misc/create-no-throughput", "CreateTable", {k: v for k, v in create_books("Bad").items() if k != "BillingMode"})
    add("misc/partiql-syntax", "ExecuteStatement", {"Statement": "SELEKT * FROM Books"})
    add("misc/partiql-missing-table", "ExecuteStatement", {"Statement": "SELECT * FROM \"Nope\""})
    return c


def bases():
    """A valid request per operation, to break one member at a time. Table-level
    writes name tables that do not exist, so a mutation that happens to be
    accepted changes nothing the rest of the corpus relies on."""
    return {
        "CreateTable": create_books("Generated"),
        "DeleteTable": {"TableName": "NoSuchTable"},
        "DescribeTable": {"TableName": BOOKS},
        "ListTables": {"Limit": 5, "ExclusiveStartTableName": "A"},
        "UpdateTable": {"TableName": "NoSuchTable", "BillingMode": "PAY_PER_REQUEST"},
        "PutItem": {"TableName": BOOKS, "Item": book("Gen", "Put", 1), "ReturnValues": "NONE", "ConditionExpression": "attribute_not_exists(#a) OR #a = :v",
                    "ExpressionAttributeNames": {"#a": "author"}, "ExpressionAttributeValues": {":v": {"S": "Gen"}}},
        "GetItem": {"TableName": BOOKS, "Key": KEY, "ConsistentRead": True, "ProjectionExpression": "#t", "ExpressionAttributeNames": {"#t": "title"}},
        "DeleteItem": {"TableName": BOOKS, "Key": {"author": {"S": "Gen"}, "title": {"S": "Gone"}}, "ReturnValues": "ALL_OLD"},
        "UpdateItem": {"TableName": BOOKS, "Key": {"author": {"S": "Gen"}, "title": {"S": "Upd"}}, "UpdateExpression": "SET #c = :c",
                       "ExpressionAttributeNames": {"#c": "count"}, "ExpressionAttributeValues": {":c": {"N": "1"}}, "ReturnValues": "ALL_NEW"},
        "Query": {"TableName": BOOKS, "KeyConditionExpression": "author = :a", "ExpressionAttributeValues": {":a": {"S": "Herbert"}},
                  "Limit": 2, "Select": "ALL_ATTRIBUTES", "ScanIndexForward": True, "ReturnConsumedCapacity": "TOTAL"},
        "Scan": {"TableName": BOOKS, "Limit": 3, "Select": "COUNT", "Segment": 0, "TotalSegments": 1, "ConsistentRead": False},
        "BatchGetItem": {"RequestItems": {BOOKS: {"Keys": [KEY]}}, "ReturnConsumedCapacity": "NONE"},
        "BatchWriteItem": {"RequestItems": {BOOKS: [{"PutRequest": {"Item": book("Gen", "Batch", 2)}}]}, "ReturnItemCollectionMetrics": "NONE"},
        "TransactWriteItems": {"TransactItems": [{"Put": {"TableName": BOOKS, "Item": book("Gen", "Tx", 3)}}], "ClientRequestToken": "tok-1"},
        "TransactGetItems": {"TransactItems": [{"Get": {"TableName": BOOKS, "Key": KEY}}], "ReturnConsumedCapacity": "NONE"},
        "UpdateTimeToLive": {"TableName": "NoSuchTable", "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "exp"}},
        "DescribeTimeToLive": {"TableName": BOOKS},
        "ExecuteStatement": {"Statement": "SELECT * FROM \"Books\" WHERE author = ?", "Parameters": [{"S": "Gen"}], "Limit": 1},
        "ExecuteTransaction": {"TransactStatements": [{"Statement": "SELECT * FROM \"Books\" WHERE author = 'Gen' AND title = 'Tx'"}]},
        "BatchExecuteStatement": {"Statements": [{"Statement": "SELECT * FROM \"Books\" WHERE author = 'Gen' AND title = 'Tx'"}]},
        "TagResource": {"ResourceArn": "{ARN}", "Tags": [{"Key": "k", "Value": "v"}]},
        "UntagResource": {"ResourceArn": "{ARN}", "TagKeys": ["k"]},
        "ListTagsOfResource": {"ResourceArn": "{ARN}"},
        "SearchVectors": {"TableName": BOOKS, "IndexName": "vec", "SearchVector": [{"N": "0.5"}, {"N": "0.5"}], "TopK": 1},
    }


def wrong_type(shape):
    t = SHAPES[shape]["type"]
    return {"string": 5, "blob": 5, "structure": "x", "list": "x", "map": "x", "boolean": "x",
            "integer": "x", "long": "x", "float": "x", "double": "x", "timestamp": True}.get(t, "x")


def generated():
    """Invalid requests from the model, for every operation the engine runs."""
    out = []
    for op, base in bases().items():
        shape = SHAPES[MODEL["operations"][op]["input"]["shape"]]
        members, required = shape["members"], shape.get("required", [])
        add = lambda kind, body, op=op: out.append((f"gen/{op}/{kind}", op, body))  # noqa: E731
        add("empty-body", {})
        for r in required:
            add(f"missing-{r}", {k: v for k, v in base.items() if k != r})
            add(f"null-{r}", {**base, r: None})
        faults = []
        for name, ref in members.items():
            s = SHAPES[ref["shape"]]
            t = s["type"]
            add(f"type-{name}", {**base, name: wrong_type(ref["shape"])})
            if op == "CreateTable":
                out.append((f"cleanup/{op}/type-{name}", "DeleteTable", {"TableName": base["TableName"]}))
            if t == "string":
                faults.append((f"empty-{name}", ""))
                if "max" in s:
                    faults.append((f"long-{name}", "a" * (int(s["max"]) + 1)))
                if "enum" in s:
                    faults.append((f"enum-{name}", "bogus"))
                if "min" in s and int(s["min"]) > 1:
                    faults.append((f"short-{name}", "a" * (int(s["min"]) - 1)))
            elif t in ("integer", "long"):
                if "min" in s:
                    faults.append((f"below-{name}", int(s["min"]) - 1))
                if "max" in s:
                    faults.append((f"above-{name}", int(s["max"]) + 1))
            elif t == "list":
                faults.append((f"empty-{name}", []))
                if "max" in s and isinstance(base.get(name), list) and base[name]:
                    faults.append((f"many-{name}", [copy.deepcopy(base[name][0]) for _ in range(int(s["max"]) + 1)]))
            elif t == "map":
                faults.append((f"empty-{name}", {}))
        seen = set()
        for kind, value in faults:
            if kind in seen:
                continue
            seen.add(kind)
            name = kind.split("-", 1)[1]
            add(kind, {**base, name: value})
            if op == "CreateTable":
                out.append((f"cleanup/{op}/{kind}", "DeleteTable", {"TableName": base["TableName"]}))
        # Faults combined: two members at once, and a missing member with another fault.
        if len(faults) >= 2:
            (k1, v1), (k2, v2) = faults[0], faults[-1]
            n1, n2 = k1.split("-", 1)[1], k2.split("-", 1)[1]
            if n1 != n2:
                add(f"combined-{k1}+{k2}", {**base, n1: v1, n2: v2})
            enums = [(k, v) for k, v in faults if k.startswith("enum-")]
            if len(enums) >= 2:
                add("combined-enums", {**base, **{k.split("-", 1)[1]: v for k, v in enums}})
        if required and faults:
            k, v = next(((k, v) for k, v in faults if k.split("-", 1)[1] not in required), faults[0])
            body = {kk: vv for kk, vv in base.items() if kk != required[0]}
            body[k.split("-", 1)[1]] = v
            add(f"combined-missing-{required[0]}+{k}", body)
    return out


def corpus():
    c = shapes_of_daxd_tests()
    c += [("arn-as-name/GetItem", "GetItem", {"TableName": "{ARN}", "Key": KEY}),
          ("arn-as-name/DescribeTable", "DescribeTable", {"TableName": "{ARN}"})]
    c += generated()
    c += [(f"daxd-op/{op}", op, body) for op, body in [
        ("DescribeEndpoints", {}), ("DescribeLimits", {}),
        ("PutResourcePolicy", {"ResourceArn": "{ARN}", "Policy": "{}"}),
        ("GetResourcePolicy", {"ResourceArn": "{ARN}"}), ("DeleteResourcePolicy", {"ResourceArn": "{ARN}"})]]
    return c


# ---------------------------------------------------------------- the servers

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dynoxide:
    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="dynoxide-diff-")
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([str(DYNOXIDE), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                                      "--db-path", os.path.join(self.tmp.name, "db.sqlite")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError("dynoxide serve did not start")

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.tmp.cleanup()


def call(endpoint, op, body):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = signed_headers(SimpleNamespace(endpoint=endpoint), "dynamodb", data,
                             {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"DynamoDB_20120810.{op}"})
    host = endpoint.split("//", 1)[1]
    conn = http.client.HTTPConnection(host, timeout=60)
    try:
        conn.request("POST", "/", body=data, headers=headers)
        r = conn.getresponse()
        text = r.read()
    finally:
        conn.close()
    try:
        out = json.loads(text) if text else {}
    except ValueError:
        out = {"<raw>": text.decode(errors="replace")}
    return r.status, out


ARN = re.compile(r"arn:aws:dynamodb:[^:]*:[0-9]*:")
VOLATILE = {"CreationDateTime", "LastIncreaseDateTime", "LastDecreaseDateTime", "LastUpdateToPayPerRequestDateTime",
            "TableId", "LatestStreamLabel", "LatestStreamArn", "RequestId"}


def normalize(v):
    if isinstance(v, dict):
        return {k: ("<volatile>" if k in VOLATILE else normalize(x)) for k, x in v.items()}
    if isinstance(v, list):
        return [normalize(x) for x in v]
    if isinstance(v, str):
        return ARN.sub("arn:aws:dynamodb:<region>:<account>:", v)
    return v


# The engine's server leaks serde_json's position in the request text into a
# few messages ("missing field `TableName` at line 1 column 2"); daxd hands the
# engine the decoded request, so it has no position to give.
POSITION = re.compile(r" at line [0-9]+ column [0-9]+$")


def outcome(status, out):
    if status == 200:
        return (200, normalize(out))
    code = str(out.get("__type", "")).rsplit("#", 1)[-1]
    message = out.get("message", out.get("Message"))
    if isinstance(message, str):
        message = POSITION.sub("", message)
    extra = {k: normalize(v) for k, v in out.items() if k not in ("__type", "message", "Message")}
    return (status, code, message, extra)


@pytest.fixture(scope="module")
def pair():
    if not DYNOXIDE.exists():
        msg = (f"{DYNOXIDE} is missing: build it with `cargo install dynoxide-rs --version 3.2.0 --locked "
               "--root target/tools` (scripts/test does)")
        if os.environ.get("DAXD_DIFF_REQUIRED"):
            pytest.fail(msg + "; DAXD_DIFF_REQUIRED is set")
        pytest.skip(msg)
    d = Daxd().start()
    ref = Dynoxide()
    yield d, ref
    d.close()
    ref.close()


def fill(body, arn):
    text = json.dumps(body).replace('"{ARN}"', json.dumps(arn))
    return text.encode()


def test_daxd_answers_as_the_engine_does(pair):
    d, ref = pair
    cases = corpus()
    ids = [c[0] for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    arns = {}
    mismatches, unexpected_matches = [], []
    for cid, op, body in cases:
        answers = []
        for name, endpoint in (("daxd", d.endpoint), ("dynoxide", ref.endpoint)):
            if name not in arns and "{ARN}" in json.dumps(body):
                _, desc = call(endpoint, "DescribeTable", {"TableName": BOOKS})
                arns[name] = desc["Table"]["TableArn"]
            answers.append(outcome(*call(endpoint, op, fill(body, arns.get(name, "")))))
        same = answers[0] == answers[1]
        if cid.startswith("cleanup/"):
            continue
        if cid in EXCEPTIONS:
            if same:
                unexpected_matches.append(cid)
        elif not same:
            mismatches.append(f"{cid} ({op} {json.dumps(body)[:200]}):\n    daxd:     {answers[0]}\n    dynoxide: {answers[1]}")
    print(f"differential corpus: {sum(not c[0].startswith('cleanup/') for c in cases)} compared requests, {len(mismatches)} mismatches, {len(EXCEPTIONS)} documented exceptions")
    assert not mismatches, f"{len(mismatches)} of {len(cases)} differ:\n" + "\n".join(mismatches)
    assert not unexpected_matches, f"documented exceptions that no longer differ: {unexpected_matches}"


def test_exceptions_match_the_doc():
    doc = DOC.read_text()
    section = doc.split("## Where daxd differs from the engine on purpose", 1)
    assert len(section) == 2, "docs/conformance.md lacks its exceptions section"
    table = section[1].split("\n## ", 1)[0]
    for cid, row in EXCEPTIONS.items():
        assert f"`{cid}`" in table, f"{cid} is not listed in docs/conformance.md"
        assert row in table, f"{row!r} is not a row of docs/conformance.md's exceptions"
    listed = set(re.findall(r"`((?:arn-as-name|daxd-op|conf|gen)/[A-Za-z/-]+)`", table))
    assert listed == set(EXCEPTIONS), f"doc and EXCEPTIONS differ: {listed ^ set(EXCEPTIONS)}"

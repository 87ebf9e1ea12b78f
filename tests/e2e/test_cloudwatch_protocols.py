"""CloudWatch over the three protocols its model lists, on daxd's one endpoint:
AWS JSON 1.0 (what boto3 sends), the Query protocol (signed form posts answered
in XML) and Smithy RPC v2 CBOR (`/service/<Service>/operation/<Op>`, CBOR bodies).

boto3 makes the JSON calls; the test builds the Query and CBOR requests itself,
signs them with botocore's SigV4Auth, and reads the answers with botocore's own
parsers for those protocols, so that the same request through each protocol must
give the same answer."""
import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from urllib.parse import urlencode

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.parsers
import botocore.session
import cbor2
import pytest

from daxd import ROOT_KEY

REGION = "us-east-1"
NAMESPACE = "http://monitoring.amazonaws.com/doc/2010-08-01/"
CBOR_PATH = "/service/GraniteServiceVersion20100801/operation/"
MODEL = botocore.session.get_session().get_service_model("cloudwatch")


def post(daxd, path, body, headers, key=ROOT_KEY):
    """A SigV4-signed (signing name `monitoring`) POST: (status, headers, body)."""
    req = botocore.awsrequest.AWSRequest(method="POST", url=daxd.endpoint + path, data=body, headers=headers)
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(*key), "monitoring", REGION).add_auth(req)
    raw = urllib.request.Request(daxd.endpoint + path, data=body, headers=dict(req.headers.items()), method="POST")
    try:
        with urllib.request.urlopen(raw, timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def form(params, prefix="", out=None):
    """Query-protocol form fields: structures as `A.B`, lists as `A.member.N`."""
    out = {} if out is None else out
    if isinstance(params, dict):
        for k, v in params.items():
            form(v, f"{prefix}.{k}" if prefix else k, out)
    elif isinstance(params, list):
        for n, v in enumerate(params, 1):
            form(v, f"{prefix}.member.{n}", out)
    elif isinstance(params, bool):
        out[prefix] = "true" if params else "false"
    elif isinstance(params, datetime):
        out[prefix] = params.strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        out[prefix] = str(params)
    return out


def cbor_value(v):
    """Request values for CBOR: timestamps as tag 1 around integer epoch seconds."""
    if isinstance(v, dict):
        return {k: cbor_value(x) for k, x in v.items()}
    if isinstance(v, list):
        return [cbor_value(x) for x in v]
    if isinstance(v, datetime):
        return cbor2.CBORTag(1, int(v.timestamp()))
    return v


def parse(protocol, op, status, headers, body):
    shape = MODEL.operation_model(op).output_shape
    parsed = botocore.parsers.create_parser(protocol).parse(
        {"status_code": status, "headers": headers, "body": body}, shape)
    parsed.pop("ResponseMetadata", None)
    return parsed


def via_query(daxd, op, params, key=ROOT_KEY):
    body = urlencode({"Action": op, "Version": "2010-08-01", **form(params)}).encode()
    status, headers, raw = post(daxd, "/", body,
                                {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, key)
    return status, headers, raw


def via_cbor(daxd, op, params, key=ROOT_KEY):
    body = cbor2.dumps(cbor_value(params))
    headers = {"Content-Type": "application/cbor", "Accept": "application/cbor",
               "Smithy-Protocol": "rpc-v2-cbor", "x-amzn-query-mode": "true"}
    return post(daxd, CBOR_PATH + op, body, headers, key)


def via_json(daxd, op, params, key=ROOT_KEY):
    body = json.dumps(params).encode()
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-query-mode": "true",
               "X-Amz-Target": f"GraniteServiceVersion20100801.{op}"}
    return post(daxd, "/", body, headers, key)


def normal(v):
    """Answers compared across protocols: timestamps to the millisecond."""
    if isinstance(v, dict):
        return {k: normal(x) for k, x in v.items()}
    if isinstance(v, list):
        return [normal(x) for x in v]
    if isinstance(v, datetime):
        return round(v.timestamp() * 1000)
    return v


def three_ways(daxd, cw, op, params):
    """`op` with `params` through JSON (boto3), Query and CBOR: the three parsed answers."""
    method = "".join("_" + c.lower() if c.isupper() else c for c in op).lstrip("_")
    j = getattr(cw, method)(**params)
    j.pop("ResponseMetadata", None)
    status, headers, raw = via_query(daxd, op, params)
    assert status == 200, raw
    assert headers["content-type"].startswith("text/xml")
    assert f'<{op}Response xmlns="{NAMESPACE}">'.encode() in raw, raw
    q = parse("query", op, status, headers, raw)
    status, headers, raw = via_cbor(daxd, op, params)
    assert status == 200, raw
    assert headers["content-type"] == "application/cbor" and headers["smithy-protocol"] == "rpc-v2-cbor"
    c = parse("smithy-rpc-v2-cbor", op, status, headers, raw)
    return normal(j), normal(q), normal(c), raw


@pytest.fixture
def cw(daxd):
    return daxd.client("cloudwatch")


def alarm(name, **kw):
    args = dict(AlarmName=name, Namespace="AWS/DAX", MetricName="CPUUtilization",
                Dimensions=[{"Name": "ClusterId", "Value": "c"}], Statistic="Maximum", Period=60,
                EvaluationPeriods=3, DatapointsToAlarm=2, Threshold=80.0, ComparisonOperator="GreaterThanThreshold",
                TreatMissingData="notBreaching", AlarmDescription="cpu")
    args.update(kw)
    return args


def test_the_same_requests_give_the_same_answers(daxd, cw):
    # PutMetricAlarm through each protocol: each creates its alarm.
    cw.put_metric_alarm(**alarm("p-json"))
    status, _, raw = via_query(daxd, "PutMetricAlarm", alarm("p-query"))
    assert status == 200 and b"<PutMetricAlarmResponse" in raw, raw
    status, headers, raw = via_cbor(daxd, "PutMetricAlarm", alarm("p-cbor"))
    assert status == 200, raw
    assert cbor2.loads(raw) == {}

    j, q, c, raw = three_ways(daxd, cw, "DescribeAlarms", {"AlarmNamePrefix": "p-"})
    assert j == q == c
    names = [a["AlarmName"] for a in j["MetricAlarms"]]
    assert names == ["p-cbor", "p-json", "p-query"]
    first = j["MetricAlarms"][0]
    assert (first["Threshold"], first["DatapointsToAlarm"], first["TreatMissingData"]) == (80.0, 2, "notBreaching")
    assert first["Dimensions"] == [{"Name": "ClusterId", "Value": "c"}]
    # On CBOR, timestamps are tag 1 (cbor2 reads them as datetimes).
    assert isinstance(cbor2.loads(raw)["MetricAlarms"][0]["AlarmConfigurationUpdatedTimestamp"], datetime)

    now = datetime.fromtimestamp(int(time.time()) // 60 * 60, timezone.utc)
    stats = {"Namespace": "AWS/DAX", "MetricName": "CPUUtilization",
             "Dimensions": [{"Name": "ClusterId", "Value": "c"}],
             "StartTime": datetime.fromtimestamp(now.timestamp() - 3600, timezone.utc), "EndTime": now,
             "Period": 60, "Statistics": ["Maximum", "SampleCount"]}
    j, q, c, _ = three_ways(daxd, cw, "GetMetricStatistics", stats)
    assert j == q == c
    assert j["Label"] == "CPUUtilization"

    j, q, c, _ = three_ways(daxd, cw, "ListMetrics", {"Namespace": "AWS/DAX", "RecentlyActive": "PT3H"})
    assert j == q == c
    assert "Metrics" in j


def test_errors_carry_the_query_code_on_every_protocol(daxd, cw):
    bad = alarm("bad", Period=45)
    with pytest.raises(cw.exceptions.InvalidParameterValueException) as e:
        cw.put_metric_alarm(**bad)
    err = e.value.response["Error"]
    assert err["Code"] == "InvalidParameterValue"
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-query-error"] == "InvalidParameterValue;Sender"
    message = err["Message"]

    status, headers, raw = via_query(daxd, "PutMetricAlarm", bad)
    assert status == 400
    assert "x-amzn-query-error" not in headers
    assert f'<ErrorResponse xmlns="{NAMESPACE}">'.encode() in raw, raw
    q = botocore.parsers.create_parser("query").parse(
        {"status_code": status, "headers": headers, "body": raw}, MODEL.operation_model("PutMetricAlarm").output_shape)
    assert (q["Error"]["Code"], q["Error"]["Type"], q["Error"]["Message"]) == ("InvalidParameterValue", "Sender",
                                                                             message)

    status, headers, raw = via_cbor(daxd, "PutMetricAlarm", bad)
    assert status == 400
    assert headers["x-amzn-query-error"] == "InvalidParameterValue;Sender"
    assert headers["content-type"] == "application/cbor"
    assert cbor2.loads(raw) == {"__type": "com.amazonaws.cloudwatch#InvalidParameterValueException",
                                "message": message}
    parsed = botocore.parsers.create_parser("smithy-rpc-v2-cbor").parse(
        {"status_code": status, "headers": headers, "body": raw}, MODEL.operation_model("PutMetricAlarm").output_shape)
    assert parsed["Error"]["Code"] == "InvalidParameterValue"

    # A 404 the same way on the three.
    missing = {"AlarmName": "nope", "StateValue": "OK", "StateReason": "x"}
    with pytest.raises(cw.exceptions.ResourceNotFound):
        cw.set_alarm_state(**missing)
    status, _, raw = via_query(daxd, "SetAlarmState", missing)
    assert status == 404 and b"<Code>ResourceNotFound</Code>" in raw, raw
    status, headers, raw = via_cbor(daxd, "SetAlarmState", missing)
    assert status == 404 and headers["x-amzn-query-error"] == "ResourceNotFound;Sender"
    assert cbor2.loads(raw)["__type"] == "com.amazonaws.cloudwatch#ResourceNotFound"


def test_protocol_level_refusals(daxd):
    # An operation the model does not have.
    status, _, raw = via_query(daxd, "Nope", {})
    assert status == 400 and b"<Code>InvalidAction</Code>" in raw, raw
    status, headers, raw = via_cbor(daxd, "Nope", {})
    assert status == 400 and cbor2.loads(raw)["__type"].endswith("#UnknownOperationException")
    assert headers["x-amzn-query-error"] == "UnknownOperationException;Sender"
    # A body that is not CBOR, and X-Amz-Target, which the protocol forbids.
    body = b"\xff\x00"
    status, _, raw = post(daxd, CBOR_PATH + "DescribeAlarms", body,
                          {"Content-Type": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor"})
    assert status == 400 and cbor2.loads(raw)["__type"].endswith("#SerializationException")
    status, _, raw = post(daxd, CBOR_PATH + "DescribeAlarms", cbor2.dumps({}),
                          {"Content-Type": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor",
                           "X-Amz-Target": "GraniteServiceVersion20100801.DescribeAlarms"})
    assert status == 400
    # Unsigned requests get the authentication error in their protocol.
    raw = urllib.request.Request(daxd.endpoint + CBOR_PATH + "DescribeAlarms", data=cbor2.dumps({}), method="POST",
                                 headers={"Content-Type": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(raw, timeout=30)
    assert e.value.headers["content-type"] == "application/cbor"
    assert "__type" in cbor2.loads(e.value.read())


def test_denials_are_worded_in_each_protocol(daxd, iam, user_key):
    """A denied request: `AccessDenied` (403, an XML ErrorResponse) on the Query
    protocol; `AccessDeniedException` with the Query protocol's 403 on JSON and CBOR."""
    _, key = user_key
    params = {"Namespace": "AWS/DAX"}
    status, headers, raw = via_query(daxd, "ListMetrics", params, key)
    assert status == 403, raw
    assert headers["content-type"].startswith("text/xml")
    assert "x-amzn-query-error" not in headers
    assert f'<ErrorResponse xmlns="{NAMESPACE}">'.encode() in raw, raw
    q = botocore.parsers.create_parser("query").parse(
        {"status_code": status, "headers": headers, "body": raw}, MODEL.operation_model("ListMetrics").output_shape)
    assert (q["Error"]["Code"], q["Error"]["Type"]) == ("AccessDenied", "Sender")
    assert "is not authorized to perform: cloudwatch:ListMetrics" in q["Error"]["Message"]

    status, headers, raw = via_json(daxd, "ListMetrics", params, key)
    assert status == 403, raw
    body = json.loads(raw)
    assert body["__type"] == "AccessDeniedException"
    assert body["message"] == q["Error"]["Message"]
    assert headers["x-amzn-query-error"] == "AccessDenied;Sender"

    status, headers, raw = via_cbor(daxd, "ListMetrics", params, key)
    assert status == 403, raw
    assert cbor2.loads(raw)["__type"] == "com.amazonaws.cloudwatch#AccessDeniedException"
    assert headers["x-amzn-query-error"] == "AccessDenied;Sender"

    # IAM's own denials on the Query protocol are unchanged.
    alice = daxd.client("iam", key=key)
    with pytest.raises(alice.exceptions.ClientError) as e:
        alice.list_users()
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

"""CloudWatch for AWS/DAX: the API on daxd's endpoint (signing name `monitoring`,
JSON 1.0 as boto3 and the AWS CLI send it), the DAX metrics recorded each minute
from the nodes, and alarms evaluated on them.

Metrics are recorded once a minute on the real clock, for the minute that ended, so
the tests that read them wait for a minute boundary."""
import json
import re
import threading
import time
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError

from daxd import Daxd, wait_for
from test_dax_data import ARGS, create_cluster, dax_client, role

REGION = "us-east-1"


def code_of(exc_info):
    return exc_info.value.response["Error"]["Code"]


def wait_next_minute(extra=2.0):
    """Sleep past the next minute boundary (and the tick that records the minute)."""
    now = time.time()
    time.sleep(60 - now % 60 + extra)


def alarm_args(name, metric="ThrottledRequestCount", cluster="c", **kw):
    args = dict(AlarmName=name, Namespace="AWS/DAX", MetricName=metric,
                Dimensions=[{"Name": "ClusterId", "Value": cluster}], Statistic="Sum", Period=60,
                EvaluationPeriods=1, Threshold=0.0, ComparisonOperator="GreaterThanThreshold")
    args.update(kw)
    return args


@pytest.fixture
def cw(daxd):
    return daxd.client("cloudwatch")


def test_alarm_lifecycle_history_and_tags(daxd, cw):
    cw.put_metric_alarm(**alarm_args("throttles", AlarmActions=["arn:aws:sns:us-east-1:123456789012:ops"],
                                     Tags=[{"Key": "team", "Value": "db"}]))
    a = cw.describe_alarms(AlarmNames=["throttles"])["MetricAlarms"][0]
    assert a["StateValue"] == "INSUFFICIENT_DATA"
    assert a["StateReason"] == "Unchecked: Initial alarm creation"
    assert a["AlarmArn"] == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:throttles"
    assert a["Dimensions"] == [{"Name": "ClusterId", "Value": "c"}]
    cw.set_alarm_state(AlarmName="throttles", StateValue="ALARM", StateReason="by hand",
                       StateReasonData=json.dumps({"why": "test"}))
    a = cw.describe_alarms(StateValue="ALARM")["MetricAlarms"][0]
    assert (a["StateValue"], a["StateReason"]) == ("ALARM", "by hand")
    hist = cw.describe_alarm_history(AlarmName="throttles")["AlarmHistoryItems"]
    kinds = [(h["HistoryItemType"], h["HistorySummary"]) for h in hist]
    assert kinds[0] == ("Action", "Failed to execute action arn:aws:sns:us-east-1:123456789012:ops")
    assert ("StateUpdate", "Alarm updated from INSUFFICIENT_DATA to ALARM") in kinds
    assert kinds[-1] == ("ConfigurationUpdate", 'Alarm "throttles" created')
    # daxd has no SNS: nothing claims a delivery.
    assert json.loads(hist[0]["HistoryData"])["actionState"] == "Failed"
    assert len(cw.describe_alarms_for_metric(Namespace="AWS/DAX", MetricName="ThrottledRequestCount",
                                             Dimensions=[{"Name": "ClusterId", "Value": "c"}])["MetricAlarms"]) == 1
    arn = a["AlarmArn"]
    cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "prod"}])
    cw.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]
    cw.disable_alarm_actions(AlarmNames=["throttles"])
    assert cw.describe_alarms()["MetricAlarms"][0]["ActionsEnabled"] is False
    cw.enable_alarm_actions(AlarmNames=["throttles"])
    cw.delete_alarms(AlarmNames=["throttles"])
    assert cw.describe_alarms()["MetricAlarms"] == []
    # The history outlives the alarm.
    assert cw.describe_alarm_history(AlarmName="throttles")["AlarmHistoryItems"][0]["HistorySummary"] == \
        'Alarm "throttles" deleted'


def test_errors_are_the_modelled_exceptions(daxd, cw):
    with pytest.raises(cw.exceptions.ResourceNotFound):
        cw.set_alarm_state(AlarmName="nope", StateValue="OK", StateReason="x")
    with pytest.raises(cw.exceptions.InvalidFormatFault):
        cw.put_metric_alarm(**alarm_args("a"))
        cw.set_alarm_state(AlarmName="a", StateValue="OK", StateReason="x", StateReasonData="{bad")
    with pytest.raises(cw.exceptions.InvalidParameterValueException):
        cw.put_metric_alarm(**alarm_args("b", Period=45))
    with pytest.raises(ClientError) as e:
        cw.put_metric_alarm(**alarm_args("b", EvaluationPeriods=2, DatapointsToAlarm=3))
    assert e.value.response["Error"]["Message"] == "DatapointsToAlarm must be less than or equal to EvaluationPeriods"
    now = datetime.now(timezone.utc)
    with pytest.raises(cw.exceptions.InvalidParameterCombinationException) as e:
        cw.get_metric_statistics(Namespace="AWS/DAX", MetricName="CPUUtilization", StartTime=now.timestamp() - 86400,
                                 EndTime=now, Period=1, Statistics=["Average"])
    assert "exceeds the limit of 1440" in e.value.response["Error"]["Message"]
    with pytest.raises(cw.exceptions.ResourceNotFoundException):
        cw.list_tags_for_resource(ResourceARN="arn:aws:cloudwatch:us-east-1:123456789012:alarm:nope")
    with pytest.raises(cw.exceptions.InvalidNextToken):
        cw.list_metrics(NextToken="zz")


def test_denied_without_cloudwatch_permissions(daxd, iam, user_key):
    name, key = user_key
    cw = daxd.client("cloudwatch", key=key)
    with pytest.raises(ClientError) as e:
        cw.list_metrics(Namespace="AWS/DAX")
    assert code_of(e) in ("AccessDenied", "AccessDeniedException")
    assert "cloudwatch:ListMetrics" in e.value.response["Error"]["Message"]
    iam.put_user_policy(UserName=name, PolicyName="cw", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "cloudwatch:*", "Resource": "*"}]}))
    assert wait_for(lambda: _lists(cw), 5)


def _lists(cw):
    try:
        return cw.list_metrics(Namespace="AWS/DAX")["Metrics"] == []
    except ClientError:
        return False


def _math_metrics(cluster="c"):
    dims = [{"Name": "ClusterId", "Value": cluster}]
    stat = lambda i, name: {"Id": i, "ReturnData": False, "MetricStat": {
        "Metric": {"Namespace": "AWS/DAX", "MetricName": name, "Dimensions": dims}, "Period": 60, "Stat": "Sum"}}
    return [stat("h", "ItemCacheHits"), stat("m", "ItemCacheMisses"),
            {"Id": "miss_rate", "Expression": "100 * m / (h + m)", "Label": "miss rate", "ReturnData": True}]


def test_alarms_on_metric_math(daxd, cw):
    common = dict(AlarmName="miss-rate", EvaluationPeriods=2, Threshold=50.0,
                  ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching")
    cw.put_metric_alarm(Metrics=_math_metrics(), **common)
    a = cw.describe_alarms(AlarmNames=["miss-rate"])["MetricAlarms"][0]
    assert [q["Id"] for q in a["Metrics"]] == ["h", "m", "miss_rate"]
    assert a["Metrics"][2]["Expression"] == "100 * m / (h + m)" and a["Metrics"][2]["ReturnData"] is True
    assert a["Metrics"][0]["MetricStat"]["Metric"]["MetricName"] == "ItemCacheHits"
    assert "MetricName" not in a and "Statistic" not in a and "Period" not in a
    # DescribeAlarmsForMetric leaves alarms on expressions out, as AWS does.
    assert cw.describe_alarms_for_metric(Namespace="AWS/DAX", MetricName="ItemCacheHits",
                                         Dimensions=[{"Name": "ClusterId", "Value": "c"}])["MetricAlarms"] == []
    # No data: the expression's two missing datapoints are not breaching.
    assert wait_for(lambda: cw.describe_alarms(AlarmNames=["miss-rate"])["MetricAlarms"][0]["StateValue"] == "OK",
                    65, 0.5)
    assert cw.describe_alarms(AlarmNames=["miss-rate"])["MetricAlarms"][0]["StateReason"] == \
        "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as " \
        "[NonBreaching]."

    # AWS's checks of Metrics.
    two = _math_metrics()
    two[0]["ReturnData"] = True
    with pytest.raises(ClientError) as e:
        cw.put_metric_alarm(Metrics=two, **common)
    assert (code_of(e), e.value.response["Error"]["Message"]) == \
        ("ValidationError", "Exactly one element of the metrics list should return data.")
    with pytest.raises(cw.exceptions.InvalidParameterCombinationException):
        cw.put_metric_alarm(Metrics=_math_metrics(), Period=60, **common)
    bad = _math_metrics()
    bad[2]["Expression"] = "100 * m / nope"
    with pytest.raises(ClientError) as e:
        cw.put_metric_alarm(Metrics=bad, **common)
    assert code_of(e) == "ValidationError"


def test_get_metric_data_dynamic_labels(daxd, cw):
    now = int(time.time()) // 60 * 60
    dims = [{"Name": "ClusterId", "Value": "c9"}]
    r = cw.get_metric_data(StartTime=now - 600, EndTime=now, MetricDataQueries=[
        {"Id": "h", "Label": "${PROP('Dim.ClusterId')} ${PROP('MetricName')} ${PROP('Namespace')} "
                             "${PROP('Stat')}/${PROP('Period')}s n=${DATAPOINT_COUNT} avg=${AVG} ${NOPE}",
         "MetricStat": {"Metric": {"Namespace": "AWS/DAX", "MetricName": "ItemCacheHits", "Dimensions": dims},
                        "Period": 300, "Stat": "Sum"}},
        {"Id": "e", "Expression": "h * 2", "Label": "${LABEL} in ${PROP('Region')} of ${PROP('AccountId')}"},
    ])["MetricDataResults"]
    # No datapoint: the statistics have nothing to stand for and stay as written.
    assert r[0]["Label"] == "c9 ItemCacheHits AWS/DAX Sum/300s n=0 avg=${AVG} ${NOPE}"
    assert r[1]["Label"] == "e in us-east-1 of 123456789012"


# ---------------------------------------------------------------------------------------
# The DAX metrics, from a workload of known size through the official DAX client.

@pytest.fixture(scope="module")
def dax_env():
    daxd = Daxd(args=[*ARGS[:2], "--dax-ports", "24400-24419", "--node-max-in-flight", "1"]).start()
    iam = daxd.client("iam")
    daxd.role_arn = role(iam, "DAXFullCw", managed="arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess")
    daxd.client("dynamodb").create_table(
        TableName="Simple", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    yield daxd
    daxd.close()


def test_dax_metrics_alarm_and_restart(dax_env):
    daxd = dax_env
    c = create_cluster(daxd, "cwm", daxd.role_arn, rf=2)
    url = c["ClusterDiscoveryEndpoint"]["URL"]
    nodes = [n["NodeId"] for n in c["Nodes"]]
    cw = daxd.client("cloudwatch")
    cw.put_metric_alarm(**alarm_args("cwm-throttled", cluster="cwm", TreatMissingData="notBreaching"))
    # Start within a minute, so that the whole workload lands in one.
    if time.time() % 60 > 40:
        wait_next_minute(1)
    start = int(time.time() // 60 * 60) - 60
    gets = 40
    with dax_client(url, daxd.root) as dax:
        for k in range(gets):
            dax.get_item(TableName="Simple", Key={"id": {"S": f"k{k % 10}"}})
    # Throttling: one request in flight per node, hammered from several threads.
    errors = []

    def hammer():
        with dax_client(url, daxd.root) as dax:
            for _ in range(20):
                try:
                    dax.scan(TableName="Simple", ConsistentRead=True)
                except ClientError as e:
                    errors.append(e.response["Error"]["Code"])
    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_next_minute()
    end = int(time.time()) + 60

    # The AWS CLI's get-metric-statistics sums to the requests sent.
    def cli_sum(metric, dims="Name=ClusterId,Value=cwm"):
        out = daxd.aws("cloudwatch", "get-metric-statistics", "--namespace", "AWS/DAX", "--metric-name", metric,
                       "--dimensions", *dims.split(" "), "--start-time", str(start), "--end-time", str(end),
                       "--period", "60", "--statistics", "Sum")
        return sum(p["Sum"] for p in json.loads(out.stdout)["Datapoints"])
    assert wait_for(lambda: cli_sum("GetItemRequestCount") == gets, 10, 0.5), cli_sum("GetItemRequestCount")
    assert cli_sum("ItemCacheHits") + cli_sum("ItemCacheMisses") == gets
    per_node = sum(cli_sum("GetItemRequestCount", f"Name=ClusterId,Value=cwm Name=NodeId,Value={n}") for n in nodes)
    assert per_node == gets
    assert cli_sum("ThrottledRequestCount") > 0

    # ListMetrics lists the metrics of every node.
    listed = []
    pages = cw.get_paginator("list_metrics").paginate(Namespace="AWS/DAX", Dimensions=[{"Name": "NodeId"}])
    for page in pages:
        listed += page["Metrics"]
    for n in nodes:
        names = {m["MetricName"] for m in listed if {"Name": "NodeId", "Value": n} in m["Dimensions"]}
        assert {"GetItemRequestCount", "TotalRequestCount", "ItemCacheMisses"} <= names, (n, names)

    # A metric-math query: the cache hit rate of GetItem.
    dims = [{"Name": "ClusterId", "Value": "cwm"}]
    q = lambda i, name: {"Id": i, "ReturnData": False, "MetricStat": {
        "Metric": {"Namespace": "AWS/DAX", "MetricName": name, "Dimensions": dims}, "Period": 60, "Stat": "Sum"}}
    r = cw.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=[
        q("h", "ItemCacheHits"), q("m", "ItemCacheMisses"), q("g", "GetItemRequestCount"),
        {"Id": "total", "Expression": "SUM([h, m])", "Label": "lookups"},
        {"Id": "rate", "Expression": "100 * FILL(h, 0) / g"}])["MetricDataResults"]
    by_id = {x["Id"]: x for x in r}
    assert sum(by_id["total"]["Values"]) == gets and by_id["total"]["Label"] == "lookups"
    assert all(0 <= v <= 100 for v in by_id["rate"]["Values"]) and by_id["rate"]["StatusCode"] == "Complete"

    # The throttle alarm (OK while no datapoint came: missing data is not breaching) goes to
    # ALARM, then back to OK once the throttled minute has left the evaluation range (the
    # last EvaluationPeriods + 2 minutes): while a real datapoint is in range, it decides.
    assert wait_for(lambda: cw.describe_alarms(AlarmNames=["cwm-throttled"])["MetricAlarms"][0]["StateValue"]
                    == "ALARM", 10, 0.5)
    # (From OK when an evaluation came before the workload's minute, else from INSUFFICIENT_DATA.)
    reason = cw.describe_alarms(AlarmNames=["cwm-throttled"])["MetricAlarms"][0]["StateReason"]
    assert re.fullmatch(r"Threshold Crossed: 1 out of the last 1 datapoints \[\d+\.\d+ \(\S+ \S+\)\] was greater "
                        r"than the threshold \(0\.0\) \(minimum 1 datapoint for (OK|INSUFFICIENT_DATA) -> ALARM "
                        r"transition\)\.", reason), reason
    wait_next_minute()
    assert cw.describe_alarms(AlarmNames=["cwm-throttled"])["MetricAlarms"][0]["StateValue"] == "ALARM"
    assert wait_for(lambda: cw.describe_alarms(AlarmNames=["cwm-throttled"])["MetricAlarms"][0]["StateValue"]
                    == "OK", 190, 1)
    history = cw.describe_alarm_history(AlarmName="cwm-throttled", HistoryItemType="StateUpdate")
    summaries = [h["HistorySummary"] for h in history["AlarmHistoryItems"]]
    assert summaries[0] == "Alarm updated from ALARM to OK"
    assert summaries[1] in ("Alarm updated from OK to ALARM", "Alarm updated from INSUFFICIENT_DATA to ALARM")

    # A restart keeps the datapoints and the alarms.
    before = cli_sum("GetItemRequestCount")
    daxd.restart()
    cw = daxd.client("cloudwatch")
    assert cli_sum("GetItemRequestCount") == before == gets
    assert cw.describe_alarms(AlarmNames=["cwm-throttled"])["MetricAlarms"][0]["StateValue"] == "OK"

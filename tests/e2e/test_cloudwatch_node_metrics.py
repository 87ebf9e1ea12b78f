"""The DAX node metrics daxd measures on the nodes' sockets and connection tasks:
NetworkBytes/Packets In/Out, CPUUtilization, BaselineNetworkBytes*Utilization and,
on burstable node types, the CPU credits (docs/metrics.md), recorded in CloudWatch
after a workload of known size through the official Python DAX client."""
import time
import urllib.request

from daxd import Daxd, wait_for
from test_cloudwatch import wait_next_minute
from test_dax_data import ARGS, create_cluster, dax_client, role

CREDITS = ["CPUCreditUsage", "CPUCreditBalance", "CPUSurplusCreditBalance", "CPUSurplusCreditsCharged"]


def test_node_metrics_of_a_t3_small_cluster():
    daxd = Daxd(args=[*ARGS[:2], "--dax-ports", "24420-24439"]).start()
    try:
        role_arn = role(daxd.client("iam"), "DAXNodeMetrics",
                        managed="arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess")
        daxd.client("dynamodb").create_table(
            TableName="Simple", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        c = create_cluster(daxd, "nm", role_arn, rf=2)  # dax.t3.small: 2 vCPUs, unlimited credits
        nodes = [n["NodeId"] for n in c["Nodes"]]
        cw = daxd.client("cloudwatch")
        # The whole workload within one minute.
        if time.time() % 60 > 45:
            wait_next_minute(1)
        start = int(time.time() // 60 * 60) - 60
        gets = 60
        with dax_client(c["ClusterDiscoveryEndpoint"]["URL"], daxd.root) as dax:
            for k in range(gets):
                dax.get_item(TableName="Simple", Key={"id": {"S": f"k{k % 10}"}})
        wait_next_minute()

        def stats(metric, node=None):
            dims = [{"Name": "ClusterId", "Value": "nm"}] + ([{"Name": "NodeId", "Value": node}] if node else [])
            return cw.get_metric_statistics(Namespace="AWS/DAX", MetricName=metric, Dimensions=dims,
                                            StartTime=start, EndTime=start + 240, Period=60,
                                            Statistics=["Sum", "Maximum", "Minimum"])["Datapoints"]

        def total(metric, node=None):
            return sum(p["Sum"] for p in stats(metric, node))

        wait_for(lambda: total("GetItemRequestCount") == gets, 10, 0.5)
        assert total("NetworkPacketsIn") >= total("TotalRequestCount") >= gets
        for n in nodes:
            assert total("NetworkBytesIn", n) > 0 and total("NetworkBytesOut", n) > 0, n
            assert total("NetworkPacketsIn", n) >= total("TotalRequestCount", n), n
            cpu = stats("CPUUtilization", n)
            assert cpu and all(0 < p["Maximum"] <= 100 and p["Unit"] == "Percent" for p in cpu), (n, cpu)
            assert all(0 < p["Maximum"] for p in stats("BaselineNetworkBytesInUtilization", n)), n
            # Credits: one vCPU-minute per minute of a full vCPU (2 vCPUs), a balance of at
            # most a day's 576 earned credits, and a surplus of at most as many.
            usage = {p["Timestamp"]: p["Sum"] for p in stats("CPUCreditUsage", n)}
            assert usage and all(0 < u <= 2 for u in usage.values()), (n, usage)
            for p in cpu:
                assert abs(usage[p["Timestamp"]] - p["Maximum"] / 100 * 2) < 1e-6, (n, p, usage)
            balance = stats("CPUCreditBalance", n)
            assert balance and all(0 < p["Minimum"] <= p["Maximum"] <= 576 for p in balance), (n, balance)
            assert all(0 < p["Maximum"] <= 576 for p in stats("CPUSurplusCreditBalance", n))
            assert all(p["Minimum"] > 0 for p in stats("CPUSurplusCreditsCharged", n))
        # Listed for every node; the balance is per node only.
        listed = cw.get_paginator("list_metrics").paginate(Namespace="AWS/DAX", Dimensions=[{"Name": "NodeId"}])
        listed = [m for page in listed for m in page["Metrics"]]
        for n in nodes:
            names = {m["MetricName"] for m in listed if {"Name": "NodeId", "Value": n} in m["Dimensions"]}
            assert {"NetworkBytesIn", "NetworkBytesOut", "NetworkPacketsIn", "NetworkPacketsOut", "CPUUtilization",
                    "CPUCreditUsage", "CPUCreditBalance"} <= names, (n, names)
        cluster_only = cw.list_metrics(Namespace="AWS/DAX", MetricName="CPUCreditBalance")["Metrics"]
        assert cluster_only and all(len(m["Dimensions"]) == 2 for m in cluster_only)
        # The socket counters in /metrics, at least what CloudWatch recorded of them.
        text = urllib.request.urlopen(daxd.endpoint + "/metrics").read().decode()
        for n in nodes:
            line = f'dax_node_NetworkBytesIn{{region="us-east-1",cluster="nm",node="{n}"}} '
            value = int(text.split(line, 1)[1].split("\n", 1)[0])
            assert value >= total("NetworkBytesIn", n) > 0, (n, value)
    finally:
        daxd.close()

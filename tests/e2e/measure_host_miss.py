"""What a cache miss costs on a node host (docs/node-hosts.md, "Costs"): one control, one
host on 127.0.0.2, a one-node cluster on it, and the Python DAX client doing GetItem of
keys never read before (each a miss: the node forwards it to the control), then of one key
again and again (hits), one at a time. Prints the latency of each kind.

    DAXD_BIN=target/debug/daxd .venv/bin/python tests/e2e/measure_host_miss.py [N]
"""
import statistics
import sys
import time

import amazondax

from test_node_host_ops import close, cluster_on_a_host, control


def timed(client, keys):
    out = []
    for k in keys:
        t = time.perf_counter()
        client.get_item(TableName="Tab", Key={"pk": {"S": k}})
        out.append((time.perf_counter() - t) * 1000)
    return out


def line(kind, ms):
    ms = sorted(ms)
    return (f"{kind}: n={len(ms)} mean={statistics.mean(ms):.2f} ms p50={ms[len(ms) // 2]:.2f} ms "
            f"p90={ms[int(len(ms) * 0.9)]:.2f} ms p99={ms[int(len(ms) * 0.99)]:.2f} ms")


def main(n):
    d = control()
    try:
        _, c, _ = cluster_on_a_host(d, "costs", "127.0.0.2", "27380-27389")
        client = amazondax.AmazonDaxClient(endpoint_url=c["ClusterDiscoveryEndpoint"]["URL"], region_name="us-east-1",
                                           aws_access_key_id=d.root[0], aws_secret_access_key=d.root[1])
        try:
            timed(client, [f"warm{i}" for i in range(20)])
            misses = timed(client, [f"miss{i}" for i in range(n)])
            hits = timed(client, ["warm0"] * n)
        finally:
            client.close()
        print(line("miss", misses))
        print(line("hit", hits))
    finally:
        close(d)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)

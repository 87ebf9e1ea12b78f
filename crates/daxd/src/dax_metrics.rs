//! The DAX nodes' metrics as CloudWatch datapoints: what the counters were at the last
//! recording, and a snapshot's datapoints for the minute that ended (`docs/metrics.md`).
//! The background tick (`tick.rs`) records them once a minute, those of nodes on node hosts
//! (`hosted_metrics.rs`) with the control's own.

use std::collections::BTreeMap;

/// What the DAX nodes' counters were at the last recording, to publish each
/// minute's increase as CloudWatch datapoints (docs/metrics.md).
#[derive(Default)]
pub struct MetricsRecorder {
    /// The minute (epoch second) recorded last.
    pub(crate) last_minute: Option<i64>,
    /// Counter values at the last recording, by (region, cluster, node or "").
    pub(crate) previous: BTreeMap<(String, String, String), BTreeMap<&'static str, u64>>,
}

/// The datapoints of one snapshot: each counter's increase since the last
/// recording, the gauges, and the figures the node derived for the minute (CPU and
/// network utilization, CPU credits); only non-zero values, as DAX publishes them.
pub(crate) fn snapshot_data(
    snapshot: &dax_node::Snapshot,
    previous: Option<&BTreeMap<&'static str, u64>>,
    utilization: Option<f64>,
    dimensions: Vec<cloudwatch::Dimension>,
    timestamp: f64,
) -> Vec<cloudwatch::Datum> {
    let metric = |name: &str| cloudwatch::MetricId::new("AWS/DAX", name, dimensions.clone());
    let datum = |name: &str, value: f64, unit: &str| cloudwatch::Datum {
        metric: metric(name),
        timestamp,
        value: cloudwatch::DatumValue::Value(value),
        unit: unit.to_owned(),
    };
    let mut out = Vec::new();
    for (name, now) in &snapshot.counters {
        // A counter below its last value belongs to a node that restarted: all of it is new.
        let before = previous.and_then(|p| p.get(name)).copied().filter(|b| b <= now).unwrap_or(0);
        let increase = now - before;
        if increase > 0 {
            let unit =
                if matches!(*name, "EvictedSize" | "NetworkBytesIn" | "NetworkBytesOut") { "Bytes" } else { "Count" };
            #[allow(clippy::cast_precision_loss)]
            out.push(datum(name, increase as f64, unit));
        }
    }
    if snapshot.client_connections > 0 {
        #[allow(clippy::cast_precision_loss)]
        out.push(datum("ClientConnections", snapshot.client_connections as f64, "Count"));
    }
    if snapshot.estimated_db_size > 0 {
        #[allow(clippy::cast_precision_loss)]
        out.push(datum("EstimatedDbSize", snapshot.estimated_db_size as f64, "Bytes"));
    }
    if let Some(u) = utilization.filter(|u| *u > 0.0) {
        out.push(datum("CacheMemoryUtilization", u, "Percent"));
    }
    // The figures the node derived for the minute (CPU and network utilization, credits).
    for (name, value) in snapshot.minute.iter().filter(|(_, v)| *v > 0.0) {
        let unit = if name.ends_with("Utilization") { "Percent" } else { "Count" };
        out.push(datum(name, *value, unit));
    }
    out
}

#[cfg(test)]
mod metrics_tests {
    use super::*;

    fn snapshot(counters: &[(&'static str, u64)], connections: i64, size: u64) -> dax_node::Snapshot {
        dax_node::Snapshot {
            labels: Vec::new(),
            counters: counters.to_vec(),
            client_connections: connections,
            estimated_db_size: size,
            cached_entries: 0,
            minute: Vec::new(),
        }
    }

    fn values(data: &[cloudwatch::Datum]) -> Vec<(String, f64, String)> {
        data.iter()
            .map(|d| match d.value {
                cloudwatch::DatumValue::Value(v) => (d.metric.name.clone(), v, d.unit.clone()),
                cloudwatch::DatumValue::Set { .. } => unreachable!("the recorder writes single values"),
            })
            .collect()
    }

    #[test]
    fn a_minute_is_the_increase_of_each_counter_and_the_gauges() {
        let dims = vec![cloudwatch::Dimension::new("ClusterId", "c")];
        let previous: BTreeMap<&'static str, u64> =
            [("GetItemRequestCount", 10), ("ItemCacheHits", 4), ("EvictedSize", 500)].into_iter().collect();
        // (counters now, baseline, connections, size, utilization, expected datapoints)
        type Case<'a> = (
            &'a [(&'static str, u64)],
            Option<&'a BTreeMap<&'static str, u64>>,
            i64,
            u64,
            Option<f64>,
            Vec<(&'a str, f64, &'a str)>,
        );
        let cases: Vec<Case<'_>> = vec![
            // Increases only; unchanged counters write nothing.
            (
                &[("GetItemRequestCount", 15), ("ItemCacheHits", 4), ("EvictedSize", 700)],
                Some(&previous),
                0,
                0,
                None,
                vec![("GetItemRequestCount", 5.0, "Count"), ("EvictedSize", 200.0, "Bytes")],
            ),
            // A node that restarted: its counters start again from zero.
            (&[("GetItemRequestCount", 3)], Some(&previous), 0, 0, None, vec![("GetItemRequestCount", 3.0, "Count")]),
            // No baseline: everything counted since the node started.
            (&[("TotalRequestCount", 7)], None, 0, 0, None, vec![("TotalRequestCount", 7.0, "Count")]),
            // Gauges, when not zero.
            (
                &[],
                None,
                2,
                4096,
                Some(12.5),
                vec![
                    ("ClientConnections", 2.0, "Count"),
                    ("EstimatedDbSize", 4096.0, "Bytes"),
                    ("CacheMemoryUtilization", 12.5, "Percent"),
                ],
            ),
            (&[], None, 0, 0, Some(0.0), vec![]),
        ];
        for (counters, baseline, connections, size, utilization, want) in cases {
            let got = snapshot_data(&snapshot(counters, connections, size), baseline, utilization, dims.clone(), 60.0);
            let want: Vec<(String, f64, String)> =
                want.into_iter().map(|(n, v, u)| (n.to_owned(), v, u.to_owned())).collect();
            assert_eq!(values(&got), want, "{counters:?}");
            assert!(got
                .iter()
                .all(|d| d.timestamp == 60.0 && d.metric.namespace == "AWS/DAX" && d.metric.dimensions == dims));
        }
    }

    #[test]
    fn socket_counters_and_the_nodes_minute_figures_have_their_units() {
        let mut s = snapshot(&[("NetworkBytesIn", 900), ("NetworkPacketsIn", 3), ("NetworkBytesOut", 0)], 0, 0);
        s.minute = vec![
            ("CPUUtilization", 12.5),
            ("BaselineNetworkBytesInUtilization", 0.01),
            ("BaselineNetworkBytesOutUtilization", 0.0),
            ("CPUCreditUsage", 0.25),
            ("CPUCreditBalance", 3.5),
            ("CPUSurplusCreditBalance", 0.0),
        ];
        let got = snapshot_data(&s, None, None, Vec::new(), 0.0);
        let want = [
            ("NetworkBytesIn", 900.0, "Bytes"),
            ("NetworkPacketsIn", 3.0, "Count"),
            ("CPUUtilization", 12.5, "Percent"),
            ("BaselineNetworkBytesInUtilization", 0.01, "Percent"),
            ("CPUCreditUsage", 0.25, "Count"),
            ("CPUCreditBalance", 3.5, "Count"),
        ];
        let want: Vec<(String, f64, String)> =
            want.into_iter().map(|(n, v, u)| (n.to_owned(), v, u.to_owned())).collect();
        assert_eq!(values(&got), want);
    }
}

//! The metrics of DAX nodes on node hosts (docs/node-hosts.md, "Metrics"): a host sends
//! its fleet's snapshots in each heartbeat (`Metrics`, bounded by the model), the control
//! keeps the last report of each host and adds them to its own nodes' for CloudWatch's
//! `AWS/DAX` (`tick.rs`) and `/metrics` (`dax_host::prometheus`), under the same names
//! and dimensions.
//!
//! Counters are cumulative since a node started, so a report that arrives late or twice
//! counts nothing twice: each minute publishes the increase since the last recording. The
//! control takes the cluster's name and region from its own record of what the host runs,
//! never from the report, and keeps only the clusters and nodes assigned to that host (a
//! host cannot report figures for clusters it does not run; a cluster deleted meanwhile is
//! skipped, not an error). A host that is `unreachable` keeps its last counters (so that
//! nothing is counted again when it comes back) without its gauges; one that left or was
//! removed is forgotten.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use dax_control::{HostAssignment, HostState};
use dax_node::{Counter, Fleet, NodeSpec, Snapshot, MINUTE_FIGURES};
use serde_json::{json, Map, Value};

/// The most snapshots one heartbeat carries (the model's `MetricsSnapshotList` bound): a
/// host's port range has at most 1000 ports, so at most 1000 nodes and their clusters.
pub const MAX_SNAPSHOTS: usize = 2000;

fn label(s: &Snapshot, key: &str) -> String {
    s.labels.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone()).unwrap_or_default()
}

/// The fleet's snapshots as the heartbeat's `Metrics`: the clusters of `specs`, their
/// nodes, the non-zero counters, gauges and the last minute's figures.
pub fn metrics_out(fleet: &Fleet, specs: &[NodeSpec]) -> Value {
    let arns: HashMap<(&str, &str), &str> =
        specs.iter().map(|s| ((s.cluster.region.as_str(), s.cluster.name.as_str()), s.cluster.arn.as_str())).collect();
    let (nodes, clusters) = fleet.metrics();
    let mut out = Vec::new();
    for (s, is_node) in nodes.iter().map(|s| (s, true)).chain(clusters.iter().map(|s| (s, false))) {
        let (region, cluster) = (label(s, "region"), label(s, "cluster"));
        let Some(arn) = arns.get(&(region.as_str(), cluster.as_str())) else { continue };
        let counters: Map<String, Value> =
            s.counters.iter().filter(|(_, v)| *v > 0).map(|(n, v)| ((*n).to_owned(), json!(v))).collect();
        let figures: Map<String, Value> =
            s.minute.iter().filter(|(_, v)| v.is_finite()).map(|(n, v)| ((*n).to_owned(), json!(v))).collect();
        let mut o = json!({
            "ClusterArn": arn,
            "Counters": counters,
            "ClientConnections": s.client_connections.max(0),
            "EstimatedDbSize": s.estimated_db_size,
            "CachedEntries": s.cached_entries,
            "MinuteFigures": figures,
        });
        if is_node {
            let node = label(s, "node");
            if let Some(c) = fleet.node_cache_capacity(arn, &node) {
                o["CacheCapacity"] = json!(c);
            }
            o["NodeId"] = json!(node);
        }
        out.push(o);
        if out.len() == MAX_SNAPSHOTS {
            break;
        }
    }
    Value::Array(out)
}

/// Check the metric names of a heartbeat's `Metrics` (the model's validation checks the
/// values; a map's keys are checked here, worded as AWS words a map key constraint).
///
/// # Errors
/// The validation message, for `InvalidParameterValueException`.
pub fn check_names(raw: Option<&Value>) -> Result<(), String> {
    let counters: Vec<&str> = Counter::ALL.iter().map(|c| c.name()).collect();
    let figures: Vec<&str> = MINUTE_FIGURES.iter().map(|(n, _)| *n).collect();
    let mut errors = Vec::new();
    for (i, m) in raw.and_then(Value::as_array).into_iter().flatten().enumerate() {
        for (member, path, allowed) in
            [("Counters", "counters", &counters), ("MinuteFigures", "minuteFigures", &figures)]
        {
            let Some(map) = m.get(member).and_then(Value::as_object) else { continue };
            if map.keys().any(|k| !allowed.contains(&k.as_str())) {
                let shown: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
                errors.push(format!(
                    "Value '{{{}}}' at 'metrics.{}.member.{path}' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy enum value set: [{}]]",
                    shown.join(", "),
                    i + 1,
                    allowed.join(", ")
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        let noun = if errors.len() == 1 { "error" } else { "errors" };
        Err(format!("{} validation {noun} detected: {}", errors.len(), errors.join("; ")))
    }
}

/// One host's last report: its node and cluster snapshots, labelled from the control's
/// records, and its nodes' cache capacities.
#[derive(Debug, Default, Clone)]
pub struct Report {
    nodes: Vec<Snapshot>,
    clusters: Vec<Snapshot>,
    /// Cache capacity in bytes by (region, cluster name, node id).
    capacities: BTreeMap<(String, String, String), u64>,
}

/// A heartbeat's `Metrics` (validated against the model), kept for the clusters and nodes
/// that `assignments` give the host; the rest is skipped.
#[must_use]
pub fn report_in(raw: Option<&Value>, assignments: &[HostAssignment]) -> Report {
    let mut report = Report::default();
    let mut seen = std::collections::BTreeSet::new();
    for m in raw.and_then(Value::as_array).into_iter().flatten().take(MAX_SNAPSHOTS) {
        let arn = m.get("ClusterArn").and_then(Value::as_str).unwrap_or_default();
        let Some(a) = assignments.iter().find(|a| a.cluster_arn == arn) else { continue };
        let node = m.get("NodeId").and_then(Value::as_str);
        if node.is_some_and(|n| !a.nodes.iter().any(|x| x.node_id == n)) || !seen.insert((arn, node)) {
            continue;
        }
        let count = |k: &str| m.get(k).and_then(Value::as_u64).unwrap_or(0);
        let counters_in = m.get("Counters").and_then(Value::as_object);
        let figures_in = m.get("MinuteFigures").and_then(Value::as_object);
        let mut labels = vec![("region", a.region.clone()), ("cluster", a.cluster_name.clone())];
        if let Some(n) = node {
            labels.push(("node", n.to_owned()));
        }
        let snapshot = Snapshot {
            labels,
            counters: Counter::ALL
                .iter()
                .map(|c| (c.name(), counters_in.and_then(|o| o.get(c.name())).and_then(Value::as_u64).unwrap_or(0)))
                .collect(),
            client_connections: i64::try_from(count("ClientConnections")).unwrap_or(i64::MAX),
            estimated_db_size: count("EstimatedDbSize"),
            cached_entries: count("CachedEntries"),
            minute: MINUTE_FIGURES
                .iter()
                .filter_map(|(name, _)| {
                    let v = figures_in.and_then(|o| o.get(*name)).and_then(Value::as_f64)?;
                    (v.is_finite() && v >= 0.0).then_some((*name, v))
                })
                .collect(),
        };
        match node {
            Some(n) => {
                if let Some(c) = m.get("CacheCapacity").and_then(Value::as_u64) {
                    report.capacities.insert((a.region.clone(), a.cluster_name.clone(), n.to_owned()), c);
                }
                report.nodes.push(snapshot);
            }
            None => report.clusters.push(snapshot),
        }
    }
    report
}

/// The last report of each host, by (region, host id).
#[derive(Debug, Default)]
pub struct HostedMetrics(Mutex<BTreeMap<(String, String), Report>>);

/// The hosted nodes' and clusters' snapshots, and their nodes' cache capacities.
pub type Snapshots = (Vec<Snapshot>, Vec<Snapshot>, BTreeMap<(String, String, String), u64>);

impl HostedMetrics {
    /// Keep `report` as host `id`'s last.
    pub fn store(&self, region: &str, id: &str, report: Report) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((region.to_owned(), id.to_owned()), report);
    }

    /// Every host's last report, by the state `state_of` gives its host: `active` as
    /// reported, `unreachable` with its counters only, else (left, removed) forgotten.
    pub fn snapshots(&self, state_of: impl Fn(&str, &str) -> Option<HostState>) -> Snapshots {
        let mut reports = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        reports
            .retain(|(region, id), _| matches!(state_of(region, id), Some(HostState::Active | HostState::Unreachable)));
        let (mut nodes, mut clusters, mut capacities) = (Vec::new(), Vec::new(), BTreeMap::new());
        for ((region, id), r) in reports.iter() {
            let active = state_of(region, id) == Some(HostState::Active);
            let frozen = |s: &Snapshot| {
                if active {
                    s.clone()
                } else {
                    Snapshot {
                        client_connections: 0,
                        estimated_db_size: 0,
                        cached_entries: 0,
                        minute: Vec::new(),
                        ..s.clone()
                    }
                }
            };
            nodes.extend(r.nodes.iter().map(frozen));
            clusters.extend(r.clusters.iter().map(frozen));
            if active {
                capacities.extend(r.capacities.iter().map(|(k, v)| (k.clone(), *v)));
            }
        }
        (nodes, clusters, capacities)
    }
}

/// Snapshots of the same cluster (its nodes on several hosts, or inside the control and
/// on a host) as one: counters and gauges added up, each minute figure averaged.
#[must_use]
pub fn merge_clusters(snapshots: Vec<Snapshot>) -> Vec<Snapshot> {
    let mut by_cluster: BTreeMap<(String, String), Vec<Snapshot>> = BTreeMap::new();
    for s in snapshots {
        by_cluster.entry((label(&s, "region"), label(&s, "cluster"))).or_default().push(s);
    }
    by_cluster
        .into_values()
        .filter_map(|mut group| {
            let mut first = group.pop()?;
            if group.is_empty() {
                return Some(first);
            }
            let n = group.len() + 1;
            for s in &group {
                for (name, v) in &mut first.counters {
                    *v = v.saturating_add(s.counters.iter().find(|(x, _)| x == name).map_or(0, |(_, y)| *y));
                }
                first.client_connections = first.client_connections.saturating_add(s.client_connections);
                first.estimated_db_size = first.estimated_db_size.saturating_add(s.estimated_db_size);
                first.cached_entries = first.cached_entries.saturating_add(s.cached_entries);
            }
            for (name, v) in &mut first.minute {
                let others: f64 = group.iter().filter_map(|s| s.figure(name)).sum();
                #[allow(clippy::cast_precision_loss)]
                let mean = (*v + others) / n as f64;
                *v = mean;
            }
            Some(first)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dax_control::AssignedNode;

    fn assignment(arn: &str, name: &str, nodes: &[&str]) -> HostAssignment {
        HostAssignment {
            region: "us-east-1".into(),
            cluster_arn: arn.into(),
            cluster_name: name.into(),
            node_type: "dax.t3.small".into(),
            iam_role_arn: "arn:aws:iam::1:role/r".into(),
            tls: false,
            record_ttl_ms: 0,
            query_ttl_ms: 0,
            roster: Vec::new(),
            leader_session_id: 0,
            nodes: nodes
                .iter()
                .map(|n| AssignedNode { node_id: (*n).into(), port: 1, generation: 0, primary: false })
                .collect(),
        }
    }

    #[test]
    fn a_report_keeps_only_the_hosts_own_clusters_and_nodes() {
        let mine = assignment("arn:aws:dax:us-east-1:1:cache/mine", "mine", &["mine-a"]);
        let raw = json!([
            {"ClusterArn": "arn:aws:dax:us-east-1:1:cache/mine", "NodeId": "mine-a",
             "Counters": {"ItemCacheHits": 7, "TotalRequestCount": 9}, "ClientConnections": 2,
             "EstimatedDbSize": 100, "CachedEntries": 1, "CacheCapacity": 1000,
             "MinuteFigures": {"CPUUtilization": 1.5}},
            {"ClusterArn": "arn:aws:dax:us-east-1:1:cache/mine", "Counters": {"ItemCacheHits": 7}},
            // Not this host's: a node of another host, another cluster, a duplicate.
            {"ClusterArn": "arn:aws:dax:us-east-1:1:cache/mine", "NodeId": "mine-b", "Counters": {"ItemCacheHits": 1}},
            {"ClusterArn": "arn:aws:dax:us-east-1:1:cache/other", "Counters": {"ItemCacheHits": 1}},
            {"ClusterArn": "arn:aws:dax:us-east-1:1:cache/mine", "NodeId": "mine-a", "Counters": {"ItemCacheHits": 99}},
        ]);
        let r = report_in(Some(&raw), &[mine]);
        assert_eq!((r.nodes.len(), r.clusters.len()), (1, 1));
        let n = &r.nodes[0];
        assert_eq!(label(n, "cluster"), "mine");
        assert_eq!(label(n, "node"), "mine-a");
        assert_eq!(n.counters.len(), Counter::ALL.len());
        assert_eq!(n.counters.iter().find(|(k, _)| *k == "ItemCacheHits"), Some(&("ItemCacheHits", 7)));
        assert_eq!((n.client_connections, n.estimated_db_size, n.figure("CPUUtilization")), (2, 100, Some(1.5)));
        assert_eq!(r.capacities.get(&("us-east-1".into(), "mine".into(), "mine-a".into())), Some(&1000));
        assert!(report_in(None, &[]).nodes.is_empty());
    }

    #[test]
    fn metric_names_are_daxs_or_refused() {
        let ok =
            json!([{"ClusterArn": "c", "Counters": {"ItemCacheHits": 1}, "MinuteFigures": {"CPUUtilization": 1.0}}]);
        assert_eq!(check_names(Some(&ok)), Ok(()));
        assert_eq!(check_names(None), Ok(()));
        let bad = json!([{"ClusterArn": "c"}, {"ClusterArn": "c", "Counters": {"Bogus": 1}}]);
        let e = check_names(Some(&bad)).expect_err("refused");
        assert!(e.starts_with("1 validation error detected: Value '{Bogus=1}' at 'metrics.2.member.counters' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy enum value set: [ItemCacheHits, "), "{e}");
        let bad = json!([{"ClusterArn": "c", "Counters": {"X": 1}, "MinuteFigures": {"Y": 1.0}}]);
        assert!(check_names(Some(&bad)).expect_err("refused").starts_with("2 validation errors detected: "));
    }

    #[test]
    fn reports_follow_their_hosts_state() {
        let mine = assignment("arn:c", "c", &["c-a"]);
        let raw = json!([{"ClusterArn": "arn:c", "NodeId": "c-a", "Counters": {"ItemCacheHits": 3},
                          "ClientConnections": 4, "MinuteFigures": {"CPUUtilization": 2.0}}]);
        let hosted = HostedMetrics::default();
        hosted.store("us-east-1", "nh-1", report_in(Some(&raw), &[mine]));
        let (nodes, _, _) = hosted.snapshots(|_, _| Some(HostState::Active));
        assert_eq!((nodes[0].client_connections, nodes[0].minute.len()), (4, 1));
        // Unreachable: the counters stay (nothing counted again on its return), gauges go.
        let (nodes, _, _) = hosted.snapshots(|_, _| Some(HostState::Unreachable));
        assert_eq!((nodes[0].client_connections, nodes[0].minute.len()), (0, 0));
        assert_eq!(nodes[0].counters.iter().find(|(k, _)| *k == "ItemCacheHits").map(|x| x.1), Some(3));
        // Left or removed: forgotten.
        assert!(hosted.snapshots(|_, _| Some(HostState::Left)).0.is_empty());
        assert!(hosted.snapshots(|_, _| Some(HostState::Active)).0.is_empty());
    }

    #[test]
    fn snapshots_of_one_cluster_merge() {
        let snap = |hits: u64, conns: i64, cpu: f64| Snapshot {
            labels: vec![("region", "r".into()), ("cluster", "c".into())],
            counters: vec![("ItemCacheHits", hits)],
            client_connections: conns,
            estimated_db_size: 10,
            cached_entries: 1,
            minute: vec![("CPUUtilization", cpu)],
        };
        let merged = merge_clusters(vec![snap(1, 1, 2.0), snap(2, 3, 4.0)]);
        assert_eq!(merged.len(), 1);
        let m = &merged[0];
        assert_eq!(
            (m.counters[0].1, m.client_connections, m.estimated_db_size, m.figure("CPUUtilization")),
            (3, 4, 20, Some(3.0))
        );
        assert_eq!(merge_clusters(vec![snap(1, 1, 2.0)]).len(), 1);
    }

    #[test]
    fn the_models_metric_names_are_daxs() {
        let model: Value =
            serde_json::from_str(include_str!("../../../models/daxd-nodehost.json")).expect("the model is JSON");
        let names = |shape: &str| -> Vec<String> {
            model["shapes"][shape]["enum"]
                .as_array()
                .expect("an enum")
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect()
        };
        let counters: Vec<String> = Counter::ALL.iter().map(|c| c.name().to_owned()).collect();
        assert_eq!(names("DaxCounterName"), counters);
        let figures: Vec<String> = MINUTE_FIGURES.iter().map(|(n, _)| (*n).to_owned()).collect();
        assert_eq!(names("DaxMinuteFigureName"), figures);
    }
}

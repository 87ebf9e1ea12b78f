//! FIS faults on DAX nodes that run on node hosts (docs/node-hosts.md, "Faults"): an
//! action's fault on such a node is recorded here, the host's next heartbeat answer lists
//! it (`Faults`), and the host injects it into its fleet (and ends the faults no longer
//! listed), with the fleet's own `inject` and `clear`. The control learns which nodes run on
//! hosts from the assignments it answers heartbeats with.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use dax_control::HostAssignment;
use dax_node::{Fault, FaultError, FaultKind, Fleet, NodeSpec};
use serde_json::{json, Value};

/// A node: (cluster ARN, node id).
type NodeKey = (String, String);

#[derive(Debug, Default)]
struct State {
    /// The nodes each host was last told to run, by host id.
    hosted: BTreeMap<String, BTreeSet<NodeKey>>,
    /// The faults wanted on hosted nodes.
    wanted: BTreeMap<NodeKey, BTreeMap<FaultKind, Fault>>,
}

/// The faults of nodes on hosts, kept in memory like the control's own nodes' faults.
#[derive(Debug, Default)]
pub struct HostedFaults(Mutex<State>);

impl HostedFaults {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Host `id` was told to run `assignments`: its nodes are hosted.
    pub fn note_assignments(&self, id: &str, assignments: &[HostAssignment]) {
        let nodes = assignments
            .iter()
            .flat_map(|a| a.nodes.iter().map(move |n| (a.cluster_arn.clone(), n.node_id.clone())))
            .collect();
        self.state().hosted.insert(id.to_owned(), nodes);
    }

    /// Whether the node runs on a node host.
    pub fn is_hosted(&self, cluster_arn: &str, node_id: &str) -> bool {
        let key = (cluster_arn.to_owned(), node_id.to_owned());
        self.state().hosted.values().any(|nodes| nodes.contains(&key))
    }

    /// Put a hosted node in `fault` (from the host's next heartbeat on).
    ///
    /// # Errors
    /// An invalid parameter, as the fleet refuses it.
    pub fn inject(&self, cluster_arn: &str, node_id: &str, fault: Fault) -> Result<(), FaultError> {
        fault.validate()?;
        tracing::info!(node = %node_id, ?fault, "fault injected on a node host's node");
        self.state()
            .wanted
            .entry((cluster_arn.to_owned(), node_id.to_owned()))
            .or_default()
            .insert(fault.kind(), fault);
        Ok(())
    }

    /// End a hosted node's fault of `kind`: whether it was wanted.
    pub fn clear(&self, cluster_arn: &str, node_id: &str, kind: FaultKind) -> bool {
        let mut state = self.state();
        let key = (cluster_arn.to_owned(), node_id.to_owned());
        let Some(faults) = state.wanted.get_mut(&key) else { return false };
        let was = faults.remove(&kind).is_some();
        if faults.is_empty() {
            state.wanted.remove(&key);
        }
        was
    }

    /// The faults of the nodes of `assignments`, as the heartbeat answer's `Faults`.
    pub fn faults_out(&self, assignments: &[HostAssignment]) -> Value {
        let state = self.state();
        let mut out = Vec::new();
        for a in assignments {
            for n in &a.nodes {
                let key = (a.cluster_arn.clone(), n.node_id.clone());
                for f in state.wanted.get(&key).into_iter().flat_map(BTreeMap::values) {
                    let mut o = fault_out(f);
                    o["ClusterArn"] = json!(a.cluster_arn);
                    o["NodeId"] = json!(n.node_id);
                    out.push(o);
                }
            }
        }
        Value::Array(out)
    }
}

/// On the host: put the nodes of `specs` in the faults a heartbeat answer lists
/// (`faults`), and end those it no longer lists.
pub fn apply(fleet: &Fleet, specs: &[NodeSpec], faults: &Value) {
    let listed: Vec<(&str, &str, Fault)> = faults
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| {
            let (c, n) = (f.get("ClusterArn")?.as_str()?, f.get("NodeId")?.as_str()?);
            Some((c, n, fault_in(f)?))
        })
        .collect();
    for s in specs {
        let (c, n) = (s.cluster.arn.as_str(), s.node_id.as_str());
        let Ok(now) = fleet.faults(c, n) else { continue };
        let wanted: Vec<Fault> = listed.iter().filter(|(lc, ln, _)| *lc == c && *ln == n).map(|x| x.2).collect();
        for f in wanted.iter().filter(|f| !now.contains(f)) {
            if let Err(e) = fleet.inject(c, n, *f) {
                eprintln!("daxd node-host: cannot put {n} in {f:?}: {e}");
            }
        }
        for f in now.iter().filter(|f| !wanted.iter().any(|w| w.kind() == f.kind())) {
            let _ = fleet.clear(c, n, f.kind());
        }
    }
}

/// A fault's `Kind` and parameter, as the model's `NodeFault` says them.
fn fault_out(f: &Fault) -> Value {
    match *f {
        Fault::Stop => json!({"Kind": "Stop"}),
        Fault::Stall => json!({"Kind": "Stall"}),
        Fault::Latency { millis } => json!({"Kind": "Latency", "Millis": millis}),
        Fault::Throttle { percent } => json!({"Kind": "Throttle", "Percent": percent}),
        Fault::Fail { percent } => json!({"Kind": "Fail", "Percent": percent}),
        Fault::PauseReplication => json!({"Kind": "PauseReplication"}),
        Fault::BackendLatency { millis } => json!({"Kind": "BackendLatency", "Millis": millis}),
        Fault::BackendFail { percent } => json!({"Kind": "BackendFail", "Percent": percent}),
    }
}

/// A `NodeFault` of a heartbeat answer back as a fault (`None`: not one daxd knows).
#[must_use]
pub fn fault_in(v: &Value) -> Option<Fault> {
    let millis = || v.get("Millis").and_then(Value::as_u64).unwrap_or(0);
    let percent = || v.get("Percent").and_then(Value::as_u64).and_then(|p| u8::try_from(p).ok()).unwrap_or(0);
    Some(match v.get("Kind").and_then(Value::as_str)? {
        "Stop" => Fault::Stop,
        "Stall" => Fault::Stall,
        "Latency" => Fault::Latency { millis: millis() },
        "Throttle" => Fault::Throttle { percent: percent() },
        "Fail" => Fault::Fail { percent: percent() },
        "PauseReplication" => Fault::PauseReplication,
        "BackendLatency" => Fault::BackendLatency { millis: millis() },
        "BackendFail" => Fault::BackendFail { percent: percent() },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dax_control::AssignedNode;

    #[test]
    fn faults_of_hosted_nodes_go_out_with_the_assignments_and_come_back() {
        let a = HostAssignment {
            region: "us-east-1".into(),
            cluster_arn: "arn:c".into(),
            cluster_name: "c".into(),
            node_type: "dax.t3.small".into(),
            iam_role_arn: "arn:r".into(),
            tls: false,
            record_ttl_ms: 0,
            query_ttl_ms: 0,
            roster: Vec::new(),
            leader_session_id: 0,
            nodes: vec![AssignedNode { node_id: "c-a".into(), port: 1, generation: 0, primary: true }],
        };
        let h = HostedFaults::default();
        assert!(!h.is_hosted("arn:c", "c-a"));
        h.note_assignments("nh-1", std::slice::from_ref(&a));
        assert!(h.is_hosted("arn:c", "c-a") && !h.is_hosted("arn:c", "c-b"));
        h.inject("arn:c", "c-a", Fault::Latency { millis: 40 }).expect("valid");
        h.inject("arn:c", "c-a", Fault::Stop).expect("valid");
        assert!(h.inject("arn:c", "c-a", Fault::Throttle { percent: 101 }).is_err());
        let out = h.faults_out(std::slice::from_ref(&a));
        let back: Vec<Fault> = out.as_array().expect("a list").iter().filter_map(fault_in).collect();
        assert_eq!(back, vec![Fault::Stop, Fault::Latency { millis: 40 }]);
        assert_eq!(out[1]["ClusterArn"], "arn:c");
        assert!(h.clear("arn:c", "c-a", FaultKind::Stop) && !h.clear("arn:c", "c-a", FaultKind::Stop));
        assert!(h.clear("arn:c", "c-a", FaultKind::Latency));
        assert_eq!(h.faults_out(&[a]), json!([]));
        for f in [
            Fault::Stall,
            Fault::Fail { percent: 5 },
            Fault::PauseReplication,
            Fault::BackendLatency { millis: 3 },
            Fault::BackendFail { percent: 7 },
        ] {
            assert_eq!(fault_in(&fault_out(&f)), Some(f));
        }
        assert_eq!(fault_in(&json!({"Kind": "Melt"})), None);
    }
}

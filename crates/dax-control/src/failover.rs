//! Failover and replacement of the nodes of a lost node host (docs/node-hosts.md,
//! "Failover and replacement"). A host is lost once it is `unreachable` (no heartbeat for
//! `--node-host-timeout-secs`), has left, or was removed. For each cluster with a node on
//! a lost host, [`DaxControl::replace_lost_nodes`] (which daxd's background tick calls):
//!
//! 1. promotes a replica when the primary is lost: the oldest node of the cluster on a
//!    host that is `active` (a deterministic choice; which replica applied the most of the
//!    primary's stream is not known to the control), with the event "Failover to replica
//!    node … completed." (**unverified** wording);
//! 2. replaces each lost node with a new node placed by the placement rule on the hosts
//!    left (its old zone if a host there has room, else any): the lost node's interface is
//!    deleted and it leaves the cluster, the new one is `creating` and becomes `available`
//!    once its host serves it, with the event "Replacing failed node … with node …."
//!    (**unverified** wording). A host that comes back no longer finds the lost nodes in
//!    its assignments, so it stops them.
//!
//! A lost node that cannot be replaced yet (no host with a free port) stays, listed as it
//! was, and the next tick tries again. All the changes of one call are one batch.

use crate::clusters::OnHost;
use crate::hosts::HostState;
use crate::records::{ClusterRec, NodeRec};
use crate::{ClusterStatus, DaxControl, DaxError, NewEvent, NodeStatus, SourceType, State};

impl DaxControl {
    /// Whether node host `id` of `region` is lost: not `active`, or no longer known.
    fn host_lost(&self, region: &str, id: &str) -> bool {
        self.hosts.as_ref().is_some_and(|r| r.get(region, id).is_none_or(|h| h.state != HostState::Active))
    }

    /// Promote a replica for, and replace, the nodes of lost node hosts (see the module
    /// documentation). Returns a line for each change, for the binary to log.
    ///
    /// # Errors
    /// When the store cannot be written; nothing changes then (the next call tries again).
    pub fn replace_lost_nodes(&self) -> Result<Vec<String>, DaxError> {
        if self.hosts.is_none() {
            return Ok(Vec::new());
        }
        let affected: Vec<(String, String)> = {
            let st = self.read();
            st.regions
                .iter()
                .flat_map(|(region, r)| r.clusters.values().map(move |c| (region, c)))
                .filter(|(_, c)| c.status != ClusterStatus::Deleting)
                .filter(|(region, c)| {
                    c.nodes.iter().any(|n| {
                        n.status != NodeStatus::Deleting
                            && n.host.as_ref().is_some_and(|h| self.host_lost(region, &h.id))
                    })
                })
                .map(|(region, c)| (region.clone(), c.name.clone()))
                .collect()
        };
        if affected.is_empty() {
            return Ok(Vec::new());
        }
        let (mut st, now) = self.writable()?;
        let mut next: Vec<ClusterRec> = Vec::new();
        let mut events: Vec<NewEvent> = Vec::new();
        let mut made: Vec<(String, Vec<NodeRec>)> = Vec::new();
        let mut gone: Vec<(String, Vec<NodeRec>)> = Vec::new();
        let mut lines = Vec::new();
        for (region, name) in &affected {
            let Some(c) = st.cluster(region, name).cloned() else { continue };
            let Some(changed) = self.fail_over(&st, &c, now, &mut events, &mut lines, &mut made, &mut gone) else {
                continue;
            };
            next.push(changed);
        }
        if next.is_empty() {
            return Ok(Vec::new());
        }
        let ops: Result<Vec<_>, _> =
            next.iter().map(|c| state::Op::put_json(crate::records::NS_CLUSTERS, c.key(), c)).collect();
        let result = ops.map_err(DaxError::from).and_then(|ops| self.commit(&mut st, ops, events));
        if let Err(e) = result {
            for (region, nodes) in &made {
                self.unprovision(region, nodes);
            }
            return Err(e);
        }
        // The lost nodes' interfaces go once the change is durable (best effort: the
        // interface of a node that no longer exists is only a leftover).
        for (region, nodes) in &gone {
            for eni in nodes.iter().filter_map(|n| n.eni_id.as_ref()) {
                let _ = self.deps.network.delete_node_interface(region, eni);
            }
        }
        for c in next {
            st.region_mut(&c.region.clone()).clusters.insert(c.name.clone(), c);
        }
        Ok(lines)
    }

    /// The next state of `c` after failover and replacement, or `None` when nothing can
    /// change now.
    #[allow(clippy::too_many_arguments)]
    fn fail_over(
        &self,
        st: &State,
        c: &ClusterRec,
        now: f64,
        events: &mut Vec<NewEvent>,
        lines: &mut Vec<String>,
        made: &mut Vec<(String, Vec<NodeRec>)>,
        gone: &mut Vec<(String, Vec<NodeRec>)>,
    ) -> Option<ClusterRec> {
        let region = c.region.as_str();
        let lost = |n: &NodeRec| {
            n.status != NodeStatus::Deleting && n.host.as_ref().is_some_and(|h| self.host_lost(region, &h.id))
        };
        let event = |message: String| NewEvent {
            region: region.to_owned(),
            source_type: SourceType::Cluster,
            source_name: c.name.clone(),
            message,
            date: now,
        };
        let mut next = c.clone();
        let mut changed = false;
        // 1. A new primary, if the primary is lost and a node on an active host is left.
        if c.primary().is_some_and(lost) {
            if let Some(p) = c.nodes.iter().find(|n| n.status != NodeStatus::Deleting && !lost(n)) {
                next.primary_node = Some(p.id.clone());
                events.push(event(format!("Failover to replica node {} completed.", p.id)));
                lines.push(format!(
                    "cluster {} of {region}: its primary's node host is lost; node {} is the primary",
                    c.name, p.id
                ));
                changed = true;
            }
        }
        // 2. Replacements on the hosts left.
        let failed: Vec<NodeRec> = c.nodes.iter().filter(|n| lost(n)).cloned().collect();
        let kept: Vec<NodeRec> = c.nodes.iter().filter(|n| !lost(n)).cloned().collect();
        let group = self.subnet_group_view(st, region, &c.subnet_group).ok()?;
        let zones: Vec<String> = failed.iter().map(|n| n.az.clone()).collect();
        let placed = self
            .hosts_for_nodes(st, region, &group, &kept, failed.len(), Some(&zones))
            .or_else(|_| self.hosts_for_nodes(st, region, &group, &kept, failed.len(), None));
        if let Ok(on) = placed {
            let placements = Self::on_host_placements(&group, &on);
            let until = self.deadline(now);
            let on: &[OnHost] = &on;
            if let Ok(new) =
                self.provision(region, &c.name, &c.security_group_ids, placements, c.next_node, now, until, Some(on))
            {
                for (old, n) in failed.iter().zip(&new) {
                    events.push(event(format!("Replacing failed node {} with node {}.", old.id, n.id)));
                    lines.push(format!(
                        "cluster {} of {region}: node {} of a lost node host is replaced by node {} on node host {}",
                        c.name,
                        old.id,
                        n.id,
                        n.host.as_ref().map_or("", |h| h.id.as_str())
                    ));
                }
                next.next_node = next.next_node.saturating_add(new.len());
                next.nodes = kept;
                next.nodes.extend(new.iter().cloned());
                made.push((region.to_owned(), new));
                gone.push((region.to_owned(), failed));
                changed = true;
            }
        }
        changed.then_some(next)
    }
}

//! The clock-driven work of the background task (`main.rs`): DAX lifecycles
//! advance, service-linked role deletion tasks advance, access records are
//! flushed, the DAX node listeners follow the control plane, fault injection
//! experiments advance, and once a
//! minute the DAX metrics are recorded in CloudWatch and its alarms evaluated. It lives
//! apart from `App` so that the state shared by requests does not depend on
//! the data plane that depends on it.

use std::collections::BTreeMap;

use crate::app::App;
use crate::dax_metrics::snapshot_data;
use crate::usage::Usage;

/// One step of the background work. Errors are logged, and retried on the next tick.
pub fn tick(app: &App) {
    if let Err(e) = app.dax.tick() {
        tracing::warn!(error = %e, "advancing DAX lifecycles");
    }
    node_host_health(app);
    {
        let _deleting = app.role_in_use.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(e) = app.iam.advance_deletion_tasks(&Usage { app }, app.step_secs) {
            tracing::warn!(error = %e, "advancing service-linked role deletion tasks");
        }
    }
    if let Err(e) = app.iam.flush_activity() {
        tracing::warn!(error = %e, "flushing access records");
    }
    // DAX data plane: node listeners follow the control plane's nodes.
    crate::dax_host::reconcile(app);
    // Fault injection: experiments advance on the clock (actions start and end).
    if let Err(e) = app.fis.tick() {
        tracing::warn!(error = %e, "advancing FIS experiments");
    }
    // CloudWatch: the minute's DAX metrics, then the alarms on them.
    record_metrics(app);
    match app.cloudwatch.opened() {
        Ok(regions) => {
            for cw in regions {
                if let Err(e) = cw.tick() {
                    tracing::warn!(error = %e, "evaluating CloudWatch alarms");
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "opening CloudWatch's regions"),
    }
}

/// Node hosts whose heartbeats stopped become `unreachable`; those that left long ago
/// are forgotten; the nodes of lost hosts fail over and are replaced. Each change is logged.
fn node_host_health(app: &App) {
    match app.node_hosts.tick() {
        Ok(changes) => {
            for change in changes {
                match change {
                    dax_control::HostChange::Unreachable(h) => crate::api::nodehost::announce(&format!(
                        "node host {} of {} is unreachable: no heartbeat for {} s",
                        h.id,
                        h.region,
                        app.node_hosts.timeout().as_secs_f64()
                    )),
                    dax_control::HostChange::Forgotten(h) => crate::api::nodehost::announce(&format!(
                        "node host {} of {} forgotten, an hour after it left",
                        h.id, h.region
                    )),
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "advancing node host health"),
    }
    // The nodes of lost hosts: a new primary, replacements on the hosts left.
    match app.dax.replace_lost_nodes() {
        Ok(lines) => {
            for line in lines {
                crate::api::nodehost::announce(&line);
            }
        }
        Err(e) => tracing::warn!(error = %e, "replacing the nodes of lost node hosts"),
    }
}

/// Once a minute, publish the DAX nodes' metrics of the minute that ended to
/// CloudWatch, per node (`ClusterId`, `NodeId`) and per cluster (`ClusterId`).
pub fn record_metrics(app: &App) {
    let Some(nodes) = app.dax_nodes.get() else { return };
    let now = app.env.clock.now().unix_timestamp();
    let minute = now.div_euclid(60) * 60;
    let mut recorder = app.dax_metrics.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if recorder.last_minute == Some(minute) {
        return;
    }
    let (node_snaps, cluster_snaps, hosted_capacities) = crate::dax_host::all_snapshots(app, &nodes.fleet);
    let label = |s: &dax_node::Snapshot, k: &str| {
        s.labels.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()).unwrap_or_default()
    };
    // The minute that just ended.
    #[allow(clippy::cast_precision_loss)]
    let timestamp = (minute - 60) as f64;
    let mut by_region: BTreeMap<String, Vec<cloudwatch::Datum>> = BTreeMap::new();
    let mut utilizations: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    let mut seen: BTreeMap<(String, String, String), BTreeMap<&'static str, u64>> = BTreeMap::new();
    // One snapshot's datapoints, against its baseline, and the counters that become the next one.
    let mut add = |s: &dax_node::Snapshot, key: (String, String, String), utilization, dims| {
        let data = snapshot_data(s, recorder.previous.get(&key), utilization, dims, timestamp);
        by_region.entry(key.0.clone()).or_default().extend(data);
        seen.insert(key, s.counters.iter().copied().collect());
    };
    for s in &node_snaps {
        let (region, cluster, node) = (label(s, "region"), label(s, "cluster"), label(s, "node"));
        let arn = format!("arn:aws:dax:{region}:{}:cache/{cluster}", app.account);
        #[allow(clippy::cast_precision_loss)]
        let utilization = nodes
            .fleet
            .node_cache_capacity(&arn, &node)
            .or_else(|| hosted_capacities.get(&(region.clone(), cluster.clone(), node.clone())).copied())
            .filter(|c| *c > 0)
            .map(|c| s.estimated_db_size as f64 * 100.0 / c as f64);
        if let Some(u) = utilization {
            utilizations.entry((region.clone(), cluster.clone())).or_default().push(u);
        }
        let key = (region.clone(), cluster.clone(), node.clone());
        let dims = vec![cloudwatch::Dimension::new("ClusterId", &cluster), cloudwatch::Dimension::new("NodeId", &node)];
        add(s, key, utilization, dims);
    }
    for s in &cluster_snaps {
        let (region, cluster) = (label(s, "region"), label(s, "cluster"));
        let key = (region.clone(), cluster.clone(), String::new());
        #[allow(clippy::cast_precision_loss)]
        let utilization = utilizations
            .get(&(region.clone(), cluster.clone()))
            .filter(|u| !u.is_empty())
            .map(|u| u.iter().sum::<f64>() / u.len() as f64);
        let dims = vec![cloudwatch::Dimension::new("ClusterId", &cluster)];
        add(s, key, utilization, dims);
    }
    let mut all_written = true;
    for (region, data) in by_region {
        let written = if data.is_empty() {
            Ok(())
        } else {
            app.cloudwatch.region(&region).and_then(|cw| cw.put_metric_data(&data))
        };
        match written {
            // A region's baseline moves only once its datapoints are stored, so that
            // nothing is counted twice or lost.
            Ok(()) => recorder
                .previous
                .extend(seen.iter().filter(|(k, _)| k.0 == region).map(|(k, v)| (k.clone(), v.clone()))),
            Err(e) => {
                // The region's minute is tried again on the next tick, from the same baseline.
                tracing::warn!(error = %e, %region, "recording DAX metrics in CloudWatch");
                all_written = false;
            }
        }
    }
    if all_written {
        // Nodes that are gone leave the baseline.
        recorder.previous.retain(|k, _| seen.contains_key(k));
        recorder.last_minute = Some(minute);
    }
}

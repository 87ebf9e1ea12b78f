//! DescribeEvents, and the cluster tags (TagResource, UntagResource, ListTags).

use crate::{
    not_found_cluster, page, validate, ClusterStatus, DaxControl, DaxError, DescribeEventsInput, Event, NewEvent, Page,
    Paging, SourceType, State, Tag, MAX_TAGS,
};

/// The default `DescribeEvents` window, in minutes (24 hours).
pub(crate) const DEFAULT_EVENT_MINUTES: i64 = 1440;

/// `existing` with `new` added; a key already present gets the new value.
pub(crate) fn merge_tags(mut existing: Vec<Tag>, new: Vec<Tag>) -> Result<Vec<Tag>, DaxError> {
    for t in new {
        match existing.iter_mut().find(|e| e.key == t.key) {
            Some(e) => e.value = t.value,
            None => existing.push(t),
        }
    }
    if existing.len() > MAX_TAGS {
        return Err(DaxError::TagQuotaPerResourceExceeded(format!(
            "A cluster can have at most {MAX_TAGS} tags; this request would leave {}.",
            existing.len()
        )));
    }
    Ok(existing)
}

/// The sort key of an event: newest first, ties newest-recorded first.
fn event_key(date: f64, seq: u64) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let millis = (date * 1000.0).max(0.0) as u64;
    format!("{:020}{:020}", u64::MAX - millis, u64::MAX - seq)
}

impl DaxControl {
    /// `DescribeEvents`, newest first (**unverified**: AWS's order). The
    /// window is `StartTime`..`EndTime`; a missing end is now (or start +
    /// `Duration` when both of those are given), a missing start is the end
    /// minus `Duration` minutes (default 1440). Events are kept 14 days.
    ///
    /// # Errors
    /// `InvalidParameterValueException` for a negative `Duration` or bad paging.
    pub fn describe_events(&self, region: &str, input: &DescribeEventsInput) -> Result<Page<Event>, DaxError> {
        if let Some(d) = input.duration {
            if d < 0 {
                return Err(DaxError::InvalidParameterValueException(format!(
                    "Duration must be a non-negative number of minutes (got {d})."
                )));
            }
        }
        page::max_results(input.paging.max_results)?;
        let st = self.ticked()?;
        let now = self.now();
        #[allow(clippy::cast_precision_loss)]
        let minutes = |m: i64| m as f64 * 60.0;
        let end = input.end_time.unwrap_or_else(|| match (input.start_time, input.duration) {
            (Some(s), Some(d)) => s + minutes(d),
            _ => now,
        });
        let start = input.start_time.unwrap_or_else(|| end - minutes(input.duration.unwrap_or(DEFAULT_EVENT_MINUTES)));
        let mut items: Vec<(String, Event)> = st
            .regions
            .get(region)
            .into_iter()
            .flat_map(|r| r.events.values())
            .filter(|e| e.date >= start && e.date <= end)
            .filter(|e| input.source_type.is_none_or(|t| t == e.source_type))
            .filter(|e| input.source_name.as_deref().is_none_or(|n| n.eq_ignore_ascii_case(&e.source_name)))
            .map(|e| {
                (
                    event_key(e.date, e.seq),
                    Event {
                        source_name: e.source_name.clone(),
                        source_type: e.source_type,
                        message: e.message.clone(),
                        date: e.date,
                    },
                )
            })
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        page::paginate(items, &input.paging)
    }

    /// Record an event on a cluster (by ARN), dated now on the clock: what happens to a
    /// cluster outside its control-plane lifecycle, such as a fault injected into its nodes
    /// (a primary failover, a node that stops and recovers). The event is listed by
    /// `DescribeEvents` like the lifecycle's, with `SourceType` `CLUSTER`.
    ///
    /// # Errors
    /// `ClusterNotFoundFault` when no cluster of the account has this ARN; a store failure
    /// (nothing is recorded then).
    pub fn record_cluster_event(&self, cluster_arn: &str, message: &str) -> Result<(), DaxError> {
        let (mut st, now) = self.writable()?;
        let (region, name) = st
            .regions
            .iter()
            .find_map(|(region, r)| r.clusters.values().find(|c| c.arn == cluster_arn).map(|c| (region, &c.name)))
            .map(|(r, n)| (r.clone(), n.clone()))
            .ok_or_else(not_found_cluster)?;
        let event = NewEvent {
            region,
            source_type: SourceType::Cluster,
            source_name: name,
            message: message.to_owned(),
            date: now,
        };
        self.commit(&mut st, Vec::new(), vec![event])
    }

    /// The stored name of the cluster a tagging `ResourceName` (a cluster
    /// ARN) designates.
    fn tag_target(&self, st: &State, region: &str, resource: &str) -> Result<String, DaxError> {
        let parts = validate::arn_parts(resource).map_err(DaxError::InvalidARNFault)?;
        let &[_, _, service, arn_region, account, relative] = parts.as_slice() else {
            return Err(DaxError::InvalidARNFault(format!("Invalid ARN: {resource}")));
        };
        let name = relative
            .strip_prefix("cache/")
            .filter(|n| service == "dax" && !n.is_empty() && !n.contains('/'))
            .ok_or_else(|| DaxError::InvalidARNFault(format!("{resource} is not the ARN of a DAX cluster.")))?;
        let name = name.to_ascii_lowercase();
        if arn_region != region || account != self.account || st.cluster(region, &name).is_none() {
            return Err(not_found_cluster());
        }
        Ok(name)
    }

    /// Change a cluster's tags; returns all its tags after the change.
    fn retag(
        &self,
        region: &str,
        resource: &str,
        f: impl FnOnce(Vec<Tag>) -> Result<Vec<Tag>, DaxError>,
    ) -> Result<Vec<Tag>, DaxError> {
        let (mut st, _) = self.writable()?;
        let name = self.tag_target(&st, region, resource)?;
        let mut c = st.cluster(region, &name).cloned().ok_or_else(not_found_cluster)?;
        if c.status == ClusterStatus::Deleting {
            return Err(DaxError::InvalidClusterStateFault(format!("Cluster {name} is being deleted.")));
        }
        c.tags = f(std::mem::take(&mut c.tags))?;
        let out = c.tags.clone();
        self.save_cluster(&mut st, c, Vec::new())?;
        Ok(out)
    }

    /// `TagResource`: add or overwrite tags on a cluster (by ARN).
    ///
    /// # Errors
    /// `InvalidARNFault` (AWS's ARN messages), `ClusterNotFoundFault`,
    /// `InvalidClusterStateFault` (deleting), `TagQuotaPerResourceExceeded` (50).
    pub fn tag_resource(&self, region: &str, resource_name: &str, tags: Vec<Tag>) -> Result<Vec<Tag>, DaxError> {
        self.retag(region, resource_name, |existing| merge_tags(existing, tags))
    }

    /// `UntagResource`: every key must be present, else nothing changes.
    ///
    /// # Errors
    /// `InvalidARNFault`, `ClusterNotFoundFault`, `InvalidClusterStateFault`,
    /// `TagNotFoundFault`.
    pub fn untag_resource(&self, region: &str, resource_name: &str, keys: &[String]) -> Result<Vec<Tag>, DaxError> {
        self.retag(region, resource_name, |mut existing| {
            if let Some(k) = keys.iter().find(|k| !existing.iter().any(|t| t.key == **k)) {
                return Err(DaxError::TagNotFoundFault(format!("The tag {k} is not on the resource.")));
            }
            existing.retain(|t| !keys.contains(&t.key));
            Ok(existing)
        })
    }

    /// `ListTags` of a cluster (by ARN), in the order they were added. At
    /// most 50 tags exist, so there is never a second page.
    ///
    /// # Errors
    /// `InvalidARNFault`, `ClusterNotFoundFault`, `InvalidParameterValueException`
    /// for a bad token.
    pub fn list_tags(
        &self,
        region: &str,
        resource_name: &str,
        next_token: Option<&str>,
    ) -> Result<Page<Tag>, DaxError> {
        let st = self.ticked()?;
        let name = self.tag_target(&st, region, resource_name)?;
        let tags = st.cluster(region, &name).map(|c| c.tags.clone()).unwrap_or_default();
        let paging = Paging { max_results: None, next_token: next_token.map(str::to_owned) };
        page::paginate(tags.into_iter().enumerate().map(|(i, t)| (format!("{i:04}"), t)), &paging)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use state::Store;

    use crate::tests::{arn, code, Fixture, R1, R2};
    use crate::{DescribeEventsInput, SourceType};

    #[test]
    fn a_recorded_cluster_event_is_dated_by_the_clock_and_written_in_one_batch() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(&dir.path().join("state.db")).expect("store"));
        let f = Fixture::on(Arc::clone(&store), 0);
        f.create(R1, "c1", 3).expect("c1");
        f.describe(R1, "c1").expect("available");
        f.advance(90);
        let before = f.dax.describe_events(R1, &DescribeEventsInput::default()).expect("events").items;

        // A failed write records nothing.
        store.fail_next_apply();
        assert!(f.dax.record_cluster_event(&arn(R1, "c1"), "m").is_err());
        assert_eq!(f.dax.describe_events(R1, &DescribeEventsInput::default()).expect("events").items, before);

        let batches = store.applied_batches();
        let message = "Failover from primary node c1-a to replica node c1-b completed";
        f.dax.record_cluster_event(&arn(R1, "c1"), message).expect("record");
        assert_eq!(store.applied_batches(), batches + 1);
        let input = DescribeEventsInput {
            source_name: Some("c1".to_owned()),
            source_type: Some(SourceType::Cluster),
            ..DescribeEventsInput::default()
        };
        let events = f.dax.describe_events(R1, &input).expect("events").items;
        assert_eq!(events.len(), before.len() + 1);
        assert_eq!(events[0].message, message);
        assert!((events[0].date - before[0].date - 90.0).abs() < 1e-6, "{} {}", events[0].date, before[0].date);

        // Another region's cluster, or none, is not found; nothing is recorded.
        assert_eq!(code(f.dax.record_cluster_event(&arn(R2, "c1"), "m")), "ClusterNotFoundFault");
        assert_eq!(code(f.dax.record_cluster_event("arn:aws:dax:us-east-1:1:cache/c1", "m")), "ClusterNotFoundFault");
        assert_eq!(
            f.dax.describe_events(R1, &DescribeEventsInput::default()).expect("events").items.len(),
            events.len()
        );

        // Durable: a control plane reopened on the store lists it.
        let g = Fixture::on(Arc::clone(&store), 0);
        g.advance(90);
        assert_eq!(g.dax.describe_events(R1, &input).expect("events").items[0].message, message);
    }
}

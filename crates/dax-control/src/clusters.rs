//! CreateCluster, DescribeClusters, DeleteCluster, IncreaseReplicationFactor,
//! DecreaseReplicationFactor, RebootNode and UpdateCluster.

use crate::groups::GroupView;
use std::collections::{BTreeMap, BTreeSet};

use crate::hosts::{Candidate, HostState, NodeHost};
use crate::records::{ClusterRec, HostRef, NodeRec};
use crate::{
    node_id, node_interface_description, not_found_cluster, page, validate, Cluster, ClusterStatus, CreateClusterInput,
    DaxControl, DaxError, DecreaseReplicationFactorInput, DescribeClustersInput, EncryptionType,
    IncreaseReplicationFactorInput, NetworkType, NewEvent, NodeStatus, Page, SourceType, State, UpdateClusterInput,
    DEFAULT_PARAMETER_GROUP, DEFAULT_SUBNET_GROUP, MAX_NODES_PER_CLUSTER, MAX_NODES_PER_REGION,
};

/// The message for a DecreaseReplicationFactor that would leave no node.
pub(crate) const LAST_NODE: &str =
    "A cluster must keep at least one node; to remove the last node, delete the cluster with DeleteCluster.";

fn invalid(msg: String) -> DaxError {
    DaxError::InvalidParameterValueException(msg)
}

/// A replication factor in 1..=11.
fn replication_factor(n: i64, what: &str) -> Result<usize, DaxError> {
    if n < 1 {
        return Err(invalid(format!("{what} must be at least 1 (got {n}).")));
    }
    match usize::try_from(n) {
        Ok(n) if n <= MAX_NODES_PER_CLUSTER => Ok(n),
        _ => Err(DaxError::NodeQuotaForClusterExceededFault(format!(
            "A DAX cluster can have at most {MAX_NODES_PER_CLUSTER} nodes; {what} {n} exceeds that."
        ))),
    }
}

fn require_available(c: &ClusterRec) -> Result<(), DaxError> {
    if c.status == ClusterStatus::Available {
        Ok(())
    } else {
        Err(DaxError::InvalidClusterStateFault(format!(
            "Cluster {} is not in available state (current state: {}).",
            c.name,
            c.status.as_str()
        )))
    }
}

/// Pick `(availability zone, subnet id)` for `count` new nodes: the requested
/// zones, or else the zones of the group holding the fewest nodes so far
/// (ties to the alphabetically first zone).
fn place(
    group: &GroupView,
    existing: &[&str],
    count: usize,
    requested: Option<&[String]>,
) -> Result<Vec<(String, String)>, DaxError> {
    let subnet_in = |az: &str| group.subnets.iter().find(|s| s.az == az).map(|s| s.id.clone());
    if let Some(azs) = requested {
        return azs
            .iter()
            .map(|az| {
                subnet_in(az).map(|s| (az.clone(), s)).ok_or_else(|| {
                    invalid(format!("Subnet group {} has no subnet in Availability Zone {az}.", group.name))
                })
            })
            .collect();
    }
    let mut zones: Vec<(usize, String)> = Vec::new();
    for s in &group.subnets {
        if !zones.iter().any(|(_, z)| *z == s.az) {
            zones.push((existing.iter().filter(|e| **e == s.az).count(), s.az.clone()));
        }
    }
    zones.sort_by(|a, b| a.1.cmp(&b.1));
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let Some(slot) = zones.iter_mut().min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1))) else {
            return Err(DaxError::InvalidVPCNetworkStateFault(format!("Subnet group {} has no subnets.", group.name)));
        };
        slot.0 += 1;
        let az = slot.1.clone();
        let subnet = subnet_in(&az).unwrap_or_default();
        out.push((az, subnet));
    }
    Ok(out)
}

/// The zones IncreaseReplicationFactor's `AvailabilityZones` asks for the new
/// nodes: either one per new node, or one per node of the grown cluster (the
/// existing nodes' zones are then taken out of the list).
fn zones_for_new_nodes(c: &ClusterRec, azs: &[String], added: usize, new: usize) -> Result<Vec<String>, DaxError> {
    if azs.len() == added {
        return Ok(azs.to_vec());
    }
    if azs.len() == new {
        let mut left = azs.to_vec();
        for n in &c.nodes {
            if let Some(i) = left.iter().position(|z| *z == n.az) {
                left.remove(i);
            }
        }
        if left.len() == added {
            return Ok(left);
        }
    }
    Err(invalid(format!(
        "The number of Availability Zones ({}) must equal the number of nodes to add ({added}) or the new replication factor ({new}), and include the zones of the existing nodes.",
        azs.len()
    )))
}

/// The ports of each node host that nodes use (nodes being deleted included until gone).
fn host_ports_in_use(st: &State, region: &str) -> BTreeMap<String, BTreeSet<u16>> {
    let mut used: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    for c in st.clusters(region) {
        for n in &c.nodes {
            if let Some(h) = &n.host {
                used.entry(h.id.clone()).or_default().insert(n.port);
            }
        }
    }
    used
}

/// The first `count` ports of `host`'s range that no node uses, or `None` if it has fewer.
fn free_ports(host: &NodeHost, used: Option<&BTreeSet<u16>>, count: usize) -> Option<Vec<u16>> {
    let free: Vec<u16> =
        (host.port_start..=host.port_end).filter(|p| used.is_none_or(|u| !u.contains(p))).take(count).collect();
    (free.len() == count).then_some(free)
}

fn no_capacity(msg: String) -> DaxError {
    DaxError::InsufficientClusterCapacityFault(msg)
}

/// Where a new node goes on a node host: the host, and the port of its range it gets.
pub(crate) struct OnHost {
    host: NodeHost,
    port: u16,
}

impl DaxControl {
    fn seed(&self) -> u32 {
        u32::from_str_radix(&self.env.ids.chars(base::HEX, 6), 16).unwrap_or(0)
    }

    fn node_quota(&self, st: &State, region: &str, adding: usize) -> Result<(), DaxError> {
        let existing: usize = st.clusters(region).map(|c| c.nodes.len()).sum();
        if existing.saturating_add(adding) > MAX_NODES_PER_REGION {
            return Err(DaxError::NodeQuotaForCustomerExceededFault(format!(
                "This request would exceed the quota of {MAX_NODES_PER_REGION} DAX nodes per account in {region}."
            )));
        }
        Ok(())
    }

    /// The security groups for nodes in `vpc_id`: the given ones (each must
    /// exist in that VPC), or the VPC's default group.
    fn security_groups(&self, region: &str, vpc_id: &str, ids: Option<&[String]>) -> Result<Vec<String>, DaxError> {
        let Some(ids) = ids.filter(|i| !i.is_empty()) else {
            return self.deps.network.default_security_group(region, vpc_id).map(|s| vec![s]).ok_or_else(|| {
                DaxError::InvalidVPCNetworkStateFault(format!("VPC {vpc_id} has no default security group."))
            });
        };
        let mut out: Vec<String> = Vec::with_capacity(ids.len());
        for id in ids {
            if out.contains(id) {
                continue;
            }
            let sg = self
                .deps
                .network
                .security_group(region, id)
                .ok_or_else(|| invalid(format!("Security group {id} does not exist.")))?;
            if sg.vpc_id != vpc_id {
                return Err(invalid(format!(
                    "Security group {id} is in VPC {}, not in the subnet group's VPC {vpc_id}.",
                    sg.vpc_id
                )));
            }
            out.push(id.clone());
        }
        Ok(out)
    }

    /// Whether new clusters go on node hosts: placement on hosts is on (a registry), the
    /// cluster does not speak TLS (see docs/node-hosts.md, "Placement") and a host of the
    /// region is `active`. Otherwise their nodes run inside the control.
    fn on_hosts(&self, region: &str, tls: bool) -> bool {
        !tls && self.hosts.as_ref().is_some_and(|r| r.live(region).iter().any(|h| h.state == HostState::Active))
    }

    /// The node host and port of each of `count` new nodes of a cluster whose nodes are
    /// `existing` (docs/node-hosts.md, "Placement"): each placed in turn by
    /// [`crate::place`] among the hosts of the region in a zone of the subnet group, in the
    /// zone `requested` names for it if any, counting the nodes placed before it; its port
    /// the lowest free one of the host's range.
    ///
    /// # Errors
    /// `InsufficientClusterCapacityFault` when no `active` host with a free port qualifies
    /// for a node.
    pub(crate) fn hosts_for_nodes(
        &self,
        st: &State,
        region: &str,
        group: &GroupView,
        existing: &[NodeRec],
        count: usize,
        requested: Option<&[String]>,
    ) -> Result<Vec<OnHost>, DaxError> {
        let hosts: Vec<NodeHost> = self.hosts.as_ref().map_or_else(Vec::new, |r| r.live(region));
        let hosts: Vec<NodeHost> =
            hosts.into_iter().filter(|h| group.subnets.iter().any(|s| s.az == h.availability_zone)).collect();
        let mut used = host_ports_in_use(st, region);
        let mut mine: BTreeMap<String, u32> = BTreeMap::new();
        for n in existing.iter().filter(|n| n.status != NodeStatus::Deleting) {
            if let Some(h) = &n.host {
                *mine.entry(h.id.clone()).or_default() += 1;
            }
        }
        let mut out = Vec::with_capacity(count);
        for i in 0..count {
            let zone = requested.and_then(|r| r.get(i)).map(String::as_str);
            let candidates: Vec<Candidate<'_>> = hosts
                .iter()
                .map(|h| {
                    let taken = used.get(&h.id).map_or(0, BTreeSet::len);
                    let range = usize::from(h.port_end - h.port_start) + 1;
                    Candidate {
                        id: &h.id,
                        zone: &h.availability_zone,
                        state: h.state,
                        free_ports: u32::try_from(range.saturating_sub(taken)).unwrap_or(u32::MAX),
                        nodes: u32::try_from(taken).unwrap_or(u32::MAX),
                        cluster_nodes: mine.get(&h.id).copied().unwrap_or(0),
                    }
                })
                .collect();
            let chosen = crate::place(&candidates, zone).and_then(|id| hosts.iter().find(|h| h.id == id));
            let Some(port) = chosen.and_then(|h| free_ports(h, used.get(&h.id), 1)).and_then(|p| p.first().copied())
            else {
                let place =
                    zone.map_or_else(|| format!("subnet group {}", group.name), |z| format!("Availability Zone {z}"));
                return Err(no_capacity(format!(
                    "There is no active node host in {place} with a free port for the cluster's nodes."
                )));
            };
            let Some(host) = chosen.cloned() else { continue };
            used.entry(host.id.clone()).or_default().insert(port);
            *mine.entry(host.id.clone()).or_default() += 1;
            out.push(OnHost { host, port });
        }
        Ok(out)
    }

    /// The `(zone, subnet)` of each node on its host: the host's zone, the group's subnet there.
    pub(crate) fn on_host_placements(group: &GroupView, on: &[OnHost]) -> Vec<(String, String)> {
        on.iter()
            .map(|o| {
                let az = &o.host.availability_zone;
                let subnet = group.subnets.iter().find(|s| s.az == *az).map(|s| s.id.clone()).unwrap_or_default();
                (az.clone(), subnet)
            })
            .collect()
    }

    /// Make nodes: a port and a network interface each. On any failure,
    /// everything made so far is undone and the error returned.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn provision(
        &self,
        region: &str,
        cluster: &str,
        security_groups: &[String],
        placements: Vec<(String, String)>,
        first_index: usize,
        now: f64,
        until: f64,
        on_host: Option<&[OnHost]>,
    ) -> Result<Vec<NodeRec>, DaxError> {
        let mut made: Vec<NodeRec> = Vec::with_capacity(placements.len());
        for (i, (az, subnet_id)) in placements.into_iter().enumerate() {
            let id = node_id(cluster, first_index.saturating_add(i));
            let (port, host) = match on_host.and_then(|o| o.get(i)) {
                Some(o) => (o.port, Some(HostRef { id: o.host.id.clone(), address: o.host.advertise_host.clone() })),
                None => match self.deps.ports.allocate(region, cluster, &id) {
                    Ok(p) => (p, None),
                    Err(e) => {
                        self.unprovision(region, &made);
                        return Err(e);
                    }
                },
            };
            let description = node_interface_description(cluster, &id);
            let eni = match self.deps.network.create_node_interface(region, &subnet_id, security_groups, &description) {
                Ok(eni) => eni,
                Err(e) => {
                    if host.is_none() {
                        self.deps.ports.release(port);
                    }
                    self.unprovision(region, &made);
                    return Err(e);
                }
            };
            made.push(NodeRec {
                id,
                az,
                subnet_id,
                eni_id: Some(eni),
                port,
                created: now,
                status: NodeStatus::Creating,
                until,
                reboots: 0,
                seen_serving: false,
                host,
            });
        }
        Ok(made)
    }

    /// Undo [`Self::provision`] (best effort: a rollback has no one to report to).
    pub(crate) fn unprovision(&self, region: &str, nodes: &[NodeRec]) {
        for n in nodes.iter().rev() {
            if let Some(eni) = &n.eni_id {
                let _ = self.deps.network.delete_node_interface(region, eni);
            }
            if let Some(port) = n.control_port() {
                self.deps.ports.release(port);
            }
        }
    }

    /// Delete the interfaces of the nodes `which` selects, forgetting each
    /// one deleted; stops at the first failure and returns it.
    fn delete_interfaces(&self, c: &mut ClusterRec, which: &dyn Fn(&NodeRec) -> bool) -> Option<DaxError> {
        for n in c.nodes.iter_mut().filter(|n| which(n)) {
            if let Some(eni) = n.eni_id.clone() {
                if let Err(e) = self.deps.network.delete_node_interface(&c.region, &eni) {
                    return Some(e);
                }
                n.eni_id = None;
            }
        }
        None
    }

    /// After a failed [`Self::delete_interfaces`]: keep what was deleted
    /// recorded (so a retry does not repeat it) and return the error.
    fn interfaces_failed(&self, st: &mut State, before: &ClusterRec, after: ClusterRec, err: DaxError) -> DaxError {
        if *before != after {
            // Best effort: if this write fails too, a retry deletes again,
            // which Network treats as success.
            let _ = self.save_cluster(st, after, Vec::new());
        }
        err
    }

    /// The faults of a CreateCluster request in its own values (the role
    /// ARN's form, the name, node type, replication factor, zones, tags and
    /// maintenance window), found without looking anything up. The caller
    /// checks these before acting for the request elsewhere (creating
    /// `AWSServiceRoleForDAX`), so a request refused for its input creates
    /// nothing; [`DaxControl::create_cluster`] makes the same checks first.
    ///
    /// # Errors
    /// The fault, as CreateCluster reports it.
    pub fn check_create_cluster(&self, input: &CreateClusterInput) -> Result<(), DaxError> {
        checked_create(input).map(|_| ())
    }

    /// `CreateCluster`. The service-linked role must exist already (the
    /// binary makes it). The cluster is `creating` for the provisioning delay,
    /// and then until every node's listener serves ([`crate::Readiness`]).
    ///
    /// # Errors
    /// `InvalidParameterValueException` (ARN, name, node type, zones,
    /// maintenance window, security groups, role), `NodeQuotaForClusterExceededFault`,
    /// `NodeQuotaForCustomerExceededFault`, `TagQuotaPerResourceExceeded`,
    /// `ClusterAlreadyExistsFault`, `ParameterGroupNotFoundFault`,
    /// `SubnetGroupNotFoundFault`, `InvalidVPCNetworkStateFault`, and whatever
    /// [`crate::Network`] or [`crate::Ports`] fail with.
    pub fn create_cluster(&self, region: &str, input: CreateClusterInput) -> Result<Cluster, DaxError> {
        let (name, rf) = checked_create(&input)?;
        let requested_azs = input.availability_zones.as_deref().filter(|a| !a.is_empty());
        let tags = crate::events::merge_tags(Vec::new(), input.tags)?;
        let window = match &input.preferred_maintenance_window {
            Some(w) => validate::maintenance_window(w)?,
            None => validate::default_window(region, self.seed()),
        };
        let (mut st, now) = self.writable()?;
        if st.cluster(region, &name).is_some() {
            return Err(DaxError::ClusterAlreadyExistsFault(format!("Cluster {name} already exists.")));
        }
        let parameter_group = input.parameter_group_name.unwrap_or_else(|| DEFAULT_PARAMETER_GROUP.to_owned());
        self.require_parameter_group(&st, region, &parameter_group)?;
        let subnet_group =
            input.subnet_group_name.map_or_else(|| DEFAULT_SUBNET_GROUP.to_owned(), |n| n.to_ascii_lowercase());
        let group = self.subnet_group_view(&st, region, &subnet_group)?;
        let supported = crate::groups::supported_network_types(&group.subnets);
        let network_type = input.network_type.unwrap_or(NetworkType::Ipv4);
        if !supported.contains(&network_type) {
            return Err(invalid(format!(
                "Network type {} is not supported by subnet group {subnet_group}.",
                network_type.as_str()
            )));
        }
        let security_groups = self.security_groups(region, &group.vpc_id, input.security_group_ids.as_deref())?;
        self.deps.identity.service_role_check(&input.iam_role_arn).map_err(DaxError::InvalidParameterValueException)?;
        self.node_quota(&st, region, rf)?;
        let tls = input.cluster_endpoint_encryption_type == Some(EncryptionType::Tls);
        let on_host = if self.on_hosts(region, tls) {
            Some(self.hosts_for_nodes(&st, region, &group, &[], rf, requested_azs)?)
        } else {
            None
        };
        let placements = match &on_host {
            Some(o) => Self::on_host_placements(&group, o),
            None => place(&group, &[], rf, requested_azs)?,
        };
        let until = self.deadline(now);
        let nodes = self.provision(region, &name, &security_groups, placements, 0, now, until, on_host.as_deref())?;
        let c = ClusterRec {
            region: region.to_owned(),
            arn: self.cluster_arn(region, &name),
            name,
            description: input.description,
            node_type: input.node_type,
            status: ClusterStatus::Creating,
            until,
            next_node: nodes.len(),
            nodes,
            node_ids_to_remove: Vec::new(),
            maintenance_window: window,
            topic_arn: input.notification_topic_arn,
            topic_status: "active".to_owned(),
            subnet_group,
            vpc_id: group.vpc_id,
            security_group_ids: security_groups,
            iam_role_arn: input.iam_role_arn,
            parameter_group,
            sse: input.sse_enabled.unwrap_or(false),
            encryption: input.cluster_endpoint_encryption_type.unwrap_or(EncryptionType::None),
            network_type,
            tags,
            created: now,
            primary_node: None,
        };
        let out = self.render(&c);
        let nodes = c.nodes.clone();
        if let Err(e) = self.save_cluster(&mut st, c, Vec::new()) {
            self.unprovision(region, &nodes);
            return Err(e);
        }
        Ok(out)
    }

    /// `DescribeClusters`, in name order. While a cluster is `creating` or
    /// `deleting` it has no `nodes` and its endpoint only a port.
    ///
    /// # Errors
    /// `InvalidParameterValueException` (a bad name, `MaxResults` outside
    /// 20–100, a bad token), `ClusterNotFoundFault` ("Cluster <name> not found.").
    pub fn describe_clusters(&self, region: &str, input: &DescribeClustersInput) -> Result<Page<Cluster>, DaxError> {
        let names: Vec<String> =
            input.cluster_names.iter().map(|n| validate::cluster_name(n)).collect::<Result<_, _>>()?;
        page::max_results(input.paging.max_results)?;
        let st = self.ticked()?;
        for (given, name) in input.cluster_names.iter().zip(&names) {
            if st.cluster(region, name).is_none() {
                return Err(DaxError::ClusterNotFoundFault(format!("Cluster {given} not found.")));
            }
        }
        let items = st
            .clusters(region)
            .filter(|c| names.is_empty() || names.contains(&c.name))
            .map(|c| (c.name.clone(), self.render(c)));
        page::paginate(items, &input.paging)
    }

    /// `DeleteCluster`: the node interfaces are deleted now; the cluster is
    /// `deleting` for the provisioning delay, then gone (ports released).
    /// Allowed from `creating`, `available` and `modifying` (**unverified**:
    /// AWS may refuse the first and last).
    ///
    /// # Errors
    /// `ClusterNotFoundFault` ("Cluster not found."), `InvalidClusterStateFault`
    /// when already deleting, and whatever [`crate::Network`] fails with.
    pub fn delete_cluster(&self, region: &str, cluster_name: &str) -> Result<Cluster, DaxError> {
        let name = validate::cluster_name(cluster_name)?;
        let (mut st, now) = self.writable()?;
        let before = st.cluster(region, &name).cloned().ok_or_else(not_found_cluster)?;
        if before.status == ClusterStatus::Deleting {
            return Err(DaxError::InvalidClusterStateFault(format!("Cluster {name} is already being deleted.")));
        }
        let mut c = before.clone();
        if let Some(err) = self.delete_interfaces(&mut c, &|_| true) {
            return Err(self.interfaces_failed(&mut st, &before, c, err));
        }
        c.status = ClusterStatus::Deleting;
        c.until = self.deadline(now);
        c.node_ids_to_remove.clear();
        for n in &mut c.nodes {
            n.status = NodeStatus::Deleting;
            n.until = c.until;
        }
        let out = self.render(&c);
        self.save_cluster(&mut st, c, Vec::new())?;
        Ok(out)
    }

    /// `IncreaseReplicationFactor`: the cluster is `modifying` and the new
    /// nodes `creating` for the provisioning delay, and then until their
    /// listeners serve ([`crate::Readiness`]).
    ///
    /// # Errors
    /// `ClusterNotFoundFault`, `InvalidClusterStateFault`,
    /// `InvalidParameterValueException`, `NodeQuotaForClusterExceededFault`,
    /// `NodeQuotaForCustomerExceededFault`, and whatever [`crate::Network`]
    /// or [`crate::Ports`] fail with (nothing is left half made).
    pub fn increase_replication_factor(
        &self,
        region: &str,
        input: IncreaseReplicationFactorInput,
    ) -> Result<Cluster, DaxError> {
        let name = validate::cluster_name(&input.cluster_name)?;
        let (mut st, now) = self.writable()?;
        let mut c = st.cluster(region, &name).cloned().ok_or_else(not_found_cluster)?;
        require_available(&c)?;
        let new = replication_factor(input.new_replication_factor, "NewReplicationFactor")?;
        let current = c.nodes.len();
        if new <= current {
            return Err(invalid(format!(
                "NewReplicationFactor ({new}) must be greater than the current number of nodes ({current})."
            )));
        }
        let added = new - current;
        let requested = match input.availability_zones.as_deref().filter(|a| !a.is_empty()) {
            Some(azs) => Some(zones_for_new_nodes(&c, azs, added, new)?),
            None => None,
        };
        self.node_quota(&st, region, added)?;
        let group = self.subnet_group_view(&st, region, &c.subnet_group)?;
        let on_host = if c.nodes.iter().any(|n| n.host.is_some()) {
            Some(self.hosts_for_nodes(&st, region, &group, &c.nodes, added, requested.as_deref())?)
        } else {
            None
        };
        let placements = match &on_host {
            Some(o) => Self::on_host_placements(&group, o),
            None => {
                let existing: Vec<&str> = c.nodes.iter().map(|n| n.az.as_str()).collect();
                place(&group, &existing, added, requested.as_deref())?
            }
        };
        let until = self.deadline(now);
        let made = self.provision(
            region,
            &name,
            &c.security_group_ids,
            placements,
            c.next_node,
            now,
            until,
            on_host.as_deref(),
        )?;
        c.next_node = c.next_node.saturating_add(made.len());
        c.nodes.extend(made.iter().cloned());
        c.status = ClusterStatus::Modifying;
        let out = self.render(&c);
        if let Err(e) = self.save_cluster(&mut st, c, Vec::new()) {
            self.unprovision(region, &made);
            return Err(e);
        }
        Ok(out)
    }

    /// `DecreaseReplicationFactor`: the chosen nodes (`NodeIdsToRemove`, or
    /// the newest node in each of `AvailabilityZones`, or else the newest
    /// nodes) lose their interfaces now and are `deleting` for the
    /// provisioning delay; the cluster is `modifying` meanwhile.
    ///
    /// # Errors
    /// `ClusterNotFoundFault`, `InvalidClusterStateFault`, `NodeNotFoundFault`,
    /// `InvalidParameterValueException` (also for removing the last node),
    /// `InvalidParameterCombinationException` (both selectors given), and
    /// whatever [`crate::Network`] fails with.
    pub fn decrease_replication_factor(
        &self,
        region: &str,
        input: DecreaseReplicationFactorInput,
    ) -> Result<Cluster, DaxError> {
        let name = validate::cluster_name(&input.cluster_name)?;
        let (mut st, now) = self.writable()?;
        let before = st.cluster(region, &name).cloned().ok_or_else(not_found_cluster)?;
        require_available(&before)?;
        if input.new_replication_factor < 1 {
            return Err(invalid(LAST_NODE.to_owned()));
        }
        let current = before.nodes.len();
        let new = usize::try_from(input.new_replication_factor).unwrap_or(usize::MAX);
        if new >= current {
            return Err(invalid(format!(
                "NewReplicationFactor ({new}) must be less than the current number of nodes ({current})."
            )));
        }
        let count = current - new;
        let ids = input.node_ids_to_remove.unwrap_or_default();
        let azs = input.availability_zones.unwrap_or_default();
        let remove: Vec<String> = if !ids.is_empty() && !azs.is_empty() {
            return Err(DaxError::InvalidParameterCombinationException(
                "Specify either NodeIdsToRemove or AvailabilityZones, not both.".to_owned(),
            ));
        } else if !ids.is_empty() {
            let mut out: Vec<String> = Vec::with_capacity(ids.len());
            for given in &ids {
                let id = given.to_ascii_lowercase();
                if !before.nodes.iter().any(|n| n.id == id) {
                    return Err(DaxError::NodeNotFoundFault(format!("Node {given} not found.")));
                }
                if !out.contains(&id) {
                    out.push(id);
                }
            }
            if out.len() != count {
                return Err(invalid(format!(
                    "NodeIdsToRemove names {} nodes, but going from {current} to {new} nodes removes {count}.",
                    out.len()
                )));
            }
            out
        } else if !azs.is_empty() {
            if azs.len() != count {
                return Err(invalid(format!(
                    "The number of Availability Zones ({}) must equal the number of nodes to remove ({count}).",
                    azs.len()
                )));
            }
            let mut out: Vec<String> = Vec::with_capacity(count);
            for az in &azs {
                let n = before.nodes.iter().rev().find(|n| n.az == *az && !out.contains(&n.id)).ok_or_else(|| {
                    invalid(format!("Cluster {name} has no node left to remove in Availability Zone {az}."))
                })?;
                out.push(n.id.clone());
            }
            out
        } else {
            before.nodes.iter().rev().take(count).map(|n| n.id.clone()).collect()
        };
        let mut c = before.clone();
        if let Some(err) = self.delete_interfaces(&mut c, &|n| remove.contains(&n.id)) {
            return Err(self.interfaces_failed(&mut st, &before, c, err));
        }
        let until = self.deadline(now);
        for n in c.nodes.iter_mut().filter(|n| remove.contains(&n.id)) {
            n.status = NodeStatus::Deleting;
            n.until = until;
        }
        c.node_ids_to_remove = c.nodes.iter().filter(|n| remove.contains(&n.id)).map(|n| n.id.clone()).collect();
        c.status = ClusterStatus::Modifying;
        let out = self.render(&c);
        self.save_cluster(&mut st, c, Vec::new())?;
        Ok(out)
    }

    /// `RebootNode`: the node is `rebooting` for the provisioning delay and
    /// until its new listener serves (the cluster stays `available`;
    /// **unverified**).
    ///
    /// # Errors
    /// `ClusterNotFoundFault`, `NodeNotFoundFault`, `InvalidClusterStateFault`
    /// (cluster not available, or the node is already rebooting).
    pub fn reboot_node(&self, region: &str, cluster_name: &str, node_id: &str) -> Result<Cluster, DaxError> {
        let name = validate::cluster_name(cluster_name)?;
        let (mut st, now) = self.writable()?;
        let mut c = st.cluster(region, &name).cloned().ok_or_else(not_found_cluster)?;
        require_available(&c)?;
        let id = node_id.to_ascii_lowercase();
        let until = self.deadline(now);
        let node = c
            .nodes
            .iter_mut()
            .find(|n| n.id == id)
            .ok_or_else(|| DaxError::NodeNotFoundFault(format!("Node {node_id} not found.")))?;
        if node.status != NodeStatus::Available {
            return Err(DaxError::InvalidClusterStateFault(format!(
                "Node {id} is not in available state (current state: {}).",
                node.status.as_str()
            )));
        }
        node.status = NodeStatus::Rebooting;
        node.until = until;
        node.reboots = node.reboots.saturating_add(1);
        node.seen_serving = false;
        let event = NewEvent {
            region: region.to_owned(),
            source_type: SourceType::Cluster,
            source_name: name,
            message: format!("Rebooting node {id}."),
            date: now,
        };
        let out = self.render(&c);
        self.save_cluster(&mut st, c, vec![event])?;
        Ok(out)
    }

    /// `UpdateCluster`: description, maintenance window, notification topic
    /// and status, parameter group (TTLs apply at once) and security groups
    /// (every node interface is changed; a failure puts back the old groups).
    ///
    /// # Errors
    /// `ClusterNotFoundFault`, `InvalidClusterStateFault`,
    /// `ParameterGroupNotFoundFault`, `InvalidParameterValueException`, and
    /// whatever [`crate::Network`] fails with.
    pub fn update_cluster(&self, region: &str, input: UpdateClusterInput) -> Result<Cluster, DaxError> {
        let name = validate::cluster_name(&input.cluster_name)?;
        let window = input.preferred_maintenance_window.as_deref().map(validate::maintenance_window).transpose()?;
        if let Some(s) = input.notification_topic_status.as_deref() {
            if s != "active" && s != "inactive" {
                return Err(invalid(format!("NotificationTopicStatus must be active or inactive (got {s}).")));
            }
        }
        let (mut st, _) = self.writable()?;
        let mut c = st.cluster(region, &name).cloned().ok_or_else(not_found_cluster)?;
        require_available(&c)?;
        if let Some(pg) = input.parameter_group_name {
            self.require_parameter_group(&st, region, &pg)?;
            c.parameter_group = pg;
        }
        if let Some(d) = input.description {
            c.description = Some(d);
        }
        if let Some(w) = window {
            c.maintenance_window = w;
        }
        if let Some(t) = input.notification_topic_arn {
            c.topic_arn = Some(t);
        }
        if let Some(s) = input.notification_topic_status {
            c.topic_status = s;
        }
        let old_groups = c.security_group_ids.clone();
        let mut changed: Vec<String> = Vec::new();
        if let Some(ids) = input.security_group_ids.as_deref().filter(|i| !i.is_empty()) {
            let groups = self.security_groups(region, &c.vpc_id, Some(ids))?;
            if groups != old_groups {
                for eni in c.nodes.iter().filter_map(|n| n.eni_id.clone()) {
                    if let Err(e) = self.deps.network.modify_node_interface_groups(region, &eni, &groups) {
                        self.restore_groups(region, &changed, &old_groups);
                        return Err(e);
                    }
                    changed.push(eni);
                }
                c.security_group_ids = groups;
            }
        }
        let out = self.render(&c);
        if let Err(e) = self.save_cluster(&mut st, c, Vec::new()) {
            self.restore_groups(region, &changed, &old_groups);
            return Err(e);
        }
        Ok(out)
    }

    fn restore_groups(&self, region: &str, enis: &[String], groups: &[String]) {
        for eni in enis {
            let _ = self.deps.network.modify_node_interface_groups(region, eni, groups);
        }
    }
}

/// The input checks of CreateCluster: its cluster name (lowercased) and
/// replication factor when every value is well formed.
fn checked_create(input: &CreateClusterInput) -> Result<(String, usize), DaxError> {
    validate::arn_parts(&input.iam_role_arn).map_err(DaxError::InvalidParameterValueException)?;
    let name = validate::cluster_name(&input.cluster_name)?;
    validate::node_type(&input.node_type)?;
    let rf = replication_factor(input.replication_factor, "ReplicationFactor")?;
    if let Some(azs) = input.availability_zones.as_deref().filter(|a| !a.is_empty()) {
        if azs.len() != rf {
            return Err(invalid(format!(
                "The number of Availability Zones ({}) must equal the ReplicationFactor ({rf}).",
                azs.len()
            )));
        }
    }
    crate::events::merge_tags(Vec::new(), input.tags.clone())?;
    if let Some(w) = &input.preferred_maintenance_window {
        validate::maintenance_window(w)?;
    }
    Ok((name, rf))
}

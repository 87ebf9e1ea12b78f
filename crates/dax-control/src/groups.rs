//! Parameter groups (Create/Update/Delete/DescribeParameterGroups,
//! DescribeParameters, DescribeDefaultParameters) and subnet groups
//! (Create/Update/Delete/DescribeSubnetGroups).

use state::Op;

use crate::records::{ParamGroupRec, SubnetGroupRec, SubnetRec, NS_PARAMETER_GROUPS, NS_SUBNET_GROUPS};
use crate::{
    page, validate, CreateSubnetGroupInput, DaxControl, DaxError, NetworkType, NewEvent, Page, Paging, Parameter,
    ParameterGroup, ParameterNameValue, SourceType, State, Subnet, SubnetGroup, UpdateSubnetGroupInput,
    DEFAULT_PARAMETER_GROUP, DEFAULT_PARAMETER_GROUP_DESCRIPTION, DEFAULT_SUBNET_GROUP,
    DEFAULT_SUBNET_GROUP_DESCRIPTION, DEFAULT_TTL_MS, MAX_PARAMETER_GROUPS, MAX_PARAMETER_VALUES,
    MAX_SUBNETS_PER_GROUP, MAX_SUBNET_GROUPS,
};

/// The query cache TTL parameter.
pub const QUERY_TTL: &str = "query-ttl-millis";
/// The item cache TTL parameter.
pub const RECORD_TTL: &str = "record-ttl-millis";

/// AWS's message for touching the `default` subnet group.
pub(crate) const DEFAULT_SUBNET_GROUP_RESERVED: &str = "default is reserved and cannot be modified.";

fn invalid(msg: String) -> DaxError {
    DaxError::InvalidParameterValueException(msg)
}

fn parameter(name: &str, value: u64, description: &'static str) -> Parameter {
    Parameter {
        parameter_name: name.to_owned(),
        parameter_type: "DEFAULT",
        parameter_value: value.to_string(),
        node_type_specific_values: Vec::new(),
        description,
        source: "user",
        data_type: "integer",
        allowed_values: "0-",
        is_modifiable: "TRUE",
        change_type: "IMMEDIATE",
    }
}

/// The two parameters of a group, in name order.
fn parameters(query_ttl_ms: u64, record_ttl_ms: u64) -> Vec<Parameter> {
    vec![
        parameter(QUERY_TTL, query_ttl_ms, "Duration in milliseconds for queries to remain cached"),
        parameter(
            RECORD_TTL,
            record_ttl_ms,
            "Duration in milliseconds for records to remain valid in cache (Default: 0 = infinite)",
        ),
    ]
}

/// The network types every subnet of a group supports: IPv4 always, dual
/// stack when every subnet has an IPv6 block. (`SubnetInfo` cannot say
/// "IPv6 only", so `ipv6` is never offered.)
pub(crate) fn supported_network_types(subnets: &[SubnetRec]) -> Vec<NetworkType> {
    let mut out = vec![NetworkType::Ipv4];
    if !subnets.is_empty() && subnets.iter().all(|s| s.ipv6) {
        out.push(NetworkType::DualStack);
    }
    out
}

fn subnet_types(s: &SubnetRec) -> Vec<NetworkType> {
    supported_network_types(std::slice::from_ref(s))
}

/// A subnet group as placement and DescribeSubnetGroups need it, whether
/// stored or the `default` one made from the default VPC.
pub(crate) struct GroupView {
    pub name: String,
    pub description: Option<String>,
    pub vpc_id: String,
    pub subnets: Vec<SubnetRec>,
}

impl GroupView {
    fn of(g: &SubnetGroupRec) -> Self {
        GroupView {
            name: g.name.clone(),
            description: g.description.clone(),
            vpc_id: g.vpc_id.clone(),
            subnets: g.subnets.clone(),
        }
    }

    fn render(&self) -> SubnetGroup {
        SubnetGroup {
            subnet_group_name: self.name.clone(),
            description: self.description.clone(),
            vpc_id: self.vpc_id.clone(),
            subnets: self
                .subnets
                .iter()
                .map(|s| Subnet {
                    subnet_identifier: s.id.clone(),
                    subnet_availability_zone: s.az.clone(),
                    supported_network_types: subnet_types(s),
                })
                .collect(),
            supported_network_types: supported_network_types(&self.subnets),
        }
    }
}

fn parameter_group_of(g: &ParamGroupRec) -> ParameterGroup {
    ParameterGroup { parameter_group_name: g.name.clone(), description: g.description.clone() }
}

fn default_parameter_group() -> ParameterGroup {
    ParameterGroup {
        parameter_group_name: DEFAULT_PARAMETER_GROUP.to_owned(),
        description: Some(DEFAULT_PARAMETER_GROUP_DESCRIPTION.to_owned()),
    }
}

fn group_not_found(name: &str) -> DaxError {
    DaxError::ParameterGroupNotFoundFault(format!("Parameter group {name} not found."))
}

fn subnet_group_not_found(name: &str) -> DaxError {
    DaxError::SubnetGroupNotFoundFault(format!("Subnet group {name} not found."))
}

impl DaxControl {
    fn group_event(region: &str, source_type: SourceType, name: &str, message: String, date: f64) -> NewEvent {
        NewEvent { region: region.to_owned(), source_type, source_name: name.to_owned(), message, date }
    }

    pub(crate) fn require_parameter_group(&self, st: &State, region: &str, name: &str) -> Result<(), DaxError> {
        let exists = name == DEFAULT_PARAMETER_GROUP
            || st.regions.get(region).is_some_and(|r| r.parameter_groups.contains_key(name));
        if exists {
            Ok(())
        } else {
            Err(group_not_found(name))
        }
    }

    /// The `default` subnet group: the default VPC's subnets, if any.
    fn default_subnet_group(&self, region: &str) -> Option<GroupView> {
        let mut subnets = self.deps.network.default_vpc_subnets(region);
        subnets.sort_by(|a, b| a.id.cmp(&b.id));
        let vpc_id = subnets.first()?.vpc_id.clone();
        Some(GroupView {
            name: DEFAULT_SUBNET_GROUP.to_owned(),
            description: Some(DEFAULT_SUBNET_GROUP_DESCRIPTION.to_owned()),
            subnets: subnets
                .into_iter()
                .filter(|s| s.vpc_id == vpc_id)
                .map(|s| SubnetRec { id: s.id, az: s.az, ipv6: s.ipv6 })
                .collect(),
            vpc_id,
        })
    }

    pub(crate) fn subnet_group_view(&self, st: &State, region: &str, name: &str) -> Result<GroupView, DaxError> {
        if name == DEFAULT_SUBNET_GROUP {
            return self.default_subnet_group(region).ok_or_else(|| subnet_group_not_found(name));
        }
        st.regions
            .get(region)
            .and_then(|r| r.subnet_groups.get(name))
            .map(GroupView::of)
            .ok_or_else(|| subnet_group_not_found(name))
    }

    // ----- parameter groups -----

    /// `CreateParameterGroup`: starts with both TTLs at 300000.
    ///
    /// # Errors
    /// `InvalidParameterValueException`, `ParameterGroupAlreadyExistsFault`,
    /// `ParameterGroupQuotaExceededFault`.
    pub fn create_parameter_group(
        &self,
        region: &str,
        name: &str,
        description: Option<String>,
    ) -> Result<ParameterGroup, DaxError> {
        validate::parameter_group_name(name)?;
        let (mut st, now) = self.writable()?;
        let custom = st.regions.get(region).map_or(0, |r| r.parameter_groups.len());
        if name == DEFAULT_PARAMETER_GROUP
            || st.regions.get(region).is_some_and(|r| r.parameter_groups.contains_key(name))
        {
            return Err(DaxError::ParameterGroupAlreadyExistsFault(format!("Parameter group {name} already exists.")));
        }
        if custom >= MAX_PARAMETER_GROUPS {
            return Err(DaxError::ParameterGroupQuotaExceededFault(format!(
                "You have reached the quota of {MAX_PARAMETER_GROUPS} parameter groups in {region}."
            )));
        }
        let g = ParamGroupRec {
            region: region.to_owned(),
            name: name.to_owned(),
            description,
            query_ttl_ms: DEFAULT_TTL_MS,
            record_ttl_ms: DEFAULT_TTL_MS,
        };
        let event = Self::group_event(
            region,
            SourceType::ParameterGroup,
            name,
            format!("Parameter group {name} created."),
            now,
        );
        self.commit(&mut st, vec![Op::put_json(NS_PARAMETER_GROUPS, g.key(), &g)?], vec![event])?;
        let out = parameter_group_of(&g);
        st.region_mut(region).parameter_groups.insert(name.to_owned(), g);
        Ok(out)
    }

    /// `UpdateParameterGroup`: only `query-ttl-millis` and `record-ttl-millis`
    /// (non-negative integers), at most 20 pairs. Groups in use may be
    /// changed: the parameters are `IMMEDIATE`, and [`Self::ttls`] reflects
    /// them at once.
    ///
    /// # Errors
    /// `InvalidParameterValueException` (also for the default group),
    /// `ParameterGroupNotFoundFault`.
    pub fn update_parameter_group(
        &self,
        region: &str,
        name: &str,
        values: &[ParameterNameValue],
    ) -> Result<ParameterGroup, DaxError> {
        if name == DEFAULT_PARAMETER_GROUP {
            return Err(invalid(format!("The default parameter group {name} cannot be modified.")));
        }
        if values.is_empty() || values.len() > MAX_PARAMETER_VALUES {
            return Err(invalid(format!(
                "ParameterNameValues must hold 1 to {MAX_PARAMETER_VALUES} parameters (got {}).",
                values.len()
            )));
        }
        let mut parsed: Vec<(&str, u64)> = Vec::with_capacity(values.len());
        for v in values {
            if v.parameter_name != QUERY_TTL && v.parameter_name != RECORD_TTL {
                return Err(invalid(format!("Unknown or unmodifiable parameter: {}.", v.parameter_name)));
            }
            let n: u64 = v.parameter_value.parse().map_err(|_| {
                invalid(format!(
                    "Invalid value {} for parameter {}: allowed values are 0-.",
                    v.parameter_value, v.parameter_name
                ))
            })?;
            parsed.push((&v.parameter_name, n));
        }
        let (mut st, now) = self.writable()?;
        let mut g = st
            .regions
            .get(region)
            .and_then(|r| r.parameter_groups.get(name))
            .cloned()
            .ok_or_else(|| group_not_found(name))?;
        for (param, value) in parsed {
            if param == QUERY_TTL {
                g.query_ttl_ms = value;
            } else {
                g.record_ttl_ms = value;
            }
        }
        let event = Self::group_event(
            region,
            SourceType::ParameterGroup,
            name,
            format!("Parameter group {name} updated."),
            now,
        );
        self.commit(&mut st, vec![Op::put_json(NS_PARAMETER_GROUPS, g.key(), &g)?], vec![event])?;
        let out = parameter_group_of(&g);
        st.region_mut(region).parameter_groups.insert(name.to_owned(), g);
        Ok(out)
    }

    /// `DeleteParameterGroup`; returns the `DeletionMessage`.
    ///
    /// # Errors
    /// `InvalidParameterValueException` (the default group),
    /// `ParameterGroupNotFoundFault`, `InvalidParameterGroupStateFault` (in use).
    pub fn delete_parameter_group(&self, region: &str, name: &str) -> Result<String, DaxError> {
        if name == DEFAULT_PARAMETER_GROUP {
            return Err(invalid(format!("The default parameter group {name} cannot be deleted.")));
        }
        let (mut st, now) = self.writable()?;
        let g = st
            .regions
            .get(region)
            .and_then(|r| r.parameter_groups.get(name))
            .cloned()
            .ok_or_else(|| group_not_found(name))?;
        if let Some(c) = st.clusters(region).find(|c| c.parameter_group == name) {
            return Err(DaxError::InvalidParameterGroupStateFault(format!(
                "Parameter group {name} is in use by cluster {}.",
                c.name
            )));
        }
        let event = Self::group_event(
            region,
            SourceType::ParameterGroup,
            name,
            format!("Parameter group {name} deleted."),
            now,
        );
        self.commit(&mut st, vec![Op::delete(NS_PARAMETER_GROUPS, g.key())], vec![event])?;
        st.region_mut(region).parameter_groups.remove(name);
        Ok(format!("Parameter group {name} has been deleted."))
    }

    /// `DescribeParameterGroups`, in name order, the default group included.
    ///
    /// # Errors
    /// `ParameterGroupNotFoundFault` for a named group that does not exist,
    /// `InvalidParameterValueException` for bad paging.
    pub fn describe_parameter_groups(
        &self,
        region: &str,
        names: &[String],
        paging: &Paging,
    ) -> Result<Page<ParameterGroup>, DaxError> {
        page::max_results(paging.max_results)?;
        let st = self.ticked()?;
        for n in names {
            self.require_parameter_group(&st, region, n)?;
        }
        let mut all: Vec<(String, ParameterGroup)> =
            vec![(DEFAULT_PARAMETER_GROUP.to_owned(), default_parameter_group())];
        if let Some(r) = st.regions.get(region) {
            all.extend(r.parameter_groups.values().map(|g| (g.name.clone(), parameter_group_of(g))));
        }
        all.sort_by(|a, b| a.0.cmp(&b.0));
        page::paginate(all.into_iter().filter(|(n, _)| names.is_empty() || names.contains(n)), paging)
    }

    /// `DescribeParameters` of a group, optionally only those whose `Source`
    /// equals `source`.
    ///
    /// # Errors
    /// `ParameterGroupNotFoundFault`, `InvalidParameterValueException` for bad paging.
    pub fn describe_parameters(
        &self,
        region: &str,
        name: &str,
        source: Option<&str>,
        paging: &Paging,
    ) -> Result<Page<Parameter>, DaxError> {
        page::max_results(paging.max_results)?;
        let st = self.ticked()?;
        let params = if name == DEFAULT_PARAMETER_GROUP {
            parameters(DEFAULT_TTL_MS, DEFAULT_TTL_MS)
        } else {
            let g = st
                .regions
                .get(region)
                .and_then(|r| r.parameter_groups.get(name))
                .ok_or_else(|| group_not_found(name))?;
            parameters(g.query_ttl_ms, g.record_ttl_ms)
        };
        page::paginate(
            params.into_iter().filter(|p| source.is_none_or(|s| s == p.source)).map(|p| (p.parameter_name.clone(), p)),
            paging,
        )
    }

    /// `DescribeDefaultParameters`.
    ///
    /// # Errors
    /// `InvalidParameterValueException` for bad paging.
    pub fn describe_default_parameters(&self, paging: &Paging) -> Result<Page<Parameter>, DaxError> {
        page::paginate(
            parameters(DEFAULT_TTL_MS, DEFAULT_TTL_MS).into_iter().map(|p| (p.parameter_name.clone(), p)),
            paging,
        )
    }

    // ----- subnet groups -----

    /// Look up subnets: all must exist, be in one VPC, at most 20.
    fn resolve_subnets(&self, region: &str, ids: &[String]) -> Result<(String, Vec<SubnetRec>), DaxError> {
        let mut unique: Vec<&String> = Vec::with_capacity(ids.len());
        for id in ids {
            if !unique.contains(&id) {
                unique.push(id);
            }
        }
        if unique.is_empty() {
            return Err(invalid("SubnetIds must name at least one subnet.".to_owned()));
        }
        if unique.len() > MAX_SUBNETS_PER_GROUP {
            return Err(DaxError::SubnetQuotaExceededFault(format!(
                "A subnet group can have at most {MAX_SUBNETS_PER_GROUP} subnets."
            )));
        }
        let mut vpc: Option<String> = None;
        let mut out = Vec::with_capacity(unique.len());
        for id in unique {
            let s = self
                .deps
                .network
                .subnet(region, id)
                .ok_or_else(|| DaxError::InvalidSubnet(format!("The subnet {id} does not exist.")))?;
            match &vpc {
                Some(v) if *v != s.vpc_id => {
                    return Err(DaxError::InvalidSubnet(format!(
                        "All subnets of a subnet group must be in one VPC: {id} is in {}, others are in {v}.",
                        s.vpc_id
                    )));
                }
                Some(_) => {}
                None => vpc = Some(s.vpc_id.clone()),
            }
            out.push(SubnetRec { id: s.id, az: s.az, ipv6: s.ipv6 });
        }
        Ok((vpc.unwrap_or_default(), out))
    }

    /// `CreateSubnetGroup`; the name is stored lower-cased.
    ///
    /// # Errors
    /// `InvalidParameterValueException` (bad or reserved name),
    /// `SubnetGroupAlreadyExistsFault`, `SubnetGroupQuotaExceededFault`,
    /// `SubnetQuotaExceededFault`, `InvalidSubnet`.
    pub fn create_subnet_group(&self, region: &str, input: CreateSubnetGroupInput) -> Result<SubnetGroup, DaxError> {
        let name = validate::subnet_group_name(&input.subnet_group_name)?;
        if name == DEFAULT_SUBNET_GROUP {
            return Err(invalid(DEFAULT_SUBNET_GROUP_RESERVED.to_owned()));
        }
        let (mut st, now) = self.writable()?;
        let existing = st.regions.get(region).map_or(0, |r| r.subnet_groups.len());
        if st.regions.get(region).is_some_and(|r| r.subnet_groups.contains_key(&name)) {
            return Err(DaxError::SubnetGroupAlreadyExistsFault(format!("Subnet group {name} already exists.")));
        }
        if existing >= MAX_SUBNET_GROUPS {
            return Err(DaxError::SubnetGroupQuotaExceededFault(format!(
                "You have reached the quota of {MAX_SUBNET_GROUPS} subnet groups in {region}."
            )));
        }
        let (vpc_id, subnets) = self.resolve_subnets(region, &input.subnet_ids)?;
        let g = SubnetGroupRec {
            region: region.to_owned(),
            name: name.clone(),
            description: input.description,
            vpc_id,
            subnets,
        };
        let event =
            Self::group_event(region, SourceType::SubnetGroup, &name, format!("Subnet group {name} created."), now);
        self.commit(&mut st, vec![Op::put_json(NS_SUBNET_GROUPS, g.key(), &g)?], vec![event])?;
        let out = GroupView::of(&g).render();
        st.region_mut(region).subnet_groups.insert(name, g);
        Ok(out)
    }

    /// `UpdateSubnetGroup`. While clusters use the group, the new subnets
    /// must stay in the same VPC and keep every subnet a node is in.
    ///
    /// # Errors
    /// `InvalidParameterValueException` (the `default` group),
    /// `SubnetGroupNotFoundFault`, `SubnetQuotaExceededFault`, `InvalidSubnet`,
    /// `SubnetInUse`.
    pub fn update_subnet_group(&self, region: &str, input: UpdateSubnetGroupInput) -> Result<SubnetGroup, DaxError> {
        let name = input.subnet_group_name.to_ascii_lowercase();
        if name == DEFAULT_SUBNET_GROUP {
            return Err(invalid(DEFAULT_SUBNET_GROUP_RESERVED.to_owned()));
        }
        let (mut st, now) = self.writable()?;
        let mut g = st
            .regions
            .get(region)
            .and_then(|r| r.subnet_groups.get(&name))
            .cloned()
            .ok_or_else(|| subnet_group_not_found(&name))?;
        if let Some(ids) = &input.subnet_ids {
            let (vpc_id, subnets) = self.resolve_subnets(region, ids)?;
            for c in st.clusters(region).filter(|c| c.subnet_group == name) {
                if vpc_id != c.vpc_id {
                    return Err(DaxError::InvalidSubnet(format!(
                        "Cluster {} uses subnet group {name} in VPC {}; its subnets cannot move to VPC {vpc_id}.",
                        c.name, c.vpc_id
                    )));
                }
                if let Some(n) = c.nodes.iter().find(|n| !subnets.iter().any(|s| s.id == n.subnet_id)) {
                    return Err(DaxError::SubnetInUse(format!(
                        "Subnet {} is in use by node {} of cluster {}.",
                        n.subnet_id, n.id, c.name
                    )));
                }
            }
            g.vpc_id = vpc_id;
            g.subnets = subnets;
        }
        if let Some(d) = input.description {
            g.description = Some(d);
        }
        let event =
            Self::group_event(region, SourceType::SubnetGroup, &name, format!("Subnet group {name} updated."), now);
        self.commit(&mut st, vec![Op::put_json(NS_SUBNET_GROUPS, g.key(), &g)?], vec![event])?;
        let out = GroupView::of(&g).render();
        st.region_mut(region).subnet_groups.insert(name, g);
        Ok(out)
    }

    /// `DeleteSubnetGroup`; returns the `DeletionMessage`.
    ///
    /// # Errors
    /// `InvalidParameterValueException` (the `default` group),
    /// `SubnetGroupNotFoundFault`, `SubnetGroupInUseFault`.
    pub fn delete_subnet_group(&self, region: &str, name: &str) -> Result<String, DaxError> {
        let name = name.to_ascii_lowercase();
        if name == DEFAULT_SUBNET_GROUP {
            return Err(invalid(DEFAULT_SUBNET_GROUP_RESERVED.to_owned()));
        }
        let (mut st, now) = self.writable()?;
        let g = st
            .regions
            .get(region)
            .and_then(|r| r.subnet_groups.get(&name))
            .cloned()
            .ok_or_else(|| subnet_group_not_found(&name))?;
        if let Some(c) = st.clusters(region).find(|c| c.subnet_group == name) {
            return Err(DaxError::SubnetGroupInUseFault(format!(
                "Subnet group {name} is in use by cluster {}.",
                c.name
            )));
        }
        let event =
            Self::group_event(region, SourceType::SubnetGroup, &name, format!("Subnet group {name} deleted."), now);
        self.commit(&mut st, vec![Op::delete(NS_SUBNET_GROUPS, g.key())], vec![event])?;
        st.region_mut(region).subnet_groups.remove(&name);
        Ok(format!("Subnet group {name} has been deleted."))
    }

    /// `DescribeSubnetGroups`, in name order; `default` is listed when the
    /// region has a default VPC.
    ///
    /// # Errors
    /// `SubnetGroupNotFoundFault` for a named group that does not exist,
    /// `InvalidParameterValueException` for bad paging.
    pub fn describe_subnet_groups(
        &self,
        region: &str,
        names: &[String],
        paging: &Paging,
    ) -> Result<Page<SubnetGroup>, DaxError> {
        page::max_results(paging.max_results)?;
        let names: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        let st = self.ticked()?;
        let mut all: Vec<GroupView> = self.default_subnet_group(region).into_iter().collect();
        if let Some(r) = st.regions.get(region) {
            all.extend(r.subnet_groups.values().map(GroupView::of));
        }
        for n in &names {
            if !all.iter().any(|g| g.name == *n) {
                return Err(subnet_group_not_found(n));
            }
        }
        all.sort_by(|a, b| a.name.cmp(&b.name));
        page::paginate(
            all.into_iter()
                .filter(|g| names.is_empty() || names.contains(&g.name))
                .map(|g| (g.name.clone(), g.render())),
            paging,
        )
    }
}

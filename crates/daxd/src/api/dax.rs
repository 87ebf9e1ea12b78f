//! DAX control-plane operations (AmazonDAXV3, JSON 1.1).

use std::sync::{Arc, PoisonError, RwLock};

use dax_control::{
    Cluster, CreateClusterInput, CreateSubnetGroupInput, DaxControl, DaxError, DecreaseReplicationFactorInput,
    DescribeClustersInput, DescribeEventsInput, EncryptionType, Endpoint, IncreaseReplicationFactorInput, NetworkType,
    Page, Paging, Parameter, ParameterGroup, ParameterNameValue, SourceType, SubnetGroup, Tag, UpdateClusterInput,
    UpdateSubnetGroupInput,
};
use serde_json::{json, Map, Value};
use wire::AwsError;

use iam::Iam;

use super::handler::{operations, Grant, Handler, Operation, Principal};
use super::input::In;
use super::Target;
use crate::services::Service;

operations! {
    /// The DAX control-plane operations daxd serves.
    pub enum DaxOp {
        CreateCluster, CreateParameterGroup, CreateSubnetGroup, DecreaseReplicationFactor, DeleteCluster,
        DeleteParameterGroup, DeleteSubnetGroup, DescribeClusters, DescribeDefaultParameters, DescribeEvents,
        DescribeParameterGroups, DescribeParameters, DescribeSubnetGroups, IncreaseReplicationFactor, ListTags,
        RebootNode, TagResource, UntagResource, UpdateCluster, UpdateParameterGroup, UpdateSubnetGroup,
    }
}

pub fn err(e: &DaxError) -> AwsError {
    AwsError::new(e.status(), e.code(), e.message())
}

/// What a DAX action is authorized on: the cluster ARN for operations that
/// name a cluster (the tag operations name it by ARN), else `*`.
pub fn target(account: &str, region: &str, op: DaxOp, input: &Value) -> Target {
    let i = In(input);
    let resource = match (i.o("ClusterName"), i.o("ResourceName")) {
        (Some(name), _) => format!("arn:aws:dax:{region}:{account}:cache/{}", name.to_lowercase()),
        (None, Some(arn)) => arn,
        (None, None) => "*".to_owned(),
    };
    let mut t = Target::new("dax", op.name(), &resource);
    for tag in i.items("Tags") {
        let (Some(k), v) = (tag.get("Key").and_then(Value::as_str), tag.get("Value").and_then(Value::as_str)) else {
            continue;
        };
        t.context.push((format!("aws:RequestTag/{k}"), v.unwrap_or_default().to_owned()));
        t.tag_keys.push(k.to_owned());
    }
    t.tag_keys.extend(i.list("TagKeys"));
    t
}

fn paging(i: In) -> Paging {
    Paging { max_results: i.0.get("MaxResults").and_then(Value::as_i64), next_token: i.o("NextToken") }
}

fn tags(i: In) -> Vec<Tag> {
    i.items("Tags")
        .iter()
        .map(|t| Tag {
            key: t.get("Key").and_then(Value::as_str).unwrap_or_default().to_owned(),
            value: t.get("Value").and_then(Value::as_str).unwrap_or_default().to_owned(),
        })
        .collect()
}

fn opt_list(i: In, key: &str) -> Option<Vec<String>> {
    i.0.get(key).is_some().then(|| i.list(key))
}

fn tags_out(t: &[Tag]) -> Value {
    Value::Array(t.iter().map(|t| json!({"Key": t.key, "Value": t.value})).collect())
}

fn endpoint(e: &Endpoint) -> Value {
    let mut v = Map::new();
    if let Some(a) = &e.address {
        v.insert("Address".into(), json!(a));
    }
    v.insert("Port".into(), json!(e.port));
    if let Some(u) = &e.url {
        v.insert("URL".into(), json!(u));
    }
    Value::Object(v)
}

/// A cluster as the model's `Cluster` shape.
pub fn cluster_out(c: &Cluster) -> Value {
    let mut v = json!({
        "ClusterName": c.cluster_name,
        "ClusterArn": c.cluster_arn,
        "TotalNodes": c.total_nodes,
        "ActiveNodes": c.active_nodes,
        "NodeType": c.node_type,
        "Status": c.status.as_str(),
        "ClusterDiscoveryEndpoint": endpoint(&c.cluster_discovery_endpoint),
        "PreferredMaintenanceWindow": c.preferred_maintenance_window,
        "SubnetGroup": c.subnet_group,
        "SecurityGroups": c.security_groups.iter().map(|s| json!({"SecurityGroupIdentifier": s.security_group_identifier, "Status": s.status})).collect::<Vec<_>>(),
        "IamRoleArn": c.iam_role_arn,
        "ParameterGroup": {
            "ParameterGroupName": c.parameter_group.parameter_group_name,
            "ParameterApplyStatus": c.parameter_group.parameter_apply_status,
            "NodeIdsToReboot": c.parameter_group.node_ids_to_reboot,
        },
        "SSEDescription": {"Status": c.sse_description.status.as_str()},
        "ClusterEndpointEncryptionType": c.cluster_endpoint_encryption_type.as_str(),
        "NetworkType": c.network_type.as_str(),
    });
    if let Some(d) = &c.description {
        v["Description"] = json!(d);
    }
    if !c.node_ids_to_remove.is_empty() {
        v["NodeIdsToRemove"] = json!(c.node_ids_to_remove);
    }
    if let Some(n) = &c.notification_configuration {
        v["NotificationConfiguration"] = json!({"TopicArn": n.topic_arn, "TopicStatus": n.topic_status});
    }
    if let Some(nodes) = &c.nodes {
        v["Nodes"] = nodes
            .iter()
            .map(|n| {
                let mut o = Map::new();
                o.insert("NodeId".into(), json!(n.node_id));
                if let Some(e) = &n.endpoint {
                    o.insert("Endpoint".into(), endpoint(e));
                }
                if let Some(t) = n.node_create_time {
                    o.insert("NodeCreateTime".into(), json!(t));
                }
                if let Some(az) = &n.availability_zone {
                    o.insert("AvailabilityZone".into(), json!(az));
                }
                o.insert("NodeStatus".into(), json!(n.node_status.as_str()));
                if let Some(p) = &n.parameter_group_status {
                    o.insert("ParameterGroupStatus".into(), json!(p));
                }
                Value::Object(o)
            })
            .collect();
    }
    v
}

fn parameter_group_out(p: &ParameterGroup) -> Value {
    let mut v = json!({"ParameterGroupName": p.parameter_group_name});
    if let Some(d) = &p.description {
        v["Description"] = json!(d);
    }
    v
}

fn parameter_out(p: &Parameter) -> Value {
    json!({
        "ParameterName": p.parameter_name, "ParameterType": p.parameter_type, "ParameterValue": p.parameter_value,
        "NodeTypeSpecificValues": p.node_type_specific_values.iter().map(|n| json!({"NodeType": n.node_type, "Value": n.value})).collect::<Vec<_>>(),
        "Description": p.description, "Source": p.source, "DataType": p.data_type, "AllowedValues": p.allowed_values,
        "IsModifiable": p.is_modifiable, "ChangeType": p.change_type,
    })
}

fn subnet_group_out(g: &SubnetGroup) -> Value {
    let mut v = json!({
        "SubnetGroupName": g.subnet_group_name,
        "VpcId": g.vpc_id,
        "Subnets": g.subnets.iter().map(|s| json!({
            "SubnetIdentifier": s.subnet_identifier,
            "SubnetAvailabilityZone": s.subnet_availability_zone,
            "SupportedNetworkTypes": s.supported_network_types.iter().map(|n| n.as_str()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "SupportedNetworkTypes": g.supported_network_types.iter().map(|n| n.as_str()).collect::<Vec<_>>(),
    });
    if let Some(d) = &g.description {
        v["Description"] = json!(d);
    }
    v
}

fn page<T>(key: &str, p: &Page<T>, f: impl Fn(&T) -> Value) -> Value {
    let mut v = json!({key: p.items.iter().map(f).collect::<Vec<_>>()});
    if let Some(t) = &p.next_token {
        v["NextToken"] = json!(t);
    }
    v
}

fn invalid(message: String) -> AwsError {
    AwsError::new(400, "InvalidParameterValueException", message)
}

/// The `CreateClusterInput` of a request.
///
/// # Errors
/// `InvalidParameterValueException` for enum values the model allows but DAX does not know.
pub fn create_input(i: In) -> Result<CreateClusterInput, AwsError> {
    let enc = match i.o("ClusterEndpointEncryptionType") {
        None => None,
        Some(s) => Some(
            EncryptionType::parse(&s).ok_or_else(|| invalid(format!("Invalid ClusterEndpointEncryptionType {s}")))?,
        ),
    };
    let net = match i.o("NetworkType") {
        None => None,
        Some(s) => Some(NetworkType::parse(&s).ok_or_else(|| invalid(format!("Invalid NetworkType {s}")))?),
    };
    Ok(CreateClusterInput {
        cluster_name: i.s("ClusterName"),
        node_type: i.s("NodeType"),
        description: i.o("Description"),
        replication_factor: i.0.get("ReplicationFactor").and_then(Value::as_i64).unwrap_or(0),
        availability_zones: opt_list(i, "AvailabilityZones"),
        subnet_group_name: i.o("SubnetGroupName"),
        security_group_ids: opt_list(i, "SecurityGroupIds"),
        preferred_maintenance_window: i.o("PreferredMaintenanceWindow"),
        notification_topic_arn: i.o("NotificationTopicArn"),
        iam_role_arn: i.s("IamRoleArn"),
        parameter_group_name: i.o("ParameterGroupName"),
        tags: tags(i),
        sse_enabled: i.0.get("SSESpecification").and_then(|s| s.get("Enabled")).and_then(Value::as_bool),
        cluster_endpoint_encryption_type: enc,
        network_type: net,
    })
}

#[allow(clippy::too_many_lines)]
pub fn call(dax: &DaxControl, region: &str, op: &str, raw: &Value) -> Result<Value, AwsError> {
    let i = In(raw);
    let e = |x: DaxError| err(&x);
    let cluster = |c: Cluster| json!({"Cluster": cluster_out(&c)});
    match op {
        "CreateCluster" => Ok(cluster(dax.create_cluster(region, create_input(i)?).map_err(e)?)),
        "DescribeClusters" => {
            let input = DescribeClustersInput { cluster_names: i.list("ClusterNames"), paging: paging(i) };
            Ok(page("Clusters", &dax.describe_clusters(region, &input).map_err(e)?, cluster_out))
        }
        "DeleteCluster" => Ok(cluster(dax.delete_cluster(region, &i.s("ClusterName")).map_err(e)?)),
        "IncreaseReplicationFactor" => Ok(cluster(
            dax.increase_replication_factor(
                region,
                IncreaseReplicationFactorInput {
                    cluster_name: i.s("ClusterName"),
                    new_replication_factor: i.0.get("NewReplicationFactor").and_then(Value::as_i64).unwrap_or(0),
                    availability_zones: opt_list(i, "AvailabilityZones"),
                },
            )
            .map_err(e)?,
        )),
        "DecreaseReplicationFactor" => Ok(cluster(
            dax.decrease_replication_factor(
                region,
                DecreaseReplicationFactorInput {
                    cluster_name: i.s("ClusterName"),
                    new_replication_factor: i.0.get("NewReplicationFactor").and_then(Value::as_i64).unwrap_or(0),
                    availability_zones: opt_list(i, "AvailabilityZones"),
                    node_ids_to_remove: opt_list(i, "NodeIdsToRemove"),
                },
            )
            .map_err(e)?,
        )),
        "RebootNode" => Ok(cluster(dax.reboot_node(region, &i.s("ClusterName"), &i.s("NodeId")).map_err(e)?)),
        "UpdateCluster" => Ok(cluster(
            dax.update_cluster(
                region,
                UpdateClusterInput {
                    cluster_name: i.s("ClusterName"),
                    description: i.o("Description"),
                    preferred_maintenance_window: i.o("PreferredMaintenanceWindow"),
                    notification_topic_arn: i.o("NotificationTopicArn"),
                    notification_topic_status: i.o("NotificationTopicStatus"),
                    parameter_group_name: i.o("ParameterGroupName"),
                    security_group_ids: opt_list(i, "SecurityGroupIds"),
                },
            )
            .map_err(e)?,
        )),
        "CreateParameterGroup" => {
            let g = dax.create_parameter_group(region, &i.s("ParameterGroupName"), i.o("Description")).map_err(e)?;
            Ok(json!({"ParameterGroup": parameter_group_out(&g)}))
        }
        "UpdateParameterGroup" => {
            let values: Vec<ParameterNameValue> = i
                .items("ParameterNameValues")
                .iter()
                .map(|p| ParameterNameValue {
                    parameter_name: p.get("ParameterName").and_then(Value::as_str).unwrap_or_default().to_owned(),
                    parameter_value: p.get("ParameterValue").and_then(Value::as_str).unwrap_or_default().to_owned(),
                })
                .collect();
            let g = dax.update_parameter_group(region, &i.s("ParameterGroupName"), &values).map_err(e)?;
            Ok(json!({"ParameterGroup": parameter_group_out(&g)}))
        }
        "DeleteParameterGroup" => {
            Ok(json!({"DeletionMessage": dax.delete_parameter_group(region, &i.s("ParameterGroupName")).map_err(e)?}))
        }
        "DescribeParameterGroups" => Ok(page(
            "ParameterGroups",
            &dax.describe_parameter_groups(region, &i.list("ParameterGroupNames"), &paging(i)).map_err(e)?,
            parameter_group_out,
        )),
        "DescribeParameters" => Ok(page(
            "Parameters",
            &dax.describe_parameters(region, &i.s("ParameterGroupName"), i.o("Source").as_deref(), &paging(i))
                .map_err(e)?,
            parameter_out,
        )),
        "DescribeDefaultParameters" => {
            Ok(page("Parameters", &dax.describe_default_parameters(&paging(i)).map_err(e)?, parameter_out))
        }
        "CreateSubnetGroup" => {
            let g = dax
                .create_subnet_group(
                    region,
                    CreateSubnetGroupInput {
                        subnet_group_name: i.s("SubnetGroupName"),
                        description: i.o("Description"),
                        subnet_ids: i.list("SubnetIds"),
                    },
                )
                .map_err(e)?;
            Ok(json!({"SubnetGroup": subnet_group_out(&g)}))
        }
        "UpdateSubnetGroup" => {
            let g = dax
                .update_subnet_group(
                    region,
                    UpdateSubnetGroupInput {
                        subnet_group_name: i.s("SubnetGroupName"),
                        description: i.o("Description"),
                        subnet_ids: opt_list(i, "SubnetIds"),
                    },
                )
                .map_err(e)?;
            Ok(json!({"SubnetGroup": subnet_group_out(&g)}))
        }
        "DeleteSubnetGroup" => {
            Ok(json!({"DeletionMessage": dax.delete_subnet_group(region, &i.s("SubnetGroupName")).map_err(e)?}))
        }
        "DescribeSubnetGroups" => Ok(page(
            "SubnetGroups",
            &dax.describe_subnet_groups(region, &i.list("SubnetGroupNames"), &paging(i)).map_err(e)?,
            subnet_group_out,
        )),
        "DescribeEvents" => {
            let source_type = match i.o("SourceType") {
                None => None,
                Some(s) => Some(SourceType::parse(&s).ok_or_else(|| invalid(format!("Invalid SourceType {s}")))?),
            };
            let input = DescribeEventsInput {
                source_name: i.o("SourceName"),
                source_type,
                start_time: i.0.get("StartTime").and_then(wire::timestamp::parse),
                end_time: i.0.get("EndTime").and_then(wire::timestamp::parse),
                duration: i.0.get("Duration").and_then(Value::as_i64),
                paging: paging(i),
            };
            Ok(page(
                "Events",
                &dax.describe_events(region, &input).map_err(e)?,
                |ev| json!({"SourceName": ev.source_name, "SourceType": ev.source_type.as_str(), "Message": ev.message, "Date": ev.date}),
            ))
        }
        "TagResource" => {
            Ok(json!({"Tags": tags_out(&dax.tag_resource(region, &i.s("ResourceName"), tags(i)).map_err(e)?)}))
        }
        "UntagResource" => Ok(
            json!({"Tags": tags_out(&dax.untag_resource(region, &i.s("ResourceName"), &i.list("TagKeys")).map_err(e)?)}),
        ),
        "ListTags" => {
            let p = dax.list_tags(region, &i.s("ResourceName"), i.o("NextToken").as_deref()).map_err(e)?;
            Ok(page("Tags", &p, |t| json!({"Key": t.key, "Value": t.value})))
        }
        _ => Err(super::not_served("dax", op)),
    }
}

/// What `CreateCluster` checks before DAX acts: the caller may pass the
/// cluster's role to DAX, and `AWSServiceRoleForDAX` exists, or the caller
/// may have DAX create it on its behalf.
fn preflight(iam: &Iam, input: &Value, grant: &Grant<'_>) -> Result<(), AwsError> {
    let role_arn = input.get("IamRoleArn").and_then(Value::as_str).unwrap_or_default();
    let mut pass = Target::new("iam", "PassRole", role_arn);
    pass.context.push(("iam:PassedToService".into(), iam::DAX_SERVICE.into()));
    (grant.authorize)(&pass)?;
    if iam.service_linked_role(iam::DAX_SERVICE).is_ok() {
        return Ok(());
    }
    let service = Iam::linked_service(iam::DAX_SERVICE)
        .ok_or_else(|| AwsError::new(500, "InternalFailure", "DAX is missing from the service-linked role catalog"))?;
    let mut create = Target::new("iam", "CreateServiceLinkedRole", &iam.slr_arn(service, None));
    create.context.push(("iam:AWSServiceName".into(), iam::DAX_SERVICE.into()));
    (grant.authorize)(&create)?;
    match iam.create_service_linked_role(iam::DAX_SERVICE, None, None) {
        Ok(_) => Ok(()),
        // Created meanwhile by another request: what matters is that it exists.
        Err(_) if iam.service_linked_role(iam::DAX_SERVICE).is_ok() => Ok(()),
        Err(e) => Err(AwsError::new(500, "InternalFailure", e.to_string())),
    }
}

/// The DAX control plane's handler. Its impl comes after `call` (the
/// input-member walk of `tests/repo/input_members.rs` reads the first `fn call`
/// of this file).
pub struct DaxApi {
    pub dax: Arc<DaxControl>,
    /// For CreateCluster's checks on `AWSServiceRoleForDAX`.
    pub iam: Arc<Iam>,
    /// `App::role_in_use`: CreateCluster reads it from its role check until the cluster is saved.
    pub role_in_use: Arc<RwLock<()>>,
}

impl Handler for DaxApi {
    type Op = DaxOp;
    const SERVICE: Service = Service::Dax;
    const BLOCKING: bool = true;

    async fn targets(&self, op: DaxOp, input: &Value, who: &Principal<'_>) -> Vec<Target> {
        vec![target(who.account, who.region, op, input)]
    }

    async fn call(&self, op: DaxOp, input: Value, who: &Principal<'_>, grant: &Grant<'_>) -> Result<Value, AwsError> {
        if op == DaxOp::CreateCluster {
            // Hold off the role's deletion from the check that it exists until the
            // cluster that uses it is saved (see `App::role_in_use`).
            let _using = self.role_in_use.read().unwrap_or_else(PoisonError::into_inner);
            // A request refused for its input creates nothing, AWSServiceRoleForDAX included.
            self.dax.check_create_cluster(&create_input(In(&input))?).map_err(|x| err(&x))?;
            preflight(&self.iam, &input, grant)?;
            return call(&self.dax, who.region, op.name(), &input);
        }
        call(&self.dax, who.region, op.name(), &input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_the_models() {
        assert_eq!(super::super::handler::tests::check_operations::<DaxApi>(), 21);
    }
}

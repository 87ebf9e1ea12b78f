//! The action catalog and the target resource types: what ListActions, GetAction,
//! ListTargetResourceTypes and GetTargetResourceType describe, and what templates are
//! checked against.
//!
//! AWS's own actions are served where daxd can make them happen (`aws:fis:wait`,
//! `aws:network:disrupt-connectivity`); the DAX faults, which AWS FIS has no actions for,
//! are named under `daxd:` so that they can never pass for AWS actions.

use base::page::{paginate, Page, TokenForm};

use crate::FisError;

/// A parameter of an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActionParameter {
    pub name: &'static str,
    pub description: &'static str,
    pub required: bool,
}

/// What an action does, needs and how long it lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActionSpec {
    pub id: &'static str,
    pub description: &'static str,
    /// `(target key, resource type)`: the targets the action takes.
    pub targets: &'static [(&'static str, &'static str)],
    pub parameters: &'static [ActionParameter],
    /// Whether the action lasts for its `duration` parameter (the others take effect at
    /// once and complete).
    pub lasts: bool,
    /// Limits of `percentage`-style and latency parameters: `(name, min, max)`.
    pub ranges: &'static [(&'static str, u64, u64)],
}

const DURATION: ActionParameter = ActionParameter {
    name: "duration",
    description: "The duration of the action, in ISO 8601 format (PT1M to PT12H).",
    required: true,
};
const PERCENTAGE: ActionParameter =
    ActionParameter { name: "percentage", description: "The percentage (1-100) of requests to fault.", required: true };
const LATENCY: ActionParameter = ActionParameter {
    name: "latencyMilliseconds",
    description: "The delay added, in milliseconds (1-60000).",
    required: true,
};

/// A DAX node of a daxd cluster.
pub const DAX_NODE: &str = "daxd:dax:node";
/// A daxd DAX cluster.
pub const DAX_CLUSTER: &str = "daxd:dax:cluster";
/// An EC2 subnet.
pub const EC2_SUBNET: &str = "aws:ec2:subnet";

const NODES: &[(&str, &str)] = &[("Nodes", DAX_NODE)];

/// Every action daxd runs.
pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        id: "aws:fis:wait",
        description: "Wait for the specified duration. Stop condition monitoring will continue.",
        targets: &[],
        parameters: &[DURATION],
        lasts: true,
        ranges: &[],
    },
    ActionSpec {
        id: "aws:network:disrupt-connectivity",
        description: "Deny network traffic to or from the target subnets: DAX nodes with network interfaces in them become unreachable.",
        targets: &[("Subnets", EC2_SUBNET)],
        parameters: &[
            DURATION,
            ActionParameter {
                name: "scope",
                description: "The traffic denied: all (connections refused) or availability-zone (connections blackholed). Default all.",
                required: false,
            },
        ],
        lasts: true,
        ranges: &[],
    },
    ActionSpec {
        id: "daxd:dax:stop-node",
        description: "Stop the target DAX nodes: connections are refused and open connections close. They start again when the action ends.",
        targets: NODES,
        parameters: &[DURATION],
        lasts: true,
        ranges: &[],
    },
    ActionSpec {
        id: "daxd:dax:stall-node",
        description: "Stall the target DAX nodes: connections are accepted but no request is answered until the action ends.",
        targets: NODES,
        parameters: &[DURATION],
        lasts: true,
        ranges: &[],
    },
    ActionSpec {
        id: "daxd:dax:add-latency",
        description: "Delay every answer of the target DAX nodes.",
        targets: NODES,
        parameters: &[DURATION, LATENCY],
        lasts: true,
        ranges: &[("latencyMilliseconds", 1, 60_000)],
    },
    ActionSpec {
        id: "daxd:dax:throttle-requests",
        description: "Answer a percentage of the data requests of the target DAX nodes with ThrottlingException.",
        targets: NODES,
        parameters: &[DURATION, PERCENTAGE],
        lasts: true,
        ranges: &[("percentage", 1, 100)],
    },
    ActionSpec {
        id: "daxd:dax:fail-requests",
        description: "Answer a percentage of the data requests of the target DAX nodes with InternalServerError.",
        targets: NODES,
        parameters: &[DURATION, PERCENTAGE],
        lasts: true,
        ranges: &[("percentage", 1, 100)],
    },
    ActionSpec {
        id: "daxd:dax:failover-primary",
        description: "Force a primary failover in the target DAX clusters: the next node takes the writes.",
        targets: &[("Clusters", DAX_CLUSTER)],
        parameters: &[],
        lasts: false,
        ranges: &[],
    },
    ActionSpec {
        id: "daxd:dax:pause-replication",
        description: "Pause replication from the primary to the target DAX nodes: they serve stale data until the action ends.",
        targets: NODES,
        parameters: &[DURATION],
        lasts: true,
        ranges: &[],
    },
    ActionSpec {
        id: "daxd:dax:slow-backend",
        description: "Delay the calls of the target DAX nodes to DynamoDB (cache misses and writes).",
        targets: NODES,
        parameters: &[DURATION, LATENCY],
        lasts: true,
        ranges: &[("latencyMilliseconds", 1, 60_000)],
    },
    ActionSpec {
        id: "daxd:dax:fail-backend",
        description: "Fail a percentage of the calls of the target DAX nodes to DynamoDB with InternalServerError.",
        targets: NODES,
        parameters: &[DURATION, PERCENTAGE],
        lasts: true,
        ranges: &[("percentage", 1, 100)],
    },
];

/// A target resource type and the parameters its targets take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetTypeSpec {
    pub resource_type: &'static str,
    pub description: &'static str,
    /// `(name, description, required)`.
    pub parameters: &'static [(&'static str, &'static str, bool)],
}

/// Every target resource type.
pub const TARGET_TYPES: &[TargetTypeSpec] = &[
    TargetTypeSpec {
        resource_type: DAX_CLUSTER,
        description: "A DAX cluster served by daxd. ARN: arn:aws:dax:<region>:<account>:cache/<name>.",
        parameters: &[],
    },
    TargetTypeSpec {
        resource_type: DAX_NODE,
        description: "A node of a DAX cluster served by daxd. ARN: the cluster's ARN, then /<node id>. Filters: State.Role (primary, replica), AvailabilityZone.",
        parameters: &[],
    },
    TargetTypeSpec {
        resource_type: EC2_SUBNET,
        description: "An EC2 subnet.",
        parameters: &[],
    },
];

/// The action `id`.
#[must_use]
pub fn action(id: &str) -> Option<&'static ActionSpec> {
    ACTIONS.iter().find(|a| a.id == id)
}

/// The target resource type `t`.
#[must_use]
pub fn target_type(t: &str) -> Option<&'static TargetTypeSpec> {
    TARGET_TYPES.iter().find(|x| x.resource_type == t)
}

/// ListActions: a page of the catalog in id order.
///
/// # Errors
/// `ValidationException` for `maxResults` outside 1–100 or a token not handed out.
pub fn list_actions(max: Option<i64>, token: Option<&str>) -> Result<Page<&'static ActionSpec>, FisError> {
    let mut all: Vec<(&str, &'static ActionSpec)> = ACTIONS.iter().map(|a| (a.id, a)).collect();
    all.sort_by_key(|(id, _)| *id);
    paginate(all, token, TokenForm::Hex, page_size(max)?).map_err(|_| FisError::validation("Invalid nextToken"))
}

/// ListTargetResourceTypes: a page of the target types in name order.
///
/// # Errors
/// `ValidationException` for `maxResults` outside 1–100 or a token not handed out.
pub fn list_target_types(max: Option<i64>, token: Option<&str>) -> Result<Page<&'static TargetTypeSpec>, FisError> {
    let mut all: Vec<(&str, &'static TargetTypeSpec)> = TARGET_TYPES.iter().map(|t| (t.resource_type, t)).collect();
    all.sort_by_key(|(id, _)| *id);
    paginate(all, token, TokenForm::Hex, page_size(max)?).map_err(|_| FisError::validation("Invalid nextToken"))
}

/// GetAction.
///
/// # Errors
/// `ResourceNotFoundException` for an id not in the catalog.
pub fn get_action(id: &str) -> Result<&'static ActionSpec, FisError> {
    action(id).ok_or_else(|| FisError::not_found(format!("Action not found: {id}")))
}

/// GetTargetResourceType.
///
/// # Errors
/// `ResourceNotFoundException` for a type not in the catalog.
pub fn get_target_type(t: &str) -> Result<&'static TargetTypeSpec, FisError> {
    target_type(t).ok_or_else(|| FisError::not_found(format!("Target resource type not found: {t}")))
}

fn page_size(max: Option<i64>) -> Result<usize, FisError> {
    match max {
        None => Ok(100),
        Some(n @ 1..=100) => Ok(usize::try_from(n).unwrap_or(100)),
        Some(n) => Err(FisError::validation(format!("maxResults must be between 1 and 100, not {n}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_names_known_target_types_and_daxd_actions_are_prefixed() {
        for a in ACTIONS {
            for (_, t) in a.targets {
                assert!(target_type(t).is_some(), "{}: {t}", a.id);
            }
            assert!(a.id.starts_with("aws:fis:") || a.id.starts_with("aws:network:") || a.id.starts_with("daxd:dax:"));
            assert_eq!(a.lasts, a.parameters.iter().any(|p| p.name == "duration"), "{}", a.id);
            for (name, _, _) in a.ranges {
                assert!(a.parameters.iter().any(|p| p.name == *name), "{}: {name}", a.id);
            }
        }
    }

    #[test]
    fn listing_and_lookup() {
        let first = list_actions(Some(3), None).unwrap();
        assert_eq!(first.items.len(), 3);
        let rest = list_actions(None, first.next_token.as_deref()).unwrap();
        assert_eq!(first.items.len() + rest.items.len(), ACTIONS.len());
        assert!(rest.next_token.is_none());
        assert_eq!(first.items[0].id, "aws:fis:wait");
        assert_eq!(list_actions(Some(101), None).unwrap_err().code, "ValidationException");
        assert_eq!(get_action("daxd:dax:stall-node").unwrap().targets, [("Nodes", DAX_NODE)]);
        assert_eq!(get_action("aws:ec2:stop-instances").unwrap_err().code, "ResourceNotFoundException");
        assert_eq!(list_target_types(None, None).unwrap().items.len(), TARGET_TYPES.len());
        assert_eq!(get_target_type("aws:dax:cluster").unwrap_err().code, "ResourceNotFoundException");
    }
}

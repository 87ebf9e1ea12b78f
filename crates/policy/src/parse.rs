//! Parsing and grammar validation of IAM JSON policy documents.
//!
//! Validation runs in the same phases as IAM, so the first error reported for a
//! document with several problems is the one IAM reports:
//!
//! 1. syntax (JSON, element names and types, `Effect`, condition operators)
//!    → `Syntax errors in policy.`
//! 2. principal presence for the document kind
//! 3. (managed policies) `Version` must be 2012-10-17
//! 4. "legacy parsing": `Effect` case, date condition values, ARN shape
//!    → `The policy failed legacy parsing`
//! 5. `Sid` shape and uniqueness
//! 6. actions present
//! 7. the first resource format message (`Resource X must be in ARN format or "*".`, …)
//! 8. action vendor prefixes
//! 9. resources present (identity / resource policies) or, for trust
//!    policies, `sts:` actions and no `Resource`
//! 10. principal values (`Invalid principal in policy: "AWS":"foo"`)
//!
//! The message texts are the ones IAM returns in `MalformedPolicyDocument`.
//! Where IAM answers with the generic `Syntax errors in policy.` the
//! [`MalformedKind`] still says precisely what was wrong, and
//! [`MalformedPolicy::detail`] renders that (`Unknown field X`,
//! `Invalid Condition type : X`, `Invalid effect: X`,
//! `Missing required field X`: the texts S3-style resource policies use).

use std::fmt;

use serde_json::{Map, Value};

use crate::condition::parse_date;
use crate::model::*;

/// Maximum size of a managed policy document, in characters, not counting
/// white space (`CreatePolicy`, `CreatePolicyVersion`).
pub const MAX_MANAGED_POLICY_SIZE: usize = 6144;
/// Maximum aggregate size of a user's inline policies (characters, no white space).
pub const MAX_USER_INLINE_POLICY_SIZE: usize = 2048;
/// Maximum aggregate size of a role's inline policies (characters, no white space).
pub const MAX_ROLE_INLINE_POLICY_SIZE: usize = 10240;
/// Maximum aggregate size of a group's inline policies (characters, no white space).
pub const MAX_GROUP_INLINE_POLICY_SIZE: usize = 5120;
/// Default maximum size of a role trust policy (characters, no white space).
pub const MAX_TRUST_POLICY_SIZE: usize = 2048;

/// The size IAM counts against the quotas above: characters that are not
/// white space.
pub fn policy_size(doc: &str) -> usize {
    doc.chars().filter(|c| !c.is_whitespace()).count()
}

/// The three document kinds, which differ in the elements they require or forbid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// Identity-based policy (inline, managed, permissions boundary, session
    /// policy): no `Principal`; `Resource` required.
    Identity,
    /// Resource-based policy (DynamoDB table policy, bucket policy, …):
    /// `Principal`/`NotPrincipal` and `Resource` required.
    Resource,
    /// Role trust policy: `Principal` required, no `Resource`, `sts:` actions only.
    Trust,
}

/// What exactly was wrong with a rejected document.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MalformedKind {
    /// Not JSON, or an element of the wrong JSON type.
    Syntax,
    /// An element name the grammar does not know.
    UnknownField(String),
    /// An unknown condition operator.
    InvalidConditionType(String),
    /// An `Effect` other than `Allow` / `Deny` (in any case).
    InvalidEffect(String),
    /// A required element is missing (`Statement`, `Effect`, `Principal`).
    MissingField(&'static str),
    /// Managed policies must use `"Version": "2012-10-17"`.
    VersionTooOld,
    /// IAM's "legacy parsing" failed (effect case, date values, ARN shape).
    LegacyParsing,
    /// Two statements share a `Sid`.
    DuplicateSid,
    /// A `Sid` with characters other than `[0-9A-Za-z]` (IAM documents only).
    InvalidSid,
    /// A statement without `Action`/`NotAction` (or with an empty list).
    MissingActions,
    /// A statement without `Resource`/`NotResource` (or with an empty list).
    MissingResources,
    /// A malformed `Resource`/`NotResource` value.
    InvalidResource,
    /// An action without a vendor prefix, with two colons, or an invalid vendor.
    InvalidAction,
    /// An identity policy with `Principal`/`NotPrincipal`.
    PrincipalNotAllowed,
    /// A principal value of the wrong shape.
    InvalidPrincipal,
    /// An element the document kind forbids (`Resource` in a trust policy).
    ProhibitedField(&'static str),
    /// A trust policy with non-`sts:` actions.
    TrustPolicyActions,
}

/// A rejected policy document: IAM's error message and the precise cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MalformedPolicy {
    pub kind: MalformedKind,
    /// The text IAM puts in its `MalformedPolicyDocument` error.
    pub message: String,
}

impl MalformedPolicy {
    fn new(kind: MalformedKind, message: impl Into<String>) -> Self {
        MalformedPolicy { kind, message: message.into() }
    }

    fn syntax(kind: MalformedKind) -> Self {
        MalformedPolicy::new(kind, SYNTAX)
    }

    /// A more specific description for the cases where IAM only says
    /// `Syntax errors in policy.` (these are the texts S3-style resource
    /// policy validators use); otherwise the IAM message.
    pub fn detail(&self) -> String {
        match &self.kind {
            MalformedKind::UnknownField(f) => format!("Unknown field {f}"),
            MalformedKind::InvalidConditionType(op) => format!("Invalid Condition type : {op}"),
            MalformedKind::InvalidEffect(e) => format!("Invalid effect: {e}"),
            MalformedKind::MissingField(f) => format!("Missing required field {f}"),
            _ => self.message.clone(),
        }
    }
}

impl fmt::Display for MalformedPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MalformedPolicy {}

const SYNTAX: &str = "Syntax errors in policy.";
const LEGACY: &str = "The policy failed legacy parsing";

/// Parses an identity-based policy (inline user/group/role policy, permissions
/// boundary, session policy). `Version` may be absent or 2008-10-17.
pub fn parse(doc: &str) -> Result<Policy, MalformedPolicy> {
    parse_document(doc, DocumentKind::Identity, false)
}

/// Parses a customer managed policy: like [`parse`] but the document must say
/// `"Version": "2012-10-17"` (`Policy document must be version 2012-10-17 or greater.`).
pub fn parse_managed(doc: &str) -> Result<Policy, MalformedPolicy> {
    parse_document(doc, DocumentKind::Identity, true)
}

/// Parses a resource-based policy: every statement needs `Principal` or `NotPrincipal`.
pub fn parse_resource_policy(doc: &str) -> Result<Policy, MalformedPolicy> {
    parse_document(doc, DocumentKind::Resource, false)
}

/// Parses a role trust policy: a resource-based policy without `Resource`
/// whose actions are `sts:` actions.
pub fn parse_trust_policy(doc: &str) -> Result<Policy, MalformedPolicy> {
    parse_document(doc, DocumentKind::Trust, false)
}

/// Parses a document of the given kind; `require_2012` adds the managed-policy
/// version requirement.
pub fn parse_document(doc: &str, kind: DocumentKind, require_2012: bool) -> Result<Policy, MalformedPolicy> {
    let value: Value = serde_json::from_str(doc).map_err(|_| MalformedPolicy::syntax(MalformedKind::Syntax))?;
    let raw = syntax_phase(&value)?;
    principal_presence_phase(&raw, kind)?;
    if require_2012 && raw.version != Some(PolicyVersion::V2012_10_17) {
        return Err(MalformedPolicy::new(
            MalformedKind::VersionTooOld,
            "Policy document must be version 2012-10-17 or greater.",
        ));
    }
    let resource_error = legacy_phase(&raw)?;
    sid_phase(&raw, kind)?;
    for st in &raw.statements {
        match &st.action {
            Some((_, list)) if !list.is_empty() => {}
            _ => {
                return Err(MalformedPolicy::new(
                    MalformedKind::MissingActions,
                    "Policy statement must contain actions.",
                ))
            }
        }
    }
    if let Some(err) = resource_error {
        return Err(err);
    }
    for negated in [false, true] {
        for st in &raw.statements {
            if let Some((neg, list)) = &st.action {
                if *neg == negated {
                    for a in list {
                        validate_action(a)?;
                    }
                }
            }
        }
    }
    if kind == DocumentKind::Trust {
        for st in &raw.statements {
            if let Some((_, list)) = &st.action {
                if !list.iter().all(|a| valid_trust_action(a)) {
                    return Err(MalformedPolicy::new(
                        MalformedKind::TrustPolicyActions,
                        "Trust Policy statement actions can only be sts:AssumeRole, sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity",
                    ));
                }
            }
        }
        for st in &raw.statements {
            if st.resource.is_some() {
                return Err(MalformedPolicy::new(
                    MalformedKind::ProhibitedField("Resource"),
                    "Has prohibited field Resource.",
                ));
            }
        }
    } else {
        for st in &raw.statements {
            match &st.resource {
                Some((_, list)) if !list.is_empty() => {}
                _ => {
                    return Err(MalformedPolicy::new(
                        MalformedKind::MissingResources,
                        "Policy statement must contain resources.",
                    ))
                }
            }
        }
    }
    for st in &raw.statements {
        if let Some(p) = &st.principal {
            validate_principal_values(&p.value)?;
        }
    }
    Ok(raw.into_policy())
}

// ---------------------------------------------------------------------------
// Phase 1: syntax

struct RawPolicy {
    version: Option<PolicyVersion>,
    id: Option<String>,
    statements: Vec<RawStatement>,
}

struct RawStatement {
    sid: Option<String>,
    effect: String,
    principal: Option<PrincipalElement>,
    action: Option<(bool, Vec<String>)>,
    resource: Option<(bool, Vec<String>)>,
    conditions: Vec<Condition>,
}

impl RawPolicy {
    fn into_policy(self) -> Policy {
        let statements = self
            .statements
            .into_iter()
            .map(|s| Statement {
                sid: s.sid,
                effect: if s.effect == "Deny" { Effect::Deny } else { Effect::Allow },
                principal: s.principal,
                action: match s.action {
                    Some((true, v)) => ActionElement::NotAction(v),
                    Some((false, v)) => ActionElement::Action(v),
                    None => ActionElement::Action(Vec::new()),
                },
                resource: s.resource.map(|(neg, v)| {
                    if neg {
                        ResourceElement::NotResource(v)
                    } else {
                        ResourceElement::Resource(v)
                    }
                }),
                conditions: s.conditions,
            })
            .collect();
        Policy { version: self.version, id: self.id, statements }
    }
}

const STATEMENT_FIELDS: &[&str] =
    &["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"];

fn syntax_phase(value: &Value) -> Result<RawPolicy, MalformedPolicy> {
    let obj = value.as_object().ok_or_else(|| MalformedPolicy::syntax(MalformedKind::Syntax))?;
    for key in obj.keys() {
        if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
            return Err(MalformedPolicy::syntax(MalformedKind::UnknownField(key.clone())));
        }
    }
    let version = match obj.get("Version") {
        None => None,
        Some(Value::String(v)) if v == "2012-10-17" => Some(PolicyVersion::V2012_10_17),
        Some(Value::String(v)) if v == "2008-10-17" => Some(PolicyVersion::V2008_10_17),
        Some(_) => return Err(MalformedPolicy::syntax(MalformedKind::Syntax)),
    };
    let id = match obj.get("Id") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(MalformedPolicy::syntax(MalformedKind::Syntax)),
    };
    let raw_statements: Vec<&Map<String, Value>> = match obj.get("Statement") {
        None => return Err(MalformedPolicy::syntax(MalformedKind::MissingField("Statement"))),
        Some(Value::Object(o)) => vec![o],
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut v = Vec::with_capacity(items.len());
            for item in items {
                v.push(item.as_object().ok_or_else(|| MalformedPolicy::syntax(MalformedKind::Syntax))?);
            }
            v
        }
        Some(_) => return Err(MalformedPolicy::syntax(MalformedKind::Syntax)),
    };
    let mut statements = Vec::with_capacity(raw_statements.len());
    for st in raw_statements {
        statements.push(syntax_statement(st)?);
    }
    Ok(RawPolicy { version, id, statements })
}

fn syntax_statement(st: &Map<String, Value>) -> Result<RawStatement, MalformedPolicy> {
    for key in st.keys() {
        if !STATEMENT_FIELDS.contains(&key.as_str()) {
            return Err(MalformedPolicy::syntax(MalformedKind::UnknownField(key.clone())));
        }
    }
    for (a, b) in [("Action", "NotAction"), ("Resource", "NotResource"), ("Principal", "NotPrincipal")] {
        if st.contains_key(a) && st.contains_key(b) {
            return Err(MalformedPolicy::syntax(MalformedKind::Syntax));
        }
    }
    let effect = match st.get("Effect") {
        None => return Err(MalformedPolicy::syntax(MalformedKind::MissingField("Effect"))),
        Some(Value::String(e)) => {
            if !e.eq_ignore_ascii_case("allow") && !e.eq_ignore_ascii_case("deny") {
                return Err(MalformedPolicy::syntax(MalformedKind::InvalidEffect(e.clone())));
            }
            e.clone()
        }
        Some(_) => return Err(MalformedPolicy::syntax(MalformedKind::Syntax)),
    };
    let sid = match st.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(MalformedPolicy::syntax(MalformedKind::Syntax)),
    };
    let action = string_list_pair(st, "Action", "NotAction")?;
    let resource = string_list_pair(st, "Resource", "NotResource")?;
    let principal = match (st.get("Principal"), st.get("NotPrincipal")) {
        (Some(v), _) => Some(PrincipalElement { negated: false, value: principal_syntax(v)? }),
        (None, Some(v)) => Some(PrincipalElement { negated: true, value: principal_syntax(v)? }),
        (None, None) => None,
    };
    let conditions = match st.get("Condition") {
        None => Vec::new(),
        Some(v) => condition_syntax(v)?,
    };
    Ok(RawStatement { sid, effect, principal, action, resource, conditions })
}

fn string_list_pair(
    st: &Map<String, Value>,
    positive: &str,
    negative: &str,
) -> Result<Option<(bool, Vec<String>)>, MalformedPolicy> {
    let (negated, v) = match (st.get(positive), st.get(negative)) {
        (Some(v), _) => (false, v),
        (None, Some(v)) => (true, v),
        (None, None) => return Ok(None),
    };
    Ok(Some((negated, string_or_list(v)?)))
}

fn string_or_list(v: &Value) -> Result<Vec<String>, MalformedPolicy> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                _ => Err(MalformedPolicy::syntax(MalformedKind::Syntax)),
            })
            .collect(),
        _ => Err(MalformedPolicy::syntax(MalformedKind::Syntax)),
    }
}

fn principal_syntax(v: &Value) -> Result<PrincipalValue, MalformedPolicy> {
    match v {
        Value::String(s) if s == "*" => Ok(PrincipalValue::Wildcard),
        Value::Object(map) if !map.is_empty() => {
            let mut entries = Vec::with_capacity(map.len());
            for (k, val) in map {
                let kind = match k.as_str() {
                    "AWS" => PrincipalType::Aws,
                    "Service" => PrincipalType::Service,
                    "Federated" => PrincipalType::Federated,
                    "CanonicalUser" => PrincipalType::CanonicalUser,
                    _ => return Err(MalformedPolicy::syntax(MalformedKind::UnknownField(k.clone()))),
                };
                entries.push(PrincipalEntry { kind, values: string_or_list(val)? });
            }
            Ok(PrincipalValue::Map(entries))
        }
        _ => Err(MalformedPolicy::syntax(MalformedKind::Syntax)),
    }
}

/// Coerces a scalar condition value to the string AWS compares.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn condition_syntax(v: &Value) -> Result<Vec<Condition>, MalformedPolicy> {
    let block = v.as_object().ok_or_else(|| MalformedPolicy::syntax(MalformedKind::Syntax))?;
    let mut out = Vec::new();
    for (op_name, body) in block {
        let body = body.as_object().ok_or_else(|| MalformedPolicy::syntax(MalformedKind::Syntax))?;
        let mut entries = Vec::with_capacity(body.len());
        for (key, val) in body {
            let values = match val {
                Value::Array(items) => {
                    let mut vs = Vec::with_capacity(items.len());
                    for i in items {
                        vs.push(scalar_text(i).ok_or_else(|| MalformedPolicy::syntax(MalformedKind::Syntax))?);
                    }
                    vs
                }
                other => vec![scalar_text(other).ok_or_else(|| MalformedPolicy::syntax(MalformedKind::Syntax))?],
            };
            entries.push((key.clone(), values));
        }
        match ConditionOperator::parse(op_name) {
            Some(operator) => {
                for (key, values) in entries {
                    out.push(Condition { operator, key, values });
                }
            }
            // IAM tolerates an unknown operator whose body is empty.
            None if entries.is_empty() => {}
            None => return Err(MalformedPolicy::syntax(MalformedKind::InvalidConditionType(op_name.clone()))),
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Phase 2: principal presence

fn principal_presence_phase(raw: &RawPolicy, kind: DocumentKind) -> Result<(), MalformedPolicy> {
    match kind {
        DocumentKind::Identity => {
            if raw.statements.iter().any(|s| s.principal.is_some()) {
                return Err(MalformedPolicy::new(
                    MalformedKind::PrincipalNotAllowed,
                    "Policy document should not specify a principal.",
                ));
            }
        }
        DocumentKind::Resource | DocumentKind::Trust => {
            if raw.statements.iter().any(|s| s.principal.is_none()) {
                return Err(MalformedPolicy::new(
                    MalformedKind::MissingField("Principal"),
                    "Missing required field Principal",
                ));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Phase 4: legacy parsing (returns the first resource *format* error, which IAM
// reports only after the SID / actions / resources checks)

fn legacy_phase(raw: &RawPolicy) -> Result<Option<MalformedPolicy>, MalformedPolicy> {
    let legacy = || MalformedPolicy::new(MalformedKind::LegacyParsing, LEGACY);
    for st in &raw.statements {
        if st.effect != "Allow" && st.effect != "Deny" {
            return Err(legacy());
        }
        for c in &st.conditions {
            if c.operator.base.family() == OperatorFamily::Date && c.values.iter().any(|v| parse_date(v).is_none()) {
                return Err(legacy());
            }
        }
    }
    let mut first_error: Option<MalformedPolicy> = None;
    for negated in [false, true] {
        for st in &raw.statements {
            let Some((neg, list)) = &st.resource else {
                continue;
            };
            if *neg != negated {
                continue;
            }
            for r in list {
                if first_error.is_none() {
                    first_error = resource_format_error(r);
                }
            }
            if first_error.is_none() && list.iter().any(|r| legacy_resource_fails(r)) {
                return Err(legacy());
            }
        }
    }
    Ok(first_error)
}

const PARTITIONS: &[&str] =
    &["*", "aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"];

const IAM_RESOURCE_PREFIXES: &[&str] = &[
    "user/",
    "federated-user/",
    "role/",
    "group/",
    "instance-profile/",
    "mfa/",
    "server-certificate/",
    "policy/",
    "sms-mfa/",
    "saml-provider/",
    "oidc-provider/",
    "report/",
    "access-report/",
];

fn resource_format_error(r: &str) -> Option<MalformedPolicy> {
    if r == "*" {
        return None;
    }
    let invalid = |msg: String| Some(MalformedPolicy::new(MalformedKind::InvalidResource, msg));
    if !r.contains(':') {
        return invalid(format!("Resource {r} must be in ARN format or \"*\"."));
    }
    let parts: Vec<&str> = r.split(':').collect();
    let partition = parts.get(1).copied().unwrap_or("");
    let rest = &parts[2..];
    if !PARTITIONS.contains(&partition) {
        let f1 = match rest.first() {
            Some(s) if !s.is_empty() || rest.len() > 1 => *s,
            _ => "*",
        };
        let f2 = rest.get(1).copied().unwrap_or("*");
        let f3 = rest.get(2).copied().unwrap_or("*");
        let f4 = if rest.len() > 3 { rest[3..].join(":") } else { "*".to_string() };
        return invalid(format!(
            "Partition \"{partition}\" is not valid for resource \"arn:{partition}:{f1}:{f2}:{f3}:{f4}\"."
        ));
    }
    if rest.is_empty() {
        return invalid("Resource vendor must be fully qualified and cannot contain regexes.".to_string());
    }
    let service = rest[0];
    let region = rest.get(1).copied().unwrap_or("");
    // A `${...}` before the fifth colon is not a policy variable (evaluation
    // treats it as plain text, `variables::expand_resource`), so here it is
    // region text like any other: an IAM or S3 ARN with it is rejected, and
    // other services' ARNs accept it (it then matches no resource).
    if service == "iam" && !region.is_empty() {
        return invalid(format!("IAM resource {r} cannot contain region information."));
    }
    if service == "s3" && !region.is_empty() && !rest.get(3).is_some_and(|r| r.starts_with("accesspoint/")) {
        return invalid(format!("Resource {r} can not contain region information."));
    }
    if service == "iam" && rest.len() >= 4 {
        let resource_part = rest[3..].join(":");
        let head = resource_part.split('/').next().unwrap_or("");
        let ok = resource_part == "*"
            || resource_part == "root"
            || IAM_RESOURCE_PREFIXES.iter().any(|p| resource_part.starts_with(p))
            || head.contains('*')
            || head.contains('?')
            || head.contains("${");
        if !ok {
            return invalid(format!(
                "IAM resource path must either be \"*\", root, or start with {}.",
                IAM_RESOURCE_PREFIXES.join(", ")
            ));
        }
    }
    None
}

fn legacy_resource_fails(r: &str) -> bool {
    if r == "*" {
        return false;
    }
    let colons = r.matches(':').count();
    if r.contains("::") && colons < 5 {
        return true;
    }
    matches!(r.split(':').nth(2), Some(""))
}

// ---------------------------------------------------------------------------
// Phase 5: Sid

fn sid_phase(raw: &RawPolicy, kind: DocumentKind) -> Result<(), MalformedPolicy> {
    if kind != DocumentKind::Resource {
        for st in &raw.statements {
            if let Some(sid) = &st.sid {
                if !sid.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(MalformedPolicy::new(
                        MalformedKind::InvalidSid,
                        "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
                    ));
                }
            }
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for st in &raw.statements {
        if let Some(sid) = st.sid.as_deref() {
            if sid.is_empty() {
                continue;
            }
            if seen.contains(&sid) {
                return Err(MalformedPolicy::new(
                    MalformedKind::DuplicateSid,
                    "Statement IDs (SID) in a single policy must be unique.",
                ));
            }
            seen.push(sid);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Phase 8: actions and principals

fn validate_action(a: &str) -> Result<(), MalformedPolicy> {
    if a == "*" {
        return Ok(());
    }
    let parts: Vec<&str> = a.split(':').collect();
    if parts.len() == 1 {
        return Err(MalformedPolicy::new(
            MalformedKind::InvalidAction,
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ));
    }
    if parts.len() > 2 {
        return Err(MalformedPolicy::new(
            MalformedKind::InvalidAction,
            "Actions/Condition can contain only one colon.",
        ));
    }
    let vendor = parts[0];
    if vendor != "*" && !vendor.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
        return Err(MalformedPolicy::new(MalformedKind::InvalidAction, format!("Vendor {vendor} is not valid")));
    }
    Ok(())
}

fn validate_principal_values(value: &PrincipalValue) -> Result<(), MalformedPolicy> {
    let PrincipalValue::Map(entries) = value else {
        return Ok(());
    };
    for e in entries {
        for v in &e.values {
            let (ok, label) = match e.kind {
                PrincipalType::Aws => (valid_aws_principal(v), "AWS"),
                PrincipalType::Service => (valid_service_principal(v), "SERVICE"),
                PrincipalType::Federated => (!v.is_empty() && !v.chars().any(char::is_whitespace), "FEDERATED"),
                PrincipalType::CanonicalUser => {
                    (!v.is_empty() && !v.chars().any(char::is_whitespace), "CANONICAL_USER")
                }
            };
            if !ok {
                return Err(MalformedPolicy::new(
                    MalformedKind::InvalidPrincipal,
                    format!("Invalid principal in policy: \"{label}\":\"{v}\""),
                ));
            }
        }
    }
    Ok(())
}

/// The actions a trust policy may name (LocalStack's list, which follows the
/// STS service authorization reference), compared case-insensitively, plus
/// `sts:` wildcards.
const TRUST_ACTIONS: &[&str] = &[
    "sts:AssumeRole",
    "sts:AssumeRoleWithSAML",
    "sts:AssumeRoleWithWebIdentity",
    "sts:DecodeAuthorizationMessage",
    "sts:GetAccessKeyInfo",
    "sts:GetCallerIdentity",
    "sts:GetFederationToken",
    "sts:GetServiceBearerToken",
    "sts:GetSessionToken",
    "sts:SetContext",
    "sts:SetSourceIdentity",
    "sts:TagSession",
];

fn valid_trust_action(a: &str) -> bool {
    if TRUST_ACTIONS.iter().any(|t| t.eq_ignore_ascii_case(a)) {
        return true;
    }
    match a.split_once(':') {
        Some((vendor, name)) => vendor.eq_ignore_ascii_case("sts") && (name.contains('*') || name.contains('?')),
        None => false,
    }
}

/// `*`, a 12-digit account id, an IAM/STS ARN without wildcards, or a unique id
/// (`AIDA…`, `AROA…`, which IAM shows after a named principal is deleted).
fn valid_aws_principal(v: &str) -> bool {
    if v == "*" || is_account_id(v) {
        return true;
    }
    if let Some(rest) = v.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        return parts.len() == 5
            && PARTITIONS.contains(&parts[0])
            && matches!(parts[1], "iam" | "sts")
            && parts[2].is_empty()
            && is_account_id(parts[3])
            && !parts[4].is_empty()
            && !v.contains('*')
            && !v.contains('?');
    }
    v.len() >= 16
        && v.len() <= 128
        && v.starts_with('A')
        && v.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn valid_service_principal(v: &str) -> bool {
    !v.is_empty()
        && v.contains('.')
        && !v.starts_with('.')
        && !v.ends_with('.')
        && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// Whether `s` is a 12-digit AWS account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

//! The parsed form of an IAM policy document.
//!
//! Everything here is plain data: the parser in [`crate::parse()`] builds it and
//! [`crate::evaluate()`] reads it. Strings are kept exactly as written in the
//! document (variables unexpanded, case preserved) so that evaluation can apply
//! AWS's per-element rules (case-insensitive actions, case-sensitive ARNs, …).

use serde::Serialize;

/// The policy language version named by the `Version` element.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum PolicyVersion {
    /// `"2008-10-17"`: the legacy language. Policy variables are not expanded.
    V2008_10_17,
    /// `"2012-10-17"`: the current language, with policy variables.
    V2012_10_17,
}

impl PolicyVersion {
    /// The literal written in documents.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyVersion::V2008_10_17 => "2008-10-17",
            PolicyVersion::V2012_10_17 => "2012-10-17",
        }
    }
}

/// A parsed and validated policy document.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// `None` when the document has no `Version` element (AWS then uses the
    /// 2008 language: variables are literal text).
    pub version: Option<PolicyVersion>,
    /// The optional `Id` element.
    pub id: Option<String>,
    /// At least one statement.
    pub statements: Vec<Statement>,
}

impl Policy {
    /// Whether `${...}` policy variables are expanded (only in 2012-10-17 documents).
    pub fn supports_variables(&self) -> bool {
        self.version == Some(PolicyVersion::V2012_10_17)
    }
}

/// `Allow` or `Deny`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// One statement of a policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    /// `Principal` / `NotPrincipal` (resource-based and trust policies only).
    pub principal: Option<PrincipalElement>,
    pub action: ActionElement,
    /// `None` only in trust policies, which have no `Resource` element.
    pub resource: Option<ResourceElement>,
    /// Every condition of the `Condition` block, flattened: one entry per
    /// (operator, key) pair. All of them must hold (logical AND).
    pub conditions: Vec<Condition>,
}

/// `Action` or `NotAction`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionElement {
    Action(Vec<String>),
    NotAction(Vec<String>),
}

impl ActionElement {
    pub fn patterns(&self) -> &[String] {
        match self {
            ActionElement::Action(v) | ActionElement::NotAction(v) => v,
        }
    }
}

/// `Resource` or `NotResource`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResourceElement {
    Resource(Vec<String>),
    NotResource(Vec<String>),
}

impl ResourceElement {
    pub fn patterns(&self) -> &[String] {
        match self {
            ResourceElement::Resource(v) | ResourceElement::NotResource(v) => v,
        }
    }
}

/// `Principal` (`negated == false`) or `NotPrincipal` (`negated == true`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrincipalElement {
    pub negated: bool,
    pub value: PrincipalValue,
}

/// The value of a `Principal` element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrincipalValue {
    /// `"Principal": "*"`: everyone, including anonymous callers.
    Wildcard,
    /// `{"AWS": [...], "Service": [...], ...}`.
    Map(Vec<PrincipalEntry>),
}

/// One `type: values` pair of a principal map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrincipalEntry {
    pub kind: PrincipalType,
    pub values: Vec<String>,
}

/// The key of a principal map entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrincipalType {
    /// `"AWS"`: accounts, users, roles, sessions, federated users, `*`.
    Aws,
    /// `"Service"`: service principals such as `dax.amazonaws.com`.
    Service,
    /// `"Federated"`: SAML / OIDC providers (`cognito-identity.amazonaws.com`, provider ARNs).
    Federated,
    /// `"CanonicalUser"`: S3 canonical user ids.
    CanonicalUser,
}

impl PrincipalType {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalType::Aws => "AWS",
            PrincipalType::Service => "Service",
            PrincipalType::Federated => "Federated",
            PrincipalType::CanonicalUser => "CanonicalUser",
        }
    }
}

/// One condition: `{"Operator": {"Key": [values]}}` for a single key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub operator: ConditionOperator,
    /// The condition key as written (matching is case-insensitive).
    pub key: String,
    /// The policy values, coerced to strings (numbers and booleans as AWS prints them).
    pub values: Vec<String>,
}

/// A full condition operator name: optional set qualifier, base operator, optional `IfExists`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConditionOperator {
    pub qualifier: Option<SetQualifier>,
    pub base: BaseOperator,
    pub if_exists: bool,
}

/// `ForAnyValue:` / `ForAllValues:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetQualifier {
    ForAnyValue,
    ForAllValues,
}

/// The comparison family of a base operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OperatorFamily {
    String,
    Numeric,
    Date,
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

macro_rules! base_operators {
    ($($variant:ident => $name:literal, $family:ident, $negated:literal;)*) => {
        /// A condition operator without qualifier or `IfExists` suffix.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum BaseOperator { $($variant,)* }

        impl BaseOperator {
            /// Every base operator, in AWS's documentation order.
            pub const ALL: &'static [BaseOperator] = &[$(BaseOperator::$variant,)*];

            /// The operator name as written in policies.
            pub fn name(self) -> &'static str {
                match self { $(BaseOperator::$variant => $name,)* }
            }

            /// Which comparison family the operator belongs to.
            pub fn family(self) -> OperatorFamily {
                match self { $(BaseOperator::$variant => OperatorFamily::$family,)* }
            }

            /// Whether the operator is a negated one (`StringNotEquals`, `NotIpAddress`, …).
            pub fn is_negated(self) -> bool {
                match self { $(BaseOperator::$variant => $negated,)* }
            }

            /// Looks a base operator up by its exact (case-sensitive) name.
            pub fn from_name(name: &str) -> Option<BaseOperator> {
                match name { $($name => Some(BaseOperator::$variant),)* _ => None }
            }
        }
    };
}

base_operators! {
    StringEquals => "StringEquals", String, false;
    StringNotEquals => "StringNotEquals", String, true;
    StringEqualsIgnoreCase => "StringEqualsIgnoreCase", String, false;
    StringNotEqualsIgnoreCase => "StringNotEqualsIgnoreCase", String, true;
    StringLike => "StringLike", String, false;
    StringNotLike => "StringNotLike", String, true;
    NumericEquals => "NumericEquals", Numeric, false;
    NumericNotEquals => "NumericNotEquals", Numeric, true;
    NumericLessThan => "NumericLessThan", Numeric, false;
    NumericLessThanEquals => "NumericLessThanEquals", Numeric, false;
    NumericGreaterThan => "NumericGreaterThan", Numeric, false;
    NumericGreaterThanEquals => "NumericGreaterThanEquals", Numeric, false;
    DateEquals => "DateEquals", Date, false;
    DateNotEquals => "DateNotEquals", Date, true;
    DateLessThan => "DateLessThan", Date, false;
    DateLessThanEquals => "DateLessThanEquals", Date, false;
    DateGreaterThan => "DateGreaterThan", Date, false;
    DateGreaterThanEquals => "DateGreaterThanEquals", Date, false;
    Bool => "Bool", Bool, false;
    BinaryEquals => "BinaryEquals", Binary, false;
    IpAddress => "IpAddress", Ip, false;
    NotIpAddress => "NotIpAddress", Ip, true;
    ArnEquals => "ArnEquals", Arn, false;
    ArnLike => "ArnLike", Arn, false;
    ArnNotEquals => "ArnNotEquals", Arn, true;
    ArnNotLike => "ArnNotLike", Arn, true;
    Null => "Null", Null, false;
}

impl ConditionOperator {
    /// Parses a full operator name such as `ForAllValues:StringLikeIfExists`.
    ///
    /// Returns `None` for unknown names, for `NullIfExists` (AWS documents that
    /// `IfExists` cannot be used with `Null`) and for malformed qualifiers.
    pub fn parse(name: &str) -> Option<ConditionOperator> {
        let (qualifier, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), rest)
        } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (Some(SetQualifier::ForAllValues), rest)
        } else {
            (None, name)
        };
        if let Some(base) = BaseOperator::from_name(rest) {
            return Some(ConditionOperator { qualifier, base, if_exists: false });
        }
        let stem = rest.strip_suffix("IfExists")?;
        let base = BaseOperator::from_name(stem)?;
        if base == BaseOperator::Null {
            return None;
        }
        Some(ConditionOperator { qualifier, base, if_exists: true })
    }

    /// The operator name as it would be written in a policy.
    pub fn name(&self) -> String {
        let mut s = String::new();
        match self.qualifier {
            Some(SetQualifier::ForAnyValue) => s.push_str("ForAnyValue:"),
            Some(SetQualifier::ForAllValues) => s.push_str("ForAllValues:"),
            None => {}
        }
        s.push_str(self.base.name());
        if self.if_exists {
            s.push_str("IfExists");
        }
        s
    }
}

//! The one shape every service handler has: its operations as an enum,
//! what a request must be authorized for (as plain data), and the call
//! itself. `exec` runs every authenticated call through one path over this
//! trait, so a service is one `impl Handler` beside its translation code.

use std::future::Future;

use iam::Caller;
use policy::Context;
use serde_json::Value;
use wire::AwsError;

use super::Target;
use crate::services::{def, Service};

/// An operation daxd serves, as one variant of its service's enum.
pub trait Operation: Copy + Eq + std::fmt::Debug + Send + Sync + 'static {
    /// Every operation of the enum (the tests check them against the model).
    #[cfg_attr(not(test), allow(dead_code))]
    const ALL: &'static [Self];

    /// The operation's name in the service model.
    fn name(self) -> &'static str;

    /// The operation of a model name, if daxd serves it.
    fn parse(name: &str) -> Option<Self>;
}

/// An enum of operations, named exactly as the service model names them,
/// with its [`Operation`] implementation.
macro_rules! operations {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($op:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($op),+
        }

        impl $crate::api::handler::Operation for $name {
            const ALL: &'static [Self] = &[$(Self::$op),+];

            fn name(self) -> &'static str {
                match self {
                    $(Self::$op => stringify!($op)),+
                }
            }

            fn parse(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($op) => Some(Self::$op),)+
                    _ => None,
                }
            }
        }
    };
}
pub(crate) use operations;

/// Who makes a call, and where: what a handler knows of the request beside its input.
pub struct Principal<'a> {
    pub caller: &'a Caller,
    /// The account daxd serves.
    pub account: &'a str,
    /// The region the request is for.
    pub region: &'a str,
}

/// What an authorized call may still use of authorization.
pub struct Grant<'a> {
    /// The condition keys of the request's first target (STS evaluates a role's trust
    /// policy with them); empty when the caller needed no targets worked out.
    pub context: &'a Context,
    /// Authorize the caller for one more target, with the request's condition keys
    /// (CreateCluster's checks on the role it passes to DAX).
    pub authorize: &'a (dyn Fn(&Target) -> Result<(), AwsError> + Sync),
}

/// One service: its operations, what each is authorized for, and the call.
///
/// A handler owns what it needs of the domain (shared handles), so that the
/// calls of a blocking handler can move to the blocking pool.
pub trait Handler: Send + Sync + 'static {
    /// The operations daxd serves; the model's others are answered `not_served`.
    type Op: Operation;

    /// The service, with its model and protocol ([`crate::services::def`]).
    const SERVICE: Service;

    /// Whether the calls block (the domain crates hold locks and write SQLite): they
    /// run on the blocking pool, never on an async worker (ARCHITECTURE.md, invariant 10).
    const BLOCKING: bool;

    /// Whether the root user's requests skip working out targets: the root is allowed
    /// everything (`Iam::authorize`), and some targets cost lookups (DynamoDB's key schemas).
    const ROOT_SKIPS_TARGETS: bool = false;

    /// What the request must be authorized for: the IAM action, the resource ARNs and
    /// the condition keys the request makes knowable, one target per resource.
    fn targets(&self, op: Self::Op, input: &Value, who: &Principal<'_>) -> impl Future<Output = Vec<Target>> + Send;

    /// What an operation of the model that daxd does not serve is authorized for
    /// before the answer says so.
    fn not_served_target(&self, name: &str, _input: &Value) -> Target {
        Target::new(def(Self::SERVICE).action_prefix, name, "*")
    }

    /// Operations whose authorization the service does itself (or that need none).
    fn self_authorized(&self, _op: Self::Op) -> bool {
        false
    }

    /// Run an authorized operation.
    fn call(
        &self,
        op: Self::Op,
        input: Value,
        who: &Principal<'_>,
        grant: &Grant<'_>,
    ) -> impl Future<Output = Result<Value, AwsError>> + Send;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every variant of `H::Op` is an operation of `H`'s model, named as the model names
    /// it; every other operation of the model is answered `not_served` (`exec`). Returns
    /// how many of the model's operations are served.
    pub(crate) fn check_operations<H: Handler>() -> usize {
        let model = &def(H::SERVICE).model;
        for op in <H::Op as Operation>::ALL {
            assert!(model.operation(op.name()).is_some(), "{:?}: {} is not in the model", H::SERVICE, op.name());
            assert_eq!(<H::Op as Operation>::parse(op.name()), Some(*op));
        }
        let names: std::collections::BTreeSet<&str> = <H::Op as Operation>::ALL.iter().map(|o| o.name()).collect();
        assert_eq!(names.len(), <H::Op as Operation>::ALL.len(), "{:?}: an operation is listed twice", H::SERVICE);
        names.len()
    }
}

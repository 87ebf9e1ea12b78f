//! Table machinery shared by the evaluation suites: a case is one row
//! (policies, principal, action, resource, context, expected decision and
//! denial tail).

#![allow(dead_code)]

use std::net::IpAddr;

use policy::{
    evaluate, parse, parse_resource_policy, parse_trust_policy, Context, ContextValue, Decision, Policy, PolicySet,
    Principal, Request,
};

pub const ACCT: &str = "123456789012";
pub const OTHER: &str = "111122223333";

pub fn user(name: &str) -> Principal {
    Principal::user(&format!("arn:aws:iam::{ACCT}:user/{name}"))
}

pub fn user_in(acct: &str, name: &str) -> Principal {
    Principal::user(&format!("arn:aws:iam::{acct}:user/{name}"))
}

pub fn session(role: &str, name: &str) -> Principal {
    Principal::assumed_role(&format!("arn:aws:sts::{ACCT}:assumed-role/{role}/{name}"), None)
}

pub fn session_in(acct: &str, role: &str, name: &str) -> Principal {
    Principal::assumed_role(&format!("arn:aws:sts::{acct}:assumed-role/{role}/{name}"), None)
}

pub fn fed_user(name: &str, via_user: &str) -> Principal {
    Principal::federated_user(
        &format!("arn:aws:sts::{ACCT}:federated-user/{name}"),
        Some(&format!("arn:aws:iam::{ACCT}:user/{via_user}")),
    )
}

/// A JSON value: kept raw when it already is a list or object, quoted otherwise.
pub fn j(s: &str) -> String {
    if s.starts_with('[') || s.starts_with('{') {
        s.to_string()
    } else {
        format!("\"{s}\"")
    }
}

pub fn stmt(effect: &str, action: &str, resource: &str, condition: Option<&str>) -> String {
    let cond = condition.map(|c| format!(",\"Condition\":{c}")).unwrap_or_default();
    format!("{{\"Effect\":\"{effect}\",\"Action\":{},\"Resource\":{}{cond}}}", j(action), j(resource))
}

pub fn doc(statements: &[String]) -> String {
    format!("{{\"Version\":\"2012-10-17\",\"Statement\":[{}]}}", statements.join(","))
}

pub fn allow(action: &str, resource: &str) -> String {
    doc(&[stmt("Allow", action, resource, None)])
}

pub fn deny(action: &str, resource: &str) -> String {
    doc(&[stmt("Deny", action, resource, None)])
}

pub fn allow_if(action: &str, resource: &str, cond: &str) -> String {
    doc(&[stmt("Allow", action, resource, Some(cond))])
}

pub fn deny_if(action: &str, resource: &str, cond: &str) -> String {
    doc(&[stmt("Deny", action, resource, Some(cond))])
}

/// A resource-based policy statement with a `Principal`.
pub fn rstmt(effect: &str, principal: &str, action: &str, resource: &str, condition: Option<&str>) -> String {
    let cond = condition.map(|c| format!(",\"Condition\":{c}")).unwrap_or_default();
    format!(
        "{{\"Effect\":\"{effect}\",\"Principal\":{},\"Action\":{},\"Resource\":{}{cond}}}",
        j(principal),
        j(action),
        j(resource)
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    Allow,
    NoIdentity,
    NoResource,
    NoBoundary,
    NoSession,
    DenyIdentity,
    DenyResource,
    DenyBoundary,
    DenySession,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResKind {
    Resource,
    Trust,
}

#[derive(Clone, Debug)]
pub struct Case {
    pub family: &'static str,
    pub name: String,
    pub identity: Vec<String>,
    pub resource: Vec<(ResKind, String)>,
    pub boundary: Option<Vec<String>>,
    pub session: Option<Vec<String>>,
    pub principal: Principal,
    pub action: String,
    pub arn: String,
    pub resource_account: Option<String>,
    pub ctx: Context,
    pub expect: Expect,
}

#[derive(Default)]
pub struct Table {
    pub cases: Vec<Case>,
}

impl Table {
    pub fn case(&mut self, family: &'static str, name: &str) -> CaseBuilder<'_> {
        CaseBuilder {
            table: self,
            case: Case {
                family,
                name: name.to_string(),
                identity: Vec::new(),
                resource: Vec::new(),
                boundary: None,
                session: None,
                principal: user("bob"),
                action: String::new(),
                arn: "*".to_string(),
                resource_account: None,
                ctx: Context::new(),
                expect: Expect::Allow,
            },
        }
    }
}

pub struct CaseBuilder<'a> {
    table: &'a mut Table,
    case: Case,
}

impl CaseBuilder<'_> {
    pub fn id(mut self, p: impl Into<String>) -> Self {
        self.case.identity.push(p.into());
        self
    }
    pub fn res(mut self, p: impl Into<String>) -> Self {
        self.case.resource.push((ResKind::Resource, p.into()));
        self
    }
    pub fn trust(mut self, p: impl Into<String>) -> Self {
        self.case.resource.push((ResKind::Trust, p.into()));
        self
    }
    pub fn boundary(mut self, p: impl Into<String>) -> Self {
        self.case.boundary.get_or_insert_with(Vec::new).push(p.into());
        self
    }
    pub fn session_policy(mut self, p: impl Into<String>) -> Self {
        self.case.session.get_or_insert_with(Vec::new).push(p.into());
        self
    }
    pub fn who(mut self, p: Principal) -> Self {
        self.case.principal = p;
        self
    }
    pub fn act(mut self, a: &str) -> Self {
        self.case.action = a.to_string();
        self
    }
    pub fn on(mut self, arn: &str) -> Self {
        self.case.arn = arn.to_string();
        self
    }
    pub fn owner(mut self, acct: &str) -> Self {
        self.case.resource_account = Some(acct.to_string());
        self
    }
    pub fn ctx(mut self, k: &str, v: &str) -> Self {
        self.case.ctx.set(k, v);
        self
    }
    pub fn ctx_multi(mut self, k: &str, v: &[&str]) -> Self {
        self.case.ctx.set_multi(k, v.to_vec());
        self
    }
    pub fn ctx_bool(mut self, k: &str, v: bool) -> Self {
        self.case.ctx.set_bool(k, v);
        self
    }
    pub fn ctx_num(mut self, k: &str, v: f64) -> Self {
        self.case.ctx.set_number(k, v);
        self
    }
    pub fn ctx_ip(mut self, k: &str, v: &str) -> Self {
        let ip: IpAddr = v.parse().expect("test IP");
        self.case.ctx.set_ip(k, ip);
        self
    }
    pub fn ctx_bin(mut self, k: &str, v: &[u8]) -> Self {
        self.case.ctx.set_binary(k, v.to_vec());
        self
    }
    pub fn ctx_date(mut self, k: &str, v: time::OffsetDateTime) -> Self {
        self.case.ctx.set_values(k, vec![ContextValue::Date(v)]);
        self
    }
    fn done(mut self, e: Expect) {
        self.case.expect = e;
        self.table.cases.push(self.case);
    }
    pub fn allow(self) {
        self.done(Expect::Allow)
    }
    pub fn no_identity(self) {
        self.done(Expect::NoIdentity)
    }
    pub fn no_resource(self) {
        self.done(Expect::NoResource)
    }
    pub fn no_boundary(self) {
        self.done(Expect::NoBoundary)
    }
    pub fn no_session(self) {
        self.done(Expect::NoSession)
    }
    pub fn deny_identity(self) {
        self.done(Expect::DenyIdentity)
    }
    pub fn deny_resource(self) {
        self.done(Expect::DenyResource)
    }
    pub fn deny_boundary(self) {
        self.done(Expect::DenyBoundary)
    }
    pub fn deny_session(self) {
        self.done(Expect::DenySession)
    }
}

/// The decision and the AWS denial tail a case expects, written out literally.
pub fn expected(case: &Case) -> (Decision, String) {
    let a = &case.action;
    match case.expect {
        Expect::Allow => (Decision::Allow, String::new()),
        Expect::NoIdentity => {
            (Decision::ImplicitDeny, format!("because no identity-based policy allows the {a} action"))
        }
        Expect::NoResource => {
            (Decision::ImplicitDeny, format!("because no resource-based policy allows the {a} action"))
        }
        Expect::NoBoundary => {
            (Decision::ImplicitDeny, format!("because no permissions boundary allows the {a} action"))
        }
        Expect::NoSession => (Decision::ImplicitDeny, format!("because no session policy allows the {a} action")),
        Expect::DenyIdentity => {
            (Decision::ExplicitDeny, "with an explicit deny in an identity-based policy".to_string())
        }
        Expect::DenyResource => {
            (Decision::ExplicitDeny, "with an explicit deny in a resource-based policy".to_string())
        }
        Expect::DenyBoundary => (Decision::ExplicitDeny, "with an explicit deny in a permissions boundary".to_string()),
        Expect::DenySession => (Decision::ExplicitDeny, "with an explicit deny in a session policy".to_string()),
    }
}

fn parse_all(docs: &[String], f: fn(&str) -> Result<Policy, policy::MalformedPolicy>) -> Result<Vec<Policy>, String> {
    docs.iter().map(|d| f(d).map_err(|e| format!("{e} in {d}"))).collect()
}

/// Runs one case; `Err` describes a mismatch.
pub fn run(case: &Case) -> Result<(), String> {
    let identity = parse_all(&case.identity, parse)?;
    let mut resource = Vec::new();
    for (kind, d) in &case.resource {
        let p = match kind {
            ResKind::Resource => parse_resource_policy(d),
            ResKind::Trust => parse_trust_policy(d),
        };
        resource.push(p.map_err(|e| format!("{e} in {d}"))?);
    }
    let boundary = case.boundary.as_ref().map(|b| parse_all(b, parse)).transpose()?;
    let session = case.session.as_ref().map(|s| parse_all(s, parse)).transpose()?;

    let identity_refs: Vec<&Policy> = identity.iter().collect();
    let resource_refs: Vec<&Policy> = resource.iter().collect();
    let boundary_refs: Option<Vec<&Policy>> = boundary.as_ref().map(|b| b.iter().collect());
    let session_refs: Option<Vec<&Policy>> = session.as_ref().map(|s| s.iter().collect());
    let set = PolicySet {
        identity: &identity_refs,
        resource: &resource_refs,
        boundary: boundary_refs.as_deref(),
        session: session_refs.as_deref(),
    };
    let mut req = Request::new(&case.principal, &case.action, &case.arn, &case.ctx);
    if let Some(a) = &case.resource_account {
        req = req.with_resource_account(a);
    }
    let out = evaluate(&req, &set);
    let (decision, tail) = expected(case);
    let got_tail = out.denial_tail(&case.action);
    if out.decision != decision || got_tail != tail {
        return Err(format!(
            "expected {decision:?} [{tail}], got {:?} [{got_tail}] (reason {:?}, matched {:?})",
            out.decision, out.reason, out.matched
        ));
    }
    Ok(())
}

/// Runs a whole table and panics with every failing row.
pub fn run_table(table: &Table) {
    let failures: Vec<String> =
        table.cases.iter().filter_map(|c| run(c).err().map(|e| format!("[{}] {}: {e}", c.family, c.name))).collect();
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), table.cases.len(), failures.join("\n"));
}

//! The service against fake resources, alarms and actions, with a manual clock: template
//! validation, the experiment lifecycle, ordering, durations, stop conditions, target
//! selection, failures and a restart.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base::{Env, ManualClock, SeqIds};
use serde_json::json;
use state::Store;

use crate::{
    ActionFailure, ActionInput, ActionRun, Actions, Alarms, ErrorCode, Fis, FisError, Resource, StopCondition, Target,
    Targets, TemplateInput, TemplateUpdate,
};

const ACCT: &str = "123456789012";
const REGION: &str = "us-east-1";
const ROLE: &str = "arn:aws:iam::123456789012:role/fis";

#[derive(Default)]
struct Fake {
    resources: Mutex<Vec<(String, Resource)>>,
    alarms: Mutex<BTreeMap<String, String>>,
    deny: Mutex<Option<String>>,
    /// `start <action name> <targets>` / `stop <action name>`.
    log: Mutex<Vec<String>>,
}

impl Targets for Fake {
    fn resources(&self, _: &str, _: &str, rtype: &str) -> Vec<Resource> {
        self.resources.lock().unwrap().iter().filter(|(t, _)| t == rtype).map(|(_, r)| r.clone()).collect()
    }
}

impl Alarms for Fake {
    fn state(&self, arn: &str) -> Option<String> {
        self.alarms.lock().unwrap().get(arn).cloned()
    }
}

impl Actions for Fake {
    fn start(&self, run: &ActionRun) -> Result<(), ActionFailure> {
        if let Some(reason) = self.deny.lock().unwrap().clone() {
            return Err(ActionFailure::new(ErrorCode::AuthorizationFailure, reason));
        }
        let targets: Vec<String> = run.targets.values().flatten().cloned().collect();
        self.log.lock().unwrap().push(format!("start {} {}", run.action_name, targets.join(",")));
        Ok(())
    }

    fn stop(&self, run: &ActionRun) {
        self.log.lock().unwrap().push(format!("stop {}", run.action_name));
    }
}

struct T {
    fis: Fis,
    fake: Arc<Fake>,
    clock: Arc<ManualClock>,
    store: Arc<Store>,
}

fn env(clock: &Arc<ManualClock>) -> Env {
    Env { clock: clock.clone(), ids: Arc::new(SeqIds::default()) }
}

fn setup() -> T {
    let clock = Arc::new(ManualClock::at(1_700_000_000));
    let store = Arc::new(Store::in_memory().unwrap());
    let fake = Arc::new(Fake::default());
    for (i, role) in ["primary", "replica", "replica"].iter().enumerate() {
        let node = format!("arn:aws:dax:us-east-1:123456789012:cache/c/c-{}", (b'a' + i as u8) as char);
        let r = Resource {
            arn: node,
            tags: BTreeMap::from([("env".to_owned(), "test".to_owned())]),
            attributes: BTreeMap::from([("State.Role".to_owned(), (*role).to_owned())]),
        };
        fake.resources.lock().unwrap().push((crate::catalog::DAX_NODE.to_owned(), r));
    }
    let fis = Fis::new(store.clone(), env(&clock), fake.clone(), fake.clone(), fake.clone());
    T { fis, fake, clock, store }
}

fn nodes(mode: &str) -> Target {
    Target {
        resource_type: "daxd:dax:node".into(),
        resource_tags: Some(BTreeMap::from([("env".into(), "test".into())])),
        selection_mode: mode.into(),
        ..Target::default()
    }
}

fn action(id: &str, params: &[(&str, &str)], targets: &[(&str, &str)], after: &[&str]) -> ActionInput {
    ActionInput {
        action_id: id.into(),
        parameters: (!params.is_empty())
            .then(|| params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
        targets: (!targets.is_empty())
            .then(|| targets.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
        start_after: (!after.is_empty()).then(|| after.iter().map(|s| (*s).to_owned()).collect()),
        ..ActionInput::default()
    }
}

fn none() -> Vec<StopCondition> {
    vec![StopCondition { source: "none".into(), value: None }]
}

/// A wait of two minutes, then a stall of the tagged nodes for a minute.
fn input(token: &str) -> TemplateInput {
    TemplateInput {
        client_token: Some(token.into()),
        description: Some("stall after a wait".into()),
        stop_conditions: Some(none()),
        targets: Some(BTreeMap::from([("n".into(), nodes("ALL"))])),
        actions: Some(BTreeMap::from([
            ("wait".into(), action("aws:fis:wait", &[("duration", "PT2M")], &[], &[])),
            ("stall".into(), action("daxd:dax:stall-node", &[("duration", "PT1M")], &[("Nodes", "n")], &["wait"])),
        ])),
        role_arn: Some(ROLE.into()),
        tags: None,
    }
}

fn status(t: &T, id: &str) -> (String, BTreeMap<String, String>) {
    let e = t.fis.get_experiment(ACCT, REGION, id).unwrap();
    (e.state.status, e.actions.into_iter().map(|(n, a)| (n, a.state.status)).collect())
}

fn step(t: &T, secs: i64) {
    t.clock.advance_secs(secs);
    t.fis.tick().unwrap();
}

fn log(t: &T) -> Vec<String> {
    t.fake.log.lock().unwrap().clone()
}

#[test]
fn templates_are_validated_as_aws_does() {
    let t = setup();
    type Edit = fn(&mut TemplateInput);
    let cases: Vec<(&str, Edit, &str)> = vec![
        ("no client token", |i| i.client_token = None, "ValidationException"),
        ("no description", |i| i.description = None, "ValidationException"),
        ("long description", |i| i.description = Some("x".repeat(513)), "ValidationException"),
        ("no stop conditions", |i| i.stop_conditions = None, "ValidationException"),
        ("empty stop conditions", |i| i.stop_conditions = Some(vec![]), "ValidationException"),
        (
            "alarm without ARN",
            |i| i.stop_conditions = Some(vec![StopCondition { source: "aws:cloudwatch:alarm".into(), value: None }]),
            "ValidationException",
        ),
        (
            "unknown source",
            |i| i.stop_conditions = Some(vec![StopCondition { source: "aws:sns".into(), value: None }]),
            "ValidationException",
        ),
        ("no role", |i| i.role_arn = None, "ValidationException"),
        ("not a role", |i| i.role_arn = Some("arn:aws:iam::123456789012:user/u".into()), "ValidationException"),
        ("no actions", |i| i.actions = Some(BTreeMap::new()), "ValidationException"),
        (
            "unknown action",
            |i| {
                i.actions = Some(BTreeMap::from([("a".into(), action("aws:dax:reboot", &[], &[], &[]))]));
            },
            "ValidationException",
        ),
        (
            "missing duration",
            |i| i.actions = Some(BTreeMap::from([("a".into(), action("aws:fis:wait", &[], &[], &[]))])),
            "ValidationException",
        ),
        (
            "bad duration",
            |i| {
                i.actions =
                    Some(BTreeMap::from([("a".into(), action("aws:fis:wait", &[("duration", "2m")], &[], &[]))]))
            },
            "ValidationException",
        ),
        (
            "AWS action under a minute",
            |i| {
                i.actions =
                    Some(BTreeMap::from([("a".into(), action("aws:fis:wait", &[("duration", "PT30S")], &[], &[]))]))
            },
            "ValidationException",
        ),
        (
            "unknown parameter",
            |i| {
                i.actions = Some(BTreeMap::from([(
                    "a".into(),
                    action("aws:fis:wait", &[("duration", "PT1M"), ("x", "1")], &[], &[]),
                )]))
            },
            "ValidationException",
        ),
        (
            "percentage out of range",
            |i| {
                i.actions = Some(BTreeMap::from([(
                    "a".into(),
                    action(
                        "daxd:dax:throttle-requests",
                        &[("duration", "PT1M"), ("percentage", "0")],
                        &[("Nodes", "n")],
                        &[],
                    ),
                )]))
            },
            "ValidationException",
        ),
        (
            "missing target",
            |i| {
                i.actions = Some(BTreeMap::from([(
                    "a".into(),
                    action("daxd:dax:stop-node", &[("duration", "PT1M")], &[], &[]),
                )]))
            },
            "ValidationException",
        ),
        (
            "target not in template",
            |i| {
                i.actions = Some(BTreeMap::from([(
                    "a".into(),
                    action("daxd:dax:stop-node", &[("duration", "PT1M")], &[("Nodes", "zz")], &[]),
                )]))
            },
            "ValidationException",
        ),
        (
            "target of another type",
            |i| {
                i.actions = Some(BTreeMap::from([(
                    "a".into(),
                    action("daxd:dax:failover-primary", &[], &[("Clusters", "n")], &[]),
                )]))
            },
            "ValidationException",
        ),
        (
            "bad selection mode",
            |i| i.targets = Some(BTreeMap::from([("n".into(), nodes("SOME"))])),
            "ValidationException",
        ),
        (
            "ARNs and tags",
            |i| {
                let mut n = nodes("ALL");
                n.resource_arns = Some(vec!["arn:aws:dax:us-east-1:123456789012:cache/c/c-a".into()]);
                i.targets = Some(BTreeMap::from([("n".into(), n)]));
            },
            "ValidationException",
        ),
        (
            "startAfter unknown",
            |i| {
                i.actions.as_mut().unwrap().get_mut("wait").unwrap().start_after = Some(vec!["nope".into()]);
            },
            "ValidationException",
        ),
        (
            "startAfter cycle",
            |i| {
                i.actions.as_mut().unwrap().get_mut("wait").unwrap().start_after = Some(vec!["stall".into()]);
            },
            "ValidationException",
        ),
        (
            "too many stop conditions",
            |i| {
                let alarm = StopCondition {
                    source: "aws:cloudwatch:alarm".into(),
                    value: Some("arn:aws:cloudwatch:us-east-1:123456789012:alarm:a".into()),
                };
                i.stop_conditions = Some(vec![alarm; 6]);
            },
            "ServiceQuotaExceededException",
        ),
    ];
    for (what, edit, code) in cases {
        let mut i = input(&format!("tok-{}", what.replace(' ', "-")));
        edit(&mut i);
        let e = t.fis.create_template(ACCT, REGION, i).expect_err(what);
        assert_eq!(e.code, code, "{what}: {}", e.message);
        assert!(what == "no client token" || !e.message.contains("clientToken"), "{what}: {}", e.message);
    }
    assert!(t.fis.list_templates(ACCT, REGION, None, None).unwrap().items.is_empty(), "nothing stored");
}

#[test]
fn template_crud_idempotency_and_paging() {
    let t = setup();
    let a = t.fis.create_template(ACCT, REGION, input("one")).unwrap();
    assert!(a.id.starts_with("EXT"));
    assert_eq!(a.arn, format!("arn:aws:fis:{REGION}:{ACCT}:experiment-template/{}", a.id));
    assert_eq!(t.fis.create_template(ACCT, REGION, input("one")).unwrap(), a, "same token, same template");
    let b = t.fis.create_template(ACCT, REGION, input("two")).unwrap();
    assert_ne!(a.id, b.id);
    assert_eq!(t.fis.get_template(ACCT, REGION, &a.id).unwrap(), a);
    assert_eq!(t.fis.get_template("999999999999", REGION, &a.id).unwrap_err().code, "ResourceNotFoundException");
    // Paging.
    let p1 = t.fis.list_templates(ACCT, REGION, Some(1), None).unwrap();
    assert_eq!(p1.items.len(), 1);
    let p2 = t.fis.list_templates(ACCT, REGION, Some(1), p1.next_token.as_deref()).unwrap();
    assert_eq!(p2.items.len(), 1);
    assert!(p2.next_token.is_none());
    assert_ne!(p1.items[0].id, p2.items[0].id);
    assert_eq!(t.fis.list_templates(ACCT, REGION, Some(0), None).unwrap_err().code, "ValidationException");
    assert_eq!(t.fis.list_templates(ACCT, REGION, None, Some("zz")).unwrap_err().code, "ValidationException");
    // Update: what is given replaces; a bad update changes nothing.
    t.clock.advance_secs(5);
    let u = t
        .fis
        .update_template(
            ACCT,
            REGION,
            &a.id,
            TemplateUpdate { description: Some("d2".into()), ..TemplateUpdate::default() },
        )
        .unwrap();
    assert_eq!(u.description, "d2");
    assert!(u.last_update_time > a.last_update_time);
    let bad = TemplateUpdate { role_arn: Some("nope".into()), ..TemplateUpdate::default() };
    assert_eq!(t.fis.update_template(ACCT, REGION, &a.id, bad).unwrap_err().code, "ValidationException");
    assert_eq!(t.fis.get_template(ACCT, REGION, &a.id).unwrap().role_arn, ROLE);
    // Delete.
    t.fis.delete_template(ACCT, REGION, &a.id).unwrap();
    assert_eq!(t.fis.delete_template(ACCT, REGION, &a.id).unwrap_err().code, "ResourceNotFoundException");
    // The JSON shape is botocore's.
    let v = serde_json::to_value(&b).unwrap();
    assert_eq!(v["actions"]["stall"]["startAfter"], json!(["wait"]));
    assert_eq!(v["targets"]["n"]["selectionMode"], "ALL");
    assert!(v["creationTime"].is_f64());
}

#[test]
fn an_experiment_runs_its_actions_in_order_for_their_durations() {
    let t = setup();
    let tpl = t.fis.create_template(ACCT, REGION, input("x")).unwrap();
    let e = t.fis.start_experiment(ACCT, REGION, "s1", &tpl.id, BTreeMap::new()).unwrap();
    assert!(e.id.starts_with("EXP"));
    assert_eq!(t.fis.start_experiment(ACCT, REGION, "s1", &tpl.id, BTreeMap::new()).unwrap().id, e.id);
    let lifecycle: &[(i64, &str, &str, &str)] = &[
        // (seconds advanced, experiment, wait, stall)
        (0, "pending", "pending", "pending"),
        (1, "initiating", "pending", "pending"),
        (1, "running", "running", "pending"),
        (60, "running", "running", "pending"),
        (60, "running", "completed", "running"),
        (59, "running", "completed", "running"),
        (1, "completed", "completed", "completed"),
    ];
    for (i, (secs, exp, wait, stall)) in lifecycle.iter().enumerate() {
        if i > 0 {
            step(&t, *secs);
        }
        // An experiment not finished is what keeps AWSServiceRoleForFIS in use.
        let active = t.fis.active_experiments().unwrap();
        if *exp == "completed" {
            assert!(active.is_empty(), "step {i}");
        } else {
            assert_eq!(active, [(REGION.to_owned(), vec![e.arn.clone()])], "step {i}");
        }
        let (s, actions) = status(&t, &e.id);
        assert_eq!(
            (s.as_str(), actions["wait"].as_str(), actions["stall"].as_str()),
            (*exp, *wait, *stall),
            "step {i}"
        );
    }
    let nodes = "arn:aws:dax:us-east-1:123456789012:cache/c/c-a,arn:aws:dax:us-east-1:123456789012:cache/c/c-b,arn:aws:dax:us-east-1:123456789012:cache/c/c-c";
    assert_eq!(
        log(&t),
        ["start wait ".to_owned(), "stop wait".into(), format!("start stall {nodes}"), "stop stall".into()]
    );
    let done = t.fis.get_experiment(ACCT, REGION, &e.id).unwrap();
    assert_eq!(done.state.reason, "Experiment completed.");
    assert_eq!(done.end_time.unwrap() - done.start_time.unwrap(), 180.0);
    assert_eq!(t.fis.resolved_targets(ACCT, REGION, &e.id).unwrap().len(), 3);
}

#[test]
fn targets_are_chosen_by_mode_tags_and_filters() {
    /// (selection mode, filter path and value, targets resolved)
    type Case<'a> = (&'a str, Option<(&'a str, &'a str)>, usize);
    let cases: &[Case<'_>] = &[
        ("ALL", None, 3),
        ("COUNT(2)", None, 2),
        ("PERCENT(34)", None, 1),
        ("ALL", Some(("State.Role", "replica")), 2),
        ("COUNT(1)", Some(("State.Role", "primary")), 1),
    ];
    for (mode, filter, n) in cases {
        let t = setup();
        let mut i = input(mode);
        let mut target = nodes(mode);
        if let Some((path, value)) = filter {
            target.filters = Some(vec![crate::Filter { path: (*path).into(), values: vec![(*value).into()] }]);
        }
        i.targets = Some(BTreeMap::from([("n".into(), target)]));
        let tpl = t.fis.create_template(ACCT, REGION, i).unwrap();
        let e = t.fis.start_experiment(ACCT, REGION, "s", &tpl.id, BTreeMap::new()).unwrap();
        step(&t, 1);
        step(&t, 1);
        let resolved = t.fis.resolved_targets(ACCT, REGION, &e.id).unwrap();
        assert_eq!(resolved.len(), *n, "{mode} {filter:?}");
        if let Some((_, "primary")) = filter {
            assert!(resolved[0].2.ends_with("c-a"));
        }
    }
    // Nothing matches: the experiment fails with the reason.
    let t = setup();
    let mut i = input("none");
    let mut target = nodes("ALL");
    target.resource_tags = Some(BTreeMap::from([("env".into(), "prod".into())]));
    i.targets = Some(BTreeMap::from([("n".into(), target)]));
    let tpl = t.fis.create_template(ACCT, REGION, i).unwrap();
    let e = t.fis.start_experiment(ACCT, REGION, "s", &tpl.id, BTreeMap::new()).unwrap();
    step(&t, 1);
    step(&t, 1);
    let e = t.fis.get_experiment(ACCT, REGION, &e.id).unwrap();
    assert_eq!(e.state.status, "failed");
    assert_eq!(e.state.reason, "Target resolution returned empty set for target n.");
    let error = e.state.error.clone().expect("a failed experiment carries its error");
    assert_eq!((error.code.as_str(), error.location.as_deref()), ("InvalidTarget", Some("n")));
    assert!(log(&t).is_empty(), "no action started");
}

#[test]
fn stop_conditions_stop_and_stop_experiment_ends_faults_at_once() {
    let alarm = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors";
    let t = setup();
    let mut i = input("a");
    i.stop_conditions = Some(vec![StopCondition { source: "aws:cloudwatch:alarm".into(), value: Some(alarm.into()) }]);
    i.actions = Some(BTreeMap::from([(
        "stall".into(),
        action("daxd:dax:stall-node", &[("duration", "PT5M")], &[("Nodes", "n")], &[]),
    )]));
    let tpl = t.fis.create_template(ACCT, REGION, i).unwrap();
    t.fake.alarms.lock().unwrap().insert(alarm.into(), "OK".into());
    let e = t.fis.start_experiment(ACCT, REGION, "s1", &tpl.id, BTreeMap::new()).unwrap();
    step(&t, 1);
    step(&t, 1);
    assert_eq!(status(&t, &e.id).1["stall"], "running");
    t.fake.alarms.lock().unwrap().insert(alarm.into(), "ALARM".into());
    step(&t, 10);
    let x = t.fis.get_experiment(ACCT, REGION, &e.id).unwrap();
    assert_eq!((x.state.status.as_str(), x.actions["stall"].state.status.as_str()), ("stopping", "stopped"));
    assert_eq!(log(&t).last().unwrap(), "stop stall");
    step(&t, 1);
    assert_eq!(status(&t, &e.id).0, "stopped");
    // An alarm already in ALARM fails the experiment before any action.
    let e2 = t.fis.start_experiment(ACCT, REGION, "s2", &tpl.id, BTreeMap::new()).unwrap();
    step(&t, 1);
    step(&t, 1);
    assert_eq!(status(&t, &e2.id).0, "failed");
    // StopExperiment: the fault ends before it returns; pending actions are cancelled.
    t.fake.alarms.lock().unwrap().insert(alarm.into(), "OK".into());
    let tpl2 = t.fis.create_template(ACCT, REGION, input("b")).unwrap();
    let e3 = t.fis.start_experiment(ACCT, REGION, "s3", &tpl2.id, BTreeMap::new()).unwrap();
    step(&t, 1);
    step(&t, 1);
    let before = log(&t).len();
    let x = t.fis.stop_experiment(ACCT, REGION, &e3.id).unwrap();
    assert_eq!(x.state.status, "stopping");
    assert_eq!(x.actions["wait"].state.status, "stopped");
    assert_eq!(x.actions["stall"].state.status, "cancelled");
    assert_eq!(log(&t)[before..], ["stop wait".to_owned()]);
    step(&t, 1);
    let x = t.fis.get_experiment(ACCT, REGION, &e3.id).unwrap();
    assert_eq!((x.state.status.as_str(), x.state.reason.as_str()), ("stopped", "Experiment stopped."));
    assert_eq!(t.fis.stop_experiment(ACCT, REGION, &e3.id).unwrap().state.status, "stopped");
    assert_eq!(t.fis.stop_experiment(ACCT, REGION, "EXPnope").unwrap_err().code, "ResourceNotFoundException");
}

#[test]
fn a_denied_action_fails_the_experiment_with_its_reason() {
    let t = setup();
    let tpl = t.fis.create_template(ACCT, REGION, input("x")).unwrap();
    let reason = "User: arn:aws:sts::123456789012:assumed-role/fis/EXP is not authorized to perform: fis:wait";
    *t.fake.deny.lock().unwrap() = Some(reason.into());
    let e = t.fis.start_experiment(ACCT, REGION, "s", &tpl.id, BTreeMap::new()).unwrap();
    step(&t, 1);
    step(&t, 1);
    let e = t.fis.get_experiment(ACCT, REGION, &e.id).unwrap();
    assert_eq!(e.state.status, "failed");
    assert_eq!(e.state.reason, format!("Action wait failed: {reason}"));
    assert_eq!(e.actions["wait"].state.status, "failed");
    assert_eq!(e.actions["wait"].state.reason, reason);
    assert_eq!(e.actions["stall"].state.status, "cancelled");
    // The first failure's code, where in the template, and the account.
    let error = e.state.error.expect("a failed experiment carries its error");
    assert_eq!(
        (error.code.as_str(), error.location.as_deref(), error.account_id.as_str()),
        ("AuthorizationFailure", Some("wait"), ACCT)
    );
    assert!(e.actions["wait"].state.error.is_none());
}

#[test]
fn instantaneous_actions_complete_and_quotas_hold() {
    let t = setup();
    t.fake.resources.lock().unwrap().push((
        "daxd:dax:cluster".into(),
        Resource { arn: "arn:aws:dax:us-east-1:123456789012:cache/c".into(), ..Resource::default() },
    ));
    let mut i = input("f");
    i.targets = Some(BTreeMap::from([(
        "c".into(),
        Target {
            resource_type: "daxd:dax:cluster".into(),
            resource_arns: Some(vec!["arn:aws:dax:us-east-1:123456789012:cache/c".into()]),
            selection_mode: "ALL".into(),
            ..Target::default()
        },
    )]));
    i.actions =
        Some(BTreeMap::from([("fo".into(), action("daxd:dax:failover-primary", &[], &[("Clusters", "c")], &[]))]));
    let tpl = t.fis.create_template(ACCT, REGION, i).unwrap();
    let e = t.fis.start_experiment(ACCT, REGION, "s", &tpl.id, BTreeMap::new()).unwrap();
    step(&t, 1);
    step(&t, 1);
    assert_eq!(status(&t, &e.id).0, "completed");
    assert_eq!(log(&t), ["start fo arn:aws:dax:us-east-1:123456789012:cache/c"]);
    // Five active experiments at most.
    let long = t.fis.create_template(ACCT, REGION, input("l")).unwrap();
    for n in 0..5 {
        t.fis.start_experiment(ACCT, REGION, &format!("q{n}"), &long.id, BTreeMap::new()).unwrap();
    }
    let e: FisError = t.fis.start_experiment(ACCT, REGION, "q5", &long.id, BTreeMap::new()).unwrap_err();
    assert_eq!((e.code, e.status), ("ServiceQuotaExceededException", 402));
    assert_eq!(
        t.fis.start_experiment(ACCT, REGION, "q6", "EXTnope", BTreeMap::new()).unwrap_err().code,
        "ResourceNotFoundException"
    );
    assert_eq!(t.fis.list_experiments(ACCT, REGION, Some(&long.id), None, None).unwrap().items.len(), 5);
}

#[test]
fn a_restart_ends_what_was_running() {
    let t = setup();
    let tpl = t.fis.create_template(ACCT, REGION, input("x")).unwrap();
    let e = t.fis.start_experiment(ACCT, REGION, "s", &tpl.id, BTreeMap::new()).unwrap();
    step(&t, 1);
    step(&t, 1);
    step(&t, 120);
    assert_eq!(status(&t, &e.id).1["stall"], "running");
    let done = t.fis.create_template(ACCT, REGION, input("y")).unwrap();
    // A new service over the same store, as after a restart.
    let fake = Arc::new(Fake::default());
    let fis = Fis::new(t.store.clone(), env(&t.clock), fake.clone(), fake.clone(), fake.clone());
    assert_eq!(fis.get_template(ACCT, REGION, &done.id).unwrap(), done, "state reloads from the store");
    assert_eq!(fis.recover().unwrap(), 1);
    assert_eq!(fake.log.lock().unwrap().as_slice(), ["stop stall"], "the fault is ended");
    let x = fis.get_experiment(ACCT, REGION, &e.id).unwrap();
    assert_eq!(x.state.status, "failed");
    assert_eq!(x.state.reason, "Experiment was interrupted by a restart of daxd.");
    assert_eq!(x.state.error.as_ref().map(|e| e.code.as_str()), Some("InternalFailure"));
    assert_eq!(x.actions["stall"].state.status, "stopped");
    assert_eq!(x.actions["wait"].state.status, "completed");
    assert_eq!(fis.recover().unwrap(), 0);
    fis.tick().unwrap();
    assert_eq!(fis.get_experiment(ACCT, REGION, &e.id).unwrap(), x, "nothing left to advance");
}

#[test]
fn tags_on_templates_and_experiments() {
    let t = setup();
    let mut i = input("t");
    i.tags = Some(BTreeMap::from([("team".into(), "a".into())]));
    let tpl = t.fis.create_template(ACCT, REGION, i).unwrap();
    let add = BTreeMap::from([("env".to_owned(), "test".to_owned())]);
    t.fis.retag(ACCT, REGION, &tpl.arn, &add, &["team".to_owned()]).unwrap();
    assert_eq!(t.fis.list_tags(ACCT, REGION, &tpl.arn).unwrap(), add);
    assert_eq!(t.fis.get_template(ACCT, REGION, &tpl.id).unwrap().tags, add);
    let e = t.fis.start_experiment(ACCT, REGION, "s", &tpl.id, add.clone()).unwrap();
    assert_eq!(t.fis.list_tags(ACCT, REGION, &e.arn).unwrap(), add);
    let many: BTreeMap<String, String> = (0..51).map(|n| (format!("k{n}"), String::new())).collect();
    assert_eq!(t.fis.retag(ACCT, REGION, &e.arn, &many, &[]).unwrap_err().code, "ValidationException");
    assert_eq!(t.fis.list_tags(ACCT, REGION, &e.arn).unwrap(), add, "a refused change changes nothing");
    let other = format!("arn:aws:fis:{REGION}:999999999999:experiment/{}", e.id);
    assert_eq!(t.fis.list_tags(ACCT, REGION, &other).unwrap_err().code, "ResourceNotFoundException");
}

#[test]
fn a_time_scale_shortens_durations_but_not_the_clock() {
    for bad in [0.0, 0.0009, 1.01, -1.0, f64::NAN, f64::INFINITY] {
        let t = setup();
        let e = t.fis.with_time_scale(bad).err().expect("refused");
        assert_eq!(e.code, "ValidationException", "{bad}");
    }
    let mut t = setup();
    // At 0.05 the PT2M wait lasts 6 s of the clock, the PT1M stall 3 s.
    t.fis = t.fis.with_time_scale(0.05).unwrap();
    let tpl = t.fis.create_template(ACCT, REGION, input("x")).unwrap();
    let e = t.fis.start_experiment(ACCT, REGION, "s", &tpl.id, BTreeMap::new()).unwrap();
    assert_eq!(e.creation_time, 1_700_000_000.0);
    let lifecycle: &[(i64, &str, &str, &str)] = &[
        (1, "initiating", "pending", "pending"),
        (1, "running", "running", "pending"),
        (5, "running", "running", "pending"),
        (1, "running", "completed", "running"),
        (2, "running", "completed", "running"),
        (1, "completed", "completed", "completed"),
    ];
    for (i, (secs, exp, wait, stall)) in lifecycle.iter().enumerate() {
        step(&t, *secs);
        let (s, actions) = status(&t, &e.id);
        assert_eq!(
            (s.as_str(), actions["wait"].as_str(), actions["stall"].as_str()),
            (*exp, *wait, *stall),
            "step {i}"
        );
    }
    // The timestamps are the clock's: the experiment ran 9 s, its wait 6 s.
    let done = t.fis.get_experiment(ACCT, REGION, &e.id).unwrap();
    assert_eq!(done.start_time, Some(1_700_000_002.0));
    assert_eq!(done.end_time, Some(1_700_000_011.0));
    let wait = &done.actions["wait"];
    assert_eq!(wait.end_time.unwrap() - wait.start_time.unwrap(), 6.0);
    assert_eq!(done.actions["stall"].start_time, wait.end_time);
    assert_eq!(log(&t).len(), 4);
}

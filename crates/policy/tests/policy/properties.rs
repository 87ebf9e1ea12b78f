//! Property tests: totality (no panics), deny monotonicity, policy variables
//! without a value, and the wildcard matcher against a naive reference
//! implementation.

use proptest::prelude::*;

use policy::{
    evaluate, matcher, parse, parse_resource_policy, parse_trust_policy, Context, ContextValue, Decision, Policy,
    PolicySet, Principal, Request,
};

// ---------------------------------------------------------------------------
// Generators

fn action() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just("*".to_string()),
        8 => "(s3|dax|iam|sts|dynamodb|ec2):[A-Za-z*?]{0,8}",
        3 => "[a-z]{1,4}:[A-Za-z]{1,6}",
        1 => ".{0,6}",
    ]
}

fn resource_pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just("*".to_string()),
        6 => "arn:aws:(dax|dynamodb|ec2):[a-z0-9*?-]{0,4}:[0-9*]{0,4}:[a-z/*?$]{0,8}",
        3 => "arn:aws:s3:::[a-z/*?]{0,8}",
        3 => "arn:aws:s3:::b/\\$\\{(aws:username|aws:userid|\\*|\\?|\\$|x, 'd')\\}[a-z*]{0,3}",
        1 => "arn:[a-z:*${}]{0,12}",
        1 => ".{0,10}",
    ]
}

fn request_resource() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just("*".to_string()),
        6 => "arn:aws:(s3|dax|iam|dynamodb):(us-east-1)?:(123456789012|111122223333)?:[a-z/]{0,8}",
        1 => ".{0,10}",
    ]
}

const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];

fn operator() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just(""), Just("ForAnyValue:"), Just("ForAllValues:")],
        prop::sample::select(OPERATORS),
        prop_oneof![Just(""), Just("IfExists")],
    )
        .prop_map(|(q, b, s)| format!("{q}{b}{s}"))
}

const KEYS: &[&str] = &["aws:username", "aws:SourceIp", "aws:CurrentTime", "aws:TagKeys", "k:x", "aws:PrincipalArn"];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("true".to_string()),
        Just("10".to_string()),
        Just("2020-01-01T00:00:00Z".to_string()),
        Just("1577836800".to_string()),
        Just("203.0.113.0/24".to_string()),
        Just("QUJD".to_string()),
        Just("arn:aws:iam::123456789012:user/*".to_string()),
        Just("${aws:username}".to_string()),
        "[a-z*?${}/: .-]{0,8}",
        ".{0,6}",
    ]
}

/// Values that suit an operator most of the time (so that generated documents
/// usually pass validation), and arbitrary ones sometimes.
fn value_for(op: &str) -> BoxedStrategy<String> {
    let typed: BoxedStrategy<String> = if op.contains("Date") {
        prop_oneof![
            Just("2020-01-01T00:00:00Z".to_string()),
            Just("1577836800".to_string()),
            "20[0-9]{2}-0[1-9]-1[0-9](T1[0-9]:[0-5][0-9]:[0-5][0-9]Z)?",
        ]
        .boxed()
    } else if op.contains("Numeric") {
        "-?[0-9]{1,4}(\\.[0-9]{1,2})?".boxed()
    } else if op.contains("Bool") || op.contains("Null") {
        prop_oneof![Just("true".to_string()), Just("false".to_string()), Just("TRUE".to_string())].boxed()
    } else if op.contains("Ip") {
        prop_oneof![Just("203.0.113.0/24".to_string()), Just("2001:DB8::/32".to_string()), Just("10.0.0.1".to_string())]
            .boxed()
    } else {
        value().boxed()
    };
    prop_oneof![9 => typed, 1 => value()].boxed()
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn condition_item() -> impl Strategy<Value = String> {
    (operator(), prop::sample::select(KEYS)).prop_flat_map(|(op, key)| {
        prop::collection::vec(value_for(&op), 0..3).prop_map(move |vals| {
            let vs: Vec<String> = vals.iter().map(|v| json_str(v)).collect();
            format!("{}:{{{}:[{}]}}", json_str(&op), json_str(key), vs.join(","))
        })
    })
}

fn condition() -> impl Strategy<Value = String> {
    prop::collection::vec(condition_item(), 0..3).prop_map(|items| format!("{{{}}}", items.join(",")))
}

fn principal_json() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(r#""*""#.to_string()),
        Just(r#"{"AWS":"123456789012"}"#.to_string()),
        Just(r#"{"AWS":"arn:aws:iam::123456789012:user/bob"}"#.to_string()),
        Just(r#"{"AWS":["arn:aws:iam::123456789012:role/R","111122223333"]}"#.to_string()),
        Just(r#"{"Service":"dax.amazonaws.com"}"#.to_string()),
    ]
}

fn statement(with_principal: bool) -> impl Strategy<Value = String> {
    let principal =
        if with_principal { (any::<bool>(), principal_json()).prop_map(Some).boxed() } else { Just(None).boxed() };
    (
        prop_oneof![Just("Allow"), Just("Deny")],
        any::<bool>(),
        prop::collection::vec(action(), 1..3),
        any::<bool>(),
        prop::collection::vec(resource_pattern(), 1..3),
        condition(),
        principal,
    )
        .prop_map(|(effect, not_action, actions, not_resource, resources, cond, principal)| {
            let acts: Vec<String> = actions.iter().map(|a| json_str(a)).collect();
            let res: Vec<String> = resources.iter().map(|r| json_str(r)).collect();
            let p = match principal {
                Some((neg, p)) => format!(",\"{}\":{p}", if neg { "NotPrincipal" } else { "Principal" }),
                None => String::new(),
            };
            format!(
                "{{\"Effect\":\"{effect}\",\"{}\":[{}],\"{}\":[{}],\"Condition\":{cond}{p}}}",
                if not_action { "NotAction" } else { "Action" },
                acts.join(","),
                if not_resource { "NotResource" } else { "Resource" },
                res.join(",")
            )
        })
}

fn document(with_principal: bool) -> impl Strategy<Value = String> {
    (prop_oneof![Just("2012-10-17"), Just("2008-10-17")], prop::collection::vec(statement(with_principal), 1..4))
        .prop_map(|(v, st)| format!("{{\"Version\":\"{v}\",\"Statement\":[{}]}}", st.join(",")))
}

fn principal() -> impl Strategy<Value = Principal> {
    prop_oneof![
        "[a-z]{1,5}".prop_map(|n| Principal::user(&format!("arn:aws:iam::123456789012:user/{n}"))),
        "[a-z]{1,5}".prop_map(|n| Principal::user(&format!("arn:aws:iam::111122223333:user/{n}"))),
        Just(Principal::from_arn("arn:aws:sts::123456789012:assumed-role/R/s")),
        Just(Principal::root("123456789012")),
        Just(Principal::service("dax.amazonaws.com")),
        Just(Principal::anonymous()),
        ".{0,12}".prop_map(|a| Principal::from_arn(&a)),
    ]
}

fn context() -> impl Strategy<Value = Context> {
    prop::collection::vec((prop::sample::select(KEYS), prop::collection::vec(value(), 0..3), any::<u8>()), 0..5)
        .prop_map(|entries| {
            let mut ctx = Context::new();
            for (k, vals, kind) in entries {
                match kind % 4 {
                    0 => {
                        ctx.set_multi(k, vals);
                    }
                    1 => {
                        ctx.set_bool(k, kind % 8 == 1);
                    }
                    2 => {
                        ctx.set_values(
                            k,
                            vec![ContextValue::Number(f64::from(kind)), ContextValue::Binary(vec![kind])],
                        );
                    }
                    _ => {
                        ctx.set_ip(k, std::net::IpAddr::from([203, 0, 113, kind]));
                    }
                }
            }
            ctx
        })
}

// ---------------------------------------------------------------------------
// Reference wildcard matcher: plain recursion on the definition.

fn reference_match(p: &[char], t: &[char]) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some(('*', rest)) => (0..=t.len()).any(|i| reference_match(rest, &t[i..])),
        Some(('?', rest)) => !t.is_empty() && reference_match(rest, &t[1..]),
        Some((c, rest)) => t.first() == Some(c) && reference_match(rest, &t[1..]),
    }
}

fn eval_all(identity: &[&Policy], resource: &[&Policy], req: &Request) -> Decision {
    evaluate(req, &PolicySet { identity, resource, boundary: None, session: None }).decision
}

proptest! {
    #[test]
    fn parsing_arbitrary_text_never_panics(s in ".{0,200}") {
        let _ = parse(&s);
        let _ = parse_resource_policy(&s);
        let _ = parse_trust_policy(&s);
    }

    #[test]
    fn parsing_generated_documents_never_panics(doc in document(false), rdoc in document(true)) {
        let _ = parse_resource_policy(&rdoc);
        let _ = parse_trust_policy(&rdoc);
        let _ = parse(&doc);
        let _ = policy::parse_managed(&doc);
    }

    #[test]
    fn evaluation_never_panics(
        docs in prop::collection::vec(document(false), 1..4),
        rdocs in prop::collection::vec(document(true), 0..2),
        p in principal(),
        a in action(),
        r in request_resource(),
        ctx in context(),
    ) {
        let parsed: Vec<Policy> = docs.iter().filter_map(|d| parse(d).ok()).collect();
        let refs: Vec<&Policy> = parsed.iter().collect();
        let rparsed: Vec<Policy> = rdocs.iter().filter_map(|d| parse_resource_policy(d).ok()).collect();
        let rrefs: Vec<&Policy> = rparsed.iter().collect();
        let req = Request::new(&p, &a, &r, &ctx);
        for split in 0..=refs.len() {
            let (id, rest) = refs.split_at(split);
            let set = PolicySet { identity: id, resource: &rrefs, boundary: Some(rest), session: Some(id) };
            let out = evaluate(&req, &set);
            let _ = out.denial_tail(&a);
            let _ = policy::denial_message(&p.arn, &a, &r, &out);
        }
        for rp in &rparsed {
            for st in &rp.statements {
                if let Some(el) = &st.principal {
                    let _ = policy::principal_matches(el, &p);
                }
            }
        }
    }

    #[test]
    fn adding_a_deny_never_turns_a_deny_into_an_allow(
        docs in prop::collection::vec(document(false), 1..3),
        rdocs in prop::collection::vec(document(true), 0..2),
        p in principal(),
        a in "(s3|dax|iam|dynamodb|sts):[A-Za-z]{1,6}",
        r in request_resource(),
        ctx in context(),
        deny_cond in condition(),
    ) {
        let parsed: Vec<Policy> = docs.iter().filter_map(|d| parse(d).ok()).collect();
        let refs: Vec<&Policy> = parsed.iter().collect();
        let rparsed: Vec<Policy> = rdocs.iter().filter_map(|d| parse_resource_policy(d).ok()).collect();
        let rrefs: Vec<&Policy> = rparsed.iter().collect();
        let req = Request::new(&p, &a, &r, &ctx);
        let before = eval_all(&refs, &rrefs, &req);

        let conditional = format!(
            "{{\"Version\":\"2012-10-17\",\"Statement\":{{\"Effect\":\"Deny\",\"Action\":{},\"Resource\":\"*\",\"Condition\":{deny_cond}}}}}",
            json_str(&a)
        );
        if let Ok(deny) = parse(&conditional) {
            let mut with = refs.clone();
            with.push(&deny);
            let after = eval_all(&with, &rrefs, &req);
            prop_assert!(before == Decision::Allow || after != Decision::Allow, "{before:?} -> {after:?}");
            if before == Decision::ExplicitDeny {
                prop_assert_eq!(after, Decision::ExplicitDeny);
            }
        }

        let unconditional = parse(&format!(
            "{{\"Version\":\"2012-10-17\",\"Statement\":{{\"Effect\":\"Deny\",\"Action\":{},\"Resource\":\"*\"}}}}",
            json_str(&a)
        ));
        prop_assert!(unconditional.is_ok());
        if let Ok(deny) = unconditional {
            let mut with = refs.clone();
            with.push(&deny);
            prop_assert_eq!(eval_all(&with, &rrefs, &req), Decision::ExplicitDeny);
        }
    }

    #[test]
    fn wildcard_matcher_agrees_with_reference(p in "[ab*?]{0,8}", t in "[ab]{0,10}") {
        let pc: Vec<char> = p.chars().collect();
        let tc: Vec<char> = t.chars().collect();
        prop_assert_eq!(matcher::wildcard_match(&p, &t), reference_match(&pc, &tc));
    }

    #[test]
    fn wildcard_matcher_agrees_with_reference_on_unicode(p in "[aé*?:]{0,6}", t in "[aé:]{0,8}") {
        let pc: Vec<char> = p.chars().collect();
        let tc: Vec<char> = t.chars().collect();
        prop_assert_eq!(matcher::wildcard_match(&p, &t), reference_match(&pc, &tc));
    }

    #[test]
    fn arn_matcher_is_fieldwise(
        fields in prop::collection::vec("[ab*?]{0,3}", 5),
        rest in "[ab:*]{0,4}",
        arn in prop::collection::vec("[ab]{0,3}", 6),
    ) {
        let pattern = format!("arn:{}:{}:{}:{}:{rest}", fields[1], fields[2], fields[3], fields[4]);
        let value = format!("arn:{}:{}:{}:{}:{}", arn[1], arn[2], arn[3], arn[4], arn[5]);
        let chars = |s: &str| s.chars().collect::<Vec<char>>();
        let expected = (1..5).all(|i| reference_match(&chars(&fields[i]), &chars(&arn[i])))
            && reference_match(&chars(&rest), &chars(&arn[5]));
        prop_assert_eq!(matcher::arn_matches(&pattern, &value), expected);
    }

    #[test]
    fn action_matching_ignores_case(a in "[a-z]{1,5}:[A-Za-z]{1,8}") {
        prop_assert!(matcher::action_matches(&a.to_uppercase(), &a));
        prop_assert!(matcher::action_matches(&a, &a.to_lowercase()));
    }

    /// "Policy variables with no value": a Resource / NotResource entry whose
    /// variable has no value matches no resource, and only that entry counts so:
    /// adding one to an element never changes a decision.
    #[test]
    fn a_resource_entry_without_value_changes_nothing(
        entries in prop::collection::vec(prop_oneof![
            Just("*".to_string()),
            "arn:aws:(dax|dynamodb|s3|iam):[a-z0-9*?-]{0,4}:[0-9*]{0,4}:[a-z/*?]{0,8}",
        ], 1..3),
        at in 0usize..3,
        effect in prop_oneof![Just("Allow"), Just("Deny")],
        element in prop_oneof![Just("Resource"), Just("NotResource")],
        r in request_resource(),
    ) {
        let doc = |list: &[String]| {
            let list: Vec<String> = list.iter().map(|e| json_str(e)).collect();
            format!(
                "{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}},{{\"Effect\":\"{effect}\",\"Action\":\"*\",\"{element}\":[{}]}}]}}",
                list.join(",")
            )
        };
        let mut with = entries.clone();
        with.insert(
            at.min(entries.len()),
            "arn:aws:dynamodb:us-east-1:123456789012:table/${k:none}".to_string(),
        );
        if let (Ok(plain), Ok(extra)) = (parse(&doc(&entries)), parse(&doc(&with))) {
            let bob = Principal::user("arn:aws:iam::123456789012:user/bob");
            let ctx = Context::new();
            let req = Request::new(&bob, "dynamodb:GetItem", &r, &ctx);
            prop_assert_eq!(eval_all(&[&plain], &[], &req), eval_all(&[&extra], &[], &req));
        }
    }

    /// A condition value whose variable has no value matches no request value;
    /// the condition's other values still count (also for negated operators and
    /// with set qualifiers).
    #[test]
    fn a_condition_value_without_value_changes_nothing(
        qualifier in prop_oneof![Just(""), Just("ForAnyValue:"), Just("ForAllValues:")],
        base in prop::sample::select(&[
            "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase",
            "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike",
            "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike",
        ][..]),
        if_exists in prop_oneof![Just(""), Just("IfExists")],
        key in prop::sample::select(KEYS),
        values in prop::collection::vec(value(), 1..3),
        at in 0usize..3,
        ctx in context(),
    ) {
        let doc = |vals: &[String]| {
            let vals: Vec<String> = vals.iter().map(|v| json_str(v)).collect();
            format!(
                "{{\"Version\":\"2012-10-17\",\"Statement\":{{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{{\"{qualifier}{base}{if_exists}\":{{\"{key}\":[{}]}}}}}}}}",
                vals.join(",")
            )
        };
        let mut with = values.clone();
        with.insert(at.min(values.len()), "${k:none}".to_string());
        if let (Ok(plain), Ok(extra)) = (parse(&doc(&values)), parse(&doc(&with))) {
            let bob = Principal::user("arn:aws:iam::123456789012:user/bob");
            let req = Request::new(&bob, "s3:GetObject", "*", &ctx);
            prop_assert_eq!(eval_all(&[&plain], &[], &req), eval_all(&[&extra], &[], &req));
        }
    }

    #[test]
    fn variables_substitute_literally(name in "[a-z*?]{1,6}", object in "[a-z*?]{0,6}") {
        let mut ctx = Context::new();
        ctx.set("aws:username", name.clone());
        let p = parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:username}"}}"#,
        );
        prop_assert!(p.is_ok());
        if let Ok(p) = p {
            let bob = Principal::user("arn:aws:iam::123456789012:user/x");
            let resource = format!("arn:aws:s3:::b/{object}");
            let req = Request::new(&bob, "s3:GetObject", &resource, &ctx);
            let allowed = eval_all(&[&p], &[], &req) == Decision::Allow;
            prop_assert_eq!(allowed, object == name);
        }
    }
}

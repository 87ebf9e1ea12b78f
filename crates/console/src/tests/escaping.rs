//! Every page type rendered from API answers whose every name, tag, table,
//! attribute value, message and document holds `<script>`, `"`, `'` and `&`:
//! the markup shows them as text, never as markup.

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::{cookie_id, csrf_of};
use crate::forms::encode;
use crate::host::{ApiError, BoxFuture, CacheCounters, Host, Principal, Service, SignIn};
use crate::{Config, Console};

/// The hostile text, and what it must look like in the page.
const EVIL: &str = "<script>alert(1)</script>\"'&";
const ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;'&amp;";

/// A host whose every answer is full of [`EVIL`].
struct Evil;

fn answer(op: &str, input: &Value) -> Result<Value, ApiError> {
    let e = EVIL;
    let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": e}]});
    let trust = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": e, "AWS": [e]}, "Action": "sts:AssumeRole"}]});
    let policy = json!({"PolicyArn": format!("arn:aws:iam::123456789012:policy/{e}"), "PolicyName": e});
    Ok(match op {
        "ListRoles" => json!({"Roles": [
            {"RoleName": e, "Path": e, "Arn": e, "CreateDate": 5, "AssumeRolePolicyDocument": trust.to_string()},
            {"RoleName": "AWSServiceRoleForDAX", "Path": "/aws-service-role/dax.amazonaws.com/", "Arn": e, "CreateDate": 5,
             "AssumeRolePolicyDocument": trust.to_string()}]}),
        "GetRole" => {
            let name = input["RoleName"].as_str().unwrap_or_default();
            let path =
                if name.starts_with("AWSServiceRole") { format!("/aws-service-role/{e}/") } else { e.to_owned() };
            json!({"Role": {"RoleName": name, "Path": path, "Arn": e, "RoleId": e, "CreateDate": 5, "Description": e,
                "AssumeRolePolicyDocument": trust.to_string(), "MaxSessionDuration": 7200,
                "RoleLastUsed": {"LastUsedDate": 6, "Region": e}, "Tags": [{"Key": e, "Value": e}]}})
        }
        "ListAttachedRolePolicies" | "ListAttachedUserPolicies" => json!({"AttachedPolicies": [policy]}),
        "GetPolicy" => json!({"Policy": {"PolicyName": e, "Arn": e, "Path": e, "Description": e, "DefaultVersionId": e,
            "AttachmentCount": 2, "CreateDate": 5, "UpdateDate": 6}}),
        "GetPolicyVersion" => json!({"PolicyVersion": {"Document": doc}}),
        "ListRolePolicies" | "ListUserPolicies" => json!({"PolicyNames": [e]}),
        "GetRolePolicy" | "GetUserPolicy" => json!({"PolicyName": e, "PolicyDocument": doc.to_string()}),
        "GenerateServiceLastAccessedDetails" => json!({"JobId": e}),
        "GetServiceLastAccessedDetails" => {
            json!({"JobStatus": "COMPLETED", "JobCompletionDate": 7, "ServicesLastAccessed": [
            {"ServiceName": e, "ServiceNamespace": e, "LastAuthenticated": 5, "LastAuthenticatedRegion": e,
             "LastAuthenticatedEntity": e, "TrackedActionsLastAccessed": [{"ActionName": e, "LastAccessedTime": 5}]},
            {"ServiceName": e, "ServiceNamespace": "dynamodb", "LastAuthenticatedEntity": e}]})
        }
        "GetServiceLastAccessedDetailsWithEntities" => {
            json!({"EntityDetailsList": [{"EntityInfo": {"Name": e, "Type": e}, "LastAuthenticated": 5}]})
        }
        "GetServiceLinkedRoleDeletionStatus" => match input["DeletionTaskId"].as_str() {
            Some("failed") => {
                json!({"Status": "FAILED", "Reason": {"Reason": e, "RoleUsageList": [{"Region": e, "Resources": [e]}]}})
            }
            Some("done") => json!({"Status": "SUCCEEDED"}),
            _ => json!({"Status": e}),
        },
        "DeleteRolePolicy" => return Err(ApiError::new(400, e, e)),
        "ListUsers" => json!({"Users": [{"UserName": e, "Path": e, "Arn": e, "CreateDate": 5}]}),
        "GetUser" => {
            json!({"User": {"UserName": input["UserName"], "Path": e, "Arn": e, "UserId": e, "CreateDate": 5}})
        }
        "GetLoginProfile" => json!({"LoginProfile": {"CreateDate": 5, "PasswordResetRequired": true}}),
        "ListAccessKeys" => json!({"AccessKeyMetadata": [{"AccessKeyId": e, "Status": "Active", "CreateDate": 5},
            {"AccessKeyId": e, "Status": e, "CreateDate": 5}]}),
        "CreateAccessKey" => json!({"AccessKey": {"AccessKeyId": e, "SecretAccessKey": e}}),
        "ListPolicies" => json!({"Policies": [{"PolicyName": e, "Arn": e, "AttachmentCount": 1, "Description": e}]}),
        "ListEntitiesForPolicy" => {
            json!({"PolicyUsers": [{"UserName": e}], "PolicyGroups": [{"GroupName": e}], "PolicyRoles": [{"RoleName": e}]})
        }
        "ListTables" => json!({"TableNames": [e], "LastEvaluatedTableName": e}),
        "DescribeTable" => {
            json!({"Table": {"TableName": input["TableName"], "TableStatus": e, "TableArn": e, "ItemCount": 3,
            "CreationDateTime": 5, "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": e, "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}, {"AttributeName": e, "AttributeType": "S"}],
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": e}, "LatestStreamArn": e}})
        }
        "Scan" | "Query" => {
            json!({"Items": [{"id": {"S": e}, e: {"S": e}, "n": {"N": "1"}, "m": {"M": {"k": {"S": e}}}}],
            "LastEvaluatedKey": {"id": {"S": e}}})
        }
        "GetItem" => json!({"Item": {"id": {"S": e}, "v": {"S": e}}}),
        "PutItem" | "CreateCluster" => {
            return Err(ApiError::new(400, "ValidationException", format!("Value '{e}' at 'clusterName' failed")))
        }
        "DescribeClusters" => json!({"Clusters": [{"ClusterName": e, "ClusterArn": e, "Status": e, "NodeType": e,
            "ActiveNodes": 1, "TotalNodes": 2, "ClusterDiscoveryEndpoint": {"URL": format!("dax://{e}")}, "SubnetGroup": e,
            "SecurityGroups": [{"SecurityGroupIdentifier": e, "Status": e}], "IamRoleArn": e,
            "ParameterGroup": {"ParameterGroupName": e, "ParameterApplyStatus": e}, "SSEDescription": {"Status": e},
            "ClusterEndpointEncryptionType": e, "PreferredMaintenanceWindow": e, "Description": e,
            "Nodes": [{"NodeId": e, "NodeStatus": e, "AvailabilityZone": e, "Endpoint": {"Address": e, "Port": 8111}, "NodeCreateTime": 5}]}],
            "NextToken": e}),
        "DescribeEvents" => {
            json!({"Events": [{"Date": 5, "SourceName": e, "SourceType": e, "Message": e}], "NextToken": e})
        }
        "DescribeSubnetGroups" => json!({"SubnetGroups": [{"SubnetGroupName": e, "Description": e, "VpcId": e,
            "Subnets": [{"SubnetIdentifier": e, "SubnetAvailabilityZone": e}]}]}),
        "DescribeParameterGroups" => json!({"ParameterGroups": [{"ParameterGroupName": e, "Description": e}]}),
        "DescribeParameters" => json!({"Parameters": [{"ParameterName": "record-ttl-millis", "ParameterValue": e,
            "AllowedValues": e, "IsModifiable": e, "ChangeType": e, "Description": e}]}),
        "DescribeSecurityGroups" => json!({"SecurityGroups": [{"GroupId": e, "GroupName": e, "VpcId": e}]}),
        "DescribeSubnets" => json!({"Subnets": [{"SubnetId": e, "AvailabilityZone": e, "CidrBlock": e, "VpcId": e}]}),
        _ => json!({}),
    })
}

impl Host for Evil {
    fn sign_in(&self, _how: SignIn) -> BoxFuture<'_, Result<Principal, ()>> {
        Box::pin(async move {
            Ok(Principal {
                handle: "root".into(),
                arn: EVIL.into(),
                name: EVIL.into(),
                account: EVIL.into(),
                expires_at: None,
            })
        })
    }

    fn call<'a>(
        &'a self,
        _who: &'a Principal,
        _region: &'a str,
        _ip: Option<IpAddr>,
        _secure: bool,
        _service: Service,
        op: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, ApiError>> {
        Box::pin(async move { answer(op, &input) })
    }

    fn cache_counters(&self) -> Vec<CacheCounters> {
        vec![CacheCounters {
            region: "us-east-1".into(),
            cluster: EVIL.into(),
            item_hits: 3,
            ..CacheCounters::default()
        }]
    }

    fn now(&self) -> f64 {
        1_000.0
    }
}

async fn send(router: &Router, method: Method, uri: &str, cookie: &str, form: Option<String>) -> (StatusCode, String) {
    let mut b = Request::builder().method(method).uri(uri).header(header::HOST, "127.0.0.1:8000");
    if !cookie.is_empty() {
        b = b.header(header::COOKIE, format!("daxd_console={cookie}"));
    }
    let req = match form {
        Some(f) => b
            .header(header::ORIGIN, "http://127.0.0.1:8000")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(f))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    };
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    (status, String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).into_owned())
}

/// The pages (GET) and forms (POST) of every page type, each with [`EVIL`]
/// in what the API answers and, where a page echoes it, in the request.
fn requests() -> Vec<(&'static str, String, Option<String>)> {
    let e = encode(EVIL);
    let get = |u: String| ("GET", u, None);
    let post = |u: String, f: String| ("POST", u, Some(f));
    vec![
        get("/console/".into()),
        get(format!("/console/{e}")),
        get(format!("/console/iam/roles?search={e}&path={e}")),
        get(format!("/console/iam/roles/{e}?confirm=delete")),
        get(format!("/console/iam/roles/{e}?tab=summary&edit=description")),
        get(format!("/console/iam/roles/{e}?tab=permissions")),
        get(format!("/console/iam/roles/{e}?tab=trust")),
        get(format!("/console/iam/roles/{e}?tab=trust&edit=trust")),
        get(format!("/console/iam/roles/{e}?tab=advisor")),
        get(format!("/console/iam/roles/{e}?tab=tags")),
        get("/console/iam/roles/AWSServiceRoleForDAX?tab=tags&confirm=delete".into()),
        get(format!("/console/iam/roles/{e}/deletion?task=failed")),
        get(format!("/console/iam/roles/{e}/deletion?task=done")),
        get(format!("/console/iam/roles/{e}/deletion?task={e}")),
        get(format!("/console/iam/users?search={e}&path={e}")),
        get(format!("/console/iam/users/{e}?confirm=delete")),
        get(format!("/console/iam/policies?search={e}")),
        get(format!("/console/iam/policy?arn={e}")),
        get(format!("/console/dynamodb/tables?delete={e}")),
        get(format!("/console/dynamodb/tables/{e}?delete_key={e}")),
        get(format!("/console/dynamodb/tables/{e}?mode=query&pk={e}&sk_op=between&sk={e}&sk2={e}")),
        get(format!("/console/dynamodb/tables/{e}?start={e}")),
        get(format!("/console/dynamodb/tables/{e}/item")),
        get(format!("/console/dynamodb/tables/{e}/item?key=%7B%22id%22%3A%7B%22S%22%3A%22x%22%7D%7D")),
        get(format!("/console/dax/clusters?action=delete&selected={e}")),
        get(format!("/console/dax/clusters/{e}?action=delete")),
        get("/console/dax/clusters/create".into()),
        get(format!("/console/dax/subnet-groups?delete={e}")),
        get(format!("/console/dax/parameter-groups?delete={e}")),
        get(format!("/console/dax/parameter-groups/{e}")),
        get(format!("/console/dax/events?source={e}")),
        post(format!("/console/iam/users/{e}/keys"), "op=create".into()),
        post(format!("/console/iam/roles/{e}/delete"), String::new()),
        post(format!("/console/dynamodb/tables/{e}/item"), format!("op=put&item={e}")),
        post(format!("/console/dynamodb/tables/{e}/item"), "op=put&item=%7B%7D".into()),
        post("/console/dax/clusters/create".into(), format!("name={e}&description={e}&node_type={e}")),
    ]
}

/// Signs in (as a principal whose name is [`EVIL`]) and renders every request.
async fn render_all() -> Vec<(String, StatusCode, String)> {
    let console = Console::new(Arc::new(Evil), Config::default());
    let router: Router = console.router();
    let signin_uri = format!("/console/signin?next=%2Fconsole%2F{}", encode(EVIL));
    let (status, signin) = send(&router, Method::GET, &signin_uri, "", None).await;
    let mut out = vec![(signin_uri, status, signin)];
    let anon = {
        let req = Request::get("/console/signin").header(header::HOST, "127.0.0.1:8000").body(Body::empty()).unwrap();
        let resp = router.clone().oneshot(req).await.unwrap();
        let ck = resp.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
        let body = String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).into_owned();
        (cookie_id(&ck), csrf_of(&body))
    };
    let sign_in = format!("_csrf={}&mode=root&access_key_id=k&secret_access_key=s&next=%2Fconsole%2F", anon.1);
    let req = Request::post("/console/signin")
        .header(header::HOST, "127.0.0.1:8000")
        .header(header::ORIGIN, "http://127.0.0.1:8000")
        .header(header::COOKIE, format!("daxd_console={}", anon.0))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(sign_in))
        .unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    let id = cookie_id(resp.headers()[header::SET_COOKIE].to_str().unwrap());
    let (_, home) = send(&router, Method::GET, "/console/", &id, None).await;
    let csrf = csrf_of(&home);
    for (method, uri, form) in requests() {
        let method = if method == "POST" { Method::POST } else { Method::GET };
        let form = form.map(|f| if f.is_empty() { format!("_csrf={csrf}") } else { format!("_csrf={csrf}&{f}") });
        let (status, body) = send(&router, method, &uri, &id, form).await;
        out.push((uri, status, body));
    }
    // A one-time message about a failed POST, shown on the next page.
    let form = Some(format!("_csrf={csrf}&op=put&name={}&document=x", encode(EVIL)));
    send(&router, Method::POST, &format!("/console/iam/roles/{}/policies", encode(EVIL)), &id, form).await;
    let (status, body) = send(&router, Method::GET, "/console/iam/roles", &id, None).await;
    out.push(("/console/iam/roles (with a message)".to_owned(), status, body));
    out
}

#[tokio::test]
async fn hostile_text_is_escaped_on_every_page() {
    for (uri, status, body) in render_all().await {
        // Not found and the forms' validation errors are pages too; a redirect would have shown nothing.
        assert!(status.is_success() || status.is_client_error(), "{uri}: {status}");
        assert!(!body.contains("<script>alert"), "{uri}: raw markup in\n{body}");
        assert!(!body.contains("</script>\""), "{uri}: raw quote in\n{body}");
        assert!(body.contains(ESCAPED), "{uri}: the hostile text is missing from\n{body}");
    }
}

#[tokio::test]
async fn each_kind_of_value_is_escaped_where_it_shows() {
    let pages = render_all().await;
    let page = |prefix: &str| {
        pages.iter().find(|(u, _, _)| u.starts_with(prefix)).map(|(_, _, b)| b.as_str()).unwrap_or_default()
    };
    let e = encode(EVIL);
    // Names in text and in attribute values.
    let role = page(&format!("/console/iam/roles/{e}?tab=tags"));
    assert!(role.contains(&format!("<h1>Role {ESCAPED}</h1>")), "{role}");
    assert!(role.contains(&format!("<td>{ESCAPED}</td><td>{ESCAPED}</td>")), "a tag key and value: {role}");
    assert!(role.contains(&format!("name=\"key\" value=\"{ESCAPED}\"")), "a hidden field: {role}");
    assert!(role.contains(&format!("Signed in as <strong>{ESCAPED}</strong>")), "{role}");
    let user = page(&format!("/console/iam/users/{e}"));
    assert!(user.contains(&format!("<h1>User {ESCAPED}</h1>")), "{user}");
    let policy = page(&format!("/console/iam/policy?arn={e}"));
    assert!(policy.contains(&format!("aria-label=\"Policy ARN\">{ESCAPED}</textarea>")), "a copyable ARN: {policy}");
    assert!(policy.contains(&format!("<li>Group {ESCAPED}</li>")), "{policy}");
    // A table name, an attribute name and an attribute value.
    let table = page(&format!("/console/dynamodb/tables/{e}?start"));
    assert!(table.contains(&format!("<h1>Table {ESCAPED}</h1>")), "{table}");
    assert!(table.contains(&format!("<th scope=\"col\">{ESCAPED}</th>")), "{table}");
    assert!(table.contains(&format!("<td>{ESCAPED}</td>")), "{table}");
    // A document is JSON text, shown as text.
    let trust = page(&format!("/console/iam/roles/{e}?tab=trust&edit"));
    assert!(trust.contains("&lt;script&gt;alert(1)&lt;/script&gt;\\&quot;'&amp;"), "{trust}");
    // An item that is not JSON goes back into the textarea as text.
    let item = pages.iter().find(|(u, _, b)| u.ends_with("/item") && b.contains("Not valid JSON")).unwrap();
    assert!(
        item.2.contains(&format!(
            "spellcheck=\"false\" aria-invalid=\"true\" aria-describedby=\"item-error\">{ESCAPED}</textarea>"
        )),
        "{}",
        item.2
    );
    // Links: URL-encoded, then escaped for the attribute.
    let tables = page("/console/dynamodb/tables?delete");
    assert!(tables.contains(&format!("&amp;delete={e}\"")), "{tables}");
    assert!(tables.contains(&format!("aria-label=\"Delete table {ESCAPED}\"")), "{tables}");
    // Field errors of the cluster form.
    let create = pages.iter().rev().find(|(u, _, _)| u == "/console/dax/clusters/create").unwrap();
    assert!(
        create.2.contains(&format!("The API's answer: <code>ValidationException</code>: Value '{ESCAPED}'")),
        "{}",
        create.2
    );
}

/// Raw HTML stays the exception a reviewer would see: no page or component
/// wraps a string as markup (`PreEscaped`), so every value goes through maud's escaping.
#[test]
fn no_page_makes_markup_from_a_string() {
    let sources = [
        ("html.rs", include_str!("../html.rs")),
        ("metrics.rs", include_str!("../metrics.rs")),
        ("pages/mod.rs", include_str!("../pages/mod.rs")),
        ("pages/signin.rs", include_str!("../pages/signin.rs")),
        ("pages/dynamodb.rs", include_str!("../pages/dynamodb.rs")),
        ("pages/dax.rs", include_str!("../pages/dax.rs")),
        ("pages/iam/mod.rs", include_str!("../pages/iam/mod.rs")),
        ("pages/iam/roles.rs", include_str!("../pages/iam/roles.rs")),
        ("pages/iam/users.rs", include_str!("../pages/iam/users.rs")),
        ("pages/iam/policies.rs", include_str!("../pages/iam/policies.rs")),
    ];
    for (file, src) in sources {
        let code = src.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
        assert!(!code.contains("PreEscaped"), "{file} makes raw markup");
    }
}

//! The web console (`console` crate) wired to daxd: what its `Host` trait
//! asks of IAM, the API path and the DAX data plane.
//!
//! * `sign_in`: the root with the root access key pair (daxd has no root
//!   password), an IAM user with the password of its login profile, or an
//!   access key pair (an IAM user's long-term keys, or STS temporary
//!   credentials with their session token). Secrets are compared in
//!   constant time.
//! * `call`: the signed-in principal is resolved again (a deleted user, a
//!   deactivated key or an expired session stops working), then the call
//!   takes `exec::call_as`, the path of a signed API request: validation,
//!   authorization, access records, dispatch. The console has no back door.
//! * `cache_counters`: the DAX clusters' cache counters from the data plane.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use console::{ApiError, BoxFuture, CacheCounters, Principal, Service as ConsoleService, SignIn};
use iam::{Caller, KeyStatus};
use serde_json::Value;

use crate::app::App;
use crate::services::Service;

/// The console's routes under `/console`, with its cache-counter sampler running.
pub fn router(app: &Arc<App>) -> Router<Arc<App>> {
    let host = Arc::new(ConsoleHost { app: Arc::clone(app) });
    let mut config = console::Config {
        body_timeout: app.http_read_timeout,
        secure_cookie: app.console_secure_cookie,
        ..console::Config::default()
    };
    // How often the cache chart samples the counters (tests sample faster).
    if let Some(ms) =
        std::env::var("DAXD_CONSOLE_SAMPLE_MS").ok().and_then(|v| v.parse::<u64>().ok()).filter(|ms| *ms >= 100)
    {
        config.sample_every = std::time::Duration::from_millis(ms);
    }
    let console = console::Console::new(host, config);
    let _sampler = console.spawn_sampler();
    console.router()
}

struct ConsoleHost {
    app: Arc<App>,
}

fn eq(a: &str, b: &str) -> bool {
    sigv4::constant_time_eq(a.as_bytes(), b.as_bytes())
}

fn invalid_token() -> ApiError {
    ApiError::new(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
}

impl ConsoleHost {
    fn now(&self) -> f64 {
        self.app.env.clock.epoch()
    }

    fn root(&self) -> Principal {
        Principal {
            handle: "root".to_owned(),
            arn: format!("arn:aws:iam::{}:root", self.app.account),
            name: "root".to_owned(),
            account: self.app.account.clone(),
            expires_at: None,
        }
    }

    fn user(&self, handle: String, user: &iam::User, expires_at: Option<f64>) -> Principal {
        Principal {
            handle,
            arn: user.arn.clone(),
            name: user.name.clone(),
            account: self.app.account.clone(),
            expires_at,
        }
    }

    /// An access key pair (with its token for temporary credentials).
    fn key_pair(&self, key: &str, secret: &str, token: Option<&str>) -> Result<Principal, ()> {
        if let Some(session) = self.app.iam.session(key) {
            let token_ok = token.is_some_and(|t| eq(t, &session.token));
            if !token_ok || !eq(secret, &session.secret) || session.expiration <= self.now() {
                return Err(());
            }
            let who = self.app.iam.identity(&Caller::Session(session.clone()));
            let name = who.arn.rsplit('/').next().unwrap_or_default().to_owned();
            return Ok(Principal {
                handle: format!("session:{key}"),
                arn: who.arn,
                name,
                account: self.app.account.clone(),
                expires_at: Some(session.expiration),
            });
        }
        if token.is_some() {
            return Err(());
        }
        if eq(key, &self.app.root.access_key_id) {
            return if eq(secret, &self.app.root.secret_access_key) { Ok(self.root()) } else { Err(()) };
        }
        let owner = self.app.iam.key_owner(key).ok_or(())?;
        if owner.status != KeyStatus::Active || !eq(secret, &owner.secret) {
            return Err(());
        }
        Ok(self.user(format!("key:{key}"), &owner.user, None))
    }

    /// The caller behind a principal's handle, as of now.
    fn caller(&self, handle: &str) -> Result<Caller, ApiError> {
        let iam = &self.app.iam;
        if handle == "root" {
            return Ok(Caller::Root);
        }
        if let Some(name) = handle.strip_prefix("user:") {
            return iam.get_user(name).map(Caller::User).map_err(|_| invalid_token());
        }
        if let Some(key) = handle.strip_prefix("key:") {
            return match iam.key_owner(key) {
                Some(o) if o.status == KeyStatus::Active => Ok(Caller::User(o.user)),
                _ => Err(invalid_token()),
            };
        }
        if let Some(key) = handle.strip_prefix("session:") {
            return match iam.session(key) {
                Some(s) if s.expiration > self.now() => Ok(Caller::Session(s)),
                Some(_) => {
                    Err(ApiError::new(403, "ExpiredToken", "The security token included in the request is expired"))
                }
                None => Err(invalid_token()),
            };
        }
        Err(invalid_token())
    }
}

impl console::Host for ConsoleHost {
    fn sign_in(&self, how: SignIn) -> BoxFuture<'_, Result<Principal, ()>> {
        Box::pin(async move {
            match how {
                SignIn::Root { access_key_id, secret_access_key } => {
                    let ok = eq(&access_key_id, &self.app.root.access_key_id)
                        & eq(&secret_access_key, &self.app.root.secret_access_key);
                    if ok {
                        Ok(self.root())
                    } else {
                        Err(())
                    }
                }
                SignIn::Password { account, user_name, password } => {
                    if !account.is_empty() && account != self.app.account {
                        return Err(());
                    }
                    // Verification is deliberately slow: off the async workers.
                    let app = Arc::clone(&self.app);
                    let found = tokio::task::spawn_blocking(move || app.iam.verify_password(&user_name, &password))
                        .await
                        .ok()
                        .flatten();
                    let (user, profile) = found.ok_or(())?;
                    let expires = profile.max_signin_session_duration.map(|d| self.now() + f64::from(d));
                    Ok(self.user(format!("user:{}", user.name), &user, expires))
                }
                SignIn::AccessKey { access_key_id, secret_access_key, session_token } => {
                    self.key_pair(&access_key_id, &secret_access_key, session_token.as_deref())
                }
            }
        })
    }

    fn call<'a>(
        &'a self,
        who: &'a Principal,
        region: &'a str,
        source_ip: Option<IpAddr>,
        secure: bool,
        service: ConsoleService,
        op: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, ApiError>> {
        Box::pin(async move {
            let caller = self.caller(&who.handle)?;
            let service = match service {
                ConsoleService::Iam => Service::Iam,
                ConsoleService::Sts => Service::Sts,
                ConsoleService::Ec2 => Service::Ec2,
                ConsoleService::Dax => Service::Dax,
                ConsoleService::DynamoDb => Service::DynamoDb,
                ConsoleService::CloudWatch => Service::CloudWatch,
                ConsoleService::Fis => Service::Fis,
                ConsoleService::NodeHost => Service::NodeHost,
            };
            crate::exec::call_as(&self.app, &caller, region, source_ip, secure, service, op, input)
                .await
                .map_err(|e| ApiError { status: e.status, code: e.code.to_string(), message: e.message.to_string() })
        })
    }

    fn cache_counters(&self) -> Vec<CacheCounters> {
        let Some(nodes) = self.app.dax_nodes.get() else { return Vec::new() };
        let (_, clusters) = nodes.fleet.metrics();
        clusters
            .into_iter()
            .map(|snap| {
                let label =
                    |k: &str| snap.labels.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()).unwrap_or_default();
                let n = |name: &str| snap.counter(name).unwrap_or(0);
                CacheCounters {
                    region: label("region"),
                    cluster: label("cluster"),
                    item_hits: n("ItemCacheHits"),
                    item_misses: n("ItemCacheMisses"),
                    query_hits: n("QueryCacheHits"),
                    query_misses: n("QueryCacheMisses"),
                    scan_hits: n("ScanCacheHits"),
                    scan_misses: n("ScanCacheMisses"),
                    total_requests: n("TotalRequestCount"),
                }
            })
            .collect()
    }

    fn now(&self) -> f64 {
        self.now()
    }
}

//! Console sessions: opaque random ids in an `HttpOnly; SameSite=Strict`
//! cookie scoped to the console's path, kept server-side with an absolute
//! and an idle expiry, each with its own CSRF token.
//!
//! * Signing in always issues a *new* id and destroys the old session (no
//!   fixation).
//! * The sign-in form itself is protected: the first visit creates an
//!   anonymous session whose CSRF token the form must return (no login CSRF).
//! * Signing out destroys the session server-side.
//! * The store is bounded: expired sessions are purged, and anonymous
//!   sessions beyond a cap are evicted oldest first.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::host::Principal;

/// The session cookie's name.
pub const COOKIE: &str = "daxd_console";
/// Length of session ids and CSRF tokens, in hex characters (256 bits).
pub const TOKEN_LEN: usize = 64;

/// A message shown once on the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub ok: bool,
    pub text: String,
}

/// One session.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub csrf: String,
    /// `None` for the anonymous session of the sign-in page.
    pub principal: Option<Principal>,
    pub created: f64,
    /// Absolute expiry (unix seconds).
    pub expires: f64,
    pub last_seen: f64,
    /// The region the regional pages show.
    pub region: String,
    pub flash: Option<Flash>,
}

/// Lifetimes and limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest a signed-in session lasts.
    pub absolute_secs: f64,
    /// Longest a signed-in session lasts without a request.
    pub idle_secs: f64,
    /// Longest the anonymous session of the sign-in page lasts.
    pub anonymous_secs: f64,
    /// Most anonymous sessions kept at once.
    pub max_anonymous: usize,
    /// Most signed-in sessions kept at once.
    pub max_signed_in: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            absolute_secs: 12.0 * 3600.0,
            idle_secs: 2.0 * 3600.0,
            anonymous_secs: 1800.0,
            max_anonymous: 2000,
            max_signed_in: 10_000,
        }
    }
}

/// A fresh random token of [`TOKEN_LEN`] hex characters.
#[must_use]
pub fn random_token() -> String {
    let mut bytes = [0u8; TOKEN_LEN / 2];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `s` has the shape of a token (so arbitrary input never reaches the map).
#[must_use]
pub fn is_token(s: &str) -> bool {
    s.len() == TOKEN_LEN && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Constant-time comparison of a submitted CSRF token with the session's.
#[must_use]
pub fn csrf_ok(session: &Session, submitted: Option<&str>) -> bool {
    let Some(submitted) = submitted else { return false };
    is_token(submitted) && bool::from(session.csrf.as_bytes().ct_eq(submitted.as_bytes()))
}

/// The value of cookie `name` in a `Cookie` header, if present exactly once
/// with the shape of a token.
#[must_use]
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    let mut found = None;
    for part in header.split(';') {
        let Some((k, v)) = part.split_once('=') else { continue };
        if k.trim() == name {
            if found.is_some() {
                // Two cookies of our name (a planted one?): trust neither.
                return None;
            }
            found = Some(v.trim().trim_matches('"'));
        }
    }
    found.filter(|v| is_token(v))
}

/// `Set-Cookie` for a session id.
#[must_use]
pub fn set_cookie(id: &str, path: &str, secure: bool) -> String {
    format!("{COOKIE}={id}; Path={path}; HttpOnly; SameSite=Strict{}", if secure { "; Secure" } else { "" })
}

/// `Set-Cookie` that removes the session cookie.
#[must_use]
pub fn clear_cookie(path: &str, secure: bool) -> String {
    format!("{COOKIE}=; Path={path}; HttpOnly; SameSite=Strict; Max-Age=0{}", if secure { "; Secure" } else { "" })
}

/// The server-side store.
pub struct Store {
    limits: Limits,
    sessions: Mutex<HashMap<String, Session>>,
}

impl Store {
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        Store { limits, sessions: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn alive(&self, s: &Session, now: f64) -> bool {
        now < s.expires && (s.principal.is_none() || now - s.last_seen < self.limits.idle_secs)
    }

    /// Drop expired sessions, then make room for one more session of the
    /// kind being added by evicting the least recently used ones of that kind.
    fn purge(&self, map: &mut HashMap<String, Session>, now: f64, adding_signed_in: bool) {
        map.retain(|_, s| self.alive(s, now));
        let cap = if adding_signed_in { self.limits.max_signed_in } else { self.limits.max_anonymous };
        {
            let signed_in = adding_signed_in;
            let mut of_kind: Vec<(f64, String)> = map
                .values()
                .filter(|s| s.principal.is_some() == signed_in)
                .map(|s| (s.last_seen, s.id.clone()))
                .collect();
            if of_kind.len() >= cap {
                of_kind.sort_by(|a, b| a.0.total_cmp(&b.0));
                let excess = of_kind.len() + 1 - cap;
                for (_, id) in of_kind.into_iter().take(excess) {
                    map.remove(&id);
                }
            }
        }
    }

    /// A new anonymous session (the sign-in page's).
    pub fn create_anonymous(&self, now: f64, region: &str) -> Session {
        let s = Session {
            id: random_token(),
            csrf: random_token(),
            principal: None,
            created: now,
            expires: now + self.limits.anonymous_secs,
            last_seen: now,
            region: region.to_owned(),
            flash: None,
        };
        let mut map = self.lock();
        self.purge(&mut map, now, false);
        map.insert(s.id.clone(), s.clone());
        s
    }

    /// Sign `principal` in: a new session with a new id and CSRF token; the
    /// session `previous` (if any) is destroyed.
    pub fn sign_in(&self, previous: Option<&str>, principal: Principal, now: f64, region: &str) -> Session {
        let mut expires = now + self.limits.absolute_secs;
        if let Some(limit) = principal.expires_at {
            expires = expires.min(limit);
        }
        let s = Session {
            id: random_token(),
            csrf: random_token(),
            principal: Some(principal),
            created: now,
            expires,
            last_seen: now,
            region: region.to_owned(),
            flash: None,
        };
        let mut map = self.lock();
        if let Some(old) = previous {
            map.remove(old);
        }
        self.purge(&mut map, now, true);
        map.insert(s.id.clone(), s.clone());
        s
    }

    /// The live session `id` (its idle clock restarts), if any.
    pub fn get(&self, id: &str, now: f64) -> Option<Session> {
        if !is_token(id) {
            return None;
        }
        let mut map = self.lock();
        let alive = map.get(id).is_some_and(|s| self.alive(s, now));
        if !alive {
            map.remove(id);
            return None;
        }
        let s = map.get_mut(id)?;
        s.last_seen = now;
        Some(s.clone())
    }

    /// Change a live session.
    pub fn update(&self, id: &str, f: impl FnOnce(&mut Session)) {
        if let Some(s) = self.lock().get_mut(id) {
            f(s);
        }
    }

    /// Take the session's one-time message.
    pub fn take_flash(&self, id: &str) -> Option<Flash> {
        self.lock().get_mut(id).and_then(|s| s.flash.take())
    }

    /// Destroy a session (sign-out).
    pub fn destroy(&self, id: &str) {
        self.lock().remove(id);
    }

    /// How many sessions are kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice(expires_at: Option<f64>) -> Principal {
        Principal {
            handle: "user:alice".into(),
            arn: "arn:aws:iam::123456789012:user/alice".into(),
            name: "alice".into(),
            account: "123456789012".into(),
            expires_at,
        }
    }

    #[test]
    fn tokens_are_random_hex_of_256_bits() {
        let a = random_token();
        let b = random_token();
        assert!(is_token(&a) && is_token(&b) && a != b);
        assert_eq!(a.len(), 64);
        for bad in ["", "zz", &"A".repeat(64), &"a".repeat(63), &"a".repeat(65), &format!("{}é", "a".repeat(62))] {
            assert!(!is_token(bad), "{bad}");
        }
    }

    #[test]
    fn cookie_attributes_and_parsing() {
        let id = random_token();
        let c = set_cookie(&id, "/console", false);
        assert_eq!(c, format!("daxd_console={id}; Path=/console; HttpOnly; SameSite=Strict"));
        assert!(set_cookie(&id, "/console", true).ends_with("; Secure"));
        let gone = clear_cookie("/console", false);
        assert!(gone.contains("Max-Age=0") && gone.contains("HttpOnly") && gone.contains("SameSite=Strict"));

        assert_eq!(cookie_value(&format!("a=b; daxd_console={id}; c=d"), COOKIE), Some(id.as_str()));
        assert_eq!(cookie_value(&format!("daxd_console=\"{id}\""), COOKIE), Some(id.as_str()));
        assert_eq!(cookie_value("daxd_console=nothex", COOKIE), None);
        assert_eq!(cookie_value(&format!("xdaxd_console={id}"), COOKIE), None);
        // Two values of our cookie: neither is trusted.
        assert_eq!(cookie_value(&format!("daxd_console={id}; daxd_console={}", random_token()), COOKIE), None);
        assert_eq!(cookie_value("", COOKIE), None);
        assert_eq!(cookie_value(";;;=;", COOKIE), None);
    }

    #[test]
    fn sign_in_issues_a_new_id_and_destroys_the_old_session() {
        let store = Store::new(Limits::default());
        let anon = store.create_anonymous(100.0, "us-east-1");
        assert!(anon.principal.is_none());
        let s = store.sign_in(Some(&anon.id), alice(None), 101.0, "us-east-1");
        assert_ne!(s.id, anon.id, "no fixation: a fresh id");
        assert_ne!(s.csrf, anon.csrf, "a fresh CSRF token");
        assert!(store.get(&anon.id, 102.0).is_none(), "the pre-sign-in session is gone");
        assert_eq!(store.get(&s.id, 102.0).and_then(|s| s.principal).map(|p| p.name), Some("alice".into()));
        store.destroy(&s.id);
        assert!(store.get(&s.id, 103.0).is_none(), "sign-out destroys it server-side");
    }

    #[test]
    fn csrf_tokens_are_checked_exactly() {
        let store = Store::new(Limits::default());
        let s = store.sign_in(None, alice(None), 0.0, "us-east-1");
        assert!(csrf_ok(&s, Some(&s.csrf)));
        assert!(!csrf_ok(&s, None));
        assert!(!csrf_ok(&s, Some("")));
        assert!(!csrf_ok(&s, Some(&random_token())));
        assert!(!csrf_ok(&s, Some(&s.csrf.to_uppercase())));
        assert!(!csrf_ok(&s, Some(&s.csrf[..63])));
        let other = store.sign_in(None, alice(None), 0.0, "us-east-1");
        assert!(!csrf_ok(&s, Some(&other.csrf)), "one session's token is no good for another");
    }

    #[test]
    fn sessions_expire_absolutely_idly_and_with_the_credentials() {
        let limits = Limits { absolute_secs: 1000.0, idle_secs: 100.0, anonymous_secs: 50.0, ..Limits::default() };
        let store = Store::new(limits);
        let s = store.sign_in(None, alice(None), 0.0, "us-east-1");
        for t in [90.0, 180.0, 270.0, 360.0, 450.0, 540.0, 630.0, 720.0, 810.0, 900.0, 990.0] {
            assert!(store.get(&s.id, t).is_some(), "alive at {t} while used");
        }
        assert!(store.get(&s.id, 1000.0).is_none(), "absolute expiry");

        let idle = store.sign_in(None, alice(None), 0.0, "us-east-1");
        assert!(store.get(&idle.id, 101.0).is_none(), "idle expiry");

        let temp = store.sign_in(None, alice(Some(30.0)), 0.0, "us-east-1");
        assert!(store.get(&temp.id, 29.0).is_some());
        assert!(store.get(&temp.id, 31.0).is_none(), "expires with its temporary credentials");

        let anon = store.create_anonymous(0.0, "us-east-1");
        assert!(store.get(&anon.id, 51.0).is_none());
    }

    #[test]
    fn anonymous_sessions_are_capped() {
        let store = Store::new(Limits { max_anonymous: 10, ..Limits::default() });
        let first = store.create_anonymous(0.0, "us-east-1");
        let signed = store.sign_in(None, alice(None), 0.0, "us-east-1");
        for i in 0..100 {
            store.create_anonymous(f64::from(i) + 1.0, "us-east-1");
        }
        assert!(store.len() <= 11, "{}", store.len());
        assert!(store.get(&first.id, 200.0).is_none(), "the oldest anonymous session was evicted");
        assert!(store.get(&signed.id, 200.0).is_some(), "signed-in sessions are not evicted by anonymous ones");
    }

    #[test]
    fn flash_is_shown_once() {
        let store = Store::new(Limits::default());
        let s = store.sign_in(None, alice(None), 0.0, "us-east-1");
        store.update(&s.id, |s| s.flash = Some(Flash { ok: true, text: "done".into() }));
        assert_eq!(store.take_flash(&s.id).map(|f| f.text), Some("done".into()));
        assert_eq!(store.take_flash(&s.id), None);
    }
}

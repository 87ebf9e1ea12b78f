//! Login profiles: the console passwords of IAM users (`CreateLoginProfile`,
//! `GetLoginProfile`, `UpdateLoginProfile`, `DeleteLoginProfile`) and their
//! verification at console sign-in.
//!
//! Passwords are never stored: each profile keeps an Argon2id hash (PHC
//! string: algorithm, version, memory 19 MiB, 2 passes, and a random 128-bit
//! salt) — OWASP's recommended parameters. Verification recomputes the hash
//! and compares in constant time, and costs the same whether or not the user
//! or its profile exists.
//!
//! New passwords must satisfy AWS's default password policy (the account has
//! no custom policy in daxd): 8 to 128 characters from the printable Latin-1
//! range, with at least three of uppercase letters, lowercase letters,
//! numbers and symbols, and not the account id. A password breaking it is a
//! `PasswordPolicyViolation`.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use state::Op;

use crate::{Iam, IamError, User, NS_LOGIN};

/// The shortest password AWS's default policy accepts.
pub const MIN_PASSWORD_LENGTH: usize = 8;
/// The longest password IAM accepts.
pub const MAX_PASSWORD_LENGTH: usize = 128;

/// A user's login profile as the API shows it (never the password hash).
#[derive(Debug, Clone, PartialEq)]
pub struct LoginProfile {
    pub user_name: String,
    pub create_date: f64,
    pub password_reset_required: bool,
    /// Seconds a console session of this user may last, when limited.
    pub max_signin_session_duration: Option<u32>,
}

/// A salted, slow hash of a password: an Argon2id PHC string.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PasswordHash {
    phc: String,
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

/// What the store keeps per user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoredProfile {
    user_name: String,
    create_date: f64,
    #[serde(default)]
    password_reset_required: bool,
    #[serde(default)]
    max_signin_session_duration: Option<u32>,
    password: PasswordHash,
}

impl StoredProfile {
    fn public(&self) -> LoginProfile {
        LoginProfile {
            user_name: self.user_name.clone(),
            create_date: self.create_date,
            password_reset_required: self.password_reset_required,
            max_signin_session_duration: self.max_signin_session_duration,
        }
    }
}

/// What `UpdateLoginProfile` changes.
#[derive(Debug, Clone, Default)]
pub struct LoginProfileUpdate {
    pub password: Option<String>,
    pub password_reset_required: Option<bool>,
    pub max_signin_session_duration: Option<u32>,
    pub reset_max_signin_session_duration: bool,
}

impl PasswordHash {
    /// Hash `password` with a salt of 32 base64 characters from `salt`.
    fn new(password: &str, salt: &str) -> Result<Self, IamError> {
        let fail = |e: argon2::password_hash::Error| IamError::ServiceFailure(format!("cannot hash the password: {e}"));
        let salt = SaltString::from_b64(salt).map_err(fail)?;
        let phc = Argon2::default().hash_password(password.as_bytes(), &salt).map_err(fail)?.to_string();
        Ok(PasswordHash { phc })
    }

    /// Whether `password` is the hashed one (the hash outputs are compared in constant time).
    fn verify(&self, password: &str) -> bool {
        argon2::password_hash::PasswordHash::new(&self.phc)
            .is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    }
}

/// Check `password` against AWS's default password policy.
///
/// # Errors
/// `PasswordPolicyViolation` with the rule it breaks.
pub fn check_password_policy(password: &str, account: &str) -> Result<(), IamError> {
    let violation = |m: &str| Err(IamError::PasswordPolicyViolation(m.to_owned()));
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_LENGTH {
        return violation("Password should have a minimum length of 8");
    }
    if chars > MAX_PASSWORD_LENGTH {
        return violation("Password should have a maximum length of 128");
    }
    if !password.chars().all(|c| c == '\t' || c == '\n' || c == '\r' || ('\u{20}'..='\u{ff}').contains(&c)) {
        return violation("Password should contain only printable characters of the Latin-1 range");
    }
    let kinds = [
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if kinds.iter().filter(|k| **k).count() < 3 {
        return violation(
            "Password should have at least three of the following character types: uppercase letters, lowercase letters, numbers and symbols",
        );
    }
    if password == account {
        return violation("Password should not be the same as the account name");
    }
    Ok(())
}

/// A hash no password matches (its output is not Argon2's of any input we know),
/// verified against for unknown users so that they cost the same time.
const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$MDAwMDAwMDAwMDAwMDAwMA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

fn no_profile(user: &str) -> IamError {
    IamError::NoSuchEntity(format!("Login Profile for User {user} cannot be found."))
}

impl Iam {
    fn hash_password(&self, password: &str) -> Result<PasswordHash, IamError> {
        PasswordHash::new(password, &self.env.ids.chars(base::HEX, 32))
    }

    /// `CreateLoginProfile`: give `user` a console password.
    ///
    /// # Errors
    /// `NoSuchEntity` (user), `EntityAlreadyExists`, `PasswordPolicyViolation`.
    pub fn create_login_profile(
        &self,
        user: &str,
        password: &str,
        password_reset_required: bool,
        max_signin_session_duration: Option<u32>,
    ) -> Result<LoginProfile, IamError> {
        let owner = self.get_user(user)?;
        check_password_policy(password, &self.account)?;
        // Hash before taking the lock: it is deliberately slow.
        let hash = self.hash_password(password)?;
        let mut st = self.write();
        let key = owner.name.to_lowercase();
        if !st.users.contains_key(&key) {
            return Err(Self::no_user(user));
        }
        if st.login_profiles.contains_key(&key) {
            return Err(IamError::EntityAlreadyExists(format!(
                "Login Profile for user {} already exists.",
                owner.name
            )));
        }
        let rec = StoredProfile {
            user_name: owner.name.clone(),
            create_date: self.now(),
            password_reset_required,
            max_signin_session_duration,
            password: hash,
        };
        self.persist(&[Op::put_json(NS_LOGIN, key.clone(), &rec)?])?;
        let out = rec.public();
        st.login_profiles.insert(key, rec);
        Ok(out)
    }

    /// `GetLoginProfile`.
    ///
    /// # Errors
    /// `NoSuchEntity` for the user or its profile.
    pub fn get_login_profile(&self, user: &str) -> Result<LoginProfile, IamError> {
        let owner = self.get_user(user)?;
        self.read()
            .login_profiles
            .get(&owner.name.to_lowercase())
            .map(StoredProfile::public)
            .ok_or_else(|| no_profile(&owner.name))
    }

    /// `UpdateLoginProfile`: a new password and/or reset flag.
    ///
    /// # Errors
    /// `NoSuchEntity`, `PasswordPolicyViolation`.
    pub fn update_login_profile(&self, user: &str, update: LoginProfileUpdate) -> Result<(), IamError> {
        let owner = self.get_user(user)?;
        let hash = match &update.password {
            Some(p) => {
                check_password_policy(p, &self.account)?;
                Some(self.hash_password(p)?)
            }
            None => None,
        };
        let mut st = self.write();
        let key = owner.name.to_lowercase();
        let mut rec = st.login_profiles.get(&key).cloned().ok_or_else(|| no_profile(&owner.name))?;
        if let Some(h) = hash {
            rec.password = h;
        }
        if let Some(r) = update.password_reset_required {
            rec.password_reset_required = r;
        }
        if update.reset_max_signin_session_duration {
            rec.max_signin_session_duration = None;
        } else if let Some(d) = update.max_signin_session_duration {
            rec.max_signin_session_duration = Some(d);
        }
        self.persist(&[Op::put_json(NS_LOGIN, key.clone(), &rec)?])?;
        st.login_profiles.insert(key, rec);
        Ok(())
    }

    /// `DeleteLoginProfile`: the user can no longer sign in with a password.
    ///
    /// # Errors
    /// `NoSuchEntity`.
    pub fn delete_login_profile(&self, user: &str) -> Result<(), IamError> {
        let owner = self.get_user(user)?;
        let mut st = self.write();
        let key = owner.name.to_lowercase();
        if !st.login_profiles.contains_key(&key) {
            return Err(no_profile(&owner.name));
        }
        self.persist(&[Op::delete(NS_LOGIN, key.clone())])?;
        st.login_profiles.remove(&key);
        Ok(())
    }

    /// Whether `user` has a login profile (`DeleteUser` refuses then).
    #[must_use]
    pub fn has_login_profile(&self, user: &str) -> bool {
        self.read().login_profiles.contains_key(&user.to_lowercase())
    }

    /// Console sign-in with a password: the user and its profile when
    /// `password` is right. It takes as long for unknown users and users
    /// without a profile, so the answer reveals nothing but "no".
    #[must_use]
    pub fn verify_password(&self, user: &str, password: &str) -> Option<(User, LoginProfile)> {
        let found = {
            let st = self.read();
            let key = user.to_lowercase();
            st.users.get(&key).cloned().zip(st.login_profiles.get(&key).cloned())
        };
        match found {
            Some((u, rec)) => rec.password.verify(password).then(|| (u, rec.public())),
            None => {
                // Same work as a real check, against a hash nothing matches.
                let _ = PasswordHash { phc: DECOY.to_owned() }.verify(password);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use base::{Env, ManualClock, SeqIds};
    use state::Store;

    use super::*;

    fn iam_on(store: Arc<Store>) -> Iam {
        let env = Env { clock: Arc::new(ManualClock::at(1_700_000_000)), ids: Arc::new(SeqIds::default()) };
        Iam::open("123456789012", env, store).expect("open")
    }

    #[test]
    fn hashes_are_salted_argon2id_and_verify() {
        let a = PasswordHash::new("Correct-Horse-1", "0123456789abcdef0123456789abcdef").expect("hash");
        let b = PasswordHash::new("Correct-Horse-1", "fedcba9876543210fedcba9876543210").expect("hash");
        assert!(a.phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", a.phc);
        assert_ne!(a.phc, b.phc);
        assert!(a.verify("Correct-Horse-1") && b.verify("Correct-Horse-1"));
        assert!(!a.verify("Correct-Horse-2") && !a.verify(""));
        assert!(argon2::password_hash::PasswordHash::new(DECOY).is_ok(), "the decoy must cost a real verification");
        assert!(!PasswordHash { phc: DECOY.to_owned() }.verify("Correct-Horse-1"));
        assert!(!PasswordHash { phc: "garbage".to_owned() }.verify("x"));
        assert_eq!(format!("{a:?}"), "PasswordHash(..)");
    }

    #[test]
    fn password_policy_rules() {
        let acct = "123456789012";
        let cases = [
            ("Sh0rt!", Some("minimum length of 8")),
            ("alllowercase", Some("at least three")),
            ("lower123only", Some("at least three")),
            ("Lower123", None),
            ("lower-123", None),
            ("UPPER-lower", None),
            (&"Aa1!".repeat(33), Some("maximum length of 128")),
            ("Snowman\u{2603}1a", Some("printable")),
        ];
        for (pw, want) in cases {
            let got = check_password_policy(pw, acct);
            match want {
                None => assert!(got.is_ok(), "{pw}: {got:?}"),
                Some(m) => {
                    let e = got.expect_err(pw);
                    assert_eq!(e.code(), "PasswordPolicyViolation");
                    assert!(e.to_string().contains(m), "{pw}: {e}");
                }
            }
        }
    }

    #[test]
    fn profile_lifecycle_verification_and_persistence() {
        let store = Arc::new(Store::in_memory().expect("store"));
        let iam = iam_on(Arc::clone(&store));
        assert_eq!(iam.create_login_profile("nobody", "Passw0rd!", false, None).unwrap_err().code(), "NoSuchEntity");
        iam.create_user("Carol", None, vec![], None).expect("user");
        assert_eq!(
            iam.get_login_profile("carol").unwrap_err().to_string(),
            "Login Profile for User Carol cannot be found."
        );
        assert_eq!(
            iam.create_login_profile("Carol", "weak", false, None).unwrap_err().code(),
            "PasswordPolicyViolation"
        );
        let p = iam.create_login_profile("carol", "Correct-Horse-1", true, None).expect("create");
        assert_eq!((p.user_name.as_str(), p.create_date, p.password_reset_required), ("Carol", 1_700_000_000.0, true));
        assert_eq!(
            iam.create_login_profile("Carol", "Correct-Horse-1", false, None).unwrap_err().code(),
            "EntityAlreadyExists"
        );
        assert!(iam.verify_password("Carol", "Correct-Horse-1").is_some());
        assert!(iam.verify_password("CAROL", "Correct-Horse-1").is_some());
        assert!(iam.verify_password("Carol", "correct-horse-1").is_none());
        assert!(iam.verify_password("Dave", "Correct-Horse-1").is_none());
        // The hash, never the password, is stored.
        let raw = store.scan(NS_LOGIN).expect("scan");
        let text = String::from_utf8_lossy(&raw[0].1).into_owned();
        assert!(!text.contains("Correct-Horse-1") && text.contains("$argon2id$"), "{text}");
        // DeleteUser refuses while the profile exists.
        assert_eq!(
            iam.delete_user("Carol").unwrap_err().to_string(),
            "Cannot delete entity, must delete login profile first."
        );

        let update = LoginProfileUpdate {
            password: Some("Battery-Staple-2".into()),
            password_reset_required: Some(false),
            ..Default::default()
        };
        iam.update_login_profile("Carol", update).expect("update");
        assert!(iam.verify_password("Carol", "Correct-Horse-1").is_none());
        assert!(iam.verify_password("Carol", "Battery-Staple-2").is_some());
        let bad = LoginProfileUpdate { password: Some("short".into()), ..Default::default() };
        assert_eq!(iam.update_login_profile("Carol", bad).unwrap_err().code(), "PasswordPolicyViolation");

        // Survives a reopen.
        let again = iam_on(Arc::clone(&store));
        assert!(!again.get_login_profile("Carol").expect("kept").password_reset_required);
        assert!(again.verify_password("Carol", "Battery-Staple-2").is_some());

        iam.delete_login_profile("Carol").expect("delete");
        assert_eq!(iam.delete_login_profile("Carol").unwrap_err().code(), "NoSuchEntity");
        assert!(iam.verify_password("Carol", "Battery-Staple-2").is_none());
        iam.delete_user("Carol").expect("now deletable");
    }
}

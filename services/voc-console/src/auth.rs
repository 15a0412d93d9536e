//! Sessions and their guards: a signed session cookie (name, role, CSRF token, expiry), the CSRF
//! check every action makes, and login rate limiting. Pure apart from the clock and randomness the
//! caller passes in.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::users::Role;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "voc_session";

/// Who is logged in, and the token their forms must send back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: String,
    pub role: Role,
    pub csrf: String,
    /// Seconds since the epoch.
    pub expires: i64,
}

impl Session {
    /// The cookie value (signed by the caller's jar, so it cannot be forged or altered).
    pub fn encode(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}",
            self.user, self.role, self.csrf, self.expires
        )
    }

    /// The session, if the value is well formed and not expired at `now`.
    pub fn decode(value: &str, now: i64) -> Option<Self> {
        let mut parts = value.split('\n');
        let user = parts.next()?.to_string();
        let role = parts.next()?.parse().ok()?;
        let csrf = parts.next()?.to_string();
        let expires = parts.next()?.parse().ok()?;
        (parts.next().is_none() && expires > now && !user.is_empty()).then_some(Self {
            user,
            role,
            csrf,
            expires,
        })
    }

    /// Whether a form or header token matches this session's, compared in constant time.
    pub fn csrf_ok(&self, token: &str) -> bool {
        let (a, b) = (self.csrf.as_bytes(), token.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// 32 random bytes as hex.
pub fn random_token() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Login attempts per key (a user name, or `*` for all of them): after `max` unsuccessful ones
/// within `window`, further attempts are refused until the window has passed.
#[derive(Debug)]
pub struct LoginLimiter {
    max: u32,
    window: Duration,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Records an attempt by `name` and says whether it may go ahead: at most `max` attempts per
    /// `window` that did not end in a success (counted before the password is checked, so parallel
    /// guesses cannot slip past). Expired entries are dropped as they are met.
    pub fn attempt(&self, name: &str, now: Instant) -> bool {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() > 10_000 {
            let window = self.window;
            failures.retain(|_, (_, since)| now.duration_since(*since) < window);
        }
        let entry = failures.entry(name.to_string()).or_insert((0, now));
        if now.duration_since(entry.1) >= self.window {
            *entry = (0, now);
        }
        entry.0 += 1;
        entry.0 <= self.max
    }

    pub fn succeeded(&self, name: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }
}

/// Whether a submitted user name has the shape `voc users add` allows (so junk never reaches the
/// limiter or the log).
pub fn plausible_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_@".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_round_trips_and_expires_and_a_wrong_token_fails() {
        let s = Session {
            user: "sato".into(),
            role: Role::Lead,
            csrf: random_token(),
            expires: 1_000,
        };
        assert_eq!(Session::decode(&s.encode(), 999), Some(s.clone()));
        assert_eq!(Session::decode(&s.encode(), 1_000), None, "expired");
        assert_eq!(
            Session::decode("sato\nsuperuser\nx\n2000", 0),
            None,
            "unknown role"
        );
        assert!(s.csrf_ok(&s.csrf.clone()));
        assert!(!s.csrf_ok("") && !s.csrf_ok(&random_token()));
    }

    #[test]
    fn logins_are_refused_after_repeated_attempts_until_the_window_passes() {
        let l = LoginLimiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.attempt("sato", t0));
        }
        assert!(!l.attempt("sato", t0 + Duration::from_secs(10)));
        assert!(l.attempt("kato", t0), "per name");
        assert!(
            l.attempt("sato", t0 + Duration::from_secs(61)),
            "a new window"
        );
        l.succeeded("sato");
        assert!(l.attempt("sato", t0 + Duration::from_secs(62)));
        assert!(plausible_name("sato.k@team") && !plausible_name("") && !plausible_name("a b"));
        assert!(!plausible_name(&"x".repeat(65)));
    }
}

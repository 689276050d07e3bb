//! Who is looking: a login with one of the configured tokens becomes a session (an
//! `HttpOnly`, `SameSite=Strict` cookie naming a random id), and every change a session
//! makes carries that session's CSRF token. Scripts may instead send
//! `Authorization: Bearer <token>` to `/api/`, with no cookie and so no CSRF to forge.
//!
//! The role rules are the API's: the console is for ops and admin tokens; a frontend
//! token (a borrowing system acting for its libraries) is refused at login and on `/api/`.
//! With no tokens configured (the loopback demo) the login takes an empty token and
//! the operator is the anonymous admin, as a gRPC caller would be.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use rand::RngCore;

use super::{ApiError, Console, ConsoleError};
use crate::config::{Role, TokenConfig, hash_token};
use crate::service::Principal;

/// The session cookie's name.
pub const COOKIE: &str = "rota_console";

/// Most sessions held at once; past it the one idle longest is dropped.
const MAX_SESSIONS: usize = 10_000;

/// An operator's login.
#[derive(Clone, Debug)]
pub struct Session {
    /// Who.
    pub principal: Principal,
    /// The token every change must carry.
    pub csrf: String,
    last_used: Instant,
}

/// The sessions of one console.
pub struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
    idle: Duration,
    tokens: HashMap<String, Principal>,
}

/// Why a login was refused (the caller's fault in every case).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoginError {
    /// The token is not configured.
    #[error("unknown token")]
    Unknown,
    /// A frontend token.
    #[error(
        "token {0:?} is a frontend token; the console is for ops and admin tokens, as the Admin API is"
    )]
    Frontend(String),
}

fn random_hex() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

impl Sessions {
    /// Sessions for these tokens, each lasting `idle` without use.
    pub fn new(tokens: &[TokenConfig], idle: Duration) -> Sessions {
        Sessions {
            by_id: Mutex::new(HashMap::new()),
            idle,
            tokens: tokens
                .iter()
                .map(|t| {
                    (
                        t.sha256.clone(),
                        Principal {
                            name: t.name.clone(),
                            role: t.role,
                            borrowers: t.borrowers.clone(),
                        },
                    )
                })
                .collect(),
        }
    }

    /// Who a token is, if it may use the console.
    pub fn principal(&self, token: &str) -> Result<Principal, LoginError> {
        if self.tokens.is_empty() {
            return Ok(Principal {
                name: "anonymous (loopback demo)".into(),
                role: Role::Admin,
                borrowers: vec![],
            });
        }
        let p = self
            .tokens
            .get(&hash_token(token.trim()))
            .cloned()
            .ok_or(LoginError::Unknown)?;
        if p.role == Role::Frontend {
            return Err(LoginError::Frontend(p.name));
        }
        Ok(p)
    }

    /// Whether a login needs a token at all (not in the loopback demo).
    pub fn tokens_required(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// Logs a token in: the new session's id.
    pub fn login(&self, token: &str) -> Result<(String, Session), LoginError> {
        let principal = self.principal(token)?;
        let id = random_hex();
        let s = Session {
            principal,
            csrf: random_hex(),
            last_used: Instant::now(),
        };
        let mut by_id = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        by_id.retain(|_, s| now.duration_since(s.last_used) < self.idle);
        if by_id.len() >= MAX_SESSIONS
            && let Some(oldest) = by_id
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(k, _)| k.clone())
        {
            by_id.remove(&oldest);
        }
        by_id.insert(id.clone(), s.clone());
        tracing::info!(who = %s.principal.name, "console login");
        Ok((id, s))
    }

    /// The live session with this id, its idle clock restarted.
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut by_id = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        let s = by_id.get_mut(id)?;
        if s.last_used.elapsed() >= self.idle {
            by_id.remove(id);
            return None;
        }
        s.last_used = Instant::now();
        Some(s.clone())
    }

    /// Ends a session.
    pub fn logout(&self, id: &str) {
        self.by_id
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The operator behind a page: the session the cookie names. Without one the page
/// answers with the login page.
#[derive(Clone, Debug)]
pub struct Operator {
    /// Who.
    pub principal: Principal,
    /// The session's CSRF token; none for a bearer-token script, which needs none.
    pub csrf: Option<String>,
}

/// The operator behind an `/api/` call: a bearer token or, for the pages' own scripts,
/// the session cookie. Refusals are JSON.
#[derive(Clone, Debug)]
pub struct ApiOperator(pub Operator);

impl Operator {
    /// Checks the CSRF token a change carries. A bearer-token caller sends no cookie, so
    /// no other site can make its browser send the request, and needs no CSRF token.
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), ConsoleError> {
        match &self.csrf {
            None => Ok(()),
            Some(want) if sent.is_some_and(|s| constant_time_eq(s.as_bytes(), want.as_bytes())) => {
                Ok(())
            }
            Some(_) => Err(ConsoleError::Csrf),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<Console> for Operator {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, c: &Console) -> Result<Self, Self::Rejection> {
        let s = cookie(&parts.headers, COOKIE)
            .and_then(|id| c.sessions.get(id))
            .ok_or_else(|| ConsoleError::Unauthenticated {
                next: parts
                    .uri
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .to_owned(),
            })?;
        Ok(Operator {
            principal: s.principal,
            csrf: Some(s.csrf),
        })
    }
}

impl FromRequestParts<Console> for ApiOperator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, c: &Console) -> Result<Self, Self::Rejection> {
        let Some(h) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(ApiOperator(Operator::from_request_parts(parts, c).await?));
        };
        let token = h
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .ok_or_else(|| ConsoleError::Unauthenticated {
                next: String::new(),
            })?;
        match c.sessions.principal(token) {
            Ok(principal) => Ok(ApiOperator(Operator {
                principal,
                csrf: None,
            })),
            Err(LoginError::Unknown) => Err(ConsoleError::Unauthenticated {
                next: String::new(),
            }
            .into()),
            Err(e) => Err(ConsoleError::Forbidden(e.to_string()).into()),
        }
    }
}

/// The `Set-Cookie` value that starts a session.
pub fn session_cookie(id: &str, secure: bool, max_age: Duration) -> String {
    format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends one.
pub fn cleared_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(name: &str, role: Role, secret: &str) -> TokenConfig {
        TokenConfig {
            name: name.into(),
            sha256: hash_token(secret),
            role,
            borrowers: if role == Role::Frontend {
                vec!["B".into()]
            } else {
                vec![]
            },
        }
    }

    #[test]
    fn roles_and_sessions() {
        let s = Sessions::new(
            &[
                token("ops", Role::Ops, "o-secret"),
                token("ils", Role::Frontend, "f-secret"),
            ],
            Duration::from_secs(60),
        );
        assert!(s.tokens_required());
        assert_eq!(s.login("nope").unwrap_err(), LoginError::Unknown);
        assert!(matches!(
            s.login("f-secret").unwrap_err(),
            LoginError::Frontend(n) if n == "ils"
        ));
        let (id, sess) = s.login(" o-secret\n").unwrap();
        assert_eq!(sess.principal.name, "ops");
        assert_eq!(s.get(&id).unwrap().csrf, sess.csrf);
        let (other, _) = s.login("o-secret").unwrap();
        assert_ne!(id, other, "each login is a session of its own");
        s.logout(&id);
        assert!(s.get(&id).is_none());
        assert!(s.get(&other).is_some());
    }

    #[test]
    fn idle_sessions_end() {
        let s = Sessions::new(&[], Duration::ZERO);
        assert!(!s.tokens_required());
        let (id, sess) = s.login("").unwrap();
        assert_eq!(sess.principal.role, Role::Admin);
        assert!(s.get(&id).is_none());
    }

    #[test]
    fn csrf_is_required_of_sessions_only() {
        let op = |csrf: Option<&str>| Operator {
            principal: Principal {
                name: "x".into(),
                role: Role::Ops,
                borrowers: vec![],
            },
            csrf: csrf.map(str::to_owned),
        };
        assert!(op(None).check_csrf(None).is_ok());
        assert!(op(Some("abc")).check_csrf(Some("abc")).is_ok());
        assert!(op(Some("abc")).check_csrf(Some("abd")).is_err());
        assert!(op(Some("abc")).check_csrf(Some("ab")).is_err());
        assert!(op(Some("abc")).check_csrf(None).is_err());
    }
}

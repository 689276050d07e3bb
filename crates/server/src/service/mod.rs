//! The tonic services, one module each ([`routing`], [`events`], [`catalog`],
//! [`admin`]), over what they share: who is calling, the application slot, and admission
//! (every call is counted and timed by [`crate::telemetry::rpc`], outside them). Wire messages become domain types in [`crate::convert`]; domain errors become
//! statuses in [`status`], and nowhere else.

mod admin;
mod catalog;
mod events;
mod routing;
pub mod status;

pub use admin::AdminSvc;
pub use catalog::CatalogSvc;
pub use events::EventsSvc;
pub use routing::RoutingSvc;

use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use futures::Stream;
use tonic::{Request as GReq, Status};

use crate::app::App;
use crate::config::Role;

/// Who is calling (set by the auth interceptor).
#[derive(Clone, Debug)]
pub struct Principal {
    /// Token name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Borrowers a frontend may act for.
    pub borrowers: Vec<String>,
}

/// The application once loaded; requests before that get UNAVAILABLE.
pub type Slot = Arc<OnceLock<Arc<App>>>;

/// Shared by every service.
#[derive(Clone)]
pub struct Shared {
    /// The app.
    pub slot: Slot,
    /// Where the engine's synchronous work runs.
    pub cores: crate::cores::Cores,
    /// Items per stream.
    pub max_stream_items: u64,
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

impl Shared {
    pub(crate) fn app(&self) -> Result<Arc<App>, Status> {
        self.slot
            .get()
            .cloned()
            .ok_or_else(|| Status::unavailable("the catalogue is still loading; retry shortly"))
    }
}

pub(crate) fn principal<T>(r: &GReq<T>) -> Result<Principal, Status> {
    r.extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("missing bearer token"))
}

pub(crate) fn require(p: &Principal, role: Role) -> Result<(), Status> {
    let ok = match role {
        Role::Frontend => true,
        Role::Ops => matches!(p.role, Role::Ops | Role::Admin),
        Role::Admin => p.role == Role::Admin,
    };
    if ok {
        Ok(())
    } else {
        Err(Status::permission_denied(format!(
            "token {:?} lacks the {role:?} role",
            p.name
        )))
    }
}

pub(crate) fn may_act_for(p: &Principal, borrower: &str) -> Result<(), Status> {
    if p.role == Role::Frontend && !p.borrowers.iter().any(|b| b == borrower) {
        return Err(Status::permission_denied(format!(
            "token {:?} may not act for borrower {borrower:?}",
            p.name
        )));
    }
    Ok(())
}

/// Builds the auth interceptor: with no tokens configured (loopback demo) every caller is
/// an anonymous admin; otherwise a valid `authorization: Bearer <token>` is required.
pub fn interceptor(
    tokens: Vec<crate::config::TokenConfig>,
) -> impl FnMut(GReq<()>) -> Result<GReq<()>, Status> + Clone {
    let map: Arc<std::collections::HashMap<String, Principal>> = Arc::new(
        tokens
            .into_iter()
            .map(|t| {
                (
                    t.sha256.clone(),
                    Principal {
                        name: t.name,
                        role: t.role,
                        borrowers: t.borrowers,
                    },
                )
            })
            .collect(),
    );
    move |mut req: GReq<()>| {
        let p = if map.is_empty() {
            Principal {
                name: "anonymous (loopback demo)".into(),
                role: Role::Admin,
                borrowers: vec![],
            }
        } else {
            let h = req
                .metadata()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .ok_or_else(|| {
                    Status::unauthenticated("missing \"authorization: Bearer <token>\" metadata")
                })?;
            map.get(&crate::config::hash_token(h.trim()))
                .cloned()
                .ok_or_else(|| Status::unauthenticated("unknown token"))?
        };
        req.extensions_mut().insert(p);
        Ok(req)
    }
}

/// Seconds since the epoch: what an event without a time is stamped with.
/// The caller's deadline from its `grpc-timeout` header, as a duration from now. Tonic
/// drops the handler's future when it passes, but work moved to a blocking thread (a
/// simulation) does not see that; such work takes this as its own limit.
pub(crate) fn caller_timeout<T>(r: &GReq<T>) -> Result<Option<std::time::Duration>, Status> {
    use std::time::Duration;
    let Some(v) = r.metadata().get("grpc-timeout") else {
        return Ok(None);
    };
    let bad = || {
        Status::invalid_argument(
            "grpc-timeout: not a timeout (1 to 8 digits and a unit of H, M, S, m, u or n)",
        )
    };
    let v = v.to_str().map_err(|_| bad())?;
    // the gRPC over HTTP/2 spec: TimeoutValue is at most 8 ASCII digits, then the unit
    let (digits, unit) = v.split_at(v.len().saturating_sub(1));
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    Ok(Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return Err(bad()),
    }))
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callers_timeout_is_read() {
        use std::time::Duration;
        let with = |v: &str| {
            let mut r = GReq::new(());
            r.metadata_mut().insert("grpc-timeout", v.parse().unwrap());
            caller_timeout(&r)
        };
        assert_eq!(caller_timeout(&GReq::new(())).unwrap(), None);
        assert_eq!(with("250m").unwrap(), Some(Duration::from_millis(250)));
        assert_eq!(with("2S").unwrap(), Some(Duration::from_secs(2)));
        assert_eq!(with("1H").unwrap(), Some(Duration::from_secs(3600)));
        assert_eq!(
            with("99999999n").unwrap(),
            Some(Duration::from_nanos(99_999_999))
        );
        for bad in ["", "S", "123456789S", "10x", "-1S", "1.5S"] {
            assert_eq!(
                with(bad).unwrap_err().code(),
                tonic::Code::InvalidArgument,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn before_the_catalogue_is_loaded_calls_are_unavailable() {
        let shared = Shared {
            slot: Arc::new(OnceLock::new()),
            cores: crate::cores::Cores::new(1, std::time::Duration::from_millis(10)),
            max_stream_items: 10,
        };
        assert_eq!(
            shared.app().err().map(|s| s.code()),
            Some(tonic::Code::Unavailable)
        );
    }
}

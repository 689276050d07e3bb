//! The tonic services, one module each ([`routing`], [`events`], [`catalog`],
//! [`admin`]), over what they share: who is calling, the application slot, admission, and
//! metrics. Wire messages become domain types in [`crate::convert`]; domain errors become
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
use std::time::Instant;

use futures::Stream;
use tokio::sync::Semaphore;
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
    /// In-flight limit.
    pub permits: Arc<Semaphore>,
    /// Items per stream.
    pub max_stream_items: u64,
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

pub(crate) fn observe<T>(method: &'static str, t: Instant, r: &Result<T, Status>) {
    let outcome = match r {
        Ok(_) => status::code_name(tonic::Code::Ok),
        Err(s) => status::code_name(s.code()),
    };
    metrics::counter!("rota_rpc_total", "method" => method, "outcome" => outcome).increment(1);
    metrics::histogram!("rota_rpc_seconds", "method" => method).record(t.elapsed().as_secs_f64());
}

impl Shared {
    pub(crate) fn app(&self) -> Result<Arc<App>, Status> {
        self.slot
            .get()
            .cloned()
            .ok_or_else(|| Status::unavailable("the catalogue is still loading; retry shortly"))
    }

    pub(crate) fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, Status> {
        self.permits.clone().try_acquire_owned().map_err(|_| {
            Status::resource_exhausted("server is at its in-flight limit; retry with backoff")
        })
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
pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overload_is_shed_not_queued() {
        let shared = Shared {
            slot: Arc::new(OnceLock::new()),
            permits: Arc::new(Semaphore::new(1)),
            max_stream_items: 10,
        };
        let held = shared.permit().expect("the one permit");
        let e = shared.permit().unwrap_err();
        assert_eq!(e.code(), tonic::Code::ResourceExhausted);
        drop(held);
        assert!(
            shared.permit().is_ok(),
            "capacity returns when a call finishes"
        );
        // and before the catalogue is loaded, calls are refused as UNAVAILABLE
        assert_eq!(
            shared.app().err().map(|s| s.code()),
            Some(tonic::Code::Unavailable)
        );
    }
}

//! The tonic services: conversions, authorisation, load shedding and the one place where
//! domain errors become gRPC status codes.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use futures::{Stream, StreamExt};
use rota_catalog::{Citation, DeltaOp, LookupError, LookupOptions};
use rota_proto::v1 as pb;
use rota_routing::{
    Answer, Event, EventError, EventKind, Mode, Profile, RouteError, Service, ServiceType,
};
use tokio::sync::Semaphore;
use tonic::{Request as GReq, Response, Status, Streaming};

use crate::app::App;
use crate::config::Role;
use crate::convert;
use crate::log::{LogError, LogRecord};

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

// ------------------------------------------------------------------ errors (one place)

/// Maps routing errors: all are the caller's fault and name the field.
pub fn route_status(e: &RouteError) -> Status {
    Status::invalid_argument(e.to_string())
}

fn lookup_status(e: &LookupError) -> Status {
    Status::invalid_argument(format!("citation: {e}"))
}

fn event_status(e: &EventError) -> Status {
    match e {
        EventError::UnknownLender(_) | EventError::UnknownBorrower(_) => {
            Status::not_found(e.to_string())
        }
        EventError::EmptyRequestId => Status::invalid_argument(e.to_string()),
    }
}

fn log_status(e: &LogError) -> Status {
    match e {
        LogError::TooLarge(_) => Status::invalid_argument(e.to_string()),
        _ => Status::unavailable(format!("{e}; nothing was recorded, retry later")),
    }
}

fn observe<T>(method: &'static str, t: Instant, r: &Result<T, Status>) {
    let outcome = match r {
        Ok(_) => "ok",
        Err(s) => code_name(s.code()),
    };
    metrics::counter!("rota_rpc_total", "method" => method, "outcome" => outcome).increment(1);
    metrics::histogram!("rota_rpc_seconds", "method" => method).record(t.elapsed().as_secs_f64());
}

fn code_name(c: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match c {
        Ok => "ok",
        InvalidArgument => "invalid_argument",
        NotFound => "not_found",
        PermissionDenied => "permission_denied",
        Unauthenticated => "unauthenticated",
        ResourceExhausted => "resource_exhausted",
        Unavailable => "unavailable",
        Aborted => "aborted",
        DeadlineExceeded => "deadline_exceeded",
        _ => "other",
    }
}

impl Shared {
    fn app(&self) -> Result<Arc<App>, Status> {
        self.slot
            .get()
            .cloned()
            .ok_or_else(|| Status::unavailable("the catalogue is still loading; retry shortly"))
    }

    fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, Status> {
        self.permits.clone().try_acquire_owned().map_err(|_| {
            Status::resource_exhausted("server is at its in-flight limit; retry with backoff")
        })
    }
}

fn principal<T>(r: &GReq<T>) -> Result<Principal, Status> {
    r.extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("missing bearer token"))
}

fn require(p: &Principal, role: Role) -> Result<(), Status> {
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

fn may_act_for(p: &Principal, borrower: &str) -> Result<(), Status> {
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

    #[test]
    fn the_error_mapping() {
        assert_eq!(
            log_status(&LogError::Io("No space left on device".into())).code(),
            tonic::Code::Unavailable
        );
        assert_eq!(
            log_status(&LogError::Closed).code(),
            tonic::Code::Unavailable
        );
        assert_eq!(
            log_status(&LogError::TooLarge(1 << 30)).code(),
            tonic::Code::InvalidArgument
        );
        assert_eq!(
            event_status(&EventError::UnknownLender("X".into())).code(),
            tonic::Code::NotFound
        );
        assert_eq!(
            route_status(&RouteError::BadMaxLenders(0)).code(),
            tonic::Code::InvalidArgument
        );
    }
}

// ------------------------------------------------------------------ conversions

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn route_one(app: &App, p: &Principal, r: &pb::RouteRequest) -> Result<pb::RouteResponse, Status> {
    let req = convert::request_from_wire(r, now())?;
    may_act_for(p, &req.borrower)?;
    let eng = app.engine.load();
    let live = app.live.read().unwrap_or_else(|e| e.into_inner());
    let s = eng.route(&live, &req).map_err(|e| route_status(&e))?;
    drop(live);
    Ok(convert::response_to_wire(s, eng.catalog()))
}

// ------------------------------------------------------------------ Routing

/// `rota.v1.Routing`.
#[derive(Clone)]
pub struct RoutingSvc(pub Shared);

#[tonic::async_trait]
impl pb::routing_server::Routing for RoutingSvc {
    async fn route(
        &self,
        req: GReq<pb::RouteRequest>,
    ) -> Result<Response<pb::RouteResponse>, Status> {
        let t = Instant::now();
        let r = (|| {
            let _permit = self.0.permit()?;
            let app = self.0.app()?;
            let p = principal(&req)?;
            route_one(&app, &p, req.get_ref()).map(Response::new)
        })();
        observe("Route", t, &r);
        r
    }

    type RouteStreamStream = BoxStream<pb::RankedLender>;

    async fn route_stream(
        &self,
        req: GReq<pb::RouteRequest>,
    ) -> Result<Response<Self::RouteStreamStream>, Status> {
        let t = Instant::now();
        let r = (|| {
            let _permit = self.0.permit()?;
            let app = self.0.app()?;
            let p = principal(&req)?;
            route_one(&app, &p, req.get_ref())
        })();
        observe("RouteStream", t, &r);
        let resp = r?;
        let items: Vec<Result<pb::RankedLender, Status>> =
            resp.lenders.into_iter().map(Ok).collect();
        Ok(Response::new(Box::pin(futures::stream::iter(items))))
    }

    type RouteBatchStream = BoxStream<pb::RouteResponse>;

    async fn route_batch(
        &self,
        req: GReq<Streaming<pb::RouteRequest>>,
    ) -> Result<Response<Self::RouteBatchStream>, Status> {
        let app = self.0.app()?;
        let p = principal(&req)?;
        let max_items = self.0.max_stream_items;
        let mut input = req.into_inner();
        // bounded: a slow reader stops us reading more requests (backpressure, no growth)
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<pb::RouteResponse, Status>>(256);
        tokio::spawn(async move {
            use futures::FutureExt;
            let mut seen: HashSet<String> = HashSet::new();
            let mut n = 0u64;
            loop {
                // take what has already arrived (up to a chunk) and route it on all cores
                let Some(first) = input.next().await else {
                    return;
                };
                let mut chunk = vec![first];
                while chunk.len() < 512 {
                    match input.next().now_or_never() {
                        Some(Some(x)) => chunk.push(x),
                        _ => break,
                    }
                }
                let mut reqs: Vec<(pb::RouteRequest, bool)> = Vec::with_capacity(chunk.len());
                for item in chunk {
                    let r = match item {
                        Ok(r) => r,
                        Err(s) => {
                            let _ = tx.send(Err(s)).await;
                            return;
                        }
                    };
                    n += 1;
                    if n > max_items {
                        let _ = tx
                            .send(Err(Status::resource_exhausted(format!(
                                "a RouteBatch stream carries at most {max_items} requests; open another"
                            ))))
                            .await;
                        return;
                    }
                    let dup = !r.request_id.is_empty() && !seen.insert(r.request_id.clone());
                    reqs.push((r, dup));
                }
                let (a2, p2) = (app.clone(), p.clone());
                let routed = tokio::task::spawn_blocking(move || {
                    use rayon::prelude::*;
                    reqs.into_par_iter()
                        .map(|(r, dup)| {
                            let t = Instant::now();
                            let out = if dup {
                                Err(Status::invalid_argument(format!(
                                    "request_id: {:?} appears twice in this batch",
                                    r.request_id
                                )))
                            } else {
                                route_one(&a2, &p2, &r)
                            };
                            observe("RouteBatch.item", t, &out);
                            out.unwrap_or_else(|s| pb::RouteResponse {
                                request_id: r.request_id.clone(),
                                error: Some(pb::RouteError {
                                    code: format!("{:?}", s.code()),
                                    message: s.message().to_string(),
                                }),
                                ..Default::default()
                            })
                        })
                        .collect::<Vec<_>>()
                })
                .await;
                let Ok(routed) = routed else {
                    let _ = tx.send(Err(Status::internal("routing task failed"))).await;
                    return;
                };
                for msg in routed {
                    if tx.send(Ok(msg)).await.is_err() {
                        return; // client went away
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

// ------------------------------------------------------------------ Events

/// `rota.v1.Events`.
#[derive(Clone)]
pub struct EventsSvc(pub Shared);

fn to_event(app: &App, p: &Principal, e: &pb::LenderEvent) -> Result<Event, Status> {
    use pb::EventKind as K;
    may_act_for(p, &e.borrower)?;
    let kind = match K::try_from(e.kind) {
        Ok(K::Sent) => EventKind::Sent,
        Ok(K::WillSupply) => EventKind::WillSupply,
        Ok(K::Loaned) => EventKind::Loaned,
        Ok(K::CopyCompleted) => EventKind::CopyCompleted,
        Ok(K::Unfilled) => match convert::answer_from_wire(e.reason, "reason")? {
            Answer::Unfilled(r) => EventKind::Unfilled(r),
            _ => {
                return Err(Status::invalid_argument(
                    "reason: UNFILLED needs a ReasonUnfilled (NOT_HELD … POOR_CONDITION)",
                ));
            }
        },
        Ok(K::RetryPossible) => match convert::answer_from_wire(e.reason, "reason")? {
            Answer::Retry(r) => EventKind::RetryPossible(r),
            _ => {
                return Err(Status::invalid_argument(
                    "reason: RETRY_POSSIBLE needs a ReasonRetry (ON_LOAN, …)",
                ));
            }
        },
        Ok(K::Received) => EventKind::Received,
        Ok(K::Returned) => EventKind::Returned,
        Ok(K::Cancelled) => EventKind::Cancelled,
        Ok(K::Expired) => EventKind::Expired,
        Ok(K::Unspecified) => return Err(Status::invalid_argument("kind: required")),
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "kind: unknown value {}",
                e.kind
            )));
        }
    };
    let svc = match convert::service_type_from_wire(e.service_type, "service_type")? {
        ServiceType::Copy => Service::Copy,
        _ => Service::Loan,
    };
    let ev = Event {
        at: if e.at == 0 { now() } else { e.at },
        request_id: e.request_id.clone(),
        borrower: e.borrower.clone(),
        lender: e.lender.clone(),
        cluster: e.has_cluster.then_some(e.cluster),
        service: svc,
        kind,
    };
    // validate before logging: an event that cannot apply must not be made durable
    let eng = app.engine.load();
    if ev.request_id.is_empty() {
        return Err(event_status(&EventError::EmptyRequestId));
    }
    if eng.directory().index(&ev.lender).is_none() {
        return Err(event_status(&EventError::UnknownLender(ev.lender.clone())));
    }
    if eng.directory().index(&ev.borrower).is_none() {
        return Err(event_status(&EventError::UnknownBorrower(
            ev.borrower.clone(),
        )));
    }
    if let Some(c) = ev.cluster
        && c >= eng.catalog().clusters()
    {
        return Err(Status::invalid_argument(format!(
            "cluster: {c} does not exist"
        )));
    }
    Ok(ev)
}

#[tonic::async_trait]
impl pb::events_server::Events for EventsSvc {
    async fn report(
        &self,
        req: GReq<Streaming<pb::LenderEvent>>,
    ) -> Result<Response<pb::ReportSummary>, Status> {
        let t = Instant::now();
        let r = async {
            let app = self.0.app()?;
            let p = principal(&req)?;
            let mut input = req.into_inner();
            let mut accepted = 0u64;
            let mut last = 0u64;
            // keep many appends in flight so they share fsyncs (group commit)
            let mut pending = futures::stream::FuturesOrdered::new();
            loop {
                tokio::select! {
                    item = input.next(), if pending.len() < 4096 => {
                        let Some(item) = item else { break };
                        let ev = to_event(&app, &p, &item?)?;
                        accepted += 1;
                        if accepted > self.0.max_stream_items {
                            return Err(Status::resource_exhausted("too many events on one stream; open another"));
                        }
                        // queued in stream order; durability is awaited concurrently
                        let receipt = app.log.submit(LogRecord::Event(ev)).await.map_err(|e| log_status(&e))?;
                        pending.push_back(receipt.durable());
                    }
                    Some(done) = pending.next(), if !pending.is_empty() => {
                        last = done.map_err(|e| log_status(&e))?;
                    }
                }
            }
            while let Some(done) = pending.next().await {
                last = done.map_err(|e| log_status(&e))?;
            }
            Ok(Response::new(pb::ReportSummary { accepted, last_sequence: last }))
        }
        .await;
        observe("Report", t, &r);
        r
    }

    async fn report_one(
        &self,
        req: GReq<pb::LenderEvent>,
    ) -> Result<Response<pb::ReportAck>, Status> {
        let t = Instant::now();
        let r = async {
            let _permit = self.0.permit()?;
            let app = self.0.app()?;
            let p = principal(&req)?;
            let ev = to_event(&app, &p, req.get_ref())?;
            let seq = app
                .log
                .append(LogRecord::Event(ev))
                .await
                .map_err(|e| log_status(&e))?;
            Ok(Response::new(pb::ReportAck { sequence: seq }))
        }
        .await;
        observe("ReportOne", t, &r);
        r
    }
}

// ------------------------------------------------------------------ Catalog

/// `rota.v1.Catalog`.
#[derive(Clone)]
pub struct CatalogSvc(pub Shared);

impl CatalogSvc {
    async fn holdings(
        &self,
        req: GReq<Streaming<pb::HoldingChange>>,
        upsert: bool,
    ) -> Result<Response<pb::HoldingsSummary>, Status> {
        let app = self.0.app()?;
        let p = principal(&req)?;
        require(&p, Role::Admin)?;
        let mut input = req.into_inner();
        let mut ops: Vec<DeltaOp> = Vec::new();
        let mut applied = 0u64;
        let mut n = 0u64;
        while let Some(item) = input.next().await {
            let h = item?;
            n += 1;
            if n > self.0.max_stream_items {
                return Err(Status::resource_exhausted(
                    "too many holdings changes on one stream",
                ));
            }
            if h.symbol.trim().is_empty() {
                return Err(Status::invalid_argument(format!(
                    "change {n}: symbol: required"
                )));
            }
            let eng = app.engine.load();
            let cluster = if h.has_cluster {
                if h.cluster >= eng.catalog().clusters() {
                    return Err(Status::not_found(format!(
                        "change {n}: cluster {} does not exist",
                        h.cluster
                    )));
                }
                h.cluster
            } else {
                let c = convert::citation_from_wire(h.citation.as_ref());
                let c = Citation {
                    title: None,
                    author: None,
                    year: None,
                    ..c
                };
                let m = eng
                    .catalog()
                    .lookup(&c, LookupOptions::default())
                    .map_err(|e| lookup_status(&e))?;
                match m.as_slice() {
                    [one] => one.cluster,
                    [] => {
                        return Err(Status::not_found(format!(
                            "change {n}: no cluster has that identifier"
                        )));
                    }
                    _ => {
                        return Err(Status::invalid_argument(format!(
                            "change {n}: identifier matches several clusters; give cluster"
                        )));
                    }
                }
            };
            if !upsert && eng.catalog().library_id(&h.symbol).is_none() {
                return Err(Status::not_found(format!(
                    "change {n}: library {:?} is not in the catalogue",
                    h.symbol
                )));
            }
            ops.push(if upsert {
                DeltaOp::Upsert {
                    cluster,
                    symbol: h.symbol.clone(),
                    copies: u8::try_from(h.copies.max(1)).unwrap_or(15),
                    lendable: h.lendable,
                    copy_only: false,
                    format: None,
                }
            } else {
                DeltaOp::Withdraw {
                    cluster,
                    symbol: h.symbol.clone(),
                }
            });
            if ops.len() >= 10_000 {
                applied += ops.len() as u64;
                let batch = std::mem::take(&mut ops);
                app.log
                    .append(LogRecord::Holdings {
                        who: p.name.clone(),
                        ops: batch,
                    })
                    .await
                    .map_err(|e| log_status(&e))?;
            }
        }
        if !ops.is_empty() {
            applied += ops.len() as u64;
            app.log
                .append(LogRecord::Holdings {
                    who: p.name.clone(),
                    ops,
                })
                .await
                .map_err(|e| log_status(&e))?;
        }
        let delta = app.engine.load().catalog().delta_len() as u64;
        Ok(Response::new(pb::HoldingsSummary {
            applied,
            delta_clusters: delta,
        }))
    }
}

#[tonic::async_trait]
impl pb::catalog_server::Catalog for CatalogSvc {
    async fn lookup(
        &self,
        req: GReq<pb::LookupRequest>,
    ) -> Result<Response<pb::LookupResponse>, Status> {
        let t = Instant::now();
        let r = (|| {
            let _permit = self.0.permit()?;
            let app = self.0.app()?;
            principal(&req)?;
            let r = req.get_ref();
            let limit = if r.limit == 0 {
                10
            } else {
                r.limit.min(100) as usize
            };
            if let Some(m) = r.min_confidence
                && !(0.0..=1.0).contains(&m)
            {
                return Err(Status::invalid_argument(format!(
                    "min_confidence: {m} is not between 0 and 1"
                )));
            }
            let eng = app.engine.load();
            let cat = eng.catalog();
            let res = cat
                .resolve(
                    &convert::citation_from_wire(r.citation.as_ref()),
                    LookupOptions {
                        limit,
                        min_confidence: r
                            .min_confidence
                            .unwrap_or(rota_catalog::lookup::DEFAULT_MIN_CONFIDENCE),
                        require_identifier: r.require_identifier,
                    },
                )
                .map_err(|e| lookup_status(&e))?;
            Ok(Response::new(convert::lookup_to_wire(&res, cat)))
        })();
        observe("Lookup", t, &r);
        r
    }

    async fn stats(
        &self,
        req: GReq<pb::StatsRequest>,
    ) -> Result<Response<pb::StatsResponse>, Status> {
        let app = self.0.app()?;
        principal(&req)?;
        let eng = app.engine.load();
        let cat = eng.catalog();
        let applied = app.live.read().unwrap_or_else(|e| e.into_inner()).applied();
        Ok(Response::new(pb::StatsResponse {
            clusters: u64::from(cat.clusters()),
            holdings: cat.meta().holdings,
            libraries: cat.libraries().len() as u64,
            lenders: eng.directory().len() as u64,
            snapshot_bytes: cat.size_bytes() as u64,
            delta_clusters: cat.delta_len() as u64,
            events_applied: applied,
            source: cat.meta().source.clone(),
        }))
    }

    async fn upsert_holdings(
        &self,
        req: GReq<Streaming<pb::HoldingChange>>,
    ) -> Result<Response<pb::HoldingsSummary>, Status> {
        let t = Instant::now();
        let r = self.holdings(req, true).await;
        observe("UpsertHoldings", t, &r);
        r
    }

    async fn withdraw_holdings(
        &self,
        req: GReq<Streaming<pb::HoldingChange>>,
    ) -> Result<Response<pb::HoldingsSummary>, Status> {
        let t = Instant::now();
        let r = self.holdings(req, false).await;
        observe("WithdrawHoldings", t, &r);
        r
    }

    async fn reload(
        &self,
        req: GReq<pb::ReloadRequest>,
    ) -> Result<Response<pb::ReloadResponse>, Status> {
        let app = self.0.app()?;
        let p = principal(&req)?;
        require(&p, Role::Admin)?;
        let path = convert::opt(&req.get_ref().path)
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| app.snapshot_path.clone());
        let a2 = app.clone();
        let (c, h) = tokio::task::spawn_blocking(move || a2.reload(&path))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| Status::failed_precondition(format!("snapshot refused: {e}")))?;
        tracing::info!(who = %p.name, clusters = c, holdings = h, "catalogue reloaded");
        Ok(Response::new(pb::ReloadResponse {
            clusters: c,
            holdings: h,
        }))
    }
}

// ------------------------------------------------------------------ Admin

/// `rota.v1.Admin`.
#[derive(Clone)]
pub struct AdminSvc(pub Shared);

/// An admin change with optimistic concurrency: refused unless the caller read the current
/// version, then made durable (and applied) before the answer. Callers hold
/// `App::admin_lock`, so the check and the append cannot interleave with another change.
async fn versioned_put(
    app: &App,
    kind: &str,
    name: &str,
    current: u64,
    expected: u64,
    who: &str,
    record: impl FnOnce(u64) -> LogRecord,
) -> Result<Response<pb::PutResponse>, Status> {
    if expected != current {
        return Err(Status::aborted(format!(
            "version: {kind} {name:?} is at version {current}, not {expected}; read it again"
        )));
    }
    let version = current + 1;
    let seq = app
        .log
        .append(record(version))
        .await
        .map_err(|e| log_status(&e))?;
    tracing::info!(who, kind, name, version, seq, "admin change");
    Ok(Response::new(pb::PutResponse {
        version,
        sequence: seq,
    }))
}

fn profile_wire(p: &Profile, version: u64) -> pb::WeightProfile {
    let w = p.weights;
    let a = p.adjustments;
    pb::WeightProfile {
        name: p.name.clone(),
        mode: match p.mode {
            Mode::FastestFill => pb::RankingMode::FastestFill as i32,
            Mode::WeightedScore => pb::RankingMode::WeightedScore as i32,
        },
        w_holdings: w.holdings,
        w_load: w.load,
        w_reciprocity: w.reciprocity,
        w_tier: w.tier,
        w_cost: w.cost,
        w_distance: w.distance,
        w_turnaround: w.turnaround,
        w_fill_rate: w.fill_rate,
        adj_reciprocity: a.reciprocity,
        adj_cost: a.cost,
        adj_fairness: a.fairness,
        adj_tier: a.tier,
        version,
    }
}

fn profile_from_wire(w: &pb::WeightProfile, base: Option<&Profile>) -> Result<Profile, Status> {
    let mode = match pb::RankingMode::try_from(w.mode) {
        Ok(pb::RankingMode::FastestFill) => Mode::FastestFill,
        Ok(pb::RankingMode::WeightedScore) => Mode::WeightedScore,
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "mode: unknown value {}",
                w.mode
            )));
        }
    };
    let mut p = base.cloned().unwrap_or_default();
    p.name = w.name.clone();
    p.mode = mode;
    p.weights = rota_routing::profile::Weights {
        holdings: w.w_holdings,
        load: w.w_load,
        reciprocity: w.w_reciprocity,
        tier: w.w_tier,
        cost: w.w_cost,
        distance: w.w_distance,
        turnaround: w.w_turnaround,
        fill_rate: w.w_fill_rate,
    };
    p.adjustments = rota_routing::profile::Adjustments {
        reciprocity: w.adj_reciprocity,
        cost: w.adj_cost,
        fairness: w.adj_fairness,
        tier: w.adj_tier,
    };
    p.validate()
        .map_err(|e| Status::invalid_argument(e.to_string()))?;
    Ok(p)
}

/// The Admin Simulate RPC's bounds (see the proto).
const SIM_MAX_SECONDS: u32 = 120;
const SIM_MAX_LIBRARIES: usize = 1_000;
const SIM_MAX_RECORDS: usize = 500_000;
const SIM_MAX_REQUESTS: f64 = 200_000.0;
const SIM_MAX_STRATEGIES: usize = 12;
const SIM_MAX_PROFILES: usize = 4;

/// One simulation at a time: the flag is held by the blocking task itself, so a client
/// that goes away does not free the slot before the simulation really ends.
static SIM_RUNNING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

struct SimSlot;

impl SimSlot {
    fn take() -> Option<SimSlot> {
        SIM_RUNNING
            .compare_exchange(
                false,
                true,
                std::sync::atomic::Ordering::AcqRel,
                std::sync::atomic::Ordering::Acquire,
            )
            .ok()
            .map(|_| SimSlot)
    }
}

impl Drop for SimSlot {
    fn drop(&mut self) {
        SIM_RUNNING.store(false, std::sync::atomic::Ordering::Release);
    }
}

/// The scenario and profiles of a Simulate request, checked against the bounds.
fn sim_input(
    r: &pb::SimulateRequest,
) -> Result<(rota_sim::Scenario, Vec<rota_routing::Profile>), Status> {
    let bad = |m: String| Status::invalid_argument(m);
    let s: rota_sim::Scenario = if r.scenario_toml.trim().is_empty() {
        rota_sim::Scenario::default()
    } else {
        toml::from_str(&r.scenario_toml)
            .map_err(|e| bad(format!("scenario_toml: {}", e.to_string().trim())))?
    };
    if s.imls.is_some() {
        return Err(bad(
            "scenario_toml: imls names a server-side file; not accepted over RPC".into(),
        ));
    }
    if s.strategies.iter().any(|x| x.starts_with("profile:")) {
        return Err(bad(
            "scenario_toml: profile:FILE strategies read server-side files; pass profiles in profiles_toml".into(),
        ));
    }
    if s.libraries > SIM_MAX_LIBRARIES {
        return Err(bad(format!(
            "scenario_toml: libraries {} is above {SIM_MAX_LIBRARIES}",
            s.libraries
        )));
    }
    if s.records > SIM_MAX_RECORDS {
        return Err(bad(format!(
            "scenario_toml: records {} is above {SIM_MAX_RECORDS}",
            s.records
        )));
    }
    let requests = f64::from(s.days) * s.requests_per_day;
    if requests.is_nan() || requests > SIM_MAX_REQUESTS {
        return Err(bad(format!(
            "scenario_toml: days × requests_per_day = {requests:.0} is above {SIM_MAX_REQUESTS:.0}"
        )));
    }
    if s.strategies.len() + r.profiles_toml.len() > SIM_MAX_STRATEGIES {
        return Err(bad(format!(
            "at most {SIM_MAX_STRATEGIES} strategies and profiles together"
        )));
    }
    if r.profiles_toml.len() > SIM_MAX_PROFILES {
        return Err(bad(format!(
            "profiles_toml: at most {SIM_MAX_PROFILES} profiles"
        )));
    }
    let profiles = r
        .profiles_toml
        .iter()
        .enumerate()
        .map(|(i, t)| {
            rota_routing::Profile::parse(t, false)
                .map_err(|e| bad(format!("profiles_toml[{i}]: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((s, profiles))
}

#[tonic::async_trait]
impl pb::admin_server::Admin for AdminSvc {
    async fn simulate(
        &self,
        req: GReq<pb::SimulateRequest>,
    ) -> Result<Response<pb::SimulateResponse>, Status> {
        let t = Instant::now();
        let r = async {
            self.0.app()?;
            require(&principal(&req)?, Role::Ops)?;
            let (scenario, profiles) = sim_input(req.get_ref())?;
            let secs = match req.get_ref().time_limit_seconds {
                0 => SIM_MAX_SECONDS,
                n => n.min(SIM_MAX_SECONDS),
            };
            let slot = SimSlot::take().ok_or_else(|| {
                Status::resource_exhausted("a simulation is already running; retry when it ends")
            })?;
            tracing::info!(
                libraries = scenario.libraries,
                records = scenario.records,
                days = scenario.days,
                limit_s = secs,
                "simulation started"
            );
            let out = tokio::task::spawn_blocking(move || {
                let _slot = slot;
                rota_sim::simulate_with(
                    &scenario,
                    profiles,
                    Some(std::time::Duration::from_secs(u64::from(secs))),
                )
            })
            .await
            .map_err(|_| Status::internal("the simulation task failed"))?;
            match out {
                Ok(rep) => Ok(pb::SimulateResponse {
                    report_markdown: rep.markdown(),
                    report_json: serde_json::to_string_pretty(&rep)
                        .map_err(|e| Status::internal(format!("report: {e}")))?,
                    time_to_fill_svg: rep.svg_time_to_fill(),
                    load_svg: rep.svg_load(),
                    seconds: t.elapsed().as_secs_f64(),
                }),
                Err(e @ rota_sim::SimError::Deadline(_)) => {
                    Err(Status::deadline_exceeded(e.to_string()))
                }
                Err(e) => Err(Status::invalid_argument(e.to_string())),
            }
        }
        .await;
        observe("Admin.Simulate", t, &r);
        r.map(Response::new)
    }

    async fn get_profile(
        &self,
        req: GReq<pb::GetProfileRequest>,
    ) -> Result<Response<pb::WeightProfile>, Status> {
        let app = self.0.app()?;
        require(&principal(&req)?, Role::Ops)?;
        let eng = app.engine.load();
        let name = &req.get_ref().name;
        let p = eng
            .profile(name)
            .ok_or_else(|| Status::not_found(format!("profile {name:?} does not exist")))?;
        let v = app
            .versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .profiles
            .get(name)
            .copied()
            .unwrap_or(0);
        Ok(Response::new(profile_wire(p, v)))
    }

    async fn put_profile(
        &self,
        req: GReq<pb::WeightProfile>,
    ) -> Result<Response<pb::PutResponse>, Status> {
        let t = Instant::now();
        let r = async {
            let app = self.0.app()?;
            let who = principal(&req)?;
            require(&who, Role::Ops)?;
            let w = req.get_ref();
            if w.name.trim().is_empty() {
                return Err(Status::invalid_argument("name: required"));
            }
            let eng = app.engine.load();
            let p = profile_from_wire(w, eng.profile(&w.name))?;
            let _admin = app.admin_lock.lock().await;
            let current = app
                .versions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .profiles
                .get(&w.name)
                .copied()
                .unwrap_or(0);
            versioned_put(
                &app,
                "profile",
                &w.name,
                current,
                w.version,
                &who.name,
                |version| LogRecord::Profile {
                    who: who.name.clone(),
                    profile: p,
                    version,
                },
            )
            .await
        }
        .await;
        observe("PutProfile", t, &r);
        r
    }

    async fn list_profiles(
        &self,
        req: GReq<pb::ListProfilesRequest>,
    ) -> Result<Response<pb::ListProfilesResponse>, Status> {
        let app = self.0.app()?;
        require(&principal(&req)?, Role::Ops)?;
        let eng = app.engine.load();
        let v = app
            .versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Ok(Response::new(pb::ListProfilesResponse {
            profiles: eng
                .profiles()
                .into_iter()
                .map(|p| profile_wire(p, v.profiles.get(&p.name).copied().unwrap_or(0)))
                .collect(),
        }))
    }

    async fn get_lender(
        &self,
        req: GReq<pb::GetLenderRequest>,
    ) -> Result<Response<pb::LenderEntry>, Status> {
        let app = self.0.app()?;
        require(&principal(&req)?, Role::Ops)?;
        let eng = app.engine.load();
        let sym = &req.get_ref().symbol;
        let i = eng
            .directory()
            .index(sym)
            .ok_or_else(|| Status::not_found(format!("lender {sym:?} does not exist")))?;
        let v = app
            .versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lenders
            .get(sym)
            .copied()
            .unwrap_or(0);
        Ok(Response::new(pb::LenderEntry {
            symbol: sym.clone(),
            entry_json: serde_json::to_string(eng.directory().get(i)).unwrap_or_default(),
            version: v,
        }))
    }

    async fn put_lender(
        &self,
        req: GReq<pb::LenderEntry>,
    ) -> Result<Response<pb::PutResponse>, Status> {
        let t = Instant::now();
        let r = async {
            let app = self.0.app()?;
            let who = principal(&req)?;
            require(&who, Role::Ops)?;
            let e = req.get_ref();
            let lender: rota_routing::Lender = serde_json::from_str(&e.entry_json)
                .map_err(|err| Status::invalid_argument(format!("entry_json: {err}")))?;
            if lender.symbol != e.symbol {
                return Err(Status::invalid_argument(
                    "entry_json.symbol: differs from symbol",
                ));
            }
            // validate the entry as a directory of one, so errors name the field
            rota_routing::Directory::new(vec![lender.clone()], "entry_json")
                .map_err(|err| Status::invalid_argument(err.to_string()))?;
            let _admin = app.admin_lock.lock().await;
            let current = app
                .versions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .lenders
                .get(&e.symbol)
                .copied()
                .unwrap_or(0);
            versioned_put(
                &app,
                "lender",
                &e.symbol,
                current,
                e.version,
                &who.name,
                |version| LogRecord::Lender {
                    who: who.name.clone(),
                    lender: Box::new(lender),
                    version,
                },
            )
            .await
        }
        .await;
        observe("PutLender", t, &r);
        r
    }

    async fn list_lenders(
        &self,
        req: GReq<pb::ListLendersRequest>,
    ) -> Result<Response<pb::ListLendersResponse>, Status> {
        let app = self.0.app()?;
        require(&principal(&req)?, Role::Ops)?;
        let r = req.get_ref();
        let size = if r.page_size == 0 {
            100
        } else {
            r.page_size.min(1000)
        } as usize;
        let eng = app.engine.load();
        let v = app
            .versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let all = eng.directory().lenders();
        Ok(Response::new(pb::ListLendersResponse {
            lenders: all
                .iter()
                .skip(r.offset as usize)
                .take(size)
                .map(|l| pb::LenderEntry {
                    symbol: l.symbol.clone(),
                    entry_json: serde_json::to_string(l).unwrap_or_default(),
                    version: v.lenders.get(&l.symbol).copied().unwrap_or(0),
                })
                .collect(),
            total: all.len() as u32,
        }))
    }
}

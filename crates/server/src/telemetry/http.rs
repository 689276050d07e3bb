//! The operations listener: `/metrics` for Prometheus, `/healthz` for liveness,
//! `/readyz` for readiness, 404 for anything else.
//!
//! Liveness and readiness differ on purpose: while the catalogue loads (minutes for a
//! national one) and while the server drains on shutdown, the process is alive (do not
//! restart it) but not ready (send it no calls).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;

use super::{IN_FLIGHT, READY};

/// Where the server is in its life, as the probes report it: loading (0, the default),
/// serving or draining.
#[derive(Debug, Default)]
pub struct Readiness(AtomicU8);

const SERVING: u8 = 1;
const DRAINING: u8 = 2;

impl Readiness {
    /// The catalogue is loaded: calls are served.
    pub fn serving(&self) {
        self.0.store(SERVING, Ordering::Release);
        metrics::gauge!(READY).set(1.0);
    }

    /// Shutting down: in-flight calls finish, new ones should go elsewhere.
    pub fn draining(&self) {
        self.0.store(DRAINING, Ordering::Release);
        metrics::gauge!(READY).set(0.0);
    }

    /// `Ok` when ready, else why not.
    pub fn check(&self) -> Result<(), &'static str> {
        match self.0.load(Ordering::Acquire) {
            SERVING => Ok(()),
            DRAINING => Err("draining: shutting down"),
            _ => Err("loading the catalogue"),
        }
    }
}

/// What the listener reads.
#[derive(Clone)]
pub struct Ops {
    /// The exporter, if this process installed it.
    pub metrics: Option<PrometheusHandle>,
    /// Readiness.
    pub readiness: Arc<Readiness>,
    /// Calls in the server now (read at each scrape, not kept up to date per call).
    pub in_flight: Arc<dyn Fn() -> usize + Send + Sync>,
}

/// Binds `addr` and serves the operations endpoints until the process ends (they must
/// keep answering while the gRPC server drains). Returns the bound address.
pub async fn listen(addr: SocketAddr, ops: Ops) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    if let Some(h) = ops.metrics.clone() {
        // histograms keep raw samples until upkeep folds them into buckets: without it,
        // a server nobody scrapes would grow without bound
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                h.run_upkeep();
            }
        });
    }
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                "not found: this listener serves /metrics, /healthz and /readyz\n",
            )
        })
        .with_state(ops);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics and probes listener stopped");
        }
    });
    Ok(bound)
}

/// The Prometheus text exposition format's media type.
const EXPOSITION: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn metrics(State(ops): State<Ops>) -> Response {
    match &ops.metrics {
        Some(h) => {
            metrics::gauge!(IN_FLIGHT).set((ops.in_flight)() as f64);
            ([(header::CONTENT_TYPE, EXPOSITION)], h.render()).into_response()
        }
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics unavailable: another metrics recorder was installed in this process\n",
        )
            .into_response(),
    }
}

async fn ready(State(ops): State<Ops>) -> (StatusCode, String) {
    match ops.readiness.check() {
        Ok(()) => (StatusCode::OK, "ready\n".into()),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        ),
    }
}

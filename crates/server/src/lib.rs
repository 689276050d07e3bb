//! # rota-server: the gRPC service
//!
//! A thin layer over the synchronous engine (as quickwit is over tantivy):
//!
//! - [`admission`] decides, as each call arrives, whether the server takes it on: a
//!   permit for the whole call (streams included), `RESOURCE_EXHAUSTED` at once past it;
//! - [`cores`] runs the engine's slow work on blocking threads, one per core, with a
//!   bounded wait for a core (adaptive LIFO: the newest waiter first once a queue
//!   stands) and `RESOURCE_EXHAUSTED` past it, rather than a growing queue;
//! - [`service`] implements `rota.v1.Routing`, `Events`, `Catalog` and `Admin`, checks
//!   tokens and roles, runs engine work on the cores, and maps domain errors to status
//!   codes in one place (`service::status`); [`convert`] turns wire messages into domain
//!   types and back;
//! - [`log`] is the durable, checksummed, group-committed log every write goes through;
//! - [`app`] holds the engine (swapped atomically on reload and admin changes), the live
//!   state, checkpoints and replay;
//! - [`config`] reads TOML + `ROTA_*` environment + flags, refusing unknown keys;
//! - [`console`] serves the operators' web pages and their JSON twins on a listener of
//!   their own; [`changes`] holds the admin changes it shares with the Admin service;
//! - [`telemetry`] counts and times every call in one layer over the router and serves
//!   `/metrics`, `/healthz` and `/readyz` on the operations listener.
//!
//! The standard health service reports NOT_SERVING until the catalogue is loaded (the
//! server listens at once and loads in the background), and server reflection lets
//! `grpcurl` and any gRPC client explore the API.

pub mod admission;
pub mod app;
pub mod availability;
pub mod changes;
pub mod config;
pub mod console;
pub mod convert;
pub mod cores;
pub mod history;
pub mod iso18626;
pub mod log;
pub mod outbound;
pub mod reroute;
mod restore;
pub mod service;
pub mod telemetry;
pub mod whatif;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use rota_catalog::Catalog;
use rota_proto::v1 as pb;
use rota_routing::Directory;
use tonic::service::interceptor::InterceptedService;

pub use app::{App, StartError};
pub use config::{Config, Role, TokenConfig, hash_token};

/// What the server serves: a catalogue (and the path it came from), a directory, and a
/// history of events to record durably on the very first start (the demo's; else empty).
pub type Loaded = (Catalog, PathBuf, Directory, Vec<rota_routing::Event>);

/// HTTP/2 connection flow-control window, bytes (see where it is set).
const CONNECTION_WINDOW: u32 = 8 << 20;

/// Calls one HTTP/2 connection may have open at once (the setting clients queue behind).
const MAX_STREAMS_PER_CONNECTION: u32 = 65_536;

/// A running server's address, known once it is bound.
pub struct Bound {
    /// The address actually bound (useful with port 0).
    pub addr: SocketAddr,
    /// The operations listener (`/metrics`, `/healthz`, `/readyz`), if one is configured.
    pub ops: Option<SocketAddr>,
    /// The ISO 18626 front (`/iso18626`), if one is configured.
    pub iso18626: Option<SocketAddr>,
    /// The operators' console, if one is configured.
    pub console: Option<SocketAddr>,
}

/// Keeps every lender's cached estimates fresh (see `LiveState::refresh_stale`), so
/// routing reads a cache even for lenders that have not answered for hours. A write lock
/// held for tens of microseconds every five minutes.
fn spawn_refresh(app: Arc<App>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            tick.tick().await;
            let now = chrono::Utc::now().timestamp();
            app.live
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .refresh_stale(now);
        }
    });
}

/// Publishes lender load with bounded cardinality: no per-lender series (a consortium has
/// hundreds) and no rank labels, but totals an operator alerts on.
fn spawn_load_gauges(app: Arc<App>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
        loop {
            tick.tick().await;
            let eng = app.engine.load();
            let dir = eng.directory();
            let (mut total, mut busiest, mut full) = (0u64, 0u32, 0u32);
            {
                let live = app.live.read().unwrap_or_else(|e| e.into_inner());
                for i in dir.ids() {
                    let open = live.open_requests(i);
                    total += u64::from(open);
                    busiest = busiest.max(open);
                    if open >= dir.get(i).capacity.open_requests.unwrap_or(100) {
                        full += 1;
                    }
                }
            }
            metrics::gauge!(telemetry::LENDERS).set(dir.len() as f64);
            metrics::gauge!(telemetry::LENDERS_AT_CAPACITY).set(f64::from(full));
            metrics::gauge!(telemetry::OPEN_REQUESTS).set(total as f64);
            metrics::gauge!(telemetry::BUSIEST_LENDER_OPEN).set(f64::from(busiest));
        }
    });
}

/// Serves until `shutdown` resolves, then drains in-flight calls and writes a checkpoint.
/// `load` runs on a blocking thread after the listener is bound; `on_bound` is called
/// with the bound address before loading starts.
pub async fn serve(
    config: Config,
    load: impl FnOnce() -> Result<Loaded, StartError> + Send + 'static,
    on_bound: impl FnOnce(Bound),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    config.validate()?;
    config.check_files()?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    let admission = admission::Admission::new(config.limits.max_in_flight);
    let readiness = Arc::new(telemetry::http::Readiness::default());
    let ops = match config.metrics_listen {
        Some(at) => {
            let max = config.limits.max_in_flight;
            let adm = admission.clone();
            let ops = telemetry::http::Ops {
                metrics: telemetry::install(),
                readiness: readiness.clone(),
                in_flight: Arc::new(move || adm.in_flight(max)),
            };
            let bound = telemetry::http::listen(at, ops)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {at} (metrics_listen): {e}"))?;
            tracing::info!(addr = %bound, "metrics and probes at http://{bound}/metrics, /healthz, /readyz");
            Some(bound)
        }
        None => None,
    };
    metrics::gauge!(telemetry::READY).set(0.0);
    let slot: service::Slot = Arc::new(OnceLock::new());
    let iso18626 = match config.iso18626.listen {
        Some(at) => {
            let broker = match &config.iso18626.agency {
                Some(_) => {
                    let path = config
                        .iso18626
                        .store
                        .clone()
                        .unwrap_or_else(|| config.data_dir.join("broker.sqlite"));
                    if let Some(d) = path.parent() {
                        std::fs::create_dir_all(d).map_err(|e| {
                            anyhow::anyhow!("cannot create {} (iso18626.store): {e}", d.display())
                        })?;
                    }
                    let store = iso18626::broker::store::Store::open(&path).map_err(|e| {
                        anyhow::anyhow!("cannot open {} (iso18626.store): {e}", path.display())
                    })?;
                    Some(iso18626::broker::Broker::new(
                        config.iso18626.clone(),
                        store,
                    ))
                }
                None => None,
            };
            let bound = iso18626::listen(at, slot.clone(), broker)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {at} (iso18626.listen): {e}"))?;
            tracing::info!(addr = %bound, "ISO 18626 messages at http://{bound}/iso18626");
            Some(bound)
        }
        None => None,
    };
    let console = match config.console.listen {
        Some(at) => {
            let bound = console::listen(at, slot.clone(), &config.tokens, config.console.clone())
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {at} (console.listen): {e}"))?;
            tracing::info!(addr = %bound, "operators' console at http://{bound}/");
            Some(bound)
        }
        None => None,
    };
    on_bound(Bound {
        addr,
        ops,
        iso18626,
        console,
    });

    let (health, health_svc) = tonic_health::server::health_reporter();
    health
        .set_service_status("", tonic_health::ServingStatus::NotServing)
        .await;
    let names = [
        "rota.v1.Routing",
        "rota.v1.Events",
        "rota.v1.Catalog",
        "rota.v1.Admin",
    ];
    for n in names {
        health
            .set_service_status(n, tonic_health::ServingStatus::NotServing)
            .await;
    }
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(rota_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    // v1alpha too: grpcio-reflection, Postman and older grpcurl and grpc_cli ask for it
    let reflection_alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(rota_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let shared = service::Shared {
        slot: slot.clone(),
        cores: cores::Cores::new(
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
            std::time::Duration::from_millis(config.limits.max_queue_ms),
        ),
        max_stream_items: config.limits.max_stream_items,
    };
    // load in the background; health flips to SERVING when done
    let cfg = config.clone();
    let (load_err_tx, mut load_err_rx) = tokio::sync::oneshot::channel::<String>();
    {
        let slot = slot.clone();
        let health = health.clone();
        let readiness = readiness.clone();
        tokio::spawn(async move {
            let t = std::time::Instant::now();
            let r = tokio::task::spawn_blocking(move || {
                let (cat, path, dir, history) = load()?;
                metrics::gauge!(telemetry::INDEX_CLUSTERS).set(f64::from(cat.clusters()));
                metrics::gauge!(telemetry::INDEX_HOLDINGS).set(cat.meta().holdings as f64);
                metrics::gauge!(telemetry::INDEX_BYTES).set(cat.size_bytes() as f64);
                App::start(cfg, cat, path, dir).map(|a| (a, history))
            })
            .await;
            match r {
                Ok(Ok((app, history))) => {
                    let fresh = app.applied_seq.load(std::sync::atomic::Ordering::Acquire) == 0;
                    if fresh && !history.is_empty() {
                        // record the history durably, in order, many appends sharing each sync
                        let n = history.len();
                        let mut receipts = Vec::with_capacity(n);
                        for e in history {
                            match app.log.submit(log::LogRecord::Event(e)).await {
                                Ok(r) => receipts.push(r),
                                Err(err) => {
                                    tracing::warn!(error = %err, "history event not recorded")
                                }
                            }
                        }
                        for r in receipts {
                            if let Err(err) = r.durable().await {
                                tracing::warn!(error = %err, "history event not recorded");
                            }
                        }
                        tracing::info!(events = n, "recorded the demo history");
                    }
                    spawn_load_gauges(app.clone());
                    spawn_refresh(app.clone());
                    let _ = slot.set(app);
                    readiness.serving();
                    health
                        .set_service_status("", tonic_health::ServingStatus::Serving)
                        .await;
                    for n in names {
                        health
                            .set_service_status(n, tonic_health::ServingStatus::Serving)
                            .await;
                    }
                    tracing::info!(
                        seconds = t.elapsed().as_secs_f64(),
                        "catalogue loaded; serving"
                    );
                }
                Ok(Err(e)) => {
                    let _ = load_err_tx.send(e.to_string());
                }
                Err(e) => {
                    let _ = load_err_tx.send(format!("loader panicked: {e}"));
                }
            }
        });
    }

    let icpt = service::interceptor(config.tokens.clone());
    let max = config.limits.max_message_bytes;
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = &config.tls {
        let cert = std::fs::read(&tls.cert)
            .map_err(|e| anyhow::anyhow!("tls cert {}: {e}", tls.cert.display()))?;
        let key = std::fs::read(&tls.key)
            .map_err(|e| anyhow::anyhow!("tls key {}: {e}", tls.key.display()))?;
        builder = builder.tls_config(
            tonic::transport::ServerTlsConfig::new()
                .identity(tonic::transport::Identity::from_pem(cert, key)),
        )?;
    }
    let router = builder
        // a client streaming into a call that was answered early (shed, refused) keeps
        // sending DATA for a moment; each frame is a "local error reset" to h2, and at
        // hyper's default of 1,024 the whole connection is cut with ENHANCE_YOUR_CALM,
        // taking every well-behaved call on it along
        .http2_max_local_error_reset_streams(Some(1 << 20))
        // h2 allows a connection only so many small DATA frames not yet read by a handler
        // (half the connection window: 32 KiB by default, ~160 unary requests) before it
        // cuts the connection with ENHANCE_YOUR_CALM "too_many_data_frames"; under load
        // more than that wait their turn on a busy connection. An 8 MiB window raises the
        // allowance to ~20,000, above what max_concurrent_streams lets a client send.
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
        // outermost, so it sees every call's final code, shed and oversize ones included
        .layer(telemetry::rpc::ObserveLayer)
        .layer(tower::util::MapResponseLayer::new(
            service::status::oversize_response,
        ))
        .add_service(health_svc)
        .add_service(reflection)
        .add_service(reflection_alpha)
        .add_service(
            admission.wrap(InterceptedService::new(
                pb::routing_server::RoutingServer::new(service::RoutingSvc(shared.clone()))
                    .max_decoding_message_size(max),
                icpt.clone(),
            )),
        )
        .add_service(
            admission.wrap(InterceptedService::new(
                pb::events_server::EventsServer::new(service::EventsSvc(shared.clone()))
                    .max_decoding_message_size(max),
                icpt.clone(),
            )),
        )
        .add_service(
            admission.wrap(InterceptedService::new(
                pb::catalog_server::CatalogServer::new(service::CatalogSvc(shared.clone()))
                    .max_decoding_message_size(max),
                icpt.clone(),
            )),
        )
        .add_service(
            admission.wrap(InterceptedService::new(
                pb::admin_server::AdminServer::new(service::AdminSvc(shared.clone()))
                    .max_decoding_message_size(max),
                icpt,
            )),
        );
    // Nagle's algorithm plus delayed ACKs stall small responses for ~40 ms; tonic sets
    // TCP_NODELAY only on listeners it binds itself, so set it on each accepted socket
    let incoming = tokio_stream::StreamExt::map(
        tokio_stream::wrappers::TcpListenerStream::new(listener),
        |s| {
            s.inspect(|s| {
                let _ = s.set_nodelay(true);
            })
        },
    );
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serve = router.serve_with_incoming_shutdown(incoming, async move {
        let _ = stop_rx.await;
    });
    tokio::pin!(serve);
    let mut shutdown = Box::pin(shutdown);
    let mut stop_tx = Some(stop_tx);
    let mut load_failed = None;
    loop {
        tokio::select! {
            r = &mut serve => { r?; break; }
            _ = &mut shutdown, if stop_tx.is_some() => {
                tracing::info!("shutting down: draining in-flight calls");
                readiness.draining();
                if let Some(tx) = stop_tx.take() { let _ = tx.send(()); }
            }
            e = &mut load_err_rx, if load_failed.is_none() => {
                if let Ok(e) = e {
                    tracing::error!(error = %e, "cannot load; stopping");
                    load_failed = Some(e);
                    if let Some(tx) = stop_tx.take() { let _ = tx.send(()); }
                } else {
                    load_failed = Some(String::new());
                }
            }
        }
    }
    if let Some(e) = load_failed.filter(|e| !e.is_empty()) {
        anyhow::bail!("{e}");
    }
    if let Some(app) = slot.get() {
        let a = app.clone();
        match tokio::task::spawn_blocking(move || a.checkpoint()).await {
            Ok(Ok(seq)) => tracing::info!(seq, "final checkpoint written"),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "final checkpoint failed; the log has everything")
            }
            Err(e) => tracing::warn!(error = %e, "final checkpoint task failed"),
        }
    }
    Ok(())
}

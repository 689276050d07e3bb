//! `rota-loadtest`: drives a running rota over loopback, with a fixed number of
//! connections and requests in flight, for a bounded count or duration, and stops by
//! itself. Modes: unary `Route`, `RouteStream`, `RouteBatch`, and durable event
//! reporting (`Report`). Closed loop by default; `--rate` makes it open loop (fixed
//! arrival rate, latency measured from the intended send time, so queueing shows).
//!
//! `rota-loadtest floor --listen 127.0.0.1:0` runs the floor: a tonic server with the
//! same services and message shapes that does no work, to measure what gRPC itself costs
//! on this machine. rota's ratio to the floor is the figure that travels between
//! machines.
//!
//! `rota-loadtest baseline` loads the same catalogue into PostgreSQL and compares the
//! candidate query there with rota's engine in-process (see [`baseline`]).

mod baseline;
mod overload;
mod report;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use futures::StreamExt;
use hdrhistogram::Histogram;
use rota_proto::v1 as pb;
use tokio::sync::Mutex;
use tonic::{Request, Response, Status, Streaming};

// the allocator rota's own binary uses, for the in-process engine measurements
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "rota-loadtest", about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Drive a server.
    Run(RunArgs),
    /// The PostgreSQL baseline: load the same catalogue and lenders, and run the same
    /// candidate query against rota's engine in-process at the same concurrency.
    Baseline(baseline::BaselineArgs),
    /// Offer several times the server's capacity and see it shed the excess (capacity,
    /// unloaded, overload and recovery phases).
    Overload(overload::OverloadArgs),
    /// Turn a `loadtest/report.sh` run's results into tables and SVG charts.
    Report(report::ReportArgs),
    /// Serve the do-nothing floor.
    Floor {
        /// Address (port 0 picks one; the bound address is printed).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    Route,
    Stream,
    Batch,
    Report,
}

#[derive(Parser, Clone)]
pub(crate) struct RunArgs {
    /// Server (http://host:port).
    #[arg(long)]
    pub(crate) server: String,
    /// Mode.
    #[arg(long, value_enum, default_value = "route")]
    pub(crate) mode: Mode,
    /// Connections.
    #[arg(long, default_value_t = 4)]
    pub(crate) connections: usize,
    /// Requests in flight per connection (batch: streams per connection).
    #[arg(long, default_value_t = 16)]
    pub(crate) in_flight: usize,
    /// Stop after this many requests (events in report mode)...
    #[arg(long, default_value_t = 100_000)]
    pub(crate) requests: u64,
    /// ...or after this many seconds, whichever comes first.
    #[arg(long, default_value_t = 30.0)]
    pub(crate) seconds: f64,
    /// Open loop: this many requests per second in total (0 = closed loop).
    #[arg(long, default_value_t = 0.0)]
    pub(crate) rate: f64,
    /// Requests per RouteBatch stream / events per Report stream.
    #[arg(long, default_value_t = 1000)]
    pub(crate) batch: usize,
    /// Records in the server's demo catalogue (ISBNs are drawn from it).
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) records: u64,
    /// Libraries in the server's demo consortium (borrowers and lenders).
    #[arg(long, default_value_t = 300)]
    pub(crate) libraries: u64,
    /// Bearer token.
    #[arg(long, env = "ROTA_TOKEN")]
    pub(crate) token: Option<String>,
    /// Write the JSON result here too.
    #[arg(long)]
    pub(crate) json: Option<std::path::PathBuf>,
    /// Every request a title-and-author citation (a fuzzy lookup, many times the work of
    /// an identifier hit) instead of the mix.
    #[arg(long)]
    pub(crate) titles: bool,
    /// The title `--titles` cites.
    #[arg(long, default_value = "kaloma neviro")]
    pub(crate) title: String,
}

/// The request mix: identifier hits (60 %), re-routes with tried lenders (15 %),
/// title-only citations with a typo (10 %), articles by ISSN-less serial ISBN (5 %) and
/// misses (10 %); with `--titles`, all title-and-author citations.
pub(crate) fn request(k: u64, a: &RunArgs) -> pb::RouteRequest {
    let rec = (k.wrapping_mul(2_654_435_761)) % a.records;
    let borrower = format!("L{:05}", (k * 7) % a.libraries);
    let mut r = pb::RouteRequest {
        request_id: format!("lt-{k}"),
        borrower,
        max_lenders: 5,
        citation: Some(pb::Citation {
            isbn: rota_catalog::generate::isbn_of(rec),
            ..Default::default()
        }),
        ..Default::default()
    };
    let slot = if a.titles { 15 } else { k % 20 };
    match slot {
        0..=11 => {}
        12..=14 => {
            r.tried = vec![pb::TriedLender {
                lender: format!("L{:05}", (k * 13) % a.libraries),
                reason: pb::TriedReason::NotHeld as i32,
                answered_at: 0,
            }]
        }
        15 | 16 => {
            r.citation = Some(pb::Citation {
                title: a.title.clone(),
                author: "ranka".into(),
                ..Default::default()
            })
        }
        17 => r.service_type = pb::ServiceType::Copy as i32,
        _ => {
            r.citation = Some(pb::Citation {
                isbn: "9780000000002".into(),
                ..Default::default()
            })
        }
    }
    r
}

pub(crate) fn authed<T>(m: T, token: &Option<String>) -> Request<T> {
    let mut r = Request::new(m);
    if let Some(t) = token
        && let Ok(v) = format!("Bearer {t}").parse()
    {
        r.metadata_mut().insert("authorization", v);
    }
    r
}

struct Shared {
    next: AtomicU64,
    ok: AtomicU64,
    failed: AtomicU64,
    /// Refused with RESOURCE_EXHAUSTED: the server shedding what it cannot serve in
    /// time, as designed (a closed loop on a busy machine meets it now and then); counted
    /// apart from failures.
    shed: AtomicU64,
    hist: Mutex<Histogram<u64>>,
}

/// What a closed or open loop run measured.
pub(crate) struct Measured {
    pub(crate) ok: u64,
    pub(crate) failed: u64,
    pub(crate) shed: u64,
    pub(crate) seconds: f64,
    pub(crate) p99_us: f64,
    hist: Histogram<u64>,
}

/// Drives the server as `a` says and returns what it measured, printing nothing.
pub(crate) async fn run_quiet(a: RunArgs) -> anyhow::Result<Measured> {
    let url = if a.server.contains("://") {
        a.server.clone()
    } else {
        format!("http://{}", a.server)
    };
    let mut channels = Vec::new();
    for _ in 0..a.connections.max(1) {
        channels.push(
            tonic::transport::Endpoint::from_shared(url.clone())?
                .connect()
                .await?,
        );
    }
    let shared = Arc::new(Shared {
        next: AtomicU64::new(0),
        ok: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        shed: AtomicU64::new(0),
        hist: Mutex::new(Histogram::new_with_bounds(1, 60_000_000_000, 3)?),
    });
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(a.seconds);
    let per_task_rate = if a.rate > 0.0 {
        a.rate / (a.connections * a.in_flight) as f64
    } else {
        0.0
    };
    let mut tasks = Vec::new();
    for ch in &channels {
        for _ in 0..a.in_flight.max(1) {
            let (ch, a, sh) = (ch.clone(), a.clone(), shared.clone());
            tasks.push(tokio::spawn(async move {
                worker(ch, a, sh, deadline, per_task_rate).await
            }));
        }
    }
    for t in tasks {
        t.await??;
    }
    let secs = start.elapsed().as_secs_f64();
    let hist = shared.hist.lock().await.clone();
    Ok(Measured {
        ok: shared.ok.load(Ordering::Relaxed),
        failed: shared.failed.load(Ordering::Relaxed),
        shed: shared.shed.load(Ordering::Relaxed),
        seconds: secs,
        p99_us: hist.value_at_quantile(0.99) as f64 / 1e3,
        hist,
    })
}

async fn run(a: RunArgs) -> anyhow::Result<bool> {
    let m = run_quiet(a.clone()).await?;
    let url = if a.server.contains("://") {
        a.server.clone()
    } else {
        format!("http://{}", a.server)
    };
    let (ok, failed, shed, secs, h) = (m.ok, m.failed, m.shed, m.seconds, &m.hist);
    let us = |q: f64| h.value_at_quantile(q) as f64 / 1e3;
    let result = serde_json::json!({
        "mode": format!("{:?}", a.mode).to_lowercase(),
        "server": url, "connections": a.connections, "in_flight": a.in_flight, "open_loop_rate": a.rate,
        "ok": ok, "failed": failed, "shed": shed, "seconds": secs, "per_second": ok as f64 / secs,
        "latency_us": {"p50": us(0.5), "p90": us(0.9), "p99": us(0.99), "p999": us(0.999), "max": h.max() as f64 / 1e3},
        "latency_unit": if matches!(a.mode, Mode::Batch | Mode::Report) { "per stream" } else { "per request" },
    });
    if let Some(p) = &a.json {
        std::fs::write(p, serde_json::to_vec_pretty(&result)?)?;
    }
    println!("{}", serde_json::to_string(&result)?);
    eprintln!(
        "{:?}: {ok} ok, {shed} shed, {failed} failed in {secs:.2} s = {:.0}/s; p50 {:.0} µs p99 {:.0} µs p99.9 {:.0} µs",
        a.mode,
        ok as f64 / secs,
        us(0.5),
        us(0.99),
        us(0.999)
    );
    Ok(failed == 0)
}

async fn worker(
    ch: tonic::transport::Channel,
    a: RunArgs,
    sh: Arc<Shared>,
    deadline: Instant,
    rate: f64,
) -> anyhow::Result<()> {
    let mut routing = pb::routing_client::RoutingClient::new(ch.clone());
    let mut events = pb::events_client::EventsClient::new(ch);
    let unit = match a.mode {
        Mode::Batch | Mode::Report => a.batch as u64,
        _ => 1,
    };
    let t0 = Instant::now();
    let mut sent = 0u64;
    loop {
        let k = sh.next.fetch_add(unit, Ordering::Relaxed);
        if k >= a.requests || Instant::now() >= deadline {
            return Ok(());
        }
        // open loop: wait for this request's slot, and measure from it
        let intended = if rate > 0.0 {
            let at = t0 + Duration::from_secs_f64(sent as f64 / rate);
            tokio::time::sleep_until(at.into()).await;
            at
        } else {
            Instant::now()
        };
        sent += 1;
        let n = unit.min(a.requests - k);
        let res: Result<u64, Status> = match a.mode {
            Mode::Route => routing
                .route(authed(request(k, &a), &a.token))
                .await
                .map(|_| 1),
            Mode::Stream => match routing.route_stream(authed(request(k, &a), &a.token)).await {
                Ok(s) => {
                    let mut s = s.into_inner();
                    let mut r = Ok(1);
                    while let Some(x) = s.next().await {
                        if let Err(e) = x {
                            r = Err(e);
                        }
                    }
                    r
                }
                Err(e) => Err(e),
            },
            Mode::Batch => {
                let reqs: Vec<pb::RouteRequest> = (k..k + n).map(|i| request(i, &a)).collect();
                match routing
                    .route_batch(authed(futures::stream::iter(reqs), &a.token))
                    .await
                {
                    Ok(s) => {
                        let mut s = s.into_inner();
                        let mut got = 0;
                        let mut r = Ok(0);
                        while let Some(x) = s.next().await {
                            match x {
                                Ok(resp)
                                    if resp.error.is_none()
                                        || resp.request_id.starts_with("lt-") =>
                                {
                                    got += 1
                                }
                                Ok(_) => {}
                                Err(e) => r = Err(e),
                            }
                        }
                        r.map(|_: u64| got)
                    }
                    Err(e) => Err(e),
                }
            }
            Mode::Report => {
                let evs: Vec<pb::LenderEvent> = (k..k + n)
                    .map(|i| pb::LenderEvent {
                        request_id: format!("lt-{i}"),
                        borrower: format!("L{:05}", (i * 7) % a.libraries),
                        lender: format!("L{:05}", (i * 11 + 1) % a.libraries),
                        kind: pb::EventKind::Sent as i32,
                        ..Default::default()
                    })
                    .collect();
                events
                    .report(authed(futures::stream::iter(evs), &a.token))
                    .await
                    .map(|r| r.get_ref().accepted)
            }
        };
        let el = intended.elapsed().as_nanos() as u64;
        match res {
            Ok(done) => {
                sh.ok.fetch_add(done, Ordering::Relaxed);
                let _ = sh.hist.lock().await.record(el.max(1));
            }
            Err(e) if e.code() == tonic::Code::ResourceExhausted => {
                sh.shed.fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => {
                sh.failed.fetch_add(n, Ordering::Relaxed);
                eprintln!("error: {:?}: {}", e.code(), e.message());
            }
        }
    }
}

// ------------------------------------------------------------------ the floor

#[derive(Default, Clone)]
struct Floor;

type Bs<T> = std::pin::Pin<Box<dyn futures::Stream<Item = Result<T, Status>> + Send>>;

fn floor_response(r: &pb::RouteRequest) -> pb::RouteResponse {
    // the same shape as a real answer (five lenders with factors), built without work
    pb::RouteResponse {
        request_id: r.request_id.clone(),
        lenders: (1..=5)
            .map(|i| pb::RankedLender {
                symbol: format!("L{i:05}"),
                rank: i,
                score: 1.0,
                p_fill: 0.8,
                expected_hours: 50.0,
                factors: vec![
                    pb::Factor {
                        name: "p_fill".into(),
                        value: 0.8,
                        contribution: 0.2
                    };
                    8
                ],
                reason: "floor".into(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

#[tonic::async_trait]
impl pb::routing_server::Routing for Floor {
    async fn route(
        &self,
        r: Request<pb::RouteRequest>,
    ) -> Result<Response<pb::RouteResponse>, Status> {
        Ok(Response::new(floor_response(r.get_ref())))
    }
    type RouteStreamStream = Bs<pb::RankedLender>;
    async fn route_stream(
        &self,
        r: Request<pb::RouteRequest>,
    ) -> Result<Response<Self::RouteStreamStream>, Status> {
        let items: Vec<Result<pb::RankedLender, Status>> = floor_response(r.get_ref())
            .lenders
            .into_iter()
            .map(Ok)
            .collect();
        Ok(Response::new(Box::pin(futures::stream::iter(items))))
    }
    type RouteBatchStream = Bs<pb::RouteResponse>;
    async fn route_batch(
        &self,
        r: Request<Streaming<pb::RouteRequest>>,
    ) -> Result<Response<Self::RouteBatchStream>, Status> {
        let s = r.into_inner().map(|x| x.map(|r| floor_response(&r)));
        Ok(Response::new(Box::pin(s)))
    }
}

#[tonic::async_trait]
impl pb::events_server::Events for Floor {
    async fn report(
        &self,
        r: Request<Streaming<pb::LenderEvent>>,
    ) -> Result<Response<pb::ReportSummary>, Status> {
        let mut s = r.into_inner();
        let mut n = 0;
        while let Some(x) = s.next().await {
            x?;
            n += 1;
        }
        Ok(Response::new(pb::ReportSummary {
            accepted: n,
            last_sequence: n,
        }))
    }
    async fn report_one(
        &self,
        _r: Request<pb::LenderEvent>,
    ) -> Result<Response<pb::ReportAck>, Status> {
        Ok(Response::new(pb::ReportAck { sequence: 1 }))
    }
}

async fn floor(listen: std::net::SocketAddr) -> anyhow::Result<()> {
    let l = tokio::net::TcpListener::bind(listen).await?;
    println!("floor listening on {}", l.local_addr()?);
    tonic::transport::Server::builder()
        .add_service(pb::routing_server::RoutingServer::new(Floor))
        .add_service(pb::events_server::EventsServer::new(Floor))
        .serve_with_incoming_shutdown(
            tokio_stream::StreamExt::map(tokio_stream::wrappers::TcpListenerStream::new(l), |s| {
                s.inspect(|s| {
                    let _ = s.set_nodelay(true);
                })
            }),
            async {
                let _ = tokio::signal::ctrl_c().await;
            },
        )
        .await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let r = rt.block_on(async {
        match cli.cmd {
            Cmd::Run(a) => run(a).await,
            Cmd::Floor { listen } => floor(listen).await.map(|_| true),
            Cmd::Baseline(a) => baseline::baseline(a).await,
            Cmd::Overload(a) => overload::overload(a).await,
            Cmd::Report(a) => report::report(a),
        }
    });
    match r {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

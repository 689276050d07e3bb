//! `rota-loadtest overload`: offers a server several times what it can do and measures
//! whether it degrades gracefully.
//!
//! Four phases over the same connections, with the request mix of `run`:
//!
//! 1. **capacity**: a closed loop (a fixed number of calls in flight) finds the rate the
//!    server sustains, C;
//! 2. **unloaded**: an open loop at C/2 gives the latency of a server with room to spare;
//! 3. **overload**: an open loop at `factor` × C (3 by default). Calls are sent at their
//!    times whether or not earlier ones were answered (one task per call), so a server
//!    that queues shows it; latency runs from the intended send time;
//! 4. **recovery**: at C/2 again, at once: the first second's p99 says whether the server
//!    is still digging out of a queue.
//!
//! A graceful server answers the excess RESOURCE_EXHAUSTED quickly and keeps the admitted
//! calls' p99 near the unloaded one, with flat memory (`--pid` samples its RSS). Any
//! other error fails the run; latency figures are reported, never asserted (they go to
//! PERFORMANCE.md).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rota_proto::v1 as pb;
use tonic::Code;
use tonic::transport::Channel;

use crate::{Mode, RunArgs, request};

/// Arguments of `overload`.
#[derive(clap::Parser, Clone)]
pub struct OverloadArgs {
    /// Server (http://host:port).
    #[arg(long)]
    server: String,
    /// Offered load in the overload phase, as a multiple of the measured capacity.
    #[arg(long, default_value_t = 3.0)]
    factor: f64,
    /// Seconds per phase (the recovery phase is this long too).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Connections.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Calls in flight per connection in the capacity phase.
    #[arg(long, default_value_t = 16)]
    in_flight: usize,
    /// Calls outstanding at most in an open-loop phase (the client's own memory bound);
    /// calls beyond it are counted as not sent.
    #[arg(long, default_value_t = 200_000)]
    max_outstanding: u64,
    /// Records in the server's demo catalogue (ISBNs are drawn from it).
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Libraries in the server's demo consortium.
    #[arg(long, default_value_t = 300)]
    libraries: u64,
    /// Every call a title-and-author citation (fuzzy lookup, about 20 times the server's
    /// work of an ISBN hit): on a machine shared with the load generator, the server's
    /// capacity must be well below what the generator can offer.
    #[arg(long)]
    titles: bool,
    /// The title `--titles` cites.
    #[arg(long, default_value = "kaloma neviro")]
    title: String,
    /// The server's process id, to sample its resident memory.
    #[arg(long)]
    pid: Option<u32>,
    /// Bearer token.
    #[arg(long, env = "ROTA_TOKEN")]
    token: Option<String>,
    /// Write the JSON result here too.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

/// What one open-loop phase saw.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    shed: AtomicU64,
    other: AtomicU64,
    not_sent: AtomicU64,
}

struct Phase {
    ok: u64,
    shed: u64,
    other: u64,
    not_sent: u64,
    seconds: f64,
    admitted: Histogram<u64>,
    refused: Histogram<u64>,
    first_second: Histogram<u64>,
    rss_max_kib: u64,
}

fn hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000_000, 3).expect("valid bounds")
}

fn rss_kib(pid: Option<u32>) -> u64 {
    let Some(pid) = pid else { return 0 };
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn run_args(a: &OverloadArgs) -> RunArgs {
    RunArgs {
        server: a.server.clone(),
        mode: Mode::Route,
        connections: a.connections,
        in_flight: a.in_flight,
        requests: u64::MAX,
        seconds: a.seconds,
        rate: 0.0,
        batch: 1,
        records: a.records,
        libraries: a.libraries,
        token: a.token.clone(),
        json: None,
        titles: a.titles,
        title: a.title.clone(),
    }
}

/// An open loop at `rate` calls per second for `seconds`, numbered from `first`.
async fn open_loop(
    chans: &[Channel],
    a: &OverloadArgs,
    rate: f64,
    seconds: f64,
    first: u64,
) -> Phase {
    let ra = Arc::new(run_args(a));
    let tally = Arc::new(Tally::default());
    let hists = Arc::new(std::sync::Mutex::new((hist(), hist(), hist())));
    let outstanding = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let total = (rate * seconds) as u64;
    let rss = {
        let pid = a.pid;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s2 = stop.clone();
        let h = tokio::spawn(async move {
            let mut max = 0;
            while !s2.load(Ordering::Relaxed) {
                max = max.max(rss_kib(pid));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            max
        });
        (stop, h)
    };
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..total {
        let at = t0 + Duration::from_secs_f64(k as f64 / rate);
        tokio::time::sleep_until(at.into()).await;
        if outstanding.load(Ordering::Relaxed) >= a.max_outstanding {
            tally.not_sent.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        outstanding.fetch_add(1, Ordering::Relaxed);
        let mut client =
            pb::routing_client::RoutingClient::new(chans[k as usize % chans.len()].clone());
        let (ra, tally, hists, outstanding) = (
            ra.clone(),
            tally.clone(),
            hists.clone(),
            outstanding.clone(),
        );
        tasks.spawn(async move {
            let r = client
                .route(crate::authed(request(first + k, &ra), &ra.token))
                .await;
            let el = at.elapsed().as_nanos() as u64;
            let in_first_second = at.duration_since(t0) < Duration::from_secs(1);
            let mut h = hists.lock().unwrap_or_else(|e| e.into_inner());
            match r {
                Ok(_) => {
                    tally.ok.fetch_add(1, Ordering::Relaxed);
                    let _ = h.0.record(el.max(1));
                    if in_first_second {
                        let _ = h.2.record(el.max(1));
                    }
                }
                Err(s) if s.code() == Code::ResourceExhausted => {
                    tally.shed.fetch_add(1, Ordering::Relaxed);
                    let _ = h.1.record(el.max(1));
                }
                Err(s) => {
                    if tally.other.fetch_add(1, Ordering::Relaxed) < 5 {
                        eprintln!("error: {:?}: {}", s.code(), s.message());
                    }
                }
            }
            outstanding.fetch_sub(1, Ordering::Relaxed);
        });
        // reap finished tasks as we go so the set does not grow with the run
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let seconds = t0.elapsed().as_secs_f64();
    rss.0.store(true, Ordering::Relaxed);
    let rss_max_kib = rss.1.await.unwrap_or(0);
    let (admitted, refused, first_second) = std::mem::replace(
        &mut *hists.lock().unwrap_or_else(|e| e.into_inner()),
        (hist(), hist(), hist()),
    );
    Phase {
        ok: tally.ok.load(Ordering::Relaxed),
        shed: tally.shed.load(Ordering::Relaxed),
        other: tally.other.load(Ordering::Relaxed),
        not_sent: tally.not_sent.load(Ordering::Relaxed),
        seconds,
        admitted,
        refused,
        first_second,
        rss_max_kib,
    }
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        return 0.0;
    }
    h.value_at_quantile(q) as f64 / 1e6
}

fn phase_json(name: &str, rate: f64, p: &Phase) -> serde_json::Value {
    eprintln!(
        "{name:>9}: offered {rate:>8.0}/s for {:.1} s: {} answered ({:.0}/s) p50 {:.2} ms p99 {:.2} ms; {} shed (p99 {:.2} ms); {} other errors; {} not sent; RSS max {} MiB",
        p.seconds,
        p.ok,
        p.ok as f64 / p.seconds,
        ms(&p.admitted, 0.5),
        ms(&p.admitted, 0.99),
        p.shed,
        ms(&p.refused, 0.99),
        p.other,
        p.not_sent,
        p.rss_max_kib / 1024,
    );
    serde_json::json!({
        "offered_per_second": rate, "seconds": p.seconds,
        "answered": p.ok, "answered_per_second": p.ok as f64 / p.seconds,
        "shed": p.shed, "other_errors": p.other, "not_sent": p.not_sent,
        "admitted_ms": {"p50": ms(&p.admitted, 0.5), "p99": ms(&p.admitted, 0.99), "max": ms(&p.admitted, 1.0)},
        "shed_ms": {"p50": ms(&p.refused, 0.5), "p99": ms(&p.refused, 0.99)},
        "first_second_p99_ms": ms(&p.first_second, 0.99),
        "rss_max_kib": p.rss_max_kib,
    })
}

/// Runs the four phases; false if any call failed with anything but RESOURCE_EXHAUSTED.
pub async fn overload(a: OverloadArgs) -> anyhow::Result<bool> {
    let url = if a.server.contains("://") {
        a.server.clone()
    } else {
        format!("http://{}", a.server)
    };
    let mut chans = Vec::new();
    for _ in 0..a.connections.max(1) {
        chans.push(
            tonic::transport::Endpoint::from_shared(url.clone())?
                .connect()
                .await?,
        );
    }
    let rss_start = rss_kib(a.pid);
    // 1. capacity, closed loop
    let mut cap_args = run_args(&a);
    cap_args.server = url.clone();
    let cap = crate::run_quiet(cap_args).await?;
    let c = cap.ok as f64 / cap.seconds;
    eprintln!(
        " capacity: closed loop, {} in flight: {c:.0}/s, p99 {:.2} ms",
        a.connections * a.in_flight,
        cap.p99_us / 1e3
    );
    let base = 1u64 << 40;
    // 2. unloaded
    let unloaded = open_loop(&chans, &a, c / 2.0, a.seconds, base).await;
    // 3. overload
    let over = open_loop(&chans, &a, c * a.factor, a.seconds, 2 * base).await;
    // 4. recovery, at once
    let recovery = open_loop(&chans, &a, c / 2.0, a.seconds, 3 * base).await;
    let rss_end = rss_kib(a.pid);
    let result = serde_json::json!({
        "server": url,
        "factor": a.factor,
        "capacity_per_second": c,
        "capacity_p99_ms": cap.p99_us / 1e3,
        "unloaded": phase_json("unloaded", c / 2.0, &unloaded),
        "overload": phase_json("overload", c * a.factor, &over),
        "recovery": phase_json("recovery", c / 2.0, &recovery),
        "rss_kib": {"start": rss_start, "end": rss_end},
        "admitted_p99_over_unloaded_p99": ms(&over.admitted, 0.99) / ms(&unloaded.admitted, 0.99).max(1e-9),
    });
    eprintln!(
        "   result: admitted p99 under {:.1}× load is {:.2}× the unloaded p99; RSS {} → {} MiB",
        a.factor,
        result["admitted_p99_over_unloaded_p99"]
            .as_f64()
            .unwrap_or(0.0),
        rss_start / 1024,
        rss_end / 1024
    );
    if let Some(p) = &a.json {
        std::fs::write(p, serde_json::to_vec_pretty(&result)?)?;
    }
    println!("{}", serde_json::to_string(&result)?);
    Ok(unloaded.other + over.other + recovery.other == 0)
}

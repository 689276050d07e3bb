//! The baseline a team would build first: the same catalogue, lenders and candidate query
//! in PostgreSQL, ranked in SQL, against rota's engine in-process on the same requests at
//! the same concurrency.
//!
//! Tables (bulk-loaded with `COPY`, then indexed and analysed):
//! - `ident(key text, cluster int)`: rota's typed identifier keys (`i9780…` for an
//!   ISBN-13, `o…` OCLC, …), b-tree on `key`;
//! - `holding(cluster int, lender int, copies int, lendable bool)`, b-tree on `cluster`;
//! - `lender(id int, symbol text, lending bool, p, a, d float8, open, cap int)`: the
//!   directory plus the live estimates rota holds for each lender (fill probability,
//!   hours to answer, hours to deliver, open requests), as a stats table kept by events.
//!
//! The candidate query joins them for one normalised identifier, drops the borrower, the
//! tried lender, non-lending holdings and lenders, adjusts `p` and `a` for load as rota
//! does, and orders by `e/p`: fastest fill without policies, calendars, reciprocity or
//! explanations, which rota also does. The SQL side therefore does less work per request.
//!
//! Requests: the load tester's mix without the title+author citations (a typo-tolerant
//! title search has no like-for-like SQL query): identifier hits, re-routes with a tried
//! lender, copies and misses. The client normalises identifiers with rota's own code.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::SinkExt;
use hdrhistogram::Histogram;
use rota_catalog::{Catalog, Citation, IdKind, ident};
use rota_routing::{Directory, Engine, LiveState, Request, Service, ServiceType, Tried};
use tokio_postgres::{Client, NoTls};

/// Arguments of `rota-loadtest baseline`.
#[derive(clap::Parser, Clone)]
pub struct BaselineArgs {
    /// PostgreSQL connection (libpq key=value form).
    #[arg(
        long,
        default_value = "host=127.0.0.1 port=54329 user=postgres dbname=postgres"
    )]
    pub pg: String,
    /// The catalogue snapshot rota serves (the demo's is cached in its data dir).
    #[arg(long)]
    pub snapshot: std::path::PathBuf,
    /// The lender directory rota serves.
    #[arg(long)]
    pub directory: std::path::PathBuf,
    /// What to measure: `engine` (one request per call) or `batch` (PostgreSQL only:
    /// `--batch` requests per statement; rota's batch path is `run --mode batch`).
    #[arg(long, value_enum, default_value = "engine")]
    pub mode: BaselineMode,
    /// Which side: rota in-process, PostgreSQL, or both.
    #[arg(long, value_enum, default_value = "both")]
    pub side: Side,
    /// Concurrency: threads for rota, connections for PostgreSQL.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Seconds per side.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Requests per batch statement.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Libraries in the demo consortium (borrowers are drawn from them).
    #[arg(long, default_value_t = 300)]
    pub libraries: u64,
    /// Reload the tables even when they hold this catalogue already.
    #[arg(long)]
    pub reload: bool,
    /// Write the JSON results here too.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq, Debug)]
pub enum BaselineMode {
    Engine,
    Batch,
}

#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq, Debug)]
pub enum Side {
    Rota,
    Postgres,
    Both,
}

/// One request of the mix, in the two forms.
struct Req {
    key: String,
    borrower: i32,
    /// -1: none
    tried: i32,
    rota: Request,
}

fn requests(
    n: u64,
    records: u64,
    libraries: u64,
    dir: &Directory,
    now: i64,
) -> anyhow::Result<Vec<Req>> {
    let mut out = Vec::with_capacity(n as usize);
    let mut k = 0u64;
    while (out.len() as u64) < n {
        let slot = k % 20;
        k += 1;
        if slot == 15 || slot == 16 {
            continue; // title citations: not comparable
        }
        let rec = (k.wrapping_mul(2_654_435_761)) % records;
        let isbn = if slot >= 18 {
            "9780000000002".to_string()
        } else {
            rota_catalog::generate::isbn_of(rec)
        };
        let borrower_sym = format!("L{:05}", (k * 7) % libraries);
        let tried_sym = (12..=14)
            .contains(&slot)
            .then(|| format!("L{:05}", (k * 13) % libraries));
        let id = ident::normalize(IdKind::Isbn, &isbn)?;
        let idx = |s: &str| {
            dir.index(s)
                .map(|i| i.get() as i32)
                .with_context(|| format!("{s} is not in the directory"))
        };
        out.push(Req {
            key: id.to_string(),
            borrower: idx(&borrower_sym)?,
            tried: tried_sym.as_deref().map_or(Ok(-1), idx)?,
            rota: Request {
                request_id: format!("bl-{k}"),
                service: Some(if slot == 17 {
                    ServiceType::Copy
                } else {
                    ServiceType::Loan
                }),
                tried: tried_sym
                    .map(|lender| Tried {
                        lender,
                        answer: rota_routing::Answer::Unfilled(
                            rota_routing::ReasonUnfilled::NotHeld,
                        ),
                        at: None,
                    })
                    .into_iter()
                    .collect(),
                ..Request::new(
                    borrower_sym,
                    Citation {
                        isbn: Some(isbn),
                        ..Citation::default()
                    },
                    now,
                )
            },
        });
    }
    Ok(out)
}

const RANK: &str =
    "(lp.pe * l.d + (1 - lp.pe) * l.a * (1 + greatest(0, l.open::float8 / l.cap - 0.5))) / lp.pe";

fn one_sql() -> String {
    format!(
        "SELECT l.symbol, {RANK} AS k \
         FROM ident i JOIN holding h ON h.cluster = i.cluster JOIN lender l ON l.id = h.lender \
         CROSS JOIN LATERAL (SELECT l.p / (1 + 0.5 * greatest(0, l.open::float8 / l.cap - 0.8)) AS pe) lp \
         WHERE i.key = $1 AND h.lendable AND l.lending AND l.id <> $2 AND l.id <> $3 \
         ORDER BY k, l.id LIMIT 5"
    )
}

fn batch_sql() -> String {
    format!(
        "SELECT r.n, c.symbol FROM unnest($1::text[], $2::int[], $3::int[]) WITH ORDINALITY AS r(key, borrower, tried, n) \
         CROSS JOIN LATERAL ( \
           SELECT l.symbol, {RANK} AS k \
           FROM ident i JOIN holding h ON h.cluster = i.cluster JOIN lender l ON l.id = h.lender \
           CROSS JOIN LATERAL (SELECT l.p / (1 + 0.5 * greatest(0, l.open::float8 / l.cap - 0.8)) AS pe) lp \
           WHERE i.key = r.key AND h.lendable AND l.lending AND l.id <> r.borrower AND l.id <> r.tried \
           ORDER BY k, l.id LIMIT 5) c"
    )
}

async fn connect(pg: &str) -> anyhow::Result<Client> {
    let (client, conn) = tokio_postgres::connect(pg, NoTls)
        .await
        .with_context(|| format!("cannot connect to PostgreSQL ({pg})"))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("postgres connection: {e}");
        }
    });
    Ok(client)
}

async fn copy(client: &Client, sql: &str, data: String) -> anyhow::Result<u64> {
    let sink = client.copy_in::<_, bytes::Bytes>(sql).await?;
    futures::pin_mut!(sink);
    // in chunks, so the server starts working before the whole text is built
    for chunk in data.as_bytes().chunks(8 << 20) {
        sink.send(bytes::Bytes::copy_from_slice(chunk)).await?;
    }
    Ok(sink.as_mut().finish().await?)
}

/// Loads the catalogue, holdings and lender stats; skipped when the tables already hold
/// this catalogue (same fingerprint) unless `reload`.
async fn load(
    client: &Client,
    cat: &Catalog,
    engine: &Engine,
    state: &LiveState,
    now: i64,
    reload: bool,
) -> anyhow::Result<serde_json::Value> {
    let fingerprint = format!(
        "{}:{}:{}",
        cat.clusters(),
        cat.meta().holdings,
        engine.directory().len()
    );
    if !reload {
        let have = client
            .query_opt("SELECT v FROM rota_meta WHERE k = 'fingerprint'", &[])
            .await
            .ok()
            .flatten()
            .map(|r| r.get::<_, String>(0));
        if have.as_deref() == Some(fingerprint.as_str()) {
            eprintln!("postgres: tables already hold this catalogue ({fingerprint})");
            return Ok(serde_json::json!({"reused": true}));
        }
    }
    let t = Instant::now();
    client
        .batch_execute(
            "DROP TABLE IF EXISTS ident, holding, lender, rota_meta;
             CREATE UNLOGGED TABLE ident (key text NOT NULL, cluster int NOT NULL);
             CREATE UNLOGGED TABLE holding (cluster int NOT NULL, lender int NOT NULL, copies int NOT NULL, lendable bool NOT NULL);
             CREATE UNLOGGED TABLE lender (id int PRIMARY KEY, symbol text NOT NULL, lending bool NOT NULL,
                 p float8 NOT NULL, a float8 NOT NULL, d float8 NOT NULL, open int NOT NULL, cap int NOT NULL);
             CREATE TABLE rota_meta (k text PRIMARY KEY, v text NOT NULL);",
        )
        .await?;
    let dir = engine.directory();
    let mut text = String::new();
    for i in dir.ids() {
        let l = dir.get(i);
        let v = state.view(i, Service::Loan, now);
        text.push_str(&format!(
            "{i}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            l.symbol,
            l.lending,
            v.p_fill,
            v.answer_hours,
            v.deliver_hours,
            v.open,
            l.capacity.open_requests.unwrap_or(100).max(1)
        ));
    }
    copy(client, "COPY lender FROM STDIN", text).await?;
    let mut text = String::with_capacity(64 << 20);
    let mut idents = 0u64;
    cat.each_identifier_key(|k, c| {
        // the readable form on both sides (`isbn:978…`): binary keys are not text
        let Some(id) = rota_catalog::ident::Ident::from_key(k) else {
            return;
        };
        text.push_str(&id.to_string());
        text.push('\t');
        text.push_str(&c.to_string());
        text.push('\n');
        idents += 1;
    });
    copy(client, "COPY ident FROM STDIN", text).await?;
    let mut text = String::with_capacity(256 << 20);
    let mut holdings = 0u64;
    for c in cat.cluster_ids() {
        cat.each_holder(c, |h| {
            if let Some(l) = dir.index(&cat.library(h.library).symbol) {
                text.push_str(&format!("{c}\t{l}\t{}\t{}\n", h.copies, h.lendable()));
                holdings += 1;
            }
        });
        if text.len() > 200 << 20 {
            copy(client, "COPY holding FROM STDIN", std::mem::take(&mut text)).await?;
        }
    }
    copy(client, "COPY holding FROM STDIN", text).await?;
    let loaded = t.elapsed().as_secs_f64();
    let t = Instant::now();
    client
        .batch_execute(
            "CREATE INDEX ident_key ON ident (key);
             CREATE INDEX holding_cluster ON holding (cluster);
             ANALYZE ident; ANALYZE holding; ANALYZE lender;",
        )
        .await?;
    let indexed = t.elapsed().as_secs_f64();
    client
        .execute(
            "INSERT INTO rota_meta VALUES ('fingerprint', $1)",
            &[&fingerprint],
        )
        .await?;
    eprintln!(
        "postgres: loaded {idents} identifier keys, {holdings} holdings, {} lenders with COPY in {loaded:.1} s, indexed in {indexed:.1} s",
        dir.len()
    );
    Ok(serde_json::json!({
        "reused": false, "identifiers": idents, "holdings": holdings, "lenders": dir.len(),
        "copy_seconds": loaded, "index_seconds": indexed,
    }))
}

fn summary(
    side: &str,
    mode: BaselineMode,
    unit: &str,
    done: u64,
    secs: f64,
    h: &Histogram<u64>,
) -> serde_json::Value {
    let us = |q: f64| h.value_at_quantile(q) as f64 / 1e3;
    eprintln!(
        "{side} {mode:?}: {done} {unit} in {secs:.2} s = {:.0}/s; p50 {:.0} µs p99 {:.0} µs p99.9 {:.0} µs",
        done as f64 / secs,
        us(0.5),
        us(0.99),
        us(0.999)
    );
    serde_json::json!({
        "side": side, "mode": format!("{mode:?}").to_lowercase(), "unit": unit,
        "done": done, "seconds": secs, "per_second": done as f64 / secs,
        "latency_us": {"p50": us(0.5), "p90": us(0.9), "p99": us(0.99), "p999": us(0.999), "max": h.max() as f64 / 1e3},
        "latency_unit": if mode == BaselineMode::Batch { "per statement" } else { "per request" },
    })
}

fn hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("static bounds")
}

/// rota's engine, in-process, on `threads` OS threads, closed loop.
fn run_rota(
    engine: &Engine,
    state: &LiveState,
    reqs: &[Req],
    threads: usize,
    seconds: f64,
) -> anyhow::Result<(u64, f64, Histogram<u64>)> {
    let next = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    let first_error = std::sync::Mutex::new(None::<String>);
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let hists: Vec<Histogram<u64>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut h = hist();
                    loop {
                        if Instant::now() >= deadline {
                            break;
                        }
                        let k = next.fetch_add(1, Ordering::Relaxed) as usize;
                        let r = &reqs[k % reqs.len()];
                        let t = Instant::now();
                        let out = engine.route(state, &r.rota);
                        let _ = h.record((t.elapsed().as_nanos() as u64).max(1));
                        if let Err(e) = out {
                            failed.fetch_add(1, Ordering::Relaxed);
                            if let Ok(mut f) = first_error.lock() {
                                f.get_or_insert_with(|| format!("{}: {e}", r.rota.request_id));
                            }
                        }
                    }
                    h
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap_or_else(|_| hist()))
            .collect()
    });
    let secs = start.elapsed().as_secs_f64();
    let mut h = hist();
    for x in &hists {
        let _ = h.add(x);
    }
    let failed = failed.into_inner();
    if failed > 0 {
        let first = first_error.into_inner().ok().flatten().unwrap_or_default();
        anyhow::bail!("{failed} of {} routes failed; the first: {first}", h.len());
    }
    Ok((h.len(), secs, h))
}

async fn run_pg(
    a: &BaselineArgs,
    reqs: Arc<Vec<Req>>,
) -> anyhow::Result<(u64, f64, Histogram<u64>)> {
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(a.seconds);
    let mut tasks = Vec::new();
    for _ in 0..a.concurrency.max(1) {
        let client = connect(&a.pg).await?;
        let (reqs, next, done) = (reqs.clone(), next.clone(), done.clone());
        let (mode, batch) = (a.mode, a.batch.max(1));
        tasks.push(tokio::spawn(async move {
            let mut h = hist();
            let stmt = match mode {
                BaselineMode::Engine => client.prepare(&one_sql()).await?,
                BaselineMode::Batch => client.prepare(&batch_sql()).await?,
            };
            while Instant::now() < deadline {
                let t = Instant::now();
                match mode {
                    BaselineMode::Engine => {
                        let k = next.fetch_add(1, Ordering::Relaxed) as usize;
                        let r = &reqs[k % reqs.len()];
                        client
                            .query(&stmt, &[&r.key, &r.borrower, &r.tried])
                            .await?;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    BaselineMode::Batch => {
                        let k = next.fetch_add(batch as u64, Ordering::Relaxed) as usize;
                        let (mut keys, mut bs, mut ts) = (
                            Vec::with_capacity(batch),
                            Vec::with_capacity(batch),
                            Vec::with_capacity(batch),
                        );
                        for j in 0..batch {
                            let r = &reqs[(k + j) % reqs.len()];
                            keys.push(r.key.as_str());
                            bs.push(r.borrower);
                            ts.push(r.tried);
                        }
                        client.query(&stmt, &[&keys, &bs, &ts]).await?;
                        done.fetch_add(batch as u64, Ordering::Relaxed);
                    }
                }
                let _ = h.record((t.elapsed().as_nanos() as u64).max(1));
            }
            anyhow::Ok(h)
        }));
    }
    let mut h = hist();
    for t in tasks {
        let _ = h.add(&t.await??);
    }
    Ok((
        done.load(Ordering::Relaxed),
        start.elapsed().as_secs_f64(),
        h,
    ))
}

/// `rota-loadtest baseline`.
pub async fn baseline(a: BaselineArgs) -> anyhow::Result<bool> {
    let cat =
        Arc::new(Catalog::open(&a.snapshot).with_context(|| format!("{}", a.snapshot.display()))?);
    let dir = Arc::new(Directory::load(&a.directory)?);
    let engine = Engine::new(cat.clone(), dir.clone(), vec![])?;
    let now = chrono::Utc::now().timestamp();
    // the demo's history, as the server records it on its first start
    let mut state = engine.new_state();
    for e in rota_sim::history::demo(cat.clone(), dir.clone(), now)? {
        state.apply(&dir, &e)?;
    }
    state.refresh_stale(now);
    let records = u64::from(cat.clusters()).max(1);
    let reqs = Arc::new(requests(200_000, records, a.libraries, &dir, now)?);
    let mut results = Vec::new();
    if a.side != Side::Postgres && a.mode == BaselineMode::Engine {
        let (n, secs, h) = run_rota(&engine, &state, &reqs, a.concurrency, a.seconds)?;
        results.push(summary("rota", a.mode, "requests", n, secs, &h));
    }
    if a.side != Side::Rota {
        let client = connect(&a.pg).await?;
        let load = load(&client, &cat, &engine, &state, now, a.reload).await?;
        results.push(serde_json::json!({"side": "postgres", "load": load}));
        let (n, secs, h) = run_pg(&a, reqs.clone()).await?;
        results.push(summary("postgres", a.mode, "requests", n, secs, &h));
    }
    let out = serde_json::json!({
        "concurrency": a.concurrency, "requests_in_mix": reqs.len(), "results": results,
    });
    if let Some(p) = &a.json {
        std::fs::write(p, serde_json::to_vec_pretty(&out)?)?;
    }
    println!("{}", serde_json::to_string(&out)?);
    Ok(true)
}

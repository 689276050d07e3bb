//! `rota serve`, `rota route --server`, `rota reroute` and `rota token hash`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use anyhow::{Context, bail};
use clap::Args;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use rota_catalog::{Catalog, generate};
use rota_proto::v1 as pb;
use rota_routing::Directory;
use rota_server::{Config, StartError, convert};

/// Prints a line for the operator on stdout. A daemon's stdout may be closed (a
/// supervisor that does not read it, `| head`): the line is then lost and said once in
/// the log, never a panic or a stop.
macro_rules! say {
    ($($arg:tt)*) => {
        say_line(format_args!($($arg)*))
    };
}

fn say_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let mut out = std::io::stdout().lock();
    if let Err(e) = out
        .write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        && !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed)
    {
        tracing::warn!(error = %e, "stdout is closed: the startup lines and example calls are not printed");
    }
}

#[derive(Args)]
pub struct ServeArgs {
    /// Config file (TOML); `ROTA_*` environment variables and these flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// gRPC address.
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// Address of `/metrics` (Prometheus), `/healthz` and `/readyz`, or `off`.
    #[arg(long)]
    metrics_listen: Option<String>,
    /// Address of the ISO 18626 front (`POST /iso18626`), or `off`. Default: off with a
    /// config file (its `[iso18626] listen`), 127.0.0.1:9466 for the loopback demo.
    #[arg(long)]
    iso18626_listen: Option<String>,
    /// Address of the operators' console (web pages, `/api/`), or `off`. Default: off
    /// with a config file (its `[console] listen`), 127.0.0.1:8080 for the loopback demo.
    #[arg(long)]
    console_listen: Option<String>,
    /// Data directory (durable log, checkpoints, the demo consortium).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Catalogue snapshot (default: generate the demo consortium).
    #[arg(long)]
    snapshot: Option<PathBuf>,
    /// Lender directory (default: generate one for the catalogue).
    #[arg(long)]
    directory: Option<PathBuf>,
    /// Demo consortium: records.
    #[arg(long)]
    demo_records: Option<usize>,
    /// Demo consortium: libraries.
    #[arg(long)]
    demo_libraries: Option<usize>,
}

fn tracing_init() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("ROTA_LOG").unwrap_or_else(|_| "info".into());
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// The demo's past ([`rota_sim::history::demo`]): its own requests routed by its own
/// router in the simulated world over its catalogue and directory, up to now.
fn demo_history(cat: &Catalog, dir: &Directory) -> Result<Vec<rota_routing::Event>, StartError> {
    let t = std::time::Instant::now();
    // the world is the demo's: a directory of the operator's own (other lenders, another
    // order) has no simulated past
    let own = dir.len() == cat.libraries().len()
        && cat
            .libraries()
            .iter()
            .zip(dir.lenders())
            .all(|(lib, l)| lib.symbol == l.symbol);
    if !own {
        tracing::info!("the demo starts without a past: its directory is not the generated one");
        return Ok(Vec::new());
    }
    let events = rota_sim::history::demo(
        Arc::new(cat.clone()),
        Arc::new(dir.clone()),
        chrono::Utc::now().timestamp(),
    )
    .map_err(|e| StartError::Other(format!("demo history: {e}")))?;
    tracing::info!(
        events = events.len(),
        seconds = t.elapsed().as_secs_f64(),
        "routed the demo's past"
    );
    Ok(events)
}

pub fn serve(a: ServeArgs) -> anyhow::Result<ExitCode> {
    tracing_init();
    let mut config = match &a.config {
        Some(p) => Config::from_file(p)?,
        None => {
            // the loopback demo speaks ISO 18626 too
            let mut c = Config::default();
            c.iso18626.listen = Some(rota_server::config::DEMO_ISO18626);
            // a broker whose lenders are `rota peer` on its default address
            c.iso18626.agency = Some(rota_server::config::DEMO_AGENCY.into());
            c.iso18626.lender_endpoint = Some(rota_server::config::DEMO_LENDER_ENDPOINT.into());
            // and has its console
            c.console.listen = Some(rota_server::config::DEMO_CONSOLE);
            c
        }
    };
    config.apply_env(std::env::vars())?;
    if let Some(l) = a.listen {
        config.listen = l;
    }
    if let Some(m) = &a.metrics_listen {
        config.metrics_listen = if m == "off" {
            None
        } else {
            Some(
                m.parse()
                    .with_context(|| format!("--metrics-listen {m:?}"))?,
            )
        };
    }
    if let Some(m) = &a.iso18626_listen {
        config.iso18626.listen = if m == "off" {
            // no front, no broker
            config.iso18626.agency = None;
            None
        } else {
            Some(
                m.parse()
                    .with_context(|| format!("--iso18626-listen {m:?}"))?,
            )
        };
    }
    if let Some(m) = &a.console_listen {
        config.console.listen = if m == "off" {
            None
        } else {
            Some(
                m.parse()
                    .with_context(|| format!("--console-listen {m:?}"))?,
            )
        };
    }
    if let Some(d) = a.data_dir {
        config.data_dir = d;
    }
    if let Some(s) = a.snapshot {
        config.snapshot = Some(s);
    }
    if let Some(d) = a.directory {
        config.directory = Some(d);
    }
    if let Some(n) = a.demo_records {
        config.demo_records = n;
    }
    if let Some(n) = a.demo_libraries {
        config.demo_libraries = n;
    }
    config.validate()?;
    config.check_files()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let cfg = config.clone();
    let demo = config.snapshot.is_none();
    // the example calls are printed once the catalogue is loaded: they name an item it
    // has and a borrower that does not hold it, so they route, whatever the catalogue
    let bound: Arc<OnceLock<(SocketAddr, Option<SocketAddr>)>> = Arc::default();
    let at = bound.clone();
    let load = move || {
        let loaded = load(&cfg)?;
        if let Some((addr, ops)) = at.get() {
            print_examples(&loaded.0, &loaded.2, *addr, *ops);
        }
        Ok(loaded)
    };
    let listen_note = config.clone();
    rt.block_on(async move {
        let shutdown = async {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            {
                let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("signal handler");
                tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
            }
            #[cfg(not(unix))]
            {
                let _ = ctrl_c.await;
            }
        };
        rota_server::serve(
            config,
            load,
            move |b| {
                say!("rota listening on {} (data in {})", b.addr, listen_note.data_dir.display());
                if let Some(m) = b.ops {
                    say!("metrics and probes on http://{m} (/metrics, /healthz, /readyz)");
                }
                if let Some(i) = b.iso18626 {
                    say!("ISO 18626 messages on http://{i}/iso18626 (POST, application/xml)");
                }
                if let Some(c) = b.console {
                    say!("operators' console on http://{c}/");
                }
                if demo {
                    say!(
                        "loading the demo consortium ({} libraries, {} records); health turns SERVING when ready",
                        listen_note.demo_libraries, listen_note.demo_records
                    );
                } else {
                    say!(
                        "loading {}; health turns SERVING when ready",
                        listen_note.snapshot.as_deref().unwrap_or(Path::new("?")).display()
                    );
                }
                let _ = bound.set((b.addr, b.ops));
            },
            shutdown,
        )
        .await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Prints calls to try against this catalogue: an item with an ISBN that at least two
/// libraries lend, and a borrower from the directory that is none of them nor a branch of
/// one (else the answer would be "held locally").
fn print_examples(cat: &Catalog, dir: &Directory, addr: SocketAddr, ops: Option<SocketAddr>) {
    let pick = cat.cluster_ids().find_map(|c| {
        let holders = cat.holders(c);
        if holders.iter().filter(|h| h.lendable()).count() < 2 {
            return None;
        }
        let isbn = cat.first_id(c, rota_catalog::IdKind::Isbn)?;
        let held: Vec<&str> = holders
            .iter()
            .filter_map(|h| cat.libraries().get(h.library.index()))
            .map(|l| l.symbol.as_str())
            .collect();
        let borrower = dir.lenders().iter().find(|l| {
            !held
                .iter()
                .any(|s| s.starts_with(l.symbol.as_str()) || l.symbol.starts_with(s))
        })?;
        Some((borrower.symbol.clone(), isbn))
    });
    say!("try:");
    match pick {
        Some((borrower, isbn)) => {
            say!(
                "  grpcurl -plaintext -d '{{\"borrower\":\"{borrower}\",\"citation\":{{\"isbn\":\"{isbn}\"}}}}' {addr} rota.v1.Routing/Route"
            );
            say!("  rota route --server http://{addr} --borrower {borrower} --isbn {isbn}");
        }
        None => say!("  grpcurl -plaintext {addr} list"),
    }
    if let Some(m) = ops {
        say!("  curl http://{m}/metrics");
    }
}

/// Loads (or, for the demo, generates once and caches) the catalogue and directory.
fn load(cfg: &Config) -> Result<rota_server::Loaded, StartError> {
    let other = |e: String| StartError::Other(e);
    std::fs::create_dir_all(&cfg.data_dir)
        .map_err(|e| other(format!("data dir {}: {e}", cfg.data_dir.display())))?;
    let (cat, path) = match &cfg.snapshot {
        Some(p) => (Catalog::open(p)?, p.clone()),
        None => {
            let p = cfg.data_dir.join(format!(
                "demo-{}x{}.snap",
                cfg.demo_libraries, cfg.demo_records
            ));
            // our own cache: one written by an older build is regenerated, not refused
            let cached = match p.exists().then(|| Catalog::open(&p)) {
                None => None,
                Some(Ok(c)) => Some(c),
                Some(Err(rota_catalog::snapshot::SnapshotError::WrongVersion {
                    found, ..
                })) => {
                    tracing::info!(path = %p.display(), found, "the cached demo is another format version");
                    None
                }
                Some(Err(e)) => return Err(e.into()),
            };
            let cat = match cached {
                Some(c) => c,
                None => {
                    tracing::info!(path = %p.display(), "generating the demo consortium (once; cached)");
                    let params = generate::GenParams {
                        libraries: cfg.demo_libraries,
                        records: cfg.demo_records,
                        mean_holders: 5.9,
                        seed: 42,
                    };
                    let bytes =
                        generate::generate(&params, &|_| {}).map_err(|e| other(e.to_string()))?;
                    rota_catalog::snapshot::write_atomic(&p, &bytes)
                        .map_err(|e| other(format!("{}: {e}", p.display())))?;
                    Catalog::open(&p)?
                }
            };
            (cat, p)
        }
    };
    let demo = cfg.snapshot.is_none();
    let dir = match &cfg.directory {
        Some(d) => Directory::load(d)?,
        None => {
            // generated once and kept, so restarts see the same lenders
            let d = cfg.data_dir.join(format!(
                "{}.lenders.toml",
                path.file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("catalog")
            ));
            if d.exists() {
                Directory::load(&d)?
            } else {
                let dir =
                    rota_routing::synth::directory_for(&cat, 1, chrono::Utc::now().date_naive())?;
                let toml = dir
                    .to_toml()
                    .map_err(|e| other(format!("{}: {e}", d.display())))?;
                rota_catalog::snapshot::write_atomic(&d, toml.as_bytes())
                    .map_err(|e| other(format!("{}: {e}", d.display())))?;
                dir
            }
        }
    };
    let history = if demo {
        demo_history(&cat, &dir)?
    } else {
        Vec::new()
    };
    Ok((cat, path, dir, history))
}

// ------------------------------------------------------------------ clients

async fn channel(server: &str) -> anyhow::Result<tonic::transport::Channel> {
    let url = if server.contains("://") {
        server.to_string()
    } else {
        format!("http://{server}")
    };
    tonic::transport::Endpoint::from_shared(url.clone())
        .with_context(|| format!("bad server address {server:?}"))?
        .connect()
        .await
        .with_context(|| format!("cannot connect to {url}"))
}

fn with_token<T>(msg: T, token: Option<&str>) -> anyhow::Result<tonic::Request<T>> {
    let mut r = tonic::Request::new(msg);
    if let Some(t) = token {
        r.metadata_mut().insert(
            "authorization",
            format!("Bearer {t}")
                .parse()
                .context("token has characters not allowed in a header")?,
        );
    }
    Ok(r)
}

/// `rota route --server`.
pub fn route_remote(
    server: &str,
    token: Option<&str>,
    req: rota_routing::Request,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut c = pb::routing_client::RoutingClient::new(channel(server).await?);
        let r = c
            .route(with_token(convert::request_to_wire(&req), token)?)
            .await
            .map_err(|s| anyhow::anyhow!("{}: {}", code(&s), s.message()))?
            .into_inner();
        crate::route_print::print_response(&r, json)?;
        Ok(crate::route_print::exit_code(&r))
    })
}

fn code(s: &tonic::Status) -> String {
    format!("{:?}", s.code()).to_uppercase()
}

#[derive(Args)]
pub struct RerouteArgs {
    /// Server address (http://host:port).
    #[arg(long)]
    server: String,
    /// Unfilled requests: JSON lines ({"request_id", "borrower", "citation": {...},
    /// "service", "tried": [{"lender", "answer"}], "max_lenders"}) or CSV with a header
    /// (request_id, borrower, isbn, issn, oclc_number, lccn, title, author, year, ...,
    /// service, tried as LENDER:answer;..., max_lenders, profile); a `.csv` name or a
    /// first line that is not JSON means CSV.
    #[arg(long)]
    input: PathBuf,
    /// Where to write the new lending strings (JSON lines); default stdout.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Bearer token (or ROTA_TOKEN).
    #[arg(long, env = "ROTA_TOKEN")]
    token: Option<String>,
}

/// `rota reroute`.
pub fn reroute(a: RerouteArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&a.input)
        .with_context(|| format!("reading {}", a.input.display()))?;
    let format = rota_server::reroute::Format::guess(&a.input.display().to_string(), &text);
    let (reqs, unreadable) = rota_server::reroute::parse(&text, format);
    for e in &unreadable {
        eprintln!("{}:{}: skipped: {}", a.input.display(), e.line, e.error);
    }
    let bad = unreadable.len();
    let total = reqs.len();
    let pb_bar = ProgressBar::new(total as u64);
    pb_bar.set_style(
        ProgressStyle::with_template("rerouting [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut out: Box<dyn std::io::Write> = match &a.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (rerouted, exhausted, errors) = rt.block_on(async {
        let mut c = pb::routing_client::RoutingClient::new(channel(&a.server).await?);
        let wire: Vec<pb::RouteRequest> = reqs.iter().map(convert::request_to_wire).collect();
        let req = with_token(futures::stream::iter(wire), a.token.as_deref())?;
        let mut stream = c
            .route_batch(req)
            .await
            .map_err(|s| anyhow::anyhow!("{}: {}", code(&s), s.message()))?
            .into_inner();
        let (mut rerouted, mut exhausted, mut errors) = (0usize, 0usize, 0usize);
        while let Some(item) = stream.next().await {
            let r = item.map_err(|s| anyhow::anyhow!("{}: {}", code(&s), s.message()))?;
            let err = r
                .error
                .as_ref()
                .map(|e| format!("{}: {}", e.code, e.message));
            if err.is_some() {
                errors += 1;
            } else if r.lenders.is_empty() {
                exhausted += 1;
            } else {
                rerouted += 1;
            }
            let o = rota_server::reroute::Rerouted {
                exhausted: err.is_none() && r.lenders.is_empty(),
                request_id: r.request_id,
                lenders: r.lenders.into_iter().map(|l| l.symbol).collect(),
                expected_hours_to_fill: r.expected_hours_to_fill,
                p_filled: r.p_filled,
                error: err,
                line: None,
            };
            serde_json::to_writer(&mut out, &o)?;
            out.write_all(b"\n")?;
            pb_bar.inc(1);
        }
        out.flush()?;
        anyhow::Ok((rerouted, exhausted, errors))
    })?;
    pb_bar.finish_and_clear();
    eprintln!(
        "re-routed {rerouted}, exhausted (no lender left) {exhausted}, errors {}, unreadable lines {bad}",
        errors
    );
    if rerouted + exhausted + errors != total {
        bail!(
            "the server answered {} of {total} requests",
            rerouted + exhausted + errors
        );
    }
    Ok(if errors + bad > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

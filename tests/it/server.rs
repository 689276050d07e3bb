//! The real server, as a child process on an ephemeral loopback port: every RPC, the
//! streams, auth refusals, bad inputs, TLS, and a client nobody here wrote (Python
//! grpcio). Restarts and the data directory: `restart.rs`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use rota_proto::v1 as pb;
use tonic::Code;
use tonic::transport::Channel;

use crate::common::rota_bin;

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: String,
    /// The metrics and probes listener, when started with `--metrics-listen`.
    pub(crate) ops: Option<String>,
    /// The ISO 18626 front, when started with `--iso18626-listen`.
    pub(crate) iso18626: Option<String>,
    /// The console, when started with `--console-listen`.
    pub(crate) console: Option<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `rota serve` with a small demo consortium and returns once it listens (it loads
/// in the background: callers wait for what they need, see [`channel`]).
pub(crate) fn start(data: &Path, extra: &[&str]) -> Server {
    start_env(data, extra, &[])
}

/// [`start`] with environment settings.
pub(crate) fn start_env(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(rota_bin());
    cmd.envs(env.iter().copied());
    cmd.args(["serve"]);
    if !extra.contains(&"--metrics-listen") {
        cmd.args(["--metrics-listen", "off"]);
    }
    if !extra.contains(&"--iso18626-listen") {
        cmd.args(["--iso18626-listen", "off"]);
    }
    if !extra.contains(&"--console-listen") {
        cmd.args(["--console-listen", "off"]);
    }
    cmd.args(["--demo-records", "20000", "--demo-libraries", "60"]);
    if !extra.contains(&"--listen") {
        cmd.args(["--listen", "127.0.0.1:0"]);
    }
    cmd.arg("--data-dir")
        .arg(data)
        .args(extra)
        .env("ROTA_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().expect("spawn rota serve");
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let first = lines.next().expect("a line").expect("readable");
    let addr = first
        .strip_prefix("rota listening on ")
        .and_then(|s| s.split(' ').next())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    let ops = if extra.contains(&"--metrics-listen") {
        let line = lines.next().expect("a line").expect("readable");
        let at = line
            .strip_prefix("metrics and probes on http://")
            .and_then(|s| s.split(' ').next())
            .unwrap_or_else(|| panic!("unexpected second line {line:?}"));
        Some(at.to_string())
    } else {
        None
    };
    let iso18626 = if extra.contains(&"--iso18626-listen") {
        let line = lines.next().expect("a line").expect("readable");
        let at = line
            .strip_prefix("ISO 18626 messages on http://")
            .and_then(|s| s.split('/').next())
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        Some(at.to_string())
    } else {
        None
    };
    let console = if extra.contains(&"--console-listen") {
        let line = lines.next().expect("a line").expect("readable");
        let at = line
            .strip_prefix("operators' console on http://")
            .and_then(|s| s.split('/').next())
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        Some(at.to_string())
    } else {
        None
    };
    // keep draining stdout so the child never blocks on a full pipe
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        addr,
        ops,
        iso18626,
        console,
    }
}

pub(crate) async fn channel(addr: &str) -> Channel {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(c) = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
        {
            let mut h = tonic_health::pb::health_client::HealthClient::new(c.clone());
            if let Ok(r) = h
                .check(tonic_health::pb::HealthCheckRequest {
                    service: String::new(),
                })
                .await
                && r.get_ref().status
                    == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
            {
                return c;
            }
        }
        assert!(
            Instant::now() < deadline,
            "server at {addr} never became SERVING"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Two hundred clients that connect, send the start of a handshake and hang up at once:
/// whatever the server answers meets a closed socket.
pub(crate) fn hang_ups(addr: &str, hello: &[u8]) {
    use std::io::Write;
    for _ in 0..200 {
        if let Ok(mut s) = std::net::TcpStream::connect(addr) {
            let _ = s.write_all(hello);
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
    // time for the server to answer them all
    std::thread::sleep(Duration::from_millis(500));
}

#[test]
fn clients_that_hang_up_do_not_stop_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = start(&tmp.path().join("data"), &[]);
    let addr = s.addr.clone();
    rt().block_on(async {
        let ch = channel(&addr).await;
        // an HTTP/2 preface and a frame, then gone: the server's SETTINGS and GOAWAY
        // meet a closed socket
        hang_ups(
            &addr,
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",
        );
        assert!(
            s.child.try_wait().unwrap().is_none(),
            "the server died: {:?}",
            s.child.try_wait()
        );
        let mut routing = pb::routing_client::RoutingClient::new(ch);
        let r = routing
            .route(req("hang", "L00001", 7))
            .await
            .unwrap()
            .into_inner();
        assert!(!r.lenders.is_empty());
    });
}

#[test]
fn a_closed_stdout_does_not_stop_the_server() {
    // a supervisor that reads the first line and closes the pipe: the example calls
    // printed once the catalogue is loaded meet a closed stdout
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(rota_bin())
        .args([
            "serve",
            "--metrics-listen",
            "off",
            "--iso18626-listen",
            "off",
            "--console-listen",
            "off",
            "--listen",
            "127.0.0.1:0",
        ])
        .args([
            "--demo-records",
            "20000",
            "--demo-libraries",
            "60",
            "--data-dir",
        ])
        .arg(tmp.path().join("data"))
        .env("ROTA_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first = {
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        lines.next().unwrap().unwrap()
    };
    let addr = first
        .strip_prefix("rota listening on ")
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .to_string();
    rt().block_on(async {
        let ch = channel(&addr).await;
        let mut routing = pb::routing_client::RoutingClient::new(ch);
        let r = routing
            .route(req("closed", "L00001", 7))
            .await
            .unwrap()
            .into_inner();
        assert!(!r.lenders.is_empty());
    });
    assert!(
        child.try_wait().unwrap().is_none(),
        "the server died: {:?}",
        child.try_wait()
    );
    // it stops cleanly, and said in its log why the examples were not printed
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("stdout is closed"), "{log}");
}

pub(crate) fn authed<T>(msg: T, token: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

pub(crate) fn isbn(i: u64) -> String {
    rota_catalog::generate::isbn_of(i)
}

pub(crate) fn req(id: &str, borrower: &str, i: u64) -> pb::RouteRequest {
    pb::RouteRequest {
        request_id: id.into(),
        borrower: borrower.into(),
        citation: Some(pb::Citation {
            isbn: isbn(i),
            ..Default::default()
        }),
        max_lenders: 5,
        ..Default::default()
    }
}

pub(crate) fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Events the server has applied so far (its `Stats`).
pub(crate) async fn events_applied(c: &mut pb::catalog_client::CatalogClient<Channel>) -> u64 {
    c.stats(pb::StatsRequest {})
        .await
        .unwrap()
        .into_inner()
        .events_applied
}

/// The best match for synthetic record `i`, by its ISBN.
pub(crate) async fn lookup_synthetic(
    c: &mut pb::catalog_client::CatalogClient<Channel>,
    i: u64,
) -> pb::LookupResponse {
    c.lookup(pb::LookupRequest {
        citation: Some(pb::Citation {
            isbn: isbn(i),
            ..Default::default()
        }),
        limit: 1,
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
}

/// An item with at least `n` holders in the demo consortium.
pub(crate) async fn item_with_holders(
    c: &mut pb::catalog_client::CatalogClient<Channel>,
    n: usize,
) -> u64 {
    for i in 0..2000u64 {
        let m = lookup_synthetic(c, i).await;
        if m.matches[0].holders.len() >= n {
            return i;
        }
    }
    panic!("no item with {n} holders");
}

#[test]
fn every_rpc_streams_and_bad_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let s = start(tmp.path(), &[]);
    rt().block_on(async {
        let ch = channel(&s.addr).await;
        let mut routing = pb::routing_client::RoutingClient::new(ch.clone());
        let mut events = pb::events_client::EventsClient::new(ch.clone());
        let mut catalog = pb::catalog_client::CatalogClient::new(ch.clone());
        let mut admin = pb::admin_client::AdminClient::new(ch.clone());

        let item = item_with_holders(&mut catalog, 6).await;
        // Route
        let r = routing
            .route(req("r1", "L00001", item))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.request_id, "r1");
        assert!(!r.lenders.is_empty() && r.lenders.len() <= 5);
        assert!(
            r.lenders
                .iter()
                .all(|l| l.symbol != "L00001" && !l.reason.is_empty() && !l.factors.is_empty())
        );
        assert_eq!(r.matches[0].method, "isbn");
        // RouteStream gives the same lenders in the same order
        let mut st = routing
            .route_stream(req("r1", "L00001", item))
            .await
            .unwrap()
            .into_inner();
        let mut streamed = Vec::new();
        while let Some(l) = st.next().await {
            streamed.push(l.unwrap().symbol);
        }
        assert_eq!(
            streamed,
            r.lenders
                .iter()
                .map(|l| l.symbol.clone())
                .collect::<Vec<_>>()
        );
        // RouteBatch: 500 requests, one duplicate id, one bad isbn; every one answered
        let mut batch: Vec<pb::RouteRequest> = (0..500)
            .map(|k| req(&format!("b{k}"), "L00002", k))
            .collect();
        batch.push(req("b7", "L00002", 7));
        let mut bad = req("bad", "L00002", 1);
        bad.citation = Some(pb::Citation {
            isbn: "not-an-isbn".into(),
            ..Default::default()
        });
        batch.push(bad);
        let mut out = routing
            .route_batch(futures::stream::iter(batch))
            .await
            .unwrap()
            .into_inner();
        let (mut ok, mut errs) = (0, Vec::new());
        while let Some(x) = out.next().await {
            let x = x.unwrap();
            match x.error {
                Some(e) => errs.push((x.request_id, e.code, e.message)),
                None => ok += 1,
            }
        }
        assert_eq!(ok, 500);
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs.iter().any(|e| e.0 == "b7" && e.2.contains("twice")));
        assert!(
            errs.iter()
                .any(|e| e.0 == "bad" && e.1 == "INVALID_ARGUMENT" && e.2.contains("isbn"))
        );

        // Events: one unary, a stream of 1,000; then "not held" is honoured
        let top = r.lenders[0].symbol.clone();
        let cluster = r.lenders[0].cluster;
        let ev = |id: &str, kind: pb::EventKind, reason: pb::TriedReason| pb::LenderEvent {
            request_id: id.into(),
            borrower: "L00001".into(),
            lender: top.clone(),
            kind: kind as i32,
            reason: reason as i32,
            cluster,
            has_cluster: true,
            ..Default::default()
        };
        let ack = events
            .report_one(ev("r1", pb::EventKind::Sent, pb::TriedReason::NoAnswer))
            .await
            .unwrap()
            .into_inner();
        assert!(ack.sequence > 0);
        let stream: Vec<pb::LenderEvent> = (0..1000)
            .map(|k| {
                ev(
                    &format!("s{k}"),
                    pb::EventKind::Sent,
                    pb::TriedReason::NoAnswer,
                )
            })
            .collect();
        let sum = events
            .report(futures::stream::iter(stream))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(sum.accepted, 1000);
        assert!(sum.last_sequence >= ack.sequence + 1000);
        events
            .report_one(ev("r1", pb::EventKind::Unfilled, pb::TriedReason::NotHeld))
            .await
            .unwrap();
        let again = routing
            .route(req("r2", "L00001", item))
            .await
            .unwrap()
            .into_inner();
        assert!(again.lenders.iter().all(|l| l.symbol != top));
        assert!(
            again
                .excluded
                .iter()
                .any(|e| e.symbol == top && e.reason == "known_not_held")
        );

        // Catalog: lookup, stats, holdings deltas, reload
        let stats = catalog
            .stats(pb::StatsRequest {})
            .await
            .unwrap()
            .into_inner();
        assert_eq!(stats.clusters, 20_000);
        assert!(stats.events_applied >= 1002);
        let up = catalog
            .upsert_holdings(futures::stream::iter(vec![pb::HoldingChange {
                symbol: "NEWLIB".into(),
                citation: Some(pb::Citation {
                    isbn: isbn(item),
                    ..Default::default()
                }),
                copies: 2,
                lendable: true,
                ..Default::default()
            }]))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(up.applied, 1);
        let m = catalog
            .lookup(pb::LookupRequest {
                citation: Some(pb::Citation {
                    isbn: isbn(item),
                    ..Default::default()
                }),
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            m.matches[0]
                .holders
                .iter()
                .any(|h| h.symbol == "NEWLIB" && h.copies == 2)
        );
        let wd = catalog
            .withdraw_holdings(futures::stream::iter(vec![pb::HoldingChange {
                symbol: "NEWLIB".into(),
                cluster: m.matches[0].cluster,
                has_cluster: true,
                ..Default::default()
            }]))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(wd.applied, 1);
        let rl = catalog
            .reload(pb::ReloadRequest {
                path: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(rl.clusters, 20_000);
        let e = catalog
            .reload(pb::ReloadRequest {
                path: "/nonexistent.snap".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition);

        // Admin: profiles and lenders, versioned
        let list = admin
            .list_profiles(pb::ListProfilesRequest {})
            .await
            .unwrap()
            .into_inner();
        assert!(list.profiles.iter().any(|p| p.name == "default"));
        let mut p = admin
            .get_profile(pb::GetProfileRequest {
                name: "weighted".into(),
            })
            .await
            .unwrap()
            .into_inner();
        p.name = "ops-test".into();
        p.w_load = 3.0;
        let put = admin.put_profile(p.clone()).await.unwrap().into_inner();
        assert_eq!(put.version, 1);
        let e = admin.put_profile(p.clone()).await.unwrap_err();
        assert_eq!(e.code(), Code::Aborted, "stale version refused");
        let mut nan = p.clone();
        nan.version = 1;
        nan.w_cost = f64::NAN;
        assert_eq!(
            admin.put_profile(nan).await.unwrap_err().code(),
            Code::InvalidArgument
        );
        let mut r3 = req("r3", "L00001", item);
        r3.profile = "ops-test".into();
        assert_eq!(
            routing.route(r3).await.unwrap().into_inner().profile,
            "ops-test"
        );
        let l = admin
            .get_lender(pb::GetLenderRequest {
                symbol: "L00003".into(),
            })
            .await
            .unwrap()
            .into_inner();
        let mut entry: serde_json::Value = serde_json::from_str(&l.entry_json).unwrap();
        entry["lending"] = serde_json::Value::Bool(false);
        let put = admin
            .put_lender(pb::LenderEntry {
                symbol: "L00003".into(),
                entry_json: entry.to_string(),
                version: l.version,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(put.version, 1);
        entry["capacity"]["open_requests"] = serde_json::json!(-4);
        let e = admin
            .put_lender(pb::LenderEntry {
                symbol: "L00003".into(),
                entry_json: entry.to_string(),
                version: 1,
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        let page = admin
            .list_lenders(pb::ListLendersRequest {
                page_size: 10,
                offset: 0,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!((page.lenders.len(), page.total), (10, 60));

        // bad inputs: INVALID_ARGUMENT naming the field
        let cases: Vec<(pb::RouteRequest, &str)> = vec![
            (
                pb::RouteRequest {
                    citation: None,
                    ..req("x", "L00001", 1)
                },
                "citation",
            ),
            (req("x", "NOBODY", 1), "borrower"),
            (
                pb::RouteRequest {
                    citation: Some(pb::Citation {
                        isbn: "12".into(),
                        ..Default::default()
                    }),
                    ..req("x", "L00001", 1)
                },
                "isbn",
            ),
            (
                pb::RouteRequest {
                    max_cost: -1.0,
                    ..req("x", "L00001", 1)
                },
                "max_cost",
            ),
            (
                pb::RouteRequest {
                    max_cost: f64::NAN,
                    ..req("x", "L00001", 1)
                },
                "max_cost",
            ),
            (
                pb::RouteRequest {
                    max_lenders: 100_000,
                    ..req("x", "L00001", 1)
                },
                "max_lenders",
            ),
            (
                pb::RouteRequest {
                    service_type: 42,
                    ..req("x", "L00001", 1)
                },
                "service_type",
            ),
            (
                pb::RouteRequest {
                    format: 99,
                    ..req("x", "L00001", 1)
                },
                "format",
            ),
            (
                pb::RouteRequest {
                    profile: "nope".into(),
                    ..req("x", "L00001", 1)
                },
                "profile",
            ),
        ];
        for (r, field) in cases {
            let e = routing.route(r).await.unwrap_err();
            assert_eq!(e.code(), Code::InvalidArgument, "{field}: {e:?}");
            assert!(e.message().contains(field), "{field}: {}", e.message());
        }
        let mut unknown = ev("u1", pb::EventKind::Sent, pb::TriedReason::NoAnswer);
        unknown.lender = "GHOST".into();
        assert_eq!(
            events.report_one(unknown).await.unwrap_err().code(),
            Code::NotFound
        );
        let mut nokind = ev("u2", pb::EventKind::Sent, pb::TriedReason::NoAnswer);
        nokind.kind = 77;
        assert_eq!(
            events.report_one(nokind).await.unwrap_err().code(),
            Code::InvalidArgument
        );
        // an oversize message is refused, not buffered
        let mut huge = req("h", "L00001", 1);
        huge.citation = Some(pb::Citation {
            title: "x".repeat(5 << 20),
            ..Default::default()
        });
        let e = routing.route(huge).await.unwrap_err();
        assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");

        // reflection lists our services, in v1 and in v1alpha (which older clients such as
        // grpcio-reflection and grpc_cli speak)
        macro_rules! listed {
            ($v:ident) => {{
                use tonic_reflection::pb::$v as r;
                let q = r::ServerReflectionRequest {
                    host: String::new(),
                    message_request: Some(
                        r::server_reflection_request::MessageRequest::ListServices(String::new()),
                    ),
                };
                let mut resp = r::server_reflection_client::ServerReflectionClient::new(ch.clone())
                    .server_reflection_info(futures::stream::iter(vec![q]))
                    .await
                    .unwrap()
                    .into_inner();
                format!("{:?}", resp.next().await.unwrap().unwrap())
            }};
        }
        for listed in [listed!(v1), listed!(v1alpha)] {
            for svc in [
                "rota.v1.Routing",
                "rota.v1.Events",
                "rota.v1.Catalog",
                "rota.v1.Admin",
                "grpc.health.v1.Health",
            ] {
                assert!(listed.contains(svc), "{svc} not in {listed}");
            }
        }
    });
}

#[test]
fn auth_roles_and_borrower_binding() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("rota.toml");
    let h = |t: &str| rota_server::hash_token(t);
    std::fs::write(
        &cfg,
        format!(
            "[[tokens]]\nname = \"ill-L1\"\nsha256 = \"{}\"\nrole = \"frontend\"\nborrowers = [\"L00001\"]\n\n\
             [[tokens]]\nname = \"ops\"\nsha256 = \"{}\"\nrole = \"ops\"\n\n\
             [[tokens]]\nname = \"admin\"\nsha256 = \"{}\"\nrole = \"admin\"\n",
            h("front-secret"),
            h("ops-secret"),
            h("admin-secret")
        ),
    )
    .unwrap();
    let s = start(
        &tmp.path().join("data"),
        &["--config", cfg.to_str().unwrap()],
    );
    rt().block_on(async {
        let ch = channel(&s.addr).await;
        let mut routing = pb::routing_client::RoutingClient::new(ch.clone());
        let mut admin = pb::admin_client::AdminClient::new(ch.clone());
        let mut catalog = pb::catalog_client::CatalogClient::new(ch.clone());
        assert_eq!(
            routing
                .route(req("a", "L00001", 3))
                .await
                .unwrap_err()
                .code(),
            Code::Unauthenticated
        );
        assert_eq!(
            routing
                .route(authed(req("a", "L00001", 3), "wrong"))
                .await
                .unwrap_err()
                .code(),
            Code::Unauthenticated
        );
        routing
            .route(authed(req("a", "L00001", 3), "front-secret"))
            .await
            .unwrap();
        let e = routing
            .route(authed(req("a", "L00002", 3), "front-secret"))
            .await
            .unwrap_err();
        assert_eq!(
            e.code(),
            Code::PermissionDenied,
            "a library cannot route as another"
        );
        let e = admin
            .list_profiles(authed(pb::ListProfilesRequest {}, "front-secret"))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied);
        admin
            .list_profiles(authed(pb::ListProfilesRequest {}, "ops-secret"))
            .await
            .unwrap();
        routing
            .route(authed(req("a", "L00002", 3), "ops-secret"))
            .await
            .unwrap();
        let e = catalog
            .reload(authed(
                pb::ReloadRequest {
                    path: String::new(),
                },
                "ops-secret",
            ))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied);
        catalog
            .reload(authed(
                pb::ReloadRequest {
                    path: String::new(),
                },
                "admin-secret",
            ))
            .await
            .unwrap();
        let mut events = pb::events_client::EventsClient::new(ch);
        let e = events
            .report_one(authed(
                pb::LenderEvent {
                    request_id: "x".into(),
                    borrower: "L00009".into(),
                    lender: "L00002".into(),
                    kind: 1,
                    ..Default::default()
                },
                "front-secret",
            ))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "nor report as another");
    });
}

#[test]
fn refuses_non_loopback_without_tokens() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(rota_bin())
        .args([
            "serve",
            "--listen",
            "0.0.0.0:0",
            "--metrics-listen",
            "off",
            "--iso18626-listen",
            "off",
            "--console-listen",
            "off",
        ])
        .arg("--data-dir")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("without tokens"));
}

/// A configuration naming a file that is not there is refused before the server listens
/// (it used to say "listening" and then fail), naming the key and the file.
#[test]
fn a_missing_configured_file_is_refused_before_listening() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("rota.toml");
    std::fs::write(&cfg, "profiles = [\"no/such/profiles.toml\"]\n").unwrap();
    let out = Command::new(rota_bin())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "off",
            "--iso18626-listen",
            "off",
            "--console-listen",
            "off",
        ])
        .arg("--config")
        .arg(&cfg)
        .arg("--data-dir")
        .arg(tmp.path().join("data"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("profiles: cannot read no/such/profiles.toml"),
        "{stderr}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("listening"),
        "it listened first"
    );
}

#[test]
#[cfg_attr(
    rota_no_grpcio,
    ignore = "needs python3 with grpcio and grpcio-tools (pip install grpcio grpcio-tools)"
)]
fn python_grpcio_client() {
    let tmp = tempfile::tempdir().unwrap();
    let s = start(tmp.path(), &[]);
    rt().block_on(async {
        channel(&s.addr).await;
    });
    let root = crate::common::root();
    let out = Command::new("python3")
        .arg(root.join("tests/python/grpc_client.py"))
        .arg(&s.addr)
        .arg(root.join("proto"))
        .arg(isbn(7))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python client failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("python client ok"));
}

#[test]
fn reroute_and_route_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let s = start(&tmp.path().join("data"), &[]);
    rt().block_on(async {
        channel(&s.addr).await;
    });
    let server = format!("http://{}", s.addr);
    // rota route --server
    let o = Command::new(rota_bin())
        .args([
            "route",
            "--server",
            &server,
            "--borrower",
            "L00001",
            "--isbn",
            &isbn(7),
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(!v["lenders"].as_array().unwrap().is_empty());
    // rota reroute: 300 unfilled requests, each with lenders already tried, one bad line,
    // one unknown borrower
    let input = tmp.path().join("unfilled.jsonl");
    let mut lines = String::new();
    for k in 0..300u64 {
        let first = v["lenders"][0]["symbol"].as_str().unwrap();
        lines.push_str(&format!(
            "{{\"request_id\":\"u{k}\",\"borrower\":\"L00002\",\"citation\":{{\"isbn\":\"{}\"}},\"tried\":[{{\"lender\":\"{first}\",\"answer\":\"not_held\"}}]}}\n",
            isbn(k)
        ));
    }
    lines.push_str("{not json}\n");
    lines.push_str(&format!(
        "{{\"request_id\":\"x\",\"borrower\":\"NOBODY\",\"citation\":{{\"isbn\":\"{}\"}}}}\n",
        isbn(1)
    ));
    std::fs::write(&input, lines).unwrap();
    let out = tmp.path().join("strings.jsonl");
    let o = Command::new(rota_bin())
        .args([
            "reroute",
            "--server",
            &server,
            "--input",
            input.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(1),
        "errors and unreadable lines make a non-zero exit: {err}"
    );
    assert!(
        err.contains("errors 1") && err.contains("unreadable lines 1"),
        "{err}"
    );
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 301, "every readable request answered");
    let first = v["lenders"][0]["symbol"].as_str().unwrap();
    for r in rows.iter().filter(|r| r["error"].is_null()) {
        assert!(
            r["lenders"].as_array().unwrap().iter().all(|l| l != first),
            "a tried lender was re-routed to"
        );
    }
    assert!(
        rows.iter()
            .any(|r| r["request_id"] == "x" && r["error"].as_str().unwrap().contains("borrower"))
    );
}

#[test]
fn tls_with_tokens_on_every_interface() {
    let tmp = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(tmp.path().join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(tmp.path().join("key.pem"), key.serialize_pem()).unwrap();
    let cfg = tmp.path().join("rota.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[tokens]]\nname = \"t\"\nsha256 = \"{}\"\nrole = \"admin\"\n\n[tls]\ncert = {:?}\nkey = {:?}\n",
            rota_server::hash_token("tls-secret"),
            tmp.path().join("cert.pem").to_str().unwrap(),
            tmp.path().join("key.pem").to_str().unwrap()
        ),
    )
    .unwrap();
    // with tokens and TLS the server may listen beyond loopback
    let mut s = start(
        &tmp.path().join("data"),
        &["--config", cfg.to_str().unwrap(), "--listen", "0.0.0.0:0"],
    );
    let port = s.addr.rsplit(':').next().unwrap().to_string();
    let child = &mut s.child;
    rt().block_on(async {
        let tls = tonic::transport::ClientTlsConfig::new()
            .ca_certificate(tonic::transport::Certificate::from_pem(cert.pem()))
            .domain_name("localhost");
        let deadline = Instant::now() + Duration::from_secs(120);
        let ch = loop {
            let ep = tonic::transport::Endpoint::from_shared(format!("https://127.0.0.1:{port}"))
                .unwrap()
                .tls_config(tls.clone())
                .unwrap();
            let last = match ep.connect().await {
                Ok(c) => {
                    let mut st = pb::catalog_client::CatalogClient::new(c.clone());
                    match st.stats(authed(pb::StatsRequest {}, "tls-secret")).await {
                        Ok(_) => break c,
                        Err(e) => format!("stats: {e}"),
                    }
                }
                Err(e) => format!("connect: {e:?}"),
            };
            assert!(
                Instant::now() < deadline,
                "TLS server never answered; last: {last}; server: {:?}",
                child.try_wait()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let mut routing = pb::routing_client::RoutingClient::new(ch);
        let r = routing
            .route(authed(req("tls", "L00001", 7), "tls-secret"))
            .await
            .unwrap()
            .into_inner();
        assert!(!r.lenders.is_empty());
        assert_eq!(
            routing
                .route(req("tls", "L00001", 7))
                .await
                .unwrap_err()
                .code(),
            Code::Unauthenticated
        );
        // clients that hang up mid-handshake do not take the server down (the server's
        // reply to a closed socket once raised SIGPIPE, which killed it)
        hang_ups(
            &format!("127.0.0.1:{port}"),
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the server died: {:?}",
            child.try_wait()
        );
        let r = routing
            .route(authed(req("tls", "L00001", 8), "tls-secret"))
            .await
            .unwrap()
            .into_inner();
        assert!(!r.lenders.is_empty());
        // plaintext to a TLS port does not get through
        let plain = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect()
            .await;
        if let Ok(c) = plain {
            let mut rc = pb::routing_client::RoutingClient::new(c);
            assert!(
                rc.route(authed(req("p", "L00001", 7), "tls-secret"))
                    .await
                    .is_err()
            );
        }
    });
}

#[test]
fn simulate_rpc_is_bounded_and_the_log_replays() {
    let tmp = tempfile::tempdir().unwrap();
    let s = start(tmp.path(), &[]);
    rt().block_on(async {
        let mut admin = pb::admin_client::AdminClient::new(channel(&s.addr).await);
        let small = "days = 3\nlibraries = 20\nrecords = 2000\nrequests_per_day = 40.0\n";
        let profile =
            std::fs::read_to_string(crate::common::root().join("deploy/profiles-example.toml"))
                .unwrap();
        let r = admin
            .simulate(pb::SimulateRequest {
                scenario_toml: small.into(),
                profiles_toml: vec![profile],
                time_limit_seconds: 60,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            r.report_markdown.contains("oracle"),
            "{}",
            r.report_markdown
        );
        assert!(r.report_markdown.contains("profile:regional-first"));
        let json: serde_json::Value = serde_json::from_str(&r.report_json).unwrap();
        assert!(json.is_object());
        assert!(r.time_to_fill_svg.starts_with("<svg") && r.load_svg.starts_with("<svg"));
        // bounds: too big, server-side files
        for (bad, field) in [
            ("records = 10000000\n", "records"),
            ("imls = \"/etc/passwd\"\n", "imls"),
            ("strategies = [\"profile:/etc/passwd\"]\n", "profile:FILE"),
            (
                "days = 400\nrequests_per_day = 1000.0\n",
                "requests_per_day",
            ),
            ("no_such_field = 1\n", "scenario_toml"),
        ] {
            let e = admin
                .simulate(pb::SimulateRequest {
                    scenario_toml: bad.into(),
                    ..Default::default()
                })
                .await
                .unwrap_err();
            assert_eq!(e.code(), Code::InvalidArgument, "{bad}");
            assert!(e.message().contains(field), "{bad}: {}", e.message());
        }
    });
    drop(s);
    // the demo's first start logged its history: replay it under the example profile
    let snap = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "snap"))
        .expect("demo snapshot");
    let lenders = snap.with_extension("lenders.toml");
    let out = tmp.path().join("replay-out");
    let replay = || {
        let mut c = Command::new(rota_bin());
        c.args(["simulate", "--replay"])
            .arg(tmp.path())
            .arg("--snapshot")
            .arg(&snap)
            .arg("--directory")
            .arg(&lenders);
        c
    };
    let st = replay()
        .arg("--profile-file")
        .arg(crate::common::root().join("deploy/profiles-example.toml"))
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let md = std::fs::read_to_string(out.join("replay.md")).unwrap();
    assert!(
        md.contains("profile `regional-first` against `default`"),
        "{md}"
    );
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("replay.json")).unwrap()).unwrap();
    let requests = j["requests"].as_u64().unwrap();
    assert!(requests > 1000, "{j}");
    let first = &j["actual_first"];
    let sum: u64 = ["filled", "said_no", "expired", "open", "not_asked"]
        .iter()
        .map(|k| first[k].as_u64().unwrap())
        .sum();
    assert_eq!(
        sum, requests,
        "every replayed request's real first lender is accounted for"
    );
    assert_eq!(first["not_asked"].as_u64(), Some(0));
    // without a candidate profile the replay refuses, naming what is missing
    let o = replay().output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--profile-file"));
}

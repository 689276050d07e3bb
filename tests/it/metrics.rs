//! The operations listener of the real server: every gRPC call counted with one label
//! style (errors, unknown methods and health checks included), latency histograms with
//! buckets, `# HELP` on every metric, build info, liveness and readiness, 404 elsewhere.

use std::io::{Read, Write};
use std::net::TcpStream;

use rota_proto::v1 as pb;
use tonic::Code;

use crate::hostile::route;
use crate::server::{channel, rt, start};

/// A plain HTTP/1.1 GET: (status, body).
pub(crate) fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect to the metrics listener");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {out:?}"));
    let body = out.split_once("\r\n\r\n").map_or("", |b| b.1).to_string();
    (status, body)
}

/// The value of the series `name{labels}` (labels exactly as rendered), if present.
pub(crate) fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

#[test]
fn every_call_is_counted_once_with_one_label_style_and_the_probes_answer() {
    let tmp = tempfile::tempdir().unwrap();
    let s = start(tmp.path(), &["--metrics-listen", "127.0.0.1:0"]);
    let ops = s.ops.clone().expect("the ops listener address");
    // alive from the start, whatever the catalogue is doing
    assert_eq!(get(&ops, "/healthz").0, 200);
    rt().block_on(async {
        let ch = channel(&s.addr).await;
        let mut routing = pb::routing_client::RoutingClient::new(ch.clone());
        for i in 0..3 {
            routing.route(route(i)).await.unwrap();
        }
        let bad = routing
            .route(pb::RouteRequest {
                borrower: "L00001".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(bad.code(), Code::InvalidArgument);
        // a method nobody serves: counted, but under "unknown", so invented paths cannot
        // grow the number of series
        let mut raw = tonic::client::Grpc::new(ch.clone());
        raw.ready().await.unwrap();
        let e = raw
            .unary::<pb::RouteRequest, pb::RouteResponse, _>(
                tonic::Request::new(route(9)),
                http::uri::PathAndQuery::from_static("/rota.v1.Routing/NoSuchMethod"),
                tonic_prost::ProstCodec::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::Unimplemented);
    });
    let (code, ready) = get(&ops, "/readyz");
    assert_eq!((code, ready.as_str()), (200, "ready\n"));
    let (code, body) = get(&ops, "/no/such/page");
    assert_eq!(code, 404, "{body}");

    let (code, text) = get(&ops, "/metrics");
    assert_eq!(code, 200);
    let calls = |svc: &str, method: &str, code: &str| {
        value(
            &text,
            &format!(
                r#"rota_rpc_requests_total{{service="{svc}",method="{method}",code="{code}"}}"#
            ),
        )
    };
    assert_eq!(calls("rota.v1.Routing", "Route", "OK"), Some(3.0), "{text}");
    assert_eq!(
        calls("rota.v1.Routing", "Route", "INVALID_ARGUMENT"),
        Some(1.0)
    );
    assert_eq!(calls("unknown", "unknown", "UNIMPLEMENTED"), Some(1.0));
    // the test client's readiness polling is a gRPC call too
    assert!(calls("grpc.health.v1.Health", "Check", "OK").is_some_and(|n| n >= 1.0));
    assert_eq!(
        value(
            &text,
            r#"rota_rpc_duration_seconds_count{service="rota.v1.Routing",method="Route"}"#
        ),
        Some(4.0),
        "{text}"
    );
    assert!(
        text.contains(r#"rota_rpc_duration_seconds_bucket{service="rota.v1.Routing",method="Route",le="0.001"}"#),
        "a histogram with buckets, not a summary"
    );
    assert!(text.contains("# TYPE rota_rpc_duration_seconds histogram"));
    assert_eq!(value(&text, "rota_ready"), Some(1.0));
    assert!(text.contains("rota_build_info{version=\""), "{text}");
    assert!(value(&text, "rota_index_clusters").is_some_and(|n| n > 0.0));
    let mut typed = 0;
    for name in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
        let name = name.split(' ').next().unwrap();
        typed += 1;
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has no # HELP"
        );
    }
    assert!(typed >= 8, "{text}");
    for unbounded in ["rank=", "lender=", "borrower=", "outcome="] {
        assert!(!text.contains(unbounded), "a {unbounded} label:\n{text}");
    }
}

//! Admission against the real server: a permit is held for the whole of a call, streams
//! included, the call past the limit is refused at once with RESOURCE_EXHAUSTED, and
//! capacity returns the moment a call ends. (The latency figures under 3× load come from
//! `rota-loadtest overload` and go to PERFORMANCE.md; nothing here is timed.)

use futures::{SinkExt, StreamExt};
use rota_proto::v1 as pb;
use tonic::Code;

use crate::hostile::route;
use crate::metrics::{get, value};
use crate::server::{channel, rt, start_env};

#[test]
fn open_streams_hold_their_permits_and_the_excess_is_shed() {
    let tmp = tempfile::tempdir().unwrap();
    let s = start_env(
        tmp.path(),
        &["--metrics-listen", "127.0.0.1:0"],
        &[("ROTA_MAX_IN_FLIGHT", "2")],
    );
    rt().block_on(async {
        let ch = channel(&s.addr).await;
        let mut routing = pb::routing_client::RoutingClient::new(ch.clone());
        let mut events = pb::events_client::EventsClient::new(ch.clone());
        assert!(routing.route(route(1)).await.is_ok(), "room for one call");

        // two streams left open: a RouteBatch whose requests never end, and a Report
        let (mut batch_tx, batch_rx) = futures::channel::mpsc::channel::<pb::RouteRequest>(4);
        batch_tx.send(route(2)).await.unwrap();
        let mut batch = routing.route_batch(batch_rx).await.unwrap().into_inner();
        let first = batch.next().await.unwrap().unwrap();
        assert!(first.error.is_none(), "{first:?}");
        let (mut report_tx, report_rx) = futures::channel::mpsc::channel::<pb::LenderEvent>(4);
        let mut ev = events.clone();
        let report = tokio::spawn(async move { ev.report(report_rx).await });
        // the Report's headers reach the server before we go on
        report_tx
            .send(pb::LenderEvent {
                request_id: "o-ev".into(),
                borrower: "L00001".into(),
                lender: "L00002".into(),
                kind: pb::EventKind::Sent as i32,
                ..Default::default()
            })
            .await
            .unwrap();
        // both permits are held by the open streams once the Report's headers are in. A
        // unary call sent before then takes the second permit and gets the Report shed
        // (seen on a loaded machine), so wait until the server counts both streams
        let ops = s.ops.clone().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            assert!(
                !report.is_finished(),
                "the Report ended: {:?}",
                report.await
            );
            let ops = ops.clone();
            let (_, text) = tokio::task::spawn_blocking(move || get(&ops, "/metrics"))
                .await
                .unwrap();
            if value(&text, "rota_in_flight_calls") == Some(2.0) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the Report never arrived"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let e = routing
            .route(route(3))
            .await
            .expect_err("a call shed while both streams are open");
        assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
        assert!(e.message().contains("in-flight"), "{}", e.message());
        // a new stream too
        let e = events.report_one(pb::LenderEvent {
            request_id: "o-one".into(),
            borrower: "L00001".into(),
            lender: "L00002".into(),
            kind: pb::EventKind::Sent as i32,
            ..Default::default()
        });
        assert_eq!(e.await.unwrap_err().code(), Code::ResourceExhausted);
        // the open streams still work
        batch_tx.send(route(4)).await.unwrap();
        assert!(batch.next().await.unwrap().unwrap().error.is_none());

        // ending them gives the capacity back at once
        drop(batch_tx);
        assert!(batch.next().await.is_none());
        drop(batch);
        drop(report_tx);
        let summary = report.await.unwrap().unwrap().into_inner();
        assert_eq!(summary.accepted, 1);
        let mut ok = false;
        for _ in 0..50 {
            match routing.route(route(5)).await {
                Ok(_) => {
                    ok = true;
                    break;
                }
                Err(e) if e.code() == Code::ResourceExhausted => {
                    // the server releases a permit when the response body is done, a moment
                    // after the client has read it
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(e) => panic!("{e:?}"),
            }
        }
        assert!(ok, "capacity did not come back after the streams ended");
    });
    // the shed calls are counted like any other, under their own code, and as shed
    let (_, text) = get(s.ops.as_deref().unwrap(), "/metrics");
    let shed = |svc: &str, method: &str| {
        value(
            &text,
            &format!(
                r#"rota_rpc_requests_total{{service="{svc}",method="{method}",code="RESOURCE_EXHAUSTED"}}"#
            ),
        )
        .unwrap_or(0.0)
    };
    assert!(shed("rota.v1.Routing", "Route") >= 1.0, "{text}");
    assert_eq!(shed("rota.v1.Events", "ReportOne"), 1.0, "{text}");
    let total = value(&text, r#"rota_shed_total{reason="in_flight"}"#).unwrap_or(0.0);
    assert!(total >= 2.0, "{text}");
    assert_eq!(
        value(
            &text,
            r#"rota_rpc_requests_total{service="rota.v1.Events",method="Report",code="OK"}"#
        ),
        Some(1.0),
        "the Report stream is counted once, when it ends"
    );
}

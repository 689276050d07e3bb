//! One order of changes: the catalogue reloaded again and again while holdings changes,
//! events and profile changes stream in, and afterwards every change the server
//! acknowledged is in the engine.

use rota_proto::v1 as pb;

use crate::server::{channel, events_applied, isbn, rt, start};

/// Rounds of each kind of change.
const ROUNDS: u64 = 30;

#[test]
fn every_acknowledged_change_survives_concurrent_reloads() {
    let tmp = tempfile::tempdir().unwrap();
    let s = start(tmp.path(), &[]);
    rt().block_on(async {
        let ch = channel(&s.addr).await;
        let mut catalog = pb::catalog_client::CatalogClient::new(ch.clone());
        let before = events_applied(&mut catalog).await;

        // holdings: each round a new library takes 20 items, one stream each
        let mut hc = catalog.clone();
        let holdings = tokio::spawn(async move {
            let mut acked = Vec::new();
            for round in 0..ROUNDS {
                let items: Vec<u64> = (0..20).map(|j| round * 20 + j).collect();
                let changes: Vec<pb::HoldingChange> = items
                    .iter()
                    .map(|&i| pb::HoldingChange {
                        symbol: format!("NEW{round:03}"),
                        citation: Some(pb::Citation {
                            isbn: isbn(i),
                            ..Default::default()
                        }),
                        copies: 1,
                        lendable: true,
                        ..Default::default()
                    })
                    .collect();
                let r = hc
                    .upsert_holdings(futures::stream::iter(changes))
                    .await
                    .unwrap()
                    .into_inner();
                assert_eq!(r.applied, 20);
                // read your writes: acknowledged means in the engine, now
                for &i in &items {
                    let m = hc
                        .lookup(pb::LookupRequest {
                            citation: Some(pb::Citation {
                                isbn: isbn(i),
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
                            .any(|h| h.symbol == format!("NEW{round:03}")),
                        "NEW{round:03}'s acknowledged holding of item {i} is not in the engine"
                    );
                }
                acked.extend(items.into_iter().map(|i| (i, format!("NEW{round:03}"))));
            }
            acked
        });

        // events: each round a stream of 100 "sent" events
        let mut ev = pb::events_client::EventsClient::new(ch.clone());
        let events = tokio::spawn(async move {
            let mut acked = 0;
            for round in 0..ROUNDS {
                let stream: Vec<pb::LenderEvent> = (0..100)
                    .map(|k| pb::LenderEvent {
                        request_id: format!("c{round}-{k}"),
                        borrower: "L00001".into(),
                        lender: "L00002".into(),
                        kind: pb::EventKind::Sent as i32,
                        ..Default::default()
                    })
                    .collect();
                let r = ev
                    .report(futures::stream::iter(stream))
                    .await
                    .unwrap()
                    .into_inner();
                acked += r.accepted;
            }
            acked
        });

        // profiles: each round a new one
        let mut admin = pb::admin_client::AdminClient::new(ch.clone());
        let base = admin
            .get_profile(pb::GetProfileRequest {
                name: "weighted".into(),
            })
            .await
            .unwrap()
            .into_inner();
        let profiles = tokio::spawn(async move {
            let mut acked = Vec::new();
            for round in 0..ROUNDS {
                let p = pb::WeightProfile {
                    name: format!("c{round}"),
                    version: 0,
                    ..base.clone()
                };
                admin.put_profile(p).await.unwrap();
                acked.push(format!("c{round}"));
            }
            (acked, admin)
        });

        // and the catalogue reloaded all the while, back to back
        let mut rc = catalog.clone();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = stop.clone();
        let reloads = tokio::spawn(async move {
            let mut n = 0;
            while n < ROUNDS || !stop2.load(std::sync::atomic::Ordering::Relaxed) {
                rc.reload(pb::ReloadRequest {
                    path: String::new(),
                })
                .await
                .unwrap();
                n += 1;
            }
            n
        });

        let holdings = holdings.await.unwrap();
        let events = events.await.unwrap();
        let (profiles, mut admin) = profiles.await.unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let n = reloads.await.unwrap();
        assert!(n >= ROUNDS, "{n} reloads");

        for (item, symbol) in &holdings {
            let m = catalog
                .lookup(pb::LookupRequest {
                    citation: Some(pb::Citation {
                        isbn: isbn(*item),
                        ..Default::default()
                    }),
                    limit: 1,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            assert!(
                m.matches[0].holders.iter().any(|h| &h.symbol == symbol),
                "{symbol}'s acknowledged holding of item {item} is gone"
            );
        }
        let after = events_applied(&mut catalog).await;
        assert_eq!(after - before, events, "every acknowledged event applied");
        for name in &profiles {
            let p = admin
                .get_profile(pb::GetProfileRequest { name: name.clone() })
                .await
                .unwrap_or_else(|e| panic!("profile {name} acknowledged and gone: {e}"))
                .into_inner();
            assert_eq!(p.version, 1);
        }
    });
}

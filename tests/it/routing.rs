//! The routing engine on the real SWB holdings (485 real libraries) with a directory
//! generated for them, and `rota route` end to end.

use std::collections::HashSet;
use std::process::Command;
use std::sync::Arc;

use rota_catalog::ingest::{self, BuildOptions, Manifest, Source};
use rota_catalog::{Catalog, Citation};
use rota_routing::synth::directory_for;
use rota_routing::{
    Answer, Engine, Event, EventKind, ReasonUnfilled, Request, RouteStatus, Service, ServiceType,
    Tried,
};

use crate::common::{rota_bin, shared_data};

fn swb() -> (Arc<Catalog>, std::path::PathBuf) {
    let d = shared_data();
    let path = d.join("swb-union-holdings/swb-674.marcxml");
    let m = Manifest {
        name: "SWB".into(),
        libraries: vec![],
        sources: vec![Source::union_file(&path, &["924$b"])],
    };
    let bytes = ingest::build(&m, &BuildOptions::default(), &|_| {})
        .unwrap()
        .bytes;
    (Arc::new(Catalog::from_bytes(bytes).unwrap()), path)
}

const NOW: i64 = 1_795_000_000;

#[test]
#[cfg_attr(
    rota_no_shared_data,
    ignore = "needs ../shared/data beside the checkout (or ROTA_SHARED_DATA)"
)]
fn routes_every_swb_record_within_the_rules() {
    let (cat, _) = swb();
    let today = chrono::DateTime::from_timestamp(NOW, 0)
        .unwrap()
        .date_naive();
    let dir = Arc::new(directory_for(&cat, 5, today).unwrap());
    assert_eq!(dir.len(), 440);
    let engine = Engine::new(cat.clone(), dir.clone(), vec![]).unwrap();
    let mut state = engine.new_state();
    let mut routed = 0;
    let mut lenders_total = 0;
    let mut held_locally = 0;
    for c in cat.cluster_ids() {
        let info = cat.info(c).unwrap();
        let Some(oclc) = info.ids.iter().find_map(|i| i.strip_prefix("oclc:")) else {
            continue;
        };
        let holders = cat.holders(c);
        let borrower = dir.lenders()[(c.index() * 31) % dir.len()].symbol.clone();
        let first_holder = cat.library(holders[0].library).symbol.clone();
        let req = Request {
            request_id: format!("swb-{c}"),
            borrower: borrower.clone(),
            citation: Citation {
                oclc: Some(oclc.to_string()),
                ..Citation::default()
            },
            service: Some(ServiceType::CopyOrLoan),
            format: None,
            max_cost: None,
            currency: None,
            need_before: None,
            rush: false,
            tried: vec![Tried {
                lender: first_holder.clone(),
                answer: Answer::Unfilled(ReasonUnfilled::NotHeld),
                at: None,
            }],
            max_lenders: 5,
            profile: None,
            min_confidence: None,
            require_identifier: false,
            route_anyway: false,
            availability: vec![],
            now: NOW,
        };
        let bi = dir.index(&borrower).unwrap();
        let own = |sym: &str| dir.same_institution(dir.index(sym).unwrap(), bi);
        // the borrower's institution holds it: held locally, nothing routed, unless asked
        let first = engine.route(&state, &req).unwrap();
        assert!(first.local.iter().all(|l| own(&l.symbol)));
        if first.local.is_empty() {
            assert_eq!(first.status, RouteStatus::Routed);
        } else {
            assert_eq!(first.status, RouteStatus::HeldLocally);
            assert!(first.lenders.is_empty());
            held_locally += 1;
        }
        let req = Request {
            route_anyway: true,
            ..req
        };
        let s = engine.route(&state, &req).unwrap();
        assert_eq!(s.status, RouteStatus::Routed);
        assert_eq!(s.matches[0].cluster, c);
        let syms: HashSet<&str> = s.lenders.iter().map(|l| l.symbol.as_str()).collect();
        assert_eq!(syms.len(), s.lenders.len());
        assert!(!syms.contains(borrower.as_str()));
        // never the borrower's own institution (DE-21-31 for DE-21)
        assert!(syms.iter().all(|l| !own(l)), "{syms:?} for {borrower}");
        for x in &s.excluded {
            if own(&x.symbol) && x.symbol != borrower {
                assert_eq!(x.reason, rota_routing::Exclusion::BorrowersInstitution);
            }
        }
        assert!(!syms.contains(first_holder.as_str()));
        let accounted = s.lenders.len() + s.excluded.len() + s.not_ranked as usize;
        assert_eq!(
            accounted,
            holders.len(),
            "every holder in the string or excluded with a rule"
        );
        routed += 1;
        lenders_total += s.lenders.len();
        // the first lender says "not held": remembered for that cluster by every later request
        if let Some(top) = s.lenders.first() {
            let e = Event {
                at: NOW,
                request_id: req.request_id.clone(),
                borrower: borrower.clone(),
                lender: top.symbol.to_string(),
                cluster: Some(c),
                service: Service::Loan,
                kind: EventKind::Unfilled(ReasonUnfilled::NotHeld),
            };
            state.apply(&dir, &e).unwrap();
            let again = engine
                .route(
                    &state,
                    &Request {
                        request_id: "other".into(),
                        tried: vec![],
                        ..req.clone()
                    },
                )
                .unwrap();
            assert!(again.lenders.iter().all(|l| l.symbol != top.symbol));
            assert!(again.excluded.iter().any(
                |x| x.symbol == top.symbol && x.reason == rota_routing::Exclusion::KnownNotHeld
            ));
        }
    }
    assert!(routed > 500, "routed {routed}");
    assert!(held_locally > 10, "held locally {held_locally}");
    assert!(
        lenders_total > routed * 3,
        "strings should mostly be full: {lenders_total} lenders over {routed}"
    );
}

#[test]
#[cfg_attr(
    rota_no_shared_data,
    ignore = "needs ../shared/data beside the checkout (or ROTA_SHARED_DATA)"
)]
fn rota_route_offline_prints_reasons_and_json() {
    let (_, path) = swb();
    let tmp = tempfile::tempdir().unwrap();
    let snap = tmp.path().join("swb.snap");
    let dirf = tmp.path().join("dir.toml");
    let run = |args: &[&str]| Command::new(rota_bin()).args(args).output().unwrap();
    let o = run(&[
        "catalog",
        "build",
        "--out",
        snap.to_str().unwrap(),
        "--union",
        path.to_str().unwrap(),
        "--holdings-field",
        "924$b",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&[
        "directory",
        "generate",
        "--snapshot",
        snap.to_str().unwrap(),
        "--out",
        dirf.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&["directory", "check", dirf.to_str().unwrap()]);
    assert!(o.status.success());
    // DE-21 holds it itself: held locally, listed, nothing routed (exit 1)
    let o = run(&[
        "route",
        "--snapshot",
        snap.to_str().unwrap(),
        "--directory",
        dirf.to_str().unwrap(),
        "--borrower",
        "DE-21",
        "--oclc",
        "20908784",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("held locally") && out.contains("DE-21"),
        "{out}"
    );
    let o = run(&[
        "route",
        "--snapshot",
        snap.to_str().unwrap(),
        "--directory",
        dirf.to_str().unwrap(),
        "--borrower",
        "DE-21",
        "--oclc",
        "20908784",
        "--tried",
        "DE-14=not_held",
        "--route-anyway",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let lenders = v["lenders"].as_array().unwrap();
    assert!(!lenders.is_empty());
    for l in lenders {
        assert!(l["reason"].as_str().unwrap().contains("holds it"));
        assert!(l["factors"].as_array().unwrap().len() >= 4);
        assert!(!l["symbol"].as_str().unwrap().starts_with("DE-21-"));
        assert_ne!(l["symbol"], "DE-21");
        assert_ne!(l["symbol"], "DE-14");
    }
    let ex = v["excluded"].as_array().unwrap();
    assert!(
        ex.iter()
            .any(|e| e["symbol"] == "DE-14" && e["reason"] == "tried_final")
    );
    // Quételet's "Physique sociale": the set and its two volumes (SWB 000024694,
    // 000024708, 000024716) fit equally: ambiguous, the candidates told apart by part
    // and year, nothing routed
    let by_title = |title: &str, author: Option<&str>| {
        let mut a = vec![
            "route",
            "--snapshot",
            snap.to_str().unwrap(),
            "--directory",
            dirf.to_str().unwrap(),
            "--borrower",
            "DE-14",
            "--title",
            title,
        ];
        if let Some(au) = author {
            a.extend(["--author", au]);
        }
        run(&a)
    };
    let o = by_title("Physique sociale", Some("Quételet, Adolphe"));
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("ambiguous"), "{out}");
    assert!(
        out.contains("Physique sociale. 1 / Qu") && out.contains("Adolphe, 1869;"),
        "{out}"
    );
    assert!(out.contains("Physique sociale. 2 / Qu"), "{out}");
    assert!(!out.contains("lending string"), "{out}");
    // a two-word title with no author names too many books to be sure of one
    let o = by_title("Mensch und Gesellschaft", None);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with("no confident match; candidates for staff:"),
        "{out}"
    );
    assert!(
        out.contains(") Mensch und Gesellschaft; 70 holders, 70 lending"),
        "{out}"
    );
    let o = run(&[
        "route",
        "--snapshot",
        snap.to_str().unwrap(),
        "--directory",
        dirf.to_str().unwrap(),
        "--borrower",
        "NOPE",
        "--oclc",
        "20908784",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("borrower"));
}

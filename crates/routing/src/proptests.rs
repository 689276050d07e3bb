//! Property tests of the lending-string invariants.

use std::collections::HashSet;
use std::sync::Arc;

use proptest::prelude::*;
use rota_catalog::generate::{self, GenParams};
use rota_catalog::{Catalog, Citation, ClusterId};

use crate::directory::Service;
use crate::state::{Answer, Event, EventKind, LiveState, ReasonRetry, ReasonUnfilled};
use crate::synth::directory_for;
use crate::{Engine, Request, ServiceType, Tried, expected_hours};

const NOW: i64 = 1_795_000_000; // 2026-11-18

fn fixture() -> &'static (Engine, LiveState) {
    static F: std::sync::OnceLock<(Engine, LiveState)> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        let p = GenParams {
            libraries: 40,
            records: 400,
            mean_holders: 8.0,
            seed: 7,
        };
        let cat = Arc::new(Catalog::from_bytes(generate::generate(&p, &|_| {}).unwrap()).unwrap());
        let today = chrono::DateTime::from_timestamp(NOW, 0)
            .unwrap()
            .date_naive();
        // every fourth lender is a branch of the one before it
        let generated = directory_for(&cat, 3, today).unwrap();
        let mut lenders = generated.lenders().to_vec();
        for i in (1..lenders.len()).step_by(4) {
            lenders[i].institution = Some(lenders[i - 1].symbol.clone());
        }
        let dir = Arc::new(crate::Directory::new(lenders, "branches").unwrap());
        let engine = Engine::new(cat, dir.clone(), vec![]).unwrap();
        let mut state = engine.new_state();
        // some history: fills, refusals, not-held answers, open requests
        let answers = [
            EventKind::Loaned,
            EventKind::Unfilled(ReasonUnfilled::NotHeld),
            EventKind::Unfilled(ReasonUnfilled::PolicyProblem),
            EventKind::RetryPossible(ReasonRetry::OnLoan),
            EventKind::CopyCompleted,
        ];
        for k in 0..3000u32 {
            let lender = dir.lenders()[(k * 7 % 40) as usize].symbol.clone();
            let borrower = dir.lenders()[(k * 13 % 40) as usize].symbol.clone();
            let id = format!("h{k}");
            let base = Event {
                at: NOW - 86_400 * 30 + i64::from(k) * 600,
                request_id: id,
                borrower,
                lender,
                cluster: Some(ClusterId::new(k % 400)),
                service: if k % 5 == 4 {
                    Service::Copy
                } else {
                    Service::Loan
                },
                kind: EventKind::Sent,
            };
            state.apply(&dir, &base).unwrap();
            if k % 10 != 0 {
                let mut e = base.clone();
                e.at += 3600 * i64::from(1 + k % 90);
                e.kind = answers[(k % 5) as usize];
                state.apply(&dir, &e).unwrap();
            }
        }
        (engine, state)
    })
}

fn answer(k: u8) -> Answer {
    match k % 7 {
        0 => Answer::Unfilled(ReasonUnfilled::NotHeld),
        1 => Answer::Unfilled(ReasonUnfilled::NonCirculating),
        2 => Answer::Unfilled(ReasonUnfilled::NotOnShelf),
        3 => Answer::Retry(ReasonRetry::OnLoan),
        4 => Answer::Unfilled(ReasonUnfilled::PolicyProblem),
        5 => Answer::NoAnswer,
        _ => Answer::Retry(ReasonRetry::CostExceedsMaxCost),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn string_invariants(
        record in 0u64..400,
        borrower in 0usize..40,
        tried in proptest::collection::vec((0usize..40, 0u8..7), 0..8),
        max in 1u32..12,
        profile in 0usize..3,
        service in 0u8..3,
        max_cost in proptest::option::of(0.0f64..30.0),
        id in "[a-z0-9]{0,8}",
        route_anyway in any::<bool>(),
        shelves in proptest::collection::vec((0usize..40, 0u8..4), 0..8),
    ) {
        let (engine, state) = fixture();
        let dir = engine.directory();
        let availability: Vec<crate::Availability> = shelves
            .iter()
            .map(|(l, k)| crate::Availability {
                lender: dir.lenders()[*l].symbol.clone(),
                shelf: match k {
                    0 => crate::Shelf::OnShelf,
                    1 => crate::Shelf::OnLoan { until: Some(NOW + 86_400) },
                    2 => crate::Shelf::OnLoan { until: None },
                    _ => crate::Shelf::Unknown,
                },
            })
            .collect();
        // a lender listed twice: its last answer stands
        let last: std::collections::HashMap<&str, crate::Shelf> = availability
            .iter()
            .map(|a| (a.lender.as_str(), a.shelf))
            .collect();
        let on_loan: HashSet<String> = last
            .iter()
            .filter(|(_, s)| matches!(s, crate::Shelf::OnLoan { .. }))
            .map(|(l, _)| l.to_string())
            .collect();
        let req = Request {
            request_id: id,
            borrower: dir.lenders()[borrower].symbol.clone(),
            citation: Citation { isbn: Some(generate::isbn_of(record)), ..Citation::default() },
            service: Some([ServiceType::Loan, ServiceType::Copy, ServiceType::CopyOrLoan][service as usize]),
            format: None,
            max_cost,
            currency: None,
            need_before: None,
            rush: false,
            tried: tried.iter().map(|(l, a)| Tried { lender: dir.lenders()[*l].symbol.clone(), answer: answer(*a), at: Some(NOW - 3600) }).collect(),
            max_lenders: max,
            profile: Some(["default", "pure_fastest_fill", "weighted"][profile].into()),
            min_confidence: None,
            require_identifier: false,
            route_anyway,
            availability,
            now: NOW,
        };
        let s = engine.route(state, &req).unwrap();
        prop_assert!(
            s.lenders.iter().all(|l| !on_loan.contains(l.symbol.as_str())),
            "never a lender whose catalogue says on loan"
        );
        let again = engine.route(state, &req).unwrap();
        prop_assert_eq!(&s, &again, "deterministic for the same state and request");
        let b = dir.index(&req.borrower).unwrap();
        for l in &s.local {
            prop_assert!(dir.same_institution(dir.index(&l.symbol).unwrap(), b), "local is own");
        }
        if s.status == crate::RouteStatus::HeldLocally {
            prop_assert!(!route_anyway && !s.local.is_empty() && s.lenders.is_empty());
            return Ok(());
        }
        prop_assert_eq!(s.status, crate::RouteStatus::Routed);
        for l in &s.lenders {
            prop_assert!(
                !dir.same_institution(dir.index(&l.symbol).unwrap(), b),
                "never the borrower's institution: {} for {}", l.symbol, req.borrower
            );
        }
        prop_assert!(s.lenders.len() <= max as usize);
        let syms: Vec<&str> = s.lenders.iter().map(|l| l.symbol.as_str()).collect();
        let uniq: HashSet<&str> = syms.iter().copied().collect();
        prop_assert_eq!(uniq.len(), syms.len(), "no duplicates");
        prop_assert!(!uniq.contains(req.borrower.as_str()), "never the borrower");
        for t in &req.tried {
            prop_assert!(!uniq.contains(t.lender.as_str()), "never a tried lender: {}", t.lender);
        }
        let excluded: HashSet<&str> = s.excluded.iter().map(|e| e.symbol.as_str()).collect();
        prop_assert!(uniq.is_disjoint(&excluded), "never an excluded lender");
        let holders: HashSet<String> = engine.catalog().holders(s.matches[0].cluster).iter()
            .map(|h| engine.catalog().libraries()[h.library.index()].symbol.clone()).collect();
        for l in &s.lenders {
            prop_assert!(holders.contains(l.symbol.as_str()), "only holders");
            let i = dir.index(&l.symbol).unwrap();
            prop_assert!(dir.unavailable(i, NOW).is_none(), "never a suspended/closed lender");
            prop_assert!(!state.said_not_held(i, l.cluster));
        }
        // every holder is accounted for: in the string, excluded with a rule, or ranked
        // below max_lenders
        prop_assert_eq!(holders.len(), s.lenders.len() + s.excluded.len() + s.not_ranked as usize);
        prop_assert!(s.not_ranked == 0 || s.lenders.len() == max as usize);
        // ranks run 1..n and scores never increase
        for (k, w) in s.lenders.windows(2).enumerate() {
            prop_assert!(w[0].score >= w[1].score);
            prop_assert_eq!(w[0].rank as usize, k + 1);
        }
        if req.profile.as_deref() == Some("pure_fastest_fill") && s.lenders.len() <= 6 {
            let order: Vec<(f64, f64)> = s.lenders.iter().map(|l| (l.p_fill, l.expected_hours)).collect();
            let best = expected_hours(&order);
            prop_assert!((best - s.expected_hours_to_fill).abs() < 1e-6);
            for perm in permutations(&order) {
                prop_assert!(best <= expected_hours(&perm) + 1e-9, "e/p order is optimal");
            }
        }
    }

    #[test]
    fn e_over_p_order_is_optimal(v in proptest::collection::vec((0.01f64..1.0, 0.5f64..500.0), 1..7)) {
        let mut sorted = v.clone();
        sorted.sort_by(|a, b| (a.1 / a.0).total_cmp(&(b.1 / b.0)));
        let best = expected_hours(&sorted);
        for perm in permutations(&v) {
            prop_assert!(best <= expected_hours(&perm) + 1e-9);
        }
    }

    #[test]
    fn copy_or_loan_never_filters_everyone_out(record in 0u64..400, borrower in 0usize..40) {
        let (engine, state) = fixture();
        let dir = engine.directory();
        let mut req = Request {
            request_id: "x".into(),
            borrower: dir.lenders()[borrower].symbol.clone(),
            citation: Citation { isbn: Some(generate::isbn_of(record)), ..Citation::default() },
            service: Some(ServiceType::Loan),
            format: None, max_cost: None, currency: None, need_before: None, rush: false,
            tried: vec![], max_lenders: 40, profile: None, min_confidence: None,
            require_identifier: false, route_anyway: false, availability: vec![], now: NOW,
        };
        let loan = engine.route(state, &req).unwrap().lenders.len();
        req.service = Some(ServiceType::Copy);
        let copy = engine.route(state, &req).unwrap().lenders.len();
        req.service = Some(ServiceType::CopyOrLoan);
        let either = engine.route(state, &req).unwrap().lenders.len();
        prop_assert!(either >= loan.max(copy), "copy-or-loan {} < max(loan {}, copy {})", either, loan, copy);
    }
}

fn permutations(v: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    if v.len() <= 1 {
        return vec![v.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..v.len() {
        let mut rest = v.to_vec();
        let x = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, x);
            out.push(p);
        }
    }
    out
}

#[test]
fn equal_lenders_share_the_load() {
    // identical lenders with no history: the first choice must rotate, not stick
    let (base, _) = fixture();
    let same: Vec<crate::Lender> = base
        .directory()
        .lenders()
        .iter()
        .map(|l| crate::Lender {
            latitude: None,
            longitude: None,
            offers: vec![],
            tier: crate::Tier::Own,
            capacity: Default::default(),
            closed: vec![],
            suspended_from: None,
            suspended_to: None,
            lending: true,
            ..l.clone()
        })
        .collect();
    let dir = Arc::new(crate::Directory::new(same, "t").unwrap());
    let engine = Engine::new(base.catalog().clone(), dir.clone(), vec![]).unwrap();
    let fresh = engine.new_state();
    let cat = engine.catalog();
    let record = (0..400u64)
        .find(|r| {
            let m = cat.lookup(
                &Citation {
                    isbn: Some(generate::isbn_of(*r)),
                    ..Citation::default()
                },
                Default::default(),
            );
            m.is_ok_and(|m| cat.holder_count(m[0].cluster) >= 6)
        })
        .expect("a record with six holders");
    let mut firsts = HashSet::new();
    for k in 0..50 {
        let req = Request {
            request_id: format!("req-{k}"),
            max_lenders: 3,
            profile: Some("pure_fastest_fill".into()),
            route_anyway: true,
            ..Request::new(
                dir.lenders()[0].symbol.clone(),
                Citation {
                    isbn: Some(generate::isbn_of(record)),
                    ..Citation::default()
                },
                NOW,
            )
        };
        if let Some(l) = engine.route(&fresh, &req).unwrap().lenders.first() {
            firsts.insert(l.symbol.clone());
        }
    }
    assert!(firsts.len() >= 3, "ties rotate across requests: {firsts:?}");
}

#[test]
fn bad_requests_name_the_field() {
    let (engine, state) = fixture();
    let dir = engine.directory();
    let base = Request::new(
        dir.lenders()[0].symbol.clone(),
        Citation {
            isbn: Some(generate::isbn_of(1)),
            ..Citation::default()
        },
        NOW,
    );
    let cases: Vec<(Request, &str)> = vec![
        (
            Request {
                borrower: "NOPE".into(),
                ..base.clone()
            },
            "borrower",
        ),
        (
            Request {
                max_lenders: 0,
                ..base.clone()
            },
            "max_lenders",
        ),
        (
            Request {
                max_lenders: 1000,
                ..base.clone()
            },
            "max_lenders",
        ),
        (
            Request {
                max_cost: Some(f64::NAN),
                ..base.clone()
            },
            "max_cost",
        ),
        (
            Request {
                max_cost: Some(-1.0),
                ..base.clone()
            },
            "max_cost",
        ),
        (
            Request {
                profile: Some("nope".into()),
                ..base.clone()
            },
            "profile",
        ),
        (
            Request {
                citation: Citation::default(),
                ..base.clone()
            },
            "citation",
        ),
        (
            Request {
                citation: Citation {
                    isbn: Some("abc".into()),
                    ..Citation::default()
                },
                ..base.clone()
            },
            "isbn",
        ),
        (
            Request {
                tried: vec![Tried {
                    lender: "ZZZ".into(),
                    answer: Answer::NoAnswer,
                    at: None,
                }],
                ..base.clone()
            },
            "tried",
        ),
    ];
    for (r, want) in cases {
        let e = engine.route(state, &r).unwrap_err().to_string();
        assert!(e.contains(want), "{want}: {e}");
    }
}

#[test]
fn a_lender_whose_copies_are_away_on_a_loan_rota_routed_is_not_asked_again() {
    let (engine, state) = fixture();
    let dir = engine.directory();
    let mut checked = 0;
    for record in 0..400u64 {
        let mut state = state.clone();
        let req = Request {
            max_lenders: 20,
            route_anyway: true,
            ..Request::new(
                dir.lenders()[0].symbol.clone(),
                Citation {
                    isbn: Some(generate::isbn_of(record)),
                    ..Citation::default()
                },
                NOW,
            )
        };
        let Ok(s) = engine.route(&state, &req) else {
            continue;
        };
        let Some(first) = s.lenders.first() else {
            continue;
        };
        let cluster = s.matches[0].cluster;
        let lender = dir.index(&first.symbol).unwrap();
        let copies = engine
            .catalog()
            .holders(cluster)
            .iter()
            .find(|h| dir.index(&engine.catalog().library(h.library).symbol) == Some(lender))
            .map(|h| h.copies)
            .unwrap();
        let event = |kind, at| Event {
            at,
            request_id: format!("away-{record}"),
            borrower: dir.lenders()[1].symbol.clone(),
            lender: first.symbol.to_string(),
            cluster: Some(cluster),
            service: Service::Loan,
            kind,
        };
        state
            .apply(dir, &event(EventKind::Sent, NOW - 7200))
            .unwrap();
        state
            .apply(dir, &event(EventKind::Loaned, NOW - 3600))
            .unwrap();
        let away = engine.route(&state, &req).unwrap();
        let excluded = away
            .excluded
            .iter()
            .find(|e| e.symbol == first.symbol)
            .map(|e| e.reason);
        if copies == 1 {
            assert_eq!(
                excluded,
                Some(crate::Exclusion::CopiesAway),
                "record {record}"
            );
            assert!(away.lenders.iter().all(|l| l.symbol != first.symbol));
        } else {
            assert_eq!(excluded, None, "record {record}: {copies} copies, one away");
        }
        state
            .apply(dir, &event(EventKind::Returned, NOW - 60))
            .unwrap();
        let back = engine.route(&state, &req).unwrap();
        assert!(back.lenders.iter().any(|l| l.symbol == first.symbol));
        checked += 1;
    }
    assert!(checked > 50, "{checked}");
}

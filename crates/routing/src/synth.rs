//! A lender directory generated for a catalogue's libraries: for the demo, the
//! simulator, tests on the real SWB holdings and benchmarks.
//!
//! Deterministic for a seed. Most lenders lend loans and copies of everything; some
//! charge, some lend copies only to their own group, a few are suspended or closed over
//! the next days, and the big ones have more capacity.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rota_catalog::{Catalog, ClusterId, Format};

use crate::directory::{Capacity, Charge, Closure, Directory, Lender, Offer, Service, Tier};

/// Generates a directory entry for every library in the catalogue.
pub fn directory_for(
    catalog: &Catalog,
    seed: u64,
    today: chrono::NaiveDate,
) -> Result<Directory, crate::DirectoryError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = catalog.libraries().len();
    // holdings per library, to give big libraries big capacities
    let mut held = vec![0u64; n];
    for c in catalog.cluster_ids() {
        for h in catalog.holders(c) {
            held[h.library.index()] += 1;
        }
    }
    let max_held = held.iter().copied().max().unwrap_or(1).max(1) as f64;
    let zones_us = [
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
    ];
    let lenders = catalog
        .libraries()
        .iter()
        .enumerate()
        .map(|(i, lib)| {
            // ISIL symbols carry their country (DE-21 is in Germany): place lenders there
            let german = lib.symbol.starts_with("DE-");
            let (country, tz, ccy) = if german {
                ("DE", "Europe/Berlin", "EUR")
            } else {
                ("US", zones_us[i % zones_us.len()], "USD")
            };
            let (lat, lon) = if german {
                (
                    47.5 + rng.gen_range(0.0..7.5),
                    6.0 + rng.gen_range(0.0..9.0),
                )
            } else {
                (
                    25.0 + rng.gen_range(0.0..24.0),
                    -124.0 + rng.gen_range(0.0..57.0),
                )
            };
            let size = held[i] as f64 / max_held;
            let group = format!("G{}", i % 8);
            let region = format!("R{}", i % 3);
            let tier = match rng.gen_range(0..20) {
                0..=11 => Tier::Own,
                12..=16 => Tier::Regional,
                17..=18 => Tier::National,
                _ => Tier::LastResort,
            };
            let mut offers = Vec::new();
            if rng.gen_bool(0.3) {
                let charge = if rng.gen_bool(0.5) {
                    0.0
                } else {
                    [5.0, 10.0, 15.0, 25.0][rng.gen_range(0..4)]
                };
                offers.push(Offer {
                    service: Service::Loan,
                    formats: vec![
                        Format::Book,
                        Format::Score,
                        Format::AudioVisual,
                        Format::Map,
                    ],
                    groups: vec![],
                    charge: Some(Charge {
                        amount: charge,
                        currency: ccy.into(),
                    }),
                });
                offers.push(Offer {
                    service: Service::Copy,
                    formats: vec![],
                    groups: if rng.gen_bool(0.3) {
                        vec![group.clone()]
                    } else {
                        vec![]
                    },
                    charge: Some(Charge {
                        amount: charge / 2.0,
                        currency: ccy.into(),
                    }),
                });
            }
            let closed = if rng.gen_bool(0.05) {
                let start = today + chrono::Days::new(rng.gen_range(0..10));
                vec![Closure {
                    from: start,
                    to: start + chrono::Days::new(rng.gen_range(0..4)),
                    reason: "holiday".into(),
                }]
            } else {
                vec![]
            };
            let suspended = rng.gen_bool(0.02);
            Lender {
                symbol: lib.symbol.clone(),
                name: lib.name.clone(),
                groups: vec![group, region],
                tier,
                timezone: tz.into(),
                closed,
                lending: !rng.gen_bool(0.01),
                suspended_from: suspended.then_some(today),
                suspended_to: suspended.then(|| today + chrono::Days::new(14)),
                capacity: Capacity {
                    open_requests: Some((20.0 + 480.0 * size.sqrt()).round() as u32),
                    daily: None,
                },
                offers,
                ships_international: rng.gen_bool(0.3),
                country: country.into(),
                latitude: Some(lat),
                longitude: Some(lon),
                reciprocal: vec![],
                institution: None,
                electronic_ill: Default::default(),
                iso18626: None,
                agency_ids: Vec::new(),
                lookup: None,
            }
        })
        .collect();
    Directory::new(lenders, "(generated)")
}

/// A plausible history of lifecycle events for a directory: every lender has a hidden
/// fill rate (40–98 %), answer time (12–120 h) and shipping time (24–150 h); `n`
/// requests over the 60 days before `now`, each sent to one lender and answered. A quick
/// history for tests; the demo's own past is routed by rota (`rota_sim::history::demo`).
pub fn history(dir: &Directory, n: usize, clusters: u32, seed: u64, now: i64) -> Vec<crate::Event> {
    use crate::state::{Event, EventKind, ReasonUnfilled};
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let k = dir.len().max(1);
    let truth: Vec<(f64, f64, f64)> = (0..k)
        .map(|_| {
            (
                rng.gen_range(0.4..0.98),
                rng.gen_range(12.0..120.0),
                rng.gen_range(24.0..150.0),
            )
        })
        .collect();
    let mut out = Vec::with_capacity(2 * n);
    for i in 0..n {
        let l = rng.gen_range(0..k);
        let mut b = rng.gen_range(0..k);
        if b == l {
            b = (b + 1) % k;
        }
        let (p, ans, ship) = truth[l];
        let at = now - 60 * 86_400 + (i as i64 * 60 * 86_400) / n.max(1) as i64;
        let sent = Event {
            at,
            request_id: format!("hist-{seed}-{i}"),
            borrower: dir.lenders()[b].symbol.clone(),
            lender: dir.lenders()[l].symbol.clone(),
            cluster: Some(ClusterId::new(rng.gen_range(0..clusters.max(1)))),
            service: Service::Loan,
            kind: EventKind::Sent,
        };
        let mut answer = sent.clone();
        if rng.gen_bool(p) {
            answer.at += (ship * rng.gen_range(0.5..1.5) * 3600.0) as i64;
            answer.kind = EventKind::Loaned;
        } else {
            answer.at += (ans * rng.gen_range(0.5..1.5) * 3600.0) as i64;
            answer.kind = EventKind::Unfilled(ReasonUnfilled::PolicyProblem);
        }
        out.push(sent);
        out.push(answer);
    }
    out
}

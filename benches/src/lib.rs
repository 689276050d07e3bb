//! Shared fixtures for rota's benchmarks: realistic synthetic consortia, a catalogue where
//! one item is held by exactly 200 of 1,000 lenders, request mixes, and event streams.

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rota_catalog::generate::{self, GenParams};
use rota_catalog::index::{ClusterData, Holding, IndexBuilder};
use rota_catalog::{Catalog, Citation, Format, IdKind, Ident};
use rota_routing::state::{Event, EventKind, ReasonUnfilled};
use rota_routing::{Directory, Engine, LiveState, Request, Service};

/// "Now" for every benchmark (2026-11-18), so runs are comparable.
pub const NOW: i64 = 1_795_000_000;

/// A synthetic catalogue in memory.
pub fn synthetic(records: usize, libraries: usize) -> Catalog {
    let p = GenParams {
        libraries,
        records,
        mean_holders: 5.9,
        seed: 42,
    };
    Catalog::from_bytes(generate::generate(&p, &|_| {}).expect("generate")).expect("valid snapshot")
}

/// A catalogue of `records` items over 1,000 libraries where every 1,000th item is held by
/// exactly 200 libraries (the routing benchmark shape) and the rest by a few.
pub fn two_hundred_holders(records: usize) -> Catalog {
    let libs = generate::libraries(1000);
    let mut b = IndexBuilder::new(libs, "bench: 200 of 1000 holders");
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for i in 0..records as u64 {
        let n = if i % 1000 == 0 {
            200
        } else {
            rng.gen_range(1..12)
        };
        let mut holders: Vec<u32> = Vec::with_capacity(n);
        while holders.len() < n {
            let l = rng.gen_range(0..1000u32);
            if !holders.contains(&l) {
                holders.push(l);
            }
        }
        b.add(ClusterData {
            ids: vec![Ident {
                kind: IdKind::Isbn,
                value: generate::isbn_of(i).into(),
                status: rota_catalog::IdStatus::Valid,
            }],
            match_key: None,
            title: format!("Bench title {i}"),
            title_proper: format!("Bench title {i}"),
            author: "Author, A".into(),
            names: vec!["Author, A".into()],
            main_entry: true,
            year: Some(2000),
            format: Format::Book,
            holdings: holders
                .into_iter()
                .map(|l| Holding {
                    library: rota_catalog::LibraryId::new(l),
                    copies: 1,
                    lending: rota_catalog::Lending::BOTH,
                    format: Format::Book,
                })
                .collect(),
            ..ClusterData::default()
        })
        .expect("add");
    }
    Catalog::from_bytes(b.finish().expect("finish")).expect("valid")
}

/// The same shape as [`two_hundred_holders`], but every 1,000th item is a journal whose
/// 200 holders state coverage as real ones do: 60 % print runs from some volume (one a
/// year from 1960), half of them stopped; 25 % electronic from some year on, half behind
/// a one-year moving wall; 10 % an unreadable statement; 5 % none. `with_coverage`
/// false leaves the coverage out, to measure what it adds to the snapshot.
pub fn two_hundred_serial_holders(records: usize, with_coverage: bool) -> Catalog {
    use rota_catalog::coverage::{Coverage, Span};
    let libs = generate::libraries(1000);
    let mut b = IndexBuilder::new(libs, "bench: journals with 200 of 1000 holders");
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let wall: rota_catalog::coverage::Embargo = "P1Y".parse().expect("valid embargo");
    for i in 0..records as u64 {
        let serial = i % 1000 == 0;
        let n = if serial { 200 } else { rng.gen_range(1..12) };
        let mut holders: Vec<u32> = Vec::with_capacity(n);
        while holders.len() < n {
            let l = rng.gen_range(0..1000u32);
            if !holders.contains(&l) {
                holders.push(l);
            }
        }
        holders.sort_unstable();
        let mut holdings = Vec::with_capacity(n);
        let mut coverage = Vec::new();
        for &l in &holders {
            let library = rota_catalog::LibraryId::new(l);
            let kind = rng.gen_range(0..100);
            let online = serial && (60..85).contains(&kind);
            holdings.push(Holding {
                library,
                copies: 1,
                lending: if online {
                    rota_catalog::Lending::COPY_ONLY
                } else {
                    rota_catalog::Lending::BOTH
                },
                format: if online {
                    Format::Electronic
                } else if serial {
                    Format::Serial
                } else {
                    Format::Book
                },
            });
            if !serial || !with_coverage {
                continue;
            }
            let c = match kind {
                0..60 => {
                    let first: u32 = rng.gen_range(1..21);
                    let last = rng.gen_bool(0.5).then(|| first + rng.gen_range(5..40));
                    Coverage::from_spans(vec![
                        Span::volumes(first, last)
                            .with_years(1959 + first as u16, last.map(|l| 1959 + l as u16)),
                    ])
                }
                60..85 => {
                    let mut c =
                        Coverage::from_spans(vec![Span::years(rng.gen_range(1995..2010), None)]);
                    if rng.gen_bool(0.5) {
                        c.embargo = Some(wall.clone());
                    }
                    c
                }
                85..95 => {
                    let mut c = Coverage::default();
                    c.note_unread("v.1-4 plus suppl.");
                    c
                }
                _ => continue,
            };
            coverage.push((library, c));
        }
        let (ids, format) = if serial {
            (
                vec![Ident {
                    kind: IdKind::Issn,
                    value: issn_of(i).into(),
                    status: rota_catalog::IdStatus::Valid,
                }],
                Format::Serial,
            )
        } else {
            (
                vec![Ident {
                    kind: IdKind::Isbn,
                    value: generate::isbn_of(i).into(),
                    status: rota_catalog::IdStatus::Valid,
                }],
                Format::Book,
            )
        };
        b.add(ClusterData {
            ids,
            match_key: None,
            title: format!("Bench journal {i}"),
            title_proper: format!("Bench journal {i}"),
            year: Some(1960),
            format,
            holdings,
            coverage,
            ..ClusterData::default()
        })
        .expect("add");
    }
    Catalog::from_bytes(b.finish().expect("finish")).expect("valid")
}

/// A valid ISSN (8 characters, no hyphen) for synthetic journal `i`.
pub fn issn_of(i: u64) -> String {
    let d = format!("{:07}", i % 10_000_000);
    let sum: u32 = d
        .bytes()
        .zip((2..=8).rev())
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    let check = match (11 - sum % 11) % 11 {
        10 => 'X',
        c => char::from(b'0' + c as u8),
    };
    format!("{d}{check}")
}

/// A copy request for an article in synthetic journal `i` (a multiple of 1,000), in the
/// `k`-th of 35 volumes from 1990.
pub fn article_request(dir: &Directory, i: u64, borrower: usize, k: u64) -> Request {
    let year = 1990 + (k % 35);
    Request {
        request_id: format!("a{i}-{k}"),
        ..Request::new(
            dir.lenders()[borrower % dir.len()].symbol.clone(),
            Citation {
                issn: Some(issn_of(i)),
                volume: Some((year - 1959).to_string()),
                date: Some(year.to_string()),
                article_title: Some("An article".into()),
                ..Citation::default()
            },
            NOW,
        )
    }
}

/// An engine over a catalogue with a generated directory, and a state with history.
pub fn engine_with_history(cat: Catalog, events: usize) -> (Engine, LiveState, Vec<Event>) {
    let cat = Arc::new(cat);
    let today = chrono::DateTime::from_timestamp(NOW, 0)
        .expect("time")
        .date_naive();
    let dir: Arc<Directory> = Arc::new(
        rota_routing::synth::directory_for(&cat, 1, today)
            .expect("a generated directory validates"),
    );
    let engine = Engine::new(cat, dir.clone(), vec![]).expect("engine");
    let mut state = engine.new_state();
    let evs = event_stream(&dir, events, engine.catalog().clusters());
    for e in &evs {
        state.apply(&dir, e).expect("apply");
    }
    // what the server's refresh timer does every few minutes
    state.refresh_stale(NOW);
    (engine, state, evs)
}

/// A realistic event stream: each request sent then answered (80 % filled).
pub fn event_stream(dir: &Directory, n: usize, clusters: u32) -> Vec<Event> {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut out = Vec::with_capacity(n);
    let syms: Vec<&str> = dir.lenders().iter().map(|l| l.symbol.as_str()).collect();
    let mut k = 0u64;
    while out.len() < n {
        let lender = syms[rng.gen_range(0..syms.len())].to_string();
        let borrower = syms[rng.gen_range(0..syms.len())].to_string();
        // requests sent until 3.5 days before NOW, answered up to NOW: the live state is
        // current, as in production, where events arrive all day
        let at = NOW - 300_000 - (n as i64 / 2) * 30 + (k as i64) * 30;
        let id = format!("req-{k}");
        let cluster = Some(rota_catalog::ClusterId::new(
            rng.gen_range(0..clusters.max(1)),
        ));
        let sent = Event {
            at,
            request_id: id,
            borrower,
            lender,
            cluster,
            service: Service::Loan,
            kind: EventKind::Sent,
        };
        let mut ans = sent.clone();
        ans.at += rng.gen_range(3600..300_000); // answers land up to NOW
        ans.kind = if rng.gen_bool(0.8) {
            EventKind::Loaned
        } else {
            EventKind::Unfilled(ReasonUnfilled::PolicyProblem)
        };
        out.push(sent);
        out.push(ans);
        k += 1;
    }
    out.truncate(n);
    out
}

/// A route request for synthetic record `i`.
pub fn request(dir: &Directory, i: u64, borrower: usize) -> Request {
    Request {
        request_id: format!("b{i}"),
        ..Request::new(
            dir.lenders()[borrower % dir.len()].symbol.clone(),
            Citation {
                isbn: Some(generate::isbn_of(i)),
                ..Citation::default()
            },
            NOW,
        )
    }
}

/// Percentile of sorted nanosecond samples.
pub fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

//! The simulated consortium: libraries calibrated on the IMLS survey, their catalogue,
//! the directory routers see, and the hidden truth of how each lender behaves.

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rota_catalog::{Catalog, Citation, ClusterId, Library, generate};
use rota_routing::directory::{Capacity, Charge, Closure, Lender, Offer, Service as Svc};
use rota_routing::{Directory, LenderId, Tier};
use serde::Serialize;

use crate::{DAY, Scenario, SimError, T0};

/// Libraries, size / borrow / lend weights, coordinates, and a provenance line.
type Calibrated = (
    Vec<Library>,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
    Vec<(f64, f64)>,
    String,
);

/// A library's hidden behaviour.
#[derive(Clone, Debug, Serialize)]
pub struct Truth {
    /// Probability of filling when it has the item on the shelf.
    pub p_fill: f64,
    /// Median hours to answer "no".
    pub answer_h: f64,
    /// Median hours to ship.
    pub ship_h: f64,
    /// Probability it never answers.
    pub silent: f64,
    /// Requests it can work per day before slowing down.
    pub per_day: f64,
    /// Charge per loan.
    pub charge: f64,
    /// Weeks it is closed, as `[from, to)` unix seconds: it answers nothing sent then.
    pub closed: Vec<(i64, i64)>,
}

impl Truth {
    /// Whether the lender is closed at `t`.
    pub fn closed_at(&self, t: i64) -> bool {
        self.closed.iter().any(|(a, b)| (*a..*b).contains(&t))
    }
}

/// The simulated consortium.
pub struct World {
    /// Catalogue.
    pub catalog: Arc<Catalog>,
    /// Directory (what routers see).
    pub directory: Arc<Directory>,
    /// Hidden truth per directory index.
    pub truth: Vec<Truth>,
    /// (lat, lon) per library.
    pub coords: Vec<(f64, f64)>,
    /// Borrowing weights.
    pub borrow_w: Vec<f64>,
    /// Lendable holders per record (by record number).
    pub holders: Vec<u16>,
    /// Whether each record is a journal.
    pub serial: Vec<bool>,
    /// Scenario.
    pub scenario: Scenario,
    /// Library names and whether they came from IMLS.
    pub calibration: String,
    /// Stop simulating at this instant (the Admin RPC's bound); `None` runs to the end.
    pub deadline: Option<std::time::Instant>,
}

struct ImlsRow {
    name: String,
    key: String,
    books: f64,
    lent: f64,
    borrowed: f64,
    lat: f64,
    lon: f64,
}

fn read_imls(path: &std::path::Path, state: &str, n: usize) -> Result<Vec<ImlsRow>, SimError> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| SimError::Input(format!("{}: {e}", path.display())))?;
    let headers = rdr
        .byte_headers()
        .map_err(|e| SimError::Input(e.to_string()))?
        .clone();
    let col = |name: &str| -> Result<usize, SimError> {
        headers
            .iter()
            .position(|h| h == name.as_bytes())
            .ok_or_else(|| SimError::Input(format!("{}: no column {name}", path.display())))
    };
    let (cs, ck, cn, cb, cl, cf, clat, clon) = (
        col("STABR")?,
        col("FSCSKEY")?,
        col("LIBNAME")?,
        col("BKVOL")?,
        col("LOANTO")?,
        col("LOANFM")?,
        col("LATITUDE")?,
        col("LONGITUD")?,
    );
    let mut rows = Vec::new();
    for rec in rdr.byte_records() {
        let Ok(rec) = rec else { continue };
        let f = |i: usize| {
            String::from_utf8_lossy(rec.get(i).unwrap_or_default())
                .trim()
                .to_string()
        };
        let num = |i: usize| f(i).parse::<f64>().unwrap_or(-1.0);
        if f(cs) != state {
            continue;
        }
        let (lent, borrowed) = (num(cl), num(cf));
        if lent <= 0.0 || borrowed <= 0.0 {
            continue; // suppressed (-1/-9) or not in resource sharing
        }
        rows.push(ImlsRow {
            name: f(cn),
            key: f(ck),
            books: num(cb).max(1000.0),
            lent,
            borrowed,
            lat: num(clat),
            lon: num(clon),
        });
    }
    rows.sort_by(|a, b| (b.lent + b.borrowed).total_cmp(&(a.lent + a.borrowed)));
    rows.truncate(n);
    if rows.len() < 3 {
        return Err(SimError::Input(format!(
            "{}: fewer than 3 libraries in {state} lend and borrow",
            path.display()
        )));
    }
    Ok(rows)
}

fn cluster_of(catalog: &Catalog, record: u64) -> Option<ClusterId> {
    let c = Citation {
        isbn: Some(generate::isbn_of(record)),
        ..Citation::default()
    };
    catalog
        .lookup(&c, Default::default())
        .ok()
        .and_then(|m| m.first().map(|m| m.cluster))
}

/// Lendable holders of each synthetic record, and whether it is a journal.
fn holders_and_serials(catalog: &Catalog, records: usize) -> (Vec<u16>, Vec<bool>) {
    (0..records as u64)
        .map(|rec| {
            cluster_of(catalog, rec).map_or((0, false), |cl| {
                (
                    catalog.holders(cl).iter().filter(|h| h.lendable()).count() as u16,
                    catalog.format(cl) == rota_catalog::Format::Serial,
                )
            })
        })
        .unzip()
}

fn lognormal(rng: &mut impl Rng, median: f64, sigma: f64) -> f64 {
    let u1: f64 = rng.r#gen::<f64>().max(1e-12);
    let u2: f64 = rng.r#gen();
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    median * (sigma * z).exp()
}

/// Each lender's hidden behaviour, drawn from the scenario's knobs; `lend_w` weighs how
/// much of the traffic each can work a day.
fn draw_truth(rng: &mut ChaCha8Rng, s: &Scenario, lend_w: &[f64]) -> Vec<Truth> {
    // lenders' capacity follows their real lending volume, scaled to the simulated traffic
    let total_lend: f64 = lend_w.iter().sum();
    let b = &s.lenders;
    // closures are drawn by week over the arrivals and the longest a request can last
    let weeks = (f64::from(s.days) + s.max_request_days) / 7.0;
    (0..lend_w.len())
        .map(|i| {
            let good = rng.gen_bool(b.good_share);
            let within = |rng: &mut ChaCha8Rng, r: [f64; 2]| {
                if r[0] < r[1] {
                    rng.gen_range(r[0]..r[1])
                } else {
                    r[0]
                }
            };
            let p_fill = within(rng, if good { b.good_fill } else { b.poor_fill });
            let answer_h = lognormal(rng, b.answer_hours, 0.6)
                .clamp(b.answer_hours / 8.0, b.answer_hours * 7.0);
            let ship_h =
                lognormal(rng, b.ship_hours, 0.5).clamp(b.ship_hours / 4.0, b.ship_hours * 5.5);
            let silent = if rng.gen_bool(b.silent_share) {
                within(rng, b.silence)
            } else {
                rng.gen_range(0.0..0.03)
            };
            let closed = (0..weeks.ceil() as i64)
                .filter(|_| rng.gen_bool((b.closed_weeks_per_year / 52.0).min(1.0)))
                .map(|k| (T0 + k * 7 * DAY, T0 + (k + 1) * 7 * DAY))
                .collect();
            Truth {
                p_fill,
                answer_h,
                ship_h,
                silent,
                per_day: (3.0 * s.requests_per_day * lend_w[i] / total_lend).max(2.0),
                charge: if rng.gen_bool(0.15) { 10.0 } else { 0.0 },
                closed,
            }
        })
        .collect()
}

impl World {
    /// Builds the world for a scenario.
    pub fn build(s: &Scenario) -> Result<World, SimError> {
        if s.days == 0
            || s.records == 0
            || s.libraries < 3
            || s.requests_per_day.is_nan()
            || s.requests_per_day <= 0.0
            || s.max_lenders == 0
        {
            return Err(SimError::Scenario(
                "days, records, requests_per_day and max_lenders must be positive; libraries ≥ 3"
                    .into(),
            ));
        }
        if s.warmup() >= s.days
            || !(0.0..=10.0).contains(&s.max_slowdown)
            || !(1.0..=5.0).contains(&s.popularity_exponent)
            || !(1.0..=365.0).contains(&s.ill_loan_days)
        {
            return Err(SimError::Scenario(
                "warmup_days below days, max_slowdown 0..10, popularity_exponent 1..5, ill_loan_days 1..365"
                    .into(),
            ));
        }
        s.lenders.check()?;
        if !(0.0..=3.0).contains(&s.holders_exponent) {
            return Err(SimError::Scenario("holders_exponent 0..3".into()));
        }
        if !(0.0..=1.0).contains(&s.stale_holdings)
            || s.timeout_hours.is_nan()
            || s.timeout_hours <= 0.0
        {
            return Err(SimError::Scenario(
                "stale_holdings in 0..1 and timeout_hours > 0".into(),
            ));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
        let (libs, size_w, borrow_w, lend_w, coords, calibration): Calibrated = match &s.imls {
            Some(p) => {
                let rows = read_imls(p, &s.state, s.libraries)?;
                let cal = format!(
                    "{} library systems of {} from {} (IMLS PLS): {:.0} loans lent and {:.0} borrowed a year",
                    rows.len(),
                    s.state,
                    p.file_name().and_then(|f| f.to_str()).unwrap_or(""),
                    rows.iter().map(|r| r.lent).sum::<f64>(),
                    rows.iter().map(|r| r.borrowed).sum::<f64>()
                );
                (
                    rows.iter()
                        .map(|r| Library {
                            symbol: r.key.clone(),
                            name: r.name.clone(),
                        })
                        .collect(),
                    rows.iter().map(|r| r.books).collect(),
                    rows.iter().map(|r| r.borrowed).collect(),
                    rows.iter().map(|r| r.lent).collect(),
                    rows.iter().map(|r| (r.lat, r.lon)).collect(),
                    cal,
                )
            }
            None => {
                let w = generate::library_weights(s.libraries, s.seed);
                let coords = (0..s.libraries)
                    .map(|_| {
                        (
                            42.5 + rng.gen_range(0.0..4.5),
                            -92.5 + rng.gen_range(0.0..5.5),
                        )
                    })
                    .collect();
                (
                    generate::libraries(s.libraries),
                    w.clone(),
                    w.iter().map(|x| x.sqrt()).collect(),
                    w.clone(),
                    coords,
                    format!("{} synthetic libraries (no IMLS file given)", s.libraries),
                )
            }
        };
        let n = libs.len();
        let params = generate::GenParams {
            libraries: n,
            records: s.records,
            mean_holders: s.mean_holders,
            seed: s.seed,
        };
        // an article-copy world states its journals' runs in the catalogue
        let copies = s.service == crate::ServiceKind::Copy;
        let seed = s.seed;
        let edit = move |i: u64, c: &mut rota_catalog::index::ClusterData| {
            if copies {
                crate::serials::add_coverage(seed, i, c);
            }
        };
        let bytes = generate::generate_with(&params, libs.clone(), &size_w, &|_| {}, &edit)
            .map_err(|e| SimError::Input(e.to_string()))?;
        let catalog =
            Arc::new(Catalog::from_bytes(bytes).map_err(|e| SimError::Input(e.to_string()))?);
        let truth = draw_truth(&mut rng, s, &lend_w);
        let b = &s.lenders;
        // what lenders tell the directory: a capacity off by a log-normal error, and the
        // closures they announce
        let declared_cap: Vec<u32> = truth
            .iter()
            .map(|t| (t.per_day * 3.0 * lognormal(&mut rng, 1.0, b.capacity_error)).ceil() as u32)
            .collect();
        let declared_closed: Vec<Vec<Closure>> = truth
            .iter()
            .map(|t| {
                t.closed
                    .iter()
                    .filter(|_| rng.gen_bool(b.closures_declared))
                    .filter_map(|(a, z)| {
                        let d =
                            |t: i64| chrono::DateTime::from_timestamp(t, 0).map(|d| d.date_naive());
                        Some(Closure {
                            from: d(*a)?,
                            to: d(*z - DAY)?,
                            reason: "closed".into(),
                        })
                    })
                    .collect()
            })
            .collect();
        let lenders: Vec<Lender> = (0..n)
            .map(|i| Lender {
                symbol: libs[i].symbol.clone(),
                name: libs[i].name.clone(),
                groups: vec!["consortium".into()],
                tier: Tier::Own,
                // UTC, so a declared closure covers exactly the week the truth is closed
                timezone: "UTC".into(),
                closed: declared_closed[i].clone(),
                lending: true,
                suspended_from: None,
                suspended_to: None,
                capacity: Capacity {
                    open_requests: Some(declared_cap[i].max(1)),
                    daily: None,
                },
                offers: if truth[i].charge > 0.0 {
                    vec![Offer {
                        service: match s.service {
                            crate::ServiceKind::Loan => Svc::Loan,
                            crate::ServiceKind::Copy => Svc::Copy,
                        },
                        formats: vec![],
                        groups: vec![],
                        charge: Some(Charge {
                            amount: truth[i].charge,
                            currency: "USD".into(),
                        }),
                    }]
                } else {
                    vec![]
                },
                ships_international: false,
                country: "US".into(),
                latitude: Some(coords[i].0).filter(|v| (-90.0..=90.0).contains(v)),
                longitude: Some(coords[i].1).filter(|v| (-180.0..=180.0).contains(v)),
                reciprocal: vec![],
                institution: None,
                electronic_ill: Default::default(),
                iso18626: None,
                agency_ids: Vec::new(),
                lookup: None,
            })
            .map(|mut l| {
                if l.latitude.is_none() || l.longitude.is_none() {
                    l.latitude = None;
                    l.longitude = None;
                }
                l
            })
            .collect();
        let directory = Arc::new(
            Directory::new(lenders, "(simulation)").map_err(|e| SimError::Input(e.to_string()))?,
        );
        let (holders, serial) = holders_and_serials(&catalog, s.records);
        // the directory lists the catalogue's libraries in the same order: a lender's
        // index is its library's
        debug_assert!((0..n).all(
            |i| catalog.libraries()[i].symbol == directory.get(LenderId::new(i as u32)).symbol
        ));
        Ok(World {
            holders,
            serial,
            catalog,
            directory,
            truth,
            coords,
            borrow_w,
            scenario: s.clone(),
            calibration,
            deadline: None,
        })
    }

    /// A world over a catalogue and directory that exist already (the demo consortium's,
    /// generated by [`generate`] with the scenario's `records`, so that record numbers
    /// find their clusters): its lenders' hidden behaviour is drawn from the scenario's
    /// knobs, their coordinates are the directory's, and libraries borrow and lend in
    /// proportion to their holdings. The scenario's `libraries`, `mean_holders` and
    /// `imls` are ignored.
    pub fn over(
        catalog: Arc<Catalog>,
        directory: Arc<Directory>,
        s: &Scenario,
    ) -> Result<World, SimError> {
        let n = catalog.libraries().len();
        if n < 3 || directory.len() != n {
            return Err(SimError::Input(format!(
                "the directory lists {} lenders for the catalogue's {n} libraries; a world needs them in the same order",
                directory.len()
            )));
        }
        if let Some(i) = (0..n).find(|&i| {
            catalog.libraries()[i].symbol != directory.get(LenderId::new(i as u32)).symbol
        }) {
            return Err(SimError::Input(format!(
                "library {} is {:?} in the catalogue but {:?} in the directory",
                i,
                catalog.libraries()[i].symbol,
                directory.get(LenderId::new(i as u32)).symbol
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
        let mut held = vec![0f64; n];
        for c in catalog.cluster_ids() {
            for h in catalog.holders(c) {
                held[h.library.index()] += 1.0;
            }
        }
        let truth = draw_truth(&mut rng, s, &held);
        let coords = (0..n)
            .map(|i| {
                let l = directory.get(LenderId::new(i as u32));
                (l.latitude.unwrap_or(44.0), l.longitude.unwrap_or(-90.0))
            })
            .collect();
        let (holders, serial) = holders_and_serials(&catalog, s.records);
        let mut scenario = s.clone();
        scenario.libraries = n;
        Ok(World {
            holders,
            serial,
            catalog,
            directory,
            truth,
            coords,
            borrow_w: held.iter().map(|h| h.sqrt()).collect(),
            scenario,
            calibration: format!("{n} libraries of a catalogue already built"),
            deadline: None,
        })
    }

    /// The cluster of a synthetic record.
    pub(crate) fn cluster(&self, record: u64) -> Option<ClusterId> {
        cluster_of(&self.catalog, record)
    }

    fn km(&self, a: usize, b: usize) -> f64 {
        let ((la, oa), (lb, ob)) = (self.coords[a], self.coords[b]);
        let (p1, p2) = (la.to_radians(), lb.to_radians());
        let h = ((p2 - p1) / 2.0).sin().powi(2)
            + p1.cos() * p2.cos() * ((ob - oa).to_radians() / 2.0).sin().powi(2);
        let d = 2.0 * 6371.0 * h.sqrt().asin();
        if d.is_finite() { d } else { 300.0 }
    }

    /// Transit hours: for a loan, mail or courier, a day plus a day per 400 km; a copy
    /// is sent electronically, on the spot.
    pub(crate) fn transit_h(&self, from: usize, to: usize) -> f64 {
        match self.scenario.service {
            crate::ServiceKind::Loan => 24.0 + 24.0 * self.km(from, to) / 400.0,
            crate::ServiceKind::Copy => 0.0,
        }
    }
}

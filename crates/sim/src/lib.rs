//! # rota-sim: what happens if
//!
//! A discrete-event simulation of an ILL consortium, to compare routing strategies on the
//! same requests before a change reaches patrons.
//!
//! ## The world
//! - **Libraries** come from the real IMLS Public Libraries Survey (one state's systems):
//!   collection size (`BKVOL`) sets how much they hold, `LOANFM` how much they borrow,
//!   `LOANTO` how much they lend (their capacity), `LATITUDE`/`LONGITUD` the transit
//!   time. Without the file, log-normal synthetic libraries stand in.
//! - **Hidden truth** per lender, never shown to learned routers: fill probability
//!   (Beta around the published ~90 %), median time to answer "no" and to ship, a chance
//!   of never answering (the request then sits for the borrower's timeout, 4 days by
//!   default: DOCLINE's dead time), daily capacity, weekend closure, and stale holdings
//!   (the catalogue says held, the shelf says no).
//! - **Requests** arrive Poisson with weekday and seasonal patterns; borrowers in
//!   proportion to their real borrowing; items Zipf-popular among those they lack.
//!
//! ## Fairness between strategies
//! Every strategy sees the same requests, and every (request, lender) pair draws the same
//! random outcome under every strategy (common random numbers), so differences are the
//! strategies', not luck's. Learned routers (rota) learn only from the ISO 18626 events the
//! simulation emits, exactly as in production; the oracle alone reads the truth.
//!
//! Deterministic for a seed.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rota_catalog::{Catalog, Citation, ClusterId, Format, Library, generate};
use rota_routing::directory::{Capacity, Charge, Lender, Offer, Service as Svc};
use rota_routing::{
    Answer, Directory, Engine, Event, EventKind, LenderId, LiveState, Profile, ReasonRetry,
    ReasonUnfilled, Request, Tier, Tried,
};
use serde::{Deserialize, Serialize};

pub mod replay;
pub mod report;

const H: i64 = 3600;
/// An interlibrary loan's period, shipping to return: four weeks.
const LOAN_PERIOD: i64 = 28 * 86_400;
/// Share of held copies out to local patrons in any loan period.
const LOCAL_ON_LOAN: f64 = 0.08;
const DAY: i64 = 86_400;
/// Start of simulated time: Monday 2026-01-05 00:00 UTC.
pub const T0: i64 = 1_767_571_200;

/// A scenario (TOML).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// Seed.
    pub seed: u64,
    /// Days of arrivals (requests then run to completion).
    pub days: u32,
    /// IMLS PLS CSV to calibrate libraries on (absent: synthetic libraries).
    pub imls: Option<PathBuf>,
    /// Two-letter state whose library systems form the consortium.
    pub state: String,
    /// At most this many libraries (the largest lenders and borrowers of the state).
    pub libraries: usize,
    /// Catalogue records.
    pub records: usize,
    /// Mean requests per weekday.
    pub requests_per_day: f64,
    /// Mean holders per record.
    pub mean_holders: f64,
    /// Share of holdings the catalogue shows that the shelf does not have.
    pub stale_holdings: f64,
    /// Hours a borrower waits for an answer before moving on.
    pub timeout_hours: f64,
    /// Lenders per string.
    pub max_lenders: u32,
    /// Strings per request (the first, then re-routes skipping the lenders tried).
    pub max_rounds: u32,
    /// A request not filled after this many days is timed out.
    pub max_request_days: f64,
    /// Strategies to compare (static, random_tier, reshare, rota_weighted,
    /// rota_fastest_fill, oracle, or `profile:FILE` for an operator's profile).
    pub strategies: Vec<String>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            seed: 7,
            days: 42,
            imls: None,
            state: "WI".into(),
            libraries: 200,
            records: 60_000,
            requests_per_day: 500.0,
            mean_holders: 5.9,
            stale_holdings: 0.05,
            timeout_hours: 96.0,
            max_lenders: 5,
            max_rounds: 2,
            max_request_days: 30.0,
            strategies: [
                "static",
                "random_tier",
                "reshare",
                "rota_weighted",
                "rota_fastest_fill",
                "oracle",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        }
    }
}

/// Why a scenario cannot run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Bad scenario values.
    #[error("scenario: {0}")]
    Scenario(String),
    /// Input file problems.
    #[error("{0}")]
    Input(String),
    /// The simulation ran past its time limit.
    #[error("the simulation did not finish within {0:.0} s; shorten the scenario")]
    Deadline(f64),
}

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

fn lognormal(rng: &mut impl Rng, median: f64, sigma: f64) -> f64 {
    let u1: f64 = rng.r#gen::<f64>().max(1e-12);
    let u2: f64 = rng.r#gen();
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    median * (sigma * z).exp()
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
        let bytes = generate::generate_for(&params, libs.clone(), &size_w, &|_| {})
            .map_err(|e| SimError::Input(e.to_string()))?;
        let catalog =
            Arc::new(Catalog::from_bytes(bytes).map_err(|e| SimError::Input(e.to_string()))?);
        // lenders' capacity follows their real lending volume, scaled to the simulated traffic
        let total_lend: f64 = lend_w.iter().sum();
        let truth: Vec<Truth> = (0..n)
            .map(|i| {
                let good = rng.gen_bool(0.8);
                Truth {
                    p_fill: if good {
                        rng.gen_range(0.80..0.97)
                    } else {
                        rng.gen_range(0.35..0.75)
                    },
                    answer_h: lognormal(&mut rng, 30.0, 0.6).clamp(4.0, 200.0),
                    ship_h: lognormal(&mut rng, 36.0, 0.5).clamp(8.0, 200.0),
                    silent: if rng.gen_bool(0.25) {
                        rng.gen_range(0.05..0.35)
                    } else {
                        rng.gen_range(0.0..0.03)
                    },
                    per_day: (3.0 * s.requests_per_day * lend_w[i] / total_lend).max(2.0),
                    charge: if rng.gen_bool(0.15) { 10.0 } else { 0.0 },
                }
            })
            .collect();
        let lenders: Vec<Lender> = (0..n)
            .map(|i| Lender {
                symbol: libs[i].symbol.clone(),
                name: libs[i].name.clone(),
                groups: vec!["consortium".into()],
                tier: Tier::Own,
                timezone: "America/Chicago".into(),
                closed: vec![],
                lending: true,
                suspended_from: None,
                suspended_to: None,
                capacity: Capacity {
                    open_requests: Some((truth[i].per_day * 3.0).ceil() as u32),
                    daily: None,
                },
                offers: if truth[i].charge > 0.0 {
                    vec![Offer {
                        service: Svc::Loan,
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
        Ok(World {
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

    fn km(&self, a: usize, b: usize) -> f64 {
        let ((la, oa), (lb, ob)) = (self.coords[a], self.coords[b]);
        let (p1, p2) = (la.to_radians(), lb.to_radians());
        let h = ((p2 - p1) / 2.0).sin().powi(2)
            + p1.cos() * p2.cos() * ((ob - oa).to_radians() / 2.0).sin().powi(2);
        let d = 2.0 * 6371.0 * h.sqrt().asin();
        if d.is_finite() { d } else { 300.0 }
    }

    /// Transit hours for a loan (mail/courier: a day plus a day per 400 km).
    fn transit_h(&self, from: usize, to: usize) -> f64 {
        24.0 + 24.0 * self.km(from, to) / 400.0
    }
}

/// One simulated request.
#[derive(Clone, Debug, Serialize)]
pub struct SimRequest {
    /// Id.
    pub id: u32,
    /// Arrival (unix seconds).
    pub at: i64,
    /// Borrower.
    pub borrower: LenderId,
    /// Synthetic record (ISBN index).
    pub record: u64,
}

/// Arrivals: Poisson per day with a weekday shape (weekends 25 %) and a season (±20 %).
pub fn arrivals(w: &World) -> Vec<SimRequest> {
    let s = &w.scenario;
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed ^ 0xA55);
    let borrow = rand::distributions::WeightedIndex::new(&w.borrow_w).ok();
    let mut out = Vec::new();
    let n = w.directory.len() as u32;
    for day in 0..s.days {
        let weekday = day % 7; // T0 is a Monday
        let shape = if weekday >= 5 { 0.25 } else { 1.0 };
        let season = 1.0 + 0.2 * (2.0 * std::f64::consts::PI * f64::from(day) / 365.0).sin();
        let mean = s.requests_per_day * shape * season;
        // Poisson by summing exponential gaps
        let mut t = 0.0;
        loop {
            t += -rng.r#gen::<f64>().max(1e-12).ln() / mean;
            if t >= 1.0 {
                break;
            }
            let borrower = match &borrow {
                Some(b) => rand::distributions::Distribution::sample(b, &mut rng) as u32,
                None => rng.gen_range(0..n),
            };
            // Zipf-ish popularity: low record numbers are asked for more often
            let r: f64 = rng.r#gen();
            let record = ((r.powf(2.5)) * s.records as f64) as u64;
            out.push(SimRequest {
                id: out.len() as u32,
                at: T0 + i64::from(day) * DAY + (8.0 * H as f64 + t * 10.0 * H as f64) as i64,
                borrower: LenderId::new(borrower),
                record: record.min(s.records as u64 - 1),
            });
        }
    }
    out
}

/// A routing strategy.
#[derive(Clone, Debug)]
pub enum Strategy {
    /// Holders in alphabetical order.
    Static,
    /// Random order within tier.
    RandomTier,
    /// ReShare's `active_borrows × L/B − active_loans`, L:B 1:1.
    ReShare,
    /// rota with a profile.
    Rota(Box<Profile>),
    /// Knows the hidden truth: orders by true e/p, skips stale holdings.
    Oracle,
}

impl Strategy {
    /// Parses a strategy name (profiles from `profile:FILE`).
    pub fn parse(s: &str) -> Result<Strategy, SimError> {
        Ok(match s {
            "static" => Strategy::Static,
            "random_tier" => Strategy::RandomTier,
            "reshare" => Strategy::ReShare,
            "oracle" => Strategy::Oracle,
            "rota_weighted" => Strategy::Rota(Box::new(
                Profile::builtin()
                    .into_iter()
                    .find(|p| p.name == "weighted")
                    .unwrap_or_default(),
            )),
            "rota_fastest_fill" => Strategy::Rota(Box::default()),
            other => match other.strip_prefix("profile:") {
                Some(f) => {
                    let text = std::fs::read_to_string(f)
                        .map_err(|e| SimError::Input(format!("{f}: {e}")))?;
                    Strategy::Rota(Box::new(
                        Profile::parse(&text, false)
                            .map_err(|e| SimError::Input(format!("{f}: {e}")))?,
                    ))
                }
                None => return Err(SimError::Scenario(format!("unknown strategy {other:?}"))),
            },
        })
    }
}

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum End {
    /// Delivered.
    Filled,
    /// Every string exhausted, or nobody held it.
    Unfilled,
    /// Still open after `max_request_days`.
    TimedOut,
}

/// Per-request outcome.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// Request id.
    pub id: u32,
    /// End state.
    pub end: End,
    /// Hours from request to delivery (filled only).
    pub hours: Option<f64>,
    /// Lenders asked.
    pub tried: u32,
    /// Filled by the first lender asked.
    pub first: bool,
    /// Lenders that let it expire.
    pub expired_at_lender: u32,
    /// Charge paid.
    pub cost: f64,
    /// Lender that filled.
    pub lender: Option<LenderId>,
    /// Lenders asked, in order.
    pub asked: Vec<LenderId>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Arrive(u32),
    /// request, lender, kind: 0 unfilled, 1 retry (on loan), 2 not held (stale), 3 shipped, 4 expired
    Answer(u32, LenderId, u8),
    Deliver(u32, LenderId),
}

struct Open {
    string: Vec<LenderId>,
    pos: usize,
    tried: Vec<Tried>,
    rounds: u32,
    expired: u32,
    asked_list: Vec<LenderId>,
}

fn h64(a: u64, b: u64, c: u64) -> u64 {
    let mut x = a.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
        ^ c.wrapping_mul(0x1656_67B1_9E37_79F9);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn unit(a: u64, b: u64, c: u64) -> f64 {
    (h64(a, b, c) >> 11) as f64 / (1u64 << 53) as f64
}

/// Runs one strategy over the arrivals.
pub fn run(w: &World, strategy: &Strategy, reqs: &[SimRequest]) -> Vec<Outcome> {
    let s = &w.scenario;
    let dir = w.directory.clone();
    let n = dir.len();
    let profiles: Vec<Profile> = match strategy {
        Strategy::Rota(p) => vec![(**p).clone()],
        _ => vec![],
    };
    let pname = match strategy {
        Strategy::Rota(p) => p.name.clone(),
        _ => "default".into(),
    };
    let engine = Engine::new(w.catalog.clone(), dir.clone(), profiles)
        .expect("profiles validated when parsed");
    // the live state learns with the strategy's own priors and half-life
    let priors = match strategy {
        Strategy::Rota(p) => p.priors,
        _ => rota_routing::Priors::default(),
    };
    let mut state = LiveState::new(dir.len(), priors);
    let mut heap: BinaryHeap<Reverse<(i64, u64, Ev)>> = BinaryHeap::new();
    for r in reqs {
        seq_push(&mut heap, r.at, Ev::Arrive(r.id));
    }
    let mut open: HashMap<u32, Open> = HashMap::new();
    let mut out: Vec<Option<Outcome>> = vec![None; reqs.len()];
    // ReShare counters and lender workload
    let mut active_loans = vec![0i64; n];
    let mut active_borrows = vec![0i64; n];
    let mut load = vec![0u32; n];
    let mut on_loan: HashMap<(LenderId, u64), i64> = HashMap::new();
    let seed = s.seed;
    let lender_of_lib: Vec<Option<LenderId>> = w
        .catalog
        .libraries()
        .iter()
        .map(|l| dir.index(&l.symbol))
        .collect();
    let cluster_of = |rec: u64| -> Option<ClusterId> {
        engine
            .catalog()
            .lookup(
                &Citation {
                    isbn: Some(generate::isbn_of(rec)),
                    ..Citation::default()
                },
                Default::default(),
            )
            .ok()
            .and_then(|m| m.first().map(|m| m.cluster))
    };
    let apply = |state: &mut LiveState,
                 at: i64,
                 r: &SimRequest,
                 lender: LenderId,
                 cluster: Option<ClusterId>,
                 kind: EventKind| {
        let e = Event {
            at,
            request_id: format!("sim-{}", r.id),
            borrower: dir.get(r.borrower).symbol.clone(),
            lender: dir.get(lender).symbol.clone(),
            cluster,
            service: rota_routing::Service::Loan,
            kind,
        };
        let _ = state.apply(&dir, &e);
    };
    let mut refreshed = i64::MIN;
    let mut steps = 0u64;
    while let Some(Reverse((now, _, ev))) = heap.pop() {
        steps += 1;
        if steps % 4096 == 0 && w.deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            break; // `simulate_with` reports the deadline; nothing here is kept
        }
        // what the server's timer does: keep cached lender estimates fresh
        if now.saturating_sub(refreshed) >= 3600 {
            state.refresh_stale(now);
            refreshed = now;
        }
        let rid = match ev {
            Ev::Arrive(r) | Ev::Answer(r, _, _) | Ev::Deliver(r, _) => r,
        };
        let r = &reqs[rid as usize];
        let cluster = cluster_of(r.record);
        // route (first string or a re-route) and send to the next lender
        let next_lender = |state: &mut LiveState,
                           o: &mut Open,
                           now: i64,
                           heap: &mut BinaryHeap<Reverse<(i64, u64, Ev)>>,
                           load: &mut Vec<u32>,
                           active_loans: &mut Vec<i64>,
                           active_borrows: &[i64],
                           on_loan: &mut HashMap<(LenderId, u64), i64>|
         -> bool {
            loop {
                if o.pos < o.string.len() {
                    let l = o.string[o.pos];
                    o.pos += 1;
                    o.asked_list.push(l);
                    apply(state, now, r, l, cluster, EventKind::Sent);
                    load[l.index()] += 1;
                    active_loans[l.index()] += 1;
                    let t = &w.truth[l.index()];
                    let u = |k: u64| unit(seed ^ u64::from(r.id), u64::from(l.get()), k);
                    // overload: past a day's work the lender slows and fills less
                    let overload = (f64::from(load[l.index()]) / t.per_day - 1.0).max(0.0);
                    let stale = unit(seed, u64::from(l.get()), r.record) < s.stale_holdings;
                    // the copy is out: lent through ILL earlier in this run, or to a local
                    // patron this loan period (the same for every request in the period)
                    let period = (now - T0).div_euclid(LOAN_PERIOD);
                    let out_locally = unit(
                        seed ^ 0x10CA1,
                        u64::from(l.get()),
                        r.record ^ (period as u64).wrapping_mul(0x9E37),
                    ) < LOCAL_ON_LOAN;
                    let out_ill = on_loan
                        .get(&(l, r.record))
                        .is_some_and(|until| *until > now);
                    let (kind, hours) = if u(1) < t.silent {
                        (4u8, s.timeout_hours)
                    } else if stale {
                        (2, t.answer_h * (0.5 + u(2)) * (1.0 + overload))
                    } else if out_locally || out_ill {
                        (1, t.answer_h * (0.5 + u(6)) * (1.0 + overload))
                    } else if u(3) < t.p_fill / (1.0 + 0.5 * overload) {
                        (3, t.ship_h * (0.5 + u(4)) * (1.0 + overload))
                    } else {
                        (0, t.answer_h * (0.5 + u(6)) * (1.0 + overload))
                    };
                    if kind == 3 {
                        // out on interlibrary loan until shipped, used and returned
                        on_loan
                            .insert((l, r.record), now + (hours * H as f64) as i64 + LOAN_PERIOD);
                    }
                    // answers wait for the next working day (no weekend processing)
                    let mut at = now + (hours * H as f64) as i64;
                    if kind != 4 {
                        let dow = ((at - T0).div_euclid(DAY)) % 7;
                        if dow >= 5 {
                            at += (7 - dow) * DAY;
                        }
                    }
                    seq_push(heap, at, Ev::Answer(r.id, l, kind));
                    return true;
                }
                if o.rounds >= s.max_rounds {
                    return false;
                }
                o.rounds += 1;
                o.pos = 0;
                o.string = string_for(
                    w,
                    &engine,
                    state,
                    strategy,
                    &pname,
                    r,
                    &o.tried,
                    now,
                    active_loans,
                    active_borrows,
                    &lender_of_lib,
                );
                if o.string.is_empty() {
                    return false;
                }
            }
        };
        match ev {
            Ev::Arrive(_) => {
                active_borrows[r.borrower.index()] += 1;
                let mut o = Open {
                    string: Vec::new(),
                    pos: 0,
                    tried: Vec::new(),
                    rounds: 0,
                    expired: 0,
                    asked_list: Vec::new(),
                };
                if !next_lender(
                    &mut state,
                    &mut o,
                    now,
                    &mut heap,
                    &mut load,
                    &mut active_loans,
                    &active_borrows,
                    &mut on_loan,
                ) {
                    active_borrows[r.borrower.index()] -= 1;
                    out[rid as usize] = Some(Outcome {
                        id: rid,
                        end: End::Unfilled,
                        hours: None,
                        tried: 0,
                        first: false,
                        expired_at_lender: 0,
                        cost: 0.0,
                        lender: None,
                        asked: Vec::new(),
                    });
                } else {
                    open.insert(rid, o);
                }
            }
            Ev::Answer(_, l, kind) => {
                load[l.index()] = load[l.index()].saturating_sub(1);
                active_loans[l.index()] -= 1;
                let Some(mut o) = open.remove(&rid) else {
                    continue;
                };
                if kind == 3 {
                    apply(&mut state, now, r, l, cluster, EventKind::Loaned);
                    let at = now + (w.transit_h(l.index(), r.borrower.index()) * H as f64) as i64;
                    seq_push(&mut heap, at, Ev::Deliver(rid, l));
                    open.insert(rid, o);
                    continue;
                }
                let (ek, ans) = match kind {
                    0 => (
                        EventKind::Unfilled(ReasonUnfilled::PolicyProblem),
                        Answer::Unfilled(ReasonUnfilled::PolicyProblem),
                    ),
                    1 => (
                        EventKind::RetryPossible(ReasonRetry::OnLoan),
                        Answer::Retry(ReasonRetry::OnLoan),
                    ),
                    2 => (
                        EventKind::Unfilled(ReasonUnfilled::NotHeld),
                        Answer::Unfilled(ReasonUnfilled::NotHeld),
                    ),
                    _ => {
                        o.expired += 1;
                        (EventKind::Expired, Answer::NoAnswer)
                    }
                };
                apply(&mut state, now, r, l, cluster, ek);
                o.tried.push(Tried {
                    lender: dir.get(l).symbol.clone(),
                    answer: ans,
                    at: Some(now),
                });
                let aged = (now - r.at) as f64 > s.max_request_days * DAY as f64;
                let sent = !aged
                    && next_lender(
                        &mut state,
                        &mut o,
                        now,
                        &mut heap,
                        &mut load,
                        &mut active_loans,
                        &active_borrows,
                        &mut on_loan,
                    );
                if sent {
                    open.insert(rid, o);
                } else {
                    active_borrows[r.borrower.index()] -= 1;
                    out[rid as usize] = Some(Outcome {
                        id: rid,
                        end: if aged { End::TimedOut } else { End::Unfilled },
                        hours: None,
                        tried: o.asked_list.len() as u32,
                        first: false,
                        expired_at_lender: o.expired,
                        cost: 0.0,
                        lender: None,
                        asked: o.asked_list,
                    });
                }
            }
            Ev::Deliver(_, l) => {
                apply(&mut state, now, r, l, cluster, EventKind::Received);
                active_borrows[r.borrower.index()] -= 1;
                let Some(o) = open.remove(&rid) else { continue };
                out[rid as usize] = Some(Outcome {
                    id: rid,
                    end: End::Filled,
                    hours: Some((now - r.at) as f64 / H as f64),
                    tried: o.asked_list.len() as u32,
                    first: o.asked_list.len() == 1,
                    expired_at_lender: o.expired,
                    cost: w.truth[l.index()].charge,
                    lender: Some(l),
                    asked: o.asked_list,
                });
            }
        }
    }
    // the heap drains completely: every request has ended exactly once
    out.into_iter()
        .enumerate()
        .map(|(i, o)| {
            o.unwrap_or(Outcome {
                id: i as u32,
                end: End::TimedOut,
                hours: None,
                tried: 0,
                first: false,
                expired_at_lender: 0,
                cost: 0.0,
                lender: None,
                asked: Vec::new(),
            })
        })
        .collect()
}

fn seq_push(heap: &mut BinaryHeap<Reverse<(i64, u64, Ev)>>, t: i64, e: Ev) {
    // the sequence only breaks ties in time; derive it from the event for determinism
    let k = match e {
        Ev::Arrive(r) => u64::from(r) << 8,
        Ev::Answer(r, l, k) => (u64::from(r) << 24) ^ (u64::from(l.get()) << 4) ^ u64::from(k) ^ 1,
        Ev::Deliver(r, l) => (u64::from(r) << 24) ^ (u64::from(l.get()) << 4) ^ 2,
    };
    heap.push(Reverse((t, k, e)));
}

#[allow(clippy::too_many_arguments)]
fn string_for(
    w: &World,
    engine: &Engine,
    state: &LiveState,
    strategy: &Strategy,
    profile: &str,
    r: &SimRequest,
    tried: &[Tried],
    now: i64,
    active_loans: &[i64],
    active_borrows: &[i64],
    lender_of_lib: &[Option<LenderId>],
) -> Vec<LenderId> {
    let s = &w.scenario;
    let dir = engine.directory();
    let isbn = generate::isbn_of(r.record);
    if let Strategy::Rota(_) = strategy {
        let req = Request {
            request_id: format!("sim-{}-{}", r.id, tried.len()),
            format: Some(Format::Book),
            tried: tried.to_vec(),
            max_lenders: s.max_lenders,
            profile: Some(profile.to_string()),
            // the simulated borrower asks because it cannot supply the item itself
            route_anyway: true,
            ..Request::new(
                dir.get(r.borrower).symbol.clone(),
                Citation {
                    isbn: Some(isbn),
                    ..Citation::default()
                },
                now,
            )
        };
        return engine
            .route(state, &req)
            .map(|ls| {
                ls.lenders
                    .iter()
                    .filter_map(|l| dir.index(&l.symbol))
                    .collect()
            })
            .unwrap_or_default();
    }
    let cat = engine.catalog();
    let Some(m) = cat
        .lookup(
            &Citation {
                isbn: Some(isbn),
                ..Citation::default()
            },
            Default::default(),
        )
        .ok()
        .and_then(|m| m.first().copied())
    else {
        return Vec::new();
    };
    let tried_set: Vec<LenderId> = tried.iter().filter_map(|t| dir.index(&t.lender)).collect();
    let mut holders: Vec<LenderId> = cat
        .holders(m.cluster)
        .iter()
        .filter(|h| h.lendable())
        .filter_map(|h| lender_of_lib.get(h.library.index()).copied().flatten())
        .filter(|l| *l != r.borrower && !tried_set.contains(l))
        .collect();
    match strategy {
        Strategy::Static => holders.sort_by(|a, b| dir.get(*a).symbol.cmp(&dir.get(*b).symbol)),
        Strategy::RandomTier => {
            holders.sort_by_key(|l| {
                h64(
                    w.scenario.seed,
                    u64::from(r.id) * 131 + tried.len() as u64,
                    u64::from(l.get()),
                )
            });
        }
        Strategy::ReShare => {
            // score = active_borrows × (L/B) − active_loans, highest first; ties by symbol
            holders.sort_by(|a, b| {
                let sa = active_borrows[a.index()] - active_loans[a.index()];
                let sb = active_borrows[b.index()] - active_loans[b.index()];
                sb.cmp(&sa)
                    .then(dir.get(*a).symbol.cmp(&dir.get(*b).symbol))
            });
        }
        Strategy::Oracle => {
            holders.retain(|l| unit(s.seed, u64::from(l.get()), r.record) >= s.stale_holdings);
            // the truth, including how the lender's current load will slow it down
            let key = |l: LenderId| {
                let t = &w.truth[l.index()];
                let overload = ((active_loans[l.index()] as f64 + 1.0) / t.per_day - 1.0).max(0.0);
                let p = (t.p_fill / (1.0 + 0.5 * overload) * (1.0 - t.silent)).max(1e-3);
                let d = t.ship_h * (1.0 + overload) + w.transit_h(l.index(), r.borrower.index());
                let a =
                    t.silent * s.timeout_hours + (1.0 - t.silent) * t.answer_h * (1.0 + overload);
                (p * d + (1.0 - p) * a) / p
            };
            holders.sort_by(|a, b| key(*a).total_cmp(&key(*b)));
        }
        Strategy::Rota(_) => {}
    }
    let _ = state;
    holders.truncate(s.max_lenders as usize);
    holders
}

/// Runs every strategy of the scenario over the same arrivals.
pub fn simulate(s: &Scenario) -> Result<report::Report, SimError> {
    simulate_with(s, Vec::new(), None)
}

/// [`simulate`], with operator profiles given in memory (added as strategies named
/// `profile:NAME`) and an optional time limit.
pub fn simulate_with(
    s: &Scenario,
    profiles: Vec<Profile>,
    limit: Option<std::time::Duration>,
) -> Result<report::Report, SimError> {
    let t = std::time::Instant::now();
    let mut world = World::build(s)?;
    world.deadline = limit.map(|l| t + l);
    let past = |w: &World| w.deadline.is_some_and(|d| std::time::Instant::now() >= d);
    let late = || SimError::Deadline(limit.map_or(0.0, |l| l.as_secs_f64()));
    if past(&world) {
        return Err(late());
    }
    let reqs = arrivals(&world);
    if past(&world) {
        return Err(late());
    }
    let mut strategies: Vec<(String, Strategy)> = s
        .strategies
        .iter()
        .map(|n| Strategy::parse(n).map(|st| (n.clone(), st)))
        .collect::<Result<_, _>>()?;
    for p in profiles {
        p.validate()
            .map_err(|e| SimError::Input(format!("profile {}: {e}", p.name)))?;
        strategies.push((format!("profile:{}", p.name), Strategy::Rota(Box::new(p))));
    }
    let results: Vec<(String, Vec<Outcome>)> = {
        use rayon::prelude::*;
        strategies
            .par_iter()
            .map(|(n, st)| (n.clone(), run(&world, st, &reqs)))
            .collect()
    };
    if past(&world) {
        return Err(late());
    }
    Ok(report::Report::new(
        &world,
        &reqs,
        results,
        t.elapsed().as_secs_f64(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Scenario {
        Scenario {
            days: 7,
            libraries: 30,
            records: 3_000,
            requests_per_day: 60.0,
            ..Scenario::default()
        }
    }

    #[test]
    fn every_request_ends_exactly_once() {
        let s = small();
        let w = World::build(&s).unwrap();
        let reqs = arrivals(&w);
        assert!(reqs.len() > 200);
        for name in &s.strategies {
            let out = run(&w, &Strategy::parse(name).unwrap(), &reqs);
            assert_eq!(out.len(), reqs.len(), "{name}");
            for (i, o) in out.iter().enumerate() {
                assert_eq!(o.id as usize, i, "{name}: outcome for request {i}");
                assert_eq!(o.end == End::Filled, o.hours.is_some(), "{name}");
                assert_eq!(o.tried as usize, o.asked.len(), "{name}");
                assert!(
                    o.asked.iter().all(|l| *l != reqs[i].borrower),
                    "{name}: asked the borrower"
                );
                let mut uniq = o.asked.clone();
                uniq.sort_unstable();
                uniq.dedup();
                assert_eq!(uniq.len(), o.asked.len(), "{name}: asked a lender twice");
            }
            let ended = out
                .iter()
                .filter(|o| matches!(o.end, End::Filled | End::Unfilled | End::TimedOut))
                .count();
            assert_eq!(ended, reqs.len());
        }
    }

    #[test]
    fn a_seed_reproduces_the_report() {
        let s = small();
        let a = simulate(&s).unwrap();
        let b = simulate(&s).unwrap();
        assert_eq!(a.strategies, b.strategies);
        assert_eq!(
            a.markdown().lines().skip(3).collect::<Vec<_>>(),
            b.markdown().lines().skip(3).collect::<Vec<_>>()
        );
        let c = simulate(&Scenario { seed: 8, ..s }).unwrap();
        assert_ne!(a.strategies, c.strategies);
    }

    #[test]
    fn bad_scenarios_are_refused() {
        assert!(World::build(&Scenario { days: 0, ..small() }).is_err());
        assert!(
            World::build(&Scenario {
                stale_holdings: 2.0,
                ..small()
            })
            .is_err()
        );
        assert!(Strategy::parse("telepathy").is_err());
    }
}

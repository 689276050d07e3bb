//! Live lender state, learned from ISO 18626 lifecycle events.
//!
//! Per lender (and per service where the data supports it) we keep:
//! - **load**: requests sent and not yet answered, shipped or cancelled;
//! - **fill probability**: a Beta posterior, `Beta(a0 + fills, b0 + unfilled)`, whose
//!   counts decay with a half-life so that last year's behaviour fades. The prior (from
//!   the weight profile) means a new lender starts at the consortium's typical rate with
//!   the weight of a few requests: neither trusted nor shunned;
//! - **time to answer no** and **time to deliver**: an exponentially weighted mean of
//!   log-hours (a geometric mean, which one lost parcel cannot drag far), with samples
//!   clipped to 4× the current estimate, decaying with the same half-life;
//! - **reciprocity**: per (lender, borrower) pair, decayed counts lent and borrowed;
//! - **not held**: a roaring bitmap of clusters per lender that it has said it does not
//!   hold — a fact about the catalogue, honoured by every later request;
//! - **retry windows**: (lender, cluster) pairs answered OnLoan/NotOnShelf, until when.
//!
//! All times are unix seconds; the engine never reads the clock.

use rustc_hash::FxHashMap as HashMap;

use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use crate::directory::{Directory, LenderId, Service};
use crate::lent::{Shipments, ShipmentsFile, km, transit_prior_hours};
use crate::load::LoadCurve;
use rota_catalog::ClusterId;

/// ISO 18626 ReasonUnfilled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonUnfilled {
    /// Not held: the catalogue was wrong for this lender and item.
    NotHeld,
    /// Held but does not circulate.
    NonCirculating,
    /// Held but not lent through ILL.
    NotAvailableForIll,
    /// Not on the shelf (missing, in processing): may be back later.
    NotOnShelf,
    /// A policy reason.
    PolicyProblem,
    /// Too fragile to send.
    PoorCondition,
}

impl ReasonUnfilled {
    /// Final for this lender and item: do not ask again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ReasonUnfilled::NotHeld
                | ReasonUnfilled::NonCirculating
                | ReasonUnfilled::NotAvailableForIll
        )
    }
}

/// ISO 18626 ReasonRetry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonRetry {
    /// On loan to someone else.
    OnLoan,
    /// Charge above the requester's maximum.
    CostExceedsMaxCost,
    /// Not yet available (on order, in process).
    NotYetAvailable,
    /// Any other retry reason.
    Other,
}

/// A lender's answer, as carried in a request's `tried` list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// Unfilled with a reason.
    Unfilled(ReasonUnfilled),
    /// Retry possible.
    Retry(ReasonRetry),
    /// Asked, no answer yet or timed out.
    NoAnswer,
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "reason")]
pub enum EventKind {
    /// The request was sent to the lender.
    Sent,
    /// The lender said it will supply.
    WillSupply,
    /// Loaned (shipped).
    Loaned,
    /// Copy delivered.
    CopyCompleted,
    /// Unfilled.
    Unfilled(ReasonUnfilled),
    /// Retry possible.
    RetryPossible(ReasonRetry),
    /// The borrower received the item.
    Received,
    /// The borrower returned the item.
    Returned,
    /// Cancelled by the borrower.
    Cancelled,
    /// The lender let the request expire without an answer (the borrower's system moved
    /// it on after its timeout). Counts as "not filled", after the whole wait.
    Expired,
}

/// A lifecycle event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// When (unix seconds).
    pub at: i64,
    /// The borrower's request id.
    pub request_id: String,
    /// Borrower symbol.
    pub borrower: String,
    /// Lender symbol.
    pub lender: String,
    /// The catalogue cluster the request is for, where known (for not-held memory).
    #[serde(default)]
    pub cluster: Option<ClusterId>,
    /// Service.
    pub service: Service,
    /// What happened.
    pub kind: EventKind,
}

/// An event that cannot be applied (the caller's fault).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EventError {
    /// Lender not in the directory.
    #[error("lender {0:?} is not in the directory")]
    UnknownLender(String),
    /// Borrower not in the directory.
    #[error("borrower {0:?} is not in the directory")]
    UnknownBorrower(String),
    /// A cluster id beyond the catalogue.
    #[error("cluster: {0} is not in the catalogue")]
    UnknownCluster(ClusterId),
    /// A field out of its bounds ([`Event::validate`]).
    #[error(transparent)]
    Field(#[from] rota_catalog::field::FieldError),
}

impl Event {
    /// Checks every field against its bounds: a request id (required), the borrower's and
    /// lender's symbols, a time between 2000 and 2100.
    pub fn validate(&self) -> Result<(), rota_catalog::field::FieldError> {
        use rota_catalog::field;
        field::required("request_id", &self.request_id, field::MAX_ID)?;
        field::symbol("borrower", &self.borrower)?;
        field::symbol("lender", &self.lender)?;
        field::time("at", self.at)
    }

    /// [`Event::validate`], and both parties in `dir`: what applying it needs, checked
    /// before it is made durable. Returns the lender's and the borrower's indices.
    pub fn check(&self, dir: &Directory) -> Result<(LenderId, LenderId), EventError> {
        self.validate()?;
        let lender = dir
            .index(&self.lender)
            .ok_or_else(|| EventError::UnknownLender(self.lender.clone()))?;
        let borrower = dir
            .index(&self.borrower)
            .ok_or_else(|| EventError::UnknownBorrower(self.borrower.clone()))?;
        Ok((lender, borrower))
    }
}

/// Priors and decay, taken from the active weight profile.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Priors {
    /// Beta prior successes.
    pub fill_alpha: f64,
    /// Beta prior failures.
    pub fill_beta: f64,
    /// Prior hours to answer "no".
    pub answer_hours: f64,
    /// Prior hours to deliver a loan.
    pub deliver_hours: f64,
    /// Prior hours to deliver a copy.
    pub copy_hours: f64,
    /// Weight of the prior time estimates, in samples.
    pub time_prior_weight: f64,
    /// Half-life of evidence, days.
    pub half_life_days: f64,
}

impl Default for Priors {
    fn default() -> Self {
        // DOCLINE: 92 % filled, lenders act within ~3 business days; consortium book loans
        // take 2–5 days, articles about a day.
        Priors {
            fill_alpha: 4.0,
            fill_beta: 1.5,
            answer_hours: 48.0,
            deliver_hours: 96.0,
            copy_hours: 24.0,
            time_prior_weight: 3.0,
            half_life_days: 90.0,
        }
    }
}

/// Decayed evidence: a weighted count and a weighted sum, both decayed to `t`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Decayed {
    pub(crate) w: f64,
    pub(crate) sum: f64,
    t: i64,
}

impl Decayed {
    pub(crate) fn decay_to(&mut self, t: i64, half_life_s: f64) {
        if self.w == 0.0 {
            self.t = self.t.max(t);
            return;
        }
        // less than an hour's decay (0.4 % at the 7-day rate half-life, 0.03 % at 90 days)
        // is left to accumulate: the clock stays where it was, so nothing is lost, and the
        // exp, which would otherwise run several times per candidate per route, is skipped
        if t - self.t >= 3600 {
            let f = (-(t - self.t) as f64 * std::f64::consts::LN_2 / half_life_s).exp();
            self.w *= f;
            self.sum *= f;
            self.t = t;
        }
    }
}

/// One cell of the reciprocity ledger: decayed counts lent and borrowed between a pair,
/// both as of the same minute. Sixteen bytes with its key: the ledger is read once per
/// candidate, from rows that are often cold, so its size is what routing pays for.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Ledger {
    lent: f32,
    borrowed: f32,
    /// minutes since the epoch
    minute: u32,
}

impl Ledger {
    /// The decay factor from the cell's time to `now` (1 under an hour, as `decay_to`).
    fn factor(&self, now: i64, hl: f64) -> f64 {
        let dt = now - i64::from(self.minute) * 60;
        if dt >= 3600 {
            (-dt as f64 * std::f64::consts::LN_2 / hl).exp()
        } else {
            1.0
        }
    }

    fn add(&mut self, t: i64, hl: f64, lent: f32, borrowed: f32) {
        if self.lent == 0.0 && self.borrowed == 0.0 {
            self.minute = self.minute.max((t.max(0) / 60) as u32);
        } else if t - i64::from(self.minute) * 60 >= 3600 {
            let k = self.factor(t, hl) as f32;
            self.lent *= k;
            self.borrowed *= k;
            self.minute = (t.max(0) / 60) as u32;
        }
        self.lent += lent;
        self.borrowed += borrowed;
    }

    /// The state file's form (two counters), kept from before the ledger was packed.
    fn to_file(self) -> (Decayed, Decayed) {
        let t = i64::from(self.minute) * 60;
        (
            Decayed {
                w: f64::from(self.lent),
                sum: 0.0,
                t,
            },
            Decayed {
                w: f64::from(self.borrowed),
                sum: 0.0,
                t,
            },
        )
    }

    fn from_file((mut a, mut b): (Decayed, Decayed), hl: f64) -> Ledger {
        let t = a.t.max(b.t);
        a.decay_to(t, hl);
        b.decay_to(t, hl);
        Ledger {
            lent: a.w as f32,
            borrowed: b.w as f32,
            minute: (t.max(0) / 60) as u32,
        }
    }
}

/// One library's row of the ledger: partner → cell, open addressing with linear probing
/// over 16-byte slots (key and cell together, four to a cache line). Rows are read cold,
/// once per candidate; with the slot's address computable up front, routing touches all
/// its candidates' slots first so the cache misses overlap (see
/// [`LiveState::touch_ledger`]), which a SwissTable's probe sequence does not allow.
#[derive(Clone, Debug, Default)]
struct Row {
    /// `key` is partner + 1; 0 marks an empty slot. Length 0 or a power of two.
    slots: Vec<Slot>,
    len: usize,
}

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    key: u32,
    cell: Ledger,
}

impl Row {
    fn home(&self, partner: u32) -> usize {
        // Fibonacci hashing: partners are small consecutive integers
        let h = (u64::from(partner).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize;
        h & self.slots.len().wrapping_sub(1)
    }

    /// Reads the partner's home slot and returns its key: a load with no branch on it,
    /// so several can be in flight at once.
    fn touch(&self, partner: u32) -> u32 {
        self.slots.get(self.home(partner)).map_or(0, |s| s.key)
    }

    fn get(&self, partner: u32) -> Option<&Ledger> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(partner);
        loop {
            let s = &self.slots[i];
            if s.key == partner + 1 {
                return Some(&s.cell);
            }
            if s.key == 0 {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    fn entry(&mut self, partner: u32) -> &mut Ledger {
        // at most three quarters full: short probe runs, and always an empty slot
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            let old = std::mem::take(&mut self.slots);
            self.slots = vec![Slot::default(); (old.len() * 2).max(8)];
            self.len = 0;
            for s in old.into_iter().filter(|s| s.key != 0) {
                *self.entry(s.key - 1) = s.cell;
            }
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(partner);
        while self.slots[i].key != 0 && self.slots[i].key != partner + 1 {
            i = (i + 1) & mask;
        }
        if self.slots[i].key == 0 {
            self.slots[i].key = partner + 1;
            self.len += 1;
        }
        &mut self.slots[i].cell
    }

    fn iter(&self) -> impl Iterator<Item = (u32, &Ledger)> {
        self.slots
            .iter()
            .filter(|s| s.key != 0)
            .map(|s| (s.key - 1, &s.cell))
    }
}

/// One lender's learned behaviour for one service.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
struct ServiceStats {
    fills: Decayed,
    unfilled: Decayed,
    /// log-hours to answer "no"
    answer: Decayed,
    /// log-hours to deliver
    deliver: Decayed,
    /// requests it let expire unanswered (also counted in `unfilled`)
    #[serde(default)]
    expired: Decayed,
    /// log-hours the borrowers waited before those expired: the dead time
    #[serde(default)]
    dead: Decayed,
    /// answers that the item was not there (not on shelf, not held; also counted in
    /// `unfilled`): what live availability can see coming
    #[serde(default)]
    shelf: Decayed,
}

/// Per lender.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct LenderState {
    open: u32,
    sent_today: u32,
    day: i64,
    by_service: [ServiceStats; 2],
    events: u64,
    /// Answers of any kind, decayed with [`RATE_HALF_LIFE_DAYS`]: the lender's recent
    /// processing rate, for the queueing delay of its open requests.
    #[serde(default)]
    answers: Decayed,
    /// log of (hours from Loaned to Received) / [`transit_prior_hours`] of the distance
    #[serde(default)]
    transit: Decayed,
    /// The view as of the lender's last event, per service (see [`CACHE_S`]).
    #[serde(skip)]
    cache: [Option<Cached>; 2],
}

/// A lender's estimates as computed at time `t`.
#[derive(Clone, Copy, Debug)]
struct Cached {
    t: i64,
    p_fill: f64,
    evidence: f64,
    answer_hours: f64,
    deliver_hours: f64,
    rate_per_day: f64,
    dead_share: f64,
    dead_hours: f64,
    transit_ratio: f64,
    p_on_shelf: f64,
}

/// How long a lender's cached estimates stand in for a fresh computation: six hours,
/// over which the 90-day evidence half-life moves them by under 0.2 % and the 7-day rate
/// half-life by under 2.5 %. Busy lenders refresh on every event; routing then reads one
/// cached struct per candidate instead of decaying six counters.
pub const CACHE_S: i64 = 6 * 3600;

/// Half-life of the processing-rate estimate: short, because load changes by the week.
pub const RATE_HALF_LIFE_DAYS: f64 = 7.0;

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Open {
    sent_at: i64,
    service: Service,
    /// The lender's open requests over its declared limit when this one was sent.
    #[serde(default)]
    load: f32,
}

/// What the ranking needs to know about one lender, derived from the state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LenderView {
    /// Posterior mean fill probability.
    pub p_fill: f64,
    /// Evidence behind it (decayed requests answered).
    pub evidence: f64,
    /// Expected hours to answer "no".
    pub answer_hours: f64,
    /// Expected hours to deliver when it fills.
    pub deliver_hours: f64,
    /// Requests open at the lender now.
    pub open: u32,
    /// Requests sent to it on `day`.
    pub sent_today: u32,
    /// Requests it answered per day recently (any answer), 0 without history.
    pub rate_per_day: f64,
    /// Share of requests it lets expire unanswered (the borrower waits out its timeout).
    pub dead_share: f64,
    /// Hours a borrower waits before such a request expires.
    pub dead_hours: f64,
    /// Its loans' transit time as a multiple of [`transit_prior_hours`] for the distance.
    pub transit_ratio: f64,
    /// Posterior fill probability when the item is known to be on its shelf (the
    /// answers that it was not there left out).
    pub p_on_shelf: f64,
}

/// All live state. `apply` is the only writer.
#[derive(Clone, Debug, Default)]
pub struct LiveState {
    lenders: Vec<LenderState>,
    /// (request id hash, lender) -> open request
    open: HashMap<(u64, u32), Open>,
    /// Per library `x`, per partner `y`: (lent by y to x, lent by x to y). Kept from both
    /// sides, so one route (one borrower) reads one small row that stays in cache.
    ledger: Vec<Row>,
    not_held: Vec<RoaringBitmap>,
    /// Clusters some lender has said it does not hold: routing checks the (few) clusters
    /// of a request here once, and the per-lender bitmaps only for those that are set.
    not_held_clusters: RoaringBitmap,
    /// (lender, cluster) -> retry after (unix s)
    retry_after: HashMap<(u32, u32), i64>,
    /// Clusters with a retry window (a superset: windows expire, the bit stays).
    retry_clusters: RoaringBitmap,
    /// Loans rota routed: copies away, shipments moving.
    shipments: Shipments,
    /// How load changes fill rates and times, fitted over all lenders.
    load: LoadCurve,
    priors: Option<Priors>,
    applied: u64,
}

/// The serialised form: maps with tuple keys become lists (JSON keys must be strings).
#[derive(Serialize, Deserialize)]
struct StateFile {
    lenders: Vec<LenderState>,
    open: Vec<((u64, u32), Open)>,
    ledger: Vec<((u32, u32), (Decayed, Decayed))>,
    not_held: Vec<(u32, u32)>,
    retry_after: Vec<((u32, u32), i64)>,
    #[serde(default)]
    shipments: ShipmentsFile,
    #[serde(default)]
    load: LoadCurve,
    priors: Option<Priors>,
    applied: u64,
}

fn hash_id(s: &str) -> u64 {
    // FNV-1a: stable across runs and platforms, so snapshots of the state stay valid
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Share of requests a lender is taken to let expire before it has any history.
pub const DEAD_PRIOR: f64 = 0.05;

/// Hours a borrower waits on a silent lender before anything is learned: the common
/// four-day timeout of borrowing systems.
pub const DEAD_HOURS_PRIOR: f64 = 96.0;

/// How long an OnLoan / NotOnShelf answer keeps a lender out for that item.
pub const RETRY_WINDOW_S: i64 = 14 * 24 * 3600;

impl LiveState {
    /// Empty state for a directory of `n` lenders. (The maps use a fast non-cryptographic
    /// hash: their keys are our own integers, and the ledger lookup is on the routing
    /// hot path, once per candidate.)
    pub fn new(n: usize, priors: Priors) -> LiveState {
        LiveState {
            lenders: vec![LenderState::default(); n],
            not_held: vec![RoaringBitmap::new(); n],
            priors: Some(priors),
            ..LiveState::default()
        }
    }

    /// The priors in force.
    pub fn priors(&self) -> Priors {
        self.priors.unwrap_or_default()
    }

    /// Grows the state when lenders are added to the directory (indices are stable:
    /// lenders are only ever appended).
    pub fn resize(&mut self, n: usize) {
        if self.lenders.len() < n {
            self.lenders.resize(n, LenderState::default());
        }
        if self.not_held.len() < n {
            self.not_held.resize(n, RoaringBitmap::new());
        }
    }

    /// Number of events applied.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Requests open now, per lender index.
    pub fn open_requests(&self, lender: LenderId) -> u32 {
        self.lenders.get(lender.index()).map_or(0, |l| l.open)
    }

    /// Applies one event. Unknown lenders are the caller's fault and change nothing.
    pub fn apply(&mut self, dir: &Directory, e: &Event) -> Result<(), EventError> {
        let (lender, borrower) = e.check(dir)?;
        self.resize(dir.len());
        let km = if e.kind == EventKind::Received {
            let at = |i: LenderId| {
                let l = dir.get(i);
                l.latitude.zip(l.longitude)
            };
            at(lender).zip(at(borrower)).map(|(a, b)| km(a, b))
        } else {
            None
        };
        let limit = dir.get(lender).capacity.open_requests.unwrap_or(100).max(1);
        self.apply_indexed(lender, borrower, hash_id(&e.request_id), e, km, limit);
        Ok(())
    }

    fn apply_indexed(
        &mut self,
        lender: LenderId,
        borrower: LenderId,
        rid: u64,
        e: &Event,
        km: Option<f64>,
        limit: u32,
    ) {
        // the maps and the ledger rows store lenders by number (the state file's form)
        let (lender, borrower) = (lender.get(), borrower.get());
        let p = self.priors();
        let hl = p.half_life_days * 86_400.0;
        self.applied += 1;
        let key = (rid, lender);
        let s = &mut self.lenders[lender as usize];
        s.events += 1;
        let answers = matches!(
            e.kind,
            EventKind::Loaned
                | EventKind::CopyCompleted
                | EventKind::Unfilled(_)
                | EventKind::RetryPossible(_)
                | EventKind::Expired
        );
        if answers {
            bump(&mut s.answers, e.at, RATE_HALF_LIFE_DAYS * 86_400.0);
        }
        // an answer or a cancellation closes the request at this lender
        let closed = if answers || e.kind == EventKind::Cancelled {
            let o = self.open.remove(&key);
            if o.is_some() {
                s.open = s.open.saturating_sub(1);
            }
            o
        } else {
            None
        };
        let hours = closed.map(|o| ((e.at - o.sent_at).max(0) as f64 / 3600.0).max(0.1));
        if let Some(o) = closed.filter(|_| answers) {
            // what load did to this answer, against what the lender usually does
            let usual = compute(s, e.service, e.at, &p);
            let rho = f64::from(o.load);
            let filled = matches!(e.kind, EventKind::Loaned | EventKind::CopyCompleted);
            if !matches!(e.kind, EventKind::RetryPossible(_)) {
                self.load.fill(rho, filled, usual.p_fill, e.at, hl);
            }
            let time = match e.kind {
                EventKind::Loaned | EventKind::CopyCompleted => Some(usual.deliver_hours),
                EventKind::Unfilled(_) | EventKind::RetryPossible(_) => Some(usual.answer_hours),
                _ => None,
            };
            if let (Some(usual), Some(h)) = (time, hours) {
                self.load.time(rho, h, usual, e.at, hl);
            }
        }
        let st = &mut s.by_service[e.service.index()];
        if answers {
            // keep a service's four counters within an hour of each other, so `compute`
            // decays them all with one factor
            for d in [
                &mut st.fills,
                &mut st.unfilled,
                &mut st.answer,
                &mut st.deliver,
                &mut st.expired,
                &mut st.dead,
                &mut st.shelf,
            ] {
                d.decay_to(e.at, hl);
            }
        }
        match e.kind {
            EventKind::Sent => {
                if self
                    .open
                    .insert(
                        key,
                        Open {
                            sent_at: e.at,
                            service: e.service,
                            load: s.open as f32 / limit as f32,
                        },
                    )
                    .is_none()
                {
                    s.open += 1;
                }
                let day = e.at.div_euclid(86_400);
                if s.day != day {
                    s.day = day;
                    s.sent_today = 0;
                }
                s.sent_today += 1;
            }
            EventKind::Loaned | EventKind::CopyCompleted => {
                bump(&mut st.fills, e.at, hl);
                if let Some(h) = hours {
                    // time to ship; transit is added by the ranking from distance
                    let est = estimate(
                        &st.deliver,
                        p.time_prior_weight,
                        prior_deliver(&p, e.service),
                    );
                    add_sample(&mut st.deliver, e.at, hl, h.min(4.0 * est));
                }
                let n = self.lenders.len();
                if self.ledger.len() < n {
                    self.ledger.resize_with(n, Row::default);
                }
                self.ledger[borrower as usize]
                    .entry(lender)
                    .add(e.at, hl, 1.0, 0.0);
                self.ledger[lender as usize]
                    .entry(borrower)
                    .add(e.at, hl, 0.0, 1.0);
                if e.kind == EventKind::Loaned {
                    let c = e.cluster.map(ClusterId::get);
                    self.shipments.loaned(rid, lender, c, e.at);
                    if let Some(c) = c {
                        self.retry_clusters.insert(c);
                    }
                }
            }
            EventKind::Expired => {
                bump(&mut st.unfilled, e.at, hl);
                bump(&mut st.expired, e.at, hl);
                if let Some(h) = hours {
                    // the dead time is its own term: no clipping, it is the cost of asking
                    add_sample(&mut st.dead, e.at, hl, h);
                }
            }
            EventKind::Unfilled(reason) => {
                bump(&mut st.unfilled, e.at, hl);
                if matches!(reason, ReasonUnfilled::NotHeld | ReasonUnfilled::NotOnShelf) {
                    bump(&mut st.shelf, e.at, hl);
                }
                if let Some(h) = hours {
                    let est = estimate(&st.answer, p.time_prior_weight, p.answer_hours);
                    add_sample(&mut st.answer, e.at, hl, h.min(4.0 * est));
                }
                if let Some(c) = e.cluster.map(ClusterId::get) {
                    if reason.is_final() {
                        if let Some(b) = self.not_held.get_mut(lender as usize) {
                            b.insert(c);
                            self.not_held_clusters.insert(c);
                        }
                    } else if reason == ReasonUnfilled::NotOnShelf {
                        self.retry_after.insert((lender, c), e.at + RETRY_WINDOW_S);
                        self.retry_clusters.insert(c);
                    }
                }
            }
            EventKind::RetryPossible(_) => {
                // not counted against the fill rate: "on loan" says when to ask again, the
                // retry window keeps the lender out for the item meanwhile (counting it
                // as a failure measured slower: 102.2 -> 102.7 h on the default scenario)
                if let Some(c) = e.cluster.map(ClusterId::get) {
                    self.retry_after.insert((lender, c), e.at + RETRY_WINDOW_S);
                    self.retry_clusters.insert(c);
                }
            }
            EventKind::Received => {
                if let Some(h) = self.shipments.received(rid, lender, e.at) {
                    let ratio = h / transit_prior_hours(km);
                    add_sample(&mut s.transit, e.at, hl, ratio.clamp(0.1, 10.0));
                    self.refresh(LenderId::new(lender), e.service, e.at);
                }
            }
            EventKind::Returned => {
                self.shipments
                    .returned(lender, e.cluster.map(ClusterId::get));
            }
            EventKind::WillSupply | EventKind::Cancelled => {}
        }
        if answers {
            self.refresh(LenderId::new(lender), e.service, e.at);
        }
    }

    /// The view of one lender at `now` for a service.
    pub fn view(&self, lender: LenderId, service: Service, now: i64) -> LenderView {
        let p = self.priors();
        let Some(s) = self.lenders.get(lender.index()) else {
            return LenderView {
                p_fill: p.fill_alpha / (p.fill_alpha + p.fill_beta),
                evidence: 0.0,
                answer_hours: p.answer_hours,
                deliver_hours: prior_deliver(&p, service),
                open: 0,
                sent_today: 0,
                rate_per_day: 0.0,
                dead_share: DEAD_PRIOR,
                dead_hours: DEAD_HOURS_PRIOR,
                transit_ratio: 1.0,
                p_on_shelf: p.fill_alpha / (p.fill_alpha + p.fill_beta),
            };
        };
        let c = match s.cache[service.index()] {
            Some(c) if now >= c.t && now - c.t < CACHE_S => c,
            _ => compute(s, service, now, &p),
        };
        LenderView {
            p_fill: c.p_fill,
            evidence: c.evidence,
            answer_hours: c.answer_hours,
            deliver_hours: c.deliver_hours,
            open: s.open,
            sent_today: self.sent_today(lender, now),
            rate_per_day: c.rate_per_day,
            dead_share: c.dead_share,
            dead_hours: c.dead_hours,
            transit_ratio: c.transit_ratio,
            p_on_shelf: c.p_on_shelf,
        }
    }

    /// Recomputes every cached estimate older than half of [`CACHE_S`], so that routing
    /// finds a fresh cache even for lenders that have not answered for hours. The server
    /// calls this on a timer (and the simulator each simulated hour); without it routing
    /// stays correct, computing the stale lenders' estimates per request instead.
    pub fn refresh_stale(&mut self, now: i64) {
        let p = self.priors();
        for s in &mut self.lenders {
            for svc in [Service::Loan, Service::Copy] {
                let stale =
                    s.cache[svc.index()].is_none_or(|c| now < c.t || now - c.t >= CACHE_S / 2);
                if stale {
                    s.cache[svc.index()] = Some(compute(s, svc, now, &p));
                }
            }
        }
    }

    /// Refreshes a lender's cached estimates after an event.
    fn refresh(&mut self, lender: LenderId, service: Service, now: i64) {
        let p = self.priors();
        if let Some(s) = self.lenders.get_mut(lender.index()) {
            let c = compute(s, service, now, &p);
            s.cache[service.index()] = Some(c);
        }
    }

    /// Decayed (lent to borrower, borrowed from borrower) counts for a lender.
    pub fn reciprocity(&self, lender: LenderId, borrower: LenderId, now: i64) -> (f64, f64) {
        let hl = self.priors().half_life_days * 86_400.0;
        let Some(c) = self
            .ledger
            .get(borrower.index())
            .and_then(|row| row.get(lender.get()))
            .copied()
        else {
            return (0.0, 0.0);
        };
        let k = c.factor(now, hl);
        (f64::from(c.lent) * k, f64::from(c.borrowed) * k)
    }

    /// Reads the ledger slots of these lenders for the borrower, so that the
    /// [`LiveState::reciprocity`] calls that follow find them in cache. The loads have
    /// nothing depending on them but one xor, so their cache misses (the ledger is large
    /// and a borrower's row is often cold) overlap instead of queueing one per lookup.
    pub fn touch_ledger(&self, borrower: LenderId, lenders: impl Iterator<Item = LenderId>) {
        if let Some(row) = self.ledger.get(borrower.index()) {
            let mut seen = 0u32;
            for l in lenders {
                seen ^= row.touch(l.get());
            }
            std::hint::black_box(seen);
        }
    }

    /// Whether the lender has said it does not hold (or will never lend) the cluster.
    pub fn said_not_held(&self, lender: LenderId, cluster: ClusterId) -> bool {
        self.not_held
            .get(lender.index())
            .is_some_and(|b| b.contains(cluster.get()))
    }

    /// Whether any lender has said it does not hold the cluster.
    pub fn any_not_held(&self, cluster: ClusterId) -> bool {
        self.not_held_clusters.contains(cluster.get())
    }

    /// Whether any lender may be inside a retry window for the cluster.
    pub fn any_retry(&self, cluster: ClusterId) -> bool {
        self.retry_clusters.contains(cluster.get())
    }

    /// Requests sent to a lender on the UTC day of `now`.
    pub fn sent_today(&self, lender: LenderId, now: i64) -> u32 {
        self.lenders
            .get(lender.index())
            .filter(|s| s.day == now.div_euclid(86_400))
            .map_or(0, |s| s.sent_today)
    }

    /// How load `rho` (open requests over the declared limit) changes a lender's fill
    /// rate (added) and times (multiplied), as fitted from events (the `load` module).
    pub fn load_effect(&self, rho: f64) -> (f64, f64) {
        self.load.effect(rho)
    }

    /// Copies of a cluster the lender has away on loans rota routed (from `Loaned` until
    /// `Returned`, at most [`crate::lent::AWAY_S`]).
    pub fn copies_away(&self, lender: LenderId, cluster: ClusterId, now: i64) -> u16 {
        self.shipments.away(lender.get(), cluster.get(), now)
    }

    /// Until when a lender is out for a cluster (OnLoan, NotOnShelf).
    pub fn retry_after(&self, lender: LenderId, cluster: ClusterId) -> Option<i64> {
        self.retry_after
            .get(&(lender.get(), cluster.get()))
            .copied()
    }

    /// Serialises (for the server's periodic state snapshots).
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// Restores from [`LiveState::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<LiveState, serde_json::Error> {
        serde_json::from_slice(b)
    }
}

impl From<&LiveState> for StateFile {
    fn from(s: &LiveState) -> StateFile {
        StateFile {
            lenders: s.lenders.clone(),
            open: s.open.iter().map(|(k, v)| (*k, *v)).collect(),
            ledger: s
                .ledger
                .iter()
                .enumerate()
                .flat_map(|(row, m)| m.iter().map(move |(p, v)| ((row as u32, p), v.to_file())))
                .collect(),
            not_held: s
                .not_held
                .iter()
                .enumerate()
                .flat_map(|(l, b)| b.iter().map(move |c| (l as u32, c)))
                .collect(),
            retry_after: s.retry_after.iter().map(|(k, v)| (*k, *v)).collect(),
            shipments: s.shipments.to_file(),
            load: s.load.clone(),
            priors: s.priors,
            applied: s.applied,
        }
    }
}

impl From<StateFile> for LiveState {
    fn from(f: StateFile) -> LiveState {
        let n = f.lenders.len();
        let mut not_held = vec![RoaringBitmap::new(); n];
        let mut not_held_clusters = RoaringBitmap::new();
        for (l, c) in f.not_held {
            if let Some(b) = not_held.get_mut(l as usize) {
                b.insert(c);
                not_held_clusters.insert(c);
            }
        }
        let retry_clusters = f
            .retry_after
            .iter()
            .map(|((_, c), _)| *c)
            .chain(f.shipments.away_clusters())
            .collect();
        LiveState {
            lenders: f.lenders,
            open: f.open.into_iter().collect(),
            ledger: {
                let hl = f.priors.unwrap_or_default().half_life_days * 86_400.0;
                let mut rows: Vec<Row> = vec![Row::default(); n];
                for ((row, partner), v) in f.ledger {
                    if let Some(r) = rows.get_mut(row as usize) {
                        *r.entry(partner) = Ledger::from_file(v, hl);
                    }
                }
                rows
            },
            not_held,
            not_held_clusters,
            retry_after: f.retry_after.into_iter().collect(),
            retry_clusters,
            shipments: Shipments::from_file(f.shipments),
            load: f.load,
            priors: f.priors,
            applied: f.applied,
        }
    }
}

impl Serialize for LiveState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        StateFile::from(self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for LiveState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<LiveState, D::Error> {
        StateFile::deserialize(d).map(LiveState::from)
    }
}

fn prior_deliver(p: &Priors, s: Service) -> f64 {
    match s {
        Service::Loan => p.deliver_hours,
        Service::Copy => p.copy_hours,
    }
}

/// The estimates of one lender and service at `now` (the uncached path of `view`).
fn compute(s: &LenderState, service: Service, now: i64, p: &Priors) -> Cached {
    let hl = p.half_life_days * 86_400.0;
    let st = s.by_service[service.index()];
    // `apply` decays a service's counters together on every answer, so they sit within an
    // hour of each other (the tolerance `decay_to` already accepts): one exp, not four
    let t0 = st
        .fills
        .t
        .max(st.unfilled.t)
        .max(st.answer.t)
        .max(st.deliver.t);
    let k = if now - t0 >= 3600 {
        (-(now - t0) as f64 * std::f64::consts::LN_2 / hl).exp()
    } else {
        1.0
    };
    let decayed = |d: Decayed| Decayed {
        w: d.w * k,
        sum: d.sum * k,
        t: now,
    };
    let (f, u) = (decayed(st.fills).w, decayed(st.unfilled).w);
    let mut a = s.answers;
    a.decay_to(now, RATE_HALF_LIFE_DAYS * 86_400.0);
    let mut transit = s.transit;
    transit.decay_to(now, hl);
    Cached {
        // shrunk towards the prior share by one pseudo-request
        dead_share: (DEAD_PRIOR + decayed(st.expired).w) / (1.0 + f + u),
        dead_hours: estimate(&decayed(st.dead), p.time_prior_weight, DEAD_HOURS_PRIOR),
        transit_ratio: estimate(&transit, p.time_prior_weight, 1.0),
        p_on_shelf: {
            let shelf = decayed(st.shelf).w;
            (p.fill_alpha + f) / (p.fill_alpha + p.fill_beta + f + (u - shelf).max(0.0))
        },
        t: now,
        p_fill: (p.fill_alpha + f) / (p.fill_alpha + p.fill_beta + f + u),
        evidence: f + u,
        answer_hours: estimate(&decayed(st.answer), p.time_prior_weight, p.answer_hours),
        deliver_hours: estimate(
            &decayed(st.deliver),
            p.time_prior_weight,
            prior_deliver(p, service),
        ),
        // a decayed count of a steady rate r settles at r × half-life / ln 2
        rate_per_day: a.w * std::f64::consts::LN_2 / RATE_HALF_LIFE_DAYS,
    }
}

/// One more piece of evidence, now.
fn bump(d: &mut Decayed, t: i64, hl: f64) {
    d.decay_to(t, hl);
    d.w += 1.0;
}

fn add_sample(d: &mut Decayed, t: i64, hl: f64, hours: f64) {
    d.decay_to(t, hl);
    d.w += 1.0;
    d.sum += hours.max(0.1).ln();
}

/// Geometric-mean estimate, shrunk towards the prior by `prior_w` pseudo-samples.
fn estimate(d: &Decayed, prior_w: f64, prior: f64) -> f64 {
    ((d.sum + prior_w * prior.ln()) / (d.w + prior_w)).exp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::Lender;

    fn dir() -> Directory {
        let l = |s: &str| Lender {
            symbol: s.into(),
            name: String::new(),
            groups: vec![],
            tier: Default::default(),
            timezone: "UTC".into(),
            closed: vec![],
            lending: true,
            suspended_from: None,
            suspended_to: None,
            capacity: Default::default(),
            offers: vec![],
            ships_international: false,
            country: String::new(),
            latitude: None,
            longitude: None,
            reciprocal: vec![],
            institution: None,
            electronic_ill: Default::default(),
            iso18626: None,
            agency_ids: Vec::new(),
            lookup: None,
        };
        Directory::new(vec![l("A"), l("B")], "t").unwrap()
    }

    /// Events need real dates (from 2000 on); the tests count seconds from here.
    const T0: i64 = 1_700_000_000;

    fn ev(at: i64, id: &str, lender: &str, kind: EventKind) -> Event {
        Event {
            at: T0 + at,
            request_id: id.into(),
            borrower: "B".into(),
            lender: lender.into(),
            cluster: Some(ClusterId::new(7)),
            service: Service::Loan,
            kind,
        }
    }

    #[test]
    fn fills_and_load() {
        let d = dir();
        let mut s = LiveState::new(2, Priors::default());
        let p0 = s.view(LenderId::new(0), Service::Loan, T0).p_fill;
        for i in 0..20 {
            let id = format!("r{i}");
            s.apply(&d, &ev(i * 100, &id, "A", EventKind::Sent))
                .unwrap();
            s.apply(&d, &ev(i * 100 + 7200, &id, "A", EventKind::Loaned))
                .unwrap();
        }
        let v = s.view(LenderId::new(0), Service::Loan, T0 + 3000);
        assert!(v.p_fill > p0);
        assert_eq!(v.open, 0);
        assert!(
            v.deliver_hours < 96.0,
            "learned fast shipping: {}",
            v.deliver_hours
        );
        s.apply(&d, &ev(5000, "x", "A", EventKind::Sent)).unwrap();
        assert_eq!(s.open_requests(LenderId::new(0)), 1);
        s.apply(&d, &ev(5000, "x", "A", EventKind::Sent)).unwrap();
        assert_eq!(
            s.open_requests(LenderId::new(0)),
            1,
            "a repeated Sent is not a second request"
        );
        s.apply(
            &d,
            &ev(9000, "x", "A", EventKind::Unfilled(ReasonUnfilled::NotHeld)),
        )
        .unwrap();
        assert_eq!(s.open_requests(LenderId::new(0)), 0);
        assert!(s.said_not_held(LenderId::new(0), ClusterId::new(7)));
        assert!(s.reciprocity(LenderId::new(0), LenderId::new(1), 3000).0 > 19.0);
        assert_eq!(
            s.reciprocity(LenderId::new(1), LenderId::new(0), 3000).1,
            s.reciprocity(LenderId::new(0), LenderId::new(1), 3000).0
        );
    }

    #[test]
    fn loans_routed_are_remembered_until_returned_and_teach_transit() {
        let mut d = dir();
        // A in Madison, B in Milwaukee: about 120 km, a prior of 28.8 h
        let mut ls = d.lenders().to_vec();
        (ls[0].latitude, ls[0].longitude) = (Some(43.07), Some(-89.40));
        (ls[1].latitude, ls[1].longitude) = (Some(43.04), Some(-87.91));
        d = Directory::new(ls, "t").unwrap();
        let (a, c) = (LenderId::new(0), ClusterId::new(7));
        let mut s = LiveState::new(2, Priors::default());
        assert_eq!(s.view(a, Service::Loan, T0).transit_ratio, 1.0);
        for i in 0..10 {
            let id = format!("r{i}");
            let t = i * 86_400;
            s.apply(&d, &ev(t, &id, "A", EventKind::Sent)).unwrap();
            s.apply(&d, &ev(t + 3600, &id, "A", EventKind::Loaned))
                .unwrap();
            assert_eq!(s.copies_away(a, c, T0 + t + 7200), 1);
            assert!(s.any_retry(c), "the filter must look at the cluster");
            // received three times the prior later
            let h = (3.0 * transit_prior_hours(Some(km((43.07, -89.40), (43.04, -87.91)))) * 3600.0)
                as i64;
            s.apply(&d, &ev(t + 3600 + h, &id, "A", EventKind::Received))
                .unwrap();
            s.apply(&d, &ev(t + 7200 + h, &id, "A", EventKind::Returned))
                .unwrap();
            assert_eq!(s.copies_away(a, c, T0 + t + 7200 + h), 0);
        }
        let r = s.view(a, Service::Loan, T0 + 10 * 86_400).transit_ratio;
        assert!((2.0..3.0).contains(&r), "learned a slow courier: {r}");
        // and the memory survives a snapshot
        s.apply(&d, &ev(20 * 86_400, "z", "A", EventKind::Sent))
            .unwrap();
        s.apply(&d, &ev(20 * 86_400 + 60, "z", "A", EventKind::Loaned))
            .unwrap();
        let back = LiveState::from_bytes(&s.to_bytes().unwrap()).unwrap();
        assert_eq!(back.copies_away(a, c, T0 + 21 * 86_400), 1);
        assert!(back.any_retry(c));
    }

    #[test]
    fn silence_is_learned_as_dead_time() {
        let d = dir();
        let a = LenderId::new(0);
        let mut s = LiveState::new(2, Priors::default());
        let v0 = s.view(a, Service::Loan, T0);
        assert_eq!(v0.dead_share, DEAD_PRIOR);
        assert!((v0.dead_hours - DEAD_HOURS_PRIOR).abs() < 1e-9);
        for i in 0..10 {
            let id = format!("r{i}");
            let t = i * 86_400;
            s.apply(&d, &ev(t, &id, "A", EventKind::Sent)).unwrap();
            let kind = if i % 2 == 0 {
                EventKind::Expired
            } else {
                EventKind::Unfilled(ReasonUnfilled::PolicyProblem)
            };
            let wait = if i % 2 == 0 { 120 } else { 10 } * 3600;
            s.apply(&d, &ev(t + wait, &id, "A", kind)).unwrap();
        }
        let v = s.view(a, Service::Loan, T0 + 10 * 86_400);
        assert!((0.4..0.5).contains(&v.dead_share), "{}", v.dead_share);
        assert!(v.dead_hours > 110.0, "{}", v.dead_hours);
        // the dead time is not an answer time
        assert!(v.answer_hours < 30.0, "{}", v.answer_hours);
    }

    #[test]
    fn unknown_lender_is_refused_and_changes_nothing() {
        let d = dir();
        let mut s = LiveState::new(2, Priors::default());
        assert_eq!(
            s.apply(&d, &ev(0, "r", "ZZ", EventKind::Sent)),
            Err(EventError::UnknownLender("ZZ".into()))
        );
        assert_eq!(s.applied(), 0);
    }

    #[test]
    fn evidence_decays() {
        let d = dir();
        let mut s = LiveState::new(2, Priors::default());
        for i in 0..10 {
            s.apply(
                &d,
                &ev(
                    0,
                    &format!("r{i}"),
                    "A",
                    EventKind::Unfilled(ReasonUnfilled::PolicyProblem),
                ),
            )
            .unwrap();
        }
        let now = s.view(LenderId::new(0), Service::Loan, T0).evidence;
        let later = s
            .view(LenderId::new(0), Service::Loan, T0 + 90 * 86_400)
            .evidence;
        assert!((later - now / 2.0).abs() < 0.01, "{now} -> {later}");
    }

    #[test]
    fn state_roundtrips() {
        let d = dir();
        let mut s = LiveState::new(2, Priors::default());
        s.apply(
            &d,
            &ev(0, "r", "A", EventKind::Unfilled(ReasonUnfilled::NotHeld)),
        )
        .unwrap();
        s.apply(&d, &ev(0, "q", "B", EventKind::Sent)).unwrap();
        let r = LiveState::from_bytes(&s.to_bytes().unwrap()).unwrap();
        assert!(r.said_not_held(LenderId::new(0), ClusterId::new(7)));
        assert_eq!(r.open_requests(LenderId::new(1)), 1);
        assert_eq!(r.applied(), 2);
    }

    #[test]
    fn ledger_rows_grow_and_roundtrip() {
        let mut row = Row::default();
        assert!(row.get(3).is_none());
        for p in 0..1000u32 {
            row.entry(p).add(1_000_000, 1e7, p as f32, 1.0);
        }
        assert_eq!(row.len, 1000);
        assert!(row.slots.len().is_power_of_two() && row.slots.len() * 3 >= 1000 * 4);
        for p in 0..1000u32 {
            assert_eq!(row.get(p).map(|c| c.lent), Some(p as f32), "partner {p}");
        }
        assert!(row.get(1000).is_none());
        assert_eq!(row.iter().count(), 1000);
        // the file form keeps both sides at one time
        let c = *row.get(7).unwrap();
        assert_eq!(Ledger::from_file(c.to_file(), 1e7), c);
    }

    #[test]
    fn ledger_decays_both_sides_together() {
        let d = dir();
        let mut s = LiveState::new(2, Priors::default());
        let day = 86_400;
        s.apply(&d, &ev(0, "r1", "A", EventKind::Sent)).unwrap();
        s.apply(&d, &ev(10, "r1", "A", EventKind::Loaned)).unwrap();
        let (lent, borrowed) = s.reciprocity(LenderId::new(0), LenderId::new(1), T0 + 10);
        assert_eq!((lent, borrowed), (1.0, 0.0));
        // one half-life later, half the weight, on both sides
        let hl = (Priors::default().half_life_days * day as f64) as i64;
        let (lent, _) = s.reciprocity(LenderId::new(0), LenderId::new(1), T0 + 10 + hl);
        assert!((lent - 0.5).abs() < 1e-3, "{lent}");
        let (_, borrowed) = s.reciprocity(LenderId::new(1), LenderId::new(0), T0 + 10 + hl);
        assert!((borrowed - 0.5).abs() < 1e-3, "{borrowed}");
        assert_eq!(
            s.reciprocity(LenderId::new(1), LenderId::new(1), T0 + 10),
            (0.0, 0.0)
        );
    }

    #[test]
    fn refresh_stale_matches_a_fresh_computation() {
        let d = dir();
        let mut s = LiveState::new(2, Priors::default());
        for k in 0..20 {
            let id = format!("r{k}");
            s.apply(&d, &ev(k * 3600, &id, "A", EventKind::Sent))
                .unwrap();
            let kind = if k % 3 == 0 {
                EventKind::Unfilled(ReasonUnfilled::PolicyProblem)
            } else {
                EventKind::Loaned
            };
            s.apply(&d, &ev(k * 3600 + 1800, &id, "A", kind)).unwrap();
        }
        let later = 30 * 86_400;
        let stale = s.view(LenderId::new(0), Service::Loan, T0 + later);
        let mut fresh = s.clone();
        fresh.refresh_stale(T0 + later);
        let v = fresh.view(LenderId::new(0), Service::Loan, T0 + later);
        assert_eq!(
            v, stale,
            "the refreshed cache gives what a fresh computation gives"
        );
        // a month of decay moved the estimate: the cache is not the old one
        assert!(
            v.evidence
                < fresh
                    .view(LenderId::new(0), Service::Loan, T0 + 20 * 3600)
                    .evidence
        );
    }
}

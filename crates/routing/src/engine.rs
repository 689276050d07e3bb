//! The router: citation → candidates → hard filters → ranking → lending string.

use std::collections::HashMap;
use std::sync::Arc;

use roaring::RoaringBitmap;
use rota_catalog::{Catalog, Citation, Format, Holding, LookupError, LookupOptions, Match};
use serde::{Deserialize, Serialize};

use crate::directory::{Directory, OfferCheck, Service, Unavailable};
use crate::profile::{Mode, Profile};
use crate::state::{Answer, LenderView, LiveState, RETRY_WINDOW_S, ReasonUnfilled};

/// Most lenders a string may hold.
pub const MAX_LENDERS: u32 = 100;

/// Service requested.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ServiceType {
    /// A loan.
    #[default]
    Loan,
    /// A copy.
    Copy,
    /// Either; each lender is asked for what it offers (copy first for serials).
    CopyOrLoan,
}

/// A lender already asked, and its answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tried {
    /// Lender symbol.
    pub lender: String,
    /// ISO 18626 answer.
    pub answer: Answer,
    /// When it answered (unix seconds); retry windows run from here (default: now).
    #[serde(default)]
    pub at: Option<i64>,
}

/// A routing request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The caller's id (used for tie rotation and echoed back).
    #[serde(default)]
    pub request_id: String,
    /// Borrowing library's symbol.
    pub borrower: String,
    /// What is wanted.
    pub citation: Citation,
    /// Service.
    #[serde(default)]
    pub service: ServiceType,
    /// Format (else the matched cluster's).
    #[serde(default)]
    pub format: Option<Format>,
    /// Most the borrower will pay, in `currency`.
    #[serde(default)]
    pub max_cost: Option<f64>,
    /// Currency of `max_cost` (default USD).
    #[serde(default)]
    pub currency: Option<String>,
    /// Needed before (unix seconds): lenders whose expected delivery misses it rank last.
    #[serde(default)]
    pub need_before: Option<i64>,
    /// Rush: turnaround counts double.
    #[serde(default)]
    pub rush: bool,
    /// Lenders already asked.
    #[serde(default)]
    pub tried: Vec<Tried>,
    /// How many lenders to return.
    #[serde(default = "default_max")]
    pub max_lenders: u32,
    /// Weight profile name (default `default`).
    #[serde(default)]
    pub profile: Option<String>,
    /// The time of routing (unix seconds). The engine never reads the clock.
    pub now: i64,
}

fn default_max() -> u32 {
    5
}

/// One factor of a lender's ranking.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Factor {
    /// Name (`p_fill`, `load`, `reciprocity`, ...).
    pub name: &'static str,
    /// The factor's value (probability, hours, ratio or normalised 0..1).
    pub value: f64,
    /// Its contribution: in weighted mode weight × value (added to the score); in
    /// fastest-fill mode the log of its multiplier on the e/p key (positive = pushed down).
    pub contribution: f64,
}

/// A lender in the string.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RankedLender {
    /// Symbol.
    pub symbol: String,
    /// 1-based rank.
    pub rank: u32,
    /// Score, higher is better (fastest fill: 1000 / adjusted e/p hours).
    pub score: f64,
    /// Probability it fills.
    pub p_fill: f64,
    /// Expected hours this lender takes (e = p·d + (1 − p)·a).
    pub expected_hours: f64,
    /// Hours to deliver if it fills (d).
    pub deliver_hours: f64,
    /// Hours to say no if it does not (a).
    pub answer_hours: f64,
    /// The service to ask it for.
    pub service: Service,
    /// The cluster it holds.
    pub cluster: u32,
    /// Factors.
    pub factors: Vec<Factor>,
    /// A sentence for staff.
    pub reason: String,
}

/// Why a holder is not in the string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// It is the borrower.
    Borrower,
    /// Holder not in the lender directory.
    NotInDirectory,
    /// The holding does not circulate / is not lent.
    HoldingNotLendable,
    /// Already tried with a final answer for this item.
    TriedFinal,
    /// Already tried for this request (non-final answer, not yet due for a retry).
    AlreadyTried,
    /// OnLoan / NotOnShelf recently: inside the retry window.
    RetryWindow,
    /// Said "not held" for this item before (any request).
    KnownNotHeld,
    /// Not lending at all.
    NotLending,
    /// Suspended.
    Suspended,
    /// Closed today (its own time zone).
    Closed,
    /// Does not offer the service for this format.
    ServiceNotOffered,
    /// Offers it, but not to the borrower's groups.
    NotOfferedToGroup,
    /// Charge above the maximum cost.
    CostExceedsMax,
    /// Charges in another currency than the maximum cost's.
    CurrencyMismatch,
    /// Will not ship to the borrower's country.
    NoInternationalShipping,
    /// Reached its daily capacity.
    DailyCapacityReached,
}

impl Exclusion {
    /// Sentence for staff.
    pub fn describe(self) -> &'static str {
        match self {
            Exclusion::Borrower => "is the borrower",
            Exclusion::NotInDirectory => "holds it but is not in the lender directory",
            Exclusion::HoldingNotLendable => "its copy does not circulate or is not lent",
            Exclusion::TriedFinal => "already answered that it cannot supply this item",
            Exclusion::AlreadyTried => "already tried for this request",
            Exclusion::RetryWindow => "item on loan or not on shelf there recently; retry later",
            Exclusion::KnownNotHeld => "said earlier that it does not hold this item",
            Exclusion::NotLending => "is not lending",
            Exclusion::Suspended => "has suspended lending",
            Exclusion::Closed => "is closed today",
            Exclusion::ServiceNotOffered => "does not offer this service for this format",
            Exclusion::NotOfferedToGroup => "does not offer this service to the borrower's groups",
            Exclusion::CostExceedsMax => "charges more than the maximum cost",
            Exclusion::CurrencyMismatch => "charges in another currency than the maximum cost",
            Exclusion::NoInternationalShipping => "does not ship to the borrower's country",
            Exclusion::DailyCapacityReached => "has reached its daily capacity",
        }
    }
}

/// An excluded holder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Excluded {
    /// Symbol.
    pub symbol: String,
    /// Rule.
    pub reason: Exclusion,
}

/// The answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LendingString {
    /// The request id, echoed.
    pub request_id: String,
    /// Catalogue matches used.
    pub matches: Vec<Match>,
    /// Ranked lenders, best first.
    pub lenders: Vec<RankedLender>,
    /// Holders not in the string, with the rule that excluded each.
    pub excluded: Vec<Excluded>,
    /// Holders that passed every rule but ranked below `max_lenders`.
    pub not_ranked: u32,
    /// Expected hours until the item is filled or the string is exhausted.
    pub expected_hours_to_fill: f64,
    /// Probability one of the lenders fills.
    pub p_filled: f64,
    /// Profile used.
    pub profile: String,
}

/// A request the engine cannot route (the caller's fault, each naming its field).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RouteError {
    /// Citation problem.
    #[error("citation: {0}")]
    Citation(#[from] LookupError),
    /// Borrower unknown.
    #[error("borrower: {0:?} is not in the lender directory")]
    UnknownBorrower(String),
    /// Tried lender unknown.
    #[error("tried: lender {0:?} is not in the lender directory")]
    UnknownTriedLender(String),
    /// Profile unknown.
    #[error("profile: {0:?} does not exist")]
    UnknownProfile(String),
    /// max_lenders out of range.
    #[error("max_lenders: {0} is not between 1 and {MAX_LENDERS}")]
    BadMaxLenders(u32),
    /// max_cost negative or not a number.
    #[error("max_cost: {0} is not a finite amount ≥ 0")]
    BadMaxCost(f64),
}

/// The engine: an immutable catalogue and directory plus profiles. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    catalog: Arc<Catalog>,
    directory: Arc<Directory>,
    profiles: Arc<HashMap<String, Profile>>,
    /// catalogue library id → directory index
    lib_to_lender: Arc<Vec<u32>>,
    /// directory index → catalogue library id
    lender_to_lib: Arc<Vec<u32>>,
    /// lenders with lending = false
    not_lending: Arc<RoaringBitmap>,
    /// [service][format]: lenders with some offer for it (ignoring groups)
    offers: Arc<[[RoaringBitmap; 8]; 2]>,
}

const NONE: u32 = u32::MAX;

impl Engine {
    /// Builds an engine; profiles are validated (built-ins are added when absent).
    pub fn new(
        catalog: Arc<Catalog>,
        directory: Arc<Directory>,
        profiles: Vec<Profile>,
    ) -> Result<Engine, crate::profile::ProfileError> {
        let mut map: HashMap<String, Profile> = Profile::builtin()
            .into_iter()
            .map(|p| (p.name.clone(), p))
            .collect();
        for p in profiles {
            p.validate()?;
            map.insert(p.name.clone(), p);
        }
        let mut lib_to_lender = vec![NONE; catalog.libraries().len()];
        let mut lender_to_lib = vec![NONE; directory.len()];
        for (lib, l) in catalog.libraries().iter().enumerate() {
            if let Some(i) = directory.index(&l.symbol) {
                lib_to_lender[lib] = i;
                lender_to_lib[i as usize] = lib as u32;
            }
        }
        let mut not_lending = RoaringBitmap::new();
        let mut offers: [[RoaringBitmap; 8]; 2] = Default::default();
        for (i, l) in directory.lenders().iter().enumerate() {
            if !l.lending {
                not_lending.insert(i as u32);
            }
            for s in [Service::Loan, Service::Copy] {
                for f in Format::ALL {
                    let covered = l.offers.is_empty()
                        || l.offers.iter().any(|o| {
                            o.service == s && (o.formats.is_empty() || o.formats.contains(&f))
                        });
                    if covered {
                        offers[s.index()][f.index() as usize].insert(i as u32);
                    }
                }
            }
        }
        Ok(Engine {
            catalog,
            directory,
            profiles: Arc::new(map),
            lib_to_lender: Arc::new(lib_to_lender),
            lender_to_lib: Arc::new(lender_to_lib),
            not_lending: Arc::new(not_lending),
            offers: Arc::new(offers),
        })
    }

    /// The catalogue.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The directory.
    pub fn directory(&self) -> &Arc<Directory> {
        &self.directory
    }

    /// A profile by name.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    /// All profiles, sorted by name.
    pub fn profiles(&self) -> Vec<&Profile> {
        let mut v: Vec<&Profile> = self.profiles.values().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// A fresh live state sized for this directory, with the default profile's priors.
    pub fn new_state(&self) -> LiveState {
        let priors = self
            .profiles
            .get("default")
            .map(|p| p.priors)
            .unwrap_or_default();
        LiveState::new(self.directory.len(), priors)
    }

    /// The same engine over another catalogue (after a reload or a holdings delta).
    pub fn with_catalog(&self, catalog: Arc<Catalog>) -> Engine {
        let profiles: Vec<Profile> = self.profiles.values().cloned().collect();
        Engine::new(catalog, self.directory.clone(), profiles).unwrap_or_else(|_| self.clone())
    }

    /// Routes one request.
    pub fn route(&self, state: &LiveState, req: &Request) -> Result<LendingString, RouteError> {
        let dir = &*self.directory;
        let borrower = dir
            .index(&req.borrower)
            .ok_or_else(|| RouteError::UnknownBorrower(req.borrower.clone()))?;
        if req.max_lenders == 0 || req.max_lenders > MAX_LENDERS {
            return Err(RouteError::BadMaxLenders(req.max_lenders));
        }
        if let Some(c) = req.max_cost
            && !(c.is_finite() && c >= 0.0)
        {
            return Err(RouteError::BadMaxCost(c));
        }
        let pname = req
            .profile
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or("default");
        let profile = self
            .profiles
            .get(pname)
            .ok_or_else(|| RouteError::UnknownProfile(pname.to_string()))?;
        let mut tried: Vec<(u32, Answer, i64)> = Vec::with_capacity(req.tried.len());
        for t in &req.tried {
            let i = dir
                .index(&t.lender)
                .ok_or_else(|| RouteError::UnknownTriedLender(t.lender.clone()))?;
            tried.push((i, t.answer, t.at.unwrap_or(req.now)));
        }

        let all = self
            .catalog
            .lookup(&req.citation, LookupOptions::default())?;
        let best = all.first().map_or(0.0, |m| m.confidence);
        let matches: Vec<Match> = all
            .into_iter()
            .filter(|m| m.confidence >= 0.5 && m.confidence >= best * 0.85)
            .take(3)
            .collect();

        // candidates: directory index -> (cluster, holding)
        let mut excluded: Vec<Excluded> = Vec::new();
        // (lender, cluster, holding), sorted by lender once built
        let mut cands: Vec<(u32, u32, Holding)> = Vec::new();
        let mut cand = RoaringBitmap::new();
        let mut buf = Vec::new();
        for m in &matches {
            buf.clear();
            self.catalog.holders_into(m.cluster, &mut buf);
            for h in &buf {
                let li = self
                    .lib_to_lender
                    .get(h.library as usize)
                    .copied()
                    .unwrap_or(NONE);
                if li == NONE {
                    let sym = &self.catalog.libraries()[h.library as usize].symbol;
                    if !excluded.iter().any(|e| &e.symbol == sym) {
                        excluded.push(Excluded {
                            symbol: sym.clone(),
                            reason: Exclusion::NotInDirectory,
                        });
                    }
                    continue;
                }
                cands.push((li, m.cluster, *h));
                cand.insert(li);
            }
        }
        // stable sort + dedup: the first (best) match wins for a lender holding several
        cands.sort_by_key(|c| c.0);
        cands.dedup_by_key(|c| c.0);
        let holding_of = |i: u32| -> (u32, Holding) {
            let k = cands.binary_search_by_key(&i, |c| c.0).unwrap_or(0);
            (cands[k].1, cands[k].2)
        };
        let sym = |i: u32| dir.get(i).symbol.clone();
        let drop_set = |cand: &mut RoaringBitmap,
                        gone: &RoaringBitmap,
                        why: Exclusion,
                        ex: &mut Vec<Excluded>| {
            let really = &*cand & gone;
            for i in &really {
                ex.push(Excluded {
                    symbol: sym(i),
                    reason: why,
                });
            }
            *cand -= really;
        };

        // set-algebra filters
        drop_set(
            &mut cand,
            &RoaringBitmap::from_iter([borrower]),
            Exclusion::Borrower,
            &mut excluded,
        );
        let not_lendable: RoaringBitmap = cands
            .iter()
            .filter(|c| !c.2.lendable)
            .map(|c| c.0)
            .collect();
        drop_set(
            &mut cand,
            &not_lendable,
            Exclusion::HoldingNotLendable,
            &mut excluded,
        );
        let mut final_t = RoaringBitmap::new();
        let mut retry_t = RoaringBitmap::new();
        let mut other_t = RoaringBitmap::new();
        for &(i, a, at) in &tried {
            match a {
                Answer::Unfilled(r) if r.is_final() => {
                    final_t.insert(i);
                }
                Answer::Unfilled(ReasonUnfilled::NotOnShelf) | Answer::Retry(_) => {
                    if at + RETRY_WINDOW_S > req.now {
                        retry_t.insert(i);
                    }
                }
                _ => {
                    other_t.insert(i);
                }
            }
        }
        drop_set(&mut cand, &final_t, Exclusion::TriedFinal, &mut excluded);
        drop_set(&mut cand, &retry_t, Exclusion::RetryWindow, &mut excluded);
        drop_set(&mut cand, &other_t, Exclusion::AlreadyTried, &mut excluded);
        let mut known_not_held = RoaringBitmap::new();
        let mut retry_state = RoaringBitmap::new();
        for i in &cand {
            let c = holding_of(i).0;
            if state.said_not_held(i, c) {
                known_not_held.insert(i);
            } else if state.retry_after(i, c).is_some_and(|t| t > req.now) {
                retry_state.insert(i);
            }
        }
        drop_set(
            &mut cand,
            &known_not_held,
            Exclusion::KnownNotHeld,
            &mut excluded,
        );
        drop_set(
            &mut cand,
            &retry_state,
            Exclusion::RetryWindow,
            &mut excluded,
        );
        drop_set(
            &mut cand,
            &self.not_lending,
            Exclusion::NotLending,
            &mut excluded,
        );
        let (mut susp, mut closed) = (RoaringBitmap::new(), RoaringBitmap::new());
        for i in &cand {
            match dir.unavailable(i, req.now) {
                Some(Unavailable::Suspended) => {
                    susp.insert(i);
                }
                Some(Unavailable::Closed) => {
                    closed.insert(i);
                }
                _ => {}
            }
        }
        drop_set(&mut cand, &susp, Exclusion::Suspended, &mut excluded);
        drop_set(&mut cand, &closed, Exclusion::Closed, &mut excluded);
        // service/format: a lender qualifies for CopyOrLoan if it offers either
        let fmt_of = |i: u32| req.format.unwrap_or(holding_of(i).1.format);
        let services: &[Service] = match req.service {
            ServiceType::Loan => &[Service::Loan],
            ServiceType::Copy => &[Service::Copy],
            ServiceType::CopyOrLoan => &[Service::Copy, Service::Loan],
        };
        let mut no_service = RoaringBitmap::new();
        for i in &cand {
            let f = fmt_of(i).index() as usize;
            if !services
                .iter()
                .any(|s| self.offers[s.index()][f].contains(i))
            {
                no_service.insert(i);
            }
        }
        drop_set(
            &mut cand,
            &no_service,
            Exclusion::ServiceNotOffered,
            &mut excluded,
        );
        let bgroups = &dir.get(borrower).groups;
        let bcountry = &dir.get(borrower).country;
        let cur = req.currency.as_deref().unwrap_or("USD");
        // (lender, service, charge), in ascending lender order as `cand` iterates
        let mut chosen: Vec<(u32, Service, f64)> = Vec::with_capacity(cand.len() as usize);
        let mut per_rule: [RoaringBitmap; 5] = Default::default();
        for i in &cand {
            let f = fmt_of(i);
            // prefer copy for serials under CopyOrLoan, else the order in `services`
            let mut order = services.to_vec();
            if req.service == ServiceType::CopyOrLoan && f != Format::Serial {
                order.reverse();
            }
            let mut outcome = Err(Exclusion::ServiceNotOffered);
            for s in order {
                let (charge, ccy) = match dir.offer(i, s, f, bgroups) {
                    OfferCheck::Free => (0.0, None),
                    OfferCheck::Offered(o) => o
                        .charge
                        .as_ref()
                        .map_or((0.0, None), |c| (c.amount, Some(c.currency.as_str()))),
                    OfferCheck::NotToGroup => {
                        if outcome == Err(Exclusion::ServiceNotOffered) {
                            outcome = Err(Exclusion::NotOfferedToGroup);
                        }
                        continue;
                    }
                    OfferCheck::NotOffered => continue,
                };
                if let Some(max) = req.max_cost {
                    if charge > 0.0 && ccy.is_some_and(|c| c != cur) {
                        outcome = Err(Exclusion::CurrencyMismatch);
                        continue;
                    }
                    if charge > max {
                        outcome = Err(Exclusion::CostExceedsMax);
                        continue;
                    }
                }
                outcome = Ok((s, charge));
                break;
            }
            let outcome = outcome.and_then(|(svc, charge)| {
                let l = dir.get(i);
                let foreign =
                    !bcountry.is_empty() && !l.country.is_empty() && &l.country != bcountry;
                if foreign && !l.ships_international {
                    Err(Exclusion::NoInternationalShipping)
                } else {
                    Ok((svc, charge))
                }
            });
            match outcome {
                Ok((svc, charge)) => chosen.push((i, svc, charge)),
                Err(e) => {
                    let k = match e {
                        Exclusion::NotOfferedToGroup => 0,
                        Exclusion::CurrencyMismatch => 1,
                        Exclusion::CostExceedsMax => 2,
                        Exclusion::NoInternationalShipping => 4,
                        _ => 3,
                    };
                    per_rule[k].insert(i);
                }
            }
        }
        let chosen_of = |i: u32| -> (Service, f64) {
            let k = chosen.binary_search_by_key(&i, |c| c.0).unwrap_or(0);
            (chosen[k].1, chosen[k].2)
        };
        for (k, why) in [
            (0, Exclusion::NotOfferedToGroup),
            (1, Exclusion::CurrencyMismatch),
            (2, Exclusion::CostExceedsMax),
            (3, Exclusion::ServiceNotOffered),
            (4, Exclusion::NoInternationalShipping),
        ] {
            let s = std::mem::take(&mut per_rule[k]);
            drop_set(&mut cand, &s, why, &mut excluded);
        }
        let mut daily = RoaringBitmap::new();
        for i in &cand {
            if let Some(cap) = dir.get(i).capacity.daily
                && state.view(i, chosen_of(i).0, req.now).sent_today >= cap
            {
                daily.insert(i);
            }
        }
        drop_set(
            &mut cand,
            &daily,
            Exclusion::DailyCapacityReached,
            &mut excluded,
        );

        // rank
        let seed = tie_seed(&req.request_id, req.now);
        let mut scored: Vec<Scored> = cand
            .iter()
            .map(|i| {
                let (svc, charge) = chosen_of(i);
                let (cluster, h) = holding_of(i);
                self.score(
                    state,
                    req,
                    profile,
                    borrower,
                    i,
                    svc,
                    charge,
                    cluster,
                    h,
                    seed,
                    Pass::Bound,
                )
            })
            .collect();
        let k = (req.max_lenders as usize).min(scored.len());
        let cmp = |a: &Scored, b: &Scored| b.score.total_cmp(&a.score).then(a.tie.cmp(&b.tie));
        let not_ranked = scored.len() - k;
        // Reciprocity needs a ledger lookup per candidate, the costliest part of scoring.
        // Its effect is bounded, so score without it first, keep only candidates whose best
        // possible score can still reach the k-th best worst possible score, and score those
        // exactly: the same top k, without the lookups for the rest.
        let rescore = |s: Scored, pass: Pass| {
            self.score(
                state, req, profile, borrower, s.lender, s.service, s.charge, s.cluster, s.holding,
                seed, pass,
            )
        };
        let w_r = match profile.mode {
            Mode::FastestFill => profile.adjustments.reciprocity,
            Mode::WeightedScore => profile.normalised_weights().reciprocity,
        };
        if w_r > 0.0 {
            let bounds = |x: f64| match profile.mode {
                Mode::FastestFill => (x * (-w_r).exp(), x * (1.5 * w_r).exp()),
                Mode::WeightedScore => (x, x + w_r),
            };
            if k > 0 && scored.len() > k {
                let mut lows: Vec<f64> = scored.iter().map(|s| bounds(s.score).0).collect();
                lows.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
                let kth = lows[k - 1];
                scored.retain(|s| bounds(s.score).1 >= kth);
            }
            scored = scored
                .into_iter()
                .map(|s| rescore(s, Pass::Exact))
                .collect();
        }
        if k < scored.len() {
            scored.select_nth_unstable_by(k, cmp);
            scored.truncate(k);
        }
        scored.sort_unstable_by(cmp);
        // explanations only for the lenders returned
        let scored: Vec<Scored> = scored
            .into_iter()
            .map(|s| rescore(s, Pass::Explain))
            .collect();

        let mut survive = 1.0;
        let mut expected = 0.0;
        let lenders: Vec<RankedLender> = scored
            .into_iter()
            .enumerate()
            .map(|(r, s)| {
                expected += survive * s.e;
                survive *= 1.0 - s.p;
                let l = dir.get(s.lender);
                let reason = explain(l, &s, self.catalog.as_ref(), profile.mode);
                RankedLender {
                    symbol: l.symbol.clone(),
                    rank: r as u32 + 1,
                    score: s.score,
                    p_fill: s.p,
                    expected_hours: s.e,
                    deliver_hours: s.d,
                    answer_hours: s.a,
                    service: s.service,
                    cluster: s.cluster,
                    factors: s.factors,
                    reason,
                }
            })
            .collect();
        Ok(LendingString {
            request_id: req.request_id.clone(),
            matches,
            lenders,
            excluded,
            not_ranked: not_ranked as u32,
            expected_hours_to_fill: expected,
            p_filled: 1.0 - survive,
            profile: profile.name.clone(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn score(
        &self,
        state: &LiveState,
        req: &Request,
        profile: &Profile,
        borrower: u32,
        i: u32,
        service: Service,
        charge: f64,
        cluster: u32,
        h: Holding,
        seed: u64,
        pass: Pass,
    ) -> Scored {
        let explain = pass == Pass::Explain;
        let dir = &*self.directory;
        let l = dir.get(i);
        let v: LenderView = state.view(i, service, req.now);
        let cap = f64::from(l.capacity.open_requests.unwrap_or(100));
        let rho = f64::from(v.open) / cap;
        // load lowers p (requests pile up and time out) and raises a (slower answers)
        let p = (v.p_fill / (1.0 + 0.5 * (rho - 0.8).max(0.0))).clamp(1e-3, 0.999);
        // Little's law: a new request waits behind the open ones, at the rate the lender
        // has recently been answering (learned, so it holds whatever capacity it declares)
        let queue_h = if v.rate_per_day >= 0.5 {
            24.0 * f64::from(v.open) / v.rate_per_day
        } else {
            0.0
        };
        let a = v.answer_hours * (1.0 + (rho - 0.5).max(0.0)) + queue_h;
        let km = dir.distance_km(i, borrower);
        // transit: a day per 800 km for physical loans, nothing for electronic copies
        let transit = if service == Service::Loan {
            km.map_or(24.0, |k| 24.0 * k / 800.0)
        } else {
            0.0
        };
        let d = v.deliver_hours + transit + queue_h;
        let a_eff = a;
        let e = p * d + (1.0 - p) * a_eff;
        let (imbalance, agreement) = if pass == Pass::Bound {
            (0.0, false)
        } else {
            let (lent, borrowed) = state.reciprocity(i, borrower, req.now);
            (
                (lent - borrowed) / (lent + borrowed + 2.0),
                dir.reciprocal(i, borrower),
            )
        };
        let cost_ref = req.max_cost.filter(|c| *c > 0.0).unwrap_or(20.0);
        let cost_rel = (charge / cost_ref).min(3.0);
        let daily_ref = f64::from(l.capacity.daily.unwrap_or(20));
        let busy = (f64::from(v.sent_today) / daily_ref).min(3.0);
        let tier = l.tier.preference();
        let late = req
            .need_before
            .is_some_and(|nb| req.now as f64 + d * 3600.0 > nb as f64);
        let mut factors = Facts {
            on: explain,
            v: if explain {
                Vec::with_capacity(10)
            } else {
                Vec::new()
            },
        };
        let score = match profile.mode {
            Mode::FastestFill => {
                let adj = profile.adjustments;
                let mut log_mult = 0.0;
                let mut push = |name: &'static str, value: f64, c: f64, f: &mut Facts| {
                    log_mult += c;
                    f.push(Factor {
                        name,
                        value,
                        contribution: c,
                    });
                };
                factors.push(Factor {
                    name: "p_fill",
                    value: p,
                    contribution: -(p.ln()),
                });
                factors.push(Factor {
                    name: "expected_hours",
                    value: e,
                    contribution: e.ln(),
                });
                factors.push(Factor {
                    name: "load",
                    value: rho,
                    contribution: 0.0,
                });
                factors.push(Factor {
                    name: "queue_hours",
                    value: queue_h,
                    contribution: 0.0,
                });
                let recip = adj.reciprocity * (imbalance - if agreement { 0.5 } else { 0.0 });
                push("reciprocity", imbalance, recip, &mut factors);
                push("cost", charge, adj.cost * cost_rel, &mut factors);
                push("fairness", busy, adj.fairness * busy, &mut factors);
                push("tier", tier, adj.tier * (1.0 - tier), &mut factors);
                if late {
                    push("misses_need_before", 1.0, 3.0, &mut factors);
                }
                if req.rush {
                    // rush: the key is dominated by delivery time; weigh it once more
                    push("rush", d, (d / 24.0).ln().max(0.0) * 0.5, &mut factors);
                }
                let key = (e / p) * log_mult.exp();
                1000.0 / key
            }
            Mode::WeightedScore => {
                let w = profile.normalised_weights();
                let turnaround_scale = if req.rush { 120.0 } else { 240.0 };
                let vals = [
                    (
                        "holdings",
                        0.5 + 0.5 * (f64::from(h.copies.max(1)).min(3.0) / 3.0),
                    ),
                    ("load", 1.0 - rho.min(1.0)),
                    (
                        "reciprocity",
                        if pass == Pass::Bound {
                            0.0
                        } else {
                            (0.5 - 0.5 * imbalance + if agreement { 0.25 } else { 0.0 })
                                .clamp(0.0, 1.0)
                        },
                    ),
                    ("tier", tier),
                    ("cost", 1.0 - (charge / cost_ref).min(1.0)),
                    ("distance", km.map_or(0.5, |k| 1.0 - (k / 2000.0).min(1.0))),
                    ("turnaround", 1.0 - (d / turnaround_scale).min(1.0)),
                    ("fill_rate", p),
                ];
                let mut s = 0.0;
                for ((name, val), (_, wt)) in vals.iter().zip(w.pairs()) {
                    s += wt * val;
                    factors.push(Factor {
                        name,
                        value: *val,
                        contribution: wt * val,
                    });
                }
                if late {
                    s -= 1.0;
                    factors.push(Factor {
                        name: "misses_need_before",
                        value: 1.0,
                        contribution: -1.0,
                    });
                }
                s
            }
        };
        Scored {
            lender: i,
            score,
            tie: mix(seed ^ u64::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            p,
            e,
            d,
            a: a_eff,
            service,
            cluster,
            factors: factors.v,
            charge,
            holding: h,
            open: v.open,
            evidence: v.evidence,
            copies: h.copies,
        }
    }

    /// Catalogue library id of a lender (or `None` when it holds nothing).
    pub fn library_of(&self, lender: u32) -> Option<u32> {
        self.lender_to_lib
            .get(lender as usize)
            .copied()
            .filter(|l| *l != NONE)
    }
}

struct Scored {
    lender: u32,
    score: f64,
    tie: u64,
    p: f64,
    e: f64,
    d: f64,
    a: f64,
    service: Service,
    cluster: u32,
    factors: Vec<Factor>,
    charge: f64,
    holding: Holding,
    open: u32,
    evidence: f64,
    copies: u8,
}

/// Which scoring pass: a bound without reciprocity, exact, or exact with explanations.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    Bound,
    Exact,
    Explain,
}

/// Factors collected only when explaining (the top `max_lenders`), so ranking the other
/// candidates allocates nothing.
struct Facts {
    on: bool,
    v: Vec<Factor>,
}

impl Facts {
    fn push(&mut self, f: Factor) {
        if self.on {
            self.v.push(f);
        }
    }
}

fn mix(mut x: u64) -> u64 {
    // splitmix64 finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The tie-rotation seed: from the request id (so equal lenders alternate between
/// requests) or, without one, from the time.
fn tie_seed(request_id: &str, now: i64) -> u64 {
    if request_id.is_empty() {
        return mix(now as u64);
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in request_id.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

fn explain(l: &crate::directory::Lender, s: &Scored, _cat: &Catalog, mode: Mode) -> String {
    let copies = if s.copies > 1 {
        format!("{} copies", s.copies)
    } else {
        "1 copy".into()
    };
    let history = if s.evidence < 0.5 {
        "no history yet, so the consortium prior".to_string()
    } else {
        format!("{:.0} recent answers", s.evidence)
    };
    let how = match mode {
        Mode::FastestFill => format!("expected {:.0} h at this lender", s.e),
        Mode::WeightedScore => format!("weighted score {:.3}", s.score),
    };
    format!(
        "{} holds it ({copies}); {} {:.0}% likely to fill ({history}); delivers in ~{:.0} h, says no in ~{:.0} h; {} open requests; {how}",
        if l.name.is_empty() {
            &l.symbol
        } else {
            &l.name
        },
        s.service.name(),
        s.p * 100.0,
        s.d,
        s.a,
        s.open
    )
}

/// Expected hours of a string in the given order: Σ_k (Π_{j<k} (1 − p_j)) · e_k.
pub fn expected_hours(order: &[(f64, f64)]) -> f64 {
    let mut survive = 1.0;
    let mut total = 0.0;
    for &(p, e) in order {
        total += survive * e;
        survive *= 1.0 - p;
    }
    total
}

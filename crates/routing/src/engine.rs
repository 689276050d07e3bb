//! The router: citation → candidates → hard filters → ranking → lending string.

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use compact_str::CompactString;
use rota_catalog::{Catalog, Citation, Format, Holding, LookupError, LookupOptions, Match};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

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

impl Request {
    /// A request with the defaults for everything but who, what and when: a loan, any
    /// format, no cost limit or deadline, nothing tried, five lenders, the default profile.
    pub fn new(borrower: impl Into<String>, citation: Citation, now: i64) -> Request {
        Request {
            request_id: String::new(),
            borrower: borrower.into(),
            citation,
            service: ServiceType::Loan,
            format: None,
            max_cost: None,
            currency: None,
            need_before: None,
            rush: false,
            tried: Vec::new(),
            max_lenders: default_max(),
            profile: None,
            now,
        }
    }
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

/// A ranked lender's factors, stored inline.
pub type Factors = SmallVec<[Factor; 10]>;

/// A library symbol as the engine returns it: inline up to 24 bytes, so copying one into
/// every answer allocates nothing.
pub type Symbol = CompactString;

/// A lender in the string.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RankedLender {
    /// Symbol.
    pub symbol: Symbol,
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
    /// Factors (at most ten, kept inline: a heap allocation per returned lender was a
    /// measurable share of a typical route).
    pub factors: Factors,
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
    pub symbol: Symbol,
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
    pub profile: Symbol,
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
    /// A cluster id beyond the catalogue.
    #[error("cluster: {0} is not in the catalogue")]
    UnknownCluster(u32),
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
    /// per directory index: the facts routing reads for every candidate
    hot: Arc<Vec<Hot>>,
    /// per directory index: the symbol, ready to copy into answers
    symbols: Arc<Vec<Symbol>>,
    /// per directory index: reciprocal partners (either direction), sorted
    partners: Arc<Vec<Vec<u32>>>,
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
        let mut countries = HashMap::default();
        let hot: Vec<Hot> = directory
            .lenders()
            .iter()
            .map(|l| Hot::of(l, &mut countries))
            .collect();
        let mut partners = vec![Vec::new(); directory.len()];
        for (i, l) in directory.lenders().iter().enumerate() {
            for sym in &l.reciprocal {
                if let Some(j) = directory.index(sym) {
                    partners[i].push(j);
                    partners[j as usize].push(i as u32);
                }
            }
        }
        for p in &mut partners {
            p.sort_unstable();
            p.dedup();
        }
        let symbols = directory
            .lenders()
            .iter()
            .map(|l| Symbol::from(l.symbol.as_str()))
            .collect();
        Ok(Engine {
            catalog,
            directory,
            profiles: Arc::new(map),
            lib_to_lender: Arc::new(lib_to_lender),
            lender_to_lib: Arc::new(lender_to_lib),
            hot: Arc::new(hot),
            symbols: Arc::new(symbols),
            partners: Arc::new(partners),
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
    ///
    /// One pass over the candidate holders decides each one's fate: the first rule that
    /// excludes it, in the documented order, or a first (bound) score. The per-lender
    /// facts the pass reads are packed into [`Hot`] at construction; facts kept in roaring
    /// sets (who said "not held", retry windows) are consulted per candidate only for the
    /// clusters whose set is not empty. Building a roaring bitmap per rule per request,
    /// which an earlier version did, cost more than the checks themselves.
    pub fn route(&self, state: &LiveState, req: &Request) -> Result<LendingString, RouteError> {
        self.route_with(state, req, None)
    }

    /// Routes a request for a known cluster, without a catalogue lookup (the citation is
    /// ignored): how the simulator's replay re-routes logged requests, which carry their
    /// cluster.
    pub fn route_cluster(
        &self,
        state: &LiveState,
        req: &Request,
        cluster: u32,
    ) -> Result<LendingString, RouteError> {
        if cluster >= self.catalog.clusters() {
            return Err(RouteError::UnknownCluster(cluster));
        }
        self.route_with(state, req, Some(cluster))
    }

    fn route_with(
        &self,
        state: &LiveState,
        req: &Request,
        cluster: Option<u32>,
    ) -> Result<LendingString, RouteError> {
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
        let mut tried: Vec<(u32, Exclusion)> = Vec::with_capacity(req.tried.len());
        for t in &req.tried {
            let i = dir
                .index(&t.lender)
                .ok_or_else(|| RouteError::UnknownTriedLender(t.lender.clone()))?;
            let at = t.at.unwrap_or(req.now);
            let why = match t.answer {
                Answer::Unfilled(r) if r.is_final() => Some(Exclusion::TriedFinal),
                Answer::Unfilled(ReasonUnfilled::NotOnShelf) | Answer::Retry(_) => {
                    (at + RETRY_WINDOW_S > req.now).then_some(Exclusion::RetryWindow)
                }
                _ => Some(Exclusion::AlreadyTried),
            };
            if let Some(w) = why {
                tried.push((i, w));
            }
        }
        // a lender tried twice: the strongest answer wins (final, then retry, then other)
        tried.sort_unstable_by_key(|t| (t.0, rule_rank(t.1)));
        tried.dedup_by_key(|t| t.0);

        let all = match cluster {
            Some(c) => vec![Match {
                cluster: c,
                method: rota_catalog::MatchMethod::Cluster,
                confidence: 1.0,
            }],
            None => self
                .catalog
                .lookup(&req.citation, LookupOptions::default())?,
        };
        let best = all.first().map_or(0.0, |m| m.confidence);
        let matches: Vec<Match> = all
            .into_iter()
            .filter(|m| m.confidence >= 0.5 && m.confidence >= best * 0.85)
            .take(3)
            .collect();

        let mut excluded: Vec<Excluded> = Vec::new();
        // (lender, match rank, cluster, holding)
        // per-request working vectors come from this thread's scratch and go back to it:
        // three allocations fewer per route, which a batch of a million notices
        let mut scratch = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
        let mut cands = std::mem::take(&mut scratch.cands);
        cands.clear();
        for (mi, m) in matches.iter().enumerate() {
            cands.reserve(self.catalog.holder_count(m.cluster));
            self.catalog.each_holder(m.cluster, |h| {
                let li = self
                    .lib_to_lender
                    .get(h.library as usize)
                    .copied()
                    .unwrap_or(NONE);
                if li == NONE {
                    let sym = &self.catalog.libraries()[h.library as usize].symbol;
                    if !excluded.iter().any(|e| e.symbol == *sym) {
                        excluded.push(Excluded {
                            symbol: Symbol::from(sym.as_str()),
                            reason: Exclusion::NotInDirectory,
                        });
                    }
                    return;
                }
                cands.push((li, mi as u8, m.cluster, h));
            });
        }
        // the best match wins for a lender holding several
        cands.sort_unstable_by_key(|c| (c.0, c.1));
        cands.dedup_by_key(|c| c.0);
        let (mut not_held_c, mut retry_c) = ([false; 3], [false; 3]);
        for (k, m) in matches.iter().enumerate() {
            not_held_c[k] = state.any_not_held(m.cluster);
            retry_c[k] = state.any_retry(m.cluster);
        }

        let services: &[Service] = match req.service {
            ServiceType::Loan => &[Service::Loan],
            ServiceType::Copy => &[Service::Copy],
            ServiceType::CopyOrLoan => &[Service::Copy, Service::Loan],
        };
        let ctx = Ctx::new(self, state, req, profile, borrower);
        if ctx.w_r > 0.0 {
            // start the ledger reads now, so their cache misses overlap the filtering and
            // scoring below instead of stalling the reciprocity pass after it
            state.touch_ledger(borrower, cands.iter().map(|c| c.0));
        }
        let bgroups = &dir.get(borrower).groups;
        let cur = req.currency.as_deref().unwrap_or("USD");
        let bcountry = self.hot[borrower as usize].country;
        let mut scored = std::mem::take(&mut scratch.scored);
        scored.clear();
        scored.reserve(cands.len());
        let mut ti = 0;
        for &(i, mi, cluster, h) in &cands {
            let hot = &self.hot[i as usize];
            while ti < tried.len() && tried[ti].0 < i {
                ti += 1;
            }
            let rule = if i == borrower {
                Some(Exclusion::Borrower)
            } else if !h.lendable() {
                Some(Exclusion::HoldingNotLendable)
            } else if ti < tried.len() && tried[ti].0 == i {
                Some(tried[ti].1)
            } else if not_held_c[mi as usize] && state.said_not_held(i, cluster) {
                Some(Exclusion::KnownNotHeld)
            } else if retry_c[mi as usize]
                && state.retry_after(i, cluster).is_some_and(|t| t > req.now)
            {
                Some(Exclusion::RetryWindow)
            } else if hot.not_lending {
                Some(Exclusion::NotLending)
            } else if hot.calendar {
                match dir.unavailable(i, req.now) {
                    Some(Unavailable::Suspended) => Some(Exclusion::Suspended),
                    Some(Unavailable::Closed) => Some(Exclusion::Closed),
                    Some(Unavailable::NotLending) => Some(Exclusion::NotLending),
                    None => None,
                }
            } else {
                None
            };
            let f = req.format.unwrap_or(h.format);
            let outcome = match rule {
                Some(r) => Err(r),
                None if !services.iter().any(|s| hot.offers & offer_bit(*s, f) != 0) => {
                    Err(Exclusion::ServiceNotOffered)
                }
                None => {
                    // prefer copy for serials under CopyOrLoan, else the order in `services`
                    let reverse = req.service == ServiceType::CopyOrLoan && f != Format::Serial;
                    let order = services.len();
                    let mut outcome = Err(Exclusion::ServiceNotOffered);
                    for k in 0..order {
                        let s = services[if reverse { order - 1 - k } else { k }];
                        let (charge, ccy) = if hot.free {
                            (0.0, None)
                        } else {
                            match dir.offer(i, s, f, bgroups) {
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
                            }
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
                    outcome.and_then(|ok| {
                        let foreign = bcountry != 0 && hot.country != 0 && hot.country != bcountry;
                        if foreign && !hot.ships_international {
                            Err(Exclusion::NoInternationalShipping)
                        } else if hot.daily > 0 && state.sent_today(i, req.now) >= hot.daily {
                            Err(Exclusion::DailyCapacityReached)
                        } else {
                            Ok(ok)
                        }
                    })
                }
            };
            match outcome {
                Ok((svc, charge)) => scored.push(ctx.bound(i, svc, charge, cluster, h)),
                Err(reason) => excluded.push(Excluded {
                    symbol: self.symbols[i as usize].clone(),
                    reason,
                }),
            }
        }

        // rank
        let k = (req.max_lenders as usize).min(scored.len());
        let cmp = |a: &Scored, b: &Scored| b.score.total_cmp(&a.score).then(a.tie.cmp(&b.tie));
        let not_ranked = scored.len() - k;
        // Reciprocity needs a ledger lookup per candidate, the costliest part of scoring.
        // Its effect is bounded, so score without it first, keep only candidates whose best
        // possible score can still reach the k-th best worst possible score, and add it to
        // those: the same top k, without the lookups for the rest.
        // Selection works on indices: a `Scored` is too big to move around.
        let mut order = std::mem::take(&mut scratch.order);
        order.clear();
        order.extend(0..scored.len() as u32);
        if ctx.w_r > 0.0 {
            if k > 0 && scored.len() > k {
                let lows = &mut scratch.lows;
                lows.clear();
                lows.extend(scored.iter().map(|s| ctx.bounds(s.score).0));
                lows.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
                let kth = lows[k - 1];
                order.retain(|&i| ctx.bounds(scored[i as usize].score).1 >= kth);
            }
            ctx.reciprocity_all(&mut scored, &order);
        }
        let cmp_i = |a: &u32, b: &u32| cmp(&scored[*a as usize], &scored[*b as usize]);
        if k < order.len() {
            order.select_nth_unstable_by(k, cmp_i);
            order.truncate(k);
        }
        order.sort_unstable_by(cmp_i);
        // for the explanation (when its weight is 0 the score does not move)
        ctx.reciprocity_all(&mut scored, &order);

        let mut survive = 1.0;
        let mut expected = 0.0;
        let lenders: Vec<RankedLender> = order
            .iter()
            .enumerate()
            .map(|(r, &i)| {
                let s = &scored[i as usize];
                expected += survive * s.e;
                survive *= 1.0 - s.p;
                let l = dir.get(s.lender);
                RankedLender {
                    symbol: self.symbols[s.lender as usize].clone(),
                    rank: r as u32 + 1,
                    score: s.score,
                    p_fill: s.p,
                    expected_hours: s.e,
                    deliver_hours: s.d,
                    answer_hours: s.a,
                    service: s.service,
                    cluster: s.cluster,
                    factors: ctx.factors(s),
                    reason: explain(l, s, profile.mode),
                }
            })
            .collect();
        // keep the vectors for this thread's next route, unless a huge one would pin memory
        if cands.capacity() <= 4096 {
            scratch.cands = cands;
            scratch.scored = scored;
            scratch.order = order;
            SCRATCH.with(|s| *s.borrow_mut() = scratch);
        }
        Ok(LendingString {
            request_id: req.request_id.clone(),
            matches,
            lenders,
            excluded,
            not_ranked: not_ranked as u32,
            expected_hours_to_fill: expected,
            p_filled: 1.0 - survive,
            profile: Symbol::from(profile.name.as_str()),
        })
    }

    /// Whether `a` and `b` have a reciprocal agreement (listed by either).
    pub fn reciprocal(&self, a: u32, b: u32) -> bool {
        self.partners
            .get(a as usize)
            .is_some_and(|p| p.binary_search(&b).is_ok())
    }

    /// Catalogue library id of a lender (or `None` when it holds nothing).
    pub fn library_of(&self, lender: u32) -> Option<u32> {
        self.lender_to_lib
            .get(lender as usize)
            .copied()
            .filter(|l| *l != NONE)
    }
}

/// Working vectors reused across routes on one thread.
#[derive(Default)]
struct Scratch {
    cands: Vec<(u32, u8, u32, Holding)>,
    scored: Vec<Scored>,
    order: Vec<u32>,
    lows: Vec<f64>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// The order in which the exclusion rules are applied (a lender tried twice keeps the
/// answer that excludes it first).
fn rule_rank(e: Exclusion) -> u8 {
    match e {
        Exclusion::TriedFinal => 0,
        Exclusion::RetryWindow => 1,
        _ => 2,
    }
}

fn offer_bit(s: Service, f: Format) -> u16 {
    1 << (s.index() * 8 + f.index() as usize)
}

/// What the hot path reads about a lender, packed: the directory's `Lender` is hundreds
/// of bytes of strings and lists, this is 40.
#[derive(Clone, Copy, Debug, Default)]
struct Hot {
    /// bit `service * 8 + format`: some offer covers it (ignoring groups)
    offers: u16,
    /// interned country, 0 = unknown
    country: u16,
    not_lending: bool,
    /// has a suspension or closed dates: the calendar must be checked
    calendar: bool,
    /// no offers listed: everything, free, to everyone
    free: bool,
    ships_international: bool,
    has_geo: bool,
    /// daily capacity, 0 = none
    daily: u32,
    open_cap: f32,
    daily_ref: f32,
    tier: f32,
    lat: f32,
    lon: f32,
    cos_lat: f32,
}

impl Hot {
    fn of(l: &crate::directory::Lender, countries: &mut HashMap<String, u16>) -> Hot {
        let mut offers = 0u16;
        for s in [Service::Loan, Service::Copy] {
            for f in Format::ALL {
                let covered = l.offers.is_empty()
                    || l.offers.iter().any(|o| {
                        o.service == s && (o.formats.is_empty() || o.formats.contains(&f))
                    });
                if covered {
                    offers |= offer_bit(s, f);
                }
            }
        }
        let country = if l.country.is_empty() {
            0
        } else {
            let n = countries.len() as u16 + 1;
            *countries.entry(l.country.clone()).or_insert(n)
        };
        let (has_geo, lat, lon) = match (l.latitude, l.longitude) {
            (Some(a), Some(o)) => (true, a.to_radians(), o.to_radians()),
            _ => (false, 0.0, 0.0),
        };
        Hot {
            offers,
            country,
            not_lending: !l.lending,
            calendar: l.suspended_from.is_some() || !l.closed.is_empty(),
            free: l.offers.is_empty(),
            ships_international: l.ships_international,
            has_geo,
            daily: l.capacity.daily.unwrap_or(0),
            open_cap: l.capacity.open_requests.unwrap_or(100) as f32,
            daily_ref: l.capacity.daily.unwrap_or(20) as f32,
            tier: l.tier.preference() as f32,
            lat: lat as f32,
            lon: lon as f32,
            cos_lat: lat.cos() as f32,
        }
    }

    /// Equirectangular distance in km, with the mean latitude's cosine taken as the mean of
    /// the two cosines (precomputed): within 1 % of the great circle at consortium
    /// distances, and no trigonometry per request.
    fn distance_km(&self, b: &Hot) -> Option<f64> {
        if !(self.has_geo && b.has_geo) {
            return None;
        }
        let mut dlon = (f64::from(b.lon) - f64::from(self.lon)).abs();
        if dlon > std::f64::consts::PI {
            dlon = 2.0 * std::f64::consts::PI - dlon;
        }
        let x = dlon * 0.5 * f64::from(self.cos_lat + b.cos_lat);
        let y = f64::from(b.lat) - f64::from(self.lat);
        Some(6371.0 * (x * x + y * y).sqrt())
    }
}

/// What scoring needs for one request, worked out once.
struct Ctx<'a> {
    engine: &'a Engine,
    state: &'a LiveState,
    req: &'a Request,
    profile: &'a Profile,
    borrower: u32,
    seed: u64,
    weights: crate::profile::Weights,
    /// reciprocity's weight (adjustment or normalised weight, by mode)
    w_r: f64,
    /// fastest fill: the most reciprocity can divide and multiply a score by
    recip_range: (f64, f64),
    cost_ref: f64,
}

impl<'a> Ctx<'a> {
    fn new(
        engine: &'a Engine,
        state: &'a LiveState,
        req: &'a Request,
        profile: &'a Profile,
        borrower: u32,
    ) -> Ctx<'a> {
        let weights = profile.normalised_weights();
        let r = profile.adjustments.reciprocity;
        Ctx {
            recip_range: ((-r).exp(), (1.5 * r).exp()),
            engine,
            state,
            req,
            profile,
            borrower,
            seed: tie_seed(&req.request_id, req.now),
            weights,
            w_r: match profile.mode {
                Mode::FastestFill => profile.adjustments.reciprocity,
                Mode::WeightedScore => weights.reciprocity,
            },
            cost_ref: req.max_cost.filter(|c| *c > 0.0).unwrap_or(20.0),
        }
    }

    /// The range a score can move to once reciprocity is known.
    fn bounds(&self, x: f64) -> (f64, f64) {
        match self.profile.mode {
            Mode::FastestFill => (x * self.recip_range.0, x * self.recip_range.1),
            Mode::WeightedScore => (x, x + self.w_r),
        }
    }

    /// Everything but reciprocity.
    fn bound(&self, i: u32, service: Service, charge: f64, cluster: u32, h: Holding) -> Scored {
        let req = self.req;
        let hot = &self.engine.hot[i as usize];
        let v: LenderView = self.state.view(i, service, req.now);
        let rho = f64::from(v.open) / f64::from(hot.open_cap);
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
        let km = hot.distance_km(&self.engine.hot[self.borrower as usize]);
        // transit: a day per 800 km for physical loans, nothing for electronic copies
        let transit = if service == Service::Loan {
            km.map_or(24.0, |k| 24.0 * k / 800.0)
        } else {
            0.0
        };
        let d = v.deliver_hours + transit + queue_h;
        let e = p * d + (1.0 - p) * a;
        let busy = (f64::from(v.sent_today) / f64::from(hot.daily_ref)).min(3.0);
        let tier = f64::from(hot.tier);
        let late = req
            .need_before
            .is_some_and(|nb| req.now as f64 + d * 3600.0 > nb as f64);
        let mut s = Scored {
            lender: i,
            score: 0.0,
            tie: mix(self.seed ^ u64::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            p,
            e,
            d,
            a,
            rho,
            queue_h,
            km,
            busy,
            tier,
            late,
            service,
            cluster,
            charge,
            holding: h,
            open: v.open,
            evidence: v.evidence,
            imbalance: 0.0,
            agreement: false,
            recip_known: false,
        };
        s.score = match self.profile.mode {
            Mode::FastestFill => {
                let log_mult: f64 = self.fastest_terms(&s).iter().map(|t| t.2).sum();
                1000.0 / ((e / p) * log_mult.exp())
            }
            Mode::WeightedScore => {
                let mut x: f64 = self
                    .weighted_terms(&s)
                    .iter()
                    .zip(self.weights.pairs())
                    .map(|((_, v), (_, w))| w * v)
                    .sum();
                if late {
                    x -= 1.0;
                }
                x
            }
        };
        s
    }

    /// Looks up reciprocity for the candidates at `which` that lack it, and folds it into
    /// their scores.
    fn reciprocity_all(&self, scored: &mut [Scored], which: &[u32]) {
        self.state.touch_ledger(
            self.borrower,
            which
                .iter()
                .map(|&i| &scored[i as usize])
                .filter(|s| !s.recip_known)
                .map(|s| s.lender),
        );
        for &i in which {
            let s = &mut scored[i as usize];
            if !s.recip_known {
                let lb = self
                    .state
                    .reciprocity(s.lender, self.borrower, self.req.now);
                self.reciprocity(s, lb);
            }
        }
    }

    /// Folds reciprocity (lent to and borrowed from the borrower) into a score.
    fn reciprocity(&self, s: &mut Scored, (lent, borrowed): (f64, f64)) {
        s.imbalance = (lent - borrowed) / (lent + borrowed + 2.0);
        s.agreement = self.engine.reciprocal(s.lender, self.borrower);
        s.recip_known = true;
        match self.profile.mode {
            Mode::FastestFill => s.score *= (-self.recip_fastest(s)).exp(),
            Mode::WeightedScore => s.score += self.w_r * recip_weighted(s),
        }
    }

    fn recip_fastest(&self, s: &Scored) -> f64 {
        self.profile.adjustments.reciprocity * (s.imbalance - if s.agreement { 0.5 } else { 0.0 })
    }

    /// Fastest-fill adjustments other than reciprocity: (name, value, log multiplier).
    fn fastest_terms(&self, s: &Scored) -> [(&'static str, f64, f64); 5] {
        let adj = self.profile.adjustments;
        let none = ("", 0.0, 0.0);
        [
            (
                "cost",
                s.charge,
                adj.cost * (s.charge / self.cost_ref).min(3.0),
            ),
            ("fairness", s.busy, adj.fairness * s.busy),
            ("tier", s.tier, adj.tier * (1.0 - s.tier)),
            if s.late {
                ("misses_need_before", 1.0, 3.0)
            } else {
                none
            },
            if self.req.rush {
                // rush: the key is dominated by delivery time; weigh it once more
                ("rush", s.d, (s.d / 24.0).ln().max(0.0) * 0.5)
            } else {
                none
            },
        ]
    }

    /// Weighted-score factor values, reciprocity as 0 until known.
    fn weighted_terms(&self, s: &Scored) -> [(&'static str, f64); 8] {
        let turnaround_scale = if self.req.rush { 120.0 } else { 240.0 };
        [
            (
                "holdings",
                0.5 + 0.5 * (f64::from(s.holding.copies.max(1)).min(3.0) / 3.0),
            ),
            ("load", 1.0 - s.rho.min(1.0)),
            (
                "reciprocity",
                if s.recip_known {
                    recip_weighted(s)
                } else {
                    0.0
                },
            ),
            ("tier", s.tier),
            ("cost", 1.0 - (s.charge / self.cost_ref).min(1.0)),
            (
                "distance",
                s.km.map_or(0.5, |k| 1.0 - (k / 2000.0).min(1.0)),
            ),
            ("turnaround", 1.0 - (s.d / turnaround_scale).min(1.0)),
            ("fill_rate", s.p),
        ]
    }

    /// Each factor's value and contribution, for the lenders returned.
    fn factors(&self, s: &Scored) -> Factors {
        let mut v = Factors::new();
        let f = |name, value, contribution| Factor {
            name,
            value,
            contribution,
        };
        match self.profile.mode {
            Mode::FastestFill => {
                v.push(f("p_fill", s.p, -(s.p.ln())));
                v.push(f("expected_hours", s.e, s.e.ln()));
                v.push(f("load", s.rho, 0.0));
                v.push(f("queue_hours", s.queue_h, 0.0));
                v.push(f("reciprocity", s.imbalance, self.recip_fastest(s)));
                for (name, value, c) in self.fastest_terms(s) {
                    if !name.is_empty() {
                        v.push(f(name, value, c));
                    }
                }
            }
            Mode::WeightedScore => {
                for ((name, value), (_, w)) in
                    self.weighted_terms(s).into_iter().zip(self.weights.pairs())
                {
                    v.push(f(name, value, w * value));
                }
                if s.late {
                    v.push(f("misses_need_before", 1.0, -1.0));
                }
            }
        }
        v
    }
}

fn recip_weighted(s: &Scored) -> f64 {
    (0.5 - 0.5 * s.imbalance + if s.agreement { 0.25 } else { 0.0 }).clamp(0.0, 1.0)
}

struct Scored {
    lender: u32,
    score: f64,
    tie: u64,
    p: f64,
    e: f64,
    d: f64,
    a: f64,
    rho: f64,
    queue_h: f64,
    km: Option<f64>,
    busy: f64,
    tier: f64,
    late: bool,
    service: Service,
    cluster: u32,
    charge: f64,
    holding: Holding,
    open: u32,
    evidence: f64,
    imbalance: f64,
    agreement: bool,
    recip_known: bool,
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

fn explain(l: &crate::directory::Lender, s: &Scored, mode: Mode) -> String {
    // Hand-rolled: `format!` with float arguments was a tenth of a typical route's time,
    // and these sentences are built for every lender returned.
    let mut out = String::with_capacity(192);
    let name = if l.name.is_empty() {
        &l.symbol
    } else {
        &l.name
    };
    out.push_str(name);
    out.push_str(" holds it (");
    let copies = s.holding.copies;
    if copies > 1 {
        push_int(&mut out, f64::from(copies));
        out.push_str(" copies");
    } else {
        out.push_str("1 copy");
    }
    out.push_str("); ");
    out.push_str(s.service.name());
    out.push(' ');
    push_int(&mut out, s.p * 100.0);
    out.push_str("% likely to fill (");
    if s.evidence < 0.5 {
        out.push_str("no history yet, so the consortium prior");
    } else {
        push_int(&mut out, s.evidence);
        out.push_str(" recent answers");
    }
    out.push_str("); delivers in ~");
    push_int(&mut out, s.d);
    out.push_str(" h, says no in ~");
    push_int(&mut out, s.a);
    out.push_str(" h; ");
    push_int(&mut out, f64::from(s.open));
    out.push_str(" open requests; ");
    match mode {
        Mode::FastestFill => {
            out.push_str("expected ");
            push_int(&mut out, s.e);
            out.push_str(" h at this lender");
        }
        Mode::WeightedScore => {
            use std::fmt::Write as _;
            let _ = write!(out, "weighted score {:.3}", s.score);
        }
    }
    out
}

/// Appends `x` rounded to the nearest integer (halves away from zero, as `f64::round`,
/// without its libm call).
fn push_int(out: &mut String, x: f64) {
    if !x.is_finite() {
        out.push('?');
        return;
    }
    let mut n = (x.abs() + 0.5).min(1e18) as u64;
    if x < 0.0 && n > 0 {
        out.push('-');
    }
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &b in &buf[at..] {
        out.push(char::from(b));
    }
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

#[cfg(test)]
mod tests {
    use super::push_int;

    #[test]
    fn integers_are_written_rounded() {
        for (x, want) in [
            (0.0, "0"),
            (0.49, "0"),
            (0.5, "1"),
            (7.0, "7"),
            (96.4, "96"),
            (1234567.6, "1234568"),
            (-3.6, "-4"),
            (f64::NAN, "?"),
        ] {
            let mut s = String::from("x");
            push_int(&mut s, x);
            assert_eq!(s, format!("x{want}"), "{x}");
        }
    }
}

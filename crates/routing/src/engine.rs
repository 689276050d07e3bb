//! The router: citation → match → candidates → hard rules → ranking → lending string.

use std::sync::Arc;

use rota_catalog::{Catalog, ClusterId, Format, LibraryId, LookupOptions, Match, MatchStatus};
use rustc_hash::FxHashMap as HashMap;

use crate::answer::{
    Excluded, Exclusion, LendingString, LocalHolding, RankedLender, RouteStatus, Symbol,
};
use crate::coverage::Judgement;
use crate::directory::{Directory, LenderId, Service};
use crate::explain::explain;
use crate::filter::{Asked, Candidate, Hot, rule_rank};
use crate::profile::Profile;
use crate::request::{Request, RouteError};
use crate::score::{Ctx, Scored};
use crate::state::{Answer, LiveState, RETRY_WINDOW_S, ReasonUnfilled};

/// The engine: an immutable catalogue and directory plus profiles. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    catalog: Arc<Catalog>,
    directory: Arc<Directory>,
    profiles: Arc<HashMap<String, Profile>>,
    /// catalogue library id → lender (`None`: a holder the directory does not list)
    lib_to_lender: Arc<Vec<Option<LenderId>>>,
    /// lender → catalogue library id (`None`: a lender that holds nothing)
    lender_to_lib: Arc<Vec<Option<LibraryId>>>,
    /// per directory index: the facts routing reads for every candidate
    pub(crate) hot: Arc<Vec<Hot>>,
    /// per directory index: the symbol, ready to copy into answers
    symbols: Arc<Vec<Symbol>>,
    /// per directory index: reciprocal partners (either direction), sorted
    partners: Arc<Vec<Vec<LenderId>>>,
}

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
        Ok(Engine::build(catalog, directory, Arc::new(map)))
    }

    /// The engine over validated profiles.
    fn build(
        catalog: Arc<Catalog>,
        directory: Arc<Directory>,
        profiles: Arc<HashMap<String, Profile>>,
    ) -> Engine {
        let mut lib_to_lender = vec![None; catalog.libraries().len()];
        let mut lender_to_lib = vec![None; directory.len()];
        for (lib, l) in catalog.libraries().iter().enumerate() {
            if let Some(i) = directory.index(&l.symbol) {
                lib_to_lender[lib] = Some(i);
                lender_to_lib[i.index()] = Some(LibraryId::new(lib as u32));
            }
        }
        let mut countries = HashMap::default();
        let hot: Vec<Hot> = directory
            .lenders()
            .iter()
            .map(|l| Hot::of(l, &mut countries))
            .collect();
        let mut partners = vec![Vec::new(); directory.len()];
        for (i, l) in directory.ids().zip(directory.lenders()) {
            for sym in &l.reciprocal {
                if let Some(j) = directory.index(sym) {
                    partners[i.index()].push(j);
                    partners[j.index()].push(i);
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
        Engine {
            catalog,
            directory,
            profiles,
            lib_to_lender: Arc::new(lib_to_lender),
            lender_to_lib: Arc::new(lender_to_lib),
            hot: Arc::new(hot),
            symbols: Arc::new(symbols),
            partners: Arc::new(partners),
        }
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

    /// The same engine over another catalogue (after a reload or a holdings delta); its
    /// profiles were validated when it was built.
    pub fn with_catalog(&self, catalog: Arc<Catalog>) -> Engine {
        Engine::build(catalog, self.directory.clone(), self.profiles.clone())
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
        cluster: ClusterId,
    ) -> Result<LendingString, RouteError> {
        if cluster.get() >= self.catalog.clusters() {
            return Err(RouteError::UnknownCluster(cluster));
        }
        self.route_with(state, req, Some(cluster))
    }

    fn route_with(
        &self,
        state: &LiveState,
        req: &Request,
        cluster: Option<ClusterId>,
    ) -> Result<LendingString, RouteError> {
        req.validate()?;
        let dir = &*self.directory;
        let borrower = dir
            .index(&req.borrower)
            .ok_or_else(|| RouteError::UnknownBorrower(req.borrower.clone()))?;
        let pname = req
            .profile
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or("default");
        let profile = self
            .profiles
            .get(pname)
            .ok_or_else(|| RouteError::UnknownProfile(pname.to_string()))?;
        let tried = self.tried(req)?;

        let (status, matches, ambiguous, candidates) = match cluster {
            Some(c) => (
                MatchStatus::Matched,
                vec![Match {
                    cluster: c,
                    method: rota_catalog::MatchMethod::Cluster,
                    confidence: 1.0,
                }],
                false,
                Vec::new(),
            ),
            None => {
                let r = self.catalog.resolve(
                    &req.citation,
                    LookupOptions {
                        min_confidence: req
                            .min_confidence
                            .unwrap_or(rota_catalog::lookup::DEFAULT_MIN_CONFIDENCE),
                        require_identifier: req.require_identifier,
                        ..LookupOptions::default()
                    },
                )?;
                (r.status, r.matches, r.ambiguous, r.candidates)
            }
        };
        let mut out = LendingString {
            request_id: req.request_id.clone(),
            status: match status {
                MatchStatus::Matched => RouteStatus::Routed,
                MatchStatus::Ambiguous => RouteStatus::Ambiguous,
                MatchStatus::NoConfidentMatch => RouteStatus::NoConfidentMatch,
                MatchStatus::NotFound => RouteStatus::NotFound,
            },
            matches,
            ambiguous,
            candidates,
            local: Vec::new(),
            lenders: Vec::new(),
            excluded: Vec::new(),
            not_ranked: 0,
            expected_hours_to_fill: 0.0,
            p_filled: 0.0,
            profile: Symbol::from(profile.name.as_str()),
        };
        if out.status != RouteStatus::Routed {
            return Ok(out);
        }

        // per-request working vectors come from this thread's scratch and go back to it:
        // three allocations fewer per route, which a batch of a million notices
        let mut scratch = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
        let mut cands = std::mem::take(&mut scratch.cands);
        cands.clear();
        for (mi, m) in out.matches.iter().enumerate() {
            cands.reserve(self.catalog.holder_count(m.cluster));
            self.catalog.each_holder(m.cluster, |h| {
                let lender = self.lib_to_lender.get(h.library.index()).copied().flatten();
                let Some(li) = lender else {
                    let sym = &self.catalog.library(h.library).symbol;
                    if !out.excluded.iter().any(|e| e.symbol == *sym) {
                        out.excluded.push(Excluded {
                            symbol: Symbol::from(sym.as_str()),
                            reason: Exclusion::NotInDirectory,
                            detail: None,
                        });
                    }
                    return;
                };
                cands.push(Candidate {
                    lender: li,
                    rank: mi as u8,
                    cluster: m.cluster,
                    holding: h,
                });
            });
        }
        // the best match wins for a lender holding several
        cands.sort_unstable_by_key(|c| (c.lender, c.rank));
        cands.dedup_by_key(|c| c.lender);

        let coverage =
            crate::coverage::Check::new(&self.catalog, req.citation.cited(), req.now, &out.matches);
        // the borrower's own institution holds it (the cited volume and year, for an
        // article): say so before asking anyone else
        let bgroups = &dir.get(borrower).groups;
        let asked = Asked {
            borrower,
            country: self.hot[borrower.index()].country,
            groups: bgroups,
            service: req.service(),
            format: req.format,
            max_cost: req.max_cost,
            currency: req.currency.as_deref().unwrap_or("USD"),
            now: req.now,
            shelf: req
                .availability
                .iter()
                .filter_map(|a| dir.index(&a.lender).map(|l| (l, a.shelf)))
                .collect(),
        };
        for c in cands
            .iter()
            .filter(|c| c.lender == borrower || dir.same_institution(c.lender, borrower))
        {
            let f = req.format.unwrap_or(c.holding.format);
            let usable = req.service().services(f).iter().any(|s| match s {
                Service::Loan => c.holding.lending.loan && c.holding.format != Format::Electronic,
                Service::Copy => c.holding.lending.copy,
            });
            let covered = || {
                !matches!(
                    coverage
                        .as_ref()
                        .map(|k| k.judge(usize::from(c.rank), c.holding.library)),
                    Some(Judgement::Exclude(..))
                )
            };
            if usable && covered() {
                out.local.push(LocalHolding {
                    symbol: self.symbols[c.lender.index()].clone(),
                    cluster: c.cluster,
                    copies: c.holding.copies,
                    lending: c.holding.lending,
                });
            }
        }
        if !out.local.is_empty() && !req.route_anyway {
            out.status = RouteStatus::HeldLocally;
            scratch.cands = cands;
            SCRATCH.with(|s| *s.borrow_mut() = scratch);
            return Ok(out);
        }

        let (mut not_held_c, mut retry_c) = ([false; 256], [false; 256]);
        for (k, m) in out.matches.iter().enumerate().take(256) {
            not_held_c[k] = state.any_not_held(m.cluster);
            retry_c[k] = state.any_retry(m.cluster);
        }
        let ctx = Ctx::new(self, state, req, profile, borrower);
        if ctx.w_r > 0.0 {
            // start the ledger reads now, so their cache misses overlap the filtering and
            // scoring below instead of stalling the reciprocity pass after it
            state.touch_ledger(borrower, cands.iter().map(|c| c.lender));
        }
        let mut scored = std::mem::take(&mut scratch.scored);
        scored.clear();
        scored.reserve(cands.len());
        let mut ti = 0;
        for c in &cands {
            while ti < tried.len() && tried[ti].0 < c.lender {
                ti += 1;
            }
            let t = (ti < tried.len() && tried[ti].0 == c.lender).then(|| tried[ti].1);
            let r = usize::from(c.rank);
            let judged = match self.fate(state, &asked, c, t, not_held_c[r], retry_c[r]) {
                Ok(ok) => match coverage.as_ref().map(|k| k.judge(r, c.holding.library)) {
                    Some(Judgement::Exclude(reason, detail)) => Err((reason, Some(detail))),
                    j => Ok((ok, j == Some(Judgement::Unknown))),
                },
                Err(reason) => Err((reason, None)),
            };
            match judged {
                Ok(((svc, charge), unknown)) => {
                    let mut s = ctx.bound(c.lender, svc, charge, c.cluster, c.holding);
                    s.coverage_unknown = unknown;
                    scored.push(s)
                }
                Err((reason, detail)) => out.excluded.push(Excluded {
                    symbol: self.symbols[c.lender.index()].clone(),
                    reason,
                    detail,
                }),
            }
        }

        // rank
        let k = (req.max_lenders as usize).min(scored.len());
        // holders whose coverage could not be checked come after every other
        let cmp = |a: &Scored, b: &Scored| {
            (a.coverage_unknown.cmp(&b.coverage_unknown))
                .then(b.score.total_cmp(&a.score))
                .then(a.tie.cmp(&b.tie))
        };
        out.not_ranked = (scored.len() - k) as u32;
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
                // the k-th place falls among the covering holders, or among the rest
                // after all of them: prune within that group, keep the group before it
                let front = scored.iter().filter(|s| !s.coverage_unknown).count();
                let (group_unknown, kk) = if front >= k {
                    (false, k)
                } else {
                    (true, k - front)
                };
                let lows = &mut scratch.lows;
                lows.clear();
                lows.extend(
                    scored
                        .iter()
                        .filter(|s| s.coverage_unknown == group_unknown)
                        .map(|s| ctx.bounds(s.score).0),
                );
                lows.select_nth_unstable_by(kk - 1, |a, b| b.total_cmp(a));
                let kth = lows[kk - 1];
                order.retain(|&i| {
                    let s = &scored[i as usize];
                    if s.coverage_unknown != group_unknown {
                        // the group before the k-th place stays whole, the one after goes
                        return !s.coverage_unknown;
                    }
                    ctx.bounds(s.score).1 >= kth
                });
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
        out.lenders = order
            .iter()
            .enumerate()
            .map(|(r, &i)| {
                let s = &scored[i as usize];
                expected += survive * s.e;
                survive *= 1.0 - s.p;
                let l = dir.get(s.lender);
                RankedLender {
                    symbol: self.symbols[s.lender.index()].clone(),
                    rank: r as u32 + 1,
                    score: s.score,
                    p_fill: s.p,
                    expected_hours: s.e,
                    deliver_hours: s.d,
                    answer_hours: s.a,
                    service: s.service,
                    cluster: s.cluster,
                    factors: ctx.factors(s),
                    reason: match coverage.as_ref().and_then(|k| {
                        k.note(
                            out.matches
                                .iter()
                                .position(|m| m.cluster == s.cluster)
                                .unwrap_or(0),
                            s.holding.library,
                        )
                    }) {
                        Some(note) => format!("{}; {note}", explain(l, s, profile.mode)),
                        None => explain(l, s, profile.mode),
                    },
                }
            })
            .collect();
        out.expected_hours_to_fill = expected;
        out.p_filled = 1.0 - survive;
        // keep the vectors for this thread's next route, unless a huge one would pin memory
        if cands.capacity() <= 4096 {
            scratch.cands = cands;
            scratch.scored = scored;
            scratch.order = order;
            SCRATCH.with(|s| *s.borrow_mut() = scratch);
        }
        Ok(out)
    }

    /// The lenders tried for this request, sorted, each with the rule its answer invokes
    /// (a lender tried twice keeps its strongest answer: final, then retry, then other).
    fn tried(&self, req: &Request) -> Result<Vec<(LenderId, Exclusion)>, RouteError> {
        let mut tried: Vec<(LenderId, Exclusion)> = Vec::with_capacity(req.tried.len());
        for t in &req.tried {
            let i = self
                .directory
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
        tried.sort_unstable_by_key(|t| (t.0, rule_rank(t.1)));
        tried.dedup_by_key(|t| t.0);
        Ok(tried)
    }

    /// Whether `a` and `b` have a reciprocal agreement (listed by either).
    pub fn reciprocal(&self, a: LenderId, b: LenderId) -> bool {
        self.partners
            .get(a.index())
            .is_some_and(|p| p.binary_search(&b).is_ok())
    }

    /// Catalogue library id of a lender (or `None` when it holds nothing).
    pub fn library_of(&self, lender: LenderId) -> Option<LibraryId> {
        self.lender_to_lib.get(lender.index()).copied().flatten()
    }
}

/// Working vectors reused across routes on one thread.
#[derive(Default)]
struct Scratch {
    cands: Vec<Candidate>,
    scored: Vec<Scored>,
    order: Vec<u32>,
    lows: Vec<f64>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

//! Ranking: each candidate's expected time to fill (fastest fill) or weighted score,
//! and the factors reported with it.

use rota_catalog::{ClusterId, Holding};

use crate::answer::{Factor, Factors};
use crate::directory::{LenderId, Service};
use crate::engine::Engine;
use crate::profile::{Mode, Profile};
use crate::request::Request;
use crate::state::{LenderView, LiveState};

/// What scoring needs for one request, worked out once.
pub(crate) struct Ctx<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) state: &'a LiveState,
    pub(crate) req: &'a Request,
    pub(crate) profile: &'a Profile,
    pub(crate) borrower: LenderId,
    pub(crate) seed: u64,
    pub(crate) weights: crate::profile::Weights,
    /// reciprocity's weight (adjustment or normalised weight, by mode)
    pub(crate) w_r: f64,
    /// fastest fill: the most reciprocity can divide and multiply a score by
    pub(crate) recip_range: (f64, f64),
    pub(crate) cost_ref: f64,
    /// Lenders whose catalogue said a copy is on the shelf now (live availability).
    pub(crate) on_shelf: Vec<LenderId>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        engine: &'a Engine,
        state: &'a LiveState,
        req: &'a Request,
        profile: &'a Profile,
        borrower: LenderId,
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
            // the last answer listed for a lender is the one that stands
            on_shelf: req
                .availability
                .iter()
                .enumerate()
                .filter(|(k, a)| {
                    a.shelf == crate::request::Shelf::OnShelf
                        && !req.availability[k + 1..]
                            .iter()
                            .any(|b| b.lender == a.lender)
                })
                .filter_map(|(_, a)| engine.directory().index(&a.lender))
                .collect(),
        }
    }

    /// The range a score can move to once reciprocity is known.
    pub(crate) fn bounds(&self, x: f64) -> (f64, f64) {
        match self.profile.mode {
            Mode::FastestFill => (x * self.recip_range.0, x * self.recip_range.1),
            Mode::WeightedScore => (x, x + self.w_r),
        }
    }

    /// Everything but reciprocity.
    pub(crate) fn bound(
        &self,
        i: LenderId,
        service: Service,
        charge: f64,
        cluster: ClusterId,
        h: Holding,
    ) -> Scored {
        let req = self.req;
        let hot = &self.engine.hot[i.index()];
        let v: LenderView = self.state.view(i, service, req.now);
        let rho = f64::from(v.open) / f64::from(hot.open_cap);
        // load lowers p and slows answers and shipping, by as much as the events show it
        // does across lenders (`crate::load`)
        let (dp, slow) = self.state.load_effect(rho);
        // known to be on the shelf: the answers that it was not there do not apply
        let on_shelf = self.on_shelf.contains(&i);
        let base = if on_shelf { v.p_on_shelf } else { v.p_fill };
        let p = (base + dp).clamp(1e-3, 0.999);
        // Little's law: a new request waits behind the open ones, at the rate the lender
        // has recently been answering (learned, so it holds whatever capacity it declares)
        let queue_h = if v.rate_per_day >= 0.5 {
            24.0 * f64::from(v.open) / v.rate_per_day
        } else {
            0.0
        };
        // a request that fails either gets a "no" or waits out the borrower's timeout: the
        // dead time, learned as its own share and length (Expired events)
        let dead = (v.dead_share / (1.0 - p)).clamp(0.0, 1.0);
        let a = (1.0 - dead) * v.answer_hours * slow + dead * v.dead_hours + queue_h;
        let km = hot.distance_km(&self.engine.hot[self.borrower.index()]);
        // transit for physical loans, the lender's learned multiple of the distance's
        // prior (Loaned to Received); nothing for electronic copies
        let transit = if service == Service::Loan {
            crate::lent::transit_prior_hours(km) * v.transit_ratio
        } else {
            0.0
        };
        let d = v.deliver_hours * slow + transit + queue_h;
        let e = p * d + (1.0 - p) * a;
        let busy = (f64::from(v.sent_today) / f64::from(hot.daily_ref)).min(3.0);
        let tier = f64::from(hot.tier);
        let late = req
            .need_before
            .is_some_and(|nb| req.now as f64 + d * 3600.0 > nb as f64);
        let mut s = Scored {
            lender: i,
            score: 0.0,
            tie: mix(self.seed ^ u64::from(i.get()).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
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
            coverage_unknown: false,
            on_shelf,
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
    pub(crate) fn reciprocity_all(&self, scored: &mut [Scored], which: &[u32]) {
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
    pub(crate) fn factors(&self, s: &Scored) -> Factors {
        let mut v = Factors::new();
        let f = |name, value, contribution| Factor {
            name,
            value,
            contribution,
        };
        match self.profile.mode {
            Mode::FastestFill => {
                v.push(f("p_fill", s.p, -(s.p.ln())));
                if s.on_shelf {
                    v.push(f("on_shelf", 1.0, 0.0));
                }
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

pub(crate) fn recip_weighted(s: &Scored) -> f64 {
    (0.5 - 0.5 * s.imbalance + if s.agreement { 0.25 } else { 0.0 }).clamp(0.0, 1.0)
}

pub(crate) struct Scored {
    pub(crate) lender: LenderId,
    pub(crate) score: f64,
    pub(crate) tie: u64,
    pub(crate) p: f64,
    pub(crate) e: f64,
    pub(crate) d: f64,
    pub(crate) a: f64,
    pub(crate) rho: f64,
    pub(crate) queue_h: f64,
    pub(crate) km: Option<f64>,
    pub(crate) busy: f64,
    pub(crate) tier: f64,
    pub(crate) late: bool,
    pub(crate) service: Service,
    pub(crate) cluster: ClusterId,
    pub(crate) charge: f64,
    pub(crate) holding: Holding,
    pub(crate) open: u32,
    pub(crate) evidence: f64,
    pub(crate) imbalance: f64,
    pub(crate) agreement: bool,
    pub(crate) recip_known: bool,
    /// Its serial coverage could not be checked against the citation: ranked after
    /// every holder that covers it.
    pub(crate) coverage_unknown: bool,
    /// Its catalogue said a copy is on the shelf now.
    pub(crate) on_shelf: bool,
}

pub(crate) fn mix(mut x: u64) -> u64 {
    // splitmix64 finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The tie-rotation seed: from the request id (so equal lenders alternate between
/// requests) or, without one, from the time.
pub(crate) fn tie_seed(request_id: &str, now: i64) -> u64 {
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

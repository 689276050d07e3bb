//! The strategies compared: baselines (static order, random within tier, ReShare's
//! ratio), rota's profiles, the oracle that reads lenders' truth and the outcome oracle
//! that reads the world's draws.

use rota_catalog::{Citation, Format, generate};
use rota_routing::{
    Availability, Engine, LenderId, LiveState, Profile, Request, ServiceType, Tried,
};

use crate::draw::{Fate, Floor, draw, h64, lookup, stale};
use crate::{H, ServiceKind, SimError, SimRequest, World};

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
    /// Knows the outcomes: which holder would fill this request now and when it would
    /// arrive (the world's own draws), and asks the soonest first. No strategy can do
    /// better on a request; it bounds what routing can gain.
    OutcomeOracle,
}

/// The strategy a request without a profile gets in production (the engine's default
/// profile), marked `"default": true` in the report.
pub const DEFAULT_STRATEGY: &str = "rota_fastest_fill";

/// The outcome oracle's name: always in the report.
pub const OUTCOME_ORACLE: &str = "outcome_oracle";

impl Strategy {
    /// Parses a strategy name (profiles from `profile:FILE`).
    pub fn parse(s: &str) -> Result<Strategy, SimError> {
        Ok(match s {
            "static" => Strategy::Static,
            "random_tier" => Strategy::RandomTier,
            "reshare" => Strategy::ReShare,
            "oracle" => Strategy::Oracle,
            OUTCOME_ORACLE => Strategy::OutcomeOracle,
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

/// What a learned strategy may see of a request: what a borrowing system sends rota.
/// It is built from the request and the run's events alone, and [`rota_string`] takes
/// nothing else, so the world's truth cannot reach it.
pub(crate) fn rota_request(
    w: &World,
    profile: &str,
    r: &SimRequest,
    tried: &[Tried],
    now: i64,
    availability: Vec<Availability>,
) -> Request {
    let s = &w.scenario;
    Request {
        request_id: format!("sim-{}-{}", r.id, tried.len()),
        format: Some(match s.service {
            ServiceKind::Loan => Format::Book,
            ServiceKind::Copy => Format::Serial,
        }),
        service: Some(match s.service {
            ServiceKind::Loan => ServiceType::Loan,
            ServiceKind::Copy => ServiceType::Copy,
        }),
        tried: tried.to_vec(),
        max_lenders: s.max_lenders,
        profile: Some(profile.to_string()),
        // the simulated borrower asks because it cannot supply the item itself
        route_anyway: true,
        availability,
        ..Request::new(
            w.directory.get(r.borrower).symbol.clone(),
            Citation {
                isbn: Some(generate::isbn_of(r.record)),
                date: r.year.map(|y| y.to_string()),
                ..Citation::default()
            },
            now,
        )
    }
}

/// A learned strategy's string: the engine, its live state (learned from events) and
/// the request, nothing more.
pub(crate) fn rota_string(engine: &Engine, state: &LiveState, req: &Request) -> Vec<LenderId> {
    let dir = engine.directory();
    engine
        .route(state, req)
        .map(|ls| {
            ls.lenders
                .iter()
                .filter_map(|l| dir.index(&l.symbol))
                .collect()
        })
        .unwrap_or_default()
}

/// Live availability of the request's item at its holders whose catalogues answer
/// lookups (at most as many as a request carries).
pub(crate) fn availability(
    w: &World,
    engine: &Engine,
    floor: &Floor,
    r: &SimRequest,
    now: i64,
) -> Vec<Availability> {
    if w.scenario.lenders.availability <= 0.0 {
        return Vec::new();
    }
    let Some(cluster) = w.cluster(r.record) else {
        return Vec::new();
    };
    let dir = engine.directory();
    engine
        .catalog()
        .holders(cluster)
        .iter()
        .filter_map(|h| dir.index(&engine.catalog().library(h.library).symbol))
        .filter(|l| *l != r.borrower)
        .filter_map(|l| {
            lookup(w, floor, r.record, l, now).map(|shelf| Availability {
                lender: dir.get(l).symbol.clone(),
                shelf,
            })
        })
        .take(rota_routing::request::MAX_TRIED)
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn string_for(
    w: &World,
    engine: &Engine,
    state: &LiveState,
    strategy: &Strategy,
    r: &SimRequest,
    tried: &[Tried],
    now: i64,
    floor: &Floor,
    active_loans: &[i64],
    active_borrows: &[i64],
    lender_of_lib: &[Option<LenderId>],
) -> Vec<LenderId> {
    if let Strategy::Rota(p) = strategy {
        let availability = availability(w, engine, floor, r, now);
        return rota_string(
            engine,
            state,
            &rota_request(w, &p.name, r, tried, now, availability),
        );
    }
    let s = &w.scenario;
    let dir = engine.directory();
    let Some(cluster) = w.cluster(r.record) else {
        return Vec::new();
    };
    let tried_set: Vec<LenderId> = tried.iter().filter_map(|t| dir.index(&t.lender)).collect();
    // every strategy skips what the directory says: lenders closed now
    let mut holders: Vec<LenderId> = engine
        .catalog()
        .holders(cluster)
        .iter()
        .filter(|h| h.lendable())
        .filter_map(|h| lender_of_lib.get(h.library.index()).copied().flatten())
        .filter(|l| *l != r.borrower && !tried_set.contains(l))
        .filter(|l| dir.unavailable(*l, now).is_none())
        // and what the catalogue says: a journal run that does not reach the cited year
        .filter(|l| {
            r.year.is_none_or(|y| {
                crate::serials::stated_run(s.seed, r.record, l.get())
                    .is_none_or(|(a, b)| a <= y && b.is_none_or(|b| y <= b))
            })
        })
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
            holders.retain(|l| !stale(w, *l, r.record));
            // the truth, including how the lender's current load will slow it down
            let key = |l: LenderId| {
                let t = &w.truth[l.index()];
                let overload =
                    ((floor.per_day(l, now) + 1.0) / t.per_day - 1.0).clamp(0.0, s.max_slowdown);
                let p = (t.p_fill / (1.0 + 0.5 * overload) * (1.0 - t.silent)).max(1e-3);
                let d = t.ship_h * (1.0 + overload) + w.transit_h(l.index(), r.borrower.index());
                let a =
                    t.silent * s.timeout_hours + (1.0 - t.silent) * t.answer_h * (1.0 + overload);
                (p * d + (1.0 - p) * a) / p
            };
            holders.sort_by(|a, b| key(*a).total_cmp(&key(*b)));
        }
        Strategy::OutcomeOracle => {
            // the world's own draws: who would fill this request now, and when it would
            // arrive; those that would fill first (soonest arrival), then the others by how
            // soon they would say no. A lender already past its day's work costs half a
            // day per day of backlog more: its next requests will be slower, and a
            // clairvoyant that piles onto the fastest lenders fills less later.
            let key = |l: LenderId| {
                let (fate, at) = draw(w, floor, r, l, now);
                let t = &w.truth[l.index()];
                let backlog = ((floor.per_day(l, now) + 1.0) / t.per_day - 1.0).max(0.0);
                let penalty = (12.0 * backlog * H as f64) as i64;
                match fate {
                    Fate::Shipped => (
                        0,
                        at + (w.transit_h(l.index(), r.borrower.index()) * H as f64) as i64
                            + penalty,
                    ),
                    _ => (1, at),
                }
            };
            holders.sort_by_cached_key(|l| (key(*l), l.get()));
            // nobody would fill it now: look one answer ahead, for the lender whose "no"
            // comes when another would fill (a copy back on the shelf, a backlog cleared)
            if holders.first().is_some_and(|l| key(*l).0 == 1) {
                let mut best: Option<(i64, usize, usize)> = None;
                for (i, a) in holders.iter().enumerate() {
                    let (_, t1) = draw(w, floor, r, *a, now);
                    for (j, b) in holders.iter().enumerate() {
                        if i == j {
                            continue;
                        }
                        let (fate, t2) = draw(w, floor, r, *b, t1);
                        if fate == Fate::Shipped {
                            let arrive =
                                t2 + (w.transit_h(b.index(), r.borrower.index()) * H as f64) as i64;
                            if best.is_none_or(|(x, _, _)| arrive < x) {
                                best = Some((arrive, i, j));
                            }
                        }
                    }
                }
                if let Some((_, i, j)) = best {
                    let (a, b) = (holders[i], holders[j]);
                    holders.retain(|l| *l != a && *l != b);
                    holders.splice(0..0, [a, b]);
                }
            }
        }
        Strategy::Rota(_) => {}
    }
    holders.truncate(s.max_lenders as usize);
    holders
}

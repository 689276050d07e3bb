//! The strategies compared: baselines (static order, random within tier, ReShare's
//! ratio), rota's profiles, and the oracle that reads the truth.

use rota_catalog::{Citation, Format, generate};
use rota_routing::{Engine, LenderId, LiveState, Profile, Request, Tried};

use crate::run::{h64, unit};
use crate::{SimError, SimRequest, World};

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

#[allow(clippy::too_many_arguments)]
pub(crate) fn string_for(
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

//! What a candidate weight profile would change, before anyone saves it: the same
//! evidence two ways.
//!
//! - **Past traffic**: the events of a chosen window, read back from the history, replayed
//!   through the engine ([`rota_sim::replay`]): at each request's first send, the
//!   string the profile in force would give beside the candidate's, judged by what the
//!   lenders really did with that request.
//! - **The simulator**: the default scenario (the consortium calibrated to published
//!   figures) run with both profiles and the outcome oracle, over the same arrivals.
//!
//! Simulations run one at a time in the whole server (the Admin API's `Simulate` shares
//! the slot), each bounded in time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rota_routing::{Engine, Event, Profile};
use rota_sim::replay::{ReplayOptions, ReplayReport};
use rota_sim::report::Report;

/// One simulation at a time: the flag is held by the blocking task itself, so a caller
/// that goes away does not free the slot before the simulation really ends.
static SIM_RUNNING: AtomicBool = AtomicBool::new(false);

/// The server's one simulation slot, held while a simulation runs.
pub struct SimSlot(());

impl SimSlot {
    /// The slot, if no simulation is running.
    pub fn take() -> Option<SimSlot> {
        SIM_RUNNING
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| SimSlot(()))
    }
}

impl Drop for SimSlot {
    fn drop(&mut self) {
        SIM_RUNNING.store(false, Ordering::Release);
    }
}

/// The name the candidate goes by beside the profiles in force.
pub const CANDIDATE: &str = "candidate";

/// Why a comparison could not be made.
#[derive(Debug, thiserror::Error)]
pub enum WhatIfError {
    /// The caller's: the window holds no request to replay.
    #[error("the history holds no events between those days to replay")]
    NoEvents,
    /// The caller's: another simulation is running.
    #[error("a simulation is already running; try again when it ends")]
    Busy,
    /// The caller's: the profile in force is not known.
    #[error("profile {0:?} does not exist")]
    UnknownProfile(String),
    /// Ours: the engine refused the candidate beside the profiles in force.
    #[error("engine: {0}")]
    Engine(String),
}

/// The profile in force beside the candidate.
#[derive(Debug, serde::Serialize)]
pub struct Comparison {
    /// Events replayed.
    pub events: usize,
    /// Past traffic, replayed (`baseline` is the profile in force).
    pub replay: ReplayReport,
    /// The simulator's report: the profile in force as `profile:NAME`, the candidate as
    /// `profile:candidate`, and the outcome oracle.
    pub simulation: Option<Report>,
    /// Why the simulation did not finish, if it did not.
    pub simulation_error: Option<String>,
}

/// Compares `candidate` with the profile in force called `live`, on `events` (the window
/// of past traffic, in the order they were applied) and on the simulator, which may take
/// up to `limit`. Blocking: run it off the async runtime.
pub fn compare(
    engine: &Engine,
    live: &str,
    candidate: &Profile,
    events: &[Event],
    limit: Duration,
) -> Result<Comparison, WhatIfError> {
    if events.is_empty() {
        return Err(WhatIfError::NoEvents);
    }
    let in_force = engine
        .profile(live)
        .cloned()
        .ok_or_else(|| WhatIfError::UnknownProfile(live.to_owned()))?;
    let slot = SimSlot::take().ok_or(WhatIfError::Busy)?;
    let mut cand = candidate.clone();
    cand.name = CANDIDATE.into();
    let mut profiles: Vec<Profile> = engine
        .profiles()
        .into_iter()
        .filter(|p| p.name != CANDIDATE)
        .cloned()
        .collect();
    profiles.push(cand.clone());
    let with_candidate = Engine::new(
        engine.catalog().clone(),
        engine.directory().clone(),
        profiles,
    )
    .map_err(|e| WhatIfError::Engine(e.to_string()))?;
    let replay = rota_sim::replay::replay(
        &with_candidate,
        events,
        &ReplayOptions {
            candidate: CANDIDATE.into(),
            baseline: live.to_owned(),
            ..ReplayOptions::default()
        },
    );
    let scenario = rota_sim::Scenario {
        strategies: Vec::new(),
        ..rota_sim::Scenario::default()
    };
    let simulation = rota_sim::simulate_with(&scenario, vec![in_force, cand], Some(limit));
    drop(slot);
    let (simulation, simulation_error) = match simulation {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(Comparison {
        events: events.len(),
        replay,
        simulation,
        simulation_error,
    })
}

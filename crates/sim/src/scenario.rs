//! What a scenario file says, and why one is refused.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

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
    /// Days at the start whose requests are simulated (routers learn from them) but not
    /// reported: a run starts with empty queues and routers that know nothing. Default:
    /// a sixth of `days` (7 of the default 42).
    pub warmup_days: Option<u32>,
    /// How much slower than usual an overloaded lender can get: an answer takes at most
    /// `1 + max_slowdown` times its usual time (a lender past capacity triages; it does
    /// not take unboundedly long).
    pub max_slowdown: f64,
    /// Popularity: the record asked for is `r^popularity_exponent` of the way through the
    /// catalogue (r uniform), low records most popular. With 1.5 the top 0.1 % of records
    /// draw 1 % of requests (2.5, the old fixed value, drew 6 %).
    pub popularity_exponent: f64,
    /// Days an item lent through ILL is away from its shelf (shipping, use, return).
    pub ill_loan_days: f64,
    /// Strategies to compare (static, random_tier, reshare, rota_weighted,
    /// rota_fastest_fill, oracle, or `profile:FILE` for an operator's profile).
    pub strategies: Vec<String>,
}

impl Scenario {
    /// The warm-up in days: as given, else a sixth of the run.
    pub fn warmup(&self) -> u32 {
        self.warmup_days.unwrap_or(self.days / 6)
    }
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
            warmup_days: None,
            max_slowdown: 2.0,
            popularity_exponent: 1.5,
            ill_loan_days: 28.0,
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

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
    /// A record's chance of being asked for is its popularity times its number of
    /// lendable holders to this power: a title many libraries bought is one many patrons
    /// want, and ILL traffic is mostly for widely held titles. 0 makes holdings irrelevant
    /// (the old behaviour, where a quarter of requests were for single-holder titles).
    /// Fitted to published fill rates (DOCLINE 92.2 %, RapidILL ~95 %): with 1.0 the
    /// baselines fill 90-95 %.
    pub holders_exponent: f64,
    /// What is asked for: `loan` (books, shipped and returned) or `copy` (articles, sent
    /// electronically: no transit, nothing leaves the shelf).
    pub service: ServiceKind,
    /// How lenders behave (hidden from learned routers).
    pub lenders: LenderBehaviour,
    /// Strategies to compare (static, random_tier, reshare, rota_weighted,
    /// rota_fastest_fill, oracle, outcome_oracle, or `profile:FILE` for an operator's
    /// profile). The outcome oracle is always added to the report.
    pub strategies: Vec<String>,
}

/// The service a scenario's requests ask for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// Returnables.
    #[default]
    Loan,
    /// Article copies.
    Copy,
}

/// The hidden behaviour of the consortium's lenders (`[lenders]` in a scenario): each
/// lender draws its own values from these distributions once per run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LenderBehaviour {
    /// Share of lenders that are good fillers.
    pub good_share: f64,
    /// A good filler's chance to fill when the item is on its shelf: uniform in this range.
    pub good_fill: [f64; 2],
    /// A poor filler's chance (policy refusals, slow staff, a backlog).
    pub poor_fill: [f64; 2],
    /// Share of lenders that sometimes never answer.
    pub silent_share: f64,
    /// Such a lender's chance of never answering a request: uniform in this range (the
    /// others': under 3 %).
    pub silence: [f64; 2],
    /// Median over lenders of the median hours to answer "no" (each lender's is
    /// log-normal around it, σ 0.6).
    pub answer_hours: f64,
    /// Median over lenders of the median hours to ship or send (log-normal, σ 0.5).
    pub ship_hours: f64,
    /// How much one request's handling time varies around its lender's usual: uniform in
    /// `1 ± time_spread` (WRLC's pull times spread from under 12 h to over 48 h).
    pub time_spread: f64,
    /// Share of held copies out to local patrons in any four-week loan period.
    pub local_on_loan: f64,
    /// Share of lenders whose catalogue answers live availability lookups (Z39.50, SRU,
    /// NCIP): rota asks them before routing, and they say on the shelf, on loan, or
    /// nothing (a stale holding has no item to show). 0 by default: no lookups.
    pub availability: f64,
    /// Weeks a year a lender is closed (holidays, moves, staff shortages); it answers
    /// nothing while closed.
    pub closed_weeks_per_year: f64,
    /// Share of closures the lender puts in the directory's calendar (the others are
    /// found out by silence).
    pub closures_declared: f64,
    /// σ of the log error between the open-request limit a lender declares in the
    /// directory and what it really works through (0: the directory is the truth).
    pub capacity_error: f64,
}

impl Default for LenderBehaviour {
    fn default() -> Self {
        LenderBehaviour {
            good_share: 0.8,
            good_fill: [0.80, 0.97],
            poor_fill: [0.35, 0.75],
            silent_share: 0.25,
            silence: [0.05, 0.35],
            answer_hours: 30.0,
            ship_hours: 36.0,
            time_spread: 0.5,
            local_on_loan: 0.08,
            availability: 0.0,
            closed_weeks_per_year: 0.0,
            closures_declared: 0.5,
            capacity_error: 0.0,
        }
    }
}

impl LenderBehaviour {
    /// Why these values cannot run, if they cannot.
    pub fn check(&self) -> Result<(), SimError> {
        let unit = |v: f64| (0.0..=1.0).contains(&v);
        let range = |r: [f64; 2]| unit(r[0]) && unit(r[1]) && r[0] <= r[1];
        if !(unit(self.good_share)
            && range(self.good_fill)
            && range(self.poor_fill)
            && unit(self.silent_share)
            && range(self.silence)
            && unit(self.local_on_loan)
            && unit(self.availability)
            && unit(self.closures_declared))
        {
            return Err(SimError::Scenario(
                "lenders: shares and chances in 0..1, ranges [low, high] with low ≤ high".into(),
            ));
        }
        if !(0.5..=500.0).contains(&self.answer_hours)
            || !(0.5..=500.0).contains(&self.ship_hours)
            || !(0.0..=26.0).contains(&self.closed_weeks_per_year)
            || !(0.0..=2.0).contains(&self.capacity_error)
            || !(0.0..=0.9).contains(&self.time_spread)
        {
            return Err(SimError::Scenario(
                "lenders: answer_hours and ship_hours 0.5..500, closed_weeks_per_year 0..26, capacity_error 0..2, time_spread 0..0.9"
                    .into(),
            ));
        }
        Ok(())
    }
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
            holders_exponent: 1.0,
            service: ServiceKind::Loan,
            lenders: LenderBehaviour::default(),
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

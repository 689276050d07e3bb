//! Weight profiles: how a consortium wants its lenders ranked.
//!
//! # Rules
//! - Every number must be finite and non-negative (a negative weight would reward what
//!   the factor penalises; flip the factor instead).
//! - **Weighted score**: the eight weights are relative. They are normalised to sum 1
//!   before use, so `{fill_rate = 2, load = 1}` and `{fill_rate = 0.66, load = 0.33}` rank
//!   identically; at least one must be positive.
//! - **Fastest fill**: the adjustment weights scale documented multiplicative penalties
//!   on each lender's `e/p` key (see the crate docs); all zero gives the pure
//!   expected-time order, which is provably optimal for the lenders it ranks.
//! - `fill_alpha`/`fill_beta` are a Beta prior (each > 0); time priors > 0 hours.

use serde::{Deserialize, Serialize};

use crate::state::Priors;

/// Ranking mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Order by expected time to fill (`e/p` ascending), with documented adjustments.
    #[default]
    FastestFill,
    /// A linear score over normalised factors.
    WeightedScore,
}

/// Weights of the weighted-score mode (relative; normalised to sum 1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Weights {
    /// Copies and lendability of the holding.
    pub holdings: f64,
    /// Spare capacity (1 − load).
    pub load: f64,
    /// Owing the borrower a loan (lent less than borrowed).
    pub reciprocity: f64,
    /// Policy tier (own consortium first).
    pub tier: f64,
    /// Cheapness.
    pub cost: f64,
    /// Nearness.
    pub distance: f64,
    /// Quick delivery.
    pub turnaround: f64,
    /// Fill probability.
    pub fill_rate: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            holdings: 0.10,
            load: 0.15,
            reciprocity: 0.10,
            tier: 0.10,
            cost: 0.10,
            distance: 0.05,
            turnaround: 0.15,
            fill_rate: 0.25,
        }
    }
}

impl Weights {
    /// As `(name, weight)` pairs, in factor order.
    pub fn pairs(&self) -> [(&'static str, f64); 8] {
        [
            ("holdings", self.holdings),
            ("load", self.load),
            ("reciprocity", self.reciprocity),
            ("tier", self.tier),
            ("cost", self.cost),
            ("distance", self.distance),
            ("turnaround", self.turnaround),
            ("fill_rate", self.fill_rate),
        ]
    }
}

/// Adjustments applied in fastest-fill mode, as exponents of multiplicative penalties on
/// the `e/p` key (0 = off).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Adjustments {
    /// Favour lenders that owe the borrower (lent less than borrowed).
    pub reciprocity: f64,
    /// Penalise charges, relative to the request's maximum cost (or 20 units).
    pub cost: f64,
    /// Penalise lenders already carrying a large share of today's traffic.
    pub fairness: f64,
    /// Penalise farther tiers.
    pub tier: f64,
}

impl Default for Adjustments {
    fn default() -> Self {
        Adjustments {
            reciprocity: 0.10,
            cost: 0.20,
            fairness: 0.15,
            tier: 0.10,
        }
    }
}

/// A named profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Name.
    pub name: String,
    /// Mode.
    #[serde(default)]
    pub mode: Mode,
    /// Weighted-score weights.
    #[serde(default)]
    pub weights: Weights,
    /// Fastest-fill adjustments.
    #[serde(default)]
    pub adjustments: Adjustments,
    /// Priors for the live-state estimates. They shape how a [`crate::LiveState`] learns,
    /// so they apply where a state is built for this profile (the simulator does so per
    /// strategy); the server's one live state uses the `default` profile's priors.
    #[serde(default)]
    pub priors: Priors,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            name: "default".into(),
            mode: Mode::FastestFill,
            weights: Weights::default(),
            adjustments: Adjustments::default(),
            priors: Priors::default(),
        }
    }
}

/// A profile that breaks the rules above (the caller's fault).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("profile {profile:?}: {field} {message}")]
pub struct ProfileError {
    /// Profile name.
    pub profile: String,
    /// Field path.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Profile {
    /// Checks every rule in the module docs.
    pub fn validate(&self) -> Result<(), ProfileError> {
        let err = |field: &str, message: &str| ProfileError {
            // a prefix: a 10 kB name is not echoed back whole
            profile: self
                .name
                .chars()
                .take(rota_catalog::field::MAX_SYMBOL)
                .collect(),
            field: field.into(),
            message: message.into(),
        };
        rota_catalog::field::symbol("name", &self.name)
            .map_err(|e| err("name", &e.problem.to_string()))?;
        let mut sum = 0.0;
        for (n, w) in self.weights.pairs() {
            if !w.is_finite() || w < 0.0 {
                return Err(err(&format!("weights.{n}"), "must be a finite number ≥ 0"));
            }
            sum += w;
        }
        if self.mode == Mode::WeightedScore && sum <= 0.0 {
            return Err(err(
                "weights",
                "must have at least one weight > 0 in weighted_score mode",
            ));
        }
        let a = self.adjustments;
        for (n, w) in [
            ("reciprocity", a.reciprocity),
            ("cost", a.cost),
            ("fairness", a.fairness),
            ("tier", a.tier),
        ] {
            if !w.is_finite() || !(0.0..=10.0).contains(&w) {
                return Err(err(
                    &format!("adjustments.{n}"),
                    "must be a finite number between 0 and 10",
                ));
            }
        }
        let p = self.priors;
        for (n, v) in [
            ("fill_alpha", p.fill_alpha),
            ("fill_beta", p.fill_beta),
            ("answer_hours", p.answer_hours),
            ("deliver_hours", p.deliver_hours),
            ("copy_hours", p.copy_hours),
            ("time_prior_weight", p.time_prior_weight),
            ("half_life_days", p.half_life_days),
        ] {
            if !v.is_finite() || v <= 0.0 {
                return Err(err(&format!("priors.{n}"), "must be a finite number > 0"));
            }
        }
        Ok(())
    }

    /// Weights normalised to sum 1.
    pub fn normalised_weights(&self) -> Weights {
        let s: f64 = self.weights.pairs().iter().map(|p| p.1).sum();
        if s <= 0.0 {
            return self.weights;
        }
        let w = self.weights;
        Weights {
            holdings: w.holdings / s,
            load: w.load / s,
            reciprocity: w.reciprocity / s,
            tier: w.tier / s,
            cost: w.cost / s,
            distance: w.distance / s,
            turnaround: w.turnaround / s,
            fill_rate: w.fill_rate / s,
        }
    }

    /// The built-in profiles: `default` (fastest fill), `pure_fastest_fill` (no
    /// adjustments) and `weighted` (weighted score).
    pub fn builtin() -> Vec<Profile> {
        vec![
            Profile::default(),
            Profile {
                name: "pure_fastest_fill".into(),
                adjustments: Adjustments {
                    reciprocity: 0.0,
                    cost: 0.0,
                    fairness: 0.0,
                    tier: 0.0,
                },
                ..Profile::default()
            },
            Profile {
                name: "weighted".into(),
                mode: Mode::WeightedScore,
                ..Profile::default()
            },
        ]
    }

    /// Parses a profile from TOML (or JSON when `json`) and validates it.
    pub fn parse(text: &str, json: bool) -> Result<Profile, ProfileError> {
        let p: Profile = if json {
            serde_json::from_str(text).map_err(|e| ProfileError {
                profile: String::new(),
                field: "(file)".into(),
                message: e.to_string(),
            })?
        } else {
            toml::from_str(text).map_err(|e| ProfileError {
                profile: String::new(),
                field: "(file)".into(),
                message: e.to_string().trim().replace('\n', " "),
            })?
        };
        p.validate()?;
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        for p in Profile::builtin() {
            p.validate().unwrap();
        }
        let mut p = Profile::default();
        p.weights.load = f64::NAN;
        assert!(
            p.validate()
                .unwrap_err()
                .to_string()
                .contains("weights.load")
        );
        let mut p = Profile::default();
        p.adjustments.cost = -1.0;
        assert!(p.validate().is_err());
        let p = Profile {
            mode: Mode::WeightedScore,
            weights: Weights {
                holdings: 0.0,
                load: 0.0,
                reciprocity: 0.0,
                tier: 0.0,
                cost: 0.0,
                distance: 0.0,
                turnaround: 0.0,
                fill_rate: 0.0,
            },
            ..Profile::default()
        };
        assert!(p.validate().is_err());
        assert!(Profile::parse("name = \"x\"\nmode = \"sideways\"\n", false).is_err());
        assert!(Profile::parse("name = \"x\"\nbogus = 1\n", false).is_err());
        let p = Profile::parse(
            "name = \"x\"\nmode = \"weighted_score\"\n[weights]\nfill_rate = 2.0\nload = 1.0\n",
            false,
        )
        .unwrap();
        let n = p.normalised_weights();
        let s: f64 = n.pairs().iter().map(|x| x.1).sum();
        assert!((s - 1.0).abs() < 1e-9);
    }
}

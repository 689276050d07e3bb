//! How load changes what lenders do, fitted from events: a lender asked while it has
//! many requests open answers later and fills less. Each answer is compared with what
//! its lender usually does (its own fill rate and times, as the state had them), and the
//! difference is kept by how loaded the lender was when the request was sent (open
//! requests over its declared limit). The ranking scales a lender's estimates by the
//! fitted effect at its load now.
//!
//! The effect is pooled over lenders (each lender's own history is too thin to fit a
//! curve) and, with little evidence, shrinks to none: a consortium whose lenders do not
//! slow down under load gets no penalty, one whose lenders slow down early gets it early.

use serde::{Deserialize, Serialize};

use crate::state::Decayed;

/// Upper edges of the load bins (open requests / declared limit); the last bin is open.
const EDGES: [f64; 5] = [0.2, 0.4, 0.6, 0.8, 1.0];

/// Pseudo-answers of "no effect" each bin starts with.
const PRIOR_W: f64 = 30.0;

/// Per load bin: fill residuals (filled − expected) and log-time residuals.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct LoadCurve {
    fill: [Decayed; 6],
    time: [Decayed; 6],
}

fn bin(rho: f64) -> usize {
    EDGES.iter().position(|e| rho < *e).unwrap_or(EDGES.len())
}

impl LoadCurve {
    /// An answer to a request sent at load `rho`: filled or not, where the lender's fill
    /// rate was `p`.
    pub(crate) fn fill(&mut self, rho: f64, filled: bool, p: f64, at: i64, hl: f64) {
        let d = &mut self.fill[bin(rho)];
        d.decay_to(at, hl);
        d.w += 1.0;
        d.sum += f64::from(u8::from(filled)) - p;
    }

    /// An answer that took `hours` where the lender usually takes `usual`.
    pub(crate) fn time(&mut self, rho: f64, hours: f64, usual: f64, at: i64, hl: f64) {
        let d = &mut self.time[bin(rho)];
        d.decay_to(at, hl);
        d.w += 1.0;
        d.sum += (hours.max(0.1) / usual.max(0.1)).ln();
    }

    /// At load `rho`: (what to add to a lender's fill rate, what to multiply its times
    /// by), each relative to the least loaded bin, so that a lender's own estimates (made
    /// at whatever loads it had) are moved by the difference load makes.
    pub(crate) fn effect(&self, rho: f64) -> (f64, f64) {
        // decay is relative: bins decayed to different times compare well enough within
        // an hour, and every bin's prior holds it near zero when it is stale
        let mean = |d: &Decayed| d.sum / (d.w + PRIOR_W);
        let b = bin(rho);
        let base = 0;
        let dp = mean(&self.fill[b]) - mean(&self.fill[base]);
        let dt = mean(&self.time[b]) - mean(&self.time[base]);
        (dp.min(0.0), dt.max(0.0).exp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_evidence_no_effect() {
        let c = LoadCurve::default();
        assert_eq!(c.effect(0.1), (0.0, 1.0));
        assert_eq!(c.effect(3.0), (0.0, 1.0));
    }

    #[test]
    fn lenders_that_slow_under_load_are_learned_to() {
        let mut c = LoadCurve::default();
        let hl = 90.0 * 86_400.0;
        for i in 0..2000 {
            let rho = f64::from(i % 10) / 8.0; // 0 .. 1.125
            let loaded = rho >= 0.6;
            c.fill(
                rho,
                !(loaded && i % 3 == 0),
                0.9,
                1_000_000 + i64::from(i),
                hl,
            );
            c.time(rho, if loaded { 60.0 } else { 20.0 }, 30.0, 1_000_000, hl);
        }
        let (dp0, t0) = c.effect(0.1);
        assert_eq!((dp0, t0), (0.0, 1.0));
        let (dp, t) = c.effect(0.9);
        assert!((-0.4..-0.2).contains(&dp), "{dp}");
        assert!((2.3..3.1).contains(&t), "{t}");
        // and none where it makes no difference
        let (dp, t) = c.effect(0.3);
        assert!(dp.abs() < 0.02 && (t - 1.0).abs() < 0.05, "{dp} {t}");
    }
}

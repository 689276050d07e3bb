//! The simulation report: a table per strategy (markdown), JSON for machines, and SVG
//! charts (time-to-fill distribution, load per lender).

use serde::Serialize;

use crate::{End, Outcome, SimRequest, World};

/// Metrics of one strategy.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StrategyMetrics {
    /// Strategy name.
    pub strategy: String,
    /// rota's default strategy (what a request without a profile gets).
    pub default: bool,
    /// Requests.
    pub requests: usize,
    /// Filled.
    pub filled: usize,
    /// Unfilled.
    pub unfilled: usize,
    /// Timed out.
    pub timed_out: usize,
    /// Fill rate.
    pub fill_rate: f64,
    /// Mean hours to fill (filled requests).
    pub mean_hours: f64,
    /// Median hours to fill.
    pub p50_hours: f64,
    /// 90th percentile hours to fill.
    pub p90_hours: f64,
    /// Median days to fill.
    pub p50_days: f64,
    /// 90th percentile days to fill.
    pub p90_days: f64,
    /// Share of the gap in mean hours from ReShare's ratio to the outcome oracle this
    /// strategy closes (1: as fast as the oracle; 0: no faster than ReShare; negative:
    /// slower). Absent without both in the run.
    pub gap_closed: Option<f64>,
    /// Lenders asked per request (requests no lender held count as 0).
    pub lenders_tried: f64,
    /// Lenders asked per filled request (DOCLINE's 1.24 is of this kind).
    pub lenders_tried_per_filled: f64,
    /// Lenders asked per request that was sent to at least one lender.
    pub lenders_tried_per_sent: f64,
    /// Lenders asked per request whose title some library other than the borrower
    /// holds and lends, in the catalogue.
    pub lenders_tried_per_held: f64,
    /// Share of *filled* requests filled by the first lender asked (DOCLINE: 84 %).
    pub first_lender_share: f64,
    /// Times a lender let a request expire (the borrower waited out the timeout).
    pub expired_at_lender: usize,
    /// Times a lender answered: unfilled (policy, condition), on loan, not held.
    pub said_unfilled: usize,
    /// See `said_unfilled`.
    pub said_on_loan: usize,
    /// See `said_unfilled`.
    pub said_not_held: usize,
    /// Gini coefficient of requests received per lender.
    pub load_gini: f64,
    /// Share of all requests received by the busiest lender.
    pub busiest_share: f64,
    /// Mean |lent − borrowed| / (lent + borrowed) over libraries.
    pub reciprocity_imbalance: f64,
    /// Charges paid.
    pub cost: f64,
    /// Requests received per lender (for the load chart).
    #[serde(skip)]
    pub per_lender: Vec<u64>,
    /// Sorted fill times (for the distribution chart).
    #[serde(skip)]
    pub hours: Vec<f64>,
}

/// The report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Where the libraries came from.
    pub calibration: String,
    /// The scenario.
    pub scenario: crate::Scenario,
    /// Requests reported (those arriving after the warm-up).
    pub requests: usize,
    /// Requests simulated in the warm-up and left out of every figure.
    pub warmup_requests: usize,
    /// Metrics per strategy, in scenario order.
    pub strategies: Vec<StrategyMetrics>,
    /// Wall time, seconds.
    pub seconds: f64,
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Gini coefficient of non-negative values.
pub fn gini(v: &[u64]) -> f64 {
    let n = v.len();
    let total: u64 = v.iter().sum();
    if n == 0 || total == 0 {
        return 0.0;
    }
    let mut s: Vec<u64> = v.to_vec();
    s.sort_unstable();
    let weighted: f64 = s
        .iter()
        .enumerate()
        .map(|(i, x)| (i as f64 + 1.0) * *x as f64)
        .sum();
    (2.0 * weighted) / (n as f64 * total as f64) - (n as f64 + 1.0) / n as f64
}

impl Report {
    /// Computes metrics.
    pub fn new(
        w: &World,
        reqs: &[SimRequest],
        results: Vec<(String, Vec<Outcome>)>,
        seconds: f64,
    ) -> Report {
        let n = w.directory.len();
        let start = crate::T0 + i64::from(w.scenario.warmup()) * crate::DAY;
        let measured: Vec<bool> = reqs.iter().map(|r| r.at >= start).collect();
        let reported = measured.iter().filter(|m| **m).count();
        let reqs: Vec<&SimRequest> = reqs
            .iter()
            .zip(&measured)
            .filter(|(_, m)| **m)
            .map(|(r, _)| r)
            .collect();
        let strategies = results
            .into_iter()
            .map(|(name, outs)| {
                let outs: Vec<Outcome> = outs
                    .into_iter()
                    .zip(&measured)
                    .filter(|(_, m)| **m)
                    .map(|(o, _)| o)
                    .collect();
                let mut hours: Vec<f64> = outs.iter().filter_map(|o| o.hours).collect();
                hours.sort_by(f64::total_cmp);
                let filled = outs.iter().filter(|o| o.end == End::Filled).count();
                let mut received = vec![0u64; n];
                let mut lent = vec![0u64; n];
                let mut borrowed = vec![0u64; n];
                for (o, r) in outs.iter().zip(&reqs) {
                    if let Some(l) = o.lender {
                        lent[l.index()] += 1;
                        borrowed[r.borrower.index()] += 1;
                    }
                }
                // load: every request a lender received, filled or not
                for o in &outs {
                    for l in &o.asked {
                        received[l.index()] += 1;
                    }
                }
                let total_recv: u64 = received.iter().sum();
                let imbalance: Vec<f64> = (0..n)
                    .filter(|i| lent[*i] + borrowed[*i] > 0)
                    .map(|i| {
                        (lent[i] as f64 - borrowed[i] as f64).abs() / (lent[i] + borrowed[i]) as f64
                    })
                    .collect();
                let held: Vec<f64> = outs
                    .iter()
                    .zip(&reqs)
                    .filter(|(_, r)| w.holders.get(r.record as usize).is_some_and(|k| *k > 0))
                    .map(|(o, _)| f64::from(o.tried))
                    .collect();
                StrategyMetrics {
                    default: name == crate::DEFAULT_STRATEGY,
                    strategy: name,
                    p50_days: pct(&hours, 0.5) / 24.0,
                    p90_days: pct(&hours, 0.9) / 24.0,
                    gap_closed: None,
                    lenders_tried_per_held: held.iter().sum::<f64>() / held.len().max(1) as f64,
                    requests: outs.len(),
                    filled,
                    unfilled: outs.iter().filter(|o| o.end == End::Unfilled).count(),
                    timed_out: outs.iter().filter(|o| o.end == End::TimedOut).count(),
                    fill_rate: filled as f64 / outs.len().max(1) as f64,
                    mean_hours: hours.iter().sum::<f64>() / hours.len().max(1) as f64,
                    p50_hours: pct(&hours, 0.5),
                    p90_hours: pct(&hours, 0.9),
                    lenders_tried: outs.iter().map(|o| f64::from(o.tried)).sum::<f64>()
                        / outs.len().max(1) as f64,
                    lenders_tried_per_filled: outs
                        .iter()
                        .filter(|o| o.end == End::Filled)
                        .map(|o| f64::from(o.tried))
                        .sum::<f64>()
                        / filled.max(1) as f64,
                    lenders_tried_per_sent: {
                        let sent: Vec<f64> = outs
                            .iter()
                            .filter(|o| o.tried > 0)
                            .map(|o| f64::from(o.tried))
                            .collect();
                        sent.iter().sum::<f64>() / sent.len().max(1) as f64
                    },
                    first_lender_share: outs.iter().filter(|o| o.first).count() as f64
                        / filled.max(1) as f64,
                    expired_at_lender: outs.iter().map(|o| o.expired_at_lender as usize).sum(),
                    said_unfilled: outs.iter().map(|o| o.said[0] as usize).sum(),
                    said_on_loan: outs.iter().map(|o| o.said[1] as usize).sum(),
                    said_not_held: outs.iter().map(|o| o.said[2] as usize).sum(),
                    load_gini: gini(&received),
                    busiest_share: received.iter().copied().max().unwrap_or(0) as f64
                        / total_recv.max(1) as f64,
                    reciprocity_imbalance: imbalance.iter().sum::<f64>()
                        / imbalance.len().max(1) as f64,
                    cost: outs.iter().map(|o| o.cost).sum(),
                    per_lender: received,
                    hours,
                }
            })
            .collect::<Vec<StrategyMetrics>>();
        let mut strategies = strategies;
        let mean = |n: &str| {
            strategies
                .iter()
                .find(|s| s.strategy == n)
                .map(|s| s.mean_hours)
        };
        if let (Some(base), Some(best)) = (mean("reshare"), mean(crate::OUTCOME_ORACLE)) {
            if base - best > 1e-9 {
                for s in &mut strategies {
                    s.gap_closed = Some((base - s.mean_hours) / (base - best));
                }
            }
        }
        Report {
            calibration: w.calibration.clone(),
            scenario: w.scenario.clone(),
            requests: reported,
            warmup_requests: measured.len() - reported,
            strategies,
            seconds,
        }
    }

    /// A strategy's metrics by name.
    pub fn get(&self, name: &str) -> Option<&StrategyMetrics> {
        self.strategies.iter().find(|s| s.strategy == name)
    }

    /// The markdown report.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        md.push_str("# rota what-if simulation\n\n");
        md.push_str(&format!(
            "{}; {} requests over {} days reported after {} requests in a {}-day warm-up (seed {}), {} records, {:.1} holders per record, {:.0} % stale holdings, {:.0} h borrower timeout, up to {} lenders × {} strings per request. Ran in {:.1} s.\n\n",
            self.calibration,
            self.requests,
            self.scenario.days - self.scenario.warmup(),
            self.warmup_requests,
            self.scenario.warmup(),
            self.scenario.seed,
            self.scenario.records,
            self.scenario.mean_holders,
            self.scenario.stale_holdings * 100.0,
            self.scenario.timeout_hours,
            self.scenario.max_lenders,
            self.scenario.max_rounds,
            self.seconds
        ));
        md.push_str("| strategy | fill rate | mean h to fill | p50 / p90 days | gap ReShare → outcome oracle closed | lenders tried per filled / per request with holders | filled at 1st (of filled) | expired at lender | load Gini | busiest lender | reciprocity imbalance | cost |\n");
        md.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for s in &self.strategies {
            md.push_str(&format!(
                "| {}{} | {:.1} % | {:.1} | {:.1} / {:.1} | {} | {:.2} / {:.2} | {:.1} % | {} | {:.3} | {:.1} % | {:.3} | {:.0} |\n",
                s.strategy,
                if s.default { " (default)" } else { "" },
                s.fill_rate * 100.0,
                s.mean_hours,
                s.p50_days,
                s.p90_days,
                s.gap_closed
                    .map_or_else(|| "–".to_string(), |g| format!("{:.0} %", g * 100.0)),
                s.lenders_tried_per_filled,
                s.lenders_tried_per_held,
                s.first_lender_share * 100.0,
                s.expired_at_lender,
                s.load_gini,
                s.busiest_share * 100.0,
                s.reciprocity_imbalance,
                s.cost
            ));
        }
        if let Some(ff) = self.strategies.iter().find(|s| s.default) {
            md.push_str(&format!(
                "\nrota's default ({}) against the others (mean time to fill):\n\n",
                ff.strategy
            ));
            for b in self
                .strategies
                .iter()
                .filter(|s| !s.default)
                .map(|s| s.strategy.as_str())
            {
                if let Some(x) = self.get(b) {
                    md.push_str(&format!(
                        "- vs {b}: {:+.1} % mean hours ({:.1} → {:.1}), fill rate {:+.1} points, load Gini {:.3} vs {:.3}\n",
                        (ff.mean_hours / x.mean_hours - 1.0) * 100.0,
                        x.mean_hours,
                        ff.mean_hours,
                        (ff.fill_rate - x.fill_rate) * 100.0,
                        ff.load_gini,
                        x.load_gini
                    ));
                }
            }
        }
        md.push_str(
            "\n![time to fill](time_to_fill.svg)\n\n![load per lender](load_per_lender.svg)\n",
        );
        md
    }

    /// SVG: cumulative share filled by hours, one line per strategy.
    pub fn svg_time_to_fill(&self) -> String {
        let (w, h, pad) = (720.0, 400.0, 50.0);
        let max_h = self
            .strategies
            .iter()
            .map(|s| pct(&s.hours, 0.98))
            .filter(|x| x.is_finite())
            .fold(24.0, f64::max);
        let colors = [
            "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
        ];
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{pad}\" y=\"20\">share of requests filled by hours since the request</text>\n"
        );
        svg.push_str(&format!(
            "<line x1=\"{pad}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n",
            h - pad,
            w - pad,
            h - pad
        ));
        svg.push_str(&format!(
            "<line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{}\" stroke=\"black\"/>\n",
            h - pad
        ));
        for k in 0..=4 {
            let x = pad + (w - 2.0 * pad) * f64::from(k) / 4.0;
            svg.push_str(&format!(
                "<text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{:.0} h</text>\n",
                h - pad + 16.0,
                max_h * f64::from(k) / 4.0
            ));
            let y = h - pad - (h - 2.0 * pad) * f64::from(k) / 4.0;
            svg.push_str(&format!(
                "<text x=\"{}\" y=\"{y}\" text-anchor=\"end\">{}%</text>\n",
                pad - 4.0,
                k * 25
            ));
        }
        for (i, s) in self.strategies.iter().enumerate() {
            let c = colors[i % colors.len()];
            let mut pts = String::new();
            for step in 0..=100 {
                let hours = max_h * f64::from(step) / 100.0;
                let filled =
                    s.hours.partition_point(|x| *x <= hours) as f64 / s.requests.max(1) as f64;
                let x = pad + (w - 2.0 * pad) * f64::from(step) / 100.0;
                let y = h - pad - (h - 2.0 * pad) * filled;
                pts.push_str(&format!("{x:.1},{y:.1} "));
            }
            svg.push_str(&format!(
                "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{pts}\"/>\n"
            ));
            svg.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" fill=\"{c}\">{}</text>\n",
                w - pad - 140.0,
                h - pad - 20.0 - 16.0 * i as f64,
                s.strategy
            ));
        }
        svg.push_str("</svg>\n");
        svg
    }

    /// SVG: requests received per lender, busiest first, one line per strategy.
    pub fn svg_load(&self) -> String {
        let (w, h, pad) = (720.0, 400.0, 50.0);
        let colors = [
            "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
        ];
        let max = self
            .strategies
            .iter()
            .flat_map(|s| s.per_lender.iter().copied())
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{pad}\" y=\"20\">requests received per lender, busiest first (max {max:.0})</text>\n"
        );
        svg.push_str(&format!(
            "<line x1=\"{pad}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n",
            h - pad,
            w - pad,
            h - pad
        ));
        for (i, s) in self.strategies.iter().enumerate() {
            let c = colors[i % colors.len()];
            let mut v = s.per_lender.clone();
            v.sort_unstable_by(|a, b| b.cmp(a));
            let n = v.len().max(2) as f64 - 1.0;
            let pts: String = v
                .iter()
                .enumerate()
                .map(|(k, x)| {
                    format!(
                        "{:.1},{:.1} ",
                        pad + (w - 2.0 * pad) * k as f64 / n,
                        h - pad - (h - 2.0 * pad) * *x as f64 / max
                    )
                })
                .collect();
            svg.push_str(&format!(
                "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{pts}\"/>\n"
            ));
            svg.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" fill=\"{c}\">{}</text>\n",
                w - pad - 140.0,
                pad + 16.0 * i as f64,
                s.strategy
            ));
        }
        svg.push_str("</svg>\n");
        svg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gini_bounds() {
        assert_eq!(gini(&[5, 5, 5, 5]), 0.0);
        assert!((gini(&[0, 0, 0, 10]) - 0.75).abs() < 1e-9);
        assert_eq!(gini(&[]), 0.0);
    }
}

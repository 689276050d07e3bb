//! Replay: past requests and events (as the service logged them), re-routed under a
//! candidate weight profile, reporting what would have changed.
//!
//! The log holds lifecycle events, in the order the service applied them. A request's
//! first `Sent` is the moment it was routed; its later events say which lenders were
//! asked, in what order, what each answered, and who filled it. Replay walks the events
//! in log order, learning the live state exactly as the service did, and at each
//! request's first `Sent` asks the engine for two lending strings from the same state:
//! one under the baseline profile (what rota would have said with the weights in force)
//! and one under the candidate. Then it compares:
//!
//! - **What is known**: the candidate's first lender is often a lender that was really
//!   asked for that request, so its real answer is known. Requests where the real first
//!   lender said no but the candidate would have gone first to the lender that really
//!   filled it count as *sped up*, by the hours the request really waited before that
//!   lender was asked; requests the real first lender filled but where the candidate would
//!   have gone first to a lender that really said no count as *slowed*, by that lender's
//!   real dead time. Everything else is unknown, and said so.
//! - **What the model expects**: the engine's expected hours to fill for both strings.
//! - **Load**: how first choices spread over lenders (Gini, busiest lender's share).
//!
//! Synchronous and allocation-bounded by the log it reads: no async, no RPC.

use std::collections::HashMap;

use rota_catalog::ClusterId;
use rota_routing::{Engine, Event, EventKind, LenderId, LiveState, Request, Service, ServiceType};
use serde::Serialize;

use crate::report::gini;

/// What replay compares.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    /// The candidate profile's name (it must be among the engine's profiles).
    pub candidate: String,
    /// The profile in force, to compare with (default `default`).
    pub baseline: String,
    /// Lenders per string.
    pub max_lenders: u32,
    /// How many changed requests to list as examples.
    pub examples: usize,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            candidate: "default".into(),
            baseline: "default".into(),
            max_lenders: 5,
            examples: 20,
        }
    }
}

/// What a lender really did with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Known {
    /// Loaned or delivered the copy.
    Filled,
    /// Said no (unfilled or retry).
    SaidNo,
    /// Let it expire without an answer.
    Expired,
    /// Asked; no answer in the log.
    Open,
    /// Never asked for this request.
    NotAsked,
}

/// Counts of [`Known`] outcomes.
#[derive(Clone, Debug, Default, Serialize)]
pub struct KnownCounts {
    /// Filled.
    pub filled: u64,
    /// Said no.
    pub said_no: u64,
    /// Expired.
    pub expired: u64,
    /// Asked, no answer logged.
    pub open: u64,
    /// Never asked.
    pub not_asked: u64,
}

impl KnownCounts {
    fn add(&mut self, k: Known) {
        match k {
            Known::Filled => self.filled += 1,
            Known::SaidNo => self.said_no += 1,
            Known::Expired => self.expired += 1,
            Known::Open => self.open += 1,
            Known::NotAsked => self.not_asked += 1,
        }
    }
}

/// One request whose first lender would change.
#[derive(Clone, Debug, Serialize)]
pub struct Changed {
    /// Request id.
    pub request_id: String,
    /// Borrower.
    pub borrower: String,
    /// The lender really asked first, and what it did.
    pub actual_first: (String, Known),
    /// The candidate's first lender, and what it really did.
    pub candidate_first: (String, Known),
    /// The lender that really filled it, if any.
    pub filled_by: Option<String>,
}

/// The replay's findings.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ReplayReport {
    /// Candidate profile.
    pub candidate: String,
    /// Baseline profile.
    pub baseline: String,
    /// Events read.
    pub events: u64,
    /// Requests (distinct request id and borrower with a `Sent`) re-routed.
    pub requests: u64,
    /// Requests skipped: their events name no cluster.
    pub skipped_no_cluster: u64,
    /// Requests skipped: the engine refused them (unknown cluster or borrower); the reason
    /// of the first is in `first_error`.
    pub skipped_error: u64,
    /// The first refusal, for the operator.
    pub first_error: Option<String>,
    /// Requests really filled, and their mean hours from first `Sent` to filled.
    pub actual_filled: u64,
    /// Mean observed hours to fill, over the requests filled.
    pub actual_mean_hours_to_fill: Option<f64>,
    /// What the real first lenders did.
    pub actual_first: KnownCounts,
    /// Requests whose candidate first lender differs from the real first lender.
    pub first_lender_changed: u64,
    /// What the candidate's first lenders really did.
    pub candidate_first: KnownCounts,
    /// What the baseline profile's first lenders really did.
    pub baseline_first: KnownCounts,
    /// Real first lender said no or expired, and the candidate would have gone first to
    /// the lender that really filled.
    pub sped_up: u64,
    /// Hours those requests really waited before the filling lender was asked.
    pub sped_up_hours: f64,
    /// The real first lender filled, and the candidate would have gone first to a lender
    /// that really said no or let it expire.
    pub slowed: u64,
    /// Those lenders' real dead time, hours.
    pub slowed_hours: f64,
    /// The engine's mean expected hours to fill: baseline profile, candidate.
    pub expected_hours: (f64, f64),
    /// First choices' spread over lenders (Gini): real, baseline, candidate.
    pub first_choice_gini: (f64, f64, f64),
    /// The busiest lender's share of first choices: real, baseline, candidate.
    pub busiest_share: (f64, f64, f64),
    /// Some requests whose first lender would change.
    pub examples: Vec<Changed>,
}

#[derive(Default)]
struct Facts {
    cluster: Option<ClusterId>,
    /// lenders in the order asked, with when
    sent: Vec<(LenderId, i64)>,
    answers: HashMap<LenderId, (Known, i64)>,
    filled: Option<(LenderId, i64)>,
}

impl Facts {
    fn known(&self, l: LenderId) -> Known {
        if let Some((k, _)) = self.answers.get(&l) {
            *k
        } else if self.sent.iter().any(|s| s.0 == l) {
            Known::Open
        } else {
            Known::NotAsked
        }
    }

    fn sent_at(&self, l: LenderId) -> Option<i64> {
        self.sent.iter().find(|s| s.0 == l).map(|s| s.1)
    }
}

/// Replays `events` (in log order) under `opts`. Events naming lenders or borrowers the
/// directory does not know are skipped, as the service refused them.
pub fn replay(engine: &Engine, events: &[Event], opts: &ReplayOptions) -> ReplayReport {
    let dir = engine.directory();
    let mut r = ReplayReport {
        candidate: opts.candidate.clone(),
        baseline: opts.baseline.clone(),
        events: events.len() as u64,
        ..ReplayReport::default()
    };
    // pass 1: what really happened to each request
    let mut facts: HashMap<(&str, &str), Facts> = HashMap::new();
    for e in events {
        let Some(l) = dir.index(&e.lender) else {
            continue;
        };
        let f = facts.entry((&e.request_id, &e.borrower)).or_default();
        if f.cluster.is_none() {
            f.cluster = e.cluster;
        }
        let answer = match e.kind {
            EventKind::Sent => {
                if f.sent_at(l).is_none() {
                    f.sent.push((l, e.at));
                }
                None
            }
            EventKind::Loaned | EventKind::CopyCompleted => {
                if f.filled.is_none() {
                    f.filled = Some((l, e.at));
                }
                Some(Known::Filled)
            }
            EventKind::Unfilled(_) | EventKind::RetryPossible(_) => Some(Known::SaidNo),
            EventKind::Expired => Some(Known::Expired),
            _ => None,
        };
        if let Some(k) = answer {
            f.answers.entry(l).or_insert((k, e.at));
        }
    }
    // pass 2: learn as the service did, and re-route at each request's first Sent
    let mut state: LiveState = engine.new_state();
    let n = dir.len();
    let (mut firsts_real, mut firsts_base, mut firsts_cand) =
        (vec![0u64; n], vec![0u64; n], vec![0u64; n]);
    let (mut exp_base, mut exp_cand, mut exp_n) = (0.0, 0.0, 0u64);
    let mut fill_hours = Vec::new();
    let mut routed: std::collections::HashSet<(&str, &str)> = Default::default();
    for e in events {
        let key = (e.request_id.as_str(), e.borrower.as_str());
        if e.kind == EventKind::Sent
            && dir.index(&e.lender).is_some()
            && routed.insert(key)
            && let Some(f) = facts.get(&key)
        {
            match f.cluster {
                None => r.skipped_no_cluster += 1,
                Some(c) => {
                    let req = |profile: &str| Request {
                        request_id: e.request_id.clone(),
                        service: Some(match e.service {
                            Service::Loan => ServiceType::Loan,
                            Service::Copy => ServiceType::Copy,
                        }),
                        max_lenders: opts.max_lenders,
                        profile: Some(profile.to_string()),
                        // the logged request was sent: the borrower could not supply it
                        route_anyway: true,
                        ..Request::new(e.borrower.clone(), Default::default(), e.at)
                    };
                    let base = engine.route_cluster(&state, &req(&opts.baseline), c);
                    let cand = engine.route_cluster(&state, &req(&opts.candidate), c);
                    match (base, cand) {
                        (Ok(b), Ok(k)) => {
                            r.requests += 1;
                            let real_first = f.sent[0].0;
                            firsts_real[real_first.index()] += 1;
                            r.actual_first.add(f.known(real_first));
                            if let Some((_, at)) = f.filled {
                                r.actual_filled += 1;
                                fill_hours.push((at - f.sent[0].1) as f64 / 3600.0);
                            }
                            let first = |s: &rota_routing::LendingString| {
                                s.lenders.first().and_then(|l| dir.index(&l.symbol))
                            };
                            exp_base += b.expected_hours_to_fill;
                            exp_cand += k.expected_hours_to_fill;
                            exp_n += 1;
                            if let Some(bf) = first(&b) {
                                firsts_base[bf.index()] += 1;
                                r.baseline_first.add(f.known(bf));
                            }
                            if let Some(kf) = first(&k) {
                                firsts_cand[kf.index()] += 1;
                                let known = f.known(kf);
                                r.candidate_first.add(known);
                                if kf != real_first {
                                    r.first_lender_changed += 1;
                                    let real = f.known(real_first);
                                    let filler = f.filled.map(|x| x.0);
                                    if filler == Some(kf)
                                        && matches!(real, Known::SaidNo | Known::Expired)
                                    {
                                        r.sped_up += 1;
                                        let asked = f.sent_at(kf).unwrap_or(f.sent[0].1);
                                        r.sped_up_hours += (asked - f.sent[0].1) as f64 / 3600.0;
                                    }
                                    if real == Known::Filled
                                        && matches!(known, Known::SaidNo | Known::Expired)
                                    {
                                        r.slowed += 1;
                                        if let (Some(s), Some((_, at))) =
                                            (f.sent_at(kf), f.answers.get(&kf))
                                        {
                                            r.slowed_hours += (at - s) as f64 / 3600.0;
                                        }
                                    }
                                    if r.examples.len() < opts.examples {
                                        let sym = |i: LenderId| dir.get(i).symbol.clone();
                                        r.examples.push(Changed {
                                            request_id: e.request_id.clone(),
                                            borrower: e.borrower.clone(),
                                            actual_first: (sym(real_first), real),
                                            candidate_first: (sym(kf), known),
                                            filled_by: filler.map(sym),
                                        });
                                    }
                                }
                            }
                        }
                        (Err(x), _) | (_, Err(x)) => {
                            r.skipped_error += 1;
                            if r.first_error.is_none() {
                                r.first_error = Some(x.to_string());
                            }
                        }
                    }
                }
            }
        }
        // the service applied what it accepted; so do we
        let _ = state.apply(dir, e);
    }
    if !fill_hours.is_empty() {
        r.actual_mean_hours_to_fill =
            Some(fill_hours.iter().sum::<f64>() / fill_hours.len() as f64);
    }
    if exp_n > 0 {
        r.expected_hours = (exp_base / exp_n as f64, exp_cand / exp_n as f64);
    }
    let busiest = |v: &[u64]| {
        let t: u64 = v.iter().sum();
        v.iter().copied().max().unwrap_or(0) as f64 / t.max(1) as f64
    };
    r.first_choice_gini = (gini(&firsts_real), gini(&firsts_base), gini(&firsts_cand));
    r.busiest_share = (
        busiest(&firsts_real),
        busiest(&firsts_base),
        busiest(&firsts_cand),
    );
    r
}

impl ReplayReport {
    /// The report for people.
    pub fn markdown(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Replay: profile `{}` against `{}`\n",
            self.candidate, self.baseline
        );
        let _ = writeln!(
            s,
            "{} events; {} requests re-routed at their first `Sent` ({} skipped without a cluster, {} refused{}).\n",
            self.events,
            self.requests,
            self.skipped_no_cluster,
            self.skipped_error,
            self.first_error
                .as_ref()
                .map(|e| format!(": first refusal \"{e}\""))
                .unwrap_or_default()
        );
        let _ = writeln!(
            s,
            "Really: {} filled{}.\n",
            self.actual_filled,
            self.actual_mean_hours_to_fill
                .map(|h| format!(", {h:.1} h on average from first request to filled"))
                .unwrap_or_default()
        );
        let pct = |x: u64| 100.0 * x as f64 / self.requests.max(1) as f64;
        s.push_str("| first lender | filled | said no | expired | asked, no answer | never asked |\n|---|---|---|---|---|---|\n");
        for (name, k) in [
            ("really asked first", &self.actual_first),
            (self.baseline.as_str(), &self.baseline_first),
            (self.candidate.as_str(), &self.candidate_first),
        ] {
            let _ = writeln!(
                s,
                "| {name} | {:.1} % | {:.1} % | {:.1} % | {:.1} % | {:.1} % |",
                pct(k.filled),
                pct(k.said_no),
                pct(k.expired),
                pct(k.open),
                pct(k.not_asked)
            );
        }
        let _ = writeln!(
            s,
            "\nThe candidate changes the first lender of {} requests ({:.1} %).",
            self.first_lender_changed,
            pct(self.first_lender_changed)
        );
        let _ = writeln!(
            s,
            "- **Sped up** (known): {} requests would have gone first to the lender that really filled them after the first said no, saving {:.0} h in all ({:.1} h each).",
            self.sped_up,
            self.sped_up_hours,
            self.sped_up_hours / self.sped_up.max(1) as f64
        );
        let _ = writeln!(
            s,
            "- **Slowed** (known): {} requests really filled by their first lender would have gone first to a lender that really said no, costing {:.0} h of its dead time.",
            self.slowed, self.slowed_hours
        );
        let _ = writeln!(
            s,
            "- The rest is unknown: a lender never asked for a request has no answer to replay.\n"
        );
        let _ = writeln!(
            s,
            "| | really | {} | {} |\n|---|---|---|---|",
            self.baseline, self.candidate
        );
        let _ = writeln!(
            s,
            "| engine's expected hours to fill | | {:.1} | {:.1} |",
            self.expected_hours.0, self.expected_hours.1
        );
        let _ = writeln!(
            s,
            "| first choices, Gini over lenders | {:.3} | {:.3} | {:.3} |",
            self.first_choice_gini.0, self.first_choice_gini.1, self.first_choice_gini.2
        );
        let _ = writeln!(
            s,
            "| busiest lender's share of first choices | {:.1} % | {:.1} % | {:.1} % |",
            100.0 * self.busiest_share.0,
            100.0 * self.busiest_share.1,
            100.0 * self.busiest_share.2
        );
        if !self.examples.is_empty() {
            s.push_str("\n| request | borrower | really first | candidate first | filled by |\n|---|---|---|---|---|\n");
            for c in &self.examples {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} ({:?}) | {} ({:?}) | {} |",
                    c.request_id,
                    c.borrower,
                    c.actual_first.0,
                    c.actual_first.1,
                    c.candidate_first.0,
                    c.candidate_first.1,
                    c.filled_by.as_deref().unwrap_or("-")
                );
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rota_catalog::{Catalog, generate};
    use std::sync::Arc;

    fn engine() -> (Engine, Vec<Event>) {
        let p = generate::GenParams {
            libraries: 30,
            records: 3_000,
            mean_holders: 5.9,
            seed: 5,
        };
        let cat = Arc::new(Catalog::from_bytes(generate::generate(&p, &|_| {}).unwrap()).unwrap());
        let now = 1_800_000_000;
        let day = chrono::DateTime::from_timestamp(now, 0)
            .unwrap()
            .date_naive();
        let dir = Arc::new(rota_routing::synth::directory_for(&cat, 1, day).unwrap());
        let events = rota_routing::synth::history(&dir, 2_000, cat.clusters(), 3, now);
        (Engine::new(cat, dir, vec![]).unwrap(), events)
    }

    #[test]
    fn every_request_is_replayed_once_and_accounted_for() {
        let (engine, events) = engine();
        let opts = ReplayOptions {
            candidate: "pure_fastest_fill".into(),
            ..ReplayOptions::default()
        };
        let r = replay(&engine, &events, &opts);
        assert_eq!(r.events, events.len() as u64);
        assert_eq!(r.requests + r.skipped_error + r.skipped_no_cluster, 2_000);
        let k = &r.actual_first;
        assert_eq!(
            k.filled + k.said_no + k.expired + k.open + k.not_asked,
            r.requests
        );
        assert_eq!(k.not_asked, 0, "the real first lender was asked");
        assert!(r.sped_up + r.slowed <= r.first_lender_changed);
        assert!(r.examples.len() <= opts.examples);
        assert!(r.markdown().contains("pure_fastest_fill"));
        // deterministic
        let again = replay(&engine, &events, &opts);
        assert_eq!(again.first_lender_changed, r.first_lender_changed);
        assert_eq!(again.expected_hours, r.expected_hours);
    }

    #[test]
    fn the_baseline_against_itself_changes_nothing_it_did_not_already() {
        let (engine, events) = engine();
        let r = replay(&engine, &events, &ReplayOptions::default());
        let (b, c) = (&r.baseline_first, &r.candidate_first);
        assert_eq!(
            (b.filled, b.said_no, b.expired, b.open, b.not_asked),
            (c.filled, c.said_no, c.expired, c.open, c.not_asked)
        );
        assert_eq!(r.expected_hours.0, r.expected_hours.1);
    }
}

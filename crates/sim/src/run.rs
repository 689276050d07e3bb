//! One strategy over the arrivals: a discrete-event loop of sends, answers and
//! deliveries, emitting the ISO 18626 events learned routers learn from.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use rota_catalog::{Citation, ClusterId, generate};
use rota_routing::{
    Answer, Engine, Event, EventKind, LenderId, LiveState, Profile, ReasonRetry, ReasonUnfilled,
    Tried,
};
use serde::Serialize;

use crate::strategy::string_for;
use crate::{DAY, H, LOAN_PERIOD, LOCAL_ON_LOAN, SimRequest, Strategy, T0, World};

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum End {
    /// Delivered.
    Filled,
    /// Every string exhausted, or nobody held it.
    Unfilled,
    /// Still open after `max_request_days`.
    TimedOut,
}

/// Per-request outcome.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// Request id.
    pub id: u32,
    /// End state.
    pub end: End,
    /// Hours from request to delivery (filled only).
    pub hours: Option<f64>,
    /// Lenders asked.
    pub tried: u32,
    /// Filled by the first lender asked.
    pub first: bool,
    /// Lenders that let it expire.
    pub expired_at_lender: u32,
    /// Charge paid.
    pub cost: f64,
    /// Lender that filled.
    pub lender: Option<LenderId>,
    /// Lenders asked, in order.
    pub asked: Vec<LenderId>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Arrive(u32),
    /// request, lender, kind: 0 unfilled, 1 retry (on loan), 2 not held (stale), 3 shipped, 4 expired
    Answer(u32, LenderId, u8),
    Deliver(u32, LenderId),
}

struct Open {
    string: Vec<LenderId>,
    pos: usize,
    tried: Vec<Tried>,
    rounds: u32,
    expired: u32,
    asked_list: Vec<LenderId>,
}

pub(crate) fn h64(a: u64, b: u64, c: u64) -> u64 {
    let mut x = a.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
        ^ c.wrapping_mul(0x1656_67B1_9E37_79F9);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

pub(crate) fn unit(a: u64, b: u64, c: u64) -> f64 {
    (h64(a, b, c) >> 11) as f64 / (1u64 << 53) as f64
}

/// Runs one strategy over the arrivals.
pub fn run(w: &World, strategy: &Strategy, reqs: &[SimRequest]) -> Vec<Outcome> {
    let s = &w.scenario;
    let dir = w.directory.clone();
    let n = dir.len();
    let profiles: Vec<Profile> = match strategy {
        Strategy::Rota(p) => vec![(**p).clone()],
        _ => vec![],
    };
    let pname = match strategy {
        Strategy::Rota(p) => p.name.clone(),
        _ => "default".into(),
    };
    let engine = Engine::new(w.catalog.clone(), dir.clone(), profiles)
        .expect("profiles validated when parsed");
    // the live state learns with the strategy's own priors and half-life
    let priors = match strategy {
        Strategy::Rota(p) => p.priors,
        _ => rota_routing::Priors::default(),
    };
    let mut state = LiveState::new(dir.len(), priors);
    let mut heap: BinaryHeap<Reverse<(i64, u64, Ev)>> = BinaryHeap::new();
    for r in reqs {
        seq_push(&mut heap, r.at, Ev::Arrive(r.id));
    }
    let mut open: HashMap<u32, Open> = HashMap::new();
    let mut out: Vec<Option<Outcome>> = vec![None; reqs.len()];
    // ReShare counters and lender workload
    let mut active_loans = vec![0i64; n];
    let mut active_borrows = vec![0i64; n];
    let mut load = vec![0u32; n];
    let mut on_loan: HashMap<(LenderId, u64), i64> = HashMap::new();
    let seed = s.seed;
    let lender_of_lib: Vec<Option<LenderId>> = w
        .catalog
        .libraries()
        .iter()
        .map(|l| dir.index(&l.symbol))
        .collect();
    let cluster_of = |rec: u64| -> Option<ClusterId> {
        engine
            .catalog()
            .lookup(
                &Citation {
                    isbn: Some(generate::isbn_of(rec)),
                    ..Citation::default()
                },
                Default::default(),
            )
            .ok()
            .and_then(|m| m.first().map(|m| m.cluster))
    };
    let apply = |state: &mut LiveState,
                 at: i64,
                 r: &SimRequest,
                 lender: LenderId,
                 cluster: Option<ClusterId>,
                 kind: EventKind| {
        let e = Event {
            at,
            request_id: format!("sim-{}", r.id),
            borrower: dir.get(r.borrower).symbol.clone(),
            lender: dir.get(lender).symbol.clone(),
            cluster,
            service: rota_routing::Service::Loan,
            kind,
        };
        let _ = state.apply(&dir, &e);
    };
    let mut refreshed = i64::MIN;
    let mut steps = 0u64;
    while let Some(Reverse((now, _, ev))) = heap.pop() {
        steps += 1;
        if steps % 4096 == 0 && w.deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            break; // `simulate_with` reports the deadline; nothing here is kept
        }
        // what the server's timer does: keep cached lender estimates fresh
        if now.saturating_sub(refreshed) >= 3600 {
            state.refresh_stale(now);
            refreshed = now;
        }
        let rid = match ev {
            Ev::Arrive(r) | Ev::Answer(r, _, _) | Ev::Deliver(r, _) => r,
        };
        let r = &reqs[rid as usize];
        let cluster = cluster_of(r.record);
        // route (first string or a re-route) and send to the next lender
        let next_lender = |state: &mut LiveState,
                           o: &mut Open,
                           now: i64,
                           heap: &mut BinaryHeap<Reverse<(i64, u64, Ev)>>,
                           load: &mut Vec<u32>,
                           active_loans: &mut Vec<i64>,
                           active_borrows: &[i64],
                           on_loan: &mut HashMap<(LenderId, u64), i64>|
         -> bool {
            loop {
                if o.pos < o.string.len() {
                    let l = o.string[o.pos];
                    o.pos += 1;
                    o.asked_list.push(l);
                    apply(state, now, r, l, cluster, EventKind::Sent);
                    load[l.index()] += 1;
                    active_loans[l.index()] += 1;
                    let t = &w.truth[l.index()];
                    let u = |k: u64| unit(seed ^ u64::from(r.id), u64::from(l.get()), k);
                    // overload: past a day's work the lender slows and fills less
                    let overload =
                        (f64::from(load[l.index()]) / t.per_day - 1.0).clamp(0.0, s.max_slowdown);
                    let stale = unit(seed, u64::from(l.get()), r.record) < s.stale_holdings;
                    // the copy is out: lent through ILL earlier in this run, or to a local
                    // patron this loan period (the same for every request in the period)
                    let period = (now - T0).div_euclid(LOAN_PERIOD);
                    let out_locally = unit(
                        seed ^ 0x10CA1,
                        u64::from(l.get()),
                        r.record ^ (period as u64).wrapping_mul(0x9E37),
                    ) < LOCAL_ON_LOAN;
                    let out_ill = on_loan
                        .get(&(l, r.record))
                        .is_some_and(|until| *until > now);
                    let (kind, hours) = if u(1) < t.silent {
                        (4u8, s.timeout_hours)
                    } else if stale {
                        (2, t.answer_h * (0.5 + u(2)) * (1.0 + overload))
                    } else if out_locally || out_ill {
                        (1, t.answer_h * (0.5 + u(6)) * (1.0 + overload))
                    } else if u(3) < t.p_fill / (1.0 + 0.5 * overload) {
                        (3, t.ship_h * (0.5 + u(4)) * (1.0 + overload))
                    } else {
                        (0, t.answer_h * (0.5 + u(6)) * (1.0 + overload))
                    };
                    let timeout = (s.timeout_hours * H as f64) as i64;
                    let (kind, at) = answer_at(now, hours, kind, timeout);
                    if kind == 3 {
                        // out on interlibrary loan until shipped, used and returned
                        let away = (s.ill_loan_days * DAY as f64) as i64;
                        on_loan.insert((l, r.record), at + away);
                    }
                    seq_push(heap, at, Ev::Answer(r.id, l, kind));
                    return true;
                }
                if o.rounds >= s.max_rounds {
                    return false;
                }
                o.rounds += 1;
                o.pos = 0;
                o.string = string_for(
                    w,
                    &engine,
                    state,
                    strategy,
                    &pname,
                    r,
                    &o.tried,
                    now,
                    active_loans,
                    active_borrows,
                    &lender_of_lib,
                );
                if o.string.is_empty() {
                    return false;
                }
            }
        };
        match ev {
            Ev::Arrive(_) => {
                active_borrows[r.borrower.index()] += 1;
                let mut o = Open {
                    string: Vec::new(),
                    pos: 0,
                    tried: Vec::new(),
                    rounds: 0,
                    expired: 0,
                    asked_list: Vec::new(),
                };
                if !next_lender(
                    &mut state,
                    &mut o,
                    now,
                    &mut heap,
                    &mut load,
                    &mut active_loans,
                    &active_borrows,
                    &mut on_loan,
                ) {
                    active_borrows[r.borrower.index()] -= 1;
                    out[rid as usize] = Some(Outcome {
                        id: rid,
                        end: End::Unfilled,
                        hours: None,
                        tried: 0,
                        first: false,
                        expired_at_lender: 0,
                        cost: 0.0,
                        lender: None,
                        asked: Vec::new(),
                    });
                } else {
                    open.insert(rid, o);
                }
            }
            Ev::Answer(_, l, kind) => {
                load[l.index()] = load[l.index()].saturating_sub(1);
                active_loans[l.index()] -= 1;
                let Some(mut o) = open.remove(&rid) else {
                    continue;
                };
                if kind == 3 {
                    apply(&mut state, now, r, l, cluster, EventKind::Loaned);
                    let at = now + (w.transit_h(l.index(), r.borrower.index()) * H as f64) as i64;
                    seq_push(&mut heap, at, Ev::Deliver(rid, l));
                    open.insert(rid, o);
                    continue;
                }
                let (ek, ans) = match kind {
                    0 => (
                        EventKind::Unfilled(ReasonUnfilled::PolicyProblem),
                        Answer::Unfilled(ReasonUnfilled::PolicyProblem),
                    ),
                    1 => (
                        EventKind::RetryPossible(ReasonRetry::OnLoan),
                        Answer::Retry(ReasonRetry::OnLoan),
                    ),
                    2 => (
                        EventKind::Unfilled(ReasonUnfilled::NotHeld),
                        Answer::Unfilled(ReasonUnfilled::NotHeld),
                    ),
                    _ => {
                        o.expired += 1;
                        (EventKind::Expired, Answer::NoAnswer)
                    }
                };
                apply(&mut state, now, r, l, cluster, ek);
                o.tried.push(Tried {
                    lender: dir.get(l).symbol.clone(),
                    answer: ans,
                    at: Some(now),
                });
                let aged = (now - r.at) as f64 > s.max_request_days * DAY as f64;
                let sent = !aged
                    && next_lender(
                        &mut state,
                        &mut o,
                        now,
                        &mut heap,
                        &mut load,
                        &mut active_loans,
                        &active_borrows,
                        &mut on_loan,
                    );
                if sent {
                    open.insert(rid, o);
                } else {
                    active_borrows[r.borrower.index()] -= 1;
                    out[rid as usize] = Some(Outcome {
                        id: rid,
                        end: if aged { End::TimedOut } else { End::Unfilled },
                        hours: None,
                        tried: o.asked_list.len() as u32,
                        first: false,
                        expired_at_lender: o.expired,
                        cost: 0.0,
                        lender: None,
                        asked: o.asked_list,
                    });
                }
            }
            Ev::Deliver(_, l) => {
                apply(&mut state, now, r, l, cluster, EventKind::Received);
                active_borrows[r.borrower.index()] -= 1;
                let Some(o) = open.remove(&rid) else { continue };
                out[rid as usize] = Some(Outcome {
                    id: rid,
                    end: End::Filled,
                    hours: Some((now - r.at) as f64 / H as f64),
                    tried: o.asked_list.len() as u32,
                    first: o.asked_list.len() == 1,
                    expired_at_lender: o.expired,
                    cost: w.truth[l.index()].charge,
                    lender: Some(l),
                    asked: o.asked_list,
                });
            }
        }
    }
    // the heap drains completely: every request has ended exactly once
    out.into_iter()
        .enumerate()
        .map(|(i, o)| {
            o.unwrap_or(Outcome {
                id: i as u32,
                end: End::TimedOut,
                hours: None,
                tried: 0,
                first: false,
                expired_at_lender: 0,
                cost: 0.0,
                lender: None,
                asked: Vec::new(),
            })
        })
        .collect()
}

/// When a lender's answer of `kind` taking `hours` reaches the borrower, and whether it
/// does at all. Answers wait for the next working day (no weekend processing). The
/// borrower does not wait past its timeout: an answer or a shipment that would come later
/// never comes; the request expires there (kind 4) and moves on, as borrowing systems do
/// after 3-4 days.
pub(crate) fn answer_at(now: i64, hours: f64, kind: u8, timeout: i64) -> (u8, i64) {
    let mut at = now + (hours * H as f64) as i64;
    if kind != 4 {
        let dow = ((at - T0).div_euclid(DAY)) % 7;
        if dow >= 5 {
            at += (7 - dow) * DAY;
        }
    }
    if kind != 4 && at - now > timeout {
        (4, now + timeout)
    } else {
        (kind, at)
    }
}

fn seq_push(heap: &mut BinaryHeap<Reverse<(i64, u64, Ev)>>, t: i64, e: Ev) {
    // the sequence only breaks ties in time; derive it from the event for determinism
    let k = match e {
        Ev::Arrive(r) => u64::from(r) << 8,
        Ev::Answer(r, l, k) => (u64::from(r) << 24) ^ (u64::from(l.get()) << 4) ^ u64::from(k) ^ 1,
        Ev::Deliver(r, l) => (u64::from(r) << 24) ^ (u64::from(l.get()) << 4) ^ 2,
    };
    heap.push(Reverse((t, k, e)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_reaches_a_borrower_after_its_timeout() {
        let timeout = 96 * H;
        // Monday 9:00
        let monday = T0 + 9 * H;
        assert_eq!(answer_at(monday, 30.0, 0, timeout), (0, monday + 30 * H));
        // a shipment after five days: the borrower gave up at four
        assert_eq!(answer_at(monday, 120.0, 3, timeout), (4, monday + timeout));
        // Friday 9:00 + 20 h lands on Saturday: Monday, 63 h later, inside the timeout
        let friday = T0 + 4 * DAY + 9 * H;
        assert_eq!(
            answer_at(friday, 20.0, 0, timeout),
            (0, friday + 20 * H + 2 * DAY)
        );
        // Thursday 9:00 + 50 h lands on Saturday, pushed to Monday 11:00, 98 h after the
        // request: past the timeout
        let thursday = T0 + 3 * DAY + 9 * H;
        assert_eq!(
            answer_at(thursday, 50.0, 1, timeout),
            (4, thursday + timeout)
        );
        // silence is the timeout itself
        assert_eq!(answer_at(friday, 96.0, 4, timeout), (4, friday + timeout));
    }
}

//! One strategy over the arrivals: a discrete-event loop of sends, answers and
//! deliveries, emitting the ISO 18626 events learned routers learn from.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use rota_catalog::ClusterId;
use rota_routing::{
    Answer, Engine, Event, EventKind, LenderId, LiveState, Profile, ReasonRetry, ReasonUnfilled,
    Tried,
};
use serde::Serialize;

use crate::draw::{Fate, Floor, draw};
use crate::strategy::string_for;
use crate::{DAY, H, ServiceKind, SimRequest, Strategy, World};

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
    /// Lenders that answered no, on loan and not held.
    pub said: [u32; 3],
    /// Charge paid.
    pub cost: f64,
    /// Lender that filled.
    pub lender: Option<LenderId>,
    /// Lenders asked, in order.
    pub asked: Vec<LenderId>,
}

impl Outcome {
    /// A request that ended without being sent to anyone.
    fn unsent(id: u32, end: End) -> Outcome {
        Outcome {
            id,
            end,
            hours: None,
            tried: 0,
            first: false,
            expired_at_lender: 0,
            said: [0; 3],
            cost: 0.0,
            lender: None,
            asked: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Arrive(u32),
    /// request, lender, what the lender did
    Answer(u32, LenderId, Fate),
    Deliver(u32, LenderId),
    /// the copy lent for the request is back on the lender's shelf
    Return(u32, LenderId),
}

struct Open {
    string: Vec<LenderId>,
    pos: usize,
    tried: Vec<Tried>,
    rounds: u32,
    expired: u32,
    said: [u32; 3],
    asked_list: Vec<LenderId>,
}

/// What a learned router was told and what it answered, in order: enough to replay its
/// every decision without the world (see the test `learned_routers_see_only_events`).
#[derive(Clone, Debug)]
pub enum Trace {
    /// An event applied to the live state.
    Event(Event),
    /// The state's hourly refresh of cached estimates.
    Refresh(i64),
    /// A string routed: request, lenders tried, when, the live availability the world's
    /// catalogues answered, and the lenders returned.
    Route(
        u32,
        Vec<Tried>,
        i64,
        Vec<rota_routing::Availability>,
        Vec<LenderId>,
    ),
}

/// Runs one strategy over the arrivals.
pub fn run(w: &World, strategy: &Strategy, reqs: &[SimRequest]) -> Vec<Outcome> {
    run_traced(w, strategy, reqs, None)
}

/// [`run`], recording what the live state learned from and what was routed.
pub fn run_traced(
    w: &World,
    strategy: &Strategy,
    reqs: &[SimRequest],
    trace: Option<&std::cell::RefCell<Vec<Trace>>>,
) -> Vec<Outcome> {
    let record = |t: Trace| {
        if let Some(tr) = trace {
            tr.borrow_mut().push(t);
        }
    };
    let s = &w.scenario;
    let dir = w.directory.clone();
    let n = dir.len();
    let profiles: Vec<Profile> = match strategy {
        Strategy::Rota(p) => vec![(**p).clone()],
        _ => vec![],
    };
    let engine = Engine::new(w.catalog.clone(), dir.clone(), profiles)
        .expect("profiles validated when parsed");
    // the live state learns with the strategy's own priors and half-life
    let priors = match strategy {
        Strategy::Rota(p) => p.priors,
        _ => rota_routing::Priors::default(),
    };
    let service = match s.service {
        ServiceKind::Loan => rota_routing::Service::Loan,
        ServiceKind::Copy => rota_routing::Service::Copy,
    };
    let mut state = LiveState::new(dir.len(), priors);
    let mut heap: BinaryHeap<Reverse<(i64, u64, Ev)>> = BinaryHeap::new();
    for r in reqs {
        seq_push(&mut heap, r.at, Ev::Arrive(r.id));
    }
    let mut open: HashMap<u32, Open> = HashMap::new();
    let mut out: Vec<Option<Outcome>> = vec![None; reqs.len()];
    // ReShare's counters, and what happens at the lenders
    let mut active_loans = vec![0i64; n];
    let mut active_borrows = vec![0i64; n];
    let mut floor = Floor::new(n);
    let lender_of_lib: Vec<Option<LenderId>> = w
        .catalog
        .libraries()
        .iter()
        .map(|l| dir.index(&l.symbol))
        .collect();
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
            service,
            kind,
        };
        let _ = state.apply(&dir, &e);
        record(Trace::Event(e));
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
            record(Trace::Refresh(now));
            refreshed = now;
        }
        let rid = match ev {
            Ev::Arrive(r) | Ev::Answer(r, _, _) | Ev::Deliver(r, _) | Ev::Return(r, _) => r,
        };
        let r = &reqs[rid as usize];
        let cluster = w.cluster(r.record);
        // route (first string or a re-route) and send to the next lender
        let next_lender = |state: &mut LiveState,
                           o: &mut Open,
                           now: i64,
                           heap: &mut BinaryHeap<Reverse<(i64, u64, Ev)>>,
                           floor: &mut Floor,
                           active_loans: &mut Vec<i64>,
                           active_borrows: &[i64]|
         -> bool {
            // the strategy's string for this request, from the world as it is now
            let route = |state: &LiveState, tried: &[Tried], floor: &Floor, loans: &[i64]| {
                string_for(
                    w,
                    &engine,
                    state,
                    strategy,
                    r,
                    tried,
                    now,
                    floor,
                    loans,
                    active_borrows,
                    &lender_of_lib,
                )
            };
            loop {
                if o.pos > 0
                    && o.pos < o.string.len()
                    && matches!(strategy, Strategy::OutcomeOracle)
                {
                    // the outcome oracle plans each step with the world as it is now, in the
                    // places its string has left
                    let left = o.string.len() - o.pos;
                    let mut next = route(state, &o.tried, floor, active_loans);
                    next.truncate(left);
                    o.string.truncate(o.pos);
                    o.string.extend(next);
                }
                if o.pos < o.string.len() {
                    let l = o.string[o.pos];
                    o.pos += 1;
                    o.asked_list.push(l);
                    apply(state, now, r, l, cluster, EventKind::Sent);
                    let (fate, at) = draw(w, floor, r, l, now);
                    floor.receive(l, now);
                    active_loans[l.index()] += 1;
                    if fate == Fate::Shipped && s.service == ServiceKind::Loan {
                        // out on interlibrary loan until shipped, used and returned
                        let back = at + (s.ill_loan_days * DAY as f64) as i64;
                        floor.on_loan.insert((l, r.record), back);
                        seq_push(heap, back, Ev::Return(r.id, l));
                    }
                    seq_push(heap, at, Ev::Answer(r.id, l, fate));
                    return true;
                }
                if o.rounds >= s.max_rounds {
                    return false;
                }
                o.rounds += 1;
                o.pos = 0;
                o.string = route(state, &o.tried, floor, active_loans);
                if trace.is_some() {
                    let avail = crate::strategy::availability(w, &engine, floor, r, now);
                    record(Trace::Route(
                        r.id,
                        o.tried.clone(),
                        now,
                        avail,
                        o.string.clone(),
                    ));
                }
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
                    said: [0; 3],
                    asked_list: Vec::new(),
                };
                if !next_lender(
                    &mut state,
                    &mut o,
                    now,
                    &mut heap,
                    &mut floor,
                    &mut active_loans,
                    &active_borrows,
                ) {
                    active_borrows[r.borrower.index()] -= 1;
                    out[rid as usize] = Some(Outcome::unsent(rid, End::Unfilled));
                } else {
                    open.insert(rid, o);
                }
            }
            Ev::Answer(_, l, fate) => {
                active_loans[l.index()] -= 1;
                let Some(mut o) = open.remove(&rid) else {
                    continue;
                };
                if fate == Fate::Shipped {
                    let kind = match s.service {
                        ServiceKind::Loan => EventKind::Loaned,
                        ServiceKind::Copy => EventKind::CopyCompleted,
                    };
                    apply(&mut state, now, r, l, cluster, kind);
                    let at = now + (w.transit_h(l.index(), r.borrower.index()) * H as f64) as i64;
                    seq_push(&mut heap, at, Ev::Deliver(rid, l));
                    open.insert(rid, o);
                    continue;
                }
                match fate {
                    Fate::Unfilled => o.said[0] += 1,
                    Fate::OnLoan => o.said[1] += 1,
                    Fate::NotHeld => o.said[2] += 1,
                    Fate::Expired | Fate::Shipped => {}
                }
                let (ek, ans) = match fate {
                    Fate::Unfilled => (
                        EventKind::Unfilled(ReasonUnfilled::PolicyProblem),
                        Answer::Unfilled(ReasonUnfilled::PolicyProblem),
                    ),
                    Fate::OnLoan => (
                        EventKind::RetryPossible(ReasonRetry::OnLoan),
                        Answer::Retry(ReasonRetry::OnLoan),
                    ),
                    Fate::NotHeld => (
                        EventKind::Unfilled(ReasonUnfilled::NotHeld),
                        Answer::Unfilled(ReasonUnfilled::NotHeld),
                    ),
                    Fate::Expired | Fate::Shipped => {
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
                        &mut floor,
                        &mut active_loans,
                        &active_borrows,
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
                        said: o.said,
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
                    said: o.said,
                    cost: w.truth[l.index()].charge,
                    lender: Some(l),
                    asked: o.asked_list,
                });
            }
            Ev::Return(_, l) => {
                apply(&mut state, now, r, l, cluster, EventKind::Returned);
                if floor.on_loan.get(&(l, r.record)).is_some_and(|t| *t <= now) {
                    floor.on_loan.remove(&(l, r.record));
                }
            }
        }
    }
    // the heap drains completely: every request has ended exactly once
    out.into_iter()
        .enumerate()
        .map(|(i, o)| o.unwrap_or(Outcome::unsent(i as u32, End::TimedOut)))
        .collect()
}

fn seq_push(heap: &mut BinaryHeap<Reverse<(i64, u64, Ev)>>, t: i64, e: Ev) {
    // the sequence only breaks ties in time; derive it from the event for determinism
    let k = match e {
        Ev::Arrive(r) => u64::from(r) << 8,
        Ev::Answer(r, l, f) => {
            (u64::from(r) << 24) ^ (u64::from(l.get()) << 4) ^ ((f as u64) << 2) ^ 1
        }
        Ev::Deliver(r, l) => (u64::from(r) << 24) ^ (u64::from(l.get()) << 4) ^ 2,
        Ev::Return(r, l) => (u64::from(r) << 24) ^ (u64::from(l.get()) << 4) ^ 3,
    };
    heap.push(Reverse((t, k, e)));
}

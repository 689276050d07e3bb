//! A past for a consortium that has none: the simulated world run up to now with rota's
//! own router, and the lifecycle events it produced. The demo consortium starts with this
//! history, so its lenders already differ, its strings were chosen by the same ranking
//! the server uses, and a request whose lender has not answered yet is still open.

use std::cell::RefCell;

use rota_routing::{Event, Profile};

use crate::{DAY, Strategy, T0, Trace, World, arrivals, run_traced};

/// The events of the world's arrivals routed with `profile`, moved in time by whole weeks
/// (the world's weekdays are the calendar's) so that `end` (unix seconds) falls in the
/// arrivals' last week; what would happen after `end` is left out. In order of time.
pub fn history(world: &World, profile: Profile, end: i64) -> Vec<Event> {
    let reqs = arrivals(world);
    let trace = RefCell::new(Vec::new());
    run_traced(
        world,
        &Strategy::Rota(Box::new(profile)),
        &reqs,
        Some(&trace),
    );
    let week = 7 * DAY;
    let unaligned = end - (T0 + i64::from(world.scenario.days) * DAY);
    let shift = unaligned.div_euclid(week) * week
        + if unaligned.rem_euclid(week) == 0 {
            0
        } else {
            week
        };
    trace
        .into_inner()
        .into_iter()
        .filter_map(|t| match t {
            Trace::Event(mut e) => {
                e.at += shift;
                (e.at <= end).then_some(e)
            }
            _ => None,
        })
        .collect()
}

/// The demo consortium's past, as the server records it on its first start (and the load
/// test's baseline replays): about two months of requests (400 a weekday for the demo's
/// 300 libraries, in proportion for other sizes), routed with the default profile in a
/// world over the demo's catalogue and directory, up to `now`.
pub fn demo(
    catalog: std::sync::Arc<rota_catalog::Catalog>,
    directory: std::sync::Arc<rota_routing::Directory>,
    now: i64,
) -> Result<Vec<Event>, crate::SimError> {
    let libraries = catalog.libraries().len() as f64;
    let s = crate::Scenario {
        seed: 11,
        days: 67,
        // the generator's record numbers that found a cluster (all of them, in the demo)
        records: catalog.clusters() as usize,
        requests_per_day: (libraries * 4.0 / 3.0).max(20.0),
        ..crate::Scenario::default()
    };
    let world = World::over(catalog, directory, &s)?;
    Ok(history(&world, Profile::default(), now))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rota_catalog::{Catalog, generate};
    use rota_routing::EventKind;

    use super::*;
    use crate::Scenario;

    #[test]
    fn a_past_routed_by_rota_that_ends_now() {
        let params = generate::GenParams {
            libraries: 12,
            records: 3_000,
            mean_holders: 4.0,
            seed: 42,
        };
        let cat =
            Arc::new(Catalog::from_bytes(generate::generate(&params, &|_| {}).unwrap()).unwrap());
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let dir = Arc::new(rota_routing::synth::directory_for(&cat, 1, today).unwrap());
        let s = Scenario {
            days: 20,
            records: 3_000,
            requests_per_day: 40.0,
            ..Scenario::default()
        };
        let w = World::over(cat, dir.clone(), &s).unwrap();
        let end = 1_796_688_000;
        let h = history(&w, Profile::default(), end);
        assert!(h.len() > 500, "{}", h.len());
        assert!(h.windows(2).all(|p| p[0].at <= p[1].at), "in order of time");
        assert!(h.iter().all(|e| e.at <= end && e.at > end - 21 * DAY));
        assert!(
            h.iter().any(|e| e.at < end - 13 * DAY),
            "at least the days less a week"
        );
        // the world's quiet weekends are the calendar's
        let mut by_weekday = [0u32; 7];
        for e in h.iter().filter(|e| e.kind == EventKind::Sent) {
            let d = chrono::DateTime::from_timestamp(e.at, 0).unwrap();
            by_weekday[chrono::Datelike::weekday(&d).num_days_from_monday() as usize] += 1;
        }
        let weekday = by_weekday[..5].iter().sum::<u32>() / 5;
        let weekend = by_weekday[5..].iter().sum::<u32>() / 2;
        assert!(weekend * 2 < weekday, "{by_weekday:?}");
        assert!(h.iter().all(|e| e.borrower != e.lender));
        assert!(h.iter().all(|e| dir.index(&e.lender).is_some()));
        let sent = h.iter().filter(|e| e.kind == EventKind::Sent).count();
        let filled = h
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Loaned | EventKind::CopyCompleted))
            .count();
        assert!(
            filled > 0 && sent > filled,
            "some strings went past their first lender"
        );
        // requests sent in the last hours are still open: no answer yet
        let i = h.iter().rposition(|e| e.kind == EventKind::Sent).unwrap();
        assert!(!h[i + 1..].iter().any(|e| e.request_id == h[i].request_id));
    }
}

//! Requests: when they arrive, from whom, for what.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rota_catalog::{Citation, LibraryId, generate};
use rota_routing::LenderId;
use serde::Serialize;

use crate::{DAY, H, T0, World};

/// One simulated request.
#[derive(Clone, Debug, Serialize)]
pub struct SimRequest {
    /// Id.
    pub id: u32,
    /// Arrival (unix seconds).
    pub at: i64,
    /// Borrower.
    pub borrower: LenderId,
    /// Synthetic record (ISBN index).
    pub record: u64,
    /// The cited article's year (article-copy scenarios).
    pub year: Option<u16>,
}

/// Draws of a record a borrower does not hold before the request is dropped (a library
/// that holds nearly everything asked for borrows little; the IMLS borrowing weights
/// already say how little).
const MAX_DRAWS: usize = 20;

fn holds(w: &World, record: u64, lib: LibraryId) -> bool {
    let c = Citation {
        isbn: Some(generate::isbn_of(record)),
        ..Citation::default()
    };
    w.catalog
        .lookup(&c, Default::default())
        .ok()
        .and_then(|m| m.first().map(|m| m.cluster))
        .is_some_and(|cl| w.catalog.holders(cl).iter().any(|h| h.library == lib))
}

/// Arrivals: Poisson per day with a weekday shape (weekends 25 %) and a season (±20 %).
pub fn arrivals(w: &World) -> Vec<SimRequest> {
    let s = &w.scenario;
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed ^ 0xA55);
    let borrow = rand::distributions::WeightedIndex::new(&w.borrow_w).ok();
    let mut out = Vec::new();
    let n = w.directory.len() as u32;
    // a record's weight: its popularity (`r^e` of the way through the catalogue, r
    // uniform) times its lendable holders to `holders_exponent` (a title nobody lends
    // counting as half a holder, so such requests still happen)
    let (e, nrec) = (s.popularity_exponent, s.records as f64);
    let cdf = |i: usize| (i as f64 / nrec).powf(1.0 / e);
    // articles are asked for from journals only
    let copies = s.service == crate::ServiceKind::Copy;
    let record_w: Vec<f64> = (0..s.records)
        .map(|i| {
            if copies && !w.serial[i] {
                return 0.0;
            }
            (cdf(i + 1) - cdf(i)) * (f64::from(w.holders[i]).max(0.5)).powf(s.holders_exponent)
        })
        .collect();
    let Ok(records) = rand::distributions::WeightedIndex::new(&record_w) else {
        return out;
    };
    // each borrower's library in the catalogue
    let held_by: Vec<Option<LibraryId>> = w
        .directory
        .lenders()
        .iter()
        .map(|l| w.catalog.library_id(&l.symbol))
        .collect();
    for day in 0..s.days {
        let weekday = day % 7; // T0 is a Monday
        let shape = if weekday >= 5 { 0.25 } else { 1.0 };
        let season = 1.0 + 0.2 * (2.0 * std::f64::consts::PI * f64::from(day) / 365.0).sin();
        let mean = s.requests_per_day * shape * season;
        // Poisson by summing exponential gaps
        let mut t = 0.0;
        loop {
            t += -rng.r#gen::<f64>().max(1e-12).ln() / mean;
            if t >= 1.0 {
                break;
            }
            let borrower = match &borrow {
                Some(b) => rand::distributions::Distribution::sample(b, &mut rng) as u32,
                None => rng.gen_range(0..n),
            };
            // Zipf-ish popularity: low record numbers are asked for more often; a
            // library borrows what it does not hold (a few draws, then it gives up)
            let held = held_by.get(borrower as usize).copied().flatten();
            let mut record = None;
            for _ in 0..MAX_DRAWS {
                let rec = rand::distributions::Distribution::sample(&records, &mut rng) as u64;
                if held.is_none_or(|lib| !holds(w, rec, lib)) {
                    record = Some(rec);
                    break;
                }
            }
            let Some(record) = record else { continue };
            // recent articles are asked for most: years back exponential, mean 8
            let year = copies.then(|| {
                let back = (-rng.r#gen::<f64>().max(1e-12).ln() * 8.0).min(60.0);
                2025 - back as u16
            });
            out.push(SimRequest {
                id: out.len() as u32,
                at: T0 + i64::from(day) * DAY + (8.0 * H as f64 + t * 10.0 * H as f64) as i64,
                borrower: LenderId::new(borrower),
                record,
                year,
            });
        }
    }
    out
}

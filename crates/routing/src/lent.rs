//! What rota knows of the loans it routed itself: whose copy of which title is away on
//! interlibrary loan (from `Loaned` until `Returned`, or until it is surely back), and
//! when each shipment left, so that `Received` teaches each lender's transit time.
//!
//! Both are learned from the ISO 18626 events alone. A lender whose every copy of a title
//! is away on a loan rota routed is not asked for it again: it would answer "on loan"
//! after a day or two, the dead time ranking exists to remove.

use rustc_hash::FxHashMap as HashMap;

use serde::{Deserialize, Serialize};

/// How long a copy lent through ILL is taken to be away when no `Returned` event comes: a
/// four-week ILL loan, transit both ways and a margin.
pub const AWAY_S: i64 = 42 * 86_400;

/// A shipment not received within this long is forgotten (a lost `Received` event must
/// not keep memory growing).
const MOVING_FORGET_S: i64 = 60 * 86_400;

/// Copies away and shipments moving.
#[derive(Clone, Debug, Default)]
pub(crate) struct Shipments {
    /// (lender, cluster) -> (copies away, until when the latest of them is surely back)
    away: HashMap<(u32, u32), (u16, i64)>,
    /// (request id hash, lender) -> when it was loaned, until it is received
    moving: HashMap<(u64, u32), i64>,
    /// When `moving` was last swept of shipments never received.
    swept: i64,
}

/// The serialised form (JSON keys must be strings: maps become lists).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct ShipmentsFile {
    away: Vec<((u32, u32), (u16, i64))>,
    moving: Vec<((u64, u32), i64)>,
}

impl ShipmentsFile {
    /// Clusters with a copy away (the filter checks those for [`Shipments::away`]).
    pub(crate) fn away_clusters(&self) -> impl Iterator<Item = u32> + '_ {
        self.away.iter().map(|((_, c), _)| *c)
    }
}

impl Shipments {
    /// A lender shipped a loan of `cluster` for request `rid` at `at`.
    pub(crate) fn loaned(&mut self, rid: u64, lender: u32, cluster: Option<u32>, at: i64) {
        if let Some(c) = cluster {
            let e = self.away.entry((lender, c)).or_insert((0, at));
            e.0 = e.0.saturating_add(1);
            e.1 = e.1.max(at + AWAY_S);
        }
        self.moving.insert((rid, lender), at);
        if at - self.swept > 86_400 {
            self.moving.retain(|_, t| at - *t < MOVING_FORGET_S);
            self.away.retain(|_, (_, until)| *until > at);
            self.swept = at;
        }
    }

    /// The borrower received request `rid` from `lender` at `at`: hours in transit.
    pub(crate) fn received(&mut self, rid: u64, lender: u32, at: i64) -> Option<f64> {
        self.moving
            .remove(&(rid, lender))
            .map(|t| ((at - t).max(0) as f64 / 3600.0).max(0.1))
    }

    /// The borrower returned a copy of `cluster` to `lender`.
    pub(crate) fn returned(&mut self, lender: u32, cluster: Option<u32>) {
        let Some(c) = cluster else { return };
        if let Some(e) = self.away.get_mut(&(lender, c)) {
            e.0 = e.0.saturating_sub(1);
            if e.0 == 0 {
                self.away.remove(&(lender, c));
            }
        }
    }

    /// Copies of `cluster` the lender has away on loans rota routed, at `now`.
    pub(crate) fn away(&self, lender: u32, cluster: u32, now: i64) -> u16 {
        self.away
            .get(&(lender, cluster))
            .filter(|(_, until)| *until > now)
            .map_or(0, |(n, _)| *n)
    }

    pub(crate) fn to_file(&self) -> ShipmentsFile {
        ShipmentsFile {
            away: self.away.iter().map(|(k, v)| (*k, *v)).collect(),
            moving: self.moving.iter().map(|(k, v)| (*k, *v)).collect(),
        }
    }

    pub(crate) fn from_file(f: ShipmentsFile) -> Shipments {
        Shipments {
            away: f.away.into_iter().collect(),
            moving: f.moving.into_iter().collect(),
            swept: 0,
        }
    }
}

/// Hours a loan takes between lender and borrower before anything is learned: a day to
/// hand it to the courier or the post and a day per 600 km. Each lender's own transit is
/// learned as a ratio to this, from `Loaned` to `Received`.
pub fn transit_prior_hours(km: Option<f64>) -> f64 {
    km.map_or(48.0, |k| 24.0 + 24.0 * k / 600.0)
}

/// Great-circle distance in km between two points in degrees (haversine).
pub(crate) fn km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (p1, p2) = (a.0.to_radians(), b.0.to_radians());
    let h = ((p2 - p1) / 2.0).sin().powi(2)
        + p1.cos() * p2.cos() * ((b.1 - a.1).to_radians() / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_away_until_returned_or_surely_back() {
        let mut s = Shipments::default();
        s.loaned(1, 7, Some(42), 1000);
        s.loaned(2, 7, Some(42), 2000);
        assert_eq!(s.away(7, 42, 3000), 2);
        assert_eq!(s.away(7, 43, 3000), 0);
        assert_eq!(s.away(8, 42, 3000), 0);
        s.returned(7, Some(42));
        assert_eq!(s.away(7, 42, 3000), 1);
        // no Returned: back after the longest a loan can be away
        assert_eq!(s.away(7, 42, 2000 + AWAY_S), 0);
        s.returned(7, Some(42));
        assert_eq!(s.away(7, 42, 3000), 0);
        // a return of what was never lent changes nothing
        s.returned(7, Some(42));
        assert_eq!(s.away(7, 42, 3000), 0);
    }

    #[test]
    fn transit_is_timed_from_shipment_to_receipt_once() {
        let mut s = Shipments::default();
        s.loaned(5, 3, None, 10_000);
        assert_eq!(s.received(5, 3, 10_000 + 36 * 3600), Some(36.0));
        assert_eq!(s.received(5, 3, 10_000 + 40 * 3600), None);
        assert_eq!(s.received(6, 3, 10_000), None);
        let f = s.to_file();
        assert!(f.moving.is_empty());
    }

    #[test]
    fn shipments_never_received_are_forgotten() {
        let mut s = Shipments::default();
        s.loaned(1, 1, Some(1), 0);
        s.loaned(2, 1, Some(2), MOVING_FORGET_S + 2 * 86_400);
        assert_eq!(s.received(1, 1, MOVING_FORGET_S + 3 * 86_400), None);
        assert_eq!(s.moving.len(), 1);
    }

    #[test]
    fn distances() {
        // Madison to Milwaukee: about 120 km
        let d = km((43.07, -89.40), (43.04, -87.91));
        assert!((110.0..130.0).contains(&d), "{d}");
        assert_eq!(km((1.0, 2.0), (1.0, 2.0)), 0.0);
        assert_eq!(transit_prior_hours(Some(600.0)), 48.0);
    }
}

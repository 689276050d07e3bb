//! The world's answer to one request at one lender: drawn from the lender's hidden truth,
//! the shelf (copies out locally or on interlibrary loan) and the lender's load, with
//! common random numbers so every strategy meets the same fate at the same lender.

use std::collections::HashMap;

use rota_routing::LenderId;

use crate::{DAY, H, LOAN_PERIOD, SimRequest, T0, World};

/// What a lender does with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Fate {
    /// Unfilled (policy, condition: the lender will not send it).
    Unfilled,
    /// Retry possible: its copy is out.
    OnLoan,
    /// Unfilled, not held: the catalogue was stale.
    NotHeld,
    /// Shipped (or, for copies, sent).
    Shipped,
    /// No answer before the borrower's timeout: it expired there.
    Expired,
}

/// What happens at the lenders as the run goes: the work coming in and the copies they
/// have lent through ILL.
#[derive(Default)]
pub(crate) struct Floor {
    /// Requests received per lender, decayed with a one-day time constant (at the time
    /// beside it): a steady r requests a day reads r.
    pub(crate) recent: Vec<(f64, i64)>,
    /// (lender, record) -> until when its copy is away on interlibrary loan.
    pub(crate) on_loan: HashMap<(LenderId, u64), i64>,
}

impl Floor {
    /// A floor for `n` lenders, all idle.
    pub(crate) fn new(n: usize) -> Floor {
        Floor {
            recent: vec![(0.0, 0); n],
            on_loan: HashMap::new(),
        }
    }

    /// Requests the lender received over about the last day, at `now`.
    pub(crate) fn per_day(&self, l: LenderId, now: i64) -> f64 {
        self.recent.get(l.index()).map_or(0.0, |(v, t)| {
            v * (-((now - t).max(0) as f64) / DAY as f64).exp()
        })
    }

    /// One more request received by the lender at `now`.
    pub(crate) fn receive(&mut self, l: LenderId, now: i64) {
        let v = self.per_day(l, now);
        if let Some(slot) = self.recent.get_mut(l.index()) {
            *slot = (v + 1.0, now);
        }
    }
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

/// Whether the catalogue's holding of `record` at `l` is stale (the shelf has no copy).
pub(crate) fn stale(w: &World, l: LenderId, record: u64) -> bool {
    unit(w.scenario.seed, u64::from(l.get()), record) < w.scenario.stale_holdings
}

/// Whether the lender's copy of `record` is out at `now`, and until when: lent through
/// ILL earlier in this run (until it is back), or to a local patron this loan period
/// (the same for every request in the period, until its end). Copies sent electronically
/// leave nothing out.
pub(crate) fn copy_out(
    w: &World,
    floor: &Floor,
    record: u64,
    l: LenderId,
    now: i64,
) -> Option<i64> {
    let s = &w.scenario;
    if s.service != crate::ServiceKind::Loan {
        return None;
    }
    let period = (now - T0).div_euclid(LOAN_PERIOD);
    let local = unit(
        s.seed ^ 0x10CA1,
        u64::from(l.get()),
        record ^ (period as u64).wrapping_mul(0x9E37),
    ) < s.lenders.local_on_loan;
    let ill = floor
        .on_loan
        .get(&(l, record))
        .copied()
        .filter(|until| *until > now);
    match (local, ill) {
        (true, ill) => Some(ill.unwrap_or(0).max(T0 + (period + 1) * LOAN_PERIOD)),
        (false, ill) => ill,
    }
}

/// What a lender's catalogue answers a live availability lookup for `record` at `now`,
/// if it answers lookups at all (`lenders.availability` of them do): on loan while a
/// copy is out, nothing to say when the holding is stale (no item on record), else on
/// the shelf.
pub(crate) fn lookup(
    w: &World,
    floor: &Floor,
    record: u64,
    l: LenderId,
    now: i64,
) -> Option<rota_routing::Shelf> {
    let s = &w.scenario;
    if unit(s.seed ^ 0xA7A1, u64::from(l.get()), 0) >= s.lenders.availability {
        return None;
    }
    Some(if stale(w, l, record) {
        rota_routing::Shelf::Unknown
    } else if let Some(until) = copy_out(w, floor, record, l, now) {
        rota_routing::Shelf::OnLoan { until: Some(until) }
    } else {
        rota_routing::Shelf::OnShelf
    })
}

/// What lender `l` does with request `r` sent at `now`, and when the borrower hears it
/// (for a shipment: when it leaves the lender).
pub(crate) fn draw(w: &World, floor: &Floor, r: &SimRequest, l: LenderId, now: i64) -> (Fate, i64) {
    let s = &w.scenario;
    let t = &w.truth[l.index()];
    let seed = s.seed;
    let u = |k: u64| unit(seed ^ u64::from(r.id), u64::from(l.get()), k);
    // this request's handling time around the lender's usual
    let spread = |k: u64| 1.0 + s.lenders.time_spread * (2.0 * u(k) - 1.0);
    // overload: sent more than a day's work over the last day (this request included),
    // the lender slows and fills less
    let load = floor.per_day(l, now) + 1.0;
    let overload = (load / t.per_day - 1.0).clamp(0.0, s.max_slowdown);
    let out = copy_out(w, floor, r.record, l, now);
    let (fate, hours) = if u(1) < t.silent || t.closed_at(now) {
        (Fate::Expired, s.timeout_hours)
    } else if stale(w, l, r.record)
        || r.year
            .is_some_and(|y| !crate::serials::holds_year(seed, r.record, l.get(), y))
    {
        (Fate::NotHeld, t.answer_h * spread(2) * (1.0 + overload))
    } else if out.is_some() {
        (Fate::OnLoan, t.answer_h * spread(6) * (1.0 + overload))
    } else if u(3) < t.p_fill / (1.0 + 0.5 * overload) {
        (Fate::Shipped, t.ship_h * spread(4) * (1.0 + overload))
    } else {
        (Fate::Unfilled, t.answer_h * spread(6) * (1.0 + overload))
    };
    answer_at(now, hours, fate, (s.timeout_hours * H as f64) as i64)
}

/// When a lender's answer taking `hours` reaches the borrower, and whether it does at
/// all. Answers wait for the next working day (no weekend processing). The borrower does
/// not wait past its timeout, counted in working hours as borrowing systems count it: an
/// answer or a shipment that would come later never comes; the request expires there and
/// moves on.
pub(crate) fn answer_at(now: i64, hours: f64, fate: Fate, timeout: i64) -> (Fate, i64) {
    let end = deadline(now, timeout);
    if fate == Fate::Expired {
        return (Fate::Expired, end);
    }
    let mut at = now + (hours * H as f64) as i64;
    let dow = ((at - T0).div_euclid(DAY)) % 7;
    if dow >= 5 {
        at += (7 - dow) * DAY - (at - T0).rem_euclid(DAY);
    }
    if at > end {
        (Fate::Expired, end)
    } else {
        (fate, at)
    }
}

/// `timeout` seconds after `now`, not counting Saturdays and Sundays.
pub(crate) fn deadline(now: i64, timeout: i64) -> i64 {
    let (mut t, mut left) = (now, timeout);
    loop {
        let day = (t - T0).div_euclid(DAY);
        if day % 7 >= 5 {
            t = T0 + (day + 7 - day % 7) * DAY; // Monday 00:00
            continue;
        }
        let saturday = T0 + (day + 5 - day % 7) * DAY;
        if t + left <= saturday {
            return t + left;
        }
        left -= saturday - t;
        t = saturday;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_reaches_a_borrower_after_its_timeout() {
        use Fate::*;
        let timeout = 96 * H;
        // Monday 9:00: four working days end on Friday 9:00
        let monday = T0 + 9 * H;
        assert_eq!(deadline(monday, timeout), monday + 4 * DAY);
        assert_eq!(
            answer_at(monday, 30.0, Unfilled, timeout),
            (Unfilled, monday + 30 * H)
        );
        // a shipment after five days: the borrower gave up at four
        assert_eq!(
            answer_at(monday, 120.0, Shipped, timeout),
            (Expired, monday + timeout)
        );
        // Friday 9:00: the weekend does not count; Thursday 9:00 is the end
        let friday = T0 + 4 * DAY + 9 * H;
        assert_eq!(deadline(friday, timeout), friday + 6 * DAY);
        // + 20 h lands on Saturday: handled Monday morning
        assert_eq!(
            answer_at(friday, 20.0, Unfilled, timeout),
            (Unfilled, T0 + 7 * DAY)
        );
        // Thursday 9:00 + 50 h lands on Saturday, handled on Monday: inside the four
        // working days that end on Wednesday 9:00
        let thursday = T0 + 3 * DAY + 9 * H;
        assert_eq!(
            answer_at(thursday, 50.0, OnLoan, timeout),
            (OnLoan, T0 + 7 * DAY)
        );
        // 150 h from Thursday 9:00 is Wednesday 15:00, past the end
        assert_eq!(
            answer_at(thursday, 150.0, OnLoan, timeout),
            (Expired, T0 + 9 * DAY + 9 * H)
        );
        // silence lasts the whole timeout
        assert_eq!(
            answer_at(friday, 1.0, Expired, timeout),
            (Expired, friday + 6 * DAY)
        );
        // a request sent on a Saturday starts counting on Monday
        let saturday = T0 + 5 * DAY + 12 * H;
        assert_eq!(deadline(saturday, 48 * H), T0 + 9 * DAY);
    }
}

//! The hard rules: which holders can be asked at all, and for which service.
//!
//! One pass over the candidate holders decides each one's fate: the first rule that
//! excludes it, in the order of [`crate::Exclusion`]'s variants, or the service to ask
//! it for and its charge. The per-lender facts the pass reads are packed into [`Hot`]
//! when the engine is built.

use rota_catalog::{ClusterId, Format, Holding};
use rustc_hash::FxHashMap as HashMap;
use smallvec::SmallVec;

use crate::answer::Exclusion;
use crate::directory::{ElectronicIll, LenderId, OfferCheck, Service, Unavailable};
use crate::engine::Engine;
use crate::request::ServiceType;
use crate::state::LiveState;

/// The order in which the exclusion rules are applied (a lender tried twice keeps the
/// answer that excludes it first).
pub(crate) fn rule_rank(e: Exclusion) -> u8 {
    match e {
        Exclusion::TriedFinal => 0,
        Exclusion::RetryWindow => 1,
        _ => 2,
    }
}

pub(crate) fn offer_bit(s: Service, f: Format) -> u16 {
    1 << (s.index() * 8 + f.index() as usize)
}

/// What the hot path reads about a lender, packed: the directory's `Lender` is hundreds
/// of bytes of strings and lists, this is 40.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Hot {
    /// bit `service * 8 + format`: some offer covers it (ignoring groups)
    pub(crate) offers: u16,
    /// interned country, 0 = unknown
    pub(crate) country: u16,
    pub(crate) not_lending: bool,
    /// has a suspension or closed dates: the calendar must be checked
    pub(crate) calendar: bool,
    /// no offers listed: everything, free, to everyone
    pub(crate) free: bool,
    pub(crate) ships_international: bool,
    /// may supply copies from online holdings, and whether to its own country only
    pub(crate) ecopies: bool,
    pub(crate) ecopies_domestic: bool,
    pub(crate) has_geo: bool,
    /// daily capacity, 0 = none
    pub(crate) daily: u32,
    pub(crate) open_cap: f32,
    pub(crate) daily_ref: f32,
    pub(crate) tier: f32,
    pub(crate) lat: f32,
    pub(crate) lon: f32,
    pub(crate) cos_lat: f32,
}

impl Hot {
    pub(crate) fn of(l: &crate::directory::Lender, countries: &mut HashMap<String, u16>) -> Hot {
        let mut offers = 0u16;
        for s in [Service::Loan, Service::Copy] {
            for f in Format::ALL {
                let covered = l.offers.is_empty()
                    || l.offers.iter().any(|o| {
                        o.service == s && (o.formats.is_empty() || o.formats.contains(&f))
                    });
                if covered {
                    offers |= offer_bit(s, f);
                }
            }
        }
        let country = if l.country.is_empty() {
            0
        } else {
            let n = countries.len() as u16 + 1;
            *countries.entry(l.country.clone()).or_insert(n)
        };
        let (has_geo, lat, lon) = match (l.latitude, l.longitude) {
            (Some(a), Some(o)) => (true, a.to_radians(), o.to_radians()),
            _ => (false, 0.0, 0.0),
        };
        Hot {
            offers,
            country,
            not_lending: !l.lending,
            calendar: l.suspended_from.is_some() || !l.closed.is_empty(),
            free: l.offers.is_empty(),
            ships_international: l.ships_international,
            ecopies: l.electronic_ill.allows_copies(),
            ecopies_domestic: l.electronic_ill == ElectronicIll::DomesticOnly,
            has_geo,
            daily: l.capacity.daily.unwrap_or(0),
            open_cap: l.capacity.open_requests.unwrap_or(100) as f32,
            daily_ref: l.capacity.daily.unwrap_or(20) as f32,
            tier: l.tier.preference() as f32,
            lat: lat as f32,
            lon: lon as f32,
            cos_lat: lat.cos() as f32,
        }
    }

    /// Equirectangular distance in km, with the mean latitude's cosine taken as the mean of
    /// the two cosines (precomputed): within 1 % of the great circle at consortium
    /// distances, and no trigonometry per request.
    pub(crate) fn distance_km(&self, b: &Hot) -> Option<f64> {
        if !(self.has_geo && b.has_geo) {
            return None;
        }
        let mut dlon = (f64::from(b.lon) - f64::from(self.lon)).abs();
        if dlon > std::f64::consts::PI {
            dlon = 2.0 * std::f64::consts::PI - dlon;
        }
        let x = dlon * 0.5 * f64::from(self.cos_lat + b.cos_lat);
        let y = f64::from(b.lat) - f64::from(self.lat);
        Some(6371.0 * (x * x + y * y).sqrt())
    }
}

/// What a request asks of every candidate, worked out once.
pub(crate) struct Asked<'a> {
    pub(crate) borrower: LenderId,
    pub(crate) country: u16,
    pub(crate) groups: &'a [String],
    pub(crate) service: ServiceType,
    pub(crate) format: Option<Format>,
    pub(crate) max_cost: Option<f64>,
    pub(crate) currency: &'a str,
    pub(crate) now: i64,
    /// Live availability the request carries, by lender (usually empty).
    pub(crate) shelf: Vec<(LenderId, crate::request::Shelf)>,
}

impl Asked<'_> {
    /// What the lender's catalogue said, if it was asked (the last answer listed, if it
    /// was asked more than once).
    pub(crate) fn shelf_of(&self, i: LenderId) -> Option<crate::request::Shelf> {
        self.shelf.iter().rfind(|(l, _)| *l == i).map(|(_, s)| *s)
    }
}

/// One holder of a matched cluster.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Candidate {
    pub(crate) lender: LenderId,
    /// rank of the match it holds (0 = best)
    pub(crate) rank: u8,
    pub(crate) cluster: ClusterId,
    pub(crate) holding: Holding,
}

/// The services a holding allows, in the request's order of preference, or the rule
/// that allows none of those asked for.
fn allowed_services(
    asked: &Asked<'_>,
    hot: &Hot,
    h: &Holding,
    format: Format,
) -> Result<SmallVec<[Service; 2]>, Exclusion> {
    let mut out = SmallVec::new();
    let mut why = Exclusion::HoldingNotLendable;
    for &s in asked.service.services(format) {
        let ok = match s {
            Service::Loan if h.format == Format::Electronic => {
                why = Exclusion::OnlineNeverLent;
                false
            }
            Service::Loan if !h.lending.loan => {
                why = if h.lending.copy {
                    Exclusion::CopyOnlyHolding
                } else {
                    Exclusion::HoldingNotLendable
                };
                false
            }
            Service::Copy if !h.lending.copy => {
                why = if h.lending.loan {
                    Exclusion::LoanOnlyHolding
                } else {
                    Exclusion::HoldingNotLendable
                };
                false
            }
            Service::Copy if h.format == Format::Electronic && !hot.ecopies => {
                why = Exclusion::OnlineNotLicensed;
                false
            }
            Service::Copy
                if h.format == Format::Electronic
                    && hot.ecopies_domestic
                    && asked.country != 0
                    && hot.country != 0
                    && hot.country != asked.country =>
            {
                why = Exclusion::OnlineDomesticOnly;
                false
            }
            _ => true,
        };
        if ok {
            out.push(s);
        }
    }
    if out.is_empty() { Err(why) } else { Ok(out) }
}

impl Engine {
    /// A candidate's fate: the service to ask it for and its charge, or the first rule
    /// that excludes it, in the documented order.
    pub(crate) fn fate(
        &self,
        state: &LiveState,
        asked: &Asked<'_>,
        c: &Candidate,
        tried: Option<Exclusion>,
        check_not_held: bool,
        check_retry: bool,
    ) -> Result<(Service, f64), Exclusion> {
        let dir = &**self.directory();
        let i = c.lender;
        let hot = &self.hot[i.index()];
        let h = c.holding;
        let f = asked.format.unwrap_or(h.format);
        let rule = if i == asked.borrower {
            Some(Exclusion::Borrower)
        } else if dir.same_institution(i, asked.borrower) {
            Some(Exclusion::BorrowersInstitution)
        } else if let Some(t) = tried {
            Some(t)
        } else if check_not_held && state.said_not_held(i, c.cluster) {
            Some(Exclusion::KnownNotHeld)
        } else if check_retry
            && state
                .retry_after(i, c.cluster)
                .is_some_and(|t| t > asked.now)
        {
            Some(Exclusion::RetryWindow)
        } else if check_retry
            && state.copies_away(i, c.cluster, asked.now) >= u16::from(h.copies.max(1))
        {
            Some(Exclusion::CopiesAway)
        } else if matches!(
            asked.shelf_of(i),
            Some(crate::request::Shelf::OnLoan { until }) if until.is_none_or(|u| u > asked.now)
        ) {
            Some(Exclusion::OnLoanNow)
        } else if hot.not_lending {
            Some(Exclusion::NotLending)
        } else if hot.calendar {
            match dir.unavailable(i, asked.now) {
                Some(Unavailable::Suspended) => Some(Exclusion::Suspended),
                Some(Unavailable::Closed) => Some(Exclusion::Closed),
                Some(Unavailable::NotLending) => Some(Exclusion::NotLending),
                None => None,
            }
        } else {
            None
        };
        if let Some(r) = rule {
            return Err(r);
        }
        let services = allowed_services(asked, hot, &h, f)?;
        if !services.iter().any(|s| hot.offers & offer_bit(*s, f) != 0) {
            return Err(Exclusion::ServiceNotOffered);
        }
        let mut outcome = Err(Exclusion::ServiceNotOffered);
        for &s in &services {
            let (charge, ccy) = if hot.free {
                (0.0, None)
            } else {
                match dir.offer(i, s, f, asked.groups) {
                    OfferCheck::Free => (0.0, None),
                    OfferCheck::Offered(o) => o
                        .charge
                        .as_ref()
                        .map_or((0.0, None), |c| (c.amount, Some(c.currency.as_str()))),
                    OfferCheck::NotToGroup => {
                        if outcome == Err(Exclusion::ServiceNotOffered) {
                            outcome = Err(Exclusion::NotOfferedToGroup);
                        }
                        continue;
                    }
                    OfferCheck::NotOffered => continue,
                }
            };
            if let Some(max) = asked.max_cost {
                if charge > 0.0 && ccy.is_some_and(|c| c != asked.currency) {
                    outcome = Err(Exclusion::CurrencyMismatch);
                    continue;
                }
                if charge > max {
                    outcome = Err(Exclusion::CostExceedsMax);
                    continue;
                }
            }
            outcome = Ok((s, charge));
            break;
        }
        let ok = outcome?;
        let foreign = asked.country != 0 && hot.country != 0 && hot.country != asked.country;
        if foreign && !hot.ships_international {
            Err(Exclusion::NoInternationalShipping)
        } else if hot.daily > 0 && state.sent_today(i, asked.now) >= hot.daily {
            Err(Exclusion::DailyCapacityReached)
        } else {
            Ok(ok)
        }
    }
}

//! What the engine answers: the lending string, each lender's factors and reason, and
//! every holder left out with the rule that left it out.

use compact_str::CompactString;
use rota_catalog::{ClusterId, Lending, Match};
use serde::Serialize;
use smallvec::SmallVec;

use crate::directory::Service;

/// One factor of a lender's ranking.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Factor {
    /// Name (`p_fill`, `load`, `reciprocity`, ...).
    pub name: &'static str,
    /// The factor's value (probability, hours, ratio or normalised 0..1).
    pub value: f64,
    /// Its contribution: in weighted mode weight × value (added to the score); in
    /// fastest-fill mode the log of its multiplier on the e/p key (positive = pushed down).
    pub contribution: f64,
}

/// A ranked lender's factors, stored inline.
pub type Factors = SmallVec<[Factor; 10]>;

/// A library symbol as the engine returns it: inline up to 24 bytes, so copying one into
/// every answer allocates nothing.
pub type Symbol = CompactString;

/// A lender in the string.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RankedLender {
    /// Symbol.
    pub symbol: Symbol,
    /// 1-based rank.
    pub rank: u32,
    /// Score, higher is better (fastest fill: 1000 / adjusted e/p hours).
    pub score: f64,
    /// Probability it fills.
    pub p_fill: f64,
    /// Expected hours this lender takes (e = p·d + (1 − p)·a).
    pub expected_hours: f64,
    /// Hours to deliver if it fills (d).
    pub deliver_hours: f64,
    /// Hours to say no if it does not (a).
    pub answer_hours: f64,
    /// The service to ask it for.
    pub service: Service,
    /// The cluster it holds.
    pub cluster: ClusterId,
    /// Factors (at most ten, kept inline: a heap allocation per returned lender was a
    /// measurable share of a typical route).
    pub factors: Factors,
    /// A sentence for staff.
    pub reason: String,
}

/// Why a holder is not in the string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// It is the borrower.
    Borrower,
    /// A branch or another library of the borrower's own institution.
    BorrowersInstitution,
    /// Holder not in the lender directory.
    NotInDirectory,
    /// The holding does not circulate and is not copied for ILL (a non-circulating note,
    /// an ILL indicator, a holdings policy, the source's declaration).
    HoldingNotLendable,
    /// A loan was asked for; the holding is supplied as copies only.
    CopyOnlyHolding,
    /// A copy was asked for; the holding is lent but not copied.
    LoanOnlyHolding,
    /// A loan was asked for; the holding is an online resource, which is never lent.
    OnlineNeverLent,
    /// A copy of an online resource was asked for; the lender's licences do not allow ILL
    /// from electronic copies.
    OnlineNotLicensed,
    /// The lender's licences allow ILL from electronic copies within its country only.
    OnlineDomesticOnly,
    /// Already tried with a final answer for this item.
    TriedFinal,
    /// Already tried for this request (non-final answer, not yet due for a retry).
    AlreadyTried,
    /// OnLoan / NotOnShelf recently: inside the retry window.
    RetryWindow,
    /// Every copy it holds is away on an interlibrary loan rota routed (from `Loaned` until
    /// `Returned`).
    CopiesAway,
    /// Its catalogue says every copy is on loan now (live availability).
    OnLoanNow,
    /// Said "not held" for this item before (any request).
    KnownNotHeld,
    /// Not lending at all.
    NotLending,
    /// Suspended.
    Suspended,
    /// Closed today (its own time zone).
    Closed,
    /// Does not offer the service for this format.
    ServiceNotOffered,
    /// Offers it, but not to the borrower's groups.
    NotOfferedToGroup,
    /// Charge above the maximum cost.
    CostExceedsMax,
    /// Charges in another currency than the maximum cost's.
    CurrencyMismatch,
    /// Will not ship to the borrower's country.
    NoInternationalShipping,
    /// Reached its daily capacity.
    DailyCapacityReached,
    /// Holds the serial, but its print or electronic coverage does not contain the cited
    /// volume or year ([`Excluded::detail`] says what it holds).
    Coverage,
    /// Holds the cited issue online behind a moving wall that has not passed.
    Embargo,
}

impl Exclusion {
    /// Sentence for staff.
    pub fn describe(self) -> &'static str {
        match self {
            Exclusion::Borrower => "is the borrower",
            Exclusion::BorrowersInstitution => "belongs to the borrower's own institution",
            Exclusion::NotInDirectory => "holds it but is not in the lender directory",
            Exclusion::HoldingNotLendable => "its copy is neither lent nor copied for ILL",
            Exclusion::CopyOnlyHolding => "supplies copies of it only, and a loan was asked for",
            Exclusion::LoanOnlyHolding => "lends it but does not copy it, and a copy was asked for",
            Exclusion::OnlineNeverLent => "holds it online only, which is never lent",
            Exclusion::OnlineNotLicensed => {
                "holds it online only, and its licences do not allow ILL from electronic copies"
            }
            Exclusion::OnlineDomesticOnly => {
                "holds it online only, and its licences allow ILL within its country only"
            }
            Exclusion::TriedFinal => "already answered that it cannot supply this item",
            Exclusion::AlreadyTried => "already tried for this request",
            Exclusion::RetryWindow => "item on loan or not on shelf there recently; retry later",
            Exclusion::CopiesAway => {
                "every copy it holds is away on an interlibrary loan routed here"
            }
            Exclusion::OnLoanNow => "its catalogue says every copy is on loan now",
            Exclusion::KnownNotHeld => "said earlier that it does not hold this item",
            Exclusion::NotLending => "is not lending",
            Exclusion::Suspended => "has suspended lending",
            Exclusion::Closed => "is closed today",
            Exclusion::ServiceNotOffered => "does not offer this service for this format",
            Exclusion::NotOfferedToGroup => "does not offer this service to the borrower's groups",
            Exclusion::CostExceedsMax => "charges more than the maximum cost",
            Exclusion::CurrencyMismatch => "charges in another currency than the maximum cost",
            Exclusion::NoInternationalShipping => "does not ship to the borrower's country",
            Exclusion::DailyCapacityReached => "has reached its daily capacity",
            Exclusion::Coverage => {
                "its holdings of the serial do not cover the cited volume or year"
            }
            Exclusion::Embargo => "holds the cited issue online behind a moving wall",
        }
    }
}

/// An excluded holder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Excluded {
    /// Symbol.
    pub symbol: Symbol,
    /// Rule.
    pub reason: Exclusion,
    /// What the rule found, when it says more than the rule's sentence; its text is
    /// "holds v.1-34 (1960-1993); cited v.52 (2019)".
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "detail_text"
    )]
    pub detail: Option<Detail>,
}

/// What a coverage rule found. Kept as data, and written out only when the answer is:
/// a route leaves out dozens of a journal's holders, and writing each one's sentence
/// in the engine cost a third of the route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detail {
    /// What the holder holds, and what was cited.
    Coverage {
        /// Its runs.
        holds: rota_catalog::coverage::Spans,
        /// The citation.
        cited: rota_catalog::coverage::Cited,
    },
    /// Its moving wall, what was cited, and when that comes out of the wall.
    Embargo {
        /// The wall.
        wall: rota_catalog::coverage::Embargo,
        /// The citation.
        cited: rota_catalog::coverage::Cited,
        /// The first day the cited issue is available (never, for an `R` wall).
        until: Option<chrono::NaiveDate>,
    },
}

impl std::fmt::Display for Detail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Detail::Coverage { holds, cited } => {
                f.write_str("holds ")?;
                for (i, s) in holds.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{s}")?;
                }
                write!(f, "; cited {cited}")
            }
            Detail::Embargo { wall, cited, until } => match until {
                Some(d) => write!(f, "{wall}; cited {cited} is available from {d}"),
                None => write!(f, "{wall}; cited {cited} is no longer available"),
            },
        }
    }
}

fn detail_text<S: serde::Serializer>(d: &Option<Detail>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.collect_str(d),
        None => s.serialize_none(),
    }
}

/// What became of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteStatus {
    /// Matched and routed: [`LendingString::lenders`] (empty when every holder was
    /// excluded; [`LendingString::excluded`] says why).
    Routed,
    /// The borrower's own institution holds a lendable copy
    /// ([`LendingString::local`]); nothing was routed (unless the request said
    /// `route_anyway`).
    HeldLocally,
    /// The citation fits several different books about equally: the candidates are in
    /// [`LendingString::candidates`] for staff to choose.
    Ambiguous,
    /// Nothing fits confidently: the candidates are for staff.
    NoConfidentMatch,
    /// Nothing in the catalogue fits.
    NotFound,
}

impl RouteStatus {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            RouteStatus::Routed => "routed",
            RouteStatus::HeldLocally => "held_locally",
            RouteStatus::Ambiguous => "ambiguous",
            RouteStatus::NoConfidentMatch => "no_confident_match",
            RouteStatus::NotFound => "not_found",
        }
    }
}

/// A copy the borrower's own institution holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LocalHolding {
    /// The holding library (the borrower or one of its branches).
    pub symbol: Symbol,
    /// Its cluster.
    pub cluster: ClusterId,
    /// Copies.
    pub copies: u8,
    /// What it allows.
    pub lending: Lending,
}

/// The answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LendingString {
    /// The request id, echoed.
    pub request_id: String,
    /// What became of it.
    pub status: RouteStatus,
    /// Catalogue matches used.
    pub matches: Vec<Match>,
    /// Whether the best candidates were close: editions of one work routed together, or
    /// different books (then nothing was routed).
    pub ambiguous: bool,
    /// The best catalogue candidates, for staff (filled when nothing was routed).
    pub candidates: Vec<Match>,
    /// The borrower's institution's own lendable copies.
    pub local: Vec<LocalHolding>,
    /// Ranked lenders, best first.
    pub lenders: Vec<RankedLender>,
    /// Holders not in the string, with the rule that excluded each.
    pub excluded: Vec<Excluded>,
    /// Holders that passed every rule but ranked below `max_lenders`.
    pub not_ranked: u32,
    /// Expected hours until the item is filled or the string is exhausted.
    pub expected_hours_to_fill: f64,
    /// Probability one of the lenders fills.
    pub p_filled: f64,
    /// Profile used.
    pub profile: Symbol,
}

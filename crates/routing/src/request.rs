//! What callers ask: a routing request, and why one may be refused.

use rota_catalog::field::{self, FieldError, MAX_ID};
use rota_catalog::{Citation, ClusterId, Format, LookupError};
use serde::{Deserialize, Serialize};

use crate::directory::Service;
use crate::state::Answer;

/// Most lenders a string may hold.
pub const MAX_LENDERS: u32 = 100;
/// Most lenders a request may say were tried.
pub const MAX_TRIED: usize = 200;
/// Largest maximum cost (in any currency).
pub const MAX_COST: f64 = 1_000_000.0;

/// Service requested.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ServiceType {
    /// A loan.
    #[default]
    Loan,
    /// A copy.
    Copy,
    /// Either; each lender is asked for what it offers (copy first for serials).
    CopyOrLoan,
}

impl ServiceType {
    /// The services to try, in order of preference for an item of this format.
    pub fn services(self, format: Format) -> &'static [Service] {
        match self {
            ServiceType::Loan => &[Service::Loan],
            ServiceType::Copy => &[Service::Copy],
            ServiceType::CopyOrLoan if format == Format::Serial => &[Service::Copy, Service::Loan],
            ServiceType::CopyOrLoan => &[Service::Loan, Service::Copy],
        }
    }
}

/// A lender already asked, and its answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tried {
    /// Lender symbol.
    pub lender: String,
    /// ISO 18626 answer.
    pub answer: Answer,
    /// When it answered (unix seconds); retry windows run from here (default: now).
    #[serde(default)]
    pub at: Option<i64>,
}

/// A routing request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The caller's id (used for tie rotation and echoed back).
    #[serde(default)]
    pub request_id: String,
    /// Borrowing library's symbol.
    pub borrower: String,
    /// What is wanted.
    pub citation: Citation,
    /// Service (default: a copy for an article, [`Citation::is_article`], else a loan).
    #[serde(default)]
    pub service: Option<ServiceType>,
    /// Format (else the matched cluster's).
    #[serde(default)]
    pub format: Option<Format>,
    /// Most the borrower will pay, in `currency`.
    #[serde(default)]
    pub max_cost: Option<f64>,
    /// Currency of `max_cost` (default USD).
    #[serde(default)]
    pub currency: Option<String>,
    /// Needed before (unix seconds): lenders whose expected delivery misses it rank last.
    #[serde(default)]
    pub need_before: Option<i64>,
    /// Rush: turnaround counts double.
    #[serde(default)]
    pub rush: bool,
    /// Lenders already asked.
    #[serde(default)]
    pub tried: Vec<Tried>,
    /// How many lenders to return.
    #[serde(default = "default_max")]
    pub max_lenders: u32,
    /// Weight profile name (default `default`).
    #[serde(default)]
    pub profile: Option<String>,
    /// Confidence a title/author match needs to be routed (default
    /// [`rota_catalog::lookup::DEFAULT_MIN_CONFIDENCE`]).
    #[serde(default)]
    pub min_confidence: Option<f32>,
    /// Route only what an identifier matched.
    #[serde(default)]
    pub require_identifier: bool,
    /// Route even when the borrower's own institution holds a lendable copy.
    #[serde(default)]
    pub route_anyway: bool,
    /// What lenders' own catalogues said of the item just now (live availability, asked
    /// of the top candidates before routing): a lender whose copies are on loan is left
    /// out, one with a copy on the shelf ranks by its fill rate when the item is there.
    /// Lenders not listed are as if unknown; a lender listed twice, its last answer.
    #[serde(default)]
    pub availability: Vec<Availability>,
    /// The time of routing (unix seconds). The engine never reads the clock.
    pub now: i64,
}

/// What a lender's catalogue says of the item now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Availability {
    /// Lender symbol.
    pub lender: String,
    /// Its status.
    pub shelf: Shelf,
}

/// A copy's status in a lender's catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shelf {
    /// A copy is on the shelf.
    OnShelf,
    /// Every copy is out, until the time given (unix seconds) if the catalogue says.
    OnLoan {
        /// Due back.
        until: Option<i64>,
    },
    /// The catalogue answered but could not say (no item record, a status it does not
    /// map), or did not answer in time.
    Unknown,
}

fn default_max() -> u32 {
    5
}

impl Request {
    /// A request with the defaults for everything but who, what and when: a loan (a copy
    /// for an article), any
    /// format, no cost limit or deadline, nothing tried, five lenders, the default profile.
    pub fn new(borrower: impl Into<String>, citation: Citation, now: i64) -> Request {
        Request {
            request_id: String::new(),
            borrower: borrower.into(),
            citation,
            service: None,
            format: None,
            max_cost: None,
            currency: None,
            need_before: None,
            rush: false,
            tried: Vec::new(),
            max_lenders: default_max(),
            profile: None,
            min_confidence: None,
            require_identifier: false,
            route_anyway: false,
            availability: Vec::new(),
            now,
        }
    }

    /// The service asked for: as given, else a copy for an article and a loan for
    /// anything else.
    pub fn service(&self) -> ServiceType {
        self.service.unwrap_or(if self.citation.is_article() {
            ServiceType::Copy
        } else {
            ServiceType::Loan
        })
    }

    /// Checks every field against its bounds (the caller's fault, naming the field):
    /// ids, symbols and texts short and free of control characters, times between 2000
    /// and 2100, `max_lenders` 1 to [`MAX_LENDERS`], a maximum cost finite and at most
    /// [`MAX_COST`] in an ISO 4217 currency, at most [`MAX_TRIED`] tried lenders,
    /// `min_confidence` between 0 and 1. The engine checks this before anything else.
    pub fn validate(&self) -> Result<(), FieldError> {
        field::text("request_id", &self.request_id, MAX_ID)?;
        field::symbol("borrower", &self.borrower)?;
        self.citation.validate()?;
        field::range("max_lenders", self.max_lenders, 1, MAX_LENDERS)?;
        if let Some(c) = self.max_cost {
            field::range("max_cost", c, 0.0, MAX_COST)?;
        }
        if let Some(c) = &self.currency {
            field::currency("currency", c)?;
        }
        if let Some(t) = self.need_before {
            field::time("need_before", t)?;
        }
        field::time("now", self.now)?;
        field::range("tried", self.tried.len(), 0, MAX_TRIED)?;
        for (i, t) in self.tried.iter().enumerate() {
            field::symbol(&format!("tried[{i}].lender"), &t.lender)?;
            if let Some(at) = t.at {
                field::time(&format!("tried[{i}].answered_at"), at)?;
            }
        }
        field::range("availability", self.availability.len(), 0, MAX_TRIED)?;
        for (i, a) in self.availability.iter().enumerate() {
            field::symbol(&format!("availability[{i}].lender"), &a.lender)?;
            if let Shelf::OnLoan { until: Some(t) } = a.shelf {
                field::time(&format!("availability[{i}].until"), t)?;
            }
        }
        if let Some(p) = self.profile.as_deref().filter(|p| !p.is_empty()) {
            field::symbol("profile", p)?;
        }
        if let Some(m) = self.min_confidence {
            field::range("min_confidence", m, 0.0, 1.0)?;
        }
        Ok(())
    }
}

/// A request the engine cannot route (the caller's fault, each naming its field).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RouteError {
    /// Citation problem.
    #[error("citation: {0}")]
    Citation(#[from] LookupError),
    /// Borrower unknown.
    #[error("borrower: {0:?} is not in the lender directory")]
    UnknownBorrower(String),
    /// Tried lender unknown.
    #[error("tried: lender {0:?} is not in the lender directory")]
    UnknownTriedLender(String),
    /// Profile unknown.
    #[error("profile: {0:?} does not exist")]
    UnknownProfile(String),
    /// A cluster id beyond the catalogue.
    #[error("cluster: {0} is not in the catalogue")]
    UnknownCluster(ClusterId),
    /// A field out of its bounds ([`Request::validate`]).
    #[error(transparent)]
    Field(#[from] FieldError),
}

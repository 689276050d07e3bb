//! # rota-routing: lending strings ranked by expected time to fill
//!
//! Given a request, which lenders, in what order, and why. Synchronous, no async or RPC:
//! the gRPC server is a thin layer over [`Engine::route`] and [`LiveState::apply`].
//!
//! ## Pipeline
//! 1. **Match**: the citation is looked up in the catalogue ([`rota_catalog`]); the best
//!    clusters (confidence ≥ 0.5 and ≥ 85 % of the best, at most three) give the holders.
//! 2. **Filter** ([`Exclusion`]): one pass over the candidates (holders, by directory
//!    index) applies the hard rules in this order, the first that fires excluding the
//!    holder — the borrower, a holding that does not lend, lenders already tried with a
//!    final answer (NotHeld, NonCirculating, NotAvailableForILL), lenders in a retry
//!    window (OnLoan, NotOnShelf: 14 days), lenders that said "not held" for this cluster
//!    on any earlier request, not lending, suspended or closed (in their own time zone),
//!    not offering the service/format to the borrower's groups, charging above the
//!    maximum cost, not shipping abroad, over daily capacity; then, for an article in a
//!    serial, its coverage: a holder whose print run or e-holding does not contain the
//!    cited volume/year, or whose moving wall has not passed, is left out with what it
//!    holds, and one whose coverage cannot be checked ranks after every covering one
//!    (`coverage` module; the coverage itself is [`rota_catalog::coverage`]). Every
//!    removed holder is reported with its rule. The live state keeps "not held" facts and retry windows in
//!    roaring bitmaps (per lender, and the clusters having any), so a request consults
//!    them only for clusters where some lender has answered that way; the directory's
//!    static facts (offers per service and format, calendar, country) are packed per
//!    lender when the engine is built. Building one roaring set per rule per request,
//!    as a first version did, cost more than the checks (measured in BENCHMARKS.md).
//! 3. **Rank** with the request's weight profile ([`Profile`]), best `max_lenders` kept.
//!
//! ## Fastest fill, and why `e/p` is the right order
//!
//! Lender *i* fills with probability *pᵢ*, takes *dᵢ* hours to deliver when it does and
//! *aᵢ* hours to say no when it does not. Its expected time is
//! *eᵢ = pᵢ·dᵢ + (1 − pᵢ)·aᵢ*. The borrower reaches lender *k* only if all earlier
//! lenders failed, so a string's expected time (until filled or exhausted) is
//!
//! > E = Σₖ (Πⱼ₍ⱼ<ₖ₎ (1 − pⱼ)) · eₖ
//!
//! **Exchange argument.** Take any order and two adjacent lenders *i* then *j*, reached
//! with probability *S*. They contribute *S·(eᵢ + (1 − pᵢ)·eⱼ)*; swapped, *S·(eⱼ + (1 −
//! pⱼ)·eᵢ)*; nothing else changes (the probability of getting past both is
//! *(1 − pᵢ)(1 − pⱼ)* either way). Keeping *i* first is no worse iff
//! *eᵢ + eⱼ − pᵢeⱼ ≤ eⱼ + eᵢ − pⱼeᵢ*, i.e. *pⱼeᵢ ≤ pᵢeⱼ*, i.e. *eᵢ/pᵢ ≤ eⱼ/pⱼ*. Any
//! order with an adjacent inversion of *e/p* can therefore be improved or left equal by
//! swapping it, so sorting by *e/p* ascending minimises *E* (a property test checks this
//! against brute force on small sets).
//!
//! **Load**, the dead time and transit enter *p*, *a* and *d* before the key is formed
//! (next section); a swamped lender falls naturally, and load spreads.
//! **Adjustments** multiply the key by `exp(Σ wₖ·xₖ)` (weights
//! from the profile, 0 = off): reciprocity (`x` = (lent − borrowed)/(lent + borrowed + 2)
//! to this borrower, minus 0.5 under a reciprocal agreement), cost (charge ÷ max cost,
//! or ÷ 20 without one), fairness (requests sent today ÷ daily capacity, or ÷ 20) and
//! tier (1 − tier preference). With all adjustments off the order is exactly *e/p*. The
//! reported score is `1000 / adjusted key`, so higher is better in both modes.
//!
//! ## What each term estimates, and from which events
//!
//! Everything below is learned from the ISO 18626 events the borrowing systems report
//! ([`LiveState::apply`]), per lender and per service (loans and copies apart), with a
//! 90-day evidence half-life and priors that hold until evidence arrives.
//!
//! | term | estimates | learned from |
//! |---|---|---|
//! | *p* | the chance it fills | `Loaned`/`CopyCompleted` against `Unfilled` and `Expired` (Beta prior 4 : 1.5) |
//! | *d* | hours to ship | `Sent` → `Loaned`/`CopyCompleted` (geometric mean, 3 prior samples) |
//! | transit (loans) | hours on the road to the borrower | `Loaned` → `Received`, as a multiple of a day plus a day per 600 km ([`lent::transit_prior_hours`]) |
//! | *a* | hours until a failure is known | `Sent` → `Unfilled`/`RetryPossible` for a "no"; and, as its own term, the dead time: the share of requests the lender lets expire and how long borrowers waited (`Expired`): `a = (1 − q)·no + q·dead`, *q* = dead share ÷ (1 − *p*) |
//! | load | how much slower and less likely to fill a loaded lender is | every answer against its lender's usual, kept by the lender's open requests ÷ declared limit when it was sent, pooled over lenders (`load` module): *p* moves by the fitted difference at the lender's load now, *a* and *d* are multiplied by the fitted slowdown |
//! | queue | waiting behind open requests | Little's law: `24 h × open / rate`, the rate of answers lately (7-day half-life), added to *a* and *d*: a lender that declares more than it manages is still seen as swamped |
//! | copies away | its copy is out on a loan rota routed | `Loaned` (with the cluster) until `Returned`, at most six weeks: a lender with every copy away is left out ([`Exclusion::CopiesAway`]) |
//! | not held, retry | the item is not there | `Unfilled(NotHeld…)` for good; `RetryPossible`/`NotOnShelf` for 14 days |
//! | live availability | whether the copy is on the shelf now | the request's [`Availability`] (lenders' catalogues asked before routing): on loan is left out ([`Exclusion::OnLoanNow`]); on the shelf ranks by *p* with the lender's "not on shelf" and "not held" answers left out (`p_on_shelf`) |
//!
//! The simulator (`rota-sim`) checks the model against a world whose truth the router
//! never reads: a test replays every string a learned strategy routed from the run's
//! events alone, beside a world with its truth removed. Across its three shipped
//! scenarios fastest fill beats the weighted score on time to fill, which is why it is
//! the default profile.
//!
//! ## Weighted score
//! A linear score `Σ wₖ·fₖ` over factors normalised to 0..1 (holdings, load,
//! reciprocity, tier, cost, distance, turnaround, fill rate), weights normalised to sum 1.
//!
//! ## Ties
//! Equal keys never fall back to alphabetical order (which sends every tie to the same
//! library): ties break on a hash of the request id and the lender, a seeded rotation
//! under which equal lenders share the load, and which is deterministic for the same
//! request, state and seed.
//!
//! ## Live state
//! [`LiveState`] learns load, fill probability, answer and delivery times, reciprocity
//! and "not held" facts from ISO 18626 events; see [`state`].

pub mod answer;
mod coverage;
pub mod directory;
pub mod engine;
mod explain;
mod filter;
pub mod lent;
mod load;
pub mod profile;
pub mod request;
mod score;
pub mod state;
pub mod synth;

pub use answer::{
    Detail, Excluded, Exclusion, Factor, LendingString, LocalHolding, RankedLender, RouteStatus,
};
pub use directory::{
    Directory, DirectoryError, Drift, ElectronicIll, Lender, LenderId, Lookup, LookupProtocol,
    Service, Tier,
};
pub use engine::Engine;
pub use profile::{Mode, Profile, ProfileError};
pub use request::{Availability, MAX_LENDERS, Request, RouteError, ServiceType, Shelf, Tried};
pub use score::expected_hours;
pub use state::{
    Answer, Event, EventError, EventKind, LiveState, Priors, ReasonRetry, ReasonUnfilled,
};

#[cfg(test)]
mod proptests;

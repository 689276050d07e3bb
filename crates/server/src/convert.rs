//! Wire ↔ domain: the one place where `rota.v1` messages become the engine's types and
//! back, shared by the server and by `rota` when it talks to a server. Validation of what
//! the types themselves cannot express (a required field, an unknown enum value) happens
//! here; the engine validates the rest.

use rota_catalog::{Catalog, Citation, ClusterId, Format, Match, MatchStatus, Resolution};
use rota_proto::v1 as pb;
use rota_routing::{
    Answer, Event, EventKind, Exclusion, LendingString, Mode, Profile, ReasonRetry, ReasonUnfilled,
    Request, RouteStatus, Service, ServiceType, Tried,
};
use tonic::Status;

/// A string field: empty (after trimming) is absent.
pub fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// A citation from the wire (absent: empty; year 0: none). A year too large for the
/// domain type is refused here, where its value is still known; the rest of the bounds
/// are [`Citation::validate`]'s.
pub fn citation_from_wire(c: Option<&pb::Citation>) -> Result<Citation, Status> {
    let Some(c) = c else {
        return Ok(Citation::default());
    };
    let year = match c.year {
        0 => None,
        y => Some(u16::try_from(y).map_err(|_| {
            Status::invalid_argument(format!("citation.year: {y} is not between 1000 and 2100"))
        })?),
    };
    Ok(Citation {
        isbn: opt(&c.isbn),
        issn: opt(&c.issn),
        oclc: opt(&c.oclc_number),
        lccn: opt(&c.lccn),
        title: opt(&c.title),
        author: opt(&c.author),
        year,
        language: opt(&c.language),
        eissn: opt(&c.eissn),
        volume: opt(&c.volume),
        issue: opt(&c.issue),
        pages: opt(&c.pages),
        date: opt(&c.date),
        article_title: opt(&c.article_title),
        doi: opt(&c.doi),
        pmid: opt(&c.pmid),
    })
}

/// Whether resolving the citation means a title search (no identifier given), the one
/// lookup that can take milliseconds rather than microseconds.
pub fn searches_text(c: Option<&pb::Citation>) -> bool {
    c.is_some_and(|c| {
        [&c.isbn, &c.issn, &c.eissn, &c.oclc_number, &c.lccn]
            .iter()
            .all(|s| s.trim().is_empty())
    })
}

/// A request's service type from the wire: unspecified is left to the engine (a copy for
/// an article, else a loan).
pub fn request_service_from_wire(v: i32) -> Result<Option<ServiceType>, Status> {
    if v == pb::ServiceType::Unspecified as i32 {
        return Ok(None);
    }
    service_type_from_wire(v, "service_type").map(Some)
}

/// A service type from the wire (unspecified: loan); `field` names it in errors.
pub fn service_type_from_wire(v: i32, field: &str) -> Result<ServiceType, Status> {
    match pb::ServiceType::try_from(v) {
        Ok(pb::ServiceType::Unspecified | pb::ServiceType::Loan) => Ok(ServiceType::Loan),
        Ok(pb::ServiceType::Copy) => Ok(ServiceType::Copy),
        Ok(pb::ServiceType::CopyOrLoan) => Ok(ServiceType::CopyOrLoan),
        Err(_) => Err(Status::invalid_argument(format!(
            "{field}: unknown value {v}"
        ))),
    }
}

/// A format from the wire (unspecified: the matched record's).
pub fn format_from_wire(v: i32) -> Result<Option<Format>, Status> {
    Ok(match pb::Format::try_from(v) {
        Ok(pb::Format::Unspecified) => None,
        Ok(pb::Format::Book) => Some(Format::Book),
        Ok(pb::Format::Serial) => Some(Format::Serial),
        Ok(pb::Format::AudioVisual) => Some(Format::AudioVisual),
        Ok(pb::Format::Microform) => Some(Format::Microform),
        Ok(pb::Format::Rare) => Some(Format::Rare),
        Ok(pb::Format::Map) => Some(Format::Map),
        Ok(pb::Format::Score) => Some(Format::Score),
        Ok(pb::Format::Electronic) => Some(Format::Electronic),
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "format: unknown value {v}"
            )));
        }
    })
}

/// A tried lender's answer from the wire; `field` names it in errors.
pub fn answer_from_wire(v: i32, field: &str) -> Result<Answer, Status> {
    use pb::TriedReason as T;
    Ok(match T::try_from(v) {
        Ok(T::NoAnswer) => Answer::NoAnswer,
        Ok(T::NotHeld) => Answer::Unfilled(ReasonUnfilled::NotHeld),
        Ok(T::NonCirculating) => Answer::Unfilled(ReasonUnfilled::NonCirculating),
        Ok(T::NotAvailableForIll) => Answer::Unfilled(ReasonUnfilled::NotAvailableForIll),
        Ok(T::NotOnShelf) => Answer::Unfilled(ReasonUnfilled::NotOnShelf),
        Ok(T::PolicyProblem) => Answer::Unfilled(ReasonUnfilled::PolicyProblem),
        Ok(T::PoorCondition) => Answer::Unfilled(ReasonUnfilled::PoorCondition),
        Ok(T::OnLoan) => Answer::Retry(ReasonRetry::OnLoan),
        Ok(T::CostExceedsMaxCost) => Answer::Retry(ReasonRetry::CostExceedsMaxCost),
        Ok(T::NotYetAvailable) => Answer::Retry(ReasonRetry::NotYetAvailable),
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "{field}: unknown value {v}"
            )));
        }
    })
}

/// A routing request from the wire: enum values checked here, every bound by
/// [`Request::validate`] when the engine routes it.
pub fn request_from_wire(r: &pb::RouteRequest, now: i64) -> Result<Request, Status> {
    let c = citation_from_wire(r.citation.as_ref())?;
    let mut tried = Vec::with_capacity(r.tried.len());
    for (i, t) in r.tried.iter().enumerate() {
        tried.push(Tried {
            lender: t.lender.clone(),
            answer: answer_from_wire(t.reason, &format!("tried[{i}].reason"))?,
            at: (t.answered_at != 0).then_some(t.answered_at),
        });
    }
    Ok(Request {
        request_id: r.request_id.clone(),
        borrower: r.borrower.clone(),
        citation: c,
        service: request_service_from_wire(r.service_type)?,
        format: format_from_wire(r.format)?,
        // set, or not zero: a NaN or negative amount reaches the bounds check
        max_cost: (r.has_max_cost || r.max_cost != 0.0).then_some(r.max_cost),
        currency: opt(&r.currency),
        need_before: (r.need_before != 0).then_some(r.need_before),
        rush: r.rush,
        tried,
        max_lenders: if r.max_lenders == 0 { 5 } else { r.max_lenders },
        profile: opt(&r.profile),
        min_confidence: r.min_confidence,
        require_identifier: r.require_identifier,
        route_anyway: r.route_anyway,
        // live availability is asked by rota itself, not sent by callers
        availability: Vec::new(),
        now,
    })
}

fn svc_wire(s: Service) -> i32 {
    match s {
        Service::Loan => pb::ServiceType::Loan as i32,
        Service::Copy => pb::ServiceType::Copy as i32,
    }
}

/// An engine answer on the wire.
pub fn response_to_wire(s: LendingString, cat: &Catalog) -> pb::RouteResponse {
    pb::RouteResponse {
        request_id: s.request_id.clone(),
        lenders: s
            .lenders
            .into_iter()
            .map(|l| ranked(l, &s.request_id))
            .collect(),
        excluded: s
            .excluded
            .iter()
            .map(|e| pb::ExcludedLender {
                symbol: e.symbol.to_string(),
                reason: exclusion_name(e.reason),
                description: e.reason.describe().into(),
                detail: e.detail.as_ref().map(|d| d.to_string()).unwrap_or_default(),
            })
            .collect(),
        expected_hours_to_fill: s.expected_hours_to_fill,
        p_filled: s.p_filled,
        matches: s.matches.iter().map(|m| catalog_match(m, cat)).collect(),
        profile: s.profile.into_string(),
        error: None,
        not_ranked: s.not_ranked,
        status: status_to_wire(s.status) as i32,
        ambiguous: s.ambiguous,
        candidates: s.candidates.iter().map(|m| catalog_match(m, cat)).collect(),
        local: s
            .local
            .iter()
            .map(|l| pb::LocalHolding {
                symbol: l.symbol.to_string(),
                cluster: l.cluster.get(),
                copies: u32::from(l.copies),
                loan: l.lending.loan,
                copy: l.lending.copy,
            })
            .collect(),
    }
}

fn ranked(l: rota_routing::RankedLender, request_id: &str) -> pb::RankedLender {
    pb::RankedLender {
        symbol: l.symbol.into_string(),
        rank: l.rank,
        score: l.score,
        p_fill: l.p_fill,
        expected_hours: l.expected_hours,
        deliver_hours: l.deliver_hours,
        answer_hours: l.answer_hours,
        service_type: svc_wire(l.service),
        cluster: l.cluster.get(),
        factors: l
            .factors
            .into_iter()
            .map(|f| pb::Factor {
                name: f.name.into(),
                value: f.value,
                contribution: f.contribution,
            })
            .collect(),
        reason: l.reason,
        request_id: request_id.to_string(),
    }
}

/// An exclusion's wire name (its snake_case serde name).
pub fn exclusion_name(e: Exclusion) -> String {
    match serde_json::to_value(e) {
        Ok(serde_json::Value::String(s)) => s,
        // a unit variant serialises to its (renamed) name, always: anything else is a
        // broken build, not an empty name to send
        other => unreachable!("exclusion {e:?} serialised as {other:?}"),
    }
}

fn status_to_wire(s: RouteStatus) -> pb::RouteStatus {
    match s {
        RouteStatus::Routed => pb::RouteStatus::Routed,
        RouteStatus::HeldLocally => pb::RouteStatus::HeldLocally,
        RouteStatus::Ambiguous => pb::RouteStatus::Ambiguous,
        RouteStatus::NoConfidentMatch => pb::RouteStatus::NoConfidentMatch,
        RouteStatus::NotFound => pb::RouteStatus::NotFound,
    }
}

fn catalog_match(m: &Match, cat: &Catalog) -> pb::CatalogMatch {
    let (title, author) = cat.title_author(m.cluster).unwrap_or_default();
    let holders = cat.holders(m.cluster);
    pb::CatalogMatch {
        cluster: m.cluster.get(),
        method: m.method.name().into(),
        confidence: f64::from(m.confidence),
        title,
        author,
        year: cat.year(m.cluster).map_or(0, u32::from),
        holders: holders.len() as u32,
        lending_holders: holders.iter().filter(|h| h.lendable()).count() as u32,
    }
}

/// A lookup's answer on the wire: every candidate with its display text and holders.
pub fn lookup_to_wire(r: &Resolution, cat: &Catalog) -> pb::LookupResponse {
    pb::LookupResponse {
        matches: r
            .candidates
            .iter()
            .map(|m| {
                let info = cat.info(m.cluster);
                pb::ClusterMatch {
                    cluster: m.cluster.get(),
                    method: m.method.name().into(),
                    confidence: f64::from(m.confidence),
                    title: info.as_ref().map(|i| i.title.clone()).unwrap_or_default(),
                    author: info.as_ref().map(|i| i.author.clone()).unwrap_or_default(),
                    year: info.as_ref().and_then(|i| i.year).map_or(0, u32::from),
                    identifiers: info.map(|i| i.ids).unwrap_or_default(),
                    holders: cat
                        .holders(m.cluster)
                        .iter()
                        .map(|h| pb::HolderInfo {
                            symbol: cat.library(h.library).symbol.clone(),
                            copies: u32::from(h.copies),
                            lendable: h.lendable(),
                            loan: h.lending.loan,
                            copy: h.lending.copy,
                        })
                        .collect(),
                    matched: r.matches.iter().any(|x| x.cluster == m.cluster),
                }
            })
            .collect(),
        status: match r.status {
            MatchStatus::Matched => pb::MatchStatus::Matched,
            MatchStatus::Ambiguous => pb::MatchStatus::Ambiguous,
            MatchStatus::NoConfidentMatch => pb::MatchStatus::NoConfidentMatch,
            MatchStatus::NotFound => pb::MatchStatus::NotFound,
        } as i32,
        ambiguous: r.ambiguous,
    }
}

/// A citation on the wire.
pub fn citation_to_wire(c: &Citation) -> pb::Citation {
    pb::Citation {
        isbn: c.isbn.clone().unwrap_or_default(),
        issn: c.issn.clone().unwrap_or_default(),
        oclc_number: c.oclc.clone().unwrap_or_default(),
        lccn: c.lccn.clone().unwrap_or_default(),
        title: c.title.clone().unwrap_or_default(),
        author: c.author.clone().unwrap_or_default(),
        year: c.year.map_or(0, u32::from),
        language: c.language.clone().unwrap_or_default(),
        eissn: c.eissn.clone().unwrap_or_default(),
        volume: c.volume.clone().unwrap_or_default(),
        issue: c.issue.clone().unwrap_or_default(),
        pages: c.pages.clone().unwrap_or_default(),
        date: c.date.clone().unwrap_or_default(),
        article_title: c.article_title.clone().unwrap_or_default(),
        doi: c.doi.clone().unwrap_or_default(),
        pmid: c.pmid.clone().unwrap_or_default(),
    }
}

/// A tried lender's answer on the wire.
pub fn answer_to_wire(a: Answer) -> i32 {
    use pb::TriedReason as T;
    use rota_routing::{ReasonRetry as R, ReasonUnfilled as U};
    (match a {
        Answer::NoAnswer => T::NoAnswer,
        Answer::Unfilled(U::NotHeld) => T::NotHeld,
        Answer::Unfilled(U::NonCirculating) => T::NonCirculating,
        Answer::Unfilled(U::NotAvailableForIll) => T::NotAvailableForIll,
        Answer::Unfilled(U::NotOnShelf) => T::NotOnShelf,
        Answer::Unfilled(U::PolicyProblem) => T::PolicyProblem,
        Answer::Unfilled(U::PoorCondition) => T::PoorCondition,
        Answer::Retry(R::OnLoan) => T::OnLoan,
        Answer::Retry(R::CostExceedsMaxCost) => T::CostExceedsMaxCost,
        Answer::Retry(R::NotYetAvailable | R::Other) => T::NotYetAvailable,
    }) as i32
}

/// A routing request on the wire (what `rota route --server` sends).
pub fn request_to_wire(r: &Request) -> pb::RouteRequest {
    pb::RouteRequest {
        request_id: r.request_id.clone(),
        borrower: r.borrower.clone(),
        citation: Some(citation_to_wire(&r.citation)),
        service_type: match r.service {
            None => pb::ServiceType::Unspecified,
            Some(ServiceType::Loan) => pb::ServiceType::Loan,
            Some(ServiceType::Copy) => pb::ServiceType::Copy,
            Some(ServiceType::CopyOrLoan) => pb::ServiceType::CopyOrLoan,
        } as i32,
        format: r.format.map_or(0, |f| i32::from(f.index()) + 1),
        max_cost: r.max_cost.unwrap_or(0.0),
        has_max_cost: r.max_cost.is_some(),
        currency: r.currency.clone().unwrap_or_default(),
        need_before: r.need_before.unwrap_or(0),
        rush: r.rush,
        tried: r
            .tried
            .iter()
            .map(|t| pb::TriedLender {
                lender: t.lender.clone(),
                reason: answer_to_wire(t.answer),
                answered_at: t.at.unwrap_or(0),
            })
            .collect(),
        max_lenders: r.max_lenders,
        profile: r.profile.clone().unwrap_or_default(),
        min_confidence: r.min_confidence,
        require_identifier: r.require_identifier,
        route_anyway: r.route_anyway,
    }
}

/// A weight profile on the wire, with its version.
pub fn profile_to_wire(p: &Profile, version: u64) -> pb::WeightProfile {
    let w = p.weights;
    let a = p.adjustments;
    pb::WeightProfile {
        name: p.name.clone(),
        mode: match p.mode {
            Mode::FastestFill => pb::RankingMode::FastestFill as i32,
            Mode::WeightedScore => pb::RankingMode::WeightedScore as i32,
        },
        w_holdings: w.holdings,
        w_load: w.load,
        w_reciprocity: w.reciprocity,
        w_tier: w.tier,
        w_cost: w.cost,
        w_distance: w.distance,
        w_turnaround: w.turnaround,
        w_fill_rate: w.fill_rate,
        adj_reciprocity: a.reciprocity,
        adj_cost: a.cost,
        adj_fairness: a.fairness,
        adj_tier: a.tier,
        version,
    }
}

/// A weight profile from the wire: unset fields taken from `base` (the profile it
/// replaces), the result validated.
pub fn profile_from_wire(w: &pb::WeightProfile, base: Option<&Profile>) -> Result<Profile, Status> {
    let mode = match pb::RankingMode::try_from(w.mode) {
        Ok(pb::RankingMode::FastestFill) => Mode::FastestFill,
        Ok(pb::RankingMode::WeightedScore) => Mode::WeightedScore,
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "mode: unknown value {}",
                w.mode
            )));
        }
    };
    let mut p = base.cloned().unwrap_or_default();
    p.name = w.name.clone();
    p.mode = mode;
    p.weights = rota_routing::profile::Weights {
        holdings: w.w_holdings,
        load: w.w_load,
        reciprocity: w.w_reciprocity,
        tier: w.w_tier,
        cost: w.w_cost,
        distance: w.w_distance,
        turnaround: w.w_turnaround,
        fill_rate: w.w_fill_rate,
    };
    p.adjustments = rota_routing::profile::Adjustments {
        reciprocity: w.adj_reciprocity,
        cost: w.adj_cost,
        fairness: w.adj_fairness,
        tier: w.adj_tier,
    };
    p.validate()
        .map_err(|e| Status::invalid_argument(e.to_string()))?;
    Ok(p)
}

/// A lifecycle event from the wire (`at` 0: `now`).
pub fn event_from_wire(e: &pb::LenderEvent, now: i64) -> Result<Event, Status> {
    use pb::EventKind as K;
    let kind = match K::try_from(e.kind) {
        Ok(K::Sent) => EventKind::Sent,
        Ok(K::WillSupply) => EventKind::WillSupply,
        Ok(K::Loaned) => EventKind::Loaned,
        Ok(K::CopyCompleted) => EventKind::CopyCompleted,
        Ok(K::Unfilled) => match answer_from_wire(e.reason, "reason")? {
            Answer::Unfilled(r) => EventKind::Unfilled(r),
            _ => {
                return Err(Status::invalid_argument(
                    "reason: UNFILLED needs a ReasonUnfilled (NOT_HELD … POOR_CONDITION)",
                ));
            }
        },
        Ok(K::RetryPossible) => match answer_from_wire(e.reason, "reason")? {
            Answer::Retry(r) => EventKind::RetryPossible(r),
            _ => {
                return Err(Status::invalid_argument(
                    "reason: RETRY_POSSIBLE needs a ReasonRetry (ON_LOAN, …)",
                ));
            }
        },
        Ok(K::Received) => EventKind::Received,
        Ok(K::Returned) => EventKind::Returned,
        Ok(K::Cancelled) => EventKind::Cancelled,
        Ok(K::Expired) => EventKind::Expired,
        Ok(K::Unspecified) => return Err(Status::invalid_argument("kind: required")),
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "kind: unknown value {}",
                e.kind
            )));
        }
    };
    let svc = match service_type_from_wire(e.service_type, "service_type")? {
        ServiceType::Copy => Service::Copy,
        _ => Service::Loan,
    };
    Ok(Event {
        at: if e.at == 0 { now } else { e.at },
        request_id: e.request_id.clone(),
        borrower: e.borrower.clone(),
        lender: e.lender.clone(),
        cluster: e.has_cluster.then_some(ClusterId::new(e.cluster)),
        service: svc,
        kind,
    })
}

//! A request's story: found by its id (or its borrower), the citation as the borrowing
//! system sent it, what the catalogue matched and how sure it was, the lending string
//! with every lender's factors and every holder left out with its reason — each time it
//! was routed — and then its events in order.

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use prost::Message as _;
use rota_proto::v1 as pb;
use serde::{Deserialize, Serialize};

use super::auth::{ApiOperator, Operator};
use super::view::{Layout, html};
use super::{ApiError, Console, ConsoleError};
use crate::history::query::{self, EventRow, RequestRow};

/// Requests per page of the list.
const PER_PAGE: usize = 50;

/// One lender of a string.
#[derive(Debug, Serialize)]
pub struct LenderLine {
    /// Rank, from 1.
    pub rank: u32,
    /// Symbol.
    pub symbol: String,
    /// Probability it fills.
    pub p_fill: f64,
    /// Expected hours at it.
    pub expected_hours: f64,
    /// `loan` or `copy`.
    pub service: String,
    /// Factors: name, value, contribution.
    pub factors: Vec<(String, f64, f64)>,
    /// The sentence for staff.
    pub reason: String,
}

/// A holder left out.
#[derive(Debug, Serialize)]
pub struct ExcludedLine {
    /// Symbol.
    pub symbol: String,
    /// The rule (`borrower`, `not_lending`, ...).
    pub reason: String,
    /// What it means.
    pub description: String,
    /// Its particulars.
    pub detail: String,
}

/// A catalogue match.
#[derive(Debug, Serialize)]
pub struct MatchLine {
    /// Cluster.
    pub cluster: u32,
    /// How it was found (`isbn`, `title`, ...).
    pub method: String,
    /// Confidence, 0..1.
    pub confidence: f64,
    /// Title, author, year.
    pub title: String,
    /// Author.
    pub author: String,
    /// Year (0: none).
    pub year: u32,
    /// Holders, and of them lending.
    pub holders: u32,
    /// Lending holders.
    pub lending_holders: u32,
}

/// One time a request was routed, as the caller sent and got it.
#[derive(Debug, Serialize)]
pub struct Routing {
    /// When.
    pub at: i64,
    /// Who asked (token name).
    pub who: String,
    /// The service asked for.
    pub service: String,
    /// The citation's fields that were given: name, value.
    pub citation: Vec<(String, String)>,
    /// Lenders already tried, and what they said.
    pub tried: Vec<(String, String)>,
    /// The outcome (`routed`, `held_locally`, `ambiguous`, `not_found`, ...).
    pub status: String,
    /// The profile used.
    pub profile: String,
    /// Expected hours to fill over the whole string.
    pub expected_hours_to_fill: f64,
    /// Probability the string fills.
    pub p_filled: f64,
    /// What the catalogue matched (several when ambiguous).
    pub matches: Vec<MatchLine>,
    /// The string.
    pub lenders: Vec<LenderLine>,
    /// Holders left out.
    pub excluded: Vec<ExcludedLine>,
    /// An error the caller got instead of a string.
    pub error: Option<String>,
}

fn routing(row: &query::RouteRow) -> Result<Routing, ConsoleError> {
    let req = pb::RouteRequest::decode(row.request.as_slice())
        .map_err(|e| ConsoleError::Internal(format!("a kept request does not decode: {e}")))?;
    let resp = pb::RouteResponse::decode(row.response.as_slice())
        .map_err(|e| ConsoleError::Internal(format!("a kept answer does not decode: {e}")))?;
    let c = req.citation.unwrap_or_default();
    let year = if c.year == 0 {
        String::new()
    } else {
        c.year.to_string()
    };
    let citation = [
        ("ISBN", c.isbn),
        ("ISSN", c.issn),
        ("eISSN", c.eissn),
        ("OCLC", c.oclc_number),
        ("LCCN", c.lccn),
        ("title", c.title),
        ("author", c.author),
        ("year", year),
        ("date", c.date),
        ("volume", c.volume),
        ("issue", c.issue),
        ("pages", c.pages),
        ("article", c.article_title),
        ("language", c.language),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let service_name = |s: i32| match pb::ServiceType::try_from(s) {
        Ok(pb::ServiceType::Unspecified) | Err(_) => "service not given".to_owned(),
        Ok(s) => s
            .as_str_name()
            .trim_start_matches("SERVICE_TYPE_")
            .to_lowercase(),
    };
    let mut seen = std::collections::HashSet::new();
    let matches = resp
        .matches
        .iter()
        .chain(&resp.candidates)
        .filter(|m| seen.insert(m.cluster))
        .map(|m| MatchLine {
            cluster: m.cluster,
            method: m.method.clone(),
            confidence: m.confidence,
            title: m.title.clone(),
            author: m.author.clone(),
            year: m.year,
            holders: m.holders,
            lending_holders: m.lending_holders,
        })
        .collect();
    Ok(Routing {
        at: row.at,
        who: row.who.clone(),
        service: service_name(req.service_type),
        citation,
        tried: req
            .tried
            .iter()
            .map(|t| {
                let why = pb::TriedReason::try_from(t.reason)
                    .map(|r| {
                        r.as_str_name()
                            .trim_start_matches("TRIED_REASON_")
                            .to_lowercase()
                    })
                    .unwrap_or_default();
                (t.lender.clone(), why)
            })
            .collect(),
        status: pb::RouteStatus::try_from(resp.status)
            .map(|s| {
                s.as_str_name()
                    .trim_start_matches("ROUTE_STATUS_")
                    .to_lowercase()
            })
            .unwrap_or_default(),
        profile: resp.profile,
        expected_hours_to_fill: resp.expected_hours_to_fill,
        p_filled: resp.p_filled,
        matches,
        lenders: resp
            .lenders
            .into_iter()
            .map(|l| LenderLine {
                rank: l.rank,
                symbol: l.symbol,
                p_fill: l.p_fill,
                expected_hours: l.expected_hours,
                service: service_name(l.service_type),
                factors: l
                    .factors
                    .into_iter()
                    .map(|f| (f.name, f.value, f.contribution))
                    .collect(),
                reason: l.reason,
            })
            .collect(),
        excluded: resp
            .excluded
            .into_iter()
            .map(|e| ExcludedLine {
                symbol: e.symbol,
                reason: e.reason,
                description: e.description,
                detail: e.detail,
            })
            .collect(),
        error: resp.error.map(|e| format!("{}: {}", e.code, e.message)),
    })
}

/// A request's whole story (the JSON twin of its page).
#[derive(Debug, Serialize)]
pub struct StoryView {
    /// Borrower.
    pub borrower: String,
    /// Request id.
    pub request_id: String,
    /// Each time it was routed, oldest first.
    pub routings: Vec<Routing>,
    /// Its events, in order.
    pub events: Vec<EventRow>,
}

async fn story(
    c: &Console,
    borrower: String,
    request_id: String,
) -> Result<StoryView, ConsoleError> {
    let (b, id) = (borrower.clone(), request_id.clone());
    let s = c.history(move |h| query::story(h, &b, &id)).await?;
    if s.routes.is_empty() && s.events.is_empty() {
        return Err(ConsoleError::NotFound(format!(
            "no request {request_id:?} of borrower {borrower:?} in the history"
        )));
    }
    Ok(StoryView {
        routings: s.routes.iter().map(routing).collect::<Result<_, _>>()?,
        events: s.events,
        borrower,
        request_id,
    })
}

/// The list's query: `q`, a prefix of a request id or borrower symbol.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    page: Option<usize>,
}

async fn list(c: &Console, q: &ListQuery) -> Result<Vec<RequestRow>, ConsoleError> {
    let prefix = q.q.trim().to_owned();
    let offset = (q.page.unwrap_or(1).max(1) - 1) * PER_PAGE;
    c.history(move |h| query::requests(h, &prefix, PER_PAGE + 1, offset))
        .await
}

#[derive(Template)]
#[template(path = "console/requests.html")]
struct RequestsPage {
    layout: Layout,
    q: String,
    page: usize,
    rows: Vec<RequestRow>,
    more: bool,
}

/// `GET /requests`: recent requests, or those whose id or borrower begins with `q`.
/// An id that names exactly one request leads straight to its story.
pub async fn page(
    State(c): State<Console>,
    op: Operator,
    Query(q): Query<ListQuery>,
) -> Result<Response, ConsoleError> {
    let mut rows = list(&c, &q).await?;
    if let [only] = rows.as_slice()
        && only.request_id == q.q.trim()
    {
        return Ok(Redirect::to(&story_path(&only.borrower, &only.request_id)).into_response());
    }
    let more = rows.len() > PER_PAGE;
    rows.truncate(PER_PAGE);
    Ok(html(&RequestsPage {
        layout: Layout::new(&op, "/requests"),
        q: q.q,
        page: q.page.unwrap_or(1).max(1),
        rows,
        more,
    })?
    .into_response())
}

/// A story's address.
pub fn story_path(borrower: &str, request_id: &str) -> String {
    format!(
        "/requests/{}/{}",
        super::lenders::percent(borrower),
        super::lenders::percent(request_id)
    )
}

/// `GET /api/requests`.
pub async fn api(
    State(c): State<Console>,
    _op: ApiOperator,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<RequestRow>>, ApiError> {
    let mut rows = list(&c, &q).await?;
    rows.truncate(PER_PAGE);
    Ok(Json(rows))
}

#[derive(Template)]
#[template(path = "console/request.html")]
struct StoryPage {
    layout: Layout,
    s: StoryView,
}

/// `GET /requests/{borrower}/{id}`.
pub async fn one_page(
    State(c): State<Console>,
    op: Operator,
    Path((borrower, id)): Path<(String, String)>,
) -> Result<Html<String>, ConsoleError> {
    let s = story(&c, borrower, id).await?;
    html(&StoryPage {
        layout: Layout::new(&op, "/requests"),
        s,
    })
}

/// `GET /api/requests/{borrower}/{id}`.
pub async fn one_api(
    State(c): State<Console>,
    _op: ApiOperator,
    Path((borrower, id)): Path<(String, String)>,
) -> Result<Json<StoryView>, ApiError> {
    Ok(Json(story(&c, borrower, id).await?))
}

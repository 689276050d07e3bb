//! The lenders: one row each (load against capacity, fill probability, answer and
//! delivery times with the evidence they rest on), filtered, sorted and paged on the
//! server so that a consortium of a thousand lenders sends a page at a time; and a page
//! per lender with its directory entry and its reciprocity with each partner.
//!
//! The figures are the live state's own estimates, the ones the router ranks with
//! ([`rota_routing::LiveState::view`]), so what the console shows is what routing used.

use std::borrow::Borrow;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use rota_routing::{Directory, LenderId, LiveState, Service};
use serde::{Deserialize, Serialize};

use super::auth::{ApiOperator, Operator};
use super::profiles::Change;
use super::view::{Layout, html};
use super::{ApiError, Console, ConsoleError};
use crate::history::query::{self, LenderRecord, Version};

/// Rows per page unless asked otherwise, and the most a page may have.
const PER_PAGE: usize = 50;
const MAX_PER_PAGE: usize = 500;

/// The table's query: `q` filters (symbol, name or group, any case), `lending` keeps
/// only lenders that lend (`yes`) or do not (`no`), `sort` names a column, `desc` turns
/// it around, `page` counts from 1.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct TableQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    lending: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    desc: bool,
    page: Option<usize>,
    per: Option<usize>,
}

/// One lender's row (and its JSON twin).
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// Symbol.
    pub symbol: String,
    /// Name.
    pub name: String,
    /// Groups.
    pub groups: Vec<String>,
    /// Whether it lends at all (and is not suspended today).
    pub lending: bool,
    /// Closed today (a closure in its entry covers today).
    pub closed_today: bool,
    /// Requests open at it now.
    pub open: u32,
    /// Most it will have open at once (none: no limit declared).
    pub capacity: Option<u32>,
    /// Open requests over capacity.
    pub load: Option<f64>,
    /// Requests sent to it today, and its daily limit.
    pub sent_today: u32,
    /// Its daily limit.
    pub daily: Option<u32>,
    /// Loans: probability it fills.
    pub loan_fill: f64,
    /// Copies: probability it fills.
    pub copy_fill: f64,
    /// Decayed answers behind the loan estimates.
    pub evidence: f64,
    /// Hours it takes to say no.
    pub answer_hours: f64,
    /// Hours a loan takes to arrive when it fills.
    pub loan_hours: f64,
    /// Hours a copy takes when it fills.
    pub copy_hours: f64,
    /// Share of requests it lets expire unanswered.
    pub silent_share: f64,
    /// Answers per day, recently.
    pub answers_per_day: f64,
    /// Its loans' time in transit, learned from Loaned → Received, as a multiple of the
    /// prior for the distance (1: as expected).
    pub transit_ratio: f64,
}

fn row(dir: &Directory, live: &LiveState, id: LenderId, now: i64) -> Row {
    let l = dir.get(id);
    let loan = live.view(id, Service::Loan, now);
    let copy = live.view(id, Service::Copy, now);
    let today = chrono::DateTime::from_timestamp(now, 0)
        .map(|t| t.date_naive())
        .unwrap_or_default();
    let suspended =
        l.suspended_from.is_some_and(|f| f <= today) && l.suspended_to.is_none_or(|t| t >= today);
    let capacity = l.capacity.open_requests;
    Row {
        symbol: l.symbol.clone(),
        name: l.name.clone(),
        groups: l.groups.clone(),
        lending: l.lending && !suspended,
        closed_today: l.closed.iter().any(|c| c.from <= today && today <= c.to),
        open: loan.open,
        capacity,
        load: capacity.map(|c| f64::from(loan.open) / f64::from(c.max(1))),
        sent_today: loan.sent_today,
        daily: l.capacity.daily,
        loan_fill: loan.p_fill,
        copy_fill: copy.p_fill,
        evidence: loan.evidence,
        answer_hours: loan.answer_hours,
        loan_hours: loan.deliver_hours,
        copy_hours: copy.deliver_hours,
        silent_share: loan.dead_share,
        answers_per_day: loan.rate_per_day,
        transit_ratio: loan.transit_ratio,
    }
}

/// The columns a table sorts by, as named in `sort=`.
const SORTS: &[&str] = &[
    "symbol",
    "name",
    "open",
    "load",
    "sent",
    "fill",
    "copy_fill",
    "answer",
    "loan_hours",
    "copy_hours",
    "silent",
    "evidence",
];

/// A page of the table, and how many rows matched.
#[derive(Debug, Serialize)]
pub struct Table {
    /// Rows matching the filter.
    pub total: usize,
    /// This page, from 1.
    pub page: usize,
    /// Rows per page.
    pub per: usize,
    /// Pages.
    pub pages: usize,
    /// The column sorted by.
    pub sort: String,
    /// Descending.
    pub desc: bool,
    /// The rows of this page.
    pub rows: Vec<Row>,
}

fn table(c: &Console, q: &TableQuery) -> Result<Table, ConsoleError> {
    let sort = if q.sort.is_empty() {
        "symbol"
    } else {
        q.sort.as_str()
    };
    if !SORTS.contains(&sort) {
        return Err(ConsoleError::BadRequest(format!(
            "sort: {sort:?} is not one of {}",
            SORTS.join(", ")
        )));
    }
    let lending = match q.lending.as_str() {
        "" => None,
        "yes" => Some(true),
        "no" => Some(false),
        v => {
            return Err(ConsoleError::BadRequest(format!(
                "lending: {v:?} is not yes or no"
            )));
        }
    };
    let per = q.per.unwrap_or(PER_PAGE);
    if per == 0 || per > MAX_PER_PAGE {
        return Err(ConsoleError::BadRequest(format!(
            "per: {per} is not between 1 and {MAX_PER_PAGE}"
        )));
    }
    let app = c.app()?;
    let eng = app.engine.load();
    let dir = eng.directory();
    let now = chrono::Utc::now().timestamp();
    let needle = q.q.trim().to_lowercase();
    let mut rows: Vec<Row> = {
        let live = app.live.read().unwrap_or_else(|e| e.into_inner());
        dir.ids()
            .filter(|&i| {
                let l = dir.get(i);
                needle.is_empty()
                    || l.symbol.to_lowercase().contains(&needle)
                    || l.name.to_lowercase().contains(&needle)
                    || l.groups.iter().any(|g| g.to_lowercase().contains(&needle))
            })
            .map(|i| row(dir, &live, i, now))
            .filter(|r| lending.is_none_or(|want| r.lending == want))
            .collect()
    };
    let key = |r: &Row| -> f64 {
        match sort {
            "open" => f64::from(r.open),
            "load" => r.load.unwrap_or(f64::NEG_INFINITY),
            "sent" => f64::from(r.sent_today),
            "fill" => r.loan_fill,
            "copy_fill" => r.copy_fill,
            "answer" => r.answer_hours,
            "loan_hours" => r.loan_hours,
            "copy_hours" => r.copy_hours,
            "silent" => r.silent_share,
            "transit" => r.transit_ratio,
            _ => r.evidence,
        }
    };
    match sort {
        "symbol" => rows.sort_by(|a, b| a.symbol.cmp(&b.symbol)),
        "name" => rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.symbol.cmp(&b.symbol))),
        _ => rows.sort_by(|a, b| key(a).total_cmp(&key(b)).then(a.symbol.cmp(&b.symbol))),
    }
    if q.desc {
        rows.reverse();
    }
    let total = rows.len();
    let pages = total.div_ceil(per).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let rows = rows.into_iter().skip((page - 1) * per).take(per).collect();
    Ok(Table {
        total,
        page,
        per,
        pages,
        sort: sort.into(),
        desc: q.desc,
        rows,
    })
}

#[derive(Template)]
#[template(path = "console/lenders.html")]
struct LendersPage {
    layout: Layout,
    t: Table,
    q: String,
    lending: String,
}

impl LendersPage {
    /// A link to this table with one setting changed, the rest kept.
    fn link(&self, sort: &str, desc: impl Borrow<bool>, page: impl Borrow<usize>) -> String {
        let (desc, page) = (*desc.borrow(), *page.borrow());
        let mut u = form_urlencoded(&[
            ("q", self.q.as_str()),
            ("lending", self.lending.as_str()),
            ("sort", sort),
        ]);
        if desc {
            u.push_str("&desc=true");
        }
        if self.t.per != PER_PAGE {
            u.push_str(&format!("&per={}", self.t.per));
        }
        if page > 1 {
            u.push_str(&format!("&page={page}"));
        }
        format!("/lenders?{u}")
    }

    /// The header link for a column: sorts by it, or turns the sort around.
    fn sort_link(&self, col: &str) -> String {
        let desc = if self.t.sort == col {
            !self.t.desc
        } else {
            col != "symbol" && col != "name"
        };
        self.link(col, desc, 1)
    }

    fn arrow(&self, col: &str) -> &'static str {
        match (self.t.sort == col, self.t.desc) {
            (false, _) => "",
            (true, false) => " ▲",
            (true, true) => " ▼",
        }
    }
}

fn form_urlencoded(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes a query value (everything but unreserved characters).
pub(super) fn percent(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `GET /lenders`.
pub async fn page(
    State(c): State<Console>,
    op: Operator,
    Query(q): Query<TableQuery>,
) -> Result<Html<String>, ConsoleError> {
    let t = table(&c, &q)?;
    html(&LendersPage {
        layout: Layout::new(&op, "/lenders"),
        t,
        q: q.q,
        lending: q.lending,
    })
}

/// `GET /api/lenders`: the same table as JSON.
pub async fn api(
    State(c): State<Console>,
    _op: ApiOperator,
    Query(q): Query<TableQuery>,
) -> Result<Json<Table>, ApiError> {
    Ok(Json(table(&c, &q)?))
}

/// One partner's reciprocity with a lender.
#[derive(Debug, Serialize)]
pub struct Partner {
    /// The partner's symbol.
    pub symbol: String,
    /// Items this lender lent the partner (decayed count).
    pub lent: f64,
    /// Items it borrowed from the partner (decayed count).
    pub borrowed: f64,
}

/// One lender's page (and its JSON twin).
#[derive(Debug, Serialize)]
pub struct LenderDetail {
    /// Its row of the table.
    pub row: Row,
    /// Its directory entry, as `rota directory` files and the Admin API have it.
    pub entry: rota_routing::Lender,
    /// The entry's version (0: as the directory file has it).
    pub version: u64,
    /// Partners it lent to or borrowed from, most traffic first (at most 25).
    pub partners: Vec<Partner>,
    /// What it did with the requests sent to it over the last [`RECORD_DAYS`] days.
    pub record: Option<LenderRecord>,
}

/// Days of a lender's record on its page.
pub const RECORD_DAYS: i64 = 91;

/// A lender's detail with its record from the history.
async fn full_detail(c: &Console, symbol: &str) -> Result<LenderDetail, ConsoleError> {
    let mut d = detail(c, symbol)?;
    let sym = symbol.to_owned();
    let to = chrono::Utc::now().timestamp() + 1;
    let from = to - RECORD_DAYS * 86_400;
    d.record = Some(
        c.history(move |h| query::lender_record(h, &sym, from, to))
            .await?,
    );
    Ok(d)
}

/// Partners shown on a lender's page.
const PARTNERS: usize = 25;

fn detail(c: &Console, symbol: &str) -> Result<LenderDetail, ConsoleError> {
    let app = c.app()?;
    let eng = app.engine.load();
    let dir = eng.directory();
    let id = dir.index(symbol).ok_or_else(|| {
        ConsoleError::NotFound(format!("lender {symbol:?} is not in the directory"))
    })?;
    let now = chrono::Utc::now().timestamp();
    let live = app.live.read().unwrap_or_else(|e| e.into_inner());
    let mut partners: Vec<Partner> = dir
        .ids()
        .filter(|&p| p != id)
        .filter_map(|p| {
            let (lent, borrowed) = live.reciprocity(id, p, now);
            (lent + borrowed >= 0.05).then(|| Partner {
                symbol: dir.get(p).symbol.clone(),
                lent,
                borrowed,
            })
        })
        .collect();
    partners.sort_by(|a, b| (b.lent + b.borrowed).total_cmp(&(a.lent + a.borrowed)));
    partners.truncate(PARTNERS);
    Ok(LenderDetail {
        row: row(dir, &live, id, now),
        entry: dir.get(id).clone(),
        version: app.lender_version(symbol),
        partners,
        record: None,
    })
}

#[derive(Template)]
#[template(path = "console/lender.html")]
struct LenderPage {
    layout: Layout,
    d: LenderDetail,
    /// The entry as edited (TOML, as a directory file's `[[lenders]]` entry has it).
    text: String,
    /// The version the edit was read at.
    version: u64,
    error: String,
    changes: Option<Vec<Change>>,
    saved: Option<u64>,
    versions: Vec<Version>,
}

impl LenderPage {
    /// Sent and filled a week, as the activity chart draws days.
    fn weeks_chart(&self) -> String {
        let weeks: Vec<query::Day> = self
            .d
            .record
            .iter()
            .flat_map(|r| &r.weeks)
            .map(|(w, sent, filled)| query::Day {
                day: w.clone(),
                requests: *sent,
                filled: *filled,
                ..query::Day::default()
            })
            .collect();
        super::activity::chart(&weeks)
    }

    /// A count as a share of what was sent.
    fn share(&self, n: &u64) -> String {
        let sent = self.d.record.as_ref().map_or(0, |r| r.sent);
        if sent == 0 {
            "—".into()
        } else {
            super::view::pct(*n as f64 / sent as f64)
        }
    }
}

fn entry_toml(l: &rota_routing::Lender) -> Result<String, ConsoleError> {
    toml::to_string(l)
        .map_err(|e| ConsoleError::Internal(format!("entry of {:?} not written: {e}", l.symbol)))
}

async fn lender_versions(c: &Console, symbol: &str) -> Result<Vec<Version>, ConsoleError> {
    c.versions("lender", symbol).await
}

/// `GET /api/lenders/{symbol}/versions`: the entry's saved versions, newest first.
pub async fn versions_api(
    State(c): State<Console>,
    _op: ApiOperator,
    Path(symbol): Path<String>,
) -> Result<Json<Vec<Version>>, ApiError> {
    detail(&c, &symbol)?;
    Ok(Json(lender_versions(&c, &symbol).await?))
}

/// `GET /lenders/{symbol}`.
pub async fn one_page(
    State(c): State<Console>,
    op: Operator,
    Path(symbol): Path<String>,
    Query(q): Query<super::view::Saved>,
) -> Result<Html<String>, ConsoleError> {
    let d = full_detail(&c, &symbol).await?;
    let versions = lender_versions(&c, &symbol).await?;
    html(&LenderPage {
        layout: Layout::new(&op, "/lenders"),
        text: entry_toml(&d.entry)?,
        version: d.version,
        d,
        error: String::new(),
        changes: None,
        saved: q.saved,
        versions,
    })
}

/// The entry edit form.
#[derive(Deserialize)]
pub struct EntryForm {
    csrf: Option<String>,
    text: String,
    version: u64,
    #[serde(default)]
    comment: String,
}

fn parse_entry(symbol: &str, text: &str) -> Result<rota_routing::Lender, ConsoleError> {
    let l: rota_routing::Lender = toml::from_str(text)
        .map_err(|e| ConsoleError::BadRequest(e.to_string().trim().replace('\n', " ")))?;
    if l.symbol != symbol {
        return Err(ConsoleError::BadRequest(format!(
            "symbol: {:?} differs from the lender being edited ({symbol:?})",
            l.symbol
        )));
    }
    Ok(l)
}

/// `POST /lenders/{symbol}/preview`: the edited entry checked as part of the whole
/// directory, and its changes from the entry in force; nothing is saved.
pub async fn preview(
    State(c): State<Console>,
    op: Operator,
    Path(symbol): Path<String>,
    Form(f): Form<EntryForm>,
) -> Result<Html<String>, ConsoleError> {
    op.check_csrf(f.csrf.as_deref())?;
    let d = full_detail(&c, &symbol).await?;
    let versions = lender_versions(&c, &symbol).await?;
    let checked = parse_entry(&symbol, &f.text).and_then(|l| {
        let app = c.app()?;
        let mut all = app.engine.load().directory().lenders().to_vec();
        if let Some(slot) = all.iter_mut().find(|x| x.symbol == l.symbol) {
            *slot = l.clone();
        }
        rota_routing::Directory::new(all, "the directory with this entry")
            .map_err(|e| ConsoleError::BadRequest(e.to_string()))?;
        Ok(l)
    });
    let (error, changes) = match checked {
        Ok(l) => (String::new(), Some(super::profiles::changes(&d.entry, &l)?)),
        Err(e) => (e.to_string(), None),
    };
    html(&LenderPage {
        layout: Layout::new(&op, "/lenders"),
        version: f.version.min(d.version),
        d,
        text: f.text,
        error,
        changes,
        saved: None,
        versions,
    })
}

/// `POST /lenders/{symbol}`: saves the edited entry if it is valid in the directory and
/// nobody saved since it was read.
pub async fn save(
    State(c): State<Console>,
    op: Operator,
    Path(symbol): Path<String>,
    Form(f): Form<EntryForm>,
) -> Result<Response, ConsoleError> {
    op.check_csrf(f.csrf.as_deref())?;
    let app = c.app()?;
    detail(&c, &symbol)?;
    let l = parse_entry(&symbol, &f.text)?;
    let done = app
        .put_lender(&op.principal.name, l, f.version, f.comment.trim())
        .await?;
    Ok(Redirect::to(&format!(
        "/lenders/{}?saved={}",
        percent(&symbol),
        done.version
    ))
    .into_response())
}

/// `GET /api/lenders/{symbol}`.
pub async fn one_api(
    State(c): State<Console>,
    _op: ApiOperator,
    Path(symbol): Path<String>,
) -> Result<Json<LenderDetail>, ApiError> {
    Ok(Json(full_detail(&c, &symbol).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            form_urlencoded(&[("q", "a b&c"), ("lending", ""), ("sort", "open")]),
            "q=a%20b%26c&sort=open"
        );
    }
}

//! Activity over a period: requests a day, how many were filled, time to fill (p50/p90),
//! lenders tried per filled request, first-lender share and load balance (Gini, the
//! busiest lenders), for loans, copies or both; as a page with a chart, as CSV for a
//! monthly report, and as JSON. Days are the operator's: the page's script sends the
//! browser's offset from UTC.

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use chrono::{Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::auth::{ApiOperator, Operator};
use super::view::{Layout, html};
use super::{ApiError, Console, ConsoleError};
use crate::history::query::{self, Activity, Day};

/// The longest period one report covers.
const MAX_DAYS: i64 = 400;

/// The report's query: `from` and `to` (inclusive, `YYYY-MM-DD`; default the last 30
/// days), `service` (`loan`, `copy`, or empty for both), `tz` (minutes east of UTC).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ActivityQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    tz: i64,
}

/// The formats a report can be limited to, as the catalogue names them.
pub const FORMATS: &[&str] = &[
    "book",
    "serial",
    "audio_visual",
    "microform",
    "rare",
    "map",
    "score",
    "electronic",
];

/// A report and the period it covers (the JSON twin of the page).
#[derive(Debug, Serialize)]
pub struct Report {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// `loan`, `copy` or empty.
    pub service: String,
    /// A format (`book`, `serial`, ...) or empty.
    pub format: String,
    /// Minutes east of UTC the days are counted in.
    pub tz: i64,
    /// The figures.
    pub activity: Activity,
}

fn date(field: &str, v: &str) -> Result<Option<NaiveDate>, ConsoleError> {
    if v.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map(Some)
        .map_err(|e| ConsoleError::BadRequest(format!("{field}: {v:?} is not YYYY-MM-DD ({e})")))
}

async fn report(c: &Console, q: &ActivityQuery) -> Result<Report, ConsoleError> {
    if q.tz.abs() > 14 * 60 {
        return Err(ConsoleError::BadRequest(format!(
            "tz: {} minutes is not an offset from UTC",
            q.tz
        )));
    }
    let service = match q.service.as_str() {
        "" => None,
        s @ ("loan" | "copy") => Some(s.to_owned()),
        s => {
            return Err(ConsoleError::BadRequest(format!(
                "service: {s:?} is not loan or copy"
            )));
        }
    };
    let format = match q.format.as_str() {
        "" => None,
        f => Some(
            rota_catalog::Format::parse(f)
                .map(rota_catalog::Format::name)
                .ok_or_else(|| {
                    ConsoleError::BadRequest(format!(
                        "format: {f:?} is not one of {}",
                        FORMATS.join(", ")
                    ))
                })?,
        ),
    };
    let offset = q.tz * 60;
    let today = (Utc::now() + Duration::seconds(offset)).date_naive();
    let to = date("to", &q.to)?.unwrap_or(today);
    let from = date("from", &q.from)?.unwrap_or(to - Duration::days(29));
    if from > to {
        return Err(ConsoleError::BadRequest(format!(
            "from: {from} is after to ({to})"
        )));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(ConsoleError::BadRequest(format!(
            "the period is longer than {MAX_DAYS} days"
        )));
    }
    let start = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp())
            - offset
    };
    let (a, b) = (start(from), start(to + Duration::days(1)));
    let svc = service.clone();
    let activity = c
        .history(move |h| query::activity(h, a, b, offset, svc.as_deref(), format))
        .await?;
    Ok(Report {
        from,
        to,
        service: service.unwrap_or_default(),
        format: format.unwrap_or_default().to_owned(),
        tz: q.tz,
        activity,
    })
}

/// Bars of requests a day with the filled part in colour, as inline SVG (drawn here: a
/// chart library in the page would be a script bigger than the console).
pub(super) fn chart(days: &[Day]) -> String {
    const W: f64 = 900.0;
    const H: f64 = 180.0;
    const PAD: f64 = 24.0;
    let max = days.iter().map(|d| d.requests).max().unwrap_or(0).max(1) as f64;
    let n = days.len().max(1) as f64;
    let bw = (W - 2.0 * PAD) / n;
    let y = |v: u64| H - PAD - (v as f64 / max) * (H - 2.0 * PAD);
    let mut s = format!(
        "<svg class=\"chart\" id=\"chart\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"requests and filled per day\">"
    );
    for (i, d) in days.iter().enumerate() {
        let x = PAD + i as f64 * bw;
        let w = (bw - 2.0).max(1.0);
        s.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"#c9d3e3\"><title>{}: {} requests</title></rect>",
            y(d.requests),
            H - PAD - y(d.requests),
            d.day,
            d.requests
        ));
        s.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"#1f5fbf\"><title>{}: {} filled</title></rect>",
            y(d.filled),
            H - PAD - y(d.filled),
            d.day,
            d.filled
        ));
    }
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        s.push_str(&format!(
            "<text x=\"{PAD}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><text x=\"{PAD}\" y=\"14\">{max:.0} requests</text>",
            H - 6.0,
            first.day,
            W - PAD,
            H - 6.0,
            last.day
        ));
    }
    s.push_str("</svg>");
    s
}

#[derive(Template)]
#[template(path = "console/activity.html")]
struct ActivityPage {
    layout: Layout,
    r: Report,
    chart: String,
    csv: String,
}

fn query_string(r: &Report) -> String {
    format!(
        "from={}&to={}&service={}&format={}&tz={}",
        r.from, r.to, r.service, r.format, r.tz
    )
}

/// `GET /activity`.
pub async fn page(
    State(c): State<Console>,
    op: Operator,
    Query(q): Query<ActivityQuery>,
) -> Result<Html<String>, ConsoleError> {
    let r = report(&c, &q).await?;
    html(&ActivityPage {
        layout: Layout::new(&op, "/activity"),
        chart: chart(&r.activity.days),
        csv: format!("/activity.csv?{}", query_string(&r)),
        r,
    })
}

/// `GET /api/activity`.
pub async fn api(
    State(c): State<Console>,
    _op: ApiOperator,
    Query(q): Query<ActivityQuery>,
) -> Result<Json<Report>, ApiError> {
    Ok(Json(report(&c, &q).await?))
}

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| format!("{v:.2}"))
}

/// The report as CSV: a row a day and a last row for the period.
pub fn csv(r: &Report) -> String {
    let mut out =
        String::from("day,requests,filled,fill_rate,p50_hours,p90_hours,lenders_per_filled\n");
    for d in r
        .activity
        .days
        .iter()
        .chain(std::iter::once(&r.activity.total))
    {
        let rate = (d.requests > 0).then(|| d.filled as f64 / d.requests as f64);
        out.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            d.day,
            d.requests,
            d.filled,
            opt(rate),
            opt(d.p50_hours),
            opt(d.p90_hours),
            opt(d.lenders_per_filled)
        ));
    }
    out
}

/// `GET /activity.csv`: the report, downloaded.
pub async fn csv_download(
    State(c): State<Console>,
    _op: Operator,
    Query(q): Query<ActivityQuery>,
) -> Result<Response, ConsoleError> {
    let r = report(&c, &q).await?;
    let name = format!("rota-activity-{}-{}.csv", r.from, r.to);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        csv(&r),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_row_a_day_and_the_total() {
        let d = |day: &str, requests, filled| Day {
            day: day.into(),
            requests,
            filled,
            p50_hours: (filled > 0).then_some(20.0),
            p90_hours: None,
            lenders_per_filled: (filled > 0).then_some(1.25),
        };
        let r = Report {
            from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
            service: String::new(),
            format: String::new(),
            tz: 0,
            activity: Activity {
                days: vec![d("2026-01-01", 4, 3), d("2026-01-02", 2, 0)],
                total: d("all", 6, 3),
                ..Activity::default()
            },
        };
        let text = csv(&r);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[1], "2026-01-01,4,3,0.75,20.00,,1.25");
        assert_eq!(lines[2], "2026-01-02,2,0,0.00,,,");
        assert!(lines[3].starts_with("all,6,3,0.50"));
        assert!(chart(&r.activity.days).contains("2026-01-02: 2 requests"));
    }
}

//! Reading the history: a request's story, recent requests, activity over a period, and
//! the versions of a profile or lender entry.
//!
//! A request is known by its borrower and request id (ISO 18626's requesting agency and
//! its request id). Its activity figures are counted from its events: it starts at its
//! first `Sent`, is filled at its first `Loaned` or `CopyCompleted`, and the lenders tried
//! are those it was sent to up to then.

use rota_routing::EventKind;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// An event kind and its reason, as stored (the snake_case names of the API and the log).
pub fn kind_names(k: &EventKind) -> (&'static str, Option<String>) {
    fn name<T: serde::Serialize>(r: &T) -> Option<String> {
        serde_json::to_value(r)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
    }
    match k {
        EventKind::Sent => ("sent", None),
        EventKind::WillSupply => ("will_supply", None),
        EventKind::Loaned => ("loaned", None),
        EventKind::CopyCompleted => ("copy_completed", None),
        EventKind::Unfilled(r) => ("unfilled", name(r)),
        EventKind::RetryPossible(r) => ("retry_possible", name(r)),
        EventKind::Received => ("received", None),
        EventKind::Returned => ("returned", None),
        EventKind::Cancelled => ("cancelled", None),
        EventKind::Expired => ("expired", None),
    }
}

/// One event of a request.
#[derive(Clone, Debug, Serialize)]
pub struct EventRow {
    /// When (unix seconds).
    pub at: i64,
    /// The lender.
    pub lender: String,
    /// `loan` or `copy`.
    pub service: String,
    /// `sent`, `loaned`, `unfilled`, ...
    pub kind: String,
    /// The reason of an `unfilled` or `retry_possible`.
    pub reason: Option<String>,
}

/// One time a request was routed.
#[derive(Clone, Debug)]
pub struct RouteRow {
    /// When.
    pub at: i64,
    /// Who asked.
    pub who: String,
    /// `rota.v1.RouteRequest`, encoded.
    pub request: Vec<u8>,
    /// `rota.v1.RouteResponse`, encoded.
    pub response: Vec<u8>,
}

/// Everything kept about one request.
#[derive(Clone, Debug, Default)]
pub struct Story {
    /// Each time it was routed, oldest first.
    pub routes: Vec<RouteRow>,
    /// Its events, in order.
    pub events: Vec<EventRow>,
}

/// A request's story.
pub fn story(c: &Connection, borrower: &str, request_id: &str) -> rusqlite::Result<Story> {
    let mut s = c.prepare_cached(
        "SELECT at, who, request, response FROM routes
         WHERE request_id = ?1 AND borrower = ?2 ORDER BY at, id",
    )?;
    let routes = s
        .query_map(params![request_id, borrower], |r| {
            Ok(RouteRow {
                at: r.get(0)?,
                who: r.get(1)?,
                request: r.get(2)?,
                response: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut s = c.prepare_cached(
        "SELECT at, lender, service, kind, reason FROM events
         WHERE request_id = ?1 AND borrower = ?2 ORDER BY at, seq",
    )?;
    let events = s
        .query_map(params![request_id, borrower], |r| {
            Ok(EventRow {
                at: r.get(0)?,
                lender: r.get(1)?,
                service: r.get(2)?,
                kind: r.get(3)?,
                reason: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Story { routes, events })
}

/// A request in a list.
#[derive(Clone, Debug, Serialize)]
pub struct RequestRow {
    /// Borrower.
    pub borrower: String,
    /// Request id.
    pub request_id: String,
    /// First seen (routed or sent).
    pub first: i64,
    /// Last seen.
    pub last: i64,
}

/// Requests whose id or borrower starts with `prefix` (all when empty), newest first.
pub fn requests(
    c: &Connection,
    prefix: &str,
    limit: usize,
    offset: usize,
) -> rusqlite::Result<Vec<RequestRow>> {
    // a prefix as a range, so the indexes on request_id and borrower answer it
    let end = format!("{prefix}\u{10FFFF}");
    let mut s = c.prepare_cached(
        "SELECT borrower, request_id, first_seen, last_seen FROM requests
         WHERE ?1 = '' OR (request_id >= ?1 AND request_id < ?2) OR (borrower >= ?1 AND borrower < ?2)
         ORDER BY first_seen DESC, request_id LIMIT ?3 OFFSET ?4",
    )?;
    s.query_map(
        params![
            prefix,
            end,
            i64::try_from(limit).unwrap_or(i64::MAX),
            i64::try_from(offset).unwrap_or(0)
        ],
        |r| {
            Ok(RequestRow {
                borrower: r.get(0)?,
                request_id: r.get(1)?,
                first: r.get(2)?,
                last: r.get(3)?,
            })
        },
    )?
    .collect()
}

/// The borrower of the newest request with this id.
pub fn borrower_of(c: &Connection, request_id: &str) -> rusqlite::Result<Option<String>> {
    c.query_row(
        "SELECT borrower FROM requests WHERE request_id = ?1 ORDER BY last_seen DESC LIMIT 1",
        [request_id],
        |r| r.get(0),
    )
    .optional()
}

/// The events applied in `[from, to)` (by their own time), in the order they were
/// applied, at most `limit`: past traffic for a replay.
pub fn events_between(
    c: &Connection,
    from: i64,
    to: i64,
    limit: usize,
) -> rusqlite::Result<Vec<rota_routing::Event>> {
    let mut s = c.prepare_cached(
        "SELECT at, borrower, request_id, lender, service, kind, reason, cluster FROM events
         WHERE at >= ?1 AND at < ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows = s.query_map(
        params![from, to, i64::try_from(limit).unwrap_or(i64::MAX)],
        |r| {
            let service: String = r.get(4)?;
            let kind: String = r.get(5)?;
            let reason: Option<String> = r.get(6)?;
            let cluster: Option<u32> = r.get(7)?;
            // the names were written by `kind_names` from the same serde names
            let kind = serde_json::from_value::<EventKind>(match reason {
                Some(reason) => serde_json::json!({ "kind": kind, "reason": reason }),
                None => serde_json::json!({ "kind": kind }),
            })
            .map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    5,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?;
            let service =
                serde_json::from_value(serde_json::Value::String(service)).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        4,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })?;
            Ok(rota_routing::Event {
                at: r.get(0)?,
                borrower: r.get(1)?,
                request_id: r.get(2)?,
                lender: r.get(3)?,
                service,
                kind,
                cluster: cluster.map(rota_catalog::ClusterId::new),
            })
        },
    )?;
    rows.collect()
}

/// What one lender did with the requests sent to it over a period.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LenderRecord {
    /// Requests sent to it.
    pub sent: u64,
    /// Loaned or copied.
    pub filled: u64,
    /// Its answers other than yes, by reason (`unfilled:not_held`, `retry:on_loan`,
    /// `expired`, `cancelled`), most first.
    pub no: Vec<(String, u64)>,
    /// By position in the string it was asked at (1 = first): asked, filled.
    pub positions: Vec<(u32, u64, u64)>,
    /// By week (the Monday it starts, `YYYY-MM-DD`): sent, filled.
    pub weeks: Vec<(String, u64, u64)>,
}

/// A lender's record over `[from, to)`.
pub fn lender_record(
    c: &Connection,
    lender: &str,
    from: i64,
    to: i64,
) -> rusqlite::Result<LenderRecord> {
    let mut out = LenderRecord::default();
    let mut s = c.prepare_cached(
        "SELECT kind, reason, COUNT(*) FROM events
         WHERE lender = ?1 AND at >= ?2 AND at < ?3 GROUP BY kind, reason",
    )?;
    let mut rows = s.query(params![lender, from, to])?;
    while let Some(r) = rows.next()? {
        let (kind, reason, n): (String, Option<String>, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let n = u64::try_from(n).unwrap_or(0);
        match kind.as_str() {
            "sent" => out.sent += n,
            "loaned" | "copy_completed" => out.filled += n,
            "unfilled" | "retry_possible" | "expired" | "cancelled" => {
                let name = match (kind.as_str(), reason) {
                    ("unfilled", Some(r)) => format!("unfilled:{r}"),
                    ("retry_possible", Some(r)) => format!("retry:{r}"),
                    (k, _) => k.to_owned(),
                };
                out.no.push((name, n));
            }
            _ => {}
        }
    }
    out.no.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    // its position in each string it was part of: the order of the request's sends
    let mut s = c.prepare_cached(
        "WITH mine AS (
             SELECT DISTINCT borrower, request_id FROM events
             WHERE lender = ?1 AND kind = 'sent' AND at >= ?2 AND at < ?3
         ),
         s AS (
             SELECT e.borrower, e.request_id, e.lender,
                    ROW_NUMBER() OVER (PARTITION BY e.borrower, e.request_id ORDER BY e.at, e.seq) AS pos
             FROM events e JOIN mine m ON e.borrower = m.borrower AND e.request_id = m.request_id
             WHERE e.kind = 'sent'
         ),
         f AS (
             SELECT DISTINCT e.borrower, e.request_id FROM events e
             JOIN mine m ON e.borrower = m.borrower AND e.request_id = m.request_id
             WHERE e.lender = ?1 AND e.kind IN ('loaned', 'copy_completed')
         )
         SELECT s.pos, COUNT(*), COUNT(f.request_id) FROM s
         LEFT JOIN f ON f.borrower = s.borrower AND f.request_id = s.request_id
         WHERE s.lender = ?1 GROUP BY s.pos ORDER BY s.pos",
    )?;
    out.positions = s
        .query_map(params![lender, from, to], |r| {
            Ok((
                u32::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    // weeks from Monday (the epoch was a Thursday: 4 days before it is a Monday)
    let mut s = c.prepare_cached(
        "SELECT (at + 3 * 86400) / 604800 AS w,
                SUM(kind = 'sent'), SUM(kind IN ('loaned', 'copy_completed'))
         FROM events WHERE lender = ?1 AND at >= ?2 AND at < ?3 GROUP BY w ORDER BY w",
    )?;
    out.weeks = s
        .query_map(params![lender, from, to], |r| {
            let w: i64 = r.get(0)?;
            let monday = day_of(w * 604_800 - 3 * 86_400, 0);
            Ok((
                monday,
                u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(out)
}

/// One version of a profile or lender entry.
#[derive(Clone, Debug, Serialize)]
pub struct Version {
    /// Its version number.
    pub version: u64,
    /// When it took effect (unix seconds).
    pub at: i64,
    /// Who saved it.
    pub who: String,
    /// Why.
    pub comment: String,
    /// The whole profile or entry, JSON.
    pub body: String,
}

/// The versions of `kind` (`profile`, `lender`) `name`, newest first.
pub fn versions(c: &Connection, kind: &str, name: &str) -> rusqlite::Result<Vec<Version>> {
    let mut s = c.prepare_cached(
        "SELECT version, at, who, comment, body FROM changes
         WHERE kind = ?1 AND name = ?2 ORDER BY version DESC",
    )?;
    s.query_map(params![kind, name], |r| {
        Ok(Version {
            version: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
            at: r.get(1)?,
            who: r.get(2)?,
            comment: r.get(3)?,
            body: r.get(4)?,
        })
    })?
    .collect()
}

/// One day of activity.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Day {
    /// The day (`YYYY-MM-DD` in the asked offset from UTC).
    pub day: String,
    /// Requests started (first sent) that day.
    pub requests: u64,
    /// Of those, filled.
    pub filled: u64,
    /// Median hours from first sent to filled.
    pub p50_hours: Option<f64>,
    /// 90th percentile.
    pub p90_hours: Option<f64>,
    /// Lenders asked per filled request.
    pub lenders_per_filled: Option<f64>,
}

/// Activity over a period.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Activity {
    /// Per day, oldest first (days with no requests left out).
    pub days: Vec<Day>,
    /// The period as a whole.
    pub total: Day,
    /// Share of filled requests filled by the first lender asked.
    pub first_lender_share: Option<f64>,
    /// Requests sent per lender, most first (at most 10).
    pub busiest: Vec<(String, u64)>,
    /// Gini coefficient of requests sent over the lenders that were sent any.
    pub load_gini: Option<f64>,
}

struct Req {
    start: i64,
    filled: Option<i64>,
    tried_before_fill: u32,
}

fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted.get(i).copied()
}

fn day_of(at: i64, offset_secs: i64) -> String {
    chrono::DateTime::from_timestamp(at + offset_secs, 0)
        .map(|t| t.date_naive().to_string())
        .unwrap_or_default()
}

fn summarise(day: String, reqs: &[&Req]) -> (Day, u64) {
    let mut hours: Vec<f64> = reqs
        .iter()
        .filter_map(|r| r.filled.map(|f| (f - r.start) as f64 / 3_600.0))
        .collect();
    hours.sort_by(f64::total_cmp);
    let filled = hours.len() as u64;
    let tried: u64 = reqs
        .iter()
        .filter(|r| r.filled.is_some())
        .map(|r| u64::from(r.tried_before_fill))
        .sum();
    let first = reqs
        .iter()
        .filter(|r| r.filled.is_some() && r.tried_before_fill == 1)
        .count() as u64;
    (
        Day {
            day,
            requests: reqs.len() as u64,
            filled,
            p50_hours: quantile(&hours, 0.5),
            p90_hours: quantile(&hours, 0.9),
            lenders_per_filled: (filled > 0).then(|| tried as f64 / filled as f64),
        },
        first,
    )
}

/// Gini coefficient of non-negative counts (0: all equal; near 1: one takes all).
pub fn gini(counts: &[u64]) -> Option<f64> {
    let n = counts.len();
    let total: u64 = counts.iter().sum();
    if n == 0 || total == 0 {
        return None;
    }
    let mut v = counts.to_vec();
    v.sort_unstable();
    let weighted: f64 = v
        .iter()
        .enumerate()
        .map(|(i, &x)| (2.0 * (i as f64 + 1.0) - n as f64 - 1.0) * x as f64)
        .sum();
    Some(weighted / (n as f64 * total as f64))
}

/// Activity of the requests first sent in `[from, to)`, days counted at `offset_secs`
/// from UTC (the operator's time zone), for one service (`loan`, `copy`) or all, and one
/// format of item (`book`, `serial`, ...) or all.
pub fn activity(
    c: &Connection,
    from: i64,
    to: i64,
    offset_secs: i64,
    service: Option<&str>,
    format: Option<&str>,
) -> rusqlite::Result<Activity> {
    let mut s = c.prepare_cached(
        "SELECT first_sent, filled_at, tried FROM requests
         WHERE first_sent >= ?1 AND first_sent < ?2 AND (?3 IS NULL OR service = ?3)
           AND (?4 IS NULL OR format = ?4)",
    )?;
    let reqs = s
        .query_map(params![from, to, service, format], |r| {
            let tried: i64 = r.get(2)?;
            Ok(Req {
                start: r.get(0)?,
                filled: r.get(1)?,
                tried_before_fill: u32::try_from(tried).unwrap_or(0),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    // sends by lender in the period, of the requests the report counts
    let mut s = c.prepare_cached(
        "SELECT e.lender, COUNT(*) FROM events e
         JOIN requests q ON q.borrower = e.borrower AND q.request_id = e.request_id
         WHERE e.kind = 'sent' AND e.at >= ?1 AND e.at < ?2
           AND (?3 IS NULL OR e.service = ?3) AND (?4 IS NULL OR q.format = ?4)
         GROUP BY e.lender",
    )?;
    let sent: Vec<(String, u64)> = s
        .query_map(params![from, to, service, format], |r| {
            Ok((r.get(0)?, u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0)))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut by_day: std::collections::BTreeMap<String, Vec<&Req>> = Default::default();
    for r in &reqs {
        by_day
            .entry(day_of(r.start, offset_secs))
            .or_default()
            .push(r);
    }
    let days = by_day
        .into_iter()
        .map(|(d, rs)| summarise(d, &rs).0)
        .collect();
    let all: Vec<&Req> = reqs.iter().collect();
    let (total, first) = summarise("all".into(), &all);
    let mut busiest = sent;
    let counts: Vec<u64> = busiest.iter().map(|(_, n)| *n).collect();
    busiest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    busiest.truncate(10);
    Ok(Activity {
        first_lender_share: (total.filled > 0).then(|| first as f64 / total.filled as f64),
        total,
        days,
        busiest,
        load_gini: gini(&counts),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(super::super::SCHEMA).unwrap();
        c
    }

    /// An event written as the history's writer writes it.
    fn ev(c: &mut Connection, seq: u64, at: i64, req: &str, lender: &str, kind: &str) {
        let kind = match kind {
            "sent" => EventKind::Sent,
            "loaned" => EventKind::Loaned,
            "unfilled" => EventKind::Unfilled(rota_routing::ReasonUnfilled::NotHeld),
            k => panic!("{k}"),
        };
        let e = rota_routing::Event {
            at,
            request_id: req.into(),
            borrower: "B".into(),
            lender: lender.into(),
            cluster: None,
            service: rota_routing::Service::Loan,
            kind,
        };
        super::super::write(
            c,
            &[super::super::Entry::Logged {
                seq,
                at,
                record: crate::log::LogRecord::Event(e),
                format: Some(if req == "r3" { "serial" } else { "book" }),
            }],
        )
        .unwrap();
    }

    #[test]
    fn activity_counts_from_events() {
        let mut c = db();
        let h = 3_600;
        let day = 86_400 * 20_000; // 2024-10-04, a Friday
        // r1: first lender fills in 10 h
        ev(&mut c, 1, day, "r1", "L1", "sent");
        ev(&mut c, 2, day + 10 * h, "r1", "L1", "loaned");
        // r2: L1 says no, L2 fills 30 h after the first send
        ev(&mut c, 3, day + h, "r2", "L1", "sent");
        ev(&mut c, 4, day + 5 * h, "r2", "L1", "unfilled");
        ev(&mut c, 5, day + 5 * h, "r2", "L2", "sent");
        ev(&mut c, 6, day + 31 * h, "r2", "L2", "loaned");
        // r3: the next day, never filled
        ev(&mut c, 7, day + 26 * h, "r3", "L1", "sent");
        // L2 was asked second once, and filled it
        let l2 = lender_record(&c, "L2", day, day + 2 * 86_400).unwrap();
        assert_eq!((l2.sent, l2.filled), (1, 1));
        assert_eq!(l2.positions, [(2, 1, 1)]);
        let l1 = lender_record(&c, "L1", day, day + 2 * 86_400).unwrap();
        assert_eq!(
            l1.positions,
            [(1, 3, 1)],
            "first in all three strings, filled one"
        );
        assert_eq!(l1.weeks, [("2024-09-30".to_string(), 3, 1)]);
        let a = activity(&c, day, day + 2 * 86_400, 0, None, None).unwrap();
        assert_eq!(a.total.requests, 3);
        assert_eq!(a.total.filled, 2);
        assert_eq!(a.total.lenders_per_filled, Some(1.5));
        assert_eq!(a.first_lender_share, Some(0.5));
        assert_eq!(a.days.len(), 2);
        assert_eq!(a.days[0].requests, 2);
        assert_eq!(
            a.days[0].p50_hours,
            Some(30.0),
            "of 10 and 30, the upper middle"
        );
        assert_eq!(a.days[1].filled, 0);
        assert_eq!(a.busiest[0], ("L1".into(), 3));
        // L1 sent 3, L2 sent 1: Gini of (1, 3) is 0.25
        assert!((a.load_gini.unwrap() - 0.25).abs() < 1e-9);
        // a period that cuts r3 out, and one of copies only
        assert_eq!(
            activity(&c, day, day + 86_400, 0, None, None)
                .unwrap()
                .total
                .requests,
            2
        );
        assert_eq!(
            activity(&c, day, day + 2 * 86_400, 0, Some("copy"), None)
                .unwrap()
                .total
                .requests,
            0
        );
        // books only: r3 was a serial
        let books = activity(&c, day, day + 2 * 86_400, 0, None, Some("book")).unwrap();
        assert_eq!((books.total.requests, books.busiest[0].1), (2, 2));
        // days in the operator's zone: at UTC−3, the 00:00 and 01:00 UTC starts are the day before
        let west = activity(&c, day, day + 2 * 86_400, -3 * h, None, None).unwrap();
        assert_eq!(west.days.len(), 2);
        assert_eq!(west.days[0].day, "2024-10-03");
    }

    #[test]
    fn gini_bounds() {
        assert_eq!(gini(&[]), None);
        assert_eq!(gini(&[5, 5, 5]), Some(0.0));
        assert!(gini(&[0, 0, 0, 12]).unwrap() > 0.7);
    }

    #[test]
    fn stories_and_lists() {
        let mut c = db();
        ev(&mut c, 1, 100, "abc-1", "L1", "sent");
        ev(&mut c, 2, 200, "abc-1", "L1", "unfilled");
        ev(&mut c, 3, 150, "zzz", "L2", "sent");
        // the same record again (a replay after a restart) changes nothing
        ev(&mut c, 3, 150, "zzz", "L2", "sent");
        let s = story(&c, "B", "abc-1").unwrap();
        assert_eq!(s.events.len(), 2);
        assert!(s.routes.is_empty());
        assert!(story(&c, "OTHER", "abc-1").unwrap().events.is_empty());
        let all = requests(&c, "", 10, 0).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].request_id, "zzz", "newest first");
        let abc = requests(&c, "abc", 10, 0).unwrap();
        assert_eq!(abc.len(), 1);
        assert_eq!((abc[0].first, abc[0].last), (100, 200));
        assert_eq!(borrower_of(&c, "zzz").unwrap().as_deref(), Some("B"));
        // events read back as they were written, in the order applied
        let back = events_between(&c, 0, 1_000, 10).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(
            back[1].kind,
            EventKind::Unfilled(rota_routing::ReasonUnfilled::NotHeld)
        );
        assert_eq!(back[2].request_id, "zzz");
        assert_eq!(events_between(&c, 0, 1_000, 2).unwrap().len(), 2);
        // L1 was first for abc-1 and said no; L2 first for zzz
        let l1 = lender_record(&c, "L1", 0, 1_000).unwrap();
        assert_eq!((l1.sent, l1.filled), (1, 0));
        assert_eq!(l1.no, [("unfilled:not_held".to_string(), 1)]);
        assert_eq!(l1.positions, [(1, 1, 0)]);
        assert_eq!(l1.weeks, [("1969-12-29".to_string(), 1, 0)]);
        let a = activity(&c, 0, 1_000, 0, None, None).unwrap();
        assert_eq!(a.busiest, [("L1".to_string(), 1), ("L2".to_string(), 1)]);
        assert_eq!(borrower_of(&c, "nope").unwrap(), None);
    }
}

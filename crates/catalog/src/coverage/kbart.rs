//! KBART files: a library's electronic holdings, one journal per row, with its coverage
//! and moving wall.
//!
//! KBART (NISO RP-9) files are tab-separated with a header row naming the standard
//! columns. rota reads the identifiers, the first and last issue online (date, volume),
//! `embargo_info` and `coverage_depth`; other columns are ignored. A row that cannot be
//! read is skipped with its line number and reason, never guessed at.
//!
//! `embargo_info` is one or two terms separated by `;`: `R` (only the most Recent
//! period is available) or `P` (the most recent Period is not), a number and a unit
//! (`D`, `M`, `Y`). As KBART recommends, years are calendar years (`P1Y` on any day of
//! 2026 opens everything up to the end of 2025); days and months count back from today.
//! The check takes today's date as an argument: the engine never reads the clock.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use super::{Cited, MAX_YEAR, MIN_YEAR, Span};
use crate::ident::{IdStatus, Ident, normalize_issn};
use crate::varint;

/// Most terms an `embargo_info` value may combine.
const MAX_TERMS: usize = 2;
/// Longest embargo a term may state, in its unit (a wall of 500 years is a typo).
const MAX_LENGTH: u16 = 999;

/// Which side of a moving wall is available.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    /// `R`: only the most recent period is available.
    Recent,
    /// `P`: everything but the most recent period is available.
    Previous,
}

/// Unit of an embargo term.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    /// Days.
    Day,
    /// Months.
    Month,
    /// Calendar years.
    Year,
}

/// One term of a moving wall: `P1Y`, `R10Y`, `P30D`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Term {
    /// Which side is available.
    pub side: Side,
    /// How many units.
    pub length: u16,
    /// Unit.
    pub unit: Unit,
}

/// A moving wall: one or two terms, all of which must allow an issue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Embargo {
    /// The terms (one or two).
    pub terms: SmallVec<[Term; MAX_TERMS]>,
}

/// Why an `embargo_info` value was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmbargoError {
    /// A term is not `R` or `P`, a number and `D`, `M` or `Y`.
    #[error("embargo term {0:?} is not R or P, a number and D, M or Y (as in P1Y, R10Y, P30D)")]
    BadTerm(String),
    /// More terms than KBART allows.
    #[error("embargo {0:?} has more than two terms")]
    TooManyTerms(String),
}

impl FromStr for Embargo {
    type Err = EmbargoError;

    fn from_str(s: &str) -> Result<Embargo, EmbargoError> {
        let parts: Vec<&str> = s
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if parts.len() > MAX_TERMS {
            return Err(EmbargoError::TooManyTerms(s.to_string()));
        }
        let terms = parts
            .iter()
            .map(|p| parse_term(p).ok_or_else(|| EmbargoError::BadTerm((*p).to_string())))
            .collect::<Result<SmallVec<_>, _>>()?;
        if terms.is_empty() {
            return Err(EmbargoError::BadTerm(s.to_string()));
        }
        Ok(Embargo { terms })
    }
}

fn parse_term(p: &str) -> Option<Term> {
    let b = p.as_bytes();
    let side = match b.first()?.to_ascii_uppercase() {
        b'R' => Side::Recent,
        b'P' => Side::Previous,
        _ => return None,
    };
    let unit = match b.last()?.to_ascii_uppercase() {
        b'D' => Unit::Day,
        b'M' => Unit::Month,
        b'Y' => Unit::Year,
        _ => return None,
    };
    let digits = p.get(1..p.len() - 1)?;
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let length: u16 = digits.parse().ok()?;
    (length <= MAX_LENGTH).then_some(Term { side, length, unit })
}

/// What a moving wall says about a cited issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wall {
    /// Available.
    Open,
    /// Not available; it will be from this day (never, for an `R` wall).
    Closed {
        /// First day it is available, if ever.
        until: Option<NaiveDate>,
    },
    /// The citation gives only the year, and the wall falls inside that year.
    Unsure,
    /// The citation has no year.
    NoDate,
}

fn back(today: NaiveDate, t: &Term) -> NaiveDate {
    match t.unit {
        Unit::Day => today - chrono::Days::new(u64::from(t.length)),
        Unit::Month => today
            .checked_sub_months(Months::new(u32::from(t.length)))
            .unwrap_or(NaiveDate::MIN),
        Unit::Year => today, // calendar years: not used
    }
}

fn forward(d: NaiveDate, t: &Term) -> Option<NaiveDate> {
    match t.unit {
        Unit::Day => d.checked_add_days(chrono::Days::new(u64::from(t.length))),
        Unit::Month => d.checked_add_months(Months::new(u32::from(t.length))),
        Unit::Year => NaiveDate::from_ymd_opt(d.year() + i32::from(t.length) + 1, 1, 1),
    }
}

impl Term {
    fn allows(&self, cited: &Cited, today: NaiveDate) -> Wall {
        let Some(year) = cited.year.map(i32::from) else {
            return Wall::NoDate;
        };
        let closed_until = |d: NaiveDate| Wall::Closed {
            until: match self.side {
                Side::Previous => forward(d, self),
                Side::Recent => None,
            },
        };
        if self.unit == Unit::Year {
            let wall = today.year() - i32::from(self.length);
            let open = match self.side {
                Side::Previous => year <= wall,
                Side::Recent => year > wall,
            };
            let jan1 = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN);
            return if open { Wall::Open } else { closed_until(jan1) };
        }
        let wall = back(today, self);
        match cited.date {
            Some(d) => {
                let open = match self.side {
                    Side::Previous => d <= wall,
                    Side::Recent => d >= wall,
                };
                if open { Wall::Open } else { closed_until(d) }
            }
            None if year == wall.year() => Wall::Unsure,
            None => {
                let open = match self.side {
                    Side::Previous => year < wall.year(),
                    Side::Recent => year > wall.year(),
                };
                let jan1 = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN);
                if open { Wall::Open } else { closed_until(jan1) }
            }
        }
    }
}

impl Embargo {
    /// Whether the cited issue is out of every term's wall on `today`.
    pub fn allows(&self, cited: &Cited, today: NaiveDate) -> Wall {
        let mut out = Wall::Open;
        for t in &self.terms {
            match t.allows(cited, today) {
                Wall::Open => {}
                Wall::Closed { until } => {
                    // the later opening of two closed terms
                    out = match out {
                        Wall::Closed { until: u } => Wall::Closed {
                            until: if u.is_none() || until.is_none() {
                                None
                            } else {
                                u.max(until)
                            },
                        },
                        _ => Wall::Closed { until },
                    }
                }
                w @ (Wall::Unsure | Wall::NoDate) => {
                    if out == Wall::Open {
                        out = w;
                    }
                }
            }
        }
        out
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.terms.len() as u8);
        for t in &self.terms {
            let side = match t.side {
                Side::Recent => 0u64,
                Side::Previous => 1,
            };
            let unit = match t.unit {
                Unit::Day => 0u64,
                Unit::Month => 1,
                Unit::Year => 2,
            };
            varint::put(out, u64::from(t.length) << 3 | unit << 1 | side);
        }
    }

    pub(super) fn decode(b: &[u8], p: &mut usize) -> Option<Embargo> {
        let n = *b.get(*p)? as usize;
        *p += 1;
        if n == 0 || n > MAX_TERMS {
            return None;
        }
        let mut terms = SmallVec::new();
        for _ in 0..n {
            let v = varint::get(b, p)?;
            let side = if v & 1 == 0 {
                Side::Recent
            } else {
                Side::Previous
            };
            let unit = match (v >> 1) & 3 {
                0 => Unit::Day,
                1 => Unit::Month,
                2 => Unit::Year,
                _ => return None,
            };
            let length = u16::try_from(v >> 3).ok().filter(|l| *l <= MAX_LENGTH)?;
            terms.push(Term { side, length, unit });
        }
        Some(Embargo { terms })
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match (self.unit, self.length) {
            (Unit::Day, 1) => "day",
            (Unit::Day, _) => "days",
            (Unit::Month, 1) => "month",
            (Unit::Month, _) => "months",
            (Unit::Year, 1) => "year",
            (Unit::Year, _) => "years",
        };
        match self.side {
            Side::Recent => write!(f, "only the last {} {unit}", self.length),
            Side::Previous => write!(f, "not the last {} {unit}", self.length),
        }
    }
}

impl fmt::Display for Embargo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "moving wall: ")?;
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                write!(f, " and ")?;
            }
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

/// Depth of an electronic holding (`coverage_depth`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Depth {
    /// Full text.
    Fulltext,
    /// Selected articles only.
    Selected,
    /// Abstracts or indexing only: nothing to copy from.
    Abstracts,
}

/// One journal of a KBART file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KbartRow {
    /// Line in the file (1-based, the header is line 1).
    pub line: usize,
    /// `publication_title` (may be empty).
    pub title: String,
    /// The ISSNs (print and online) that are valid.
    pub issns: Vec<Ident>,
    /// `title_id` (the provider's; may be an OCLC number or DOI prefix).
    pub title_id: String,
    /// Coverage from the first to the last issue online.
    pub span: Option<Span>,
    /// Moving wall.
    pub embargo: Option<Embargo>,
    /// Depth.
    pub depth: Depth,
}

impl KbartRow {
    /// The row's coverage: its span and moving wall.
    pub fn coverage(&self) -> super::Coverage {
        let mut c = super::Coverage::from_spans(self.span);
        c.embargo = self.embargo.clone();
        c
    }
}

/// Why a KBART file or row was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KbartError {
    /// The header lacks a column rota needs.
    #[error("kbart header has no {0:?} column (the first line must name the KBART columns)")]
    MissingColumn(&'static str),
    /// A row's field is not as KBART says.
    #[error("{column}: {problem}")]
    BadField {
        /// The column.
        column: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A row has no valid ISSN (monographs' ISBN rows are not read).
    #[error("row has no valid print or online issn")]
    NoIdentifier,
    /// Abstracts or indexing only.
    #[error("coverage_depth {0:?}: nothing to copy from")]
    NotFulltext(String),
}

impl KbartError {
    /// A short snake_case label, for counting skips by reason.
    pub fn label(&self) -> String {
        match self {
            KbartError::MissingColumn(_) => "missing_column".into(),
            KbartError::BadField { column, .. } => format!("bad_{column}"),
            KbartError::NoIdentifier => "no_identifier".into(),
            KbartError::NotFulltext(_) => "not_fulltext".into(),
        }
    }
}

/// A KBART file read: its rows and the rows skipped, with line and reason.
#[derive(Clone, Debug, Default)]
pub struct Kbart {
    /// Rows read.
    pub rows: Vec<KbartRow>,
    /// Rows skipped: line and reason.
    pub skipped: Vec<(usize, KbartError)>,
}

struct Columns {
    title: usize,
    print: usize,
    online: usize,
    first_date: usize,
    first_vol: usize,
    last_date: usize,
    last_vol: usize,
    title_id: Option<usize>,
    embargo: usize,
    depth: Option<usize>,
}

impl Kbart {
    /// Reads a KBART file's text. The header must name the columns; a missing one
    /// refuses the file, a bad row is skipped.
    pub fn parse(text: &str) -> Result<Kbart, KbartError> {
        let mut lines = text.lines().enumerate();
        let header = loop {
            match lines.next() {
                Some((_, l)) if l.trim().is_empty() => continue,
                Some((_, l)) => break l,
                None => return Err(KbartError::MissingColumn("publication_title")),
            }
        };
        let names: Vec<String> = header
            .trim_start_matches('\u{feff}')
            .split('\t')
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        let find = |n: &'static str| names.iter().position(|h| h == n);
        let need = |n: &'static str| find(n).ok_or(KbartError::MissingColumn(n));
        let cols = Columns {
            title: need("publication_title")?,
            print: need("print_identifier")?,
            online: need("online_identifier")?,
            first_date: need("date_first_issue_online")?,
            first_vol: need("num_first_vol_online")?,
            last_date: need("date_last_issue_online")?,
            last_vol: need("num_last_vol_online")?,
            title_id: find("title_id"),
            embargo: need("embargo_info")?,
            depth: find("coverage_depth"),
        };
        let mut out = Kbart::default();
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let cells: Vec<&str> = line.split('\t').map(str::trim).collect();
            match row(&cols, &cells, i + 1) {
                Ok(r) => out.rows.push(r),
                Err(e) => out.skipped.push((i + 1, e)),
            }
        }
        Ok(out)
    }
}

fn row(c: &Columns, cells: &[&str], line: usize) -> Result<KbartRow, KbartError> {
    let cell = |i: usize| cells.get(i).copied().unwrap_or("");
    let issns: Vec<Ident> = [cell(c.print), cell(c.online)]
        .into_iter()
        .filter_map(|s| normalize_issn(s).ok())
        .filter(|i| i.status == IdStatus::Valid)
        .collect();
    let title = cell(c.title).to_string();
    // a journal title alone names too many journals ("Nature", "Annual report") to be
    // matched to a catalogue's records safely
    if issns.is_empty() {
        return Err(KbartError::NoIdentifier);
    }
    let depth = match c
        .depth
        .map(cell)
        .unwrap_or("")
        .to_ascii_lowercase()
        .as_str()
    {
        "" | "fulltext" | "full text" | "ebook" => Depth::Fulltext,
        "selected articles" | "selected" => Depth::Selected,
        d @ ("abstracts" | "abstract" | "index") => return Err(KbartError::NotFulltext(d.into())),
        other => {
            return Err(KbartError::BadField {
                column: "coverage_depth",
                problem: format!("{other:?} is not fulltext, selected articles or abstracts"),
            });
        }
    };
    let year = |column: &'static str, s: &str| -> Result<Option<u16>, KbartError> {
        if s.is_empty() {
            return Ok(None);
        }
        let y = s.get(..4).and_then(|y| y.parse::<u16>().ok());
        let shape_ok = s.len() == 4 || s.as_bytes().get(4) == Some(&b'-');
        match y {
            Some(y) if shape_ok && (MIN_YEAR..=MAX_YEAR).contains(&y) => Ok(Some(y)),
            _ => Err(KbartError::BadField {
                column,
                problem: format!("{s:?} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)"),
            }),
        }
    };
    let vol = |column: &'static str, s: &str| -> Result<Option<u32>, KbartError> {
        if s.is_empty() {
            return Ok(None);
        }
        Cited::volume_number(s)
            .map(Some)
            .ok_or_else(|| KbartError::BadField {
                column,
                problem: format!("{s:?} has no volume number"),
            })
    };
    let first_year = year("date_first_issue_online", cell(c.first_date))?;
    let last_year = year("date_last_issue_online", cell(c.last_date))?;
    let first_volume = vol("num_first_vol_online", cell(c.first_vol))?;
    let last_volume = vol("num_last_vol_online", cell(c.last_vol))?;
    let embargo = match cell(c.embargo) {
        "" => None,
        e => Some(e.parse::<Embargo>().map_err(|e| KbartError::BadField {
            column: "embargo_info",
            problem: e.to_string(),
        })?),
    };
    if let (Some(a), Some(b)) = (first_year, last_year)
        && b < a
    {
        return Err(KbartError::BadField {
            column: "date_last_issue_online",
            problem: format!("{b} is before the first issue's {a}"),
        });
    }
    // no last issue: the coverage runs to the present
    let open = last_year.is_none() && last_volume.is_none();
    let span = (first_year.is_some() || first_volume.is_some()).then_some(Span {
        first_volume,
        last_volume,
        first_year,
        last_year,
        open,
    });
    Ok(KbartRow {
        line,
        title,
        issns,
        title_id: c.title_id.map(cell).unwrap_or("").to_string(),
        span,
        embargo,
        depth,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn year(y: u16) -> Cited {
        Cited {
            volume: None,
            year: Some(y),
            date: None,
        }
    }

    fn dated(s: &str) -> Cited {
        let d = day(s);
        Cited {
            volume: None,
            year: Some(d.year() as u16),
            date: Some(d),
        }
    }

    #[test]
    fn terms_parse_and_refuse() {
        let e: Embargo = "R10Y;P30D".parse().unwrap();
        assert_eq!(
            e.terms.to_vec(),
            vec![
                Term {
                    side: Side::Recent,
                    length: 10,
                    unit: Unit::Year
                },
                Term {
                    side: Side::Previous,
                    length: 30,
                    unit: Unit::Day
                },
            ]
        );
        assert_eq!(
            e.to_string(),
            "moving wall: only the last 10 years and not the last 30 days"
        );
        assert_eq!("p6m".parse::<Embargo>().unwrap().terms[0].unit, Unit::Month);
        for bad in [
            "",
            "X1Y",
            "P1W",
            "PY",
            "P-1Y",
            "P1Y;R2Y;P3D",
            "P10000Y",
            "P1.5Y",
        ] {
            assert!(bad.parse::<Embargo>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn previous_years_are_calendar_years() {
        let e: Embargo = "P1Y".parse().unwrap();
        let today = day("2026-12-07");
        assert_eq!(e.allows(&year(2025), today), Wall::Open);
        assert_eq!(
            e.allows(&year(2026), today),
            Wall::Closed {
                until: Some(day("2028-01-01"))
            }
        );
        // on the first day of a year the wall has moved: 2025 opens on 1 January 2027
        assert_eq!(e.allows(&year(2025), day("2026-01-01")), Wall::Open);
        assert_eq!(e.allows(&year(2026), day("2027-01-01")), Wall::Open);
        assert_eq!(e.allows(&Cited::default(), today), Wall::NoDate);
    }

    #[test]
    fn day_walls_need_the_date_or_a_clear_year() {
        let e: Embargo = "P30D".parse().unwrap();
        let today = day("2026-12-07");
        assert_eq!(e.allows(&dated("2026-11-01"), today), Wall::Open);
        assert_eq!(
            e.allows(&dated("2026-11-20"), today),
            Wall::Closed {
                until: Some(day("2026-12-20"))
            }
        );
        // the wall (2026-11-07) falls inside 2026: a year-only citation cannot tell
        assert_eq!(e.allows(&year(2026), today), Wall::Unsure);
        assert_eq!(e.allows(&year(2025), today), Wall::Open);
        // in January the wall is in last December
        assert_eq!(
            e.allows(&year(2026), day("2026-01-15")),
            Wall::Closed {
                until: Some(day("2026-01-31"))
            }
        );
    }

    #[test]
    fn recent_walls_and_combined_terms() {
        let today = day("2026-12-07");
        let r: Embargo = "R10Y".parse().unwrap();
        assert_eq!(r.allows(&year(2017), today), Wall::Open);
        assert_eq!(r.allows(&year(2016), today), Wall::Closed { until: None });
        let both: Embargo = "R10Y;P30D".parse().unwrap();
        assert_eq!(both.allows(&dated("2020-05-01"), today), Wall::Open);
        assert_eq!(
            both.allows(&dated("2010-05-01"), today),
            Wall::Closed { until: None }
        );
        assert_eq!(
            both.allows(&dated("2026-12-01"), today),
            Wall::Closed {
                until: Some(day("2026-12-31"))
            }
        );
        let m: Embargo = "R6M".parse().unwrap();
        assert_eq!(m.allows(&dated("2026-07-01"), today), Wall::Open);
        assert_eq!(
            m.allows(&dated("2026-05-01"), today),
            Wall::Closed { until: None }
        );
    }

    #[test]
    fn encoding_round_trips() {
        for s in ["P1Y", "R10Y;P30D", "P999M", "R1D"] {
            let e: Embargo = s.parse().unwrap();
            let mut b = Vec::new();
            e.encode(&mut b);
            assert_eq!(Embargo::decode(&b, &mut 0), Some(e));
        }
    }

    const HEADER: &str = "publication_title\tprint_identifier\tonline_identifier\tdate_first_issue_online\tnum_first_vol_online\tnum_first_issue_online\tdate_last_issue_online\tnum_last_vol_online\tnum_last_issue_online\ttitle_url\tfirst_author\ttitle_id\tembargo_info\tcoverage_depth\tnotes\tpublisher_name";

    #[test]
    fn rows_read_and_skipped_with_reasons() {
        let text = format!(
            "{HEADER}\n\
             Circulation research\t0009-7330\t1524-4571\t1953-01-01\t1\t1\t\t\t\thttp://x\t\t\tP1Y\tfulltext\t\tAHA\n\
             CIN Plus\t\t1098-7126\t2002\t5\t\t2009-12\t12\t\t\t\t\t\tfulltext\t\tLWW\n\
             Broken dates\t0009-7330\t\t19xx\t\t\t\t\t\t\t\t\t\tfulltext\t\t\n\
             Index only\t1098-7126\t\t2000\t\t\t\t\t\t\t\t\t\tabstracts\t\t\n\
             Bad wall\t1098-7126\t\t2000\t\t\t\t\t\t\t\t\tP1W\tfulltext\t\t\n\
             \t1234-5678\t\t2000\t\t\t\t\t\t\t\t\t\tfulltext\t\t\n"
        );
        let k = Kbart::parse(&text).unwrap();
        assert_eq!(k.rows.len(), 2);
        let circ = &k.rows[0];
        assert_eq!(circ.issns.len(), 2);
        assert_eq!(
            circ.span,
            Some(Span::volumes(1, None).with_years(1953, None))
        );
        assert_eq!(
            circ.coverage().to_string(),
            "v.1- (1953-); moving wall: not the last 1 year"
        );
        let cin = &k.rows[1];
        assert_eq!(
            cin.span,
            Some(Span {
                first_volume: Some(5),
                last_volume: Some(12),
                first_year: Some(2002),
                last_year: Some(2009),
                open: false
            })
        );
        let lines: Vec<usize> = k.skipped.iter().map(|s| s.0).collect();
        assert_eq!(lines, vec![4, 5, 6, 7]);
        assert!(matches!(
            k.skipped[0].1,
            KbartError::BadField {
                column: "date_first_issue_online",
                ..
            }
        ));
        assert!(matches!(k.skipped[1].1, KbartError::NotFulltext(_)));
        assert!(matches!(
            k.skipped[2].1,
            KbartError::BadField {
                column: "embargo_info",
                ..
            }
        ));
        assert_eq!(k.skipped[3].1, KbartError::NoIdentifier);
        assert_eq!(
            Kbart::parse("title\tissn\n").unwrap_err(),
            KbartError::MissingColumn("publication_title")
        );
    }

    #[test]
    fn a_row_with_a_wall_checked_against_fixed_todays() {
        let text = format!("{HEADER}\nJ\t0009-7330\t\t1990\t\t\t\t\t\t\t\t\tP1Y\tfulltext\t\t\n");
        let c = Kbart::parse(&text).unwrap().rows[0].coverage();
        use super::super::Verdict;
        assert_eq!(c.check(&year(2019), day("2026-12-07")), Verdict::Covered);
        assert_eq!(
            c.check(&year(2026), day("2026-12-07")),
            Verdict::Embargoed {
                until: Some(day("2028-01-01"))
            }
        );
        assert_eq!(c.check(&year(2026), day("2028-03-01")), Verdict::Covered);
        assert_eq!(c.check(&year(1989), day("2026-12-07")), Verdict::NotCovered);
    }
}

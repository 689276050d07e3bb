//! Holdings CSVs: `symbol,record,copies,lendable,format`, for libraries that can send
//! only a spreadsheet.
//!
//! The header is optional; `copies`, `lendable` and `format` may be empty. `record` is a
//! record's 001, or `isbn:`, `oclc:`, `issn:`, `lccn:` and the identifier. `lendable` is
//! `yes` (loans and copies), `no`, or `copy` (copies only).
//!
//! A serial's row may carry its coverage in six more columns: `first_volume,
//! first_issue, first_year, last_volume, last_issue, last_year`. A first volume or year
//! with no last volume and no last year is a run on to the present. Issues are read and
//! checked but, as everywhere in coverage ([`crate::coverage`]), not kept.

use std::path::Path;

use super::report::Skip;
use crate::coverage::{Coverage, MAX_YEAR, MIN_YEAR, Span};
use crate::format::Format;
use crate::lending::{HoldingSpec, LendRule, Lending};

/// A holdings CSV row.
#[derive(Clone, Debug)]
pub struct CsvHolding {
    /// Row number (0-based, the header counted).
    pub row: usize,
    /// The record it names.
    pub record: String,
    /// The holding.
    pub holding: HoldingSpec,
}

/// Reads a holdings CSV; each row is a holding or the reason it was skipped.
pub fn read(path: &Path) -> Vec<Result<CsvHolding, Skip>> {
    let file = path.display().to_string();
    let skip = |index: usize, reason: String| Skip {
        file: file.clone(),
        index,
        offset: None,
        reason,
    };
    let mut rdr = match csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
    {
        Ok(r) => r,
        Err(e) => return vec![Err(skip(0, format!("file cannot be read: {e}")))],
    };
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                out.push(Err(skip(i, format!("unreadable row: {e}"))));
                continue;
            }
        };
        if i == 0 && rec.get(0).is_some_and(|s| s.eq_ignore_ascii_case("symbol")) {
            continue;
        }
        let get = |k: usize| rec.get(k).unwrap_or("").trim();
        let (symbol, record) = (get(0), get(1));
        if symbol.is_empty() || record.is_empty() {
            out.push(Err(skip(
                i,
                "row needs a library symbol and a record".into(),
            )));
            continue;
        }
        let copies = match get(2) {
            "" => 1,
            s => match s.parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => {
                    out.push(Err(skip(
                        i,
                        format!("copies {:?} is not a positive number", short(s)),
                    )));
                    continue;
                }
            },
        };
        let lending = match get(3).to_ascii_lowercase().as_str() {
            "" | "y" | "yes" | "true" | "1" => Lending::BOTH,
            "n" | "no" | "false" | "0" => Lending::NONE,
            "copy" | "copy only" | "copy-only" => Lending::COPY_ONLY,
            s => {
                out.push(Err(skip(
                    i,
                    format!("lendable {:?} is not yes, no or copy", short(s)),
                )));
                continue;
            }
        };
        let format = match get(4) {
            "" => None,
            s => match Format::parse(s) {
                Some(f) => Some(f),
                None => {
                    out.push(Err(skip(i, format!("unknown format {:?}", short(s)))));
                    continue;
                }
            },
        };
        let coverage = match coverage(&get) {
            Ok(c) => c,
            Err(e) => {
                out.push(Err(skip(i, e)));
                continue;
            }
        };
        let mut holding = HoldingSpec::new(symbol);
        holding.copies = copies;
        holding.format = format;
        holding.coverage = coverage;
        holding.limit(lending, LendRule::Csv);
        out.push(Ok(CsvHolding {
            row: i,
            record: record.to_string(),
            holding,
        }));
    }
    out
}

/// The coverage columns (5 to 10) of a row, if any is filled.
fn coverage<'a>(get: &dyn Fn(usize) -> &'a str) -> Result<Option<Coverage>, String> {
    const NAMES: [&str; 6] = [
        "first_volume",
        "first_issue",
        "first_year",
        "last_volume",
        "last_issue",
        "last_year",
    ];
    let mut v: [Option<u32>; 6] = [None; 6];
    for (k, name) in NAMES.iter().enumerate() {
        let s = get(5 + k);
        if s.is_empty() {
            continue;
        }
        let n = s
            .parse::<u32>()
            .map_err(|_| format!("{name} {:?} is not a number", short(s)))?;
        if name.ends_with("year") && !(u32::from(MIN_YEAR)..=u32::from(MAX_YEAR)).contains(&n) {
            return Err(format!(
                "{name} {n} is not a year between {MIN_YEAR} and {MAX_YEAR}"
            ));
        }
        v[k] = Some(n);
    }
    let [fv, _, fy, lv, _, ly] = v;
    if v.iter().all(Option::is_none) {
        return Ok(None);
    }
    if fv.is_none() && fy.is_none() {
        return Err("coverage needs first_volume or first_year".into());
    }
    for (a, b, what) in [(fv, lv, "volume"), (fy, ly, "year")] {
        if let (Some(a), Some(b)) = (a, b)
            && b < a
        {
            return Err(format!("last_{what} {b} is before first_{what} {a}"));
        }
    }
    let year = |y: Option<u32>| y.and_then(|y| u16::try_from(y).ok());
    Ok(Some(Coverage::from_spans(vec![Span {
        first_volume: fv,
        last_volume: lv,
        first_year: year(fy),
        last_year: year(ly),
        open: lv.is_none() && ly.is_none(),
    }])))
}

/// At most 40 characters of a bad value, for messages.
fn short(s: &str) -> String {
    let t: String = s.chars().take(40).collect();
    if t.len() < s.len() {
        format!("{t}…")
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<Result<CsvHolding, Skip>> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.csv");
        std::fs::write(&p, text).unwrap();
        read(&p)
    }

    #[test]
    fn coverage_columns() {
        let r = rows(
            "symbol,record,copies,lendable,format,first_volume,first_issue,first_year,last_volume,last_issue,last_year\n\
             A,issn:1481-5869,,yes,serial,1,1,1960,34,4,1993\n\
             B,issn:1481-5869,,yes,serial,,,2000,,,\n\
             C,issn:1481-5869,,copy,serial\n\
             D,issn:1481-5869,,yes,serial,,,,5,,\n\
             E,issn:1481-5869,,yes,serial,1,,1999,,,1990\n\
             F,issn:1481-5869,,yes,serial,one,,,,,\n\
             G,issn:1481-5869,,yes,serial,,,19,,,\n",
        );
        let cov = |i: usize| rows_cov(&r[i]);
        fn rows_cov(r: &Result<CsvHolding, Skip>) -> Option<String> {
            r.as_ref()
                .unwrap()
                .holding
                .coverage
                .as_ref()
                .map(ToString::to_string)
        }
        assert_eq!(cov(0).as_deref(), Some("v.1-34 (1960-1993)"));
        assert_eq!(cov(1).as_deref(), Some("2000-"));
        assert_eq!(cov(2), None);
        let why = |i: usize| r[i].as_ref().unwrap_err().reason.clone();
        assert_eq!(why(3), "coverage needs first_volume or first_year");
        assert_eq!(why(4), "last_year 1990 is before first_year 1999");
        assert_eq!(why(5), "first_volume \"one\" is not a number");
        assert!(
            why(6).starts_with("first_year 19 is not a year"),
            "{}",
            why(6)
        );
    }
}

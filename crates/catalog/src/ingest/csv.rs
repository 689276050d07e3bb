//! Holdings CSVs: `symbol,record,copies,lendable,format`, for libraries that can send
//! only a spreadsheet.
//!
//! The header is optional; `copies`, `lendable` and `format` may be empty. `record` is a
//! record's 001, or `isbn:`, `oclc:`, `issn:`, `lccn:` and the identifier. `lendable` is
//! `yes` (loans and copies), `no`, or `copy` (copies only).

use std::path::Path;

use super::report::Skip;
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
        let mut holding = HoldingSpec::new(symbol);
        holding.copies = copies;
        holding.format = format;
        holding.limit(lending, LendRule::Csv);
        out.push(Ok(CsvHolding {
            row: i,
            record: record.to_string(),
            holding,
        }));
    }
    out
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

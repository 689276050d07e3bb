//! What a lender's catalogue said, read from its answer: no I/O here.
//!
//! - SRU `searchRetrieveResponse` with OPAC XML records (the `opacRecord` YAZ, Koha's
//!   Zebra and most Z39.50/SRU gateways produce): a `circulation` with
//!   `availableNow value="1"` is a copy on the shelf; only `value="0"` is every copy
//!   out, due back at the earliest `availabilityDate` if given; no records, or records
//!   without circulation data, say nothing (unknown).
//! - NCIP 2 `LookupItemSetResponse` (and `LookupItemResponse`): an item whose
//!   `CirculationStatus` is `Available On Shelf` (or `Available For Pickup`) is on the
//!   shelf; `On Loan`, `Recalled`, `In Transit Between Library Locations`, `On Order`,
//!   `In Process`, `Pending Transfer` are out, due back at the earliest `DateDue`; a
//!   `Problem` or other statuses say nothing.
//!
//! A document that is not XML, or an SRU diagnostic, is an error (the lookup failed,
//! which the circuit breaker counts), not "unknown".

use chrono::{NaiveDate, TimeZone, Utc};
use quick_xml::Reader;
use quick_xml::events::Event;
use rota_routing::Shelf;

/// Largest answer read.
pub const MAX_ANSWER: usize = 1 << 20;

/// One element: its local name, its `value` attribute and its text.
struct Seen {
    name: String,
    /// Inside an SRU `recordData` (a surrogate diagnostic there is about one record).
    in_record: bool,
    value: Option<String>,
    text: String,
}

/// The elements of a document in order (text of leaf elements), bounded by
/// [`MAX_ANSWER`] and refusing DOCTYPEs as the ISO 18626 reader does.
fn elements(body: &[u8]) -> Result<Vec<Seen>, String> {
    if body.len() > MAX_ANSWER {
        return Err(format!("the answer is over {MAX_ANSWER} bytes"));
    }
    let text = std::str::from_utf8(body).map_err(|e| format!("not UTF-8: {e}"))?;
    let mut r = Reader::from_str(text);
    r.config_mut().trim_text(true);
    let mut out: Vec<Seen> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    loop {
        let (e, opens) = match r.read_event().map_err(|e| format!("not XML: {e}"))? {
            Event::Start(e) => (e, true),
            Event::Empty(e) => (e, false),
            Event::End(_) => {
                open.pop();
                continue;
            }
            Event::Text(t) => {
                if let Some(&i) = open.last() {
                    let s = t.unescape().map_err(|e| format!("not XML: {e}"))?;
                    out[i].text.push_str(&s);
                }
                continue;
            }
            Event::DocType(_) => return Err("a DOCTYPE: refused".into()),
            Event::Eof => break,
            _ => continue,
        };
        if open.len() >= 64 || out.len() >= 100_000 {
            return Err("too deep or too many elements".into());
        }
        let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
        let value = e
            .attributes()
            .flatten()
            .find(|a| a.key.local_name().as_ref() == b"value")
            .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()));
        let in_record = open.iter().any(|&i| out[i].name == "recordData");
        out.push(Seen {
            name,
            in_record,
            value,
            text: String::new(),
        });
        if opens {
            open.push(out.len() - 1);
        }
    }
    if out.is_empty() {
        return Err("an empty document".into());
    }
    Ok(out)
}

/// A date as catalogues write it (`2026-12-21`, `20261221`, RFC 3339), as unix seconds.
pub fn date(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    let day = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y%m%d"))
        .ok()?;
    Some(
        Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0)?)
            .timestamp(),
    )
}

/// An SRU answer's shelf status.
pub fn sru(body: &[u8]) -> Result<Shelf, String> {
    let els = elements(body)?;
    // a diagnostic outside the records fails the search; one inside a record (a
    // surrogate diagnostic: that record could not be sent) leaves the others standing
    if els.iter().any(|e| e.name == "diagnostic" && !e.in_record) {
        let message = els
            .iter()
            .find(|e| e.name == "message" && !e.in_record)
            .map(|e| e.text.clone())
            .unwrap_or_default();
        return Err(format!("SRU diagnostic: {message}"));
    }
    if !els.iter().any(|e| e.name == "searchRetrieveResponse") {
        return Err("not an SRU searchRetrieveResponse".into());
    }
    let now: Vec<&str> = els
        .iter()
        .filter(|e| e.name == "availableNow")
        .filter_map(|e| e.value.as_deref().or(Some(e.text.as_str())))
        .collect();
    if now.iter().any(|v| matches!(*v, "1" | "true")) {
        return Ok(Shelf::OnShelf);
    }
    if now.iter().any(|v| matches!(*v, "0" | "false")) {
        let until = els
            .iter()
            .filter(|e| e.name == "availabilityDate")
            .filter_map(|e| date(&e.text))
            .min();
        return Ok(Shelf::OnLoan { until });
    }
    Ok(Shelf::Unknown)
}

/// An NCIP answer's shelf status.
pub fn ncip(body: &[u8]) -> Result<Shelf, String> {
    let els = elements(body)?;
    if !els
        .iter()
        .any(|e| e.name == "LookupItemSetResponse" || e.name == "LookupItemResponse")
    {
        return Err("not an NCIP LookupItemSetResponse".into());
    }
    let statuses: Vec<&str> = els
        .iter()
        .filter(|e| e.name == "CirculationStatus")
        .map(|e| e.text.trim())
        .collect();
    if statuses.iter().any(|s| {
        s.eq_ignore_ascii_case("Available On Shelf")
            || s.eq_ignore_ascii_case("Available For Pickup")
    }) {
        return Ok(Shelf::OnShelf);
    }
    const OUT: [&str; 6] = [
        "On Loan",
        "Recalled",
        "In Transit Between Library Locations",
        "On Order",
        "In Process",
        "Pending Transfer",
    ];
    if statuses
        .iter()
        .any(|s| OUT.iter().any(|o| s.eq_ignore_ascii_case(o)))
    {
        let until = els
            .iter()
            .filter(|e| e.name == "DateDue")
            .filter_map(|e| date(&e.text))
            .min();
        return Ok(Shelf::OnLoan { until });
    }
    Ok(Shelf::Unknown)
}

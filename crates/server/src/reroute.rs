//! Files of unfilled requests to route again, as `rota reroute` and the console's bulk
//! re-route read them, and the line each answer becomes.
//!
//! Two formats:
//! - **JSON lines**: `{"request_id", "borrower", "citation": {...}, "service",
//!   "tried": [{"lender", "answer"}], "max_lenders", "profile"}`, one request a line;
//! - **CSV** with a header naming its columns (any order, unknown columns refused):
//!   `request_id, borrower, isbn, issn, oclc_number, lccn, title, author, year, volume,
//!   issue, pages, article_title, service, tried, max_lenders, profile`, where `tried` is
//!   `LENDER:answer` pairs separated by `;` (`B12:not_held;C7:on_loan`).
//!
//! A line that cannot be read is reported by its number and the rest go on.

use rota_catalog::Citation;
use rota_routing::{Answer, ReasonRetry, ReasonUnfilled, Request, ServiceType, Tried};
use serde::{Deserialize, Serialize};

/// Most lines one file may hold.
pub const MAX_LINES: usize = 200_000;

/// A line that could not be read (the caller's fault).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// Line number, from 1 (for CSV, counting the header).
    pub line: usize,
    /// What is wrong.
    pub error: String,
}

/// The input's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON object a line.
    JsonLines,
    /// CSV with a header.
    Csv,
}

impl Format {
    /// The format a file's name or first byte says.
    pub fn guess(name: &str, text: &str) -> Format {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            Format::Csv
        } else if lower.ends_with(".jsonl")
            || lower.ends_with(".json")
            || text.trim_start().starts_with('{')
        {
            Format::JsonLines
        } else {
            Format::Csv
        }
    }
}

/// An answer as files spell it (`not_held`, `on_loan`, `no_answer`, ...).
pub fn parse_answer(s: &str) -> Result<Answer, String> {
    let s = s.trim().to_ascii_lowercase().replace('-', "_");
    Ok(match s.as_str() {
        "not_held" | "notheld" => Answer::Unfilled(ReasonUnfilled::NotHeld),
        "non_circulating" | "noncirculating" => Answer::Unfilled(ReasonUnfilled::NonCirculating),
        "not_available_for_ill" | "notavailableforill" => {
            Answer::Unfilled(ReasonUnfilled::NotAvailableForIll)
        }
        "not_on_shelf" | "notonshelf" => Answer::Unfilled(ReasonUnfilled::NotOnShelf),
        "policy_problem" | "policyproblem" => Answer::Unfilled(ReasonUnfilled::PolicyProblem),
        "poor_condition" | "poorcondition" => Answer::Unfilled(ReasonUnfilled::PoorCondition),
        "on_loan" | "onloan" => Answer::Retry(ReasonRetry::OnLoan),
        "cost_exceeds_max_cost" | "costexceedsmaxcost" => {
            Answer::Retry(ReasonRetry::CostExceedsMaxCost)
        }
        "not_yet_available" => Answer::Retry(ReasonRetry::NotYetAvailable),
        "retry" => Answer::Retry(ReasonRetry::Other),
        "no_answer" | "" => Answer::NoAnswer,
        other => return Err(format!("unknown answer {other:?}")),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonLine {
    #[serde(default)]
    request_id: String,
    borrower: String,
    citation: Citation,
    #[serde(default)]
    service: Option<ServiceType>,
    #[serde(default)]
    tried: Vec<JsonTried>,
    #[serde(default)]
    max_lenders: Option<u32>,
    #[serde(default)]
    profile: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonTried {
    lender: String,
    #[serde(default)]
    answer: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CsvLine {
    #[serde(default)]
    request_id: String,
    borrower: String,
    #[serde(default)]
    isbn: String,
    #[serde(default)]
    issn: String,
    #[serde(default)]
    oclc_number: String,
    #[serde(default)]
    lccn: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    author: String,
    #[serde(default)]
    year: Option<u16>,
    #[serde(default)]
    volume: String,
    #[serde(default)]
    issue: String,
    #[serde(default)]
    pages: String,
    #[serde(default)]
    article_title: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    tried: String,
    #[serde(default)]
    max_lenders: Option<u32>,
    #[serde(default)]
    profile: String,
}

fn some(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// A line of either format, read.
struct Line {
    request_id: String,
    borrower: String,
    citation: Citation,
    service: Option<ServiceType>,
    /// Lender and answer, as spelled.
    tried: Vec<(String, String)>,
    max_lenders: Option<u32>,
    profile: Option<String>,
}

fn request(line: usize, l: Line) -> Result<Request, String> {
    let Line {
        request_id,
        borrower,
        citation,
        service,
        tried,
        max_lenders,
        profile,
    } = l;
    let tried = tried
        .into_iter()
        .map(|(lender, answer)| {
            parse_answer(&answer).map(|answer| Tried {
                lender,
                answer,
                at: None,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Request {
        request_id: if request_id.trim().is_empty() {
            format!("line-{line}")
        } else {
            request_id
        },
        service,
        tried,
        max_lenders: max_lenders.unwrap_or(5),
        profile,
        ..Request::new(borrower, citation, 0)
    })
}

/// Reads a file of unfilled requests: those read, and the lines that were not.
pub fn parse(text: &str, format: Format) -> (Vec<Request>, Vec<LineError>) {
    let (mut reqs, mut errs) = (Vec::new(), Vec::new());
    let mut push = |line: usize, r: Result<Request, String>| match r {
        Ok(r) => reqs.push(r),
        Err(error) => errs.push(LineError { line, error }),
    };
    match format {
        Format::JsonLines => {
            for (i, l) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let r = serde_json::from_str::<JsonLine>(l)
                    .map_err(|e| e.to_string())
                    .and_then(|u| {
                        request(
                            i + 1,
                            Line {
                                request_id: u.request_id,
                                borrower: u.borrower,
                                citation: u.citation,
                                service: u.service,
                                tried: u.tried.into_iter().map(|t| (t.lender, t.answer)).collect(),
                                max_lenders: u.max_lenders,
                                profile: u.profile,
                            },
                        )
                    });
                push(i + 1, r);
            }
        }
        Format::Csv => {
            let mut rd = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .flexible(false)
                .from_reader(text.as_bytes());
            for (i, rec) in rd.deserialize::<CsvLine>().enumerate() {
                let line = i + 2;
                let r = rec.map_err(|e| e.to_string()).and_then(|u| {
                    let service = match u.service.trim().to_ascii_lowercase().as_str() {
                        "" => None,
                        "loan" => Some(ServiceType::Loan),
                        "copy" => Some(ServiceType::Copy),
                        "copy_or_loan" | "copy-or-loan" => Some(ServiceType::CopyOrLoan),
                        s => {
                            return Err(format!(
                                "service: {s:?} is not loan, copy or copy_or_loan"
                            ));
                        }
                    };
                    let tried = u
                        .tried
                        .split(';')
                        .filter(|t| !t.trim().is_empty())
                        .map(|t| match t.split_once(':') {
                            Some((l, a)) => Ok((l.trim().to_owned(), a.trim().to_owned())),
                            None => Ok((t.trim().to_owned(), String::new())),
                        })
                        .collect::<Result<Vec<_>, String>>()?;
                    let citation = Citation {
                        isbn: some(u.isbn),
                        issn: some(u.issn),
                        oclc: some(u.oclc_number),
                        lccn: some(u.lccn),
                        title: some(u.title),
                        author: some(u.author),
                        year: u.year,
                        volume: some(u.volume),
                        issue: some(u.issue),
                        pages: some(u.pages),
                        article_title: some(u.article_title),
                        ..Citation::default()
                    };
                    request(
                        line,
                        Line {
                            request_id: u.request_id,
                            borrower: u.borrower,
                            citation,
                            service,
                            tried,
                            max_lenders: u.max_lenders,
                            profile: some(u.profile),
                        },
                    )
                });
                push(line, r);
            }
        }
    }
    (reqs, errs)
}

/// One answer of a re-route, as `rota reroute` writes it (JSON lines).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Rerouted {
    /// The request.
    pub request_id: String,
    /// The new string (symbols), empty when exhausted.
    pub lenders: Vec<String>,
    /// Expected hours to fill.
    pub expected_hours_to_fill: f64,
    /// Probability the string fills.
    pub p_filled: f64,
    /// No lender is left.
    pub exhausted: bool,
    /// Why it could not be routed (the input line's number in `line`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    /// For a line that could not be read: its number.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_and_csv_read_alike() {
        let json = r#"{"request_id":"r1","borrower":"B1","citation":{"isbn":"9780306406157"},"service":"copy","tried":[{"lender":"L1","answer":"not_held"},{"lender":"L2","answer":"on-loan"}]}

{"borrower":"B2","citation":{"title":"Moby Dick"},"max_lenders":3}
{"borrower":"B3","citation":{},"tried":[{"lender":"L1","answer":"eaten"}]}
not json
"#;
        let (reqs, errs) = parse(json, Format::JsonLines);
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].tried.len(), 2);
        assert_eq!(reqs[0].tried[1].answer, Answer::Retry(ReasonRetry::OnLoan));
        assert_eq!(reqs[0].service, Some(ServiceType::Copy));
        assert_eq!(reqs[1].request_id, "line-3");
        assert_eq!(reqs[1].max_lenders, 3);
        assert_eq!(errs.iter().map(|e| e.line).collect::<Vec<_>>(), [4, 5]);
        assert!(errs[0].error.contains("eaten"));

        let csv = "request_id,borrower,isbn,title,service,tried\n\
                   r1,B1,9780306406157,,copy,L1:not_held;L2:on_loan\n\
                   ,B2,,Moby Dick,,\n\
                   r3,B3,,,boat,\n\
                   r4,B4\n";
        let (reqs, errs) = parse(csv, Format::Csv);
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].citation.isbn.as_deref(), Some("9780306406157"));
        assert_eq!(
            reqs[0].tried[0].answer,
            Answer::Unfilled(ReasonUnfilled::NotHeld)
        );
        assert_eq!(reqs[1].request_id, "line-3");
        assert_eq!(reqs[1].citation.title.as_deref(), Some("Moby Dick"));
        assert_eq!(errs.iter().map(|e| e.line).collect::<Vec<_>>(), [4, 5]);
        assert!(errs[0].error.contains("boat"));
        let (_, errs) = parse("borrower,colour\nB1,red\n", Format::Csv);
        assert!(errs[0].error.contains("colour"), "{:?}", errs);
    }

    #[test]
    fn formats_are_guessed() {
        assert_eq!(Format::guess("x.csv", "{"), Format::Csv);
        assert_eq!(Format::guess("x.jsonl", ""), Format::JsonLines);
        assert_eq!(Format::guess("upload", " {\"a\":1}"), Format::JsonLines);
        assert_eq!(Format::guess("upload", "borrower,isbn"), Format::Csv);
    }
}

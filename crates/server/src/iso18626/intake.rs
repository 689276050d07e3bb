//! Intake (observer mode): copies of the ISO 18626 messages a consortium's systems send
//! each other become lifecycle events, so rota learns from traffic it does not route.
//!
//! | message | event |
//! |---|---|
//! | `request` with a supplier | `Sent` to that supplier (the cluster matched from its bibliographic info) |
//! | status `ExpectToSupply`, `WillSupply` | `WillSupply` |
//! | status `Loaned` / `CopyCompleted` | `Loaned` / `CopyCompleted` |
//! | status `Unfilled` | `Unfilled` with its reason (none, or one outside the standard's list: `PolicyProblem`, not final) |
//! | status `RetryPossible` | `RetryPossible` with its reason (`OnLoan`, `CostExceedsMaxCost`, `NotYetAvailable`, else `Other`) |
//! | status `LoanCompleted` | `Returned` (the copy is back on the lender's shelf) |
//! | status `Cancelled`, action `Cancel` | `Cancelled` |
//! | action `Received` | `Received` |
//!
//! Other statuses and actions (`RequestReceived`, `Overdue`, `Renew`, notes, …) are
//! confirmed and change nothing. Agencies are directory lenders named by one of their
//! `agency_ids`, or whose symbol is the agency id's value or `TYPE:VALUE`; an agency not
//! in the directory is the sender's error (`UnrecognisedDataValue`), so a typo does not
//! silently teach nothing.
//!
//! A transaction's cluster and service are remembered from its request (keyed by the
//! requesting agency and its request id) for the messages that follow, for
//! [`TXN_DAYS`] days and at most [`MAX_TXNS`] transactions; a message whose request
//! was not seen still counts, without a cluster.

use std::collections::HashMap;
use std::sync::Mutex;

use rota_catalog::{Catalog, Citation, ClusterId};
use rota_iso18626::{
    Action, AgencyId, ErrorType, Kind, Message, Rejection, Request, RequestingAgencyMessage,
    ServiceType, Status, SupplyingAgencyMessage,
};
use rota_routing::{Directory, Event, EventKind, ReasonRetry, ReasonUnfilled, Service};

/// How long a transaction's cluster is remembered.
pub const TXN_DAYS: i64 = 120;
/// Most transactions remembered.
pub const MAX_TXNS: usize = 1_000_000;

#[derive(Clone, Copy)]
struct Txn {
    cluster: Option<ClusterId>,
    service: Service,
    at: i64,
}

/// The transactions seen, for the messages that follow their request.
#[derive(Default)]
pub struct Intake {
    txns: Mutex<HashMap<(String, String), Txn>>,
}

/// The directory symbol of the lender an agency id names.
pub fn symbol(dir: &Directory, a: &AgencyId) -> Option<String> {
    dir.by_agency(&a.kind, &a.value)
        .map(|i| dir.get(i).symbol.clone())
}

fn unknown_agency(kind: Kind, what: &str, a: &AgencyId) -> Rejection {
    Rejection::new(
        Some(kind),
        ErrorType::UnrecognisedDataValue,
        format!("header/{what}: {a} is not a lender in rota's directory"),
    )
}

/// The citation a request's bibliographic info makes.
pub fn citation(r: &Request) -> Citation {
    let b = &r.bibliographic;
    let mut c = Citation {
        title: b.title.clone(),
        author: b.author.clone(),
        volume: b.volume.first().cloned(),
        issue: b.issue.clone(),
        pages: b.pages_requested.clone(),
        article_title: b.title_of_component.clone(),
        ..Citation::default()
    };
    for (code, value) in b.item_ids.iter().chain(&b.record_ids) {
        let slot = match code.to_ascii_uppercase().as_str() {
            "ISBN" => &mut c.isbn,
            "ISSN" => &mut c.issn,
            "EISSN" => &mut c.eissn,
            "OCLC" => &mut c.oclc,
            "LCCN" => &mut c.lccn,
            "DOI" => &mut c.doi,
            "PMID" => &mut c.pmid,
            _ => continue,
        };
        slot.get_or_insert_with(|| value.clone());
    }
    if let Some(d) = r
        .publication
        .as_ref()
        .and_then(|p| p.publication_date.as_deref())
    {
        let year: String = d.chars().filter(char::is_ascii_digit).take(4).collect();
        if year.len() == 4 {
            c.year = year.parse().ok();
            if c.article_title.is_some() {
                c.date = Some(year);
            }
        }
    }
    c
}

/// The service a request's service type is learned as.
pub fn service(t: ServiceType) -> Service {
    match t {
        ServiceType::Copy => Service::Copy,
        // either: a returnable is the heavier case to learn from
        ServiceType::Loan | ServiceType::CopyOrLoan => Service::Loan,
    }
}

fn reason_unfilled(v: Option<&str>) -> ReasonUnfilled {
    match v {
        Some("NotHeld") => ReasonUnfilled::NotHeld,
        Some("NonCirculating") => ReasonUnfilled::NonCirculating,
        Some("NotAvailableForILL") => ReasonUnfilled::NotAvailableForIll,
        Some("NotOnShelf") => ReasonUnfilled::NotOnShelf,
        Some("PoorCondition") => ReasonUnfilled::PoorCondition,
        // PolicyProblem, none, or a local code: unfilled, not final
        _ => ReasonUnfilled::PolicyProblem,
    }
}

fn reason_retry(v: Option<&str>) -> ReasonRetry {
    match v {
        Some("OnLoan") => ReasonRetry::OnLoan,
        Some("CostExceedsMaxCost") => ReasonRetry::CostExceedsMaxCost,
        Some("NotYetAvailable") => ReasonRetry::NotYetAvailable,
        _ => ReasonRetry::Other,
    }
}

/// The event a supplier's message means, if any.
pub fn supplying_event(s: &SupplyingAgencyMessage) -> Option<EventKind> {
    match s.status {
        Status::ExpectToSupply | Status::WillSupply => Some(EventKind::WillSupply),
        Status::Loaned => Some(EventKind::Loaned),
        Status::CopyCompleted => Some(EventKind::CopyCompleted),
        Status::Unfilled => Some(EventKind::Unfilled(reason_unfilled(
            s.reason_unfilled.as_ref().map(|c| c.value.as_str()),
        ))),
        Status::RetryPossible => Some(EventKind::RetryPossible(reason_retry(
            s.reason_retry.as_ref().map(|c| c.value.as_str()),
        ))),
        Status::LoanCompleted => Some(EventKind::Returned),
        Status::Cancelled => Some(EventKind::Cancelled),
        _ => None,
    }
}

/// The event a requester's message means, if any.
pub fn requesting_event(r: &RequestingAgencyMessage) -> Option<EventKind> {
    match r.action {
        Action::Received => Some(EventKind::Received),
        Action::Cancel => Some(EventKind::Cancelled),
        _ => None,
    }
}

impl Intake {
    /// The events a message means (possibly none), or why it is refused.
    pub fn events(
        &self,
        dir: &Directory,
        catalog: &Catalog,
        m: &Message,
    ) -> Result<Vec<Event>, Rejection> {
        let h = m.header();
        let kind = m.kind();
        let borrower = symbol(dir, &h.requesting_agency)
            .ok_or_else(|| unknown_agency(kind, "requestingAgencyId", &h.requesting_agency))?;
        let lender = match &h.supplying_agency {
            Some(a) => {
                Some(symbol(dir, a).ok_or_else(|| unknown_agency(kind, "supplyingAgencyId", a))?)
            }
            None => None,
        };
        let at = h.timestamp.timestamp();
        let key = (borrower.clone(), h.requesting_agency_request_id.clone());
        let request_id = format!("{borrower}/{}", h.requesting_agency_request_id);
        let event = |lender: String, txn: Option<Txn>, kind: EventKind| Event {
            at,
            request_id: request_id.clone(),
            borrower: borrower.clone(),
            lender,
            cluster: txn.and_then(|t| t.cluster),
            service: txn.map_or(Service::Loan, |t| t.service),
            kind,
        };
        let mut txns = self.txns.lock().unwrap_or_else(|e| e.into_inner());
        let known = txns.get(&key).copied();
        Ok(match m {
            Message::Request(r) => {
                let cluster = catalog
                    .lookup(&citation(r), Default::default())
                    .ok()
                    .and_then(|ms| ms.first().map(|m| m.cluster));
                let txn = Txn {
                    cluster,
                    service: service(r.service.service_type),
                    at,
                };
                if txns.len() >= MAX_TXNS {
                    txns.retain(|_, t| at - t.at < TXN_DAYS * 86_400);
                    if txns.len() >= MAX_TXNS {
                        // still full of live transactions: forget the oldest tenth
                        let mut ats: Vec<i64> = txns.values().map(|t| t.at).collect();
                        let cut = *ats.select_nth_unstable(MAX_TXNS / 10).1;
                        txns.retain(|_, t| t.at > cut);
                    }
                }
                txns.insert(key, txn);
                lender
                    .map(|l| vec![event(l, Some(txn), EventKind::Sent)])
                    .unwrap_or_default()
            }
            Message::SupplyingAgencyMessage(s) => {
                let Some(lender) = lender else {
                    return Ok(Vec::new());
                };
                let ek = supplying_event(s);
                ek.map(|k| vec![event(lender, known, k)])
                    .unwrap_or_default()
            }
            Message::RequestingAgencyMessage(r) => {
                let Some(lender) = lender else {
                    return Ok(Vec::new());
                };
                let ek = requesting_event(r);
                ek.map(|k| vec![event(lender, known, k)])
                    .unwrap_or_default()
            }
        })
    }
}

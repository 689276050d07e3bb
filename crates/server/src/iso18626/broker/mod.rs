//! Broker mode: rota as the supplier a requester addresses, which picks the real lender.
//!
//! A `request` addressed to the broker's agency (or to no supplier) is matched and routed
//! like any other request; the broker forwards it to the first lender of the string that
//! has an ISO 18626 endpoint, relays every answer to the requester and every requester
//! message to the lender, and on `Unfilled`, `RetryPossible`, a lender refusing the
//! message, or no answer within `answer_timeout_secs` (the broker then cancels it there),
//! forwards it to the next lender, until one supplies or the string runs out (then the
//! requester gets the last `Unfilled`). Every message becomes a lifecycle event, so the
//! routing learns from ordinary traffic.
//!
//! | from | message | the broker |
//! |---|---|---|
//! | requester | `request` | routes; forwards to lender 1 (`Sent`) |
//! | lender | `Unfilled`, `RetryPossible` | forwards to the next lender, or relays it as final |
//! | lender | `ExpectToSupply`, `WillSupply`, `Loaned`, `Overdue`, notes, … | relays |
//! | lender | `CopyCompleted`, `LoanCompleted`, `CompletedWithoutReturn` | relays; closes |
//! | lender | answer to a cancel | relays; closes if yes |
//! | requester | `Cancel`, `Renew`, `Received`, `ShippedReturn`, notes, … | relays to the lender |
//! | (clock) | no answer by the deadline | `Cancel` to that lender (`Expired`); next lender |
//!
//! The requester sees the broker as its supplier (messages relayed to it name the
//! broker's agency); each lender sees the requester as its requester, with the
//! requester's own request id, so its staff know who borrows. Messages a lender sends
//! after the broker moved on from it are learned from and not relayed.
//!
//! Durability ([`store`]): a message's effects are committed before it is confirmed, and
//! what the broker owes its peers leaves the outbox only when confirmed, so a crash
//! loses no transaction and resends only what no peer confirmed, with the same bytes.

pub mod sender;
pub mod store;
mod transitions;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rota_iso18626::xml::Element;
use rota_iso18626::{AgencyId, ErrorType, Message, Rejection, Request, ServiceType};
use rota_routing::{Directory, Service};
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::config::Iso18626Config;
use crate::iso18626::intake;
use store::{NewTxn, Store, StoreError};

/// Why the broker did not take a message.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The sender's fault: answered with a confirmation `ERROR`.
    #[error("refused: {}", .0.value)]
    Refused(Box<Rejection>),
    /// Ours: the store cannot record it (the sender should retry).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What became of a message.
#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    /// The broker took it (recorded; what it causes is in the outbox).
    Taken,
    /// Not a message of a brokered transaction: observe it (intake).
    NotMine,
}

/// The broker.
pub struct Broker {
    store: Mutex<Store>,
    agency: AgencyId,
    config: Iso18626Config,
    checker: crate::availability::Checker,
    /// Woken when the outbox gains a message.
    pub(crate) wake: tokio::sync::Notify,
}

fn refused(kind: rota_iso18626::Kind, error: ErrorType, value: String) -> BrokerError {
    BrokerError::Refused(Box::new(Rejection::new(Some(kind), error, value)))
}

/// The directory symbol of a message's requester, or the refusal naming it.
fn requester_of(
    dir: &Directory,
    kind: rota_iso18626::Kind,
    a: &AgencyId,
) -> Result<String, BrokerError> {
    intake::symbol(dir, a).ok_or_else(|| {
        refused(
            kind,
            ErrorType::UnrecognisedDataValue,
            format!("header/requestingAgencyId: {a} is not a library in rota's directory"),
        )
    })
}

fn agency_of(dir: &Directory, symbol: &str) -> Option<AgencyId> {
    dir.index(symbol).map(|i| {
        let (kind, value) = dir.agency_id(i);
        AgencyId { kind, value }
    })
}

fn parse_agency(s: &str) -> AgencyId {
    let (kind, value) = s.split_once(':').unwrap_or(("ISIL", s));
    AgencyId {
        kind: kind.into(),
        value: value.into(),
    }
}

fn digest(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

impl Broker {
    /// A broker with its store; `config.agency` must be set.
    pub fn new(config: Iso18626Config, store: Store) -> Arc<Broker> {
        let agency = parse_agency(config.agency.as_deref().unwrap_or("ISIL:ROTA"));
        let checker = crate::availability::Checker::new(
            std::time::Duration::from_millis(config.availability_budget_ms),
            std::time::Duration::from_secs(config.availability_cache_secs),
        );
        Arc::new(Broker {
            store: Mutex::new(store),
            agency,
            checker,
            config,
            wake: tokio::sync::Notify::new(),
        })
    }

    /// The broker's own agency id.
    pub fn agency(&self) -> &AgencyId {
        &self.agency
    }

    pub(crate) fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A lender's (or requester's) ISO 18626 endpoint: its directory entry's, else the
    /// configured template's.
    pub fn endpoint(&self, dir: &Directory, symbol: &str) -> Option<String> {
        let l = dir.get(dir.index(symbol)?);
        l.iso18626.clone().or_else(|| {
            self.config
                .lender_endpoint
                .as_ref()
                .map(|t| t.replace("{symbol}", symbol))
        })
    }

    fn is_me(&self, a: &AgencyId) -> bool {
        a.kind.eq_ignore_ascii_case(&self.agency.kind) && a.value == self.agency.value
    }

    /// Takes a message if it belongs to a brokered transaction (or opens one).
    /// `availability`: what the lenders' catalogues said of a request's item
    /// ([`Broker::lookup_plan`], [`crate::availability::Checker::check`]).
    pub fn handle(
        &self,
        app: &App,
        root: &Element,
        m: &Message,
        body: &[u8],
        availability: Vec<rota_routing::Availability>,
        now: DateTime<Utc>,
    ) -> Result<Handled, BrokerError> {
        let eng = app.engine.load();
        let dir = eng.directory();
        let h = m.header();
        match m {
            Message::Request(r) => {
                if !self.takes(r) {
                    return Ok(Handled::NotMine);
                }
                self.request(app, root, r, availability, now)
            }
            Message::SupplyingAgencyMessage(s) => {
                let Some(requester) = intake::symbol(dir, &h.requesting_agency) else {
                    return Ok(Handled::NotMine);
                };
                let mut store = self.store();
                let taken = store.atomically(|t| {
                    let Some(x) = t.find(&requester, &h.requesting_agency_request_id)? else {
                        return Ok(Handled::NotMine);
                    };
                    self.on_lender_message(t, dir, x, root, s, body, now)?;
                    Ok::<_, BrokerError>(Handled::Taken)
                })?;
                drop(store);
                self.wake.notify_one();
                Ok(taken)
            }
            Message::RequestingAgencyMessage(r) => {
                if !h.supplying_agency.as_ref().is_some_and(|a| self.is_me(a)) {
                    return Ok(Handled::NotMine);
                }
                let kind = m.kind();
                let requester = requester_of(dir, kind, &h.requesting_agency)?;
                let mut store = self.store();
                store.atomically(|t| {
                    let x = t
                        .find(&requester, &h.requesting_agency_request_id)?
                        .ok_or_else(|| {
                            refused(
                                kind,
                                ErrorType::UnrecognisedDataValue,
                                format!(
                                    "header/requestingAgencyRequestId: {}: no transaction with this id at the broker",
                                    h.requesting_agency_request_id
                                ),
                            )
                        })?;
                    if !t.first_time(x.id, &digest(body))? {
                        return Ok::<_, BrokerError>(());
                    }
                    self.on_requester_message(t, dir, x, root, r.action, now)
                })?;
                drop(store);
                self.wake.notify_one();
                Ok(Handled::Taken)
            }
        }
    }

    /// The routing request a brokered `request` makes.
    fn routing_request(
        &self,
        requester: &str,
        r: &Request,
        now: DateTime<Utc>,
    ) -> rota_routing::Request {
        let h = &r.header;
        let mut req = rota_routing::Request::new(requester, intake::citation(r), now.timestamp());
        req.request_id = h.requesting_agency_request_id.clone();
        req.service = Some(match r.service.service_type {
            ServiceType::Loan => rota_routing::ServiceType::Loan,
            ServiceType::Copy => rota_routing::ServiceType::Copy,
            ServiceType::CopyOrLoan => rota_routing::ServiceType::CopyOrLoan,
        });
        req.max_lenders = self.config.max_lenders;
        req.need_before = r.service.need_before.map(|t| t.timestamp());
        if let Some((currency, amount)) = &r.max_cost {
            req.max_cost = Some(*amount);
            req.currency = Some(currency.clone());
        }
        req.rush = r
            .service
            .service_level
            .as_ref()
            .is_some_and(|c| c.value.eq_ignore_ascii_case("rush"));
        req
    }

    /// Whether the broker takes this request (it is addressed to it, or to no one).
    pub fn takes(&self, r: &Request) -> bool {
        r.header
            .supplying_agency
            .as_ref()
            .is_none_or(|a| self.is_me(a))
    }

    /// The lenders whose catalogues to ask before routing a request (the top of a first
    /// routing that have a `lookup` in the directory), and what to ask them about.
    pub fn lookup_plan(
        &self,
        app: &App,
        r: &Request,
        now: DateTime<Utc>,
    ) -> (
        Vec<(String, rota_routing::Lookup)>,
        crate::availability::Item,
    ) {
        let eng = app.engine.load();
        let dir = eng.directory();
        let Some(requester) = intake::symbol(dir, &r.header.requesting_agency) else {
            return Default::default();
        };
        let req = self.routing_request(&requester, r, now);
        let routed = {
            let live = app.live.read().unwrap_or_else(|e| e.into_inner());
            eng.route(&live, &req)
        };
        let Ok(s) = routed else {
            return Default::default();
        };
        let targets: Vec<(String, rota_routing::Lookup)> = s
            .lenders
            .iter()
            .filter_map(|l| {
                let lk = dir.get(dir.index(&l.symbol)?).lookup.clone()?;
                Some((l.symbol.to_string(), lk))
            })
            .take(self.config.availability_lenders as usize)
            .collect();
        let c = &req.citation;
        let cat = eng.catalog();
        let cluster = s.matches.first().map(|m| m.cluster);
        let from_catalogue = |k| cluster.and_then(|cl| cat.first_id(cl, k));
        let item = crate::availability::Item {
            isbn: c
                .isbn
                .clone()
                .or_else(|| from_catalogue(rota_catalog::IdKind::Isbn)),
            issn: c
                .issn
                .clone()
                .or_else(|| from_catalogue(rota_catalog::IdKind::Issn)),
            oclc: c
                .oclc
                .clone()
                .or_else(|| from_catalogue(rota_catalog::IdKind::Oclc)),
        };
        (targets, item)
    }

    /// The checker for live availability.
    pub fn checker(&self) -> &crate::availability::Checker {
        &self.checker
    }

    fn request(
        &self,
        app: &App,
        root: &Element,
        r: &Request,
        availability: Vec<rota_routing::Availability>,
        now: DateTime<Utc>,
    ) -> Result<Handled, BrokerError> {
        let kind = rota_iso18626::Kind::Request;
        let eng = app.engine.load();
        let dir = eng.directory();
        let h = &r.header;
        let requester = requester_of(dir, kind, &h.requesting_agency)?;
        if self.endpoint(dir, &requester).is_none() {
            return Err(refused(
                kind,
                ErrorType::UnrecognisedDataValue,
                format!(
                    "header/requestingAgencyId: {} has no ISO 18626 endpoint in rota's directory, so the broker could not answer it",
                    h.requesting_agency
                ),
            ));
        }
        {
            let mut store = self.store();
            let known =
                store.atomically(|t| t.find(&requester, &h.requesting_agency_request_id))?;
            if known.is_some() {
                // the same request again (its sender missed our confirmation): already taken
                return Ok(Handled::Taken);
            }
        }
        let mut req = self.routing_request(&requester, r, now);
        req.availability = availability;
        let routed = {
            let live = app.live.read().unwrap_or_else(|e| e.into_inner());
            eng.route(&live, &req)
        };
        let (cluster, lenders, why_none) = match routed {
            Ok(s) => {
                let cluster = s.matches.first().map(|m| m.cluster);
                let lenders: Vec<String> = s
                    .lenders
                    .iter()
                    .map(|l| l.symbol.to_string())
                    .filter(|l| self.endpoint(dir, l).is_some())
                    .collect();
                let why = match s.status {
                    rota_routing::RouteStatus::Routed if s.lenders.is_empty() => {
                        "no lender in the consortium can supply it now"
                    }
                    rota_routing::RouteStatus::Routed => {
                        "none of the lenders that could supply it has an ISO 18626 endpoint"
                    }
                    rota_routing::RouteStatus::HeldLocally => {
                        "the requester's own institution holds a lendable copy"
                    }
                    rota_routing::RouteStatus::Ambiguous
                    | rota_routing::RouteStatus::NoConfidentMatch => {
                        "the citation fits several records; staff must choose"
                    }
                    rota_routing::RouteStatus::NotFound => {
                        "no record in the union catalogue fits the citation"
                    }
                };
                // kept for the console's story of the request, as a gRPC route is
                if let Some(hist) = &app.history {
                    use prost::Message as _;
                    hist.routed(crate::history::Routed {
                        at: now.timestamp(),
                        who: format!("ISO 18626 {}", h.requesting_agency),
                        borrower: requester.clone(),
                        // as its events name it: ids are unique only per requester
                        request_id: format!("{requester}/{}", req.request_id),
                        request: crate::convert::request_to_wire(&req).encode_to_vec(),
                        response: crate::convert::response_to_wire(s, eng.catalog())
                            .encode_to_vec(),
                    });
                }
                (cluster, lenders, why)
            }
            Err(e) => {
                return Err(refused(
                    kind,
                    ErrorType::UnrecognisedDataValue,
                    format!("request: {e}"),
                ));
            }
        };
        let service = match r.service.service_type {
            ServiceType::Copy => Service::Copy,
            _ => Service::Loan,
        };
        let document = rota_iso18626::relay::without_credentials(root);
        let mut store = self.store();
        store.atomically(|t| {
            if t.find(&requester, &h.requesting_agency_request_id)?
                .is_some()
            {
                return Ok(());
            }
            let mut x = t.open(
                &NewTxn {
                    requester: &requester,
                    requester_agency: &h.requesting_agency.to_string(),
                    request_id: &h.requesting_agency_request_id,
                    cluster: cluster.map(|c| c.get()),
                    service: service.name(),
                    lenders: &lenders,
                    document: &document,
                },
                now.timestamp(),
            )?;
            if lenders.is_empty() {
                x.pos = 0;
                self.close_unfilled(t, dir, &mut x, None, why_none, now)?;
            } else {
                self.ask(t, dir, &mut x, now)?;
            }
            t.save(&x, now.timestamp())?;
            Ok::<_, BrokerError>(())
        })?;
        drop(store);
        self.wake.notify_one();
        Ok(Handled::Taken)
    }
}

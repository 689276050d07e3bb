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

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rota_iso18626::relay::{self, Address, Ids, Supplying};
use rota_iso18626::xml::Element;
use rota_iso18626::{
    Action, AgencyId, ErrorType, Message, ReasonForMessage, Rejection, Request, ServiceType,
    Status, SupplyingAgencyMessage,
};
use rota_routing::{Directory, Event, EventKind, Service};
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::config::Iso18626Config;
use crate::iso18626::intake;
use store::{NewTxn, Owed, State, Store, StoreError, Txn};

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
        let document = rota_iso18626::xml::write(root);
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

    fn event(
        &self,
        t: &mut store::Tx<'_>,
        x: &Txn,
        lender: &str,
        kind: EventKind,
        now: i64,
    ) -> Result<(), StoreError> {
        t.event(&Event {
            at: now,
            request_id: format!("{}/{}", x.requester, x.request_id),
            borrower: x.requester.clone(),
            lender: lender.to_string(),
            cluster: x.cluster.map(rota_catalog::ClusterId::new),
            service: if x.service == "copy" {
                Service::Copy
            } else {
                Service::Loan
            },
            kind,
        })
    }

    fn give_up_at(&self, now: i64) -> i64 {
        now + 2 * (self.config.answer_timeout_secs as i64).max(86_400)
    }

    /// Forwards the request to the lender at `x.pos`.
    fn ask(
        &self,
        t: &mut store::Tx<'_>,
        dir: &Directory,
        x: &mut Txn,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let lender = x.lender().unwrap_or_default().to_string();
        let (Some(dest), Some(agency), Some(doc)) = (
            self.endpoint(dir, &lender),
            agency_of(dir, &lender),
            x.document.as_deref(),
        ) else {
            // the directory changed under the transaction: skip this lender
            return self.next(t, dir, x, None, now);
        };
        let Ok(root) = rota_iso18626::xml::parse(doc.as_bytes()) else {
            return self.next(t, dir, x, None, now);
        };
        let body = relay::readdress(
            &root,
            &Address {
                supplying: Some(&agency),
                requesting: None,
            },
            now,
        );
        let at = now.timestamp();
        t.send(
            &Owed {
                txn: x.id,
                dest: &dest,
                body: &body,
                what: "request",
                refused_means_next: true,
            },
            at,
            self.give_up_at(at),
        )?;
        self.event(t, x, &lender, EventKind::Sent, at)?;
        x.state = State::Asking;
        x.deadline = Some(at + self.config.answer_timeout_secs as i64);
        x.supplier_request_id = None;
        tracing::info!(txn = x.id, lender = %lender, position = x.pos + 1, "iso18626 request forwarded");
        Ok(())
    }

    /// Moves on from the current lender: the next one, or the end of the string.
    fn next(
        &self,
        t: &mut store::Tx<'_>,
        dir: &Directory,
        x: &mut Txn,
        last: Option<&Element>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if x.cancel_asked {
            return self.close_cancelled(t, dir, x, now);
        }
        x.pos += 1;
        if x.pos < x.lenders.len() {
            self.ask(t, dir, x, now)
        } else {
            self.close_unfilled(
                t,
                dir,
                x,
                last,
                "no lender in the string could supply it",
                now,
            )
        }
    }

    fn requester_ids(&self, x: &Txn) -> AgencyId {
        parse_agency(&x.requester_agency)
    }

    fn to_requester(
        &self,
        t: &mut store::Tx<'_>,
        dir: &Directory,
        x: &Txn,
        body: &str,
        what: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        match self.endpoint(dir, &x.requester) {
            Some(dest) => t.send(
                &Owed {
                    txn: x.id,
                    dest: &dest,
                    body,
                    what,
                    refused_means_next: false,
                },
                now,
                self.give_up_at(now),
            ),
            None => {
                tracing::warn!(txn = x.id, requester = %x.requester, "the requester has no ISO 18626 endpoint any more; message dropped");
                Ok(())
            }
        }
    }

    fn close_unfilled(
        &self,
        t: &mut store::Tx<'_>,
        dir: &Directory,
        x: &mut Txn,
        last: Option<&Element>,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let body = match last {
            // the last lender's own answer, readdressed: its reason and note reach the requester
            Some(root) => relay::readdress(
                root,
                &Address {
                    supplying: Some(&self.agency),
                    requesting: None,
                },
                now,
            ),
            None => self.broker_says(
                x,
                &Supplying {
                    reason: ReasonForMessage::RequestResponse,
                    status: Status::Unfilled,
                    answer_yes_no: None,
                    reason_unfilled: Some("NotAvailableForILL"),
                    note: Some(why),
                },
                now,
            ),
        };
        self.to_requester(t, dir, x, &body, "unfilled", now.timestamp())?;
        x.state = State::Closed;
        x.outcome = Some("unfilled".into());
        tracing::info!(txn = x.id, why, "iso18626 transaction unfilled");
        Ok(())
    }

    /// A supplier's message the broker itself writes to a transaction's requester.
    fn broker_says(&self, x: &Txn, m: &Supplying<'_>, now: DateTime<Utc>) -> String {
        let requester = self.requester_ids(x);
        relay::supplying_message(
            &Ids {
                supplying: &self.agency,
                requesting: &requester,
                request_id: &x.request_id,
                supplier_request_id: None,
            },
            m,
            now,
        )
    }

    fn close_cancelled(
        &self,
        t: &mut store::Tx<'_>,
        dir: &Directory,
        x: &mut Txn,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let body = self.broker_says(
            x,
            &Supplying {
                reason: ReasonForMessage::CancelResponse,
                status: Status::Cancelled,
                answer_yes_no: Some(true),
                reason_unfilled: None,
                note: None,
            },
            now,
        );
        self.to_requester(t, dir, x, &body, "cancelled", now.timestamp())?;
        x.state = State::Closed;
        x.outcome = Some("cancelled".into());
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn on_lender_message(
        &self,
        t: &mut store::Tx<'_>,
        dir: &Directory,
        mut x: Txn,
        root: &Element,
        s: &SupplyingAgencyMessage,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), BrokerError> {
        let at = now.timestamp();
        let kind = rota_iso18626::Kind::SupplyingAgencyMessage;
        let from = s
            .header
            .supplying_agency
            .as_ref()
            .and_then(|a| intake::symbol(dir, a))
            .ok_or_else(|| {
                refused(
                    kind,
                    ErrorType::UnrecognisedDataValue,
                    format!(
                        "header/supplyingAgencyId: {} is not a lender in rota's directory",
                        s.header
                            .supplying_agency
                            .as_ref()
                            .map(|a| a.to_string())
                            .unwrap_or_default()
                    ),
                )
            })?;
        if !t.first_time(x.id, &digest(body))? {
            return Ok(());
        }
        let ek = intake::supplying_event(s);
        if let Some(k) = ek {
            self.event(t, &x, &from, k, at)?;
        }
        if x.lender() != Some(from.as_str()) || x.state == State::Closed {
            // a lender the broker moved on from, or a transaction that is over: learned
            // from, not relayed
            tracing::info!(txn = x.id, lender = %from, status = s.status.as_str(), "iso18626 message from a lender no longer asked; not relayed");
            return Ok(());
        }
        if let Some(id) = &s.header.supplying_agency_request_id {
            x.supplier_request_id = Some(id.clone());
        }
        let relayed = || {
            relay::readdress(
                root,
                &Address {
                    supplying: Some(&self.agency),
                    requesting: None,
                },
                now,
            )
        };
        let cancel_answer = s.reason == ReasonForMessage::CancelResponse;
        match s.status {
            Status::Unfilled | Status::RetryPossible if !cancel_answer => {
                self.next(t, dir, &mut x, Some(root), now)?;
            }
            Status::Cancelled => {
                self.to_requester(t, dir, &x, &relayed(), "relay", at)?;
                x.state = State::Closed;
                x.outcome = Some("cancelled".into());
            }
            Status::CopyCompleted | Status::LoanCompleted | Status::CompletedWithoutReturn => {
                self.to_requester(t, dir, &x, &relayed(), "relay", at)?;
                x.state = State::Closed;
                x.outcome = Some("filled".into());
            }
            Status::RequestReceived => {
                // an acknowledgement, not an answer: the deadline still runs
                self.to_requester(t, dir, &x, &relayed(), "relay", at)?;
            }
            _ => {
                if cancel_answer && s.answer_yes_no == Some(true) {
                    x.state = State::Closed;
                    x.outcome = Some("cancelled".into());
                } else {
                    if cancel_answer {
                        x.cancel_asked = false;
                    }
                    x.state = State::Supplying;
                }
                self.to_requester(t, dir, &x, &relayed(), "relay", at)?;
            }
        }
        t.save(&x, at)?;
        Ok(())
    }

    fn on_requester_message(
        &self,
        t: &mut store::Tx<'_>,
        dir: &Directory,
        mut x: Txn,
        root: &Element,
        action: Action,
        now: DateTime<Utc>,
    ) -> Result<(), BrokerError> {
        let at = now.timestamp();
        if x.state == State::Closed {
            tracing::info!(
                txn = x.id,
                action = action.as_str(),
                "iso18626 message for a closed transaction; nothing to relay"
            );
            return Ok(());
        }
        let lender = x.lender().unwrap_or_default().to_string();
        if let Some(k) = match action {
            Action::Received => Some(EventKind::Received),
            Action::Cancel => Some(EventKind::Cancelled),
            _ => None,
        } {
            self.event(t, &x, &lender, k, at)?;
        }
        if action == Action::Cancel {
            x.cancel_asked = true;
        }
        if let (Some(dest), Some(agency)) = (self.endpoint(dir, &lender), agency_of(dir, &lender)) {
            let body = relay::readdress(
                root,
                &Address {
                    supplying: Some(&agency),
                    requesting: None,
                },
                now,
            );
            t.send(
                &Owed {
                    txn: x.id,
                    dest: &dest,
                    body: &body,
                    what: "relay",
                    refused_means_next: false,
                },
                at,
                self.give_up_at(at),
            )?;
        }
        t.save(&x, at)?;
        Ok(())
    }

    /// Moves on from a lender that did not answer in time (cancelling it there).
    pub fn expire(&self, app: &App, txn: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        let eng = app.engine.load();
        let dir = eng.directory();
        let mut store = self.store();
        store.atomically(|t| {
            let Some(mut x) = t.get(txn)? else {
                return Ok(());
            };
            if x.state != State::Asking || x.deadline.is_none_or(|d| d > now.timestamp()) {
                return Ok(());
            }
            let lender = x.lender().unwrap_or_default().to_string();
            self.event(t, &x, &lender, EventKind::Expired, now.timestamp())?;
            self.cancel_at(t, dir, &x, &lender, "no answer in time; the request has moved on", now)?;
            tracing::info!(txn = x.id, lender = %lender, "iso18626 lender did not answer in time; moving on");
            self.next(t, dir, &mut x, None, now)?;
            t.save(&x, now.timestamp())
        })?;
        drop(store);
        self.wake.notify_one();
        Ok(())
    }

    /// A lender refused the forwarded request (its confirmation said ERROR): move on.
    pub fn forward_refused(
        &self,
        app: &App,
        txn: i64,
        dest: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let eng = app.engine.load();
        let dir = eng.directory();
        let mut store = self.store();
        store.atomically(|t| {
            let Some(mut x) = t.get(txn)? else {
                return Ok(());
            };
            let lender = x.lender().unwrap_or_default().to_string();
            if x.state != State::Asking || self.endpoint(dir, &lender).as_deref() != Some(dest) {
                return Ok(());
            }
            self.next(t, dir, &mut x, None, now)?;
            t.save(&x, now.timestamp())
        })?;
        drop(store);
        self.wake.notify_one();
        Ok(())
    }

    fn cancel_at(
        &self,
        t: &mut store::Tx<'_>,
        dir: &Directory,
        x: &Txn,
        lender: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (Some(dest), Some(agency)) = (self.endpoint(dir, lender), agency_of(dir, lender))
        else {
            return Ok(());
        };
        let requester = self.requester_ids(x);
        let body = relay::requesting_message(
            &Ids {
                supplying: &agency,
                requesting: &requester,
                request_id: &x.request_id,
                supplier_request_id: x.supplier_request_id.as_deref(),
            },
            Action::Cancel,
            Some(note),
            now,
        );
        let at = now.timestamp();
        // whatever else it was owed is moot
        t.forget_owed(x.id, &dest)?;
        t.send(
            &Owed {
                txn: x.id,
                dest: &dest,
                body: &body,
                what: "cancel",
                refused_means_next: false,
            },
            at,
            self.give_up_at(at),
        )
    }
}

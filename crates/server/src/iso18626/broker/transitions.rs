//! The broker's transitions: what each answer, action and deadline does to a
//! transaction, inside the store transaction its message opened. The table in the module
//! above ([`super`]) says the same in prose.

use chrono::{DateTime, Utc};
use rota_iso18626::relay::{self, Address, Ids, Supplying};
use rota_iso18626::xml::Element;
use rota_iso18626::{
    Action, AgencyId, ErrorType, ReasonForMessage, Status, SupplyingAgencyMessage,
};
use rota_routing::{Directory, Event, EventKind, Service};

use super::store::{self, Owed, State, StoreError, Txn};
use super::{Broker, BrokerError, agency_of, digest, parse_agency, refused};
use crate::app::App;
use crate::iso18626::intake;

impl Broker {
    pub(super) fn event(
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

    pub(super) fn give_up_at(&self, now: i64) -> i64 {
        now + 2 * (self.config.answer_timeout_secs as i64).max(86_400)
    }

    /// Forwards the request to the lender at `x.pos`.
    pub(super) fn ask(
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
    pub(super) fn next(
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

    pub(super) fn requester_ids(&self, x: &Txn) -> AgencyId {
        parse_agency(&x.requester_agency)
    }

    pub(super) fn to_requester(
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

    pub(super) fn close_unfilled(
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
    pub(super) fn broker_says(&self, x: &Txn, m: &Supplying<'_>, now: DateTime<Utc>) -> String {
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

    pub(super) fn close_cancelled(
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
    pub(super) fn on_lender_message(
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

    pub(super) fn on_requester_message(
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

    pub(super) fn cancel_at(
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

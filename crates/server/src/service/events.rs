//! `rota.v1.Events`: lifecycle events, made durable before they are acknowledged.

use std::time::Instant;

use futures::StreamExt;
use rota_proto::v1 as pb;
use rota_routing::{Answer, Event, EventError, EventKind, Service, ServiceType};
use tonic::{Request as GReq, Response, Status, Streaming};

use super::status::{event_status, log_status};
use super::{Principal, Shared, may_act_for, now, observe, principal};
use crate::app::App;
use crate::convert;
use crate::log::LogRecord;

/// `rota.v1.Events`.
#[derive(Clone)]
pub struct EventsSvc(pub Shared);

fn to_event(app: &App, p: &Principal, e: &pb::LenderEvent) -> Result<Event, Status> {
    use pb::EventKind as K;
    may_act_for(p, &e.borrower)?;
    let kind = match K::try_from(e.kind) {
        Ok(K::Sent) => EventKind::Sent,
        Ok(K::WillSupply) => EventKind::WillSupply,
        Ok(K::Loaned) => EventKind::Loaned,
        Ok(K::CopyCompleted) => EventKind::CopyCompleted,
        Ok(K::Unfilled) => match convert::answer_from_wire(e.reason, "reason")? {
            Answer::Unfilled(r) => EventKind::Unfilled(r),
            _ => {
                return Err(Status::invalid_argument(
                    "reason: UNFILLED needs a ReasonUnfilled (NOT_HELD … POOR_CONDITION)",
                ));
            }
        },
        Ok(K::RetryPossible) => match convert::answer_from_wire(e.reason, "reason")? {
            Answer::Retry(r) => EventKind::RetryPossible(r),
            _ => {
                return Err(Status::invalid_argument(
                    "reason: RETRY_POSSIBLE needs a ReasonRetry (ON_LOAN, …)",
                ));
            }
        },
        Ok(K::Received) => EventKind::Received,
        Ok(K::Returned) => EventKind::Returned,
        Ok(K::Cancelled) => EventKind::Cancelled,
        Ok(K::Expired) => EventKind::Expired,
        Ok(K::Unspecified) => return Err(Status::invalid_argument("kind: required")),
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "kind: unknown value {}",
                e.kind
            )));
        }
    };
    let svc = match convert::service_type_from_wire(e.service_type, "service_type")? {
        ServiceType::Copy => Service::Copy,
        _ => Service::Loan,
    };
    let ev = Event {
        at: if e.at == 0 { now() } else { e.at },
        request_id: e.request_id.clone(),
        borrower: e.borrower.clone(),
        lender: e.lender.clone(),
        cluster: e.has_cluster.then_some(e.cluster),
        service: svc,
        kind,
    };
    // validate before logging: an event that cannot apply must not be made durable
    let eng = app.engine.load();
    if ev.request_id.is_empty() {
        return Err(event_status(&EventError::EmptyRequestId));
    }
    if eng.directory().index(&ev.lender).is_none() {
        return Err(event_status(&EventError::UnknownLender(ev.lender.clone())));
    }
    if eng.directory().index(&ev.borrower).is_none() {
        return Err(event_status(&EventError::UnknownBorrower(
            ev.borrower.clone(),
        )));
    }
    if let Some(c) = ev.cluster
        && c >= eng.catalog().clusters()
    {
        return Err(Status::invalid_argument(format!(
            "cluster: {c} does not exist"
        )));
    }
    Ok(ev)
}

#[tonic::async_trait]
impl pb::events_server::Events for EventsSvc {
    async fn report(
        &self,
        req: GReq<Streaming<pb::LenderEvent>>,
    ) -> Result<Response<pb::ReportSummary>, Status> {
        let t = Instant::now();
        let r = async {
            let app = self.0.app()?;
            let p = principal(&req)?;
            let mut input = req.into_inner();
            let mut accepted = 0u64;
            let mut last = 0u64;
            // keep many appends in flight so they share fsyncs (group commit)
            let mut pending = futures::stream::FuturesOrdered::new();
            loop {
                tokio::select! {
                    item = input.next(), if pending.len() < 4096 => {
                        let Some(item) = item else { break };
                        let ev = to_event(&app, &p, &item?)?;
                        accepted += 1;
                        if accepted > self.0.max_stream_items {
                            return Err(Status::resource_exhausted("too many events on one stream; open another"));
                        }
                        // queued in stream order; durability is awaited concurrently
                        let receipt = app.log.submit(LogRecord::Event(ev)).await.map_err(|e| log_status(&e))?;
                        pending.push_back(receipt.durable());
                    }
                    Some(done) = pending.next(), if !pending.is_empty() => {
                        last = done.map_err(|e| log_status(&e))?;
                    }
                }
            }
            while let Some(done) = pending.next().await {
                last = done.map_err(|e| log_status(&e))?;
            }
            Ok(Response::new(pb::ReportSummary { accepted, last_sequence: last }))
        }
        .await;
        observe("Report", t, &r);
        r
    }

    async fn report_one(
        &self,
        req: GReq<pb::LenderEvent>,
    ) -> Result<Response<pb::ReportAck>, Status> {
        let t = Instant::now();
        let r = async {
            let _permit = self.0.permit()?;
            let app = self.0.app()?;
            let p = principal(&req)?;
            let ev = to_event(&app, &p, req.get_ref())?;
            let seq = app
                .log
                .append(LogRecord::Event(ev))
                .await
                .map_err(|e| log_status(&e))?;
            Ok(Response::new(pb::ReportAck { sequence: seq }))
        }
        .await;
        observe("ReportOne", t, &r);
        r
    }
}

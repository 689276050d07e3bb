//! `rota.v1.Events`: lifecycle events, made durable before they are acknowledged.

use futures::StreamExt;
use rota_proto::v1 as pb;
use rota_routing::{Event, EventError};
use tonic::{Request as GReq, Response, Status, Streaming};

use super::status::{event_status, log_status, oversize};
use super::{Principal, Shared, may_act_for, now, principal};
use crate::app::App;
use crate::convert;
use crate::log::LogRecord;

/// `rota.v1.Events`.
#[derive(Clone)]
pub struct EventsSvc(pub Shared);

fn to_event(app: &App, p: &Principal, e: &pb::LenderEvent) -> Result<Event, Status> {
    let ev = convert::event_from_wire(e, now())?;
    may_act_for(p, &ev.borrower)?;
    // checked before logging: an event that cannot apply must not be made durable
    let eng = app.engine.load();
    ev.check(eng.directory()).map_err(|e| event_status(&e))?;
    if let Some(c) = ev.cluster
        && c.get() >= eng.catalog().clusters()
    {
        return Err(event_status(&EventError::UnknownCluster(c)));
    }
    Ok(ev)
}

/// Metadata key of a refused `Report`: how many events from the start of the stream were
/// recorded (the caller resends from the next one).
pub const RECORDED_KEY: &str = "rota-recorded";

/// What a `Report` stream has recorded so far, in stream order.
#[derive(Default)]
struct Tally {
    /// Events recorded.
    recorded: u64,
    /// Events from the start of the stream recorded without a gap.
    prefix: u64,
    /// Whether an event failed to record (after it, the prefix stops growing).
    gap: bool,
    /// Sequence of the last recorded event.
    last: u64,
}

impl Tally {
    fn done(&mut self, r: Result<u64, crate::log::LogError>) -> Result<(), Status> {
        match r {
            Ok(seq) => {
                self.recorded += 1;
                if !self.gap {
                    self.prefix += 1;
                }
                self.last = seq;
                Ok(())
            }
            Err(e) => {
                self.gap = true;
                Err(log_status(&e))
            }
        }
    }

    /// The refusal of a stream, saying which of its events were recorded.
    fn refusal(&self, s: Status) -> Status {
        let said = if self.recorded == self.prefix {
            format!(
                "{}; the first {} events of this stream were recorded, the rest were not: resend from event {}",
                s.message(),
                self.prefix,
                self.prefix + 1
            )
        } else {
            format!(
                "{}; the first {} events of this stream were recorded, and {} more after a failed one",
                s.message(),
                self.prefix,
                self.recorded - self.prefix
            )
        };
        let mut out = Status::new(s.code(), said);
        out.metadata_mut().insert(
            RECORDED_KEY,
            self.prefix.to_string().parse().expect("digits"),
        );
        out
    }
}

impl EventsSvc {
    /// Records a `Report` stream's events in stream order as they arrive, many appends in
    /// flight so they share fsyncs (group commit). On the first bad event or failed append
    /// nothing more is read or submitted, and what was already submitted is waited for, so
    /// `tally` tells the caller exactly which events were kept.
    async fn report_into(
        &self,
        app: &App,
        p: &Principal,
        mut input: Streaming<pb::LenderEvent>,
        tally: &mut Tally,
    ) -> Result<(), Status> {
        let mut pending = futures::stream::FuturesOrdered::new();
        let mut n = 0u64;
        let mut failed: Option<Status> = None;
        loop {
            tokio::select! {
                item = input.next(), if pending.len() < 4096 => {
                    let Some(item) = item else { break };
                    n += 1;
                    let submitted = async {
                        let item = item.map_err(oversize)?;
                        if n > self.0.max_stream_items {
                            return Err(Status::resource_exhausted(format!(
                                "a Report stream carries at most {} events; open another",
                                self.0.max_stream_items
                            )));
                        }
                        let ev = to_event(app, p, &item)
                            .map_err(|s| Status::new(s.code(), format!("event {n}: {}", s.message())))?;
                        // queued in stream order; durability is awaited concurrently
                        app.log.submit(LogRecord::Event(ev)).await.map_err(|e| log_status(&e))
                    }
                    .await;
                    match submitted {
                        Ok(receipt) => pending.push_back(receipt.durable()),
                        Err(s) => {
                            failed = Some(s);
                            break;
                        }
                    }
                }
                Some(done) = pending.next(), if !pending.is_empty() => {
                    if let Err(s) = tally.done(done) {
                        failed = Some(s);
                        break;
                    }
                }
            }
        }
        while let Some(done) = pending.next().await {
            if let Err(s) = tally.done(done) {
                failed.get_or_insert(s);
            }
        }
        failed.map_or(Ok(()), Err)
    }
}

#[tonic::async_trait]
impl pb::events_server::Events for EventsSvc {
    async fn report(
        &self,
        req: GReq<Streaming<pb::LenderEvent>>,
    ) -> Result<Response<pb::ReportSummary>, Status> {
        async {
            let app = self.0.app()?;
            let p = principal(&req)?;
            let input = req.into_inner();
            let mut tally = Tally::default();
            match self.report_into(&app, &p, input, &mut tally).await {
                Ok(()) => Ok(Response::new(pb::ReportSummary {
                    accepted: tally.recorded,
                    last_sequence: tally.last,
                })),
                Err(s) => Err(tally.refusal(s)),
            }
        }
        .await
    }

    async fn report_one(
        &self,
        req: GReq<pb::LenderEvent>,
    ) -> Result<Response<pb::ReportAck>, Status> {
        async {
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
        .await
    }
}

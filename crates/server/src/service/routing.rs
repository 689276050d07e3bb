//! `rota.v1.Routing`: one request, its lenders as a stream, and batches of requests.

use std::collections::HashSet;

use futures::StreamExt;
use rota_proto::v1 as pb;
use tonic::{Request as GReq, Response, Status, Streaming};

use super::status::route_status;
use super::{BoxStream, Principal, Shared, may_act_for, now, principal};
use crate::app::App;
use crate::convert;

/// `rota.v1.Routing`.
#[derive(Clone)]
pub struct RoutingSvc(pub Shared);

#[tonic::async_trait]
impl pb::routing_server::Routing for RoutingSvc {
    async fn route(
        &self,
        req: GReq<pb::RouteRequest>,
    ) -> Result<Response<pb::RouteResponse>, Status> {
        self.route_on_a_core(req).await.map(Response::new)
    }

    type RouteStreamStream = BoxStream<pb::RankedLender>;

    async fn route_stream(
        &self,
        req: GReq<pb::RouteRequest>,
    ) -> Result<Response<Self::RouteStreamStream>, Status> {
        let resp = self.route_on_a_core(req).await?;
        let items: Vec<Result<pb::RankedLender, Status>> =
            resp.lenders.into_iter().map(Ok).collect();
        Ok(Response::new(Box::pin(futures::stream::iter(items))))
    }

    type RouteBatchStream = BoxStream<pb::RouteResponse>;

    async fn route_batch(
        &self,
        req: GReq<Streaming<pb::RouteRequest>>,
    ) -> Result<Response<Self::RouteBatchStream>, Status> {
        let app = self.0.app()?;
        let p = principal(&req)?;
        let max_items = self.0.max_stream_items;
        let cores = self.0.cores.clone();
        let mut input = req.into_inner();
        // bounded: a slow reader stops us reading more requests (backpressure, no growth)
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<pb::RouteResponse, Status>>(256);
        tokio::spawn(async move {
            use futures::FutureExt;
            let mut seen: HashSet<String> = HashSet::new();
            let mut n = 0u64;
            loop {
                // take what has already arrived (up to a chunk) and route it on all cores
                let Some(first) = input.next().await else {
                    return;
                };
                let mut chunk = vec![first];
                while chunk.len() < 512 {
                    match input.next().now_or_never() {
                        Some(Some(x)) => chunk.push(x),
                        _ => break,
                    }
                }
                let mut reqs: Vec<(pb::RouteRequest, bool)> = Vec::with_capacity(chunk.len());
                for item in chunk {
                    let r = match item {
                        Ok(r) => r,
                        Err(s) => {
                            let _ = tx.send(Err(super::status::oversize(s))).await;
                            return;
                        }
                    };
                    n += 1;
                    if n > max_items {
                        let _ = tx
                            .send(Err(Status::resource_exhausted(format!(
                                "a RouteBatch stream carries at most {max_items} requests; open another"
                            ))))
                            .await;
                        return;
                    }
                    let dup = !r.request_id.is_empty() && !seen.insert(r.request_id.clone());
                    reqs.push((r, dup));
                }
                // in pieces, each on a core when one is free: a batch uses every idle
                // core, and an interactive call waits for at most one piece, not a chunk
                let pieces = reqs.chunks(BATCH_PIECE).map(|piece| {
                    let (app, p, piece) = (app.clone(), p.clone(), piece.to_vec());
                    cores.run_queued(move || {
                        piece
                            .into_iter()
                            .map(|(r, dup)| batch_item(&app, &p, &r, dup))
                            .collect::<Vec<_>>()
                    })
                });
                let mut routed = Vec::with_capacity(reqs.len());
                for piece in futures::future::join_all(pieces).await {
                    match piece {
                        Ok(v) => routed.extend(v),
                        Err(s) => {
                            let _ = tx.send(Err(s)).await;
                            return;
                        }
                    }
                }
                for msg in routed {
                    if tx.send(Ok(msg)).await.is_err() {
                        return; // client went away
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

impl RoutingSvc {
    /// One request routed: inline if an identifier finds it, else (a title search, up to
    /// milliseconds) on a core (see [`crate::cores::Cores`]).
    async fn route_on_a_core(
        &self,
        req: GReq<pb::RouteRequest>,
    ) -> Result<pb::RouteResponse, Status> {
        let app = self.0.app()?;
        let p = principal(&req)?;
        if !convert::searches_text(req.get_ref().citation.as_ref()) {
            // an identifier lookup and a ranking: microseconds, cheaper to do here than to
            // hand to another thread (see `Cores`)
            return route_one(&app, &p, req.get_ref());
        }
        let r = req.into_inner();
        self.0.cores.run(move || route_one(&app, &p, &r)).await?
    }
}

/// Requests of a batch routed on one core before it is given back (tens of
/// microseconds each by identifier, milliseconds by title).
const BATCH_PIECE: usize = 32;

/// One batch item's answer: an error is the item's, not the stream's.
fn batch_item(app: &App, p: &Principal, r: &pb::RouteRequest, dup: bool) -> pb::RouteResponse {
    let out = if dup {
        Err(Status::invalid_argument(format!(
            "request_id: {:?} appears twice in this batch",
            r.request_id
        )))
    } else {
        route_one(app, p, r)
    };
    let code = out.as_ref().map_or_else(|s| s.code(), |_| tonic::Code::Ok);
    metrics::counter!(crate::telemetry::BATCH_ITEMS, "code" => super::status::code_name(code))
        .increment(1);
    out.unwrap_or_else(|s| pb::RouteResponse {
        request_id: r.request_id.clone(),
        error: Some(pb::RouteError {
            code: super::status::code_name(s.code()).to_string(),
            message: s.message().to_string(),
        }),
        ..Default::default()
    })
}

/// Routes one request for a caller: the wire request checked and converted, the borrower
/// checked against the caller's token, the answer converted back.
fn route_one(app: &App, p: &Principal, r: &pb::RouteRequest) -> Result<pb::RouteResponse, Status> {
    let req = convert::request_from_wire(r, now())?;
    may_act_for(p, &req.borrower)?;
    let eng = app.engine.load();
    let live = app.live.read().unwrap_or_else(|e| e.into_inner());
    let s = eng.route(&live, &req).map_err(|e| route_status(&e))?;
    drop(live);
    let resp = convert::response_to_wire(s, eng.catalog());
    if let Some(h) = &app.history {
        use prost::Message as _;
        h.routed(crate::history::Routed {
            at: now(),
            who: p.name.clone(),
            borrower: req.borrower.to_string(),
            request_id: r.request_id.clone(),
            request: r.encode_to_vec(),
            response: resp.encode_to_vec(),
        });
    }
    Ok(resp)
}

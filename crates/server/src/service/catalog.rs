//! `rota.v1.Catalog`: lookups, statistics, holdings changes and reloads.

use futures::StreamExt;
use rota_catalog::{Citation, DeltaOp, LookupOptions};
use rota_proto::v1 as pb;
use tonic::{Request as GReq, Response, Status, Streaming};

use super::status::{log_status, lookup_status, reload_status};
use super::{Shared, principal, require};
use crate::app::App;
use crate::config::Role;
use crate::convert;
use crate::log::LogRecord;

/// Most candidates a lookup returns.
const MAX_LOOKUP_LIMIT: u32 = 100;
/// Most copies a holdings change may state.
const MAX_COPIES_GIVEN: u32 = 10_000;

/// `rota.v1.Catalog`.
#[derive(Clone)]
pub struct CatalogSvc(pub Shared);

/// Longest snapshot path a Reload takes (Linux's PATH_MAX).
const MAX_PATH: usize = 4096;

impl CatalogSvc {
    async fn holdings(
        &self,
        req: GReq<Streaming<pb::HoldingChange>>,
        upsert: bool,
    ) -> Result<Response<pb::HoldingsSummary>, Status> {
        let app = self.0.app()?;
        let p = principal(&req)?;
        require(&p, Role::Admin)?;
        let mut input = req.into_inner();
        let mut ops: Vec<DeltaOp> = Vec::new();
        let mut applied = 0u64;
        let mut n = 0u64;
        while let Some(item) = input.next().await {
            let h = item.map_err(super::status::oversize)?;
            n += 1;
            if n > self.0.max_stream_items {
                return Err(Status::resource_exhausted(
                    "too many holdings changes on one stream",
                ));
            }
            let field = |r: Result<(), rota_catalog::field::FieldError>| {
                r.map_err(|e| Status::invalid_argument(format!("change {n}: {e}")))
            };
            field(rota_catalog::field::symbol("symbol", &h.symbol))?;
            // 0 is the proto's "unset": one copy
            field(rota_catalog::field::range(
                "copies",
                h.copies,
                0,
                MAX_COPIES_GIVEN,
            ))?;
            let eng = app.engine.load();
            let cluster = if h.has_cluster {
                if h.cluster >= eng.catalog().clusters() {
                    return Err(Status::not_found(format!(
                        "change {n}: cluster {} does not exist",
                        h.cluster
                    )));
                }
                rota_catalog::ClusterId::new(h.cluster)
            } else {
                let c = convert::citation_from_wire(h.citation.as_ref()).map_err(|s| {
                    Status::invalid_argument(format!("change {n}: {}", s.message()))
                })?;
                let c = Citation {
                    title: None,
                    author: None,
                    year: None,
                    ..c
                };
                let m = eng
                    .catalog()
                    .lookup(&c, LookupOptions::default())
                    .map_err(|e| lookup_status(&e))?;
                match m.as_slice() {
                    [one] => one.cluster,
                    [] => {
                        return Err(Status::not_found(format!(
                            "change {n}: no cluster has that identifier"
                        )));
                    }
                    _ => {
                        return Err(Status::invalid_argument(format!(
                            "change {n}: identifier matches several clusters; give cluster"
                        )));
                    }
                }
            };
            if !upsert && eng.catalog().library_id(&h.symbol).is_none() {
                return Err(Status::not_found(format!(
                    "change {n}: library {:?} is not in the catalogue",
                    h.symbol
                )));
            }
            ops.push(if upsert {
                DeltaOp::Upsert {
                    cluster,
                    symbol: h.symbol.clone(),
                    // the index keeps "one" or "several" (up to MAX_COPIES); more saturate
                    copies: u8::try_from(h.copies.max(1)).unwrap_or(u8::MAX),
                    lendable: h.lendable,
                    copy_only: false,
                    format: None,
                }
            } else {
                DeltaOp::Withdraw {
                    cluster,
                    symbol: h.symbol.clone(),
                }
            });
            if ops.len() >= 10_000 {
                applied += ops.len() as u64;
                let batch = std::mem::take(&mut ops);
                app.log
                    .append(LogRecord::Holdings {
                        who: p.name.clone(),
                        ops: batch,
                    })
                    .await
                    .map_err(|e| log_status(&e))?;
            }
        }
        if !ops.is_empty() {
            applied += ops.len() as u64;
            app.log
                .append(LogRecord::Holdings {
                    who: p.name.clone(),
                    ops,
                })
                .await
                .map_err(|e| log_status(&e))?;
        }
        let delta = app.engine.load().catalog().delta_len() as u64;
        Ok(Response::new(pb::HoldingsSummary {
            applied,
            delta_clusters: delta,
        }))
    }
}

#[tonic::async_trait]
impl pb::catalog_server::Catalog for CatalogSvc {
    async fn lookup(
        &self,
        req: GReq<pb::LookupRequest>,
    ) -> Result<Response<pb::LookupResponse>, Status> {
        let app = self.0.app()?;
        principal(&req)?;
        if !convert::searches_text(req.get_ref().citation.as_ref()) {
            // an identifier lookup: microseconds, cheaper here than on another thread
            return lookup_one(&app, req.get_ref()).map(Response::new);
        }
        // a title search, up to milliseconds: on a core, shed if none is free in time
        let r = req.into_inner();
        self.0
            .cores
            .run(move || lookup_one(&app, &r))
            .await?
            .map(Response::new)
    }

    async fn stats(
        &self,
        req: GReq<pb::StatsRequest>,
    ) -> Result<Response<pb::StatsResponse>, Status> {
        let app = self.0.app()?;
        principal(&req)?;
        let eng = app.engine.load();
        let cat = eng.catalog();
        let applied = app.live.read().unwrap_or_else(|e| e.into_inner()).applied();
        Ok(Response::new(pb::StatsResponse {
            clusters: u64::from(cat.clusters()),
            holdings: cat.meta().holdings,
            libraries: cat.libraries().len() as u64,
            lenders: eng.directory().len() as u64,
            snapshot_bytes: cat.size_bytes() as u64,
            delta_clusters: cat.delta_len() as u64,
            events_applied: applied,
            source: cat.meta().source.clone(),
        }))
    }

    async fn upsert_holdings(
        &self,
        req: GReq<Streaming<pb::HoldingChange>>,
    ) -> Result<Response<pb::HoldingsSummary>, Status> {
        self.holdings(req, true).await
    }

    async fn withdraw_holdings(
        &self,
        req: GReq<Streaming<pb::HoldingChange>>,
    ) -> Result<Response<pb::HoldingsSummary>, Status> {
        self.holdings(req, false).await
    }

    async fn reload(
        &self,
        req: GReq<pb::ReloadRequest>,
    ) -> Result<Response<pb::ReloadResponse>, Status> {
        let app = self.0.app()?;
        let p = principal(&req)?;
        require(&p, Role::Admin)?;
        rota_catalog::field::text("path", &req.get_ref().path, MAX_PATH)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let path = convert::opt(&req.get_ref().path)
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| app.snapshot_path.clone());
        let (c, h) = app.reload(path).await.map_err(|e| reload_status(&e))?;
        tracing::info!(who = %p.name, clusters = c, holdings = h, "catalogue reloaded");
        Ok(Response::new(pb::ReloadResponse {
            clusters: c,
            holdings: h,
        }))
    }
}

/// Resolves one lookup: its options checked, the citation matched, the answer converted.
fn lookup_one(app: &App, r: &pb::LookupRequest) -> Result<pb::LookupResponse, Status> {
    // 0 is the proto's "unset"
    let limit = match r.limit {
        0 => 10,
        n @ 1..=MAX_LOOKUP_LIMIT => n as usize,
        n => {
            return Err(Status::invalid_argument(format!(
                "limit: {n} is not between 1 and {MAX_LOOKUP_LIMIT}"
            )));
        }
    };
    if let Some(m) = r.min_confidence
        && !(0.0..=1.0).contains(&m)
    {
        return Err(Status::invalid_argument(format!(
            "min_confidence: {m} is not between 0 and 1"
        )));
    }
    let eng = app.engine.load();
    let cat = eng.catalog();
    let res = cat
        .resolve(
            &convert::citation_from_wire(r.citation.as_ref())?,
            LookupOptions {
                limit,
                min_confidence: r
                    .min_confidence
                    .unwrap_or(rota_catalog::lookup::DEFAULT_MIN_CONFIDENCE),
                require_identifier: r.require_identifier,
            },
        )
        .map_err(|e| lookup_status(&e))?;
    Ok(convert::lookup_to_wire(&res, cat))
}

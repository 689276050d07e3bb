//! `rota.v1.Admin`: weight profiles and lender entries (versioned), and simulations.

use std::time::Instant;

use rota_proto::v1 as pb;
use tonic::{Request as GReq, Response, Status};

use super::status::change_status;
use super::{Shared, caller_timeout, principal, require};
use crate::config::Role;
use crate::convert;
use crate::whatif::SimSlot;

/// `rota.v1.Admin`.
#[derive(Clone)]
pub struct AdminSvc(pub Shared);

/// The Admin Simulate RPC's bounds (see the proto).
const SIM_MAX_SECONDS: u32 = 120;
const SIM_MAX_LIBRARIES: usize = 1_000;
const SIM_MAX_RECORDS: usize = 500_000;
const SIM_MAX_REQUESTS: f64 = 200_000.0;
const SIM_MAX_STRATEGIES: usize = 12;
const SIM_MAX_PROFILES: usize = 4;

/// Longest TOML problem quoted back to a caller (a scenario has twenty-odd fields, and
/// toml's message for an unknown one lists them all).
const MAX_TOML_PROBLEM: usize = 240;

/// A TOML error as one bounded line: where, and what (without the quoted source).
fn toml_problem(field: &str, text: &str, e: &toml::de::Error) -> String {
    let line = e.span().map(|s| {
        text.as_bytes()[..s.start.min(text.len())]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    });
    let msg = e.message().trim();
    let msg = match msg.char_indices().nth(MAX_TOML_PROBLEM) {
        Some((i, _)) => format!("{}…", &msg[..i]),
        None => msg.to_string(),
    };
    match line {
        Some(l) => format!("{field}: line {l}: {msg}"),
        None => format!("{field}: {msg}"),
    }
}

/// The scenario and profiles of a Simulate request, checked against the bounds.
fn sim_input(
    r: &pb::SimulateRequest,
) -> Result<(rota_sim::Scenario, Vec<rota_routing::Profile>), Status> {
    let bad = |m: String| Status::invalid_argument(m);
    let s: rota_sim::Scenario = if r.scenario_toml.trim().is_empty() {
        rota_sim::Scenario::default()
    } else {
        toml::from_str(&r.scenario_toml)
            .map_err(|e| bad(toml_problem("scenario_toml", &r.scenario_toml, &e)))?
    };
    if s.imls.is_some() {
        return Err(bad(
            "scenario_toml: imls names a server-side file; not accepted over RPC".into(),
        ));
    }
    if s.strategies.iter().any(|x| x.starts_with("profile:")) {
        return Err(bad(
            "scenario_toml: profile:FILE strategies read server-side files; pass profiles in profiles_toml".into(),
        ));
    }
    if s.libraries > SIM_MAX_LIBRARIES {
        return Err(bad(format!(
            "scenario_toml: libraries {} is above {SIM_MAX_LIBRARIES}",
            s.libraries
        )));
    }
    if s.records > SIM_MAX_RECORDS {
        return Err(bad(format!(
            "scenario_toml: records {} is above {SIM_MAX_RECORDS}",
            s.records
        )));
    }
    let requests = f64::from(s.days) * s.requests_per_day;
    if requests.is_nan() || requests > SIM_MAX_REQUESTS {
        return Err(bad(format!(
            "scenario_toml: days × requests_per_day = {requests:.0} is above {SIM_MAX_REQUESTS:.0}"
        )));
    }
    if s.strategies.len() + r.profiles_toml.len() > SIM_MAX_STRATEGIES {
        return Err(bad(format!(
            "at most {SIM_MAX_STRATEGIES} strategies and profiles together"
        )));
    }
    if r.profiles_toml.len() > SIM_MAX_PROFILES {
        return Err(bad(format!(
            "profiles_toml: at most {SIM_MAX_PROFILES} profiles"
        )));
    }
    let profiles = r
        .profiles_toml
        .iter()
        .enumerate()
        .map(|(i, t)| {
            rota_routing::Profile::parse(t, false)
                .map_err(|e| bad(format!("profiles_toml[{i}]: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((s, profiles))
}

#[tonic::async_trait]
impl pb::admin_server::Admin for AdminSvc {
    async fn simulate(
        &self,
        req: GReq<pb::SimulateRequest>,
    ) -> Result<Response<pb::SimulateResponse>, Status> {
        let t = Instant::now();
        let r = async {
            self.0.app()?;
            require(&principal(&req)?, Role::Ops)?;
            let (scenario, profiles) = sim_input(req.get_ref())?;
            let secs = match req.get_ref().time_limit_seconds {
                0 => SIM_MAX_SECONDS,
                n => n.min(SIM_MAX_SECONDS),
            };
            // the caller's deadline, if sooner, stops the run (it runs off the handler)
            let limit = std::time::Duration::from_secs(u64::from(secs))
                .min(caller_timeout(&req)?.unwrap_or(std::time::Duration::MAX));
            let slot = SimSlot::take().ok_or_else(|| {
                Status::resource_exhausted("a simulation is already running; retry when it ends")
            })?;
            tracing::info!(
                libraries = scenario.libraries,
                records = scenario.records,
                days = scenario.days,
                limit_s = secs,
                "simulation started"
            );
            let out = tokio::task::spawn_blocking(move || {
                let _slot = slot;
                rota_sim::simulate_with(&scenario, profiles, Some(limit))
            })
            .await
            .map_err(|_| Status::internal("the simulation task failed"))?;
            match out {
                Ok(rep) => Ok(pb::SimulateResponse {
                    report_markdown: rep.markdown(),
                    report_json: serde_json::to_string_pretty(&rep)
                        .map_err(|e| Status::internal(format!("report: {e}")))?,
                    time_to_fill_svg: rep.svg_time_to_fill(),
                    load_svg: rep.svg_load(),
                    seconds: t.elapsed().as_secs_f64(),
                }),
                Err(e @ rota_sim::SimError::Deadline(_)) => {
                    Err(Status::deadline_exceeded(e.to_string()))
                }
                Err(e) => Err(Status::invalid_argument(e.to_string())),
            }
        }
        .await;
        r.map(Response::new)
    }

    async fn get_profile(
        &self,
        req: GReq<pb::GetProfileRequest>,
    ) -> Result<Response<pb::WeightProfile>, Status> {
        let app = self.0.app()?;
        require(&principal(&req)?, Role::Ops)?;
        let eng = app.engine.load();
        let name = &req.get_ref().name;
        rota_catalog::field::symbol("name", name)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let p = eng
            .profile(name)
            .ok_or_else(|| Status::not_found(format!("profile {name:?} does not exist")))?;
        let v = app
            .versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .profiles
            .get(name)
            .copied()
            .unwrap_or(0);
        Ok(Response::new(convert::profile_to_wire(p, v)))
    }

    async fn put_profile(
        &self,
        req: GReq<pb::WeightProfile>,
    ) -> Result<Response<pb::PutResponse>, Status> {
        async {
            let app = self.0.app()?;
            let who = principal(&req)?;
            require(&who, Role::Ops)?;
            let w = req.get_ref();
            if w.name.trim().is_empty() {
                return Err(Status::invalid_argument("name: required"));
            }
            let eng = app.engine.load();
            let p = convert::profile_from_wire(w, eng.profile(&w.name))?;
            let done = app
                .put_profile(&who.name, p, w.version, "")
                .await
                .map_err(|e| change_status(&e))?;
            Ok(Response::new(pb::PutResponse {
                version: done.version,
                sequence: done.sequence,
            }))
        }
        .await
    }

    async fn list_profiles(
        &self,
        req: GReq<pb::ListProfilesRequest>,
    ) -> Result<Response<pb::ListProfilesResponse>, Status> {
        let app = self.0.app()?;
        require(&principal(&req)?, Role::Ops)?;
        let eng = app.engine.load();
        let v = app
            .versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Ok(Response::new(pb::ListProfilesResponse {
            profiles: eng
                .profiles()
                .into_iter()
                .map(|p| convert::profile_to_wire(p, v.profiles.get(&p.name).copied().unwrap_or(0)))
                .collect(),
        }))
    }

    async fn get_lender(
        &self,
        req: GReq<pb::GetLenderRequest>,
    ) -> Result<Response<pb::LenderEntry>, Status> {
        let app = self.0.app()?;
        require(&principal(&req)?, Role::Ops)?;
        let eng = app.engine.load();
        let sym = &req.get_ref().symbol;
        rota_catalog::field::symbol("symbol", sym)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let i = eng
            .directory()
            .index(sym)
            .ok_or_else(|| Status::not_found(format!("lender {sym:?} does not exist")))?;
        let v = app
            .versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lenders
            .get(sym)
            .copied()
            .unwrap_or(0);
        Ok(Response::new(pb::LenderEntry {
            symbol: sym.clone(),
            entry_json: lender_json(eng.directory().get(i))?,
            version: v,
        }))
    }

    async fn put_lender(
        &self,
        req: GReq<pb::LenderEntry>,
    ) -> Result<Response<pb::PutResponse>, Status> {
        async {
            let app = self.0.app()?;
            let who = principal(&req)?;
            require(&who, Role::Ops)?;
            let e = req.get_ref();
            let lender: rota_routing::Lender = serde_json::from_str(&e.entry_json)
                .map_err(|err| Status::invalid_argument(format!("entry_json: {err}")))?;
            if lender.symbol != e.symbol {
                return Err(Status::invalid_argument(
                    "entry_json.symbol: differs from symbol",
                ));
            }
            let done = app
                .put_lender(&who.name, lender, e.version, "")
                .await
                .map_err(|e| change_status(&e))?;
            Ok(Response::new(pb::PutResponse {
                version: done.version,
                sequence: done.sequence,
            }))
        }
        .await
    }

    async fn list_lenders(
        &self,
        req: GReq<pb::ListLendersRequest>,
    ) -> Result<Response<pb::ListLendersResponse>, Status> {
        let app = self.0.app()?;
        require(&principal(&req)?, Role::Ops)?;
        let r = req.get_ref();
        let size = if r.page_size == 0 {
            100
        } else {
            r.page_size.min(1000)
        } as usize;
        let eng = app.engine.load();
        let v = app
            .versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let all = eng.directory().lenders();
        Ok(Response::new(pb::ListLendersResponse {
            lenders: all
                .iter()
                .skip(r.offset as usize)
                .take(size)
                .map(|l| {
                    Ok(pb::LenderEntry {
                        symbol: l.symbol.clone(),
                        entry_json: lender_json(l)?,
                        version: v.lenders.get(&l.symbol).copied().unwrap_or(0),
                    })
                })
                .collect::<Result<_, Status>>()?,
            total: all.len() as u32,
        }))
    }
}

/// A lender's entry as its directory file holds it.
fn lender_json(l: &rota_routing::Lender) -> Result<String, Status> {
    // a failure here is ours (a lender that validated but does not serialise), never
    // an empty entry the caller would take for "no fields set"
    serde_json::to_string(l).map_err(|e| Status::internal(format!("lender {}: {e}", l.symbol)))
}

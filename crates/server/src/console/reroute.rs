//! Re-route in bulk: a file of unfilled requests (the formats `rota reroute` reads)
//! uploaded, routed in the background with the lenders already tried left out, its
//! progress on a page that refreshes itself, and the new strings downloaded as JSON lines
//! (the lines `rota reroute` writes), each unreadable or unroutable line with its error.
//!
//! Jobs live in memory (the most recent [`MAX_JOBS`]); each request routed is kept in the
//! history like any other, so its story can be read afterwards.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Serialize;

use super::auth::{ApiOperator, Operator};
use super::view::{Layout, html};
use super::{ApiError, Console, ConsoleError};
use crate::convert;
use crate::reroute::{self, Format, Rerouted};

/// Jobs kept (older ones are forgotten, finished or not).
pub const MAX_JOBS: usize = 20;

/// Largest file taken, bytes.
pub const MAX_UPLOAD: usize = 32 << 20;

/// One upload being re-routed.
pub struct Job {
    id: String,
    who: String,
    file: String,
    started: i64,
    total: usize,
    done: AtomicUsize,
    rerouted: AtomicUsize,
    exhausted: AtomicUsize,
    errors: AtomicUsize,
    finished: AtomicBool,
    /// Answers in input order: unreadable lines first, as read.
    out: Mutex<Vec<Rerouted>>,
}

/// A job's progress (the JSON twin of its page).
#[derive(Debug, Serialize)]
pub struct Progress {
    /// Job id.
    pub id: String,
    /// Who uploaded it.
    pub who: String,
    /// The file's name.
    pub file: String,
    /// When (unix seconds).
    pub started: i64,
    /// Lines in the file that asked for a request (read or not).
    pub total: usize,
    /// Of those, answered so far.
    pub done: usize,
    /// Given a new string.
    pub rerouted: usize,
    /// No lender left.
    pub exhausted: usize,
    /// Unreadable or unroutable.
    pub errors: usize,
    /// All answered.
    pub finished: bool,
}

impl Job {
    fn progress(&self) -> Progress {
        Progress {
            id: self.id.clone(),
            who: self.who.clone(),
            file: self.file.clone(),
            started: self.started,
            total: self.total,
            done: self.done.load(Ordering::Acquire),
            rerouted: self.rerouted.load(Ordering::Relaxed),
            exhausted: self.exhausted.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            finished: self.finished.load(Ordering::Acquire),
        }
    }
}

/// The console's jobs, newest last.
#[derive(Default)]
pub struct Jobs(Mutex<VecDeque<Arc<Job>>>);

impl Jobs {
    fn add(&self, j: Arc<Job>) {
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() >= MAX_JOBS {
            q.pop_front();
        }
        q.push_back(j);
    }

    fn get(&self, id: &str) -> Result<Arc<Job>, ConsoleError> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|j| j.id == id)
            .cloned()
            .ok_or_else(|| {
                ConsoleError::NotFound(format!(
                    "no re-route job {id:?} (only the last {MAX_JOBS} are kept)"
                ))
            })
    }

    fn all(&self) -> Vec<Progress> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .rev()
            .map(|j| j.progress())
            .collect()
    }
}

/// Routes a job's requests on a blocking thread, one at a time against the live state.
fn run(app: Arc<crate::app::App>, job: Arc<Job>, reqs: Vec<rota_routing::Request>) {
    for mut req in reqs {
        // routed now, as a gRPC call's request is
        req.now = chrono::Utc::now().timestamp();
        let answer = match req.validate() {
            Err(e) => Err(e.to_string()),
            Ok(()) => {
                let eng = app.engine.load();
                let routed = {
                    let live = app.live.read().unwrap_or_else(|e| e.into_inner());
                    eng.route(&live, &req)
                };
                routed
                    .map(|s| convert::response_to_wire(s, eng.catalog()))
                    .map_err(|e| e.to_string())
            }
        };
        let line = match answer {
            Ok(resp) => {
                if let Some(h) = &app.history {
                    use prost::Message as _;
                    h.routed(crate::history::Routed {
                        at: chrono::Utc::now().timestamp(),
                        who: job.who.clone(),
                        borrower: req.borrower.to_string(),
                        request_id: req.request_id.clone(),
                        request: convert::request_to_wire(&req).encode_to_vec(),
                        response: resp.encode_to_vec(),
                    });
                }
                let exhausted = resp.lenders.is_empty();
                if exhausted {
                    job.exhausted.fetch_add(1, Ordering::Relaxed);
                } else {
                    job.rerouted.fetch_add(1, Ordering::Relaxed);
                }
                Rerouted {
                    request_id: req.request_id,
                    lenders: resp.lenders.into_iter().map(|l| l.symbol).collect(),
                    expected_hours_to_fill: resp.expected_hours_to_fill,
                    p_filled: resp.p_filled,
                    exhausted,
                    error: None,
                    line: None,
                }
            }
            Err(e) => {
                job.errors.fetch_add(1, Ordering::Relaxed);
                Rerouted {
                    request_id: req.request_id,
                    lenders: Vec::new(),
                    expected_hours_to_fill: 0.0,
                    p_filled: 0.0,
                    exhausted: false,
                    error: Some(e),
                    line: None,
                }
            }
        };
        job.out.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        job.done.fetch_add(1, Ordering::Release);
    }
    job.finished.store(true, Ordering::Release);
    tracing::info!(job = %job.id, who = %job.who, total = job.total, "console re-route finished");
}

#[derive(Template)]
#[template(path = "console/reroute.html")]
struct ReroutePage {
    layout: Layout,
    jobs: Vec<Progress>,
}

/// `GET /reroute`: the upload form and the recent jobs.
pub async fn page(State(c): State<Console>, op: Operator) -> Result<Html<String>, ConsoleError> {
    html(&ReroutePage {
        layout: Layout::new(&op, "/reroute"),
        jobs: c.jobs.all(),
    })
}

/// `GET /api/reroute`: the recent jobs, newest first.
pub async fn api(State(c): State<Console>, _op: ApiOperator) -> Json<Vec<Progress>> {
    Json(c.jobs.all())
}

/// `POST /reroute` (multipart: `csrf`, then `file`): starts a job and goes to its page.
pub async fn upload(
    State(c): State<Console>,
    op: Operator,
    mut form: Multipart,
) -> Result<Response, ConsoleError> {
    let app = c.app()?;
    let bad = |e: axum::extract::multipart::MultipartError| {
        ConsoleError::BadRequest(format!("upload: {}", e.body_text()))
    };
    let (mut csrf, mut file) = (None, None);
    while let Some(field) = form.next_field().await.map_err(bad)? {
        match field.name() {
            Some("csrf") => csrf = Some(field.text().await.map_err(bad)?),
            Some("file") => {
                let name = field.file_name().unwrap_or("upload").to_owned();
                let bytes = field.bytes().await.map_err(bad)?;
                file = Some((name, bytes));
            }
            _ => {}
        }
    }
    op.check_csrf(csrf.as_deref())?;
    let (name, bytes) =
        file.ok_or_else(|| ConsoleError::BadRequest("file: none was sent".into()))?;
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|e| ConsoleError::BadRequest(format!("{name}: not UTF-8 text ({e})")))?;
    let (reqs, unreadable) = reroute::parse(&text, Format::guess(&name, &text));
    let total = reqs.len() + unreadable.len();
    if total == 0 {
        return Err(ConsoleError::BadRequest(format!(
            "{name}: no request in it"
        )));
    }
    if total > reroute::MAX_LINES {
        return Err(ConsoleError::BadRequest(format!(
            "{name}: {total} requests; at most {} a file",
            reroute::MAX_LINES
        )));
    }
    let mut id = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut id);
    let job = Arc::new(Job {
        id: hex::encode(id),
        who: op.principal.name.clone(),
        file: name,
        started: chrono::Utc::now().timestamp(),
        total,
        done: AtomicUsize::new(unreadable.len()),
        rerouted: AtomicUsize::new(0),
        exhausted: AtomicUsize::new(0),
        errors: AtomicUsize::new(unreadable.len()),
        finished: AtomicBool::new(false),
        out: Mutex::new(
            unreadable
                .into_iter()
                .map(|e| Rerouted {
                    request_id: String::new(),
                    lenders: Vec::new(),
                    expected_hours_to_fill: 0.0,
                    p_filled: 0.0,
                    exhausted: false,
                    error: Some(e.error),
                    line: Some(e.line),
                })
                .collect(),
        ),
    });
    c.jobs.add(job.clone());
    tracing::info!(job = %job.id, who = %job.who, total, "console re-route started");
    let to = format!("/reroute/{}", job.id);
    tokio::task::spawn_blocking(move || run(app, job, reqs));
    Ok(Redirect::to(&to).into_response())
}

#[derive(Template)]
#[template(path = "console/reroute_job.html")]
struct JobPage {
    layout: Layout,
    p: Progress,
}

/// `GET /reroute/{id}`: progress, refreshing itself until done, then the download.
pub async fn job_page(
    State(c): State<Console>,
    op: Operator,
    Path(id): Path<String>,
) -> Result<Html<String>, ConsoleError> {
    html(&JobPage {
        layout: Layout::new(&op, "/reroute"),
        p: c.jobs.get(&id)?.progress(),
    })
}

/// `GET /api/reroute/{id}`.
pub async fn job_api(
    State(c): State<Console>,
    _op: ApiOperator,
    Path(id): Path<String>,
) -> Result<Json<Progress>, ApiError> {
    Ok(Json(c.jobs.get(&id)?.progress()))
}

/// `GET /reroute/{id}/result.jsonl`: the answers so far, a JSON line each.
pub async fn download(
    State(c): State<Console>,
    _op: Operator,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let job = c.jobs.get(&id)?;
    let mut body = String::new();
    for r in job.out.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        body.push_str(
            &serde_json::to_string(r)
                .map_err(|e| ConsoleError::Internal(format!("result line: {e}")))?,
        );
        body.push('\n');
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"rerouted-{id}.jsonl\""),
            ),
        ],
        body,
    )
        .into_response())
}

//! # The operators' console
//!
//! Web pages for consortium staff, served on a listener of their own in the server's
//! process, and a JSON twin of every table under `/api/`, so a script can check what a
//! page shows. The pages are rendered on the server ([askama] templates, compiled in and
//! escaped by default) with one small script of our own (`static/console.js`: local
//! times, sortable headers); nothing is built with Node.
//!
//! The console is a thin layer like the gRPC services: it reads the same engine and live
//! state the router ranks with, and every change goes through the same functions the
//! Admin API calls ([`crate::changes`]), so both validate alike and both are logged.
//!
//! - [`auth`]: login with a configured token, sessions, CSRF, the role rules;
//! - [`lenders`]: every lender's load, fill and times, one page each;
//! - [`activity`]: requests, fills, time to fill and load over a period, by day;
//! - [`requests`]: a request's story, from its citation to its last event;
//! - [`reroute`]: a file of unfilled requests re-routed in the background;
//! - [`profiles`]: weight profiles, edited with validation and a diff from the one in
//!   force, with their version history and rollback.
//!
//! Stories, activity and versions come from [`crate::history`], which the server keeps
//! whenever the console is on.

pub mod activity;
pub mod auth;
mod lenders;
mod profiles;
mod requests;
mod reroute;
mod view;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::app::App;
use crate::changes::ChangeError;
use crate::config::ConsoleConfig;
use crate::service::Slot;

/// What every console handler shares.
#[derive(Clone)]
pub struct Console {
    slot: Slot,
    sessions: Arc<auth::Sessions>,
    config: ConsoleConfig,
    jobs: Arc<reroute::Jobs>,
}

impl Console {
    fn app(&self) -> Result<Arc<App>, ConsoleError> {
        self.slot.get().cloned().ok_or(ConsoleError::Loading)
    }

    /// The saved versions of a profile or lender entry (`kind`), newest first.
    async fn versions(
        &self,
        kind: &'static str,
        name: &str,
    ) -> Result<Vec<crate::history::query::Version>, ConsoleError> {
        let name = name.to_owned();
        self.history(move |h| crate::history::query::versions(h, kind, &name))
            .await
    }

    /// Runs a history query on a blocking thread (SQLite reads block).
    async fn history<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, ConsoleError> {
        let app = self.app()?;
        tokio::task::spawn_blocking(move || {
            let h = app.history.as_ref().ok_or_else(|| {
                ConsoleError::Internal(
                    "the history is off (it is kept when the console is on)".into(),
                )
            })?;
            let conn = h
                .reader()
                .map_err(|e| ConsoleError::Internal(e.to_string()))?;
            f(&conn).map_err(|e| ConsoleError::Internal(format!("history: {e}")))
        })
        .await
        .map_err(|e| ConsoleError::Internal(format!("history query: {e}")))?
    }
}

/// Why a console request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No session (or an unknown bearer token).
    #[error("log in first: a console session, or \"authorization: Bearer <token>\" on /api/")]
    Unauthenticated {
        /// The page asked for, to return to after the login.
        next: String,
    },
    /// A token the console refuses.
    #[error("{0}")]
    Forbidden(String),
    /// A change without the session's CSRF token.
    #[error("this change did not carry the page's CSRF token; reload the page and try again")]
    Csrf,
    /// No such lender, profile, ...
    #[error("{0}")]
    NotFound(String),
    /// Input the console cannot use.
    #[error("{0}")]
    BadRequest(String),
    /// Something the server does one at a time is busy.
    #[error("{0}")]
    Busy(String),
    /// The catalogue is still loading.
    #[error("the catalogue is still loading; retry shortly")]
    Loading,
    /// A change refused (stale version, a broken rule, or the log).
    #[error(transparent)]
    Change(#[from] ChangeError),
    /// Ours: anything else that should not happen.
    #[error("{0}")]
    Internal(String),
    /// Ours: a page did not render.
    #[error("page not rendered: {0}")]
    Render(#[from] askama::Error),
}

impl ConsoleError {
    fn status(&self) -> StatusCode {
        match self {
            ConsoleError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            ConsoleError::Forbidden(_) | ConsoleError::Csrf => StatusCode::FORBIDDEN,
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::BadRequest(_) | ConsoleError::Change(ChangeError::Invalid(_)) => {
                StatusCode::BAD_REQUEST
            }
            ConsoleError::Change(ChangeError::Stale { .. }) => StatusCode::CONFLICT,
            ConsoleError::Loading
            | ConsoleError::Busy(_)
            | ConsoleError::Change(ChangeError::Log(_)) => StatusCode::SERVICE_UNAVAILABLE,
            ConsoleError::Render(_) | ConsoleError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

/// A page's error: an HTML page saying what went wrong (or, without a session, the
/// login page).
impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        if let ConsoleError::Unauthenticated { next } = &self {
            let to = format!("/login?next={}", lenders::percent(next));
            return Redirect::to(&to).into_response();
        }
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "console");
        }
        match view::ErrorPage::new(status, &self.to_string()).render_page() {
            Ok(html) => (status, html).into_response(),
            Err(e) => (status, format!("{self} (and the error page failed: {e})")).into_response(),
        }
    }
}

/// An `/api/` error: `{"error": "..."}` with the same status as the page would have.
#[derive(Debug)]
pub struct ApiError(pub ConsoleError);

impl From<ConsoleError> for ApiError {
    fn from(e: ConsoleError) -> Self {
        ApiError(e)
    }
}

impl From<ChangeError> for ApiError {
    fn from(e: ChangeError) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        (
            status,
            axum::Json(serde_json::json!({ "error": self.0.to_string() })),
        )
            .into_response()
    }
}

/// The console's routes.
pub fn router(slot: Slot, tokens: &[crate::config::TokenConfig], config: ConsoleConfig) -> Router {
    let console = Console {
        slot,
        sessions: Arc::new(auth::Sessions::new(
            tokens,
            Duration::from_secs(config.session_minutes * 60),
        )),
        config,
        jobs: Arc::default(),
    };
    Router::new()
        .route("/", get(|| async { Redirect::to("/lenders") }))
        .route("/login", get(view::login_page).post(view::login))
        .route("/logout", post(view::logout))
        .route("/static/console.css", get(view::css))
        .route("/static/console.js", get(view::js))
        .route("/lenders", get(lenders::page))
        .route(
            "/lenders/{symbol}",
            get(lenders::one_page).post(lenders::save),
        )
        .route("/lenders/{symbol}/preview", post(lenders::preview))
        .route("/api/lenders", get(lenders::api))
        .route("/api/lenders/{symbol}", get(lenders::one_api))
        .route("/api/lenders/{symbol}/versions", get(lenders::versions_api))
        .route("/activity", get(activity::page))
        .route("/activity.csv", get(activity::csv_download))
        .route("/api/activity", get(activity::api))
        .route("/requests", get(requests::page))
        .route("/requests/{borrower}/{id}", get(requests::one_page))
        .route("/api/requests", get(requests::api))
        .route("/api/requests/{borrower}/{id}", get(requests::one_api))
        .route(
            "/reroute",
            get(reroute::page)
                .post(reroute::upload)
                .layer(axum::extract::DefaultBodyLimit::max(reroute::MAX_UPLOAD)),
        )
        .route("/reroute/{id}", get(reroute::job_page))
        .route("/reroute/{id}/result.jsonl", get(reroute::download))
        .route("/api/reroute", get(reroute::api))
        .route("/api/reroute/{id}", get(reroute::job_api))
        .route("/profiles", get(profiles::page))
        .route(
            "/profiles/{name}",
            get(profiles::one_page).post(profiles::save),
        )
        .route("/profiles/{name}/preview", post(profiles::preview))
        .route("/profiles/{name}/rollback", post(profiles::rollback))
        .route("/profiles/{name}/compare", post(profiles::compare))
        .route("/api/profiles/{name}/compare", post(profiles::compare_api))
        .route("/api/profiles/{name}/versions", get(profiles::versions_api))
        .route("/api/profiles", get(profiles::api))
        .route(
            "/api/profiles/{name}",
            get(profiles::one_api).put(profiles::put_api),
        )
        .layer(axum::middleware::map_response(security_headers))
        .with_state(console)
}

/// Pages may not be framed (clickjacking) nor load anything from elsewhere.
async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    h.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    r
}

/// Binds the console and serves it in the background.
pub async fn listen(
    at: SocketAddr,
    slot: Slot,
    tokens: &[crate::config::TokenConfig],
    config: ConsoleConfig,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(at).await?;
    let bound = listener.local_addr()?;
    let app = router(slot, tokens, config);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the console listener stopped");
        }
    });
    Ok(bound)
}

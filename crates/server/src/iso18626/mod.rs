//! The ISO 18626 front: messages POSTed to `/iso18626` (XML over HTTP, as library
//! systems send them), each answered on the same connection with its confirmation.
//!
//! A thin layer: [`rota_iso18626`] reads the message and writes the confirmation,
//! [`intake`] turns it into lifecycle events, and the events go through the same durable
//! log as those reported over gRPC before the confirmation says `OK`. A message the
//! sender got wrong is answered `ERROR` with the standard's error type (HTTP 200: the
//! exchange worked, the message did not); a fault of ours (the log cannot write, the
//! catalogue is still loading) is HTTP 503 with no confirmation, so the sender retries.

pub mod intake;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use rota_iso18626::{Confirmation, Rejection, parse};

use crate::log::LogRecord;
use crate::service::Slot;
use intake::Intake;

#[derive(Clone)]
struct Front {
    slot: Slot,
    intake: Arc<Intake>,
}

/// Binds `at` and serves `/iso18626` in the background; returns the bound address.
pub async fn listen(at: SocketAddr, slot: Slot) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(at).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/iso18626", post(message))
        // bodies a little over the message limit still get a confirmation saying so;
        // beyond twice the limit the connection gets a bare 413
        .layer(DefaultBodyLimit::max(2 * rota_iso18626::xml::MAX_BYTES))
        .with_state(Front {
            slot,
            intake: Arc::new(Intake::default()),
        });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the ISO 18626 listener stopped");
        }
    });
    Ok(bound)
}

fn xml(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

fn refused(r: &Rejection, received: chrono::DateTime<chrono::Utc>) -> Response {
    // the error value names elements and codes, never patron data
    tracing::info!(error = r.error.as_str(), value = %r.value, "iso18626 message refused");
    xml(
        StatusCode::OK,
        Confirmation::refused(r, received).to_xml(chrono::Utc::now()),
    )
}

fn unavailable(why: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "5")],
        why.to_string(),
    )
        .into_response()
}

async fn message(State(f): State<Front>, body: Bytes) -> Response {
    let received = chrono::Utc::now();
    let m = match parse(&body) {
        Ok(m) => m,
        Err(r) => return refused(&r, received),
    };
    let Some(app) = f.slot.get().cloned() else {
        return unavailable("the catalogue is still loading; retry shortly");
    };
    let events = {
        let eng = app.engine.load();
        match f.intake.events(eng.directory(), eng.catalog(), &m) {
            Ok(evs) => evs,
            Err(r) => return refused(&r, received),
        }
    };
    for e in events {
        let kind = format!("{:?}", e.kind);
        if let Err(err) = app.log.append(LogRecord::Event(e)).await {
            tracing::error!(error = %err, "an ISO 18626 event could not be recorded");
            return unavailable("the event log cannot record now; retry shortly");
        }
        tracing::debug!(event = %kind, "iso18626 event recorded");
    }
    xml(
        StatusCode::OK,
        Confirmation::ok(&m, received).to_xml(chrono::Utc::now()),
    )
}

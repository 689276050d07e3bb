//! The ISO 18626 front: messages POSTed to `/iso18626` (XML over HTTP, as library
//! systems send them), each answered on the same connection with its confirmation.
//!
//! A thin layer: [`rota_iso18626`] reads the message and writes the confirmation,
//! [`intake`] turns it into lifecycle events, and the events go through the same durable
//! log as those reported over gRPC before the confirmation says `OK`. A message the
//! sender got wrong is answered `ERROR` with the standard's error type (HTTP 200: the
//! exchange worked, the message did not); a fault of ours (the log cannot write, the
//! catalogue is still loading) is HTTP 503 with no confirmation, so the sender retries.

pub mod broker;
pub mod intake;
pub mod peer;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use rota_iso18626::{Confirmation, Message, Rejection, parse_document};

use crate::log::LogRecord;
use crate::service::Slot;
use broker::{Broker, BrokerError, Handled};
use intake::Intake;

#[derive(Clone)]
struct Front {
    slot: Slot,
    intake: Arc<Intake>,
    broker: Option<Arc<Broker>>,
}

/// Binds `at` and serves `/iso18626` in the background (with the broker, if given, taking
/// the messages of its transactions); returns the bound address.
pub async fn listen(
    at: SocketAddr,
    slot: Slot,
    broker: Option<Arc<Broker>>,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(at).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/iso18626", post(message))
        // bodies a little over the message limit still get a confirmation saying so;
        // beyond twice the limit the connection gets a bare 413
        .layer(DefaultBodyLimit::max(2 * rota_iso18626::xml::MAX_BYTES))
        .with_state(Front {
            slot: slot.clone(),
            intake: Arc::new(Intake::default()),
            broker: broker.clone(),
        });
    if let Some(b) = broker {
        broker::sender::spawn(b, slot);
    }
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

fn counted(outcome: &'static str) {
    metrics::counter!(crate::telemetry::ISO18626_MESSAGES, "direction" => "in", "outcome" => outcome)
        .increment(1);
}

fn refused(r: &Rejection, received: chrono::DateTime<chrono::Utc>) -> Response {
    counted("refused");
    // the error value names elements and codes, never patron data
    tracing::info!(error = r.error.as_str(), value = %r.value, "iso18626 message refused");
    xml(
        StatusCode::OK,
        Confirmation::refused(r, received).to_xml(chrono::Utc::now()),
    )
}

fn unavailable(why: &str) -> Response {
    counted("failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "5")],
        why.to_string(),
    )
        .into_response()
}

/// What the top candidates' catalogues say of a request's item, asked within the budget.
async fn lookups(
    b: &Arc<Broker>,
    app: &Arc<crate::app::App>,
    r: &rota_iso18626::Request,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<rota_routing::Availability> {
    let (b2, a2, r2) = (b.clone(), app.clone(), r.clone());
    let Ok((targets, item)) =
        tokio::task::spawn_blocking(move || b2.lookup_plan(&a2, &r2, now)).await
    else {
        return Vec::new();
    };
    if targets.is_empty() {
        return Vec::new();
    }
    let started = std::time::Instant::now();
    let answers = b.checker().check(&targets, &item).await;
    tracing::info!(
        asked = answers.len(),
        on_shelf = answers
            .iter()
            .filter(|(a, _)| a.shelf == rota_routing::Shelf::OnShelf)
            .count(),
        on_loan = answers
            .iter()
            .filter(|(a, _)| matches!(a.shelf, rota_routing::Shelf::OnLoan { .. }))
            .count(),
        ms = started.elapsed().as_millis() as u64,
        "availability asked before routing"
    );
    answers.into_iter().map(|(a, _)| a).collect()
}

async fn message(State(f): State<Front>, body: Bytes) -> Response {
    let received = chrono::Utc::now();
    let (root, m) = match parse_document(&body) {
        Ok(m) => m,
        Err(r) => return refused(&r, received),
    };
    let Some(app) = f.slot.get().cloned() else {
        return unavailable("the catalogue is still loading; retry shortly");
    };
    if let Some(b) = &f.broker {
        let availability = match &m {
            Message::Request(r) if b.takes(r) => lookups(b, &app, r, received).await,
            _ => Vec::new(),
        };
        let (b, a, m2) = (b.clone(), app.clone(), m.clone());
        let taken = tokio::task::spawn_blocking(move || {
            b.handle(&a, &root, &m2, &body, availability, received)
        })
        .await;
        match taken {
            Ok(Ok(Handled::Taken)) => {
                counted("ok");
                return xml(
                    StatusCode::OK,
                    Confirmation::ok(&m, received).to_xml(chrono::Utc::now()),
                );
            }
            Ok(Ok(Handled::NotMine)) => {}
            Ok(Err(BrokerError::Refused(r))) => return refused(&r, received),
            Ok(Err(BrokerError::Store(e))) => {
                tracing::error!(error = %e, "the ISO 18626 broker cannot record a message");
                return unavailable("the broker cannot record now; retry shortly");
            }
            Err(e) => {
                tracing::error!(error = %e, "the ISO 18626 broker failed on a message");
                return unavailable("the broker failed; retry shortly");
            }
        }
    }
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
    counted("ok");
    xml(
        StatusCode::OK,
        Confirmation::ok(&m, received).to_xml(chrono::Utc::now()),
    )
}

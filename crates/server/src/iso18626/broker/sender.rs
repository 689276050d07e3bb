//! The broker's background work: sending what the outbox holds, moving on from lenders
//! whose answer is overdue, and handing learned events to the durable log.
//!
//! One loop, woken when a message is queued and at least every [`TICK`]. Sends run
//! concurrently (a peer that hangs costs its own request timeout, not everyone's), at
//! most [`MAX_SENDING`] at once; a transaction's messages to one peer go one at a time,
//! in order. A peer that does not confirm (connection refused, timeout, not HTTP 200, an
//! answer that is no confirmation) is tried again after `resend_secs`, doubling up to an
//! hour, until the row's limit; a confirmation `ERROR` is final (the peer read the
//! message and refused it) and, for a forwarded request, moves the transaction on.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rota_iso18626::relay::{Confirmed, read_confirmation};
use tokio::task::JoinSet;

use super::Broker;
use super::store::Outgoing;
use crate::log::LogRecord;
use crate::service::Slot;
use crate::telemetry;

/// Longest the loop sleeps.
pub const TICK: Duration = Duration::from_millis(250);
/// Sends in flight at once.
pub const MAX_SENDING: usize = 32;
/// Largest confirmation read from a peer.
const MAX_ANSWER: usize = 1 << 20;
/// Transactions closed this long ago are forgotten, seconds.
const KEEP_CLOSED_SECS: i64 = 30 * 86_400;

enum Sent {
    Confirmed,
    Refused(String, String),
    Failed(String),
}

async fn post(client: &reqwest::Client, o: &Outgoing) -> Sent {
    match crate::outbound::post_xml(client, &o.dest, o.body.clone(), MAX_ANSWER).await {
        Err(why) => Sent::Failed(why),
        Ok(body) => match read_confirmation(&body) {
            Ok(Confirmed::Ok) => Sent::Confirmed,
            Ok(Confirmed::Error { error_type, value }) => Sent::Refused(error_type, value),
            Err(why) => Sent::Failed(why),
        },
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}

/// Runs the broker's loop for as long as the process lives.
pub fn spawn(broker: Arc<Broker>, slot: Slot) {
    tokio::spawn(async move {
        let client = crate::outbound::client(Duration::from_secs(30));
        let mut sending: JoinSet<(Outgoing, Sent)> = JoinSet::new();
        let mut busy: Vec<i64> = Vec::new();
        let mut last_purge = 0i64;
        loop {
            let Some(app) = slot.get().cloned() else {
                tokio::time::sleep(TICK).await;
                continue;
            };
            let now = Utc::now();
            // overdue answers
            let b = broker.clone();
            let overdue = blocking(move || b.store().overdue(now.timestamp()))
                .await
                .and_then(Result::ok)
                .unwrap_or_default();
            for txn in overdue {
                let (b, a) = (broker.clone(), app.clone());
                if let Some(Err(e)) = blocking(move || b.expire(&a, txn, now)).await {
                    tracing::error!(error = %e, txn, "the broker could not move an overdue request on");
                }
            }
            // events for the log
            let b = broker.clone();
            let events = blocking(move || b.store().pending_events(1000))
                .await
                .and_then(Result::ok)
                .unwrap_or_default();
            let mut done = None;
            for (id, json) in events {
                match serde_json::from_str(&json) {
                    Ok(e) => {
                        if let Err(err) = app.log.append(LogRecord::Event(e)).await {
                            tracing::warn!(error = %err, "broker events wait for the log");
                            break;
                        }
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "a broker event could not be read back; skipped");
                    }
                }
                done = Some(id);
            }
            if let Some(upto) = done {
                let b = broker.clone();
                let _ = blocking(move || b.store().events_done(upto)).await;
            }
            // messages due
            if sending.len() < MAX_SENDING {
                let b = broker.clone();
                let skip = busy.clone();
                let room = MAX_SENDING - sending.len();
                let due = blocking(move || b.store().due(now.timestamp(), room, &skip))
                    .await
                    .and_then(Result::ok)
                    .unwrap_or_default();
                for o in due {
                    busy.push(o.id);
                    let c = client.clone();
                    sending.spawn(async move {
                        let r = post(&c, &o).await;
                        (o, r)
                    });
                }
            }
            let b = broker.clone();
            if let Some(Ok((owed, open))) = blocking(move || b.store().sizes()).await {
                metrics::gauge!(telemetry::ISO18626_OUTBOX).set(owed as f64);
                metrics::gauge!(telemetry::ISO18626_OPEN).set(open as f64);
            }
            if now.timestamp() - last_purge > 3600 {
                last_purge = now.timestamp();
                let b = broker.clone();
                let before = now.timestamp() - KEEP_CLOSED_SECS;
                let _ = blocking(move || b.store().purge_closed(before)).await;
            }
            tokio::select! {
                Some(done) = sending.join_next(), if !sending.is_empty() => {
                    if let Ok((o, r)) = done {
                        busy.retain(|id| *id != o.id);
                        settle(&broker, &app, o, r).await;
                    }
                }
                _ = broker.wake.notified() => {}
                _ = tokio::time::sleep(TICK) => {}
            }
        }
    });
}

async fn settle(broker: &Arc<Broker>, app: &Arc<crate::app::App>, o: Outgoing, r: Sent) {
    let now = Utc::now();
    let b = broker.clone();
    let a = app.clone();
    let resend = broker.config.resend_secs;
    let label = match &r {
        Sent::Confirmed => "ok",
        Sent::Refused(..) => "refused",
        Sent::Failed(_) => "failed",
    };
    metrics::counter!(telemetry::ISO18626_MESSAGES, "direction" => "out", "outcome" => label)
        .increment(1);
    let outcome = blocking(move || -> Result<(), super::StoreError> {
        match r {
            Sent::Confirmed => {
                tracing::debug!(txn = o.txn, what = %o.what, dest = %o.dest, "iso18626 message confirmed");
                b.store()
                    .atomically(|t| t.delivered(o.id))
            }
            Sent::Refused(kind, value) => {
                tracing::warn!(txn = o.txn, what = %o.what, dest = %o.dest, error = %kind, value = %value, "iso18626 peer refused the broker's message");
                b.store().atomically(|t| t.delivered(o.id))?;
                if o.refused_means_next {
                    b.forward_refused(&a, o.txn, &o.dest, now)?;
                }
                Ok(())
            }
            Sent::Failed(why) => {
                let wait = resend
                    .saturating_mul(1u64 << o.attempts.min(16))
                    .min(3600) as i64;
                let gave_up =
                    b.store()
                        .retry_later(o.id, now.timestamp(), now.timestamp() + wait)?;
                if gave_up {
                    tracing::error!(txn = o.txn, what = %o.what, dest = %o.dest, error = %why, "iso18626 peer never confirmed; message given up");
                } else {
                    tracing::info!(txn = o.txn, what = %o.what, dest = %o.dest, error = %why, retry_in_secs = wait, "iso18626 peer did not confirm; will resend");
                }
                Ok(())
            }
        }
    })
    .await;
    if let Some(Err(e)) = outcome {
        tracing::error!(error = %e, "the broker store failed settling a send");
    }
}

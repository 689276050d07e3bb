//! What happened, kept for people to look at: every request routed (the request and the
//! answer exactly as the caller sent and got them), every lifecycle event, and every
//! change to a profile or lender entry (who, when, the whole new version). The console's
//! request stories, activity reports and version histories read it.
//!
//! It is not the durable log: the log is what state is rebuilt from, and is trimmed
//! after each checkpoint; the history is kept for `history_days` and may lose a
//! record, never routing time. Routing and the log writer hand records over a bounded
//! queue without waiting; one thread writes them in batches (one SQLite transaction per
//! batch, WAL, `synchronous = NORMAL`: a crash may lose the last batch, not the file).
//! A record that finds the queue full is counted (`rota_history_dropped_total`) and
//! the console says how many were not kept.
//!
//! Requests and answers are stored as their protobuf bytes, as on the wire: the story of a
//! request shows what the caller was told, in the API's own terms, and encoding them is
//! the one cost routing pays for the history: 2.2 µs for a request and an answer of five
//! lenders with eight factors each and twelve holders left out (3.6 kB), measured with
//! prost's `encode_to_vec` in a loop on the 2-core machine, against a route's tens of
//! microseconds.

pub mod query;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, params};

use crate::log::LogRecord;

/// Records waiting to be written, at most.
const QUEUE: usize = 65_536;

/// Most records in one write transaction.
const BATCH: usize = 4_096;

/// A history failure (ours: the disk, the file).
#[derive(Debug, thiserror::Error)]
#[error("history {path}: {source}")]
pub struct HistoryError {
    path: String,
    #[source]
    source: rusqlite::Error,
}

/// A request as routed.
#[derive(Debug)]
pub struct Routed {
    /// When (unix seconds).
    pub at: i64,
    /// Who asked (token name).
    pub who: String,
    /// Borrower symbol.
    pub borrower: String,
    /// The borrower's request id.
    pub request_id: String,
    /// `rota.v1.RouteRequest`, encoded.
    pub request: Vec<u8>,
    /// `rota.v1.RouteResponse`, encoded.
    pub response: Vec<u8>,
}

enum Entry {
    Routed(Routed),
    Logged {
        seq: u64,
        at: i64,
        record: LogRecord,
        /// The format of an event's item, as the catalogue says.
        format: Option<&'static str>,
    },
}

/// The history: a queue to its writer, and where to read it.
pub struct History {
    tx: SyncSender<Entry>,
    path: PathBuf,
    dropped: Arc<AtomicU64>,
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS routes (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    who TEXT NOT NULL,
    borrower TEXT NOT NULL,
    request_id TEXT NOT NULL,
    request BLOB NOT NULL,
    response BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS routes_request ON routes (request_id, borrower);
CREATE INDEX IF NOT EXISTS routes_at ON routes (at);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    borrower TEXT NOT NULL,
    request_id TEXT NOT NULL,
    lender TEXT NOT NULL,
    service TEXT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT,
    cluster INTEGER
);
CREATE INDEX IF NOT EXISTS events_request ON events (request_id, borrower);
CREATE INDEX IF NOT EXISTS events_at ON events (at);
CREATE INDEX IF NOT EXISTS events_lender ON events (lender, at);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    who TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    comment TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_name ON changes (kind, name, version);
-- one row a request, kept up to date as its routes and events are written: what the
-- activity report and the request list read, so that neither scans the events
CREATE TABLE IF NOT EXISTS requests (
    borrower TEXT NOT NULL,
    request_id TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    service TEXT,
    format TEXT,
    first_sent INTEGER,
    filled_at INTEGER,
    tried INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (borrower, request_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS requests_seen ON requests (first_seen);
CREATE INDEX IF NOT EXISTS requests_sent ON requests (first_sent);
CREATE INDEX IF NOT EXISTS requests_id ON requests (request_id);
";

impl History {
    /// Opens (or creates) the history at `path` and starts its writer, which keeps
    /// routes and events for `keep_days`.
    pub fn open(path: &Path, keep_days: u32) -> Result<History, HistoryError> {
        let err = |source| HistoryError {
            path: path.display().to_string(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        let (tx, rx) = sync_channel(QUEUE);
        let keep = i64::from(keep_days) * 86_400;
        std::thread::Builder::new()
            .name("rota-history".into())
            .spawn(move || write_loop(conn, rx, keep))
            .map_err(|e| err(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
        Ok(History {
            tx,
            path: path.to_owned(),
            dropped: Arc::default(),
        })
    }

    fn send(&self, e: Entry) {
        match self.tx.try_send(e) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                metrics::counter!(crate::telemetry::HISTORY_DROPPED).increment(1);
            }
            // the writer is gone (its thread ended with an error it logged)
            Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Keeps a routed request.
    pub fn routed(&self, r: Routed) {
        self.send(Entry::Routed(r));
    }

    /// Keeps a durable record (events and changes; holdings changes are not kept). The
    /// catalogue names the format of an event's item, for reports by format.
    pub fn logged(&self, seq: u64, record: &LogRecord, catalog: &rota_catalog::Catalog) {
        let format = match record {
            LogRecord::Holdings { .. } => return,
            LogRecord::Event(e) => e
                .cluster
                .filter(|c| c.get() < catalog.clusters())
                .map(|c| catalog.format(c).name()),
            _ => None,
        };
        self.send(Entry::Logged {
            seq,
            at: chrono::Utc::now().timestamp(),
            record: record.clone(),
            format,
        });
    }

    /// Records not kept since the server started, because the writer was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// A read-only connection (WAL: reads never wait for the writer).
    pub fn reader(&self) -> Result<Connection, HistoryError> {
        Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| HistoryError {
            path: self.path.display().to_string(),
            source,
        })
    }
}

fn write_loop(mut conn: Connection, rx: Receiver<Entry>, keep: i64) {
    let mut last_purge = Instant::now() - Duration::from_secs(3_600);
    loop {
        let first = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(e) => Some(e),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut batch: Vec<Entry> = first.into_iter().collect();
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(e) => batch.push(e),
                Err(_) => break,
            }
        }
        if !batch.is_empty()
            && let Err(e) = write(&mut conn, &batch)
        {
            tracing::warn!(error = %e, records = batch.len(), "history not written");
            metrics::counter!(crate::telemetry::HISTORY_DROPPED).increment(batch.len() as u64);
        }
        if last_purge.elapsed() >= Duration::from_secs(3_600) {
            last_purge = Instant::now();
            let before = chrono::Utc::now().timestamp() - keep;
            let purged = conn
                .execute("DELETE FROM routes WHERE at < ?1", [before])
                .and_then(|a| {
                    conn.execute("DELETE FROM events WHERE at < ?1", [before])
                        .map(|b| a + b)
                });
            match purged {
                Ok(n) if n > 0 => tracing::info!(records = n, "history older than its keep purged"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "history not purged"),
            }
        }
    }
}

/// Keeps one change: (log sequence, when, who, version, comment), what and its body.
fn changed(
    stmt: &mut rusqlite::CachedStatement<'_>,
    (seq, at, who, version, comment): (i64, &i64, &str, u64, &str),
    kind: &str,
    name: &str,
    body: &impl serde::Serialize,
) -> rusqlite::Result<()> {
    let body = serde_json::to_string(body)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    stmt.execute(params![
        seq,
        at,
        who,
        kind,
        name,
        i64::try_from(version).unwrap_or(i64::MAX),
        body,
        comment
    ])?;
    Ok(())
}

fn write(conn: &mut Connection, batch: &[Entry]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut route = tx.prepare_cached(
            "INSERT INTO routes (at, who, borrower, request_id, request, response)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut event = tx.prepare_cached(
            "INSERT OR IGNORE INTO events (seq, at, borrower, request_id, lender, service, kind, reason, cluster)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        // a request seen (routed, or any event)
        let mut seen = tx.prepare_cached(
            "INSERT INTO requests (borrower, request_id, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT (borrower, request_id) DO UPDATE SET
                 first_seen = MIN(first_seen, excluded.first_seen),
                 last_seen = MAX(last_seen, excluded.last_seen)",
        )?;
        // sent: the first send starts it; sends before it is filled are lenders tried
        let mut sent = tx.prepare_cached(
            "UPDATE requests SET
                 service = COALESCE(service, ?3),
                 format = COALESCE(format, ?5),
                 first_sent = MIN(COALESCE(first_sent, ?4), ?4),
                 tried = tried + (filled_at IS NULL OR filled_at >= ?4)
             WHERE borrower = ?1 AND request_id = ?2",
        )?;
        let mut filled = tx.prepare_cached(
            "UPDATE requests SET filled_at = MIN(COALESCE(filled_at, ?3), ?3)
             WHERE borrower = ?1 AND request_id = ?2",
        )?;
        let mut change = tx.prepare_cached(
            "INSERT OR IGNORE INTO changes (seq, at, who, kind, name, version, body, comment)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for e in batch {
            match e {
                Entry::Routed(r) => {
                    route.execute(params![
                        r.at,
                        r.who,
                        r.borrower,
                        r.request_id,
                        r.request,
                        r.response
                    ])?;
                    seen.execute(params![r.borrower, r.request_id, r.at])?;
                }
                Entry::Logged {
                    seq,
                    at,
                    record,
                    format,
                } => {
                    let seq = i64::try_from(*seq).unwrap_or(i64::MAX);
                    match record {
                        LogRecord::Event(ev) => {
                            let (kind, reason) = query::kind_names(&ev.kind);
                            // a record written twice (replayed after a restart) counts once
                            let new = event.execute(params![
                                seq,
                                ev.at,
                                ev.borrower,
                                ev.request_id,
                                ev.lender,
                                ev.service.name(),
                                kind,
                                reason,
                                ev.cluster.map(rota_catalog::ClusterId::get)
                            ])? == 1;
                            if new {
                                seen.execute(params![ev.borrower, ev.request_id, ev.at])?;
                                match ev.kind {
                                    rota_routing::EventKind::Sent => {
                                        sent.execute(params![
                                            ev.borrower,
                                            ev.request_id,
                                            ev.service.name(),
                                            ev.at,
                                            format
                                        ])?;
                                    }
                                    rota_routing::EventKind::Loaned
                                    | rota_routing::EventKind::CopyCompleted => {
                                        filled.execute(params![
                                            ev.borrower,
                                            ev.request_id,
                                            ev.at
                                        ])?;
                                    }
                                    _ => {}
                                }
                            }
                        }
                        LogRecord::Profile {
                            who,
                            profile,
                            version,
                            comment,
                        } => {
                            let c = (seq, at, who.as_str(), *version, comment.as_str());
                            changed(&mut change, c, "profile", &profile.name, profile)?;
                        }
                        LogRecord::Lender {
                            who,
                            lender,
                            version,
                            comment,
                        } => {
                            let c = (seq, at, who.as_str(), *version, comment.as_str());
                            changed(&mut change, c, "lender", &lender.symbol, lender)?;
                        }
                        LogRecord::Holdings { .. } => {}
                    }
                }
            }
        }
    }
    tx.commit()
}

//! The broker's durable memory: open transactions, the messages it owes its peers (an
//! outbox) and the lifecycle events it owes the log, in one SQLite file (WAL,
//! `synchronous = FULL`: a commit is on disk before the peer's message is confirmed).
//!
//! Every change a message causes (the transaction's new state, the messages it makes the
//! broker send, the events it teaches) is one SQLite transaction, committed before the
//! confirmation goes back. A crash before the commit loses nothing the peer believes was
//! received (it had no confirmation and sends again); after it, the outbox holds what is
//! still to be sent. A message leaves the outbox only once its peer confirmed it, so a
//! restart resends exactly what was not confirmed, byte for byte (same ids, same
//! timestamp), which a peer can recognise as a resend.
//!
//! Patron data (the request as the requester sent it, and the bodies of messages not yet
//! delivered) is kept only while the transaction is open: the request document is
//! cleared when the transaction closes, and an outbox row is deleted when delivered.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

/// A broker store failure (ours: the disk, the file).
#[derive(Debug, thiserror::Error)]
#[error("broker store: {0}")]
pub struct StoreError(#[from] rusqlite::Error);

/// Where a transaction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Waiting for the current lender's first answer.
    Asking,
    /// The current lender said it will supply, or has.
    Supplying,
    /// Over: filled and completed, unfilled everywhere, or cancelled.
    Closed,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Asking => "asking",
            State::Supplying => "supplying",
            State::Closed => "closed",
        }
    }

    fn parse(s: &str) -> State {
        match s {
            "asking" => State::Asking,
            "supplying" => State::Supplying,
            _ => State::Closed,
        }
    }
}

/// A transaction the broker carries.
#[derive(Clone, Debug, PartialEq)]
pub struct Txn {
    /// Row id.
    pub id: i64,
    /// The requester's directory symbol.
    pub requester: String,
    /// The requester's agency id as it named itself (`TYPE:VALUE`).
    pub requester_agency: String,
    /// The requester's id for the transaction.
    pub request_id: String,
    /// The matched cluster.
    pub cluster: Option<u32>,
    /// `loan` or `copy`.
    pub service: String,
    /// The lending string: directory symbols, in order.
    pub lenders: Vec<String>,
    /// Index of the lender asked now.
    pub pos: usize,
    /// State.
    pub state: State,
    /// How it ended (`filled`, `unfilled`, `cancelled`), once closed.
    pub outcome: Option<String>,
    /// When the current lender must have answered (unix seconds).
    pub deadline: Option<i64>,
    /// The current lender's id for the transaction, once it gave one.
    pub supplier_request_id: Option<String>,
    /// The requester has asked to cancel.
    pub cancel_asked: bool,
    /// The request as received (patron data: cleared when closed).
    pub document: Option<String>,
}

impl Txn {
    /// The lender asked now.
    pub fn lender(&self) -> Option<&str> {
        self.lenders.get(self.pos).map(String::as_str)
    }
}

/// A message owed to a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// Row id.
    pub id: i64,
    /// Its transaction.
    pub txn: i64,
    /// The peer's endpoint.
    pub dest: String,
    /// The document.
    pub body: String,
    /// For logs and metrics: `request`, `relay`, `cancel`, `unfilled`, ….
    pub what: String,
    /// A forwarded request: if the lender refuses it, move on to the next lender.
    pub refused_means_next: bool,
    /// Attempts so far.
    pub attempts: u32,
}

/// A message to queue.
#[derive(Clone, Copy, Debug)]
pub struct Owed<'a> {
    /// Its transaction.
    pub txn: i64,
    /// The peer's endpoint.
    pub dest: &'a str,
    /// The document.
    pub body: &'a str,
    /// For logs: `request`, `relay`, `cancel`, `unfilled`, ….
    pub what: &'a str,
    /// A forwarded request: a refusal moves the transaction on.
    pub refused_means_next: bool,
}

/// The store.
pub struct Store {
    conn: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS txn (
    id INTEGER PRIMARY KEY,
    requester TEXT NOT NULL,
    requester_agency TEXT NOT NULL,
    request_id TEXT NOT NULL,
    cluster INTEGER,
    service TEXT NOT NULL,
    lenders TEXT NOT NULL,
    pos INTEGER NOT NULL,
    state TEXT NOT NULL,
    outcome TEXT,
    deadline INTEGER,
    supplier_request_id TEXT,
    cancel_asked INTEGER NOT NULL DEFAULT 0,
    document TEXT,
    opened INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    UNIQUE (requester, request_id)
);
CREATE INDEX IF NOT EXISTS txn_deadline ON txn (deadline) WHERE deadline IS NOT NULL;
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    txn INTEGER NOT NULL,
    dest TEXT NOT NULL,
    body TEXT NOT NULL,
    what TEXT NOT NULL,
    refused_means_next INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    give_up_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS seen (
    txn INTEGER NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (txn, digest)
);
";

const TXN_COLUMNS: &str = "id, requester, requester_agency, request_id, cluster, service, lenders, \
     pos, state, outcome, deadline, supplier_request_id, cancel_asked, document";

fn txn_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Txn> {
    let lenders: String = r.get(6)?;
    Ok(Txn {
        id: r.get(0)?,
        requester: r.get(1)?,
        requester_agency: r.get(2)?,
        request_id: r.get(3)?,
        cluster: r.get(4)?,
        service: r.get(5)?,
        lenders: serde_json::from_str(&lenders).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, e.into())
        })?,
        pos: r.get::<_, i64>(7)? as usize,
        state: State::parse(&r.get::<_, String>(8)?),
        outcome: r.get(9)?,
        deadline: r.get(10)?,
        supplier_request_id: r.get(11)?,
        cancel_asked: r.get::<_, i64>(12)? != 0,
        document: r.get(13)?,
    })
}

impl Store {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path)?;
        Store::init(conn)
    }

    /// A store in memory (tests).
    pub fn in_memory() -> Result<Store, StoreError> {
        Store::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // deleted rows (a closed transaction's request, a delivered message) are
        // overwritten, not left in free pages: patron data does not outlive its use
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store { conn })
    }

    /// Runs `f` in one SQLite transaction: all of its changes, or none.
    pub fn atomically<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let t = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let mut tx = Tx { t };
        let out = f(&mut tx)?;
        tx.t.commit().map_err(StoreError::from)?;
        Ok(out)
    }

    /// Messages due now: for each transaction and peer, the oldest undelivered (so a
    /// peer receives a transaction's messages in order), at most `limit`, skipping `busy`.
    pub fn due(&self, now: i64, limit: usize, busy: &[i64]) -> Result<Vec<Outgoing>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, txn, dest, body, what, refused_means_next, attempts FROM outbox
             WHERE id IN (SELECT MIN(id) FROM outbox GROUP BY txn, dest) AND next_at <= ?1
             ORDER BY id LIMIT ?2",
        )?;
        let rows = st.query_map(params![now, (limit + busy.len()) as i64], |r| {
            Ok(Outgoing {
                id: r.get(0)?,
                txn: r.get(1)?,
                dest: r.get(2)?,
                body: r.get(3)?,
                what: r.get(4)?,
                refused_means_next: r.get::<_, i64>(5)? != 0,
                attempts: r.get::<_, i64>(6)? as u32,
            })
        })?;
        let mut out = Vec::new();
        for r in rows {
            let r = r?;
            if !busy.contains(&r.id) && out.len() < limit {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// When the next message falls due, if any is waiting.
    pub fn next_due(&self) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT MIN(next_at) FROM outbox", [], |r| r.get(0))?)
    }

    /// A failed send: try again at `next_at`, or give up if past the row's limit
    /// (returns true if given up).
    pub fn retry_later(&mut self, id: i64, now: i64, next_at: i64) -> Result<bool, StoreError> {
        let give_up: Option<i64> = self
            .conn
            .query_row("SELECT give_up_at FROM outbox WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        if give_up.is_some_and(|g| now >= g) {
            self.conn
                .execute("DELETE FROM outbox WHERE id = ?1", [id])?;
            return Ok(true);
        }
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_at = ?2 WHERE id = ?1",
            params![id, next_at],
        )?;
        Ok(false)
    }

    /// Events owed to the log, oldest first: (row id, JSON).
    pub fn pending_events(&self, limit: usize) -> Result<Vec<(i64, String)>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, json FROM events ORDER BY id LIMIT ?1")?;
        let rows = st.query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Events recorded in the log.
    pub fn events_done(&mut self, upto: i64) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM events WHERE id <= ?1", [upto])?;
        Ok(())
    }

    /// Transactions whose lender's answer is overdue at `now`.
    pub fn overdue(&self, now: i64) -> Result<Vec<i64>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT id FROM txn WHERE deadline IS NOT NULL AND deadline <= ?1 AND state = 'asking'",
        )?;
        let rows = st.query_map([now], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The earliest deadline of a transaction waiting for an answer.
    pub fn next_deadline(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.conn.query_row(
            "SELECT MIN(deadline) FROM txn WHERE deadline IS NOT NULL AND state = 'asking'",
            [],
            |r| r.get(0),
        )?)
    }

    /// Forgets transactions closed before `before` (and what they had seen).
    pub fn purge_closed(&mut self, before: i64) -> Result<usize, StoreError> {
        let t = self.conn.transaction()?;
        t.execute(
            "DELETE FROM seen WHERE txn IN (SELECT id FROM txn WHERE state = 'closed' AND updated < ?1)",
            [before],
        )?;
        let n = t.execute(
            "DELETE FROM txn WHERE state = 'closed' AND updated < ?1",
            [before],
        )?;
        t.commit()?;
        Ok(n)
    }

    /// Messages owed and transactions open.
    pub fn sizes(&self) -> Result<(i64, i64), StoreError> {
        let owed = self
            .conn
            .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))?;
        let open = self.conn.query_row(
            "SELECT COUNT(*) FROM txn WHERE state != 'closed'",
            [],
            |r| r.get(0),
        )?;
        Ok((owed, open))
    }

    /// Counts by state (for status pages and tests).
    pub fn counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT state, COUNT(*) FROM txn GROUP BY state ORDER BY state")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// The changes one message causes, inside one SQLite transaction.
pub struct Tx<'c> {
    t: Transaction<'c>,
}

/// A new transaction's facts.
pub struct NewTxn<'a> {
    /// Requester symbol.
    pub requester: &'a str,
    /// Requester agency `TYPE:VALUE`.
    pub requester_agency: &'a str,
    /// Its request id.
    pub request_id: &'a str,
    /// Matched cluster.
    pub cluster: Option<u32>,
    /// `loan` / `copy`.
    pub service: &'a str,
    /// The string.
    pub lenders: &'a [String],
    /// The request document.
    pub document: &'a str,
}

impl Tx<'_> {
    /// The transaction a requester's id names.
    pub fn find(&self, requester: &str, request_id: &str) -> Result<Option<Txn>, StoreError> {
        Ok(self
            .t
            .query_row(
                &format!("SELECT {TXN_COLUMNS} FROM txn WHERE requester = ?1 AND request_id = ?2"),
                params![requester, request_id],
                txn_row,
            )
            .optional()?)
    }

    /// A transaction by row id.
    pub fn get(&self, id: i64) -> Result<Option<Txn>, StoreError> {
        Ok(self
            .t
            .query_row(
                &format!("SELECT {TXN_COLUMNS} FROM txn WHERE id = ?1"),
                [id],
                txn_row,
            )
            .optional()?)
    }

    /// Opens a transaction (asking its first lender, if it has one).
    pub fn open(&mut self, n: &NewTxn<'_>, now: i64) -> Result<Txn, StoreError> {
        let lenders = serde_json::to_string(n.lenders).unwrap_or_else(|_| "[]".into());
        self.t.execute(
            "INSERT INTO txn (requester, requester_agency, request_id, cluster, service, lenders,
                 pos, state, document, opened, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 'asking', ?7, ?8, ?8)",
            params![
                n.requester,
                n.requester_agency,
                n.request_id,
                n.cluster,
                n.service,
                lenders,
                n.document,
                now
            ],
        )?;
        let id = self.t.last_insert_rowid();
        // the row was inserted by this very transaction
        self.get(id)?
            .ok_or(StoreError(rusqlite::Error::QueryReturnedNoRows))
    }

    /// Writes a transaction's changed fields back; a closed one loses its document.
    pub fn save(&mut self, x: &Txn, now: i64) -> Result<(), StoreError> {
        let document = if x.state == State::Closed {
            None
        } else {
            x.document.as_deref()
        };
        self.t.execute(
            "UPDATE txn SET pos = ?2, state = ?3, outcome = ?4, deadline = ?5,
                 supplier_request_id = ?6, cancel_asked = ?7, document = ?8, updated = ?9
             WHERE id = ?1",
            params![
                x.id,
                x.pos as i64,
                x.state.as_str(),
                x.outcome,
                if x.state == State::Asking {
                    x.deadline
                } else {
                    None
                },
                x.supplier_request_id,
                i64::from(x.cancel_asked),
                document,
                now
            ],
        )?;
        Ok(())
    }

    /// Records that a message was handled; false if it had been already (a resend).
    pub fn first_time(&mut self, txn: i64, digest: &str) -> Result<bool, StoreError> {
        Ok(self.t.execute(
            "INSERT OR IGNORE INTO seen (txn, digest) VALUES (?1, ?2)",
            params![txn, digest],
        )? == 1)
    }

    /// Queues a message for a peer, due `now`, given up at `give_up_at` if never confirmed.
    pub fn send(&mut self, o: &Owed<'_>, now: i64, give_up_at: i64) -> Result<(), StoreError> {
        self.t.execute(
            "INSERT INTO outbox (txn, dest, body, what, refused_means_next, next_at, give_up_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                o.txn,
                o.dest,
                o.body,
                o.what,
                i64::from(o.refused_means_next),
                now,
                give_up_at
            ],
        )?;
        Ok(())
    }

    /// Drops the messages still owed to a peer for a transaction (a lender the broker
    /// moved on from is not sent what it was owed, except what `keep` says).
    pub fn forget_owed(&mut self, txn: i64, dest: &str) -> Result<(), StoreError> {
        self.t.execute(
            "DELETE FROM outbox WHERE txn = ?1 AND dest = ?2",
            params![txn, dest],
        )?;
        Ok(())
    }

    /// A message confirmed by its peer: delete it.
    pub fn delivered(&mut self, id: i64) -> Result<(), StoreError> {
        self.t.execute("DELETE FROM outbox WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Queues a lifecycle event for the log.
    pub fn event(&mut self, e: &rota_routing::Event) -> Result<(), StoreError> {
        let json = serde_json::to_string(e).unwrap_or_default();
        self.t
            .execute("INSERT INTO events (json) VALUES (?1)", [json])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_and_its_outbox_survive_a_reopen_and_close_forgets_the_document() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.sqlite");
        let lenders = vec!["L1".to_string(), "L2".to_string()];
        {
            let mut s = Store::open(&path).unwrap();
            s.atomically(|t| -> Result<(), StoreError> {
                let x = t.open(
                    &NewTxn {
                        requester: "B",
                        requester_agency: "ISIL:B",
                        request_id: "B-1",
                        cluster: Some(7),
                        service: "loan",
                        lenders: &lenders,
                        document: "<patron/>",
                    },
                    100,
                )?;
                t.send(
                    &Owed {
                        txn: x.id,
                        dest: "http://l1",
                        body: "<request/>",
                        what: "request",
                        refused_means_next: true,
                    },
                    100,
                    1000,
                )?;
                t.send(
                    &Owed {
                        txn: x.id,
                        dest: "http://l1",
                        body: "<second/>",
                        what: "relay",
                        refused_means_next: false,
                    },
                    100,
                    1000,
                )?;
                t.send(
                    &Owed {
                        txn: x.id,
                        dest: "http://b",
                        body: "<to-b/>",
                        what: "relay",
                        refused_means_next: false,
                    },
                    100,
                    1000,
                )?;
                Ok(())
            })
            .unwrap();
        }
        let mut s = Store::open(&path).unwrap();
        // one per transaction and peer, oldest first
        let due = s.due(100, 10, &[]).unwrap();
        assert_eq!(
            due.iter().map(|o| o.body.as_str()).collect::<Vec<_>>(),
            ["<request/>", "<to-b/>"]
        );
        assert!(due[0].refused_means_next);
        assert!(s.due(99, 10, &[]).unwrap().is_empty());
        assert_eq!(s.due(100, 10, &[due[0].id]).unwrap().len(), 1);
        // a failed send waits; past its limit it is given up
        assert!(!s.retry_later(due[1].id, 150, 200).unwrap());
        assert_eq!(s.due(150, 10, &[]).unwrap().len(), 1);
        assert!(s.retry_later(due[1].id, 1000, 2000).unwrap());
        s.atomically(|t| -> Result<(), StoreError> {
            t.delivered(due[0].id)?;
            let mut x = t.find("B", "B-1")?.unwrap();
            assert_eq!(x.lender(), Some("L1"));
            assert!(t.first_time(x.id, "d1")?);
            assert!(!t.first_time(x.id, "d1")?);
            x.state = State::Closed;
            x.outcome = Some("filled".into());
            t.save(&x, 200)
        })
        .unwrap();
        assert_eq!(s.due(100, 10, &[]).unwrap()[0].body, "<second/>");
        let x = s.atomically(|t| t.find("B", "B-1")).unwrap().unwrap();
        assert_eq!(x.document, None);
        assert_eq!(x.outcome.as_deref(), Some("filled"));
        assert_eq!(s.purge_closed(201).unwrap(), 1);
    }
}

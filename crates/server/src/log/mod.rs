//! The durable log: nothing acknowledged is ever lost.
//!
//! Records are appended to segment files `log-<first seq>.rlog` in the data directory:
//!
//! ```text
//! u32 LE payload length | u32 LE CRC-32 of payload | payload (JSON of a LogRecord)
//! ```
//!
//! One writer thread takes every append waiting in its queue, writes them, calls
//! `fdatasync` once (group commit: many writers share one sync), applies them to the live
//! state in log order through the `on_durable` callback, and only then acknowledges each.
//! So the order of the log is the order of application, and replay reproduces the state.
//!
//! On open, segments are scanned; a record with a short length, a short payload or a bad
//! checksum at the tail is a torn write from a crash and is truncated away (never
//! replayed); the same damage *before* the tail is corruption and refuses the start.
//!
//! A failed write (full disk, read-only directory) truncates back to the last whole
//! record and answers every waiting append with an error; routing is unaffected.

use tokio::sync::mpsc;

use serde::{Deserialize, Serialize};

mod read;
mod writer;

pub use read::{ARCHIVE, Damage, Segment, parse_segment, read_only, replay};
pub use writer::{SyncObserver, start};

/// Largest record accepted (a holdings batch is the biggest).
pub const MAX_RECORD: usize = 16 << 20;

/// What the log holds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LogRecord {
    /// A lifecycle event.
    Event(rota_routing::Event),
    /// A weight profile created or replaced.
    Profile {
        /// Who (token name).
        who: String,
        /// The profile.
        profile: rota_routing::Profile,
        /// New version.
        version: u64,
        /// Why, as the operator said (empty in records from before comments were kept).
        #[serde(default)]
        comment: String,
    },
    /// A lender entry created or replaced.
    Lender {
        /// Who.
        who: String,
        /// The entry.
        lender: Box<rota_routing::Lender>,
        /// New version.
        version: u64,
        /// Why, as the operator said.
        #[serde(default)]
        comment: String,
    },
    /// Holdings changes.
    Holdings {
        /// Who.
        who: String,
        /// The changes.
        ops: Vec<rota_catalog::DeltaOp>,
    },
}

/// Log failures (ours or the machine's; routing keeps working).
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// I/O failure (full disk, permissions).
    #[error("durable log write failed: {0}")]
    Io(String),
    /// The writer thread is gone (shutting down).
    #[error("durable log is closed")]
    Closed,
    /// Corruption before the tail.
    #[error("log segment {file} is corrupt at byte {offset}: {why}")]
    Corrupt {
        /// File.
        file: String,
        /// Offset.
        offset: u64,
        /// Why.
        why: String,
    },
    /// Record too large.
    #[error("log record of {0} bytes exceeds the {MAX_RECORD}-byte limit")]
    TooLarge(usize),
}

/// Appends one record's frame (length, checksum, payload) to `buf`: the one place the
/// framing that [`parse_segment`] reads is written. `payload` is at most [`MAX_RECORD`]
/// bytes ([`LogHandle::submit`] refuses larger), so its length fits the `u32`.
pub fn frame_into(buf: &mut Vec<u8>, payload: &[u8]) {
    debug_assert!(payload.len() <= MAX_RECORD);
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    buf.extend_from_slice(payload);
}

/// A replayed record and its sequence number.
pub type Replayed = (u64, LogRecord);

pub(crate) struct Append {
    pub(crate) payload: Vec<u8>,
    pub(crate) record: LogRecord,
    pub(crate) reply: tokio::sync::oneshot::Sender<Result<u64, String>>,
}

/// Handle to the writer thread.
#[derive(Clone)]
pub struct LogHandle {
    pub(crate) tx: mpsc::Sender<Msg>,
}

/// An append in the queue; [`Receipt::durable`] resolves once it is synced and applied.
pub struct Receipt(pub(crate) tokio::sync::oneshot::Receiver<Result<u64, String>>);

impl Receipt {
    /// Waits until the record is durable; returns its sequence number.
    pub async fn durable(self) -> Result<u64, LogError> {
        self.0
            .await
            .map_err(|_| LogError::Closed)?
            .map_err(LogError::Io)
    }
}

pub(crate) enum Msg {
    Append(Box<Append>),
    /// Start a new segment at the next sequence and delete segments whose records are all
    /// ≤ `upto` (called after a state checkpoint covering `upto`).
    Rotate {
        upto: u64,
    },
    /// Run a task on the writer thread, in queue order (see [`LogHandle::in_order`]).
    Run(Box<dyn FnOnce() + Send>),
}

impl LogHandle {
    /// Queues a record. Records queued one after another by the same caller keep that
    /// order in the log; the queue is bounded, so this waits when the writer is behind.
    pub async fn submit(&self, record: LogRecord) -> Result<Receipt, LogError> {
        let payload = serde_json::to_vec(&record).map_err(|e| LogError::Io(e.to_string()))?;
        if payload.len() > MAX_RECORD {
            return Err(LogError::TooLarge(payload.len()));
        }
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.tx
            .send(Msg::Append(Box::new(Append {
                payload,
                record,
                reply,
            })))
            .await
            .map_err(|_| LogError::Closed)?;
        Ok(Receipt(rx))
    }

    /// Appends a record; resolves once it is durable and applied.
    pub async fn append(&self, record: LogRecord) -> Result<u64, LogError> {
        self.submit(record).await?.durable().await
    }

    /// Runs `task` on the writer thread after every record queued before it has been
    /// written and applied, and before any queued after: a change to what the records
    /// apply to (a reloaded catalogue) takes its place in the one order of changes, so no
    /// record applied meanwhile is lost. The task is not logged.
    pub async fn in_order<T: Send + 'static>(
        &self,
        task: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, LogError> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.tx
            .send(Msg::Run(Box::new(move || {
                let _ = reply.send(task());
            })))
            .await
            .map_err(|_| LogError::Closed)?;
        rx.await.map_err(|_| LogError::Closed)
    }

    /// Asks the writer to start a new segment and drop segments covered by `upto`.
    pub fn rotate(&self, upto: u64) {
        let _ = self.tx.try_send(Msg::Rotate { upto });
    }
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;
    use std::io::Write;
    use std::time::Instant;

    use super::read::segments;
    use super::*;
    use rota_routing::{Event, EventKind, Service};

    fn ev(i: u64) -> LogRecord {
        LogRecord::Event(Event {
            at: i as i64,
            request_id: format!("r{i}"),
            borrower: "A".into(),
            lender: "B".into(),
            cluster: None,
            service: Service::Loan,
            kind: EventKind::Sent,
        })
    }

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_disk_fails_the_append_and_keeps_the_writer_alive() {
        // /dev/full answers every write with ENOSPC, as a full disk does
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(
            "/dev/full",
            dir.path().join("log-00000000000000000001.rlog"),
        )
        .unwrap();
        let h = start(
            dir.path(),
            1,
            |_| panic!("nothing may be applied"),
            Box::new(|_, _| {}),
            16,
            0,
        )
        .unwrap();
        for i in 0..3 {
            let e = h.append(ev(i)).await.unwrap_err();
            assert!(matches!(e, LogError::Io(_)), "{e}");
            assert!(e.to_string().contains("No space left"), "{e}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checkpointed_segments_are_archived_for_replay() {
        let dir = tempfile::tempdir().unwrap();
        let h = start(dir.path(), 1, |_| {}, Box::new(|_, _| {}), 64, 30).unwrap();
        for i in 0..10 {
            h.append(ev(i)).await.unwrap();
        }
        h.rotate(10);
        let t = Instant::now();
        while segments(dir.path()).unwrap()[0].0 != 11 && t.elapsed().as_secs() < 10 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(h.append(ev(10)).await.unwrap(), 11);
        let live = segments(dir.path()).unwrap();
        assert_eq!(live.len(), 1, "only the new segment stays live");
        assert_eq!(live[0].0, 11);
        assert_eq!(segments(&dir.path().join(ARCHIVE)).unwrap().len(), 1);
        // the server replays from its checkpoint: the live segment only
        assert_eq!(replay(dir.path()).unwrap().0.len(), 1);
        // replay tools read the archive too, and change nothing on a torn tail
        let (_, p) = live[0].clone();
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(&[50, 0, 0, 0, 1]).unwrap();
        drop(f);
        let len = std::fs::metadata(&p).unwrap().len();
        let (all, next) = read_only(dir.path()).unwrap();
        assert_eq!(all.len(), 11);
        assert_eq!(next, 12);
        assert_eq!(
            std::fs::metadata(&p).unwrap().len(),
            len,
            "read_only never truncates"
        );
        drop(h);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn append_replay_and_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let applied = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let a2 = applied.clone();
        let h = start(
            dir.path(),
            1,
            move |r| a2.lock().unwrap().extend(r.iter().map(|x| x.0)),
            Box::new(|_, _| {}),
            1024,
            0,
        )
        .unwrap();
        let mut tasks = Vec::new();
        for i in 0..200 {
            let h = h.clone();
            tasks.push(tokio::spawn(async move { h.append(ev(i)).await.unwrap() }));
        }
        let mut seqs: Vec<u64> = Vec::new();
        for t in tasks {
            seqs.push(t.await.unwrap());
        }
        seqs.sort();
        assert_eq!(seqs, (1..=200).collect::<Vec<_>>());
        assert_eq!(
            *applied.lock().unwrap(),
            (1..=200).collect::<Vec<_>>(),
            "applied in log order"
        );
        drop(h);
        // tear the tail: half a record
        let (_, p) = segments(dir.path()).unwrap().pop().unwrap();
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(&[50, 0, 0, 0, 1, 2, 3]).unwrap();
        drop(f);
        let (recs, next) = replay(dir.path()).unwrap();
        assert_eq!(recs.len(), 200);
        assert_eq!(next, 201);
        let ids: std::collections::HashSet<String> = recs
            .iter()
            .map(|(_, r)| match r {
                LogRecord::Event(e) => e.request_id.clone(),
                _ => String::new(),
            })
            .collect();
        assert_eq!(ids.len(), 200, "every acknowledged event replays, once");
        // and a flipped byte in the last record is a torn tail too, never garbage
        let len = std::fs::metadata(&p).unwrap().len();
        let mut data = std::fs::read(&p).unwrap();
        data[len as usize - 3] ^= 0xFF;
        std::fs::write(&p, &data).unwrap();
        let (recs, next) = replay(dir.path()).unwrap();
        assert_eq!(recs.len(), 199);
        assert_eq!(next, 200);
    }
}

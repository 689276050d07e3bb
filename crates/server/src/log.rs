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

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use tokio::sync::mpsc;

use serde::{Deserialize, Serialize};

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
    },
    /// A lender entry created or replaced.
    Lender {
        /// Who.
        who: String,
        /// The entry.
        lender: Box<rota_routing::Lender>,
        /// New version.
        version: u64,
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

/// A replayed record and its sequence number.
pub type Replayed = (u64, LogRecord);

struct Append {
    payload: Vec<u8>,
    record: LogRecord,
    reply: tokio::sync::oneshot::Sender<Result<u64, String>>,
}

/// Handle to the writer thread.
#[derive(Clone)]
pub struct LogHandle {
    tx: mpsc::Sender<Msg>,
}

/// An append in the queue; [`Receipt::durable`] resolves once it is synced and applied.
pub struct Receipt(tokio::sync::oneshot::Receiver<Result<u64, String>>);

impl Receipt {
    /// Waits until the record is durable; returns its sequence number.
    pub async fn durable(self) -> Result<u64, LogError> {
        self.0
            .await
            .map_err(|_| LogError::Closed)?
            .map_err(LogError::Io)
    }
}

enum Msg {
    Append(Box<Append>),
    /// Start a new segment at the next sequence and delete segments whose records are all
    /// ≤ `upto` (called after a state checkpoint covering `upto`).
    Rotate {
        upto: u64,
    },
}

fn segments(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if let Some(n) = name
            .strip_prefix("log-")
            .and_then(|s| s.strip_suffix(".rlog"))
            && let Ok(seq) = n.parse::<u64>()
        {
            v.push((seq, p));
        }
    }
    v.sort();
    Ok(v)
}

/// Reads every record of the log, truncating a torn tail. Returns the records with
/// sequence numbers and the next sequence.
pub fn replay(dir: &Path) -> Result<(Vec<Replayed>, u64), LogError> {
    let io = |e: std::io::Error| LogError::Io(e.to_string());
    std::fs::create_dir_all(dir).map_err(io)?;
    read(segments(dir).map_err(io)?, true)
}

/// Reads the log without changing it: a torn tail (a live server may be mid-write) ends
/// the read instead of being truncated. For offline readers such as `rota simulate
/// --replay`: the archived segments (see [`start`]'s `archive_days`), then the live ones.
pub fn read_only(dir: &Path) -> Result<(Vec<Replayed>, u64), LogError> {
    let io = |e: std::io::Error| LogError::Io(e.to_string());
    if !dir.is_dir() {
        return Err(LogError::Io(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    let archive = dir.join(ARCHIVE);
    let mut segs = if archive.is_dir() {
        segments(&archive).map_err(io)?
    } else {
        Vec::new()
    };
    segs.extend(segments(dir).map_err(io)?);
    segs.sort();
    segs.dedup_by_key(|s| s.0);
    read(segs, false)
}

/// Where segments covered by a checkpoint go when they are kept for replay.
pub const ARCHIVE: &str = "archive";

fn read(segs: Vec<(u64, PathBuf)>, repair: bool) -> Result<(Vec<Replayed>, u64), LogError> {
    let io = |e: std::io::Error| LogError::Io(e.to_string());
    let mut out = Vec::new();
    let mut next = segs.first().map_or(1, |s| s.0);
    for (k, (first, path)) in segs.iter().enumerate() {
        let last_segment = k + 1 == segs.len();
        if *first != next && !out.is_empty() {
            return Err(LogError::Corrupt {
                file: path.display().to_string(),
                offset: 0,
                why: format!("segment starts at {first}, expected {next}"),
            });
        }
        next = *first;
        let mut data = Vec::new();
        File::open(path)
            .and_then(|mut f| f.read_to_end(&mut data))
            .map_err(io)?;
        let mut off = 0usize;
        loop {
            if off == data.len() {
                break;
            }
            let torn = |why: &str| -> Result<(), LogError> {
                if last_segment {
                    Ok(())
                } else {
                    Err(LogError::Corrupt {
                        file: path.display().to_string(),
                        offset: off as u64,
                        why: why.to_string(),
                    })
                }
            };
            if data.len() - off < 8 {
                torn("short header")?;
                if repair {
                    truncate(path, off as u64).map_err(io)?;
                }
                break;
            }
            let len =
                u32::from_le_bytes(data[off..off + 4].try_into().unwrap_or_default()) as usize;
            let crc = u32::from_le_bytes(data[off + 4..off + 8].try_into().unwrap_or_default());
            if len > MAX_RECORD || data.len() - off - 8 < len {
                torn("short payload")?;
                if repair {
                    truncate(path, off as u64).map_err(io)?;
                }
                break;
            }
            let payload = &data[off + 8..off + 8 + len];
            if crc32fast::hash(payload) != crc {
                if off + 8 + len < data.len() {
                    // whole records follow: this is damage, not a torn write; refuse
                    // rather than drop acknowledged records after it
                    return Err(LogError::Corrupt {
                        file: path.display().to_string(),
                        offset: off as u64,
                        why: "checksum mismatch before the end of the log".into(),
                    });
                }
                torn("checksum mismatch")?;
                if repair {
                    truncate(path, off as u64).map_err(io)?;
                }
                break;
            }
            let rec: LogRecord = match serde_json::from_slice(payload) {
                Ok(r) => r,
                Err(e) => {
                    // a whole, checksummed record that does not parse is not a torn write
                    return Err(LogError::Corrupt {
                        file: path.display().to_string(),
                        offset: off as u64,
                        why: format!("unreadable record: {e}"),
                    });
                }
            };
            out.push((next, rec));
            next += 1;
            off += 8 + len;
        }
    }
    Ok((out, next))
}

fn truncate(path: &Path, len: u64) -> std::io::Result<()> {
    tracing::warn!(file = %path.display(), at = len, "truncating torn tail of the log");
    let f = OpenOptions::new().write(true).open(path)?;
    f.set_len(len)?;
    f.sync_all()
}

/// Durable-log metrics hook: called with the number of records and the sync time.
pub type SyncObserver = Box<dyn Fn(usize, std::time::Duration) + Send>;

/// Starts the writer thread. `on_durable` is called with each batch of synced records
/// (in sequence order) before they are acknowledged. Segments a checkpoint covers are
/// moved to `archive/` and deleted after `archive_days` (0: deleted at once), so that
/// `rota simulate --replay` has past traffic to re-route.
pub fn start(
    dir: &Path,
    next_seq: u64,
    mut on_durable: impl FnMut(&[(u64, LogRecord)]) + Send + 'static,
    observe: SyncObserver,
    queue: usize,
    archive_days: u32,
) -> Result<LogHandle, LogError> {
    let io = |e: std::io::Error| LogError::Io(e.to_string());
    std::fs::create_dir_all(dir).map_err(io)?;
    let segs = segments(dir).map_err(io)?;
    let path = match segs.last() {
        Some((_, p)) => p.clone(),
        None => dir.join(format!("log-{next_seq:020}.rlog")),
    };
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io)?;
    let (tx, mut rx) = mpsc::channel::<Msg>(queue);
    let dir = dir.to_path_buf();
    std::thread::Builder::new()
        .name("rota-log".into())
        .spawn(move || {
            let mut w = Writer {
                dir,
                file,
                path,
                next: next_seq,
                archive_days,
            };
            while let Some(first) = rx.blocking_recv() {
                let mut batch = Vec::new();
                let mut rotate = None;
                let mut push = |m: Msg, batch: &mut Vec<Append>| match m {
                    Msg::Append(a) => batch.push(*a),
                    Msg::Rotate { upto } => rotate = Some(upto),
                };
                push(first, &mut batch);
                // group commit: take everything already waiting, up to a bound
                while batch.len() < 8192 {
                    match rx.try_recv() {
                        Ok(m) => push(m, &mut batch),
                        Err(_) => break,
                    }
                }
                if !batch.is_empty() {
                    let t = Instant::now();
                    match w.write(&batch) {
                        Ok(first_seq) => {
                            observe(batch.len(), t.elapsed());
                            let recs: Vec<(u64, LogRecord)> = batch
                                .iter()
                                .enumerate()
                                .map(|(i, a)| (first_seq + i as u64, a.record.clone()))
                                .collect();
                            on_durable(&recs);
                            for (a, (seq, _)) in batch.into_iter().zip(recs) {
                                let _ = a.reply.send(Ok(seq));
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, records = batch.len(), "durable log write failed");
                            for a in batch {
                                let _ = a.reply.send(Err(e.to_string()));
                            }
                        }
                    }
                }
                if let Some(upto) = rotate
                    && let Err(e) = w.rotate(upto)
                {
                    tracing::warn!(error = %e, "log rotation failed; old segments kept");
                }
            }
        })
        .map_err(io)?;
    Ok(LogHandle { tx })
}

struct Writer {
    dir: PathBuf,
    file: File,
    path: PathBuf,
    next: u64,
    archive_days: u32,
}

impl Writer {
    fn write(&mut self, batch: &[Append]) -> std::io::Result<u64> {
        let start = self.file.seek(SeekFrom::End(0))?;
        let mut buf = Vec::with_capacity(batch.iter().map(|a| a.payload.len() + 8).sum());
        for a in batch {
            buf.extend_from_slice(&(a.payload.len() as u32).to_le_bytes());
            buf.extend_from_slice(&crc32fast::hash(&a.payload).to_le_bytes());
            buf.extend_from_slice(&a.payload);
        }
        let res = self
            .file
            .write_all(&buf)
            .and_then(|_| self.file.sync_data());
        if let Err(e) = res {
            // leave no partial record behind: the next batch must start on a boundary
            let _ = self.file.set_len(start);
            return Err(e);
        }
        let first = self.next;
        self.next += batch.len() as u64;
        Ok(first)
    }

    fn rotate(&mut self, upto: u64) -> std::io::Result<()> {
        let path = self.dir.join(format!("log-{:020}.rlog", self.next));
        if path != self.path {
            let file = OpenOptions::new().create(true).append(true).open(&path)?;
            File::open(&self.dir)?.sync_all()?;
            self.file = file;
            self.path = path;
        }
        // archive (or delete) segments entirely covered by the checkpoint
        let segs = segments(&self.dir)?;
        let archive = self.dir.join(ARCHIVE);
        for w in segs.windows(2) {
            let (_, p) = &w[0];
            let (next_first, _) = w[1];
            if next_first <= upto + 1 {
                match p.file_name() {
                    Some(name) if self.archive_days > 0 => {
                        std::fs::create_dir_all(&archive)?;
                        std::fs::rename(p, archive.join(name))?;
                    }
                    _ => std::fs::remove_file(p)?,
                }
            }
        }
        if archive.is_dir() {
            let keep = std::time::Duration::from_secs(u64::from(self.archive_days) * 86_400);
            for (_, p) in segments(&archive)? {
                let old = std::fs::metadata(&p)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > keep);
                if old {
                    std::fs::remove_file(&p)?;
                }
            }
        }
        Ok(())
    }
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

    /// Asks the writer to start a new segment and drop segments covered by `upto`.
    pub fn rotate(&self, upto: u64) {
        let _ = self.tx.try_send(Msg::Rotate { upto });
    }
}

#[cfg(test)]
mod tests {
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

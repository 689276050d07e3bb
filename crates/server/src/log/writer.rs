//! The writer thread: group commit, apply in log order, acknowledge, rotate and archive.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use tokio::sync::mpsc;

use super::read::{ARCHIVE, segments};
use super::{Append, LogError, LogHandle, LogRecord, Msg};

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
                let mut run = None;
                // a task runs after the appends queued before it and before those after
                let mut push = |m: Msg, batch: &mut Vec<Append>| match m {
                    Msg::Append(a) => {
                        batch.push(*a);
                        true
                    }
                    Msg::Rotate { upto } => {
                        rotate = Some(upto);
                        true
                    }
                    Msg::Run(f) => {
                        run = Some(f);
                        false
                    }
                };
                let mut more = push(first, &mut batch);
                // group commit: take everything already waiting, up to a bound
                while more && batch.len() < 8192 {
                    match rx.try_recv() {
                        Ok(m) => more = push(m, &mut batch),
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
                if let Some(f) = run {
                    f();
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
            super::frame_into(&mut buf, &a.payload);
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

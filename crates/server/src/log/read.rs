//! Reading the log back: segments in order, a torn tail truncated (or, read only, ended
//! at), damage before the tail refused.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{LogError, LogRecord, MAX_RECORD, Replayed};

pub(super) fn segments(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
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

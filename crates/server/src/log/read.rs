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
        let seg = parse_segment(&data, last_segment).map_err(|d| LogError::Corrupt {
            file: path.display().to_string(),
            offset: d.offset,
            why: d.why,
        })?;
        if let Some(at) = seg.torn_at
            && repair
        {
            truncate(path, at).map_err(io)?;
        }
        for rec in seg.records {
            out.push((next, rec));
            next += 1;
        }
    }
    Ok((out, next))
}

/// One segment's records, and where a torn tail starts if it has one.
#[derive(Debug)]
pub struct Segment {
    /// The whole records, in order.
    pub records: Vec<LogRecord>,
    /// Byte offset of a torn last record (a crash mid-write), to truncate at.
    pub torn_at: Option<u64>,
}

/// Damage in a segment that is not a torn tail.
#[derive(Debug)]
pub struct Damage {
    /// Byte offset of the damaged record.
    pub offset: u64,
    /// What is wrong.
    pub why: String,
}

/// Parses one segment's bytes (see the module doc for the framing). A short or
/// mismatched record at the end is a torn write when `last_segment` (the only place a
/// crash can leave one) and damage anywhere else; a checksum mismatch followed by more
/// records, or a checksummed record that does not parse, is always damage: refusing it
/// keeps acknowledged records after it from being dropped silently.
pub fn parse_segment(data: &[u8], last_segment: bool) -> Result<Segment, Damage> {
    let mut records = Vec::new();
    let mut off = 0usize;
    let torn = |off: usize, why: &str| {
        if last_segment {
            Ok(Segment {
                records: Vec::new(),
                torn_at: Some(off as u64),
            })
        } else {
            Err(Damage {
                offset: off as u64,
                why: why.to_string(),
            })
        }
    };
    while off < data.len() {
        let rest = &data[off..];
        let Some((head, body)) = rest.split_first_chunk::<8>() else {
            return torn(off, "short header").map(|s| Segment { records, ..s });
        };
        let [l0, l1, l2, l3, c0, c1, c2, c3] = *head;
        let len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
        let crc = u32::from_le_bytes([c0, c1, c2, c3]);
        let Some(payload) = body.get(..len).filter(|_| len <= MAX_RECORD) else {
            return torn(off, "short payload").map(|s| Segment { records, ..s });
        };
        if crc32fast::hash(payload) != crc {
            if body.len() > len {
                // whole records follow: this is damage, not a torn write
                return Err(Damage {
                    offset: off as u64,
                    why: "checksum mismatch before the end of the log".into(),
                });
            }
            return torn(off, "checksum mismatch").map(|s| Segment { records, ..s });
        }
        match serde_json::from_slice(payload) {
            Ok(r) => records.push(r),
            // a whole, checksummed record that does not parse is not a torn write
            Err(e) => {
                return Err(Damage {
                    offset: off as u64,
                    why: format!("unreadable record: {e}"),
                });
            }
        }
        off += 8 + len;
    }
    Ok(Segment {
        records,
        torn_at: None,
    })
}

fn truncate(path: &Path, len: u64) -> std::io::Result<()> {
    tracing::warn!(file = %path.display(), at = len, "truncating torn tail of the log");
    let f = OpenOptions::new().write(true).open(path)?;
    f.set_len(len)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::frame_into;

    fn framed(records: &[LogRecord]) -> Vec<u8> {
        let mut b = Vec::new();
        for r in records {
            frame_into(&mut b, &serde_json::to_vec(r).unwrap());
        }
        b
    }

    fn profile(turnaround: f64) -> LogRecord {
        let mut p = rota_routing::Profile::default();
        p.weights.turnaround = turnaround;
        LogRecord::Profile {
            who: "ops".into(),
            profile: p,
            version: 2,
            comment: String::new(),
        }
    }

    #[test]
    fn a_torn_tail_is_torn_only_in_the_last_segment() {
        let mut b = framed(&[profile(0.5), profile(0.25)]);
        let whole = b.len() as u64;
        b.extend_from_slice(&[9, 0, 0, 0, 1, 2]);
        let seg = parse_segment(&b, true).unwrap();
        assert_eq!(seg.records.len(), 2);
        assert_eq!(seg.torn_at, Some(whole));
        let d = parse_segment(&b, false).unwrap_err();
        assert_eq!(d.offset, whole);
    }

    #[test]
    fn damage_followed_by_whole_records_is_refused_even_at_the_end() {
        let mut b = framed(&[profile(0.5), profile(0.25)]);
        b[10] ^= 1; // inside the first payload
        let d = parse_segment(&b, true).unwrap_err();
        assert_eq!(d.offset, 0);
        assert!(d.why.contains("checksum"), "{}", d.why);
    }

    /// Found by the `wire` fuzz target: without serde_json's exact float parsing, a weight
    /// the server acknowledged came back one unit in the last place off after a restart.
    #[test]
    fn every_float_survives_the_log_exactly() {
        for w in [
            6.664_322_778_230_431_5e-81,
            0.1,
            1.0 / 3.0,
            f64::MIN_POSITIVE,
            1e308,
        ] {
            let rec = profile(w);
            let back = parse_segment(&framed(std::slice::from_ref(&rec)), false).unwrap();
            assert_eq!(back.records, vec![rec]);
        }
    }
}

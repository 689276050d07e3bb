//! The snapshot container: a versioned, checksummed file of named sections.
//!
//! ```text
//! 0   magic     "ROTACAT\0"
//! 8   version   u32 LE          (FORMAT_VERSION)
//! 12  sections  u32 LE          (count)
//! 16  body_len  u64 LE          (bytes after the 64-byte header)
//! 24  crc32     u32 LE          (CRC-32C of the body)
//! 28  reserved  36 bytes of zero
//! 64  table     sections × { id u32, pad u32, offset u64, len u64 }   (offsets from 0)
//! ..  sections, each 8-byte aligned
//! ```
//!
//! Everything is validated before a byte of a section is trusted: magic, version, the
//! body length against the file length (truncation), the checksum (corruption), then
//! every section's bounds. The sections themselves are used in place (the file is
//! memory-mapped), so a loaded snapshot costs page cache, not heap.

use std::path::Path;
use std::sync::Arc;

/// Magic bytes at the start of every snapshot.
pub const MAGIC: &[u8; 8] = b"ROTACAT\0";
/// Format version this build reads and writes. 3: valid ISBN, ISSN and OCLC keys are
/// binary (`Ident::key`); a version-2 index would answer their lookups with nothing.
/// 5: holdings say loan and copy apart (a version-4 flag byte would be misread), the
/// token index drops more stop words, cancelled identifiers have keys of their own.
/// 6: posting lists lose their self-describing headers, a word of one cluster is that
/// cluster (`crate::index::tokens`).
pub const FORMAT_VERSION: u32 = 6;
const HEADER: usize = 64;
const ENTRY: usize = 24;

/// Why a snapshot was refused.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The file could not be opened or read.
    #[error("cannot read snapshot {path}: {source}")]
    Io {
        /// File path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Not a rota snapshot at all.
    #[error("not a rota catalogue snapshot (bad magic bytes)")]
    BadMagic,
    /// Written by another format version.
    #[error(
        "snapshot format version {found} is not supported (this build reads version {supported}); rebuild it"
    )]
    WrongVersion {
        /// Version in the file.
        found: u32,
        /// Version we read.
        supported: u32,
    },
    /// Shorter than its header says.
    #[error("snapshot is truncated: header promises {expected} bytes, file has {actual}")]
    Truncated {
        /// Bytes expected.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// Checksum mismatch.
    #[error("snapshot is corrupt: checksum {found:08x} does not match {expected:08x}")]
    Checksum {
        /// Stored.
        expected: u32,
        /// Computed.
        found: u32,
    },
    /// A section is missing or malformed.
    #[error("snapshot section {0} is missing or malformed")]
    Section(&'static str),
}

/// Shared immutable bytes: a memory map or an owned buffer.
#[derive(Clone)]
pub enum Bytes {
    /// Owned, e.g. a snapshot just built in memory.
    Owned(Arc<Vec<u8>>),
    /// A read-only memory map of a snapshot file.
    Mapped(Arc<memmap2::Mmap>),
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            Bytes::Owned(v) => v,
            Bytes::Mapped(m) => m,
        }
    }
}

/// A byte range of a shared buffer (what fst maps and arrays are built on).
#[derive(Clone)]
pub struct Slice {
    bytes: Bytes,
    start: usize,
    end: usize,
}

impl AsRef<[u8]> for Slice {
    fn as_ref(&self) -> &[u8] {
        &self.bytes.as_ref()[self.start..self.end]
    }
}

impl Slice {
    /// An empty slice.
    pub fn empty() -> Slice {
        Slice {
            bytes: Bytes::Owned(Arc::new(Vec::new())),
            start: 0,
            end: 0,
        }
    }
}

/// Writes sections into a snapshot buffer.
#[derive(Default)]
pub struct Writer {
    sections: Vec<(u32, Vec<u8>)>,
}

impl Writer {
    /// Adds a section.
    pub fn section(&mut self, id: u32, data: Vec<u8>) {
        self.sections.push((id, data));
    }

    /// Serialises with header, table and checksum.
    pub fn finish(self) -> Vec<u8> {
        let table_end = HEADER + ENTRY * self.sections.len();
        let mut total = table_end;
        let mut offsets = Vec::new();
        for (_, d) in &self.sections {
            total = total.next_multiple_of(8);
            offsets.push(total);
            total += d.len();
        }
        let mut out = vec![0u8; total];
        out[..8].copy_from_slice(MAGIC);
        out[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        out[12..16].copy_from_slice(&(self.sections.len() as u32).to_le_bytes());
        out[16..24].copy_from_slice(&((total - HEADER) as u64).to_le_bytes());
        for (i, ((id, d), off)) in self.sections.iter().zip(&offsets).enumerate() {
            let e = HEADER + i * ENTRY;
            out[e..e + 4].copy_from_slice(&id.to_le_bytes());
            out[e + 8..e + 16].copy_from_slice(&(*off as u64).to_le_bytes());
            out[e + 16..e + 24].copy_from_slice(&(d.len() as u64).to_le_bytes());
            out[*off..*off + d.len()].copy_from_slice(d);
        }
        let crc = crc32fast::hash(&out[HEADER..]);
        out[24..28].copy_from_slice(&crc.to_le_bytes());
        out
    }
}

/// A validated snapshot: its bytes and section table.
#[derive(Clone)]
pub struct Reader {
    bytes: Bytes,
    table: Vec<(u32, usize, usize)>,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

impl Reader {
    /// Validates a buffer.
    pub fn new(bytes: Bytes) -> Result<Reader, SnapshotError> {
        let b = bytes.as_ref();
        if b.len() < 8 || &b[..8] != MAGIC {
            return Err(SnapshotError::BadMagic);
        }
        if b.len() < HEADER {
            return Err(SnapshotError::Truncated {
                expected: HEADER as u64,
                actual: b.len() as u64,
            });
        }
        let version = u32_at(b, 8);
        if version != FORMAT_VERSION {
            return Err(SnapshotError::WrongVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let body = u64_at(b, 16);
        let expected = body.saturating_add(HEADER as u64);
        if expected != b.len() as u64 {
            return Err(SnapshotError::Truncated {
                expected,
                actual: b.len() as u64,
            });
        }
        let stored = u32_at(b, 24);
        let found = crc32fast::hash(&b[HEADER..]);
        if stored != found {
            return Err(SnapshotError::Checksum {
                expected: stored,
                found,
            });
        }
        let n = u32_at(b, 12) as usize;
        if HEADER + n.saturating_mul(ENTRY) > b.len() {
            return Err(SnapshotError::Section("table"));
        }
        let mut table = Vec::with_capacity(n);
        for i in 0..n {
            let e = HEADER + i * ENTRY;
            let id = u32_at(b, e);
            let off = u64_at(b, e + 8) as usize;
            let len = u64_at(b, e + 16) as usize;
            if off.checked_add(len).is_none_or(|end| end > b.len()) {
                return Err(SnapshotError::Section("table"));
            }
            table.push((id, off, off + len));
        }
        Ok(Reader { bytes, table })
    }

    /// Memory-maps and validates a file.
    pub fn open(path: &Path) -> Result<Reader, SnapshotError> {
        let io = |source| SnapshotError::Io {
            path: path.display().to_string(),
            source,
        };
        let f = std::fs::File::open(path).map_err(io)?;
        let len = f.metadata().map_err(io)?.len();
        if len == 0 {
            return Err(SnapshotError::BadMagic);
        }
        // SAFETY-free: memmap2's map is unsafe only because another process could truncate
        // the file under us; snapshots are written to a temp file and renamed into place,
        // never modified, so we read the file into memory instead when mapping is refused.
        let bytes = match map(&f) {
            Some(m) => Bytes::Mapped(Arc::new(m)),
            None => Bytes::Owned(Arc::new(std::fs::read(path).map_err(io)?)),
        };
        Reader::new(bytes)
    }

    /// A section by id.
    pub fn section(&self, id: u32, name: &'static str) -> Result<Slice, SnapshotError> {
        self.table
            .iter()
            .find(|(i, _, _)| *i == id)
            .map(|&(_, start, end)| Slice {
                bytes: self.bytes.clone(),
                start,
                end,
            })
            .ok_or(SnapshotError::Section(name))
    }

    /// Total size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.as_ref().len()
    }

    /// Whether the snapshot is empty (never true for a valid one).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[allow(unsafe_code)]
fn map(f: &std::fs::File) -> Option<memmap2::Mmap> {
    // SAFETY: the mapping is read-only and snapshot files are immutable once renamed into
    // place (see `write_atomic`); a concurrent truncation by another program is the one
    // hazard, and it is documented in the README's operations notes.
    unsafe { memmap2::Mmap::map(f) }.ok()
}

/// Reads an input file: memory-mapped when possible (no copy, no zeroed pages for a
/// 250 MB MARC file), else read into memory.
pub fn read_input(path: &Path) -> std::io::Result<Bytes> {
    let f = std::fs::File::open(path)?;
    if f.metadata()?.len() > 0
        && let Some(m) = map(&f)
    {
        return Ok(Bytes::Mapped(Arc::new(m)));
    }
    Ok(Bytes::Owned(Arc::new(std::fs::read(path)?)))
}

/// Writes `data` to `path` atomically (temp file, fsync, rename).
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name()
            .and_then(|s| s.to_str())
            .unwrap_or("snapshot"),
        std::process::id()
    ));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut w = Writer::default();
        w.section(1, b"hello".to_vec());
        w.section(2, vec![7; 100]);
        w.finish()
    }

    #[test]
    fn roundtrip() {
        let r = Reader::new(Bytes::Owned(Arc::new(sample()))).unwrap();
        assert_eq!(r.section(1, "a").unwrap().as_ref(), b"hello");
        assert_eq!(r.section(2, "b").unwrap().as_ref().len(), 100);
        assert!(r.section(3, "c").is_err());
    }

    #[test]
    fn every_truncation_and_every_bit_flip_is_refused() {
        let s = sample();
        for cut in 0..s.len() {
            assert!(
                Reader::new(Bytes::Owned(Arc::new(s[..cut].to_vec()))).is_err(),
                "cut {cut}"
            );
        }
        for i in 0..s.len() {
            if (28..64).contains(&i) {
                continue; // reserved bytes are not covered; they carry nothing
            }
            let mut c = s.clone();
            c[i] ^= 0x10;
            assert!(
                Reader::new(Bytes::Owned(Arc::new(c))).is_err(),
                "flip at {i}"
            );
        }
    }

    #[test]
    fn wrong_version_is_named() {
        let mut s = sample();
        s[8] = 9;
        let e = Reader::new(Bytes::Owned(Arc::new(s))).err().unwrap();
        assert!(e.to_string().contains("version 9"));
    }
}

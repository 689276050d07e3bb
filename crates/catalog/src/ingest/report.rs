//! The build report: every record read or skipped, every merge refused, every holder
//! refused, every holding that does not lend, and why.

use std::collections::BTreeMap;

use serde::Serialize;

use super::symbols::RefusedSymbols;
use crate::cluster::ClusterStats;
use crate::marc::{RecordErrorKind, Warning};

/// Per-file counts.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FileReport {
    /// Path.
    pub path: String,
    /// Records (or CSV rows) read successfully.
    pub read: usize,
    /// Records (or rows) skipped.
    pub skipped: usize,
    /// Records read with a warning.
    pub warnings: usize,
    /// Set when the whole file could not be read.
    pub error: Option<String>,
}

/// One skipped record or row: where and why.
#[derive(Clone, Debug, Serialize)]
pub struct Skip {
    /// File.
    pub file: String,
    /// Record (or row) number, 0-based.
    pub index: usize,
    /// Byte offset, where known.
    pub offset: Option<u64>,
    /// Why.
    pub reason: String,
}

/// A merge the clustering rule refused, with both records named as `SOURCE:001` (the
/// library's symbol or the file name, then the record's control number, or `#N` for
/// the N-th record of a file without one).
#[derive(Clone, Debug, Serialize)]
pub struct RefusedMergeReport {
    /// The record left out.
    pub record: String,
    /// The first record of the cluster it was not merged into.
    pub with: String,
    /// The identifier they share.
    pub key: String,
    /// What contradicts (`title`, `author`, `language`, ...).
    pub reason: &'static str,
}

/// MARC holdings (MFHD) records.
#[derive(Clone, Debug, Default, Serialize)]
pub struct HoldingsRecords {
    /// Read.
    pub read: usize,
    /// Attached to their bibliographic record.
    pub attached: usize,
    /// Naming no bibliographic record in the build (skipped, with the link value).
    pub unlinked: usize,
}

/// What was read of serial coverage.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SerialReport {
    /// Records (holdings, or bibliographic with embedded holdings) with coverage read from
    /// 853/863 pairs.
    pub structured: usize,
    /// Records whose coverage came from 866 statements only.
    pub textual_only: usize,
    /// 866 statements that could not be read (the holding then keeps no coverage it
    /// could not read, and routing ranks it below holders whose coverage is known).
    pub unreadable_statements: usize,
    /// The first unreadable statements, with why.
    pub unreadable_examples: Vec<String>,
    /// Holdings that got coverage, from any source.
    pub holdings_with_coverage: usize,
    /// KBART rows read.
    pub kbart_rows: usize,
    /// KBART rows skipped, by reason.
    pub kbart_skipped: std::collections::BTreeMap<String, usize>,
}

/// Most unreadable statements the report quotes.
pub const MAX_SERIAL_EXAMPLES: usize = 10;

impl SerialReport {
    /// Counts one record's statements.
    pub fn add(&mut self, r: &crate::coverage::mfhd::Read) {
        if r.structured > 0 {
            self.structured += 1;
        } else if r.textual > 0 {
            self.textual_only += 1;
        }
        self.unreadable_statements += r.unread.len();
        for (s, why) in &r.unread {
            if self.unreadable_examples.len() < MAX_SERIAL_EXAMPLES {
                self.unreadable_examples.push(format!("{s:?}: {why}"));
            }
        }
    }
}

/// The build summary.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BuildReport {
    /// Per file.
    pub files: Vec<FileReport>,
    /// Bibliographic records read.
    pub records: usize,
    /// Records skipped.
    pub skipped: usize,
    /// Skips by reason.
    pub skipped_by_reason: BTreeMap<String, usize>,
    /// Warnings by kind.
    pub warnings_by_kind: BTreeMap<String, usize>,
    /// The first skips in detail (at most 1,000).
    pub skips: Vec<Skip>,
    /// Identifiers with bad check digits kept and flagged.
    pub invalid_identifiers: usize,
    /// Identifiers the records mark cancelled (020 `$z`, 022 `$y $z`), kept and flagged.
    pub cancelled_identifiers: usize,
    /// Identifier subfields that held no readable identifier (kept in the report only).
    pub unreadable_identifiers: usize,
    /// MARC holdings records.
    pub holdings_records: HoldingsRecords,
    /// Serial coverage read from holdings statements and KBART files.
    pub serials: SerialReport,
    /// Clusters built.
    pub clusters: usize,
    /// Holdings (cluster × library).
    pub holdings: usize,
    /// Libraries.
    pub libraries: usize,
    /// What clustering did.
    pub clustering: ClusterStats,
    /// Every merge the clustering rule refused.
    pub refused_merges: Vec<RefusedMergeReport>,
    /// Holder symbols refused (not shaped like a library symbol, not in the manifest):
    /// by problem, with counts and examples. Their holdings are dropped.
    pub refused_symbols: RefusedSymbols,
    /// Holdings that do not lend, or only copy or only lend, by what said so
    /// (`not lendable: 924$d=d`, `copy only: online resource`, ...).
    pub limited_holdings: BTreeMap<String, usize>,
    /// Snapshot size in bytes.
    pub snapshot_bytes: usize,
    /// Wall time per stage, milliseconds: read+parse+normalise, cluster, index.
    pub stage_ms: BTreeMap<String, u64>,
}

impl BuildReport {
    pub(crate) fn skip(&mut self, s: Skip, label: &str) {
        self.skipped += 1;
        *self.skipped_by_reason.entry(label.to_string()).or_default() += 1;
        if self.skips.len() < 1000 {
            self.skips.push(s);
        }
    }
}

/// Build progress, for a progress bar.
#[derive(Clone, Copy, Debug)]
pub enum Progress {
    /// Read `done` of `total` bytes of input.
    Reading {
        /// Bytes done.
        done: u64,
        /// Bytes total.
        total: u64,
    },
    /// Clustering records.
    Clustering(usize),
    /// Writing the index.
    Indexing(usize),
}

pub(crate) fn kind_label(k: &RecordErrorKind) -> &'static str {
    match k {
        RecordErrorKind::TooShort(_) => "too_short",
        RecordErrorKind::Truncated => "truncated",
        RecordErrorKind::BadBaseAddress(_) => "bad_leader",
        RecordErrorKind::BadDirectory(_) => "bad_directory",
        RecordErrorKind::FieldOutOfBounds { .. } => "field_out_of_bounds",
        RecordErrorKind::InvalidUtf8(_) => "invalid_utf8",
        RecordErrorKind::UnknownEncoding(_) => "unknown_encoding",
        RecordErrorKind::Xml(_) => "malformed_xml",
    }
}

pub(crate) fn warning_label(w: &Warning) -> &'static str {
    match w {
        Warning::Marc8LeaderButUtf8 => "marc8_leader_but_utf8",
        Warning::UnmappedMarc8(_) => "unmapped_marc8_characters",
        Warning::LengthMismatch { .. } => "leader_length_mismatch",
    }
}

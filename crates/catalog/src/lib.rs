//! # rota-catalog: the union catalogue
//!
//! Everything routing needs to know about *who holds what*, held in memory, immutable,
//! and shared across threads.
//!
//! ## From files to an index
//!
//! 1. [`marc`] reads MARC 21 (ISO 2709 in UTF-8 or MARC-8, and MARCXML). Bad records are
//!    skipped with file, record number, byte offset and reason; nothing panics.
//! 2. [`bib`] extracts what matters: identifiers ([`ident`] normalises and validates
//!    ISBN, ISSN, OCLC numbers and LCCNs), title, author, year, pages, edition, format and
//!    the holdings carried in 852/924 (or any configured field).
//! 3. [`cluster`] groups records describing the same item: OCLC numbers first, then
//!    ISBN/LCCN/ISSN under a guard against chain merges, then a GoldRush-style match key.
//! 4. [`index`] lays the clusters out in one snapshot buffer: bucketed tables of
//!    identifier numbers ([`idtable`]) and an fst over the other keys, varint-coded holder
//!    runs ([`holdings`]), a token fst with Elias–Fano posting lists ([`postings`]) for
//!    typo-tolerant title lookups, and zstd-compressed display text.
//! 5. [`snapshot`] wraps that in a versioned, checksummed file that is memory-mapped on
//!    load; a corrupt, truncated or wrong-version file is refused with a clear error.
//!
//! Serials carry [`coverage`]: the volumes and years each holder has, read from MFHD
//! (853/863 pairs and 866 Z39.71 statements), holdings-CSV columns and KBART files with
//! their moving walls, stored per holding in a side table of the snapshot.
//!
//! [`ingest`] drives the pipeline from a TOML manifest; [`generate`] makes synthetic
//! consortia; [`lookup`] answers citations. Holdings deltas apply to a loaded
//! [`Catalog`] without a rebuild ([`Catalog::with_delta`]) and fold back into a new
//! snapshot with [`Catalog::compact`].
//!
//! This crate is synchronous and has no async or RPC dependency: it can be tested,
//! benchmarked and fuzzed alone.

pub mod bib;
pub mod cluster;
pub mod coverage;
pub mod field;
pub mod format;
pub mod generate;
pub mod holdings;
pub mod id;
pub mod ident;
pub mod idtable;
pub mod index;
pub mod ingest;
pub mod lending;
pub mod lookup;
pub mod marc;
pub mod marc8;
pub mod postings;
pub mod realistic;
pub mod snapshot;
mod text;
mod varint;
pub mod words;
mod years;

pub use bib::Bib;
pub use format::Format;
pub use id::{ClusterId, LibraryId};
pub use ident::{IdKind, IdStatus, Ident};
pub use index::{Catalog, ClusterInfo, DeltaError, DeltaOp, Holding, Library};
pub use lending::Lending;
pub use lookup::{
    Citation, LookupError, LookupOptions, Match, MatchMethod, MatchStatus, Resolution,
};
pub use snapshot::SnapshotError;

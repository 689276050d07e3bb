//! Holdings changes applied without a rebuild, and folded back into a new snapshot.

use super::*;

/// One holdings change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum DeltaOp {
    /// A library adds (or updates) its holding of a cluster.
    Upsert {
        /// Cluster.
        cluster: ClusterId,
        /// Library symbol (new symbols are added).
        symbol: String,
        /// Copies (saturates at [`MAX_COPIES`]).
        copies: u8,
        /// Lends or copies it.
        lendable: bool,
        /// Copies only (with `lendable`): no loans.
        #[serde(default)]
        copy_only: bool,
        /// Format, else the cluster's.
        #[serde(default)]
        format: Option<Format>,
    },
    /// A library withdraws its holding.
    Withdraw {
        /// Cluster.
        cluster: ClusterId,
        /// Library symbol.
        symbol: String,
    },
}

/// A delta that cannot be applied (the caller's fault, except the width limit).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeltaError {
    /// No such cluster.
    #[error("cluster {0} does not exist")]
    UnknownCluster(ClusterId),
    /// Withdrawal for a library the catalogue does not know.
    #[error("library {0:?} is not in the catalogue")]
    UnknownLibrary(String),
    /// Empty symbol.
    #[error("library symbol is empty")]
    EmptySymbol,
    /// Library table full for this snapshot's holder width.
    #[error("the snapshot holds at most {0} libraries; rebuild it to add more")]
    TooManyLibraries(usize),
}

impl Catalog {
    /// Number of clusters whose holdings differ from the snapshot (compact when large).
    pub fn delta_len(&self) -> usize {
        self.overlay.len()
    }

    /// Applies holdings changes without a rebuild. Returns a new catalogue sharing this
    /// one's snapshot bytes; this one is unchanged (readers in flight keep a consistent
    /// view). New library symbols are added to the library table.
    pub fn with_delta(&self, ops: &[DeltaOp]) -> Result<Catalog, DeltaError> {
        let mut meta = (*self.meta).clone();
        let mut symbols = (*self.symbols).clone();
        let mut overlay = (*self.overlay).clone();
        let limit = u32::MAX as usize;
        for op in ops {
            let (cluster, symbol) = match op {
                DeltaOp::Upsert {
                    cluster, symbol, ..
                }
                | DeltaOp::Withdraw { cluster, symbol } => (*cluster, symbol),
            };
            if cluster.get() >= self.clusters() {
                return Err(DeltaError::UnknownCluster(cluster));
            }
            // the overlay and the holdings tables are keyed by the cluster's number
            let cluster = cluster.get();
            if symbol.trim().is_empty() {
                return Err(DeltaError::EmptySymbol);
            }
            let lib = LibraryId::new(match symbols.get(symbol) {
                Some(&l) => l,
                None => {
                    if matches!(op, DeltaOp::Withdraw { .. }) {
                        return Err(DeltaError::UnknownLibrary(symbol.clone()));
                    }
                    if meta.libraries.len() >= limit {
                        return Err(DeltaError::TooManyLibraries(limit));
                    }
                    let id = meta.libraries.len() as u32;
                    meta.libraries.push(Library {
                        symbol: symbol.clone(),
                        name: symbol.clone(),
                    });
                    symbols.insert(symbol.clone(), id);
                    id
                }
            });
            let list = overlay.entry(cluster).or_insert_with(|| {
                let mut v = Vec::new();
                self.each_base_holder(cluster, |h| v.push(h));
                v
            });
            let pos = list.binary_search_by_key(&lib, |h| h.library);
            match (op, pos) {
                (
                    DeltaOp::Upsert {
                        copies,
                        lendable,
                        copy_only,
                        format,
                        ..
                    },
                    p,
                ) => {
                    let h = Holding {
                        library: lib,
                        copies: (*copies).min(MAX_COPIES),
                        lending: Lending {
                            loan: *lendable && !*copy_only,
                            copy: *lendable,
                        },
                        format: format.unwrap_or_else(|| self.format(ClusterId::new(cluster))),
                    };
                    match p {
                        Ok(i) => list[i] = h,
                        Err(i) => list.insert(i, h),
                    }
                }
                (DeltaOp::Withdraw { .. }, Ok(i)) => {
                    list.remove(i);
                }
                (DeltaOp::Withdraw { .. }, Err(_)) => {}
            }
        }
        meta.holdings = (0..self.clusters())
            .map(|c| match overlay.get(&c) {
                Some(v) => v.len() as u64,
                None => self.base_count(c) as u64,
            })
            .sum();
        Ok(Catalog {
            meta: std::sync::Arc::new(meta),
            symbols: std::sync::Arc::new(symbols),
            overlay: std::sync::Arc::new(overlay),
            ..self.clone()
        })
    }

    /// Writes a new snapshot with the delta folded into the holdings arrays (the other
    /// sections are copied as they are).
    pub fn compact(&self) -> Result<Vec<u8>, BuildError> {
        let mut holdings = crate::holdings::Writer::default();
        let mut buf = Vec::new();
        for c in self.cluster_ids() {
            buf.clear();
            self.holders_into(c, &mut buf);
            holdings.push(self.format(c), &buf);
        }
        let mut meta = (*self.meta).clone();
        meta.holdings = holdings.holdings();
        let mut w = snapshot::Writer::default();
        w.section(S_META, serde_json::to_vec(&meta)?);
        w.section(S_KEYS, self.keys.as_fst().as_bytes().to_vec());
        w.section(S_MULTI, self.multi.as_ref().to_vec());
        for (id, (t, _)) in S_NUMS.into_iter().zip(&self.nums) {
            w.section(id, t.as_ref().to_vec());
        }
        build::write_holdings(&mut w, holdings);
        w.section(S_COVERAGE, self.coverage_bytes().to_vec());
        w.section(S_YEARS, self.years.as_ref().to_vec());
        w.section(S_YEARS_WIDE, self.years_wide.as_ref().to_vec());
        w.section(S_TOKENS, self.tokens.as_fst().as_bytes().to_vec());
        w.section(S_POSTINGS, self.postings.as_ref().to_vec());
        w.section(S_FACTS, self.facts.as_ref().to_vec());
        w.section(S_TEXT_OFF, self.text_off.as_ref().to_vec());
        w.section(S_TEXT, self.text.as_ref().to_vec());
        w.section(S_TEXT_DICT, self.dict_bytes.as_ref().to_vec());
        Ok(w.finish())
    }
}

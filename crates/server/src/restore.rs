//! Restoring the server from its last checkpoint, and what to do with the files it was
//! started with.
//!
//! A checkpoint holds the lender directory in force when it was written: the directory
//! file first read, with every change made through the API since. On a restart the
//! directory file is read again and may have been edited. Lenders the file adds are
//! added (an operator who adds a library to the file expects it to lend); lenders whose
//! entry differs keep the checkpoint's entry, which may hold API changes the file lacks,
//! and the server says so, naming them; a lender left out of the file stays (lender ids
//! are never reused, and open requests may name it). A checkpoint of another consortium
//! is refused: it would route this catalogue with strangers. Weight profiles read from
//! the configured files are treated the same way, by name.

use std::path::Path;
use std::sync::Arc;

use rota_catalog::{Catalog, DeltaOp};
use rota_routing::{Directory, Engine, LiveState, Profile};

use crate::app::{Checkpoint, StartError, Versions};

/// What a checkpoint restores.
pub(crate) struct Restored {
    pub engine: Engine,
    pub live: LiveState,
    pub versions: Versions,
    pub holdings_ops: Vec<DeltaOp>,
    pub seq: u64,
}

/// Most symbols named in one log line.
const NAMED: usize = 10;

/// The state of `data_dir`'s checkpoint, or `None` when it has none.
pub(crate) fn restore(
    data_dir: &Path,
    catalog: &Arc<Catalog>,
    file: &Directory,
    file_profiles: &[Profile],
) -> Result<Option<Restored>, StartError> {
    let path = data_dir.join("checkpoint.json");
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        // unreadable is not absent: starting empty would drop every learned statistic
        Err(e) => {
            return Err(StartError::Other(format!(
                "checkpoint {}: {e}",
                path.display()
            )));
        }
    };
    let cp: Checkpoint = serde_json::from_slice(&bytes)
        .map_err(|e| StartError::Other(format!("checkpoint {}: {e}", path.display())))?;
    let here: std::collections::HashSet<&str> = (catalog.libraries().iter())
        .map(|l| l.symbol.as_str())
        .collect();
    let foreign = (cp.lenders.iter())
        .filter(|l| !here.contains(l.symbol.as_str()))
        .count();
    if foreign * 2 > cp.lenders.len() {
        return Err(StartError::OtherConsortium {
            data_dir: data_dir.display().to_string(),
            lenders: cp.lenders.len(),
            foreign,
        });
    }
    let mut lenders = cp.lenders;
    let drift = Directory::new(lenders.clone(), "(checkpoint)")?.drift(file);
    if !drift.added.is_empty() {
        tracing::info!(
            count = drift.added.len(),
            lenders = %names(drift.added.iter().map(|l| l.symbol.as_str())),
            "lenders new in the directory file added to the checkpoint's directory"
        );
        lenders.extend(drift.added);
    }
    if !drift.changed.is_empty() {
        tracing::warn!(
            count = drift.changed.len(),
            lenders = %names(drift.changed.iter().map(String::as_str)),
            "the directory file differs from the checkpoint for these lenders; the checkpoint's \
             entries (with changes made through the API) stay in force: apply the file's with \
             PutLender"
        );
    }
    if !drift.missing.is_empty() {
        tracing::warn!(
            count = drift.missing.len(),
            lenders = %names(drift.missing.iter().map(String::as_str)),
            "lenders in the checkpoint but not in the directory file stay (lenders are never \
             removed); to stop one lending, PutLender it with lending = false"
        );
    }
    let dir = Directory::new(lenders, "(checkpoint)")?;
    let cat = if cp.holdings_ops.is_empty() {
        Arc::clone(catalog)
    } else {
        Arc::new(
            catalog
                .with_delta(&cp.holdings_ops)
                .map_err(|e| StartError::Other(format!("checkpoint holdings: {e}")))?,
        )
    };
    let profiles = merge_profiles(cp.profiles, file_profiles);
    let engine = Engine::new(cat, Arc::new(dir), profiles)?;
    tracing::info!(seq = cp.seq, "restored checkpoint");
    Ok(Some(Restored {
        engine,
        live: cp.live,
        versions: cp.versions,
        holdings_ops: cp.holdings_ops,
        seq: cp.seq,
    }))
}

/// The checkpoint's profiles, with those new in the files added; one whose file differs
/// keeps the checkpoint's version (it may hold changes made through PutProfile).
fn merge_profiles(mut restored: Vec<Profile>, files: &[Profile]) -> Vec<Profile> {
    let (mut added, mut changed) = (Vec::new(), Vec::new());
    for p in files {
        match restored.iter().find(|r| r.name == p.name) {
            None => added.push(p.clone()),
            Some(r) if r != p => changed.push(p.name.as_str()),
            Some(_) => {}
        }
    }
    if !added.is_empty() {
        tracing::info!(
            profiles = %names(added.iter().map(|p| p.name.as_str())),
            "profiles new in the profile files added to the checkpoint's"
        );
    }
    if !changed.is_empty() {
        tracing::warn!(
            profiles = %names(changed.iter().copied()),
            "the profile files differ from the checkpoint for these profiles; the \
             checkpoint's (with changes made through the API) stay in force: apply the \
             files' with PutProfile"
        );
    }
    restored.extend(added);
    restored
}

/// The first few symbols, and how many more.
fn names<'a>(symbols: impl ExactSizeIterator<Item = &'a str>) -> String {
    let n = symbols.len();
    let out: Vec<&str> = symbols.take(NAMED).collect();
    let more = n.saturating_sub(NAMED);
    let more = (more > 0).then(|| format!(" and {more} more"));
    out.join(", ") + more.as_deref().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_new_in_the_files_are_added_and_a_changed_one_keeps_the_checkpoints() {
        let restored = vec![Profile::default()];
        let edited = Profile {
            mode: rota_routing::Mode::WeightedScore,
            ..Profile::default()
        };
        let new = Profile {
            name: "rush".into(),
            ..Profile::default()
        };
        let merged = merge_profiles(restored.clone(), &[edited, new.clone()]);
        assert_eq!(merged, [restored[0].clone(), new]);
    }
}

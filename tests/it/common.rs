//! Shared helpers: locating the real data and the `rota` binary.

use std::path::PathBuf;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared/data`, or `None` (with a notice) when it is absent outside CI. In CI its
/// absence is a failure: the data is part of every CI machine.
pub fn shared_data() -> Option<PathBuf> {
    let p = std::env::var_os("ROTA_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/data"));
    if p.join("README.md").exists() {
        return Some(p);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "real test data not found at {} (set ROTA_SHARED_DATA); CI must have ../shared/data",
            p.display()
        );
    }
    eprintln!(
        "notice: {} not found; skipping a real-data test",
        p.display()
    );
    None
}

/// The LoC file fetched by `scripts/fetch-loc.sh`, if it has been fetched.
pub fn loc_file() -> Option<PathBuf> {
    let cache = std::env::var_os("ROTA_DATA_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/rota")))?;
    let f = cache.join("BooksAll.2016.part01.utf8");
    if f.exists() {
        return Some(f);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "LoC records not at {}: .ci/run runs scripts/fetch-loc.sh first",
            f.display()
        );
    }
    eprintln!(
        "notice: {} not found (run scripts/fetch-loc.sh); skipping",
        f.display()
    );
    None
}

/// Path of the `rota` binary built for this test run.
pub fn rota_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rota"))
}

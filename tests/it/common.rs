//! Shared helpers: locating the real data and the `rota` binary.

use std::path::PathBuf;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared/data` (or `ROTA_SHARED_DATA`). A test that calls this carries
/// `#[cfg_attr(rota_no_shared_data, ignore = "…")]`, so without the data it is reported as
/// ignored with that reason, never run to a silent "ok" (the cfg comes from
/// `crates/cli/build.rs`, which never sets it on CI: there, missing data fails here).
pub fn shared_data() -> PathBuf {
    let p = std::env::var_os("ROTA_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/data"));
    assert!(
        p.join("README.md").exists(),
        "real test data not found at {} (set ROTA_SHARED_DATA); CI must have ../shared/data",
        p.display()
    );
    p
}

/// The LoC file fetched by `scripts/fetch-loc.sh` (tests that call this carry
/// `#[cfg_attr(rota_no_loc, ignore = "…")]`, as [`shared_data`]'s do).
pub fn loc_file() -> PathBuf {
    let cache = std::env::var_os("ROTA_DATA_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/rota")))
        .expect("HOME or ROTA_DATA_CACHE is set");
    let f = cache.join("BooksAll.2016.part01.utf8");
    assert!(
        f.exists(),
        "LoC records not at {}: run scripts/fetch-loc.sh (.ci/run does)",
        f.display()
    );
    f
}

/// Path of the `rota` binary built for this test run.
pub fn rota_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rota"))
}

/// The one cluster an ISSN finds.
pub fn by_issn(cat: &rota_catalog::Catalog, issn: &str) -> rota_catalog::ClusterId {
    let m = cat
        .lookup(
            &rota_catalog::Citation {
                issn: Some(issn.into()),
                ..rota_catalog::Citation::default()
            },
            rota_catalog::LookupOptions::default(),
        )
        .unwrap();
    assert_eq!(m.len(), 1, "{issn}: {m:?}");
    m[0].cluster
}

//! Tells the integration tests what this machine has, so a test whose inputs are missing
//! is reported as *ignored, with the reason*, instead of passing without running:
//!
//! - `rota_no_shared_data`: `../shared/data` (or `ROTA_SHARED_DATA`) is not there;
//! - `rota_no_loc`: the Library of Congress records `scripts/fetch-loc.sh` caches are not;
//! - `rota_no_grpcio`: Python's `grpcio` and `grpcio-tools` are not installed;
//! - `rota_no_yaz`: `yaz-ztest` (Debian's `yaz`, the Z39.50/SRU test server) is not;
//! - `rota_no_browser`: `chromium` and `chromedriver` (Debian's `chromium`,
//!   `chromium-driver`), which the console's browser tests drive, are not.
//!
//! With `CI=true` none is ever set: on CI a missing input fails the tests that need it.

use std::path::PathBuf;
use std::process::{Command, Stdio};

fn main() {
    for cfg in [
        "rota_no_shared_data",
        "rota_no_loc",
        "rota_no_grpcio",
        "rota_no_yaz",
        "rota_no_browser",
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    for var in ["CI", "ROTA_SHARED_DATA", "ROTA_DATA_CACHE", "HOME"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        return;
    }
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let shared = std::env::var_os("ROTA_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../../shared/data"));
    let readme = shared.join("README.md");
    // watched whether or not it exists, so data that arrives later is noticed
    println!("cargo::rerun-if-changed={}", readme.display());
    if !readme.exists() {
        println!("cargo::rustc-cfg=rota_no_shared_data");
    }
    let cache = std::env::var_os("ROTA_DATA_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/rota")));
    let loc = cache.map(|c| c.join("BooksAll.2016.part01.utf8"));
    if let Some(l) = &loc {
        println!("cargo::rerun-if-changed={}", l.display());
    }
    if !loc.is_some_and(|l| l.exists()) {
        println!("cargo::rustc-cfg=rota_no_loc");
    }
    let grpcio = Command::new("python3")
        .args(["-c", "import grpc, grpc_tools"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !grpcio {
        println!("cargo::rustc-cfg=rota_no_grpcio");
    }
    let yaz = Command::new("yaz-ztest")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !yaz {
        println!("cargo::rustc-cfg=rota_no_yaz");
    }
    let browser = ["chromium", "chromedriver"].iter().all(|b| {
        Command::new(b)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    });
    if !browser {
        println!("cargo::rustc-cfg=rota_no_browser");
    }
}

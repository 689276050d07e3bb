//! `rota catalog stats`

use std::process::ExitCode;
use std::time::Instant;

use rota_catalog::Catalog;

pub fn stats(path: &std::path::Path, json: bool) -> anyhow::Result<ExitCode> {
    let t = Instant::now();
    let cat = Catalog::open(path)?;
    let load = t.elapsed();
    let m = cat.meta();
    let keys = cat.key_count_by_kind();
    let mut hist = [0u64; 8];
    for c in cat.cluster_ids() {
        let n = cat.holder_count(c);
        let b = match n {
            0 => 0,
            1 => 1,
            2..=3 => 2,
            4..=7 => 3,
            8..=15 => 4,
            16..=63 => 5,
            64..=255 => 6,
            _ => 7,
        };
        hist[b] += 1;
    }
    let labels = ["0", "1", "2-3", "4-7", "8-15", "16-63", "64-255", "256+"];
    if json {
        let v = serde_json::json!({
            "snapshot": path.display().to_string(),
            "bytes": cat.size_bytes(),
            "load_ms": load.as_secs_f64() * 1e3,
            "source": m.source,
            "libraries": m.libraries.len(),
            "clusters": m.clusters,
            "holdings": m.holdings,
            "mean_holders": m.holdings as f64 / m.clusters.max(1) as f64,
            "keys": keys.iter().map(|(k, n)| (k.to_string(), *n)).collect::<std::collections::BTreeMap<_,_>>(),
            "tokens": m.tokens,
            "holders_histogram": labels.iter().zip(hist).map(|(l, n)| (l.to_string(), n)).collect::<std::collections::BTreeMap<_,_>>(),
            "bytes_per_holding": cat.size_bytes() as f64 / m.holdings.max(1) as f64,
            "sections": cat.section_sizes().into_iter().map(|(n, b)| (n.to_string(), b)).collect::<std::collections::BTreeMap<_,_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "snapshot      {} ({} bytes, validated and mapped in {:.1} ms)",
        path.display(),
        cat.size_bytes(),
        load.as_secs_f64() * 1e3
    );
    println!("source        {}", m.source);
    println!("libraries     {}", m.libraries.len());
    println!("clusters      {}", m.clusters);
    println!(
        "holdings      {} ({:.2} per cluster, {:.2} snapshot bytes per holding)",
        m.holdings,
        m.holdings as f64 / m.clusters.max(1) as f64,
        cat.size_bytes() as f64 / m.holdings.max(1) as f64
    );
    println!("title/author tokens {}", m.tokens);
    let name = |k: char| match k {
        'i' => "isbn",
        's' => "issn",
        'o' => "oclc",
        'l' => "lccn",
        'k' => "match key",
        'I' => "isbn (bad check digit)",
        'S' => "issn (bad check digit)",
        _ => "other",
    };
    for (k, n) in keys {
        println!("  keys {:<24} {n}", name(k));
    }
    println!("snapshot sections:");
    for (name, bytes) in cat.section_sizes() {
        println!(
            "  {name:<28} {bytes:>14} bytes  {:>6.2} per holding",
            bytes as f64 / m.holdings.max(1) as f64
        );
    }
    println!("holders per cluster:");
    for (l, n) in labels.iter().zip(hist) {
        println!("  {l:>7} {n}");
    }
    Ok(ExitCode::SUCCESS)
}

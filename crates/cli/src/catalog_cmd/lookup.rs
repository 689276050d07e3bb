//! `rota catalog lookup`

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use rota_catalog::{Catalog, Citation, LookupOptions};

#[derive(Args)]
pub struct LookupArgs {
    /// Snapshot file.
    snapshot: PathBuf,
    /// ISBN (10 or 13, any punctuation).
    #[arg(long)]
    isbn: Option<String>,
    /// ISSN.
    #[arg(long)]
    issn: Option<String>,
    /// OCLC number (any prefix).
    #[arg(long)]
    oclc: Option<String>,
    /// LCCN.
    #[arg(long)]
    lccn: Option<String>,
    /// Title (typos tolerated).
    #[arg(long)]
    title: Option<String>,
    /// Author (typos tolerated).
    #[arg(long)]
    author: Option<String>,
    /// Year.
    #[arg(long)]
    year: Option<u16>,
    /// Most matches.
    #[arg(long, default_value_t = 10)]
    limit: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn lookup(a: LookupArgs) -> anyhow::Result<ExitCode> {
    let cat = Catalog::open(&a.snapshot)?;
    let c = Citation {
        isbn: a.isbn,
        issn: a.issn,
        oclc: a.oclc,
        lccn: a.lccn,
        title: a.title,
        author: a.author,
        year: a.year,
    };
    let matches = cat.lookup(
        &c,
        LookupOptions {
            limit: a.limit,
            ..LookupOptions::default()
        },
    )?;
    let rows: Vec<serde_json::Value> = matches
        .iter()
        .map(|m| {
            let info = cat.info(m.cluster);
            let holders: Vec<serde_json::Value> = cat
                .holders(m.cluster)
                .iter()
                .map(|h| {
                    serde_json::json!({
                    "symbol": cat.libraries()[h.library as usize].symbol,
                    "copies": h.copies, "lendable": h.lendable(), "format": h.format.name()})
                })
                .collect();
            serde_json::json!({
                "cluster": m.cluster,
                "method": m.method.name(),
                "confidence": (m.confidence * 1000.0).round() / 1000.0,
                "title": info.as_ref().map(|i| i.title.clone()),
                "author": info.as_ref().map(|i| i.author.clone()),
                "year": info.as_ref().and_then(|i| i.year),
                "format": info.as_ref().map(|i| i.format.name()),
                "identifiers": info.as_ref().map(|i| i.ids.clone()),
                "holders": holders,
            })
        })
        .collect();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "matches": rows }))?
        );
    } else if rows.is_empty() {
        println!("no match");
    } else {
        for r in &rows {
            println!(
                "cluster {}  {} ({})  {} / {} / {}",
                r["cluster"],
                r["method"].as_str().unwrap_or(""),
                r["confidence"],
                r["title"].as_str().unwrap_or(""),
                r["author"].as_str().unwrap_or(""),
                r["year"]
            );
            if let Some(ids) = r["identifiers"].as_array() {
                let ids: Vec<&str> = ids.iter().filter_map(|v| v.as_str()).collect();
                println!("  ids: {}", ids.join(", "));
            }
            let hs: Vec<String> = r["holders"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .map(|h| {
                            let s = h["symbol"].as_str().unwrap_or("").to_string();
                            if h["lendable"].as_bool() == Some(false) {
                                format!("{s}(no ILL)")
                            } else {
                                s
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            println!("  {} holders: {}", hs.len(), hs.join(" "));
        }
    }
    Ok(if rows.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

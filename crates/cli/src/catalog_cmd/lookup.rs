//! `rota catalog lookup`

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use rota_catalog::coverage::Verdict;
use rota_catalog::{Catalog, Holding, LookupOptions, MatchStatus};

use crate::citation_args::CitationArgs;

#[derive(Args)]
pub struct LookupArgs {
    /// Snapshot file.
    snapshot: PathBuf,
    #[command(flatten)]
    citation: CitationArgs,
    /// Most candidates listed.
    #[arg(long, default_value_t = 10)]
    limit: usize,
    /// Confidence a title/author match needs to count as the book (0..1).
    #[arg(long, default_value_t = rota_catalog::lookup::DEFAULT_MIN_CONFIDENCE)]
    min_confidence: f32,
    /// Count only identifier matches as the book.
    #[arg(long)]
    require_identifier: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// How a holding lends, for people.
pub fn lending_label(h: &Holding) -> &'static str {
    match (h.lending.loan, h.lending.copy) {
        (true, true) => "loan and copy",
        (false, true) => "copy only",
        (true, false) => "loan only",
        (false, false) => "no ILL",
    }
}

/// A coverage verdict's name in the output.
fn verdict_name(v: &Verdict) -> &'static str {
    match v {
        Verdict::Covered => "covered",
        Verdict::NotCovered => "not_covered",
        Verdict::Embargoed { .. } => "embargoed",
        Verdict::Unknown(_) => "unknown",
    }
}

pub fn lookup(a: LookupArgs) -> anyhow::Result<ExitCode> {
    let cat = Catalog::open(&a.snapshot)?;
    let citation = a.citation.citation();
    citation.validate()?;
    let cited = citation.cited();
    let today = chrono::Utc::now().date_naive();
    let r = cat.resolve(
        &citation,
        LookupOptions {
            limit: a.limit,
            min_confidence: a.min_confidence,
            require_identifier: a.require_identifier,
        },
    )?;
    let rows: Vec<serde_json::Value> = r
        .candidates
        .iter()
        .map(|m| {
            let info = cat.info(m.cluster);
            let coverage = cat.coverage(m.cluster);
            let holders: Vec<serde_json::Value> = cat
                .holders(m.cluster)
                .iter()
                .map(|h| {
                    let cov = coverage
                        .binary_search_by_key(&h.library, |(l, _)| *l)
                        .ok()
                        .map(|i| &coverage[i].1);
                    serde_json::json!({
                        "symbol": cat.library(h.library).symbol,
                        "copies": h.copies,
                        "lendable": h.lendable(),
                        "loan": h.lending.loan,
                        "copy": h.lending.copy,
                        "format": h.format.name(),
                        "coverage": cov.map(ToString::to_string),
                        "covers_citation": cov
                            .filter(|_| !cited.is_empty())
                            .map(|c| verdict_name(&c.check(&cited, today))),
                    })
                })
                .collect();
            serde_json::json!({
                "cluster": m.cluster,
                "matched": r.matches.iter().any(|x| x.cluster == m.cluster),
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
            serde_json::to_string_pretty(&serde_json::json!({
                "status": r.status.name(),
                "ambiguous": r.ambiguous,
                "matches": rows,
            }))?
        );
    } else {
        let headline = match r.status {
            MatchStatus::Matched if r.ambiguous => {
                "matched (several editions or records of the work: any of them answers the citation)"
            }
            MatchStatus::Matched => "matched",
            MatchStatus::Ambiguous => {
                "ambiguous: several different books fit about equally; say which (year, author, identifier)"
            }
            MatchStatus::NoConfidentMatch => "no confident match: candidates for staff below",
            MatchStatus::NotFound => "not found",
        };
        println!("{headline}");
        for (row, m) in rows.iter().zip(&r.candidates) {
            let mark = if row["matched"] == true { "*" } else { " " };
            println!(
                "{mark} cluster {}  {} ({})  {} / {} / {}",
                row["cluster"],
                row["method"].as_str().unwrap_or(""),
                row["confidence"],
                row["title"].as_str().unwrap_or(""),
                row["author"].as_str().unwrap_or(""),
                row["year"]
            );
            if let Some(ids) = row["identifiers"].as_array() {
                let ids: Vec<&str> = ids.iter().filter_map(|v| v.as_str()).collect();
                println!("    ids: {}", ids.join(", "));
            }
            let holders = cat.holders(m.cluster);
            let hs: Vec<String> = holders
                .iter()
                .map(|h| {
                    let s = &cat.library(h.library).symbol;
                    match lending_label(h) {
                        "loan and copy" => s.clone(),
                        other => format!("{s} ({other})"),
                    }
                })
                .collect();
            println!("    {} holders: {}", hs.len(), hs.join(" "));
            if let Some(hs) = row["holders"].as_array() {
                for h in hs.iter().filter(|h| h["coverage"].is_string()) {
                    let verdict = match h["covers_citation"].as_str() {
                        Some("covered") => format!(": covers {cited}"),
                        Some("not_covered") => format!(": does not cover {cited}"),
                        Some("embargoed") => format!(": {cited} is behind its moving wall"),
                        Some(_) => format!(": cannot tell whether it covers {cited}"),
                        None => String::new(),
                    };
                    println!(
                        "    {} holds {}{verdict}",
                        h["symbol"].as_str().unwrap_or(""),
                        h["coverage"].as_str().unwrap_or("")
                    );
                }
            }
        }
    }
    Ok(if r.status == MatchStatus::Matched {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

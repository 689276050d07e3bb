//! How `rota route` shows a lending string, the same whether it was computed here or by
//! a server: both are a `rota.v1.RouteResponse` by the time they are printed.

use std::process::ExitCode;

use rota_proto::v1 as pb;

/// 0 when lenders were routed; 1 for anything a person must look at (held locally,
/// ambiguous, no confident match, not found, every holder excluded).
pub fn exit_code(r: &pb::RouteResponse) -> ExitCode {
    if r.lenders.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn status_name(r: &pb::RouteResponse) -> &'static str {
    match pb::RouteStatus::try_from(r.status) {
        Ok(pb::RouteStatus::Routed) => "routed",
        Ok(pb::RouteStatus::HeldLocally) => "held_locally",
        Ok(pb::RouteStatus::Ambiguous) => "ambiguous",
        Ok(pb::RouteStatus::NoConfidentMatch) => "no_confident_match",
        Ok(pb::RouteStatus::NotFound) => "not_found",
        _ => "unspecified",
    }
}

fn matches_json(ms: &[pb::CatalogMatch]) -> Vec<serde_json::Value> {
    ms.iter()
        .map(|m| {
            serde_json::json!({
                "cluster": m.cluster, "method": m.method,
                "confidence": (m.confidence * 1000.0).round() / 1000.0, "title": m.title,
                "author": m.author, "year": (m.year > 0).then_some(m.year),
                "holders": m.holders, "lending_holders": m.lending_holders,
            })
        })
        .collect()
}

/// Prints a lending string for people, or as JSON.
pub fn print_response(r: &pb::RouteResponse, json: bool) -> anyhow::Result<()> {
    if json {
        let v = serde_json::json!({
            "request_id": r.request_id,
            "status": status_name(r),
            "ambiguous": r.ambiguous,
            "profile": r.profile,
            "expected_hours_to_fill": r.expected_hours_to_fill,
            "p_filled": r.p_filled,
            "matches": matches_json(&r.matches),
            "candidates": matches_json(&r.candidates),
            "local": r.local.iter().map(|l| serde_json::json!({
                "symbol": l.symbol, "cluster": l.cluster, "copies": l.copies,
                "loan": l.loan, "copy": l.copy,
            })).collect::<Vec<_>>(),
            "lenders": r.lenders.iter().map(|l| serde_json::json!({
                "symbol": l.symbol, "rank": l.rank, "score": l.score, "p_fill": l.p_fill,
                "expected_hours": l.expected_hours, "deliver_hours": l.deliver_hours,
                "answer_hours": l.answer_hours, "cluster": l.cluster, "reason": l.reason,
                "service": match pb::ServiceType::try_from(l.service_type) {
                    Ok(pb::ServiceType::Copy) => "copy",
                    _ => "loan",
                },
                "factors": l.factors.iter().map(|f| serde_json::json!({
                    "name": f.name, "value": f.value, "contribution": f.contribution,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "excluded": r.excluded.iter().map(|e| serde_json::json!({
                "symbol": e.symbol, "reason": e.reason, "description": e.description,
                "detail": (!e.detail.is_empty()).then_some(&e.detail),
            })).collect::<Vec<_>>(),
            "not_ranked": r.not_ranked,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    for m in &r.matches {
        println!(
            "match: cluster {} by {} ({:.2}) {}",
            m.cluster, m.method, m.confidence, m.title
        );
    }
    let candidates = |what: &str| {
        println!("{what}; candidates for staff:");
        for m in &r.candidates {
            println!("  {}", candidate_line(m));
        }
    };
    match pb::RouteStatus::try_from(r.status) {
        Ok(pb::RouteStatus::HeldLocally) => {
            println!(
                "held locally: the borrower's own institution has a lendable copy (--route-anyway to route it elsewhere):"
            );
            for l in &r.local {
                let how = match (l.loan, l.copy) {
                    (true, true) => "loan and copy",
                    (false, true) => "copy only",
                    (true, false) => "loan only",
                    (false, false) => "no ILL",
                };
                println!(
                    "  {} ({} {}, {how})",
                    l.symbol,
                    l.copies,
                    if l.copies == 1 { "copy" } else { "copies" }
                );
            }
            return Ok(());
        }
        Ok(pb::RouteStatus::Ambiguous) => {
            candidates("ambiguous: several different books fit the citation about equally");
            return Ok(());
        }
        Ok(pb::RouteStatus::NoConfidentMatch) => {
            candidates("no confident match");
            return Ok(());
        }
        Ok(pb::RouteStatus::NotFound) => {
            println!("not found: nothing in the catalogue fits the citation");
            return Ok(());
        }
        _ => {}
    }
    if r.ambiguous {
        println!(
            "note: the citation fits {} editions or records of the work; all are asked",
            r.matches.len()
        );
    }
    println!(
        "lending string ({} profile): {} lenders, {:.1}% likely filled, expected {:.1} h",
        r.profile,
        r.lenders.len(),
        r.p_filled * 100.0,
        r.expected_hours_to_fill
    );
    for l in &r.lenders {
        let svc = match pb::ServiceType::try_from(l.service_type) {
            Ok(pb::ServiceType::Copy) => "copy",
            _ => "loan",
        };
        println!(
            "{:>3}. {:<12} score {:>8.3}  p_fill {:.2}  e {:>5.1} h  {svc}",
            l.rank, l.symbol, l.score, l.p_fill, l.expected_hours
        );
        println!("      {}", l.reason);
    }
    if !r.excluded.is_empty() {
        println!("excluded:");
        for e in &r.excluded {
            if e.detail.is_empty() {
                println!("     {:<12} {}", e.symbol, e.description);
            } else {
                println!("     {:<12} {}: {}", e.symbol, e.description, e.detail);
            }
        }
    }
    Ok(())
}

/// One candidate as staff read it: enough to tell volumes and editions apart.
fn candidate_line(m: &pb::CatalogMatch) -> String {
    let mut line = format!(
        "cluster {} by {} ({:.2}) {}",
        m.cluster, m.method, m.confidence, m.title
    );
    if !m.author.is_empty() {
        line.push_str(" / ");
        line.push_str(&m.author);
    }
    if m.year > 0 {
        line.push_str(&format!(", {}", m.year));
    }
    line.push_str(&format!(
        "; {} holder{}, {} lending",
        m.holders,
        if m.holders == 1 { "" } else { "s" },
        m.lending_holders
    ));
    line
}

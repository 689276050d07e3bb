//! `rota-loadtest report`: turns the JSON results of a `loadtest/report.sh` run into the
//! tables and SVG charts of PERFORMANCE.md. The charts are plain SVG written here (grouped
//! bars on a log scale): a few dozen lines, no plotting dependency.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

/// Arguments of `rota-loadtest report`.
#[derive(clap::Parser, Clone)]
pub struct ReportArgs {
    /// Directory with the run's JSON results.
    #[arg(long)]
    pub results: PathBuf,
    /// Where to write `results.md` and the SVG charts.
    #[arg(long)]
    pub out: PathBuf,
}

fn read(dir: &Path, name: &str) -> Option<Value> {
    let text = std::fs::read_to_string(dir.join(name)).ok()?;
    serde_json::from_str(&text).ok()
}

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    let mut x = v;
    for p in path {
        x = x.get(*p)?;
    }
    x.as_f64()
}

/// One row: a mode on one side.
struct Row {
    mode: String,
    side: String,
    per_second: f64,
    p50: f64,
    p99: f64,
    p999: f64,
    unit: String,
}

fn rows(dir: &Path) -> Vec<Row> {
    let mut out = Vec::new();
    for mode in ["route", "stream", "batch", "report"] {
        for side in ["floor", "rota"] {
            if let Some(v) = read(dir, &format!("{side}-{mode}.json")) {
                out.push(Row {
                    mode: mode.into(),
                    side: side.into(),
                    per_second: num(&v, &["per_second"]).unwrap_or(0.0),
                    p50: num(&v, &["latency_us", "p50"]).unwrap_or(0.0),
                    p99: num(&v, &["latency_us", "p99"]).unwrap_or(0.0),
                    p999: num(&v, &["latency_us", "p999"]).unwrap_or(0.0),
                    unit: v
                        .get("latency_unit")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .into(),
                });
            }
        }
    }
    for (file, mode) in [
        ("baseline-engine.json", "engine"),
        ("baseline-batch.json", "sql batch"),
    ] {
        let Some(v) = read(dir, file) else { continue };
        for r in v
            .get("results")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(ps) = num(r, &["per_second"]) else {
                continue;
            };
            let side = r.get("side").and_then(Value::as_str).unwrap_or("?");
            out.push(Row {
                mode: mode.into(),
                side: if side == "rota" {
                    "rota in-process".into()
                } else {
                    side.into()
                },
                per_second: ps,
                p50: num(r, &["latency_us", "p50"]).unwrap_or(0.0),
                p99: num(r, &["latency_us", "p99"]).unwrap_or(0.0),
                p999: num(r, &["latency_us", "p999"]).unwrap_or(0.0),
                unit: r
                    .get("latency_unit")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .into(),
            });
        }
    }
    out
}

const COLOURS: [&str; 4] = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1"];

/// Grouped bars on a log10 axis: `groups` of (label, [(series, value)]).
fn bars(title: &str, unit: &str, groups: &[(String, Vec<(String, f64)>)]) -> String {
    let series: Vec<String> = {
        let mut s: Vec<String> = Vec::new();
        for (_, g) in groups {
            for (name, _) in g {
                if !s.contains(name) {
                    s.push(name.clone());
                }
            }
        }
        s
    };
    let vals = groups.iter().flat_map(|g| g.1.iter().map(|x| x.1));
    let max = vals.clone().fold(1.0f64, f64::max);
    let min = vals.filter(|v| *v > 0.0).fold(max, f64::min);
    let (lo, hi) = (
        min.log10().floor(),
        max.log10().ceil().max(min.log10().floor() + 1.0),
    );
    let (w, h, left, top, bottom) = (760.0, 360.0, 70.0, 40.0, 60.0);
    let plot_h = h - top - bottom;
    let gw = (w - left - 20.0) / groups.len().max(1) as f64;
    let bw = gw * 0.8 / series.len().max(1) as f64;
    let y = |v: f64| top + plot_h * (1.0 - (v.max(10f64.powf(lo)).log10() - lo) / (hi - lo));
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(
        s,
        r#"<text x="{}" y="20" text-anchor="middle" font-size="14">{title}</text>"#,
        w / 2.0
    );
    let mut e = lo;
    while e <= hi {
        let yy = y(10f64.powf(e));
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">1e{e}</text>"##,
            w - 20.0,
            left - 5.0,
            yy + 4.0
        );
        e += 1.0;
    }
    let _ = write!(
        s,
        r#"<text x="15" y="{}" transform="rotate(-90 15 {})" text-anchor="middle">{unit} (log scale)</text>"#,
        top + plot_h / 2.0,
        top + plot_h / 2.0
    );
    for (gi, (label, g)) in groups.iter().enumerate() {
        let gx = left + gi as f64 * gw + gw * 0.1;
        for (name, v) in g {
            let si = series.iter().position(|x| x == name).unwrap_or(0);
            let x = gx + si as f64 * bw;
            let yy = y(*v);
            let _ = write!(
                s,
                r#"<rect x="{x:.1}" y="{yy:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{name}: {v:.0}</title></rect>"#,
                bw * 0.9,
                (top + plot_h - yy).max(0.0),
                COLOURS[si % COLOURS.len()]
            );
        }
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{label}</text>"#,
            gx + gw * 0.4,
            top + plot_h + 18.0
        );
    }
    for (si, name) in series.iter().enumerate() {
        let x = left + si as f64 * 170.0;
        let _ = write!(
            s,
            r#"<rect x="{x}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{}">{name}</text>"#,
            h - 22.0,
            COLOURS[si % COLOURS.len()],
            x + 16.0,
            h - 12.0
        );
    }
    s.push_str("</svg>\n");
    s
}

fn group_by_mode(rows: &[Row], f: impl Fn(&Row) -> f64) -> Vec<(String, Vec<(String, f64)>)> {
    let mut order: Vec<String> = Vec::new();
    let mut m: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for r in rows {
        if !order.contains(&r.mode) {
            order.push(r.mode.clone());
        }
        m.entry(r.mode.clone())
            .or_default()
            .push((r.side.clone(), f(r)));
    }
    order
        .into_iter()
        .map(|k| {
            let v = m.remove(&k).unwrap_or_default();
            (k, v)
        })
        .collect()
}

/// `rota-loadtest report`.
pub fn report(a: ReportArgs) -> anyhow::Result<bool> {
    std::fs::create_dir_all(&a.out).with_context(|| format!("{}", a.out.display()))?;
    let rows = rows(&a.results);
    anyhow::ensure!(
        !rows.is_empty(),
        "no results in {} (run loadtest/report.sh)",
        a.results.display()
    );
    let mut md = String::new();
    md.push_str("| mode | side | per second | p50 µs | p99 µs | p99.9 µs | latency of |\n|---|---|---|---|---|---|---|\n");
    for r in &rows {
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {} |",
            r.mode, r.side, r.per_second, r.p50, r.p99, r.p999, r.unit
        );
    }
    let find = |mode: &str, side: &str| {
        rows.iter()
            .find(|r| r.mode == mode && r.side == side)
            .map(|r| (r.per_second, r.p99))
    };
    md.push_str("\n| ratio | throughput | p99 |\n|---|---|---|\n");
    for (name, a_, b_) in [
        ("Route: rota / floor", ("route", "rota"), ("route", "floor")),
        (
            "RouteStream: rota / floor",
            ("stream", "rota"),
            ("stream", "floor"),
        ),
        (
            "RouteBatch: rota / floor",
            ("batch", "rota"),
            ("batch", "floor"),
        ),
        (
            "Report: rota / floor",
            ("report", "rota"),
            ("report", "floor"),
        ),
        (
            "engine: rota in-process / PostgreSQL",
            ("engine", "rota in-process"),
            ("engine", "postgres"),
        ),
        (
            "batch: RouteBatch over gRPC / PostgreSQL batched",
            ("batch", "rota"),
            ("sql batch", "postgres"),
        ),
    ] {
        if let (Some(x), Some(y)) = (find(a_.0, a_.1), find(b_.0, b_.1)) {
            let _ = writeln!(
                md,
                "| {name} | {:.2}× | {:.2}× |",
                x.0 / y.0.max(1e-9),
                x.1 / y.1.max(1e-9)
            );
        }
    }
    if let Ok(text) = std::fs::read_to_string(a.results.join("scaling.jsonl")) {
        let pts: Vec<Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        if !pts.is_empty() {
            let label = |p: &Value| {
                format!(
                    "{}L×{}k",
                    num(p, &["libraries"]).unwrap_or(0.0),
                    num(p, &["records"]).unwrap_or(0.0) / 1e3
                )
            };
            let groups: Vec<(String, Vec<(String, f64)>)> = pts
                .iter()
                .map(|p| {
                    (
                        label(p),
                        vec![
                            (
                                "lookup p50".to_string(),
                                num(p, &["lookup_p50_us"]).unwrap_or(0.0),
                            ),
                            (
                                "route p50".to_string(),
                                num(p, &["route_p50_us"]).unwrap_or(0.0),
                            ),
                            (
                                "route p99".to_string(),
                                num(p, &["route_p99_us"]).unwrap_or(0.0),
                            ),
                        ],
                    )
                })
                .collect();
            std::fs::write(
                a.out.join("scaling.svg"),
                bars(
                    "Engine cost as the consortium grows (one core)",
                    "µs",
                    &groups,
                ),
            )?;
        }
    }
    std::fs::write(
        a.out.join("throughput.svg"),
        bars(
            "Throughput per mode: floor, rota, PostgreSQL",
            "requests or events per second",
            &group_by_mode(&rows, |r| r.per_second),
        ),
    )?;
    std::fs::write(
        a.out.join("latency-p99.svg"),
        bars(
            "p99 latency per mode (per request; batch and report: per stream or statement)",
            "µs",
            &group_by_mode(&rows, |r| r.p99),
        ),
    )?;
    std::fs::write(a.out.join("results.md"), &md)?;
    print!("{md}");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_well_formed_svg_with_every_bar() {
        let g = vec![
            (
                "route".to_string(),
                vec![
                    ("floor".to_string(), 40_000.0),
                    ("rota".to_string(), 20_000.0),
                ],
            ),
            ("batch".to_string(), vec![("rota".to_string(), 100.0)]),
        ];
        let s = bars("t", "per s", &g);
        assert!(s.starts_with("<svg") && s.ends_with("</svg>\n"));
        assert_eq!(
            s.matches("<rect").count(),
            3 + 2,
            "three bars and two legend keys"
        );
        assert!(s.contains("rota: 20000"));
    }
}

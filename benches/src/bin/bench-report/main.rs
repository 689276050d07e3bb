//! The side-by-side bench report: rota's index vs a naive HashMap vs SQLite for
//! identifier → holders, typo-tolerant title lookups, parse/cluster throughput on the LoC
//! records, routing latency and batch throughput, and event application.
//!
//! `cargo run --release -p rota-benches --bin bench-report -- [--records N]`
//! prints a markdown report; every figure in it is measured in that run. `--real` prints
//! the real-data report instead ([`real`]): the LoC records as a consortium, beside the
//! synthetic catalogue's size and title lookups.

mod real;

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use rota_benches::{engine_with_history, pct, request, synthetic, two_hundred_holders};
use rota_catalog::ingest::{self, Manifest, Source};
use rota_catalog::{Citation, LookupOptions, generate};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn lat_line(name: &str, mut ns: Vec<u64>) -> String {
    ns.sort_unstable();
    let mean = ns.iter().sum::<u64>() as f64 / ns.len().max(1) as f64;
    format!(
        "| {name} | {:.0} | {:.2} | {:.2} | {:.2} | {:.0} |",
        ns.len(),
        pct(&ns, 0.5) as f64 / 1e3,
        pct(&ns, 0.99) as f64 / 1e3,
        pct(&ns, 0.999) as f64 / 1e3,
        1e9 / mean
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let records: usize = args
        .iter()
        .position(|a| a == "--records")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    println!("# rota bench report\n");
    println!(
        "machine: {} cores; {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(
                |s| s.lines().find(|l| l.starts_with("model name")).map(|l| l
                    .split(':')
                    .nth(1)
                    .unwrap_or("")
                    .trim()
                    .to_string())
            )
            .unwrap_or_default()
    );

    let only_routing = args.iter().any(|a| a == "--only-routing");
    if args.iter().any(|a| a == "--only-title") {
        title_section(&synthetic(records, 1000));
        return;
    }
    if args.iter().any(|a| a == "--profile-title") {
        // a loop to profile: the title section's queries, twenty times over
        let cat = synthetic(records, 1000);
        for _ in 0..20 {
            title_section(&cat);
        }
        return;
    }
    let typical = args.iter().any(|a| a == "--profile-route-typical");
    if typical || args.iter().any(|a| a == "--profile-route200") {
        // a loop to profile: routes for 200-holder items, or typical ones
        let (engine, state, _) = engine_with_history(two_hundred_holders(200_000), 1_000_000);
        let dir = engine.directory().clone();
        let mut n = 0;
        let count = if typical { 2_000_000u64 } else { 200_000 };
        for k in 0..count {
            let item = if typical {
                (k * 7919) % 200_000
            } else {
                (k % 200) * 1000
            };
            let req = request(&dir, item, k as usize);
            n += engine
                .route(&state, &req)
                .map(|s| s.lenders.len())
                .unwrap_or(0);
        }
        println!("{n}");
        return;
    }
    if args.iter().any(|a| a == "--profile-ident") {
        // a loop to profile: identifier -> holders, as in the table below
        let cat = synthetic(records, 1000);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let queries: Vec<String> = (0..200_000)
            .map(|_| generate::isbn_of(rng.gen_range(0..records as u64)))
            .collect();
        let mut buf = Vec::new();
        let t = Instant::now();
        for _ in 0..50 {
            for q in &queries {
                rota_holders(&cat, q, &mut buf);
                black_box(&buf);
            }
        }
        println!("{:.0} lookups/s", 1e7 / t.elapsed().as_secs_f64());
        return;
    }
    if args.iter().any(|a| a == "--profile-articles") {
        // a loop to profile: article routes among 200 serial holders
        let (engine, state, _) = engine_with_history(
            rota_benches::two_hundred_serial_holders(50_000, true),
            200_000,
        );
        let dir = engine.directory().clone();
        let reqs: Vec<_> = (0..50u64)
            .map(|k| rota_benches::article_request(&dir, k * 1000, k as usize, k))
            .collect();
        let mut n = 0;
        for k in 0..400_000 {
            n += engine
                .route(&state, &reqs[k % reqs.len()])
                .map(|s| s.lenders.len())
                .unwrap_or(0);
        }
        println!("{n}");
        return;
    }
    if args.iter().any(|a| a == "--serials") {
        serials_section();
        return;
    }
    if args.iter().any(|a| a == "--scaling") {
        scaling();
        return;
    }
    if args.iter().any(|a| a == "--real") {
        let Some(loc) = loc_file() else {
            eprintln!("the LoC records are not fetched: run scripts/fetch-loc.sh");
            std::process::exit(2);
        };
        real::report(&loc);
        println!("\n## Beside it: the synthetic catalogue ({records} records, 1,000 libraries)\n");
        let cat = synthetic(records, 1000);
        let m = cat.meta();
        println!(
            "snapshot {} bytes = {:.2} bytes per holding ({:.1} holders per cluster)",
            cat.size_bytes(),
            cat.size_bytes() as f64 / m.holdings.max(1) as f64,
            m.holdings as f64 / m.clusters.max(1) as f64
        );
        title_section(&cat);
        return;
    }
    if args.iter().any(|a| a == "--breakdown") {
        breakdown();
        return;
    }
    if !only_routing {
        catalog_sections(records);
    }
    routing_section();
}

/// Articles against coverage: an article among 200 serial holders beside a book among
/// 200 holders, in-process, one thread, same directory and history; and the snapshot
/// bytes coverage adds per serial holding, synthetic and on the Evergreen fixtures.
fn serials_section() {
    println!("\n## Serials: routing an article by coverage\n");
    let (book, bstate, _) = engine_with_history(two_hundred_holders(50_000), 200_000);
    let (art, astate, _) = engine_with_history(
        rota_benches::two_hundred_serial_holders(50_000, true),
        200_000,
    );
    let bdir = book.directory().clone();
    let adir = art.directory().clone();
    let breqs: Vec<_> = (0..50u64)
        .map(|k| request(&bdir, k * 1000, k as usize))
        .collect();
    let areqs: Vec<_> = (0..50u64)
        .map(|k| rota_benches::article_request(&adir, k * 1000, k as usize, k))
        .collect();
    let round = |f: &mut dyn FnMut(usize) -> usize| {
        let t = Instant::now();
        for k in 0..10_000 {
            black_box(f(k));
        }
        t.elapsed().as_nanos() as f64 / 10_000.0
    };
    let (mut excluded, mut unknown_ranked, mut ranked) = (0usize, 0usize, 0usize);
    for r in &areqs {
        let s = art.route(&astate, r).expect("route");
        excluded += s
            .excluded
            .iter()
            .filter(|e| {
                matches!(
                    e.reason,
                    rota_routing::Exclusion::Coverage | rota_routing::Exclusion::Embargo
                )
            })
            .count();
        ranked += s.lenders.len();
        unknown_ranked += s
            .lenders
            .iter()
            .filter(|l| l.reason.contains("coverage not checked"))
            .count();
    }
    let mut route_book = |k: usize| {
        book.route(&bstate, &breqs[k % breqs.len()])
            .map_or(0, |s| s.lenders.len())
    };
    let mut route_article = |k: usize| {
        art.route(&astate, &areqs[k % areqs.len()])
            .map_or(0, |s| s.lenders.len())
    };
    // warm up, then 15 rounds of each, alternating so that the machine's drift falls on
    // both alike; the medians are reported, and the median of the per-pair ratios
    round(&mut route_book);
    round(&mut route_article);
    let (mut bs, mut as_, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..15 {
        let b = round(&mut route_book);
        let a = round(&mut route_article);
        bs.push(b);
        as_.push(a);
        ratios.push(a / b);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (b, a, ratio) = (median(&mut bs), median(&mut as_), median(&mut ratios));
    println!("| route (top 5 of 200 holders) | µs per route |\n|---|---|");
    println!("| a book | {:.1} |", b / 1e3);
    println!("| an article, coverage checked | {:.1} |", a / 1e3);
    println!(
        "\narticle / book: **{ratio:.2}×** (median of 15 alternating rounds of 10,000; range {:.2}-{:.2}; target ≤ 2×)",
        ratios[0],
        ratios[ratios.len() - 1]
    );
    println!(
        "per article: {:.1} holders left out by coverage or a moving wall; of the lenders returned, {:.1} % could not be checked",
        excluded as f64 / areqs.len() as f64,
        100.0 * unknown_ranked as f64 / ranked.max(1) as f64
    );
    let with = rota_benches::two_hundred_serial_holders(50_000, true);
    let without = rota_benches::two_hundred_serial_holders(50_000, false);
    let n = with.coverage_holdings();
    println!(
        "\nsnapshot: {} bytes with coverage, {} without: {:.2} bytes per serial holding with coverage ({n} of them)",
        with.size_bytes(),
        without.size_bytes(),
        (with.size_bytes() - without.size_bytes()) as f64 / n.max(1) as f64
    );
    let ev = std::env::var_os("ROTA_SHARED_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("../shared/data"))
        .join("evergreen-testsets");
    if ev.join("serials_mfhd.xml").exists() {
        let source = |file: &str, fields: &[&str]| Source {
            mfhd_link: Some("001=901$a".into()),
            ..Source::union_file(ev.join(file), fields)
        };
        let m = Manifest {
            name: "evergreen serials".into(),
            libraries: vec![],
            sources: vec![
                source("serials_marc21.xml", &[]),
                source("serials_mfhd.xml", &["852$b"]),
            ],
        };
        let built = ingest::build(&m, &ingest::BuildOptions::default(), &|_| {}).expect("build");
        let cat = rota_catalog::Catalog::from_bytes(built.bytes).expect("valid");
        let section: usize = cat
            .section_sizes()
            .iter()
            .filter(|(name, _)| *name == "serial coverage")
            .map(|(_, n)| *n)
            .sum();
        println!(
            "Evergreen MFHD fixtures (real): coverage section {section} bytes for {} holdings with coverage: {:.1} bytes each",
            cat.coverage_holdings(),
            section as f64 / cat.coverage_holdings().max(1) as f64
        );
    }
}

/// The LoC file `scripts/fetch-loc.sh` caches, if it is there.
fn loc_file() -> Option<std::path::PathBuf> {
    std::env::var_os("ROTA_DATA_CACHE")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache/rota"))
        })
        .map(|d| d.join("BooksAll.2016.part01.utf8"))
        .filter(|f| f.exists())
}

fn catalog_sections(records: usize) {
    // 1. LoC parse + normalise + cluster
    if let Some(f) = loc_file() {
        let m = Manifest {
            name: "LoC".into(),
            libraries: vec![],
            sources: vec![Source::library_file(f, "DLC")],
        };
        let t = Instant::now();
        let r = ingest::build(&m, &ingest::BuildOptions::default(), &|_| {})
            .expect("build")
            .report;
        let total = t.elapsed().as_secs_f64();
        let pc = (r.stage_ms["parse"] + r.stage_ms["cluster"]) as f64 / 1e3;
        println!("\n## LoC Books All 2016 part 01 ({} records)\n", r.records);
        println!("| stage | seconds | records/s |\n|---|---|---|");
        println!(
            "| read + parse + normalise | {:.2} | {:.0} |",
            r.stage_ms["parse"] as f64 / 1e3,
            r.records as f64 / (r.stage_ms["parse"] as f64 / 1e3)
        );
        println!(
            "| cluster | {:.2} | {:.0} |",
            r.stage_ms["cluster"] as f64 / 1e3,
            r.records as f64 / (r.stage_ms["cluster"] as f64 / 1e3)
        );
        println!(
            "| **parse + normalise + cluster** | {pc:.2} | **{:.0}** |",
            r.records as f64 / pc
        );
        println!(
            "| index + snapshot | {:.2} | |",
            r.stage_ms["index"] as f64 / 1e3
        );
        println!(
            "| whole build | {total:.2} | {:.0} |",
            r.records as f64 / total
        );
        println!(
            "\nclusters {}, merged by oclc {}, by identifier {}, refused by chain guard {}",
            r.clusters,
            r.clustering.merged_by_oclc,
            r.clustering.merged_by_identifier,
            r.clustering.refused_merges
        );
    } else {
        println!("\n(LoC records not fetched: run scripts/fetch-loc.sh)");
    }

    // 2. identifier -> holders: index vs HashMap vs SQLite
    let t = Instant::now();
    let cat = synthetic(records, 1000);
    let gen_s = t.elapsed().as_secs_f64();
    let m = cat.meta();
    println!(
        "\n## Synthetic catalogue: {} records, {} holdings, 1,000 libraries (built in {gen_s:.1} s)\n",
        m.clusters, m.holdings
    );
    let snap = cat.size_bytes();
    let mut roaring_bytes = 0usize;
    let sample = 100_000.min(cat.clusters());
    for c in cat.cluster_ids().take(sample as usize) {
        roaring_bytes += cat.holder_bitmap(c).serialized_size();
    }
    let runs_bytes: usize = cat
        .section_sizes()
        .iter()
        .filter(|(name, _)| name.starts_with("holding"))
        .map(|(_, b)| b)
        .sum();
    println!(
        "snapshot {snap} bytes = {:.2} bytes per holding all-in (ids, titles, tokens, holdings)",
        snap as f64 / m.holdings as f64
    );
    println!(
        "holder storage: varint runs with their offsets {:.1} bytes/cluster (all clusters); a roaring bitmap per cluster {:.1} bytes/cluster (first {sample})",
        runs_bytes as f64 / f64::from(cat.clusters().max(1)),
        roaring_bytes as f64 / sample as f64
    );

    let n_q = 200_000;
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let queries: Vec<String> = (0..n_q)
        .map(|_| generate::isbn_of(rng.gen_range(0..records as u64)))
        .collect();
    // naive map
    let t = Instant::now();
    let mut naive: HashMap<String, Vec<u32>> = HashMap::with_capacity(records);
    for c in cat.cluster_ids() {
        let isbn = generate::isbn_of(u64::from(c.get()));
        naive.insert(
            isbn,
            cat.holders(c).iter().map(|h| h.library.get()).collect(),
        );
    }
    let naive_build = t.elapsed().as_secs_f64();
    // sqlite
    let t = Instant::now();
    let db = rusqlite::Connection::open_in_memory().expect("sqlite");
    db.execute_batch("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; CREATE TABLE holdings(isbn TEXT NOT NULL, lib INTEGER NOT NULL);").expect("schema");
    {
        let tx = db.unchecked_transaction().expect("tx");
        {
            let mut ins = tx
                .prepare("INSERT INTO holdings VALUES (?1, ?2)")
                .expect("prep");
            for c in cat.cluster_ids() {
                let isbn = generate::isbn_of(u64::from(c.get()));
                for h in cat.holders(c) {
                    ins.execute(rusqlite::params![isbn, h.library.get()])
                        .expect("insert");
                }
            }
        }
        tx.commit().expect("commit");
    }
    db.execute_batch("CREATE INDEX holdings_isbn ON holdings(isbn);")
        .expect("index");
    let sqlite_build = t.elapsed().as_secs_f64();

    println!("\n### identifier → holders, one thread, {n_q} random ISBN lookups\n");
    println!(
        "| implementation | lookups | p50 µs | p99 µs | p99.9 µs | lookups/s |\n|---|---|---|---|---|---|"
    );
    let mut buf = Vec::new();
    let mut lat = Vec::with_capacity(n_q);
    for q in &queries {
        let s = Instant::now();
        rota_holders(&cat, q, &mut buf);
        black_box(&buf);
        lat.push(s.elapsed().as_nanos() as u64);
    }
    let rota_line = lat_line(
        "rota index (identifier tables + holdings runs)",
        lat.clone(),
    );
    let rota_mean = lat.iter().sum::<u64>() as f64 / lat.len() as f64;
    println!("{rota_line}");
    let mut lat = Vec::with_capacity(n_q);
    for q in &queries {
        let s = Instant::now();
        black_box(naive.get(q.as_str()));
        lat.push(s.elapsed().as_nanos() as u64);
    }
    println!("{}", lat_line("naive HashMap<String, Vec<u32>>", lat));
    let mut stmt = db
        .prepare_cached("SELECT lib FROM holdings WHERE isbn = ?1")
        .expect("prep");
    let mut lat = Vec::with_capacity(n_q / 10);
    for q in queries.iter().take(n_q / 10) {
        let s = Instant::now();
        black_box(sqlite_holders(&mut stmt, q));
        lat.push(s.elapsed().as_nanos() as u64);
    }
    let sqlite_mean = lat.iter().sum::<u64>() as f64 / lat.len() as f64;
    println!("{}", lat_line("SQLite (bundled, in memory, indexed)", lat));
    // Throughput: the same loops timed whole, without a clock read per lookup (two clock
    // reads cost about as much as a tenth of a rota lookup).
    let t = Instant::now();
    for q in &queries {
        rota_holders(&cat, q, &mut buf);
        black_box(&buf);
    }
    let rota_tp = queries.len() as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut ids = Vec::with_capacity(256);
    let mut hb = Vec::new();
    for chunk in queries.chunks(256) {
        rota_holders_many(&cat, chunk, &mut ids, &mut hb);
        black_box(&hb);
    }
    let many_tp = queries.len() as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for q in &queries {
        black_box(naive.get(q.as_str()));
    }
    let naive_tp = queries.len() as f64 / t.elapsed().as_secs_f64();
    let n_sql = n_q / 4;
    let t = Instant::now();
    for q in queries.iter().take(n_sql) {
        black_box(sqlite_holders(&mut stmt, q));
    }
    let sqlite_tp = n_sql as f64 / t.elapsed().as_secs_f64();
    println!(
        "\nthroughput, one thread, loops timed whole: rota {rota_tp:.0}/s one at a time, {many_tp:.0}/s in batches of 256 (`each_holding_of_many`), naive map {naive_tp:.0}/s, SQLite {sqlite_tp:.0}/s"
    );
    println!(
        "\nrota / SQLite throughput: **{:.1}×** in batches, {:.1}× one at a time (from the mean latencies above: {:.1}×). Build: naive map {naive_build:.1} s, SQLite load + index {sqlite_build:.1} s.",
        many_tp / sqlite_tp,
        rota_tp / sqlite_tp,
        sqlite_mean / rota_mean
    );
    let naive_mem: usize = naive
        .iter()
        .map(|(k, v)| k.capacity() + v.capacity() * 4 + 24 + 24 + 8)
        .sum();
    println!(
        "naive map heap ≈ {:.1} bytes/holding (keys + vectors, excluding hash table slack)",
        naive_mem as f64 / m.holdings as f64
    );
    drop(naive);
    drop(stmt);
    drop(db);

    title_section(&cat);
    drop(cat);
}

fn title_section(cat: &rota_catalog::Catalog) {
    // 3. typo-tolerant title lookups
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut lat = Vec::new();
    let mut found = 0;
    let n_t = 2000;
    for _ in 0..n_t {
        let c = rota_catalog::ClusterId::new(rng.gen_range(0..cat.clusters()));
        let info = cat.info(c).expect("info");
        // one typo in the longest word (a substitution)
        let mut words: Vec<String> = info.title.split(' ').map(str::to_string).collect();
        let (wi, _) = words
            .iter()
            .enumerate()
            .max_by_key(|(_, w)| w.len())
            .expect("word");
        let mut chars: Vec<char> = words[wi].chars().collect();
        if chars.len() >= 5 {
            let p = chars.len() / 2;
            chars[p] = if chars[p] == 'x' { 'q' } else { 'x' };
        }
        words[wi] = chars.into_iter().collect();
        let cit = Citation {
            title: Some(words.join(" ")),
            author: Some(info.author.clone()),
            ..Citation::default()
        };
        let s = Instant::now();
        let m = cat.lookup(&cit, LookupOptions::default()).expect("lookup");
        lat.push(s.elapsed().as_nanos() as u64);
        if m.iter().any(|m| m.cluster == c) {
            found += 1;
        }
    }
    println!(
        "\n### typo-tolerant title + author lookup (one substitution in the longest title word)\n"
    );
    println!(
        "| lookup | queries | p50 µs | p99 µs | p99.9 µs | lookups/s |\n|---|---|---|---|---|---|"
    );
    println!("{}", lat_line("title + author, 1 typo", lat));
    println!("\nthe intended record was among the matches in {found} of {n_t} queries");
}

/// The full path a caller takes: normalise the text, look up the key, read the holders.
fn rota_holders(cat: &rota_catalog::Catalog, isbn: &str, out: &mut Vec<rota_catalog::Holding>) {
    let id = rota_catalog::ident::normalize_isbn(isbn).expect("isbn");
    out.clear();
    cat.each_cluster_for(&id, |c| cat.holders_into(c, out));
}

/// The same for many texts at once: normalise them all, then one batch lookup.
fn rota_holders_many(
    cat: &rota_catalog::Catalog,
    isbns: &[String],
    ids: &mut Vec<rota_catalog::Ident>,
    out: &mut Vec<(usize, rota_catalog::Holding)>,
) {
    ids.clear();
    ids.extend(
        isbns
            .iter()
            .map(|t| rota_catalog::ident::normalize_isbn(t).expect("isbn")),
    );
    out.clear();
    cat.each_holding_of_many(ids, |i, _, h| out.push((i, h)));
}

/// SQLite's side of the same question.
fn sqlite_holders(stmt: &mut rusqlite::CachedStatement<'_>, isbn: &str) -> Vec<u32> {
    stmt.query_map([isbn], |r| r.get(0))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect()
}

/// Routes every request on the rayon pool; returns (lenders returned, seconds).
fn route_all(
    engine: &rota_routing::Engine,
    state: &rota_routing::LiveState,
    reqs: &[rota_routing::Request],
) -> (usize, f64) {
    let t = Instant::now();
    let n = reqs
        .par_iter()
        .map(|r| engine.route(state, r).map(|s| s.lenders.len()).unwrap_or(0))
        .sum();
    (n, t.elapsed().as_secs_f64())
}

fn routing_section() {
    // 4. routing: an item held by 200 of 1,000 lenders
    let t = Instant::now();
    let (engine, state, events) = engine_with_history(two_hundred_holders(200_000), 1_000_000);
    println!(
        "\n## Routing (1,000 lenders, 200,000 items, 1,000,000 events of history; set up in {:.1} s)\n",
        t.elapsed().as_secs_f64()
    );
    let dir = engine.directory().clone();
    let mut lat = Vec::new();
    let mut total_lenders = 0usize;
    for k in 0..20_000u64 {
        let i = (k % 200) * 1000; // the 200-holder items
        let req = request(&dir, i, k as usize);
        let s = Instant::now();
        let r = engine.route(&state, &req).expect("route");
        lat.push(s.elapsed().as_nanos() as u64);
        total_lenders += r.lenders.len();
    }
    println!(
        "| operation | count | p50 µs | p99 µs | p99.9 µs | per second |\n|---|---|---|---|---|---|"
    );
    println!(
        "{}",
        lat_line(
            "route: match + filter + rank top 5, 200 holders, one core",
            lat
        )
    );
    assert!(total_lenders > 0);
    let mut lat = Vec::new();
    for k in 0..20_000u64 {
        let i = (k * 7919) % 200_000;
        let req = request(&dir, i, k as usize);
        let s = Instant::now();
        black_box(engine.route(&state, &req).expect("route"));
        lat.push(s.elapsed().as_nanos() as u64);
    }
    println!("{}", lat_line("route: typical item (1-11 holders)", lat));

    // batch of 1M with rayon
    let reqs: Vec<_> = (0..1_000_000u64)
        .map(|k| request(&dir, (k * 7919) % 200_000, k as usize))
        .collect();
    let (n, el) = route_all(&engine, &state, &reqs);
    println!(
        "\nbatch: 1,000,000 requests (typical items) routed with rayon on {} threads in {el:.2} s = **{:.0} routes/s** ({n} lenders returned)",
        rayon::current_num_threads(),
        1e6 / el
    );
    let reqs200: Vec<_> = (0..200_000u64)
        .map(|k| request(&dir, (k % 200) * 1000, k as usize))
        .collect();
    let (n, el) = route_all(&engine, &state, &reqs200);
    println!(
        "batch: 200,000 requests for 200-holder items in {el:.2} s = {:.0} routes/s ({n} lenders)",
        2e5 / el
    );

    // events
    let mut fresh = engine.new_state();
    let t = Instant::now();
    for e in &events {
        fresh.apply(&dir, e).expect("apply");
    }
    let el = t.elapsed().as_secs_f64();
    println!(
        "events: {} applied in {el:.2} s = **{:.0} events/s** (one thread)",
        events.len(),
        events.len() as f64 / el
    );
}

#[allow(dead_code)]
fn breakdown() {
    let (engine, state, _) = engine_with_history(two_hundred_holders(200_000), 1_000_000);
    let dir = engine.directory().clone();
    let reqs: Vec<_> = (0..300_000u64)
        .map(|k| request(&dir, (k * 7919) % 200_000, k as usize))
        .collect();
    let t = Instant::now();
    let mut n = 0;
    for r in &reqs {
        n += engine
            .catalog()
            .lookup(&r.citation, Default::default())
            .map(|m| m.len())
            .unwrap_or(0);
    }
    println!(
        "lookup only: {:.0} ns ({n})",
        t.elapsed().as_nanos() as f64 / 3e5
    );
    for max in [1u32, 5] {
        let t = Instant::now();
        let mut n = 0;
        for r in &reqs {
            let mut r = r.clone();
            r.max_lenders = max;
            n += engine
                .route(&state, &r)
                .map(|s| s.lenders.len())
                .unwrap_or(0);
        }
        println!(
            "route max {max}: {:.0} ns ({n})",
            t.elapsed().as_nanos() as f64 / 3e5
        );
    }
    let t = Instant::now();
    let mut n = 0;
    for r in &reqs {
        n += r.clone().max_lenders;
    }
    println!("clone: {:.0} ns ({n})", t.elapsed().as_nanos() as f64 / 3e5);
}

/// How the engine's costs grow with records (300 libraries) and with libraries (1 M
/// records): build time, snapshot size, identifier lookup and a typical route, one core.
/// Prints a markdown table and one JSON line per configuration (for PERFORMANCE.md).
fn scaling() {
    println!(
        "| libraries | records | holdings | build s | snapshot MB | bytes/holding | lookup p50 µs | lookup p99 µs | route p50 µs | route p99 µs |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let configs = [
        (300, 100_000),
        (300, 1_000_000),
        (300, 10_000_000),
        (100, 1_000_000),
        (1_000, 1_000_000),
        (10_000, 1_000_000),
    ];
    for (libraries, records) in configs {
        let t = Instant::now();
        let cat = synthetic(records, libraries);
        let build = t.elapsed().as_secs_f64();
        let size = cat.size_bytes();
        let holdings = cat.meta().holdings;
        let (engine, state, _) = engine_with_history(cat, 200_000);
        let dir = engine.directory().clone();
        let n = 20_000u64;
        let mut look = Vec::with_capacity(n as usize);
        let mut route = Vec::with_capacity(n as usize);
        for k in 0..n {
            let rec = (k * 7919 + 13) % records as u64;
            let req = request(&dir, rec, k as usize);
            let t = Instant::now();
            black_box(
                engine
                    .catalog()
                    .lookup(&req.citation, LookupOptions::default())
                    .ok(),
            );
            look.push(t.elapsed().as_nanos() as u64);
            let t = Instant::now();
            black_box(engine.route(&state, &req).ok());
            route.push(t.elapsed().as_nanos() as u64);
        }
        look.sort_unstable();
        route.sort_unstable();
        let us = |v: &[u64], q: f64| pct(v, q) as f64 / 1e3;
        println!(
            "| {libraries} | {records} | {holdings} | {build:.1} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} |",
            size as f64 / 1e6,
            size as f64 / holdings.max(1) as f64,
            us(&look, 0.5),
            us(&look, 0.99),
            us(&route, 0.5),
            us(&route, 0.99)
        );
        eprintln!(
            "{}",
            serde_json::json!({
                "libraries": libraries, "records": records, "holdings": holdings,
                "build_s": build, "snapshot_bytes": size,
                "lookup_p50_us": us(&look, 0.5), "lookup_p99_us": us(&look, 0.99),
                "route_p50_us": us(&route, 0.5), "route_p99_us": us(&route, 0.99),
            })
        );
    }
}

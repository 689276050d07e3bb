//! `bench-report --real`: the figures issue 14 asks for, on the Library of Congress
//! records split into a consortium the way real union catalogues look
//! ([`rota_catalog::realistic`]): clustering against the hand-labelled pairs, citations
//! typed the way patrons type them (how many route to the wrong book, how many to the
//! right one, and how long each lookup takes, in-process), identifier → holders on the
//! records' own ISBNs, and the snapshot's bytes per holding section by section.

use std::collections::HashSet;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use rota_benches::pct;
use rota_catalog::marc::{self, Record};
use rota_catalog::realistic::{self, Consortium, SplitOptions, Typed};
use rota_catalog::{LookupOptions, MatchStatus};

/// WorldCat's holdings per record: about 609 M records and 3.58 G holdings (October 2025).
const WORLDCAT_HOLDERS: f64 = 5.9;
/// The SWB union catalogue sample in `../shared/data`: 13,802 holdings of 674 records.
const SWB_HOLDERS: f64 = 19.4;
/// Libraries in the consortium.
const LIBRARIES: usize = 100;
/// Every held record's citation in this many is scored (all unheld ones are).
const HELD_STEP: usize = 10;
/// Seeds other than the ones the matching rules were tuned on (7 and 99).
const SPLIT_SEED: u64 = 11;
const CITATION_SEED: u64 = 1234;

const PAIRS: &str = include_str!("../../../../tests/data/loc-shared-identifier-pairs.tsv");

fn ms(v: &[u64], q: f64) -> f64 {
    pct(v, q) as f64 / 1e3
}

/// Runs the real-data report on the LoC file at `path`.
pub fn report(path: &Path) {
    let t = Instant::now();
    let data = std::fs::read(path).expect("the LoC file");
    let records: Vec<Record> = marc::read_iso2709(&data).into_iter().flatten().collect();
    drop(data);
    let pairs = realistic::parse_labels(PAIRS).expect("labelled pairs");
    println!(
        "\n## Real data: {} Library of Congress records as a consortium of {LIBRARIES} libraries\n",
        records.len()
    );
    println!(
        "Each library holds a Zipf share, each copy catalogued with its own variations, 10 % of \
         the titles held by nobody (`rota_catalog::realistic`); split seed {SPLIT_SEED}, citation \
         seed {CITATION_SEED} (the rules were tuned on 7 and 99). Records read in {:.1} s.",
        t.elapsed().as_secs_f64()
    );

    let mut con = Consortium::new(
        &records,
        &SplitOptions {
            libraries: LIBRARIES,
            mean_holders: WORLDCAT_HOLDERS,
            seed: SPLIT_SEED,
            ..SplitOptions::default()
        },
    );
    // both records of every labelled pair held, so that every pair is scored
    let ids: HashSet<&str> = pairs
        .iter()
        .flat_map(|p| [p.a.as_str(), p.b.as_str()])
        .collect();
    for (i, r) in records.iter().enumerate() {
        if con.holders[i].is_empty() && r.control("001").is_some_and(|c| ids.contains(c.trim())) {
            con.holders[i] = vec![0, 1];
        }
    }
    let t = Instant::now();
    let built = realistic::build(&records, &con).expect("build");
    let build_s = t.elapsed().as_secs_f64();
    let cat = &built.catalog;
    let m = cat.meta();
    println!(
        "\nbuilt through the ingest pipeline in {build_s:.1} s: {} clusters, {} holdings ({:.2} holders per cluster)",
        m.clusters,
        m.holdings,
        m.holdings as f64 / m.clusters.max(1) as f64
    );

    // clustering
    let c = realistic::score_clustering(&records, &built, &pairs);
    println!("\n### Clustering (hand-labelled pairs of records sharing an identifier)\n");
    println!("| measure | result | target |\n|---|---|---|");
    println!(
        "| different works sharing an identifier, fused | {} of {} = **{:.2} %** | ≤ 0.5 % |",
        c.fused,
        c.different,
        100.0 * c.fused_share()
    );
    println!(
        "| same work merged (labelled pairs and copies of one record) | {} of {} labelled, {} of {} copy pairs = **{:.2} %** | ≥ 95 % |",
        c.merged,
        c.same,
        c.copies_merged,
        c.copy_pairs,
        100.0 * c.merged_share()
    );

    // citations
    println!(
        "\n### Citations typed as patrons type them (all unheld titles, every {HELD_STEP}th held one), one thread, in-process\n"
    );
    println!(
        "| citation | unheld routed to another book | target | held routed to the book | lookups | p50 µs | p99 µs | p99.9 µs |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (how, name, target) in [
        (Typed::TitleAuthor, "title + author", "≤ 1 %"),
        (Typed::Title, "title only", "≤ 2 %"),
        (Typed::FirstWords, "first two words of the title", "≤ 2 %"),
    ] {
        let mut lat = Vec::new();
        let s =
            realistic::score_citations(&records, &built, how, HELD_STEP, CITATION_SEED, |cit| {
                let t = Instant::now();
                let r = cat.resolve(cit, LookupOptions::default());
                lat.push(t.elapsed().as_nanos() as u64);
                match r {
                    Ok(r) if r.status == MatchStatus::Matched => {
                        r.matches.iter().map(|m| m.cluster).collect()
                    }
                    _ => Vec::new(),
                }
            });
        lat.sort_unstable();
        println!(
            "| {name} | {} of {} = **{:.2} %** | {target} | {} of {} = {:.1} % | {} | {:.0} | {:.0} | {:.0} |",
            s.unheld_routed,
            s.unheld,
            100.0 * s.unheld_routed_share(),
            s.held_right,
            s.held,
            100.0 * s.held_right_share(),
            lat.len(),
            ms(&lat, 0.5),
            ms(&lat, 0.99),
            ms(&lat, 0.999)
        );
    }
    println!(
        "\ntargets for title + author: held routed right ≥ 95 %, lookup p50 ≤ 200 µs, p99 ≤ 1,000 µs"
    );

    // identifiers
    let isbns: Vec<String> = records
        .iter()
        .filter_map(|r| r.field("020")?.sub(b'a').map(str::to_string))
        .filter(|t| rota_catalog::ident::normalize_isbn(t).is_ok_and(|i| i.valid()))
        .collect();
    let mut lat = Vec::with_capacity(isbns.len());
    let mut buf = Vec::new();
    let mut found = 0usize;
    for q in &isbns {
        let t = Instant::now();
        let id = rota_catalog::ident::normalize_isbn(q).expect("checked above");
        buf.clear();
        cat.each_cluster_for(&id, |c| cat.holders_into(c, &mut buf));
        black_box(&buf);
        lat.push(t.elapsed().as_nanos() as u64);
        found += usize::from(!buf.is_empty());
    }
    lat.sort_unstable();
    println!(
        "\n### identifier → holders on the records' own ISBNs\n\n{} lookups ({found} with holders): p50 {:.2} µs, p99 {:.2} µs, p99.9 {:.2} µs",
        lat.len(),
        ms(&lat, 0.5),
        ms(&lat, 0.99),
        ms(&lat, 0.999)
    );

    size_table(cat, WORLDCAT_HOLDERS);
    drop(built);

    // the same records at a regional union catalogue's density
    let con = Consortium::new(
        &records,
        &SplitOptions {
            libraries: LIBRARIES,
            mean_holders: SWB_HOLDERS,
            seed: SPLIT_SEED,
            ..SplitOptions::default()
        },
    );
    let built = realistic::build(&records, &con).expect("build");
    let m = built.catalog.meta();
    println!(
        "\nThe same records held the way the SWB union catalogue sample is ({SWB_HOLDERS} holders per record): {} holdings, snapshot {} bytes = **{:.2} bytes per holding**",
        m.holdings,
        built.catalog.size_bytes(),
        built.catalog.size_bytes() as f64 / m.holdings.max(1) as f64
    );
}

fn size_table(cat: &rota_catalog::Catalog, holders: f64) {
    let m = cat.meta();
    let size = cat.size_bytes();
    println!(
        "\n### Size at WorldCat's density ({holders} holders per record)\n\nsnapshot {size} bytes = **{:.2} bytes per holding** all-in, {:.1} bytes per cluster\n",
        size as f64 / m.holdings.max(1) as f64,
        size as f64 / m.clusters.max(1) as f64
    );
    println!("| section | bytes | per cluster | per holding |\n|---|---|---|---|");
    for (name, b) in cat.section_sizes() {
        println!(
            "| {name} | {b} | {:.2} | {:.2} |",
            b as f64 / m.clusters.max(1) as f64,
            b as f64 / m.holdings.max(1) as f64
        );
    }
}

//! Each matching and lendability rule on the real records that need it: the Evergreen
//! test sets in `../shared/data` (MFHD serials, Hebrew 880s, e-books with cancelled
//! print ISBNs, holdings notes) and the SWB union records. Record numbers are the
//! records' 001s, or their position in a file that has none.

use std::sync::Arc;

use rota_catalog::ingest::{self, BuildOptions, Manifest, Source};
use rota_catalog::{Catalog, Citation, Lending, LookupOptions, MatchMethod, MatchStatus};
use rota_routing::synth::directory_for;
use rota_routing::{
    Directory, ElectronicIll, Engine, Exclusion, Request, RouteStatus, ServiceType,
};

use crate::common::{by_issn, rota_bin, shared_data};

fn build(sources: Vec<Source>) -> (Catalog, ingest::BuildReport) {
    let m = Manifest {
        name: "rules".into(),
        libraries: vec![],
        sources,
    };
    let b = ingest::build(&m, &BuildOptions::default(), &|_| {}).unwrap();
    (Catalog::from_bytes(b.bytes).unwrap(), b.report)
}

fn holders_of(cat: &Catalog, c: rota_catalog::ClusterId) -> Vec<(String, Lending)> {
    cat.holders(c)
        .iter()
        .map(|h| (cat.library(h.library).symbol.clone(), h.lending))
        .collect()
}

#[test]
#[cfg_attr(
    rota_no_shared_data,
    ignore = "needs ../shared/data beside the checkout (or ROTA_SHARED_DATA)"
)]
fn evergreen_mfhd_records_are_the_holdings_of_their_serials() {
    // serials_mfhd.xml: seven MARC holdings records (leader/06 y), each naming its
    // serial by its first 001 (a814607, ...), which the serial carries in 901 $a; the
    // holding library is 852 $b (HRSRH, DESMARAIS)
    let d = shared_data();
    let dir = d.join("evergreen-testsets");
    let source = |file: &str, fields: &[&str]| Source {
        mfhd_link: Some("001=901$a".into()),
        ..Source::union_file(dir.join(file), fields)
    };
    let (cat, report) = build(vec![
        source("serials_marc21.xml", &[]),
        source("serials_mfhd.xml", &["852$b"]),
    ]);
    assert_eq!(cat.clusters(), 7, "holdings records are not bibliographic");
    assert_eq!(report.holdings_records.read, 7);
    assert_eq!(report.holdings_records.attached, 7);
    assert_eq!(report.holdings_records.unlinked, 0);
    for (issn, holder) in [
        ("0009-7330", "HRSRH"),     // Circulation research, a814607
        ("1098-7126", "HRSRH"),     // CIN plus, a814610
        ("1913-1607", "DESMARAIS"), // NRC newslink, a814666
        ("1481-5869", "DESMARAIS"), // Globe, a815076
    ] {
        let c = by_issn(&cat, issn);
        assert_eq!(
            holders_of(&cat, c),
            vec![(holder.to_string(), Lending::BOTH)]
        );
    }

    // the same through the command line, with the link given as a flag
    let out = std::process::Command::new(rota_bin())
        .args(["catalog", "build", "--out"])
        .arg(std::env::temp_dir().join(format!("rota-mfhd-{}.snap", std::process::id())))
        .arg("--union")
        .arg(dir.join("serials_marc21.xml"))
        .arg("--union")
        .arg(dir.join("serials_mfhd.xml"))
        .args(["--holdings-field", "852$b", "--mfhd-link", "001=901$a"])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("7 attached"), "{text}");
}

#[test]
#[cfg_attr(
    rota_no_shared_data,
    ignore = "needs ../shared/data beside the checkout (or ROTA_SHARED_DATA)"
)]
fn vernacular_titles_in_880_find_their_record() {
    // hebrew.marc (MARC-8): record 13810341 is romanised in 245 and has its Hebrew title
    // in 880 (לתורה בלמועדים : רסיסי הגיונות)
    let d = shared_data();
    let (cat, _) = build(vec![Source::library_file(
        d.join("evergreen-testsets/hebrew.marc"),
        "IL-TEST",
    )]);
    let r = cat
        .resolve(
            &Citation {
                title: Some("לתורה בלמועדים".into()),
                ..Citation::default()
            },
            LookupOptions::default(),
        )
        .unwrap();
    let top = r.candidates.first().expect("a candidate");
    let info = cat.info(top.cluster).unwrap();
    assert!(info.title.starts_with("La-Torah vela-moʻadim"), "{info:?}");
    assert_eq!(top.method, MatchMethod::TitleAuthor);
    // and its other vernacular title (246 in 880), with the author romanised
    let r = cat
        .resolve(
            &Citation {
                title: Some("נצוצות חבדיים".into()),
                author: Some("Zevin".into()),
                ..Citation::default()
            },
            LookupOptions::default(),
        )
        .unwrap();
    assert_eq!(r.candidates.first().map(|m| m.cluster), Some(top.cluster));
}

#[test]
#[cfg_attr(
    rota_no_shared_data,
    ignore = "needs ../shared/data beside the checkout (or ROTA_SHARED_DATA)"
)]
fn a_cancelled_isbn_finds_its_record_as_cancelled() {
    // oss.marc, record 21 (no 001): "Plant energetics", an e-book whose print ISBN
    // 0124273505 is in 020 $z
    let d = shared_data();
    let file = d.join("evergreen-testsets/oss.marc");
    let (cat, report) = build(vec![Source::library_file(&file, "CA-LU")]);
    assert!(report.cancelled_identifiers >= 5, "{report:?}");
    let r = cat
        .resolve(
            &Citation {
                isbn: Some("0124273505".into()),
                ..Citation::default()
            },
            LookupOptions::default(),
        )
        .unwrap();
    let m = r.candidates.first().expect("found");
    assert_eq!(m.method, MatchMethod::CancelledIdentifier);
    assert!(
        cat.info(m.cluster)
            .unwrap()
            .title
            .starts_with("Plant energetics")
    );
    // with the title as well, it is the book
    let r = cat
        .resolve(
            &Citation {
                isbn: Some("0124273505".into()),
                title: Some("Plant energetics".into()),
                ..Citation::default()
            },
            LookupOptions::default(),
        )
        .unwrap();
    assert_eq!(r.status, MatchStatus::Matched);
    assert_eq!(r.matches[0].cluster, m.cluster);

    // `rota catalog lookup` says so in words
    let snap = std::env::temp_dir().join(format!("rota-oss-{}.snap", std::process::id()));
    let ok = std::process::Command::new(rota_bin())
        .args(["catalog", "build", "--out"])
        .arg(&snap)
        .arg("--library")
        .arg(format!("CA-LU={}", file.display()))
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let out = std::process::Command::new(rota_bin())
        .args(["catalog", "lookup"])
        .arg(&snap)
        .args(["--isbn", "0124273505"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cancelled"), "{text}");
    assert!(!text.contains("check digit"), "{text}");
    let _ = std::fs::remove_file(snap);
}

#[test]
#[cfg_attr(
    rota_no_shared_data,
    ignore = "needs ../shared/data beside the checkout (or ROTA_SHARED_DATA)"
)]
fn e_books_are_never_lent_and_copied_only_under_licence() {
    // oss.marc, record 21: "Plant energetics", 007 cr (online), 9786611029364; record
    // 12: "Producing open source software", print, 0596007590. Two libraries hold the
    // file's records; a third borrows.
    let d = shared_data();
    let oss = d.join("evergreen-testsets/oss.marc");
    let (cat, report) = build(vec![
        Source::library_file(&oss, "US-AAA"),
        Source::library_file(&oss, "US-BBB"),
        Source::library_file(d.join("evergreen-testsets/map_data.mrc"), "US-CCC"),
    ]);
    assert!(
        report
            .limited_holdings
            .iter()
            .any(|(k, n)| k.contains("online") && *n >= 2 * 13),
        "{:?}",
        report.limited_holdings
    );
    let cat = Arc::new(cat);
    let synth = directory_for(
        &cat,
        1,
        chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
    )
    .unwrap();
    let mut lenders = synth.lenders().to_vec();
    for l in &mut lenders {
        l.electronic_ill = if l.symbol == "US-AAA" {
            ElectronicIll::SecureElectronic
        } else {
            ElectronicIll::None
        };
    }
    let dir = Arc::new(Directory::new(lenders, "test").unwrap());
    let engine = Engine::new(cat.clone(), dir, vec![]).unwrap();
    let state = engine.new_state();
    let route = |isbn: &str, service| {
        engine
            .route(
                &state,
                &Request {
                    request_id: format!("{isbn}-{service:?}"),
                    borrower: "US-CCC".into(),
                    citation: Citation {
                        isbn: Some(isbn.into()),
                        ..Citation::default()
                    },
                    service,
                    format: None,
                    max_cost: None,
                    currency: None,
                    need_before: None,
                    rush: false,
                    tried: vec![],
                    max_lenders: 5,
                    profile: None,
                    min_confidence: None,
                    require_identifier: false,
                    route_anyway: false,
                    availability: vec![],
                    now: 1_796_000_000,
                },
            )
            .unwrap()
    };
    let reason = |s: &rota_routing::LendingString, sym: &str| {
        s.excluded
            .iter()
            .find(|x| x.symbol.as_str() == sym)
            .map(|x| x.reason)
    };
    // a loan of an e-book: nobody
    let s = route("9786611029364", Some(ServiceType::Loan));
    assert_eq!(s.status, RouteStatus::Routed);
    assert!(s.lenders.is_empty(), "{:?}", s.lenders);
    assert_eq!(reason(&s, "US-AAA"), Some(Exclusion::OnlineNeverLent));
    assert_eq!(reason(&s, "US-BBB"), Some(Exclusion::OnlineNeverLent));
    // a copy: only where the licence allows
    let s = route("9786611029364", Some(ServiceType::Copy));
    let syms: Vec<&str> = s.lenders.iter().map(|l| l.symbol.as_str()).collect();
    assert_eq!(syms, vec!["US-AAA"]);
    assert_eq!(reason(&s, "US-BBB"), Some(Exclusion::OnlineNotLicensed));
    // the print book: both lend
    let s = route("0596007590", Some(ServiceType::Loan));
    assert_eq!(s.lenders.len(), 2, "{:?}", s.excluded);
}

#[test]
#[cfg_attr(
    rota_no_shared_data,
    ignore = "needs ../shared/data beside the checkout (or ROTA_SHARED_DATA)"
)]
fn holdings_notes_that_allow_lending_do_not_limit_it() {
    // map_data.mrc: 852 $x "nonreference", "holdable", "circulating" (record 13683783)
    // and $z "Available": notes that say an item lends, which must not read as
    // "reference only"
    let d = shared_data();
    let (cat, report) = build(vec![Source::library_file(
        d.join("evergreen-testsets/map_data.mrc"),
        "US-MAPS",
    )]);
    assert!(
        report.limited_holdings.is_empty(),
        "{:?}",
        report.limited_holdings
    );
    for c in cat.cluster_ids() {
        for (_, l) in holders_of(&cat, c) {
            assert_eq!(l, Lending::BOTH);
        }
    }
}

#[test]
#[cfg_attr(
    any(rota_no_shared_data, rota_no_loc),
    ignore = "needs ../shared/data and the LoC records (scripts/fetch-loc.sh)"
)]
fn the_build_report_names_refused_merges_and_limited_holdings() {
    // LoC 00008235 "The super-duper seed surprise" and 00008497 "Cooks, cakes, and
    // chocolate shakes": one ISBN (0570071135) printed in two books of a series
    let loc = crate::common::loc_file();
    let data = std::fs::read(&loc).unwrap();
    let mut out = Vec::new();
    for r in rota_catalog::marc::read_iso2709(&data)
        .into_iter()
        .flatten()
    {
        if matches!(
            r.control("001").map(str::trim),
            Some("00008235" | "00008497")
        ) {
            rota_catalog::marc::write_iso2709(&r, &mut out);
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("series.mrc");
    std::fs::write(&file, &out).unwrap();
    let d = shared_data();
    let o = std::process::Command::new(rota_bin())
        .args(["catalog", "build", "--out"])
        .arg(tmp.path().join("x.snap"))
        .arg("--library")
        .arg(format!("US-DLC={}", file.display()))
        .arg("--library")
        .arg(format!(
            "CA-LU={}",
            d.join("evergreen-testsets/oss.marc").display()
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("refused merges 1 (title 1)"), "{text}");
    assert!(
        text.contains(
            "US-DLC:00008235 and US-DLC:00008497 share isbn:9780570071136 but differ in title"
        ) || text.contains(
            "US-DLC:00008497 and US-DLC:00008235 share isbn:9780570071136 but differ in title"
        ),
        "{text}"
    );
    // oss.marc's 14 online resources: copied, never lent
    assert!(text.contains("copy only: online resource"), "{text}");
}

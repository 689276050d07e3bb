//! The union catalogue on real data and through the `rota catalog` command.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use rota_catalog::bib::{Bib, ReadOptions};
use rota_catalog::ingest::{self, BuildOptions, Manifest, Source};
use rota_catalog::lending::HoldingField;
use rota_catalog::marc;
use rota_catalog::{Catalog, Citation, IdKind, LookupOptions, MatchMethod};

use crate::common::{loc_file, rota_bin, shared_data};

fn union_manifest(paths: &[std::path::PathBuf], fields: &[&str]) -> Manifest {
    Manifest {
        name: "test".into(),
        libraries: vec![],
        sources: paths
            .iter()
            .map(|p| Source::union_file(p, fields))
            .collect(),
    }
}

fn build(m: &Manifest) -> (Vec<u8>, ingest::BuildReport) {
    let b = ingest::build(m, &BuildOptions::default(), &|_| {}).unwrap();
    (b.bytes, b.report)
}

#[test]
#[cfg_attr(
    rota_no_shared_data,
    ignore = "needs ../shared/data beside the checkout (or ROTA_SHARED_DATA)"
)]
fn every_shared_marc_file_reads_without_panic() {
    let d = shared_data();
    let mut files = 0;
    for dir in std::fs::read_dir(&d).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !matches!(ext, "mrc" | "marc" | "xml" | "marcxml") {
                continue;
            }
            files += 1;
            let data = std::fs::read(&f).unwrap();
            let recs = marc::read_any(&data);
            let ok = recs.iter().filter(|r| r.is_ok()).count();
            assert!(ok > 0, "{}: no record read", f.display());
            // every record that reads also yields a Bib without panicking
            for r in recs.iter().flatten() {
                let _ = Bib::from_record(
                    r,
                    &[
                        HoldingField::parse("852$a").unwrap(),
                        HoldingField::parse("924$b").unwrap(),
                    ],
                );
            }
        }
    }
    assert!(files >= 12, "expected the shared MARC files, found {files}");
}

/// Whether a 924 $b value is an ISIL (a prefix of capitals, a hyphen, no spaces): the
/// SWB file also has years ("1968") and shelf marks ("M 504105", "Mar1") there.
fn is_isil(s: &str) -> bool {
    s.split_once('-').is_some_and(|(p, r)| {
        (2..=4).contains(&p.len())
            && p.chars().all(|c| c.is_ascii_uppercase())
            && !r.is_empty()
            && !r.contains(' ')
    })
}

/// The 924 $b ISILs of each SWB record, read straight from the XML text so the test does
/// not trust the reader it checks.
fn swb_expected(xml: &str) -> HashMap<String, BTreeSet<String>> {
    let mut out = HashMap::new();
    for rec in xml.split("<record>").skip(1) {
        let oclc = rec.split("(OCoLC)").nth(1).map(|s| {
            s.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        });
        let mut isils = BTreeSet::new();
        for f in rec.split("tag=\"924\">").skip(1) {
            let f = &f[..f.find("</datafield>").unwrap()];
            for s in f.split("<subfield code=\"b\">").skip(1) {
                let v = &s[..s.find('<').unwrap()];
                if is_isil(v) {
                    isils.insert(v.to_string());
                }
            }
        }
        if let Some(o) = oclc.filter(|o| !o.is_empty()) {
            out.entry(o.trim_start_matches('0').to_string())
                .or_insert_with(BTreeSet::new)
                .extend(isils);
        }
    }
    out
}

#[test]
#[cfg_attr(
    rota_no_shared_data,
    ignore = "needs ../shared/data beside the checkout (or ROTA_SHARED_DATA)"
)]
fn swb_924_holdings_come_out_as_the_right_isils() {
    let d = shared_data();
    let path = d.join("swb-union-holdings/swb-674.marcxml");
    let expected = swb_expected(&std::fs::read_to_string(&path).unwrap());
    assert!(
        expected.len() > 500,
        "expected OCLC numbers on most SWB records"
    );
    let (bytes, report) = build(&union_manifest(&[path], &["924$b"]));
    assert_eq!(report.records, 674);
    assert_eq!(report.skipped, 0);
    // 485 distinct 924 $b values, 440 of them ISILs; the other 45 are refused, named
    assert_eq!(report.libraries, 440, "440 distinct ISILs in the SWB file");
    let refused = &report.refused_symbols.0;
    assert!(refused["no_letter"].examples.contains(&"1968".to_string()));
    assert!(refused["spaces"].examples.iter().all(|e| e.contains(' ')));
    assert_eq!(
        refused.values().map(|r| r.symbols).sum::<usize>(),
        45,
        "{refused:?}"
    );
    let cat = Catalog::from_bytes(bytes).unwrap();
    for (oclc, isils) in &expected {
        let m = cat
            .lookup(
                &Citation {
                    oclc: Some(oclc.clone()),
                    ..Citation::default()
                },
                LookupOptions::default(),
            )
            .unwrap();
        assert_eq!(m.len(), 1, "oclc {oclc}");
        assert_eq!(m[0].method, MatchMethod::Oclc);
        let got: BTreeSet<String> = cat
            .holders(m[0].cluster)
            .iter()
            .map(|h| cat.library(h.library).symbol.clone())
            .collect();
        assert_eq!(&got, isils, "holders of oclc {oclc}");
    }
}

#[test]
#[cfg_attr(
    rota_no_shared_data,
    ignore = "needs ../shared/data beside the checkout (or ROTA_SHARED_DATA)"
)]
fn bad_isbns_are_flagged_and_match_only_themselves() {
    let d = shared_data();
    let path = d.join("evergreen-testsets/badisbns.xml");
    let bibs: Vec<Bib> = ingest::read_file_bibs(&path, &ReadOptions::default())
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(bibs.len(), 10);
    for b in &bibs {
        let flagged = b.ids.iter().any(|i| i.kind == IdKind::Isbn && !i.valid())
            || !b.unreadable_ids.is_empty();
        assert!(
            flagged,
            "record {:?} ({}) not flagged",
            b.record_id, b.title
        );
    }
    // 8901452100503 is a 13-digit string with no 978/979 prefix: kept, flagged, findable
    let (bytes, report) = build(&union_manifest(&[path], &[]));
    assert!(
        report.invalid_identifiers + report.cancelled_identifiers + report.unreadable_identifiers
            >= 10
    );
    let cat = Catalog::from_bytes(bytes).unwrap();
    let m = cat
        .lookup(
            &Citation {
                isbn: Some("8901452100503".into()),
                ..Citation::default()
            },
            LookupOptions::default(),
        )
        .unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].method, MatchMethod::InvalidIdentifier);
    assert!(m[0].confidence < 1.0);
}

fn field_text(r: &marc::Record, tag: &str) -> String {
    r.fields(tag)
        .flat_map(|f| f.subfields.iter().map(|s| s.value.clone()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
#[cfg_attr(
    rota_no_shared_data,
    ignore = "needs ../shared/data beside the checkout (or ROTA_SHARED_DATA)"
)]
fn marc8_titles_come_out_as_unicode() {
    let d = shared_data();
    let data = std::fs::read(d.join("evergreen-testsets/lul_fre_500.mrc")).unwrap();
    let recs: Vec<marc::Record> = marc::read_any(&data)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(recs.len(), 500);
    let divin = recs
        .iter()
        .find(|r| r.field("245").and_then(|f| f.sub(b'a')) == Some("Le divin :"))
        .expect("the 'Le divin' record");
    assert_eq!(
        divin.field("245").unwrap().sub(b'b'),
        Some("expériences et hypothèses : études psychologiques.")
    );
    assert!(
        recs.iter()
            .all(|r| !field_text(r, "245").contains('\u{FFFD}'))
    );
    // NFC: é is one code point, not e + combining acute
    assert!(field_text(divin, "245").contains('\u{e9}'));

    let data = std::fs::read(d.join("evergreen-testsets/hebrew.marc")).unwrap();
    let recs: Vec<marc::Record> = marc::read_any(&data)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let hebrew = recs
        .iter()
        .flat_map(|r| r.fields.iter())
        .flat_map(|f| f.subfields.iter())
        .filter(|s| {
            s.value
                .chars()
                .any(|c| ('\u{05D0}'..='\u{05EA}').contains(&c))
        })
        .count();
    assert!(hebrew > 20, "Hebrew subfields decoded: {hebrew}");

    // FSL.marc claims MARC-8 in its leaders but is UTF-8 Cyrillic/Armenian: read as UTF-8
    let data = std::fs::read(d.join("evergreen-testsets/FSL.marc")).unwrap();
    let recs: Vec<marc::Record> = marc::read_any(&data)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(
        recs.iter()
            .any(|r| r.warnings.contains(&marc::Warning::Marc8LeaderButUtf8))
    );
    assert!(
        recs.iter()
            .all(|r| !field_text(r, "245").contains('\u{FFFD}'))
    );
}

#[test]
#[cfg_attr(
    rota_no_shared_data,
    ignore = "needs ../shared/data beside the checkout (or ROTA_SHARED_DATA)"
)]
fn clustering_on_real_files_finds_twins_and_never_mixes_languages() {
    let d = shared_data();
    let files = [
        "swb-union-holdings/swb-674.marcxml",
        "obp/obp_full_2025-12.mrc",
        "evergreen-testsets/jazz_1k.mrc",
        "evergreen-testsets/lul_fre_500.mrc",
        "evergreen-testsets/serials_marc21.xml",
        "lc-edge-cases/edge_cases.mrc",
    ];
    let mut bibs = Vec::new();
    for f in files {
        bibs.extend(
            ingest::read_file_bibs(&d.join(f), &ReadOptions::default())
                .unwrap()
                .into_iter()
                .flatten(),
        );
    }
    // the OBP catalogue twice over, as if two libraries loaded it: every record must find
    // its twin
    let obp: Vec<Bib> =
        ingest::read_file_bibs(&d.join("obp/obp_full_2025-12.mrc"), &ReadOptions::default())
            .unwrap()
            .into_iter()
            .flatten()
            .collect();
    let before = bibs.len();
    bibs.extend(obp.iter().cloned());
    let c = rota_catalog::cluster::cluster(&bibs);
    let mut members: HashMap<u32, Vec<usize>> = HashMap::new();
    for (r, k) in c.assign.iter().enumerate() {
        members.entry(*k).or_default().push(r);
    }
    for (i, _) in obp.iter().enumerate() {
        let twin = before + i;
        assert!(
            members[&c.assign[twin]].len() >= 2,
            "OBP record {i} found no twin"
        );
    }
    // no cluster holds two stated languages or print and online together
    for m in members.values().filter(|m| m.len() > 1) {
        let langs: BTreeSet<&str> = m
            .iter()
            .filter_map(|&r| bibs[r].language.as_deref())
            .collect();
        assert!(langs.len() <= 1, "{:?} mixes {langs:?}", bibs[m[0]].title);
        let online: BTreeSet<bool> = m
            .iter()
            .map(|&r| bibs[r].format == rota_catalog::Format::Electronic)
            .collect();
        assert_eq!(
            online.len(),
            1,
            "{:?} mixes print and online",
            bibs[m[0]].title
        );
    }
    assert!(c.clusters < bibs.len());
    // every refused merge names a reason and both records
    for r in &c.refused {
        assert!(r.record < bibs.len() && r.with < bibs.len() && !r.key.is_empty());
    }
    eprintln!(
        "real data: {} records -> {} clusters, {:?}",
        bibs.len(),
        c.clusters,
        c.stats
    );
}

#[test]
#[cfg_attr(
    rota_no_loc,
    ignore = "needs the LoC records: run scripts/fetch-loc.sh"
)]
fn loc_250k_records_build() {
    let f = loc_file();
    let m = Manifest {
        name: "loc".into(),
        libraries: vec![],
        sources: vec![Source::library_file(&f, "DLC")],
    };
    let (bytes, report) = build(&m);
    assert_eq!(report.records + report.skipped, 250_000);
    assert_eq!(report.skipped, 0, "{:?}", report.skips.first());
    // a library's own file is held by it alone: its 852 "Library of Congress" fields
    // are locations, not lenders
    assert_eq!(report.libraries, 1);
    let cat = Catalog::from_bytes(bytes).unwrap();
    assert!(cat.clusters() > 240_000);
    // every cluster is held by DLC
    let dlc = cat.library_id("DLC").unwrap();
    assert!(
        cat.cluster_ids()
            .all(|c| cat.holders(c).iter().any(|h| h.library == dlc))
    );
    let lccns = cat
        .key_count_by_kind()
        .into_iter()
        .find(|(k, _)| *k == 'l')
        .unwrap()
        .1;
    assert!(lccns > 240_000, "LCCN keys: {lccns}");
}

fn rota(args: &[&str]) -> std::process::Output {
    Command::new(rota_bin())
        .args(args)
        .output()
        .expect("run rota")
}

#[test]
#[cfg_attr(
    rota_no_shared_data,
    ignore = "needs ../shared/data beside the checkout (or ROTA_SHARED_DATA)"
)]
fn cli_build_stats_lookup_and_refusals() {
    let d = shared_data();
    let tmp = tempfile::tempdir().unwrap();
    let snap = tmp.path().join("swb.snap");
    let snap_s = snap.to_str().unwrap();
    let swb = d.join("swb-union-holdings/swb-674.marcxml");
    let missing = tmp.path().join("no-such-file.mrc");
    let manifest = tmp.path().join("consortium.toml");
    std::fs::write(
        &manifest,
        format!(
            "name = \"test\"\n[[library]]\nsymbol = \"DE-21\"\nname = \"UB Tübingen\"\n\n[[source]]\npath = {:?}\nholdings = [\"924$b\"]\n\n[[source]]\npath = {:?}\nlibrary = \"XX\"\n",
            swb.to_str().unwrap(),
            missing.to_str().unwrap()
        ),
    )
    .unwrap();
    // a missing source fails the build, naming the file, and writes nothing
    let out = rota(&[
        "catalog",
        "build",
        "--out",
        snap_s,
        "--manifest",
        manifest.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-file.mrc"), "{err}");
    assert_eq!(
        err.matches("no-such-file.mrc").count(),
        1,
        "said once: {err}"
    );
    assert!(!snap.exists());
    // a union file without its holdings field is refused with the fix
    let out = rota(&[
        "catalog",
        "build",
        "--out",
        snap_s,
        "--union",
        swb.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--holdings-field"));
    // without the missing file
    std::fs::write(
        &manifest,
        format!(
            "name = \"test\"\n[[library]]\nsymbol = \"DE-21\"\nname = \"UB Tübingen\"\n\n[[source]]\npath = {:?}\nholdings = [\"924$b\"]\n",
            swb.to_str().unwrap(),
        ),
    )
    .unwrap();
    let out = rota(&[
        "catalog",
        "build",
        "--out",
        snap_s,
        "--manifest",
        manifest.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["records"], 674);
    assert_eq!(
        report["refused_symbols"]["no_letter"]["examples"][0],
        "1968"
    );

    let out = rota(&["catalog", "stats", snap_s, "--json"]);
    assert!(out.status.success());
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["clusters"], 674);

    let out = rota(&[
        "catalog",
        "lookup",
        snap_s,
        "--title",
        "erste deutsche arbeiterbewegnug",
        "--author",
        "quarck",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &v["matches"][0];
    assert_eq!(first["method"], "title_author");
    assert!(
        first["holders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["symbol"] == "DE-21")
    );

    // bad input to lookup: exit 2 and a message naming the field
    let out = rota(&["catalog", "lookup", snap_s, "--isbn", "not-an-isbn"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("isbn"));

    // corrupt, truncated, empty and foreign files are refused, never read
    let bytes = std::fs::read(&snap).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "flip",
            {
                let mut b = bytes.clone();
                let i = b.len() / 2;
                b[i] ^= 0x40;
                b
            },
            "corrupt",
        ),
        ("trunc", bytes[..bytes.len() - 100].to_vec(), "truncated"),
        ("empty", Vec::new(), "not a rota"),
        (
            "foreign",
            b"PK\x03\x04 definitely a zip file, not a snapshot at all........................"
                .to_vec(),
            "not a rota",
        ),
        (
            "version",
            {
                let mut b = bytes.clone();
                b[8] = 99;
                b
            },
            "version 99",
        ),
    ];
    for (name, data, want) in cases {
        let p = tmp.path().join(name);
        std::fs::write(&p, data).unwrap();
        let out = rota(&["catalog", "stats", p.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{name}: {err}");
    }
}

#[test]
#[cfg_attr(
    rota_no_shared_data,
    ignore = "needs ../shared/data beside the checkout (or ROTA_SHARED_DATA)"
)]
fn cli_build_from_a_library_file_and_holdings_csv() {
    let d = shared_data();
    let tmp = tempfile::tempdir().unwrap();
    let snap = tmp.path().join("obp.snap");
    let csv = tmp.path().join("holdings.csv");
    // one row by ISBN, one by a record id that does not exist, one malformed
    std::fs::write(&csv, "symbol,record,copies,lendable,format\nOTHER,isbn:9781800640887,2,no,book\nOTHER,nope,1,yes,book\nOTHER,isbn:9781800640887,lots,yes,book\n").unwrap();
    let obp = d.join("obp/obp_full_2025-12.mrc");
    let out = rota(&[
        "catalog",
        "build",
        "--out",
        snap.to_str().unwrap(),
        "--library",
        &format!("OBP={}", obp.display()),
        "--holdings-csv",
        csv.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["records"], 460);
    assert_eq!(r["skipped_by_reason"]["unknown_record"], 1);
    assert_eq!(r["skipped_by_reason"]["bad_csv_row"], 1);
    let cat = Catalog::open(&snap).unwrap();
    let m = cat
        .lookup(
            &Citation {
                isbn: Some("978-1-80064-088-7".into()),
                ..Citation::default()
            },
            LookupOptions::default(),
        )
        .unwrap();
    if let Some(m) = m.first() {
        let hs = cat.holders(m.cluster);
        let other = cat.library_id("OTHER").unwrap();
        let h = hs
            .iter()
            .find(|h| h.library == other)
            .expect("OTHER holds it via the CSV");
        assert_eq!((h.copies, h.lendable()), (2, false));
        assert!(hs.iter().any(|h| Some(h.library) == cat.library_id("OBP")));
    } else {
        panic!("ISBN 9781800640887 should be in the OBP catalogue");
    }
}

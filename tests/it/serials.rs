//! Serials: coverage read from the Evergreen MFHD fixtures, and articles routed by it.

use rota_catalog::ingest::{self, BuildOptions, Manifest, Source};
use rota_catalog::{Catalog, Citation, LookupOptions};

use crate::common::{rota_bin, shared_data};

fn evergreen_serials() -> (Catalog, ingest::BuildReport) {
    let dir = shared_data().join("evergreen-testsets");
    let source = |file: &str, fields: &[&str]| Source {
        mfhd_link: Some("001=901$a".into()),
        ..Source::union_file(dir.join(file), fields)
    };
    let m = Manifest {
        name: "serials".into(),
        libraries: vec![],
        sources: vec![
            source("serials_marc21.xml", &[]),
            source("serials_mfhd.xml", &["852$b"]),
        ],
    };
    let b = ingest::build(&m, &BuildOptions::default(), &|_| {}).unwrap();
    (Catalog::from_bytes(b.bytes).unwrap(), b.report)
}

fn by_issn(cat: &Catalog, issn: &str) -> rota_catalog::ClusterId {
    let m = cat
        .lookup(
            &Citation {
                issn: Some(issn.into()),
                ..Citation::default()
            },
            LookupOptions::default(),
        )
        .unwrap();
    assert_eq!(m.len(), 1, "{issn}: {m:?}");
    m[0].cluster
}

#[test]
#[cfg_attr(
    rota_no_shared_data,
    ignore = "needs ../shared/data beside the checkout (or ROTA_SHARED_DATA)"
)]
fn evergreen_mfhd_coverage_range_by_range() {
    let (cat, report) = evergreen_serials();
    // what each holdings record states, read off the records by hand
    let expected: &[(&str, &str, Option<&str>)] = &[
        // a814607, a814610: 852 and 856 only, no 853/863/866
        ("0009-7330", "HRSRH", None),
        ("1098-7126", "HRSRH", None),
        // a814666: 853 (year)(season); 863 2007/21-24, 2008/21-22
        ("1913-1607", "DESMARAIS", Some("2007-2008")),
        // a814871, a814872: 853 (year); 863 2004/2005; 866 "2000/2001 - 2003/2004"
        ("1700-8050", "DESMARAIS", Some("2000-2005")),
        ("1700-8042", "DESMARAIS", Some("2000-2005")),
        // a815076: 853 v./no./(year) twice; 863 v.9 no.1-2 2006, v.10/11 no.2/1 2007/2008
        ("1481-5869", "DESMARAIS", Some("v.9-11 (2006-2008)")),
        // a815094: 853 v./no./(year)/(month); 863 v.18 no.4 2007, v.19 no.1-2 2007
        ("1203-2719", "DESMARAIS", Some("v.18-19 (2007)")),
    ];
    for &(issn, holder, want) in expected {
        let c = by_issn(&cat, issn);
        let cov = cat.coverage(c);
        let got: Vec<(String, String)> = cov
            .iter()
            .map(|(l, c)| (cat.library(*l).symbol.clone(), c.to_string()))
            .collect();
        let want: Vec<(String, String)> = want
            .map(|w| vec![(holder.to_string(), w.to_string())])
            .unwrap_or_default();
        assert_eq!(got, want, "{issn}");
    }
    let s = &report.serials;
    assert_eq!(s.structured, 5, "{s:?}");
    assert_eq!(s.textual_only, 0, "{s:?}");
    assert_eq!(s.unreadable_statements, 0, "{s:?}");
    assert_eq!(s.holdings_with_coverage, 5, "{s:?}");

    // the build command says so
    let out = std::process::Command::new(rota_bin())
        .args(["catalog", "build", "--out"])
        .arg(std::env::temp_dir().join(format!("rota-serials-{}.snap", std::process::id())))
        .arg("--union")
        .arg(shared_data().join("evergreen-testsets/serials_marc21.xml"))
        .arg("--union")
        .arg(shared_data().join("evergreen-testsets/serials_mfhd.xml"))
        .args(["--holdings-field", "852$b", "--mfhd-link", "001=901$a"])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(
            "serial coverage: 5 holdings; statements: 5 structured (853/863), 0 textual only (866), 0 unreadable"
        ),
        "{text}"
    );
}

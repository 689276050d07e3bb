//! Serials: coverage read from the Evergreen MFHD fixtures, and articles routed by it.

use rota_catalog::ingest::{self, BuildOptions, Manifest, Source};
use rota_catalog::{Catalog, Citation};

use crate::common::{by_issn, rota_bin, shared_data};

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

use std::sync::Arc;

use rota_routing::synth::directory_for;
use rota_routing::{
    Directory, ElectronicIll, Engine, Exclusion, LendingString, Request, RouteStatus, ServiceType,
};

/// The Evergreen serials with their MFHD (DESMARAIS holds Globe, ISSN 1481-5869,
/// v.9-11 (2006-2008)), and more holders of Globe: print runs from a holdings CSV and
/// electronic ones from KBART files, as a consortium would send them.
fn globe_consortium(dir: &std::path::Path) -> (Arc<Catalog>, Engine) {
    let ev = shared_data().join("evergreen-testsets");
    let csv = dir.join("holdings.csv");
    std::fs::write(
        &csv,
        "symbol,record,copies,lendable,format,first_volume,first_issue,first_year,last_volume,last_issue,last_year\n\
         CA-OLD,issn:1481-5869,1,yes,serial,1,1,1998,5,2,2002\n\
         CA-OPEN,issn:1481-5869,1,yes,serial,,,2004,,,\n\
         CA-NOSTMT,issn:1481-5869,1,yes,serial\n\
         CA-BORROW,issn:1481-5869,1,yes,serial,1,,1998,3,,2000\n",
    )
    .unwrap();
    let header = "publication_title\tprint_identifier\tonline_identifier\tdate_first_issue_online\tnum_first_vol_online\tnum_first_issue_online\tdate_last_issue_online\tnum_last_vol_online\tnum_last_issue_online\ttitle_url\tfirst_author\ttitle_id\tembargo_info\tcoverage_depth\tnotes\tpublisher_name";
    let kbart = |name: &str, wall: &str| {
        let p = dir.join(name);
        std::fs::write(
            &p,
            format!("{header}\nGlobe\t1481-5869\t\t1998\t1\t1\t\t\t\t\t\t\t{wall}\tfulltext\t\t\n"),
        )
        .unwrap();
        p
    };
    let source = |file: &str, fields: &[&str]| Source {
        mfhd_link: Some("001=901$a".into()),
        ..Source::union_file(ev.join(file), fields)
    };
    let m = Manifest {
        name: "globe".into(),
        libraries: vec![],
        sources: vec![
            source("serials_marc21.xml", &[]),
            source("serials_mfhd.xml", &["852$b"]),
            Source::holdings_csv(&csv),
            Source::kbart(kbart("wall.txt", "P1Y"), "CA-EWALL"),
            Source::kbart(kbart("nolicence.txt", ""), "CA-ENOLIC"),
        ],
    };
    let b = ingest::build(&m, &BuildOptions::default(), &|_| {}).unwrap();
    assert_eq!(b.report.serials.kbart_rows, 2, "{:?}", b.report.serials);
    let cat = Arc::new(Catalog::from_bytes(b.bytes).unwrap());
    let synth = directory_for(
        &cat,
        1,
        chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
    )
    .unwrap();
    let mut lenders = synth.lenders().to_vec();
    for l in &mut lenders {
        l.offers.clear();
        l.closed.clear();
        l.lending = true;
        l.suspended_from = None;
        l.suspended_to = None;
        l.electronic_ill = match l.symbol.as_str() {
            "CA-EWALL" => ElectronicIll::SecureElectronic,
            _ => ElectronicIll::None,
        };
    }
    let dir = Arc::new(Directory::new(lenders, "test").unwrap());
    let engine = Engine::new(cat.clone(), dir, vec![]).unwrap();
    (cat, engine)
}

/// 2026-12-07 12:00 UTC.
const NOW: i64 = 1_796_644_800;

fn article(
    engine: &Engine,
    volume: Option<&str>,
    date: &str,
    service: Option<ServiceType>,
) -> LendingString {
    let state = engine.new_state();
    let mut req = Request::new(
        "CA-BORROW",
        Citation {
            issn: Some("1481-5869".into()),
            title: Some("Globe".into()),
            article_title: Some("Les revues littéraires au Québec".into()),
            volume: volume.map(String::from),
            date: (!date.is_empty()).then(|| date.into()),
            ..Citation::default()
        },
        NOW,
    );
    req.service = service;
    req.max_lenders = 20;
    engine.route(&state, &req).unwrap()
}

fn ranked(s: &LendingString) -> Vec<&str> {
    s.lenders.iter().map(|l| l.symbol.as_str()).collect()
}

fn excluded(s: &LendingString, sym: &str) -> Option<(Exclusion, String)> {
    s.excluded
        .iter()
        .find(|x| x.symbol.as_str() == sym)
        .map(|x| {
            (
                x.reason,
                x.detail.as_ref().map(|d| d.to_string()).unwrap_or_default(),
            )
        })
}

#[test]
#[cfg_attr(
    rota_no_shared_data,
    ignore = "needs ../shared/data beside the checkout (or ROTA_SHARED_DATA)"
)]
fn articles_route_to_the_holders_of_their_volume_and_year() {
    let tmp = tempfile::tempdir().unwrap();
    let (_cat, engine) = globe_consortium(tmp.path());

    // 2007 (v.10): DESMARAIS's MFHD run (2006-2008) and CA-OPEN's (2004-) cover it, and
    // the e-holder with a one-year wall; the run that stopped in 2002 does not; the
    // holder with no statement comes after every covering one
    let s = article(&engine, Some("10"), "2007", None);
    assert_eq!(s.status, RouteStatus::Routed);
    let r = ranked(&s);
    assert_eq!(r.last(), Some(&"CA-NOSTMT"), "{r:?}");
    let mut covering: Vec<&str> = r[..r.len() - 1].to_vec();
    covering.sort_unstable();
    assert_eq!(covering, vec!["CA-EWALL", "CA-OPEN", "DESMARAIS"], "{r:?}");
    let (why, detail) = excluded(&s, "CA-OLD").expect("CA-OLD excluded");
    assert_eq!(why, Exclusion::Coverage);
    assert_eq!(detail, "holds v.1-5 (1998-2002); cited v.10 (2007)");
    // an article is a copy by default: the e-holder without an ILL licence is out
    assert_eq!(
        excluded(&s, "CA-ENOLIC").map(|e| e.0),
        Some(Exclusion::OnlineNotLicensed)
    );
    assert!(
        s.lenders
            .iter()
            .all(|l| l.service == rota_routing::Service::Copy)
    );
    // every ranked lender's reason says what it holds, or that it could not be checked
    let nostmt = s.lenders.iter().find(|l| l.symbol == "CA-NOSTMT").unwrap();
    assert!(
        nostmt
            .reason
            .contains("coverage not checked: it states no holdings"),
        "{}",
        nostmt.reason
    );
    let open = s.lenders.iter().find(|l| l.symbol == "CA-OPEN").unwrap();
    assert!(
        open.reason.contains("holds v.10 (2007) (2004-)"),
        "{}",
        open.reason
    );
    // the borrower's own run (1998-2000) does not hold it, so it borrows, and is never
    // in its own string
    assert!(!r.contains(&"CA-BORROW"));
    assert!(s.local.is_empty());
    // an article its own run holds is held locally
    let s = article(&engine, Some("2"), "1999", None);
    assert_eq!(s.status, RouteStatus::HeldLocally);

    // this year's issue: the moving wall (P1Y) keeps the e-holder out until 2028
    let s = article(&engine, None, "2026-03-01", None);
    let (why, detail) = excluded(&s, "CA-EWALL").expect("CA-EWALL excluded");
    assert_eq!(why, Exclusion::Embargo);
    assert_eq!(
        detail,
        "moving wall: not the last 1 year; cited 2026 is available from 2028-01-01"
    );
    // ... and DESMARAIS's print run ended in 2008
    assert_eq!(
        excluded(&s, "DESMARAIS").map(|e| e.0),
        Some(Exclusion::Coverage)
    );
    assert_eq!(ranked(&s), vec!["CA-OPEN", "CA-NOSTMT"]);

    // an old article: the wall has passed
    let s = article(&engine, None, "2019-05", None);
    assert!(ranked(&s).contains(&"CA-EWALL"), "{:?}", s.excluded);

    // no date: v.10 is DESMARAIS's for sure; the e-holder's wall cannot be checked and
    // CA-OPEN states years only, so both come after it, saying why
    let s = article(&engine, Some("10"), "", None);
    assert_eq!(ranked(&s).first(), Some(&"DESMARAIS"), "{:?}", ranked(&s));
    let ewall = s.lenders.iter().find(|l| l.symbol == "CA-EWALL").unwrap();
    assert!(
        ewall
            .reason
            .contains("the citation gives no date to check it by"),
        "{}",
        ewall.reason
    );
    let open = s.lenders.iter().find(|l| l.symbol == "CA-OPEN").unwrap();
    assert!(
        open.reason.contains("share no volume or year to compare"),
        "{}",
        open.reason
    );
    assert_eq!(
        excluded(&s, "CA-OLD").map(|e| e.0),
        Some(Exclusion::Coverage)
    );

    // a loan never goes to an electronic holder
    let s = article(&engine, Some("10"), "2007", Some(ServiceType::Loan));
    assert_eq!(
        excluded(&s, "CA-EWALL").map(|e| e.0),
        Some(Exclusion::OnlineNeverLent)
    );
    assert!(
        s.lenders
            .iter()
            .all(|l| l.service == rota_routing::Service::Loan)
    );
    assert!(ranked(&s).contains(&"DESMARAIS"));
}

#[test]
#[cfg_attr(
    rota_no_shared_data,
    ignore = "needs ../shared/data beside the checkout (or ROTA_SHARED_DATA)"
)]
fn copies_and_loans_are_learned_and_ranked_apart() {
    use rota_routing::Service;
    use rota_routing::state::{Event, EventKind};
    let tmp = tempfile::tempdir().unwrap();
    let (_cat, engine) = globe_consortium(tmp.path());
    let dir = engine.directory().clone();
    let mut state = engine.new_state();
    // CA-OPEN scans articles within hours but ships loans slowly; DESMARAIS the reverse
    let mut k = 0;
    let mut history = |lender: &str, service: Service, hours: i64| {
        for _ in 0..12 {
            k += 1;
            let sent = Event {
                at: NOW - 40 * 86_400 + k * 3_600,
                request_id: format!("h{k}"),
                borrower: "CA-NOSTMT".into(),
                lender: lender.into(),
                cluster: None,
                service,
                kind: EventKind::Sent,
            };
            let done = Event {
                at: sent.at + hours * 3_600,
                kind: match service {
                    Service::Copy => EventKind::CopyCompleted,
                    Service::Loan => EventKind::Loaned,
                },
                ..sent.clone()
            };
            state.apply(&dir, &sent).unwrap();
            state.apply(&dir, &done).unwrap();
        }
    };
    history("CA-OPEN", Service::Copy, 4);
    history("CA-OPEN", Service::Loan, 200);
    history("DESMARAIS", Service::Copy, 120);
    history("DESMARAIS", Service::Loan, 24);
    state.refresh_stale(NOW);
    let route = |service: Option<ServiceType>| {
        let mut req = Request::new(
            "CA-BORROW",
            Citation {
                issn: Some("1481-5869".into()),
                volume: Some("10".into()),
                date: Some("2007".into()),
                ..Citation::default()
            },
            NOW,
        );
        req.service = service;
        engine.route(&state, &req).unwrap()
    };
    let pos = |s: &LendingString, sym: &str| s.lenders.iter().position(|l| l.symbol == sym);
    // the article (a copy): the fast scanner first
    let copy = route(None);
    assert!(
        pos(&copy, "CA-OPEN") < pos(&copy, "DESMARAIS"),
        "{:?}",
        ranked(&copy)
    );
    let d = |s: &LendingString, sym: &str| s.lenders[pos(s, sym).unwrap()].deliver_hours;
    assert!(d(&copy, "CA-OPEN") < 12.0, "{}", d(&copy, "CA-OPEN"));
    // the same volume as a loan: the fast shipper first
    let loan = route(Some(ServiceType::Loan));
    assert!(
        pos(&loan, "DESMARAIS") < pos(&loan, "CA-OPEN"),
        "{:?}",
        ranked(&loan)
    );
    assert!(d(&loan, "CA-OPEN") > 100.0, "{}", d(&loan, "CA-OPEN"));
}

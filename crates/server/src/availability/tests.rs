use super::*;

/// yaz-ztest's answer to an SRU search with `recordSchema=opac` (MARC record cut short).
const ZTEST_ON_SHELF: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<zs:searchRetrieveResponse xmlns:zs="http://www.loc.gov/zing/srw/"><zs:version>1.1</zs:version><zs:numberOfRecords>19</zs:numberOfRecords><zs:records><zs:record><zs:recordSchema>opac</zs:recordSchema><zs:recordPacking>xml</zs:recordPacking><zs:recordData><opacRecord>
  <bibliographicRecord>
<record xmlns="http://www.loc.gov/MARC21/slim">
  <leader>00366nam a22001698a 4500</leader>
  <controlfield tag="001">   11224466 </controlfield>
</record>
  </bibliographicRecord>
<holdings>
 <holding>
  <localLocation>Main or Science/Business Reading Rms - STORED OFFSITE</localLocation>
  <callNumber>MLCM 89/00602 (N)</callNumber>
  <circulations>
   <circulation>
    <availableNow value="1"/>
    <itemId>1226176</itemId>
    <renewable value="0"/>
    <onHold value="0"/>
   </circulation>
  </circulations>
 </holding>
</holdings>
</opacRecord></zs:recordData><zs:recordPosition>1</zs:recordPosition></zs:record></zs:records></zs:searchRetrieveResponse>"#;

fn sru_with(circulations: &str) -> String {
    format!(
        r#"<zs:searchRetrieveResponse xmlns:zs="http://www.loc.gov/zing/srw/"><zs:numberOfRecords>1</zs:numberOfRecords><zs:records><zs:record><zs:recordData><opacRecord><holdings><holding><circulations>{circulations}</circulations></holding></holdings></opacRecord></zs:recordData></zs:record></zs:records></zs:searchRetrieveResponse>"#
    )
}

#[test]
fn sru_opac_answers_read_as_shelf_status() {
    assert_eq!(parse::sru(ZTEST_ON_SHELF.as_bytes()), Ok(Shelf::OnShelf));
    let out = sru_with(
        r#"<circulation><availableNow value="0"/><availabilityDate>2026-12-21</availabilityDate></circulation><circulation><availableNow value="0"/><availabilityDate>20261215</availabilityDate></circulation>"#,
    );
    assert_eq!(
        parse::sru(out.as_bytes()),
        Ok(Shelf::OnLoan {
            until: parse::date("2026-12-15")
        })
    );
    // one copy in, one out: on the shelf
    let mixed = sru_with(
        r#"<circulation><availableNow value="0"/></circulation><circulation><availableNow value="1"/></circulation>"#,
    );
    assert_eq!(parse::sru(mixed.as_bytes()), Ok(Shelf::OnShelf));
    // out with no date
    let out = sru_with(r#"<circulation><availableNow value="0"/></circulation>"#);
    assert_eq!(
        parse::sru(out.as_bytes()),
        Ok(Shelf::OnLoan { until: None })
    );
    // a record the server could not send (a surrogate diagnostic) beside one it could
    let surrogate = sru_with(r#"<circulation><availableNow value="0"/></circulation>"#).replace(
        "</zs:records>",
        r#"<zs:record><zs:recordData><diagnostic xmlns="http://www.loc.gov/zing/srw/diagnostic/"><uri>info:srw/diagnostic/1/63</uri><message>System error in retrieving records</message></diagnostic></zs:recordData></zs:record></zs:records>"#,
    );
    assert_eq!(
        parse::sru(surrogate.as_bytes()),
        Ok(Shelf::OnLoan { until: None })
    );
    // no records, or records without circulation data: nothing said
    let none = r#"<searchRetrieveResponse xmlns="http://www.loc.gov/zing/srw/"><numberOfRecords>0</numberOfRecords></searchRetrieveResponse>"#;
    assert_eq!(parse::sru(none.as_bytes()), Ok(Shelf::Unknown));
    assert_eq!(parse::sru(sru_with("").as_bytes()), Ok(Shelf::Unknown));
}

#[test]
fn bad_answers_are_errors_not_unknown() {
    let diag = r#"<zs:searchRetrieveResponse xmlns:zs="http://www.loc.gov/zing/srw/"><zs:diagnostics><diagnostic xmlns="http://www.loc.gov/zing/srw/diagnostic/"><uri>info:srw/diagnostic/1/16</uri><message>Unsupported index</message></diagnostic></zs:diagnostics></zs:searchRetrieveResponse>"#;
    let e = parse::sru(diag.as_bytes()).unwrap_err();
    assert!(e.contains("Unsupported index"), "{e}");
    assert!(parse::sru(b"<html><body>502</body></html>").is_err());
    assert!(parse::sru(b"not xml <").is_err());
    assert!(parse::sru(b"").is_err());
    let laughs =
        r#"<!DOCTYPE l [<!ENTITY a "aaaa">]><searchRetrieveResponse>&a;</searchRetrieveResponse>"#;
    assert!(parse::sru(laughs.as_bytes()).is_err());
    assert!(parse::ncip(ZTEST_ON_SHELF.as_bytes()).is_err());
    let deep = format!(
        "<searchRetrieveResponse>{}</searchRetrieveResponse>",
        "<a>".repeat(100)
    );
    assert!(parse::sru(deep.as_bytes()).is_err());
}

fn ncip_with(items: &str) -> String {
    format!(
        r#"<NCIPMessage xmlns="http://www.niso.org/2008/ncip" version="2.02"><LookupItemSetResponse><BibInformation><HoldingsSet>{items}</HoldingsSet></BibInformation></LookupItemSetResponse></NCIPMessage>"#
    )
}

#[test]
fn ncip_answers_read_as_shelf_status() {
    let item = |status: &str, due: &str| {
        format!(
            "<ItemInformation><ItemId><ItemIdentifierValue>1</ItemIdentifierValue></ItemId>{due}<ItemOptionalFields><CirculationStatus>{status}</CirculationStatus></ItemOptionalFields></ItemInformation>"
        )
    };
    let shelf = ncip_with(&item("Available On Shelf", ""));
    assert_eq!(parse::ncip(shelf.as_bytes()), Ok(Shelf::OnShelf));
    let out = ncip_with(&format!(
        "{}{}",
        item("On Loan", "<DateDue>2026-12-24T00:00:00Z</DateDue>"),
        item("Recalled", "<DateDue>2026-12-20T00:00:00Z</DateDue>")
    ));
    assert_eq!(
        parse::ncip(out.as_bytes()),
        Ok(Shelf::OnLoan {
            until: parse::date("2026-12-20T00:00:00Z")
        })
    );
    let lost = ncip_with(&item("Lost", ""));
    assert_eq!(parse::ncip(lost.as_bytes()), Ok(Shelf::Unknown));
    let problem = r#"<NCIPMessage xmlns="http://www.niso.org/2008/ncip"><LookupItemSetResponse><Problem><ProblemType>Unknown Item</ProblemType></Problem></LookupItemSetResponse></NCIPMessage>"#;
    assert_eq!(parse::ncip(problem.as_bytes()), Ok(Shelf::Unknown));
}

#[test]
fn queries_are_built_from_the_profile_and_the_item() {
    let sru = |q: Option<&str>| Lookup {
        protocol: LookupProtocol::Sru,
        url: "http://z/db".into(),
        query: q.map(str::to_string),
        schema: None,
        agency: None,
    };
    let book = Item {
        isbn: Some("9780262033848".into()),
        ..Item::default()
    };
    assert_eq!(
        cql(&sru(None), &book).as_deref(),
        Some("bath.isbn=9780262033848")
    );
    assert_eq!(
        cql(&sru(Some("dc.identifier={isbn}")), &book).as_deref(),
        Some("dc.identifier=9780262033848")
    );
    // the profile needs an identifier the item does not have
    assert_eq!(cql(&sru(Some("bath.issn={issn}")), &book), None);
    // a value that would change the query is not sent
    let odd = Item {
        isbn: Some("97802\" or x=1".into()),
        ..Item::default()
    };
    assert_eq!(cql(&sru(None), &odd), None);
    let journal = Item {
        issn: Some("0028-0836".into()),
        ..Item::default()
    };
    assert_eq!(
        cql(&sru(None), &journal).as_deref(),
        Some("bath.issn=0028-0836")
    );
    let doc = ncip_request(&book, "DE-21").unwrap();
    assert!(doc.contains(NCIP_NS) && doc.contains("<BibliographicItemIdentifier>9780262033848<"));
    assert!(doc.contains("<AgencyId>DE-21</AgencyId>"));
    assert_eq!(ncip_request(&Item::default(), "X"), None);
}

/// An SRU server: `/shelf` answers on the shelf, `/broken` HTTP 500, `/slow` after 2 s;
/// counts the requests it gets.
async fn catalogue() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::routing::get;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let (h1, h2, h3) = (hits.clone(), hits.clone(), hits.clone());
    let app = axum::Router::new()
        .route(
            "/shelf",
            get(move || async move {
                h1.fetch_add(1, Ordering::SeqCst);
                ZTEST_ON_SHELF
            }),
        )
        .route(
            "/broken",
            get(move || async move {
                h2.fetch_add(1, Ordering::SeqCst);
                (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "no")
            }),
        )
        .route(
            "/slow",
            get(move || async move {
                h3.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(2)).await;
                ZTEST_ON_SHELF
            }),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    (format!("http://{at}"), hits)
}

fn sru_at(url: String) -> Lookup {
    Lookup {
        protocol: LookupProtocol::Sru,
        url,
        query: None,
        schema: None,
        agency: None,
    }
}

#[tokio::test]
async fn the_checker_caches_answers_opens_breakers_and_gives_up_at_its_budget() {
    use std::sync::atomic::Ordering;
    let (base, hits) = catalogue().await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let c = Checker::new(Duration::from_millis(300), Duration::from_secs(600));
    let book = Item {
        isbn: Some("9780262033848".into()),
        ..Item::default()
    };
    let targets = vec![
        ("A".to_string(), sru_at(format!("{base}/shelf"))),
        ("B".to_string(), sru_at(format!("{base}/broken"))),
        ("C".to_string(), sru_at(format!("{base}/slow"))),
        ("D".to_string(), sru_at(dead)),
    ];
    let got = c.check(&targets, &book).await;
    let outcome = |got: &[(Availability, Outcome)], l: &str| {
        got.iter()
            .find(|(a, _)| a.lender == l)
            .map(|(a, o)| {
                // a failure's reason is for people; its kind is what is checked
                let o = match o {
                    Outcome::Failed(_) => Outcome::Failed(String::new()),
                    o => o.clone(),
                };
                (a.shelf, o)
            })
            .unwrap()
    };
    assert_eq!(outcome(&got, "A"), (Shelf::OnShelf, Outcome::Answered));
    assert_eq!(
        outcome(&got, "B"),
        (Shelf::Unknown, Outcome::Failed(String::new()))
    );
    // the slow catalogue is cut at the budget, not waited for
    assert_eq!(outcome(&got, "C"), (Shelf::Unknown, Outcome::TimedOut));
    assert_eq!(
        outcome(&got, "D"),
        (Shelf::Unknown, Outcome::Failed(String::new()))
    );
    // asked again: A from the cache; B, C, D fail again until their breakers open
    for _ in 1..BREAKER_FAILURES {
        let got = c.check(&targets, &book).await;
        assert_eq!(outcome(&got, "A"), (Shelf::OnShelf, Outcome::Cached));
    }
    let before = hits.load(Ordering::SeqCst);
    let got = c.check(&targets, &book).await;
    for l in ["B", "C", "D"] {
        assert_eq!(outcome(&got, l), (Shelf::Unknown, Outcome::Skipped), "{l}");
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        before,
        "a skipped lender was asked"
    );
    // one request per lender before the cache and the breakers took over
    assert_eq!(before, 1 + 2 * BREAKER_FAILURES as usize);
    // an item the profile cannot ask about is not asked
    let nothing = c.check(&targets[..1], &Item::default()).await;
    assert_eq!(nothing[0].1, Outcome::NoQuery);
}

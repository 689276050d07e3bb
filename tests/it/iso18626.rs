//! The ISO 18626 front of the real server: messages POSTed over HTTP as library systems
//! send them, confirmed on the same connection, turned into events; bad and hostile
//! messages answered with the standard's errors while the server keeps serving.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use rota_proto::v1 as pb;

use crate::server::{channel, events_applied, isbn, item_with_holders, req, rt, start};

const NS: &str = "http://illtransactions.org/2013/iso18626";

/// POSTs `body` to `/iso18626` (or `method` it); the status code and the body.
fn http(addr: &str, method: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "{method} /iso18626 HTTP/1.1\r\nHost: rota\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    // a refused body may be cut off mid-write: the answer is still there to read
    let _ = s
        .write_all(head.as_bytes())
        .and_then(|()| s.write_all(body));
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (code, body)
}

fn agency(tag: &str, symbol: &str) -> String {
    format!(
        "<{tag}><agencyIdType>ISIL</agencyIdType><agencyIdValue>{symbol}</agencyIdValue></{tag}>"
    )
}

fn header(supplier: &str, requester: &str, id: &str) -> String {
    format!(
        "<header>{}{}<timestamp>2026-12-07T10:00:00Z</timestamp><requestingAgencyRequestId>{id}</requestingAgencyRequestId></header>",
        agency("supplyingAgencyId", supplier),
        agency("requestingAgencyId", requester)
    )
}

fn request(supplier: &str, requester: &str, id: &str, isbn: &str) -> String {
    format!(
        r#"<ISO18626Message xmlns="{NS}" version="2021-2"><request>{}<bibliographicInfo><bibliographicItemId><bibliographicItemIdentifierCode>ISBN</bibliographicItemIdentifierCode><bibliographicItemIdentifier>{isbn}</bibliographicItemIdentifier></bibliographicItemId></bibliographicInfo><serviceInfo><serviceType>Loan</serviceType></serviceInfo><patronInfo><surname>Doe</surname></patronInfo></request></ISO18626Message>"#,
        header(supplier, requester, id)
    )
}

fn supplying(supplier: &str, requester: &str, id: &str, status: &str) -> String {
    format!(
        r#"<ISO18626Message xmlns="{NS}" version="2021-2"><supplyingAgencyMessage>{}<messageInfo><reasonForMessage>StatusChange</reasonForMessage></messageInfo><statusInfo><status>{status}</status><lastChange>2026-12-08T10:00:00Z</lastChange></statusInfo></supplyingAgencyMessage></ISO18626Message>"#,
        header(supplier, requester, id)
    )
}

fn requesting(supplier: &str, requester: &str, id: &str, action: &str) -> String {
    format!(
        r#"<ISO18626Message xmlns="{NS}" version="2021-2"><requestingAgencyMessage>{}<action>{action}</action></requestingAgencyMessage></ISO18626Message>"#,
        header(supplier, requester, id)
    )
}

fn status_of(confirmation: &str) -> (&str, Option<&str>) {
    let between = |a: &str, b: &str| {
        confirmation
            .split_once(a)
            .and_then(|(_, r)| r.split_once(b))
            .map(|(v, _)| v)
    };
    (
        between("<messageStatus>", "</messageStatus>").unwrap_or("none"),
        between("<errorType>", "</errorType>"),
    )
}

#[test]
fn iso18626_messages_become_events_and_bad_ones_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let s = start(tmp.path(), &["--iso18626-listen", "127.0.0.1:0"]);
    let at = s.iso18626.clone().expect("the ISO 18626 front");
    rt().block_on(async {
        let ch = channel(&s.addr).await;
        let mut catalog = pb::catalog_client::CatalogClient::new(ch.clone());
        let mut routing = pb::routing_client::RoutingClient::new(ch.clone());
        let item = item_with_holders(&mut catalog, 6).await;
        let string = routing
            .route(req("iso-1", "L00001", item))
            .await
            .unwrap()
            .into_inner();
        let lender = string.lenders[0].symbol.clone();
        let before = events_applied(&mut catalog).await;

        // a transaction observed: request, loaned, received, returned
        for (what, msg) in [
            ("request", request(&lender, "L00001", "T-1", &isbn(item))),
            ("loaned", supplying(&lender, "L00001", "T-1", "Loaned")),
            ("received", requesting(&lender, "L00001", "T-1", "Received")),
            ("completed", supplying(&lender, "L00001", "T-1", "LoanCompleted")),
            // confirmed, and no event: a status that teaches nothing
            ("overdue", supplying(&lender, "L00001", "T-1", "Overdue")),
        ] {
            let (code, body) = http(&at, "POST", msg.as_bytes());
            assert_eq!(code, 200, "{what}: {body}");
            assert_eq!(status_of(&body), ("OK", None), "{what}: {body}");
            assert!(body.contains("<requestingAgencyRequestId>T-1<"), "{what}: {body}");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while events_applied(&mut catalog).await < before + 4 {
            assert!(Instant::now() < deadline, "the four events were not applied");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        // bad and hostile messages: the standard's error, over HTTP 200
        let laughs = format!(
            r#"<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><ISO18626Message xmlns="{NS}" version="1.2">&b;</ISO18626Message>"#
        );
        for (what, msg, error) in [
            ("unknown requester", request(&lender, "NOBODY", "T-2", &isbn(item)), "UnrecognisedDataValue"),
            ("unknown supplier", supplying("NOBODY", "L00001", "T-1", "Loaned"), "UnrecognisedDataValue"),
            ("unknown action", requesting(&lender, "L00001", "T-1", "Dance"), "UnsupportedActionType"),
            ("unknown status", supplying(&lender, "L00001", "T-1", "Teleported"), "UnrecognisedDataValue"),
            ("billion laughs", laughs, "BadlyFormedMessage"),
            ("not XML", "GET / HTTP/1.0".to_string(), "BadlyFormedMessage"),
            ("no namespace", request(&lender, "L00001", "T-3", &isbn(item)).replace(&format!(" xmlns=\"{NS}\""), ""), "BadlyFormedMessage"),
        ] {
            let (code, body) = http(&at, "POST", msg.as_bytes());
            assert_eq!(code, 200, "{what}: {body}");
            assert_eq!(status_of(&body), ("ERROR", Some(error)), "{what}: {body}");
        }
        // over twice the size limit: refused before it is read
        let (code, _) = http(&at, "POST", &vec![b'x'; 3 << 20]);
        assert_eq!(code, 413);
        let (code, _) = http(&at, "GET", b"");
        assert_eq!(code, 405);

        // and the server still routes
        let again = routing
            .route(req("iso-2", "L00001", item))
            .await
            .unwrap()
            .into_inner();
        assert!(!again.lenders.is_empty());
    });
}

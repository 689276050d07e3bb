//! A scripted ISO 18626 peer (`rota peer`): lenders and requesters that answer by
//! script, so the broker can be tested end to end and shown without a library system.
//!
//! One process plays any number of libraries: a message POSTed to `/iso18626/{symbol}`
//! is received by that library (`/iso18626` alone: by the agency the message names).
//! A library acts by the message:
//! - a `request` makes it a lender, answering by its [`Behaviour`];
//! - a `requestingAgencyMessage` is for a lender: `Cancel` is answered yes until the item
//!   is loaned, `ShippedReturn` is answered `LoanCompleted`;
//! - a `supplyingAgencyMessage` makes it a requester: with `returns` on, `Loaned` is
//!   followed by `Received` and then `ShippedReturn`.
//!
//! Each library's catalogue answers NCIP `LookupItemSet` at `/ncip/{symbol}` by its
//! [`Catalogue`] script (on the shelf unless told otherwise).
//!
//! Every message received is printed to standard output as one JSON line (what a test
//! reads), with `"duplicate": true` for the same bytes received again (a resend), which
//! change nothing. Answers go to the broker's address, each resent until confirmed.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Utc;
use rota_iso18626::relay::{self, Confirmed, Ids, Supplying};
use rota_iso18626::xml::Element;
use rota_iso18626::{
    Action, AgencyId, Confirmation, ErrorType, Message, ReasonForMessage, Rejection, Status, parse,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// How a scripted lender answers a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// `WillSupply`, then `Loaned`.
    Loan,
    /// `CopyCompleted`.
    Copy,
    /// `Unfilled` with this reason.
    Unfilled(String),
    /// `RetryPossible` with this reason.
    Retry(String),
    /// Confirms and never answers.
    Silent,
    /// Answers the request with a confirmation `ERROR`.
    Refuse,
}

impl std::str::FromStr for Behaviour {
    type Err = String;

    fn from_str(s: &str) -> Result<Behaviour, String> {
        let (head, arg) = match s.split_once(':') {
            Some((h, a)) => (h, Some(a)),
            None => (s, None),
        };
        Ok(match head {
            "loan" => Behaviour::Loan,
            "copy" => Behaviour::Copy,
            "unfilled" => Behaviour::Unfilled(arg.unwrap_or("NotHeld").into()),
            "retry" => Behaviour::Retry(arg.unwrap_or("OnLoan").into()),
            "silent" => Behaviour::Silent,
            "refuse" => Behaviour::Refuse,
            _ => {
                return Err(format!(
                    "{s:?}: a behaviour is loan, copy, unfilled[:REASON], retry[:REASON], silent or refuse"
                ));
            }
        })
    }
}

/// What a scripted library's catalogue says when asked over NCIP (`LookupItemSet`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Catalogue {
    /// A copy is `Available On Shelf`.
    OnShelf,
    /// Every copy is `On Loan`, due back in two weeks.
    OnLoan,
    /// `Unknown Item` (a Problem).
    Unknown,
    /// Answers after five seconds.
    Slow,
    /// HTTP 500.
    Broken,
}

impl std::str::FromStr for Catalogue {
    type Err = String;

    fn from_str(s: &str) -> Result<Catalogue, String> {
        Ok(match s {
            "on-shelf" => Catalogue::OnShelf,
            "on-loan" => Catalogue::OnLoan,
            "unknown" => Catalogue::Unknown,
            "slow" => Catalogue::Slow,
            "broken" => Catalogue::Broken,
            _ => {
                return Err(format!(
                    "{s:?}: a catalogue is on-shelf, on-loan, unknown, slow or broken"
                ));
            }
        })
    }
}

/// The peer's script.
#[derive(Clone, Debug)]
pub struct Script {
    /// Where answers go (the broker's `/iso18626`).
    pub broker: String,
    /// How a lender not named in `lenders` answers.
    pub default: Behaviour,
    /// Per lender symbol (before `sequence`).
    pub lenders: HashMap<String, Behaviour>,
    /// By the order lenders are asked for one request: the first lender asked answers
    /// by the first, the second by the second, … (then `default`).
    pub sequence: Vec<Behaviour>,
    /// Wait before each answer.
    pub delay: Duration,
    /// Requesters receive, then return, what they are loaned.
    pub returns: bool,
    /// What each library's catalogue answers over NCIP at `/ncip/{symbol}` (else
    /// `OnShelf`).
    pub catalogues: HashMap<String, Catalogue>,
}

/// One line of the peer's output: a message it received.
#[derive(Clone, Debug, Serialize)]
pub struct Received {
    /// When (RFC 3339).
    pub at: String,
    /// The library it was for.
    pub to: String,
    /// `request`, `supplyingAgencyMessage` or `requestingAgencyMessage`.
    pub message: String,
    /// The requester's agency (`TYPE:VALUE`).
    pub requester: String,
    /// The supplier named (`TYPE:VALUE`), if any.
    pub supplier: Option<String>,
    /// The requester's request id.
    pub request_id: String,
    /// A supplier message's status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A supplier message's reason for message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A requester message's action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The same bytes were received before.
    pub duplicate: bool,
}

#[derive(Default)]
struct LenderTxn {
    loaned: bool,
}

struct Peer {
    script: Script,
    seen: Mutex<HashSet<[u8; 32]>>,
    lending: Mutex<HashMap<(String, String, String), LenderTxn>>,
    /// Requests received per (requester, request id).
    asked: Mutex<HashMap<(String, String), usize>>,
    client: reqwest::Client,
    out: Box<dyn Fn(&Received) + Send + Sync>,
}

fn agency(s: &str) -> AgencyId {
    let (kind, value) = s.split_once(':').unwrap_or(("ISIL", s));
    AgencyId {
        kind: kind.into(),
        value: value.into(),
    }
}

fn xml(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Serves the peer on `at` until the process ends; `out` is called with every message
/// received. Returns the bound address.
pub async fn serve(
    at: SocketAddr,
    script: Script,
    out: impl Fn(&Received) + Send + Sync + 'static,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(at).await?;
    let bound = listener.local_addr()?;
    let client = crate::outbound::client(Duration::from_secs(30));
    let peer = Arc::new(Peer {
        script,
        seen: Mutex::default(),
        lending: Mutex::default(),
        asked: Mutex::default(),
        client,
        out: Box::new(out),
    });
    let app = Router::new()
        .route("/iso18626", post(message_any))
        .route("/iso18626/{symbol}", post(message_for))
        .route("/ncip/{symbol}", post(ncip))
        .layer(DefaultBodyLimit::max(2 * rota_iso18626::xml::MAX_BYTES))
        .with_state(peer);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the peer's listener stopped");
        }
    });
    Ok(bound)
}

/// An NCIP responder: `LookupItemSet` (or `LookupItem`) answered by script.
async fn ncip(State(p): State<Arc<Peer>>, Path(symbol): Path<String>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body);
    if !(text.contains("LookupItemSet") || text.contains("LookupItem")) {
        return (StatusCode::BAD_REQUEST, "not an NCIP LookupItemSet").into_response();
    }
    let how = p
        .script
        .catalogues
        .get(&symbol)
        .cloned()
        .unwrap_or(Catalogue::OnShelf);
    let item = |status: &str, due: Option<String>| {
        let mut info = vec![Element::node(
            "ItemId",
            vec![Element::leaf("ItemIdentifierValue", format!("{symbol}-1"))],
        )];
        if let Some(d) = due {
            info.push(Element::leaf("DateDue", d));
        }
        info.push(Element::node(
            "ItemOptionalFields",
            vec![Element::leaf("CirculationStatus", status)],
        ));
        Element::node(
            "BibInformation",
            vec![Element::node(
                "HoldingsSet",
                vec![Element::node("ItemInformation", info)],
            )],
        )
    };
    let answer = match how {
        Catalogue::OnShelf => item("Available On Shelf", None),
        Catalogue::OnLoan => item(
            "On Loan",
            Some(rota_iso18626::stamp(
                Utc::now() + chrono::Duration::days(14),
            )),
        ),
        Catalogue::Unknown => Element::node(
            "Problem",
            vec![Element::leaf("ProblemType", "Unknown Item")],
        ),
        Catalogue::Slow => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            item("Available On Shelf", None)
        }
        Catalogue::Broken => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "scripted failure").into_response();
        }
    };
    let mut root = Element::node(
        "NCIPMessage",
        vec![Element::node("LookupItemSetResponse", vec![answer])],
    );
    root.attrs.push(("version".into(), "2.02".into()));
    xml(rota_iso18626::xml::write_in(
        &root,
        crate::availability::NCIP_NS,
    ))
}

async fn message_any(State(p): State<Arc<Peer>>, body: Bytes) -> Response {
    receive(p, None, body).await
}

async fn message_for(
    State(p): State<Arc<Peer>>,
    Path(symbol): Path<String>,
    body: Bytes,
) -> Response {
    receive(p, Some(symbol), body).await
}

async fn receive(p: Arc<Peer>, symbol: Option<String>, body: Bytes) -> Response {
    let now = Utc::now();
    let m = match parse(&body) {
        Ok(m) => m,
        Err(r) => return xml(Confirmation::refused(&r, now).to_xml(now)),
    };
    let h = m.header().clone();
    let to = symbol.unwrap_or_else(|| match &m {
        Message::SupplyingAgencyMessage(_) => h.requesting_agency.value.clone(),
        _ => h
            .supplying_agency
            .as_ref()
            .map(|a| a.value.clone())
            .unwrap_or_default(),
    });
    let duplicate = {
        let d: [u8; 32] = Sha256::digest(&body).into();
        !p.seen.lock().unwrap_or_else(|e| e.into_inner()).insert(d)
    };
    let mut line = Received {
        at: rota_iso18626::stamp(now),
        to: to.clone(),
        message: match &m {
            Message::Request(_) => "request",
            Message::SupplyingAgencyMessage(_) => "supplyingAgencyMessage",
            Message::RequestingAgencyMessage(_) => "requestingAgencyMessage",
        }
        .into(),
        requester: h.requesting_agency.to_string(),
        supplier: h.supplying_agency.as_ref().map(|a| a.to_string()),
        request_id: h.requesting_agency_request_id.clone(),
        status: None,
        reason: None,
        action: None,
        duplicate,
    };
    match &m {
        Message::SupplyingAgencyMessage(s) => {
            line.status = Some(s.status.as_str().into());
            line.reason = Some(s.reason.as_str().into());
        }
        Message::RequestingAgencyMessage(r) => line.action = Some(r.action.as_str().into()),
        Message::Request(_) => {}
    }
    (p.out)(&line);
    let nth = if matches!(m, Message::Request(_)) && !duplicate {
        let mut asked = p.asked.lock().unwrap_or_else(|e| e.into_inner());
        let n = asked
            .entry((
                h.requesting_agency.to_string(),
                h.requesting_agency_request_id.clone(),
            ))
            .or_insert(0);
        *n += 1;
        *n - 1
    } else {
        usize::MAX
    };
    let behaviour = p
        .script
        .lenders
        .get(&to)
        .or_else(|| p.script.sequence.get(nth))
        .unwrap_or(&p.script.default)
        .clone();
    if matches!(m, Message::Request(_)) && behaviour == Behaviour::Refuse && !duplicate {
        let r = Rejection::new(
            Some(m.kind()),
            ErrorType::UnrecognisedDataValue,
            format!("{to} refuses requests (scripted)"),
        );
        return xml(Confirmation::refused(&r, now).to_xml(now));
    }
    let ok = Confirmation::ok(&m, now).to_xml(now);
    if !duplicate {
        tokio::spawn(act(p, to, m, behaviour));
    }
    xml(ok)
}

/// Sends a document to the broker until it is confirmed (or for five minutes).
async fn deliver(p: &Peer, body: String) {
    let mut wait = Duration::from_millis(100);
    let until = std::time::Instant::now() + Duration::from_secs(300);
    loop {
        match send(&p.client, &p.script.broker, body.clone()).await {
            Ok(Confirmed::Ok) => return,
            Ok(Confirmed::Error { error_type, value }) => {
                tracing::warn!(error = %error_type, value = %value, "the broker refused the peer's message");
                return;
            }
            Err(e) => {
                if std::time::Instant::now() > until {
                    tracing::error!(error = %e, "the broker never confirmed; message given up");
                    return;
                }
                tracing::info!(error = %e, "the broker did not confirm; resending");
            }
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(2));
    }
}

/// POSTs one document with a client of its own and reads the confirmation.
pub async fn post_once(to: &str, body: String) -> Result<Confirmed, String> {
    send(&crate::outbound::client(Duration::from_secs(30)), to, body).await
}

/// POSTs a document and reads the confirmation.
pub async fn send(client: &reqwest::Client, to: &str, body: String) -> Result<Confirmed, String> {
    let b = crate::outbound::post_xml(client, to, body, rota_iso18626::xml::MAX_BYTES).await?;
    relay::read_confirmation(&b)
}

fn answer(reason: ReasonForMessage, status: Status) -> Supplying<'static> {
    Supplying {
        reason,
        status,
        answer_yes_no: None,
        reason_unfilled: None,
        note: None,
    }
}

async fn act(p: Arc<Peer>, me: String, m: Message, behaviour: Behaviour) {
    let h = m.header().clone();
    let delay = p.script.delay;
    // as a lender: who it is, and its record of the transaction
    let lender = h.supplying_agency.clone().unwrap_or_else(|| agency(&me));
    let key = (
        me.clone(),
        h.requesting_agency.to_string(),
        h.requesting_agency_request_id.clone(),
    );
    match &m {
        Message::Request(_) => {
            let ids = Ids {
                supplying: &lender,
                requesting: &h.requesting_agency,
                request_id: &h.requesting_agency_request_id,
                supplier_request_id: None,
            };
            p.lending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key.clone(), LenderTxn::default());
            let answers: Vec<Supplying<'_>> = match &behaviour {
                Behaviour::Loan => vec![
                    answer(ReasonForMessage::RequestResponse, Status::WillSupply),
                    answer(ReasonForMessage::StatusChange, Status::Loaned),
                ],
                Behaviour::Copy => vec![answer(
                    ReasonForMessage::RequestResponse,
                    Status::CopyCompleted,
                )],
                Behaviour::Unfilled(r) => vec![Supplying {
                    reason_unfilled: Some(r),
                    ..answer(ReasonForMessage::RequestResponse, Status::Unfilled)
                }],
                Behaviour::Retry(_) => vec![answer(
                    ReasonForMessage::RequestResponse,
                    Status::RetryPossible,
                )],
                Behaviour::Silent | Behaviour::Refuse => Vec::new(),
            };
            for a in answers {
                tokio::time::sleep(delay).await;
                let cancelled = p
                    .lending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&key)
                    .is_none();
                if cancelled {
                    return;
                }
                if a.status == Status::Loaned
                    && let Some(t) = p
                        .lending
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get_mut(&key)
                {
                    t.loaned = true;
                }
                deliver(&p, relay::supplying_message(&ids, &a, Utc::now())).await;
            }
        }
        Message::RequestingAgencyMessage(r) => {
            let ids = Ids {
                supplying: &lender,
                requesting: &h.requesting_agency,
                request_id: &h.requesting_agency_request_id,
                supplier_request_id: None,
            };
            let answer = match r.action {
                Action::Cancel => {
                    let mut lending = p.lending.lock().unwrap_or_else(|e| e.into_inner());
                    let loaned = lending.get(&key).is_some_and(|t| t.loaned);
                    if !loaned {
                        lending.remove(&key);
                    }
                    Some(Supplying {
                        answer_yes_no: Some(!loaned),
                        ..answer(
                            ReasonForMessage::CancelResponse,
                            if loaned {
                                Status::Loaned
                            } else {
                                Status::Cancelled
                            },
                        )
                    })
                }
                Action::ShippedReturn => Some(answer(
                    ReasonForMessage::StatusChange,
                    Status::LoanCompleted,
                )),
                _ => None,
            };
            if let Some(a) = answer {
                tokio::time::sleep(delay).await;
                deliver(&p, relay::supplying_message(&ids, &a, Utc::now())).await;
            }
        }
        Message::SupplyingAgencyMessage(s) => {
            if !(p.script.returns && s.status == Status::Loaned) {
                return;
            }
            let Some(supplier) = h.supplying_agency.clone() else {
                return;
            };
            let ids = Ids {
                supplying: &supplier,
                requesting: &h.requesting_agency,
                request_id: &h.requesting_agency_request_id,
                supplier_request_id: h.supplying_agency_request_id.as_deref(),
            };
            for action in [Action::Received, Action::ShippedReturn] {
                tokio::time::sleep(delay).await;
                deliver(
                    &p,
                    relay::requesting_message(&ids, action, None, Utc::now()),
                )
                .await;
            }
        }
    }
}

/// What a scripted requester asks for.
#[derive(Clone, Debug, Default)]
pub struct Ask {
    /// The requester's agency (`TYPE:VALUE`, or a symbol: `ISIL:` is assumed).
    pub from: String,
    /// The supplier addressed (the broker's agency).
    pub to: String,
    /// The request id.
    pub id: String,
    /// Title.
    pub title: Option<String>,
    /// Author.
    pub author: Option<String>,
    /// ISBN.
    pub isbn: Option<String>,
    /// ISSN.
    pub issn: Option<String>,
    /// OCLC number.
    pub oclc: Option<String>,
    /// `Loan`, `Copy` or `CopyOrLoan`.
    pub service: String,
}

/// The request document for an [`Ask`].
pub fn request_document(a: &Ask) -> String {
    let from = agency(&a.from);
    let to = agency(&a.to);
    let ag = |name: &str, x: &AgencyId| {
        Element::node(
            name,
            vec![
                Element::leaf("agencyIdType", x.kind.clone()),
                Element::leaf("agencyIdValue", x.value.clone()),
            ],
        )
    };
    let mut bib = Vec::new();
    if let Some(t) = &a.title {
        bib.push(Element::leaf("title", t.clone()));
    }
    if let Some(t) = &a.author {
        bib.push(Element::leaf("author", t.clone()));
    }
    for (code, v) in [("ISBN", &a.isbn), ("ISSN", &a.issn), ("OCLC", &a.oclc)] {
        if let Some(v) = v {
            bib.push(Element::node(
                "bibliographicItemId",
                vec![
                    Element::leaf("bibliographicItemIdentifierCode", code),
                    Element::leaf("bibliographicItemIdentifier", v.clone()),
                ],
            ));
        }
    }
    let request = Element::node(
        "request",
        vec![
            Element::node(
                "header",
                vec![
                    ag("supplyingAgencyId", &to),
                    ag("requestingAgencyId", &from),
                    Element::leaf("timestamp", rota_iso18626::stamp(Utc::now())),
                    Element::leaf("requestingAgencyRequestId", a.id.clone()),
                ],
            ),
            Element::node("bibliographicInfo", bib),
            Element::node(
                "serviceInfo",
                vec![
                    Element::leaf("requestType", "New"),
                    Element::leaf("serviceType", a.service.clone()),
                ],
            ),
        ],
    );
    let mut root = Element::node("ISO18626Message", vec![request]);
    root.attrs.push(("version".into(), "2021-2".into()));
    rota_iso18626::xml::write(&root)
}

/// A requester's message to the broker (`Cancel`, `Received`, …) for a request id.
pub fn action_document(from: &str, to: &str, id: &str, action: Action) -> String {
    let (from, to) = (agency(from), agency(to));
    relay::requesting_message(
        &Ids {
            supplying: &to,
            requesting: &from,
            request_id: id,
            supplier_request_id: None,
        },
        action,
        None,
        Utc::now(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaviours_parse_and_bad_ones_say_what_is_allowed() {
        assert_eq!("loan".parse(), Ok(Behaviour::Loan));
        assert_eq!(
            "unfilled".parse(),
            Ok(Behaviour::Unfilled("NotHeld".into()))
        );
        assert_eq!(
            "unfilled:NonCirculating".parse(),
            Ok(Behaviour::Unfilled("NonCirculating".into()))
        );
        assert_eq!("retry".parse(), Ok(Behaviour::Retry("OnLoan".into())));
        let e = "later".parse::<Behaviour>().unwrap_err();
        assert!(e.contains("silent"), "{e}");
    }

    #[test]
    fn a_scripted_request_reads_back() {
        let doc = request_document(&Ask {
            from: "L00002".into(),
            to: "ISIL:ROTA".into(),
            id: "R-1".into(),
            title: Some("Moby Dick".into()),
            isbn: Some("9780000000002".into()),
            service: "Loan".into(),
            ..Ask::default()
        });
        let Message::Request(r) = parse(doc.as_bytes()).unwrap() else {
            panic!("{doc}");
        };
        assert_eq!(r.header.requesting_agency, agency("ISIL:L00002"));
        assert_eq!(r.header.supplying_agency, Some(agency("ISIL:ROTA")));
        assert_eq!(r.bibliographic.item_ids[0].1, "9780000000002");
        let c = action_document("L00002", "ISIL:ROTA", "R-1", Action::Cancel);
        assert!(matches!(
            parse(c.as_bytes()).unwrap(),
            Message::RequestingAgencyMessage(m) if m.action == Action::Cancel
        ));
    }
}

//! Writing confirmations (and, for the broker, the messages it sends) with quick-xml's
//! writer, which escapes every text and attribute value.

use chrono::{DateTime, SecondsFormat, Utc};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::error::{Echo, ErrorType, Rejection};
use crate::message::{Action, AgencyId, Kind, Message, ReasonForMessage};
use crate::xml::NS;

/// The answer to a message, sent on the same connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirmation {
    /// Which message it answers.
    pub kind: Kind,
    /// Header ids echoed from the message.
    pub echo: Echo,
    /// When the message arrived.
    pub received: DateTime<Utc>,
    /// `None`: `OK`; else `ERROR` with its type and value.
    pub error: Option<(ErrorType, String)>,
    /// A supplying agency message's reason, echoed.
    pub reason_for_message: Option<ReasonForMessage>,
    /// A requesting agency message's action, echoed.
    pub action: Option<Action>,
}

impl Confirmation {
    /// `OK` for a message read and accepted.
    pub fn ok(m: &Message, received: DateTime<Utc>) -> Confirmation {
        let h = m.header();
        Confirmation {
            kind: m.kind(),
            echo: Echo {
                supplying_agency: h.supplying_agency.clone(),
                requesting_agency: Some(h.requesting_agency.clone()),
                requesting_agency_request_id: Some(h.requesting_agency_request_id.clone()),
            },
            received,
            error: None,
            reason_for_message: match m {
                Message::SupplyingAgencyMessage(s) => Some(s.reason),
                _ => None,
            },
            action: match m {
                Message::RequestingAgencyMessage(r) => Some(r.action),
                _ => None,
            },
        }
    }

    /// `ERROR` for a message refused (a message whose type could not be read is answered
    /// as a request: the confirmation a sender of anything can parse).
    pub fn refused(r: &Rejection, received: DateTime<Utc>) -> Confirmation {
        Confirmation {
            kind: r.kind.unwrap_or(Kind::Request),
            echo: (*r.echo).clone(),
            received,
            error: Some((r.error, r.value.clone())),
            reason_for_message: None,
            action: None,
        }
    }

    /// The confirmation document, stamped `now`.
    pub fn to_xml(&self, now: DateTime<Utc>) -> String {
        let mut w = Doc::new();
        let name = match self.kind {
            Kind::Request => "requestConfirmation",
            Kind::SupplyingAgencyMessage => "supplyingAgencyMessageConfirmation",
            Kind::RequestingAgencyMessage => "requestingAgencyMessageConfirmation",
        };
        w.open(name);
        w.open("confirmationHeader");
        if let Some(a) = &self.echo.supplying_agency {
            w.agency("supplyingAgencyId", a);
        }
        if let Some(a) = &self.echo.requesting_agency {
            w.agency("requestingAgencyId", a);
        }
        w.leaf("timestamp", &stamp(now));
        if let Some(id) = &self.echo.requesting_agency_request_id {
            w.leaf("requestingAgencyRequestId", id);
        }
        w.leaf("timestampReceived", &stamp(self.received));
        w.leaf(
            "messageStatus",
            if self.error.is_some() { "ERROR" } else { "OK" },
        );
        w.close("confirmationHeader");
        if let Some(r) = self.reason_for_message {
            w.leaf("reasonForMessage", r.as_str());
        }
        if let Some(a) = self.action {
            w.leaf("action", a.as_str());
        }
        if let Some((t, v)) = &self.error {
            w.open("errorData");
            w.leaf("errorType", t.as_str());
            w.leaf("errorValue", v);
            w.close("errorData");
        }
        w.close(name);
        w.finish()
    }
}

/// An `xs:dateTime` in UTC, to the second.
pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A document under `ISO18626Message` (version 2021-2, default namespace).
pub(crate) struct Doc {
    w: Writer<Vec<u8>>,
}

impl Doc {
    pub(crate) fn new() -> Doc {
        let mut w = Writer::new(Vec::new());
        // writing to a Vec cannot fail
        let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
        let mut root = BytesStart::new("ISO18626Message");
        root.push_attribute(("xmlns", NS));
        root.push_attribute(("version", "2021-2"));
        let _ = w.write_event(Event::Start(root));
        Doc { w }
    }

    pub(crate) fn open(&mut self, name: &str) {
        let _ = self.w.write_event(Event::Start(BytesStart::new(name)));
    }

    pub(crate) fn close(&mut self, name: &str) {
        let _ = self.w.write_event(Event::End(BytesEnd::new(name)));
    }

    pub(crate) fn leaf(&mut self, name: &str, text: &str) {
        self.open(name);
        // control characters cannot appear in XML 1.0 even escaped; echoed values may
        // hold them (a peer's bad bytes), and a strict peer would refuse the whole answer
        let clean: std::borrow::Cow<'_, str> = if text
            .chars()
            .any(|c| c < ' ' && !matches!(c, '\t' | '\n' | '\r'))
        {
            text.chars()
                .map(|c| {
                    if c < ' ' && !matches!(c, '\t' | '\n' | '\r') {
                        '\u{fffd}'
                    } else {
                        c
                    }
                })
                .collect::<String>()
                .into()
        } else {
            text.into()
        };
        let _ = self.w.write_event(Event::Text(BytesText::new(&clean)));
        self.close(name);
    }

    pub(crate) fn agency(&mut self, name: &str, a: &AgencyId) {
        self.open(name);
        self.leaf("agencyIdType", &a.kind);
        self.leaf("agencyIdValue", &a.value);
        self.close(name);
    }

    pub(crate) fn finish(mut self) -> String {
        self.close("ISO18626Message");
        String::from_utf8(self.w.into_inner()).unwrap_or_default()
    }
}

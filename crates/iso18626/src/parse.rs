//! From the element tree to a [`Message`], with the standard's error for every way a
//! message can be wrong. Children may come in any order (senders differ, and order
//! carries no meaning here); an element the schema does not allow where it stands is
//! `UnrecognisedDataElement`, a missing mandatory one `BadlyFormedMessage`, a value
//! outside its list or type `UnrecognisedDataValue`. Versions 1.2 and 2021 are both read
//! (1.2 carries `offeredCosts`, `retryAfter` and `retryBefore` in `messageInfo`, 2021 in
//! `retryInfo`).

use chrono::{DateTime, FixedOffset, NaiveDateTime};

use crate::error::{Echo, ErrorType, Rejection};
use crate::message::*;
use crate::xml::{self, Element};

type R<T> = Result<T, Rejection>;

/// Reads one message from the bytes of an HTTP body.
pub fn parse(bytes: &[u8]) -> Result<Message, Rejection> {
    parse_document(bytes).map(|(_, m)| m)
}

/// Reads one message and keeps its element tree too (what a broker relays).
pub fn parse_document(bytes: &[u8]) -> Result<(Element, Message), Rejection> {
    let root = xml::parse(bytes)?;
    let m = interpret(&root)?;
    Ok((root, m))
}

fn interpret(root: &Element) -> Result<Message, Rejection> {
    if root.name != "ISO18626Message" {
        return Err(Rejection::new(
            None,
            ErrorType::BadlyFormedMessage,
            format!("the root element is {}, not ISO18626Message", root.name),
        ));
    }
    let version = root.attr("version").ok_or_else(|| {
        Rejection::new(
            None,
            ErrorType::BadlyFormedMessage,
            "ISO18626Message has no version attribute",
        )
    })?;
    if !(version.starts_with("1.") || version.starts_with("2021")) {
        return Err(Rejection::new(
            None,
            ErrorType::UnrecognisedDataValue,
            format!("ISO18626Message/@version: {version} (1.2 and 2021 are read)"),
        ));
    }
    let [body] = root.children.as_slice() else {
        return Err(Rejection::new(
            None,
            ErrorType::BadlyFormedMessage,
            format!(
                "ISO18626Message holds {} messages; exactly one is allowed",
                root.children.len()
            ),
        ));
    };
    let kind = match body.name.as_str() {
        "request" => Kind::Request,
        "supplyingAgencyMessage" => Kind::SupplyingAgencyMessage,
        "requestingAgencyMessage" => Kind::RequestingAgencyMessage,
        other => {
            return Err(Rejection::new(
                None,
                ErrorType::UnrecognisedDataElement,
                format!("ISO18626Message/{other}: not a message this party accepts"),
            ));
        }
    };
    let mut p = P {
        kind,
        echo: Echo::default(),
    };
    let out = match kind {
        Kind::Request => p.request(body).map(|m| Message::Request(Box::new(m))),
        Kind::SupplyingAgencyMessage => p
            .supplying(body)
            .map(|m| Message::SupplyingAgencyMessage(Box::new(m))),
        Kind::RequestingAgencyMessage => p
            .requesting(body)
            .map(|m| Message::RequestingAgencyMessage(Box::new(m))),
    };
    out.map_err(|mut e| {
        e.echo = Box::new(p.echo.clone());
        e
    })
}

struct P {
    kind: Kind,
    echo: Echo,
}

impl P {
    fn err(&self, error: ErrorType, value: impl Into<String>) -> Rejection {
        Rejection::new(Some(self.kind), error, value)
    }

    fn only(&self, el: &Element, path: &str, allowed: &[&str]) -> R<()> {
        match el
            .children
            .iter()
            .find(|c| !allowed.contains(&c.name.as_str()))
        {
            Some(c) => Err(self.err(
                ErrorType::UnrecognisedDataElement,
                format!("{path}/{}", c.name),
            )),
            None => Ok(()),
        }
    }

    fn need<'e>(&self, el: &'e Element, path: &str, name: &str) -> R<&'e Element> {
        el.child(name).ok_or_else(|| {
            self.err(
                ErrorType::BadlyFormedMessage,
                format!("missing {path}/{name}"),
            )
        })
    }

    fn text(&self, el: &Element, path: &str, name: &str) -> R<String> {
        let c = self.need(el, path, name)?;
        if c.text.is_empty() {
            return Err(self.err(
                ErrorType::BadlyFormedMessage,
                format!("empty {path}/{name}"),
            ));
        }
        Ok(c.text.clone())
    }

    fn opt(&self, el: &Element, name: &str) -> Option<String> {
        el.child(name)
            .map(|c| c.text.clone())
            .filter(|t| !t.is_empty())
    }

    fn code(&self, el: &Element, name: &str) -> Option<Code> {
        el.child(name).filter(|c| !c.text.is_empty()).map(|c| Code {
            scheme: c.attr("scheme").map(str::to_string),
            value: c.text.clone(),
        })
    }

    fn agency(&self, el: &Element, path: &str, name: &str) -> R<AgencyId> {
        let a = self.need(el, path, name)?;
        let here = format!("{path}/{name}");
        self.only(a, &here, &["agencyIdType", "agencyIdValue"])?;
        Ok(AgencyId {
            kind: self.text(a, &here, "agencyIdType")?,
            value: self.text(a, &here, "agencyIdValue")?,
        })
    }

    fn opt_agency(&self, el: &Element, path: &str, name: &str) -> R<Option<AgencyId>> {
        match el.child(name) {
            Some(_) => self.agency(el, path, name).map(Some),
            None => Ok(None),
        }
    }

    fn time(&self, el: &Element, path: &str, name: &str) -> R<DateTime<FixedOffset>> {
        let t = self.text(el, path, name)?;
        datetime(&t).ok_or_else(|| {
            self.err(
                ErrorType::UnrecognisedDataValue,
                format!("{path}/{name}: {t}"),
            )
        })
    }

    fn opt_time(&self, el: &Element, path: &str, name: &str) -> R<Option<DateTime<FixedOffset>>> {
        match el.child(name) {
            Some(_) => self.time(el, path, name).map(Some),
            None => Ok(None),
        }
    }

    fn header(&mut self, body: &Element, path: &str) -> R<Header> {
        let h = self.need(body, path, "header")?;
        let here = format!("{path}/header");
        // what can be read is echoed even if the rest is wrong
        self.echo.supplying_agency = self
            .opt_agency(h, &here, "supplyingAgencyId")
            .ok()
            .flatten();
        self.echo.requesting_agency = self.agency(h, &here, "requestingAgencyId").ok();
        self.echo.requesting_agency_request_id = self.opt(h, "requestingAgencyRequestId");
        self.only(
            h,
            &here,
            &[
                "supplyingAgencyId",
                "requestingAgencyId",
                "consortialId",
                "multipleItemRequestId",
                "timestamp",
                "requestingAgencyRequestId",
                "supplyingAgencyRequestId",
                "requestingAgencyAuthentication",
            ],
        )?;
        let supplying_agency = self.opt_agency(h, &here, "supplyingAgencyId")?;
        if supplying_agency.is_none() && self.kind != Kind::Request {
            return Err(self.err(
                ErrorType::BadlyFormedMessage,
                format!("missing {here}/supplyingAgencyId"),
            ));
        }
        Ok(Header {
            supplying_agency,
            requesting_agency: self.agency(h, &here, "requestingAgencyId")?,
            consortial: self.opt_agency(h, &here, "consortialId")?,
            multiple_item_request_id: self.opt(h, "multipleItemRequestId"),
            timestamp: self.time(h, &here, "timestamp")?,
            requesting_agency_request_id: self.text(h, &here, "requestingAgencyRequestId")?,
            supplying_agency_request_id: self.opt(h, "supplyingAgencyRequestId"),
        })
    }

    fn request(&mut self, body: &Element) -> R<Request> {
        let path = "request";
        let header = self.header(body, path)?;
        self.only(
            body,
            path,
            &[
                "header",
                "bibliographicInfo",
                "publicationInfo",
                "serviceInfo",
                "supplierInfo",
                "requestedDeliveryInfo",
                "requestingAgencyInfo",
                "patronInfo",
                "billingInfo",
            ],
        )?;
        let b = self.need(body, path, "bibliographicInfo")?;
        let bp = "request/bibliographicInfo";
        self.only(
            b,
            bp,
            &[
                "supplierUniqueRecordId",
                "title",
                "author",
                "authorId",
                "subtitle",
                "seriesTitle",
                "edition",
                "titleOfComponent",
                "authorOfComponent",
                "volume",
                "issue",
                "pagesRequested",
                "estimatedNoPages",
                "bibliographicItemId",
                "sponsor",
                "informationSource",
                "bibliographicRecordId",
            ],
        )?;
        let pairs = |name: &str, code: &str, value: &str| -> R<Vec<(String, String)>> {
            b.children
                .iter()
                .filter(|c| c.name == name)
                .map(|c| {
                    let here = format!("{bp}/{name}");
                    self.only(c, &here, &[code, value])?;
                    Ok((self.text(c, &here, code)?, self.text(c, &here, value)?))
                })
                .collect()
        };
        let bibliographic = BibliographicInfo {
            supplier_unique_record_id: self.opt(b, "supplierUniqueRecordId"),
            title: self.opt(b, "title"),
            author: self.opt(b, "author"),
            subtitle: self.opt(b, "subtitle"),
            series_title: self.opt(b, "seriesTitle"),
            edition: self.opt(b, "edition"),
            title_of_component: self.opt(b, "titleOfComponent"),
            author_of_component: self.opt(b, "authorOfComponent"),
            volume: b
                .children
                .iter()
                .filter(|c| c.name == "volume" && !c.text.is_empty())
                .map(|c| c.text.clone())
                .collect(),
            issue: self.opt(b, "issue"),
            pages_requested: self.opt(b, "pagesRequested"),
            item_ids: pairs(
                "bibliographicItemId",
                "bibliographicItemIdentifierCode",
                "bibliographicItemIdentifier",
            )?,
            record_ids: pairs(
                "bibliographicRecordId",
                "bibliographicRecordIdentifierCode",
                "bibliographicRecordIdentifier",
            )?,
        };
        if bibliographic.item_ids.is_empty()
            && bibliographic.record_ids.is_empty()
            && bibliographic.title.is_none()
            && bibliographic.supplier_unique_record_id.is_none()
        {
            return Err(self.err(
                ErrorType::BadlyFormedMessage,
                format!("{bp} names nothing: no identifier, record id or title"),
            ));
        }
        let publication = match body.child("publicationInfo") {
            Some(pi) => {
                self.only(
                    pi,
                    "request/publicationInfo",
                    &[
                        "publisher",
                        "publisherId",
                        "publicationType",
                        "publicationDate",
                        "placeOfPublication",
                    ],
                )?;
                Some(PublicationInfo {
                    publisher: self.opt(pi, "publisher"),
                    publication_type: self.code(pi, "publicationType"),
                    publication_date: self.opt(pi, "publicationDate"),
                    place_of_publication: self.opt(pi, "placeOfPublication"),
                })
            }
            None => None,
        };
        let s = self.need(body, path, "serviceInfo")?;
        let sp = "request/serviceInfo";
        self.only(
            s,
            sp,
            &[
                "requestType",
                "requestSubType",
                "requestingAgencyPreviousRequestId",
                "serviceType",
                "serviceLevel",
                "itemFormat",
                "needBeforeDate",
                "copyrightCompliance",
                "anyEdition",
                "preferredEdition",
                "loanCondition",
                "startDate",
                "endDate",
                "note",
            ],
        )?;
        let st = self.text(s, sp, "serviceType")?;
        let service_type = ServiceType::parse(&st).ok_or_else(|| {
            self.err(
                ErrorType::UnrecognisedDataValue,
                format!("{sp}/serviceType: {st}"),
            )
        })?;
        let request_type = self.opt(s, "requestType");
        if let Some(t) = request_type
            .as_deref()
            .filter(|t| !["New", "Retry", "Reminder"].contains(t))
        {
            return Err(self.err(
                ErrorType::UnrecognisedDataValue,
                format!("{sp}/requestType: {t}"),
            ));
        }
        let service = ServiceInfo {
            request_type,
            service_type,
            service_level: self.code(s, "serviceLevel"),
            item_format: self.code(s, "itemFormat"),
            need_before: self.opt_time(s, sp, "needBeforeDate")?,
            note: self.opt(s, "note"),
        };
        let suppliers = body
            .children
            .iter()
            .filter(|c| c.name == "supplierInfo")
            .filter_map(|c| c.child("supplierCode").map(|_| c))
            .map(|c| self.agency(c, "request/supplierInfo", "supplierCode"))
            .collect::<R<Vec<_>>>()?;
        let max_cost = match body
            .child("billingInfo")
            .and_then(|b| b.child("maximumCosts"))
        {
            Some(m) => {
                let here = "request/billingInfo/maximumCosts";
                let currency = self.text(m, here, "currencyCode")?;
                let v = self.text(m, here, "monetaryValue")?;
                let amount = v.parse::<f64>().ok().filter(|a| a.is_finite() && *a >= 0.0);
                let amount = amount.ok_or_else(|| {
                    self.err(
                        ErrorType::UnrecognisedDataValue,
                        format!("{here}/monetaryValue: {v}"),
                    )
                })?;
                Some((currency, amount))
            }
            None => None,
        };
        let relayed = body
            .children
            .iter()
            .filter(|c| {
                matches!(
                    c.name.as_str(),
                    "requestedDeliveryInfo" | "requestingAgencyInfo" | "patronInfo" | "billingInfo"
                )
            })
            .cloned()
            .collect();
        Ok(Request {
            header,
            bibliographic,
            publication,
            service,
            suppliers,
            max_cost,
            relayed,
        })
    }

    fn supplying(&mut self, body: &Element) -> R<SupplyingAgencyMessage> {
        let path = "supplyingAgencyMessage";
        let header = self.header(body, path)?;
        self.only(
            body,
            path,
            &[
                "header",
                "messageInfo",
                "statusInfo",
                "retryInfo",
                "deliveryInfo",
                "shippingInfo",
                "returnInfo",
            ],
        )?;
        let mp = "supplyingAgencyMessage/messageInfo";
        let m = self.need(body, path, "messageInfo")?;
        self.only(
            m,
            mp,
            &[
                "reasonForMessage",
                "answerYesNo",
                "note",
                "reasonUnfilled",
                "reasonRetry",
                // version 1.2
                "offeredCosts",
                "retryAfter",
                "retryBefore",
            ],
        )?;
        let r = self.text(m, mp, "reasonForMessage")?;
        let reason = ReasonForMessage::parse(&r).ok_or_else(|| {
            self.err(
                ErrorType::UnsupportedReasonForMessageType,
                format!("{mp}/reasonForMessage: {r}"),
            )
        })?;
        let answer_yes_no = match self.opt(m, "answerYesNo").as_deref() {
            None => None,
            Some("Y") => Some(true),
            Some("N") => Some(false),
            Some(v) => {
                return Err(self.err(
                    ErrorType::UnrecognisedDataValue,
                    format!("{mp}/answerYesNo: {v}"),
                ));
            }
        };
        let sp = "supplyingAgencyMessage/statusInfo";
        let s = self.need(body, path, "statusInfo")?;
        self.only(
            s,
            sp,
            &["status", "expectedDeliveryDate", "dueDate", "lastChange"],
        )?;
        let st = self.text(s, sp, "status")?;
        let status = Status::parse(&st).ok_or_else(|| {
            self.err(
                ErrorType::UnrecognisedDataValue,
                format!("{sp}/status: {st}"),
            )
        })?;
        let reason_unfilled = self.code(m, "reasonUnfilled");
        let reason_retry = self.code(m, "reasonRetry");
        if status == Status::Unfilled && reason_retry.is_some() {
            return Err(self.err(
                ErrorType::UnrecognisedDataElement,
                format!("{mp}/reasonRetry: not with status Unfilled"),
            ));
        }
        // 1.2 carries the retry window in messageInfo, 2021 in retryInfo
        let ri = body.child("retryInfo");
        let (retry_after, retry_before) = match ri {
            Some(ri) => (
                self.opt_time(ri, "supplyingAgencyMessage/retryInfo", "retryAfter")?,
                self.opt_time(ri, "supplyingAgencyMessage/retryInfo", "retryBefore")?,
            ),
            None => (
                self.opt_time(m, mp, "retryAfter")?,
                self.opt_time(m, mp, "retryBefore")?,
            ),
        };
        Ok(SupplyingAgencyMessage {
            header,
            reason,
            answer_yes_no,
            note: self.opt(m, "note"),
            reason_unfilled,
            reason_retry,
            status,
            expected_delivery: self.opt_time(s, sp, "expectedDeliveryDate")?,
            due_date: self.opt_time(s, sp, "dueDate")?,
            last_change: self.time(s, sp, "lastChange")?,
            retry_after,
            retry_before,
            relayed: body
                .children
                .iter()
                .filter(|c| {
                    matches!(
                        c.name.as_str(),
                        "retryInfo" | "deliveryInfo" | "shippingInfo" | "returnInfo"
                    )
                })
                .cloned()
                .collect(),
        })
    }

    fn requesting(&mut self, body: &Element) -> R<RequestingAgencyMessage> {
        let path = "requestingAgencyMessage";
        let header = self.header(body, path)?;
        self.only(body, path, &["header", "action", "note"])?;
        let a = self.text(body, path, "action")?;
        let action = Action::parse(&a).ok_or_else(|| {
            self.err(
                ErrorType::UnsupportedActionType,
                format!("{path}/action: {a}"),
            )
        })?;
        Ok(RequestingAgencyMessage {
            header,
            action,
            note: self.opt(body, "note"),
        })
    }
}

/// An `xs:dateTime`: with an offset (RFC 3339), or without one, taken as UTC.
pub fn datetime(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok().or_else(|| {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(|n| n.and_utc().fixed_offset())
    })
}

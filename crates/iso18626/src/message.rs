//! The messages, as rota reads them. Closed code lists of the standard are enums (an
//! unknown value is the sender's error, `UnrecognisedDataValue`); open lists (reasons
//! unfilled and for retry, agency id types, formats) are strings with their scheme.
//! Parts rota does not interpret but a broker relays (delivery, billing, patron and
//! address blocks) are kept as [`Element`]s; their `Debug` shows no content, so patron
//! data cannot reach a log through them.

use chrono::{DateTime, FixedOffset};

use crate::xml::Element;

/// An agency: `agencyIdType` (ISIL, OCLC, …) and `agencyIdValue`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgencyId {
    /// The id type's value (its scheme is not kept).
    pub kind: String,
    /// The id.
    pub value: String,
}

impl std::fmt::Display for AgencyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

/// A code with its optional scheme (`type_schemeValuePair`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Code {
    /// The scheme URI, if given.
    pub scheme: Option<String>,
    /// The value.
    pub value: String,
}

/// Every message's header fields (those a message type lacks stay empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The supplier (optional in a 2021 request).
    pub supplying_agency: Option<AgencyId>,
    /// The requester.
    pub requesting_agency: AgencyId,
    /// The consortium the request travels in.
    pub consortial: Option<AgencyId>,
    /// Groups the items of a multiple-item request.
    pub multiple_item_request_id: Option<String>,
    /// When the message was sent.
    pub timestamp: DateTime<FixedOffset>,
    /// The requester's id for the transaction.
    pub requesting_agency_request_id: String,
    /// The supplier's id for it.
    pub supplying_agency_request_id: Option<String>,
}

/// What is asked for.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BibliographicInfo {
    /// The supplier's own record id.
    pub supplier_unique_record_id: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Author.
    pub author: Option<String>,
    /// Subtitle.
    pub subtitle: Option<String>,
    /// Series title.
    pub series_title: Option<String>,
    /// Edition.
    pub edition: Option<String>,
    /// An article's or chapter's title.
    pub title_of_component: Option<String>,
    /// Its author.
    pub author_of_component: Option<String>,
    /// Volumes.
    pub volume: Vec<String>,
    /// Issue.
    pub issue: Option<String>,
    /// Pages.
    pub pages_requested: Option<String>,
    /// Item identifiers: (code, value), e.g. ("ISBN", "9780…"), ("ISSN", …), ("OCLC", …).
    pub item_ids: Vec<(String, String)>,
    /// Record identifiers: (code, value).
    pub record_ids: Vec<(String, String)>,
}

/// Publication facts.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PublicationInfo {
    /// Publisher.
    pub publisher: Option<String>,
    /// Type (Book, Journal, Article, …).
    pub publication_type: Option<Code>,
    /// Date (free text, usually a year).
    pub publication_date: Option<String>,
    /// Place.
    pub place_of_publication: Option<String>,
}

/// Loan, copy, or either.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceType {
    /// A copy.
    Copy,
    /// A loan.
    Loan,
    /// Either.
    CopyOrLoan,
}

/// How the request is to be served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceInfo {
    /// New, Retry or Reminder.
    pub request_type: Option<String>,
    /// Service type.
    pub service_type: ServiceType,
    /// Service level (Rush, Normal, …).
    pub service_level: Option<Code>,
    /// Format wanted.
    pub item_format: Option<Code>,
    /// Not wanted after.
    pub need_before: Option<DateTime<FixedOffset>>,
    /// Note.
    pub note: Option<String>,
}

/// A request.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// Header.
    pub header: Header,
    /// What.
    pub bibliographic: BibliographicInfo,
    /// Publication.
    pub publication: Option<PublicationInfo>,
    /// Service.
    pub service: ServiceInfo,
    /// Suggested suppliers (`supplierInfo`), in the sender's order.
    pub suppliers: Vec<AgencyId>,
    /// Maximum cost (`billingInfo/maximumCosts`): currency and amount.
    pub max_cost: Option<(String, f64)>,
    /// The blocks relayed unread: requestedDeliveryInfo, requestingAgencyInfo,
    /// patronInfo, billingInfo.
    pub relayed: Vec<Element>,
}

/// Why a supplier sends a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReasonForMessage {
    /// Answer to a request.
    RequestResponse,
    /// Answer to a status request.
    StatusRequestResponse,
    /// Answer to a renewal.
    RenewResponse,
    /// Answer to a cancellation.
    CancelResponse,
    /// The status changed.
    StatusChange,
    /// A note.
    Notification,
}

/// A transaction's status at the supplier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Received.
    RequestReceived,
    /// Expects to supply.
    ExpectToSupply,
    /// Will supply.
    WillSupply,
    /// Loaned (shipped).
    Loaned,
    /// Overdue.
    Overdue,
    /// Recalled.
    Recalled,
    /// Cannot supply now; may later.
    RetryPossible,
    /// Will not supply.
    Unfilled,
    /// Asks the requester to hold the return.
    HoldReturn,
    /// Releases that hold.
    ReleaseHoldReturn,
    /// Copy sent.
    CopyCompleted,
    /// Loan returned.
    LoanCompleted,
    /// Completed without return.
    CompletedWithoutReturn,
    /// Cancelled.
    Cancelled,
}

/// A supplier's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupplyingAgencyMessage {
    /// Header.
    pub header: Header,
    /// Why.
    pub reason: ReasonForMessage,
    /// Yes / no, answering a cancel or renew.
    pub answer_yes_no: Option<bool>,
    /// Note.
    pub note: Option<String>,
    /// Reason unfilled (NotHeld, NotOnShelf, …).
    pub reason_unfilled: Option<Code>,
    /// Reason for retry (OnLoan, CostExceedsMaxCost, …).
    pub reason_retry: Option<Code>,
    /// Status.
    pub status: Status,
    /// Expected delivery.
    pub expected_delivery: Option<DateTime<FixedOffset>>,
    /// Due back.
    pub due_date: Option<DateTime<FixedOffset>>,
    /// Last status change.
    pub last_change: DateTime<FixedOffset>,
    /// Retry after (2021 `retryInfo`, 1.2 `messageInfo`).
    pub retry_after: Option<DateTime<FixedOffset>>,
    /// Retry before.
    pub retry_before: Option<DateTime<FixedOffset>>,
    /// The blocks relayed unread: retryInfo's other parts, deliveryInfo, shippingInfo,
    /// returnInfo.
    pub relayed: Vec<Element>,
}

/// A requester's action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Asks for the status.
    StatusRequest,
    /// Received the item.
    Received,
    /// Cancels.
    Cancel,
    /// Asks to renew.
    Renew,
    /// Holds the return (2021).
    HoldReturn,
    /// Shipped it back.
    ShippedReturn,
    /// Shipped it on to another library.
    ShippedForward,
    /// A note.
    Notification,
    /// Lost (2021).
    Lost,
}

/// A requester's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestingAgencyMessage {
    /// Header.
    pub header: Header,
    /// What.
    pub action: Action,
    /// Note.
    pub note: Option<String>,
}

/// A message rota can receive.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// A request.
    Request(Box<Request>),
    /// A supplier's message.
    SupplyingAgencyMessage(Box<SupplyingAgencyMessage>),
    /// A requester's message.
    RequestingAgencyMessage(Box<RequestingAgencyMessage>),
}

/// Which message a confirmation answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `request` → `requestConfirmation`.
    Request,
    /// `supplyingAgencyMessage` → `supplyingAgencyMessageConfirmation`.
    SupplyingAgencyMessage,
    /// `requestingAgencyMessage` → `requestingAgencyMessageConfirmation`.
    RequestingAgencyMessage,
}

impl Message {
    /// Its kind.
    pub fn kind(&self) -> Kind {
        match self {
            Message::Request(_) => Kind::Request,
            Message::SupplyingAgencyMessage(_) => Kind::SupplyingAgencyMessage,
            Message::RequestingAgencyMessage(_) => Kind::RequestingAgencyMessage,
        }
    }

    /// Its header.
    pub fn header(&self) -> &Header {
        match self {
            Message::Request(m) => &m.header,
            Message::SupplyingAgencyMessage(m) => &m.header,
            Message::RequestingAgencyMessage(m) => &m.header,
        }
    }
}

macro_rules! names {
    ($t:ty { $($v:ident),* $(,)? }) => {
        impl $t {
            /// The standard's name for it.
            pub fn as_str(self) -> &'static str {
                match self { $(<$t>::$v => stringify!($v)),* }
            }

            /// From the standard's name.
            pub fn parse(s: &str) -> Option<$t> {
                match s { $(stringify!($v) => Some(<$t>::$v),)* _ => None }
            }
        }
    };
}

names!(ServiceType {
    Copy,
    Loan,
    CopyOrLoan
});
names!(ReasonForMessage {
    RequestResponse,
    StatusRequestResponse,
    RenewResponse,
    CancelResponse,
    StatusChange,
    Notification,
});
names!(Status {
    RequestReceived,
    ExpectToSupply,
    WillSupply,
    Loaned,
    Overdue,
    Recalled,
    RetryPossible,
    Unfilled,
    HoldReturn,
    ReleaseHoldReturn,
    CopyCompleted,
    LoanCompleted,
    CompletedWithoutReturn,
    Cancelled,
});
names!(Action {
    StatusRequest,
    Received,
    Cancel,
    Renew,
    HoldReturn,
    ShippedReturn,
    ShippedForward,
    Notification,
    Lost,
});

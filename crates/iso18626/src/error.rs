//! Why a message is refused, as ISO 18626 says it: one of its five error types and an
//! error value naming the element or value at fault. This is the one place a bad message
//! becomes a confirmation error.

use crate::message::{AgencyId, Kind};
use crate::xml::XmlError;

/// The standard's error types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorType {
    /// An action this party does not support.
    UnsupportedActionType,
    /// A reason for message this party does not support.
    UnsupportedReasonForMessageType,
    /// An element this party does not know, or one that may not be there.
    UnrecognisedDataElement,
    /// A value outside its code list or type.
    UnrecognisedDataValue,
    /// Not a well-formed ISO 18626 message: bad XML, a missing mandatory element, a
    /// message too large or refused for safety.
    BadlyFormedMessage,
}

impl ErrorType {
    /// The standard's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::UnsupportedActionType => "UnsupportedActionType",
            ErrorType::UnsupportedReasonForMessageType => "UnsupportedReasonForMessageType",
            ErrorType::UnrecognisedDataElement => "UnrecognisedDataElement",
            ErrorType::UnrecognisedDataValue => "UnrecognisedDataValue",
            ErrorType::BadlyFormedMessage => "BadlyFormedMessage",
        }
    }
}

/// What could be read of a refused message's header, echoed in the confirmation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Echo {
    /// Supplier.
    pub supplying_agency: Option<AgencyId>,
    /// Requester.
    pub requesting_agency: Option<AgencyId>,
    /// Requester's transaction id.
    pub requesting_agency_request_id: Option<String>,
}

/// A refused message: the sender's fault, answered with a confirmation carrying `ERROR`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} ({value})", error.as_str())]
pub struct Rejection {
    /// Which confirmation answers it (`None`: not even the message type could be read;
    /// answered as a request).
    pub kind: Option<Kind>,
    /// The error type.
    pub error: ErrorType,
    /// The error value: the element path or value at fault, and why.
    pub value: String,
    /// The header, as far as it could be read (boxed: refusals travel in `Result`s on
    /// every parse step, and most have nothing to echo yet).
    pub echo: Box<Echo>,
}

impl Rejection {
    /// A refusal answered with `kind`'s confirmation (the value is cut to 300 bytes).
    pub fn new(kind: Option<Kind>, error: ErrorType, value: impl Into<String>) -> Self {
        let mut value = value.into();
        // error values are echoed to the sender and logged: keep them short
        if value.len() > 300 {
            let mut end = 300;
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            value.truncate(end);
            value.push('…');
        }
        Rejection {
            kind,
            error,
            value,
            echo: Box::default(),
        }
    }
}

impl From<XmlError> for Rejection {
    fn from(e: XmlError) -> Self {
        Rejection::new(None, ErrorType::BadlyFormedMessage, e.to_string())
    }
}

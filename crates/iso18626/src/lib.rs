//! # rota-iso18626: interlibrary loan messages as ISO 18626 defines them
//!
//! The systems libraries run (Alma, WorldShare/Tipasa, ReShare, Koha, ILLiad) exchange
//! ISO 18626 messages as XML over HTTP POST, each answered on the same connection with a
//! confirmation. This crate reads those messages and writes the answers; the server's
//! HTTP front and the broker meet it at [`Message`] and [`Confirmation`]. Synchronous,
//! no I/O.
//!
//! ## Reading untrusted bytes
//! A message is read in two steps, so that safety and meaning are separate:
//! 1. [`xml::parse`] turns bytes into a bounded element tree, refusing what could hurt
//!    before anything large is built: size, depth and element-count limits, any DOCTYPE
//!    (so no entity can be declared: no billion laughs, no external entities), undefined
//!    entity references, non-UTF-8 input, elements outside the ISO 18626 namespace (any
//!    prefix, or none with a default namespace).
//! 2. [`parse`] interprets the tree against the standard (versions 1.2 and 2021; the
//!    2021-2 schema's element names), children in any order, and says what is wrong the
//!    way the standard does ([`Rejection`]: one of the five [`ErrorType`]s with an error
//!    value naming the element path or value), echoing whatever header ids it could read.
//!
//! Closed code lists (service type, status, reason for message, action) are enums; open
//! ones (reasons unfilled and for retry, agency id types, formats) keep their text. The
//! blocks rota relays without reading (patron, delivery, billing, addresses) stay element
//! trees whose `Debug` prints no content, so patron data cannot reach a log.

pub mod error;
pub mod message;
mod parse;
pub mod relay;
pub mod write;
pub mod xml;

#[cfg(test)]
mod tests;

pub use error::{Echo, ErrorType, Rejection};
pub use message::{
    Action, AgencyId, BibliographicInfo, Code, Header, Kind, Message, PublicationInfo,
    ReasonForMessage, Request, RequestingAgencyMessage, ServiceInfo, ServiceType, Status,
    SupplyingAgencyMessage,
};
pub use parse::{datetime, parse, parse_document};
pub use write::{Confirmation, stamp};
pub use xml::NS;

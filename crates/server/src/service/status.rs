//! The one place where domain errors become gRPC statuses, and where a status code gets
//! its metric label.

use rota_catalog::LookupError;
use rota_routing::{EventError, RouteError};
use tonic::{Code, Status};

use crate::app::ReloadError;
use crate::changes::ChangeError;
use crate::log::LogError;

/// Maps routing errors: all are the caller's fault and name the field.
pub fn route_status(e: &RouteError) -> Status {
    Status::invalid_argument(e.to_string())
}

/// Maps lookup errors: the citation is the caller's.
pub fn lookup_status(e: &LookupError) -> Status {
    Status::invalid_argument(format!("citation: {e}"))
}

/// Maps event errors: unknown parties are NOT_FOUND, the rest INVALID_ARGUMENT.
pub fn event_status(e: &EventError) -> Status {
    match e {
        EventError::UnknownLender(_) | EventError::UnknownBorrower(_) => {
            Status::not_found(e.to_string())
        }
        EventError::Field(_) | EventError::UnknownCluster(_) => {
            Status::invalid_argument(e.to_string())
        }
    }
}

/// Maps log errors: an oversized record is the caller's, the rest is ours (retry later).
pub fn log_status(e: &LogError) -> Status {
    match e {
        LogError::TooLarge(_) => Status::invalid_argument(e.to_string()),
        _ => Status::unavailable(format!("{e}; nothing was recorded, retry later")),
    }
}

/// Maps refused admin changes: a stale version is ABORTED (read again and retry), a
/// rule broken INVALID_ARGUMENT, and a log failure as [`log_status`].
pub fn change_status(e: &ChangeError) -> Status {
    match e {
        ChangeError::Stale { .. } => Status::aborted(e.to_string()),
        ChangeError::Invalid(m) => Status::invalid_argument(m.clone()),
        ChangeError::Log(l) => log_status(l),
    }
}

/// Maps reload refusals: a snapshot that does not load, or does not take the changes
/// made since, is a precondition the caller can fix; the rest is ours.
pub fn reload_status(e: &ReloadError) -> Status {
    match e {
        ReloadError::Snapshot(_) | ReloadError::Holdings(..) => {
            Status::failed_precondition(e.to_string())
        }
        ReloadError::Log(l) => log_status(l),
        ReloadError::Task(_) => Status::internal(e.to_string()),
    }
}

/// What tonic answers when a message is larger than the server's limit: OUT_OF_RANGE,
/// whose message begins thus. The limit is a resource limit, and `deploy/rota.toml` and
/// the proto promise RESOURCE_EXHAUSTED.
const TONIC_TOO_LARGE: &str = "Error, decoded message length too large";

/// A status for an oversized message turned into RESOURCE_EXHAUSTED; any other as it is.
pub fn oversize(s: Status) -> Status {
    if s.code() == Code::OutOfRange && s.message().starts_with(TONIC_TOO_LARGE) {
        Status::resource_exhausted(format!(
            "{}; send smaller messages (see limits.max_message_bytes)",
            s.message()
        ))
    } else {
        s
    }
}

/// [`oversize`] for the answers tonic gives before a handler runs (a unary request over
/// the limit), applied to every response as a tower layer.
pub fn oversize_response(
    mut res: http::Response<tonic::body::Body>,
) -> http::Response<tonic::body::Body> {
    if let Some(s) = Status::from_header_map(res.headers())
        && s.code() == Code::OutOfRange
    {
        let mapped = oversize(s);
        if mapped.code() == Code::ResourceExhausted {
            // both are ASCII: the header always takes them
            let _ = mapped.add_header(res.headers_mut());
        }
    }
    res
}

/// The canonical name of a status code (`INVALID_ARGUMENT`), as the gRPC specification
/// spells it: the `code` label of every metric and [`pb::RouteError`]'s `code`.
///
/// [`pb::RouteError`]: rota_proto::v1::RouteError
pub fn code_name(c: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match c {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_mapping() {
        assert_eq!(
            log_status(&LogError::Io("No space left on device".into())).code(),
            tonic::Code::Unavailable
        );
        assert_eq!(
            log_status(&LogError::Closed).code(),
            tonic::Code::Unavailable
        );
        assert_eq!(
            log_status(&LogError::TooLarge(1 << 30)).code(),
            tonic::Code::InvalidArgument
        );
        assert_eq!(
            event_status(&EventError::UnknownLender("X".into())).code(),
            tonic::Code::NotFound
        );
        assert_eq!(
            route_status(&RouteError::UnknownBorrower("X".into())).code(),
            tonic::Code::InvalidArgument
        );
    }
}

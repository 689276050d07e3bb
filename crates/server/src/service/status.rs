//! The one place where domain errors become gRPC statuses, and where a status code gets
//! its metric label.

use rota_catalog::LookupError;
use rota_routing::{EventError, RouteError};
use tonic::Status;

use crate::app::ReloadError;
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
        EventError::EmptyRequestId => Status::invalid_argument(e.to_string()),
    }
}

/// Maps log errors: an oversized record is the caller's, the rest is ours (retry later).
pub fn log_status(e: &LogError) -> Status {
    match e {
        LogError::TooLarge(_) => Status::invalid_argument(e.to_string()),
        _ => Status::unavailable(format!("{e}; nothing was recorded, retry later")),
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

/// The metric label of a status code.
pub fn code_name(c: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match c {
        Ok => "ok",
        InvalidArgument => "invalid_argument",
        NotFound => "not_found",
        PermissionDenied => "permission_denied",
        Unauthenticated => "unauthenticated",
        ResourceExhausted => "resource_exhausted",
        Unavailable => "unavailable",
        Aborted => "aborted",
        DeadlineExceeded => "deadline_exceeded",
        _ => "other",
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
            route_status(&RouteError::BadMaxLenders(0)).code(),
            tonic::Code::InvalidArgument
        );
    }
}

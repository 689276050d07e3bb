//! Every gRPC call counted and timed once, by a layer over the whole router.
//!
//! The layer sits outside admission and every service, so a call shed before any handler
//! ran, one refused by authentication, a health check and a reflection request are all
//! counted the same way. A call's `code` is read where gRPC puts it: the response headers
//! for a call answered with an error at once, the trailers otherwise; a response dropped
//! before either (the client went away mid-stream) is `CANCELLED`. Its duration runs from
//! the headers' arrival to the end of the response body.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Instant;

use prost::Message;
use tonic::Status;
use tonic::body::Body;

use super::{RPC_DURATION, RPC_REQUESTS};
use crate::service::status::code_name;

/// `service` and `method` labels for a path no descriptor names.
const UNKNOWN: (&str, &str) = ("unknown", "unknown");

/// `/package.Service/Method` → (`package.Service`, `Method`) for every method the server
/// serves, read from the descriptor sets it registers for reflection.
fn names() -> &'static HashMap<String, (&'static str, &'static str)> {
    static NAMES: OnceLock<HashMap<String, (&'static str, &'static str)>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut m = HashMap::new();
        for set in [
            rota_proto::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ] {
            let Ok(set) = prost_types::FileDescriptorSet::decode(set) else {
                // compiled in: a set that does not decode is a build defect, and its
                // calls are still counted, as "unknown"
                tracing::error!("a compiled-in descriptor set does not decode");
                continue;
            };
            for file in set.file {
                let package = file.package.unwrap_or_default();
                for svc in file.service {
                    let full = format!("{package}.{}", svc.name.unwrap_or_default());
                    // leaked once per process, for a fixed set: the labels must be 'static
                    let full: &'static str = Box::leak(full.into_boxed_str());
                    for method in svc.method {
                        let name = method.name.unwrap_or_default();
                        let path = format!("/{full}/{name}");
                        m.insert(path, (full, &*Box::leak(name.into_boxed_str())));
                    }
                }
            }
        }
        m
    })
}

/// The `service` and `method` labels of a request path.
pub fn labels(path: &str) -> (&'static str, &'static str) {
    names().get(path).copied().unwrap_or(UNKNOWN)
}

/// The layer: wrap the router's services in [`Observed`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ObserveLayer;

impl<S> tower::Layer<S> for ObserveLayer {
    type Service = Observed<S>;
    fn layer(&self, inner: S) -> Observed<S> {
        Observed { inner }
    }
}

/// A service whose calls are counted and timed.
#[derive(Clone, Debug)]
pub struct Observed<S> {
    inner: S,
}

impl<S, B> tower::Service<http::Request<B>> for Observed<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let (service, method) = labels(req.uri().path());
        let call = Call {
            service,
            method,
            start: Instant::now(),
        };
        let fut = self.inner.call(req);
        Box::pin(async move {
            match fut.await {
                Ok(res) => {
                    let early = Status::from_header_map(res.headers()).map(|s| s.code());
                    if let Some(code) = early
                        && http_body::Body::is_end_stream(res.body())
                    {
                        // answered wholly in its headers (an error, a shed call): counted
                        // before the answer leaves, so whoever sees it sees it counted
                        call.finish(code);
                        return Ok(res);
                    }
                    Ok(res.map(|inner| {
                        Body::new(Watched {
                            inner,
                            call: Some(call),
                            early,
                        })
                    }))
                }
                Err(e) => {
                    // the transport answers this one itself; tonic's router never does
                    call.finish(tonic::Code::Unknown);
                    Err(e)
                }
            }
        })
    }
}

struct Call {
    service: &'static str,
    method: &'static str,
    start: Instant,
}

impl Call {
    fn finish(self, code: tonic::Code) {
        metrics::counter!(
            RPC_REQUESTS,
            "service" => self.service,
            "method" => self.method,
            "code" => code_name(code),
        )
        .increment(1);
        metrics::histogram!(RPC_DURATION, "service" => self.service, "method" => self.method)
            .record(self.start.elapsed().as_secs_f64());
    }
}

/// A response body that records its call when it ends.
struct Watched {
    inner: Body,
    call: Option<Call>,
    /// The code in the response headers (a trailers-only answer), if any.
    early: Option<tonic::Code>,
}

impl Watched {
    fn finish(&mut self, code: tonic::Code) {
        if let Some(c) = self.call.take() {
            c.finish(code);
        }
    }
}

impl http_body::Body for Watched {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(t) = frame.trailers_ref() {
                    let code =
                        Status::from_header_map(t).map_or(tonic::Code::Unknown, |s| s.code());
                    self.finish(code);
                }
            }
            Poll::Ready(Some(Err(s))) => {
                let code = s.code();
                self.finish(code);
            }
            Poll::Ready(None) => {
                let code = self.early.unwrap_or(tonic::Code::Unknown);
                self.finish(code);
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        // an answer wholly in its headers may never have its (empty) body polled; any
        // other body dropped before its trailers is a call the client abandoned
        let code = match self.early {
            Some(c) => c,
            None => tonic::Code::Cancelled,
        };
        self.finish(code);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_served_method_has_labels_and_anything_else_is_unknown() {
        assert_eq!(
            labels("/rota.v1.Routing/Route"),
            ("rota.v1.Routing", "Route")
        );
        assert_eq!(
            labels("/grpc.health.v1.Health/Check"),
            ("grpc.health.v1.Health", "Check")
        );
        assert_eq!(
            labels("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"),
            (
                "grpc.reflection.v1alpha.ServerReflection",
                "ServerReflectionInfo"
            )
        );
        assert_eq!(labels("/rota.v1.Routing/NoSuchMethod"), UNKNOWN);
        assert_eq!(labels("/x/y"), UNKNOWN);
        assert_eq!(labels(""), UNKNOWN);
    }
}

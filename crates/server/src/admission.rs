//! Admission: which calls the server takes on, decided when they arrive, for the whole
//! call.
//!
//! A permit is taken when the call's headers arrive (before authentication, decoding or
//! any handler) and given back when its response body is finished or dropped, so a
//! stream holds one for as long as it runs, both ways. With no permit left the call is
//! answered RESOURCE_EXHAUSTED at once, from here, without a task or a buffer: past
//! capacity the server sheds instead of queueing, and its memory stays flat.
//!
//! A permit bounds how many calls are in the server, not how long they wait for a core:
//! that is [`crate::cores`].

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;
use tonic::body::Body;
use tonic::server::NamedService;

/// The shared admission state: one per server.
#[derive(Clone, Debug)]
pub struct Admission {
    permits: Arc<Semaphore>,
}

impl Admission {
    /// At most `max_in_flight` calls at once.
    pub fn new(max_in_flight: usize) -> Admission {
        Admission {
            permits: Arc::new(Semaphore::new(max_in_flight)),
        }
    }

    /// Calls in the server now.
    pub fn in_flight(&self, max_in_flight: usize) -> usize {
        max_in_flight.saturating_sub(self.permits.available_permits())
    }

    /// Wraps a service so its calls are admitted here.
    pub fn wrap<S>(&self, inner: S) -> Admitted<S> {
        Admitted {
            inner,
            admission: self.clone(),
        }
    }
}

/// A service whose calls are admitted by an [`Admission`].
#[derive(Clone, Debug)]
pub struct Admitted<S> {
    inner: S,
    admission: Admission,
}

impl<S: NamedService> NamedService for Admitted<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B, RB> tower::Service<http::Request<B>> for Admitted<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
    RB: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    RB::Error: Into<tonic::codegen::StdError>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let Ok(permit) = self.admission.permits.clone().try_acquire_owned() else {
            metrics::counter!(crate::telemetry::SHED, "reason" => "in_flight").increment(1);
            let s = Status::resource_exhausted(
                "server at its in-flight limit (limits.max_in_flight); retry with backoff",
            );
            return Box::pin(async move { Ok(s.into_http()) });
        };
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = fut.await?;
            Ok(res.map(|body| {
                Body::new(Held {
                    inner: Body::new(body),
                    _permit: permit,
                })
            }))
        })
    }
}

/// A response body that holds its call's permit until it is finished or dropped.
struct Held {
    inner: Body,
    _permit: OwnedSemaphorePermit,
}

impl http_body::Body for Held {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::{Service, ServiceExt};

    #[derive(Clone)]
    struct Echo;
    impl NamedService for Echo {
        const NAME: &'static str = "test.Echo";
    }
    impl Service<http::Request<()>> for Echo {
        type Response = http::Response<Body>;
        type Error = std::convert::Infallible;
        type Future = std::future::Ready<Result<Self::Response, Self::Error>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: http::Request<()>) -> Self::Future {
            // a body with something in it: an empty one is finished (and its permit given
            // back) as soon as it is made
            std::future::ready(Ok(http::Response::new(Body::new(String::from("x")))))
        }
    }

    #[tokio::test]
    async fn a_permit_is_held_until_the_body_is_done_and_then_given_back() {
        let adm = Admission::new(1);
        let mut svc = adm.wrap(Echo);
        let first = svc
            .ready()
            .await
            .unwrap()
            .call(http::Request::new(()))
            .await;
        let first = first.unwrap();
        assert_eq!(adm.in_flight(1), 1, "the body still holds the permit");
        // a second call while the first's body is alive is shed, not queued
        let second = svc
            .ready()
            .await
            .unwrap()
            .call(http::Request::new(()))
            .await;
        let shed = Status::from_header_map(second.unwrap().headers()).expect("a status");
        assert_eq!(shed.code(), tonic::Code::ResourceExhausted);
        drop(first);
        assert_eq!(adm.in_flight(1), 0);
        let third = svc
            .ready()
            .await
            .unwrap()
            .call(http::Request::new(()))
            .await;
        assert!(Status::from_header_map(third.unwrap().headers()).is_none());
    }
}

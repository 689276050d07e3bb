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
//! on two cores, a thousand admitted unary calls can each wait behind the others. So the
//! arrival time travels with the request ([`Arrived`]), and a call sheds if it has waited
//! longer than [`Admission::max_queue`] when its handler starts ([`Arrived::check`]) or
//! when it would start its engine work ([`Cores::run`]).
//!
//! The engine's slow work (a title search, up to milliseconds) runs on blocking threads,
//! at most one per core at once, not on the async workers ([`Cores`]). Inline, a burst of
//! them starves the connection tasks that read requests and write answers: under 3×
//! load the server then admitted every call it could see and the queue formed in the
//! clients, seconds long, where no shedding can reach it (measured: PERFORMANCE.md). With
//! the work off the I/O threads the connections keep being read, every call is stamped on
//! arrival, and the queue forms at the cores' semaphore, in arrival order, where a call
//! past its wait limit is refused. Identifier lookups (microseconds) stay inline: handing
//! each to another thread cost 60 % of the throughput of the usual mix.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;
use tonic::body::Body;
use tonic::server::NamedService;

/// The shared admission state: one per server.
#[derive(Clone, Debug)]
pub struct Admission {
    permits: Arc<Semaphore>,
    /// Longest a call may wait between arriving and its handler starting.
    pub max_queue: Duration,
}

impl Admission {
    /// At most `max_in_flight` calls at once, each started within `max_queue` of arriving.
    pub fn new(max_in_flight: usize, max_queue: Duration) -> Admission {
        Admission {
            permits: Arc::new(Semaphore::new(max_in_flight)),
            max_queue,
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

/// When a call arrived, and how long it may wait; in every admitted request's extensions.
#[derive(Clone, Copy, Debug)]
pub struct Arrived {
    /// Arrival.
    pub at: Instant,
    /// Longest wait before the handler starts.
    pub max_queue: Duration,
}

impl Arrived {
    /// RESOURCE_EXHAUSTED if the call waited too long to start: the server is behind, and
    /// working on it now would only make every later call later.
    pub fn check(&self) -> Result<(), Status> {
        let waited = self.at.elapsed();
        if waited > self.max_queue {
            metrics::counter!("rota_shed_total", "reason" => "queued").increment(1);
            return Err(Status::resource_exhausted(format!(
                "server overloaded: the call waited {} ms to start (limit {} ms); retry with backoff",
                waited.as_millis(),
                self.max_queue.as_millis()
            )));
        }
        Ok(())
    }
}

/// The cores the engine's synchronous work runs on.
#[derive(Clone, Debug)]
pub struct Cores {
    slots: Arc<Semaphore>,
}

impl Cores {
    /// `n` cores (at least one).
    pub fn new(n: usize) -> Cores {
        Cores {
            slots: Arc::new(Semaphore::new(n.max(1))),
        }
    }

    /// Runs `f` on a blocking thread once a core is free, in arrival order; a call that
    /// came through admission and would wait past its limit for one is shed instead.
    ///
    /// Always on a blocking thread, even with a core free: run inline on an async worker
    /// whenever a core was free, the engine work took the workers under overload and the
    /// arrivals went unread again (measured: admitted p50 7.9 s at 3× load, 33 calls shed).
    pub async fn run<T: Send + 'static>(
        &self,
        arrived: Option<&Arrived>,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Status> {
        let acquire = self.slots.clone().acquire_owned();
        let permit = match arrived {
            Some(a) => {
                let left = a.max_queue.saturating_sub(a.at.elapsed());
                let got = tokio::time::timeout(left, acquire).await;
                metrics::histogram!("rota_queue_seconds").record(a.at.elapsed().as_secs_f64());
                match got {
                    Ok(p) => p,
                    Err(_) => {
                        metrics::counter!("rota_shed_total", "reason" => "queued").increment(1);
                        return Err(Status::resource_exhausted(format!(
                            "server overloaded: no core free within {} ms of the call arriving; retry with backoff",
                            a.max_queue.as_millis()
                        )));
                    }
                }
            }
            None => acquire.await,
        }
        .map_err(|_| Status::unavailable("the server is shutting down"))?;
        tokio::task::spawn_blocking(move || {
            let _core = permit;
            f()
        })
        .await
        .map_err(|_| Status::internal("the engine task failed"))
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

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let Ok(permit) = self.admission.permits.clone().try_acquire_owned() else {
            metrics::counter!("rota_shed_total", "reason" => "in_flight").increment(1);
            let s = Status::resource_exhausted(
                "server at its in-flight limit (limits.max_in_flight); retry with backoff",
            );
            return Box::pin(async move { Ok(s.into_http()) });
        };
        req.extensions_mut().insert(Arrived {
            at: Instant::now(),
            max_queue: self.admission.max_queue,
        });
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
        fn call(&mut self, req: http::Request<()>) -> Self::Future {
            assert!(
                req.extensions().get::<Arrived>().is_some(),
                "arrival recorded"
            );
            // a body with something in it: an empty one is finished (and its permit given
            // back) as soon as it is made
            std::future::ready(Ok(http::Response::new(Body::new(String::from("x")))))
        }
    }

    #[tokio::test]
    async fn a_permit_is_held_until_the_body_is_done_and_then_given_back() {
        let adm = Admission::new(1, Duration::from_secs(1));
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

    #[test]
    fn a_call_that_waited_too_long_is_shed() {
        let fresh = Arrived {
            at: Instant::now(),
            max_queue: Duration::from_secs(60),
        };
        assert!(fresh.check().is_ok());
        let stale = Arrived {
            at: Instant::now() - Duration::from_millis(50),
            max_queue: Duration::from_millis(10),
        };
        assert_eq!(
            stale.check().unwrap_err().code(),
            tonic::Code::ResourceExhausted
        );
    }
}

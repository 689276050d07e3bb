//! The cores the engine's synchronous work runs on, and the order waiting calls get them.
//!
//! The engine's slow work (a title search, up to milliseconds) runs on blocking threads,
//! at most one per core at once, not on the async workers: inline, a burst of title
//! searches starved the connection tasks that read requests and write answers, and under
//! 3× load the queue formed in the clients, seconds long, where no shedding reaches it
//! (measured: PERFORMANCE.md). Identifier lookups (microseconds) stay inline: handing each
//! to another thread cost about 60 % of the throughput of the usual mix.
//!
//! An interactive call that cannot get a core within `max_queue` is refused
//! RESOURCE_EXHAUSTED. Who gets a core that comes free is **adaptive LIFO**: first come,
//! first served while the queue is short-lived; once the oldest waiter has waited 1 ms
//! (several title searches on every core; half of `max_queue` if that is less) the queue
//! is standing (arrivals outpace the cores) and the newest waiter is served instead. A
//! standing FIFO queue makes every admitted call wait nearly the whole `max_queue` before
//! it starts (measured at 3× load on one core, 10 ms limit: admitted p50 12.0 ms, p99
//! 16.9 ms and worse), while serving the newest keeps admitted calls' waits short (p50
//! 1.6–1.7 ms, p99 4.3–6.6 ms; PERFORMANCE.md) and lets the oldest, whose callers are
//! likeliest to have given up, run out their time and be shed. A waiter past its limit is
//! shed as soon as a core comes free rather than served. Batch work
//! ([`Cores::run_queued`]) is never shed: a batch waiter that has waited the whole
//! `max_queue` is served next, so batches are slowed under overload, not starved.
//!
//! `tokio::sync::Semaphore` is strictly FIFO, so the queue is written here: a mutex over
//! a deque of one-shot senders, touched once per acquire and once per release.
//!
//! The wait is timed from the moment the handler asks for a core, not from the call's
//! arrival: a call's arrival is followed by its message, and a 1 MB message on a slow
//! link is not a queue (timed from arrival, such calls were refused as "overloaded").

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tonic::Status;

/// A queue whose oldest waiter has waited this long (several title searches' worth on
/// every core) is standing: arrivals outpace the cores.
const STANDING: Duration = Duration::from_millis(1);

/// The cores the engine's synchronous work runs on: cheap to clone, one per server.
#[derive(Clone, Debug)]
pub struct Cores {
    queue: Arc<Queue>,
    max_queue: Duration,
}

#[derive(Debug)]
struct Queue {
    state: Mutex<State>,
    /// [`STANDING`], or half of `max_queue` if that is less.
    standing_after: Duration,
    max_queue: Duration,
}

#[derive(Debug, Default)]
struct State {
    free: usize,
    next_id: u64,
    waiters: VecDeque<Waiter>,
}

#[derive(Debug)]
struct Waiter {
    id: u64,
    since: Instant,
    /// Batch work is never shed; an interactive call is, past `max_queue`.
    sheddable: bool,
    give: oneshot::Sender<Core>,
}

/// One core, held while the engine works; given to the next waiter when dropped.
#[derive(Debug)]
struct Core {
    /// `None` once the core has been counted free again (see [`Queue::release`]).
    queue: Option<Arc<Queue>>,
}

impl Core {
    fn of(queue: &Arc<Queue>) -> Core {
        Core {
            queue: Some(Arc::clone(queue)),
        }
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        if let Some(q) = self.queue.take() {
            q.release();
        }
    }
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        // the state is a counter and a deque, each left whole by every critical section,
        // so a panic elsewhere while it was held cannot have broken it
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A core comes free: hand it to the waiter whose turn it is, or count it free.
    fn release(self: &Arc<Self>) {
        let mut st = self.lock();
        let now = Instant::now();
        let mut core = Core::of(self);
        while let Some(w) = self.next_waiter(&mut st, now) {
            // a waiter whose call was dropped has closed its receiver: try the next one
            match w.give.send(core) {
                Ok(()) => return,
                Err(back) => core = back,
            }
        }
        st.free += 1;
        // counted free: dropping it must not release it a second time
        core.queue = None;
    }

    fn next_waiter(&self, st: &mut State, now: Instant) -> Option<Waiter> {
        loop {
            let front = st.waiters.front()?;
            let oldest = now.saturating_duration_since(front.since);
            if oldest < self.standing_after {
                // a short-lived queue: in order
                return st.waiters.pop_front();
            }
            if oldest < self.max_queue {
                return st.waiters.pop_back();
            }
            if !front.sheddable {
                // due, and batch work cannot be shed: it goes next
                return st.waiters.pop_front();
            }
            // past its limit, its timer not yet run: dropping its sender sheds it now
            // rather than giving a core to a call that has waited the longest
            st.waiters.pop_front();
        }
    }
}

impl Cores {
    /// `n` cores (at least one); an interactive call waits at most `max_queue` for one.
    pub fn new(n: usize, max_queue: Duration) -> Cores {
        Cores::with_standing(n, max_queue, STANDING.min(max_queue / 2))
    }

    fn with_standing(n: usize, max_queue: Duration, standing_after: Duration) -> Cores {
        Cores {
            queue: Arc::new(Queue {
                state: Mutex::new(State {
                    free: n.max(1),
                    ..State::default()
                }),
                standing_after,
                max_queue,
            }),
            max_queue,
        }
    }

    /// Runs `f` on a blocking thread once a core is free; if none is given to it within
    /// `max_queue` the call is refused RESOURCE_EXHAUSTED instead.
    ///
    /// Always on a blocking thread, even with a core free: run inline on an async worker
    /// whenever a core was free, the engine work took the workers under overload and the
    /// arrivals went unread again (measured: admitted p50 7.9 s at 3× load, 33 calls shed).
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Status> {
        let asked = Instant::now();
        let core = self.acquire(Some(self.max_queue)).await;
        metrics::histogram!(crate::telemetry::QUEUE_WAIT).record(asked.elapsed().as_secs_f64());
        let Some(core) = core else {
            metrics::counter!(crate::telemetry::SHED, "reason" => "queued").increment(1);
            return Err(Status::resource_exhausted(format!(
                "server overloaded: no core free within {} ms; retry with backoff",
                self.max_queue.as_millis()
            )));
        };
        on_a_thread(core, f).await
    }

    /// Runs `f` on a blocking thread once a core is free, however long that takes: for
    /// batch work, whose own stream is its backpressure and which must not be shed for
    /// waiting.
    pub async fn run_queued<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Status> {
        let core = self.acquire(None).await;
        let core = core.ok_or_else(|| Status::internal("a batch wait for a core timed out"))?;
        on_a_thread(core, f).await
    }

    /// A core, or `None` if `limit` passed first.
    async fn acquire(&self, limit: Option<Duration>) -> Option<Core> {
        let (id, rx) = {
            let mut st = self.queue.lock();
            if st.free > 0 && st.waiters.is_empty() {
                st.free -= 1;
                return Some(Core::of(&self.queue));
            }
            let (give, rx) = oneshot::channel();
            let id = st.next_id;
            st.next_id += 1;
            st.waiters.push_back(Waiter {
                id,
                since: Instant::now(),
                sheddable: limit.is_some(),
                give,
            });
            (id, rx)
        };
        let Some(limit) = limit else {
            // the sender lives in the queue until a core is sent through it
            return rx.await.ok();
        };
        let mut rx = rx;
        // a waiter dropped from the queue (shed by `release`) ends with `None` here
        match tokio::time::timeout(limit, &mut rx).await {
            Ok(core) => core.ok(),
            Err(_) => {
                let removed = {
                    let mut st = self.queue.lock();
                    let at = st.waiters.iter().position(|w| w.id == id);
                    at.and_then(|at| st.waiters.remove(at)).is_some()
                };
                if removed {
                    return None;
                }
                // taken off the queue at the last moment: the core is in the channel
                rx.await.ok()
            }
        }
    }

    /// Calls waiting for a core now.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.queue.lock().waiters.len()
    }
}

async fn on_a_thread<T: Send + 'static>(
    core: Core,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(move || {
        let _core = core;
        f()
    })
    .await
    .map_err(|_| Status::internal("the engine task failed"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// Occupies the one core of `cores` until the returned sender is used.
    async fn occupy(cores: &Cores) -> (mpsc::Sender<()>, tokio::task::JoinHandle<()>) {
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let busy = cores.clone();
        let holder = tokio::spawn(async move {
            busy.run(move || {
                started_tx.send(()).unwrap();
                release_rx.recv().unwrap();
            })
            .await
            .unwrap()
        });
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
            .await
            .unwrap();
        (release_tx, holder)
    }

    async fn until_waiting(cores: &Cores, n: usize) {
        while cores.waiting() != n {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_call_that_cannot_get_a_core_in_time_is_shed() {
        let cores = Cores::new(1, Duration::from_millis(20));
        let (release, holder) = occupy(&cores).await;
        let e = cores.run(|| ()).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::ResourceExhausted);
        assert_eq!(cores.waiting(), 0, "the shed call left the queue");
        release.send(()).unwrap();
        holder.await.unwrap();
        assert_eq!(cores.run(|| 7).await.unwrap(), 7, "the core is free again");
    }

    #[tokio::test]
    async fn a_short_lived_queue_is_served_in_order() {
        // a queue younger than a minute is short-lived here
        let cores = Cores::with_standing(1, Duration::from_secs(120), Duration::from_secs(60));
        let (release, holder) = occupy(&cores).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut calls = Vec::new();
        for i in 0..3 {
            let (c, o) = (cores.clone(), Arc::clone(&order));
            calls.push(tokio::spawn(async move {
                c.run(move || o.lock().unwrap().push(i)).await.unwrap()
            }));
            until_waiting(&cores, i + 1).await;
        }
        release.send(()).unwrap();
        holder.await.unwrap();
        for c in calls {
            c.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), [0, 1, 2]);
    }

    #[tokio::test]
    async fn a_standing_queue_serves_the_newest_first_and_sheds_the_oldest() {
        // standing after 100 ms, shed after 200 ms
        let cores = Cores::with_standing(1, Duration::from_millis(200), Duration::from_millis(100));
        let (release, holder) = occupy(&cores).await;
        let ran = Arc::new(Mutex::new(Vec::new()));
        let (c, r) = (cores.clone(), Arc::clone(&ran));
        let oldest =
            tokio::spawn(async move { c.run(move || r.lock().unwrap().push("oldest")).await });
        until_waiting(&cores, 1).await;
        tokio::time::sleep(Duration::from_millis(120)).await;
        // the newest holds the core it gets until told, past the oldest's limit
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (c, r) = (cores.clone(), Arc::clone(&ran));
        let newest = tokio::spawn(async move {
            c.run(move || {
                r.lock().unwrap().push("newest");
                go_rx.recv().unwrap();
            })
            .await
        });
        until_waiting(&cores, 2).await;
        release.send(()).unwrap();
        holder.await.unwrap();
        let shed = oldest.await.unwrap().unwrap_err();
        assert_eq!(shed.code(), tonic::Code::ResourceExhausted);
        go_tx.send(()).unwrap();
        newest
            .await
            .unwrap()
            .expect("the newest waiter got the core");
        assert_eq!(*ran.lock().unwrap(), ["newest"]);
    }

    #[tokio::test]
    async fn a_batch_waiter_is_served_once_due_even_in_a_standing_queue() {
        let cores = Cores::new(1, Duration::from_millis(40));
        let (release, holder) = occupy(&cores).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let (c, o) = (cores.clone(), Arc::clone(&order));
        let batch = tokio::spawn(async move {
            c.run_queued(move || o.lock().unwrap().push("batch"))
                .await
                .unwrap()
        });
        until_waiting(&cores, 1).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        // a newer interactive call arrives while the batch waiter is past due
        let (c, o) = (cores.clone(), Arc::clone(&order));
        let call = tokio::spawn(async move { c.run(move || o.lock().unwrap().push("call")).await });
        until_waiting(&cores, 2).await;
        release.send(()).unwrap();
        holder.await.unwrap();
        batch.await.unwrap();
        let _ = call.await.unwrap();
        assert_eq!(order.lock().unwrap().first(), Some(&"batch"));
    }

    #[tokio::test]
    async fn a_dropped_waiter_does_not_take_a_core_with_it() {
        let cores = Cores::new(1, Duration::from_secs(60));
        let (release, holder) = occupy(&cores).await;
        let c = cores.clone();
        let gone = tokio::spawn(async move { c.run(|| ()).await });
        until_waiting(&cores, 1).await;
        gone.abort();
        let _ = gone.await;
        release.send(()).unwrap();
        holder.await.unwrap();
        // the core went past the dropped waiter and is free: a call gets it at once
        assert_eq!(cores.run(|| 1).await.unwrap(), 1);
        assert_eq!(cores.queue.lock().free, 1);
    }
}

//! A connection to the gateway opened ahead of the request that will need it.
//!
//! The fetch after a login sends two requests at once (the batch and the look at the
//! items' types), and HTTP/1.1 carries one at a time: the second needs a connection of
//! its own, whose TCP and TLS handshakes (two round trips on a real network) would come
//! first. `Spare::open` starts that connection while the login is answered.
//!
//! reqwest has no call to open a connection, so the spare is asked for by a request that
//! is dropped before a byte of it is sent: `Spare::open` marks the next connect as the
//! spare and polls a request once, which has reqwest call this layer. The layer runs that
//! connect in a task of its own and keeps what it makes; the next request that needs a
//! connection takes it, waiting for it if it is still connecting. Every other connect is
//! reqwest's own, untouched. Nothing is sent on the spare until a request needs it.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tower_layer::Layer;
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A spare older than this is not handed out: a server may have closed it meanwhile, and
/// a request on a fresh connection that turns out closed is not retried.
const FRESH: Duration = Duration::from_secs(10);

/// reqwest's connection type, which has no name outside reqwest.
type Conn = Box<dyn Any + Send>;

/// The spare, shared by the client (which asks for it) and its connector (which makes it).
#[derive(Default)]
pub struct Spares(Mutex<State>);

#[derive(Default)]
enum State {
    #[default]
    None,
    /// The next connect is the spare.
    Wanted,
    /// The spare is connecting, or made: the first request to need a connection takes it.
    Connecting(oneshot::Receiver<Result<(Instant, Conn), BoxError>>),
}

impl std::fmt::Debug for Spares {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Spares")
    }
}

impl Spares {
    /// Marks the next connect as the spare (`Spare::open` then asks for it).
    pub fn want(&self) {
        *self.state() = State::Wanted;
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The layer for `reqwest::ClientBuilder::connector_layer`. `within` bounds the spare's
/// connect, which runs on its own: reqwest's connect timeout stops only a request waiting.
#[derive(Clone)]
pub struct Layered {
    pub spares: Arc<Spares>,
    pub within: Duration,
}

impl<S> Layer<S> for Layered {
    type Service = Connect<S>;

    fn layer(&self, inner: S) -> Connect<S> {
        Connect {
            inner,
            spares: self.spares.clone(),
            within: self.within,
        }
    }
}

/// reqwest's connector, with the spare.
#[derive(Clone)]
pub struct Connect<S> {
    inner: S,
    spares: Arc<Spares>,
    within: Duration,
}

type Connecting<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

impl<S, R> Service<R> for Connect<S>
where
    S: Service<R, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    R: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Connecting<S::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let mut state = self.spares.state();
        match std::mem::take(&mut *state) {
            State::None => {
                drop(state);
                Box::pin(self.inner.call(request))
            }
            State::Wanted => {
                let (done, spare) = oneshot::channel();
                *state = State::Connecting(spare);
                drop(state);
                let connecting = tokio::time::timeout(self.within, self.inner.call(request));
                tokio::spawn(async move {
                    let connected = match connecting.await {
                        Ok(Ok(conn)) => Ok((Instant::now(), Box::new(conn) as Conn)),
                        Ok(Err(e)) => Err(e),
                        Err(_) => Err("the connection timed out".into()),
                    };
                    let _ = done.send(connected);
                });
                // For the request that asked for the spare, dropped before it is polled again.
                Box::pin(async { Err("this connection is the spare, for the next request".into()) })
            }
            State::Connecting(spare) => {
                drop(state);
                let mut inner = self.inner.clone();
                Box::pin(async move {
                    match spare.await {
                        Ok(Ok((made, conn))) if made.elapsed() < FRESH => {
                            if let Ok(conn) = conn.downcast::<S::Response>() {
                                return Ok(*conn);
                            }
                        }
                        _ => {}
                    }
                    // No spare after all: a connection of this request's own.
                    std::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
                    inner.call(request).await
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A connector that numbers the connections it makes; `fail` makes them fail, `hang`
    /// never completes them.
    #[derive(Clone, Default)]
    struct Counting {
        made: Arc<AtomicUsize>,
        fail: bool,
        hang: bool,
    }

    impl Service<&'static str> for Counting {
        type Response = usize;
        type Error = BoxError;
        type Future = Connecting<usize>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: &'static str) -> Self::Future {
            let made = self.made.fetch_add(1, Ordering::SeqCst) + 1;
            let (fail, hang) = (self.fail, self.hang);
            Box::pin(async move {
                if hang {
                    std::future::pending::<()>().await;
                }
                tokio::task::yield_now().await;
                match fail {
                    true => Err("refused".into()),
                    false => Ok(made),
                }
            })
        }
    }

    fn layered(inner: Counting, within: Duration) -> (Arc<Spares>, Connect<Counting>) {
        let spares = Arc::new(Spares::default());
        let layer = Layered {
            spares: spares.clone(),
            within,
        };
        (spares, layer.layer(inner))
    }

    /// What `Spare::open` does: the spare's request, polled once and dropped.
    fn open(spares: &Spares, connect: &mut Connect<Counting>) {
        use futures_util::FutureExt;
        spares.want();
        assert!(matches!(connect.call("spare").now_or_never(), Some(Err(_))));
    }

    #[tokio::test]
    async fn the_spare_serves_the_next_request_that_needs_a_connection() {
        let inner = Counting::default();
        let (spares, mut connect) = layered(inner.clone(), Duration::from_secs(5));
        assert_eq!(connect.call("login").await.unwrap(), 1);
        open(&spares, &mut connect);
        // Taken while it may still be connecting: waited for, not made twice.
        assert_eq!(connect.call("listing").await.unwrap(), 2);
        assert_eq!(inner.made.load(Ordering::SeqCst), 2);
        // Once it is taken, connections are reqwest's own again.
        assert_eq!(connect.call("more").await.unwrap(), 3);
    }

    #[tokio::test]
    async fn a_spare_that_failed_or_timed_out_leaves_the_request_its_own_connection() {
        let failing = Counting {
            fail: true,
            ..Counting::default()
        };
        let (spares, mut connect) = layered(failing, Duration::from_secs(5));
        open(&spares, &mut connect);
        assert_eq!(
            connect.call("listing").await.unwrap_err().to_string(),
            "refused"
        );

        let hanging = Counting {
            hang: true,
            ..Counting::default()
        };
        let (spares, mut connect) = layered(hanging.clone(), Duration::from_millis(20));
        open(&spares, &mut connect);
        let waited =
            tokio::time::timeout(Duration::from_millis(200), connect.call("listing")).await;
        // The spare timed out after 20 ms; the request then made its own (which hangs too).
        assert!(waited.is_err());
        assert_eq!(hanging.made.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_stale_spare_is_not_handed_out() {
        let inner = Counting::default();
        let (spares, mut connect) = layered(inner.clone(), Duration::from_secs(5));
        let (done, spare) = oneshot::channel();
        let old: Conn = Box::new(7usize);
        let _ = done.send(Ok((Instant::now() - FRESH, old)));
        *spares.state() = State::Connecting(spare);
        assert_eq!(connect.call("request").await.unwrap(), 1);
    }
}

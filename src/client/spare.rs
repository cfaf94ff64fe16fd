//! A connection to the gateway opened ahead of the request that will need it.
//!
//! The fetch after a login sends two requests at once (the batch and the look at the
//! items' types), and HTTP/1.1 carries one at a time: the second needs a connection of
//! its own, whose TCP and TLS handshakes (two round trips on a real network) would come
//! first. `Api::open_spare` starts that connection while the login is answered.
//!
//! reqwest has no call to open a connection, so the spare is made by a request that is
//! dropped before a byte of it is sent: this layer runs every connect in a task of its
//! own, and keeps a connection whose request was dropped for the next request that needs
//! one. Nothing is sent on the spare until then.

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

/// The connection kept, and when it was made. Of reqwest's connection type, which has no
/// name outside reqwest.
type Slot = Arc<Mutex<Option<(Instant, Box<dyn Any + Send>)>>>;

/// The layer for `reqwest::ClientBuilder::connector_layer`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spares;

impl<S> Layer<S> for Spares {
    type Service = Connect<S>;

    fn layer(&self, inner: S) -> Connect<S> {
        Connect {
            inner,
            slot: Slot::default(),
        }
    }
}

/// reqwest's connector, each connect in a task of its own.
#[derive(Clone)]
pub struct Connect<S> {
    inner: S,
    slot: Slot,
}

impl<S, R> Service<R> for Connect<S>
where
    S: Service<R, Error = BoxError>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let kept = self
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .filter(|(made, _)| made.elapsed() < FRESH)
            .and_then(|(_, conn)| conn.downcast::<S::Response>().ok());
        if let Some(conn) = kept {
            return Box::pin(async move { Ok(*conn) });
        }
        let connecting = self.inner.call(request);
        let slot = self.slot.clone();
        let (done, result) = oneshot::channel();
        tokio::spawn(async move {
            // Whoever asked is gone (the spare's request, dropped on purpose): keep it.
            if let Err(Ok(conn)) = done.send(connecting.await) {
                let conn: Box<dyn Any + Send> = Box::new(conn);
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), conn));
            }
        });
        Box::pin(async move {
            result
                .await
                .unwrap_or_else(|_| Err("the connection task ended without a result".into()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A connector that counts the connections it makes and numbers them.
    #[derive(Clone, Default)]
    struct Counting(Arc<AtomicUsize>);

    impl Service<&'static str> for Counting {
        type Response = usize;
        type Error = BoxError;
        type Future = Pin<Box<dyn Future<Output = Result<usize, BoxError>> + Send>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: &'static str) -> Self::Future {
            let made = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            Box::pin(async move {
                tokio::task::yield_now().await;
                Ok(made)
            })
        }
    }

    #[tokio::test]
    async fn a_connection_whose_request_was_dropped_serves_the_next_one() {
        let made = Arc::new(AtomicUsize::new(0));
        let mut connect = Spares.layer(Counting(made.clone()));
        // The spare's request: polled once, then dropped, as `Spare::open` does.
        {
            use futures_util::FutureExt;
            assert!(connect.call("spare").now_or_never().is_none());
        }
        // The login's connection is a new one, made while the spare still connects.
        assert_eq!(connect.call("login").await.unwrap(), 2);
        // The next request that needs a connection gets the spare, with no new connect.
        assert_eq!(connect.call("listing").await.unwrap(), 1);
        assert_eq!(made.load(Ordering::SeqCst), 2);
        // And once it is taken, connections are made again.
        assert_eq!(connect.call("more").await.unwrap(), 3);
    }

    #[tokio::test]
    async fn a_stale_spare_is_not_handed_out() {
        let made = Arc::new(AtomicUsize::new(0));
        let mut connect = Spares.layer(Counting(made.clone()));
        let old: Box<dyn Any + Send> = Box::new(7usize);
        *connect.slot.lock().unwrap() = Some((Instant::now() - FRESH, old));
        assert_eq!(connect.call("request").await.unwrap(), 1);
    }
}

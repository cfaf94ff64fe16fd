//! Requests to the services that prove a job's identity: CI token endpoints (GitHub
//! Actions, Azure Pipelines) and cloud metadata services (AWS, Azure, Google). Not the
//! Akeyless API: no Akeyless headers, a short deadline of their own, answers capped at
//! 1 MiB, redirects never followed (a bearer token or a credential would go along).
//! Metadata services are link-local and never reached through a proxy; CI endpoints are
//! on the internet and honour the proxy variables as every CI tool does.
//!
//! Errors never carry a URL (a CI's token URL can hold a secret) nor an answer's body:
//! the caller names the service.

use std::time::{Duration, Instant};

use reqwest::Method;

use crate::error::{Error, Result};

use super::tls::{self, Anchors};

/// A metadata service answers in milliseconds when it is there; when it is not (a laptop,
/// a container without the route), the TCP connection just hangs.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// One request, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Far beyond any token or credentials document.
const MAX_ANSWER: usize = 1 << 20;
/// A retry is not worth starting with less time than this left.
const MIN_ATTEMPT: Duration = Duration::from_millis(200);

/// Which network path a request takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A link-local or loopback service: never through a proxy.
    Direct,
    /// An internet service: through the proxy the environment names, if any.
    Proxied,
}

/// An answer: its status and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why a request got no answer (connection, timeout, a cut-off body), in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unanswered(pub String);

impl std::fmt::Display for Unanswered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The HTTP clients for identity endpoints, and the run's deadline they keep to.
#[derive(Debug, Clone)]
pub struct Endpoints {
    direct: reqwest::Client,
    proxied: reqwest::Client,
    /// The run's overall deadline (`AKEYLESS_TIMEOUT`): a metadata service that never
    /// answers must end the run with its own name and hint, not the watchdog's.
    deadline: Instant,
}

impl Endpoints {
    /// Clients whose requests all end within `timeout` from now.
    pub fn new(anchors: &[Anchors], timeout: Duration) -> Result<Endpoints> {
        let build = |proxied: bool| {
            let builder = reqwest::Client::builder()
                .use_preconfigured_tls(tls::client_config(anchors)?)
                .user_agent(super::USER_AGENT)
                .connect_timeout(CONNECT_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none());
            let builder = match proxied {
                true => builder,
                false => builder.no_proxy(),
            };
            builder
                .build()
                .map_err(|e| Error::other(format!("cannot set up the HTTP client: {e}")))
        };
        Ok(Endpoints {
            direct: build(false)?,
            proxied: build(true)?,
            deadline: Instant::now() + timeout,
        })
    }

    /// The wait before attempt `attempt + 1` of a request that failed in a way worth
    /// retrying (the API client's backoff), or `None` when waiting would leave no time
    /// for that attempt before the deadline.
    pub fn backoff(&self, attempt: u32) -> Option<Duration> {
        let wait = super::retry::backoff(attempt);
        (Instant::now() + wait + MIN_ATTEMPT < self.deadline).then_some(wait)
    }

    /// Sends one request and reads the answer, whatever its status.
    pub async fn send(
        &self,
        route: Route,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> std::result::Result<Answer, Unanswered> {
        let client = match route {
            Route::Direct => &self.direct,
            Route::Proxied => &self.proxied,
        };
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Unanswered(
                "the deadline (AKEYLESS_TIMEOUT) passed before it could be asked".into(),
            ));
        }
        let timeout = timeout.min(remaining);
        let mut request = client.request(method, url).timeout(timeout);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let describe = |e: reqwest::Error| {
            let e = e.without_url();
            if e.is_timeout() {
                return Unanswered(format!("no answer within {:.1}s", timeout.as_secs_f64()));
            }
            Unanswered(super::chain(&e))
        };
        let mut response = request.send().await.map_err(describe)?;
        let status = response.status().as_u16();
        if response
            .content_length()
            .is_some_and(|n| n > MAX_ANSWER as u64)
        {
            return Err(Unanswered(format!(
                "an answer over {} KiB",
                MAX_ANSWER >> 10
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(describe)? {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(Unanswered(format!(
                    "an answer over {} KiB",
                    MAX_ANSWER >> 10
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer { status, body })
    }
}

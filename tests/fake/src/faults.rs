//! Fault injection: the first N requests to an endpoint fail the way real networks,
//! proxies and overloaded gateways fail.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::http::{Delivery, Response};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// An API command such as `get-secret-value`, a metadata service's endpoint as the
    /// log names it (`imds:token`, `azure:imds`, …), or `*` for every command.
    pub endpoint: String,
    pub kind: FaultKind,
    /// How many requests fail before the endpoint behaves again.
    #[serde(default = "one")]
    pub count: u32,
    /// For `too_many_requests`: the `Retry-After` header, in seconds.
    #[serde(default)]
    pub retry_after: Option<u64>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// 429 with `Retry-After`.
    TooManyRequests,
    /// 500 with a JSON error.
    InternalError,
    /// 502 with an HTML page, as a load balancer sends.
    BadGatewayHtml,
    /// 503 with a JSON error.
    Unavailable,
    /// 504 with an empty body.
    GatewayTimeout,
    /// The request is processed, then the answer is cut off halfway through its body.
    Truncated,
    /// The connection closes before the request is processed: no answer at all.
    Dropped,
    /// The request is never answered (the connection stays open, silent).
    Hang,
    /// 401, as for a token that expired since it was issued.
    ExpiredToken,
    /// 404, as a metadata service answers while it updates or for a missing identity.
    NotFound,
    /// 200 with an HTML page, as a captive proxy sends.
    HtmlOk,
    /// A `Content-Length` of 200 MiB, a few bytes, then the connection closes.
    HugeBody,
    /// 200 with 30 MiB of `[[],[],…]`: little to read, much to parse.
    NestedArrays,
}

impl Fault {
    pub fn new(endpoint: &str, kind: FaultKind, count: u32) -> Self {
        Fault {
            endpoint: endpoint.into(),
            kind,
            count,
            retry_after: None,
        }
    }
}

/// The faults still pending, each with its remaining count.
#[derive(Debug, Default)]
pub struct Faults(Mutex<Vec<Fault>>);

impl Faults {
    pub fn set(&self, faults: Vec<Fault>) {
        *self.0.lock().unwrap() = faults;
    }

    /// Takes one use of the first pending fault for `endpoint`, if any.
    pub fn take(&self, endpoint: &str) -> Option<Fault> {
        let mut faults = self.0.lock().unwrap();
        let fault = faults
            .iter_mut()
            .find(|f| f.count > 0 && (f.endpoint == "*" || f.endpoint == endpoint))?;
        fault.count -= 1;
        Some(fault.clone())
    }
}

/// The answer a fault gives instead of the real one; `None` for `Truncated`, which needs
/// the real answer to cut.
pub fn response(fault: &Fault) -> Option<Response> {
    let error = |status: u16, text: &str| Response::json(status, &json!({ "error": text }));
    Some(match fault.kind {
        FaultKind::TooManyRequests => error(429, "rate limit exceeded")
            .with_header("Retry-After", &fault.retry_after.unwrap_or(1).to_string()),
        FaultKind::InternalError => error(500, "internal server error"),
        FaultKind::BadGatewayHtml => Response::new(
            502,
            "text/html",
            "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n",
        ),
        FaultKind::Unavailable => error(503, "service unavailable"),
        FaultKind::GatewayTimeout => Response::new(504, "text/plain", ""),
        FaultKind::Dropped => Response {
            delivery: Delivery::Dropped,
            ..Response::new(0, "", "")
        },
        FaultKind::Hang => Response {
            delivery: Delivery::Hang,
            ..Response::new(0, "", "")
        },
        FaultKind::ExpiredToken => error(401, "Unauthorized: access token expired"),
        FaultKind::NotFound => error(404, "not found"),
        FaultKind::HtmlOk => Response::new(
            200,
            "text/html",
            "<html><body>Please log in to the proxy</body></html>\n",
        ),
        FaultKind::HugeBody => Response {
            delivery: Delivery::Announce(200 << 20),
            ..Response::new(200, "application/json", "{\"/ci/db-password\": \"")
        },
        FaultKind::NestedArrays => {
            let mut body = Vec::with_capacity(30 << 20);
            body.push(b'[');
            while body.len() < (30 << 20) - 4 {
                body.extend_from_slice(b"[],");
            }
            body.extend_from_slice(b"[]]");
            Response::new(200, "application/json", body)
        }
        FaultKind::Truncated => return None,
    })
}

//! Why an API call failed, in words safe to print, and what that means for the exit code.

use reqwest::StatusCode;

use crate::error::{Error, Kind};

use super::Gateway;

/// What the client was doing when a call failed, which decides what a failure means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum During {
    /// Logging in: a refusal is about our credentials.
    Login,
    /// Fetching or describing an item: a refusal is about that item.
    Fetch,
    /// Checking that the URL is the V2 API at all (`akl doctor`).
    Probe,
}

/// Why a call failed. Every message is safe to print: no body of a successful answer, no
/// credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The gateway answered with a non-2xx status; `message` is its `error` text or a
    /// description of the body.
    Status { status: u16, message: String },
    /// No answer: connection refused, DNS, TLS, a dropped connection, a timeout.
    Transport(String),
    /// A 2xx answer that is not the JSON this command returns.
    Malformed {
        status: u16,
        content_type: String,
        reason: String,
    },
    /// A 2xx answer longer than the client reads (`MAX_RESPONSE_BYTES`). A batch that
    /// gets one is asked again in parts.
    TooLarge { status: u16, content_type: String },
    /// The overall deadline (`AKEYLESS_TIMEOUT`) passed before the call could finish;
    /// `last` is what the last attempt ran into, if there was one.
    Deadline { last: Option<String> },
    /// A transient failure that kept happening until the attempts ran out.
    GaveUp {
        attempts: u32,
        millis: u64,
        last: Box<ApiError>,
    },
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Status { status, message } => {
                let reason = StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("");
                write!(f, "{status} {reason}: {message}")
            }
            ApiError::Transport(why) => f.write_str(why),
            ApiError::Malformed {
                status,
                content_type,
                reason,
            } => write!(
                f,
                "unexpected answer (status {status}, content type {content_type}): {reason}"
            ),
            ApiError::TooLarge {
                status,
                content_type,
            } => write!(
                f,
                "unexpected answer (status {status}, content type {content_type}): the body exceeds {} MiB",
                super::MAX_RESPONSE_BYTES >> 20
            ),
            ApiError::Deadline { last: None } => {
                f.write_str("the deadline (AKEYLESS_TIMEOUT) passed")
            }
            ApiError::Deadline { last: Some(last) } => {
                write!(
                    f,
                    "the deadline (AKEYLESS_TIMEOUT) passed; the last attempt got: {last}"
                )
            }
            ApiError::GaveUp {
                attempts,
                millis,
                last,
            } => {
                let seconds = *millis as f64 / 1000.0;
                write!(
                    f,
                    "{last} (still failing after {attempts} attempts in {seconds:.1}s)"
                )
            }
        }
    }
}

impl ApiError {
    /// A 4xx answer: the gateway understood and refused. Anything else means we could not
    /// get a real answer.
    pub fn is_refusal(&self) -> bool {
        matches!(self, ApiError::Status { status, .. } if (400..500).contains(status) && *status != 429)
    }

    /// An answer too long to read: one that asks for less gets through.
    pub fn is_too_large(&self) -> bool {
        matches!(self, ApiError::TooLarge { .. })
    }

    /// What this failure means for the run's exit code, given what was being done: the
    /// one place that decides it for every API failure.
    pub fn kind(&self, during: During) -> Kind {
        let redirect =
            matches!(self, ApiError::Status { status, .. } if (300..400).contains(status));
        match during {
            // The gateway understood and refused our credentials; a redirect means the
            // configured URL is not the API.
            During::Login if self.is_refusal() => Kind::Auth,
            During::Login if redirect => Kind::Usage,
            // The item is missing, forbidden or of another kind.
            During::Fetch if self.is_refusal() => Kind::Unresolved,
            // Anything else: no usable answer from the API.
            _ => Kind::Unreachable,
        }
    }

    /// This failure as the run's error, saying what failed where and what to do.
    pub fn into_error(self, gateway: &Gateway, what: &str, during: During) -> Error {
        let err = Error::new(
            self.kind(during),
            format!("{what} failed at {}", gateway.as_str()),
        )
        .cause(&self);
        match self {
            ApiError::Status { status, .. } if (300..400).contains(&status) => err.hint(
                "the gateway URL redirects; akl does not follow redirects because the token travels in the request body. Set AKEYLESS_GATEWAY_URL to the final URL",
            ),
            ApiError::Status { status: 404, .. } => err.hint(
                "no such API path: check that AKEYLESS_GATEWAY_URL is the V2 base (…/api/v2 on port 8000, or :8081)",
            ),
            ApiError::Transport(_) | ApiError::Deadline { .. } | ApiError::GaveUp { .. } => {
                err.hint("check that the gateway is reachable from the job, or raise AKEYLESS_TIMEOUT")
            }
            _ => err,
        }
    }
}

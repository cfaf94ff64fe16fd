//! What every identity service shares: one request with the run's deadline in mind, and
//! failures said the same way (which service, what it answered, what to check). Never a
//! token, a body or a URL in a message.

use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;

use crate::client::{Answer, Endpoints, Route};
use crate::error::{Error, Kind, Result};

/// One identity service, named for messages.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    /// E.g. "GitHub Actions' ID token endpoint".
    pub name: &'static str,
    pub route: Route,
    /// What to check when it does not answer.
    pub unreachable_hint: &'static str,
    /// How long one request may take, connection included. The connection itself is
    /// given 2 s whatever this says: a machine without the service fails that fast.
    pub timeout: Duration,
}

impl Service {
    /// Sends one request; an answer that never came is exit 5 with the service named.
    pub async fn send(
        &self,
        endpoints: &Endpoints,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Answer> {
        endpoints
            .send(self.route, method, url, headers, body, self.timeout)
            .await
            .map_err(|why| {
                Error::unreachable(format!("{} did not answer: {why}", self.name))
                    .hint(self.unreachable_hint)
            })
    }

    /// A refusal or another unexpected status: exit 3 (the identity was not proven), with
    /// the service's own short error text when it gave one.
    pub fn refused(&self, answer: &Answer, hint: &str) -> Error {
        let text = error_text(&answer.body);
        Error::new(
            Kind::Auth,
            format!("{} answered {}{text}", self.name, answer.status),
        )
        .hint(hint)
    }

    /// The answer's JSON, or an error that says it was not what was expected.
    pub fn json<T: DeserializeOwned>(&self, answer: &Answer) -> Result<T> {
        crate::json::parse(&answer.body).map_err(|why| {
            Error::unreachable(format!(
                "{} answered {} with something unexpected: {why}",
                self.name, answer.status
            ))
        })
    }
}

/// Attempts of a request to a metadata service that keeps answering a retryable status,
/// the first included: the Azure SDKs' five retries.
const MAX_ATTEMPTS: u32 = 6;

impl Service {
    /// A GET asked again, after a growing wait, while the service answers a status that
    /// `retryable` says is passing (busy, rate-limited, updating), within the run's
    /// deadline. Any other answer is returned as it is; one that never comes is not
    /// retried: a metadata service that does not answer once will not answer later.
    pub async fn send_retrying(
        &self,
        endpoints: &Endpoints,
        url: &str,
        headers: &[(&str, &str)],
        retryable: fn(u16) -> bool,
    ) -> Result<Answer> {
        let mut attempt = 1;
        loop {
            let answer = self
                .send(endpoints, Method::GET, url, headers, None)
                .await?;
            if !retryable(answer.status) {
                return Ok(answer);
            }
            let wait = match attempt < MAX_ATTEMPTS {
                true => endpoints.backoff(attempt),
                false => None,
            };
            let Some(wait) = wait else {
                let until = match attempt < MAX_ATTEMPTS {
                    true => " until the deadline (AKEYLESS_TIMEOUT)",
                    false => "",
                };
                return Err(Error::unreachable(format!(
                    "{} kept answering {}{until} ({attempt} attempts){}",
                    self.name,
                    answer.status,
                    error_text(&answer.body)
                ))
                .hint(self.unreachable_hint));
            };
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// A short, printable error text from a JSON answer's usual fields (`error`,
/// `error_description`, `message`), never the body as a whole: it may hold a token.
fn error_text(body: &[u8]) -> String {
    let Ok(serde_json::Value::Object(map)) = crate::json::parse::<serde_json::Value>(body) else {
        return String::new();
    };
    for key in ["error_description", "message", "error", "Message"] {
        if let Some(serde_json::Value::String(text)) = map.get(key) {
            return format!(": {}", crate::error::printable(text, 200));
        }
    }
    String::new()
}

/// `value` for a URL's query, percent-encoded.
pub fn query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            query_value("https://akeyless.io/x y"),
            "https%3A%2F%2Fakeyless.io%2Fx%20y"
        );
        assert_eq!(query_value("a-b_c.d~"), "a-b_c.d~");
    }

    #[test]
    fn error_text_takes_a_field_never_the_body() {
        assert_eq!(
            error_text(br#"{"message":"Bad credentials","token":"x"}"#),
            ": Bad credentials"
        );
        assert_eq!(error_text(b"<html>secret</html>"), "");
    }
}

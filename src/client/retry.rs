//! When a failed request is worth sending again, and how long to wait first.
//!
//! Connection errors, timeouts, 429 and 500/502/503/504 are worth another try (gateways
//! restart, proxies hiccup, rate limits lift); any other 4xx is the gateway's answer and is
//! final. Waits grow exponentially with jitter, so a fleet of CI jobs that failed together
//! does not retry together; a `Retry-After` from the gateway wins, within a cap. Everything
//! stays inside the run's one deadline (`AKEYLESS_TIMEOUT`).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Attempts per request, the first included.
pub const MAX_ATTEMPTS: u32 = 6;
const BASE: Duration = Duration::from_millis(250);
const CAP: Duration = Duration::from_secs(8);
/// A `Retry-After` longer than this is not waited out: the deadline matters more.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(20);

/// Which failures of a command may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Asking again changes nothing on the server: retry any transient failure.
    Idempotent,
    /// Idempotent, and asking for less gets a smaller answer (a batch of several names):
    /// an answer too long to read is not asked for again whole, it is split.
    Divisible,
    /// Every call has an effect (a dynamic secret mints new credentials): retry only when
    /// no answer arrived at all; an answer, even a 503 or a cut-off body, may mean the
    /// credentials exist already.
    UnlessAnswered,
}

/// The wait before attempt `attempt + 1`: half of `BASE·2^(attempt-1)` (capped) fixed, the
/// other half random.
pub fn backoff(attempt: u32) -> Duration {
    let ceiling = BASE
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(CAP);
    let half = ceiling / 2;
    half + half.mul_f64(random_unit())
}

/// A `Retry-After` value in seconds (the HTTP-date form is rare from APIs and ignored).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs).min(MAX_RETRY_AFTER))
}

/// A number in [0, 1) from the process's random hash keys: jitter needs no crypto and no
/// extra dependency.
fn random_unit() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        for attempt in 1..=10 {
            let ceiling = BASE.saturating_mul(1 << (attempt - 1)).min(CAP);
            for _ in 0..50 {
                let d = backoff(attempt);
                assert!(d >= ceiling / 2 && d <= ceiling, "attempt {attempt}: {d:?}");
            }
        }
        let samples: std::collections::BTreeSet<_> = (0..20).map(|_| backoff(4)).collect();
        assert!(samples.len() > 10, "jitter varies the delay");
    }

    #[test]
    fn retry_after_in_seconds_capped() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0.5 "), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("3600"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }
}

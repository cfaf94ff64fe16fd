//! Reading a JWT's claims for diagnostics, never for trust.
//!
//! The payload of a JWT is not secret (anyone holding the token can read it); the token as
//! a whole is. So messages may show the claims that decide whether Akeyless accepts the
//! token, but never the token. The signature is not checked: the gateway does that.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::secret::Secret;

/// The claims worth showing when a JWT is refused, in the order a reader checks them.
const SHOWN: [&str; 9] = [
    "iss",
    "aud",
    "sub",
    "project_path",
    "ref",
    "ref_type",
    "ref_protected",
    "environment",
    "user_login",
];

#[derive(Debug, Clone)]
pub struct Claims(Map<String, Value>);

impl Claims {
    pub fn decode(jwt: &Secret) -> Result<Claims, &'static str> {
        let payload = jwt
            .expose()
            .split('.')
            .nth(1)
            .ok_or("it has no payload part")?;
        // Some issuers pad their base64url; the standard says not to.
        let bytes = URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|_| "the payload is not base64url")?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(Claims(map)),
            _ => Err("the payload is not a JSON object"),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Seconds until expiry (negative once passed), if the token says.
    pub fn expires_in(&self) -> Option<i64> {
        Some(self.0.get("exp")?.as_i64()? - now())
    }

    /// `name: value` lines for the claims that matter, then the expiry with how it
    /// compares to now.
    pub fn summary(&self) -> Vec<String> {
        let mut lines: Vec<String> = SHOWN
            .iter()
            .filter_map(|name| Some(format!("{name}: {}", show(self.0.get(*name)?))))
            .collect();
        lines.push(match self.0.get("exp").and_then(Value::as_i64) {
            Some(exp) => format!("exp: {}", describe_expiry(exp, now())),
            None => "exp: (absent)".to_owned(),
        });
        lines
    }
}

/// Whether `text` is a JWT: three base64url parts, the first a JSON header naming its
/// algorithm. ID tokens of any CI, under any variable name, look like this.
pub fn is_jwt(text: &str) -> bool {
    let mut parts = text.trim().split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Map<String, Value>>(&bytes).ok())
        .is_some_and(|header| header.contains_key("alg"))
}

fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// "2026-11-26 10:05:00 UTC (expired 3m 12s ago)" or "(valid for another 4m 48s)".
pub fn describe_expiry(exp: i64, now: i64) -> String {
    let when = utc(exp);
    let delta = exp - now;
    if delta <= 0 {
        format!("{when} (expired {} ago)", duration(-delta))
    } else {
        format!("{when} (valid for another {})", duration(delta))
    }
}

fn duration(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        s => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// Formats seconds since the epoch as a UTC date and time (Howard Hinnant's civil-from-days).
fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &Value) -> Secret {
        let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        Secret::new(format!(
            "{}.{}.c2ln",
            part(&serde_json::json!({"alg": "RS256"})),
            part(claims)
        ))
    }

    #[test]
    fn summary_lists_the_deciding_claims_and_expiry() {
        let token = jwt(&serde_json::json!({
            "iss": "https://gitlab.example.com",
            "aud": ["a", "b"],
            "project_path": "grp/app",
            "ref_protected": "true",
            "user_email": "not@shown.example",
            "exp": 1,
        }));
        let lines = Claims::decode(&token).unwrap().summary();
        assert_eq!(
            lines,
            [
                "iss: https://gitlab.example.com",
                r#"aud: ["a","b"]"#,
                "project_path: grp/app",
                "ref_protected: true",
                lines.last().unwrap().as_str(),
            ]
        );
        assert!(
            lines
                .last()
                .unwrap()
                .starts_with("exp: 1970-01-01 00:00:01 UTC (expired ")
        );
    }

    #[test]
    fn undecodable_tokens_say_why() {
        assert!(Claims::decode(&Secret::new("a")).is_err());
        assert!(Claims::decode(&Secret::new("a.!!!.c")).is_err());
        assert!(
            Claims::decode(&Secret::new(format!(
                "a.{}.c",
                URL_SAFE_NO_PAD.encode("[1]")
            )))
            .is_err()
        );
    }

    #[test]
    fn jwts_are_recognised_by_their_header() {
        let token = jwt(&serde_json::json!({"sub": "x"}));
        assert!(is_jwt(token.expose()));
        assert!(!is_jwt("a.b.c"));
        assert!(!is_jwt("hello"));
        let no_alg = format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode("{}"));
        assert!(!is_jwt(&no_alg));
    }

    #[test]
    fn expiry_is_readable() {
        assert_eq!(
            describe_expiry(1_764_151_500, 1_764_151_200),
            "2025-11-26 10:05:00 UTC (valid for another 5m 0s)"
        );
        assert_eq!(
            describe_expiry(0, 90_061),
            "1970-01-01 00:00:00 UTC (expired 1d 1h ago)"
        );
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
    }
}

//! The fake itself: that it behaves like the API it stands in for, and that its faults
//! are the faults they claim to be. Driven over plain HTTP with a raw socket, so what is
//! checked is exactly what goes over the wire.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use fake_akeyless::identities::{ACCESS_KEY, JWT_ACCESS_ID, KEY_ACCESS_ID};
use fake_akeyless::jwt::now;
use fake_akeyless::{Fake, Fault, FaultKind, Fixture};

/// What came back: status (0 when the connection closed with no answer), head, body.
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
    content_length: Option<usize>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
}

fn send(fake: &Fake, method: &str, path: &str, content_type: &str, body: &str) -> Answer {
    let addr = fake.http_url().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: fake\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Answer {
            status: 0,
            head: String::new(),
            body: raw,
            content_length: None,
        };
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_length = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map(|n| n.parse().unwrap());
    Answer {
        status,
        head,
        body: raw[split + 4..].to_vec(),
        content_length,
    }
}

fn post(fake: &Fake, command: &str, body: Value) -> Answer {
    send(
        fake,
        "POST",
        &format!("/{command}"),
        "application/json",
        &body.to_string(),
    )
}

fn token(fake: &Fake) -> String {
    let answer = post(
        fake,
        "auth",
        json!({"access-id": KEY_ACCESS_ID, "access-key": ACCESS_KEY}),
    );
    assert_eq!(answer.status, 200);
    answer.json()["token"].as_str().unwrap().to_owned()
}

#[test]
fn batched_static_fetch_fails_whole_when_one_name_is_bad() {
    let fake = Fake::start_default();
    let t = token(&fake);
    let ok = post(
        &fake,
        "get-secret-value",
        json!({"token": t, "names": ["/ci/db-password", "ci/api-token"]}),
    );
    assert_eq!(
        ok.json(),
        json!({"/ci/db-password": "canary-db-password-9b1f0e", "ci/api-token": "canary-api-token-5d2c7a"})
    );
    for (bad, status, text) in [
        ("/ci/nope", 404, "not found"),
        ("/other/outside", 403, "access denied"),
        ("/ci/denied", 403, "access denied"),
        ("/ci/mysql", 400, "not a static secret"),
    ] {
        let answer = post(
            &fake,
            "get-secret-value",
            json!({"token": t, "names": ["/ci/db-password", bad]}),
        );
        assert_eq!(answer.status, status, "{bad}");
        assert!(
            answer.json()["error"].as_str().unwrap().contains(text),
            "{bad}"
        );
        assert!(answer.head.contains("Content-Type: application/json"));
    }
    let wrong_shape = post(
        &fake,
        "get-secret-value",
        json!({"token": t, "names": "/ci/db-password"}),
    );
    assert_eq!(wrong_shape.status, 400);
    let bad_version = post(
        &fake,
        "get-secret-value",
        json!({"token": t, "names": ["/ci/versioned"], "version": 3}),
    );
    assert_eq!(
        (
            bad_version.status,
            bad_version.json()["error"].as_str().unwrap()
        ),
        (404, "item /ci/versioned has no version 3")
    );
}

#[test]
fn dynamic_secrets_mint_fresh_credentials_every_call() {
    let fake = Fake::start_default();
    let t = token(&fake);
    let a = post(
        &fake,
        "get-dynamic-secret-value",
        json!({"token": t, "name": "/ci/aws"}),
    )
    .json();
    let b = post(
        &fake,
        "get-dynamic-secret-value",
        json!({"token": t, "name": "/ci/aws"}),
    )
    .json();
    assert_ne!(a["secret_access_key"], b["secret_access_key"]);
    assert!(a["access_key_id"].as_str().unwrap().starts_with("AKIA"));
    // Issued credentials become canaries.
    assert!(
        fake.canaries()
            .contains(&a["secret_access_key"].as_str().unwrap().to_owned())
    );
    let wrong = post(
        &fake,
        "get-dynamic-secret-value",
        json!({"token": t, "name": "/ci/db-password"}),
    );
    assert_eq!(wrong.status, 400);
}

#[test]
fn rotated_names_must_be_a_string() {
    let fake = Fake::start_default();
    let t = token(&fake);
    let answer = post(
        &fake,
        "get-rotated-secret-value",
        json!({"token": t, "names": ["/ci/rotated-db"]}),
    );
    assert_eq!(answer.status, 400);
    let answer = post(
        &fake,
        "get-rotated-secret-value",
        json!({"token": t, "names": "/ci/rotated-db"}),
    );
    assert_eq!(answer.json()["value"]["username"], "rotated_user");
}

#[test]
fn describe_item_hides_forbidden_items_as_missing() {
    let fake = Fake::start_default();
    let t = token(&fake);
    let missing = post(
        &fake,
        "describe-item",
        json!({"token": t, "name": "/other/nope"}),
    );
    let forbidden = post(
        &fake,
        "describe-item",
        json!({"token": t, "name": "/other/outside"}),
    );
    assert_eq!((missing.status, forbidden.status), (404, 404));
    let cert = post(
        &fake,
        "describe-item",
        json!({"token": t, "name": "/ci/cert"}),
    )
    .json();
    assert_eq!(cert["item_type"], "CERTIFICATE");
}

#[test]
fn tokens_expire_and_validate_token_says_so() {
    let mut fixture = Fixture::from_json(fake_akeyless::DEFAULT_FIXTURE).unwrap();
    fixture.token_ttl_seconds = 1;
    let fake = Fake::start(fixture);
    let t = token(&fake);
    assert_eq!(
        post(&fake, "validate-token", json!({"token": t})).json()["is_valid"],
        true
    );
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(
        post(&fake, "validate-token", json!({"token": t})).json()["is_valid"],
        false
    );
    let expired = post(
        &fake,
        "get-secret-value",
        json!({"token": t, "names": ["/ci/db-password"]}),
    );
    assert_eq!(
        (expired.status, expired.json()["error"].as_str().unwrap()),
        (401, "Unauthorized: access token expired")
    );
}

#[test]
fn jwt_verification_checks_time_audience_issuer_signature_and_algorithm() {
    let fake = Fake::start_default();
    let auth = |jwt: &str| {
        post(
            &fake,
            "auth",
            json!({"access-id": JWT_ACCESS_ID, "access-type": "jwt", "jwt": jwt}),
        )
    };
    assert_eq!(auth(&fake.mint_jwt(&json!({}))).status, 200);
    // Within the leeway an expired token still passes; beyond it, not.
    assert_eq!(auth(&fake.mint_jwt(&json!({"exp": now() - 2}))).status, 200);
    for (jwt, reason) in [
        (fake.mint_jwt(&json!({"exp": now() - 30})), "expired"),
        (fake.mint_jwt(&json!({"exp": null})), "no exp"),
        (fake.mint_jwt(&json!({"nbf": now() + 60})), "not valid yet"),
        (fake.mint_jwt(&json!({"aud": ["x", "y"]})), "audience"),
        (fake.mint_jwt(&json!({"iss": "https://other"})), "issuer"),
        (
            fake.mint_jwt(&json!({"project_path": "grp/other"})),
            "sub-claims",
        ),
        (fake.mint_foreign_jwt(&json!({})), "signature"),
    ] {
        let answer = auth(&jwt);
        assert_eq!(answer.status, 401, "{reason}");
        assert!(
            answer.json()["error"].as_str().unwrap().contains(reason),
            "{reason}: {}",
            answer.json()
        );
    }
    // An array audience that contains the bound one is fine.
    assert_eq!(
        auth(&fake.mint_jwt(&json!({"aud": ["x", "https://akeyless.example.com"]}))).status,
        200
    );
    // alg=none with the signature stripped must not pass.
    let valid = fake.mint_jwt(&json!({}));
    let mut parts: Vec<&str> = valid.split('.').collect();
    use base64::Engine;
    let none = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
    parts[0] = &none;
    parts[2] = "";
    let answer = auth(&parts.join("."));
    assert_eq!(answer.status, 401);
    // A JWT method without associations gives a token with no access.
    let norole = post(
        &fake,
        "auth",
        json!({"access-id": "p-norole0jwt02", "access-type": "jwt", "jwt": fake.mint_jwt(&json!({}))}),
    );
    let t = norole.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(
        post(
            &fake,
            "get-secret-value",
            json!({"token": t, "names": ["/ci/db-password"]})
        )
        .status,
        403
    );
}

#[test]
fn routes_methods_and_content_type() {
    let fake = Fake::start_default();
    let body = json!({"access-id": KEY_ACCESS_ID, "access-key": ACCESS_KEY}).to_string();
    for path in ["/auth", "/api/v2/auth", "/v2/auth"] {
        assert_eq!(
            send(&fake, "POST", path, "application/json", &body).status,
            200,
            "{path}"
        );
    }
    assert_eq!(
        send(&fake, "GET", "/auth", "application/json", "").status,
        405
    );
    assert_eq!(
        send(&fake, "POST", "/api/v1/auth", "application/json", &body).status,
        404
    );
    assert_eq!(
        send(
            &fake,
            "POST",
            "/auth",
            "application/x-www-form-urlencoded",
            "cmd=auth"
        )
        .status,
        400
    );
    assert_eq!(
        send(&fake, "POST", "/no-such-command", "application/json", "{}").status,
        404
    );
    let prefixes: Vec<String> = fake.log().iter().map(|e| e.prefix.clone()).collect();
    assert_eq!(&prefixes[..3], ["/", "/api/v2/", "/v2/"]);
}

#[test]
fn faults_hit_the_first_n_requests_of_their_endpoint_only() {
    let fake = Fake::start_default();
    let body = json!({"access-id": KEY_ACCESS_ID, "access-key": ACCESS_KEY});
    let mut too_many = Fault::new("auth", FaultKind::TooManyRequests, 2);
    too_many.retry_after = Some(7);
    fake.set_faults(vec![too_many]);
    let first = post(&fake, "auth", body.clone());
    assert_eq!(first.status, 429);
    assert!(first.head.contains("Retry-After: 7"), "{}", first.head);
    assert_eq!(
        post(&fake, "validate-token", json!({"token": "t-x"})).status,
        401,
        "other endpoints unaffected"
    );
    assert_eq!(post(&fake, "auth", body.clone()).status, 429);
    assert_eq!(post(&fake, "auth", body.clone()).status, 200);

    for (kind, status, content_type) in [
        (FaultKind::InternalError, 500, "application/json"),
        (FaultKind::BadGatewayHtml, 502, "text/html"),
        (FaultKind::Unavailable, 503, "application/json"),
        (FaultKind::GatewayTimeout, 504, "text/plain"),
    ] {
        fake.set_faults(vec![Fault::new("*", kind, 1)]);
        let answer = post(&fake, "auth", body.clone());
        assert_eq!(answer.status, status, "{kind:?}");
        assert!(
            answer
                .head
                .contains(&format!("Content-Type: {content_type}")),
            "{kind:?}: {}",
            answer.head
        );
    }

    fake.set_faults(vec![Fault::new("auth", FaultKind::Truncated, 1)]);
    let cut = post(&fake, "auth", body.clone());
    assert_eq!(cut.status, 200);
    assert!(
        cut.body.len() < cut.content_length.unwrap(),
        "body must be shorter than promised"
    );

    fake.set_faults(vec![Fault::new("auth", FaultKind::Dropped, 1)]);
    let dropped = post(&fake, "auth", body.clone());
    assert_eq!((dropped.status, dropped.body.len()), (0, 0));
    assert_eq!(post(&fake, "auth", body).status, 200);
    // Every request is logged, faulted ones with the status they got (0: no answer).
    let statuses: Vec<u16> = fake
        .log()
        .iter()
        .filter(|e| e.endpoint == "auth")
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, [429, 429, 200, 500, 502, 503, 504, 200, 0, 200]);
}

#[test]
fn latency_delays_every_answer() {
    let fake = Fake::start_default();
    fake.set_latency(Duration::from_millis(150));
    let start = Instant::now();
    post(&fake, "validate-token", json!({"token": "t-x"}));
    assert!(start.elapsed() >= Duration::from_millis(150));
    let entry = &fake.log()[0];
    assert!(entry.finished_ms - entry.started_ms >= 150);
}

#[test]
fn control_endpoints_serve_standalone_use() {
    let fake = Fake::start_default();
    let minted = send(
        &fake,
        "POST",
        "/_fake/jwt",
        "application/json",
        r#"{"project_path":"grp/other"}"#,
    )
    .json();
    let jwt = minted["jwt"].as_str().unwrap();
    let answer = post(
        &fake,
        "auth",
        json!({"access-id": JWT_ACCESS_ID, "access-type": "jwt", "jwt": jwt}),
    );
    assert!(
        answer.json()["error"]
            .as_str()
            .unwrap()
            .contains("sub-claims")
    );
    let faults = json!({"faults": [{"endpoint": "auth", "kind": "unavailable", "count": 1}], "latency_ms": 0});
    assert_eq!(
        send(
            &fake,
            "PUT",
            "/_fake/faults",
            "application/json",
            &faults.to_string()
        )
        .status,
        200
    );
    assert_eq!(
        post(
            &fake,
            "auth",
            json!({"access-id": KEY_ACCESS_ID, "access-key": ACCESS_KEY})
        )
        .status,
        503
    );
    let log = send(&fake, "GET", "/_fake/log", "application/json", "").json();
    assert_eq!(log["counts"]["auth"], 2);
    assert_eq!(
        send(&fake, "DELETE", "/_fake/log", "application/json", "").status,
        204
    );
    assert!(fake.log().is_empty());
}

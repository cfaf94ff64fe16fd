//! The fake itself: that it behaves like the API it stands in for, and that its faults
//! are the faults they claim to be. Driven over plain HTTP with a raw socket, so what is
//! checked is exactly what goes over the wire.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::fake::jwt::now;
use crate::fake::{Fault, FaultKind};
use crate::support::{ACCESS_KEY, JWT_ACCESS_ID, KEY_ACCESS_ID, World};

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

fn send(world: &World, method: &str, path: &str, content_type: &str, body: &str) -> Answer {
    let addr = world
        .fake
        .http_url()
        .trim_start_matches("http://")
        .to_owned();
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

fn post(world: &World, command: &str, body: Value) -> Answer {
    send(
        world,
        "POST",
        &format!("/{command}"),
        "application/json",
        &body.to_string(),
    )
}

fn token(world: &World) -> String {
    let answer = post(
        world,
        "auth",
        json!({"access-id": KEY_ACCESS_ID, "access-key": ACCESS_KEY}),
    );
    assert_eq!(answer.status, 200);
    answer.json()["token"].as_str().unwrap().to_owned()
}

#[test]
fn batched_static_fetch_fails_whole_when_one_name_is_bad() {
    let world = World::new();
    let t = token(&world);
    let ok = post(
        &world,
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
            &world,
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
        &world,
        "get-secret-value",
        json!({"token": t, "names": "/ci/db-password"}),
    );
    assert_eq!(wrong_shape.status, 400);
    let bad_version = post(
        &world,
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
    let world = World::new();
    let t = token(&world);
    let a = post(
        &world,
        "get-dynamic-secret-value",
        json!({"token": t, "name": "/ci/aws"}),
    )
    .json();
    let b = post(
        &world,
        "get-dynamic-secret-value",
        json!({"token": t, "name": "/ci/aws"}),
    )
    .json();
    assert_ne!(a["secret_access_key"], b["secret_access_key"]);
    assert!(a["access_key_id"].as_str().unwrap().starts_with("AKIA"));
    // Issued credentials become canaries.
    assert!(
        world
            .fake
            .canaries()
            .contains(&a["secret_access_key"].as_str().unwrap().to_owned())
    );
    let wrong = post(
        &world,
        "get-dynamic-secret-value",
        json!({"token": t, "name": "/ci/db-password"}),
    );
    assert_eq!(wrong.status, 400);
}

#[test]
fn rotated_names_must_be_a_string() {
    let world = World::new();
    let t = token(&world);
    let answer = post(
        &world,
        "get-rotated-secret-value",
        json!({"token": t, "names": ["/ci/rotated-db"]}),
    );
    assert_eq!(answer.status, 400);
    let answer = post(
        &world,
        "get-rotated-secret-value",
        json!({"token": t, "names": "/ci/rotated-db"}),
    );
    assert_eq!(answer.json()["value"]["username"], "rotated_user");
}

#[test]
fn describe_item_hides_forbidden_items_as_missing() {
    let world = World::new();
    let t = token(&world);
    let missing = post(
        &world,
        "describe-item",
        json!({"token": t, "name": "/other/nope"}),
    );
    let forbidden = post(
        &world,
        "describe-item",
        json!({"token": t, "name": "/other/outside"}),
    );
    assert_eq!((missing.status, forbidden.status), (404, 404));
    let cert = post(
        &world,
        "describe-item",
        json!({"token": t, "name": "/ci/cert"}),
    )
    .json();
    assert_eq!(cert["item_type"], "CERTIFICATE");
}

#[test]
fn tokens_expire_and_validate_token_says_so() {
    let mut fixture = crate::support::default_fixture();
    fixture.token_ttl_seconds = 1;
    let world = World::with(fixture);
    let t = token(&world);
    assert_eq!(
        post(&world, "validate-token", json!({"token": t})).json()["is_valid"],
        true
    );
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(
        post(&world, "validate-token", json!({"token": t})).json()["is_valid"],
        false
    );
    let expired = post(
        &world,
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
    let world = World::new();
    let auth = |jwt: &str| {
        post(
            &world,
            "auth",
            json!({"access-id": JWT_ACCESS_ID, "access-type": "jwt", "jwt": jwt}),
        )
    };
    assert_eq!(auth(&world.jwt(json!({}))).status, 200);
    // Within the leeway an expired token still passes; beyond it, not.
    assert_eq!(auth(&world.jwt(json!({"exp": now() - 2}))).status, 200);
    for (jwt, reason) in [
        (world.jwt(json!({"exp": now() - 30})), "expired"),
        (world.jwt(json!({"exp": null})), "no exp"),
        (world.jwt(json!({"nbf": now() + 60})), "not valid yet"),
        (world.jwt(json!({"aud": ["x", "y"]})), "audience"),
        (world.jwt(json!({"iss": "https://other"})), "issuer"),
        (
            world.jwt(json!({"project_path": "grp/other"})),
            "sub-claims",
        ),
        (world.fake.mint_foreign_jwt(&json!({})), "signature"),
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
        auth(&world.jwt(json!({"aud": ["x", "https://akeyless.example.com"]}))).status,
        200
    );
    // alg=none with the signature stripped must not pass.
    let valid = world.jwt(json!({}));
    let mut parts: Vec<&str> = valid.split('.').collect();
    use base64::Engine;
    let none = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
    parts[0] = &none;
    parts[2] = "";
    let answer = auth(&parts.join("."));
    assert_eq!(answer.status, 401);
    // A JWT method without associations gives a token with no access.
    let norole = post(
        &world,
        "auth",
        json!({"access-id": "p-norole0jwt02", "access-type": "jwt", "jwt": world.jwt(json!({}))}),
    );
    let t = norole.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(
        post(
            &world,
            "get-secret-value",
            json!({"token": t, "names": ["/ci/db-password"]})
        )
        .status,
        403
    );
}

#[test]
fn routes_methods_and_content_type() {
    let world = World::new();
    let body = json!({"access-id": KEY_ACCESS_ID, "access-key": ACCESS_KEY}).to_string();
    for path in ["/auth", "/api/v2/auth", "/v2/auth"] {
        assert_eq!(
            send(&world, "POST", path, "application/json", &body).status,
            200,
            "{path}"
        );
    }
    assert_eq!(
        send(&world, "GET", "/auth", "application/json", "").status,
        405
    );
    assert_eq!(
        send(&world, "POST", "/api/v1/auth", "application/json", &body).status,
        404
    );
    assert_eq!(
        send(
            &world,
            "POST",
            "/auth",
            "application/x-www-form-urlencoded",
            "cmd=auth"
        )
        .status,
        400
    );
    assert_eq!(
        send(&world, "POST", "/no-such-command", "application/json", "{}").status,
        404
    );
    let prefixes: Vec<String> = world.fake.log().iter().map(|e| e.prefix.clone()).collect();
    assert_eq!(&prefixes[..3], ["/", "/api/v2/", "/v2/"]);
}

#[test]
fn faults_hit_the_first_n_requests_of_their_endpoint_only() {
    let world = World::new();
    let body = json!({"access-id": KEY_ACCESS_ID, "access-key": ACCESS_KEY});
    let mut too_many = Fault::new("auth", FaultKind::TooManyRequests, 2);
    too_many.retry_after = Some(7);
    world.fake.set_faults(vec![too_many]);
    let first = post(&world, "auth", body.clone());
    assert_eq!(first.status, 429);
    assert!(first.head.contains("Retry-After: 7"), "{}", first.head);
    assert_eq!(
        post(&world, "validate-token", json!({"token": "t-x"})).status,
        401,
        "other endpoints unaffected"
    );
    assert_eq!(post(&world, "auth", body.clone()).status, 429);
    assert_eq!(post(&world, "auth", body.clone()).status, 200);

    for (kind, status, content_type) in [
        (FaultKind::InternalError, 500, "application/json"),
        (FaultKind::BadGatewayHtml, 502, "text/html"),
        (FaultKind::Unavailable, 503, "application/json"),
        (FaultKind::GatewayTimeout, 504, "text/plain"),
    ] {
        world.fake.set_faults(vec![Fault::new("*", kind, 1)]);
        let answer = post(&world, "auth", body.clone());
        assert_eq!(answer.status, status, "{kind:?}");
        assert!(
            answer
                .head
                .contains(&format!("Content-Type: {content_type}")),
            "{kind:?}: {}",
            answer.head
        );
    }

    world
        .fake
        .set_faults(vec![Fault::new("auth", FaultKind::Truncated, 1)]);
    let cut = post(&world, "auth", body.clone());
    assert_eq!(cut.status, 200);
    assert!(
        cut.body.len() < cut.content_length.unwrap(),
        "body must be shorter than promised"
    );

    world
        .fake
        .set_faults(vec![Fault::new("auth", FaultKind::Dropped, 1)]);
    let dropped = post(&world, "auth", body.clone());
    assert_eq!((dropped.status, dropped.body.len()), (0, 0));
    assert_eq!(post(&world, "auth", body).status, 200);
    // Every request is logged, faulted ones with the status they got (0: no answer).
    let statuses: Vec<u16> = world
        .fake
        .log()
        .iter()
        .filter(|e| e.endpoint == "auth")
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, [429, 429, 200, 500, 502, 503, 504, 200, 0, 200]);
}

#[test]
fn latency_delays_every_answer() {
    let world = World::new();
    world.fake.set_latency(Duration::from_millis(150));
    let start = Instant::now();
    post(&world, "validate-token", json!({"token": "t-x"}));
    assert!(start.elapsed() >= Duration::from_millis(150));
    let entry = &world.fake.log()[0];
    assert!(entry.finished_ms - entry.started_ms >= 150);
}

#[test]
fn control_endpoints_serve_standalone_use() {
    let world = World::new();
    let minted = send(
        &world,
        "POST",
        "/_fake/jwt",
        "application/json",
        r#"{"project_path":"grp/other"}"#,
    )
    .json();
    let jwt = minted["jwt"].as_str().unwrap();
    let answer = post(
        &world,
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
            &world,
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
            &world,
            "auth",
            json!({"access-id": KEY_ACCESS_ID, "access-key": ACCESS_KEY})
        )
        .status,
        503
    );
    let log = send(&world, "GET", "/_fake/log", "application/json", "").json();
    assert_eq!(log["counts"]["auth"], 2);
    assert_eq!(
        send(&world, "DELETE", "/_fake/log", "application/json", "").status,
        204
    );
    assert!(world.fake.log().is_empty());
}

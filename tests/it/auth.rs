//! `akl auth` and everything it rests on: configuration, TLS trust, gateway URLs, and how
//! a refused or unreachable login is reported.

use serde_json::json;

use akl_testkit::{ACCESS_KEY, KEY_ACCESS_ID, UID_TOKEN, World};
use fake_akeyless::jwt::now;

#[test]
fn jwt_login_prints_a_token_after_one_request() {
    let world = World::new();
    let run = world.akl().args(["auth"]).stdout_is_secret().run().ok();
    assert!(
        run.stdout.starts_with("t-") && run.stdout.ends_with('\n'),
        "{:?}",
        run.stdout
    );
    assert_eq!(run.stderr, "");
    let log = world.fake.log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].endpoint, "auth");
    assert_eq!(log[0].access_type.as_deref(), Some("jwt"));
    assert_eq!(log[0].client_type.as_deref(), Some("akl"));
    assert_eq!(log[0].keys, ["access-id", "access-type", "jwt"]);
    assert_eq!(log[0].status, 200);
}

#[test]
fn json_output_is_an_object_with_the_token() {
    let world = World::new();
    let run = world
        .akl()
        .args(["auth", "--json"])
        .stdout_is_secret()
        .run()
        .ok();
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(value["token"].as_str().unwrap().starts_with("t-"));
}

#[test]
fn access_key_login_is_inferred_from_the_key() {
    let world = World::new();
    world
        .bare()
        .env("AKEYLESS_ACCESS_ID", KEY_ACCESS_ID)
        .env("AKEYLESS_ACCESS_KEY", ACCESS_KEY)
        .args(["auth"])
        .stdout_is_secret()
        .run()
        .ok();
    let log = world.fake.log();
    assert_eq!(log[0].access_type.as_deref(), Some("access_key"));
    assert_eq!(log[0].keys, ["access-id", "access-key", "access-type"]);
}

#[test]
fn a_ready_token_needs_no_login() {
    let world = World::new();
    let run = world
        .bare()
        .env("AKEYLESS_TOKEN", UID_TOKEN)
        .args(["auth"])
        .stdout_is_secret()
        .run()
        .ok();
    assert_eq!(run.stdout, format!("{UID_TOKEN}\n"));
    assert!(world.fake.log().is_empty());
}

#[test]
fn refused_jwt_shows_the_deciding_claims_but_never_the_token() {
    let world = World::new();
    let jwt = world.jwt(json!({"ref_protected": "false", "ref": "feature/x"}));
    let run = world
        .akl()
        .env("AKEYLESS_JWT", &jwt)
        .args(["auth"])
        .run()
        .code(3);
    let run = run
        .stderr_has("authentication with access id p-gitlab0jwt01 was refused")
        .stderr_has("do not match the sub-claims")
        .stderr_has("ref_protected: false")
        .stderr_has("ref: feature/x")
        .stderr_has("project_path: grp/app")
        .stderr_has("aud: https://akeyless.example.com")
        .stderr_has("valid for another");
    assert_eq!(run.stdout, "");
}

#[test]
fn expired_forged_or_misaddressed_tokens_are_refused_with_the_reason() {
    let world = World::new();
    let cases = [
        (
            world.jwt(json!({"exp": now() - 600, "iat": now() - 900, "nbf": now() - 905})),
            "JWT is expired",
            "(expired 10m",
        ),
        (
            world.fake.mint_foreign_jwt(&json!({})),
            "signature is invalid",
            "iss:",
        ),
        (
            world.jwt(json!({"aud": "https://gitlab.example.com"})),
            "audience does not match",
            "aud: https://gitlab.example.com",
        ),
        (
            world.jwt(json!({"iss": "https://evil.example"})),
            "issuer does not match",
            "iss: https://evil.example",
        ),
    ];
    for (jwt, reason, claim) in cases {
        world
            .akl()
            .env("AKEYLESS_JWT", &jwt)
            .args(["auth"])
            .run()
            .code(3)
            .stderr_has(reason)
            .stderr_has(claim);
    }
}

#[test]
fn wrong_access_key_is_exit_3_without_the_key() {
    let world = World::new();
    world
        .bare()
        .env("AKEYLESS_ACCESS_ID", KEY_ACCESS_ID)
        .env("AKEYLESS_ACCESS_KEY", "canary-wrong-key-0000")
        .args(["auth"])
        .run()
        .code(3)
        .stderr_has("invalid access key");
}

#[test]
fn missing_settings_fail_before_any_request() {
    let world = World::new();
    world
        .akl()
        .env_remove("AKEYLESS_JWT")
        .args(["auth"])
        .run()
        .code(2)
        .stderr_has("no ID token found")
        .stderr_has("id_tokens:");
    world
        .akl()
        .env_remove("AKEYLESS_ACCESS_ID")
        .args(["auth"])
        .run()
        .code(2)
        .stderr_has("AKEYLESS_ACCESS_ID is not set");
    world
        .akl()
        .env("AKEYLESS_CA_CERT", world.dir.path().join("nope.pem"))
        .args(["auth"])
        .run()
        .code(2)
        .stderr_has("AKEYLESS_CA_CERT names");
    assert!(world.fake.log().is_empty());
}

#[test]
fn untrusted_certificate_is_an_unreachable_gateway() {
    let world = World::new();
    world
        .akl()
        .env_remove("AKEYLESS_CA_CERT")
        .args(["auth"])
        .run()
        .code(5)
        .stderr_has("authentication failed at https://127.0.0.1:")
        .stderr_has("certificate");
}

#[test]
fn ssl_cert_file_is_trusted_too() {
    let world = World::new();
    world
        .akl()
        .env_remove("AKEYLESS_CA_CERT")
        .env("SSL_CERT_FILE", world.ca())
        .args(["auth"])
        .stdout_is_secret()
        .run()
        .ok();
}

#[test]
fn closed_port_is_exit_5() {
    let world = World::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    world
        .akl()
        .env("AKEYLESS_GATEWAY_URL", format!("https://127.0.0.1:{port}"))
        .args(["auth"])
        .run()
        .code(5)
        .stderr_has("hint: check that the gateway is reachable");
}

#[test]
fn legacy_v1_gateway_url_is_mapped_to_v2() {
    let world = World::new();
    world
        .akl()
        .env_remove("AKEYLESS_GATEWAY_URL")
        .env(
            "AKEYLESS_API_GW_URL",
            format!("{}/api/v1", world.fake.url()),
        )
        .args(["auth"])
        .stdout_is_secret()
        .run()
        .ok();
    assert_eq!(world.fake.log()[0].prefix, "/api/v2/");
}

#[test]
fn plain_http_gateways_work() {
    let world = World::new();
    world
        .akl()
        .env("AKEYLESS_GATEWAY_URL", world.fake.http_url())
        .args(["auth"])
        .stdout_is_secret()
        .run()
        .ok();
    assert_eq!(world.fake.log()[0].scheme, "http");
}

#[test]
fn flags_override_the_environment() {
    let world = World::new();
    world
        .akl()
        .env("AKEYLESS_GATEWAY_URL", "https://unused.invalid")
        .env("AKEYLESS_ACCESS_ID", "p-wrong")
        .args([
            "auth",
            "--gateway-url",
            &format!("{}/v2", world.fake.url()),
            "--access-id",
            "p-gitlab0jwt01",
        ])
        .stdout_is_secret()
        .run()
        .ok();
    assert_eq!(world.fake.log()[0].prefix, "/v2/");
}

#[test]
fn the_ca_can_be_the_pem_text_itself() {
    let world = World::new();
    world
        .akl()
        .env("AKEYLESS_CA_CERT", world.fake.ca_pem())
        .args(["auth"])
        .stdout_is_secret()
        .run()
        .ok();
    // A file-type variable whose file is not there (yet): say so, and what works always.
    world
        .akl()
        .env("AKEYLESS_CA_CERT", "/builds/grp/app.tmp/AKEYLESS_CA_CERT")
        .args(["auth"])
        .run()
        .code(2)
        .stderr_has(
            "AKEYLESS_CA_CERT names /builds/grp/app.tmp/AKEYLESS_CA_CERT, which cannot be read",
        )
        .stderr_has("holding the PEM text itself");
}

/// Akeyless's CLI doc gives `AKEYLESS_GATEWAY_URL=https://Your_GW_URL:8080`: on an older
/// gateway that is the legacy V1 API, with V2 under /v2. A fake laid out that way, on
/// port 8080.
#[test]
fn a_bare_8080_gateway_reaches_its_v2_api() {
    let fake = fake_akeyless::Fake::start_with(
        akl_testkit::default_fixture(),
        fake_akeyless::Options {
            https_port: 8080,
            v1_root: true,
            ..Default::default()
        },
    )
    .expect("port 8080 is free for this test (nothing else may listen there)");
    let world = World::new();
    let ca = world.dir.path().join("8080-ca.pem");
    std::fs::write(&ca, fake.ca_pem()).unwrap();
    let akl = || {
        world
            .bare()
            .env("AKEYLESS_GATEWAY_URL", "https://127.0.0.1:8080")
            .env("AKEYLESS_CA_CERT", &ca)
            .env("AKEYLESS_ACCESS_ID", akl_testkit::JWT_ACCESS_ID)
            .env("AKEYLESS_JWT", fake.mint_jwt(&json!({})))
    };
    let value = akl()
        .args(["get", "ci/db-password"])
        .stdout_is_secret()
        .run()
        .ok()
        .stdout;
    assert_eq!(value, "canary-db-password-9b1f0e\n");
    assert!(
        fake.log().iter().all(|e| e.prefix == "/v2/"),
        "{:?}",
        fake.log()
    );
    let doctor = akl().args(["doctor"]).run().ok().stdout;
    assert!(
        doctor.contains("gateway https://127.0.0.1:8080/v2, from AKEYLESS_GATEWAY_URL")
            && doctor.contains("a bare :8080 is the legacy V1 API"),
        "{doctor}"
    );
}

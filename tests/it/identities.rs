//! Every identity a CI job has, proven to the fake the way the real services check it:
//! other CIs' ID tokens (from variables, or minted on request by the fake GitHub and Azure
//! Pipelines endpoints, or by a stand-in `buildkite-agent`), the pod's service-account
//! token, and a client certificate answering a challenge. On the CIs with a masking API,
//! values are registered there as well. (AWS, Azure and GCP identities: `cloud.rs`.)

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use akl_testkit::{World, default_fixture};
use fake_akeyless::fixture::AuthKind;
use fake_akeyless::identities::*;
use fake_akeyless::jwt::K8S_ISSUER;

fn github(world: &World) -> akl_testkit::Akl<'_> {
    world
        .bare()
        .env("AKEYLESS_ACCESS_ID", GITHUB_ACCESS_ID)
        .env(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("{}/_ci/github/token?api-version=2.0", world.fake.url()),
        )
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", GITHUB_REQUEST_TOKEN)
        .env("GITHUB_ACTIONS", "true")
}

#[test]
fn github_actions_mints_the_token_for_the_audience_and_its_runner_masks_the_values() {
    let world = World::new();
    let run = github(&world)
        .env("AKEYLESS_JWT_AUDIENCE", "akeyless")
        .env("DB", "akeyless://ci/db-password")
        .env("MULTI", "akeyless://ci/tls-key")
        .args(["env"])
        .run()
        .ok();
    let masks: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("::add-mask::"))
        .collect();
    assert!(
        masks.contains(&"::add-mask::canary-db-password-9b1f0e"),
        "{masks:?}"
    );
    // A multi-line value: escaped as the runner unescapes it, and each line on its own.
    assert!(
        masks
            .iter()
            .any(|m| m.starts_with("::add-mask::-----BEGIN PRIVATE KEY-----%0AMII")),
        "{masks:?}"
    );
    assert!(
        masks.contains(&"::add-mask::-----END PRIVATE KEY-----"),
        "{masks:?}"
    );
    let counts = world.fake.counts();
    assert_eq!(counts["ci:github/token"], 1);
    let auth = world
        .fake
        .log()
        .into_iter()
        .find(|e| e.endpoint == "auth")
        .unwrap();
    assert_eq!(auth.access_type.as_deref(), Some("jwt"));
}

#[test]
fn github_failures_say_what_to_fix() {
    let world = World::new();
    // GitHub's default audience is not the one the auth method is bound to: the claims
    // show why.
    github(&world)
        .env("DB", "akeyless://ci/db-password")
        .args(["env"])
        .run()
        .code(3)
        .stderr_has("the ID token from GitHub Actions' ID token endpoint (audience the repository owner's URL, GitHub's default) carries these claims:")
        .stderr_has("aud: https://github.com/grp");
    github(&world)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "wrong-request-token")
        .env("AKEYLESS_JWT_AUDIENCE", "akeyless")
        .env("DB", "akeyless://ci/db-password")
        .args(["env"])
        .run()
        .code(3)
        .stderr_has("GitHub Actions' ID token endpoint answered 401: Bad credentials")
        .stderr_has("permissions: id-token: write");
    world
        .bare()
        .env("AKEYLESS_ACCESS_ID", GITHUB_ACCESS_ID)
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", "https://example.invalid/t")
        .env("DB", "akeyless://ci/db-password")
        .args(["env"])
        .run()
        .code(2)
        .stderr_has(
            "ACTIONS_ID_TOKEN_REQUEST_URL is set but ACTIONS_ID_TOKEN_REQUEST_TOKEN is not",
        );
}

#[test]
fn bitbucket_and_circleci_tokens_come_from_their_variables() {
    let world = World::new();
    for (access_id, var, issuer) in [
        (
            BITBUCKET_ACCESS_ID,
            "BITBUCKET_STEP_OIDC_TOKEN",
            BITBUCKET_ISSUER,
        ),
        (CIRCLECI_ACCESS_ID, "CIRCLE_OIDC_TOKEN_V2", CIRCLECI_ISSUER),
        (CIRCLECI_ACCESS_ID, "CIRCLE_OIDC_TOKEN", CIRCLECI_ISSUER),
    ] {
        let token = world.jwt(json!({"iss": issuer, "aud": "ci-audience"}));
        let run = world
            .bare()
            .env("AKEYLESS_ACCESS_ID", access_id)
            .env(var, &token)
            .env("DB", "akeyless://ci/db-password")
            .args(["get", "ci/db-password"])
            .stdout_is_secret()
            .run()
            .ok();
        assert_eq!(run.stdout, "canary-db-password-9b1f0e\n", "{var}");
        let doctor = world
            .bare()
            .env("AKEYLESS_ACCESS_ID", access_id)
            .env(var, &token)
            .args(["doctor"])
            .run();
        assert!(
            doctor.stdout.contains(&format!("ID token from {var}"))
                && doctor.stdout.contains(&format!("iss: {issuer}")),
            "{}",
            doctor.stdout
        );
    }
}

/// A stand-in for `buildkite-agent`, outside the world's directory (it reads a token and
/// keeps what it was asked to redact): `oidc request-token` prints the token in
/// `$FAKE_BK_TOKEN`'s file, `redactor add --format json` keeps stdin in `$FAKE_BK_REDACTED`.
fn buildkite_agent(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let agent = bin.join("buildkite-agent");
    std::fs::write(
        &agent,
        r#"#!/bin/sh
case "$1 $2" in
  "oidc request-token")
    [ "$3" = --audience ] && [ "$4" = akeyless ] || { echo "unexpected arguments: $*" >&2; exit 2; }
    cat "$FAKE_BK_TOKEN" ;;
  "redactor add")
    [ "$3 $4" = "--format json" ] || { echo "unexpected arguments: $*" >&2; exit 2; }
    cat >>"$FAKE_BK_REDACTED" ;;
  *) echo "unexpected command: $*" >&2; exit 2 ;;
esac
"#,
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&agent, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn buildkite_asks_its_agent_for_the_token_and_for_redaction() {
    let world = World::new();
    let outside = tempfile::tempdir().unwrap();
    let bin = buildkite_agent(outside.path());
    let token_file = outside.path().join("token");
    std::fs::write(
        &token_file,
        world.jwt(json!({"iss": BUILDKITE_ISSUER, "aud": "akeyless"})),
    )
    .unwrap();
    let redacted = outside.path().join("redacted");
    let run = world
        .bare()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("BUILDKITE", "true")
        .env("FAKE_BK_TOKEN", &token_file)
        .env("FAKE_BK_REDACTED", &redacted)
        .env("AKEYLESS_ACCESS_ID", BUILDKITE_ACCESS_ID)
        .env("AKEYLESS_JWT_AUDIENCE", "akeyless")
        .args(["get", "ci/db-password"])
        .stdout_is_secret()
        .run()
        .ok();
    assert_eq!(run.stdout, "canary-db-password-9b1f0e\n");
    let sent: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&redacted).unwrap()).unwrap();
    assert_eq!(sent, json!({"v0": "canary-db-password-9b1f0e"}));

    let agent = |audience: &str| {
        world
            .bare()
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("BUILDKITE", "true")
            .env("FAKE_BK_TOKEN", &token_file)
            .env("FAKE_BK_REDACTED", &redacted)
            .env("AKEYLESS_ACCESS_ID", BUILDKITE_ACCESS_ID)
            .env("AKEYLESS_JWT_AUDIENCE", audience)
            .env("DB", "akeyless://ci/db-password")
            .args(["env"])
            .run()
    };
    // An agent that refuses: its message, not a token.
    agent("other")
        .code(3)
        .stderr_has("buildkite-agent oidc request-token failed")
        .stderr_has("Caused by: unexpected arguments: oidc request-token --audience other");
    // An agent that prints something else: named, never shown.
    std::fs::write(&token_file, "not a token").unwrap();
    agent("akeyless").code(2).stderr_has("does not hold a JWT");
}

#[test]
fn azure_pipelines_mints_for_the_service_connection_and_its_agent_masks_the_values() {
    let world = World::new();
    let azure = |token: &str| {
        world
            .bare()
            .env("AKEYLESS_ACCESS_ID", AZURE_PIPELINES_ACCESS_ID)
            .env(
                "SYSTEM_OIDCREQUESTURI",
                format!("{}/_ci/azure/oidctoken", world.fake.url()),
            )
            .env("SYSTEM_ACCESSTOKEN", token)
            .env(
                "AKEYLESS_AZURE_SERVICE_CONNECTION_ID",
                AZURE_SERVICE_CONNECTION,
            )
            .env("TF_BUILD", "True")
            .env("DB", "akeyless://ci/db-password")
            .args(["env"])
            .run()
    };
    let run = azure(AZURE_ACCESS_TOKEN).ok();
    assert!(
        run.stderr
            .contains("##vso[task.setsecret]canary-db-password-9b1f0e\n"),
        "{}",
        run.stderr
    );
    assert_eq!(world.fake.count("ci:azure/oidctoken"), 1);
    azure("wrong-access-token")
        .code(3)
        .stderr_has("Azure Pipelines' ID token endpoint answered 401: TF400813")
        .stderr_has("SYSTEM_ACCESSTOKEN must be $(System.AccessToken)");
}

#[test]
fn kubernetes_sends_the_service_account_token_with_its_config() {
    let world = World::new();
    let outside = tempfile::tempdir().unwrap();
    let token = outside.path().join("token");
    let account = |sub: &str| {
        std::fs::write(
            &token,
            world.jwt(
                json!({"iss": K8S_ISSUER, "sub": sub, "aud": "https://kubernetes.default.svc"}),
            ),
        )
        .unwrap();
    };
    let k8s = || {
        world
            .bare()
            .env("AKEYLESS_ACCESS_ID", K8S_ACCESS_ID)
            .env("AKEYLESS_K8S_AUTH_CONFIG_NAME", K8S_CONFIG)
            .env("AKEYLESS_K8S_TOKEN_FILE", &token)
            .env("DB", "akeyless://ci/db-password")
            .args(["env"])
    };
    account("system:serviceaccount:ci:runner");
    k8s().run().ok();
    let auth = world
        .fake
        .log()
        .into_iter()
        .find(|e| e.endpoint == "auth")
        .unwrap();
    assert_eq!(auth.access_type.as_deref(), Some("k8s"));
    assert!(
        auth.keys.contains(&"gateway-url".to_owned()),
        "{:?}",
        auth.keys
    );

    account("system:serviceaccount:other:intruder");
    k8s()
        .run()
        .code(3)
        .stderr_has("service account other:intruder is not bound");
    std::fs::remove_file(&token).unwrap();
    k8s()
        .run()
        .code(2)
        .stderr_has(&format!(
            "cannot read the service-account token {}",
            token.display()
        ))
        .stderr_has("AKEYLESS_K8S_TOKEN_FILE");
    world
        .bare()
        .env("AKEYLESS_ACCESS_ID", K8S_ACCESS_ID)
        .env("AKEYLESS_ACCESS_TYPE", "k8s")
        .env("DB", "akeyless://ci/db-password")
        .args(["env"])
        .run()
        .code(2)
        .stderr_has("AKEYLESS_ACCESS_TYPE is k8s but AKEYLESS_K8S_AUTH_CONFIG_NAME is not set");
}

/// `openssl` in `dir` (the suite installs it).
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs (make test installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and, signed by it for client authentication, a certificate for each key form:
/// RSA as PKCS#8 and PKCS#1, P-256 as PKCS#8 and SEC1. Returns the CA's PEM.
fn certificates(dir: &Path) -> String {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=akl test CA",
        ],
    );
    std::fs::write(
        dir.join("client.ext"),
        "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "rsa-pkcs8.key",
        ],
    );
    openssl(
        dir,
        &[
            "rsa",
            "-in",
            "rsa-pkcs8.key",
            "-traditional",
            "-out",
            "rsa-pkcs1.key",
        ],
    );
    openssl(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ec-sec1.key",
        ],
    );
    openssl(
        dir,
        &[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            "ec-sec1.key",
            "-out",
            "ec-pkcs8.key",
        ],
    );
    for name in ["rsa-pkcs8", "rsa-pkcs1", "ec-sec1", "ec-pkcs8"] {
        openssl(
            dir,
            &[
                "req",
                "-new",
                "-key",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                "/CN=ci-job",
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                "client.ext",
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }
    openssl(
        dir,
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "ec-sec1.key",
            "-passout",
            "pass:secret",
            "-out",
            "encrypted.key",
        ],
    );
    std::fs::read_to_string(dir.join("ca.pem")).unwrap()
}

#[test]
fn a_certificate_answers_the_challenge_and_its_key_never_travels() {
    let outside = tempfile::tempdir().unwrap();
    let dir = outside.path();
    let ca = certificates(dir);
    let fixture =
        default_fixture().with_auth_method("p-certauth0012", AuthKind::Cert { ca_pem: ca });
    let world = World::with(fixture);
    let cert = |name: &str, key: &str| {
        world
            .bare()
            .env("AKEYLESS_ACCESS_ID", "p-certauth0012")
            .env("AKEYLESS_CERT_FILE", dir.join(format!("{name}.pem")))
            .env("AKEYLESS_KEY_FILE", dir.join(key))
            .env("DB", "akeyless://ci/db-password")
            .args(["env"])
    };
    for name in ["rsa-pkcs8", "rsa-pkcs1", "ec-sec1", "ec-pkcs8"] {
        let key = std::fs::read_to_string(dir.join(format!("{name}.key"))).unwrap();
        // Its base64 lines are canaries: none may appear anywhere akl writes or prints.
        for line in key.lines().filter(|l| !l.starts_with("-----")) {
            world.fake.add_canary(line);
        }
        world.fake.clear_log();
        cert(name, &format!("{name}.key")).run().ok();
        let counts = world.fake.counts();
        assert_eq!(
            (counts["get-cert-challenge"], counts["auth"]),
            (1, 1),
            "{name}: {counts:?}"
        );
        let auth = world
            .fake
            .log()
            .into_iter()
            .find(|e| e.endpoint == "auth")
            .unwrap();
        assert_eq!(auth.access_type.as_deref(), Some("cert"), "{name}");
        assert!(
            !auth.keys.contains(&"key-data".to_owned()),
            "{name}: the key was sent"
        );
    }
    // Another certificate's key, an encrypted key, a certificate from another CA.
    cert("rsa-pkcs8", "ec-sec1.key")
        .run()
        .code(3)
        .stderr_has("the challenge's signature does not match the certificate");
    cert("rsa-pkcs8", "encrypted.key")
        .run()
        .code(2)
        .stderr_has("the key is encrypted; akl needs it unencrypted");
    cert("ca", "ca.key")
        .run()
        .code(3)
        .stderr_has("the gateway gave no challenge")
        .stderr_has("not issued by the auth method's CA");
}

//! The cloud identities against the fake's metadata services and its Akeyless side, which
//! checks each proof as the real one would: `aws_iam`'s signed `GetCallerIdentity`
//! replayed as STS verifies it (signature from the known secret key, date, session token,
//! bound ARN and account), `azure_ad`'s managed identity token (issuer, audience, object
//! id), `gcp`'s ID token (audience, service account). The metadata services are reached
//! through the variables the clouds' SDKs document, pointed at the fake.

use std::time::{Duration, Instant};

use akl_testkit::{Akl, World, read};
use fake_akeyless::identities::*;
use fake_akeyless::{Fault, FaultKind};

const DB: &str = "canary-db-password-9b1f0e";

fn aws(world: &World) -> Akl<'_> {
    world
        .bare()
        .env("AKEYLESS_ACCESS_TYPE", "aws_iam")
        .env("AKEYLESS_ACCESS_ID", AWS_ACCESS_ID)
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", world.fake.http_url())
        .env("DB", "akeyless://ci/db-password")
}

fn azure(world: &World) -> Akl<'_> {
    world
        .bare()
        .env("AKEYLESS_ACCESS_TYPE", "azure_ad")
        .env("AKEYLESS_ACCESS_ID", AZURE_AD_ACCESS_ID)
        .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", world.fake.http_url())
        .env("DB", "akeyless://ci/db-password")
}

fn gcp(world: &World) -> Akl<'_> {
    let host = world.fake.http_url().replace("http://", "");
    world
        .bare()
        .env("AKEYLESS_ACCESS_TYPE", "gcp")
        .env("AKEYLESS_ACCESS_ID", GCP_ACCESS_ID)
        .env("GCE_METADATA_HOST", host)
        .env("DB", "akeyless://ci/db-password")
}

/// `akl env` wrote the secret asked for, and none of the identity's keys, tokens or
/// signatures (nor anything else the fake knows) beside it.
fn env_file_holds_only_the_value(world: &World) {
    let file = read(&world.home().join(".akeyless/env"));
    assert!(file.contains(DB), "{file}");
    for canary in world.fake.canaries() {
        if canary != DB {
            assert!(
                !file.contains(&canary),
                "{canary:?} is in the env file:\n{file}"
            );
        }
    }
}

fn auth_type(world: &World) -> Option<String> {
    world
        .fake
        .log()
        .into_iter()
        .find(|e| e.endpoint == "auth")
        .and_then(|e| e.access_type)
}

#[test]
fn aws_keys_from_the_environment_sign_what_sts_verifies() {
    let world = World::new();
    let run = aws(&world)
        .env("AWS_ACCESS_KEY_ID", AWS_USER_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", AWS_USER_SECRET)
        .args(["get", "ci/db-password"])
        .stdout_is_secret()
        .run()
        .ok();
    assert_eq!(run.stdout, format!("{DB}\n"));
    assert_eq!(auth_type(&world).as_deref(), Some("aws_iam"));
    // The environment comes first: the instance metadata service is not asked.
    assert_eq!(world.fake.count("imds:token"), 0);
    // `akl doctor` names the source the SDKs would pick.
    let doctor = aws(&world)
        .env("AWS_ACCESS_KEY_ID", AWS_USER_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", AWS_USER_SECRET)
        .args(["doctor"])
        .run()
        .ok();
    assert!(
        doctor.stdout.contains(&format!(
            "the keys in AWS_ACCESS_KEY_ID ({AWS_USER_KEY_ID})"
        )),
        "{}",
        doctor.stdout
    );
    aws(&world)
        .env("AWS_ACCESS_KEY_ID", AWS_USER_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", AWS_USER_SECRET)
        .args(["env"])
        .run()
        .ok();
    env_file_holds_only_the_value(&world);
}

#[test]
fn aws_role_credentials_from_imdsv2_with_its_session_token() {
    let world = World::new();
    aws(&world).args(["env"]).run().ok();
    let counts = world.fake.counts();
    assert_eq!(
        (
            counts["imds:token"],
            counts["imds:role"],
            counts["imds:credentials"]
        ),
        (1, 1, 1),
        "{counts:?}"
    );
    assert_eq!(auth_type(&world).as_deref(), Some("aws_iam"));
    // The session token, the role's secret key and session token: none in the env file.
    env_file_holds_only_the_value(&world);
}

#[test]
fn aws_container_credentials_with_their_authorization_token() {
    let world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("eks-pod-identity-token");
    std::fs::write(&token_file, format!("{AWS_CONTAINER_TOKEN}\n")).unwrap();
    let container = || {
        aws(&world).env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("{}/v1/credentials", world.fake.http_url()),
        )
    };
    // EKS Pod Identity: the token in a file.
    container()
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &token_file)
        .args(["env"])
        .run()
        .ok();
    env_file_holds_only_the_value(&world);
    // The token itself; and the container endpoint comes before IMDS.
    container()
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", AWS_CONTAINER_TOKEN)
        .args(["env"])
        .run()
        .ok();
    assert_eq!(world.fake.count("container:credentials"), 2);
    assert_eq!(world.fake.count("imds:token"), 0);
    container()
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", "not-the-agent-token")
        .args(["env"])
        .run()
        .code(3)
        .stderr_has("the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_*) answered 401")
        .stderr_has("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    std::fs::remove_file(&token_file).unwrap();
    container()
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &token_file)
        .args(["env"])
        .run()
        .code(2)
        .stderr_has("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE names");
    // Plain http to anyone but loopback or the ECS/EKS agents is refused before any request.
    aws(&world)
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://creds.example.com/v1/credentials",
        )
        .args(["env"])
        .run()
        .code(2)
        .stderr_has("AWS_CONTAINER_CREDENTIALS_FULL_URI must be https");
}

#[test]
fn aws_refusals_say_what_sts_said() {
    let world = World::new();
    let with_keys = |id: &str, secret: &str| {
        aws(&world)
            .env("AWS_ACCESS_KEY_ID", id)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .args(["env"])
    };
    // A wrong secret key: the signature is not the one STS computes.
    with_keys(AWS_USER_KEY_ID, "aws-canary-wrong-secret-1234")
        .run()
        .code(3)
        .stderr_has("SignatureDoesNotMatch");
    // Temporary keys without their session token.
    with_keys(AWS_ROLE_KEY_ID, AWS_ROLE_SECRET)
        .run()
        .code(3)
        .stderr_has("InvalidClientTokenId");
    // With it, they work.
    with_keys(AWS_ROLE_KEY_ID, AWS_ROLE_SECRET)
        .env("AWS_SESSION_TOKEN", AWS_SESSION_TOKEN)
        .run()
        .ok();
    // Valid keys of an identity the auth method does not bind: the wrong role.
    with_keys(AWS_INTRUDER_KEY_ID, AWS_INTRUDER_SECRET)
        .run()
        .code(3)
        .stderr_has("arn:aws:iam::123456789012:user/intruder is not bound");
    // A runner whose clock is 20 minutes off: STS's signature expiry.
    world.fake.set_clock_offset(20 * 60);
    with_keys(AWS_USER_KEY_ID, AWS_USER_SECRET)
        .run()
        .code(3)
        .stderr_has("Signature expired");
}

#[test]
fn aws_missing_pieces_are_named_with_what_to_set() {
    let world = World::new();
    aws(&world)
        .env("AWS_ACCESS_KEY_ID", AWS_USER_KEY_ID)
        .args(["env"])
        .run()
        .code(2)
        .stderr_has("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    aws(&world)
        .env("AWS_SECRET_ACCESS_KEY", AWS_USER_SECRET)
        .args(["env"])
        .run()
        .code(2)
        .stderr_has("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
    aws(&world)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["env"])
        .run()
        .code(2)
        .stderr_has("no AWS credentials found")
        .stderr_has("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    // EKS IRSA: the SDKs would act as the pod's role; akl does not sign as the node's.
    aws(&world)
        .env(
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
        )
        .env("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ci-runner")
        .args(["env"])
        .run()
        .code(2)
        .stderr_has("AWS_WEB_IDENTITY_TOKEN_FILE is set (IAM roles for service accounts)")
        .stderr_has("EKS Pod Identity");
    assert_eq!(world.fake.count("imds:token"), 0);
    aws(&world)
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "169.254.169.254")
        .args(["env"])
        .run()
        .code(2)
        .stderr_has("AWS_EC2_METADATA_SERVICE_ENDPOINT=169.254.169.254 is not an http(s) URL");
}

#[test]
fn an_imds_that_does_not_answer_names_itself_and_the_hop_limit() {
    let world = World::new();
    // A container behind IMDSv2's default hop limit of 1: the token PUT's reply never
    // arrives. The run ends in seconds, not at the deadline.
    world
        .fake
        .set_faults(vec![Fault::new("imds:token", FaultKind::Hang, 1)]);
    let started = Instant::now();
    aws(&world)
        .args(["env"])
        .run()
        .code(5)
        .stderr_has("the EC2 instance metadata service (IMDSv2) did not answer")
        .stderr_has("--http-put-response-hop-limit 2");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    // Nothing listening (a laptop, a runner off EC2): the same, at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    aws(&world)
        .env(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            format!("http://{address}"),
        )
        .args(["env"])
        .run()
        .code(5)
        .stderr_has("the EC2 instance metadata service (IMDSv2) did not answer")
        .stderr_has("hop-limit 2");
    // An instance without a role: IMDS answers 404.
    world
        .fake
        .set_faults(vec![Fault::new("imds:role", FaultKind::NotFound, 1)]);
    aws(&world)
        .args(["env"])
        .run()
        .code(3)
        .stderr_has("has no IAM role for this instance")
        .stderr_has("associate-iam-instance-profile");
}

#[test]
fn azure_managed_identity_from_the_instance_metadata_service() {
    let world = World::new();
    let run = azure(&world)
        .args(["get", "ci/db-password"])
        .stdout_is_secret()
        .run()
        .ok();
    assert_eq!(run.stdout, format!("{DB}\n"));
    assert_eq!(auth_type(&world).as_deref(), Some("azure_ad"));
    let doctor = azure(&world).args(["doctor"]).run().ok();
    assert!(
        doctor.stdout.contains(
            "the system-assigned managed identity's token from the Azure instance metadata service"
        ),
        "{}",
        doctor.stdout
    );
    // The metadata service is busy twice (Azure's documented 500/429 while it updates):
    // retried, as the Azure SDKs do.
    world.fake.clear_log();
    world
        .fake
        .set_faults(vec![Fault::new("azure:imds", FaultKind::InternalError, 2)]);
    azure(&world).args(["env"]).run().ok();
    assert_eq!(world.fake.count("azure:imds"), 3);
    env_file_holds_only_the_value(&world);
    // A user-assigned identity: its token is issued, but the auth method binds the
    // system-assigned one.
    azure(&world)
        .env("AKEYLESS_AZURE_OBJECT_ID", AZURE_USER_OBJECT_ID)
        .args(["env"])
        .run()
        .code(3)
        .stderr_has(&format!("object id {AZURE_USER_OBJECT_ID} is not bound"));
    // An object id no identity of this VM has.
    azure(&world)
        .env(
            "AKEYLESS_AZURE_OBJECT_ID",
            "00000000-dead-4000-8000-000000000000",
        )
        .args(["env"])
        .run()
        .code(3)
        .stderr_has("the Azure instance metadata service answered 400")
        .stderr_has("Identity not found")
        .stderr_has("AKEYLESS_AZURE_OBJECT_ID must be the object (principal) id");
    // Off Azure: nothing answers.
    world
        .fake
        .set_faults(vec![Fault::new("azure:imds", FaultKind::Dropped, 1)]);
    azure(&world)
        .args(["env"])
        .run()
        .code(5)
        .stderr_has("the Azure instance metadata service did not answer")
        .stderr_has("AZURE_POD_IDENTITY_AUTHORITY_HOST");
}

#[test]
fn azure_managed_identity_from_app_service() {
    let world = World::new();
    let app = || {
        azure(&world).env(
            "IDENTITY_ENDPOINT",
            format!("{}/msi/token", world.fake.http_url()),
        )
    };
    app()
        .env("IDENTITY_HEADER", AZURE_IDENTITY_HEADER)
        .args(["env"])
        .run()
        .ok();
    assert_eq!(world.fake.count("azure:app-service"), 1);
    assert_eq!(world.fake.count("azure:imds"), 0);
    env_file_holds_only_the_value(&world);
    app()
        .env("IDENTITY_HEADER", "azure-wrong-identity-header")
        .args(["env"])
        .run()
        .code(3)
        .stderr_has("the App Service managed identity endpoint (IDENTITY_ENDPOINT) answered 401");
    app()
        .args(["env"])
        .run()
        .code(2)
        .stderr_has("IDENTITY_ENDPOINT is set but IDENTITY_HEADER is not");
}

#[test]
fn gcp_id_token_for_the_audience_from_the_metadata_server() {
    let world = World::new();
    let run = gcp(&world)
        .args(["get", "ci/db-password"])
        .stdout_is_secret()
        .run()
        .ok();
    assert_eq!(run.stdout, format!("{DB}\n"));
    assert_eq!(auth_type(&world).as_deref(), Some("gcp"));
    gcp(&world).args(["env"]).run().ok();
    env_file_holds_only_the_value(&world);
    // Another audience: the token is minted for it, and the auth method refuses it.
    gcp(&world)
        .env("AKEYLESS_GCP_AUDIENCE", "https://other.example.com")
        .args(["env"])
        .run()
        .code(3)
        .stderr_has("gcp-audience https://other.example.com is not the auth method's audience");
    // A metadata server that refuses (no service account: 404).
    world
        .fake
        .set_faults(vec![Fault::new("gcp:identity", FaultKind::NotFound, 1)]);
    gcp(&world)
        .args(["env"])
        .run()
        .code(3)
        .stderr_has("the Google metadata server answered 404")
        .stderr_has("needs a Google service account");
    // One that never answers: named, within the run's deadline.
    world
        .fake
        .set_faults(vec![Fault::new("gcp:identity", FaultKind::Hang, 1)]);
    gcp(&world)
        .env("AKEYLESS_TIMEOUT", "3")
        .args(["env"])
        .run()
        .code(5)
        .stderr_has("the Google metadata server did not answer")
        .stderr_has("GCE_METADATA_HOST");
    gcp(&world)
        .env("GCE_METADATA_HOST", "http://metadata/")
        .args(["env"])
        .run()
        .code(2)
        .stderr_has("GCE_METADATA_HOST=http://metadata/ is not a host[:port]");
}

#[test]
fn cloud_credentials_in_the_environment_are_masked_in_the_job_output() {
    let world = World::new();
    let run = aws(&world)
        .env("AWS_ACCESS_KEY_ID", AWS_ROLE_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", AWS_ROLE_SECRET)
        .env("AWS_SESSION_TOKEN", AWS_SESSION_TOKEN)
        .args([
            "run",
            "--",
            "/bin/sh",
            "-c",
            "echo \"key=$AWS_SECRET_ACCESS_KEY token=$AWS_SESSION_TOKEN db=$DB\"",
        ])
        .run()
        .ok();
    // The canary check has already looked at stdout; the line is there, masked.
    assert!(run.stdout.contains("key="), "{}", run.stdout);
}

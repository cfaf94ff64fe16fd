//! Every job snippet of Akeyless's GitLab and CircleCI docs, verbatim (docs/gitlab.md,
//! "Akeyless's own snippets"), on the image, as root, as another `--user` and on a
//! read-only root: the secret ends up in the variable and the doc's `echo` shows it
//! masked. Only the settings a user fills in differ: the gateway (the fake) and its CA.

use std::path::Path;

use serde_json::json;

use crate::jobs::check;
use crate::runner::Job;
use akl_testkit::{JWT_ACCESS_ID, World};

/// The ways a runner may start the image.
const STARTS: [&[&str]; 3] = [
    &[],
    &["--user", "1000:1000"],
    &["--read-only", "--tmpfs", "/tmp"],
];

/// A job with a doc's variables, pointed at a fake gateway whose CA is `ca`.
fn doc_job(world: &World, ca: &Path, start: &[&str]) -> Job {
    Job::new()
        .docker_args(["-v".to_owned(), format!("{}:/ca.pem:ro", ca.display())])
        .docker_args(start.iter().copied())
        .var("AKEYLESS_CA_CERT", "/ca.pem")
        .var("ACCESS_ID", JWT_ACCESS_ID)
        .var("CI_JOB_JWT_V2", world.jwt(json!({})))
        .var("FIRST_ID_TOKEN", world.jwt(json!({})))
}

/// Runs `script` in every start; the log must show `expect` and no secret.
fn in_every_start(world: &World, job: impl Fn(&[&str]) -> Job, script: &str, expect: &[&str]) {
    for start in STARTS {
        let stage = job(start).create().stage(script);
        check(world, &stage, 0);
        for line in expect {
            assert!(
                stage.log.contains(line),
                "{start:?}: {line:?} missing:\n{}",
                stage.log
            );
        }
    }
}

/// The GitLab doc's first tab (`.gitlab-ci.yml`, CI_JOB_JWT_V2), before_script and script.
const GITLAB_V15: &str = r#"export MY_SECRET=akeyless://path/to/secret # Static / Dynamic secret
export TOKEN=$(akeyless auth --access-id $ACCESS_ID --access-type jwt --jwt $CI_JOB_JWT_V2 --json --jq-expression='.token') 
# script will replace any env var with prefix of "akeyless:" like above
source ~/.akeyless/akeyless_env.sh
echo "Fetching Secrets is Easy [$MY_SECRET]"
[ "$MY_SECRET" = canary-docs-path-secret-e5c1 ] && echo "MY_SECRET: resolved""#;

#[test]
fn the_gitlab_doc_snippets_run_unchanged() {
    let world = World::new();
    let ca = world.ca();
    let saas =
        |start: &[&str]| doc_job(&world, &ca, start).var("AKEYLESS_GATEWAY_URL", world.fake.url());
    in_every_start(
        &world,
        saas,
        GITLAB_V15,
        &["Fetching Secrets is Easy [[MASKED]]", "MY_SECRET: resolved"],
    );

    // The second tab (`v16_gitlab-ci.yml`): id_tokens, and the gateway's V1 URL.
    let v16 = format!(
        r#"export AKEYLESS_API_GW_URL={}/api/v1
export MY_SECRET=akeyless://gitlab/mySecret
export TOKEN=$(akeyless auth --access-id $ACCESS_ID --access-type jwt --jwt $FIRST_ID_TOKEN --json --jq-expression='.token')
# script will replace any env var with prefix of "akeyless:" like above
source ~/.akeyless/akeyless_env.sh
echo "Fetching Secrets is Easy [$MY_SECRET]"
[ "$MY_SECRET" = canary-docs-gitlab-secret-77d0 ] && echo "MY_SECRET: resolved""#,
        world.fake.url()
    );
    in_every_start(
        &world,
        |start| doc_job(&world, &ca, start),
        &v16,
        &["Fetching Secrets is Easy [[MASKED]]", "MY_SECRET: resolved"],
    );

    // Akeyless's GitLab tutorial: `akeyless auth` without --json leaves the CLI's text in
    // TOKEN; the script uses the token auth kept. A dynamic secret becomes its JSON.
    let tutorial = format!(
        r#"export DATA=akeyless://mysqlDS # MySQL Dynamic Secret
export TOKEN=$(akeyless auth --access-id {JWT_ACCESS_ID} --access-type jwt --jwt $CI_JOB_JWT_V2) # Akeyless/Gitlab Authentication
source ~/.akeyless/akeyless_env.sh
case "$DATA" in '{{"id":"tmp.'*) echo "DATA: dynamic JSON" ;; esac
echo "$DATA""#
    );
    in_every_start(&world, saas, &tutorial, &["DATA: dynamic JSON", "[MASKED]"]);
    assert_eq!(
        world.fake.count("get-dynamic-secret-value"),
        3,
        "one per job"
    );
}

/// Akeyless's CLI doc: `AKEYLESS_GATEWAY_URL=https://Your_GW_URL:8080`, which on an older
/// gateway is the legacy V1 API (V2 is under /v2): a fake laid out that way on port 8080.
#[test]
fn a_gateway_given_as_the_cli_doc_writes_it_works() {
    let world = World::new();
    let gateway = fake_akeyless::Fake::start_with(
        akl_testkit::default_fixture(),
        fake_akeyless::Options {
            https_port: 8080,
            v1_root: true,
            ..Default::default()
        },
    )
    .expect("port 8080 is free for this test");
    let ca = world.dir.path().join("gateway-ca.pem");
    std::fs::write(&ca, gateway.ca_pem()).unwrap();
    let job = |start: &[&str]| {
        doc_job(&world, &ca, start)
            .var("AKEYLESS_GATEWAY_URL", "https://127.0.0.1:8080")
            .var("CI_JOB_JWT_V2", gateway.mint_jwt(&json!({})))
    };
    for start in STARTS {
        let stage = job(start).create().stage(GITLAB_V15);
        assert_eq!(stage.code, Some(0), "{start:?}:\n{}", stage.log);
        akl_testkit::assert_no_canaries(&gateway, &[("the job log", &stage.log)]);
        assert!(stage.log.contains("MY_SECRET: resolved"), "{}", stage.log);
    }
    assert!(gateway.log().iter().all(|e| e.prefix == "/v2/"));
}

/// The CircleCI doc's `config.yml`: one step logs in (its `export … >> $BASH_ENV` carries
/// nothing over), the next reads a secret with no token at all: the CLI kept one.
#[test]
fn the_circleci_doc_snippet_runs_unchanged() {
    let world = World::new();
    let ca = world.ca();
    let job = |start: &[&str]| {
        doc_job(&world, &ca, start)
            .var("AKEYLESS_GATEWAY_URL", world.fake.url())
            .var("CIRCLE_OIDC_TOKEN", world.jwt(json!({})))
            .var("BASH_ENV", "/tmp/circleci-bash-env")
    };
    let steps = r#"sh -c 'export TOKEN=$(akeyless auth --access-id $ACCESS_ID --access-type jwt --jwt $CIRCLE_OIDC_TOKEN) >> $BASH_ENV'
sh -c 'akeyless get-secret-value -n /CI/CircleCI-secret'
[ "$(sh -c 'akeyless get-secret-value -n /CI/CircleCI-secret')" = canary-docs-circleci-secret-a2f4 ] && echo "secret: read""#;
    in_every_start(&world, job, steps, &["[MASKED]\n", "secret: read"]);
}

//! `akeyless`, the subset of the Akeyless CLI that ci_base pipelines call, served by the
//! same binary under that name.

use serde_json::{Value, json};

use akl_testkit::{JWT_ACCESS_ID, World};

#[test]
fn auth_prints_the_token_as_the_docs_use_it() {
    let world = World::new();
    let jwt = world.jwt(json!({}));
    let run = world
        .akeyless()
        .args([
            "auth",
            "--access-id",
            JWT_ACCESS_ID,
            "--access-type",
            "jwt",
            "--jwt",
            &jwt,
        ])
        .args(["--json", "--jq-expression=.token"])
        .stdout_is_secret()
        .run()
        .ok()
        .stderr_has("warning: --jwt puts a secret on the command line");
    assert!(
        run.stdout.starts_with("t-") && run.stdout.lines().count() == 1,
        "{}",
        run.stdout
    );
    let json = world
        .akeyless()
        .env("AKEYLESS_JWT", &jwt)
        .args(["auth", "--access-id", JWT_ACCESS_ID, "--json"])
        .stdout_is_secret()
        .run()
        .ok();
    let value: Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(value["token"].as_str().unwrap().starts_with("t-"));
    assert_eq!(
        json.stderr, "",
        "a JWT from the environment needs no warning"
    );
}

#[test]
fn item_commands_print_what_scripts_expect() {
    let world = World::new();
    let token = akl_testkit::token(&world);
    let cli = |args: &[&str]| {
        world
            .akeyless()
            .env("AKEYLESS_TOKEN", &token)
            .args(args)
            .stdout_is_secret()
            .run()
            .ok()
            .stdout
    };
    assert_eq!(
        cli(&["get-secret-value", "--name", "/ci/db-password"]),
        "canary-db-password-9b1f0e\n"
    );
    assert_eq!(
        cli(&["get-secret-value", "-n", "/ci/versioned", "--version", "1"]),
        "canary-version-one-aa11\n"
    );
    assert_eq!(
        cli(&["get-secret-value", "--name", "/ci/api-token", "--json"]),
        "{\"/ci/api-token\":\"canary-api-token-5d2c7a\"}\n"
    );
    let dynamic: Value =
        serde_json::from_str(&cli(&["get-dynamic-secret-value", "--name", "/ci/mysql"])).unwrap();
    assert!(dynamic["user"].as_str().unwrap().starts_with("tmp_user_"));
    assert_eq!(
        cli(&["get-rotated-secret-value", "--name", "/ci/rotated-custom"]),
        "{\"value\":{\"api_key\":\"canary-rotated-api-key-0a9d\",\"region\":\"eu-west-1\"}}\n"
    );
    assert_eq!(
        cli(&[
            "describe-item",
            "--name",
            "/ci/rotated-db",
            "--jq-expression",
            ".item_type"
        ]),
        "ROTATED_SECRET\n"
    );
    // --token works too, with a warning; the environment's token is not needed then.
    world
        .akeyless()
        .args([
            "get-secret-value",
            "--name",
            "/ci/api-token",
            "--token",
            &token,
        ])
        .stdout_is_secret()
        .run()
        .ok()
        .stderr_has("--token puts a secret on the command line");
}

#[test]
fn unsupported_commands_and_flags_say_what_is_supported() {
    let world = World::new();
    for args in [
        &["list-items"][..],
        &["get-secret-value", "--name", "x", "--profile", "p"],
    ] {
        world
            .akeyless()
            .args(args)
            .run()
            .code(2)
            .stderr_has("It supports: auth, get-secret-value, get-dynamic-secret-value, get-rotated-secret-value, describe-item");
    }
    // `--jwt $CI_JOB_JWT_V2` after GitLab 17.0 expands to nothing.
    world
        .akeyless()
        .args([
            "auth",
            "--access-id",
            JWT_ACCESS_ID,
            "--access-type",
            "jwt",
            "--jwt",
            "--json",
        ])
        .run()
        .code(2)
        .stderr_has("--jwt was given no value")
        .stderr_has("GitLab 17.0 removed it");
    assert!(world.fake.log().is_empty());
}

#[test]
fn failures_keep_akl_exit_codes() {
    let world = World::new();
    let token = akl_testkit::token(&world);
    world
        .akeyless()
        .env("AKEYLESS_TOKEN", &token)
        .args(["get-secret-value", "--name", "/ci/nope"])
        .run()
        .code(4)
        .stderr_has("get-secret-value /ci/nope failed");
    world
        .akeyless()
        .args(["auth", "--access-id", JWT_ACCESS_ID])
        .env("AKEYLESS_JWT", world.jwt(json!({"project_path": "x/y"})))
        .run()
        .code(3);
}

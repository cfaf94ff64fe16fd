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
        &["create-secret", "--name", "x"][..],
        &["get-secret-value", "--name", "x", "--profile", "p"],
    ] {
        world
            .akeyless()
            .args(args)
            .run()
            .code(2)
            .stderr_has("It supports: auth, get-secret-value, get-dynamic-secret-value, get-rotated-secret-value, describe-item, list-items");
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

#[test]
fn auth_keeps_the_token_for_later_commands_as_the_cli_does() {
    let world = World::new();
    let jwt = world.jwt(json!({}));
    // Without --json: the CLI's human text (what ends up in $TOKEN in some docs).
    let run = world
        .akeyless()
        .env("CIRCLE_OIDC_TOKEN", &jwt)
        .args(["auth", "--access-id", JWT_ACCESS_ID, "--access-type", "jwt"])
        .args(["--jwt", &jwt])
        .stdout_is_secret()
        .run()
        .ok();
    let token = run
        .stdout
        .strip_prefix("Authentication succeeded.\nToken: ")
        .unwrap_or_else(|| panic!("{}", run.stdout))
        .trim_end();
    assert!(token.starts_with("t-"), "{}", run.stdout);
    let creds = world
        .home()
        .join(format!(".akeyless/.tmp_creds/default-{JWT_ACCESS_ID}"));
    assert_eq!(akl_testkit::mode(&creds), 0o600);
    assert_eq!(akl_testkit::mode(creds.parent().unwrap()), 0o700);
    world.fake.clear_log();

    // A later step without --token, without any credential: the kept token, no login.
    let value = world
        .akeyless()
        .args(["get-secret-value", "-n", "/ci/db-password"])
        .stdout_is_secret()
        .run()
        .ok()
        .stdout;
    assert_eq!(value, "canary-db-password-9b1f0e\n");
    // akl itself (and so akeyless_env.sh) uses it the same way.
    world
        .bare()
        .env("X", "akeyless://ci/api-token")
        .args(["env", "--stdout"])
        .stdout_is_secret()
        .run()
        .ok();
    assert_eq!(world.fake.count("auth"), 0, "{:?}", world.fake.counts());
    assert_eq!(world.fake.count("get-secret-value"), 2);

    // --json prints the login's whole answer.
    let json = world
        .akeyless()
        .env("AKEYLESS_JWT", &jwt)
        .args(["auth", "--access-id", JWT_ACCESS_ID, "--json"])
        .stdout_is_secret()
        .run()
        .ok();
    let answer: Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(answer["token"].as_str().unwrap().starts_with("t-"));
    assert!(answer["expiration"].is_string() && answer["creds"]["expiry"].is_i64());
}

#[test]
fn commands_after_auth_use_the_kept_token_of_the_access_id_in_the_environment() {
    // ci_base's way: AKEYLESS_ACCESS_ID and the ID token are CI variables, the script
    // logs in once, then runs a command per secret. Each used to log in again.
    let world = World::new();
    let jwt = world.jwt(json!({}));
    let cli = || {
        world
            .akeyless()
            .env("AKEYLESS_ACCESS_ID", JWT_ACCESS_ID)
            .env("AKEYLESS_JWT", &jwt)
    };
    let get = || cli().args(["get-secret-value", "--name", "/ci/db-password"]);
    cli()
        .args(["auth", "--access-id", JWT_ACCESS_ID])
        .stdout_is_secret()
        .run()
        .ok();
    world.fake.clear_log();
    for _ in 0..3 {
        let run = get().stdout_is_secret().run().ok();
        assert_eq!(run.stdout, "canary-db-password-9b1f0e\n");
    }
    assert_eq!(world.fake.count("auth"), 0, "{:?}", world.fake.counts());
    // A token kept for another access id is not this one's: a login.
    get().env("AKEYLESS_ACCESS_ID", "p-someoneelse").run();
    assert_eq!(world.fake.count("auth"), 1);
    // Nor is one another job kept with its own ID token (a shell runner shares HOME):
    // its rights may not be this job's.
    get()
        .env(
            "AKEYLESS_JWT",
            world.jwt(json!({"project_path": "other/project"})),
        )
        .run();
    assert_eq!(world.fake.count("auth"), 2);
    // A kept token the gateway refuses (revoked, or a gateway that restarted) is replaced
    // by a login with the environment's credentials, and the command goes on.
    world.fake.set_faults(vec![fake_akeyless::Fault::new(
        "get-secret-value",
        fake_akeyless::FaultKind::ExpiredToken,
        1,
    )]);
    let run = get().stdout_is_secret().run().ok();
    assert_eq!(run.stdout, "canary-db-password-9b1f0e\n");
    assert_eq!(world.fake.count("auth"), 3);
}

#[test]
fn list_items_walks_every_page_and_prints_the_cli_shape() {
    let mut fixture = akl_testkit::default_fixture();
    fixture.page_size = 4;
    for i in 0..10 {
        fixture = fixture.with_static(&format!("/ci/many/s{i:02}"), "canary-many-secret-0000");
    }
    let world = World::with(fixture);
    let token = akl_testkit::token(&world);
    let list = |args: &[&str]| -> Value {
        let out = world
            .akeyless()
            .env("AKEYLESS_TOKEN", &token)
            .args(["list-items"])
            .args(args)
            .run()
            .ok()
            .stdout;
        serde_json::from_str(&out).unwrap()
    };
    world.fake.clear_log();
    let all = list(&["--path", "/ci/many"]);
    let names: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item_name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 10);
    assert_eq!(names[0], "/ci/many/s00");
    assert_eq!(all["folders"], Value::Null, "an empty list prints as null");
    assert_eq!(all["next_page"], "");
    assert_eq!(world.fake.count("list-items"), 3, "pages of 4: 4 + 4 + 2");

    let typed = list(&[
        "--path",
        "/ci",
        "--type",
        "rotated-secret",
        "--filter",
        "custom",
    ]);
    assert_eq!(typed["items"][0]["item_name"], "/ci/rotated-custom");
    assert_eq!(typed["items"].as_array().unwrap().len(), 1);
    let root = list(&["--path", "/ci", "--type", "static-secret"]);
    assert_eq!(root["folders"], json!(["/ci/many", "/ci/team"]));
    let raw = world
        .akeyless()
        .env("AKEYLESS_TOKEN", &token)
        .args(["list-items", "--path", "/ci/team"])
        .run()
        .ok()
        .stdout;
    assert!(
        raw.starts_with("{\"items\":[") && raw.contains("],\"folders\":null,\"next_page\":\"\"}"),
        "the CLI's key order: {raw}"
    );
}

#[test]
fn dynamic_secrets_get_their_args_and_timeout() {
    let world = World::new();
    let token = akl_testkit::token(&world);
    world.fake.clear_log();
    let out = world
        .akeyless()
        .env("AKEYLESS_TOKEN", &token)
        .args(["get-dynamic-secret-value", "--name", "/ci/mysql"])
        .args([
            "--args",
            "db=orders",
            "--args",
            r#"{"role":"ro"}"#,
            "--timeout",
            "120",
        ])
        .stdout_is_secret()
        .run()
        .ok()
        .stdout;
    let value: Value = serde_json::from_str(&out).unwrap();
    assert!(value["user"].as_str().unwrap().starts_with("tmp_user_"));
    let call = &world.fake.log()[0];
    assert_eq!(call.args, ["db=orders", r#"{"role":"ro"}"#]);
    assert!(call.keys.contains(&"timeout".to_owned()), "{:?}", call.keys);
}

#[test]
fn the_client_type_is_the_clis_for_akeyless_and_settable_for_akl() {
    let world = World::new();
    let jwt = world.jwt(json!({}));
    world
        .akeyless()
        .env("AKEYLESS_JWT", &jwt)
        .args(["auth", "--access-id", JWT_ACCESS_ID])
        .stdout_is_secret()
        .run()
        .ok();
    world.akl().args(["auth"]).stdout_is_secret().run().ok();
    let types: Vec<Option<String>> = world
        .fake
        .log()
        .into_iter()
        .map(|e| e.client_type)
        .collect();
    assert_eq!(types, [Some("cli".to_owned()), Some("akl".to_owned())]);

    // An auth method that allows only the CLI's type: akl is told what to do.
    let limited = "p-clionly0jwt5";
    world
        .akl()
        .env("AKEYLESS_ACCESS_ID", limited)
        .args(["auth"])
        .run()
        .code(3)
        .stderr_has("refused for the client type akl sent (akl)")
        .stderr_has("set AKEYLESS_CLIENT_TYPE to one it allows");
    world
        .akl()
        .env("AKEYLESS_ACCESS_ID", limited)
        .env("AKEYLESS_CLIENT_TYPE", "cli")
        .args(["auth"])
        .stdout_is_secret()
        .run()
        .ok();
    world
        .akeyless()
        .env("AKEYLESS_JWT", &jwt)
        .args(["auth", "--access-id", limited, "--json"])
        .stdout_is_secret()
        .run()
        .ok();
}

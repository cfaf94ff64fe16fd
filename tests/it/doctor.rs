//! `akl doctor`: a report a user can act on, and no secret in it.

use serde_json::json;

use akl_testkit::World;

#[test]
fn a_healthy_setup_passes_without_fetching_a_secret() {
    let world = World::new();
    let run = world
        .akl()
        .env("DB", "akeyless://ci/db-password")
        .env("USER", "akeyless://ci/mysql#user")
        .args(["doctor"])
        .run()
        .ok();
    for line in [
        "ok    JWT login with access id p-gitlab0jwt01, ID token from AKEYLESS_JWT",
        "DB = akeyless://ci/db-password",
        "project_path: grp/app",
        "ref_protected: true",
        "ok    the token is within its validity period",
        "ok    answers the V2 API",
        "ok    login succeeded",
        "ok    /ci/db-password: STATIC_SECRET",
        "ok    /ci/mysql: DYNAMIC_SECRET",
        "no problems found",
    ] {
        assert!(
            run.stdout.contains(line),
            "{line:?} missing:\n{}",
            run.stdout
        );
    }
    let counts = world.fake.counts();
    assert_eq!(counts.get("get-secret-value"), None, "no value is fetched");
    assert_eq!(
        counts.get("get-dynamic-secret-value"),
        None,
        "no credentials are minted"
    );
}

#[test]
fn problems_are_named_with_a_fix_and_the_exit_code_of_the_worst() {
    let world = World::new();
    let expired = world.jwt(json!({"exp": 1000, "iat": 900, "nbf": 895}));
    let run = world
        .akl()
        .env("AKEYLESS_JWT", expired)
        .env("X", "akeyless://ci/nope")
        .args(["doctor"])
        .run()
        .code(3);
    assert!(
        run.stdout.contains("FAIL  the token has expired"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("JWT is expired"), "{}", run.stdout);

    let run = world
        .akl()
        .env("X", "akeyless://ci/nope")
        .args(["doctor"])
        .run()
        .code(4);
    assert!(
        run.stdout
            .contains("FAIL  /ci/nope: not found or not permitted"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("fix:  check the path"),
        "{}",
        run.stdout
    );

    let url = format!("{}/api/v1", world.fake.url());
    let run = world
        .akl()
        .env("AKEYLESS_GATEWAY_URL", url)
        .args(["doctor"])
        .run()
        .code(5);
    assert!(
        run.stdout.contains("FAIL  no V2 API at this URL"),
        "{}",
        run.stdout
    );

    let run = world
        .akl()
        .env_remove("AKEYLESS_JWT")
        .env("BAD", "akeyless:x")
        .args(["doctor"])
        .run()
        .code(2);
    assert!(
        run.stdout.contains("FAIL  no ID token found"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("AKEYLESS_JWT:"),
        "the id_tokens block is shown: {}",
        run.stdout
    );
    assert!(
        run.stdout.contains("BAD: write it as akeyless://"),
        "{}",
        run.stdout
    );
}

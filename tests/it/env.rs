//! `akl env` and `akl get`: the references a job declares become an env file that gives
//! back every value byte for byte, in as few requests as the API allows, or a failure that
//! names every variable at fault and leaves the old file alone.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use akl_testkit::{SHELLS, UID_TOKEN, World, default_fixture, mode, read, source_in};
use fake_akeyless::fixture::{ItemKind, Producer};
use fake_akeyless::{Fault, FaultKind, Fixture};

fn env_path(world: &World) -> PathBuf {
    world.home().join(".akeyless/env")
}

/// Parses an `export NAME='value'` file the way a shell would, via dash.
fn sourced(world: &World, names: &[&str]) -> Vec<String> {
    source_in(SHELLS[0], &env_path(world), names)
        .into_iter()
        .map(|v| String::from_utf8(v).unwrap())
        .collect()
}

#[test]
fn all_static_is_auth_plus_one_batched_request() {
    let world = World::new();
    let run = world
        .akl()
        .env("DB_PASSWORD", "akeyless://ci/db-password")
        .env("API_TOKEN", "akeyless://ci/api-token")
        .env("APP_PASSWORD", "akeyless://ci/app-config#password")
        .env("APP_NESTED", "akeyless:/ci/app-config|jq=.nested.key")
        .env("APP_PORT", "akeyless://ci/app-config#port")
        .env("UNRELATED", "left alone")
        .args(["env"])
        .run()
        .ok();
    assert_eq!(
        read(&env_path(&world)),
        "export API_TOKEN='canary-api-token-5d2c7a'\n\
         export APP_NESTED='canary-nested-key-8c3d'\n\
         export APP_PASSWORD='canary-app-password-1e4b'\n\
         export APP_PORT='5432'\n\
         export DB_PASSWORD='canary-db-password-9b1f0e'\n"
    );
    // Besides: a look at the items' folder, for their types should the batch be refused;
    // dropped when it answers first, so it may or may not have reached the gateway.
    assert_eq!(
        world.fake.counts_except("list-items"),
        [("auth".into(), 1), ("get-secret-value".into(), 1)].into()
    );
    assert!(
        world.fake.count("list-items") <= 1,
        "{:?}",
        world.fake.counts()
    );
    let log = world.fake.log();
    let batch = log
        .iter()
        .find(|e| e.endpoint == "get-secret-value")
        .unwrap();
    assert_eq!(
        batch.names,
        ["/ci/api-token", "/ci/app-config", "/ci/db-password"],
        "deduplicated, one batch"
    );
    assert_eq!(batch.keys, ["names", "token"]);
    let run = run.stderr_has("akl: 5 secrets (5 static) in ");
    assert!(
        run.stderr.contains(" 2 requests; wrote ") || run.stderr.contains(" 3 requests; wrote "),
        "{}",
        run.stderr
    );
    assert_eq!(mode(&env_path(&world)), 0o600);
    assert_eq!(mode(env_path(&world).parent().unwrap()), 0o700);
}

#[test]
fn items_no_listing_shows_are_described_and_fetched_by_their_type() {
    // One item per page: the look at the folder names only the first dynamic or rotated
    // secret; the others are refused as statics, described, then fetched as what they are.
    let mut fixture = default_fixture();
    fixture.page_size = 1;
    let world = World::with(fixture);
    world
        .akl()
        .env("DB", "akeyless://ci/db-password")
        .env("AWS", "akeyless://ci/aws#access_key_id")
        .env("USER", "akeyless://ci/mysql#user")
        .env("ROT", "akeyless://ci/rotated-db#password")
        .env("MISSING_OK", "akeyless://ci/api-token")
        .args(["env"])
        .run()
        .ok()
        .stderr_has("5 secrets (2 static, 2 dynamic, 1 rotated)");
    let counts = world.fake.counts();
    assert_eq!(counts["list-items"], 1, "{counts:?}");
    assert_eq!(
        counts["describe-item"], 2,
        "the two the first page did not show: {counts:?}"
    );
    assert_eq!(counts["get-dynamic-secret-value"], 2);
    assert_eq!(counts["get-rotated-secret-value"], 1);
    let v = sourced(&world, &["DB", "ROT"]);
    assert_eq!(
        v,
        ["canary-db-password-9b1f0e", "canary-rotated-password-4f6e"]
    );
}

/// `count` service folders `/ci/svc/svcNN` of `statics` static secrets each (`SNN_S`),
/// and a dynamic secret (`DBNN`) in those `dynamic` picks: the fixture, and the variables
/// that reference them all.
fn services(
    count: usize,
    statics: usize,
    dynamic: impl Fn(usize) -> bool,
) -> (Fixture, Vec<(String, String)>) {
    let (mut fixture, mut vars) = (default_fixture(), Vec::new());
    for svc in 0..count {
        let folder = format!("ci/svc/svc{svc:02}");
        for s in 0..statics {
            fixture = fixture.with_static(
                &format!("/{folder}/s{s}"),
                &format!("canary-svc{svc:02}-{s}"),
            );
            vars.push((
                format!("S{svc:02}_{s}"),
                format!("akeyless://{folder}/s{s}"),
            ));
        }
        if dynamic(svc) {
            let kind = ItemKind::Dynamic {
                producer: Producer::Sql,
            };
            fixture = fixture.with_item(&format!("/{folder}/db"), kind);
            vars.push((
                format!("DB{svc:02}"),
                format!("akeyless://{folder}/db#user"),
            ));
        }
    }
    (fixture, vars)
}

/// `akl env` in `world` with `vars`, which must succeed and say `summary`.
fn env_with(world: &World, vars: &[(String, String)], summary: &str) {
    let mut akl = world.akl();
    for (name, value) in vars {
        akl = akl.env(name, value);
    }
    akl.args(["env"]).run().ok().stderr_has(summary);
}

#[test]
fn a_database_secret_in_each_of_twenty_services_is_found_by_listing() {
    // Twenty service folders, each with five statics and a dynamic secret: the batch is
    // refused, the first look named the dynamic secrets of 8 folders, and the statics of
    // the other 12 are asked on their own; refused too, their folders are listed, which
    // names the rest. Before, splitting found each of those 12 name by name (136 requests).
    let (fixture, vars) = services(20, 5, |_| true);
    let world = World::with(fixture);
    env_with(&world, &vars, "120 secrets (100 static, 20 dynamic)");
    let counts = world.fake.counts();
    assert_eq!(counts["get-dynamic-secret-value"], 20, "{counts:?}");
    assert_eq!(counts["list-items"], 20, "each folder once: {counts:?}");
    assert!(!counts.contains_key("describe-item"), "{counts:?}");
    // The first batch; the statics of the 8 folders looked at; those of the other 12,
    // refused; the same without their dynamic secrets.
    assert_eq!(counts["get-secret-value"], 4, "{counts:?}");
    assert_eq!(
        sourced(&world, &["S07_4", "S19_0"]),
        ["canary-svc07-4", "canary-svc19-0"]
    );
}

#[test]
fn one_dynamic_secret_the_first_look_found_costs_no_more_listings() {
    // Twelve folders, one dynamic secret in the first: the first look (8 folders) names
    // it, the statics of the other four are a batch of their own, which answers, and their
    // folders are not listed.
    let (fixture, vars) = services(12, 1, |svc| svc == 0);
    let world = World::with(fixture);
    env_with(&world, &vars, "13 secrets (12 static, 1 dynamic)");
    let counts = world.fake.counts();
    assert_eq!(counts["list-items"], 8, "{counts:?}");
    // The first batch; the statics of the 8 folders looked at; those of the other 4.
    assert_eq!(counts["get-secret-value"], 3, "{counts:?}");
}

#[test]
fn a_role_that_may_list_no_folder_is_not_asked_to_list_more() {
    // The same twenty services, but no listing answers (404, as for a role without the
    // list capability): nothing says where the dynamic secrets are, and the statics are
    // split as before, with no listing of the twelve folders the first look left out.
    let (fixture, vars) = services(20, 1, |_| true);
    let world = World::with(fixture);
    world
        .fake
        .set_faults(vec![Fault::new("list-items", FaultKind::NotFound, 1000)]);
    env_with(&world, &vars, "40 secrets (20 static, 20 dynamic)");
    let counts = world.fake.counts();
    assert_eq!(counts["list-items"], 8, "{counts:?}");
    assert_eq!(counts["get-dynamic-secret-value"], 20, "{counts:?}");
}

#[test]
fn mixed_types_share_one_dynamic_call_and_fetch_concurrently() {
    let world = World::new();
    world.fake.set_latency(Duration::from_millis(60));
    world
        .akl()
        .env("DB_PASSWORD", "akeyless://ci/db-password")
        .env("DB_USER", "akeyless://ci/mysql#user")
        .env("DB_PASS", "akeyless://ci/mysql#password")
        .env("AWS", "akeyless://ci/aws")
        .env("ROTATED_PASSWORD", "akeyless://ci/rotated-db#password")
        .env("CUSTOM", "akeyless://ci/rotated-custom")
        .env("TARGET", "akeyless://ci/rotated-target#password")
        .args(["env"])
        .run()
        .ok()
        .stderr_has("7 secrets (1 static, 3 dynamic, 3 rotated)");
    let counts = world.fake.counts();
    assert_eq!(counts["auth"], 1);
    assert_eq!(
        counts["get-secret-value"], 2,
        "the optimistic batch, then the statics again"
    );
    assert_eq!(
        counts["list-items"], 1,
        "one look at the items' folder gives every type"
    );
    assert!(!counts.contains_key("describe-item"), "{counts:?}");
    assert_eq!(
        counts["get-dynamic-secret-value"], 2,
        "one call per dynamic item, not per variable"
    );
    assert_eq!(counts["get-rotated-secret-value"], 3);

    let v = sourced(
        &world,
        &[
            "DB_PASSWORD",
            "DB_USER",
            "DB_PASS",
            "AWS",
            "ROTATED_PASSWORD",
            "CUSTOM",
            "TARGET",
        ],
    );
    assert_eq!(v[0], "canary-db-password-9b1f0e");
    assert!(v[1].starts_with("tmp_user_") && v[2].starts_with("dyn-canary-"));
    // Both fields come from the one set of credentials the fake minted.
    let issued = world.fake.canaries();
    assert!(issued.contains(&v[1]) && issued.contains(&v[2]));
    let aws: Value = serde_json::from_str(&v[3]).expect("a whole dynamic secret is compact JSON");
    assert!(aws["access_key_id"].as_str().unwrap().starts_with("AKIA"));
    assert!(
        !v[3].contains(' ') && !v[3].contains('\n'),
        "compact: {}",
        v[3]
    );
    assert_eq!(v[4], "canary-rotated-password-4f6e");
    assert_eq!(
        v[5],
        r#"{"api_key":"canary-rotated-api-key-0a9d","region":"eu-west-1"}"#
    );
    assert_eq!(v[6], "canary-rotated-target-7e21");

    // The per-item phase ran concurrently: with 60 ms per request, the fetches overlap.
    let log = world.fake.log();
    let fetches: Vec<_> = log
        .iter()
        .filter(|e| e.endpoint.starts_with("get-") && e.endpoint != "get-secret-value")
        .collect();
    assert_eq!(fetches.len(), 5);
    let first_end = fetches.iter().map(|e| e.finished_ms).min().unwrap();
    let last_start = fetches.iter().map(|e| e.started_ms).max().unwrap();
    assert!(
        last_start < first_end,
        "the dynamic and rotated fetches did not overlap: {fetches:?}"
    );
}

#[test]
fn versions_are_batched_per_version() {
    let world = World::new();
    world
        .akl()
        .env("OLD", "akeyless:/ci/versioned|version=1")
        .env("NEW", "akeyless://ci/versioned")
        .env("ALSO_OLD", "akeyless://ci/versioned|version=1")
        .args(["env"])
        .run()
        .ok();
    assert_eq!(
        sourced(&world, &["OLD", "NEW", "ALSO_OLD"]),
        [
            "canary-version-one-aa11",
            "canary-version-two-bb22",
            "canary-version-one-aa11"
        ]
    );
    assert_eq!(world.fake.count("get-secret-value"), 2);
    assert!(
        world
            .fake
            .log()
            .iter()
            .any(|e| e.keys.contains(&"version".to_owned()))
    );
}

#[test]
fn every_failure_is_listed_with_its_reason_and_the_old_file_stays() {
    let world = World::new();
    let path = env_path(&world);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "export OLD='kept'\n").unwrap();
    let run = world
        .akl()
        .env("GOOD", "akeyless://ci/db-password")
        .env("MISSING", "akeyless://ci/nope")
        .env("OUTSIDE", "akeyless://other/outside")
        .env("DENIED", "akeyless://ci/denied")
        .env("LIST_ONLY", "akeyless://ops/list-only")
        .env("CERT", "akeyless://ci/cert")
        .env("NO_FIELD", "akeyless://ci/app-config#pasword")
        .env("NOT_JSON", "akeyless://ci/db-password#x")
        .env("DYN_FIELD", "akeyless://ci/mysql#nope")
        .env("OLD_VERSION", "akeyless:/ci/versioned|version=9")
        .args(["env"])
        .run()
        .code(4);
    let run = run
        .stderr_has("error: 9 references could not be resolved")
        .stderr_has("MISSING (akeyless://ci/nope): not found or not permitted\n")
        .stderr_has("OUTSIDE (akeyless://other/outside): not found or not permitted")
        .stderr_has("DENIED (akeyless://ci/denied): not found or not permitted\n")
        .stderr_has("LIST_ONLY (akeyless://ops/list-only): not permitted (access denied to item /ops/list-only")
        .stderr_has("CERT (akeyless://ci/cert): wrong type: the item is a CERTIFICATE")
        .stderr_has("NO_FIELD (akeyless://ci/app-config#pasword): missing field: it has no field pasword (did you mean password? it has nested, password, port, user)")
        .stderr_has("NOT_JSON (akeyless://ci/db-password#x): missing field: a field was asked for, but the value is not JSON")
        .stderr_has("DYN_FIELD (akeyless://ci/mysql#nope): missing field: it has no field nope (it has id, password, ttl_in_minutes, user)")
        .stderr_has("OLD_VERSION (akeyless://ci/versioned|version=9): bad version: there is no version 9 (the latest is 2)")
        .stderr_has("hint: ");
    assert!(!run.stderr.contains("GOOD"), "{}", run.stderr);
    assert_eq!(
        read(&path),
        "export OLD='kept'\n",
        "the old env file is left untouched"
    );
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary files left behind");
}

#[test]
fn allow_missing_turns_failures_into_warnings() {
    let world = World::new();
    let run = world
        .akl()
        .env("AKEYLESS_ALLOW_MISSING", "true")
        .env("GOOD", "akeyless://ci/db-password")
        .env("MISSING", "akeyless://ci/nope")
        .args(["env"])
        .run()
        .ok();
    run.stderr_has("warning: MISSING (akeyless://ci/nope) left out: not found or not permitted")
        .stderr_has("1 secret (1 static), 1 skipped");
    assert_eq!(
        read(&env_path(&world)),
        "export GOOD='canary-db-password-9b1f0e'\n"
    );
}

#[test]
fn values_survive_sourcing_byte_for_byte_in_three_shells() {
    let big = "x'\"$`\\\n".repeat(150_000); // 1 MiB with every quoting hazard
    let world = World::with(default_fixture().with_static("/ci/big", &format!("canary-big-{big}")));
    world
        .akl()
        .env("TRICKY", "akeyless://ci/tricky")
        .env("BIG", "akeyless://ci/big")
        .args(["env"])
        .run()
        .ok()
        .stderr_has("warning: BIG is ")
        .stderr_has("Argument list too long");
    let tricky = "\n canary-tricky 'single' \"double\" $HOME `id` \\ ! -n\r\nünïcødé ✓\n";
    for shell in SHELLS {
        let got = source_in(shell, &env_path(&world), &["TRICKY", "BIG"]);
        assert!(
            got[0] == tricky.as_bytes(),
            "{shell:?}: {:?}",
            String::from_utf8_lossy(&got[0])
        );
        assert!(
            got[1] == format!("canary-big-{big}").as_bytes(),
            "{shell:?}: BIG differs"
        );
    }
}

#[test]
fn a_nul_byte_is_exit_4_naming_the_variable() {
    let world = World::with(default_fixture().with_static("/ci/nul", "canary-before\0after"));
    world
        .akl()
        .env("WITH_NUL", "akeyless://ci/nul")
        .args(["env"])
        .run()
        .code(4)
        .stderr_has("WITH_NUL (akeyless://ci/nul): the value contains a NUL byte");
    assert!(!env_path(&world).exists());
}

#[test]
fn malformed_references_and_names_fail_before_any_request() {
    let world = World::new();
    world
        .akl()
        .env("BAD_REF", "akeyless:ci/db")
        .env("BAD-NAME", "akeyless://ci/db-password")
        .env("BAD_OPTION", "akeyless:/ci/db|jq=.a|jq=.b")
        .args(["env"])
        .run()
        .code(2)
        .stderr_has("3 variables hold malformed akeyless: references")
        .stderr_has("BAD_REF: write it as akeyless://path/to/secret")
        .stderr_has("BAD-NAME: this name cannot be exported")
        .stderr_has("BAD_OPTION: option `jq` is given twice");
    assert!(world.fake.log().is_empty());
}

#[test]
fn stdout_and_json_output() {
    let world = World::new();
    let run = world
        .akl()
        .env("A", "akeyless://ci/db-password")
        .args(["env", "--stdout"])
        .stdout_is_secret()
        .run()
        .ok()
        .stderr_has("printed to stdout");
    assert_eq!(run.stdout, "export A='canary-db-password-9b1f0e'\n");
    assert!(!env_path(&world).exists());

    let out = world.dir.path().join("out/secrets.json");
    world
        .akl()
        .env("A", "akeyless://ci/db-password")
        .env("B", "akeyless://ci/tricky")
        .args(["env", "--format", "json", "--output"])
        .args([&out])
        .run()
        .ok();
    let json: Value = serde_json::from_str(&read(&out)).unwrap();
    assert_eq!(json["A"], "canary-db-password-9b1f0e");
    assert_eq!(
        json["B"],
        "\n canary-tricky 'single' \"double\" $HOME `id` \\ ! -n\r\nünïcødé ✓\n"
    );
}

#[test]
fn env_file_variable_sets_the_path() {
    let world = World::new();
    let path = world.dir.path().join("elsewhere/env");
    world
        .akl()
        .env("AKEYLESS_ENV_FILE", &path)
        .env("A", "akeyless://ci/api-token")
        .args(["env"])
        .run()
        .ok();
    assert_eq!(read(&path), "export A='canary-api-token-5d2c7a'\n");
}

#[test]
fn no_references_means_an_empty_file_and_no_requests() {
    let world = World::new();
    world
        .bare()
        .env("PLAIN", "x")
        .args(["env"])
        .run()
        .ok()
        .stderr_has("akl: no akeyless: references in ")
        .stderr_has(" ms, 0 requests; wrote ");
    assert_eq!(read(&env_path(&world)), "");
    assert!(world.fake.log().is_empty());
}

#[test]
fn auth_failure_is_exit_3_and_keeps_the_old_file() {
    let world = World::new();
    let path = env_path(&world);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "export OLD='kept'\n").unwrap();
    let expired = world.jwt(json!({"exp": 1000, "iat": 900, "nbf": 895}));
    world
        .akl()
        .env("AKEYLESS_JWT", expired)
        .env("A", "akeyless://ci/db-password")
        .args(["env"])
        .run()
        .code(3)
        .stderr_has("JWT is expired");
    assert_eq!(read(&path), "export OLD='kept'\n");
}

#[test]
fn jwt_comes_from_the_legacy_and_named_variables() {
    let world = World::new();
    let jwt = world.jwt(json!({}));
    world
        .akl()
        .env_remove("AKEYLESS_JWT")
        .env("CI_JOB_JWT_V2", &jwt)
        .env("A", "akeyless://ci/db-password")
        .args(["env"])
        .run()
        .ok();
    world
        .akl()
        .env_remove("AKEYLESS_JWT")
        .env("AKEYLESS_JWT_VAR", "FIRST_ID_TOKEN")
        .env("FIRST_ID_TOKEN", &jwt)
        .env("A", "akeyless://ci/db-password")
        .args(["env"])
        .run()
        .ok();
    assert_eq!(world.fake.count("auth"), 2);
}

#[test]
fn a_universal_identity_token_is_sent_as_uid_token() {
    let world = World::new();
    world
        .bare()
        .env("AKEYLESS_TOKEN", UID_TOKEN)
        .env("A", "akeyless://ci/api-token")
        .args(["env"])
        .run()
        .ok();
    let log = world.fake.log();
    assert_eq!(world.fake.count("auth"), 0, "no /auth with a ready token");
    let batch = log
        .iter()
        .find(|e| e.endpoint == "get-secret-value")
        .unwrap();
    assert_eq!(batch.keys, ["names", "uid-token"]);
}

#[test]
fn get_prints_one_value() {
    let world = World::new();
    let get = |reference: &str| {
        world
            .akl()
            .args(["get", reference])
            .stdout_is_secret()
            .run()
    };
    assert_eq!(
        get("akeyless://ci/db-password").ok().stdout,
        "canary-db-password-9b1f0e\n"
    );
    assert_eq!(get("ci/api-token").ok().stdout, "canary-api-token-5d2c7a\n");
    assert_eq!(get("/ci/app-config").ok().stdout.lines().count(), 1);
    assert_eq!(
        get("akeyless://ci/app-config#nested.key").ok().stdout,
        "canary-nested-key-8c3d\n"
    );
    assert_eq!(
        get("akeyless://ci/rotated-db#password").ok().stdout,
        "canary-rotated-password-4f6e\n"
    );
    let run = world
        .akl()
        .args(["get", "-n", "ci/versioned"])
        .stdout_is_secret()
        .run()
        .ok();
    assert_eq!(run.stdout, "canary-version-two-bb22");
    world
        .akl()
        .args(["get", "ci/nope"])
        .run()
        .code(4)
        .stderr_has("error: akeyless://ci/nope could not be resolved\n  Caused by: not found or not permitted");
    world
        .akl()
        .args(["get", "akeyless:ci"])
        .run()
        .code(2)
        .stderr_has("`akeyless:ci` is not a usable reference");
}

#[test]
fn reuse_keeps_a_file_written_for_the_same_references() {
    let world = World::new();
    let env = |job: &str, extra: Option<(&str, &str)>| {
        let mut akl = world
            .akl()
            .env("CI_JOB_ID", job)
            .env("U", "akeyless://ci/mysql#user");
        if let Some((k, v)) = extra {
            akl = akl.env(k, v);
        }
        akl.args(["env", "--reuse"]).run().ok()
    };
    env("1", None).stderr_has("wrote ");
    let first = read(&env_path(&world));
    env("1", None).stderr_has("reusing ");
    assert_eq!(read(&env_path(&world)), first);
    assert_eq!(
        world.fake.count("get-dynamic-secret-value"),
        1,
        "no second set of credentials"
    );
    env("1", Some(("V", "akeyless://ci/api-token"))).stderr_has("wrote ");
    env("2", Some(("V", "akeyless://ci/api-token"))).stderr_has("wrote ");
    assert_eq!(world.fake.count("get-dynamic-secret-value"), 3);
    assert_eq!(mode(&env_path(&world).with_file_name(".env.refs")), 0o600);
}

#[test]
fn an_unusable_home_falls_back_to_a_private_directory() {
    let world = World::new();
    let tmp = world.dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let uid = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap();
    let fallback = tmp.join(format!("akl-{uid}/.akeyless/env"));
    // Another user's HOME (a container run as an arbitrary user).
    let theirs = world.dir.path().join("their-home");
    std::fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(1000), Some(1000)).unwrap();
    let theirs = theirs.to_str().unwrap();
    for home in [None, Some("/sys"), Some(theirs)] {
        let mut akl = world
            .akl()
            .env_remove("HOME")
            .env("TMPDIR", &tmp)
            .env("A", "akeyless://ci/api-token");
        if let Some(home) = home {
            akl = akl.env("HOME", home);
        }
        let run = akl.args(["env"]).run().ok();
        let why = match home {
            Some("/sys") => "/sys/.akeyless is not writable".to_owned(),
            Some(theirs) => format!("{theirs} is not ours to write in"),
            None => "HOME is not set".to_owned(),
        };
        run.stderr_has(&why).stderr_has(&format!(
            "the env file goes to {} instead",
            fallback.display()
        ));
        assert_eq!(read(&fallback), "export A='canary-api-token-5d2c7a'\n");
    }
    // A path the user chose is not second-guessed.
    world
        .akl()
        .env("AKEYLESS_ENV_FILE", "/sys/akl/env")
        .env("A", "akeyless://ci/api-token")
        .args(["env"])
        .run()
        .code(1)
        .stderr_has("cannot create the directory /sys/akl");
    assert_eq!(
        world.fake.count("get-secret-value"),
        3,
        "the bad path failed before any request"
    );
}

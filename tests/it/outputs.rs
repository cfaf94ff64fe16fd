//! More outputs from one reference: `#*` and folders fan out into many variables,
//! `|file=true` writes files, dynamic secrets take producer options and what they mint is
//! revoked. Names generated from data are checked before anything is written.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use akl_testkit::{SHELLS, World, default_fixture, mode, read, source_in};
use fake_akeyless::Fixture;
use fake_akeyless::fixture::{Item, ItemKind, Producer, RotatedForm};

const JSON_SECRET: &str = r#"{"user":"svc","password":"canary-fan-password-71c2","port":5432,"tls":true,"nested":{"key":"canary-fan-nested-0d9e"},"clé":"canary-fan-accent-55e1","api-key.v2":"canary-fan-apikey-9a3b"}"#;

/// Bytes no text can hold: NUL, 0xff, a lone continuation byte, a final newline.
const BINARY: [u8; 10] = [0, 1, 2, 3, 0xff, 0, 0xfe, 0x80, b'x', b'\n'];

const KUBECONFIG: &str = "apiVersion: v1\nkind: Config\nusers:\n- name: ci\n  user:\n    token: canary-kube-token-6f1d2e\n";

fn fixture() -> Fixture {
    use base64::Engine;
    default_fixture()
        .with_static("/ci/fan/json", JSON_SECRET)
        .with_static(
            "/ci/fan/colliding",
            r#"{"api-key":"canary-collide-one-1111","api_key":"canary-collide-two-2222","ok":"fine"}"#,
        )
        .with_static(
            "/ci/fan/loader",
            r#"{"LD_PRELOAD":"/tmp/canary-evil.so","PATH":"/tmp/canary-evil-bin","fine":"x"}"#,
        )
        .with_static(
            "/ci/fan/binary",
            &base64::engine::general_purpose::STANDARD.encode(BINARY),
        )
        .with_static("/ci/kube/config", KUBECONFIG)
        .with_static("/ci/kube/ca", "canary-kube-ca-certificate-1a2b")
}

fn env_path(world: &World) -> PathBuf {
    world.home().join(".akeyless/env")
}

fn files_dir(world: &World) -> PathBuf {
    world.home().join(".akeyless/files")
}

/// The named variables after sourcing the env file, in every shell (all must agree).
fn sourced(world: &World, names: &[&str]) -> Vec<String> {
    let mut agreed: Option<Vec<Vec<u8>>> = None;
    for shell in SHELLS {
        let got = source_in(shell, &env_path(world), names);
        if let Some(first) = &agreed {
            assert_eq!(&got, first, "{shell:?} disagrees");
        }
        agreed = Some(got);
    }
    agreed
        .unwrap()
        .into_iter()
        .map(|v| String::from_utf8(v).unwrap())
        .collect()
}

#[test]
fn json_fans_out_nested_numeric_boolean_and_non_ascii_keys() {
    let world = World::with(fixture());
    world
        .akl()
        .env("DB", "akeyless://ci/fan/json#*")
        .env(
            "APP",
            "akeyless:/ci/fan/json|parse_json_secret=true|prefix=APP_CFG_",
        )
        .args(["env"])
        .run()
        .ok()
        .stderr_has("akl: 16 secrets (16 static)");
    let names = [
        "DB",
        "DB_USER",
        "DB_PASSWORD",
        "DB_PORT",
        "DB_TLS",
        "DB_NESTED",
        "DB_CL_",
        "DB_API_KEY_V2",
        "APP",
        "APP_CFG_USER",
        "APP_CFG_CL_",
    ];
    let v = sourced(&world, &names);
    assert_eq!(v[0], JSON_SECRET, "X keeps the whole JSON as stored");
    assert_eq!(v[1], "svc");
    assert_eq!(v[2], "canary-fan-password-71c2");
    assert_eq!(v[3], "5432", "numbers as JSON text");
    assert_eq!(v[4], "true", "booleans as JSON text");
    assert_eq!(
        v[5], r#"{"key":"canary-fan-nested-0d9e"}"#,
        "objects compact"
    );
    assert_eq!(v[6], "canary-fan-accent-55e1", "é is one _");
    assert_eq!(v[7], "canary-fan-apikey-9a3b");
    assert_eq!(v[8], JSON_SECRET);
    assert_eq!(
        (v[9].as_str(), v[10].as_str()),
        ("svc", "canary-fan-accent-55e1")
    );
    // One item, fetched once for both variables.
    assert_eq!(
        world.fake.counts_except("list-items"),
        [("auth".into(), 1), ("get-secret-value".into(), 1)].into()
    );
}

#[test]
fn bare_keys_with_parse_json_without_prefix() {
    let world = World::with(fixture());
    world
        .akl()
        .env(
            "CFG",
            "akeyless:/ci/app-config|parse_json_without_prefix=true",
        )
        .args(["env"])
        .run()
        .ok();
    let v = sourced(&world, &["USER", "PASSWORD", "PORT", "NESTED"]);
    assert_eq!(v[0], "app");
    assert_eq!(v[1], "canary-app-password-1e4b");
    assert_eq!(v[2], "5432");
    assert_eq!(v[3], r#"{"key":"canary-nested-key-8c3d"}"#);
}

#[test]
fn dynamic_and_rotated_secrets_fan_out_from_one_call_each() {
    let world = World::with(fixture());
    world
        .akl()
        .env("DB", "akeyless://ci/mysql#*")
        .env("DB_AGAIN", "akeyless://ci/mysql#password")
        .env("ROT", "akeyless://ci/rotated-db#*")
        .args(["env"])
        .run()
        .ok();
    let v = sourced(
        &world,
        &[
            "DB",
            "DB_USER",
            "DB_PASSWORD",
            "DB_AGAIN",
            "ROT_USERNAME",
            "ROT_PASSWORD",
        ],
    );
    let whole: Value = serde_json::from_str(&v[0]).unwrap();
    assert_eq!(whole["user"], v[1].as_str());
    assert_eq!(whole["password"], v[2].as_str());
    assert_eq!(v[2], v[3], "one set of credentials for every variable");
    assert_eq!(v[4], "rotated_user");
    assert_eq!(v[5], "canary-rotated-password-4f6e");
    let counts = world.fake.counts();
    assert_eq!(counts["get-dynamic-secret-value"], 1);
    assert_eq!(counts["get-rotated-secret-value"], 1);
}

#[test]
fn keys_that_collide_after_normalisation_are_all_listed_and_nothing_is_written() {
    let world = World::with(fixture());
    std::fs::create_dir_all(env_path(&world).parent().unwrap()).unwrap();
    std::fs::write(env_path(&world), "export OLD='kept'\n").unwrap();
    world
        .akl()
        .env("X", "akeyless://ci/fan/colliding#*")
        .env("DB", "akeyless://ci/fan/json#*")
        .env("DB_USER", "set-by-the-job")
        .env("DB_PORT", "5432")
        .args(["env"])
        .run()
        .code(4)
        .stderr_has("error: 2 generated variable names cannot be used")
        .stderr_has(
            "X_API_KEY would be set twice: X_API_KEY (key \"api-key\" of X) and X_API_KEY (key \"api_key\" of X)",
        )
        .stderr_has("DB_USER (key \"user\" of DB): would replace the job's own variable DB_USER")
        .stderr_has("hint: nothing was written");
    assert_eq!(read(&env_path(&world)), "export OLD='kept'\n");
}

#[test]
fn generated_names_that_change_the_loader_or_the_shell_are_refused() {
    let world = World::with(fixture());
    world
        .akl()
        .env("L", "akeyless:/ci/fan/loader|parse_json_without_prefix=true")
        .args(["env"])
        .run()
        .code(4)
        .stderr_has("LD_PRELOAD (key \"LD_PRELOAD\" of L): a generated name may not change how the shell, the dynamic loader or akl behaves")
        .stderr_has("PATH (key \"PATH\" of L): a generated name may not change");
    assert!(!env_path(&world).exists());

    // Under a prefix they are ordinary names; an explicit one is the author's choice.
    world
        .akl()
        .env("L", "akeyless://ci/fan/loader#*")
        .env("LD_LIBRARY_PATH", "akeyless://ci/db-password")
        .args(["env"])
        .run()
        .ok()
        .stderr_has("warning: LD_LIBRARY_PATH is set from Akeyless");
    let v = sourced(&world, &["L_LD_PRELOAD", "L_PATH"]);
    assert_eq!(v, ["/tmp/canary-evil.so", "/tmp/canary-evil-bin"]);
}

/// 1,400 static, 50 dynamic and 50 rotated secrets in one folder, and one in a sub-folder.
fn big_folder() -> Fixture {
    let mut fixture = fixture();
    for i in 0..1400 {
        fixture = fixture.with_static(
            &format!("/ci/big/s{i:04}"),
            &format!("canary-big-static-{i:04}"),
        );
    }
    for i in 0..50 {
        fixture = fixture.with_item(
            &format!("/ci/big/d{i:02}"),
            ItemKind::Dynamic {
                producer: Producer::Sql,
            },
        );
        let mut value = Map::new();
        value.insert(
            "password".into(),
            json!(format!("canary-big-rotated-{i:02}")),
        );
        fixture = fixture.with_item(
            &format!("/ci/big/r{i:02}"),
            ItemKind::Rotated {
                value,
                form: RotatedForm::Fields,
            },
        );
    }
    fixture.with_static("/ci/big/sub/deep", "canary-big-sub-deep-77")
}

#[test]
fn a_folder_of_1500_mixed_items_is_one_walk_one_batch_and_one_call_per_dynamic_or_rotated() {
    let world = World::with(big_folder());
    world
        .akl()
        .env("BIG", "akeyless://ci/big/*")
        .args(["env"])
        .run()
        .ok()
        .stderr_has("akl: 1500 secrets (1400 static, 50 dynamic, 50 rotated)");
    let counts = world.fake.counts();
    assert_eq!(
        counts,
        [
            ("auth".into(), 1),
            ("list-items".into(), 2),
            ("get-secret-value".into(), 1),
            ("get-dynamic-secret-value".into(), 50),
            ("get-rotated-secret-value".into(), 50),
        ]
        .into(),
        "auth, a walk of two pages, one batch, one call per dynamic or rotated secret"
    );
    let v = sourced(&world, &["BIG_S0000", "BIG_S1399", "BIG_R49", "BIG_D07"]);
    assert_eq!(v[0], "canary-big-static-0000");
    assert_eq!(v[1], "canary-big-static-1399");
    assert_eq!(v[2], r#"{"password":"canary-big-rotated-49"}"#);
    assert!(
        v[3].contains("dyn-canary-"),
        "a dynamic secret's whole JSON"
    );
    let file = read(&env_path(&world));
    assert!(!file.contains("BIG_SUB"), "/* stays in the folder");
    assert!(file.starts_with("unset BIG\n"), "X itself is not set");

    world
        .akl()
        .env("T", "akeyless://ci/big/**|prefix=TREE_")
        .args(["env"])
        .run()
        .ok()
        .stderr_has("akl: 1501 secrets");
    let v = sourced(&world, &["TREE_SUB_DEEP", "TREE_S0001"]);
    assert_eq!(v, ["canary-big-sub-deep-77", "canary-big-static-0001"]);
}

#[test]
fn a_folder_with_nothing_readable_is_unresolved() {
    let world = World::with(fixture());
    world
        .akl()
        .env("NONE", "akeyless://ci/nothing/here/*")
        .env("LISTED", "akeyless://ops/*")
        .args(["env"])
        .run()
        .code(4)
        .stderr_has("NONE (akeyless://ci/nothing/here/*): the folder holds no static, dynamic or rotated secret this role may list")
        .stderr_has("LISTED_LIST_ONLY (akeyless://ops/list-only): not permitted");
}

#[test]
fn files_hold_any_bytes_and_go_when_their_variable_does() {
    let world = World::with(fixture());
    world
        .akl()
        .env("KEY", "akeyless:/ci/fan/binary|decode=base64|file=true")
        .env("KUBECONFIG", "akeyless:/ci/kube/config|file=true")
        .env("CFG", "akeyless://ci/fan/json#*|file=true")
        .args(["env"])
        .run()
        .ok();
    let dir = files_dir(&world);
    assert_eq!(mode(&dir), 0o700);
    for name in ["KEY", "KUBECONFIG", "CFG", "CFG_PASSWORD"] {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
    let v = sourced(&world, &["KEY", "KUBECONFIG", "CFG_PASSWORD"]);
    assert_eq!(Path::new(&v[0]), dir.join("KEY"));
    assert_eq!(std::fs::read(&v[1]).unwrap(), KUBECONFIG.as_bytes());
    assert_eq!(std::fs::read(&v[2]).unwrap(), b"canary-fan-password-71c2");
    // Read back byte for byte through each shell.
    for shell in SHELLS {
        let out = std::process::Command::new(shell[0])
            .args(&shell[1..])
            .args(["-c", ". \"$1\" && cat \"$KEY\"", "sh"])
            .arg(env_path(&world))
            .env_clear()
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell:?}");
        assert_eq!(out.stdout, BINARY, "{shell:?}");
    }

    // The next run without KEY removes its file; the others are replaced.
    world
        .akl()
        .env("KUBECONFIG", "akeyless:/ci/kube/config|file=true")
        .args(["env"])
        .run()
        .ok();
    assert!(!dir.join("KEY").exists());
    assert!(!dir.join("CFG_PASSWORD").exists());
    assert_eq!(
        std::fs::read(dir.join("KUBECONFIG")).unwrap(),
        KUBECONFIG.as_bytes()
    );
}

#[test]
fn binary_content_needs_a_file() {
    let world = World::with(fixture());
    world
        .akl()
        .env("KEY", "akeyless:/ci/fan/binary|decode=base64")
        .args(["env"])
        .run()
        .code(4)
        .stderr_has("add |file=true to have binary content written to a file");
}

#[test]
fn akl_run_files_live_as_long_as_the_command() {
    let world = World::with(fixture());
    let tmp = world.dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o700)).unwrap();
    let seen = world.dir.path().join("seen");
    let run = world
        .akl()
        .env("TMPDIR", &tmp)
        .env("KUBECONFIG", "akeyless:/ci/kube/config|file=true")
        .env("SEEN", &seen)
        .args(["run", "--", "sh", "-c"])
        .args([
            "printf '%s' \"$KUBECONFIG\" >\"$SEEN\"; echo \"at $KUBECONFIG\"; cat \"$KUBECONFIG\"",
        ])
        .run()
        .ok();
    assert!(run.stdout.contains("[MASKED]"), "{}", run.stdout);
    let path = PathBuf::from(read(&seen));
    assert!(
        run.stdout.contains(&format!("at {}\n", path.display())),
        "the path is not secret: {}",
        run.stdout
    );
    assert!(path.starts_with(&tmp), "{}", path.display());
    assert!(!path.exists(), "removed when the command ended");
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "nothing left in TMPDIR"
    );
}

#[test]
fn producer_options_reach_the_producer_and_split_fetches() {
    let world = World::with(fixture());
    world
        .akl()
        .env(
            "A",
            "akeyless:/ci/mysql|args=db=orders|args={\"role\":\"ro\"}|timeout=30#password",
        )
        .env(
            "B",
            "akeyless://ci/mysql|args=db=orders|args={\"role\":\"ro\"}|timeout=30",
        )
        .env("C", "akeyless://ci/mysql")
        .args(["env"])
        .run()
        .code(2)
        .stderr_has("A: timeout=`30#password` is not a number of seconds");
    world
        .akl()
        .env(
            "A",
            "akeyless://ci/mysql#password|args=db=orders|args={\"role\":\"ro\"}|timeout=30",
        )
        .env(
            "B",
            "akeyless://ci/mysql#user|args=db=orders|args={\"role\":\"ro\"}|timeout=30",
        )
        .env("C", "akeyless://ci/mysql")
        .args(["env"])
        .run()
        .ok();
    let calls: Vec<_> = world
        .fake
        .log()
        .into_iter()
        .filter(|e| e.endpoint == "get-dynamic-secret-value")
        .collect();
    assert_eq!(
        calls.len(),
        2,
        "A and B share one call; C has other options"
    );
    let with = calls.iter().find(|e| !e.args.is_empty()).unwrap();
    assert_eq!(with.args, ["db=orders", r#"{"role":"ro"}"#]);
    assert!(with.keys.contains(&"timeout".to_owned()), "{:?}", with.keys);
}

#[test]
fn akl_run_revokes_what_it_minted_unless_told_not_to() {
    let world = World::with(fixture());
    world
        .akl()
        .env("DB", "akeyless://ci/mysql#password")
        .args(["run", "--", "true"])
        .run()
        .ok();
    assert_eq!(world.fake.count("get-dynamic-secret-value"), 1);
    assert_eq!(world.fake.count("dynamic-secret-tmp-creds-delete"), 1);
    assert!(world.fake.live().is_empty(), "{:?}", world.fake.live());

    world
        .akl()
        .env("DB", "akeyless://ci/mysql#password")
        .env("AKEYLESS_REVOKE", "false")
        .args(["run", "--no-mask", "--", "true"])
        .run()
        .ok();
    assert_eq!(world.fake.live().len(), 1);

    // --no-mask still revokes: akl waits for the command instead of becoming it.
    world.fake.clear_log();
    world
        .akl()
        .env("AWS", "akeyless://ci/aws")
        .args(["run", "--no-mask", "--", "sh", "-c", "exit 7"])
        .run()
        .code(7);
    assert_eq!(world.fake.count("dynamic-secret-tmp-creds-delete"), 1);
    assert_eq!(world.fake.live().len(), 1, "only the one kept above");
}

#[test]
fn a_run_that_fails_revokes_what_it_minted() {
    let world = World::with(fixture());
    world
        .akl()
        .env("DB", "akeyless://ci/mysql#password")
        .env("MISSING", "akeyless://ci/nope")
        .args(["env"])
        .run()
        .code(4);
    assert_eq!(world.fake.count("get-dynamic-secret-value"), 1);
    assert!(world.fake.live().is_empty(), "{:?}", world.fake.live());
}

#[test]
fn a_run_whose_record_cannot_be_added_to_revokes_what_it_minted() {
    let world = World::with(fixture());
    let dir = world.home().join(".akeyless");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let record = dir.join(".env.minted");
    std::fs::write(&record, "").unwrap();
    std::fs::set_permissions(&record, std::fs::Permissions::from_mode(0o622)).unwrap();
    world
        .akl()
        .env("DB", "akeyless://ci/mysql#password")
        .args(["env"])
        .run()
        .code(2)
        .stderr_has(".env.minted")
        .stderr_has("can be written by others");
    assert_eq!(world.fake.count("get-dynamic-secret-value"), 1);
    assert!(world.fake.live().is_empty(), "{:?}", world.fake.live());
    assert!(!env_path(&world).exists(), "no env file without its record");
    assert_eq!(std::fs::read(&record).unwrap(), b"");
}

#[test]
fn a_run_whose_record_has_no_place_revokes_what_it_minted() {
    // With --stdout, the record's place (beside the default env file) is known only once
    // the values are: here a directory of another user's.
    let world = World::with(fixture());
    let theirs = world.dir.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(1000), Some(1000)).unwrap();
    world
        .akl()
        .env("AKEYLESS_ENV_FILE", theirs.join("env"))
        .env("DB", "akeyless://ci/mysql#password")
        .args(["env", "--stdout"])
        .run()
        .code(2)
        .stderr_has("belongs to uid 1000");
    assert_eq!(world.fake.count("get-dynamic-secret-value"), 1);
    assert!(world.fake.live().is_empty(), "{:?}", world.fake.live());
}

#[test]
fn a_run_that_fails_after_recording_revokes_and_forgets_what_it_minted() {
    // A full disk: the record (a line appended to a page it has already) is written, then
    // the env file, which holds a large value, does not fit.
    let world = World::with(fixture().with_static("/ci/large", &"x".repeat(200_000)));
    let dir = world.dir.path().join("job");
    std::fs::create_dir(&dir).unwrap();
    let script = r#"printf '{"name":"/ci/other","id":"kept-1"}\n' > "$1/.env.minted"
chmod 600 "$1/.env.minted"
head -c 40000 /dev/zero > "$1/filler"
"$2" env; echo "akl exit $?"
echo "record: $(cat "$1/.env.minted")"
echo "entries: $(ls -A "$1" | tr '\n' ' ')""#;
    let run = world
        .akl()
        .env("AKEYLESS_ENV_FILE", dir.join("env"))
        .env("DB", "akeyless://ci/mysql#password")
        .env("L", "akeyless://ci/large")
        .on_a_small_tmpfs(&dir, script)
        .run()
        .ok();
    let shown = format!("{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("akl exit 1\n"), "{shown}");
    assert!(run.stderr.contains("No space left on device"), "{shown}");
    assert_eq!(world.fake.count("get-dynamic-secret-value"), 1);
    assert!(world.fake.live().is_empty(), "{:?}", world.fake.live());
    // What was recorded before this run stays; this run's line is gone with its credentials.
    assert!(
        run.stdout
            .contains("record: {\"name\":\"/ci/other\",\"id\":\"kept-1\"}\nentries:"),
        "{shown}"
    );
    assert!(
        run.stdout.contains("entries: .env.minted filler \n"),
        "no env file, no temporary file: {shown}"
    );
}

#[test]
fn a_link_where_the_reuse_stamp_goes_is_refused_before_any_request() {
    let world = World::with(fixture());
    let dir = world.dir.path().join("job");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink("/nonexistent", dir.join(".env.refs")).unwrap();
    world
        .akl()
        .env("AKEYLESS_ENV_FILE", dir.join("env"))
        .env("DB", "akeyless://ci/mysql#password")
        .args(["env", "--reuse"])
        .run()
        .code(2)
        .stderr_has(".env.refs exists and is not a regular file");
    assert!(world.fake.log().is_empty(), "{:?}", world.fake.log());
    assert!(!dir.join("env").exists());
}

#[test]
fn akl_env_records_what_it_minted_for_akl_revoke_and_the_job_shell() {
    let world = World::with(fixture());
    let record = world.home().join(".akeyless/.env.minted");
    world
        .akl()
        .env("DB", "akeyless://ci/mysql#password")
        .env("AWS", "akeyless://ci/aws#access_key_id")
        .args(["env"])
        .run()
        .ok();
    assert_eq!(world.fake.live().len(), 2);
    assert_eq!(mode(&record), 0o600);
    world
        .akl()
        .args(["revoke"])
        .run()
        .ok()
        .stderr_has("revoked the credentials of 2 dynamic secrets");
    assert!(world.fake.live().is_empty());
    assert!(!record.exists());
    world
        .akl()
        .args(["revoke"])
        .run()
        .ok()
        .stderr_has("nothing to revoke");

    // The image's job shell: `akl run --env-file … --revoke` revokes when the script ends,
    // and the file is then no longer current for --reuse (the next stage fetches anew).
    world
        .akl()
        .env("DB", "akeyless://ci/mysql#password")
        .args(["env", "--reuse"])
        .run()
        .ok();
    assert_eq!(world.fake.live().len(), 1);
    let env_file = env_path(&world);
    world
        .akl()
        .args([
            "run",
            "--env-file",
            env_file.to_str().unwrap(),
            "--revoke",
            "--",
            "true",
        ])
        .run()
        .ok();
    assert!(world.fake.live().is_empty());
    world.fake.clear_log();
    world
        .akl()
        .env("DB", "akeyless://ci/mysql#password")
        .args(["env", "--reuse"])
        .run()
        .ok();
    assert_eq!(
        world.fake.count("get-dynamic-secret-value"),
        1,
        "fetched anew"
    );
}

#[test]
fn reuse_compares_what_a_folder_holds() {
    let world = World::with(fixture());
    let reuse = || {
        world
            .akl()
            .env("F", "akeyless://ci/kube/*")
            .args(["env", "--reuse"])
            .run()
            .ok()
    };
    reuse();
    world.fake.clear_log();
    reuse().stderr_has("reusing ");
    assert_eq!(
        world.fake.counts(),
        [("auth".into(), 1), ("list-items".into(), 1)].into(),
        "a login and a look at the folder; no secret fetched"
    );
    world.fake.add_item(Item {
        name: "/ci/kube/token".into(),
        kind: ItemKind::Static {
            value: Some("canary-kube-new-token-3c4d".into()),
            versions: Vec::new(),
        },
    });
    world.fake.clear_log();
    let run = reuse();
    assert!(!run.stderr.contains("reusing"), "{}", run.stderr);
    assert_eq!(
        sourced(&world, &["F_TOKEN"]),
        ["canary-kube-new-token-3c4d"]
    );
}

#[test]
fn doctor_shows_what_each_fan_out_would_produce() {
    let world = World::with(fixture());
    let run = world
        .akl()
        .env("F", "akeyless://ci/kube/*|file=true")
        .env("J", "akeyless://ci/fan/json#*")
        .args(["doctor"])
        .run()
        .ok();
    let out = &run.stdout;
    assert!(
        out.contains("F (akeyless://ci/kube/*|file=true): 2 secret(s), each written to a file"),
        "{out}"
    );
    assert!(out.contains("F_CA <- /ci/kube/ca (static)"), "{out}");
    assert!(
        out.contains("F_CONFIG <- /ci/kube/config (static)"),
        "{out}"
    );
    assert!(
        out.contains("J = the whole JSON; J_<KEY> for each of its top-level keys"),
        "{out}"
    );
    assert_eq!(
        world.fake.count("get-secret-value"),
        0,
        "doctor fetches no secret"
    );
}

#[test]
fn akl_run_masks_every_generated_value() {
    let world = World::with(fixture());
    let run = world
        .akl()
        .env("DB", "akeyless://ci/fan/json#*")
        .env("K", "akeyless://ci/kube/*")
        .args(["run", "--", "sh", "-c"])
        .args(["echo \"$DB_PASSWORD|$DB_NESTED|$DB_API_KEY_V2|$K_CA|$DB_USER\"; test -z \"${K+set}\" && echo K-unset"])
        .run()
        .ok();
    assert_eq!(
        run.stdout, "[MASKED]|[MASKED]|[MASKED]|[MASKED]|svc\nK-unset\n",
        "svc is too short to mask; K itself is unset"
    );
}

#[test]
fn on_a_shell_executor_files_and_credentials_go_when_the_job_shell_exits() {
    let world = World::with(fixture());
    // The runner starts each job script as its own process group: setsid does the same.
    let out = std::process::Command::new("setsid")
        .args(["--wait", "sh", "-c"])
        .arg("\"$AKL\" env && [ -s \"$HOME/.akeyless/files/KUBECONFIG\" ] && echo written")
        .env_clear()
        .env("AKL", akl_testkit::akl_binary())
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", world.home())
        .env("GITLAB_CI", "true")
        .env("AKEYLESS_GATEWAY_URL", world.fake.url())
        .env("AKEYLESS_CA_CERT", world.ca())
        .env("AKEYLESS_ACCESS_ID", akl_testkit::JWT_ACCESS_ID)
        .env("AKEYLESS_JWT", world.jwt(json!({})))
        .env("KUBECONFIG", "akeyless:/ci/kube/config|file=true")
        .env("DB", "akeyless://ci/mysql#password")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "written\n", "{out:?}");
    let done = (0..50).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        !files_dir(&world).join("KUBECONFIG").exists() && world.fake.live().is_empty()
    });
    assert!(
        done,
        "files or credentials outlived the job: {:?}",
        world.fake.live()
    );
    assert!(!env_path(&world).exists());
    assert_eq!(world.fake.count("dynamic-secret-tmp-creds-delete"), 1);
}

#[test]
fn akl_run_refuses_a_value_no_program_can_take_and_a_file_carries_it() {
    let big = format!("canary-big-{}", "b".repeat(200_000));
    let world = World::with(fixture().with_static("/ci/big", &big));
    world
        .akl()
        .env("BIG", "akeyless://ci/big")
        .args(["run", "--", "true"])
        .run()
        .code(2)
        .stderr_has("BIG is 200011 bytes: Linux passes no environment variable over 128 KiB")
        .stderr_has("add |file=true");
    let run = world
        .akl()
        .env("BIG", "akeyless:/ci/big|file=true")
        .args(["run", "--", "sh", "-c", "wc -c <\"$BIG\""])
        .run()
        .ok();
    assert_eq!(run.stdout.trim(), "200011");
}

#[test]
fn an_environment_too_large_as_a_whole_names_its_largest_variables() {
    // Each under 128 KiB, together over the 2 MiB that an 8 MiB stack lets exec pass.
    let mut fixture = fixture();
    for i in 0..24 {
        let value = format!("canary-part-{i:02}-{}", "p".repeat(100_000 + i * 10));
        fixture = fixture.with_static(&format!("/ci/part{i:02}"), &value);
    }
    let world = World::with(fixture);
    let mut akl = world.akl();
    for i in 0..24 {
        akl = akl.env(format!("PART_{i:02}"), format!("akeyless://ci/part{i:02}"));
    }
    akl.args(["run", "--", "true"])
        .run()
        .code(126)
        .stderr_has("Argument list too long")
        .stderr_has("the environment and the arguments together are more than Linux passes")
        .stderr_has("the largest variables: PART_23, PART_22, PART_21.");
}

//! No secret reaches the output of `akl run`, however the command prints it (a shell's
//! quoting under `set -x`, `export -p`, `declare -p`, `printf %q`, `${v@Q}`) and whenever
//! it was fetched (values registered while the command runs). The harness scans every run
//! for every canary and every plain run of 12 characters inside one.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use akl_testkit::{JWT_ACCESS_ID, World, akl_binary};
use serde_json::json;

/// Every kind of fixture value: plain, quotes and control characters, a PEM, a JSON
/// static, rotated fields, dynamic credentials, a field of each.
const REFERENCES: [(&str, &str); 8] = [
    ("DB", "akeyless://ci/db-password"),
    ("TRICKY", "akeyless://ci/tricky"),
    ("TLS", "akeyless://ci/tls-key"),
    ("APP", "akeyless://ci/app-config"),
    ("APP_PASSWORD", "akeyless://ci/app-config#password"),
    ("ROTATED", "akeyless://ci/rotated-custom"),
    ("DYN", "akeyless://ci/aws"),
    ("DYN_KEY", "akeyless://ci/aws#secret_access_key"),
];

/// A PATH where the child finds `akl` and `akeyless` (the world's link), and the shells.
fn path(world: &World) -> String {
    let _ = world.akeyless();
    format!(
        "{}:{}:/usr/bin:/bin",
        world.dir.path().join("bin").display(),
        akl_binary().parent().unwrap().display()
    )
}

fn rendering_script(shell: &str) -> String {
    let mut script = String::from("set -x\n");
    for (var, _) in REFERENCES {
        script.push_str(&format!(": \"pw: ${var}\"\n"));
    }
    script.push_str("set +x\nexport -p\n");
    if shell == "bash" {
        for (var, _) in REFERENCES {
            script.push_str(&format!(
                "declare -p {var}; printf '%q\\n' \"${var}\"; echo \"${{{var}@Q}}\"\n"
            ));
        }
        // The C locale renders non-ASCII bytes as octal escapes.
        script.push_str(
            "LC_ALL=C; declare -p TRICKY; printf '%q\\n' \"$TRICKY\"; echo \"${TRICKY@Q}\"\n",
        );
    }
    script
}

#[test]
fn every_shell_rendering_of_every_value_is_masked() {
    for shell in [&["dash"][..], &["bash"], &["busybox", "sh"]] {
        let world = World::new();
        let mut akl = world.akl().env("PATH", path(&world)).args(["run", "--"]);
        for (var, reference) in REFERENCES {
            akl = akl.env(var, reference);
        }
        let run = akl
            .args(shell.iter().copied())
            .args(["-c", &rendering_script(shell[0])])
            .run()
            .ok();
        // The harness failed the run already if any canary, or a piece of one, showed.
        assert!(
            run.stderr.matches("[MASKED]").count() >= REFERENCES.len(),
            "{shell:?}: the trace shows every value masked:\n{}",
            run.stderr
        );
        assert!(
            run.stdout.contains("DB=") && run.stdout.contains("[MASKED]"),
            "{shell:?}:\n{}",
            run.stdout
        );
    }
}

#[test]
fn values_fetched_while_the_command_runs_are_masked() {
    let world = World::new();
    let token = world.jwt(json!({}));
    let run = world
        .bare()
        .env("PATH", path(&world))
        .env("AKEYLESS_ACCESS_ID", JWT_ACCESS_ID)
        .env("FIRST_ID_TOKEN", &token)
        .args(["run", "--no-resolve", "--", "sh", "-c"])
        .args([r#"
            akl get ci/db-password
            v=$(akl get ci/api-token) && echo "in a variable: $v"
            AKEYLESS_JWT=$FIRST_ID_TOKEN akl get 'akeyless://ci/app-config#nested.key'
            export TOKEN=$(akeyless auth --access-id "$AKEYLESS_ACCESS_ID" --access-type jwt --jwt "$FIRST_ID_TOKEN" --json --jq-expression=.token)
            echo "token: $TOKEN"
            akeyless get-secret-value --name /ci/rotated-db --token "$TOKEN" 2>/dev/null || akeyless get-rotated-secret-value --name /ci/rotated-db --token "$TOKEN"
            akeyless get-dynamic-secret-value --name /ci/mysql --token "$TOKEN"
            export MY_SECRET=akeyless://ci/tricky
            eval "$(AKEYLESS_TOKEN=$TOKEN akl env --stdout)"
            echo "Fetching Secrets is Easy [$MY_SECRET]"
            echo "the id token: $FIRST_ID_TOKEN"
        "#])
        .env("AKEYLESS_JWT_VAR", "FIRST_ID_TOKEN")
        .run()
        .ok();
    assert!(
        run.stdout.contains("in a variable: [MASKED]\n")
            && run.stdout.contains("token: [MASKED]\n")
            && run.stdout.contains("Fetching Secrets is Easy [[MASKED]")
            && run.stdout.contains("the id token: [MASKED]\n"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains(&token),
        "the JWT AKEYLESS_JWT_VAR names"
    );
}

#[test]
fn akl_mask_registers_what_other_tools_mint() {
    let world = World::new();
    let minted = "minted-by-another-tool-7f3a9c";
    let run = world
        .bare()
        .env("PATH", path(&world))
        .args(["run", "--no-resolve", "--", "bash", "-c"])
        .args([format!(
            "printf '%s\\nshort\\n' {minted} | akl mask; echo \"now: {minted}\"; \
             printf 'whole\\nvalue-of-two-lines' | akl mask --whole; printf 'whole\\nvalue-of-two-lines\\n'"
        )])
        .run()
        .ok();
    // The whole two-line value is one secret: one `[MASKED]`.
    assert_eq!(run.stdout, "now: [MASKED]\n[MASKED]\n", "{}", run.stderr);
    assert!(
        run.stderr.contains("1 of the values are shorter than 6"),
        "{}",
        run.stderr
    );

    // Outside a masker there is nothing to register with, and saying so beats pretending.
    world
        .bare()
        .args(["mask"])
        .run()
        .code(2)
        .stderr_has("no masker to register with");
}

#[test]
fn another_user_cannot_register_or_reach_the_masker() {
    let world = World::new();
    // The socket's directory is 0700: uid 1000 cannot even reach the socket. Opened up by
    // the owner, the masker still refuses a peer of another uid.
    let run = world
        .bare()
        .env("PATH", path(&world))
        .args(["run", "--no-resolve", "--", "sh", "-c"])
        .args([r#"
            as_other() { setpriv --reuid=1000 --regid=1000 --clear-groups "$@"; }
            echo stranger-value-0001 | as_other akl mask; echo "closed: $?"
            chmod 0711 "$(dirname "$AKL_MASK_SOCKET")"; chmod 0777 "$AKL_MASK_SOCKET"
            echo stranger-value-0001 | as_other akl mask; echo "open: $?"
            echo "stranger-value-0001"
        "#])
        .run()
        .ok();
    assert!(
        run.stdout.contains("closed: 1\n"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    assert!(
        run.stdout.contains("open: 1\n"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    assert!(run.stderr.contains("Permission denied"), "{}", run.stderr);
    assert!(
        run.stderr.contains("refused: the caller runs as uid 1000"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("stranger-value-0001\n"),
        "not registered"
    );
}

/// akl's stdout and stderr are one file: the command's two streams keep their order.
#[test]
fn interleaved_streams_keep_their_order() {
    let world = World::new();
    let log = world.dir.path().join("log");
    let file = std::fs::File::create(&log).unwrap();
    let status = Command::new(akl_binary())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("DB", "akeyless://ci/db-password")
        .env("AKEYLESS_GATEWAY_URL", world.fake.url())
        .env("AKEYLESS_CA_CERT", world.ca())
        .env("AKEYLESS_ACCESS_ID", JWT_ACCESS_ID)
        .env("AKEYLESS_JWT", world.jwt(json!({})))
        .args(["run", "--", "sh", "-c"])
        .arg("i=0; while [ $i -lt 1000 ]; do echo \"out $i $DB\"; echo \"err $i\" >&2; i=$((i + 1)); done")
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    let expected: String = (0..1000)
        .map(|i| format!("out {i} [MASKED]\nerr {i}\n"))
        .collect();
    let misplaced = text
        .lines()
        .zip(expected.lines())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(misplaced, 0, "{} of 2000 lines out of place", misplaced);
    assert_eq!(text, expected);
}

/// `set -x` traces land before the output of the command they trace.
#[test]
fn traces_stay_in_front_of_their_output() {
    let world = World::new();
    let log: PathBuf = world.dir.path().join("trace");
    let file = std::fs::File::create(&log).unwrap();
    let status = Command::new(akl_binary())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .args(["run", "--no-resolve", "--", "sh", "-xc"])
        .arg("for i in 1 2 3 4 5 6 7 8 9 10; do echo line-$i; done")
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    let expected: String = (1..=10)
        .map(|i| format!("+ echo line-{i}\nline-{i}\n"))
        .collect();
    assert!(text.ends_with(&expected), "{text}");
}

/// `eval "$(akl mask-shell)"` at the top of a script, in each shell: the rest of its
/// output, traces included, goes through a masker that learns what akl fetches later and
/// knows the credentials in the environment; stdout and stderr keep their order.
#[test]
fn mask_shell_masks_the_rest_of_a_script_in_every_shell() {
    let world = World::new();
    let jwt = world.jwt(json!({}));
    for shell in [&["dash"][..], &["bash", "--posix"], &["busybox", "sh"]] {
        let tmp = tempfile::tempdir().unwrap();
        let script = r#"
eval "$(akl mask-shell)" || exit 9
echo "token: $AKEYLESS_JWT"
echo "1 out"; echo "2 err" >&2; echo "3 out"
echo "got: $(akl get ci/api-token)"
eval "$(akl env --stdout)"
set -x
: "db is $DB"
set +x
echo "again: $DB ${#DB}"
"#;
        let out = Command::new(shell[0])
            .args(&shell[1..])
            .args(["-c", script])
            .env_clear()
            .env("PATH", path(&world))
            .env("HOME", world.home())
            .env("TMPDIR", tmp.path())
            .env("AKEYLESS_GATEWAY_URL", world.fake.url())
            .env("AKEYLESS_CA_CERT", world.ca())
            .env("AKEYLESS_ACCESS_ID", JWT_ACCESS_ID)
            .env("AKEYLESS_JWT", &jwt)
            .env("DB", "akeyless://ci/db-password")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            stdout.is_empty(),
            "{shell:?}: everything goes to the log on stderr: {stdout}"
        );
        akl_testkit::assert_no_canaries(&world.fake, &[("the masked log", &log)]);
        assert!(log.contains("token: [MASKED]"), "{shell:?}:\n{log}");
        assert!(
            log.contains("1 out\n2 err\n3 out\n"),
            "{shell:?}: order:\n{log}"
        );
        assert!(
            log.contains("got: [MASKED]\n"),
            "{shell:?}: the value akl get printed:\n{log}"
        );
        assert!(
            log.contains("db is [MASKED]"),
            "{shell:?}: the trace:\n{log}"
        );
        assert!(log.contains("again: [MASKED] 25"), "{shell:?}:\n{log}");
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            0,
            "{shell:?}: the masker's directory is gone"
        );
    }
}

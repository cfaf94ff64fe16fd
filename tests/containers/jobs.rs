//! The `ci_base-rs:alpine` image, run the way GitLab Runner runs a job (see `runner.rs`),
//! against the fake Akeyless on the host network. Every job log is checked for canaries.

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::runner::{Job, Stage};
use akl_testkit::{JWT_ACCESS_ID, World, assert_no_canaries};

/// A job set up as the README tells users to: gateway, CA, access id, ID token.
pub fn akeyless_job(world: &World) -> Job {
    Job::new()
        .docker_args([
            "-v".to_owned(),
            format!("{}:/ca.pem:ro", world.ca().display()),
        ])
        .var("CI_JOB_ID", "5001")
        .var("AKEYLESS_GATEWAY_URL", world.fake.url())
        .var("AKEYLESS_CA_CERT", "/ca.pem")
        .var("AKEYLESS_ACCESS_ID", JWT_ACCESS_ID)
        .var("AKEYLESS_JWT", world.jwt(json!({})))
}

#[track_caller]
pub fn check(world: &World, stage: &Stage, code: i32) {
    assert_eq!(stage.code, Some(code), "job log:\n{}", stage.log);
    assert_no_canaries(&world.fake, &[("the job log", &stage.log)]);
    akl_testkit::record_inspection(1);
}

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const SCRIPT: &str = r#". ~/.akeyless/env
[ "$DB_PASSWORD" = 'canary-db-password-9b1f0e' ] && echo "static: ok"
echo "tricky: $(printf %s "$TRICKY" | sha256sum | cut -d' ' -f1)"
echo "dynamic: $(printf %s "$DB_USER" | sha256sum | cut -d' ' -f1)""#;

fn dynamic_line(log: &str) -> Option<String> {
    log.lines()
        .find(|l| l.starts_with("dynamic: "))
        .map(str::to_owned)
}

#[test]
fn secrets_reach_the_job_and_what_was_minted_is_revoked_when_the_script_ends() {
    let world = World::new();
    let container = akeyless_job(&world)
        .var("DB_PASSWORD", "akeyless://ci/db-password")
        .var("TRICKY", "akeyless://ci/tricky")
        .var("DB_USER", "akeyless://ci/mysql#user")
        .create();
    let main = container.stage(SCRIPT);
    check(&world, &main, 0);
    assert!(main.log.contains("static: ok"), "{}", main.log);
    let tricky = "\n canary-tricky 'single' \"double\" $HOME `id` \\ ! -n\r\nünïcødé ✓\n";
    assert!(
        main.log.contains(&format!("tricky: {}", sha256(tricky))),
        "{}",
        main.log
    );
    // The summary sits in a collapsed GitLab section.
    assert!(
        main.log.contains("section_start:")
            && main.log.contains("akeyless_secrets[collapsed=true]")
    );
    assert!(
        main.log
            .contains("Akeyless secrets: 3 secrets (2 static, 1 dynamic)"),
        "{}",
        main.log
    );
    assert_eq!(world.fake.count("get-dynamic-secret-value"), 1);
    assert!(
        world.fake.live().is_empty(),
        "revoked when the script ended"
    );

    // after_script: the same container, started again. Its credentials were revoked,
    // so it gets a set of its own, revoked when it ends too.
    let after = container.stage(SCRIPT);
    check(&world, &after, 0);
    assert!(after.log.contains("static: ok"), "{}", after.log);
    assert_ne!(dynamic_line(&main.log), dynamic_line(&after.log));
    assert_eq!(world.fake.count("get-dynamic-secret-value"), 2);
    assert_eq!(world.fake.count("dynamic-secret-tmp-creds-delete"), 2);
    assert!(world.fake.live().is_empty());
}

#[test]
fn with_revocation_off_after_script_reuses_the_same_credentials() {
    let world = World::new();
    let container = akeyless_job(&world)
        .var("AKEYLESS_REVOKE", "false")
        .var("DB_PASSWORD", "akeyless://ci/db-password")
        .var("TRICKY", "akeyless://ci/tricky")
        .var("DB_USER", "akeyless://ci/mysql#user")
        .create();
    let main = container.stage(SCRIPT);
    check(&world, &main, 0);
    let after = container.stage(SCRIPT);
    check(&world, &after, 0);
    assert!(
        after.log.contains("reusing /root/.akeyless/env"),
        "{}",
        after.log
    );
    assert_eq!(
        dynamic_line(&main.log),
        dynamic_line(&after.log),
        "the same dynamic credentials"
    );
    assert_eq!(
        world.fake.count("get-dynamic-secret-value"),
        1,
        "no second set of credentials"
    );
    assert_eq!(world.fake.count("auth"), 1);
    assert_eq!(world.fake.live().len(), 1, "kept, as asked");
}

#[test]
fn a_kubeconfig_is_a_file_in_the_job_and_its_content_is_masked() {
    let world = World::with(akl_testkit::default_fixture().with_static(
        "/ci/kube/config",
        "apiVersion: v1\nkind: Config\nusers:\n- name: ci\n  user:\n    token: canary-kube-token-6f1d2e\n",
    ));
    let container = akeyless_job(&world)
        .var("KUBECONFIG", "akeyless:/ci/kube/config|file=true")
        .create();
    let script = r#". ~/.akeyless/env
echo "path: $KUBECONFIG"
ls -l "$KUBECONFIG" | cut -c1-10
grep -q 'token: canary-kube' "$KUBECONFIG" && echo "content: ok"
grep token "$KUBECONFIG""#;
    let main = container.stage(script);
    check(&world, &main, 0);
    assert!(
        main.log.contains("path: /root/.akeyless/files/KUBECONFIG"),
        "{}",
        main.log
    );
    assert!(main.log.contains("-rw-------"), "{}", main.log);
    assert!(main.log.contains("content: ok"), "{}", main.log);
    assert!(main.log.contains("[MASKED]"), "{}", main.log);
    // after_script still has it: files live as long as the container.
    let after = container.stage(script);
    check(&world, &after, 0);
    assert!(after.log.contains("content: ok"), "{}", after.log);
}

#[test]
fn a_ci_base_pipeline_runs_unchanged() {
    let world = World::new();
    // Variables as Akeyless's GitLab docs set them: ACCESS_ID, an ID token, a V1 gateway URL.
    let container = Job::new()
        .docker_args([
            "-v".to_owned(),
            format!("{}:/ca.pem:ro", world.ca().display()),
        ])
        .var("ACCESS_ID", JWT_ACCESS_ID)
        .var("FIRST_ID_TOKEN", world.jwt(json!({})))
        .var(
            "AKEYLESS_API_GW_URL",
            format!("{}/api/v1", world.fake.url()),
        )
        .var("AKEYLESS_CA_CERT", "/ca.pem")
        .var("MY_SECRET", "akeyless://ci/db-password")
        .create();
    let stage = container.stage(
        r#"export MY_DYNAMIC=akeyless://ci/mysql
export TOKEN=$(akeyless auth --access-id $ACCESS_ID --access-type jwt --jwt $FIRST_ID_TOKEN --json --jq-expression='.token')
source ~/.akeyless/akeyless_env.sh
[ "$MY_SECRET" = 'canary-db-password-9b1f0e' ] && echo "legacy: ok"
case "$MY_DYNAMIC" in '{'*'"password":"dyn-canary-'*) echo "dynamic json: ok" ;; esac
[ "$(akeyless get-secret-value --name /ci/api-token --token "$TOKEN")" = canary-api-token-5d2c7a ] && echo "cli get: ok"
[ "$(akeyless describe-item --name /ci/aws --token "$TOKEN" --json --jq-expression=.item_type)" = DYNAMIC_SECRET ] && echo "cli describe: ok"
[ "$(akeyless get-rotated-secret-value --name /ci/rotated-db --token "$TOKEN" --jq-expression=.value.username)" = rotated_user ] && echo "cli rotated: ok""#,
    );
    check(&world, &stage, 0);
    for line in [
        "legacy: ok",
        "dynamic json: ok",
        "cli get: ok",
        "cli describe: ok",
        "cli rotated: ok",
    ] {
        assert!(stage.log.contains(line), "{line} missing:\n{}", stage.log);
    }
    assert!(
        stage
            .log
            .contains("references found but AKEYLESS_ACCESS_ID is not set"),
        "{}",
        stage.log
    );
    assert!(
        stage
            .log
            .contains("--jwt puts a secret on the command line")
    );
    assert!(
        world.fake.log().iter().all(|e| e.prefix == "/api/v2/"),
        "the V1 URL is mapped to V2"
    );

    // Where ci_base left the reference in place, this fails the job with the reason.
    let failing = container.stage(
        "export TOKEN=$(akeyless auth --access-id $ACCESS_ID --access-type jwt --jwt $FIRST_ID_TOKEN --json --jq-expression=.token)\nexport GONE=akeyless://ci/gone\nsource ~/.akeyless/akeyless_env.sh\necho still-running",
    );
    check(&world, &failing, 4);
    assert!(
        failing
            .log
            .contains("GONE (akeyless://ci/gone): not found or not permitted"),
        "{}",
        failing.log
    );
    assert!(!failing.log.contains("still-running"));
}

#[test]
fn a_refused_login_fails_the_job_with_a_readable_reason() {
    let world = World::new();
    let stage = akeyless_job(&world)
        .var(
            "AKEYLESS_JWT",
            world.jwt(json!({"ref": "feature/x", "ref_protected": "false"})),
        )
        .var("DB_PASSWORD", "akeyless://ci/db-password")
        .create()
        .stage("echo script-ran");
    check(&world, &stage, 3);
    for text in [
        "was refused",
        "ref_protected: false",
        "ref: feature/x",
        "resolving Akeyless secrets failed (exit 3)",
    ] {
        assert!(stage.log.contains(text), "{text} missing:\n{}", stage.log);
    }
    assert!(
        !stage.log.contains("script-ran"),
        "the job script must not run"
    );
}

#[test]
fn a_job_without_akeyless_is_untouched_and_exit_codes_pass_through() {
    let world = World::new();
    let container = Job::new().var("GREETING", "hello").create();
    let stage = container.stage("echo \"$GREETING from $(id -u)\"");
    check(&world, &stage, 0);
    assert_eq!(
        stage.log, "hello from 0\n",
        "the entrypoint must print nothing"
    );
    assert_eq!(container.stage("exit 7").code, Some(7));
    assert!(world.fake.log().is_empty());

    let with_akeyless = akeyless_job(&world)
        .var("A", "akeyless://ci/api-token")
        .create();
    let failing = with_akeyless.stage(". ~/.akeyless/env\nfalse");
    check(&world, &failing, 1);
    assert_eq!(with_akeyless.stage("exit 42").code, Some(42));
}

#[test]
fn an_arbitrary_user_and_a_read_only_root_get_a_private_home() {
    let world = World::new();
    let script = r#". ~/.akeyless/env
[ "$DB_PASSWORD" = 'canary-db-password-9b1f0e' ] && echo "home $HOME: ok"
export MY_SECRET=akeyless://ci/api-token
source ~/.akeyless/akeyless_env.sh && [ "$MY_SECRET" = canary-api-token-5d2c7a ] && echo "legacy script: ok""#;
    for (args, home) in [
        (vec!["--user", "1000:1000"], "/tmp/akl-1000"),
        (vec!["--read-only", "--tmpfs", "/tmp"], "/tmp/akl-0"),
        (
            vec!["--user", "1000:1000", "--read-only", "--tmpfs", "/tmp"],
            "/tmp/akl-1000",
        ),
    ] {
        let container = akeyless_job(&world)
            .docker_args(args.clone())
            .var("DB_PASSWORD", "akeyless://ci/db-password")
            .create();
        let stage = container.stage(script);
        check(&world, &stage, 0);
        assert!(
            stage.log.contains(&format!("HOME is {home} for this job")),
            "{args:?}:\n{}",
            stage.log
        );
        assert!(
            stage.log.contains(&format!("home {home}: ok")),
            "{args:?}:\n{}",
            stage.log
        );
        assert!(
            stage.log.contains("legacy script: ok"),
            "{args:?}:\n{}",
            stage.log
        );
        // after_script: the file survives in the container's filesystem, but a tmpfs is
        // empty again at every start, so there the secrets are fetched anew.
        let again = container.stage(script);
        check(&world, &again, 0);
        let reused = again.log.contains(&format!("reusing {home}/.akeyless/env"));
        assert_eq!(
            reused,
            !args.contains(&"--tmpfs"),
            "{args:?}:\n{}",
            again.log
        );
    }
}

#[test]
fn ten_secrets_are_ready_before_the_script_starts() {
    let world = World::new();
    let mut job = akeyless_job(&world);
    let names = [
        "db-password",
        "api-token",
        "app-config",
        "versioned",
        "tricky",
    ];
    for i in 0..10 {
        job = job.var(
            &format!("S_{i}"),
            format!("akeyless://ci/{}", names[i % names.len()]),
        );
    }
    let container = job.create();
    let stage = container.stage(". ~/.akeyless/env\necho \"ten: ${#S_0} ${#S_9}\"");
    check(&world, &stage, 0);
    assert!(stage.log.contains("ten: 25 "), "{}", stage.log);
    assert_eq!(
        world.fake.counts_except("list-items"),
        [("auth".into(), 1), ("get-secret-value".into(), 1)].into()
    );
    assert!(world.fake.count("list-items") <= 1);
    eprintln!(
        "docker start to the end of a job that read 10 secrets: {:?}",
        stage.elapsed
    );
}

/// The outside client: `gitlab-ci-local` runs the example pipeline the way the runner
/// would (ENTRYPOINT kept, shell detection, script on stdin, after_script in the same
/// container) against the locally built image. It has no `id_tokens`, so the ID token is
/// passed as a variable.
#[test]
fn the_example_pipeline_passes_under_gitlab_ci_local() {
    let world = World::new();
    crate::runner::image();
    let tool = gitlab_ci_local();
    let repo = tempfile::tempdir().unwrap();
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/gitlab/.gitlab-ci.yml");
    std::fs::copy(example, repo.path().join(".gitlab-ci.yml")).unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(repo.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "."]);
    git(&[
        "-c",
        "user.name=ci",
        "-c",
        "user.email=ci@example.com",
        "commit",
        "-qm",
        "pipeline",
    ]);
    git(&[
        "remote",
        "add",
        "origin",
        "https://gitlab.example.com/grp/app.git",
    ]);
    git(&["update-ref", "refs/remotes/origin/main", "HEAD"]);
    git(&[
        "symbolic-ref",
        "refs/remotes/origin/HEAD",
        "refs/remotes/origin/main",
    ]);

    let mut cmd = crate::runner::with_docker_host(tool.join("node_modules/.bin/gitlab-ci-local"));
    let path = format!(
        "{}:{}",
        tool.join("node_modules/.bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = cmd
        .current_dir(repo.path())
        .env("PATH", path)
        .args([
            "--no-color",
            "--network",
            "host",
            "--pull-policy",
            "if-not-present",
        ])
        .args(["--helper-image", crate::runner::BASE, "--home"])
        .arg(repo.path().join(".home"))
        .arg("--volume")
        .arg(format!("{}:/ca.pem:ro", world.ca().display()))
        .args(["--variable", "AKEYLESS_CA_CERT=/ca.pem", "--variable"])
        .arg(format!("AKEYLESS_GATEWAY_URL={}", world.fake.url()))
        .arg("--variable")
        .arg(format!("AKEYLESS_ACCESS_ID={JWT_ACCESS_ID}"))
        .arg("--variable")
        .arg(format!("AKEYLESS_JWT={}", world.jwt(json!({}))))
        .arg("deploy")
        .output()
        .expect("gitlab-ci-local runs");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "gitlab-ci-local failed:\n{log}");
    assert_no_canaries(&world.fake, &[("the gitlab-ci-local log", &log)]);
    for line in [
        "DB_PASSWORD has 25 characters, APP_PASSWORD 24",
        "dynamic database user tmp_user_",
        "after_script has its own DB_USER (tmp_user_",
        "PASS  deploy",
    ] {
        assert!(log.contains(line), "{line:?} missing:\n{log}");
    }
    assert_eq!(
        world.fake.count("get-dynamic-secret-value"),
        2,
        "the script's credentials, then after_script's"
    );
    assert!(
        world.fake.live().is_empty(),
        "both revoked: {:?}",
        world.fake.live()
    );
    let finished = log
        .lines()
        .find(|l| l.starts_with("deploy finished in"))
        .unwrap_or_default();
    eprintln!("gitlab-ci-local: {finished}, PASS");
}

/// gitlab-ci-local and the Node 22 it needs, from npm, into the build directory (once).
fn gitlab_ci_local() -> std::path::PathBuf {
    const PACKAGES: [&str; 2] = ["gitlab-ci-local@4.75.1", "node@22"];
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap();
    let dir = crate::runner::tools_dir("gitlab-ci-local");
    let marker = dir.join(format!(".installed-{}", PACKAGES.join("-")));
    if !marker.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("package.json"), "{\"private\": true}\n").unwrap();
        let out = std::process::Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .args(PACKAGES)
            .current_dir(&dir)
            .output()
            .expect("npm must be installed (make test installs it)");
        assert!(
            out.status.success(),
            "npm install failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&marker, "").unwrap();
    }
    dir
}

#[test]
fn secrets_the_job_prints_show_as_masked() {
    let world = World::new();
    let container = akeyless_job(&world)
        .var("DB_PASSWORD", "akeyless://ci/db-password")
        .var("TLS_KEY", "akeyless://ci/tls-key")
        .var("APP_PASSWORD", "akeyless://ci/app-config#password")
        .var("DB_USER", "akeyless://ci/mysql#user")
        .create();
    let stage = container.stage(
        r#". ~/.akeyless/env
echo "single line: $DB_PASSWORD"
echo "$TLS_KEY"
echo "json field: $APP_PASSWORD"
echo "dynamic: $DB_USER"
echo "base64: $(printf %s "$DB_PASSWORD" | base64)"
echo "pid 1 is $(cat /proc/1/comm)""#,
    );
    check(&world, &stage, 0);
    let fixture = akl_testkit::default_fixture();
    let pem = fixture
        .item("/ci/tls-key")
        .unwrap()
        .static_versions()
        .unwrap()[0]
        .to_owned();
    for line in pem.lines().filter(|l| l.len() >= 6) {
        assert!(
            !stage.log.contains(line),
            "PEM line {line:?} in the log:\n{}",
            stage.log
        );
    }
    for line in [
        "single line: [MASKED]\n[MASKED]\n",
        "json field: [MASKED]\n",
        "dynamic: [MASKED]\n",
        "base64: [MASKED]\n",
        "pid 1 is akl\n",
    ] {
        assert!(stage.log.contains(line), "{line:?} missing:\n{}", stage.log);
    }

    // AKEYLESS_MASK=false: the job shell itself is PID 1, nothing stands in between.
    let unmasked = akeyless_job(&world)
        .var("AKEYLESS_MASK", "false")
        .var("A", "akeyless://ci/api-token")
        .create();
    let stage = unmasked.stage("echo \"pid 1 is $(cat /proc/1/comm)\"");
    check(&world, &stage, 0);
    assert!(stage.log.contains("pid 1 is sh"), "{}", stage.log);
}

#[test]
fn docker_stop_reaches_the_job_shell_and_orphans_are_reaped() {
    let world = World::new();
    let container = akeyless_job(&world)
        .var("A", "akeyless://ci/api-token")
        .create();
    // An orphan: the subshell exits at once, its sleep is handed to PID 1, which must reap it.
    let stage = container.stage(
        r#"(sleep 0.1 &)
sleep 0.6
echo "zombies: $(cat /proc/[0-9]*/status 2>/dev/null | grep -c '^State:.*Z')""#,
    );
    check(&world, &stage, 0);
    assert!(stage.log.contains("zombies: 0\n"), "{}", stage.log);

    let stopper = container.stop_after(
        std::time::Duration::from_millis(1500),
        std::time::Duration::from_secs(20),
    );
    let stage = container.stage(
        r#"trap 'echo got-sigterm; exit 0' TERM
echo ready
i=0; while [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
echo not-stopped"#,
    );
    stopper.join().unwrap();
    check(&world, &stage, 0);
    assert!(stage.log.contains("ready\ngot-sigterm\n"), "{}", stage.log);
    assert!(
        stage.elapsed < std::time::Duration::from_secs(10),
        "SIGTERM, not the SIGKILL after the grace period"
    );
}

#[test]
fn the_summary_is_printed_once_and_native_steps_pass_through() {
    let world = World::new();
    let stage = akeyless_job(&world)
        .var("DB_PASSWORD", "akeyless://ci/db-password")
        .create()
        .stage("true");
    check(&world, &stage, 0);
    assert_eq!(
        stage.log.matches("1 secret (1 static)").count(),
        1,
        "the summary is the section's header only:\n{}",
        stage.log
    );

    // GitLab's native steps (`run:`): the entrypoint sees none of the job's variables.
    let stage = Job::native_steps()
        .create()
        .stage("echo \"pid 1 is $(cat /proc/1/comm)\"");
    check(&world, &stage, 0);
    assert_eq!(stage.log, "pid 1 is sh\n", "silent, and out of the way");
}

/// A fallback HOME another user made first (on a shared /tmp) is refused, not used: its
/// env file could set the job's PATH.
#[test]
fn a_planted_fallback_home_is_refused_and_akeyless_env_file_is_honoured() {
    let world = World::new();
    let planted = tempfile::tempdir().unwrap();
    std::fs::create_dir(planted.path().join(".akeyless")).unwrap();
    std::fs::write(
        planted.path().join(".akeyless/env"),
        "export PATH=/tmp/evil\n",
    )
    .unwrap();
    for dir in [
        planted.path().to_path_buf(),
        planted.path().join(".akeyless"),
    ] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        std::os::unix::fs::chown(&dir, Some(2000), Some(2000)).unwrap();
    }
    let stage = akeyless_job(&world)
        .docker_args([
            "--user".to_owned(),
            "1000:1000".to_owned(),
            "-v".to_owned(),
            format!("{}:/tmp/akl-1000", planted.path().display()),
        ])
        .var("DB", "akeyless://ci/db-password")
        .create()
        .stage("echo the-job-ran");
    check(&world, &stage, 2);
    assert!(
        stage
            .log
            .contains("/tmp/akl-1000 exists but is not a private directory of uid 1000"),
        "{}",
        stage.log
    );
    assert!(!stage.log.contains("the-job-ran"));

    let stage = akeyless_job(&world)
        .var("AKEYLESS_ENV_FILE", "/tmp/job/secrets.env")
        .var("DB", "akeyless://ci/db-password")
        .create()
        .stage(". \"$AKEYLESS_ENV_FILE\"\n[ \"$DB\" = canary-db-password-9b1f0e ] && echo \"from AKEYLESS_ENV_FILE: ok\"");
    check(&world, &stage, 0);
    assert!(
        stage.log.contains("from AKEYLESS_ENV_FILE: ok"),
        "{}",
        stage.log
    );
}

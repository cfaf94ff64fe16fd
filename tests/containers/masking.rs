//! The job log never shows a secret: however the job shell prints it (`set -x`,
//! `export -p`, bash's `declare -p`, `printf %q`, `${v@Q}`), whenever it was fetched (the
//! legacy flow, `akl get`, `akeyless …`, `akl mask`), and while a cancelled job winds
//! down. Every log is scanned for every canary and every plain run of 12 characters of one.

use serde_json::json;

use crate::jobs::{akeyless_job, check};
use crate::runner::{Image, Job};
use akl_testkit::{JWT_ACCESS_ID, World};

/// Every kind of fixture value: quotes and control characters, a PEM, JSON, rotated
/// fields, dynamic credentials.
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

#[test]
fn set_x_and_export_p_show_nothing_in_sh_and_in_bash() {
    let world = World::new();
    for (image, shell) in [(Image::Busybox, "busybox"), (Image::Bash, "5.")] {
        let mut job = akeyless_job(&world).image(image);
        for (var, reference) in REFERENCES {
            job = job.var(var, reference);
        }
        let mut script =
            String::from(". ~/.akeyless/env\necho \"shell: ${BASH_VERSION:-busybox}\"\nset -x\n");
        for (var, _) in REFERENCES {
            script.push_str(&format!(": \"pw: ${var}\"\n"));
        }
        script.push_str("set +x\nexport -p\n");
        if image == Image::Bash {
            for (var, _) in REFERENCES {
                script.push_str(&format!(
                    "declare -p {var}; printf '%q\\n' \"${var}\"; echo \"${{{var}@Q}}\"\n"
                ));
            }
            script.push_str(
                "(LC_ALL=C; declare -p TRICKY; printf '%q\\n' \"$TRICKY\"; echo \"${TRICKY@Q}\")\n",
            );
        }
        let stage = job.create().stage(&script);
        check(&world, &stage, 0);
        assert!(
            stage.log.contains(&format!("shell: {shell}")),
            "the job shell is {shell}:\n{}",
            stage.log
        );
        assert!(
            stage.log.matches("[MASKED]").count() >= 2 * REFERENCES.len(),
            "{shell}:\n{}",
            stage.log
        );
    }
}

#[test]
fn secrets_fetched_during_the_job_are_masked_too() {
    let world = World::new();
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
        .create();
    // Akeyless's GitLab doc, verbatim (its `echo` included), then what else a job does.
    let stage = container.stage(
        r#"export MY_SECRET=akeyless://ci/tricky
export TOKEN=$(akeyless auth --access-id $ACCESS_ID --access-type jwt --jwt $FIRST_ID_TOKEN --json --jq-expression='.token')
source ~/.akeyless/akeyless_env.sh
echo "Fetching Secrets is Easy [$MY_SECRET]"
echo "token: $TOKEN"
akeyless get-secret-value --name /ci/db-password --token "$TOKEN"
akeyless get-dynamic-secret-value --name /ci/mysql --token "$TOKEN"
AKEYLESS_TOKEN=$TOKEN akl get ci/api-token
echo "minted-elsewhere-3c9f1e" | akl mask
echo "minted: minted-elsewhere-3c9f1e"
echo "another-uid-secret-0042" | su nobody -s /bin/sh -c 'akl mask' || echo "refused: $?"
echo "stranger: another-uid-secret-0042""#,
    );
    check(&world, &stage, 0);
    for line in [
        "Fetching Secrets is Easy [[MASKED]",
        "token: [MASKED]\n",
        "minted: [MASKED]\n",
        "refused: 1\n",
        "stranger: another-uid-secret-0042\n",
    ] {
        assert!(stage.log.contains(line), "{line:?} missing:\n{}", stage.log);
    }
}

/// The number of lines that are out of place: those outside the longest run of lines
/// that appear in the expected order.
fn out_of_place(log: &str, expected: &[String]) -> usize {
    let got: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("out ") || l.starts_with("err "))
        .collect();
    let mut lcs = vec![0usize; expected.len() + 1];
    for g in &got {
        let mut diagonal = 0;
        for (j, e) in expected.iter().enumerate() {
            let above = lcs[j + 1];
            lcs[j + 1] = if g == e {
                diagonal + 1
            } else {
                lcs[j + 1].max(lcs[j])
            };
            diagonal = above;
        }
    }
    expected.len() - lcs[expected.len()]
}

#[test]
fn the_job_log_keeps_stdout_and_stderr_in_order() {
    let world = World::new();
    let script =
        "i=0; while [ $i -lt 1000 ]; do echo \"out $i\"; echo \"err $i\" >&2; i=$((i + 1)); done";
    let expected: Vec<String> = (0..1000)
        .flat_map(|i| [format!("out {i}"), format!("err {i}")])
        .collect();
    let bare = Job::new().image(Image::BareBase).create().stage(script);
    let with_akl = akeyless_job(&world)
        .var("DB", "akeyless://ci/db-password")
        .create()
        .stage(script);
    check(&world, &with_akl, 0);
    let (bare, ours) = (
        out_of_place(&bare.log, &expected),
        out_of_place(&with_akl.log, &expected),
    );
    eprintln!("2,000 alternating lines out of place: bare base image {bare}, ci_base-rs {ours}");
    assert!(
        ours <= 20,
        "{ours} of 2000 lines out of place:\n{}",
        with_akl.log
    );

    // `set -x` traces stay in front of the output of the command they trace.
    let traced = akeyless_job(&world)
        .var("DB", "akeyless://ci/db-password")
        .create()
        .stage(". ~/.akeyless/env\nset -x\nfor i in 1 2 3 4 5 6 7 8 9 10; do echo \"line-$i $DB\"; done");
    check(&world, &traced, 0);
    let expected: String = (1..=10)
        .map(|i| format!("+ echo 'line-{i} [MASKED]'\nline-{i} [MASKED]\n"))
        .collect();
    assert!(traced.log.contains(&expected), "{}", traced.log);
}

/// GitLab cancels a job by sending SIGTERM to every process but PID 1, highest PID first.
/// The job's cleanup, a nested `akl run`'s command, and a background process that keeps
/// writing after the shell exited all still reach the log, masked.
#[test]
fn a_cancelled_job_is_masked_to_its_last_line() {
    let world = World::new();
    let container = akeyless_job(&world)
        .var("DB", "akeyless://ci/db-password")
        .create();
    let stage = std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            container.exec(
                "for p in $(ls /proc | grep -E '^[0-9]+$' | sort -rn); do [ $p -ne 1 ] && [ $p -ne $$ ] && kill -TERM $p 2>/dev/null; done; true",
            );
        });
        container.stage(
            r#". ~/.akeyless/env
trap 'echo "cleanup with $DB"; exit 3' TERM
(trap 'for n in 1 2 3; do sleep 1.5; echo "late writer $n with $DB"; done; exit 0' TERM; while :; do sleep 0.1 || true; done) &
akl run -- sh -c 'trap "echo nested cleanup with \$DB; exit 0" TERM; while :; do sleep 0.1; done' &
echo ready
# The runner's script runs under `set -e`, and SIGTERM reaches `sleep` first.
while :; do sleep 0.1 || true; done"#,
        )
    });
    check(&world, &stage, 3);
    for line in [
        "ready\n",
        "cleanup with [MASKED]\n",
        "late writer 1 with [MASKED]\n",
        // 4.5 s after the shell exited, but never quiet for 2 s: still the job's output.
        "late writer 3 with [MASKED]\n",
        "nested cleanup with [MASKED]\n",
    ] {
        assert!(stage.log.contains(line), "{line:?} missing:\n{}", stage.log);
    }
}

//! Absurd sizes and hostile conditions: each gets a correct result or a clear error, and
//! nothing half-written.

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use akl_testkit::{World, default_fixture, read};
use fake_akeyless::Fixture;

#[test]
fn ten_thousand_references_are_still_two_requests() {
    let mut fixture = default_fixture();
    for i in 0..10_000 {
        fixture = fixture.with_static(
            &format!("/ci/many/s{i:05}"),
            &format!("canary-many-{i:05}-value"),
        );
    }
    let world = World::with(fixture);
    let mut akl = world.akl();
    for i in 0..10_000 {
        akl = akl.env(format!("S_{i:05}"), format!("akeyless://ci/many/s{i:05}"));
    }
    akl.args(["env"])
        .run()
        .ok()
        .stderr_has("10000 secrets (10000 static)");
    assert_eq!(
        world.fake.counts_except("list-items"),
        [("auth".into(), 1), ("get-secret-value".into(), 1)].into()
    );
    let file = read(&world.home().join(".akeyless/env"));
    assert_eq!(file.lines().count(), 10_000);
    assert!(file.contains("export S_04242='canary-many-04242-value'\n"));
}

#[test]
fn a_few_bad_names_among_thousands_cost_a_few_requests() {
    // Two missing items refuse every batch that holds them: the batch is split into
    // parts, and a refused part again, until each failure is pinned on its item, rather
    // than every name being asked alone (2,000 requests).
    let mut fixture = default_fixture();
    for i in 0..2_000 {
        fixture = fixture.with_static(
            &format!("/ci/many/s{i:05}"),
            &format!("canary-many-{i:05}-value"),
        );
    }
    let world = World::with(fixture);
    let mut akl = world.akl().env("AKEYLESS_ALLOW_MISSING", "true");
    for i in 0..2_000 {
        akl = akl.env(format!("S_{i:05}"), format!("akeyless://ci/many/s{i:05}"));
    }
    akl.env("GONE_A", "akeyless://ci/many/gone-a")
        .env("GONE_B", "akeyless://ci/many/zz-gone-b")
        .args(["env"])
        .run()
        .ok()
        .stderr_has("GONE_A (akeyless://ci/many/gone-a) left out: not found")
        .stderr_has("GONE_B (akeyless://ci/many/zz-gone-b) left out: not found")
        .stderr_has("2000 secrets (2000 static), 2 skipped");
    let asked = world.fake.count("get-secret-value");
    // The first batch; the same names split at once into 16 parts; the two refused parts
    // into 8 each, and so on down to the two names: about fifty (2,004 before).
    assert!(asked <= 100, "{asked} get-secret-value requests");
    let file = read(&world.home().join(".akeyless/env"));
    assert_eq!(file.lines().count(), 2_000);
    assert!(file.contains("export S_01999='canary-many-01999-value'\n"));
}

#[test]
fn ten_bad_names_among_a_thousand_are_still_found_by_splitting() {
    // Ten missing names refuse about half of the first 16 parts, and again at each level:
    // that is not many bad names (1%), and splitting on finds them in about 140 requests
    // where asking every name of the refused parts alone took 660.
    let mut fixture = default_fixture();
    for i in 0..1_000 {
        fixture = fixture.with_static(&format!("/ci/many/s{i:04}"), &format!("canary-{i:04}"));
    }
    let world = World::with(fixture);
    let mut akl = world.akl().env("AKEYLESS_ALLOW_MISSING", "true");
    for i in 0..1_000 {
        akl = akl.env(format!("S_{i:04}"), format!("akeyless://ci/many/s{i:04}"));
    }
    for i in 0..10 {
        akl = akl.env(
            format!("GONE_{i}"),
            format!("akeyless://ci/many/s{:04}x", i * 100),
        );
    }
    akl.args(["env"])
        .run()
        .ok()
        .stderr_has("1000 secrets (1000 static), 10 skipped");
    let asked = world.fake.count("get-secret-value");
    assert!(asked <= 250, "{asked} get-secret-value requests");
    assert_eq!(world.fake.count("describe-item"), 10);
}

#[test]
fn names_that_are_all_bad_cost_no_more_than_one_request_each() {
    // Every part refused: past the first split the names go one by one, rather than in
    // halves that would ask each of them once per level.
    let world = World::new();
    let mut akl = world.akl().env("AKEYLESS_ALLOW_MISSING", "true");
    for i in 0..300 {
        akl = akl.env(format!("S_{i:03}"), format!("akeyless://ci/gone/s{i:03}"));
    }
    akl.args(["env"]).run().ok().stderr_has("300 skipped");
    let asked = world.fake.count("get-secret-value");
    // The first batch, its 16 parts, then each name alone.
    assert!(asked <= 1 + 16 + 300, "{asked} get-secret-value requests");
}

#[test]
fn a_batch_answer_too_long_to_read_is_split_not_asked_again() {
    // 34 values of 1 MiB answer a batch with more than the 32 MiB akl reads. Asked again
    // whole, it would fail the same way until the retries ran out (exit 5); in parts,
    // each answer fits.
    let mut fixture = default_fixture();
    let value = |i: usize| format!("canary-large-{i:02}-{}", "v".repeat(1 << 20));
    for i in 0..34 {
        fixture = fixture.with_static(&format!("/ci/large/v{i:02}"), &value(i));
    }
    let world = World::with(fixture);
    let mut akl = world.akl();
    for i in 0..34 {
        akl = akl.env(format!("L_{i:02}"), format!("akeyless://ci/large/v{i:02}"));
    }
    akl.args(["env"])
        .run()
        .ok()
        .stderr_has("34 secrets (34 static)");
    // The batch once, then its parts (at most 16), each answered.
    let asked = world.fake.count("get-secret-value");
    assert!(
        (2..=17).contains(&asked),
        "{asked} get-secret-value requests"
    );
    let file = read(&world.home().join(".akeyless/env"));
    for i in 0..34 {
        assert!(file.contains(&format!("export L_{i:02}='{}'\n", value(i))));
    }
}

#[test]
fn a_ten_mebibyte_value_is_written_whole() {
    let big: String = (0..10 << 20)
        .map(|i| char::from(b'a' + (i % 23) as u8))
        .collect();
    let world = World::with(default_fixture().with_static("/ci/huge", &big));
    world
        .akl()
        .env("HUGE", "akeyless://ci/huge")
        .args(["env"])
        .run()
        .ok()
        .stderr_has("warning: HUGE is 10485760 bytes");
    let file = read(&world.home().join(".akeyless/env"));
    assert_eq!(file.len(), "export HUGE=''\n".len() + big.len());
}

/// kill -9 at any moment leaves the old file or the new one, never a mix; the temporary
/// files such a kill leaves behind are removed by a later run once they are stale.
#[test]
fn a_kill_at_any_moment_leaves_the_old_file_or_the_new_one() {
    let big: String = (0..6 << 20)
        .map(|i| char::from(b'A' + (i % 26) as u8))
        .collect();
    let world = World::with(default_fixture().with_static("/ci/big", &big));
    let path = world.home().join(".akeyless/env");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let old = "export OLD='kept'\n".to_owned();
    let new = format!("export BIG='{big}'\n");
    std::fs::write(&path, &old).unwrap();
    let jwt = world.jwt(serde_json::json!({}));
    let mut outcomes = [0; 2];
    for i in 0..24u64 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_akl"))
            .env_clear()
            .env("HOME", world.home())
            .env("AKEYLESS_GATEWAY_URL", world.fake.url())
            .env("AKEYLESS_CA_CERT", world.ca())
            .env("AKEYLESS_ACCESS_ID", akl_testkit::JWT_ACCESS_ID)
            .env("AKEYLESS_JWT", &jwt)
            .env("BIG", "akeyless://ci/big")
            .arg("env")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(i * 4));
        let _ = child.kill(); // SIGKILL: no cleanup of any kind runs
        let _ = child.wait();
        let now = std::fs::read_to_string(&path).unwrap();
        assert!(
            now == old || now == new,
            "after a kill at {} ms the file is neither ({} bytes)",
            i * 4,
            now.len()
        );
        outcomes[usize::from(now == new)] += 1;
        std::fs::write(&path, &old).unwrap();
    }
    assert!(outcomes[0] > 0, "some kills landed before the rename");
    eprintln!(
        "kill -9 outcomes: {} left the old file, {} the new one, none a mix",
        outcomes[0], outcomes[1]
    );

    let dir = path.parent().unwrap();
    let leftovers = |dir: &std::path::Path| -> Vec<_> {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".tmp"))
            .collect()
    };
    for f in leftovers(dir) {
        let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(an_hour_ago)
            .unwrap();
    }
    world
        .akl()
        .env("A", "akeyless://ci/api-token")
        .args(["env"])
        .run()
        .ok();
    assert!(
        leftovers(dir).is_empty(),
        "stale temporaries of killed runs are removed"
    );
}

/// A full disk: a 64 KiB tmpfs in a private mount namespace, and a secret that does not fit.
#[test]
fn a_full_disk_is_a_clear_error_and_the_old_file_stays() {
    let world = World::with(
        Fixture::from_json(fake_akeyless::DEFAULT_FIXTURE)
            .unwrap()
            .with_static("/ci/large", &"x".repeat(200_000)),
    );
    let dir = world.dir.path().join("tiny");
    std::fs::create_dir(&dir).unwrap();
    let script = r#"printf "export OLD='kept'\n" > "$1/env"
"$2" env; echo "akl exit $?"
echo "file: $(cat "$1/env")"
echo "entries: $(ls -A "$1" | tr '\n' ' ')""#;
    let run = world
        .akl()
        .env("AKEYLESS_ENV_FILE", dir.join("env"))
        .env("L", "akeyless://ci/large")
        .on_a_small_tmpfs(&dir, script)
        .run()
        .ok();
    assert!(
        run.stdout.contains("akl exit 1\n"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert!(
        run.stderr.contains("No space left on device"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("file: export OLD='kept'\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("entries: env \n"),
        "no temporary file left: {}",
        run.stdout
    );
}

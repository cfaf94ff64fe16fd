//! `akl run`: the command gets the values; its output never shows them.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use akl_testkit::World;

/// A command line for `akl run -- sh -c SCRIPT`.
fn sh(script: &str) -> [&str; 5] {
    ["run", "--", "sh", "-c", script]
}

#[test]
fn every_form_of_every_secret_is_masked_on_both_streams() {
    let world = World::new();
    let run = world
        .akl()
        .env("DB", "akeyless://ci/db-password")
        .env("APP", "akeyless://ci/app-config")
        .env("TLS", "akeyless://ci/tls-key")
        .env("DYN", "akeyless://ci/mysql")
        .env("ROT", "akeyless://ci/rotated-db#password")
        .args(sh(r#"
            echo "out: db=$DB"
            echo "err: app=$APP" >&2
            echo "$TLS"
            printf '%s' "$TLS" | sed -n 3p
            echo "json field: $(printf %s "$APP" | sed 's/.*"password":"\([^"]*\)".*/\1/')"
            echo "dyn: $DYN"
            printf '%s' "$DB" | base64
            echo "$ROT" | base64
            echo "the job goes on"
        "#))
        .run()
        .ok();
    // The harness already failed the test if a canary showed; the output is exactly this.
    assert_eq!(
        run.stdout,
        "out: db=[MASKED]\n[MASKED]\n[MASKED]\njson field: [MASKED]\ndyn: [MASKED]\n[MASKED]\n[MASKED]\nthe job goes on\n"
    );
    assert_eq!(run.stderr, "err: app=[MASKED]\n", "the streams stay apart");
    for line in read_fixture_lines("/ci/tls-key") {
        assert!(
            !run.stdout.contains(&line),
            "PEM line {line:?} leaked:\n{}",
            run.stdout
        );
    }
}

fn read_fixture_lines(item: &str) -> Vec<String> {
    let fixture = akl_testkit::default_fixture();
    let value = fixture.item(item).unwrap().static_versions().unwrap()[0].to_owned();
    value
        .lines()
        .filter(|l| l.len() >= 6)
        .map(str::to_owned)
        .collect()
}

#[test]
fn output_without_secrets_passes_byte_for_byte() {
    let world = World::new();
    let mut noise = vec![0u8; 300_000];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut noise)
        .unwrap();
    let file = world.dir.path().join("noise.bin");
    std::fs::write(&file, &noise).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_akl"))
        .env_clear()
        .envs([("AKEYLESS_TOKEN", "t-local"), ("PATH", "/usr/bin:/bin")])
        .args(["run", "--env-file"])
        .arg(write_env_file(&world, "X", "canary-not-in-the-noise-73"))
        .args(["--", "cat"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        out.stdout == noise,
        "binary output changed ({} bytes back)",
        out.stdout.len()
    );
}

fn write_env_file(world: &World, name: &str, value: &str) -> std::path::PathBuf {
    let path = world.dir.path().join(format!("{name}.env"));
    std::fs::write(
        &path,
        format!("export {name}='{}'\n", value.replace('\'', r"'\''")),
    )
    .unwrap();
    path
}

#[test]
fn env_file_values_are_used_and_masked_without_a_request() {
    let world = World::new();
    let file = write_env_file(&world, "DEPLOY_KEY", "it's-a-canary-deploy-key");
    let run = world
        .bare()
        .env("PATH", "/usr/bin:/bin")
        .args(["run", "--env-file"])
        .args([&file])
        .args(["--", "sh", "-c", "echo \"${#DEPLOY_KEY}: $DEPLOY_KEY\""])
        .run()
        .ok();
    assert_eq!(run.stdout, "24: [MASKED]\n");
    assert!(world.fake.log().is_empty());
    std::fs::write(&file, "DEPLOY_KEY=plain\n").unwrap();
    world
        .bare()
        .args(["run", "--env-file"])
        .args([&file])
        .args(["--", "true"])
        .run()
        .code(2)
        .stderr_has("is not an env file akl wrote: line 1: not an export");
}

#[test]
fn exit_codes_are_the_commands() {
    let world = World::new();
    let akl = || {
        world
            .akl()
            .env("PATH", "/usr/bin:/bin")
            .env("DB", "akeyless://ci/db-password")
    };
    akl().args(sh("exit 7")).run().code(7);
    akl().args(sh("kill -TERM $$")).run().code(143);
    akl()
        .args(["run", "--", "no-such-command-here"])
        .run()
        .code(127)
        .stderr_has("cannot run no-such-command-here");
    akl().args(["run", "--", "/etc/hostname"]).run().code(126);
    akl()
        .args(["run", "--no-mask", "--", "sh", "-c", "exit 9"])
        .run()
        .code(9);
}

#[test]
fn a_command_that_cannot_run_fails_before_any_request() {
    let world = World::new();
    let dir = world.dir.path();
    let script = dir.join("deploy.sh");
    std::fs::write(&script, "#!/bin/sh\necho deployed\n").unwrap();
    let akl = || {
        world
            .akl()
            .env("PATH", format!("{}:/usr/bin:/bin", dir.display()))
            .env("DYNAMIC", "akeyless://ci/mysql")
    };
    akl()
        .args(["run", "--", "deplyo.sh"])
        .run()
        .code(127)
        .stderr_has("cannot run deplyo.sh: command not found")
        .stderr_has(&format!("searched PATH={}:/usr/bin:/bin", dir.display()));
    akl()
        .args(["run", "--", "deploy.sh"])
        .run()
        .code(126)
        .stderr_has("deploy.sh is not executable")
        .stderr_has("hint: chmod +x");
    akl()
        .args(["run", "--"])
        .args([dir])
        .run()
        .code(126)
        .stderr_has("is a directory");
    akl()
        .args(["run", "--", "./missing/script"])
        .run()
        .code(127)
        .stderr_has("cannot run ./missing/script: no such file");
    assert!(
        world.fake.log().is_empty(),
        "no login and no dynamic credentials for a command that cannot run"
    );
    // Once it can run, the same command runs (and mints its credentials).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = akl().args(["run", "--", "deploy.sh"]).run().ok();
    assert_eq!(run.stdout, "deployed\n");
    assert_eq!(world.fake.count("get-dynamic-secret-value"), 1);
}

#[test]
fn short_values_are_named_in_a_warning() {
    let world = World::new();
    world
        .akl()
        .env("PATH", "/usr/bin:/bin")
        .env("PORT", "akeyless://ci/app-config#port")
        .env("TLS", "akeyless://ci/tls-key")
        .args(sh("echo $PORT"))
        .run()
        .ok()
        .stderr_has("warning: PORT is 4 characters, shorter than the 6 that can be masked");
}

/// `akl run` spawned by hand, for what assert_cmd cannot do: read output while the
/// command still runs, send signals, feed stdin.
fn spawn(world: &World, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_akl"))
        .env_clear()
        .envs([
            ("PATH", "/usr/bin:/bin"),
            ("HOME", world.home().to_str().unwrap()),
            ("AKEYLESS_GATEWAY_URL", &world.fake.url()),
            ("AKEYLESS_CA_CERT", world.ca().to_str().unwrap()),
            ("AKEYLESS_ACCESS_ID", akl_testkit::JWT_ACCESS_ID),
            ("AKEYLESS_JWT", &world.jwt(serde_json::json!({}))),
            ("DB", "akeyless://ci/db-password"),
        ])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn signals_are_forwarded_and_the_command_decides() {
    let world = World::new();
    let script = r#"trap 'echo got-usr1' USR1; trap 'echo got-term; exit 9' TERM
        echo ready; while :; do sleep 0.05; done"#;
    let mut child = spawn(&world, &sh(script));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::USR1).unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "got-usr1");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "got-term");
    assert_eq!(child.wait().unwrap().code(), Some(9));
}

#[test]
fn stdin_is_the_commands_and_output_is_not_held_back() {
    let world = World::new();
    let mut child = spawn(
        &world,
        &sh("read line; echo \"got $line\"; printf 'prompt: '; sleep 2; echo done"),
    );
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let start = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 64];
    while !seen.ends_with(b"prompt: ") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "EOF before the prompt: {:?}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "a partial line must not wait for the next one"
    );
    assert_eq!(seen, b"got hello\nprompt: ");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "done\n");
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_held_partial_line_shows_while_the_command_waits_and_the_rest_of_the_secret_is_masked() {
    let world = World::new();
    let file = write_env_file(&world, "DEPLOY_KEY", "sk-live-canary-deploy-key-42");
    // The command prints the key's first 8 bytes and waits for us: only the masker writing
    // what it held back, once the command has gone quiet, lets us see them.
    let script =
        r#"printf 'key: %.8s' "$DEPLOY_KEY"; read go; printf '%s done\n' "${DEPLOY_KEY#????????}""#;
    let mut child = Command::new(env!("CARGO_BIN_EXE_akl"))
        .env_clear()
        .envs([("AKEYLESS_TOKEN", "t-local"), ("PATH", "/usr/bin:/bin")])
        .args(["run", "--env-file"])
        .arg(&file)
        .args(["--", "sh", "-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (chunks, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while let Ok(n @ 1..) = stdout.read(&mut buf) {
            let _ = chunks.send(buf[..n].to_vec());
        }
    });
    let mut seen = Vec::new();
    while !seen.ends_with(b"key: sk-live-") {
        // Not a timing check: a bound so that a masker that holds the bytes for ever fails
        // the test instead of hanging it.
        let chunk = received
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("held for good: {:?}", String::from_utf8_lossy(&seen)));
        seen.extend_from_slice(&chunk);
    }
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    seen.extend(received.iter().flatten());
    assert_eq!(
        String::from_utf8_lossy(&seen),
        "key: sk-live-[MASKED] done\n",
        "the part written before the pause stays, the rest of the key is masked"
    );
    assert!(child.wait().unwrap().success());
}

#[test]
fn no_mask_replaces_akl_with_the_command() {
    let world = World::new();
    let child = spawn(
        &world,
        &["run", "--no-mask", "--", "sh", "-c", "echo $$ ${#DB}"],
    );
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{pid} 25\n"),
        "same PID: exec, not spawn"
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    akl_testkit::assert_no_canaries(&world.fake, &[("stderr", &stderr)]);
}

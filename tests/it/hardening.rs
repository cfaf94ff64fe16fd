//! What a second user on a shared machine, a hostile or broken gateway, or exhausted
//! resources can do to a run, and what `akl` does about it. Each test here failed before
//! the fix it guards.

use std::os::unix::fs::{PermissionsExt, chown, lchown, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use akl_testkit::{JWT_ACCESS_ID, World, akl_binary, proxy::Proxy};
use fake_akeyless::{Fault, FaultKind};
use serde_json::json;

/// Another user on the machine.
const STRANGER: u32 = 1000;

fn mkdir(path: &Path, mode: u32, owner: u32) {
    std::fs::create_dir_all(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    chown(path, Some(owner), Some(owner)).unwrap();
}

fn plant(path: &Path, text: &str, mode: u32, owner: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    chown(path, Some(owner), Some(owner)).unwrap();
}

#[test]
fn another_users_files_and_directories_are_refused() {
    let world = World::new();
    let planted_env = "export PATH='/tmp/evil'\n";
    // HOME whose .akeyless another user made, open to all, with an env file and a stamp.
    let home = world.dir.path().join("shared-home");
    mkdir(&home, 0o755, 0);
    mkdir(&home.join(".akeyless"), 0o777, STRANGER);
    plant(&home.join(".akeyless/env"), planted_env, 0o666, STRANGER);
    plant(
        &home.join(".akeyless/.env.refs"),
        "whatever",
        0o666,
        STRANGER,
    );
    world
        .akl()
        .env("HOME", &home)
        .env("DB", "akeyless://ci/db-password")
        .args(["env", "--reuse"])
        .run()
        .code(2)
        .stderr_has("refusing to read or write secrets there");
    assert_eq!(
        std::fs::read_to_string(home.join(".akeyless/env")).unwrap(),
        planted_env
    );
    assert!(world.fake.log().is_empty(), "nothing read, nothing fetched");

    // A file of theirs named in AKEYLESS_ENV_FILE, in the sticky /tmp: /tmp itself may
    // hold a private directory, but it is no place for secrets.
    let named = tempfile::Builder::new()
        .prefix("akl-job-")
        .suffix(".env")
        .tempfile_in("/tmp")
        .unwrap();
    plant(named.path(), planted_env, 0o666, STRANGER);
    world
        .akl()
        .env("AKEYLESS_ENV_FILE", named.path())
        .env("DB", "akeyless://ci/db-password")
        .args(["env", "--reuse"])
        .run()
        .code(2)
        .stderr_has("/tmp can be written by others");
    assert_eq!(std::fs::read_to_string(named.path()).unwrap(), planted_env);
    // Their file in a directory of ours.
    let mine = world.dir.path().join("mine");
    mkdir(&mine, 0o700, 0);
    plant(&mine.join("job.env"), planted_env, 0o644, STRANGER);
    world
        .akl()
        .env("AKEYLESS_ENV_FILE", mine.join("job.env"))
        .env("DB", "akeyless://ci/db-password")
        .args(["env", "--reuse"])
        .run()
        .code(2)
        .stderr_has("belongs to uid 1000");
    assert_eq!(
        std::fs::read_to_string(mine.join("job.env")).unwrap(),
        planted_env
    );

    // ~/.akeyless as their symlink to their directory.
    let link_home = world.dir.path().join("link-home");
    mkdir(&link_home, 0o700, 0);
    let theirs = world.dir.path().join("theirs");
    mkdir(&theirs, 0o700, STRANGER);
    symlink(&theirs, link_home.join(".akeyless")).unwrap();
    lchown(link_home.join(".akeyless"), Some(STRANGER), Some(STRANGER)).unwrap();
    world
        .akl()
        .env("HOME", &link_home)
        .env("DB", "akeyless://ci/db-password")
        .args(["env"])
        .run()
        .code(2)
        .stderr_has("is a symbolic link that belongs to uid 1000");
    assert!(!theirs.join("env").exists());

    // Their link in the middle of the path, to a directory of ours: where it leads passes,
    // but they could point it elsewhere between the check and the write. Reached through
    // a link of ours too; a link of ours alone is followed.
    let ours = world.dir.path().join("ours");
    mkdir(&ours, 0o700, 0);
    mkdir(&ours.join("job"), 0o700, 0);
    let their_link = world.dir.path().join("their-link");
    symlink(&ours, &their_link).unwrap();
    lchown(&their_link, Some(STRANGER), Some(STRANGER)).unwrap();
    let our_link = world.dir.path().join("our-link");
    symlink(&their_link, &our_link).unwrap();
    let through_theirs = format!(
        "goes through {}, a symbolic link that belongs to uid 1000",
        their_link.display()
    );
    for via in [&their_link, &our_link] {
        world
            .akl()
            .env("AKEYLESS_ENV_FILE", via.join("job/env"))
            .env("DB", "akeyless://ci/db-password")
            .args(["env"])
            .run()
            .code(2)
            .stderr_has(&through_theirs);
    }
    assert!(!ours.join("job/env").exists());
    // Nor is a missing directory made through it before the refusal.
    world
        .akl()
        .env("AKEYLESS_ENV_FILE", their_link.join("made/env"))
        .env("DB", "akeyless://ci/db-password")
        .args(["env"])
        .run()
        .code(2)
        .stderr_has("a symbolic link that belongs to uid 1000");
    assert!(!ours.join("made").exists());
    // Their directory on the way, left again by `..` or holding a link of ours: they can
    // rename it and put a link of theirs in its place once it is checked.
    let shared = world.dir.path().join("shared");
    mkdir(&shared, 0o1777, 0);
    let their_dir = shared.join("their-dir");
    mkdir(&their_dir, 0o755, STRANGER);
    symlink(&ours, their_dir.join("our-link")).unwrap();
    let through = [
        their_dir.join("..").join("..").join("ours/job/env"),
        their_dir.join("our-link/job/env"),
    ];
    for via in through {
        world
            .akl()
            .env("AKEYLESS_ENV_FILE", &via)
            .env("DB", "akeyless://ci/db-password")
            .args(["env"])
            .run()
            .code(2)
            .stderr_has(&format!("{} belongs to uid 1000", their_dir.display()));
    }
    assert!(!ours.join("job/env").exists());
    // Reached through a link of ours, their directory is named as where the link led.
    let into_theirs = world.dir.path().join("into-theirs");
    symlink(&their_dir, &into_theirs).unwrap();
    world
        .akl()
        .env("AKEYLESS_ENV_FILE", into_theirs.join("x/env"))
        .env("DB", "akeyless://ci/db-password")
        .args(["env"])
        .run()
        .code(2)
        .stderr_has(&format!(
            "{} goes through {}, which belongs to uid 1000",
            into_theirs.display(),
            their_dir.display()
        ));
    assert!(!their_dir.join("x").exists());
    // A missing part that climbs back with .. into their directory is not made.
    world
        .akl()
        .env("AKEYLESS_ENV_FILE", shared.join("new/../their-dir/sub/env"))
        .env("DB", "akeyless://ci/db-password")
        .args(["env"])
        .run()
        .code(2)
        .stderr_has("climbs with .. is not made");
    assert!(!shared.join("new").exists() && !their_dir.join("sub").exists());
    let fine = world.dir.path().join("fine-link");
    symlink(&ours, &fine).unwrap();
    world
        .akl()
        .env("AKEYLESS_ENV_FILE", fine.join("job/env"))
        .env("DB", "akeyless://ci/db-password")
        .args(["env"])
        .run()
        .ok();
    assert!(ours.join("job/env").exists());

    // akl run --env-file with their file, writable by all.
    let file = world.dir.path().join("their.env");
    plant(&file, "export DB='x'\n", 0o666, STRANGER);
    world
        .bare()
        .args(["run", "--env-file"])
        .args([&file])
        .args(["--", "true"])
        .run()
        .code(2)
        .stderr_has("belongs to uid 1000");
}

#[test]
fn devices_and_links_are_never_written_as_env_files() {
    let world = World::new();
    for target in ["/dev/null", "/dev/stdout"] {
        world
            .akl()
            .env("DB", "akeyless://ci/db-password")
            .args(["env", "-o", target])
            .run()
            .code(2)
            .stderr_has("is not a regular file")
            .stderr_has("use --stdout");
    }
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    assert!(world.fake.log().is_empty(), "refused before any request");
}

#[test]
fn json_goes_only_where_it_is_asked_for() {
    let world = World::new();
    world
        .akl()
        .env("DB", "akeyless://ci/db-password")
        .args(["env", "--format", "json"])
        .run()
        .code(2)
        .stderr_has("--format json goes only to --stdout or to a file named with -o");
    assert!(!world.home().join(".akeyless/env").exists());
    // --reuse tells the formats apart: a JSON file is not kept for a sh request.
    let out = world.dir.path().join("out");
    for (format, written) in [("json", "{\"DB\":"), ("sh", "export DB=")] {
        world
            .akl()
            .env("DB", "akeyless://ci/db-password")
            .args(["env", "--reuse", "--format", format, "-o"])
            .args([&out])
            .run()
            .ok();
        assert!(
            std::fs::read_to_string(&out).unwrap().starts_with(written),
            "{format}"
        );
    }
}

/// Runs the real binary as `uid` with `limits` (prlimit's options), cleared environment.
fn as_user_with_limits(uid: u32, limits: &[&str], args: &[&str]) -> std::process::Output {
    Command::new("setpriv")
        .args([
            &format!("--reuid={uid}"),
            &format!("--regid={uid}"),
            "--clear-groups",
            "prlimit",
        ])
        .args(limits)
        .arg("--")
        .arg(akl_binary())
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_home_whose_akeyless_is_another_users_falls_back_to_tmpdir() {
    // An image whose ~/.akeyless was made at build time by uid 1000, run as another uid:
    // not writable, so the default env file goes to TMPDIR/akl-UID, as the contract says.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join(".akeyless")).unwrap();
    std::os::unix::fs::chown(home.join(".akeyless"), Some(1000), Some(1000)).unwrap();
    std::fs::set_permissions(
        home.join(".akeyless"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=1004", "--regid=1004", "--clear-groups"])
        .arg(akl_binary())
        .arg("env")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &home)
        .env("TMPDIR", &tmp)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let fallback = tmp.join("akl-1004/.akeyless/env");
    assert!(
        stderr.contains(&format!(
            "the env file goes to {} instead",
            fallback.display()
        )),
        "{stderr}"
    );
    assert!(fallback.exists());
}

#[test]
fn no_core_dump_can_hold_the_secrets() {
    // A non-dumpable process's /proc files belong to root, whoever runs it.
    let out = as_user_with_limits(
        1001,
        &[],
        &[
            "run",
            "--no-resolve",
            "--",
            "sh",
            "-c",
            "stat -c %u /proc/$PPID/mem",
        ],
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0\n", "{out:?}");
}

#[test]
fn exhausted_processes_and_files_are_clear_errors_and_orphan_nothing() {
    let uid = 1002;
    let marker = "sleep 7.31";
    for limits in [
        ["--nproc=1"],
        ["--nproc=2"],
        ["--nproc=3"],
        ["--nofile=3"],
        ["--nofile=5"],
        ["--nofile=7"],
    ] {
        let out = as_user_with_limits(
            uid,
            &limits,
            &["run", "--no-resolve", "--", "sh", "-c", marker],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        assert!(
            code == Some(0)
                || (code == Some(1) && stderr.contains("error: ") && stderr.contains("limit")),
            "{limits:?}: {code:?}\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{limits:?}: {stderr}");
    }
    // The runtime for a request needs descriptors too.
    let out = as_user_with_limits(uid, &["--nofile=3"], &["env", "--stdout"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0..=2)), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Nothing of the user's is left running.
    let left = Command::new("pgrep")
        .args(["-u", &uid.to_string()])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "orphans: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}

#[test]
fn plain_http_to_another_host_is_warned_about_on_every_run() {
    let world = World::new();
    world
        .akl()
        .env("AKEYLESS_GATEWAY_URL", "http://gw.example.invalid:8080/v2")
        .env("AKEYLESS_TIMEOUT", "2")
        .args(["auth"])
        .run()
        .stderr_has(
            "warning: AKEYLESS_GATEWAY_URL http://gw.example.invalid:8080/v2 is plain http",
        );
    let doctor = world
        .akl()
        .env("AKEYLESS_GATEWAY_URL", "http://gw.example.invalid:8080/v2")
        .env("AKEYLESS_TIMEOUT", "2")
        .args(["doctor"])
        .run();
    assert!(
        doctor
            .stdout
            .contains("warn  AKEYLESS_GATEWAY_URL http://gw.example.invalid:8080/v2 is plain http"),
        "{}",
        doctor.stdout
    );
    // On this machine it is only loopback: no warning.
    let local = world
        .akl()
        .env("AKEYLESS_GATEWAY_URL", world.fake.http_url())
        .args(["auth"])
        .stdout_is_secret()
        .run()
        .ok();
    assert!(!local.stderr.contains("plain http"), "{}", local.stderr);
}

#[test]
fn the_deadline_covers_a_stalled_file_and_a_silent_name_server() {
    let world = World::new();
    // A FIFO as the CA: refused at once, never read.
    let fifo = world.dir.path().join("ca.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    world
        .akl()
        .env("AKEYLESS_CA_CERT", &fifo)
        .args(["auth"])
        .run()
        .code(2)
        .stderr_has("not a regular file");
    assert!(started.elapsed() < Duration::from_secs(10));

    // A name server that never answers (a UDP socket nobody reads), made the machine's in
    // a private mount namespace, with a resolver timeout far past the run's deadline.
    let silent =
        std::net::UdpSocket::bind("127.0.0.2:53").expect("127.0.0.2:53 is free for this test");
    let resolv = world.dir.path().join("resolv.conf");
    std::fs::write(
        &resolv,
        "nameserver 127.0.0.2\noptions timeout:30 attempts:1\n",
    )
    .unwrap();
    let started = Instant::now();
    let run = world
        .akl()
        .program_in_namespace()
        .env("AKEYLESS_GATEWAY_URL", "https://gw.example.invalid:8000")
        .env("AKEYLESS_TIMEOUT", "2")
        .args([
            "-c",
            "mount --bind \"$1\" /etc/resolv.conf && exec \"$2\" auth",
            "sh",
        ])
        .args([resolv.as_os_str(), akl_binary().as_os_str()])
        .run()
        .code(5);
    let took = started.elapsed();
    drop(silent);
    assert!(
        took < Duration::from_secs(6),
        "ended after {took:?}:\n{}",
        run.stderr
    );
    assert!(run.stderr.contains("deadline"), "{}", run.stderr);
}

#[test]
fn a_hostile_answer_costs_bounded_memory() {
    let world = World::new();
    world.fake.set_faults(vec![Fault::new(
        "get-secret-value",
        FaultKind::NestedArrays,
        1,
    )]);
    // GNU time reports the peak RSS of the run, in KiB.
    let report = world.dir.path().join("rss");
    let run = world
        .akl()
        .env("DB", "akeyless://ci/db-password")
        .env("AKL_BIN", akl_binary())
        .env("PATH", "/usr/bin:/bin")
        .program_in_namespace()
        .args([
            "-c",
            "exec /usr/bin/time -f %M -o \"$1\" \"$AKL_BIN\" env --stdout",
            "sh",
        ])
        .args([report.as_os_str()])
        .stdout_is_secret()
        .run()
        .ok();
    assert_eq!(
        world.fake.count("get-secret-value"),
        2,
        "refused, then asked again"
    );
    let kib: u64 = std::fs::read_to_string(&report)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    eprintln!(
        "peak RSS with a 30 MiB answer of nested empty arrays: {} MiB",
        kib >> 10
    );
    assert!(kib < 80 << 10, "{kib} KiB\n{}", run.stderr);
}

#[test]
fn server_text_never_reaches_the_terminal_with_its_escapes() {
    let mut fixture = akl_testkit::default_fixture();
    fixture.items.push(fake_akeyless::fixture::Item {
        name: "/ci/evil".into(),
        kind: fake_akeyless::fixture::ItemKind::Other {
            item_type: "EVIL\u{1b}]0;pwned\u{7}\u{1b}[2J".into(),
        },
    });
    let fixture = fixture.with_static("/ci/keys", "{\"a\u{1b}[31m\":\"v\"}");
    let world = World::with(fixture);
    for reference in ["akeyless://ci/evil", "akeyless://ci/keys#nope"] {
        let run = world.akl().env("X", reference).args(["env"]).run().code(4);
        assert!(
            !run.stderr.contains('\u{1b}') && !run.stderr.contains('\u{7}'),
            "{:?}",
            run.stderr
        );
    }
}

#[test]
fn proxies_from_the_environment_are_used_and_their_passwords_never_shown() {
    let world = World::new();
    let proxy = Proxy::start(Some(("ci", "proxy-canary-password-7a1")));
    let url = format!(
        "http://ci:proxy-canary-password-7a1@127.0.0.1:{}",
        proxy.port
    );
    for var in ["HTTPS_PROXY", "https_proxy"] {
        let run = world
            .akl()
            .env(var, &url)
            .env("DB", "akeyless://ci/db-password")
            .args(["env", "--stdout"])
            .stdout_is_secret()
            .run()
            .ok();
        assert!(
            !run.stderr.contains("proxy-canary-password-7a1"),
            "{}",
            run.stderr
        );
    }
    let port = world.fake.url().rsplit(':').next().unwrap().to_owned();
    // Per run: one kept-alive tunnel for the login and the batch, which follow each
    // other, and the spare opened while the login is answered, for the look at the folder
    // sent beside the batch. A tunnel may reach the proxy after akl exited: let it arrive.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let tunnels = proxy.tunnels().len();
    assert!((2..=4).contains(&tunnels), "{tunnels} tunnels for 2 runs");
    assert!(
        proxy
            .tunnels()
            .iter()
            .all(|t| t.ends_with(&format!(":{port}")))
    );
    assert_eq!(
        world.fake.count("get-secret-value"),
        2,
        "every request went through"
    );
    // NO_PROXY goes around it.
    world
        .akl()
        .env("HTTPS_PROXY", &url)
        .env("NO_PROXY", "127.0.0.1")
        .args(["auth"])
        .stdout_is_secret()
        .run()
        .ok();
    assert_eq!(proxy.tunnels().len(), tunnels, "NO_PROXY: no tunnel");
    // Wrong credentials: the proxy's refusal, without the password.
    let wrong = format!(
        "http://ci:proxy-canary-wrong-pass-1@127.0.0.1:{}",
        proxy.port
    );
    let run = world.akl().env("HTTPS_PROXY", &wrong).args(["auth"]).run();
    assert_ne!(run.code, Some(0));
    assert!(
        !run.stderr.contains("proxy-canary-wrong-pass-1"),
        "{}",
        run.stderr
    );
    let doctor = world
        .akl()
        .env("HTTPS_PROXY", &url)
        .args(["doctor"])
        .run()
        .ok();
    assert!(
        doctor.stdout.contains("(credentials not shown)")
            && !doctor.stdout.contains("proxy-canary"),
        "{}",
        doctor.stdout
    );
}

#[test]
fn on_a_shell_executor_secrets_go_when_the_job_shell_exits() {
    let world = World::new();
    let env_file = world.home().join(".akeyless/env");
    let started = Instant::now();
    // The runner starts each job script as its own process group: setsid does the same.
    let out = Command::new("setsid")
        .args(["--wait", "sh", "-c"])
        .arg("\"$AKL\" env --reuse && [ -s \"$HOME/.akeyless/env\" ] && echo written")
        .env_clear()
        .env("AKL", akl_binary())
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", world.home())
        .env("GITLAB_CI", "true")
        .env("CI_JOB_ID", "77")
        .env("AKEYLESS_GATEWAY_URL", world.fake.url())
        .env("AKEYLESS_CA_CERT", world.ca())
        .env("AKEYLESS_ACCESS_ID", JWT_ACCESS_ID)
        .env("AKEYLESS_JWT", world.jwt(json!({})))
        .env("DB", "akeyless://ci/db-password")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "written\n", "{out:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the watcher holds no pipe"
    );
    let gone = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        !env_file.exists()
    });
    assert!(gone, "the env file outlived the job's shell");
    assert!(!env_file.with_file_name(".env.refs").exists());

    // In a container (an image), the file stays for after_script.
    let kept = Command::new(akl_binary())
        .args(["env"])
        .env_clear()
        .env("HOME", world.home())
        .env("GITLAB_CI", "true")
        .env("CI_JOB_IMAGE", "ci_base-rs:alpine")
        .env("AKEYLESS_GATEWAY_URL", world.fake.url())
        .env("AKEYLESS_CA_CERT", world.ca())
        .env("AKEYLESS_ACCESS_ID", JWT_ACCESS_ID)
        .env("AKEYLESS_JWT", world.jwt(json!({})))
        .env("DB", "akeyless://ci/db-password")
        .status()
        .unwrap();
    assert!(kept.success());
    std::thread::sleep(Duration::from_millis(500));
    assert!(env_file.exists());
}

#[test]
fn a_home_that_is_not_a_path_puts_nothing_in_the_working_directory() {
    let world = World::new();
    let cwd = tempfile::tempdir().unwrap();
    let run = world
        .akl()
        .env("HOME", "akeyless://ci/api-token")
        .env("TMPDIR", world.dir.path())
        .env("DB", "akeyless://ci/db-password")
        .cwd(cwd.path())
        .args(["env"])
        .run()
        .ok();
    assert!(
        run.stderr.contains("HOME is not set to an absolute path"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_dir(cwd.path()).unwrap().count(),
        0,
        "nothing under the working directory"
    );
    let private: PathBuf = world.dir.path().join(format!("akl-{}", rustix_uid()));
    assert!(private.join(".akeyless/env").exists());
}

fn rustix_uid() -> u32 {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

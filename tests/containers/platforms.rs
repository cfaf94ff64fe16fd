//! linux/arm64 next to linux/amd64: the aarch64 binary under qemu-aarch64-static, the arm64
//! image running a job (through binfmt_misc), and both images published as one manifest
//! list to a registry on loopback, pulled back by digest for each platform.
//!
//! `make test` builds both binaries first and registers qemu-aarch64 with binfmt_misc
//! (`scripts/deps.sh arm64`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::jobs::{akeyless_job, check};
use crate::runner::{
    BASE, IMAGE_ARM64, Image, Platform, build_for, docker, image, image_of, with_docker_host,
};
use akl_testkit::World;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn arm64_binary() -> PathBuf {
    let binary = root().join("target/aarch64-unknown-linux-musl/release/akl");
    assert!(
        binary.exists(),
        "{} is missing: run `make build TARGET=aarch64-unknown-linux-musl` (make test does)",
        binary.display()
    );
    binary
}

fn commit() -> String {
    let out = Command::new("git")
        .args(["rev-parse", "--short=7", "HEAD"])
        .current_dir(root())
        .output()
        .expect("git");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn the_arm64_binary_resolves_and_masks_under_qemu() {
    let world = World::new();
    let arm64 = || world.akl().emulated("qemu-aarch64-static", arm64_binary());

    let version = arm64().args(["--version"]).run().ok();
    assert_eq!(
        version.stdout.trim(),
        format!(
            "akl {} (commit {}, aarch64-unknown-linux-musl)",
            env!("CARGO_PKG_VERSION"),
            commit()
        )
    );

    // The same job on both CPUs: the same file, byte for byte (the static secrets).
    let refs = [
        ("DB_PASSWORD", "akeyless://ci/db-password"),
        ("TRICKY", "akeyless://ci/tricky"),
        ("APP_PASSWORD", "akeyless://ci/app-config#password"),
    ];
    let mut on_arm64 = arm64().args(["env", "--stdout"]).stdout_is_secret();
    let mut on_amd64 = world.akl().args(["env", "--stdout"]).stdout_is_secret();
    for (name, reference) in refs {
        on_arm64 = on_arm64.env(name, reference);
        on_amd64 = on_amd64.env(name, reference);
    }
    let arm64_file = on_arm64.run().ok().stdout;
    assert!(
        arm64_file.contains("export DB_PASSWORD='canary-db-password-9b1f0e'"),
        "{arm64_file}"
    );
    assert_eq!(arm64_file, on_amd64.run().ok().stdout);

    // A dynamic secret, and masking in a command's output.
    let run = arm64()
        .env("DB_PASSWORD", "akeyless://ci/db-password")
        .env("DB_USER", "akeyless://ci/mysql#user")
        .args([
            "run",
            "--",
            "sh",
            "-c",
            r#"echo "pw=$DB_PASSWORD"; [ -n "$DB_USER" ] && echo "user=$DB_USER""#,
        ])
        .run()
        .ok();
    assert!(
        run.stdout.contains("pw=[MASKED]") && run.stdout.contains("user=[MASKED]"),
        "{}",
        run.stdout
    );

    // Failures keep their exit codes.
    arm64()
        .env("MISSING", "akeyless://ci/no-such-secret")
        .args(["env", "--stdout"])
        .run()
        .code(4);
    world
        .bare()
        .emulated("qemu-aarch64-static", arm64_binary())
        .env("AKEYLESS_ACCESS_ID", akl_testkit::JWT_ACCESS_ID)
        .env(
            "AKEYLESS_JWT",
            world.jwt(serde_json::json!({"aud": "someone-else"})),
        )
        .env("DB_PASSWORD", "akeyless://ci/db-password")
        .args(["env", "--stdout"])
        .run()
        .code(3);
}

#[test]
fn the_arm64_image_runs_a_job() {
    let world = World::new();
    let container = akeyless_job(&world)
        .image(Image::Arm64)
        .var("DB_PASSWORD", "akeyless://ci/db-password")
        .create();
    let main = container.stage(
        r#". ~/.akeyless/env
echo "machine: $(uname -m)"
[ "$DB_PASSWORD" = 'canary-db-password-9b1f0e' ] && echo "static: ok"
echo "shown: $DB_PASSWORD"
akl --version"#,
    );
    check(&world, &main, 0);
    for line in [
        "machine: aarch64",
        "static: ok",
        "shown: [MASKED]",
        "aarch64-unknown-linux-musl)",
    ] {
        assert!(main.log.contains(line), "no {line:?} in:\n{}", main.log);
    }
    let platform = inspect(IMAGE_ARM64, "{{.Os}}/{{.Architecture}}");
    assert_eq!(platform, "linux/arm64");
}

#[test]
fn the_image_carries_oci_labels_and_has_a_non_root_variant() {
    let tag = "ci_base-rs:test-nonroot";
    let revision = String::from_utf8(
        Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(root())
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let revision = revision.trim();
    build_for(
        Platform::Amd64,
        BASE,
        "",
        &[tag],
        &[
            "AKL_USER=10001".to_owned(),
            format!("VERSION={}", env!("CARGO_PKG_VERSION")),
            format!("REVISION={revision}"),
            "SOURCE=https://example.invalid/ci_base-rs".to_owned(),
            "LICENSES=NOASSERTION".to_owned(),
        ],
    );
    for (label, value) in [
        (
            "org.opencontainers.image.version",
            env!("CARGO_PKG_VERSION"),
        ),
        ("org.opencontainers.image.revision", revision),
        (
            "org.opencontainers.image.source",
            "https://example.invalid/ci_base-rs",
        ),
        ("org.opencontainers.image.licenses", "NOASSERTION"),
    ] {
        let got = inspect(tag, &format!("{{{{index .Config.Labels \"{label}\"}}}}"));
        assert_eq!(got, value, "{label}");
    }
    assert_eq!(inspect(tag, "{{.Config.User}}"), "10001");
    assert_eq!(inspect(image(), "{{.Config.User}}"), "root");

    // The non-root variant runs the main job as 10001, with a private HOME.
    let world = World::new();
    let out = docker()
        .args(["run", "--rm", "-i", "--network", "host"])
        .args(["-v", &format!("{}:/ca.pem:ro", world.ca().display())])
        .args(["-e", "AKEYLESS_GATEWAY_URL", "-e", "AKEYLESS_CA_CERT=/ca.pem"])
        .args(["-e", "AKEYLESS_ACCESS_ID", "-e", "AKEYLESS_JWT"])
        .args(["-e", "DB_PASSWORD=akeyless://ci/db-password"])
        .env("AKEYLESS_GATEWAY_URL", world.fake.url())
        .env("AKEYLESS_ACCESS_ID", akl_testkit::JWT_ACCESS_ID)
        .env("AKEYLESS_JWT", world.jwt(serde_json::json!({})))
        .args([
            tag,
            "sh",
            "-c",
            r#". ~/.akeyless/env; echo "uid=$(id -u) home=$HOME"; [ "$DB_PASSWORD" = canary-db-password-9b1f0e ] && echo ok"#,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("uid=10001 home=/tmp/akl-10001"), "{log}");
    assert!(log.lines().any(|l| l == "ok"), "{log}");
}

fn inspect(image: &str, format: &str) -> String {
    let out = akl_testkit::run_ok(docker().args(["image", "inspect", "-f", format, image]));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Debian's docker-registry on a free loopback port, storing under a temporary directory;
/// stopped when dropped.
struct Registry {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Registry {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("127.0.0.1:{port}");
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {address}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry (Debian's docker-registry; make test installs it)");
        let registry = Registry {
            child,
            address,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&registry.address).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        registry
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn one_manifest_list_serves_both_platforms_by_digest() {
    let registry = Registry::start();
    let repository = format!("{}/ci_base-rs", registry.address);
    let tag = format!("{}-{}", env!("CARGO_PKG_VERSION"), commit());
    for (image, arch) in [
        (image_of(Image::Busybox), "amd64"),
        (image_of(Image::Arm64), "arm64"),
    ] {
        akl_testkit::run_ok(docker().args(["tag", image, &format!("{repository}:{tag}-{arch}")]));
    }
    let publish = || {
        with_docker_host("sh")
            .arg(root().join("scripts/publish.sh"))
            .args([&repository, &tag])
            .output()
            .unwrap()
    };
    let out = publish();
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = printed
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{repository}:{tag}@")))
        .unwrap_or_else(|| panic!("no list digest in:\n{printed}"))
        .to_owned();

    // The list names both platforms, each by the digest publish.sh printed.
    let manifest = String::from_utf8(
        akl_testkit::run_ok(docker().args([
            "manifest",
            "inspect",
            "--insecure",
            &format!("{repository}@{list}"),
        ]))
        .stdout,
    )
    .unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let entries = manifest["manifests"].as_array().expect("a manifest list");
    let mut platforms: Vec<String> = entries
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap(),
                m["platform"]["architecture"].as_str().unwrap()
            )
        })
        .collect();
    platforms.sort();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    for entry in entries {
        let line = format!(
            "{}/{} {repository}@{}",
            entry["platform"]["os"].as_str().unwrap(),
            entry["platform"]["architecture"].as_str().unwrap(),
            entry["digest"].as_str().unwrap()
        );
        assert!(printed.contains(&line), "{line} not in:\n{printed}");
    }

    // Pulled back by the list's digest, each platform gets its own image and binary.
    for platform in [Platform::Arm64, Platform::Amd64] {
        let reference = format!("{repository}@{list}");
        let _ = docker().args(["image", "rm", "-f", &reference]).output();
        akl_testkit::run_ok(docker().args([
            "pull",
            "-q",
            "--platform",
            platform.docker(),
            &reference,
        ]));
        assert_eq!(
            inspect(&reference, "{{.Os}}/{{.Architecture}}"),
            platform.docker()
        );
        let version = akl_testkit::run_ok(docker().args([
            "run",
            "--rm",
            "--entrypoint",
            "/usr/local/bin/akl",
            &reference,
            "--version",
        ]));
        let version = String::from_utf8_lossy(&version.stdout).into_owned();
        assert!(
            version.contains(&format!("{})", platform.target())),
            "{version}"
        );
    }

    // The tag is immutable: publishing it again is refused.
    let again = publish();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("tags are immutable"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

//! Jobs run the way GitLab Runner's Docker executor runs them (`docs/gitlab.md`): the image's
//! ENTRYPOINT kept, the shell-detection command as CMD, every job variable in the
//! container's environment, the job script written to stdin after `docker start`, and
//! the same container started again for `after_script`.
//!
//! The images are built once per test process: a base imported from Debian's
//! busybox-static (nothing can be pulled here), and `docker/Dockerfile` on top of it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The image the tests build; `ci_base-rs:alpine` is tagged too, for the example pipeline.
pub const IMAGE: &str = "ci_base-rs:test";
pub const BASE: &str = "akl-test-base:latest";
/// The same on a base that has bash, which the runner's shell detection then picks.
pub const IMAGE_BASH: &str = "ci_base-rs:test-bash";
pub const BASE_BASH: &str = "akl-test-base:bash";
/// The image for linux/arm64, on Debian's arm64 busybox, with the aarch64 binary; it runs
/// here through binfmt_misc and qemu-aarch64-static (`scripts/deps.sh arm64`).
pub const IMAGE_ARM64: &str = "ci_base-rs:test-arm64";
pub const BASE_ARM64: &str = "akl-test-base:arm64";

/// Which image a job runs in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Image {
    /// ci_base-rs on busybox: the job shell is busybox sh.
    #[default]
    Busybox,
    /// ci_base-rs on busybox with bash added: the job shell is bash.
    Bash,
    /// The bare busybox base, no entrypoint: what Docker does without akl.
    BareBase,
    /// ci_base-rs for linux/arm64 on busybox.
    Arm64,
}

/// The runner's shell detection, verbatim.
pub const DETECT_SHELL: &str = "if [ -x /usr/local/bin/bash ]; then exec /usr/local/bin/bash; elif [ -x /usr/bin/bash ]; then exec /usr/bin/bash; elif [ -x /bin/bash ]; then exec /bin/bash; elif [ -x /usr/local/bin/sh ]; then exec /usr/local/bin/sh; elif [ -x /usr/bin/sh ]; then exec /usr/bin/sh; elif [ -x /bin/sh ]; then exec /bin/sh; elif [ -x /busybox/sh ]; then exec /busybox/sh; else echo shell not found; exit 1; fi";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A command pointed at the checkout's own Docker engine unless DOCKER_HOST says otherwise.
pub fn with_docker_host(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    if std::env::var_os("DOCKER_HOST").is_none() {
        cmd.env(
            "DOCKER_HOST",
            format!("unix://{}/target/docker/docker.sock", root().display()),
        );
    }
    cmd
}

pub fn docker() -> Command {
    with_docker_host("docker")
}

/// A docker step of the harness; a failure usually means the engine is not running.
fn run(cmd: &mut Command) -> Output {
    if cmd.get_program() == "docker"
        && docker()
            .arg("version")
            .output()
            .is_ok_and(|o| !o.status.success())
    {
        panic!("the Docker engine does not answer: make test starts it (scripts/dockerd.sh start)");
    }
    akl_testkit::run_ok(cmd)
}

/// Builds the images once. The release binary must be current: `make test` builds it
/// first; a stale one would test old code.
pub fn image() -> &'static str {
    image_of(Image::Busybox)
}

pub fn image_of(kind: Image) -> &'static str {
    static BUSYBOX: OnceLock<()> = OnceLock::new();
    static BASH: OnceLock<()> = OnceLock::new();
    static ARM64: OnceLock<()> = OnceLock::new();
    match kind {
        Image::Busybox => {
            BUSYBOX.get_or_init(|| build(BASE, "", &[IMAGE, "ci_base-rs:alpine"]));
            IMAGE
        }
        Image::Bash => {
            BASH.get_or_init(|| build(BASE_BASH, "bash", &[IMAGE_BASH]));
            IMAGE_BASH
        }
        Image::BareBase => {
            BUSYBOX.get_or_init(|| build(BASE, "", &[IMAGE, "ci_base-rs:alpine"]));
            BASE
        }
        Image::Arm64 => {
            ARM64.get_or_init(|| build_for(Platform::Arm64, BASE_ARM64, "", &[IMAGE_ARM64], &[]));
            IMAGE_ARM64
        }
    }
}

/// The platforms the image is built for, with the binary each one takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Amd64,
    Arm64,
}

impl Platform {
    pub fn docker(self) -> &'static str {
        match self {
            Platform::Amd64 => "linux/amd64",
            Platform::Arm64 => "linux/arm64",
        }
    }

    pub fn target(self) -> &'static str {
        match self {
            Platform::Amd64 => "x86_64-unknown-linux-musl",
            Platform::Arm64 => "aarch64-unknown-linux-musl",
        }
    }
}

/// Builds `base` from busybox-static (with `extra`) and docker/Dockerfile on it.
fn build(base: &str, extra: &str, tags: &[&str]) {
    build_for(Platform::Amd64, base, extra, tags, &[]);
}

/// The same for `platform`, with more `--build-arg`s (`NAME=value`).
pub fn build_for(platform: Platform, base: &str, extra: &str, tags: &[&str], args: &[String]) {
    let binary = root().join(format!("target/{}/release/akl", platform.target()));
    let built = std::fs::metadata(&binary)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| {
            panic!(
                "{} is missing: run `make build` (make test does)",
                binary.display()
            )
        });
    let newest_source = newest(&root().join("src"));
    assert!(
        built >= newest_source,
        "{} is older than src/: run `make build` (make test does)",
        binary.display()
    );
    let base_script = root().join("scripts/base-image.sh");
    run(docker().arg("version").stdout(Stdio::null()));
    run(with_docker_host("sh")
        .arg(base_script)
        .args([base, extra, platform.docker()]));
    let mut cmd = docker();
    cmd.args(["build", "-q", "--platform", platform.docker()])
        .args(["-f", "docker/Dockerfile", "--build-arg"])
        .arg(format!("BASE_IMAGE={base}"))
        .args(["--build-arg", "APK_PACKAGES="])
        .arg("--build-arg")
        .arg(format!("TARGET={}", platform.target()));
    for arg in args {
        cmd.args(["--build-arg", arg]);
    }
    for tag in tags {
        cmd.args(["-t", tag]);
    }
    run(cmd.arg(".").current_dir(root()));
}

/// The latest modification time of any file under `dir`.
fn newest(dir: &Path) -> std::time::SystemTime {
    let mut latest = std::time::UNIX_EPOCH;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let time = if path.is_dir() {
            newest(&path)
        } else {
            entry.metadata().unwrap().modified().unwrap()
        };
        latest = latest.max(time);
    }
    latest
}

/// A job: its variables and how the runner is configured to start it.
#[derive(Default)]
pub struct Job {
    vars: Vec<(String, String)>,
    docker_args: Vec<String>,
    image: Image,
}

impl Job {
    /// A job with the variables the runner sets in every job.
    pub fn new() -> Job {
        Job::default()
            .var("CI", "true")
            .var("GITLAB_CI", "true")
            .var("CI_SERVER_NAME", "GitLab")
    }

    /// A container started the way GitLab's native steps start one: none of the job's
    /// variables reach the entrypoint.
    pub fn native_steps() -> Job {
        Job::default()
    }

    pub fn var(mut self, name: &str, value: impl Into<String>) -> Job {
        self.vars.push((name.to_owned(), value.into()));
        self
    }

    /// The image to run in (ci_base-rs on busybox by default).
    pub fn image(mut self, image: Image) -> Job {
        self.image = image;
        self
    }

    /// Extra `docker create` options (`--user`, `--read-only`, a volume).
    pub fn docker_args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Job {
        self.docker_args.extend(args.into_iter().map(Into::into));
        self
    }

    /// `docker create -i`, as the executor does. Values reach docker through its own
    /// environment (`-e NAME`), never its command line.
    pub fn create(&self) -> Container {
        let mut cmd = docker();
        cmd.args(["create", "-i", "--network", "host"])
            .args(&self.docker_args);
        for (name, value) in &self.vars {
            cmd.arg("-e").arg(name).env(name, value);
        }
        cmd.args([image_of(self.image), "sh", "-c", DETECT_SHELL]);
        let id = String::from_utf8(run(&mut cmd).stdout)
            .unwrap()
            .trim()
            .to_owned();
        Container {
            id,
            vars: self.vars.clone(),
        }
    }
}

pub struct Container {
    id: String,
    vars: Vec<(String, String)>,
}

/// What a stage printed and how it ended.
#[derive(Debug)]
pub struct Stage {
    pub code: Option<i32>,
    pub log: String,
    pub elapsed: Duration,
}

impl Container {
    /// Starts the container with a stage's script on stdin, as the runner does: the
    /// generated script first re-exports the job's variables, then runs the lines.
    pub fn stage(&self, lines: &str) -> Stage {
        let mut script = String::from("set -e\n");
        for (name, value) in &self.vars {
            script.push_str(&format!(
                "export {name}='{}'\n",
                value.replace('\'', r"'\''")
            ));
        }
        script.push_str(lines);
        script.push('\n');
        let start = Instant::now();
        // The job log is both streams in the order they arrive, as the runner collects
        // them: one file for docker's stdout and stderr.
        let log_file = tempfile::tempfile().expect("a log file");
        let mut child = docker()
            .args(["start", "-ai", &self.id])
            .stdin(Stdio::piped())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file.try_clone().unwrap())
            .spawn()
            .expect("docker start");
        use std::io::{Read, Seek, Write};
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let status = child.wait().unwrap();
        let mut log = Vec::new();
        let mut log_file = log_file;
        log_file.rewind().unwrap();
        log_file.read_to_end(&mut log).unwrap();
        Stage {
            code: status.code(),
            log: String::from_utf8_lossy(&log).into_owned(),
            elapsed: start.elapsed(),
        }
    }

    /// Runs a command in the running container (`docker exec`), as root.
    pub fn exec(&self, script: &str) -> Output {
        run(docker().args(["exec", &self.id, "sh", "-c", script]))
    }
}

impl Container {
    /// `docker stop` (SIGTERM to PID 1, SIGKILL after `grace`) from another thread, after
    /// `delay`, as when a job is cancelled while a stage runs.
    pub fn stop_after(&self, delay: Duration, grace: Duration) -> std::thread::JoinHandle<()> {
        let id = self.id.clone();
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let _ = docker()
                .args(["stop", "-t", &grace.as_secs().to_string(), &id])
                .stdout(Stdio::null())
                .status();
        })
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = docker()
            .args(["rm", "-f", &self.id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A directory under the build directory for tools the tests install (npm packages).
pub fn tools_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

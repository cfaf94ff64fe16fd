//! The harness akl's test suites share: a fake Akeyless per test, and `akl` run the way a
//! CI job runs it.
//!
//! Every run starts from a cleared environment, so no credential of the machine running
//! the tests can leak in, and every run is checked for canaries: no secret the fake knows
//! or handed out may appear on stderr, nor on stdout unless the test says stdout is the
//! secret (`akl auth`, `akl get`).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use tempfile::TempDir;

use fake_akeyless::{DEFAULT_FIXTURE, Fake, Fixture};

pub mod proxy;
pub mod shells;

pub use fake_akeyless::identities::{ACCESS_KEY, JWT_ACCESS_ID, KEY_ACCESS_ID, UID_TOKEN};
pub use shells::{SHELLS, source_in};

/// The `akl` binary under test: cargo builds it next to the test executable's `deps/`.
pub fn akl_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("tests run from <target>/<profile>/deps");
    profile.join("akl")
}

/// The build directory (the one holding `CACHEDIR.TAG`), for tools the suites install
/// once: virtualenvs, npm packages, logs.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").exists())
        .expect("tests run inside cargo's build directory")
        .to_path_buf()
}

/// A directory under the build directory's `tmp/`, created if missing.
pub fn tmp_dir(name: &str) -> PathBuf {
    let dir = target_dir().join("tmp").join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// How many `akl` runs the canary check has inspected in this test process.
pub static INSPECTED_RUNS: AtomicUsize = AtomicUsize::new(0);

pub fn default_fixture() -> Fixture {
    Fixture::from_json(DEFAULT_FIXTURE).expect("default fixture parses")
}

/// One test's world: a fake Akeyless and a scratch directory holding its CA and a HOME.
#[derive(Debug)]
pub struct World {
    pub fake: Fake,
    pub dir: TempDir,
}

impl Default for World {
    fn default() -> Self {
        Self::with(default_fixture())
    }
}

impl World {
    /// A world with the default fixture.
    pub fn new() -> World {
        Self::default()
    }

    pub fn with(fixture: Fixture) -> World {
        let fake = Fake::start(fixture);
        let dir = tempfile::tempdir().expect("scratch dir");
        std::fs::write(dir.path().join("ca.pem"), fake.ca_pem()).expect("write CA");
        std::fs::create_dir(dir.path().join("home")).expect("create HOME");
        World { fake, dir }
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// The binary called by its other name, `akeyless`, as the image's link does, with the
    /// gateway, CA and HOME set.
    pub fn akeyless(&self) -> Akl<'_> {
        let link = self.dir.path().join("bin/akeyless");
        if !link.exists() {
            std::fs::create_dir_all(link.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(akl_binary(), &link).unwrap();
        }
        Akl {
            program: link,
            ..self.bare()
        }
    }

    /// A valid ID token for the default JWT auth method, with claims overridden.
    pub fn jwt(&self, overrides: serde_json::Value) -> String {
        self.fake.mint_jwt(&overrides)
    }

    /// `akl` as a GitLab job would run it: gateway, CA, HOME, access id and a fresh ID token.
    pub fn akl(&self) -> Akl<'_> {
        self.bare()
            .env("AKEYLESS_ACCESS_ID", JWT_ACCESS_ID)
            .env("AKEYLESS_JWT", self.jwt(json!({})))
    }

    /// `akl` with only the gateway, its CA and HOME set.
    pub fn bare(&self) -> Akl<'_> {
        Akl {
            world: self,
            program: akl_binary(),
            args: Vec::new(),
            env: BTreeMap::new(),
            stdout_is_secret: false,
            cwd: None,
        }
        .env("AKEYLESS_GATEWAY_URL", self.fake.url())
        .env("AKEYLESS_CA_CERT", self.ca())
        .env("HOME", self.home())
    }
}

#[derive(Debug)]
pub struct Akl<'w> {
    world: &'w World,
    program: PathBuf,
    args: Vec<OsString>,
    env: BTreeMap<OsString, OsString>,
    stdout_is_secret: bool,
    cwd: Option<PathBuf>,
}

impl Akl<'_> {
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Runs `binary` through `runner` (an emulator, for a binary built for another CPU)
    /// instead of the `akl` cargo built.
    pub fn emulated(mut self, runner: impl Into<PathBuf>, binary: impl Into<OsString>) -> Self {
        self.program = runner.into();
        self.args.insert(0, binary.into());
        self
    }

    pub fn env(mut self, name: impl Into<OsString>, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.env.insert(name.into(), value.as_ref().to_owned());
        self
    }

    pub fn env_remove(mut self, name: &str) -> Self {
        self.env.remove(&OsString::from(name));
        self
    }

    /// Runs `sh` instead, root in private user and mount namespaces (so it may mount a
    /// filesystem), with the arguments given next; the script runs `akl` itself.
    pub fn program_in_namespace(mut self) -> Self {
        self.program = PathBuf::from("/usr/bin/unshare");
        let prefix = ["--mount", "--map-root-user", "sh"].map(OsString::from);
        self.args.splice(0..0, prefix);
        self.env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    }

    /// Runs the sh `script` as `program_in_namespace` does, once a 64 KiB tmpfs (mode 700,
    /// as akl requires of a place for secrets) is mounted on `dir`: a disk that fills up.
    /// The script gets `dir` as `$1` and the `akl` binary as `$2`.
    pub fn on_a_small_tmpfs(self, dir: &Path, script: &str) -> Self {
        let script =
            format!("mount -t tmpfs -o size=64k,mode=700 tmpfs \"$1\" || exit 99\n{script}");
        self.program_in_namespace()
            .args(["-c", &script, "sh"])
            .args([dir.as_os_str(), akl_binary().as_os_str()])
    }

    /// Runs in `dir` instead of the test's own working directory.
    pub fn cwd(mut self, dir: &Path) -> Self {
        self.cwd = Some(dir.to_path_buf());
        self
    }

    /// This command's stdout is meant to carry a secret; stderr is still checked.
    pub fn stdout_is_secret(mut self) -> Self {
        self.stdout_is_secret = true;
        self
    }

    pub fn run(self) -> Run {
        let mut cmd = assert_cmd::Command::new(&self.program);
        cmd.env_clear()
            .envs(&self.env)
            .args(&self.args)
            .timeout(Duration::from_secs(60));
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        let output = cmd.output().expect("akl runs");
        let run = Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            args: self
                .args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
        };
        // On GitHub Actions and Azure Pipelines the runner reads a masking command and
        // never shows its line: those lines are what the CI hides, the rest must be clean.
        let hidden: &[&str] = match (
            self.env.get(std::ffi::OsStr::new("GITHUB_ACTIONS")),
            self.env.get(std::ffi::OsStr::new("TF_BUILD")),
        ) {
            (Some(v), _) if v == "true" => &["::add-mask::"],
            (_, Some(v)) if v == "True" || v == "true" => &["##vso[task.setsecret]"],
            _ => &[],
        };
        let shown_stderr: String = run
            .stderr
            .lines()
            .filter(|line| !hidden.iter().any(|h| line.starts_with(h)))
            .map(|line| format!("{line}\n"))
            .collect();
        let mut places = vec![("stderr", &shown_stderr)];
        if !self.stdout_is_secret {
            places.push(("stdout", &run.stdout));
        }
        // Every file under the world's directory that is not an output meant to hold
        // secrets (an env file, or the file given to --output) is checked as well.
        let outputs: Vec<PathBuf> = self
            .args
            .windows(2)
            .filter(|w| w[0] == "--output" || w[0] == "-o")
            .map(|w| PathBuf::from(&w[1]))
            .collect();
        let files = written_files(self.world.dir.path(), &outputs);
        for (path, text) in &files {
            assert_no_canaries(&self.world.fake, &[(&path.display().to_string(), text)]);
        }
        assert_no_canaries(&self.world.fake, &places);
        record_inspection(places.len() + files.len());
        run
    }
}

/// Files under `dir` that `akl` may have written and that must hold no secret: everything
/// but the CA, env files (`env`, `*.env`), the given outputs, the token store of
/// `akeyless auth` (`.tmp_creds/`, where the Akeyless CLI keeps its token too), and the
/// files of `|file=true` outputs (`files/`).
fn written_files(dir: &Path, outputs: &[PathBuf]) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                // `files/`: the `|file=true` outputs beside an env file, secrets by design.
                if name != ".tmp_creds" && name != "files" {
                    stack.push(path);
                }
            } else if kind.is_file()
                && name != "ca.pem"
                && name != "env"
                && !name.ends_with(".env")
                && !outputs.contains(&path)
                && entry.metadata().is_ok_and(|m| m.len() < 64 << 20)
            {
                let text =
                    String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).into_owned();
                found.push((path, text));
            }
        }
    }
    found
}

/// Counts what the canary check looked at, across the whole suite: one line per `akl` run
/// in `target/tmp/canary-inspections.log` (the closing figures of the hardening work).
pub fn record_inspection(places: usize) {
    INSPECTED_RUNS.fetch_add(1, Ordering::Relaxed);
    let log = tmp_dir("").join("canary-inspections.log");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        use std::io::Write;
        let _ = writeln!(f, "{places}");
    }
}

/// Fails the test if any secret the fake knows appears in any of `places`.
///
/// A secret can leak in a form other than its own bytes: quoted by a shell (`'\''`,
/// `\$`, `$'\303\244'`), JSON-escaped, split into lines. What survives every such form
/// is each run of plain characters inside it, so every run of 12 or more is looked for
/// too ([`fragments`]).
pub fn assert_no_canaries(fake: &Fake, places: &[(&str, &String)]) {
    for canary in fake.canaries() {
        for (place, text) in places {
            assert!(
                !text.contains(&canary),
                "secret {canary:?} leaked into {place}:\n{text}"
            );
            for fragment in fragments(&canary) {
                assert!(
                    !text.contains(fragment),
                    "a piece of secret {canary:?} ({fragment:?}) leaked into {place}:\n{text}"
                );
            }
        }
    }
}

/// The runs of 12 or more characters of a secret that no quoting or escaping changes:
/// letters, digits and `-_.:/+=@%`.
pub fn fragments(secret: &str) -> Vec<&str> {
    let plain = |c: char| c.is_alphanumeric() || "-_.:/+=@%".contains(c);
    secret
        .split(|c: char| !plain(c))
        .filter(|run| run.len() >= 12)
        .collect()
}

#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    args: Vec<String>,
}

impl Run {
    #[track_caller]
    pub fn code(self, expected: i32) -> Self {
        assert_eq!(
            self.code,
            Some(expected),
            "akl {:?} exited {:?}, expected {expected}\n--- stdout\n{}\n--- stderr\n{}",
            self.args,
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn ok(self) -> Self {
        self.code(0)
    }

    #[track_caller]
    pub fn stderr_has(self, needle: &str) -> Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs a helper command of the suite (docker, python, npm); it must succeed.
pub fn run_ok(cmd: &mut std::process::Command) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A token from `akl auth`, for tests that pass one on.
pub fn token(world: &World) -> String {
    world
        .akl()
        .args(["auth"])
        .stdout_is_secret()
        .run()
        .ok()
        .stdout
        .trim()
        .to_owned()
}

/// Permission bits of a path.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

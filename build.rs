//! `akl --version` names the commit and the target: `0.1.0 (commit abc1234,
//! x86_64-unknown-linux-musl)`. Nothing here depends on the time or the build directory,
//! so two builds of one commit give the same bytes.
//!
//! The commit comes from `git rev-parse` in the source tree; without git (a source
//! tarball) from `AKL_COMMIT`; failing both it is `unknown`.

use std::path::Path;
use std::process::Command;

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo");
    let target = std::env::var("TARGET").expect("set by cargo");
    let commit = git(&manifest_dir, &["rev-parse", "--short=7", "HEAD"])
        .or_else(|| std::env::var("AKL_COMMIT").ok().filter(|c| !c.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    let version = std::env::var("CARGO_PKG_VERSION").expect("set by cargo");
    println!("cargo:rustc-env=AKL_VERSION={version} (commit {commit}, {target})");

    // Run again when HEAD moves: HEAD itself (a branch switch) and the ref it points at
    // (a commit), wherever git keeps them (a worktree's HEAD is not in the common dir).
    println!("cargo:rerun-if-env-changed=AKL_COMMIT");
    for file in ["HEAD", "packed-refs"] {
        if let Some(path) = git(&manifest_dir, &["rev-parse", "--git-path", file]) {
            rerun_if_changed(&manifest_dir, &path);
        }
    }
    if let Some(branch) = git(&manifest_dir, &["symbolic-ref", "-q", "HEAD"]) {
        if let Some(path) = git(&manifest_dir, &["rev-parse", "--git-path", &branch]) {
            rerun_if_changed(&manifest_dir, &path);
        }
    }
}

/// `git ARGS` in `dir`, its trimmed output when it succeeds.
fn git(dir: &str, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn rerun_if_changed(dir: &str, path: &str) {
    let path = Path::new(dir).join(path);
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

//! Sourcing an env file in real shells, shared by the renderer's unit tests (src/envfile.rs)
//! and the integration suite: the proof that a value survives is a shell giving it back.

use std::path::Path;

/// The shells a sourced env file must work in, as commands.
pub const SHELLS: [&[&str]; 3] = [&["dash"], &["bash", "--posix"], &["busybox", "sh"]];

/// Sources `file` in `shell` and returns the named variables' values, byte for byte.
pub fn source_in(shell: &[&str], file: &Path, names: &[&str]) -> Vec<Vec<u8>> {
    let values: Vec<String> = names.iter().map(|n| format!("\"${n}\"")).collect();
    let script = format!(". \"$1\" && printf '%s\\0' {}", values.join(" "));
    let out = std::process::Command::new(shell[0])
        .args(&shell[1..])
        .args(["-c", &script, "sh"])
        .arg(file)
        .env_clear()
        .output()
        .unwrap_or_else(|e| panic!("{shell:?} must be installed (make test installs it): {e}"));
    assert!(
        out.status.success(),
        "{shell:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut values: Vec<Vec<u8>> = out.stdout.split(|b| *b == 0).map(<[u8]>::to_vec).collect();
    assert_eq!(values.pop(), Some(vec![]), "output ends with a NUL");
    values
}

//! Issued certificates, used from a job in the image by the tools they are for: `ssh -i
//! "$X"` logs in to an sshd on loopback that trusts the fake's SSH CA and nothing else,
//! and an HTTPS request with the TLS certificate reaches a loopback server that requires
//! a client certificate from the fake's PKI.
//!
//! The test image is busybox (nothing can be pulled here) and has neither client: the
//! host's `ssh` and `curl` are mounted into the job with the host's libraries and run
//! through the host's dynamic loader, unchanged. sshd (openssh-server) and openssl run on
//! the host; the job reaches them over the host network, as it reaches the fake.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::jobs::{akeyless_job, check};
use akl_testkit::{World, read, run_ok};

/// A daemon this test started, stopped when the test ends.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    fn start(cmd: &mut Command, log: PathBuf, port: u16) -> Daemon {
        let file = std::fs::File::create(&log).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd:?} (scripts/deps.sh test installs it): {e}"));
        let daemon = Daemon { child, log };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "{cmd:?} does not listen on {port}:\n{}",
                read(&daemon.log)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        daemon
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tool(program: &str, args: &[&str]) -> String {
    let out = run_ok(Command::new(program).args(args));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// An sshd for the current user that accepts only certificates signed by `ca` with the
/// principal `deploy`.
fn sshd(dir: &Path, ca: &str, port: u16) -> Daemon {
    let host_key = dir.join("host_key");
    run_ok(
        Command::new("ssh-keygen")
            .args(["-t", "ed25519", "-N", "", "-q", "-f"])
            .arg(&host_key),
    );
    std::fs::write(dir.join("ca.pub"), format!("{ca}\n")).unwrap();
    std::fs::write(dir.join("principals"), "deploy\n").unwrap();
    let config = dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
             TrustedUserCAKeys {d}/ca.pub\nAuthorizedPrincipalsFile {d}/principals\n\
             AuthorizedKeysFile none\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\n",
            d = dir.display()
        ),
    )
    .unwrap();
    // sshd run as root wants its privilege separation directory.
    let _ = std::fs::create_dir_all("/run/sshd");
    Daemon::start(
        Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&config),
        dir.join("sshd.log"),
        port,
    )
}

/// The host's dynamic loader and library directory, for running host programs in the job.
fn host_loader() -> (String, String) {
    match std::env::consts::ARCH {
        "aarch64" => (
            "/usr/lib/aarch64-linux-gnu".into(),
            "ld-linux-aarch64.so.1".into(),
        ),
        arch => (
            format!("/usr/lib/{arch}-linux-gnu"),
            "ld-linux-x86-64.so.2".into(),
        ),
    }
}

#[test]
fn ssh_logs_in_with_the_issued_key_and_https_takes_the_client_certificate() {
    let world = World::new();
    let dir = world.dir.path().join("servers");
    std::fs::create_dir(&dir).unwrap();
    let user = tool("id", &["-un"]);

    let ssh_port = free_port();
    let _sshd = sshd(&dir, &world.fake.ssh_ca(), ssh_port);

    // The HTTPS server's own certificate comes from the fake's PKI as well, for localhost.
    world
        .akl()
        .env("SERVER", "akeyless:/ci/pki-issuer|cn=localhost")
        .args(["env"])
        .run()
        .ok();
    let server = world.home().join(".akeyless/files/SERVER");
    let root = world.dir.path().join("pki-root.pem");
    std::fs::write(&root, world.fake.pki_root_pem()).unwrap();
    let https_port = free_port();
    let _https = Daemon::start(
        Command::new("openssl")
            .args([
                "s_server",
                "-quiet",
                "-www",
                "-Verify",
                "1",
                "-verify_return_error",
            ])
            .args(["-accept", &format!("127.0.0.1:{https_port}")])
            .arg("-cert")
            .arg(&server)
            .arg("-cert_chain")
            .arg(&server)
            .arg("-key")
            .arg(format!("{}.key", server.display()))
            .arg("-CAfile")
            .arg(&root),
        dir.join("s_server.log"),
        https_port,
    );

    let (lib, loader) = host_loader();
    let container = akeyless_job(&world)
        .var(
            "DEPLOY_KEY",
            "akeyless:/ci/ssh-issuer|ssh_user=deploy|ttl=600",
        )
        .var("TLS", "akeyless:/ci/pki-issuer|cn=job.example.com")
        .docker_args([
            "-v".to_owned(),
            "/usr/bin/ssh:/host/ssh:ro".to_owned(),
            "-v".to_owned(),
            "/usr/bin/curl:/host/curl:ro".to_owned(),
            "-v".to_owned(),
            format!("{lib}:/host/lib:ro"),
            "-v".to_owned(),
            format!("{}:/pki-root.pem:ro", root.display()),
        ])
        .create();
    let script = format!(
        r#". ~/.akeyless/env
host() {{ /host/lib/{loader} --library-path /host/lib "$@"; }}
ls -l "$DEPLOY_KEY" "$DEPLOY_KEY-cert.pub" | cut -c1-10
host /host/ssh -F /dev/null -i "$DEPLOY_KEY" -p {ssh_port} -o BatchMode=yes \
  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
  {user}@127.0.0.1 'echo "ssh login: $(id -un)"'
host /host/curl -sSi --cacert /pki-root.pem --cert "$TLS" --key "$TLS.key" \
  https://localhost:{https_port}/ | grep -E '^(HTTP|Client certificate)'
if host /host/curl -sS --cacert /pki-root.pem https://localhost:{https_port}/ >/dev/null 2>&1
then echo "without a certificate: accepted"; else echo "without a certificate: refused"; fi
cat "$DEPLOY_KEY" "$TLS.key""#
    );
    let stage = container.stage(&script);
    check(&world, &stage, 0);
    let log = &stage.log;
    println!("job log:\n{log}");
    assert!(
        log.contains(&format!("ssh login: {user}")),
        "ssh -i \"$DEPLOY_KEY\" logged in:\n{log}\nsshd:\n{}",
        read(&dir.join("sshd.log"))
    );
    assert_eq!(log.matches("-rw-------").count(), 2, "{log}");
    assert!(log.contains("HTTP/1.0 200 ok"), "{log}");
    assert!(log.contains("Client certificate"), "{log}");
    assert!(log.contains("without a certificate: refused"), "{log}");
    // The keys were printed, and masked: the start of every OpenSSH key file (the
    // format's magic, base64) and of every PKCS#8 P-256 key are not in the log.
    assert!(log.contains("[MASKED]"), "{log}");
    assert!(
        !log.contains("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"),
        "{log}"
    );
    assert!(
        !log.contains("MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg"),
        "{log}"
    );
}

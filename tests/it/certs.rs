//! Certificates issued per job: `|ssh_user=` and `|cn=` on the fake's issuers, which sign
//! with their own CAs and enforce allowed users, names and TTLs; and the `akeyless`
//! commands `get-ssh-certificate` and `get-pki-certificate`. What is issued is checked by
//! the tools that use it: `ssh-keygen -L` for the SSH certificate, `openssl verify` for
//! the TLS chain. The private key must never reach the output, the server, or argv.

use std::path::{Path, PathBuf};
use std::process::Command;

use akl_testkit::{World, mode, read, run_ok, source_in, token};

const SSH_ISSUER: &str = "/ci/ssh-issuer";
const PKI_ISSUER: &str = "/ci/pki-issuer";

fn files_dir(world: &World) -> PathBuf {
    world.home().join(".akeyless/files")
}

/// The value of a variable after sourcing the env file.
fn var(world: &World, name: &str) -> String {
    let env = world.home().join(".akeyless/env");
    let values = source_in(&["sh"], &env, &[name]);
    String::from_utf8(values[0].clone()).unwrap()
}

/// Runs a tool the suite depends on (`scripts/deps.sh test` installs each).
fn tool(program: &str, args: &[&str]) -> String {
    let mut cmd = Command::new(program);
    cmd.args(args);
    let out = run_ok(&mut cmd);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The lines of a PEM or OpenSSH key's body: what must appear nowhere but in its file.
fn key_lines(key: &str) -> Vec<&str> {
    key.lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 16)
        .collect()
}

#[track_caller]
fn assert_key_absent(key: &str, place: &str, text: &str) {
    for line in key_lines(key) {
        assert!(
            !text.contains(line),
            "a line of the private key is in {place}:\n{text}"
        );
    }
}

/// The private key reached the fake in no certificate request.
#[track_caller]
fn assert_key_not_sent(world: &World, key: &str) {
    let sent = world.fake.key_material();
    assert!(!sent.is_empty(), "a certificate was asked for");
    for text in &sent {
        assert!(
            !text.contains("PRIVATE KEY"),
            "a private key was sent:\n{text}"
        );
        assert_key_absent(key, "a request to the server", text);
    }
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS` (UTC), as `ssh-keygen -L` prints
/// validity under TZ=UTC.
fn epoch(text: &str) -> i64 {
    let n = |range: std::ops::Range<usize>| text[range].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    days * 86400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)
}

/// `ssh-keygen -L` of a certificate: the type line, the principals, the validity in
/// seconds, and the signing CA's fingerprint.
struct SshCert {
    listing: String,
    principals: Vec<String>,
    valid_for: i64,
}

fn ssh_cert(path: &Path) -> SshCert {
    let mut cmd = Command::new("ssh-keygen");
    cmd.env("TZ", "UTC").arg("-L").arg("-f").arg(path);
    let listing = String::from_utf8(run_ok(&mut cmd).stdout).unwrap();
    let mut principals = Vec::new();
    let mut lines = listing.lines().map(str::trim);
    let mut valid_for = 0;
    while let Some(line) = lines.next() {
        if let Some(range) = line.strip_prefix("Valid: from ") {
            let (from, to) = range.split_once(" to ").unwrap();
            valid_for = epoch(to) - epoch(from);
        }
        if line == "Principals:" {
            for p in lines.by_ref() {
                if p.starts_with("Critical Options:") {
                    break;
                }
                principals.push(p.to_owned());
            }
        }
    }
    SshCert {
        listing,
        principals,
        valid_for,
    }
}

/// The SHA-256 fingerprint `ssh-keygen -l` gives a public key line.
fn fingerprint(world: &World, line: &str) -> String {
    let path = world.dir.path().join("fingerprint.pub");
    std::fs::write(&path, format!("{line}\n")).unwrap();
    let out = tool("ssh-keygen", &["-l", "-f", path.to_str().unwrap()]);
    out.split_whitespace().nth(1).unwrap().to_owned()
}

#[test]
fn an_ssh_certificate_for_a_key_made_in_the_job() {
    let world = World::new();
    world
        .akl()
        .env(
            "DEPLOY_KEY",
            "akeyless:/ci/ssh-issuer|ssh_user=deploy,ci|ttl=600",
        )
        .args(["env"])
        .run()
        .ok();
    let key_path = files_dir(&world).join("DEPLOY_KEY");
    let cert_path = files_dir(&world).join("DEPLOY_KEY-cert.pub");
    assert_eq!(var(&world, "DEPLOY_KEY"), key_path.to_str().unwrap());
    assert_eq!(mode(&key_path), 0o600);
    assert_eq!(mode(&cert_path), 0o600);

    let cert = ssh_cert(&cert_path);
    println!("ssh-keygen -L:\n{}", cert.listing);
    assert!(
        cert.listing
            .contains("Type: ssh-ed25519-cert-v01@openssh.com user certificate"),
        "{}",
        cert.listing
    );
    assert_eq!(cert.principals, ["deploy", "ci"]);
    // The fake dates certificates a minute back, for clock skew.
    assert_eq!(cert.valid_for, 600 + 60, "{}", cert.listing);
    let ca = fingerprint(&world, &world.fake.ssh_ca());
    assert!(
        cert.listing.contains(&format!("Signing CA: ED25519 {ca}")),
        "signed by the issuer's CA ({ca}):\n{}",
        cert.listing
    );
    // OpenSSH reads the key file as it is, and it is the certified key.
    let public = tool("ssh-keygen", &["-y", "-f", key_path.to_str().unwrap()]);
    let public_fp = fingerprint(&world, public.trim());
    assert!(
        cert.listing
            .contains(&format!("Public key: ED25519-CERT {public_fp}")),
        "{}",
        cert.listing
    );
    assert_key_not_sent(&world, &read(&key_path));
}

#[test]
fn legacy_rsa_gives_an_rsa_key_and_the_legacy_certificate_name() {
    let world = World::new();
    world
        .akl()
        .env(
            "OLD",
            "akeyless:/ci/ssh-issuer|ssh_user=deploy|legacy_rsa=true",
        )
        .args(["env"])
        .run()
        .ok();
    let key_path = files_dir(&world).join("OLD");
    let cert_path = files_dir(&world).join("OLD-cert.pub");
    assert!(read(&cert_path).starts_with("ssh-rsa-cert-v01@openssh.com "));
    let cert = ssh_cert(&cert_path);
    assert!(
        cert.listing
            .contains("Type: ssh-rsa-cert-v01@openssh.com user certificate"),
        "{}",
        cert.listing
    );
    assert_eq!(cert.principals, ["deploy"]);
    assert_eq!(cert.valid_for, 3600 + 60, "the issuer's TTL by default");
    let bits = tool("ssh-keygen", &["-l", "-f", key_path.to_str().unwrap()]);
    assert!(
        bits.starts_with("3072 ") && bits.contains("(RSA)"),
        "{bits}"
    );
    assert_key_not_sent(&world, &read(&key_path));
}

#[test]
fn legacy_rsa_without_ssh_keygen_says_what_to_install_and_leaves_nothing() {
    let world = World::new();
    // A PATH with no ssh-keygen on it, and a TMPDIR to see that ssh-keygen's private
    // directory is gone afterwards either way.
    let empty = world.dir.path().join("empty-path");
    let tmp = world.dir.path().join("tmp");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    world
        .akl()
        .env(
            "OLD",
            "akeyless:/ci/ssh-issuer|ssh_user=deploy|legacy_rsa=true",
        )
        .env("PATH", &empty)
        .env("TMPDIR", &tmp)
        .args(["env"])
        .run()
        .code(4)
        .stderr_has("OLD")
        .stderr_has("legacy_rsa=true needs OpenSSH's ssh-keygen on PATH")
        .stderr_has("openssh-client");
    assert!(!files_dir(&world).join("OLD").exists(), "nothing written");
    world
        .akl()
        .env(
            "OLD",
            "akeyless:/ci/ssh-issuer|ssh_user=deploy|legacy_rsa=true",
        )
        .env("TMPDIR", &tmp)
        .args(["env"])
        .run()
        .ok();
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(
        left.is_empty(),
        "ssh-keygen's directory is removed: {left:?}"
    );
}

#[test]
fn a_tls_certificate_and_chain_that_openssl_verifies() {
    let world = World::new();
    world
        .akl()
        .env(
            "TLS",
            "akeyless:/ci/pki-issuer|cn=app.example.com|alt_names=api.example.com,127.0.0.1|ttl=3600",
        )
        .args(["env"])
        .run()
        .ok();
    let cert = files_dir(&world).join("TLS");
    let key = files_dir(&world).join("TLS.key");
    assert_eq!(var(&world, "TLS"), cert.to_str().unwrap());
    assert_eq!(mode(&cert), 0o600);
    assert_eq!(mode(&key), 0o600);
    let chain = read(&cert);
    assert_eq!(
        chain.matches("-----BEGIN CERTIFICATE-----").count(),
        2,
        "leaf and chain"
    );
    assert!(read(&key).starts_with("-----BEGIN PRIVATE KEY-----\n"));

    let root = world.dir.path().join("pki-root.pem");
    std::fs::write(&root, world.fake.pki_root_pem()).unwrap();
    let (root, cert_s, key_s) = (
        root.to_str().unwrap(),
        cert.to_str().unwrap(),
        key.to_str().unwrap(),
    );
    // The leaf (the file's first certificate) up to the root, through the chain in it.
    let verified = tool(
        "openssl",
        &["verify", "-CAfile", root, "-untrusted", cert_s, cert_s],
    );
    assert_eq!(verified.trim(), format!("{cert_s}: OK"));
    let names = tool(
        "openssl",
        &[
            "x509",
            "-in",
            cert_s,
            "-noout",
            "-subject",
            "-ext",
            "subjectAltName",
        ],
    );
    assert!(
        names.contains("CN = app.example.com") || names.contains("CN=app.example.com"),
        "{names}"
    );
    assert!(
        names.contains("DNS:app.example.com, DNS:api.example.com, IP Address:127.0.0.1"),
        "{names}"
    );
    // Valid for the TTL asked: an hour, not more.
    tool(
        "openssl",
        &["x509", "-in", cert_s, "-noout", "-checkend", "3500"],
    );
    let longer = Command::new("openssl")
        .args(["x509", "-in", cert_s, "-noout", "-checkend", "3700"])
        .output()
        .unwrap();
    assert!(!longer.status.success(), "valid for more than the TTL");
    // The key in TLS.key is the certified one.
    assert_eq!(
        tool("openssl", &["pkey", "-in", key_s, "-pubout"]),
        tool("openssl", &["x509", "-in", cert_s, "-noout", "-pubkey"])
    );
    assert_key_not_sent(&world, &read(&key));
}

#[test]
fn the_private_keys_are_masked_and_the_certificates_are_not() {
    let world = World::new();
    let kept = world.dir.path().join("kept");
    std::fs::create_dir(&kept).unwrap();
    // The files live as long as the command: kept aside to compare with what it printed.
    let script = r#"cp "$SSH_KEY" "$KEPT/ssh.key"; cp "$SSH_KEY-cert.pub" "$KEPT/ssh-cert.pub"
cp "$TLS" "$KEPT/tls.pem"; cp "$TLS.key" "$KEPT/tls.key"
cat "$SSH_KEY" "$SSH_KEY-cert.pub" "$TLS" "$TLS.key""#;
    let run = world
        .akl()
        .env("SSH_KEY", "akeyless:/ci/ssh-issuer|ssh_user=deploy")
        .env("TLS", "akeyless:/ci/pki-issuer|cn=app.example.com")
        .env("KEPT", &kept)
        .args(["run", "--", "sh", "-c", script])
        .run()
        .ok();
    let ssh_key = read(&kept.join("ssh.key"));
    let tls_key = read(&kept.join("tls.key"));
    assert!(ssh_key.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
    assert!(tls_key.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert_key_absent(&ssh_key, "stdout", &run.stdout);
    assert_key_absent(&tls_key, "stdout", &run.stdout);
    assert_key_absent(&ssh_key, "stderr", &run.stderr);
    assert_key_absent(&tls_key, "stderr", &run.stderr);
    assert!(run.stdout.contains("[MASKED]"), "{}", run.stdout);
    // The certificates are public: they show as they are.
    let ssh_cert = read(&kept.join("ssh-cert.pub"));
    assert!(run.stdout.contains(ssh_cert.trim()), "{}", run.stdout);
    let tls_cert = read(&kept.join("tls.pem"));
    let leaf_line = tls_cert.lines().nth(1).unwrap();
    assert!(run.stdout.contains(leaf_line), "{}", run.stdout);
    assert_key_not_sent(&world, &ssh_key);
    assert_key_not_sent(&world, &tls_key);
}

#[test]
fn refusals_name_the_option_to_change() {
    let world = World::new();
    let cases = [
        (
            "akeyless:/ci/ssh-issuer|ssh_user=root",
            "the issuer does not allow the user root (it allows deploy, ci): change |ssh_user=",
        ),
        (
            "akeyless:/ci/ssh-issuer|ssh_user=deploy|ttl=7200",
            "a TTL of 7200 seconds is above the issuer's maximum of 3600: lower |ttl= to 3600 or less",
        ),
        (
            "akeyless:/ci/pki-issuer|cn=app.example.com|ttl=90000",
            "above the issuer's maximum of 86400",
        ),
        (
            "akeyless:/ci/pki-issuer|cn=app.evil.com",
            "the issuer does not allow the name app.evil.com (it allows example.com, localhost and their subdomains)",
        ),
        (
            "akeyless:/ci/db-password|ssh_user=deploy",
            "the item is a STATIC_SECRET, not an SSH certificate issuer",
        ),
        (
            "akeyless:/ci/ssh-issuer|cn=app.example.com",
            "the item is a SSH_CERT_ISSUER, not a PKI certificate issuer",
        ),
        (
            "akeyless://ci/ssh-issuer",
            "add |ssh_user=USER to have it sign a key akl makes",
        ),
    ];
    for (reference, why) in cases {
        let run = world
            .akl()
            .env("X", reference)
            .args(["env"])
            .run()
            .code(4)
            .stderr_has(why);
        assert!(
            run.stderr.contains('X'),
            "names the variable: {}",
            run.stderr
        );
        assert!(
            !files_dir(&world).join("X").exists(),
            "{reference}: nothing written"
        );
    }
}

/// A key pair as a user makes one, in the world's directory.
fn user_key(world: &World, args: &[&str]) -> PathBuf {
    let path = world.dir.path().join("id_user");
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(args)
        .args(["-N", "", "-q", "-C", "user", "-f"])
        .arg(&path);
    run_ok(&mut cmd);
    path
}

#[test]
fn akeyless_get_ssh_certificate_signs_a_public_key_file() {
    let world = World::new();
    let token = token(&world);
    let key = user_key(&world, &["-t", "ed25519"]);
    let public = format!("{}.pub", key.display());
    world
        .akeyless()
        .env("AKEYLESS_TOKEN", &token)
        .args([
            "get-ssh-certificate",
            "--cert-username",
            "deploy",
            "--cert-issuer-name",
            SSH_ISSUER,
            "--public-key-file-path",
            &public,
            "--ttl",
            "300",
        ])
        .run()
        .ok();
    // Without -o: beside the public key, its path with -cert.pub added, as the CLI does.
    let cert = ssh_cert(Path::new(&format!("{public}-cert.pub")));
    assert_eq!(cert.principals, ["deploy"]);
    assert_eq!(cert.valid_for, 300 + 60);
    let out = world.dir.path().join("given-cert.pub");
    let json = world
        .akeyless()
        .env("AKEYLESS_TOKEN", &token)
        .args([
            "get-ssh-certificate",
            "--cert-username",
            "ci",
            "--cert-issuer-name",
            SSH_ISSUER,
            "--public-key-file-path",
            &public,
            "-o",
            out.to_str().unwrap(),
            "--json",
        ])
        .run()
        .ok();
    let answer: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(answer["path"], out.to_str().unwrap());
    assert_eq!(answer["data"].as_str().unwrap(), read(&out).trim());
    assert_eq!(ssh_cert(&out).principals, ["ci"]);
    assert_key_not_sent(&world, &read(&key));

    // Refusals name the flag to change; a private key is never sent.
    let refused = |extra: &[&str], why: &str, code: i32| {
        let mut args = vec![
            "get-ssh-certificate",
            "--cert-issuer-name",
            SSH_ISSUER,
            "--public-key-file-path",
            &public,
        ];
        args.extend_from_slice(extra);
        world
            .akeyless()
            .env("AKEYLESS_TOKEN", &token)
            .args(args)
            .run()
            .code(code)
            .stderr_has(why);
    };
    refused(
        &["--cert-username", "root"],
        "does not allow the user root (it allows deploy, ci): change --cert-username",
        4,
    );
    refused(
        &["--cert-username", "deploy", "--ttl", "99999"],
        "above the issuer's maximum of 3600: lower --ttl to 3600",
        4,
    );
    let private = key.to_str().unwrap();
    let before = world.fake.key_material().len();
    world
        .akeyless()
        .env("AKEYLESS_TOKEN", &token)
        .args([
            "get-ssh-certificate",
            "--cert-username",
            "deploy",
            "--cert-issuer-name",
            SSH_ISSUER,
            "--public-key-file-path",
            private,
        ])
        .run()
        .code(2)
        .stderr_has("holds a private key, which akl never sends");
    assert_eq!(world.fake.key_material().len(), before, "nothing sent");
}

#[test]
fn akeyless_get_pki_certificate_signs_a_csr_or_the_public_half_of_a_key() {
    let world = World::new();
    let token = token(&world);
    let dir = world.dir.path();
    let key = dir.join("tls.key");
    let csr = dir.join("tls.csr");
    tool(
        "openssl",
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            csr.to_str().unwrap(),
            "-subj",
            "/CN=svc.example.com",
            "-addext",
            "subjectAltName=DNS:svc.example.com,DNS:www.example.com",
        ],
    );
    let root = dir.join("pki-root.pem");
    std::fs::write(&root, world.fake.pki_root_pem()).unwrap();
    let verify = |path: &Path| {
        let p = path.to_str().unwrap();
        let out = tool(
            "openssl",
            &[
                "verify",
                "-CAfile",
                root.to_str().unwrap(),
                "-untrusted",
                p,
                p,
            ],
        );
        assert_eq!(out.trim(), format!("{p}: OK"));
    };

    // A CSR: the names come from it; --outfile gets the certificate and the chain.
    let out = dir.join("from-csr.pem");
    world
        .akeyless()
        .env("AKEYLESS_TOKEN", &token)
        .args([
            "get-pki-certificate",
            "--cert-issuer-name",
            PKI_ISSUER,
            "--csr-file-path",
            csr.to_str().unwrap(),
            "--ttl",
            "600",
            "--outfile",
            out.to_str().unwrap(),
        ])
        .run()
        .ok();
    verify(&out);
    let names = tool(
        "openssl",
        &[
            "x509",
            "-in",
            out.to_str().unwrap(),
            "-noout",
            "-ext",
            "subjectAltName",
        ],
    );
    assert!(names.contains("DNS:www.example.com"), "{names}");

    // A private key: only its public half travels, and the output is the chain.
    let printed = world
        .akeyless()
        .env("AKEYLESS_TOKEN", &token)
        .args([
            "get-pki-certificate",
            "--cert-issuer-name",
            PKI_ISSUER,
            "--key-file-path",
            key.to_str().unwrap(),
            "--common-name",
            "svc.example.com",
            "--alt-names",
            "svc.example.com,10.0.0.7",
        ])
        .run()
        .ok();
    let from_key = dir.join("from-key.pem");
    std::fs::write(&from_key, &printed.stdout).unwrap();
    verify(&from_key);
    assert_eq!(
        tool(
            "openssl",
            &["pkey", "-in", key.to_str().unwrap(), "-pubout"]
        ),
        tool(
            "openssl",
            &[
                "x509",
                "-in",
                from_key.to_str().unwrap(),
                "-noout",
                "-pubkey"
            ]
        )
    );
    assert_key_not_sent(&world, &read(&key));

    // Refusals: a name the issuer does not allow, a TTL above its maximum, not an issuer.
    let refused = |extra: &[&str], why: &str| {
        let mut args = vec![
            "get-pki-certificate",
            "--csr-file-path",
            csr.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        world
            .akeyless()
            .env("AKEYLESS_TOKEN", &token)
            .args(args)
            .run()
            .code(4)
            .stderr_has(why);
    };
    refused(
        &["--cert-issuer-name", PKI_ISSUER, "--ttl", "90000"],
        "above the issuer's maximum of 86400: lower --ttl to 86400",
    );
    refused(
        &["--cert-issuer-name", SSH_ISSUER],
        "the item is a SSH_CERT_ISSUER, not a PKI certificate issuer: give --cert-issuer-name",
    );
    world
        .akeyless()
        .env("AKEYLESS_TOKEN", &token)
        .args([
            "get-pki-certificate",
            "--cert-issuer-name",
            PKI_ISSUER,
            "--key-file-path",
            key.to_str().unwrap(),
            "--common-name",
            "svc.evil.com",
        ])
        .run()
        .code(4)
        .stderr_has("does not allow the name svc.evil.com");
}

#[test]
fn doctor_checks_requests_against_the_issuer_and_get_refuses_them() {
    let world = World::new();
    let run = world
        .akl()
        .env("OK_KEY", "akeyless:/ci/ssh-issuer|ssh_user=deploy")
        .env("ROOT_KEY", "akeyless:/ci/ssh-issuer|ssh_user=root")
        .env(
            "LONG_TLS",
            "akeyless:/ci/pki-issuer|cn=app.example.com|ttl=99999",
        )
        .args(["doctor"])
        .run()
        .code(4);
    let all = format!("{}{}", run.stdout, run.stderr);
    println!("akl doctor:\n{all}");
    assert!(
        all.contains("does not allow the user root (it allows deploy, ci)"),
        "{all}"
    );
    assert!(all.contains("above the issuer's maximum of 86400"), "{all}");
    assert!(
        !all.contains("OK_KEY ("),
        "a request within the limits passes:\n{all}"
    );
    assert_eq!(world.fake.count("get-ssh-certificate"), 0, "nothing issued");
    assert_eq!(world.fake.count("get-pki-certificate"), 0, "nothing issued");

    world
        .akl()
        .args(["get", "akeyless:/ci/ssh-issuer|ssh_user=deploy"])
        .run()
        .code(2)
        .stderr_has("two files, not one value to print");
}

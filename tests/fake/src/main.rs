//! The fake Akeyless server on its own, for the demo, the container tests, the benchmarks
//! and anyone poking at `akl` by hand:
//!
//! ```sh
//! cargo run -p fake-akeyless -- --state-dir /tmp/fake
//! . /tmp/fake/env    # AKEYLESS_GATEWAY_URL, AKEYLESS_CA_CERT, AKEYLESS_ACCESS_ID, AKEYLESS_JWT
//! ```
//!
//! Control endpoints (not part of the Akeyless API): `GET /_fake/log`, `DELETE /_fake/log`,
//! `PUT /_fake/faults` with `{"faults": [...], "latency_ms": N}`, `POST /_fake/jwt` with
//! claim overrides (`?foreign=1` signs with an untrusted key), `GET /_fake/health`.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;
use fake_akeyless as fake;
use serde_json::json;

/// Run a local Akeyless V2 API with generated TLS, fixtures, a request log and faults.
#[derive(Debug, Parser)]
struct Args {
    /// Fixture file (JSON); the built-in test fixture when absent.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// 0 picks a free port.
    #[arg(long, default_value_t = 0)]
    https_port: u16,
    #[arg(long, default_value_t = 0)]
    http_port: u16,
    /// Extra host name or address for the server certificate (repeatable).
    #[arg(long, value_name = "NAME")]
    cert_name: Vec<String>,
    /// An older gateway's layout: the legacy V1 API at the root, V2 under /v2 only.
    #[arg(long)]
    v1_root: bool,
    /// Directory for ca.pem, env (sourceable settings for akl) and jwt.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Access id written to the env file.
    #[arg(long, default_value = "p-gitlab0jwt01")]
    access_id: String,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("fake-akeyless: {e}");
        std::process::exit(1);
    }
    // The servers run on their own threads until the process is killed.
    loop {
        std::thread::park();
    }
}

fn run(args: &Args) -> Result<(), String> {
    let text = match &args.config {
        Some(path) => {
            std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => fake::DEFAULT_FIXTURE.to_owned(),
    };
    let fixture = fake::Fixture::from_json(&text)?;
    let options = fake::Options {
        bind: args.bind,
        https_port: args.https_port,
        http_port: args.http_port,
        cert_names: args.cert_name.clone(),
        v1_root: args.v1_root,
    };
    let server =
        fake::Fake::start_with(fixture, options).map_err(|e| format!("cannot listen: {e}"))?;
    let mut ready = format!(
        "fake-akeyless ready: {} {}",
        server.url(),
        server.http_url()
    );
    if let Some(dir) = &args.state_dir {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok::<PathBuf, String>(path)
        };
        let ca = write("ca.pem", server.ca_pem())?;
        // Valid for an hour, so a demo or a hand session does not race the expiry.
        let jwt = server.mint_jwt(&json!({"exp": fake::jwt::now() + 3600}));
        write("jwt", &jwt)?;
        write(
            "env",
            &format!(
                "export AKEYLESS_GATEWAY_URL='{}'\nexport AKEYLESS_CA_CERT='{}'\nexport AKEYLESS_ACCESS_ID='{}'\nexport AKEYLESS_JWT='{jwt}'\n",
                server.url(),
                ca.display(),
                args.access_id,
            ),
        )?;
        ready.push_str(&format!(" state={}", dir.display()));
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{ready}")
        .and_then(|()| out.flush())
        .map_err(|e| e.to_string())?;
    // The server lives as long as the process; leak it rather than drop its state.
    std::mem::forget(server);
    Ok(())
}

//! Faults: every way the gateway or the network can fail, injected by the fake, with the
//! outcome and the number of requests it took. Transient failures are retried with backoff
//! inside the deadline; refusals are final; a dynamic secret is asked again only when no
//! answer arrived, since each answer mints credentials.

use std::time::{Duration, Instant};

use akl_testkit::{UID_TOKEN, World};
use fake_akeyless::{Fault, FaultKind};

fn fault(endpoint: &str, kind: FaultKind, count: u32) -> Fault {
    Fault::new(endpoint, kind, count)
}

/// Resolves one static secret with `faults` injected; returns the run and its duration.
fn static_run(
    world: &World,
    faults: Vec<Fault>,
    timeout: &str,
    code: i32,
) -> (akl_testkit::Run, Duration) {
    world.fake.set_faults(faults);
    let start = Instant::now();
    let run = world
        .akl()
        .env("AKEYLESS_TIMEOUT", timeout)
        .env("A", "akeyless://ci/db-password")
        .args(["env"])
        .run()
        .code(code);
    let took = start.elapsed();
    eprintln!(
        "fault {:?}: exit {code} in {took:.2?}, {:?}",
        world.fake.log().last().map(|e| &e.endpoint),
        world.fake.counts()
    );
    (run, took)
}

#[test]
fn transient_answers_are_retried_until_they_pass() {
    for kind in [
        FaultKind::InternalError,
        FaultKind::BadGatewayHtml,
        FaultKind::Unavailable,
        FaultKind::GatewayTimeout,
        FaultKind::Truncated,
        FaultKind::Dropped,
        FaultKind::HtmlOk,
    ] {
        let world = World::new();
        static_run(&world, vec![fault("get-secret-value", kind, 2)], "30", 0);
        assert_eq!(
            world.fake.count("get-secret-value"),
            3,
            "{kind:?}: two failures, then success"
        );
        assert_eq!(
            world.fake.count("describe-item"),
            0,
            "{kind:?}: a retry, not the per-item path"
        );
    }
}

#[test]
fn retry_after_is_honoured() {
    let world = World::new();
    let mut limited = fault("get-secret-value", FaultKind::TooManyRequests, 1);
    limited.retry_after = Some(2);
    let (_, took) = static_run(&world, vec![limited], "30", 0);
    assert_eq!(world.fake.count("get-secret-value"), 2);
    assert!(
        took >= Duration::from_secs(2),
        "waited {took:?}, the gateway asked for 2s"
    );
}

#[test]
fn the_login_is_retried_too() {
    let world = World::new();
    static_run(
        &world,
        vec![fault("auth", FaultKind::Unavailable, 2)],
        "30",
        0,
    );
    assert_eq!(world.fake.count("auth"), 3);
}

#[test]
fn a_failure_that_persists_ends_in_exit_5_after_six_attempts() {
    let world = World::new();
    let (run, took) = static_run(
        &world,
        vec![fault("get-secret-value", FaultKind::Unavailable, 100)],
        "60",
        5,
    );
    run.stderr_has("A (akeyless://ci/db-password): no answer: 503 Service Unavailable: service unavailable (still failing after 6 attempts in");
    assert_eq!(world.fake.count("get-secret-value"), 6);
    assert!(
        took < Duration::from_secs(15),
        "backoff is bounded: {took:?}"
    );
}

#[test]
fn the_deadline_ends_a_run_that_hangs_or_keeps_failing() {
    for (kind, what) in [
        (FaultKind::Hang, "the deadline (AKEYLESS_TIMEOUT) passed"),
        (FaultKind::HugeBody, "the body exceeds 32 MiB"),
        (FaultKind::HtmlOk, "content type text/html"),
        (
            FaultKind::Dropped,
            "the deadline (AKEYLESS_TIMEOUT) passed; the last attempt got:",
        ),
    ] {
        let world = World::new();
        let (run, took) = static_run(&world, vec![fault("get-secret-value", kind, 1000)], "2", 5);
        run.stderr_has(what)
            .stderr_has("hint: check that the gateway is reachable");
        assert!(
            took < Duration::from_secs(5),
            "{kind:?}: {took:?} for a 2 s deadline"
        );
    }
}

#[test]
fn a_dynamic_secret_is_retried_only_when_no_answer_came() {
    let world = World::new();
    world.fake.set_faults(vec![fault(
        "get-dynamic-secret-value",
        FaultKind::Dropped,
        1,
    )]);
    world
        .akl()
        .env("U", "akeyless://ci/mysql#user")
        .args(["env"])
        .run()
        .ok();
    assert_eq!(
        world.fake.count("get-dynamic-secret-value"),
        2,
        "dropped before an answer: retried"
    );

    // A cut-off answer may carry credentials already minted: asking again would mint more.
    let world = World::new();
    world.fake.set_faults(vec![fault(
        "get-dynamic-secret-value",
        FaultKind::Truncated,
        1,
    )]);
    world
        .akl()
        .env("U", "akeyless://ci/mysql#user")
        .args(["env"])
        .run()
        .code(5)
        .stderr_has("U (akeyless://ci/mysql#user): no answer:");
    assert_eq!(world.fake.count("get-dynamic-secret-value"), 1);
    world.fake.set_faults(vec![fault(
        "get-dynamic-secret-value",
        FaultKind::Unavailable,
        1,
    )]);
    world
        .akl()
        .env("U", "akeyless://ci/mysql#user")
        .args(["env"])
        .run()
        .code(5);
    assert_eq!(
        world.fake.count("get-dynamic-secret-value"),
        2,
        "a 503 is an answer: not retried"
    );
}

#[test]
fn a_token_that_expires_mid_run_is_replaced_once() {
    let world = World::new();
    world
        .fake
        .set_faults(vec![fault("get-secret-value", FaultKind::ExpiredToken, 1)]);
    world
        .akl()
        .env("A", "akeyless://ci/db-password")
        .args(["env"])
        .run()
        .ok();
    assert_eq!(
        world.fake.counts_except("list-items"),
        [("auth".into(), 2), ("get-secret-value".into(), 2)].into()
    );

    world.fake.clear_log();
    world
        .fake
        .set_faults(vec![fault("get-secret-value", FaultKind::ExpiredToken, 2)]);
    world
        .akl()
        .env("A", "akeyless://ci/db-password")
        .args(["env"])
        .run()
        .code(3)
        .stderr_has("the gateway refused the token while resolving A")
        .stderr_has("a fresh login was refused too");

    world
        .fake
        .set_faults(vec![fault("get-secret-value", FaultKind::ExpiredToken, 1)]);
    world
        .bare()
        .env("AKEYLESS_TOKEN", UID_TOKEN)
        .env("A", "akeyless://ci/db-password")
        .args(["env"])
        .run()
        .code(3)
        .stderr_has("AKEYLESS_TOKEN has expired or was revoked");
}

#[test]
fn a_token_refused_while_a_refused_batch_is_split_ends_the_split() {
    // The batch is refused (404), then the token is (401, a fresh login too): every part
    // would be refused alike, so the parts are not split again, name by name.
    let world = World::new();
    world.fake.set_faults(vec![
        fault("get-secret-value", FaultKind::NotFound, 1),
        fault("get-secret-value", FaultKind::ExpiredToken, 10_000),
    ]);
    let mut akl = world.akl();
    for i in 0..200 {
        akl = akl.env(format!("S_{i:03}"), "akeyless://ci/db-password");
        akl = akl.env(format!("T_{i:03}"), format!("akeyless://ci/t/s{i:03}"));
    }
    akl.args(["env"])
        .run()
        .code(3)
        .stderr_has("a fresh login was refused too");
    let asked = world.fake.count("get-secret-value");
    // The batch, then its 16 parts, each asked again after a fresh login.
    assert!(asked <= 1 + 2 * 16, "{asked} get-secret-value requests");
}

#[test]
fn redirects_are_not_followed() {
    // A plain-HTTP listener that redirects everything: akl must not send the token on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            use std::io::{Read, Write};
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(b"HTTP/1.1 301 Moved\r\nLocation: https://elsewhere.example/auth\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    let world = World::new();
    world
        .akl()
        .env("AKEYLESS_GATEWAY_URL", format!("http://127.0.0.1:{port}"))
        .args(["auth"])
        .run()
        .code(2)
        .stderr_has("301 Moved Permanently: redirect to https://elsewhere.example/auth")
        .stderr_has("akl does not follow redirects");
}

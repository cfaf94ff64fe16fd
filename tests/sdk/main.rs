//! The referee: the official Python SDK (`akeyless` on PyPI) against the fake.
//!
//! If the SDK cannot parse an answer, the fake is wrong and so would be any test that
//! passes against it. The SDK is installed, pinned, into a virtualenv under the build
//! directory on first use.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::{Value, json};

use akl_testkit::{ACCESS_KEY, JWT_ACCESS_ID, KEY_ACCESS_ID, UID_TOKEN, World};

const SDK: &str = "akeyless==5.0.40";

/// The virtualenv's python, creating the virtualenv if needed. A marker file named after
/// the pinned version makes this idempotent and re-installs on a version bump.
fn sdk_python() -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap();
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sdk-venv");
    let python = venv.join("bin/python");
    let marker = venv.join(format!(".installed-{SDK}"));
    if marker.exists() {
        return python;
    }
    let _ = std::fs::remove_dir_all(&venv);
    let run = |cmd: &mut Command| akl_testkit::run_ok(cmd);
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
    run(Command::new(&python).args(["-m", "pip", "install", "--quiet", SDK]));
    std::fs::write(&marker, "").unwrap();
    python
}

#[test]
fn official_sdk_accepts_every_answer_of_the_fake() {
    let mut fixture = akl_testkit::default_fixture();
    fixture.page_size = 5;
    let world = World::with(fixture);
    let fake = &world.fake;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/conformance.py");
    let out = Command::new(sdk_python())
        .arg(script)
        .env("FAKE_URL", fake.url())
        .env("FAKE_CA", world.ca())
        .env("FAKE_JWT_ACCESS_ID", JWT_ACCESS_ID)
        .env("FAKE_JWT", fake.mint_jwt(&json!({})))
        .env("FAKE_FOREIGN_JWT", fake.mint_foreign_jwt(&json!({})))
        .env("FAKE_KEY_ACCESS_ID", KEY_ACCESS_ID)
        .env("FAKE_ACCESS_KEY", ACCESS_KEY)
        .env("FAKE_UID_TOKEN", UID_TOKEN)
        .output()
        .expect("python runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "conformance.py failed:\n{stderr}");
    let got: Value = serde_json::from_slice(&out.stdout).expect("conformance.py prints JSON");

    assert_eq!(
        got["jwt_auth"],
        json!({"token_prefix": "t-", "has_expiration": true, "creds_expiry_is_int": true})
    );
    assert_eq!(got["access_key_auth"]["token_prefix"], "t-");
    assert_eq!(got["validate_token"], true);
    assert_eq!(
        got["describe"],
        json!({
            "/ci/db-password": {"item_name": "/ci/db-password", "item_type": "STATIC_SECRET", "last_version": 1},
            "/ci/mysql": {"item_name": "/ci/mysql", "item_type": "DYNAMIC_SECRET", "last_version": 1},
            "/ci/rotated-db": {"item_name": "/ci/rotated-db", "item_type": "ROTATED_SECRET", "last_version": 1},
            "/ci/versioned": {"item_name": "/ci/versioned", "item_type": "STATIC_SECRET", "last_version": 2},
        })
    );
    assert_eq!(
        got["static"]["/ci/db-password"],
        "canary-db-password-9b1f0e"
    );
    assert_eq!(got["static"]["/ci/versioned"], "canary-version-two-bb22");
    let app: Value =
        serde_json::from_str(got["static"]["/ci/app-config"].as_str().unwrap()).unwrap();
    assert_eq!(app["password"], "canary-app-password-1e4b");
    assert_eq!(
        got["static_v1"],
        json!({"/ci/versioned": "canary-version-one-aa11"})
    );
    assert_eq!(
        got["static_uid"],
        json!({"/ci/api-token": "canary-api-token-5d2c7a"})
    );
    assert_eq!(
        got["dynamic"],
        json!({"keys": ["id", "password", "ttl_in_minutes", "user"], "fresh": true})
    );

    // list-items: pages of five that join into every listable item under /ci, in order.
    let list = &got["list"];
    let pages: Vec<Vec<String>> = serde_json::from_value(list["pages"].clone()).unwrap();
    assert!(
        pages.len() > 1 && pages.iter().all(|p| p.len() <= 5),
        "{pages:?}"
    );
    let joined: Vec<String> = pages.concat();
    let mut expected: Vec<String> = akl_testkit::default_fixture()
        .items
        .iter()
        .map(|i| i.name.clone())
        .filter(|n| n.starts_with("/ci/") && n != "/ci/denied")
        .collect();
    expected.sort();
    assert_eq!(joined, expected);
    assert_eq!(list["folders"], json!(["/ci/team"]));
    assert_eq!(
        list["narrowed"],
        json!([
            ["/ci/rotated-custom", "ROTATED_SECRET"],
            ["/ci/rotated-db", "ROTATED_SECRET"],
            ["/ci/rotated-target", "ROTATED_SECRET"]
        ])
    );
    assert_eq!(list["current"], json!(["/ci/team/deploy-key"]));
    assert_eq!(
        got["dynamic_args"],
        json!(["id", "password", "ttl_in_minutes", "user"])
    );
    let args_call = fake
        .log()
        .into_iter()
        .find(|e| !e.args.is_empty())
        .expect("the call with args");
    assert_eq!(args_call.args, ["db=orders", r#"{"role":"ro"}"#]);
    assert!(args_call.keys.contains(&"timeout".to_owned()));

    // Revoking: what tmp-creds-get lists is what was minted; a delete takes one away and
    // answers 201 without a body; deleting it again is a 404.
    let revoke = &got["revoke"];
    assert_eq!(revoke["ids"], revoke["minted"], "{revoke}");
    assert_eq!(revoke["deleted"], Value::Null);
    assert_eq!(
        revoke["after"],
        json!([revoke["minted"][0], revoke["minted"][1]])
    );
    assert_eq!(revoke["again"]["status"], 404);
    let delete = fake
        .log()
        .into_iter()
        .find(|e| e.endpoint == "dynamic-secret-tmp-creds-delete")
        .expect("the delete");
    assert_eq!(delete.status, 201);
    assert!(
        delete.keys.contains(&"tmp-creds-id".to_owned()),
        "{:?}",
        delete.keys
    );

    // The three shapes of a rotated secret's value, as the SDK hands them over.
    let rotated = &got["rotated"];
    assert_eq!(
        rotated["/ci/rotated-db"],
        json!({"username": "rotated_user", "password": "canary-rotated-password-4f6e"})
    );
    let payload = rotated["/ci/rotated-custom"]["payload"]
        .as_str()
        .expect("payload is a JSON string");
    assert_eq!(
        serde_json::from_str::<Value>(payload).unwrap(),
        json!({"api_key": "canary-rotated-api-key-0a9d", "region": "eu-west-1"})
    );
    assert_eq!(
        rotated["/ci/rotated-target"]["target_value"]["password"],
        "canary-rotated-target-7e21"
    );

    // Errors surface as the SDK's ApiException with the status and {"error": …} body.
    let errors = &got["errors"];
    let expect = [
        ("missing_item", 404, "not found"),
        ("forbidden_item", 403, "access denied"),
        ("describe_forbidden", 404, "not found"),
        ("bad_access_key", 401, "invalid access key"),
        ("foreign_jwt", 401, "signature"),
        ("bad_token", 401, "invalid token"),
    ];
    for (case, status, text) in expect {
        assert_eq!(errors[case]["status"], status, "{case}: {}", errors[case]);
        let message = errors[case]["body"]["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{case}: no error text"));
        assert!(message.contains(text), "{case}: {message}");
    }
    for prefix in ["/api/v2", "/v2"] {
        assert_eq!(
            got["prefixes"][prefix],
            json!({"/ci/db-password": "canary-db-password-9b1f0e"}),
            "{prefix}"
        );
    }

    // The fake saw exactly the SDK's wire format: kebab-case keys, names as an array for
    // static secrets and a string for rotated ones.
    let log = fake.log();
    let static_call = log
        .iter()
        .find(|e| e.endpoint == "get-secret-value")
        .unwrap();
    assert!(
        static_call.keys.contains(&"names".to_owned())
            && static_call.keys.contains(&"token".to_owned())
    );
    let auth_call = log.iter().find(|e| e.endpoint == "auth").unwrap();
    assert!(
        auth_call.keys.contains(&"access-id".to_owned()),
        "{:?}",
        auth_call.keys
    );
    let prefixes: Vec<&str> = log.iter().map(|e| e.prefix.as_str()).collect();
    for prefix in ["/", "/api/v2/", "/v2/"] {
        assert!(
            prefixes.contains(&prefix),
            "{prefix} not used: {prefixes:?}"
        );
    }
    eprintln!(
        "SDK conformance: {} requests, {:?}",
        log.len(),
        fake.counts()
    );
}

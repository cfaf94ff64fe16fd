//! GitLab-shaped ID tokens: minting them (RS256, as GitLab does) and verifying them the way
//! an Akeyless JWT auth method does (signature against a JWKS, expiry, issuer, audience).

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents,
};
use serde_json::{Map, Value, json};

/// Clock skew tolerated on `exp` and `nbf`, as JWT libraries commonly allow.
pub const LEEWAY_SECS: i64 = 5;

pub const GITLAB_ISSUER: &str = "https://gitlab.example.com";
pub const AUDIENCE: &str = "https://akeyless.example.com";

pub struct Key {
    pub kid: &'static str,
    private: RsaKeyPair,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The key the fake's JWT auth methods trust (GitLab's, in this story), and a forger's key
/// that claims the same `kid`, for tests of forged tokens. Both are test keys committed in
/// `keys/` (made with `openssl genpkey -algorithm RSA`): ring signs RSA but cannot make
/// RSA keys, and a key-generation crate would double the fake's build time.
pub fn keys() -> &'static (Key, Key) {
    static KEYS: OnceLock<(Key, Key)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let load = |kid, der: &[u8]| Key {
            kid,
            private: RsaKeyPair::from_pkcs8(der).expect("a PKCS#8 RSA key"),
        };
        (
            load("fake-gitlab-1", include_bytes!("../keys/gitlab.pk8")),
            load("fake-gitlab-1", include_bytes!("../keys/forger.pk8")),
        )
    })
}

impl Key {
    pub fn jwk(&self) -> Value {
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(self.private.public());
        json!({
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(&public.n),
            "e": URL_SAFE_NO_PAD.encode(&public.e),
        })
    }

    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.private.public().modulus_len()];
        self.private
            .sign(
                &RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .expect("RSA signing");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// 128 random bits as hex, for token values and JWT ids.
pub fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .expect("system randomness");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// The claims GitLab puts into a job's ID token (`docs/gitlab.md`), for a protected `main`
/// pipeline of `grp/app`, valid for five minutes. `overrides` replace claims; a `null`
/// override removes one.
pub fn gitlab_claims(overrides: &Value) -> Value {
    let iat = now();
    let mut claims = json!({
        "namespace_id": "42",
        "namespace_path": "grp",
        "project_id": "7",
        "project_path": "grp/app",
        "user_id": "3",
        "user_login": "dev",
        "user_email": "dev@example.com",
        "user_access_level": "developer",
        "pipeline_id": "1001",
        "pipeline_source": "push",
        "job_id": "5001",
        "ref": "main",
        "ref_type": "branch",
        "ref_path": "refs/heads/main",
        "ref_protected": "true",
        "runner_id": 12,
        "runner_environment": "self-hosted",
        "sha": "0123456789abcdef0123456789abcdef01234567",
        "ci_config_ref_uri": "gitlab.example.com/grp/app//.gitlab-ci.yml@refs/heads/main",
        "ci_config_sha": "0123456789abcdef0123456789abcdef01234567",
        "project_visibility": "private",
        "job_project_path": "grp/app",
        "jti": random_hex(),
        "iss": GITLAB_ISSUER,
        "sub": "project_path:grp/app:ref_type:branch:ref:main",
        "aud": AUDIENCE,
        "iat": iat,
        "nbf": iat - 5,
        "exp": iat + 300,
    });
    let map = claims.as_object_mut().expect("object");
    if let Value::Object(overrides) = overrides {
        for (name, value) in overrides {
            if value.is_null() {
                map.remove(name);
            } else {
                map.insert(name.clone(), value.clone());
            }
        }
    }
    claims
}

/// The issuer of the service-account tokens the fake's cluster signs.
pub const K8S_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// What an auth method binds.
#[derive(Debug)]
pub struct Bounds<'a> {
    pub jwks: &'a [Value],
    pub issuer: Option<&'a str>,
    pub audiences: &'a [String],
}

/// Verifies `token` for real and returns its claims, or the reason it is refused.
pub fn verify(token: &str, bounds: &Bounds) -> Result<Map<String, Value>, String> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return Err("malformed JWT: expected three parts".into());
    };
    let decode = |part: &str, what: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| format!("malformed JWT: {what} is not base64url"))
    };
    let header: Value = serde_json::from_slice(&decode(header, "header")?)
        .map_err(|_| "malformed JWT: header is not JSON".to_owned())?;
    if header["alg"] != "RS256" {
        return Err(format!("unsupported JWT algorithm {}", header["alg"]));
    }
    let kid = header["kid"].as_str();
    let jwk = bounds
        .jwks
        .iter()
        .find(|k| kid.is_none() || k["kid"].as_str() == kid)
        .ok_or_else(|| "failed to verify JWT: no key in the JWKS matches its kid".to_owned())?;
    let public = public_key(jwk).ok_or("failed to verify JWT: invalid JWKS key")?;
    let signature = decode(signature, "signature")?;
    let input = &token[..token.rfind('.').expect("three parts")];
    public
        .verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &signature)
        .map_err(|_| "failed to verify JWT: signature is invalid".to_owned())?;

    let claims: Map<String, Value> = serde_json::from_slice(&decode(payload, "payload")?)
        .map_err(|_| "malformed JWT: payload is not a JSON object".to_owned())?;
    let now = now();
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or("JWT has no exp claim")?;
    if now > exp + LEEWAY_SECS {
        return Err("JWT is expired".into());
    }
    if let Some(nbf) = claims.get("nbf").and_then(Value::as_i64) {
        if now + LEEWAY_SECS < nbf {
            return Err("JWT is not valid yet (nbf)".into());
        }
    }
    if let Some(issuer) = bounds.issuer {
        if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
            return Err("JWT issuer does not match the auth method's issuer".into());
        }
    }
    if !bounds.audiences.is_empty() {
        let auds: Vec<&str> = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !auds.iter().any(|a| bounds.audiences.iter().any(|b| b == a)) {
            return Err("JWT audience does not match the auth method's bound audiences".into());
        }
    }
    Ok(claims)
}

fn public_key(jwk: &Value) -> Option<RsaPublicKeyComponents<Vec<u8>>> {
    let part = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str()?).ok();
    Some(RsaPublicKeyComponents {
        n: part("n")?,
        e: part("e")?,
    })
}

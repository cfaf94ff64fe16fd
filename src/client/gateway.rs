//! Gateway URLs: validating a V2 API base, and mapping the V1-style URLs that the Akeyless
//! CLI and the ci_base docs use (`AKEYLESS_API_GW_URL`, and a bare `:8080` anywhere) onto
//! V2.
//!
//! Pure: no I/O, table-tested. The rules are those of `docs/akeyless-api.md`, "Base URLs".

use reqwest::Url;

/// Where `akl` talks to Akeyless when nothing says otherwise.
pub const DEFAULT_GATEWAY: &str = "https://api.akeyless.io";

/// A validated V2 API base URL, without a trailing slash, and why it differs from what
/// was given, if it does.
#[derive(Debug, Clone, Eq)]
pub struct Gateway {
    url: Url,
    mapped: Option<&'static str>,
}

impl PartialEq for Gateway {
    /// Two gateways are the same when they are the same URL, however each was written.
    fn eq(&self, other: &Self) -> bool {
        self.url == other.url
    }
}

/// Why a bare `:8080` is not used as given.
const BARE_8080: &str =
    "a bare :8080 is the legacy V1 API of older gateways, which serve V2 at :8080/v2";

impl Gateway {
    /// Takes a V2 base (`AKEYLESS_GATEWAY_URL`, `--gateway-url`) as given, except a bare
    /// `:8080`: Akeyless's own docs give `https://gw:8080` for this variable, which is the
    /// legacy V1 API; older gateways serve V2 at `:8080/v2`.
    pub fn parse_v2(input: &str) -> Result<Self, String> {
        let mut url = parse(input)?;
        let mapped = map_bare_8080(&mut url);
        Ok(Gateway { url, mapped })
    }

    /// Takes an `AKEYLESS_API_GW_URL` value, which points at the V1 API, and returns the V2
    /// base of the same gateway: `…/api/v1` becomes `…/api/v2` (current gateways, port 8000),
    /// a bare `:8080` becomes `:8080/v2` (older gateways serve V2 there); `:8081`, `/api/v2`,
    /// `/v2` and the SaaS hosts are V2 already and stay as given.
    pub fn parse_v1_compatible(input: &str) -> Result<Self, String> {
        let mut url = parse(input)?;
        let path = url.path().to_owned();
        let mapped = match path.strip_suffix("/api/v1") {
            Some(prefix) => {
                url.set_path(&format!("{prefix}/api/v2"));
                Some("…/api/v1 is the gateway's V1 API; its V2 API is at …/api/v2")
            }
            None => map_bare_8080(&mut url),
        };
        Ok(Gateway { url, mapped })
    }

    /// Plain http to a host that is not this machine: credentials and secrets cross the
    /// network unencrypted.
    pub fn is_plain_http_remote(&self) -> bool {
        let host = self.url.host_str().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        self.url.scheme() == "http" && !loopback
    }

    /// Why the base differs from what was given (for `akl doctor`), if it does.
    pub fn mapped(&self) -> Option<&'static str> {
        self.mapped
    }

    /// The URL of one API command, e.g. `https://gw:8000/api/v2/auth`.
    pub fn endpoint(&self, command: &str) -> String {
        format!("{}/{command}", self.as_str())
    }

    /// Scheme, host and port, without the API's path: what `k8s` authentication takes as
    /// `gateway-url` (the gateway that holds the Kubernetes auth config).
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }

    pub fn as_str(&self) -> &str {
        // `Url` always renders a root path as "/"; the base is kept without it.
        self.url.as_str().trim_end_matches('/')
    }
}

/// A bare `:8080` (no path) becomes `:8080/v2`.
fn map_bare_8080(url: &mut Url) -> Option<&'static str> {
    let bare = matches!(url.path(), "" | "/") && url.port() == Some(8080);
    bare.then(|| {
        url.set_path("/v2");
        BARE_8080
    })
}

impl Default for Gateway {
    fn default() -> Self {
        Gateway::parse_v2(DEFAULT_GATEWAY).expect("the default gateway URL is valid")
    }
}

fn parse(input: &str) -> Result<Url, String> {
    let input = input.trim();
    if !input.contains("://") {
        return Err("it has no scheme; write it as https://host[:port][/path]".to_owned());
    }
    let mut url = Url::parse(input).map_err(|e| format!("it is not a valid URL ({e})"))?;
    match url.scheme() {
        "https" | "http" => {}
        other => return Err(format!("the scheme is `{other}`, expected https or http")),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("it has no host".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Credentials in a URL end up in logs; Akeyless does not use them anyway.
        return Err("it contains a user name or password; remove them".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("it has a query or fragment; give only scheme, host, port and path".to_owned());
    }
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_urls_are_kept_as_given() {
        for (input, want) in [
            ("https://api.akeyless.io", "https://api.akeyless.io"),
            ("https://api.akeyless.io/", "https://api.akeyless.io"),
            (
                "https://gw.example:8000/api/v2/",
                "https://gw.example:8000/api/v2",
            ),
            ("http://10.0.0.5:8081", "http://10.0.0.5:8081"),
            ("  https://gw:8080/v2  ", "https://gw:8080/v2"),
            ("https://gw:8080/custom", "https://gw:8080/custom"),
            // As given means as given: only the V1 variable maps /api/v1.
            ("https://gw:8000/api/v1", "https://gw:8000/api/v1"),
        ] {
            let gateway = Gateway::parse_v2(input).unwrap();
            assert_eq!(gateway.as_str(), want, "{input}");
            assert_eq!(gateway.mapped(), None, "{input}");
        }
    }

    #[test]
    fn a_bare_8080_is_the_v1_api_and_maps_to_v2_everywhere() {
        // Akeyless's GitLab doc: "AKEYLESS_GATEWAY_URL … e.g. https://Your_GW_URL:8080".
        for input in ["https://gw.example:8080", "http://gw:8080/"] {
            let gateway = Gateway::parse_v2(input).unwrap();
            assert!(gateway.as_str().ends_with(":8080/v2"), "{input}");
            assert!(gateway.mapped().unwrap().contains("legacy V1 API"));
        }
        let v1 = Gateway::parse_v1_compatible("https://gw:8000/api/v1").unwrap();
        assert!(v1.mapped().unwrap().contains("/api/v1"));
        assert_eq!(v1, Gateway::parse_v2("https://gw:8000/api/v2").unwrap());
    }

    #[test]
    fn v1_urls_map_to_v2() {
        for (input, want) in [
            ("https://gw:8000/api/v1", "https://gw:8000/api/v2"),
            ("https://gw:8000/api/v1/", "https://gw:8000/api/v2"),
            (
                "https://gw.example/prefix/api/v1",
                "https://gw.example/prefix/api/v2",
            ),
            ("http://gw:8080", "http://gw:8080/v2"),
            ("http://gw:8080/", "http://gw:8080/v2"),
            ("http://gw:8080/v2", "http://gw:8080/v2"),
            ("https://gw:8081", "https://gw:8081"),
            ("https://gw:8000/api/v2", "https://gw:8000/api/v2"),
            ("https://api.akeyless.io", "https://api.akeyless.io"),
            ("https://api.eu.akeyless.io", "https://api.eu.akeyless.io"),
        ] {
            assert_eq!(
                Gateway::parse_v1_compatible(input).unwrap().as_str(),
                want,
                "{input}"
            );
        }
    }

    #[test]
    fn rejects_what_cannot_be_a_gateway() {
        for (input, why) in [
            ("gw.example:8000", "no scheme"),
            ("api.akeyless.io", "no scheme"),
            ("ftp://gw", "scheme is `ftp`"),
            ("https://", "not a valid URL"),
            ("https://user:pw@gw", "user name or password"),
            ("https://gw/api/v2?x=1", "query"),
            ("https://gw/api/v2#frag", "fragment"),
            ("", "no scheme"),
        ] {
            let err = Gateway::parse_v2(input).unwrap_err();
            assert!(err.contains(why), "{input:?}: {err}");
        }
    }

    #[test]
    fn plain_http_is_flagged_unless_it_stays_on_this_machine() {
        for (url, remote) in [
            ("http://gw.example.com:8080/v2", true),
            ("http://10.0.0.5:8081", true),
            ("https://gw.example.com", false),
            ("http://127.0.0.1:8081", false),
            ("http://localhost:8000/api/v2", false),
            ("http://[::1]:8081", false),
        ] {
            assert_eq!(
                Gateway::parse_v2(url).unwrap().is_plain_http_remote(),
                remote,
                "{url}"
            );
        }
    }

    #[test]
    fn endpoints_join_with_one_slash() {
        let gw = Gateway::parse_v2("https://gw:8000/api/v2/").unwrap();
        assert_eq!(gw.endpoint("auth"), "https://gw:8000/api/v2/auth");
        assert_eq!(
            Gateway::default().endpoint("auth"),
            "https://api.akeyless.io/auth"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(2000))]

        /// Any text: no panic; an accepted URL is stable and mapping V1 twice changes nothing.
        #[test]
        fn fuzz_gateway_urls(text in "(https?://)?[a-z0-9.:/@?#%-]{0,40}") {
            if let Ok(gw) = Gateway::parse_v2(&text) {
                proptest::prop_assert_eq!(Gateway::parse_v2(gw.as_str()).unwrap(), gw.clone());
                proptest::prop_assert!(gw.endpoint("auth").ends_with("/auth"));
            }
            if let Ok(gw) = Gateway::parse_v1_compatible(&text) {
                proptest::prop_assert_eq!(Gateway::parse_v1_compatible(gw.as_str()).unwrap(), gw);
            }
        }
    }
}

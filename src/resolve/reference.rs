//! The reference grammar: what a variable's `akeyless:` value asks for.
//!
//! ```text
//! akeyless://path/to/secret                  the ci_base form: item /path/to/secret
//! akeyless://path/to/secret#field.sub.0      one field of a JSON value (array index 0)
//! akeyless://path/to/secret#*                every top-level field, as X_<KEY> variables
//! akeyless://path/to/folder/*                every secret in the folder, as X_<NAME>
//! akeyless://path/to/folder/**               … and in its sub-folders, as X_<SUB>_<NAME>
//! akeyless:/path|version=2|jq=.field|decode=base64   the Akeyless injector's options
//! akeyless:/ci/ssh-issuer|ssh_user=deploy|ttl=600     an SSH certificate for a key akl makes
//! akeyless:/ci/pki-issuer|cn=app.example.com|alt_names=a,b|ttl=3600   a TLS certificate
//! ```
//!
//! Options (`|key=value`) work after either form: `version=N` (a static or rotated
//! secret's version), `jq=` (a path selector: `.a.b`, `.a[0]`, `."a.b"`, `.["a.b"]`),
//! `decode=base64`, `parse_json_secret=true` (the same as `#*`), `prefix=P` (the fan-out's
//! names start with P instead of `X_`; `prefix=` for bare keys, which
//! `parse_json_without_prefix=true` also says), `file=true` (the value goes to a file and
//! the variable holds its path), and for dynamic secrets `args=…` (repeatable) and
//! `timeout=N` for the producer. A certificate request names an issuer and what to issue:
//! `ssh_user=` (comma-separated user names, the certificate's principals; `legacy_rsa=true`
//! for an RSA key) or `cn=` (with `alt_names=`, comma-separated DNS names or IP
//! addresses), and `ttl=` (seconds); it takes none of the options above. Pure and
//! table-tested; a rejection says what is wrong in words a user can act on.

use std::fmt;
use std::sync::Arc;

use crate::client::ProducerArgs;

pub const PREFIX: &str = "akeyless:";

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    /// The item's absolute path, e.g. `/ci/db-password`; a folder's for a folder reference.
    pub item: std::sync::Arc<str>,
    /// `/*` or `/**`: every secret in the folder `item`.
    pub folder: Option<Folder>,
    /// The JSON field to pick, outermost first; empty for the whole value.
    pub field: Vec<String>,
    /// `#*`: every top-level field of the JSON value becomes a variable of its own.
    pub fan_out: bool,
    /// What a fan-out's names start with; `None` for the variable's name and `_`.
    pub prefix: Option<String>,
    pub version: Option<u32>,
    pub decode: Option<Decode>,
    /// Write the value to a file; the variable holds its path.
    pub file: bool,
    /// What a dynamic secret's producer is given.
    /// Boxed: almost no reference has any, and a job may hold 10,000 references.
    pub producer: Option<Box<ProducerArgs>>,
    /// A certificate for a key pair made in the job: the item is its issuer. Boxed, as
    /// `producer` is.
    pub cert: Option<Box<CertRequest>>,
}

/// A certificate to have an issuer sign, for a key pair `akl` makes in the job.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CertRequest {
    /// `ssh_user=`: an SSH user certificate for these user names (its principals).
    Ssh {
        users: Vec<String>,
        ttl: Option<u32>,
        /// `legacy_rsa=true`: an RSA key, and the issuer's legacy signing algorithm name.
        legacy_rsa: bool,
    },
    /// `cn=`: a TLS certificate for the common name and the alternative names.
    Pki {
        common_name: String,
        alt_names: Vec<String>,
        ttl: Option<u32>,
    },
}

impl CertRequest {
    pub fn ttl(&self) -> Option<u32> {
        match self {
            CertRequest::Ssh { ttl, .. } | CertRequest::Pki { ttl, .. } => *ttl,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Folder {
    /// `/*`: the secrets directly in the folder.
    Children,
    /// `/**`: and in every folder below it.
    Tree,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Decode {
    /// Standard base64; the URL-safe alphabet and missing padding are accepted too.
    Base64,
}

/// Whether a variable's value is a reference (and so must parse as one).
pub fn is_reference(value: &str) -> bool {
    value.trim().starts_with(PREFIX)
}

impl Reference {
    /// The whole value of `item`, with no option.
    fn of(item: Arc<str>) -> Self {
        Reference {
            item,
            folder: None,
            field: Vec::new(),
            fan_out: false,
            prefix: None,
            version: None,
            decode: None,
            file: false,
            producer: None,
            cert: None,
        }
    }

    /// A plain item path, as `akl get ci/db` takes it.
    pub fn item(path: &str) -> Result<Reference, String> {
        Ok(Reference::of(item_path(path)?))
    }

    /// Whether this reference makes several variables (a folder or `#*`).
    pub fn fans_out(&self) -> bool {
        self.fan_out || self.folder.is_some()
    }
}

impl Default for Reference {
    fn default() -> Self {
        Reference::of("/".into())
    }
}

pub fn parse(text: &str) -> Result<Reference, String> {
    let text = text.trim();
    let rest = text
        .strip_prefix(PREFIX)
        .ok_or("it does not start with akeyless:")?;
    if !rest.starts_with('/') {
        return Err("write it as akeyless://path/to/secret".into());
    }
    let mut parts = rest.split('|');
    let head = parts.next().unwrap_or_default();
    let (path, field) = match head.split_once('#') {
        Some((path, field)) => (path, Some(field)),
        None => (head, None),
    };
    let (path, folder) = if let Some(folder) = path.strip_suffix("/**") {
        (folder, Some(Folder::Tree))
    } else if let Some(folder) = path.strip_suffix("/*") {
        (folder, Some(Folder::Children))
    } else {
        (path, None)
    };
    let mut reference = Reference::of(match folder {
        Some(_) if path.trim_start_matches('/').is_empty() => "/".into(),
        _ => item_path(path)?,
    });
    reference.folder = folder;
    match field {
        Some("*") => reference.fan_out = true,
        Some(field) => reference.field = field_path(field)?,
        None => {}
    }

    let mut cert = CertOptions::default();
    let mut seen: Vec<&str> = Vec::new();
    for option in parts {
        let (key, value) = option
            .split_once('=')
            .ok_or_else(|| format!("option `{option}` is not key=value"))?;
        if seen.contains(&key) && key != "args" {
            return Err(format!("option `{key}` is given twice"));
        }
        seen.push(key);
        let yes = |value: &str| match value {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(format!("{key}=`{other}` is not true or false")),
        };
        match key {
            "version" => {
                let version = value
                    .parse::<u32>()
                    .ok()
                    .filter(|v| *v > 0)
                    .ok_or_else(|| format!("version=`{value}` is not a positive whole number"))?;
                reference.version = Some(version);
            }
            "jq" => {
                if field.is_some() {
                    return Err("give the field either as #field or as |jq=, not both".into());
                }
                reference.field = jq_path(value)?;
            }
            "decode" => match value {
                "base64" => reference.decode = Some(Decode::Base64),
                other => {
                    return Err(format!(
                        "decode=`{other}` is not supported; use decode=base64"
                    ));
                }
            },
            "parse_json_secret" => reference.fan_out |= yes(value)?,
            "parse_json_without_prefix" => {
                if yes(value)? {
                    reference.fan_out = true;
                    reference.prefix = Some(String::new());
                }
            }
            "prefix" => {
                if !value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    return Err(format!(
                        "prefix=`{value}` can hold only letters, digits and _"
                    ));
                }
                reference.prefix = Some(value.to_owned());
            }
            "file" => reference.file = yes(value)?,
            "args" => reference
                .producer
                .get_or_insert_default()
                .args
                .push(value.to_owned()),
            "timeout" => {
                let timeout = value
                    .parse::<u32>()
                    .ok()
                    .filter(|t| (1..=3600).contains(t))
                    .ok_or_else(|| {
                        format!("timeout=`{value}` is not a number of seconds from 1 to 3600")
                    })?;
                reference.producer.get_or_insert_default().timeout = Some(timeout);
            }
            "ssh_user" => cert.users = Some(list(key, value, user_name)?),
            "cn" => cert.common_name = Some(common_name(value)?),
            "alt_names" => cert.alt_names = Some(list(key, value, alt_name)?),
            "legacy_rsa" => cert.legacy_rsa = Some(yes(value)?),
            "ttl" => {
                let ttl = value
                    .parse::<u32>()
                    .ok()
                    .filter(|t| *t > 0)
                    .ok_or_else(|| {
                        format!("ttl=`{value}` is not a positive whole number of seconds")
                    })?;
                cert.ttl = Some(ttl);
            }
            other => {
                return Err(format!(
                    "option `{other}` is not supported; use version=N, jq=.field, decode=base64, parse_json_secret=true, prefix=P, file=true, args=…, timeout=N, or for a certificate ssh_user=/cn=, alt_names=, ttl=N, legacy_rsa=true"
                ));
            }
        }
    }
    reference.cert = cert.request(&seen)?.map(Box::new);
    check_combinations(&reference)?;
    Ok(reference)
}

/// The certificate options as given, before they are checked together.
#[derive(Default)]
struct CertOptions {
    users: Option<Vec<String>>,
    common_name: Option<String>,
    alt_names: Option<Vec<String>>,
    legacy_rsa: Option<bool>,
    ttl: Option<u32>,
}

impl CertOptions {
    /// The request the options make, if any; `seen` holds every option given.
    fn request(self, seen: &[&str]) -> Result<Option<CertRequest>, String> {
        let request = match (self.users, self.common_name) {
            (Some(_), Some(_)) => {
                return Err("give either ssh_user= (an SSH certificate) or cn= (a TLS certificate), not both".into());
            }
            (Some(users), None) => {
                if self.alt_names.is_some() {
                    return Err(
                        "alt_names= goes with cn= (a TLS certificate), not with ssh_user=".into(),
                    );
                }
                CertRequest::Ssh {
                    users,
                    ttl: self.ttl,
                    legacy_rsa: self.legacy_rsa.unwrap_or(false),
                }
            }
            (None, Some(common_name)) => {
                if self.legacy_rsa.is_some() {
                    return Err(
                        "legacy_rsa= goes with ssh_user= (an SSH certificate), not with cn=".into(),
                    );
                }
                CertRequest::Pki {
                    common_name,
                    alt_names: self.alt_names.unwrap_or_default(),
                    ttl: self.ttl,
                }
            }
            (None, None) => {
                let stray = ["alt_names", "legacy_rsa", "ttl"]
                    .into_iter()
                    .find(|o| seen.contains(o));
                return match stray {
                    Some(option) => Err(format!(
                        "{option}= is an option of a certificate request: add ssh_user=USER (an SSH certificate) or cn=NAME (a TLS certificate)"
                    )),
                    None => Ok(None),
                };
            }
        };
        const OTHERS: [&str; 9] = [
            "version",
            "jq",
            "decode",
            "parse_json_secret",
            "parse_json_without_prefix",
            "prefix",
            "file",
            "args",
            "timeout",
        ];
        if let Some(option) = OTHERS.into_iter().find(|o| seen.contains(o)) {
            return Err(format!(
                "a certificate request (ssh_user= or cn=) takes no {option}=: akl writes the key and the certificate to files itself"
            ));
        }
        Ok(Some(request))
    }
}

/// A comma-separated list, each part checked by `check`.
fn list(
    key: &str,
    value: &str,
    check: fn(&str) -> Result<(), String>,
) -> Result<Vec<String>, String> {
    if value.is_empty() {
        return Err(format!("{key}= is empty"));
    }
    let parts: Vec<String> = value.split(',').map(str::to_owned).collect();
    if parts.iter().any(String::is_empty) {
        return Err(format!(
            "{key}=`{value}` has an empty part (`,,`, or a leading or trailing `,`)"
        ));
    }
    for part in &parts {
        check(part)?;
    }
    Ok(parts)
}

/// A user name as SSH certificates carry them: no whitespace, no control character.
fn user_name(user: &str) -> Result<(), String> {
    match user.chars().any(|c| c.is_whitespace() || c.is_control()) {
        true => Err(format!(
            "ssh_user=`{user}`: a user name holds no whitespace or control character"
        )),
        false => Ok(()),
    }
}

/// A common name: a DNS name, an address or any short text, as X.509 allows it (at
/// most 64 characters).
fn common_name(cn: &str) -> Result<String, String> {
    if cn.is_empty() {
        return Err("cn= is empty".into());
    }
    if cn.chars().count() > 64 || cn.chars().any(char::is_control) || cn != cn.trim() {
        return Err(format!(
            "cn=`{cn}`: a common name is at most 64 characters, without control characters or whitespace at either end"
        ));
    }
    Ok(cn.to_owned())
}

/// An alternative name: an IP address, or a DNS name (`*.` allowed in front).
fn alt_name(name: &str) -> Result<(), String> {
    if name.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    let host = name.strip_prefix("*.").unwrap_or(name);
    let label_ok = |l: &str| {
        !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    match host.len() <= 253 && host.split('.').all(label_ok) {
        true => Ok(()),
        false => Err(format!(
            "alt_names: `{name}` is neither a DNS name nor an IP address"
        )),
    }
}

/// The options that make no sense together, said as such.
fn check_combinations(r: &Reference) -> Result<(), String> {
    if r.cert.is_some() && (r.folder.is_some() || !r.field.is_empty() || r.fan_out) {
        return Err(
            "a certificate request (ssh_user= or cn=) names one issuer: no folder (/*), #field or #*"
                .into(),
        );
    }
    if r.folder.is_some() && (!r.field.is_empty() || r.fan_out) {
        return Err(
            "a folder reference (/* or /**) takes no field: each secret in it becomes a variable"
                .into(),
        );
    }
    if r.folder.is_some() && r.version.is_some() {
        return Err("a folder reference takes no version".into());
    }
    if r.fan_out && !r.field.is_empty() {
        return Err("give either a field or #* (every field), not both".into());
    }
    if r.prefix.is_some() && !r.fans_out() {
        return Err(
            "prefix= names the variables of a fan-out: add #* or end the path with /*".into(),
        );
    }
    Ok(())
}

/// `path/to/secret` or `/path/to/secret` → `/path/to/secret`.
fn item_path(path: &str) -> Result<Arc<str>, String> {
    let name = path.trim_start_matches('/');
    if name.is_empty() {
        return Err("it names no item: write akeyless://path/to/secret".into());
    }
    // Checked by bytes where it can be: a job may hold 10,000 references.
    let doubled = name
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b'/' && w[1] == b'/');
    if doubled || name.ends_with('/') {
        return Err(format!(
            "the item path `/{name}` has an empty segment (`//` or a trailing `/`)"
        ));
    }
    let control = match name.is_ascii() {
        true => name.bytes().any(|b| b.is_ascii_control()),
        false => name.chars().any(char::is_control),
    };
    if control {
        return Err("the item path contains a control character".into());
    }
    if name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace) {
        return Err("the item path starts or ends with whitespace".into());
    }
    // `/name`: the text itself when it has that slash, copied once.
    Ok(match path.len() > name.len() {
        true => path[path.len() - name.len() - 1..].into(),
        false => format!("/{name}").into(),
    })
}

/// `a.b.0` → `["a", "b", "0"]`.
fn field_path(field: &str) -> Result<Vec<String>, String> {
    if field.is_empty() {
        return Err("the field after `#` is empty".into());
    }
    let segments: Vec<String> = field.split('.').map(str::to_owned).collect();
    if segments.iter().any(String::is_empty) {
        return Err(format!(
            "the field `{field}` has an empty part (`..`, or a leading or trailing `.`)"
        ));
    }
    Ok(segments)
}

/// A jq path expression, the subset that selects: `.`, `.a.b`, `.a[0]`, `."a.b"`, `.["a.b"]`.
pub fn jq_path(expr: &str) -> Result<Vec<String>, String> {
    let unsupported =
        || format!("jq=`{expr}` is not a path; akl supports .a.b, .a[0] and .\"key\"");
    let expr = expr.trim();
    if !expr.starts_with('.') {
        return Err(unsupported());
    }
    let mut segments = Vec::new();
    if expr == "." {
        return Ok(segments);
    }
    let mut rest = expr;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            // `["key"]` or `[N]`
            let (inner, tail) = after.split_once(']').ok_or_else(unsupported)?;
            let index = !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit());
            segments.push(match quoted(inner) {
                Some(key) => key,
                None if index => inner.to_owned(),
                None => return Err(unsupported()),
            });
            rest = tail;
        } else if let Some(after) = rest.strip_prefix('.') {
            if after.starts_with('[') {
                rest = after; // `.["key"]` means `["key"]`
            } else if let Some(key) = after.strip_prefix('"') {
                let end = key.find('"').ok_or_else(unsupported)?;
                segments.push(literal_key(&key[..end]).ok_or_else(unsupported)?);
                rest = &key[end + 1..];
            } else {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let name = &after[..end];
                let plain = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
                if name.is_empty() || !name.chars().all(plain) {
                    return Err(unsupported());
                }
                segments.push(name.to_owned());
                rest = &after[end..];
            }
        } else {
            return Err(unsupported());
        }
    }
    Ok(segments)
}

/// `"key"` → `key`.
fn quoted(s: &str) -> Option<String> {
    literal_key(s.strip_prefix('"')?.strip_suffix('"')?)
}

/// A key that was written in quotes. No escapes: keys holding quotes or backslashes are not
/// worth a parser.
fn literal_key(inner: &str) -> Option<String> {
    (!inner.contains(['"', '\\'])).then(|| inner.to_owned())
}

impl fmt::Display for Reference {
    /// The canonical text of the reference, for messages (references are not secret).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "akeyless:/{}", self.item)?;
        match self.folder {
            Some(Folder::Children) => f.write_str(if &*self.item == "/" { "*" } else { "/*" })?,
            Some(Folder::Tree) => f.write_str(if &*self.item == "/" { "**" } else { "/**" })?,
            None => {}
        }
        if self.fan_out {
            f.write_str("#*")?;
        } else if !self.field.is_empty() {
            write!(f, "#{}", self.field.join("."))?;
        }
        if let Some(v) = self.version {
            write!(f, "|version={v}")?;
        }
        if self.decode.is_some() {
            f.write_str("|decode=base64")?;
        }
        if let Some(prefix) = &self.prefix {
            write!(f, "|prefix={prefix}")?;
        }
        if self.file {
            f.write_str("|file=true")?;
        }
        let producer = self.producer.as_deref().cloned().unwrap_or_default();
        for arg in &producer.args {
            write!(f, "|args={arg}")?;
        }
        if let Some(timeout) = producer.timeout {
            write!(f, "|timeout={timeout}")?;
        }
        match self.cert.as_deref() {
            Some(CertRequest::Ssh {
                users,
                ttl,
                legacy_rsa,
            }) => {
                write!(f, "|ssh_user={}", users.join(","))?;
                if let Some(ttl) = ttl {
                    write!(f, "|ttl={ttl}")?;
                }
                if *legacy_rsa {
                    f.write_str("|legacy_rsa=true")?;
                }
            }
            Some(CertRequest::Pki {
                common_name,
                alt_names,
                ttl,
            }) => {
                write!(f, "|cn={common_name}")?;
                if !alt_names.is_empty() {
                    write!(f, "|alt_names={}", alt_names.join(","))?;
                }
                if let Some(ttl) = ttl {
                    write!(f, "|ttl={ttl}")?;
                }
            }
            None => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Reference {
        parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn fields(f: &[&str]) -> Vec<String> {
        f.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn accepts_every_documented_form() {
        type Case<'a> = (&'a str, &'a str, &'a [&'a str], Option<u32>, Option<Decode>);
        let table: &[Case] = &[
            (
                "akeyless://ci/db-password",
                "/ci/db-password",
                &[],
                None,
                None,
            ),
            ("akeyless:///ci/db", "/ci/db", &[], None, None),
            ("  akeyless://ci/db\n", "/ci/db", &[], None, None),
            (
                "akeyless://ci/app#password",
                "/ci/app",
                &["password"],
                None,
                None,
            ),
            (
                "akeyless://ci/app#a.b.0",
                "/ci/app",
                &["a", "b", "0"],
                None,
                None,
            ),
            ("akeyless:/ci/app", "/ci/app", &[], None, None),
            ("akeyless:/ci/app|version=2", "/ci/app", &[], Some(2), None),
            (
                "akeyless:/ci/app|jq=.field",
                "/ci/app",
                &["field"],
                None,
                None,
            ),
            (
                "akeyless:/ci/app|jq=.a.b[0]",
                "/ci/app",
                &["a", "b", "0"],
                None,
                None,
            ),
            (
                "akeyless:/ci/app|jq=.\"a.b\".c",
                "/ci/app",
                &["a.b", "c"],
                None,
                None,
            ),
            (
                "akeyless:/ci/app|jq=.[\"a.b\"]",
                "/ci/app",
                &["a.b"],
                None,
                None,
            ),
            ("akeyless:/ci/app|jq=.", "/ci/app", &[], None, None),
            (
                "akeyless:/ci/cert|decode=base64",
                "/ci/cert",
                &[],
                None,
                Some(Decode::Base64),
            ),
            (
                "akeyless:/ci/app|version=3|jq=.key|decode=base64",
                "/ci/app",
                &["key"],
                Some(3),
                Some(Decode::Base64),
            ),
            (
                "akeyless://ci/app#user|version=2",
                "/ci/app",
                &["user"],
                Some(2),
                None,
            ),
            (
                "akeyless://team a/my secret",
                "/team a/my secret",
                &[],
                None,
                None,
            ),
        ];
        for (text, item, field, version, decode) in table {
            let r = ok(text);
            assert_eq!(&*r.item, *item, "{text}");
            assert_eq!(r.field, fields(field), "{text}");
            assert_eq!(r.version, *version, "{text}");
            assert_eq!(r.decode, *decode, "{text}");
        }
    }

    #[test]
    fn rejects_with_a_reason() {
        let table = [
            ("akeyless:", "write it as akeyless://path"),
            ("akeyless:ci/db", "write it as akeyless://path"),
            ("akeyless://", "names no item"),
            ("akeyless://#x", "names no item"),
            ("akeyless://ci//db", "empty segment"),
            ("akeyless://ci/db/", "empty segment"),
            ("akeyless://ci/db#", "field after `#` is empty"),
            ("akeyless://ci/db#a..b", "empty part"),
            ("akeyless://ci/db#.a", "empty part"),
            ("akeyless:/ci/db|version=0", "not a positive whole number"),
            ("akeyless:/ci/db|version=two", "not a positive whole number"),
            ("akeyless:/ci/db|version=1|version=2", "given twice"),
            (
                "akeyless:/ci/db|decode=hex",
                "decode=`hex` is not supported",
            ),
            (
                "akeyless:/ci/db|ttl_hours=2",
                "option `ttl_hours` is not supported",
            ),
            ("akeyless://ci/app/*#x", "takes no field"),
            ("akeyless://ci/app/**|version=2", "takes no version"),
            ("akeyless://ci/app#a|parse_json_secret=true", "not both"),
            (
                "akeyless://ci/app|prefix=P_",
                "names the variables of a fan-out",
            ),
            (
                "akeyless://ci/app#*|prefix=a-b",
                "only letters, digits and _",
            ),
            ("akeyless://ci/app|file=yes", "not true or false"),
            ("akeyless://ci/app|timeout=0", "from 1 to 3600"),
            ("akeyless://ci/app|file=true|file=true", "given twice"),
            ("akeyless:/ci/db|jq", "not key=value"),
            ("akeyless:/ci/db|jq=.a | length", "not key=value"),
            ("akeyless:/ci/db|jq=a", "not a path"),
            ("akeyless:/ci/db|jq=.a[", "not a path"),
            ("akeyless:/ci/db|jq=.a[x]", "not a path"),
            ("akeyless:/ci/db|jq=.a..b", "not a path"),
            ("akeyless://ci/db#x|jq=.y", "not both"),
            ("akeyless://ci/\u{1}db", "control character"),
            ("akeyless:// ci/db", "whitespace"),
            ("vault://x", "does not start with akeyless:"),
        ];
        for (text, why) in table {
            let err = parse(text).expect_err(text);
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }

    #[test]
    fn fan_outs_files_and_producer_options() {
        let r = ok("akeyless://ci/app#*");
        assert!(r.fan_out && r.prefix.is_none() && r.fans_out());
        assert_eq!(ok("akeyless:/ci/app|parse_json_secret=true"), r);
        let bare = ok("akeyless:/ci/app|parse_json_without_prefix=true");
        assert_eq!(bare.prefix.as_deref(), Some(""));
        assert_eq!(ok("akeyless://ci/app#*|prefix="), bare);
        let folder = ok("akeyless://ci/app/*|prefix=APP_|file=true");
        assert_eq!(
            (&*folder.item, folder.folder),
            ("/ci/app", Some(Folder::Children))
        );
        assert!(folder.file);
        assert_eq!(ok("akeyless://ci/**").folder, Some(Folder::Tree));
        assert_eq!(&*ok("akeyless://*").item, "/", "the whole tree");
        let dynamic =
            ok("akeyless://ci/cert|args=domain=x.example|args={\"staging\":true}|timeout=300");
        assert_eq!(
            dynamic.producer.as_ref().unwrap().args,
            ["domain=x.example", "{\"staging\":true}"]
        );
        assert_eq!(dynamic.producer.as_ref().unwrap().timeout, Some(300));
        for r in [
            r,
            bare,
            folder,
            dynamic,
            ok("akeyless://*"),
            ok("akeyless://ci/**|file=true"),
        ] {
            assert_eq!(ok(&r.to_string()), r, "{r}");
        }
    }

    #[test]
    fn plain_item_paths_and_display() {
        assert_eq!(&*Reference::item("ci/db").unwrap().item, "/ci/db");
        assert_eq!(&*Reference::item("/ci/db").unwrap().item, "/ci/db");
        assert!(Reference::item("").is_err());
        let r = ok("akeyless:/ci/app|decode=base64|jq=.a.b|version=2");
        assert_eq!(
            r.to_string(),
            "akeyless://ci/app#a.b|version=2|decode=base64"
        );
        assert_eq!(ok(&r.to_string()), r, "display round-trips");
        assert!(is_reference(" akeyless://x") && !is_reference("https://akeyless.io"));
    }

    #[test]
    fn certificate_requests() {
        let ssh = ok("akeyless:/ci/ssh-issuer|ssh_user=deploy");
        assert_eq!(&*ssh.item, "/ci/ssh-issuer");
        assert_eq!(
            ssh.cert.as_deref(),
            Some(&CertRequest::Ssh {
                users: vec!["deploy".into()],
                ttl: None,
                legacy_rsa: false
            })
        );
        let table: &[(&str, CertRequest)] = &[
            (
                "akeyless://ci/ssh-issuer|ssh_user=deploy,ci|ttl=600|legacy_rsa=true",
                CertRequest::Ssh {
                    users: vec!["deploy".into(), "ci".into()],
                    ttl: Some(600),
                    legacy_rsa: true,
                },
            ),
            (
                "akeyless:/ci/ssh-issuer|legacy_rsa=false|ssh_user=root",
                CertRequest::Ssh {
                    users: vec!["root".into()],
                    ttl: None,
                    legacy_rsa: false,
                },
            ),
            (
                "akeyless:/ci/pki-issuer|cn=app.example.com",
                CertRequest::Pki {
                    common_name: "app.example.com".into(),
                    alt_names: vec![],
                    ttl: None,
                },
            ),
            (
                "akeyless:/ci/pki-issuer|cn=app.example.com|alt_names=a.example.com,*.b.example.com,10.0.0.1,::1|ttl=3600",
                CertRequest::Pki {
                    common_name: "app.example.com".into(),
                    alt_names: ["a.example.com", "*.b.example.com", "10.0.0.1", "::1"]
                        .map(String::from)
                        .to_vec(),
                    ttl: Some(3600),
                },
            ),
            (
                "akeyless:/ci/pki-issuer|cn=deploy bot",
                CertRequest::Pki {
                    common_name: "deploy bot".into(),
                    alt_names: vec![],
                    ttl: None,
                },
            ),
        ];
        for (text, request) in table {
            let r = ok(text);
            assert_eq!(r.cert.as_deref(), Some(request), "{text}");
            assert_eq!(ok(&r.to_string()), r, "{text} round-trips as {r}");
            assert!(!r.fans_out() && !r.file && r.field.is_empty(), "{text}");
        }
        assert_eq!(
            ok("akeyless:/ci/ssh|ttl=60|ssh_user=u").to_string(),
            "akeyless://ci/ssh|ssh_user=u|ttl=60"
        );
    }

    #[test]
    fn certificate_requests_are_rejected_with_a_reason() {
        let table = [
            ("akeyless:/ci/i|ssh_user=u|cn=x", "either ssh_user= "),
            (
                "akeyless:/ci/i|cn=x|legacy_rsa=true",
                "legacy_rsa= goes with ssh_user=",
            ),
            (
                "akeyless:/ci/i|ssh_user=u|alt_names=a",
                "alt_names= goes with cn=",
            ),
            ("akeyless:/ci/i|ttl=60", "add ssh_user=USER"),
            ("akeyless:/ci/i|alt_names=a", "add ssh_user=USER"),
            ("akeyless:/ci/i|legacy_rsa=true", "add ssh_user=USER"),
            (
                "akeyless:/ci/i|ssh_user=u|ttl=0",
                "positive whole number of seconds",
            ),
            (
                "akeyless:/ci/i|ssh_user=u|ttl=-5",
                "positive whole number of seconds",
            ),
            (
                "akeyless:/ci/i|ssh_user=u|ttl=1h",
                "positive whole number of seconds",
            ),
            (
                "akeyless:/ci/i|ssh_user=u|legacy_rsa=yes",
                "not true or false",
            ),
            ("akeyless:/ci/i|ssh_user=", "ssh_user= is empty"),
            ("akeyless:/ci/i|ssh_user=a,,b", "empty part"),
            ("akeyless:/ci/i|ssh_user=a b", "no whitespace"),
            ("akeyless:/ci/i|ssh_user=u|ssh_user=v", "given twice"),
            ("akeyless:/ci/i|cn=", "cn= is empty"),
            ("akeyless:/ci/i|cn= x", "whitespace at either end"),
            (
                &format!("akeyless:/ci/i|cn={}", "a".repeat(65)),
                "at most 64",
            ),
            ("akeyless:/ci/i|cn=x|alt_names=a..b", "neither a DNS name"),
            (
                "akeyless:/ci/i|cn=x|alt_names=a_b.example",
                "neither a DNS name",
            ),
            ("akeyless:/ci/i|cn=x|alt_names=a,", "empty part"),
            ("akeyless://ci/i#*|ssh_user=u", "no folder"),
            ("akeyless://ci/i#key|cn=x", "no folder"),
            ("akeyless://ci/*|ssh_user=u", "no folder"),
            ("akeyless:/ci/i|ssh_user=u|file=true", "takes no file="),
            ("akeyless:/ci/i|cn=x|version=2", "takes no version="),
            ("akeyless:/ci/i|cn=x|jq=.a", "takes no jq="),
            ("akeyless:/ci/i|cn=x|decode=base64", "takes no decode="),
            (
                "akeyless:/ci/i|ssh_user=u|parse_json_secret=true",
                "takes no parse_json_secret=",
            ),
            ("akeyless:/ci/i|ssh_user=u|timeout=5", "takes no timeout="),
            ("akeyless:/ci/i|ssh_user=u|args=a=b", "takes no args="),
        ];
        for (text, why) in table {
            let err = parse(text).expect_err(text);
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(3000))]

        /// Any text: no panic; whatever parses prints back to itself.
        #[test]
        fn fuzz_any_text(text in "\\PC{0,40}") {
            if let Ok(r) = parse(&text) {
                proptest::prop_assert_eq!(parse(&r.to_string()).unwrap(), r);
            }
        }

        /// Text built from the grammar's own characters, to reach deep into it.
        #[test]
        fn fuzz_grammar_like_text(tail in "[/a-z0-9#|=.*\\[\\]\"_ -]{0,40}") {
            let text = format!("akeyless:{tail}");
            if let Ok(r) = parse(&text) {
                proptest::prop_assert!(r.item.starts_with('/') && !r.item.contains("//"));
                proptest::prop_assert_eq!(parse(&r.to_string()).unwrap(), r);
            }
        }
    }
}

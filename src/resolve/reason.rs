//! Why a reference could not be resolved, in words a user can act on, and what that
//! means for the exit code.

use std::fmt;

use crate::client::{ApiError, During};
use crate::error::Kind;

use super::ItemType;
use super::select::SelectError;

/// Why a reference could not be resolved. Never holds a secret value. Kept small (large
/// payloads boxed): one sits beside every fetch result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Missing and forbidden look the same in the API; say both.
    NotFound(Option<String>),
    NotPermitted(String),
    WrongType(String),
    BadVersion {
        version: u32,
        latest: Option<i64>,
    },
    VersionOnDynamic,
    Field(Box<SelectError>),
    NotBase64,
    NotUtf8,
    Nul,
    /// A folder reference (`/*`, `/**`) found nothing to read.
    EmptyFolder,
    /// A certificate was asked of an item that is not an issuer of its kind
    /// (`wanted`); `found` is the item's type as the API names it.
    NotAnIssuer {
        wanted: ItemType,
        found: String,
    },
    /// An issuer was asked for a value, which it has not.
    IssuerNeedsRequest(ItemType),
    /// The issuer does not allow what was asked.
    Issuer(Box<IssuerRefusal>),
    /// No key pair could be made, or the issuer's answer is not a certificate.
    Certificate(String),
    /// The gateway no longer accepts the token (it expired during the run, or was revoked).
    Unauthorized(String),
    /// Any other refusal, with the gateway's text.
    Refused(Box<ApiError>),
    /// No usable answer (connection, 5xx, deadline): the run exits 5, not 4.
    Unreachable(Box<ApiError>),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NotFound(None) => f.write_str("not found or not permitted"),
            Reason::NotFound(Some(text)) => write!(f, "not found or not permitted ({text})"),
            Reason::NotPermitted(text) => write!(f, "not permitted ({text})"),
            Reason::WrongType(t) => write!(
                f,
                "wrong type: the item is a {t}; akl reads static, dynamic and rotated secrets"
            ),
            Reason::BadVersion {
                version,
                latest: Some(latest),
            } => {
                write!(
                    f,
                    "bad version: there is no version {version} (the latest is {latest})"
                )
            }
            Reason::BadVersion {
                version,
                latest: None,
            } => write!(f, "bad version: there is no version {version}"),
            Reason::VersionOnDynamic => {
                f.write_str("wrong type: a dynamic secret has no versions; remove |version=")
            }
            Reason::Field(e) if matches!(**e, SelectError::NotAnObject(_)) => write!(f, "{e}"),
            Reason::Field(e) => write!(f, "missing field: {e}"),
            Reason::NotBase64 => f.write_str("decode=base64: the value is not valid base64"),
            Reason::NotUtf8 => f.write_str(
                "decode=base64: the decoded value is not UTF-8 text; add |file=true to have binary content written to a file",
            ),
            Reason::EmptyFolder => f.write_str(
                "the folder holds no static, dynamic or rotated secret this role may list",
            ),
            Reason::Nul => {
                f.write_str("the value contains a NUL byte, which no environment variable can hold")
            }
            Reason::NotAnIssuer { wanted, found } => {
                let option = match wanted {
                    ItemType::SshIssuer => "ssh_user=",
                    _ => "cn=",
                };
                write!(
                    f,
                    "wrong type: the item is a {found}, not {}: {option} asks an item of type {} for a certificate; point the reference at one, or remove {option}",
                    wanted.described(),
                    wanted.api_name()
                )
            }
            Reason::IssuerNeedsRequest(ItemType::SshIssuer) => f.write_str(
                "the item is an SSH certificate issuer, which has no value to read: add |ssh_user=USER to have it sign a key akl makes",
            ),
            Reason::IssuerNeedsRequest(_) => f.write_str(
                "the item is a PKI certificate issuer, which has no value to read: add |cn=NAME to have it sign a key akl makes",
            ),
            Reason::Issuer(refusal) => write!(f, "{refusal}"),
            Reason::Certificate(why) => f.write_str(why),
            Reason::Unauthorized(text) => write!(f, "the token was refused ({text})"),
            Reason::Refused(e) => write!(f, "refused: {e}"),
            Reason::Unreachable(e) => write!(f, "no answer: {e}"),
        }
    }
}

/// Why an issuer refused a certificate, from the limits `describe-item` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerRefusal {
    /// SSH user names the issuer does not allow, and those it does.
    Users {
        refused: Vec<String>,
        allowed: Vec<String>,
    },
    /// Names (`cn=`, `alt_names=`) outside the issuer's allowed domains.
    Names {
        refused: Vec<String>,
        allowed: Vec<String>,
        subdomains: bool,
    },
    /// A TTL above the issuer's longest, in seconds.
    Ttl { ttl: u32, max: i64 },
}

/// The options a refusal tells the user to change: a reference's, or the `akeyless`
/// command's flags.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub users: &'static str,
    pub names: &'static str,
    pub ttl: &'static str,
}

impl Options {
    pub const REFERENCE: Options = Options {
        users: "|ssh_user=",
        names: "|cn= or |alt_names=",
        ttl: "|ttl=",
    };
    pub const CLI: Options = Options {
        users: "--cert-username",
        names: "the names asked for (--common-name, --alt-names or the CSR's)",
        ttl: "--ttl",
    };
}

impl IssuerRefusal {
    /// The refusal with the fix in terms of `options`.
    pub fn explained(&self, options: Options) -> String {
        match self {
            IssuerRefusal::Users { refused, allowed } => format!(
                "the issuer does not allow the user {} (it allows {}): change {}, or add the user to the issuer's allowed users",
                refused.join(", "),
                allowed.join(", "),
                options.users,
            ),
            IssuerRefusal::Names {
                refused,
                allowed,
                subdomains,
            } => format!(
                "the issuer does not allow the name {} (it allows {}{}): change {}, or allow the name on the issuer",
                refused.join(", "),
                allowed.join(", "),
                if *subdomains {
                    " and their subdomains"
                } else {
                    ""
                },
                options.names,
            ),
            IssuerRefusal::Ttl { ttl, max } => format!(
                "a TTL of {ttl} seconds is above the issuer's maximum of {max}: lower {} to {max} or less, or leave it out for the issuer's default",
                options.ttl,
            ),
        }
    }
}

impl fmt::Display for IssuerRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explained(Options::REFERENCE))
    }
}

impl Reason {
    pub fn field(e: SelectError) -> Reason {
        Reason::Field(Box::new(e))
    }

    /// What this failure means for the run's exit code: 5 when no usable answer came,
    /// else 4.
    pub fn kind(&self) -> Kind {
        match self {
            Reason::Unreachable(e) => e.kind(During::Fetch),
            _ => Kind::Unresolved,
        }
    }
}

/// Turns a failed fetch into a reason a user can act on.
pub(super) fn classify(e: ApiError, version: Option<u32>, latest: Option<i64>) -> Reason {
    match e {
        ApiError::Status { status: 404, .. }
            if version.is_some_and(|v| latest.is_some_and(|l| i64::from(v) > l)) =>
        {
            Reason::BadVersion {
                version: version.unwrap_or_default(),
                latest,
            }
        }
        ApiError::Status {
            status: 404,
            message,
        } => match version {
            Some(v) if message.contains("version") => Reason::BadVersion { version: v, latest },
            _ => Reason::NotFound(Some(message)),
        },
        ApiError::Status {
            status: 403,
            message,
        } => Reason::NotPermitted(message),
        e if e.is_refusal() => Reason::Refused(Box::new(e)),
        e => Reason::Unreachable(Box::new(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_classified_for_humans() {
        let status = |status, message: &str| ApiError::Status {
            status,
            message: message.into(),
        };
        assert_eq!(
            classify(status(404, "x"), Some(5), Some(2)),
            Reason::BadVersion {
                version: 5,
                latest: Some(2)
            }
        );
        assert_eq!(
            classify(status(404, "no version 5"), Some(5), None),
            Reason::BadVersion {
                version: 5,
                latest: None
            }
        );
        assert_eq!(
            classify(status(404, "gone"), None, Some(2)),
            Reason::NotFound(Some("gone".into()))
        );
        assert_eq!(
            classify(status(403, "no"), None, None),
            Reason::NotPermitted("no".into())
        );
        assert!(matches!(
            classify(status(400, "bad"), None, None),
            Reason::Refused(_)
        ));
        assert!(matches!(
            classify(status(503, "busy"), None, None),
            Reason::Unreachable(_)
        ));
        assert_eq!(
            Reason::BadVersion {
                version: 3,
                latest: Some(2)
            }
            .to_string(),
            "bad version: there is no version 3 (the latest is 2)"
        );
    }
}

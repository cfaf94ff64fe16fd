//! The token `akeyless auth` keeps, where the Akeyless CLI keeps it, so that a later
//! `akeyless …` without `--token` (Akeyless's CircleCI doc runs one in a separate step)
//! and `source ~/.akeyless/akeyless_env.sh` work whatever `$TOKEN` holds.
//!
//! The CLI's layout (docs/akeyless-api.md, "What `akeyless auth` keeps"): a profile
//! `~/.akeyless/profiles/<profile>.toml` naming the access id, and the token in
//! `~/.akeyless/.tmp_creds/<profile>-<access id>`, a JSON object with `access_id`, `token`
//! and `expiry` (seconds since the epoch). The profile is `AKEYLESS_DEFAULT_PROFILE`, else
//! `default`. This module knows the paths and the formats; writing is the caller's, with
//! the env file's atomic, private writer.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::client::Token;
use crate::error::Result;
use crate::files;
use crate::secret::Secret;

use super::env::Env;
use super::vars::{AKEYLESS_DEFAULT_PROFILE, HOME};

/// A kept token is not used in its last minute: the run may need that long.
const MARGIN_SECS: i64 = 60;

/// Where a profile's files live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    dir: PathBuf,
}

impl Profile {
    /// The profile `name` (else `AKEYLESS_DEFAULT_PROFILE`, else `default`) under
    /// `$HOME/.akeyless`; none without a HOME.
    pub fn locate(env: &Env, name: Option<&str>) -> Result<Option<Profile>> {
        let Some(home) = env.get(HOME)? else {
            return Ok(None);
        };
        let name = match name {
            Some(name) => name.to_owned(),
            None => env
                .get(AKEYLESS_DEFAULT_PROFILE)?
                .unwrap_or("default")
                .to_owned(),
        };
        Ok(Some(Profile {
            name,
            dir: Path::new(home).join(".akeyless"),
        }))
    }

    pub fn profile_file(&self) -> PathBuf {
        self.dir
            .join("profiles")
            .join(format!("{}.toml", self.name))
    }

    pub fn creds_file(&self, access_id: &str) -> PathBuf {
        self.dir
            .join(".tmp_creds")
            .join(format!("{}-{access_id}", self.name))
    }

    /// The profile file's text: the access id and type, no secret.
    pub fn render_profile(&self, access_id: &str, access_type: &str) -> Secret {
        Secret::new(format!(
            "[\"{}\"]\n  access_id = '{access_id}'\n  access_type = '{access_type}'\n",
            self.name
        ))
    }

    /// The token file's text; `login`, the digest of the credentials that got the token
    /// (`Credentials::login_digest`), if they have one.
    pub fn render_creds(
        access_id: &str,
        token: &Secret,
        expiry: i64,
        login: Option<&str>,
    ) -> Secret {
        let mut creds = json!({"access_id": access_id, "token": token.expose(), "expiry": expiry});
        if let Some(login) = login {
            creds["akl_login"] = login.into();
        }
        Secret::new(creds.to_string())
    }

    /// The kept token, if the profile names an access id whose token is there and still
    /// valid for a while: the access id, the token, and the digest of the credentials
    /// that got it, if akl kept it. Anything missing, malformed or not ours (`files`'s
    /// rule) counts as no token.
    pub fn kept_token(&self) -> Option<(String, Token, Option<String>)> {
        let read = |path: PathBuf| {
            files::read_trusted(&path, 1 << 20)
                .ok()
                .flatten()
                .and_then(|bytes| String::from_utf8(bytes).ok())
        };
        let profile = read(self.profile_file())?;
        let access_id = profile.lines().find_map(|line| {
            let value = line.trim().strip_prefix("access_id")?.trim_start();
            let value = value.strip_prefix('=')?.trim();
            Some(value.trim_matches(['\'', '"']).to_owned())
        })?;
        let creds: Value = serde_json::from_str(&read(self.creds_file(&access_id))?).ok()?;
        if creds["access_id"].as_str() != Some(access_id.as_str()) {
            return None;
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
        if creds["expiry"].as_i64()? <= now + MARGIN_SECS {
            return None;
        }
        let token = Token::parse(creds["token"].as_str()?).ok()?;
        let login = creds["akl_login"].as_str().map(str::to_owned);
        Some((access_id, token, login))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_token_is_found_until_it_expires() {
        let home = tempfile::tempdir().unwrap();
        let env = Env::from_pairs([("HOME", home.path().as_os_str())]);
        let profile = Profile::locate(&env, None).unwrap().unwrap();
        assert_eq!(profile.name, "default");
        assert_eq!(profile.kept_token(), None);
        let write = |path: PathBuf, text: Secret| {
            let dir = path.parent().unwrap();
            std::fs::create_dir_all(dir).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
            std::fs::write(path, text.expose()).unwrap();
        };
        write(
            profile.profile_file(),
            profile.render_profile("p-abc", "jwt"),
        );
        let later = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + 600;
        write(
            profile.creds_file("p-abc"),
            Profile::render_creds("p-abc", &Secret::new("t-kept"), later, Some("d1")),
        );
        let (access_id, token, login) = profile.kept_token().unwrap();
        assert_eq!(access_id, "p-abc");
        assert_eq!(token.secret().expose(), "t-kept");
        assert_eq!(login.as_deref(), Some("d1"));
        write(
            profile.creds_file("p-abc"),
            Profile::render_creds("p-abc", &Secret::new("t-kept"), later - 580, None),
        );
        assert_eq!(profile.kept_token(), None, "expiring within the margin");
    }
}

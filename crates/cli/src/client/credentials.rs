//! The credentials the client verbs sign with, found as the AWS CLI finds them: the
//! standard variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`), else the profile (`AWS_PROFILE`, else `default`) of the shared
//! credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`), else the
//! administrator key the server wrote to its data directory (`HEARTH_DATA_DIR`, else
//! `~/.local/share/hearth`).

use std::path::{Path, PathBuf};

/// A key to sign with.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The credentials to sign with, if any are found.
pub fn find() -> Option<Credentials> {
    if let (Some(id), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        return Some(Credentials {
            access_key_id: id,
            secret_access_key: secret,
            session_token: var("AWS_SESSION_TOKEN"),
        });
    }
    let home = var("HOME").map(PathBuf::from);
    let profile = var("AWS_PROFILE").unwrap_or_else(|| "default".into());
    let shared = var("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".aws/credentials")));
    if let Some(c) = shared.and_then(|p| from_file(&p, &profile)) {
        return Some(c);
    }
    let data_dir = var("HEARTH_DATA_DIR")
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".local/share/hearth")))?;
    from_file(&data_dir.join("admin-credentials"), "default")
}

/// The profile `profile` of an INI credentials file.
pub fn from_file(path: &Path, profile: &str) -> Option<Credentials> {
    parse_ini(&std::fs::read_to_string(path).ok()?, profile)
}

fn parse_ini(text: &str, profile: &str) -> Option<Credentials> {
    let (mut id, mut secret, mut token) = (None, None, None);
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') && line.ends_with(']') {
            inside = line[1..line.len() - 1].trim() == profile;
            continue;
        }
        if !inside {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().to_string();
            match k.trim() {
                "aws_access_key_id" => id = Some(v),
                "aws_secret_access_key" => secret = Some(v),
                "aws_session_token" => token = Some(v),
                _ => {}
            }
        }
    }
    Some(Credentials {
        access_key_id: id?,
        secret_access_key: secret?,
        session_token: token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_is_read_from_ini() {
        let text = "[default]\naws_access_key_id = A\naws_secret_access_key = B\n\n[other]\naws_access_key_id=C\naws_secret_access_key=D\naws_session_token=E\n";
        let c = parse_ini(text, "other").expect("other");
        assert_eq!(
            (
                c.access_key_id.as_str(),
                c.secret_access_key.as_str(),
                c.session_token.as_deref()
            ),
            ("C", "D", Some("E"))
        );
        assert_eq!(
            parse_ini(text, "default").expect("default").access_key_id,
            "A"
        );
        assert!(parse_ini(text, "missing").is_none());
    }
}

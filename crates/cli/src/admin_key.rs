//! The administrator key: made on a data directory's first start (the default account's
//! root), its secret sealed in the store, and written for the operator to
//! `DATA_DIR/admin-credentials` (mode 0600, the AWS shared-credentials format) at every
//! start, so that the file always holds the key the server accepts.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use hearth_auth::{KeyRing, Sessions, Verifier};
use hearth_store::seal::SealKey;

use crate::server::AuthMode;

/// The file the administrator key is written to, in the data directory.
pub const ADMIN_CREDENTIALS: &str = "admin-credentials";

/// Makes the administrator key if there is none, writes its file, and builds the
/// authentication `mode` asks for.
pub fn setup(
    mode: AuthMode,
    keys: &KeyRing,
    server_key: &SealKey,
    data_dir: &Path,
) -> anyhow::Result<(hearth_api::Auth, KeyRing)> {
    let account = hearth_model::arn::ACCOUNT;
    let made = keys
        .ensure_admin(account)
        .context("cannot make the administrator key")?;
    let path = data_dir.join(ADMIN_CREDENTIALS);
    let file = path.clone();
    let keys = keys.clone().on_admin_rotated(Arc::new(move |id: &str, secret: &str| {
        match write_credentials(&file, id, secret) {
            Ok(()) => tracing::info!(access_key_id = %id, file = %file.display(), "the administrator key was rotated"),
            Err(e) => tracing::error!(error = %format!("{e:#}"), "cannot write the rotated administrator key"),
        }
    }));
    if let Some((id, secret)) = keys.admin_secret(account) {
        ensure_credentials(&path, &id, &secret)?;
        if made.is_some() {
            tracing::info!(
                access_key_id = %id,
                file = %path.display(),
                "made the administrator key of account {account}; use it with \
                 `AWS_SHARED_CREDENTIALS_FILE={} aws --profile hearth --endpoint-url ...` \
                 (scripts/setup.sh writes an AWS CLI profile for it); `hearth` client commands \
                 read it from the data directory",
                path.display()
            );
        }
    }
    Ok(match mode {
        AuthMode::Sigv4 => (
            hearth_api::Auth::sigv4(Verifier::new(
                hearth_auth::REGION,
                Arc::new(keys.clone()),
                Sessions::new(server_key),
            )),
            keys,
        ),
        AuthMode::Off => {
            tracing::warn!(
                "AUTHENTICATION IS OFF (--auth off): any request with any credentials is the \
                 account's root. Use it for throwaway local work only."
            );
            (hearth_api::Auth::Off, keys)
        }
    })
}

/// Issues each environment temporary credentials of its function's execution role
/// (issue 14): session credentials as STS would give, valid an hour longer than an
/// environment may live ([`hearth_engine::ENVIRONMENT_MAX_AGE`]), so they never expire
/// under a running invocation.
pub struct RoleCredentials(pub Sessions);

impl hearth_engine::CredentialIssuer for RoleCredentials {
    fn issue(&self, role_arn: &str, function: &str) -> Option<hearth_engine::EnvCredentials> {
        let grant = role_session_grant(
            role_arn,
            function,
            hearth_engine::ENVIRONMENT_MAX_AGE + std::time::Duration::from_secs(3600),
        );
        match self.0.issue_session(&grant, std::time::SystemTime::now()) {
            Ok(c) => Some(hearth_engine::EnvCredentials {
                access_key_id: c.access_key_id,
                secret_access_key: c.secret_access_key,
                session_token: c.session_token,
            }),
            Err(e) => {
                tracing::error!(error = %e, function, "cannot issue an environment's credentials");
                None
            }
        }
    }
}

/// A session of the role `role_arn` named `session_name`, as Hearth issues them for what
/// acts as a role on its own (a function's environment), in the role's account (`arn:aws:iam::ACCOUNT:role/NAME`; the default account otherwise).
pub fn role_session_grant(
    role_arn: &str,
    session_name: &str,
    duration: std::time::Duration,
) -> hearth_auth::SessionGrant {
    let account = role_arn
        .split(':')
        .nth(4)
        .filter(|a| a.len() == 12)
        .unwrap_or(hearth_model::arn::ACCOUNT);
    hearth_auth::SessionGrant {
        account: account.to_string(),
        role_arn: role_arn.to_string(),
        session_name: session_name.to_string(),
        role_id: None,
        duration,
    }
}

/// The INI text of a key, under the profiles `default` and `hearth`.
pub fn credentials_ini(id: &str, secret: &str) -> String {
    let mut out = String::new();
    for profile in ["default", "hearth"] {
        out.push_str(&format!(
            "[{profile}]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n\n"
        ));
    }
    out
}

/// Writes the file unless it already says this (a restart writes nothing, so that a
/// server whose disk is full still starts), and keeps it private either way.
fn ensure_credentials(path: &Path, id: &str, secret: &str) -> anyhow::Result<()> {
    let current = std::fs::read_to_string(path).ok();
    if current.as_deref() != Some(credentials_ini(id, secret).as_str()) {
        return write_credentials(path, id, secret);
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot make {} private", path.display()))
}

fn write_credentials(path: &Path, id: &str, secret: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(credentials_ini(id, secret).as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}

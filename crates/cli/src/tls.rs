//! `hearth server`'s TLS options: a certificate and key from PEM files, or a self-signed
//! certificate for the names given, made once and kept in the data directory (0600)
//! until it nears its end or the names change, so that clients keep trusting one file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// How long a self-signed certificate is valid.
const SELF_SIGNED_DAYS: i64 = 365;
/// A self-signed certificate with less than this left is made anew at start.
const RENEW_DAYS: i64 = 30;

#[derive(Debug, Clone, clap::Args)]
pub struct TlsArgs {
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(
        long,
        env = "HEARTH_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(
        long,
        env = "HEARTH_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,

    /// Serve HTTPS with a self-signed certificate for these host names or addresses, made
    /// once and kept in DATA_DIR/tls/ (clients trust DATA_DIR/tls/self-signed.pem).
    #[arg(
        long,
        env = "HEARTH_TLS_SELF_SIGNED",
        value_name = "NAME[,NAME...]",
        value_delimiter = ','
    )]
    pub tls_self_signed: Vec<String>,
}

impl TlsArgs {
    /// The certificate file the server serves, if it serves HTTPS (after [`Self::config`]
    /// made a self-signed one).
    pub fn served(&self, data_dir: &Path) -> Option<PathBuf> {
        match &self.tls_cert {
            Some(cert) => Some(cert.clone()),
            None if !self.tls_self_signed.is_empty() => Some(data_dir.join("tls").join(CERT_FILE)),
            None => None,
        }
    }

    /// The server's TLS configuration, or None for plain HTTP.
    pub fn config(&self, data_dir: &Path) -> anyhow::Result<Option<Arc<rustls::ServerConfig>>> {
        let (cert, key) = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => (cert.clone(), key.clone()),
            _ if !self.tls_self_signed.is_empty() => {
                let made = self_signed(&data_dir.join("tls"), &self.tls_self_signed)?;
                tracing::info!(
                    certificate = %made.display(),
                    "self-signed TLS certificate; clients trust it with `aws --ca-bundle FILE` \
                     or boto3's `verify=FILE`"
                );
                (made, data_dir.join("tls").join(KEY_FILE))
            }
            _ => return Ok(None),
        };
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
            .and_then(|certs| certs.collect())
            .with_context(|| format!("cannot read the certificates of {}", cert.display()))?;
        if chain.is_empty() {
            anyhow::bail!("{} holds no certificate", cert.display());
        }
        let key = PrivateKeyDer::from_pem_file(&key)
            .with_context(|| format!("cannot read the private key {}", key.display()))?;
        let config = hearth_serve::tls_config(chain, key)
            .context("cannot use the TLS certificate and key")?;
        Ok(Some(config))
    }
}

const CERT_FILE: &str = "self-signed.pem";
const KEY_FILE: &str = "self-signed.key";
/// What the certificate was made for: the names, one a line, then its end (Unix seconds).
const ABOUT_FILE: &str = "self-signed.names";

/// The path of a self-signed certificate for `names` in `dir`: the one there if it was
/// made for the same names and has more than [`RENEW_DAYS`] left, else a new one.
fn self_signed(dir: &Path, names: &[String]) -> anyhow::Result<PathBuf> {
    let cert_path = dir.join(CERT_FILE);
    let key_path = dir.join(KEY_FILE);
    let about_path = dir.join(ABOUT_FILE);
    let now = chrono::Utc::now().timestamp();
    if let Ok(about) = std::fs::read_to_string(&about_path) {
        if reusable(&about, names, now) && key_path.exists() && cert_path.exists() {
            return Ok(cert_path);
        }
    }
    let not_after = now + SELF_SIGNED_DAYS * 86_400;
    let (cert, key) = generate(names, now, not_after)?;
    hearth_store::private::create_dir(dir)?;
    hearth_store::private::write(&key_path, key.as_bytes())?;
    hearth_store::private::write(&cert_path, cert.as_bytes())?;
    hearth_store::private::write(&about_path, about(names, not_after).as_bytes())?;
    Ok(cert_path)
}

fn about(names: &[String], not_after: i64) -> String {
    let mut text: String = names.iter().map(|n| format!("{n}\n")).collect();
    text.push_str(&format!("not-after {not_after}\n"));
    text
}

/// Whether a certificate described by `about` serves `names` at `now`.
fn reusable(about: &str, names: &[String], now: i64) -> bool {
    let mut lines: Vec<&str> = about.lines().collect();
    let Some(not_after) = lines
        .pop()
        .and_then(|l| l.strip_prefix("not-after "))
        .and_then(|t| t.parse::<i64>().ok())
    else {
        return false;
    };
    lines == names.iter().map(String::as_str).collect::<Vec<_>>()
        && not_after - now > RENEW_DAYS * 86_400
}

/// A certificate (PEM) for `names` valid from a day before `now` (clocks differ) until
/// `not_after`, and its private key (PEM).
pub(crate) fn generate(
    names: &[String],
    now: i64,
    not_after: i64,
) -> anyhow::Result<(String, String)> {
    let mut params = rcgen::CertificateParams::new(names.to_vec())
        .context("cannot make a certificate for these names")?;
    let (y, m, d) = ymd(now - 86_400)?;
    params.not_before = rcgen::date_time_ymd(y, m, d);
    let (y, m, d) = ymd(not_after)?;
    params.not_after = rcgen::date_time_ymd(y, m, d);
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        names.first().cloned().unwrap_or_default(),
    );
    let key = rcgen::KeyPair::generate().context("cannot generate a key")?;
    let cert = params
        .self_signed(&key)
        .context("cannot sign the certificate")?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// The UTC date of a Unix time.
fn ymd(unix: i64) -> anyhow::Result<(i32, u8, u8)> {
    use chrono::Datelike;
    let date = chrono::DateTime::from_timestamp(unix, 0)
        .context("time out of range")?
        .date_naive();
    let month = u8::try_from(date.month()).context("month")?;
    let day = u8::try_from(date.day()).context("day")?;
    Ok((date.year(), month, day))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reused_for_the_same_names_while_valid() {
        let text = about(&names(&["localhost", "127.0.0.1"]), 1_000 + 100 * 86_400);
        assert!(reusable(&text, &names(&["localhost", "127.0.0.1"]), 1_000));
        // Another name, or fewer than 30 days left: a new one.
        assert!(!reusable(&text, &names(&["localhost"]), 1_000));
        assert!(!reusable(
            &text,
            &names(&["localhost", "127.0.0.1"]),
            1_000 + 71 * 86_400
        ));
        assert!(!reusable("garbage", &names(&["localhost"]), 0));
    }

    #[test]
    fn made_once_then_reused_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let tls = dir.path().join("tls");
        let n = names(&["localhost", "127.0.0.1"]);
        let first = self_signed(&tls, &n).expect("made");
        let pem = std::fs::read_to_string(&first).expect("read");
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        let again = self_signed(&tls, &n).expect("reused");
        assert_eq!(std::fs::read_to_string(&again).expect("read"), pem);
        let other = self_signed(&tls, &names(&["example.test"])).expect("new names");
        assert_ne!(std::fs::read_to_string(&other).expect("read"), pem);
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&tls), 0o700);
        assert_eq!(mode(&tls.join(KEY_FILE)), 0o600);
        // The key and certificate load as a server configuration.
        let args = TlsArgs {
            tls_cert: None,
            tls_key: None,
            tls_self_signed: n,
        };
        assert!(args.config(dir.path()).expect("config").is_some());
    }
}

//! Secrets at rest: the server key and authenticated encryption under it.
//!
//! One 32-byte key per data directory (`server.key`, mode 0600), made on first start,
//! seals what must not be readable from a copy of the database alone: access-key
//! secrets, session tokens, environment variables. ChaCha20-Poly1305 with a random
//! nonce per seal; the associated data binds a sealed value to where it belongs (a key
//! id, a function name), so a value copied to another row does not open.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

/// The file the server key lives in, inside the data directory.
pub const SERVER_KEY_FILE: &str = "server.key";

const KEY_LEN: usize = 32;

/// Why a key could not be loaded or a value not opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("server key {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("server key {path} is {len} bytes, not {KEY_LEN}")]
    BadKey { path: String, len: usize },
    #[error("the system random source failed")]
    Random,
    /// Tampered with, sealed under another key, or for another place.
    #[error("a sealed value does not open under this server's key")]
    Open,
}

/// The server key. Cheap to clone.
#[derive(Clone)]
pub struct SealKey {
    key: Arc<LessSafeKey>,
    raw: Arc<[u8; KEY_LEN]>,
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(..)")
    }
}

impl SealKey {
    /// Loads `dir/server.key`, or makes it (0600) when it does not exist yet.
    pub fn load_or_create(dir: &Path) -> Result<Self, SealError> {
        let path = dir.join(SERVER_KEY_FILE);
        let io = |source| SealError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read(&path) {
            Ok(bytes) => {
                let raw: [u8; KEY_LEN] =
                    bytes.as_slice().try_into().map_err(|_| SealError::BadKey {
                        path: path.display().to_string(),
                        len: bytes.len(),
                    })?;
                // A key copied in by hand may be readable by others: tighten it.
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(io)?;
                Ok(Self::from_bytes(raw))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let raw = random_bytes::<KEY_LEN>()?;
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(io)?;
                f.write_all(&raw).map_err(io)?;
                f.sync_all().map_err(io)?;
                Ok(Self::from_bytes(raw))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// A key from its bytes (tests, and keys derived for one purpose).
    pub fn from_bytes(raw: [u8; KEY_LEN]) -> Self {
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, &raw)
            .expect("a 32-byte key is the length ChaCha20-Poly1305 takes");
        Self {
            key: Arc::new(LessSafeKey::new(unbound)),
            raw: Arc::new(raw),
        }
    }

    /// A key for one purpose, derived from this one (HMAC-SHA256 of the label), so
    /// that values of one kind are never keyed like values of another.
    pub fn derive(&self, label: &str) -> Self {
        let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, self.raw.as_slice());
        let tag = ring::hmac::sign(&k, label.as_bytes());
        let mut raw = [0u8; KEY_LEN];
        raw.copy_from_slice(&tag.as_ref()[..KEY_LEN]);
        Self::from_bytes(raw)
    }

    /// HMAC-SHA256 of `data` under this key (deterministic secrets, MACs).
    pub fn mac(&self, data: &[u8]) -> [u8; 32] {
        let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, self.raw.as_slice());
        let mut out = [0u8; 32];
        out.copy_from_slice(ring::hmac::sign(&k, data).as_ref());
        out
    }

    /// Encrypts `plain`, bound to `aad`: nonce || ciphertext || tag.
    pub fn seal(&self, plain: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        let nonce = random_bytes::<NONCE_LEN>()?;
        let mut buf = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut buf,
            )
            .map_err(|_| SealError::Random)?;
        let mut out = Vec::with_capacity(NONCE_LEN + buf.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Decrypts what [`SealKey::seal`] made with the same `aad`.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
        let mut buf = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .map_err(|_| SealError::Open)?;
        Ok(plain.to_vec())
    }
}

/// `N` bytes from the system's random source.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], SealError> {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| SealError::Random)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = SealKey::load_or_create(dir.path()).expect("create");
        let sealed = key.seal(b"secret", b"AKIA1").expect("seal");
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(key.open(&sealed, b"AKIA1").expect("open"), b"secret");
        assert!(matches!(key.open(&sealed, b"AKIA2"), Err(SealError::Open)));
        let mut tampered = sealed.clone();
        *tampered.last_mut().expect("non-empty") ^= 1;
        assert!(matches!(
            key.open(&tampered, b"AKIA1"),
            Err(SealError::Open)
        ));
        let other = SealKey::from_bytes([7; 32]);
        assert!(matches!(
            other.open(&sealed, b"AKIA1"),
            Err(SealError::Open)
        ));
        assert!(matches!(key.open(b"short", b"AKIA1"), Err(SealError::Open)));
    }

    #[test]
    fn the_key_file_is_private_and_reloads_the_same_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = SealKey::load_or_create(dir.path()).expect("create");
        let path = dir.path().join(SERVER_KEY_FILE);
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = SealKey::load_or_create(dir.path()).expect("load");
        let sealed = key.seal(b"v", b"").expect("seal");
        assert_eq!(again.open(&sealed, b"").expect("open"), b"v");
        assert_ne!(key.derive("a").mac(b"x"), key.derive("b").mac(b"x"));
        std::fs::write(&path, b"short").expect("write");
        assert!(matches!(
            SealKey::load_or_create(dir.path()),
            Err(SealError::BadKey { len: 5, .. })
        ));
    }
}

//! Signing SNS messages as AWS does: an RSA key (2048 bits) that Hearth generates once and
//! keeps in the store, the certificate of its public key served at the `SigningCertURL`,
//! and PKCS #1 v1.5 signatures over AWS's canonical string of each message type
//! (`SignatureVersion` 1: SHA1withRSA, 2: SHA256withRSA).
//!
//! ring signs RSA but cannot make an RSA key or sign with SHA-1, so the key's arithmetic is
//! here, on `num-bigint`: primes by trial division and Miller–Rabin, signatures with the
//! Chinese remainder theorem. The certificate is made by rcgen over the same key.

use base64::Engine as _;
use num_bigint::BigUint;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

/// The key's size in bits.
const BITS: usize = 2048;
const E: u32 = 65_537;

/// DER of the DigestInfo header before a SHA-1 digest (RFC 8017, 9.2).
const SHA1_INFO: &[u8] = &[
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
];
/// DER of the DigestInfo header before a SHA-256 digest.
const SHA256_INFO: &[u8] = &[
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// The key and its certificate as the store keeps them (hex numbers, PEM).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredKey {
    n: String,
    d: String,
    p: String,
    q: String,
    cert: String,
}

/// A loaded signing key.
#[derive(Clone)]
pub struct Signer {
    n: BigUint,
    p: BigUint,
    q: BigUint,
    dp: BigUint,
    dq: BigUint,
    qinv: BigUint,
    cert_pem: String,
    /// Names the certificate's file (`SimpleNotificationService-{id}.pem`).
    pub cert_id: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("cert_id", &self.cert_id)
            .finish_non_exhaustive()
    }
}

/// Why a key could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("the stored SNS signing key is unreadable: {0}")]
    Stored(String),
    #[error("cannot make the SNS signing certificate: {0}")]
    Certificate(String),
}

fn hex_num(s: &str) -> Result<BigUint, SignError> {
    BigUint::parse_bytes(s.as_bytes(), 16).ok_or_else(|| SignError::Stored("a number".into()))
}

const SMALL_PRIMES: &[u32] = &[
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181, 191, 193,
    197, 199, 211, 223, 227, 229, 233, 239, 241, 251,
];

/// Miller–Rabin with the first twelve primes as bases: for random candidates of this size
/// the chance of a composite passing is far below any hardware fault's.
fn probably_prime(n: &BigUint) -> bool {
    let one = BigUint::from(1u32);
    let n1 = n - &one;
    let s = n1.trailing_zeros().unwrap_or(0);
    let d = &n1 >> s;
    'bases: for a in [2u32, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
        let mut x = BigUint::from(a).modpow(&d, n);
        if x == one || x == n1 {
            continue;
        }
        for _ in 1..s {
            x = x.modpow(&BigUint::from(2u32), n);
            if x == n1 {
                continue 'bases;
            }
        }
        return false;
    }
    true
}

fn random_prime(bits: usize, rng: &SystemRandom) -> BigUint {
    let e = BigUint::from(E);
    loop {
        let mut bytes = vec![0u8; bits / 8];
        rng.fill(&mut bytes)
            .expect("the system's random source works");
        // The top two bits set make the product of two such primes exactly 2·bits long.
        bytes[0] |= 0xc0;
        let last = bytes.len() - 1;
        bytes[last] |= 1;
        let c = BigUint::from_bytes_be(&bytes);
        if SMALL_PRIMES
            .iter()
            .any(|p| (&c % BigUint::from(*p)) == BigUint::ZERO)
        {
            continue;
        }
        if ((&c - 1u32) % &e) == BigUint::ZERO {
            continue;
        }
        if probably_prime(&c) {
            return c;
        }
    }
}

/// DER of a non-negative INTEGER.
fn der_integer(n: &BigUint) -> Vec<u8> {
    let mut bytes = n.to_bytes_be();
    if bytes[0] & 0x80 != 0 {
        bytes.insert(0, 0);
    }
    let mut out = vec![0x02];
    out.extend(der_len(bytes.len()));
    out.extend(bytes);
    out
}

fn der_len(len: usize) -> Vec<u8> {
    if len < 0x80 {
        return vec![len as u8];
    }
    let bytes: Vec<u8> = len
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

/// The PKCS #1 `RSAPublicKey` of (n, e).
fn public_key_der(n: &BigUint) -> Vec<u8> {
    let mut body = der_integer(n);
    body.extend(der_integer(&BigUint::from(E)));
    let mut out = vec![0x30];
    out.extend(der_len(body.len()));
    out.extend(body);
    out
}

/// The key as rcgen sees it, to sign the certificate.
struct CertKey<'a> {
    signer: &'a Signer,
    public: Vec<u8>,
}

impl rcgen::PublicKeyData for CertKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

impl rcgen::SigningKey for CertKey<'_> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Ok(self.signer.sign_bytes(msg, Version::Two))
    }
}

/// Which hash a signature is made with: AWS's `SignatureVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// SHA1withRSA.
    One,
    /// SHA256withRSA.
    Two,
}

impl Version {
    /// A topic's `SignatureVersion` attribute.
    pub fn of(attribute: &str) -> Self {
        if attribute == "2" {
            Self::Two
        } else {
            Self::One
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::One => "1",
            Self::Two => "2",
        }
    }
}

impl Signer {
    /// A new key with its self-signed certificate.
    pub fn generate() -> Result<(Self, StoredKey), SignError> {
        let rng = SystemRandom::new();
        let (p, q) = loop {
            let p = random_prime(BITS / 2, &rng);
            let q = random_prime(BITS / 2, &rng);
            if p != q {
                break (p, q);
            }
        };
        let n = &p * &q;
        let phi = (&p - 1u32) * (&q - 1u32);
        let d = BigUint::from(E)
            .modinv(&phi)
            .ok_or_else(|| SignError::Stored("e has no inverse".into()))?;
        let mut signer = Self::from_parts(n, &d, p, q, String::new())?;
        let mut params = rcgen::CertificateParams::new(vec!["sns.amazonaws.com".to_string()])
            .map_err(|e| SignError::Certificate(e.to_string()))?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "sns.amazonaws.com");
        let key = CertKey {
            signer: &signer,
            public: public_key_der(&signer.n),
        };
        let cert = params
            .self_signed(&key)
            .map_err(|e| SignError::Certificate(e.to_string()))?;
        signer.cert_pem = cert.pem();
        let stored = StoredKey {
            n: signer.n.to_str_radix(16),
            d: d.to_str_radix(16),
            p: signer.p.to_str_radix(16),
            q: signer.q.to_str_radix(16),
            cert: signer.cert_pem.clone(),
        };
        Ok((signer, stored))
    }

    /// The key the store keeps.
    pub fn load(stored: &StoredKey) -> Result<Self, SignError> {
        Self::from_parts(
            hex_num(&stored.n)?,
            &hex_num(&stored.d)?,
            hex_num(&stored.p)?,
            hex_num(&stored.q)?,
            stored.cert.clone(),
        )
    }

    fn from_parts(
        n: BigUint,
        d: &BigUint,
        p: BigUint,
        q: BigUint,
        cert_pem: String,
    ) -> Result<Self, SignError> {
        let qinv = q
            .modinv(&p)
            .ok_or_else(|| SignError::Stored("q has no inverse mod p".into()))?;
        let dp = d % (&p - 1u32);
        let dq = d % (&q - 1u32);
        use sha2::Digest;
        let cert_id = hex::encode(&sha2::Sha256::digest(n.to_bytes_be())[..16]);
        Ok(Self {
            n,
            p,
            q,
            dp,
            dq,
            qinv,
            cert_pem,
            cert_id,
        })
    }

    /// The certificate, PEM.
    pub fn certificate(&self) -> &str {
        &self.cert_pem
    }

    /// The PKCS #1 v1.5 signature of `msg`.
    pub fn sign_bytes(&self, msg: &[u8], version: Version) -> Vec<u8> {
        let (info, digest): (&[u8], Vec<u8>) = match version {
            Version::One => (
                SHA1_INFO,
                ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, msg)
                    .as_ref()
                    .to_vec(),
            ),
            Version::Two => (
                SHA256_INFO,
                ring::digest::digest(&ring::digest::SHA256, msg)
                    .as_ref()
                    .to_vec(),
            ),
        };
        let k = self.n.to_bytes_be().len();
        let t_len = info.len() + digest.len();
        let mut em = vec![0xffu8; k];
        em[0] = 0;
        em[1] = 1;
        em[k - t_len - 1] = 0;
        em[k - t_len..k - digest.len()].copy_from_slice(info);
        em[k - digest.len()..].copy_from_slice(&digest);
        let m = BigUint::from_bytes_be(&em);
        let m1 = m.modpow(&self.dp, &self.p);
        let m2 = m.modpow(&self.dq, &self.q);
        let diff = (&m1 + &self.p - (&m2 % &self.p)) % &self.p;
        let h = (&self.qinv * diff) % &self.p;
        let s = m2 + h * &self.q;
        let mut out = s.to_bytes_be();
        while out.len() < k {
            out.insert(0, 0);
        }
        out
    }

    /// The base64 signature of a message's canonical string, as the envelopes carry it.
    pub fn sign(&self, canonical: &str, version: Version) -> String {
        base64::engine::general_purpose::STANDARD
            .encode(self.sign_bytes(canonical.as_bytes(), version))
    }
}

/// AWS's canonical string of a message: `Name\nvalue\n` for each of the fields its type
/// signs, in order, a field the message lacks (a notification's `Subject`) left out.
pub fn canonical(fields: &[(&str, Option<&str>)]) -> String {
    let mut out = String::new();
    for (name, value) in fields {
        if let Some(v) = value {
            out.push_str(name);
            out.push('\n');
            out.push_str(v);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_with_the_certificates_key() {
        let (signer, stored) = Signer::generate().expect("key");
        let again = Signer::load(&stored).expect("load");
        assert_eq!(again.cert_id, signer.cert_id);
        assert!(signer
            .certificate()
            .starts_with("-----BEGIN CERTIFICATE-----"));
        let msg = canonical(&[
            ("Message", Some("hi")),
            ("Subject", None),
            ("Type", Some("Notification")),
        ]);
        assert_eq!(msg, "Message\nhi\nType\nNotification\n");
        // ring verifies what was signed, with the public key the certificate carries.
        let public = public_key_der(&signer.n);
        let key = ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            &public,
        );
        let sig = again.sign_bytes(msg.as_bytes(), Version::Two);
        assert!(key.verify(msg.as_bytes(), &sig).is_ok());
        let sha1 = ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            &public,
        );
        let sig = signer.sign_bytes(msg.as_bytes(), Version::One);
        assert!(sha1.verify(msg.as_bytes(), &sig).is_ok());
        assert!(sha1.verify(b"other", &sig).is_err());
    }
}

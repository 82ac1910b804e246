//! Access key ids and secrets: fresh random ones in AWS's shapes.

use hearth_store::seal::{random_bytes, SealError};

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALNUM: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// RFC 4648 base32 without padding (upper case, as AWS's ids are).
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// A new access key id: `prefix` (`AKIA` long-term, `ASIA` temporary) and 16 base32
/// characters (80 random bits).
pub fn new_key_id(prefix: &str) -> Result<String, SealError> {
    let raw = random_bytes::<10>()?;
    Ok(format!("{prefix}{}", base32(&raw)))
}

/// A new 40-character secret access key (letters and digits, ~238 random bits), safe in
/// an INI file and a shell variable.
pub fn new_secret() -> Result<String, SealError> {
    let raw = random_bytes::<40>()?;
    // 62 does not divide 256: rejecting the top of the range would be exact, but the
    // bias of a plain modulo (at most 4/256 per character) costs < 0.2 bits of 238.
    Ok(raw
        .iter()
        .map(|b| ALNUM[usize::from(*b) % ALNUM.len()] as char)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_secrets_have_aws_shapes() {
        let id = new_key_id("AKIA").expect("id");
        assert_eq!(id.len(), 20);
        assert!(id[4..].bytes().all(|b| BASE32.contains(&b)));
        let s = new_secret().expect("secret");
        assert_eq!(s.len(), 40);
        assert_ne!(s, new_secret().expect("secret"));
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
    }
}

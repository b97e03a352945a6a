//! Keyed tokens and hashes: the signed unsubscribe token each recipient gets, and the keyed
//! hashes the suppression list stores instead of addresses.
//!
//! Both use HMAC-SHA256 with keys derived from the database key, so they need no secret of
//! their own in the keychain, differ between installations, and cannot be forged or reversed
//! by someone who reads a message or a copy of the suppression list.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// A 256-bit key for one purpose.
#[derive(Clone)]
pub struct PurposeKey([u8; 32]);

impl std::fmt::Debug for PurposeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PurposeKey(..)")
    }
}

impl PurposeKey {
    /// Derives the key for `purpose` from a master secret (HMAC as a PRF, as HKDF-Expand does
    /// for a single block).
    pub fn derive(master: &[u8], purpose: &str) -> Self {
        let mut out = [0u8; 32];
        out.copy_from_slice(&mac(master, purpose.as_bytes()));
        Self(out)
    }
}

fn mac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    m.update(data);
    m.finalize().into_bytes().into()
}

/// Length of the token's signature in bytes: 80 bits make guessing hopeless and keep the token
/// short enough for a subject line.
const SIG_BYTES: usize = 10;

/// The unsubscribe token of one prospect in one workspace, e.g. `u3-1042-5f0c…`.
pub fn unsubscribe_token(key: &PurposeKey, workspace_id: i64, prospect_id: i64) -> String {
    let payload = format!("u{workspace_id}-{prospect_id}");
    let sig = mac(&key.0, payload.as_bytes());
    format!("{payload}-{}", hex::encode(&sig[..SIG_BYTES]))
}

/// Whether `word` has the form of an unsubscribe token (`u<workspace>-<prospect>-<hex>`),
/// genuine or not: what tells a forged request from a word that is no token at all.
pub fn looks_like_unsubscribe_token(word: &str) -> bool {
    let w = word.trim().to_ascii_lowercase();
    let mut parts = w.strip_prefix('u').unwrap_or("").split('-');
    let digits =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    digits(parts.next())
        && digits(parts.next())
        && parts
            .next()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_hexdigit()))
        && parts.next().is_none()
}

/// The workspace and prospect of a genuine token, or `None` for anything forged or damaged.
pub fn verify_unsubscribe_token(key: &PurposeKey, token: &str) -> Option<(i64, i64)> {
    let token = token.trim().to_ascii_lowercase();
    let (payload, sig_hex) = token.rsplit_once('-')?;
    let sig = hex::decode(sig_hex).ok()?;
    if sig.len() != SIG_BYTES {
        return None;
    }
    let mut m = <HmacSha256 as Mac>::new_from_slice(&key.0).ok()?;
    m.update(payload.as_bytes());
    m.verify_truncated_left(&sig).ok()?;
    let (ws, prospect) = payload.strip_prefix('u')?.split_once('-')?;
    Some((ws.parse().ok()?, prospect.parse().ok()?))
}

/// The suppression list's keyed hash of a normalised value of a kind (`email`, `x_handle`,
/// `linkedin_url`). Callers pass values through the same normalisation as imports, so
/// `Bob@Example.COM` and `bob@example.com` hash alike.
pub fn suppression_hash(key: &PurposeKey, kind: &str, normalised: &str) -> String {
    let data = format!("{kind}:{normalised}");
    hex::encode(mac(&key.0, data.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PurposeKey {
        PurposeKey::derive(b"master secret of this test", "unsubscribe")
    }

    #[test]
    fn tokens_verify_and_name_their_prospect() {
        let token = unsubscribe_token(&key(), 3, 1042);
        assert!(token.starts_with("u3-1042-"));
        assert_eq!(verify_unsubscribe_token(&key(), &token), Some((3, 1042)));
        assert_eq!(
            verify_unsubscribe_token(&key(), &token.to_uppercase()),
            Some((3, 1042))
        );
    }

    #[test]
    fn forged_or_damaged_tokens_are_rejected() {
        let token = unsubscribe_token(&key(), 3, 1042);
        let sig = token.rsplit_once('-').map(|(_, s)| s.to_string()).unwrap();
        for forged in [
            format!("u3-1043-{sig}"),
            format!("u4-1042-{sig}"),
            token[..token.len() - 2].to_string(),
            "u3-1042".to_string(),
            String::new(),
        ] {
            assert_eq!(verify_unsubscribe_token(&key(), &forged), None, "{forged}");
        }
        let other = PurposeKey::derive(b"another installation", "unsubscribe");
        assert_eq!(verify_unsubscribe_token(&other, &token), None);
    }

    #[test]
    fn suppression_hashes_are_keyed_and_kind_specific() {
        let k = key();
        let a = suppression_hash(&k, "email", "bob@example.com");
        assert_eq!(a, suppression_hash(&k, "email", "bob@example.com"));
        assert_ne!(a, suppression_hash(&k, "x_handle", "bob@example.com"));
        let other = PurposeKey::derive(b"another installation", "suppression");
        assert_ne!(a, suppression_hash(&other, "email", "bob@example.com"));
        assert_eq!(a.len(), 64);
    }
}

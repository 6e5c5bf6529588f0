//! What a message composed away from a request needs to know about the site: the public base
//! URL for links, the domain of the `mailto:` unsubscribe address, and a key (derived from
//! the configured secret) that signs the links of subscription emails.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::config::Config;

#[derive(Clone)]
pub struct SiteLinks {
    base_url: String,
    mail_domain: String,
    key: [u8; 32],
}

impl std::fmt::Debug for SiteLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteLinks")
            .field("base_url", &self.base_url)
            .field("mail_domain", &self.mail_domain)
            .finish_non_exhaustive()
    }
}

impl SiteLinks {
    pub fn from_config(config: &Config) -> SiteLinks {
        SiteLinks::new(
            config.base_url.as_str(),
            config.mail.from.email.domain(),
            config.secret_key.bytes(),
        )
    }

    /// `secret` is only ever used through a derived key, so a link signature reveals nothing
    /// about the session-cookie key derived from the same secret.
    pub fn new(base_url: &str, mail_domain: &str, secret: &[u8]) -> SiteLinks {
        let mut hasher = Sha256::new();
        hasher.update(b"talqy subscription links v1\0");
        hasher.update(secret);
        SiteLinks {
            base_url: base_url.trim_end_matches('/').to_string(),
            mail_domain: mail_domain.to_string(),
            key: hasher.finalize().into(),
        }
    }

    /// An absolute link to `path` on the public site.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// `local@<the sender's domain>`.
    pub fn mailto(&self, local: &str) -> String {
        format!("mailto:{local}@{}", self.mail_domain)
    }

    /// A signature of `message` for `purpose`: `chars` hex characters of an HMAC-SHA256.
    pub fn sign(&self, purpose: &str, message: &str, chars: usize) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(message.as_bytes());
        let mut out = hex::encode(mac.finalize().into_bytes());
        out.truncate(chars.min(64));
        out
    }

    /// Whether `signature` is [`SiteLinks::sign`]'s for this message (in constant time).
    pub fn verify(&self, purpose: &str, message: &str, signature: &str) -> bool {
        use subtle::ConstantTimeEq;
        let expected = self.sign(purpose, message, signature.len());
        !signature.is_empty()
            && signature.len() >= 16
            && bool::from(expected.as_bytes().ct_eq(signature.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_depend_on_purpose_message_and_secret() {
        let a = SiteLinks::new("https://talqy.example/", "talqy.example", b"secret one");
        let b = SiteLinks::new("https://talqy.example", "talqy.example", b"secret two");
        let sig = a.sign("unsubscribe", "s1", 24);
        assert_eq!(sig.len(), 24);
        assert!(a.verify("unsubscribe", "s1", &sig));
        assert!(!a.verify("unsubscribe", "s2", &sig));
        assert!(!a.verify("manage", "s1", &sig));
        assert!(!b.verify("unsubscribe", "s1", &sig));
        assert!(!a.verify("unsubscribe", "s1", &sig[..8]));
        assert_eq!(a.url("/x"), "https://talqy.example/x");
        assert_eq!(a.mailto("u+1"), "mailto:u+1@talqy.example");
    }
}

//! Who is asking: password hashing, server-side sessions, CSRF tokens, single-use email
//! tokens, and the extractors that give handlers the signed-in user.

pub mod csrf;
pub mod extract;
pub mod password;
pub mod session_store;
pub mod tokens;

pub use extract::{CurrentUser, RequireUser};

use sha2::{Digest, Sha256};

/// A fresh random token: 32 bytes from the OS generator, hex-encoded.
pub fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Tokens and session keys are stored only as hashes, so a copy of the database opens no
/// account.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

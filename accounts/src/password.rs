//! Passwords: a length policy and argon2id hashing (RustCrypto's `argon2`, OWASP default parameters).

use argon2::password_hash::{phc::PasswordHash, PasswordHasher, PasswordVerifier};
use argon2::Argon2;

use crate::AccountsError;

/// A password that meets the policy: 12 to 1024 characters. Kept out of `Debug` output.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    pub const MIN_CHARS: usize = 12;

    pub fn parse(raw: &str) -> Result<Password, AccountsError> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(AccountsError::InvalidPassword("it must have at least 12 characters"));
        }
        if chars > 1024 {
            return Err(AccountsError::InvalidPassword("it must have at most 1024 characters"));
        }
        Ok(Password(raw.to_owned()))
    }

    /// A fresh random password of 20 characters from an unambiguous alphabet, from the OS CSPRNG.
    pub fn generate() -> Password {
        use rand::Rng;
        const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ";
        // ThreadRng is a CSPRNG (ChaCha12) seeded and reseeded from the OS.
        let mut rng = rand::rng();
        let s: String = (0..20).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
        Password(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The PHC string (`$argon2id$…`) to store. CPU-heavy: call from a blocking task.
    pub fn hash(&self) -> Result<String, AccountsError> {
        let hash: Result<PasswordHash, _> = Argon2::default().hash_password(self.0.as_bytes());
        hash.map(|h| h.to_string())
            .map_err(|e| AccountsError::Hash(e.to_string()))
    }
}

/// Whether `candidate` matches the stored PHC string. A malformed stored hash never matches.
/// CPU-heavy: call from a blocking task.
pub fn verify(candidate: &str, stored_hash: &str) -> bool {
    match PasswordHash::new(stored_hash) {
        Ok(parsed) => Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{verify, Password};

    #[test]
    fn hash_verifies_only_the_same_password() {
        let p = Password::parse("correct horse battery").unwrap();
        let h = p.hash().unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert!(!verify("correct horse battery", "not a hash"));
    }

    #[test]
    fn policy_and_generation() {
        assert!(Password::parse("short").is_err());
        let g = Password::generate();
        assert_eq!(g.expose().len(), 20);
        assert_ne!(g.expose(), Password::generate().expose());
        assert_eq!(format!("{g:?}"), "Password(***)");
    }
}

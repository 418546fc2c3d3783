//! Passwords: a length policy and argon2id hashing (RustCrypto's `argon2`, OWASP default parameters).

use argon2::password_hash::PasswordHasher;
use argon2::password_hash::phc::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};

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
        hash.map(|h| h.to_string()).map_err(|e| AccountsError::Hash(e.to_string()))
    }
}

/// Whether `candidate` matches the stored PHC string. A malformed stored hash never matches.
/// CPU-heavy: call from a blocking task.
pub fn verify(candidate: &str, stored_hash: &str) -> bool {
    verify_in(candidate, stored_hash, &mut Vec::new())
}

/// The most argon2 working memory a stored hash may ask for: 8 times the default (152 MiB).
const MAX_BLOCKS: usize = 8 * Params::DEFAULT_M_COST as usize;

/// [`verify`] in the given argon2 working memory (grown to what the stored parameters need), so that repeated
/// verifications reuse one buffer: allocating ~19 MiB per sign-in fragments the heap, and a burst of sign-ins
/// grew the process by hundreds of MiB even with two hashes at a time. Compares in constant time (`Output`).
pub fn verify_in(candidate: &str, stored_hash: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(stored_hash) else { return false };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else { return false };
    let (Ok(params), Ok(algorithm)) = (Params::try_from(&hash), Algorithm::try_from(hash.algorithm.as_str())) else {
        return false;
    };
    let Ok(version) = hash.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    let blocks = params.block_count();
    if blocks > MAX_BLOCKS {
        return false;
    }
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(candidate.as_bytes(), salt, &mut out, &mut memory[..blocks])
        .is_ok()
        && Output::new(&out).is_ok_and(|computed| computed == *expected)
}

#[cfg(test)]
mod tests {
    use super::{Password, verify, verify_in};
    use argon2::password_hash::PasswordHasher;

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
    fn verification_reuses_its_memory_and_follows_the_stored_parameters() {
        let p = Password::parse("correct horse battery").unwrap();
        let h = p.hash().unwrap();
        let mut memory = Vec::new();
        assert!(verify_in("correct horse battery", &h, &mut memory));
        assert_eq!(memory.len(), argon2::Params::DEFAULT_M_COST as usize, "19 MiB, kept for the next one");
        assert!(!verify_in("correct horse batterY", &h, &mut memory));
        assert!(verify_in("correct horse battery", &h, &mut memory), "dirty memory verifies the same");
        // A stored hash with other parameters: argon2i, v=16, m=4096, t=2, p=2.
        let params = argon2::Params::new(4096, 2, 2, Some(32)).unwrap();
        let other = argon2::Argon2::new(argon2::Algorithm::Argon2i, argon2::Version::V0x10, params)
            .hash_password_with_salt(b"another password", b"saltsaltsaltsalt")
            .unwrap()
            .to_string();
        assert!(other.starts_with("$argon2i$v=16$m=4096,t=2,p=2$"), "{other}");
        assert!(verify_in("another password", &other, &mut memory));
        assert!(!verify_in("another passwore", &other, &mut memory));
        let huge =
            "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(!verify_in("x", huge, &mut memory), "a stored hash asking for 4 GiB is refused");
        assert_eq!(memory.len(), argon2::Params::DEFAULT_M_COST as usize);
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

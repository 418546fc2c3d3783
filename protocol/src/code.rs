//! The 8-character connection code an admin shares from the Send page: parsed once, here, by the sender, the
//! browser and the client alike, and carried as a [`ConnectionCode`] afterwards.

use serde::{Deserialize, Serialize};

/// The code alphabet: no 0/O, 1/I/L to misread.
pub const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
pub const CODE_LENGTH: usize = 8;

/// An 8-character connection code, upper-case once parsed (codes are accepted in any case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConnectionCode(String);

impl ConnectionCode {
    pub fn parse(raw: &str) -> Result<ConnectionCode, String> {
        let code = raw.trim().to_ascii_uppercase();
        if code.len() != CODE_LENGTH || !code.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
            return Err(format!(
                "a connection code is {CODE_LENGTH} characters from {}",
                String::from_utf8_lossy(CODE_ALPHABET)
            ));
        }
        Ok(ConnectionCode(code))
    }

    /// A code of [`CODE_LENGTH`] characters, each `CODE_ALPHABET[pick(CODE_ALPHABET.len())]`: `pick(n)` must
    /// return a uniformly random index below `n` from a CSPRNG (the sender's, which has one).
    pub fn from_random(mut pick: impl FnMut(usize) -> usize) -> ConnectionCode {
        ConnectionCode(
            (0..CODE_LENGTH).map(|_| CODE_ALPHABET[pick(CODE_ALPHABET.len()) % CODE_ALPHABET.len()] as char).collect(),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ConnectionCode {
    type Error = String;

    fn try_from(raw: String) -> Result<ConnectionCode, String> {
        ConnectionCode::parse(&raw)
    }
}

impl From<ConnectionCode> for String {
    fn from(code: ConnectionCode) -> String {
        code.0
    }
}

impl std::fmt::Display for ConnectionCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_in_any_case_and_refuse_what_the_alphabet_lacks() {
        assert_eq!(ConnectionCode::parse(" abcd2345 ").unwrap().as_str(), "ABCD2345");
        for bad in ["", "ABCD234", "ABCD23456", "ABCD234O", "ABCD2341", "ABCDÉ234", "ABCD 234"] {
            let e = ConnectionCode::parse(bad).unwrap_err();
            assert!(e.contains("8 characters from 23456789ABCDEFGHJKMNPQRSTUVWXYZ"), "{bad:?}: {e}");
        }
        let code: ConnectionCode = serde_json::from_str("\"abcd2345\"").unwrap();
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"ABCD2345\"");
        assert!(serde_json::from_str::<ConnectionCode>("\"nope\"").is_err());
    }

    #[test]
    fn a_random_code_is_in_the_alphabet() {
        let mut i = 0;
        let code = ConnectionCode::from_random(|n| {
            i += 7;
            i % n
        });
        assert_eq!(ConnectionCode::parse(code.as_str()).unwrap(), code);
    }
}

//! The `Username` newtype: the only way to name an admin.

use crate::AccountsError;

/// A validated admin name: 1–64 characters of ASCII letters, digits, `.`, `_`, `-` and `@`, stored lower-case so
/// `Admin` and `admin` are the same account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Username, AccountsError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(AccountsError::InvalidUsername("it is empty"));
        }
        if trimmed.len() > 64 {
            return Err(AccountsError::InvalidUsername("it is longer than 64 characters"));
        }
        if !trimmed.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')) {
            return Err(AccountsError::InvalidUsername("use only letters, digits, '.', '_', '-' and '@'"));
        }
        Ok(Username(trimmed.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Username;

    #[test]
    fn accepts_and_normalises() {
        assert_eq!(Username::parse("  Admin ").unwrap().as_str(), "admin");
        assert_eq!(Username::parse("ops.team-1@site").unwrap().as_str(), "ops.team-1@site");
    }

    #[test]
    fn refuses_bad_names() {
        for bad in ["", "   ", "a b", "robert'); drop table", "é", &"x".repeat(65)] {
            assert!(Username::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }
}

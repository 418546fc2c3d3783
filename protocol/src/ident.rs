//! Table and column names. Every name reaching SQL goes through [`quote`]; names from the network are parsed
//! into [`TableName`]/[`ColumnName`] first, which refuses what no engine allows (empty, NUL, too long).

use serde::{Deserialize, Serialize};

use crate::error::ProtocolError;

/// PostgreSQL silently truncates identifiers past 63 bytes; refusing them keeps two names from meaning one table.
pub const MAX_IDENT_BYTES: usize = 63;

fn check(kind: &'static str, raw: &str) -> Result<(), ProtocolError> {
    let reason = if raw.is_empty() {
        "it is empty"
    } else if raw.len() > MAX_IDENT_BYTES {
        "it is longer than 63 bytes"
    } else if raw.contains('\0') {
        "it contains a NUL character"
    } else {
        return Ok(());
    };
    Err(ProtocolError::InvalidIdentifier { kind, name: raw.chars().take(80).collect(), reason })
}

/// A table name as the user's database spells it (case and all). Valid does not mean it exists.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TableName(String);

impl TableName {
    pub fn parse(raw: &str) -> Result<TableName, ProtocolError> {
        check("table", raw)?;
        Ok(TableName(raw.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The name quoted for SQL (same rule in PostgreSQL and SQLite).
    pub fn quoted(&self) -> String {
        quote(&self.0)
    }
}

impl TryFrom<String> for TableName {
    type Error = ProtocolError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        TableName::parse(&s)
    }
}
impl From<TableName> for String {
    fn from(t: TableName) -> String {
        t.0
    }
}
impl PartialEq<str> for TableName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}
impl PartialEq<&str> for TableName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}
impl AsRef<str> for TableName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A column name; same rules as [`TableName`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ColumnName(String);

impl ColumnName {
    pub fn parse(raw: &str) -> Result<ColumnName, ProtocolError> {
        check("column", raw)?;
        Ok(ColumnName(raw.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn quoted(&self) -> String {
        quote(&self.0)
    }
}

impl TryFrom<String> for ColumnName {
    type Error = ProtocolError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        ColumnName::parse(&s)
    }
}
impl From<ColumnName> for String {
    fn from(c: ColumnName) -> String {
        c.0
    }
}

/// `"name"` with inner quotes doubled: a valid quoted identifier in PostgreSQL and SQLite for any name without NUL.
pub fn quote(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `'text'` with inner quotes doubled: a standard SQL string literal (PostgreSQL with
/// standard_conforming_strings, always on since 9.1; SQLite).
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_quotes() {
        assert_eq!(quote("plain"), r#""plain""#);
        assert_eq!(quote(r#"we"ird"#), r#""we""ird""#);
        assert_eq!(quote(r#"x"; DROP TABLE t; --"#), r#""x""; DROP TABLE t; --""#);
        assert_eq!(quote_literal("it's"), "'it''s'");
    }

    #[test]
    fn names_engines_allow_are_accepted_and_the_rest_refused() {
        for ok in ["users", "Mixed Case", "select", "naïve 🚀", "with \"quotes\"", "semi;colon", &"x".repeat(63)] {
            assert!(TableName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "nul\0byte", &"y".repeat(64)] {
            assert!(TableName::parse(bad).is_err(), "{bad:?}");
        }
    }
}

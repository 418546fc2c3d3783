//! Identifiers taken from parsed text, and the quoting of names the caller renders.

use std::fmt;

use sqlparser::ast::{Ident as ParsedIdent, ObjectName, ObjectNamePart};
use sqlparser::keywords::ALL_KEYWORDS;

use crate::{Dialect, Refusal};

/// A validated identifier: the name as the database knows it, and whether the sender quoted it.
///
/// Display re-renders it safely: unquoted only when it was unquoted and is a plain ASCII word, otherwise between
/// double quotes with embedded quotes doubled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ident {
    value: String,
    quoted: bool,
}

impl Ident {
    /// The name as the database resolves it (PostgreSQL folds unquoted names to lower case).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether the sender wrote it between quotes.
    pub fn was_quoted(&self) -> bool {
        self.quoted
    }

    pub(crate) fn from_parsed(dialect: Dialect, ident: &ParsedIdent) -> Result<Ident, Refusal> {
        if ident.value.contains('\0') {
            return Err(Refusal::Nul);
        }
        if ident.value.is_empty() {
            return Err(Refusal::construct("an empty identifier"));
        }
        Ok(match ident.quote_style {
            Some('\'') => {
                return Err(Refusal::construct(format!("the string '{}' where a name must stand", ident.value)));
            }
            Some(_) => Ident { value: ident.value.clone(), quoted: true },
            None => {
                let value = match dialect {
                    Dialect::Postgres => ident.value.to_ascii_lowercase(),
                    Dialect::Sqlite => ident.value.clone(),
                };
                let quoted = !is_ascii_word(&value);
                Ident { value, quoted }
            }
        })
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.quoted { f.write_str(&quoted(&self.value)) } else { f.write_str(&self.value) }
    }
}

/// A validated name of one or more parts (`schema.name`), each an [`Ident`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QualifiedName(pub Vec<Ident>);

impl QualifiedName {
    pub(crate) fn from_parsed(dialect: Dialect, name: &ObjectName, max_parts: usize) -> Result<Self, Refusal> {
        let mut parts = Vec::with_capacity(name.0.len());
        for part in &name.0 {
            match part {
                ObjectNamePart::Identifier(i) => parts.push(Ident::from_parsed(dialect, i)?),
                ObjectNamePart::Function(_) => return Err(Refusal::construct(format!("name {name}"))),
            }
        }
        if parts.is_empty() || parts.len() > max_parts {
            return Err(Refusal::QualifiedName(name.to_string()));
        }
        Ok(QualifiedName(parts))
    }

    /// The last part (the object's own name).
    pub fn name(&self) -> &Ident {
        self.0.last().expect("a qualified name has at least one part")
    }

    /// The parts before the last (the schema), if any.
    pub fn qualifier(&self) -> &[Ident] {
        &self.0[..self.0.len() - 1]
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            p.fmt(f)?;
        }
        Ok(())
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*` in ASCII.
pub(crate) fn is_ascii_word(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// SQLite's keywords (<https://sqlite.org/lang_keywords.html>), and TRUE/FALSE.
const SQLITE_KEYWORDS: &[&str] = &[
    "ABORT",
    "ACTION",
    "ADD",
    "AFTER",
    "ALL",
    "ALTER",
    "ALWAYS",
    "ANALYZE",
    "AND",
    "AS",
    "ASC",
    "ATTACH",
    "AUTOINCREMENT",
    "BEFORE",
    "BEGIN",
    "BETWEEN",
    "BY",
    "CASCADE",
    "CASE",
    "CAST",
    "CHECK",
    "COLLATE",
    "COLUMN",
    "COMMIT",
    "CONFLICT",
    "CONSTRAINT",
    "CREATE",
    "CROSS",
    "CURRENT",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "DATABASE",
    "DEFAULT",
    "DEFERRABLE",
    "DEFERRED",
    "DELETE",
    "DESC",
    "DETACH",
    "DISTINCT",
    "DO",
    "DROP",
    "EACH",
    "ELSE",
    "END",
    "ESCAPE",
    "EXCEPT",
    "EXCLUDE",
    "EXCLUSIVE",
    "EXISTS",
    "EXPLAIN",
    "FAIL",
    "FALSE",
    "FILTER",
    "FIRST",
    "FOLLOWING",
    "FOR",
    "FOREIGN",
    "FROM",
    "FULL",
    "GENERATED",
    "GLOB",
    "GROUP",
    "GROUPS",
    "HAVING",
    "IF",
    "IGNORE",
    "IMMEDIATE",
    "IN",
    "INDEX",
    "INDEXED",
    "INITIALLY",
    "INNER",
    "INSERT",
    "INSTEAD",
    "INTERSECT",
    "INTO",
    "IS",
    "ISNULL",
    "JOIN",
    "KEY",
    "LAST",
    "LEFT",
    "LIKE",
    "LIMIT",
    "MATCH",
    "MATERIALIZED",
    "NATURAL",
    "NO",
    "NOT",
    "NOTHING",
    "NOTNULL",
    "NULL",
    "NULLS",
    "OF",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OTHERS",
    "OUTER",
    "OVER",
    "PARTITION",
    "PLAN",
    "PRAGMA",
    "PRECEDING",
    "PRIMARY",
    "QUERY",
    "RAISE",
    "RANGE",
    "RECURSIVE",
    "REFERENCES",
    "REGEXP",
    "REINDEX",
    "RELEASE",
    "RENAME",
    "REPLACE",
    "RESTRICT",
    "RETURNING",
    "RIGHT",
    "ROLLBACK",
    "ROW",
    "ROWS",
    "SAVEPOINT",
    "SELECT",
    "SET",
    "TABLE",
    "TEMP",
    "TEMPORARY",
    "THEN",
    "TIES",
    "TO",
    "TRANSACTION",
    "TRIGGER",
    "TRUE",
    "UNBOUNDED",
    "UNION",
    "UNIQUE",
    "UPDATE",
    "USING",
    "VACUUM",
    "VALUES",
    "VIEW",
    "VIRTUAL",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
    "WITHOUT",
];

/// An ASCII word that is no keyword: for PostgreSQL, of any dialect sqlparser knows (more than PostgreSQL's own,
/// so never too few; PostgreSQL prints names back its own way); for SQLite, of SQLite's list, since SQLite keeps
/// the text as written.
fn is_plain_word(dialect: Dialect, s: &str) -> bool {
    let upper = s.to_ascii_uppercase();
    is_ascii_word(s)
        && match dialect {
            Dialect::Postgres => ALL_KEYWORDS.binary_search(&upper.as_str()).is_err(),
            Dialect::Sqlite => !SQLITE_KEYWORDS.contains(&upper.as_str()),
        }
}

pub(crate) fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('"', "\"\""))
}

/// A name chosen by the caller (a new table, index or sequence name), quoted unless it is a plain lower-case word
/// (PostgreSQL; any case for SQLite, which does not fold) that is not a keyword. NUL is refused.
pub fn quote_ident(dialect: Dialect, name: &str) -> Result<String, Refusal> {
    if name.contains('\0') {
        return Err(Refusal::Nul);
    }
    if name.is_empty() {
        return Err(Refusal::construct("an empty identifier"));
    }
    let plain =
        is_plain_word(dialect, name) && (dialect == Dialect::Sqlite || !name.chars().any(|c| c.is_ascii_uppercase()));
    Ok(if plain { name.to_string() } else { quoted(name) })
}

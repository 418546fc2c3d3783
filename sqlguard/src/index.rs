//! Index definitions as `pg_get_indexdef()` prints them and as SQLite's `sqlite_master.sql` holds them, parsed
//! into a structured description. The caller renders it for its own index and table names: the names in the
//! sender's text are reported but never rendered.

use std::fmt;

use sqlparser::ast::Expr as Tree;
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use crate::expr::Context;
use crate::ident::{Ident, QualifiedName, quote_ident};
use crate::{Dialect, Expr, Refusal, lex};

/// An index access method from the allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexMethod {
    Btree,
    Hash,
    Gist,
    Gin,
    Brin,
    Spgist,
}

impl IndexMethod {
    pub fn from_name(name: &str) -> Result<IndexMethod, Refusal> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "btree" => IndexMethod::Btree,
            "hash" => IndexMethod::Hash,
            "gist" => IndexMethod::Gist,
            "gin" => IndexMethod::Gin,
            "brin" => IndexMethod::Brin,
            "spgist" => IndexMethod::Spgist,
            _ => return Err(Refusal::IndexMethod(name.to_string())),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IndexMethod::Btree => "btree",
            IndexMethod::Hash => "hash",
            IndexMethod::Gist => "gist",
            IndexMethod::Gin => "gin",
            IndexMethod::Brin => "brin",
            IndexMethod::Spgist => "spgist",
        }
    }
}

impl fmt::Display for IndexMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one index key indexes.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyPart {
    Column(Ident),
    Expression(Expr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    Desc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullsOrder {
    First,
    Last,
}

/// One key of an index: the column or expression, then `COLLATE`, operator class, order and nulls order.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexKey {
    pub part: KeyPart,
    pub collation: Option<QualifiedName>,
    pub opclass: Option<QualifiedName>,
    pub order: Option<SortOrder>,
    pub nulls: Option<NullsOrder>,
}

/// Storage parameters accepted in `WITH (…)`; values are words or numbers only.
const STORAGE_PARAMETERS: &[&str] = &[
    "fillfactor",
    "deduplicate_items",
    "fastupdate",
    "gin_pending_list_limit",
    "buffering",
    "pages_per_range",
    "autosummarize",
];

/// A validated index definition.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDef {
    pub dialect: Dialect,
    pub unique: bool,
    /// `ON ONLY` (an index on a partitioned table that does not recurse).
    pub only: bool,
    /// SQLite's `IF NOT EXISTS`.
    pub if_not_exists: bool,
    /// The index name in the sender's text (informational; [`IndexDef::render`] takes the new one).
    pub sent_name: QualifiedName,
    /// The table in the sender's text (informational; never rendered).
    pub sent_table: QualifiedName,
    /// The access method (`None` for SQLite, which has only its b-tree).
    pub method: Option<IndexMethod>,
    pub keys: Vec<IndexKey>,
    pub include: Vec<Ident>,
    pub nulls_not_distinct: bool,
    /// `WITH (name = 'value')`, names from the allow-list, values words or numbers.
    pub storage: Vec<(String, String)>,
    pub predicate: Option<Expr>,
}

impl IndexDef {
    /// `CREATE [UNIQUE] INDEX name ON [ONLY] [schema.]table [USING method] (keys) [INCLUDE (…)]
    /// [NULLS NOT DISTINCT] [WITH (…)] [WHERE predicate]` for the caller's names, each quoted as needed.
    pub fn render(&self, index_name: &str, table_schema: Option<&str>, table: &str) -> Result<String, Refusal> {
        let d = self.dialect;
        let mut out = String::from("CREATE ");
        if self.unique {
            out.push_str("UNIQUE ");
        }
        out.push_str("INDEX ");
        if self.if_not_exists {
            out.push_str("IF NOT EXISTS ");
        }
        out.push_str(&quote_ident(d, index_name)?);
        out.push_str(" ON ");
        if self.only {
            out.push_str("ONLY ");
        }
        if let Some(schema) = table_schema {
            out.push_str(&quote_ident(d, schema)?);
            out.push('.');
        }
        out.push_str(&quote_ident(d, table)?);
        if let Some(m) = self.method {
            out.push_str(&format!(" USING {m}"));
        }
        let keys: Vec<String> = self.keys.iter().map(|k| render_key(self.dialect, k)).collect();
        out.push_str(&format!(" ({})", keys.join(", ")));
        if !self.include.is_empty() {
            let cols: Vec<String> = self.include.iter().map(ToString::to_string).collect();
            out.push_str(&format!(" INCLUDE ({})", cols.join(", ")));
        }
        if self.nulls_not_distinct {
            out.push_str(" NULLS NOT DISTINCT");
        }
        if !self.storage.is_empty() {
            let params: Vec<String> = self.storage.iter().map(|(k, v)| format!("{k}='{v}'")).collect();
            out.push_str(&format!(" WITH ({})", params.join(", ")));
        }
        if let Some(p) = &self.predicate {
            out.push_str(&format!(" WHERE {p}"));
        }
        Ok(out)
    }
}

/// One key as PostgreSQL's CREATE INDEX and PARTITION BY take it (expressions parenthesised unless a call).
pub(crate) fn render_key(dialect: Dialect, k: &IndexKey) -> String {
    let mut out = match &k.part {
        KeyPart::Column(c) => c.to_string(),
        // PostgreSQL takes a bare function call or a parenthesised expression.
        KeyPart::Expression(e) if dialect == Dialect::Postgres && !e.is_call_or_nested() => format!("({e})"),
        KeyPart::Expression(e) => e.to_string(),
    };
    if let Some(c) = &k.collation {
        out.push_str(&format!(" COLLATE {c}"));
    }
    if let Some(o) = &k.opclass {
        out.push_str(&format!(" {o}"));
    }
    match k.order {
        Some(SortOrder::Asc) => out.push_str(" ASC"),
        Some(SortOrder::Desc) => out.push_str(" DESC"),
        None => {}
    }
    match k.nulls {
        Some(NullsOrder::First) => out.push_str(" NULLS FIRST"),
        Some(NullsOrder::Last) => out.push_str(" NULLS LAST"),
        None => {}
    }
    out
}

const WHAT: &str = "the index definition";

fn err(e: sqlparser::parser::ParserError) -> Refusal {
    lex::parse_error(WHAT, e)
}

/// Validates an index definition: PostgreSQL's `pg_get_indexdef()` text or SQLite's `sqlite_master.sql` for an
/// index.
pub fn index(dialect: Dialect, text: &str) -> Result<IndexDef, Refusal> {
    let pg = dialect == Dialect::Postgres;
    let tokens = lex::tokens(dialect, text)?;
    let mut p = lex::parser(dialect, tokens);
    p.expect_keyword_is(Keyword::CREATE).map_err(err)?;
    let unique = p.parse_keyword(Keyword::UNIQUE);
    p.expect_keyword_is(Keyword::INDEX).map_err(err)?;
    if p.parse_keyword(Keyword::CONCURRENTLY) {
        return Err(Refusal::construct("CREATE INDEX CONCURRENTLY"));
    }
    let if_not_exists = p.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
    let sent_name = QualifiedName::from_parsed(dialect, &p.parse_object_name(false).map_err(err)?, 2)?;
    p.expect_keyword_is(Keyword::ON).map_err(err)?;
    let only = pg && p.parse_keyword(Keyword::ONLY);
    let sent_table = QualifiedName::from_parsed(dialect, &p.parse_object_name(false).map_err(err)?, 2)?;
    let method = if p.parse_keyword(Keyword::USING) {
        let m = p.parse_identifier().map_err(err)?;
        if !pg || m.quote_style.is_some() {
            return Err(Refusal::IndexMethod(m.to_string()));
        }
        Some(IndexMethod::from_name(&m.value)?)
    } else if pg {
        Some(IndexMethod::Btree)
    } else {
        None
    };
    p.expect_token(&Token::LParen).map_err(err)?;
    let mut keys = Vec::new();
    loop {
        keys.push(key(dialect, &mut p, WHAT, Context::Index)?);
        if !p.consume_token(&Token::Comma) {
            break;
        }
    }
    p.expect_token(&Token::RParen).map_err(err)?;
    let mut include = Vec::new();
    if pg && p.parse_keyword(Keyword::INCLUDE) {
        p.expect_token(&Token::LParen).map_err(err)?;
        loop {
            include.push(Ident::from_parsed(dialect, &p.parse_identifier().map_err(err)?)?);
            if !p.consume_token(&Token::Comma) {
                break;
            }
        }
        p.expect_token(&Token::RParen).map_err(err)?;
    }
    let nulls_not_distinct = pg && p.parse_keywords(&[Keyword::NULLS, Keyword::NOT, Keyword::DISTINCT]);
    if pg && !nulls_not_distinct {
        let _ = p.parse_keywords(&[Keyword::NULLS, Keyword::DISTINCT]);
    }
    let mut storage = Vec::new();
    if pg && p.parse_keyword(Keyword::WITH) {
        p.expect_token(&Token::LParen).map_err(err)?;
        loop {
            storage.push(storage_parameter(&mut p)?);
            if !p.consume_token(&Token::Comma) {
                break;
            }
        }
        p.expect_token(&Token::RParen).map_err(err)?;
    }
    let predicate = if p.parse_keyword(Keyword::WHERE) {
        Some(Expr::from_tree(dialect, Context::Index, p.parse_expr().map_err(err)?, Default::default())?)
    } else {
        None
    };
    lex::expect_end(&mut p, WHAT)?;
    Ok(IndexDef {
        dialect,
        unique,
        only,
        if_not_exists,
        sent_name,
        sent_table,
        method,
        keys,
        include,
        nulls_not_distinct,
        storage,
        predicate,
    })
}

pub(crate) fn key(dialect: Dialect, p: &mut Parser, what: &'static str, context: Context) -> Result<IndexKey, Refusal> {
    let tree = p.parse_expr().map_err(|e| lex::parse_error(what, e))?;
    let (tree, collation) = match tree {
        Tree::Collate { expr, collation } => (*expr, Some(QualifiedName::from_parsed(dialect, &collation, 2)?)),
        other => (other, None),
    };
    let part = match tree {
        Tree::Identifier(i) => KeyPart::Column(Ident::from_parsed(dialect, &i)?),
        other => KeyPart::Expression(Expr::from_tree(dialect, context, other, Default::default())?),
    };
    let next_is_opclass = match p.peek_token().token {
        Token::Word(w) => {
            w.quote_style.is_some() || !matches!(w.keyword, Keyword::ASC | Keyword::DESC | Keyword::NULLS)
        }
        _ => false,
    };
    let opclass = if next_is_opclass {
        if dialect != Dialect::Postgres {
            return Err(Refusal::construct(format!("operator class {} (PostgreSQL only)", p.peek_token())));
        }
        let name = QualifiedName::from_parsed(
            dialect,
            &p.parse_object_name(false).map_err(|e| lex::parse_error(what, e))?,
            2,
        )?;
        if p.peek_token().token == Token::LParen {
            return Err(Refusal::construct(format!("parameters of operator class {name}")));
        }
        Some(name)
    } else {
        None
    };
    let order = if p.parse_keyword(Keyword::ASC) {
        Some(SortOrder::Asc)
    } else if p.parse_keyword(Keyword::DESC) {
        Some(SortOrder::Desc)
    } else {
        None
    };
    let nulls = if p.parse_keywords(&[Keyword::NULLS, Keyword::FIRST]) {
        Some(NullsOrder::First)
    } else if p.parse_keywords(&[Keyword::NULLS, Keyword::LAST]) {
        Some(NullsOrder::Last)
    } else {
        None
    };
    Ok(IndexKey { part, collation, opclass, order, nulls })
}

fn storage_parameter(p: &mut Parser) -> Result<(String, String), Refusal> {
    let name = p.parse_identifier().map_err(err)?;
    let lower = name.value.to_ascii_lowercase();
    if name.quote_style.is_some() || !STORAGE_PARAMETERS.contains(&lower.as_str()) {
        return Err(Refusal::StorageParameter(name.to_string()));
    }
    p.expect_token(&Token::Eq).map_err(err)?;
    let value = match p.next_token().token {
        Token::SingleQuotedString(s) | Token::Number(s, false) => s,
        Token::Word(w) if w.quote_style.is_none() => w.value,
        other => return Err(Refusal::StorageParameter(format!("{lower} = {other}"))),
    };
    if value.is_empty() || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
        return Err(Refusal::StorageParameter(format!("{lower} = {value}")));
    }
    Ok((lower, value))
}

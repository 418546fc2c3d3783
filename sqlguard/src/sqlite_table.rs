//! What only a SQLite table's `sqlite_master.sql` records: its CHECK constraints, which column is
//! `AUTOINCREMENT`, `WITHOUT ROWID` and `STRICT`. Only the CHECK expressions are parsed and re-rendered; the rest
//! of the text is scanned for those keywords, never used.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::Token;

use crate::expr::Context;
use crate::ident::Ident;
use crate::{Check, Dialect, Expr, Refusal, lex};

/// The longest `CREATE TABLE` text accepted, in bytes.
pub const MAX_TABLE_LEN: usize = 256 * 1024;

/// One CHECK constraint of a SQLite table.
#[derive(Debug, Clone, PartialEq)]
pub struct SqliteCheck {
    /// `CONSTRAINT name`, when the sender named it.
    pub name: Option<Ident>,
    /// The column whose definition holds it (`None` for a table constraint).
    pub column: Option<Ident>,
    pub check: Check,
}

/// What a SQLite `CREATE TABLE` text says beyond `pragma table_info`.
#[derive(Debug, Clone, PartialEq)]
pub struct SqliteTable {
    /// Every CHECK, in order.
    pub checks: Vec<SqliteCheck>,
    /// The column declared `AUTOINCREMENT`.
    pub autoincrement: Option<Ident>,
    pub without_rowid: bool,
    pub strict: bool,
}

const WHAT: &str = "the CREATE TABLE text";

/// Every CHECK in a SQLite `CREATE TABLE` text, in order (see [`sqlite_table`]).
pub fn sqlite_checks(create_table: &str) -> Result<Vec<SqliteCheck>, Refusal> {
    Ok(sqlite_table(create_table)?.checks)
}

/// Reads a SQLite `CREATE TABLE` text. Comments outside CHECKs are skipped; inside a CHECK they are refused like
/// everything else the expression rules refuse.
pub fn sqlite_table(create_table: &str) -> Result<SqliteTable, Refusal> {
    let d = Dialect::Sqlite;
    let tokens = lex::tokens_with(d, create_table, MAX_TABLE_LEN, true)?;
    let mut p = lex::parser(d, tokens.clone());
    p.expect_keyword_is(Keyword::CREATE).map_err(|e| lex::parse_error(WHAT, e))?;
    // Up to the column list.
    loop {
        match p.next_token().token {
            Token::LParen => break,
            Token::EOF => return Err(Refusal::syntax(WHAT, "no column list")),
            _ => {}
        }
    }
    let mut out = Vec::new();
    let mut depth = 1usize;
    let mut item_start = true;
    let mut column: Option<Ident> = None;
    let mut name: Option<Ident> = None;
    let mut autoincrement = None;
    while depth > 0 {
        let t = p.next_token().token;
        let starts = std::mem::replace(&mut item_start, false);
        match t {
            Token::EOF => return Err(Refusal::syntax(WHAT, "unclosed column list")),
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::Comma if depth == 1 => {
                item_start = true;
                column = None;
                name = None;
            }
            Token::Word(w) if depth == 1 && w.quote_style.is_none() && w.keyword == Keyword::CONSTRAINT => {
                match p.next_token().token {
                    Token::Word(n) => {
                        name = Some(Ident::from_parsed(d, &n.into_ident(sqlparser::tokenizer::Span::empty()))?)
                    }
                    other => return Err(Refusal::syntax(WHAT, format!("unexpected {other} after CONSTRAINT"))),
                }
            }
            Token::Word(w) if depth == 1 && w.quote_style.is_none() && w.keyword == Keyword::CHECK => {
                let start = p.index();
                p.expect_token(&Token::LParen).map_err(|e| lex::parse_error(WHAT, e))?;
                let tree = p.parse_expr().map_err(|e| lex::parse_error(WHAT, e))?;
                p.expect_token(&Token::RParen).map_err(|e| lex::parse_error(WHAT, e))?;
                if tokens[start..p.index()].iter().any(|t| lex::is_comment(&t.token)) {
                    return Err(Refusal::Comment);
                }
                let check = Check {
                    expr: Expr::from_tree(d, Context::Check, tree, Default::default())?,
                    no_inherit: false,
                    not_valid: false,
                };
                out.push(SqliteCheck { name: name.take(), column: column.clone(), check });
            }
            Token::Word(w) if depth == 1 && w.quote_style.is_none() && w.keyword == Keyword::AUTOINCREMENT => {
                autoincrement = column.clone();
            }
            Token::Word(w)
                if starts
                    && !(w.quote_style.is_none()
                        && matches!(w.keyword, Keyword::PRIMARY | Keyword::UNIQUE | Keyword::FOREIGN)) =>
            {
                column = Some(Ident::from_parsed(d, &w.into_ident(sqlparser::tokenizer::Span::empty()))?);
            }
            Token::SingleQuotedString(s) if starts => {
                column = Some(Ident::from_parsed(d, &sqlparser::ast::Ident::with_quote('"', s))?);
            }
            _ => {}
        }
    }
    // Table options: `WITHOUT ROWID`, `STRICT`, comma-separated.
    let (mut without_rowid, mut strict) = (false, false);
    loop {
        match p.next_token().token {
            Token::EOF => break,
            Token::Comma => {}
            Token::Word(w) if w.quote_style.is_none() && w.keyword == Keyword::WITHOUT => match p.next_token().token {
                Token::Word(r) if r.quote_style.is_none() && r.value.eq_ignore_ascii_case("rowid") => {
                    without_rowid = true
                }
                other => return Err(Refusal::syntax(WHAT, format!("unexpected {other} after WITHOUT"))),
            },
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("strict") => strict = true,
            other => return Err(Refusal::syntax(WHAT, format!("unexpected {other} after the column list"))),
        }
    }
    Ok(SqliteTable { checks: out, autoincrement, without_rowid, strict })
}

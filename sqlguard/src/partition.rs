//! Partitioning texts: the key as `pg_get_partkeydef()` prints it (`RANGE (created)`) and a partition's bound as
//! `pg_get_expr(relpartbound, oid)` prints it (`FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')`).

use std::fmt;

use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use crate::expr::Context;
use crate::index::{IndexKey, key, render_key};
use crate::{Dialect, Expr, Refusal, lex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionStrategy {
    Range,
    List,
    Hash,
}

/// `RANGE|LIST|HASH (key, …)`; keys are columns or validated expressions with optional collation and operator
/// class (no order). Display gives the text to put after `PARTITION BY`.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionKey {
    pub strategy: PartitionStrategy,
    pub keys: Vec<IndexKey>,
}

impl fmt::Display for PartitionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let strategy = match self.strategy {
            PartitionStrategy::Range => "RANGE",
            PartitionStrategy::List => "LIST",
            PartitionStrategy::Hash => "HASH",
        };
        let keys: Vec<String> = self.keys.iter().map(|k| render_key(Dialect::Postgres, k)).collect();
        write!(f, "{strategy} ({})", keys.join(", "))
    }
}

/// One value of a range bound.
#[derive(Debug, Clone, PartialEq)]
pub enum BoundValue {
    MinValue,
    MaxValue,
    Value(Expr),
}

/// A partition's bound. Display gives the text to put after `PARTITION OF parent`.
#[derive(Debug, Clone, PartialEq)]
pub enum PartitionBound {
    Default,
    Range { from: Vec<BoundValue>, to: Vec<BoundValue> },
    List(Vec<Expr>),
    Hash { modulus: u32, remainder: u32 },
}

impl fmt::Display for PartitionBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values = |vs: &[BoundValue]| {
            let parts: Vec<String> = vs
                .iter()
                .map(|v| match v {
                    BoundValue::MinValue => "MINVALUE".to_string(),
                    BoundValue::MaxValue => "MAXVALUE".to_string(),
                    BoundValue::Value(e) => e.to_string(),
                })
                .collect();
            parts.join(", ")
        };
        match self {
            PartitionBound::Default => f.write_str("DEFAULT"),
            PartitionBound::Range { from, to } => {
                write!(f, "FOR VALUES FROM ({}) TO ({})", values(from), values(to))
            }
            PartitionBound::List(list) => {
                let parts: Vec<String> = list.iter().map(ToString::to_string).collect();
                write!(f, "FOR VALUES IN ({})", parts.join(", "))
            }
            PartitionBound::Hash { modulus, remainder } => {
                write!(f, "FOR VALUES WITH (modulus {modulus}, remainder {remainder})")
            }
        }
    }
}

const KEY: &str = "the partition key";
const BOUND: &str = "the partition bound";

fn word_is(p: &Parser, word: &str) -> bool {
    matches!(p.peek_token().token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

/// Validates a PostgreSQL partition key (`pg_get_partkeydef()`).
pub fn partition_key(text: &str) -> Result<PartitionKey, Refusal> {
    let d = Dialect::Postgres;
    let mut p = lex::parser(d, lex::tokens(d, text)?);
    let strategy = if p.parse_keyword(Keyword::RANGE) {
        PartitionStrategy::Range
    } else if word_is(&p, "list") {
        p.next_token();
        PartitionStrategy::List
    } else if word_is(&p, "hash") {
        p.next_token();
        PartitionStrategy::Hash
    } else {
        return Err(Refusal::syntax(KEY, format!("expected RANGE, LIST or HASH, found {}", p.peek_token())));
    };
    p.expect_token(&Token::LParen).map_err(|e| lex::parse_error(KEY, e))?;
    let mut keys = Vec::new();
    loop {
        let k = key(d, &mut p, KEY, Context::PartitionKey)?;
        if k.order.is_some() || k.nulls.is_some() {
            return Err(Refusal::construct("ASC/DESC/NULLS in a partition key"));
        }
        keys.push(k);
        if !p.consume_token(&Token::Comma) {
            break;
        }
    }
    p.expect_token(&Token::RParen).map_err(|e| lex::parse_error(KEY, e))?;
    lex::expect_end(&mut p, KEY)?;
    Ok(PartitionKey { strategy, keys })
}

/// A bound value: an accepted expression that references no column.
fn constant(p: &mut Parser) -> Result<Expr, Refusal> {
    let e = Expr::from_tree(
        Dialect::Postgres,
        Context::PartitionBound,
        p.parse_expr().map_err(|e| lex::parse_error(BOUND, e))?,
        Default::default(),
    )?;
    match e.columns().first() {
        Some(c) => Err(Refusal::construct(format!("the column reference {c} in a partition bound"))),
        None => Ok(e),
    }
}

fn range_values(p: &mut Parser) -> Result<Vec<BoundValue>, Refusal> {
    p.expect_token(&Token::LParen).map_err(|e| lex::parse_error(BOUND, e))?;
    let mut out = Vec::new();
    loop {
        let ends = |p: &Parser| matches!(p.peek_nth_token(1).token, Token::Comma | Token::RParen);
        if word_is(p, "minvalue") && ends(p) {
            p.next_token();
            out.push(BoundValue::MinValue);
        } else if word_is(p, "maxvalue") && ends(p) {
            p.next_token();
            out.push(BoundValue::MaxValue);
        } else {
            out.push(BoundValue::Value(constant(p)?));
        }
        if !p.consume_token(&Token::Comma) {
            break;
        }
    }
    p.expect_token(&Token::RParen).map_err(|e| lex::parse_error(BOUND, e))?;
    Ok(out)
}

fn hash_number(p: &mut Parser, word: &str) -> Result<u32, Refusal> {
    if !word_is(p, word) {
        return Err(Refusal::syntax(BOUND, format!("expected {word}, found {}", p.peek_token())));
    }
    p.next_token();
    match p.next_token().token {
        Token::Number(n, false) => n.parse().map_err(|_| Refusal::syntax(BOUND, format!("{word} {n} is not a number"))),
        other => Err(Refusal::syntax(BOUND, format!("expected a number after {word}, found {other}"))),
    }
}

/// Validates a PostgreSQL partition bound (`pg_get_expr(relpartbound, oid)`).
pub fn partition_bound(text: &str) -> Result<PartitionBound, Refusal> {
    let d = Dialect::Postgres;
    let mut p = lex::parser(d, lex::tokens(d, text)?);
    let err = |e| lex::parse_error(BOUND, e);
    let bound = if p.parse_keyword(Keyword::DEFAULT) {
        PartitionBound::Default
    } else {
        p.expect_keywords(&[Keyword::FOR, Keyword::VALUES]).map_err(err)?;
        if p.parse_keyword(Keyword::IN) {
            p.expect_token(&Token::LParen).map_err(err)?;
            let mut list = Vec::new();
            loop {
                list.push(constant(&mut p)?);
                if !p.consume_token(&Token::Comma) {
                    break;
                }
            }
            p.expect_token(&Token::RParen).map_err(err)?;
            PartitionBound::List(list)
        } else if p.parse_keyword(Keyword::FROM) {
            let from = range_values(&mut p)?;
            p.expect_keyword_is(Keyword::TO).map_err(err)?;
            let to = range_values(&mut p)?;
            PartitionBound::Range { from, to }
        } else if p.parse_keyword(Keyword::WITH) {
            p.expect_token(&Token::LParen).map_err(err)?;
            let modulus = hash_number(&mut p, "modulus")?;
            p.expect_token(&Token::Comma).map_err(err)?;
            let remainder = hash_number(&mut p, "remainder")?;
            p.expect_token(&Token::RParen).map_err(err)?;
            PartitionBound::Hash { modulus, remainder }
        } else {
            return Err(Refusal::syntax(BOUND, format!("expected IN, FROM or WITH, found {}", p.peek_token())));
        }
    };
    lex::expect_end(&mut p, BOUND)?;
    Ok(bound)
}

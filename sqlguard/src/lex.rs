//! Checks on the raw text and its tokens, before anything is parsed: size, NUL, comments, `;`, placeholders,
//! unicode escapes and bracket depth (so the recursive parser never sees more than it can bound).

use sqlparser::dialect::{Dialect as ParserDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace};

use crate::{Dialect, MAX_DEPTH, MAX_LEN, Refusal};

static POSTGRES: PostgreSqlDialect = PostgreSqlDialect {};
static SQLITE: SQLiteDialect = SQLiteDialect {};

pub(crate) fn parser_dialect(dialect: Dialect) -> &'static dyn ParserDialect {
    match dialect {
        Dialect::Postgres => &POSTGRES,
        Dialect::Sqlite => &SQLITE,
    }
}

/// The text's tokens once every check on the raw text passed.
pub(crate) fn tokens(dialect: Dialect, text: &str) -> Result<Vec<TokenWithSpan>, Refusal> {
    tokens_with(dialect, text, MAX_LEN, false)
}

/// [`tokens`] with another size bound, and comments optionally kept (as whitespace tokens) for the caller to
/// check where it matters.
pub(crate) fn tokens_with(
    dialect: Dialect,
    text: &str,
    max_len: usize,
    allow_comments: bool,
) -> Result<Vec<TokenWithSpan>, Refusal> {
    if text.len() > max_len {
        return Err(Refusal::TooLong { len: text.len(), max: max_len });
    }
    if text.contains('\0') {
        return Err(Refusal::Nul);
    }
    if text.trim().is_empty() {
        return Err(Refusal::Empty);
    }
    let tokens = Tokenizer::new(parser_dialect(dialect), text)
        .tokenize_with_location()
        .map_err(|e| Refusal::syntax("SQL text", e))?;
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate() {
        match &t.token {
            t if is_comment(t) && !allow_comments => return Err(Refusal::Comment),
            Token::SemiColon => return Err(Refusal::MultipleStatements),
            Token::Placeholder(p) => return Err(Refusal::Placeholder(p.clone())),
            Token::UnicodeStringLiteral(_) => return Err(Refusal::UnicodeEscape),
            Token::Word(w)
                if w.quote_style.is_none()
                    && w.value.eq_ignore_ascii_case("u")
                    && matches!(tokens.get(i + 1).map(|n| &n.token), Some(Token::Ampersand)) =>
            {
                return Err(Refusal::UnicodeEscape);
            }
            Token::LParen | Token::LBracket | Token::LBrace => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(Refusal::TooDeep { max: MAX_DEPTH });
                }
            }
            Token::RParen | Token::RBracket | Token::RBrace => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(tokens)
}

pub(crate) fn is_comment(t: &Token) -> bool {
    matches!(t, Token::Whitespace(Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_)))
}

/// A parser over checked tokens, with sqlparser's own recursion limit set.
pub(crate) fn parser(dialect: Dialect, tokens: Vec<TokenWithSpan>) -> Parser<'static> {
    Parser::new(parser_dialect(dialect)).with_recursion_limit(MAX_DEPTH).with_tokens_with_locations(tokens)
}

pub(crate) fn parse_error(what: &'static str, e: ParserError) -> Refusal {
    match e {
        ParserError::RecursionLimitExceeded => Refusal::TooDeep { max: MAX_DEPTH },
        other => Refusal::syntax(what, other),
    }
}

/// Refuses anything left after what was parsed.
pub(crate) fn expect_end(parser: &mut Parser, what: &'static str) -> Result<(), Refusal> {
    match parser.peek_token().token {
        Token::EOF => Ok(()),
        other => Err(Refusal::syntax(what, format!("unexpected {other} after the end"))),
    }
}

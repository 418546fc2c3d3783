//! Expressions (defaults, CHECKs, generated columns, index keys and predicates): parsed, walked against the
//! allow-list and re-rendered from the tree; the re-rendered text must parse back to itself.

use std::fmt;

use sqlparser::ast::{
    self, BinaryOperator, CastKind, DataType, Expr as Tree, ExtractSyntax, FunctionArg, FunctionArgExpr,
    FunctionArguments, InTarget, UnaryOperator, Value,
};
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::Token;

use crate::ident::{Ident, QualifiedName, is_ascii_word, quoted};
use crate::types::{TypeName, pg_type, sqlite_type};
use crate::{Dialect, MAX_DEPTH, Refusal, functions, lex};

/// A validated expression. Display (and [`Expr::as_str`]) give the re-rendered text to put in DDL. Two are equal
/// when they are the same expression, whichever entry point validated them.
#[derive(Debug, Clone)]
pub struct Expr {
    dialect: Dialect,
    text: String,
    columns: Vec<Ident>,
    sequences: Vec<SequenceName>,
    types: Vec<TypeName>,
    context: Context,
    tree: Box<Tree>,
}

impl PartialEq for Expr {
    fn eq(&self, other: &Expr) -> bool {
        self.dialect == other.dialect
            && self.text == other.text
            && self.columns == other.columns
            && self.sequences == other.sequences
            && self.types == other.types
            && self.tree == other.tree
    }
}

/// Where an expression will stand, which decides the functions it may call (see `functions.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    /// A column default: everything on the allow-list, `nextval` included.
    Default,
    /// A CHECK constraint: no side effects, nothing volatile.
    Check,
    /// A generated column: immutable only.
    Generated,
    /// An index key or predicate: immutable only.
    Index,
    /// A partition key: immutable only.
    PartitionKey,
    /// A partition bound (evaluated once at CREATE): no side effects, nothing volatile.
    PartitionBound,
}

impl Context {
    fn phrase(self) -> &'static str {
        match self {
            Context::Default => "a column default",
            Context::Check => "a CHECK constraint",
            Context::Generated => "a generated column",
            Context::Index => "an index",
            Context::PartitionKey => "a partition key",
            Context::PartitionBound => "a partition bound",
        }
    }

    /// Whether `name` (lower case, on the allow-list) may be called here.
    fn allows(self, name: &str) -> bool {
        let immutable = matches!(self, Context::Generated | Context::Index | Context::PartitionKey);
        match self {
            Context::Default => true,
            _ if functions::SIDE_EFFECT.contains(&name) || functions::VOLATILE.contains(&name) => false,
            _ => !(immutable && functions::STABLE.contains(&name)),
        }
    }
}

/// Replacements applied while rendering (a sequence or a cast's type chosen by the caller).
#[derive(Clone, Copy, Default)]
pub(crate) struct Maps<'a> {
    sequence: Option<&'a dyn Fn(&SequenceName) -> SequenceName>,
    cast_type: Option<&'a dyn Fn(&TypeName) -> TypeName>,
}

/// The sequence named by `nextval('…')`, as PostgreSQL resolves it (unquoted parts folded to lower case).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SequenceName {
    pub schema: Option<String>,
    pub name: String,
}

impl SequenceName {
    /// The text of the `regclass` literal (without the SQL quotes): parts quoted only when they need it.
    pub fn regclass_text(&self) -> String {
        let part = |p: &str| {
            let plain = p.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
            if plain { p.to_string() } else { quoted(p) }
        };
        match &self.schema {
            Some(s) => format!("{}.{}", part(s), part(&self.name)),
            None => part(&self.name),
        }
    }
}

impl Expr {
    /// The re-rendered text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The columns it references (unqualified names), each once, in order of first use.
    pub fn columns(&self) -> &[Ident] {
        &self.columns
    }

    /// The sequences named by its `nextval` calls (so the caller can create and map them).
    pub fn sequences(&self) -> &[SequenceName] {
        &self.sequences
    }

    /// The same expression with every `nextval` sequence replaced by `map`'s answer, re-rendered and re-checked.
    pub fn with_sequences(&self, map: impl Fn(&SequenceName) -> SequenceName) -> Result<Expr, Refusal> {
        Expr::from_tree(
            self.dialect,
            self.context,
            (*self.tree).clone(),
            Maps { sequence: Some(&map), ..Maps::default() },
        )
    }

    /// The type names its casts and typed literals name, each once (so the caller can tell built-in from user
    /// types, and create or qualify the latter).
    pub fn cast_types(&self) -> &[TypeName] {
        &self.types
    }

    /// The same expression with every cast's type replaced by `map`'s answer (e.g. `mood` → `target."mood"`, made
    /// with [`crate::pg_type`]), re-rendered and re-checked.
    pub fn with_cast_types(&self, map: impl Fn(&TypeName) -> TypeName) -> Result<Expr, Refusal> {
        Expr::from_tree(
            self.dialect,
            self.context,
            (*self.tree).clone(),
            Maps { cast_type: Some(&map), ..Maps::default() },
        )
    }

    /// The text to put after `DEFAULT`: SQLite takes only a literal, a signed number, `CURRENT_TIMESTAMP` and the
    /// like bare, anything else between parentheses; PostgreSQL takes a restricted expression, so operators are
    /// parenthesised too (PostgreSQL prints it back the same either way).
    pub fn default_clause(&self) -> String {
        let bare = match self.tree.as_ref() {
            Tree::Value(_) | Tree::Nested(_) => true,
            Tree::UnaryOp { op: UnaryOperator::Minus | UnaryOperator::Plus, expr } => {
                matches!(expr.as_ref(), Tree::Value(_))
            }
            Tree::Function(f) => self.dialect == Dialect::Postgres || matches!(f.args, FunctionArguments::None),
            Tree::Cast { .. } => self.dialect == Dialect::Postgres,
            _ => false,
        };
        if bare { self.text.clone() } else { format!("({})", self.text) }
    }

    /// A function call or a parenthesised expression (what PostgreSQL takes as an index key without parentheses).
    pub(crate) fn is_call_or_nested(&self) -> bool {
        matches!(self.tree.as_ref(), Tree::Function(_) | Tree::Nested(_))
    }

    pub(crate) fn from_tree(dialect: Dialect, context: Context, tree: Tree, maps: Maps<'_>) -> Result<Expr, Refusal> {
        let mut r = Render::new(dialect, context, maps);
        let text = r.expr(&tree)?;
        let Render { columns, sequences, types, .. } = r;
        // The text is what will run: it must read back as the same expression, rendered the same way.
        let again = parse_tree(dialect, &text, "the re-rendered expression")?;
        let mut r2 = Render::new(dialect, context, Maps::default());
        let text2 = r2.expr(&again)?;
        if text2 != text {
            return Err(Refusal::NotStable(text));
        }
        Ok(Expr { dialect, text, columns, sequences, types, context, tree: Box::new(again) })
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn parse_tree(dialect: Dialect, text: &str, what: &'static str) -> Result<Tree, Refusal> {
    let tokens = lex::tokens(dialect, text)?;
    let mut p = lex::parser(dialect, tokens);
    let tree = p.parse_expr().map_err(|e| lex::parse_error(what, e))?;
    lex::expect_end(&mut p, what)?;
    Ok(tree)
}

/// Validates a column default's expression: everything on the allow-list, `nextval` and volatile functions
/// (`random()`, `gen_random_uuid()`, …) included. For a CHECK use [`check`], for a generated column
/// [`generated`].
pub fn expression(dialect: Dialect, text: &str) -> Result<Expr, Refusal> {
    let tree = parse_tree(dialect, text, "the expression")?;
    Expr::from_tree(dialect, Context::Default, tree, Maps::default())
}

/// Validates a generated column's expression: immutable only, so `nextval`, volatile functions (`random()`,
/// `gen_random_uuid()`, …) and clock or session functions (`now()`, `current_user`, …) are refused
/// (`function now is not allowed in a generated column`).
pub fn generated(dialect: Dialect, text: &str) -> Result<Expr, Refusal> {
    let tree = parse_tree(dialect, text, "the generated column expression")?;
    Expr::from_tree(dialect, Context::Generated, tree, Maps::default())
}

/// A CHECK constraint as `pg_get_constraintdef()` prints it (`CHECK ((price > (0)::numeric)) NOT VALID`) or as
/// SQLite's table SQL holds it (`CHECK (price > 0)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub expr: Expr,
    pub no_inherit: bool,
    pub not_valid: bool,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CHECK ({})", self.expr)?;
        if self.no_inherit {
            f.write_str(" NO INHERIT")?;
        }
        if self.not_valid {
            f.write_str(" NOT VALID")?;
        }
        Ok(())
    }
}

/// Validates a CHECK constraint's definition (`CHECK (expr)`, PostgreSQL's `NO INHERIT`/`NOT VALID` kept).
pub fn check(dialect: Dialect, text: &str) -> Result<Check, Refusal> {
    const WHAT: &str = "the CHECK constraint";
    let tokens = lex::tokens(dialect, text)?;
    let mut p = lex::parser(dialect, tokens);
    p.expect_keyword_is(Keyword::CHECK).map_err(|e| lex::parse_error(WHAT, e))?;
    p.expect_token(&Token::LParen).map_err(|e| lex::parse_error(WHAT, e))?;
    let tree = p.parse_expr().map_err(|e| lex::parse_error(WHAT, e))?;
    p.expect_token(&Token::RParen).map_err(|e| lex::parse_error(WHAT, e))?;
    let (mut no_inherit, mut not_valid) = (false, false);
    if dialect == Dialect::Postgres {
        loop {
            if p.parse_keywords(&[Keyword::NO, Keyword::INHERIT]) {
                no_inherit = true;
            } else if p.parse_keywords(&[Keyword::NOT, Keyword::VALID]) {
                not_valid = true;
            } else {
                break;
            }
        }
    }
    lex::expect_end(&mut p, WHAT)?;
    Ok(Check { expr: Expr::from_tree(dialect, Context::Check, tree, Maps::default())?, no_inherit, not_valid })
}

struct Render<'a> {
    dialect: Dialect,
    columns: Vec<Ident>,
    sequences: Vec<SequenceName>,
    types: Vec<TypeName>,
    maps: Maps<'a>,
    context: Context,
    depth: usize,
    /// The output-growing functions whose arguments are being rendered (outermost first).
    growing: Vec<String>,
    /// Column references rendered so far, each use counted.
    column_refs: usize,
}

fn excerpt(e: &impl fmt::Display) -> String {
    let s = e.to_string();
    let mut out: String = s.chars().take(60).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

impl<'a> Render<'a> {
    fn new(dialect: Dialect, context: Context, maps: Maps<'a>) -> Self {
        Render {
            dialect,
            columns: Vec::new(),
            sequences: Vec::new(),
            types: Vec::new(),
            maps,
            context,
            depth: 0,
            growing: Vec::new(),
            column_refs: 0,
        }
    }

    fn pg(&self) -> bool {
        self.dialect == Dialect::Postgres
    }

    fn only_pg(&self, what: &str) -> Result<(), Refusal> {
        if self.pg() { Ok(()) } else { Err(Refusal::construct(format!("{what} (PostgreSQL only)"))) }
    }

    fn expr(&mut self, e: &Tree) -> Result<String, Refusal> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Refusal::TooDeep { max: MAX_DEPTH });
        }
        let out = self.expr_inner(e);
        self.depth -= 1;
        out
    }

    fn list(&mut self, items: &[Tree]) -> Result<String, Refusal> {
        let mut parts = Vec::with_capacity(items.len());
        for i in items {
            parts.push(self.expr(i)?);
        }
        Ok(parts.join(", "))
    }

    fn expr_inner(&mut self, e: &Tree) -> Result<String, Refusal> {
        Ok(match e {
            Tree::Identifier(i) => {
                let id = Ident::from_parsed(self.dialect, i)?;
                self.column_refs += 1;
                let text = id.to_string();
                if !self.columns.contains(&id) {
                    self.columns.push(id);
                }
                text
            }
            Tree::CompoundIdentifier(parts) => {
                let name: Vec<String> = parts.iter().map(ToString::to_string).collect();
                return Err(Refusal::QualifiedName(name.join(".")));
            }
            Tree::Value(v) => self.value(&v.value)?,
            Tree::Nested(inner) => format!("({})", self.expr(inner)?),
            Tree::UnaryOp { op, expr } => {
                let inner = self.expr(expr)?;
                let sign = match op {
                    UnaryOperator::Not => return Ok(format!("NOT {inner}")),
                    UnaryOperator::Minus => "-",
                    UnaryOperator::Plus => "+",
                    other => return Err(Refusal::Operator(format!("{other} (prefix)"))),
                };
                // `- -1`, never `--1` (a comment).
                if inner.starts_with(['-', '+']) { format!("{sign} {inner}") } else { format!("{sign}{inner}") }
            }
            Tree::BinaryOp { left, op, right } => {
                self.operator(op)?;
                format!("{} {op} {}", self.expr(left)?, self.expr(right)?)
            }
            Tree::IsNull(x) => format!("{} IS NULL", self.expr(x)?),
            Tree::IsNotNull(x) => format!("{} IS NOT NULL", self.expr(x)?),
            Tree::IsTrue(x) => format!("{} IS TRUE", self.expr(x)?),
            Tree::IsNotTrue(x) => format!("{} IS NOT TRUE", self.expr(x)?),
            Tree::IsFalse(x) => format!("{} IS FALSE", self.expr(x)?),
            Tree::IsNotFalse(x) => format!("{} IS NOT FALSE", self.expr(x)?),
            Tree::IsUnknown(x) => format!("{} IS UNKNOWN", self.expr(x)?),
            Tree::IsNotUnknown(x) => format!("{} IS NOT UNKNOWN", self.expr(x)?),
            Tree::IsDistinctFrom(a, b) => format!("{} IS DISTINCT FROM {}", self.expr(a)?, self.expr(b)?),
            Tree::IsNotDistinctFrom(a, b) => format!("{} IS NOT DISTINCT FROM {}", self.expr(a)?, self.expr(b)?),
            Tree::In { expr, target, negated, global } => {
                if *global {
                    return Err(Refusal::construct("GLOBAL IN"));
                }
                let list = match target {
                    InTarget::List(list) if !list.is_empty() => list,
                    InTarget::List(_) => return Err(Refusal::construct("an empty IN list")),
                    InTarget::Subquery(_) => return Err(Refusal::Subquery),
                    InTarget::Unnest(_) => return Err(Refusal::construct("IN UNNEST(…)")),
                    InTarget::Table { .. } => return Err(Refusal::construct("IN table")),
                };
                let not = if *negated { "NOT " } else { "" };
                format!("{} {not}IN ({})", self.expr(expr)?, self.list(list)?)
            }
            Tree::Between { expr, negated, low, high } => {
                let not = if *negated { "NOT " } else { "" };
                format!("{} {not}BETWEEN {} AND {}", self.expr(expr)?, self.expr(low)?, self.expr(high)?)
            }
            Tree::Like { negated, any, expr, pattern, escape_char } => {
                self.like("LIKE", *negated, *any, expr, pattern, escape_char.as_deref())?
            }
            Tree::ILike { negated, any, expr, pattern, escape_char } => {
                self.only_pg("ILIKE")?;
                self.like("ILIKE", *negated, *any, expr, pattern, escape_char.as_deref())?
            }
            Tree::AnyOp { left, compare_op, right, is_some } => {
                self.only_pg("ANY")?;
                self.operator(compare_op)?;
                let word = if *is_some { "SOME" } else { "ANY" };
                format!("{} {compare_op} {word} ({})", self.expr(left)?, self.expr(right)?)
            }
            Tree::AllOp { left, compare_op, right } => {
                self.only_pg("ALL")?;
                self.operator(compare_op)?;
                format!("{} {compare_op} ALL ({})", self.expr(left)?, self.expr(right)?)
            }
            Tree::Cast { kind, expr, data_type, format } => {
                if format.is_some() {
                    return Err(Refusal::construct("CAST … FORMAT"));
                }
                let ty = self.cast_type(data_type)?;
                let inner = self.expr(expr)?;
                match kind {
                    CastKind::Cast => format!("CAST({inner} AS {ty})"),
                    CastKind::DoubleColon => {
                        self.only_pg("the :: cast")?;
                        format!("{inner}::{ty}")
                    }
                    CastKind::TryCast | CastKind::SafeCast => return Err(Refusal::construct("TRY_CAST/SAFE_CAST")),
                }
            }
            Tree::AtTimeZone { timestamp, time_zone } => {
                self.only_pg("AT TIME ZONE")?;
                format!("{} AT TIME ZONE {}", self.expr(timestamp)?, self.expr(time_zone)?)
            }
            Tree::Extract { field, syntax, expr } => {
                self.only_pg("EXTRACT")?;
                let field = field.to_string().to_ascii_lowercase();
                if !matches!(syntax, ExtractSyntax::From) || !is_ascii_word(&field) {
                    return Err(Refusal::construct(format!("EXTRACT({} …)", excerpt(&field))));
                }
                format!("EXTRACT({field} FROM {})", self.expr(expr)?)
            }
            Tree::Substring { expr, substring_from, substring_for, special, shorthand } => {
                let mut out = String::from(if *shorthand { "SUBSTR(" } else { "SUBSTRING(" });
                out.push_str(&self.expr(expr)?);
                let (from_sep, for_sep) = if *special { (", ", ", ") } else { (" FROM ", " FOR ") };
                if let Some(x) = substring_from {
                    out.push_str(from_sep);
                    out.push_str(&self.expr(x)?);
                }
                if let Some(x) = substring_for {
                    out.push_str(for_sep);
                    out.push_str(&self.expr(x)?);
                }
                out.push(')');
                out
            }
            Tree::Trim { expr, trim_where, trim_what, trim_characters } => {
                let mut out = String::from("TRIM(");
                if let Some(w) = trim_where {
                    out.push_str(&format!("{w} "));
                }
                if let Some(what) = trim_what {
                    out.push_str(&format!("{} FROM ", self.expr(what)?));
                }
                out.push_str(&self.expr(expr)?);
                if let Some(chars) = trim_characters {
                    out.push_str(&format!(", {}", self.list(chars)?));
                }
                out.push(')');
                out
            }
            Tree::Collate { expr, collation } => {
                let c = QualifiedName::from_parsed(self.dialect, collation, 2)?;
                format!("{} COLLATE {c}", self.expr(expr)?)
            }
            Tree::Case { operand, conditions, else_result, .. } => {
                let mut out = String::from("CASE");
                if let Some(op) = operand {
                    out.push(' ');
                    out.push_str(&self.expr(op)?);
                }
                for w in conditions {
                    out.push_str(&format!(" WHEN {} THEN {}", self.expr(&w.condition)?, self.expr(&w.result)?));
                }
                if let Some(e) = else_result {
                    out.push_str(&format!(" ELSE {}", self.expr(e)?));
                }
                out.push_str(" END");
                out
            }
            Tree::Function(f) => self.function(f)?,
            Tree::TypedString(ts) => {
                self.only_pg("a typed literal")?;
                let ty = self.cast_type(&ts.data_type)?;
                match &ts.value.value {
                    Value::SingleQuotedString(s) => format!("{ty} {}", self.literal(s)?),
                    other => return Err(Refusal::construct(format!("the typed literal {ty} {}", excerpt(other)))),
                }
            }
            Tree::Array(a) => {
                self.only_pg("ARRAY[…]")?;
                if !a.named {
                    return Err(Refusal::construct("an array without ARRAY"));
                }
                format!("ARRAY[{}]", self.list(&a.elem)?)
            }
            Tree::Subquery(_) | Tree::Exists { .. } => return Err(Refusal::Subquery),
            Tree::Interval(_) => return Err(Refusal::construct("the INTERVAL literal syntax (write '…'::interval)")),
            Tree::CompoundFieldAccess { .. } => return Err(Refusal::construct("subscripts and field access")),
            Tree::Tuple(_) => return Err(Refusal::construct("row constructors (tuples)")),
            Tree::Wildcard(_) | Tree::QualifiedWildcard(..) => return Err(Refusal::construct("wildcards (*)")),
            Tree::SimilarTo { .. } => return Err(Refusal::construct("SIMILAR TO")),
            other => return Err(Refusal::construct(kind_name(other))),
        })
    }

    fn like(
        &mut self,
        word: &str,
        negated: bool,
        any: bool,
        expr: &Tree,
        pattern: &Tree,
        escape: Option<&Tree>,
    ) -> Result<String, Refusal> {
        if any {
            return Err(Refusal::construct(format!("{word} ANY")));
        }
        let not = if negated { "NOT " } else { "" };
        let mut out = format!("{} {not}{word} {}", self.expr(expr)?, self.expr(pattern)?);
        if let Some(esc) = escape {
            out.push_str(&format!(" ESCAPE {}", self.expr(esc)?));
        }
        Ok(out)
    }

    fn operator(&self, op: &BinaryOperator) -> Result<(), Refusal> {
        use BinaryOperator as B;
        let common = matches!(
            op,
            B::Plus
                | B::Minus
                | B::Multiply
                | B::Divide
                | B::Modulo
                | B::StringConcat
                | B::Gt
                | B::Lt
                | B::GtEq
                | B::LtEq
                | B::Eq
                | B::NotEq
                | B::And
                | B::Or
                | B::Arrow
                | B::LongArrow
        );
        let dialect_only = match self.dialect {
            Dialect::Postgres => matches!(
                op,
                B::PGExp
                    | B::PGRegexMatch
                    | B::PGRegexIMatch
                    | B::PGRegexNotMatch
                    | B::PGRegexNotIMatch
                    | B::PGLikeMatch
                    | B::PGILikeMatch
                    | B::PGNotLikeMatch
                    | B::PGNotILikeMatch
                    | B::PGStartsWith
                    | B::HashArrow
                    | B::HashLongArrow
                    | B::AtArrow
                    | B::ArrowAt
                    | B::AtAt
                    | B::Question
                    | B::QuestionAnd
                    | B::QuestionPipe
                    | B::PGOverlap
            ),
            Dialect::Sqlite => matches!(op, B::Glob | B::Is | B::IsNot),
        };
        if common || dialect_only { Ok(()) } else { Err(Refusal::Operator(op.to_string())) }
    }

    fn value(&self, v: &Value) -> Result<String, Refusal> {
        Ok(match v {
            Value::Number(n, false) if is_number(n) => n.clone(),
            Value::Number(n, _) => return Err(Refusal::construct(format!("the number literal {n}"))),
            Value::SingleQuotedString(s) => self.literal(s)?,
            Value::EscapedStringLiteral(s) if self.pg() => self.literal(s)?,
            Value::Boolean(b) => match (self.dialect, b) {
                (Dialect::Postgres, true) => "true".into(),
                (Dialect::Postgres, false) => "false".into(),
                (Dialect::Sqlite, true) => "TRUE".into(),
                (Dialect::Sqlite, false) => "FALSE".into(),
            },
            Value::Null => "NULL".into(),
            Value::HexStringLiteral(h)
                if !self.pg() && h.len() % 2 == 0 && h.chars().all(|c| c.is_ascii_hexdigit()) =>
            {
                format!("X'{h}'")
            }
            Value::Placeholder(p) => return Err(Refusal::Placeholder(p.clone())),
            Value::DollarQuotedString(_) => return Err(Refusal::construct("dollar-quoted strings")),
            Value::UnicodeStringLiteral(_) => return Err(Refusal::UnicodeEscape),
            other => return Err(Refusal::construct(format!("the literal {}", excerpt(other)))),
        })
    }

    /// A string literal. PostgreSQL gets `E'…'` with backslashes doubled when there is one, so the text means the
    /// same whatever `standard_conforming_strings` is.
    fn literal(&self, s: &str) -> Result<String, Refusal> {
        if s.contains('\0') {
            return Err(Refusal::Nul);
        }
        let body = s.replace('\'', "''");
        Ok(if self.pg() && s.contains('\\') {
            format!("E'{}'", body.replace('\\', "\\\\"))
        } else {
            format!("'{body}'")
        })
    }

    /// A cast's or typed literal's type: validated, mapped if the caller asked, and recorded.
    fn cast_type(&mut self, data_type: &DataType) -> Result<TypeName, Refusal> {
        let ty = self.validated_type(data_type)?;
        let ty = match self.maps.cast_type {
            Some(map) => map(&ty),
            None => ty,
        };
        if !self.types.contains(&ty) {
            self.types.push(ty.clone());
        }
        Ok(ty)
    }

    fn validated_type(&self, data_type: &DataType) -> Result<TypeName, Refusal> {
        let text = data_type.to_string();
        let lower = text.to_ascii_lowercase();
        if (lower.starts_with("reg") && is_ascii_word(&lower)) || is_reg_type(data_type) {
            return Err(Refusal::Type {
                name: text,
                reason: "casts to reg* types are accepted only as nextval's sequence and a text-search configuration"
                    .into(),
            });
        }
        match self.dialect {
            Dialect::Postgres => pg_type(&text),
            Dialect::Sqlite => sqlite_type(&text),
        }
    }

    fn function(&mut self, f: &ast::Function) -> Result<String, Refusal> {
        let written = f.name.to_string();
        if f.uses_odbc_syntax {
            return Err(Refusal::construct("ODBC function syntax"));
        }
        if !matches!(f.parameters, FunctionArguments::None) {
            return Err(Refusal::construct(format!("parameters of function {written}")));
        }
        let bare = matches!(f.args, FunctionArguments::None);
        let (name, rendered_name) = self.function_name(f, bare)?;
        if !self.context.allows(&name) {
            return Err(Refusal::FunctionIn { function: written, context: self.context.phrase() });
        }
        if f.filter.is_some() {
            return Err(Refusal::construct("FILTER (…)"));
        }
        if f.over.is_some() {
            return Err(Refusal::construct("window functions (OVER)"));
        }
        if !f.within_group.is_empty() {
            return Err(Refusal::construct("WITHIN GROUP"));
        }
        if f.null_treatment.is_some() {
            return Err(Refusal::construct("IGNORE/RESPECT NULLS"));
        }
        let args = match &f.args {
            FunctionArguments::None => return Ok(rendered_name),
            FunctionArguments::Subquery(_) => return Err(Refusal::Subquery),
            FunctionArguments::List(list) => {
                if list.duplicate_treatment.is_some() {
                    return Err(Refusal::construct(format!("DISTINCT/ALL in a call of {written}")));
                }
                if !list.clauses.is_empty() {
                    return Err(Refusal::construct(format!("clauses (ORDER BY, …) in a call of {written}")));
                }
                let mut args = Vec::with_capacity(list.args.len());
                for a in &list.args {
                    match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => args.push(e),
                        FunctionArg::Unnamed(_) => return Err(Refusal::construct("wildcards (*)")),
                        _ => return Err(Refusal::construct(format!("named arguments in a call of {written}"))),
                    }
                }
                args
            }
        };
        let growing = functions::GROWING.contains(&name.as_str());
        if growing {
            if let Some(outer) = self.growing.last() {
                return Err(Refusal::Growing { inner: written, outer: outer.clone() });
            }
            self.growing.push(written);
        }
        let rendered = self.arguments(&name, &args);
        if growing {
            self.growing.pop();
        }
        Ok(format!("{rendered_name}({})", rendered?.join(", ")))
    }

    fn arguments(&mut self, name: &str, args: &[&Tree]) -> Result<Vec<String>, Refusal> {
        let mut rendered = Vec::with_capacity(args.len());
        if name == "nextval" {
            rendered.push(self.nextval(args)?);
        } else if name == "randomblob" {
            rendered.push(randomblob_size(args)?);
        } else {
            for (i, a) in args.iter().enumerate() {
                if i == 0 && args.len() == 2 && functions::TEXT_SEARCH_CONFIGURED.contains(&name) {
                    rendered.push(self.ts_config(name, a)?);
                } else if i > 0 && functions::CONSTANT_AFTER_FIRST.contains(&name) {
                    let before = self.column_refs;
                    rendered.push(self.expr(a)?);
                    if self.column_refs != before {
                        return Err(Refusal::Arguments {
                            function: name.into(),
                            reason: format!(
                                "argument {} may not reference a column (the output could grow with the square of \
                                 the value's length)",
                                i + 1
                            ),
                        });
                    }
                } else {
                    rendered.push(self.expr(a)?);
                }
            }
        }
        Ok(rendered)
    }

    /// The lower-case name to look up, and the name as it will be rendered.
    fn function_name(&self, f: &ast::Function, bare: bool) -> Result<(String, String), Refusal> {
        let written = f.name.to_string();
        let refuse = || Refusal::Function(written.clone());
        let parts: Vec<&ast::Ident> =
            f.name.0.iter().map(|p| p.as_ident().ok_or_else(refuse)).collect::<Result<_, _>>()?;
        let (prefix, ident) = match (self.dialect, parts.as_slice()) {
            (_, [one]) => ("", *one),
            (Dialect::Postgres, [schema, one])
                if (schema.quote_style.is_none() && schema.value.eq_ignore_ascii_case("pg_catalog"))
                    || schema.value == "pg_catalog" =>
            {
                ("pg_catalog.", *one)
            }
            _ => return Err(refuse()),
        };
        let (lookup, shown) = match ident.quote_style {
            None if is_ascii_word(&ident.value) => (ident.value.to_ascii_lowercase(), ident.value.clone()),
            Some('"') if self.pg() && !bare => (ident.value.clone(), quoted(&ident.value)),
            _ => return Err(refuse()),
        };
        let list = match (self.dialect, bare) {
            (Dialect::Postgres, false) => functions::POSTGRES,
            (Dialect::Postgres, true) => functions::POSTGRES_BARE,
            (Dialect::Sqlite, false) => functions::SQLITE,
            (Dialect::Sqlite, true) => functions::SQLITE_BARE,
        };
        if !list.contains(&lookup.as_str()) {
            return Err(refuse());
        }
        Ok((lookup, format!("{prefix}{shown}")))
    }

    fn nextval(&mut self, args: &[&Tree]) -> Result<String, Refusal> {
        let refuse = || Refusal::Arguments {
            function: "nextval".into(),
            reason: "only one string literal naming a sequence (optionally ::regclass) is accepted".into(),
        };
        let [arg] = args else { return Err(refuse()) };
        let literal = match arg {
            Tree::Value(v) => &v.value,
            Tree::Cast { kind: CastKind::DoubleColon, expr, data_type, format: None }
                if data_type.to_string().eq_ignore_ascii_case("regclass") =>
            {
                match expr.as_ref() {
                    Tree::Value(v) => &v.value,
                    _ => return Err(refuse()),
                }
            }
            _ => return Err(refuse()),
        };
        let Value::SingleQuotedString(text) = literal else { return Err(refuse()) };
        let seq = parse_sequence_name(text).ok_or_else(|| Refusal::Arguments {
            function: "nextval".into(),
            reason: format!("{} is not a plain or schema-qualified sequence name", excerpt(text)),
        })?;
        let seq = match self.maps.sequence {
            Some(map) => map(&seq),
            None => seq,
        };
        let rendered = format!("{}::regclass", self.literal(&seq.regclass_text())?);
        if !self.sequences.contains(&seq) {
            self.sequences.push(seq);
        }
        Ok(rendered)
    }

    fn ts_config(&mut self, function: &str, arg: &Tree) -> Result<String, Refusal> {
        let refuse = || Refusal::Arguments {
            function: function.into(),
            reason: "the text search configuration must be a string literal (optionally ::regconfig)".into(),
        };
        let (literal, cast) = match arg {
            Tree::Value(v) => (&v.value, false),
            Tree::Cast { kind: CastKind::DoubleColon, expr, data_type, format: None }
                if data_type.to_string().eq_ignore_ascii_case("regconfig") =>
            {
                match expr.as_ref() {
                    Tree::Value(v) => (&v.value, true),
                    _ => return Err(refuse()),
                }
            }
            _ => return Err(refuse()),
        };
        let Value::SingleQuotedString(text) = literal else { return Err(refuse()) };
        let lit = self.literal(text)?;
        Ok(if cast { format!("{lit}::regconfig") } else { lit })
    }
}

/// The name of an expression form outside the allow-list (never its text: that could be deep).
fn kind_name(e: &Tree) -> &'static str {
    match e {
        Tree::JsonAccess { .. } => "JSON path access",
        Tree::IsJson { .. } => "IS JSON",
        Tree::IsNormalized { .. } => "IS NORMALIZED",
        Tree::RLike { .. } => "RLIKE/REGEXP",
        Tree::Convert { .. } => "CONVERT",
        Tree::Ceil { .. } | Tree::Floor { .. } => "CEIL/FLOOR with a field",
        Tree::Position { .. } => "POSITION(… IN …)",
        Tree::Overlay { .. } => "OVERLAY",
        Tree::Prefixed { .. } => "prefixed literals",
        Tree::GroupingSets(_) | Tree::Cube(_) | Tree::Rollup(_) => "grouping sets",
        Tree::Struct { .. } => "STRUCT",
        Tree::Named { .. } => "named expressions",
        Tree::Dictionary(_) | Tree::Map(_) => "dictionary and map literals",
        Tree::MatchAgainst { .. } => "MATCH … AGAINST",
        Tree::OuterJoin(_) => "(+) outer joins",
        Tree::Prior(_) => "PRIOR",
        Tree::Lambda(_) => "lambda functions",
        Tree::MemberOf(_) => "MEMBER OF",
        _ => "this expression form",
    }
}

/// The PostgreSQL object-identifier types: a cast to one looks a name up in the catalogs.
const REG_TYPES: &[&str] = &[
    "regclass",
    "regproc",
    "regprocedure",
    "regoper",
    "regoperator",
    "regtype",
    "regconfig",
    "regdictionary",
    "regnamespace",
    "regrole",
    "regcollation",
];

/// Whether a type is a `reg*` type however written: schema-qualified, quoted, in any case, or as an array's
/// element type.
fn is_reg_type(data_type: &DataType) -> bool {
    match data_type {
        DataType::Regclass => true,
        DataType::Custom(name, _) => name
            .0
            .last()
            .and_then(|p| p.as_ident())
            .is_some_and(|i| REG_TYPES.contains(&i.value.to_lowercase().as_str())),
        DataType::Array(ast::ArrayElemTypeDef::SquareBracket(inner, _))
        | DataType::Array(ast::ArrayElemTypeDef::AngleBracket(inner))
        | DataType::Array(ast::ArrayElemTypeDef::Parenthesis(inner)) => is_reg_type(inner),
        _ => false,
    }
}

/// `randomblob(N)`'s one argument: an integer literal up to [`functions::MAX_RANDOMBLOB`].
fn randomblob_size(args: &[&Tree]) -> Result<String, Refusal> {
    let refuse = || Refusal::Arguments {
        function: "randomblob".into(),
        reason: format!("only one integer literal up to {} is accepted", functions::MAX_RANDOMBLOB),
    };
    match args {
        [Tree::Value(v)] => match &v.value {
            Value::Number(n, false) if n.chars().all(|c| c.is_ascii_digit()) => match n.parse::<u64>() {
                Ok(size) if size <= functions::MAX_RANDOMBLOB => Ok(size.to_string()),
                _ => Err(refuse()),
            },
            _ => Err(refuse()),
        },
        _ => Err(refuse()),
    }
}

/// `1`, `1.5`, `.5`, `1e10`, `1.5E-3`.
fn is_number(n: &str) -> bool {
    let (mantissa, exponent) = match n.find(['e', 'E']) {
        Some(i) => (&n[..i], Some(&n[i + 1..])),
        None => (n, None),
    };
    let mantissa_ok = !mantissa.is_empty()
        && mantissa.chars().filter(|c| *c == '.').count() <= 1
        && mantissa.chars().all(|c| c.is_ascii_digit() || c == '.')
        && mantissa.chars().any(|c| c.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
        !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

/// A `regclass` text: `name`, `schema.name`, parts optionally double-quoted; unquoted parts fold to lower case.
fn parse_sequence_name(text: &str) -> Option<SequenceName> {
    let chars: Vec<char> = text.chars().collect();
    let mut parts = Vec::new();
    let mut i = 0;
    loop {
        let mut part = String::new();
        if chars.get(i) == Some(&'"') {
            i += 1;
            loop {
                match chars.get(i)? {
                    '"' if chars.get(i + 1) == Some(&'"') => {
                        part.push('"');
                        i += 2;
                    }
                    '"' => {
                        i += 1;
                        break;
                    }
                    c => {
                        part.push(*c);
                        i += 1;
                    }
                }
            }
        } else {
            while let Some(c) = chars.get(i).filter(|c| c.is_ascii_alphanumeric() || **c == '_' || **c == '$') {
                part.push(c.to_ascii_lowercase());
                i += 1;
            }
        }
        if part.is_empty() {
            return None;
        }
        parts.push(part);
        match chars.get(i) {
            None => break,
            Some('.') if parts.len() < 2 => i += 1,
            _ => return None,
        }
    }
    let name = parts.pop()?;
    Some(SequenceName { schema: parts.pop(), name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        for ok in ["0", "12", "1.5", ".5", "5.", "1e10", "1.5E-3", "2e+7"] {
            assert!(is_number(ok), "{ok}");
        }
        for bad in ["", ".", "1.2.3", "1e", "e5", "1e+", "0x1f", "1_000", "1;"] {
            assert!(!is_number(bad), "{bad}");
        }
    }

    #[test]
    fn sequence_names() {
        let seq = |s: Option<&str>, n: &str| Some(SequenceName { schema: s.map(Into::into), name: n.into() });
        assert_eq!(parse_sequence_name("Actor_ID_seq"), seq(None, "actor_id_seq"));
        assert_eq!(parse_sequence_name("app.\"A\"\"b\""), seq(Some("app"), "A\"b"));
        assert_eq!(parse_sequence_name("\"x.y\""), seq(None, "x.y"));
        for bad in ["", "a.b.c", "a b", "a.", ".a", "\"a", "a;b", "a'b"] {
            assert_eq!(parse_sequence_name(bad), None, "{bad}");
        }
        assert_eq!(seq(Some("My S"), "a\"b").unwrap().regclass_text(), "\"My S\".\"a\"\"b\"");
    }
}

//! Why a piece of sender SQL was not accepted: every message names the thing refused.

use thiserror::Error;

/// A fragment of SQL text refused by sqlguard. Nothing should be created from it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    /// The text is longer than [`crate::MAX_LEN`] bytes (checked before anything is parsed).
    #[error("the text is {len} bytes long, over the limit of {max} bytes")]
    TooLong { len: usize, max: usize },
    /// Nesting deeper than [`crate::MAX_DEPTH`] (parser recursion or the expression tree).
    #[error("the expression is nested deeper than {max} levels")]
    TooDeep { max: usize },
    /// Empty or whitespace-only text.
    #[error("the text is empty")]
    Empty,
    /// A NUL character anywhere in the text or in a name to render.
    #[error("NUL characters are not allowed")]
    Nul,
    /// `--` or `/* */` outside string literals.
    #[error("comments are not allowed")]
    Comment,
    /// A `;` outside string literals.
    #[error("more than one statement (`;`) is not allowed")]
    MultipleStatements,
    /// `$1`, `?`, `:name` and the like.
    #[error("parameter placeholder {0} is not allowed")]
    Placeholder(String),
    /// `U&'…'` strings or `U&"…"` identifiers.
    #[error("unicode escapes (U&) are not allowed")]
    UnicodeEscape,
    /// A function outside the allow-list (named as written, quotes and schema included).
    #[error("function {0} is not allowed")]
    Function(String),
    /// An allowed function in a place where it must not run: `nextval` (a side effect) outside a default, a
    /// volatile function (`random`, `gen_random_uuid`, …) in a CHECK, a partition bound or an index, a
    /// time- or session-dependent one in a generated column, an index or a partition key.
    #[error("function {function} is not allowed in {context}")]
    FunctionIn { function: String, context: &'static str },
    /// An output-growing function (`hex`, `replace`, `encode`, …) inside another one's arguments.
    #[error("function {inner} nested in {outer} is not allowed (its output could grow without bound)")]
    Growing { inner: String, outer: String },
    /// An allowed function called in a form that cannot be validated.
    #[error("{function}: {reason}")]
    Arguments { function: String, reason: String },
    /// `(SELECT …)`, `EXISTS`, `IN (SELECT …)`.
    #[error("subqueries are not allowed")]
    Subquery,
    /// An operator outside the allow-list.
    #[error("operator {0} is not allowed")]
    Operator(String),
    /// `a.b` where only an unqualified column may stand.
    #[error("qualified name {0} is not allowed")]
    QualifiedName(String),
    /// A type name that is not words and numeric arguments.
    #[error("type {name} is not allowed: {reason}")]
    Type { name: String, reason: String },
    /// Any other expression form outside the allow-list, named.
    #[error("{0} is not allowed")]
    Construct(String),
    /// An index access method outside btree, hash, gist, gin, brin, spgist.
    #[error("index access method {0} is not allowed")]
    IndexMethod(String),
    /// An index storage parameter outside the allow-list, or its value.
    #[error("index storage parameter {0} is not allowed")]
    StorageParameter(String),
    /// The text does not parse in the expected form.
    #[error("cannot parse {what}: {detail}")]
    Syntax { what: &'static str, detail: String },
    /// A check that the re-rendered text parses back to itself failed (a bug, never splice then).
    #[error("re-rendered text does not read back the same: {0}")]
    NotStable(String),
}

impl Refusal {
    pub(crate) fn construct(what: impl Into<String>) -> Refusal {
        Refusal::Construct(what.into())
    }

    pub(crate) fn syntax(what: &'static str, detail: impl ToString) -> Refusal {
        Refusal::Syntax { what, detail: detail.to_string() }
    }
}

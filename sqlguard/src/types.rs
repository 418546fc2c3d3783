//! Type names: PostgreSQL type names as `format_type()` prints them (and cast targets), SQLite declared types.
//! Only words, quoted identifiers (PostgreSQL), numeric arguments and array brackets; re-rendered from tokens.

use std::fmt;

use crate::Refusal;
use crate::ident::quoted;

/// A validated type name; Display gives the re-rendered text to put in DDL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TypeName(String);

impl TypeName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Num(String),
    Sym(char),
    Space,
}

const MAX_TYPE_LEN: usize = 256;

fn lex(text: &str, quotes: bool) -> Result<Vec<Tok>, String> {
    if text.len() > MAX_TYPE_LEN {
        return Err(format!("longer than {MAX_TYPE_LEN} bytes"));
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_whitespace() {
            while i < chars.len() && chars[i].is_ascii_whitespace() {
                i += 1;
            }
            out.push(Tok::Space);
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Word(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit() || ((c == '-' || c == '+') && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            out.push(Tok::Num(chars[start..i].iter().collect()));
        } else if c == '"' && quotes {
            let mut value = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err("an unterminated quoted name".into()),
                    Some('"') if chars.get(i + 1) == Some(&'"') => {
                        value.push('"');
                        i += 2;
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some('\0') => return Err("a NUL character".into()),
                    Some(&other) => {
                        value.push(other);
                        i += 1;
                    }
                }
            }
            if value.is_empty() {
                return Err("an empty quoted name".into());
            }
            out.push(Tok::Quoted(value));
        } else if "(),[].".contains(c) {
            out.push(Tok::Sym(c));
            i += 1;
        } else {
            return Err(format!("the character {c:?}"));
        }
    }
    Ok(out)
}

fn refuse(text: &str, reason: impl Into<String>) -> Refusal {
    let name: String = text.chars().take(80).collect();
    Refusal::Type { name, reason: reason.into() }
}

/// A PostgreSQL type name: `integer`, `character varying(20)`, `numeric(10,2)`, `timestamp(3) with time zone`,
/// `double precision`, `interval day to second`, `bit varying(8)`, `"char"`, `public.mood`, `text[]`,
/// `integer[3][3]`. A custom type is one word or quoted name, optionally schema-qualified. Unquoted words are
/// rendered in lower case (PostgreSQL folds them anyway).
pub fn pg_type(text: &str) -> Result<TypeName, Refusal> {
    let toks: Vec<Tok> =
        lex(text, true).map_err(|r| refuse(text, r))?.into_iter().filter(|t| *t != Tok::Space).collect();
    let mut p = Cursor { toks: &toks, at: 0 };
    let mut out = String::new();
    let mut first_word = String::new();
    match p.next() {
        Some(Tok::Word(w)) if p.peek() != Some(&Tok::Sym('.')) => {
            first_word = w.to_ascii_lowercase();
            out.push_str(&first_word);
            let follow: &[&str] = match first_word.as_str() {
                "double" => &["precision"],
                "character" | "char" | "bit" => &["varying"],
                "national" => &["character", "char", "varying"],
                "interval" => &["year", "month", "day", "hour", "minute", "second", "to"],
                _ => &[],
            };
            while let Some(Tok::Word(next)) = p.peek() {
                if !follow.contains(&next.to_ascii_lowercase().as_str()) {
                    break;
                }
                out.push(' ');
                out.push_str(&next.to_ascii_lowercase());
                p.at += 1;
            }
            if first_word == "double" && !out.to_ascii_lowercase().ends_with("precision") {
                return Err(refuse(text, "double without precision"));
            }
        }
        Some(Tok::Word(_) | Tok::Quoted(_)) => {
            p.at -= 1;
            for part in 0..2 {
                match p.next() {
                    Some(Tok::Word(w)) => out.push_str(&w.to_ascii_lowercase()),
                    Some(Tok::Quoted(q)) => out.push_str(&quoted(q)),
                    _ => return Err(refuse(text, "a name part is missing")),
                }
                if part == 0 && p.peek() == Some(&Tok::Sym('.')) {
                    p.at += 1;
                    out.push('.');
                } else {
                    break;
                }
            }
        }
        _ => return Err(refuse(text, "it does not start with a name")),
    }
    if p.peek() == Some(&Tok::Sym('(')) {
        p.at += 1;
        out.push('(');
        let mut n = 0;
        loop {
            match p.next() {
                Some(Tok::Num(d)) if d.chars().all(|c| c.is_ascii_digit()) => out.push_str(d),
                _ => return Err(refuse(text, "type arguments must be unsigned integers")),
            }
            n += 1;
            match p.next() {
                Some(Tok::Sym(',')) if n < 2 => out.push(','),
                Some(Tok::Sym(')')) => break,
                _ => return Err(refuse(text, "at most two comma-separated type arguments in parentheses")),
            }
        }
        out.push(')');
    }
    if matches!(first_word.as_str(), "timestamp" | "time")
        && let Some(Tok::Word(w)) = p.peek()
        && matches!(w.to_ascii_lowercase().as_str(), "with" | "without")
    {
        out.push(' ');
        out.push_str(&w.to_ascii_lowercase());
        p.at += 1;
        for expected in ["time", "zone"] {
            match p.next() {
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case(expected) => {
                    out.push(' ');
                    out.push_str(expected);
                }
                _ => return Err(refuse(text, "WITH/WITHOUT must be followed by TIME ZONE")),
            }
        }
    }
    while p.peek() == Some(&Tok::Sym('[')) {
        p.at += 1;
        out.push('[');
        if let Some(Tok::Num(d)) = p.peek() {
            if !d.chars().all(|c| c.is_ascii_digit()) {
                return Err(refuse(text, "array bounds must be unsigned integers"));
            }
            out.push_str(d);
            p.at += 1;
        }
        if p.next() != Some(&Tok::Sym(']')) {
            return Err(refuse(text, "an unclosed array bracket"));
        }
        out.push(']');
    }
    if let Some(t) = p.peek() {
        return Err(refuse(text, format!("unexpected {} after the type", describe(t))));
    }
    Ok(TypeName(out))
}

/// Words that end a declared type in SQLite's grammar: one inside the type text would smuggle a constraint in.
const SQLITE_CONSTRAINT_WORDS: &[&str] = &[
    "ALWAYS",
    "AS",
    "AUTOINCREMENT",
    "CHECK",
    "COLLATE",
    "CONFLICT",
    "CONSTRAINT",
    "DEFAULT",
    "FOREIGN",
    "GENERATED",
    "KEY",
    "NOT",
    "NULL",
    "ON",
    "PRIMARY",
    "REFERENCES",
    "STORED",
    "UNIQUE",
    "VIRTUAL",
];

/// A SQLite declared type: one or more words, optionally one or two signed numbers in parentheses
/// (`VARCHAR(200)`, `DOUBLE PRECISION`, `TIMESTAMP WITH TIME ZONE`, `DECIMAL(10, 2)`, `UNSIGNED BIG INT`).
/// The spelling is kept; runs of whitespace become one space.
pub fn sqlite_type(text: &str) -> Result<TypeName, Refusal> {
    let toks = lex(text.trim(), false).map_err(|r| refuse(text, r))?;
    let mut out = String::new();
    let mut words = 0;
    let mut i = 0;
    while let Some(t) = toks.get(i) {
        match t {
            Tok::Word(w) => {
                if SQLITE_CONSTRAINT_WORDS.contains(&w.to_ascii_uppercase().as_str()) {
                    return Err(refuse(text, format!("the keyword {w} ends a type name")));
                }
                words += 1;
                out.push_str(w);
            }
            Tok::Space => out.push(' '),
            Tok::Sym('(') if words > 0 => break,
            other => return Err(refuse(text, format!("unexpected {}", describe(other)))),
        }
        i += 1;
    }
    if words == 0 {
        return Err(refuse(text, "it has no name"));
    }
    if i < toks.len() {
        // `(` signed-number [`,` signed-number] `)`, then nothing.
        let rest = &toks[i..];
        let mut n = 0;
        let mut expect_num = true;
        let mut closed = false;
        for (j, t) in rest.iter().enumerate() {
            match t {
                Tok::Sym('(') if j == 0 => out.push('('),
                Tok::Space => out.push(' '),
                Tok::Num(d) if expect_num && n < 2 => {
                    if d.matches('.').count() > 1 || d.ends_with('.') {
                        return Err(refuse(text, format!("{d} is not a number")));
                    }
                    out.push_str(d);
                    n += 1;
                    expect_num = false;
                }
                Tok::Sym(',') if !expect_num && n < 2 => {
                    out.push(',');
                    expect_num = true;
                }
                Tok::Sym(')') if !expect_num && !closed => {
                    out.push(')');
                    closed = true;
                }
                other => return Err(refuse(text, format!("unexpected {} in the type arguments", describe(other)))),
            }
            if closed && j + 1 < rest.len() {
                return Err(refuse(text, "nothing may follow the type arguments"));
            }
        }
        if !closed {
            return Err(refuse(text, "unclosed type arguments"));
        }
    }
    Ok(TypeName(out.trim_end().to_string()))
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("word {w}"),
        Tok::Quoted(q) => format!("name {}", quoted(q)),
        Tok::Num(n) => format!("number {n}"),
        Tok::Sym(c) => format!("{c:?}"),
        Tok::Space => "space".into(),
    }
}

struct Cursor<'a> {
    toks: &'a [Tok],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<&'a Tok> {
        self.toks.get(self.at)
    }

    fn next(&mut self) -> Option<&'a Tok> {
        let t = self.toks.get(self.at);
        self.at += 1;
        t
    }
}

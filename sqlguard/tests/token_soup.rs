//! Deterministic random token soup: sqlguard never panics, and whatever it accepts re-renders to a text without
//! comments or `;` outside literals that reads back as exactly itself.

use sqlguard::{Dialect, expression, index};

const PIECES: &[&str] = &[
    "a",
    "\"B c\"",
    "x",
    "1",
    "-",
    "+",
    "*",
    "/",
    "(",
    ")",
    ",",
    "'s'",
    "'it''s'",
    "E'\\\\'",
    "::",
    "text",
    "int",
    "[",
    "]",
    "ARRAY",
    "lower",
    "now",
    "pg_sleep",
    "nextval",
    "'seq'",
    "::regclass",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "AND",
    "OR",
    "NOT",
    "IS",
    "NULL",
    "IN",
    "BETWEEN",
    "LIKE",
    "~",
    "->>",
    "||",
    "=",
    "<>",
    ">",
    "COLLATE",
    "\"C\"",
    "SELECT",
    ";",
    "--",
    "/*",
    "*/",
    "$1",
    "?",
    "U&",
    "COALESCE",
    "CAST",
    "AS",
    "'1 day'",
    "interval",
    "AT",
    "TIME",
    "ZONE",
    "-1",
    ".5",
    "1e3",
    "\"",
    "'",
    "\\",
    "datetime",
    "'now'",
    "X'0F'",
    "GLOB",
    "EXISTS",
    "ANY",
    "ALL",
    "pg_catalog",
    ".",
    "E'\\'",
    "$$",
    "TRUE",
    "\n",
    "\t",
];

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }
}

fn no_comment_or_semicolon_outside_literals(text: &str) -> bool {
    // Walk the rendered text the way PostgreSQL's and SQLite's lexers do: '…' (E'…' with backslash escapes),
    // "…" quoted names; anything else is code.
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' => {
                let escaped = i > 0 && b[i - 1] == b'E';
                i += 1;
                while i < b.len() {
                    if escaped && b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < b.len() {
                    if b[i] == b'"' {
                        if b.get(i + 1) == Some(&b'"') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
            }
            b';' => return false,
            b'-' if b.get(i + 1) == Some(&b'-') => return false,
            b'/' if b.get(i + 1) == Some(&b'*') => return false,
            _ => {}
        }
        i += 1;
    }
    true
}

#[test]
fn random_token_soup_never_panics_and_accepted_texts_are_stable() {
    let mut rng = Lcg(0x5eed);
    let mut accepted = 0;
    for case in 0..30_000u32 {
        let len = 1 + rng.next() % 12;
        let mut text = String::new();
        for _ in 0..len {
            text.push_str(PIECES[rng.next() % PIECES.len()]);
            if !rng.next().is_multiple_of(3) {
                text.push(' ');
            }
        }
        let dialect = if case.is_multiple_of(3) { Dialect::Sqlite } else { Dialect::Postgres };
        if let Ok(e) = expression(dialect, &text) {
            accepted += 1;
            let out = e.as_str();
            assert!(no_comment_or_semicolon_outside_literals(out), "{text:?} -> {out:?}");
            assert!(!out.to_ascii_lowercase().contains("pg_sleep("), "{text:?} -> {out:?}");
            assert_eq!(expression(dialect, out).unwrap().as_str(), out, "{text:?}");
        }
        let _ = index(dialect, &format!("CREATE INDEX i ON t ({text})"));
    }
    eprintln!("{accepted} of 30000 accepted");
    // The soup is rich enough that a fair share parses and passes.
    assert!(accepted > 500, "only {accepted} accepted");
}

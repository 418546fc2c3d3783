//! Validating PostgreSQL type names that arrive in a sender's schema. A type string is only ever written into
//! DDL after it parsed here into a built-in type (with numeric modifiers and array dimensions) or a plain
//! user-type name that is then quoted: nothing else from the network reaches SQL.

/// Built-in types as `format_type` spells them.
const BUILT_IN: &[&str] = &[
    "smallint",
    "integer",
    "bigint",
    "real",
    "double precision",
    "numeric",
    "money",
    "text",
    "character varying",
    "character",
    "name",
    "\"char\"",
    "bytea",
    "boolean",
    "date",
    "time without time zone",
    "time with time zone",
    "timestamp without time zone",
    "timestamp with time zone",
    "interval",
    "uuid",
    "json",
    "jsonb",
    "inet",
    "cidr",
    "macaddr",
    "macaddr8",
    "bit",
    "bit varying",
    "int4range",
    "int8range",
    "numrange",
    "tsrange",
    "tstzrange",
    "daterange",
    "int4multirange",
    "int8multirange",
    "nummultirange",
    "tsmultirange",
    "tstzmultirange",
    "datemultirange",
    "point",
    "line",
    "lseg",
    "box",
    "path",
    "polygon",
    "circle",
    "tsvector",
    "tsquery",
    "xml",
    "oid",
    "pg_lsn",
    "citext",
];

/// A type that is safe to write into DDL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgType {
    /// A built-in type, already in canonical safe text (`numeric(12,3)`, `timestamp(3) with time zone`, `integer[]`).
    BuiltIn(String),
    /// A user-defined type (an enum): its bare name, to be quoted, and the array dimensions.
    User { name: String, array_dims: usize },
}

impl PgType {
    /// The type as DDL text.
    pub fn sql(&self) -> String {
        match self {
            PgType::BuiltIn(s) => s.clone(),
            PgType::User { name, array_dims } => format!("{}{}", crate::ident::quote(name), "[]".repeat(*array_dims)),
        }
    }
}

/// Parses `format_type` output; `None` when it is neither a known built-in nor a plain user-type name.
pub fn parse(raw: &str) -> Option<PgType> {
    let mut s = raw.trim();
    let mut dims = 0;
    while let Some(rest) = s.strip_suffix("[]") {
        s = rest.trim_end();
        dims += 1;
    }
    if dims > 6 {
        return None;
    }
    // A modifier `(n)` or `(p,s)` sits after the base name, possibly before " with(out) time zone".
    let (head, modifier, tail) = match (s.find('('), s.find(')')) {
        (Some(open), Some(close)) if close > open => (&s[..open], Some(&s[open + 1..close]), &s[close + 1..]),
        (None, None) => (s, None, ""),
        _ => return None,
    };
    let base = format!("{}{}", head.trim_end(), tail);
    if let Some(m) = modifier {
        let parts: Vec<&str> = m.split(',').map(str::trim).collect();
        if parts.is_empty()
            || parts.len() > 2
            || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 6)
        {
            return None;
        }
    }
    let interval_fields = base.strip_prefix("interval ").is_some_and(|f| {
        [
            "year",
            "month",
            "day",
            "hour",
            "minute",
            "second",
            "year to month",
            "day to hour",
            "day to minute",
            "day to second",
            "hour to minute",
            "hour to second",
            "minute to second",
        ]
        .contains(&f)
    });
    if BUILT_IN.contains(&base.as_str()) || interval_fields {
        let modifier = modifier
            .map(|m| format!("({})", m.split(',').map(str::trim).collect::<Vec<_>>().join(",")))
            .unwrap_or_default();
        return Some(PgType::BuiltIn(format!("{}{}{}{}", head.trim_end(), modifier, tail, "[]".repeat(dims))));
    }
    if modifier.is_some() {
        return None;
    }
    user_type_name(s).map(|name| PgType::User { name, array_dims: dims })
}

/// `mood` or `"Mood Type"` (format_type quotes names that need it); no schema qualification.
fn user_type_name(s: &str) -> Option<String> {
    if let Some(inner) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        if inner.is_empty() || inner.replace("\"\"", "").contains('"') || inner.contains('\0') {
            return None;
        }
        return Some(inner.replace("\"\"", "\""));
    }
    let mut chars = s.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    (first_ok && s.len() <= 63 && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        .then(|| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_with_modifiers_and_arrays_parse() {
        for (raw, sql) in [
            ("integer", "integer"),
            ("character varying(20)", "character varying(20)"),
            ("numeric(12, 3)", "numeric(12,3)"),
            ("timestamp(3) with time zone", "timestamp(3) with time zone"),
            ("integer[]", "integer[]"),
            ("text[][]", "text[][]"),
            ("\"char\"", "\"char\""),
            ("interval day to second", "interval day to second"),
            ("bit varying(8)", "bit varying(8)"),
        ] {
            assert_eq!(parse(raw), Some(PgType::BuiltIn(sql.into())), "{raw}");
        }
    }

    #[test]
    fn user_types_are_names_and_everything_else_is_refused() {
        assert_eq!(parse("mood"), Some(PgType::User { name: "mood".into(), array_dims: 0 }));
        assert_eq!(parse("\"Mood \"\"X\"\"\"[]"), Some(PgType::User { name: "Mood \"X\"".into(), array_dims: 1 }));
        for bad in [
            "integer); DROP TABLE users; --",
            "numeric(1; DROP)",
            "text DEFAULT 'x'",
            "public.mood",
            "Mood",
            "mood(3)",
            "varchar(99999999)",
            "\"a\"b\"",
            "",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}

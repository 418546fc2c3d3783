//! Accepted texts and exactly what they re-render to.

use sqlguard::{Dialect, SequenceName, check, expression, index, pg_type, quote_ident};

const PG: Dialect = Dialect::Postgres;
const LITE: Dialect = Dialect::Sqlite;

fn render(dialect: Dialect, text: &str) -> String {
    expression(dialect, text).unwrap_or_else(|r| panic!("{text}: {r}")).to_string()
}

#[test]
fn postgres_expressions_re_render_canonically() {
    for (text, expected) in [
        ("nextval('actor_actor_id_seq'::regclass)", "nextval('actor_actor_id_seq'::regclass)"),
        ("nextval('Public.\"My Seq\"')", "nextval('public.\"My Seq\"'::regclass)"),
        ("(price > (0)::numeric)", "(price > (0)::numeric)"),
        ("'x'::character varying(20)[]", "'x'::character varying(20)[]"),
        ("status = ANY (ARRAY['a'::text, 'b'::text])", "status = ANY (ARRAY['a'::text, 'b'::text])"),
        (
            "(status)::text <> ALL ((ARRAY['a'::character varying])::text[])",
            "(status)::text <> ALL ((ARRAY['a'::character varying])::text[])",
        ),
        ("CURRENT_TIMESTAMP", "CURRENT_TIMESTAMP"),
        ("now()", "now()"),
        ("pg_catalog.lower(x)", "pg_catalog.lower(x)"),
        ("\"left\"(name, 3)", "\"left\"(name, 3)"),
        (
            "to_tsvector('english'::regconfig, COALESCE(body, ''::text))",
            "to_tsvector('english'::regconfig, COALESCE(body, ''::text))",
        ),
        ("'{\"a\": 1}'::jsonb", "'{\"a\": 1}'::jsonb"),
        ("(data ->> 'k'::text)", "(data ->> 'k'::text)"),
        ("- -1", "- -1"),
        ("-(-1)", "-(-1)"),
        ("E'a\\\\b'", "E'a\\\\b'"),
        ("'a\\b'", "E'a\\\\b'"),
        ("'it''s'", "'it''s'"),
        ("EXTRACT(YEAR FROM d)", "EXTRACT(year FROM d)"),
        ("SUBSTRING(a FROM 1 FOR 3)", "SUBSTRING(a FROM 1 FOR 3)"),
        ("now() AT TIME ZONE 'utc'::text", "now() AT TIME ZONE 'utc'::text"),
        ("x::text COLLATE \"C\"", "x::text COLLATE \"C\""),
        ("CASE WHEN a > 1 THEN 'big' ELSE NULL END", "CASE WHEN a > 1 THEN 'big' ELSE NULL END"),
        ("a IS NOT DISTINCT FROM b", "a IS NOT DISTINCT FROM b"),
        ("a NOT BETWEEN 1 AND 2", "a NOT BETWEEN 1 AND 2"),
        ("name ~~* 'a%' AND NOT name ~ '^x'", "name ~~* 'a%' AND NOT name ~ '^x'"),
        ("\"Mixed Case\" + Plain", "\"Mixed Case\" + plain"),
        ("1.5e-3 + .5", "1.5e-3 + .5"),
        ("TRUE OR false", "true OR false"),
        ("'happy'::mood", "'happy'::mood"),
        ("CAST(a AS DOUBLE PRECISION)", "CAST(a AS double precision)"),
    ] {
        assert_eq!(render(PG, text), expected, "{text}");
    }
}

#[test]
fn sqlite_expressions_re_render_canonically() {
    for (text, expected) in [
        ("datetime('now')", "datetime('now')"),
        ("(datetime('now'))", "(datetime('now'))"),
        ("lower(hex(randomblob(16)))", "lower(hex(randomblob(16)))"),
        ("CURRENT_TIMESTAMP", "CURRENT_TIMESTAMP"),
        ("strftime('%s', 'now')", "strftime('%s', 'now')"),
        ("X'00ff'", "X'00ff'"),
        ("x GLOB '[a-z]*'", "x GLOB '[a-z]*'"),
        ("typeof(a) IN ('integer', 'real')", "typeof(a) IN ('integer', 'real')"),
        ("[odd col] > 0 AND `other` IS NOT NULL", "\"odd col\" > 0 AND \"other\" IS NOT NULL"),
        ("CAST(a AS INTEGER)", "CAST(a AS INTEGER)"),
        ("a IS b", "a IS b"),
        ("'a\\b'", "'a\\b'"),
    ] {
        assert_eq!(render(LITE, text), expected, "{text}");
    }
}

#[test]
fn columns_and_sequences_are_reported() {
    let e = expression(PG, "COALESCE(a, \"B\", a, lower(c::text))").unwrap();
    let cols: Vec<&str> = e.columns().iter().map(|c| c.value()).collect();
    assert_eq!(cols, ["a", "B", "c"]);
    let e = expression(PG, "nextval('app.\"Order_Seq\"'::regclass)").unwrap();
    assert_eq!(e.sequences(), [SequenceName { schema: Some("app".into()), name: "Order_Seq".into() }]);
    let mapped =
        e.with_sequences(|_| SequenceName { schema: Some("My Schema".into()), name: "it's \"new\"".into() }).unwrap();
    assert_eq!(mapped.as_str(), "nextval('\"My Schema\".\"it''s \"\"new\"\"\"'::regclass)");
    assert_eq!(mapped.sequences(), [SequenceName { schema: Some("My Schema".into()), name: "it's \"new\"".into() }]);
}

#[test]
fn default_clauses_are_parenthesised_where_the_dialect_needs_it() {
    let d = |dialect, t| expression(dialect, t).unwrap().default_clause();
    assert_eq!(d(LITE, "datetime('now')"), "(datetime('now'))");
    assert_eq!(d(LITE, "CURRENT_TIMESTAMP"), "CURRENT_TIMESTAMP");
    assert_eq!(d(LITE, "-1"), "-1");
    assert_eq!(d(LITE, "'x'"), "'x'");
    assert_eq!(d(LITE, "1 + 2"), "(1 + 2)");
    assert_eq!(d(PG, "now()"), "now()");
    assert_eq!(d(PG, "'x'::text"), "'x'::text");
    assert_eq!(d(PG, "now() + '1 day'::interval"), "(now() + '1 day'::interval)");
}

#[test]
fn checks_keep_their_flags() {
    let c = check(PG, "CHECK ((price > (0)::numeric)) NO INHERIT NOT VALID").unwrap();
    assert_eq!(c.to_string(), "CHECK ((price > (0)::numeric)) NO INHERIT NOT VALID");
    assert!(c.no_inherit && c.not_valid);
    assert_eq!(check(LITE, "CHECK(a>0)").unwrap().to_string(), "CHECK (a > 0)");
}

#[test]
fn indexes_render_for_the_callers_names_only() {
    let def = "CREATE UNIQUE INDEX t_idx ON ONLY evil.\"t; DROP\" USING gist (tsv tsvector_ops, (a + 1) DESC NULLS LAST) \
               INCLUDE (\"B\") NULLS NOT DISTINCT WITH (fillfactor='70', buffering=auto) WHERE (a > 0)";
    let i = index(PG, def).unwrap();
    assert_eq!(i.sent_table.to_string(), "evil.\"t; DROP\"");
    assert_eq!(
        i.render("new \"idx\"", Some("Target"), "rich_copy").unwrap(),
        "CREATE UNIQUE INDEX \"new \"\"idx\"\"\" ON ONLY \"Target\".rich_copy USING gist (tsv tsvector_ops, (a + 1) DESC \
         NULLS LAST) INCLUDE (\"B\") NULLS NOT DISTINCT WITH (fillfactor='70', buffering='auto') WHERE (a > 0)"
    );
    assert_eq!(i.render("x\0", None, "t").unwrap_err().to_string(), "NUL characters are not allowed");
    let lite =
        index(LITE, "CREATE INDEX IF NOT EXISTS \"i\" ON t (a COLLATE NOCASE DESC, lower(b)) WHERE b IS NOT NULL")
            .unwrap();
    assert_eq!(
        lite.render("select", None, "t2").unwrap(),
        "CREATE INDEX IF NOT EXISTS \"select\" ON t2 (a COLLATE NOCASE DESC, lower(b)) WHERE b IS NOT NULL"
    );
}

#[test]
fn names_are_quoted_only_when_needed() {
    assert_eq!(quote_ident(PG, "rich_copy").unwrap(), "rich_copy");
    assert_eq!(quote_ident(PG, "Rich").unwrap(), "\"Rich\"");
    assert_eq!(quote_ident(PG, "select").unwrap(), "\"select\"");
    assert_eq!(quote_ident(PG, "a\"b").unwrap(), "\"a\"\"b\"");
    assert_eq!(quote_ident(LITE, "Rich").unwrap(), "Rich");
    assert_eq!(quote_ident(LITE, "name").unwrap(), "name");
    assert_eq!(quote_ident(LITE, "order").unwrap(), "\"order\"");
    assert_eq!(pg_type("INTEGER").unwrap().to_string(), "integer");
}

#[test]
fn cast_types_are_reported_and_can_be_mapped() {
    let e = expression(PG, "COALESCE('happy'::mood, 'sad'::mood, (x)::text, CAST(y AS app.\"Mood\"[]))").unwrap();
    let types: Vec<&str> = e.cast_types().iter().map(|t| t.as_str()).collect();
    assert_eq!(types, ["mood", "text", "app.\"Mood\"[]"]);
    let mapped = e
        .with_cast_types(|t| match t.as_str() {
            "mood" => pg_type("target.\"mood\"").unwrap(),
            _ => t.clone(),
        })
        .unwrap();
    assert_eq!(
        mapped.as_str(),
        "COALESCE('happy'::target.\"mood\", 'sad'::target.\"mood\", (x)::text, CAST(y AS app.\"Mood\"[]))"
    );
    // nextval's regclass is not a cast the caller maps.
    assert!(expression(PG, "nextval('s'::regclass)").unwrap().cast_types().is_empty());
}

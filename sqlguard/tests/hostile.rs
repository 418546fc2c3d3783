//! Hostile texts are refused, each with a message naming what was refused.

use sqlguard::{Dialect, Refusal, check, expression, index, pg_type, sqlite_type};

const PG: Dialect = Dialect::Postgres;
const LITE: Dialect = Dialect::Sqlite;

fn refused(dialect: Dialect, text: &str) -> String {
    match expression(dialect, text) {
        Ok(e) => panic!("{text:?} was accepted as {e}"),
        Err(r) => r.to_string(),
    }
}

#[test]
fn functions_outside_the_allow_list_are_refused_by_name() {
    assert_eq!(refused(PG, "pg_sleep(10)"), "function pg_sleep is not allowed");
    assert_eq!(refused(PG, "PG_SLEEP(10)"), "function PG_SLEEP is not allowed");
    assert_eq!(refused(PG, "\"pg_sleep\"(10)"), "function \"pg_sleep\" is not allowed");
    assert_eq!(refused(PG, "pg_catalog.pg_sleep(10)"), "function pg_catalog.pg_sleep is not allowed");
    assert_eq!(refused(PG, "public.lower(x)"), "function public.lower is not allowed");
    assert_eq!(refused(PG, "\"LOWER\"(x)"), "function \"LOWER\" is not allowed");
    assert_eq!(refused(PG, "dblink('host=evil', 'select 1')"), "function dblink is not allowed");
    assert_eq!(refused(PG, "set_config('role', 'postgres', false)"), "function set_config is not allowed");
    assert_eq!(refused(PG, "pg_read_file('/etc/passwd')"), "function pg_read_file is not allowed");
    assert_eq!(refused(PG, "lo_import('/etc/passwd')"), "function lo_import is not allowed");
    assert_eq!(refused(PG, "current_setting('is_superuser')"), "function current_setting is not allowed");
    assert_eq!(refused(PG, "repeat('x', 1000000000)"), "function repeat is not allowed");
    assert_eq!(refused(LITE, "load_extension('evil')"), "function load_extension is not allowed");
    assert_eq!(refused(LITE, "zeroblob(1000000000)"), "function zeroblob is not allowed");
    // An allowed name in the other dialect is not allowed here.
    assert_eq!(refused(LITE, "gen_random_uuid()"), "function gen_random_uuid is not allowed");
    assert_eq!(refused(PG, "randomblob(16)"), "function randomblob is not allowed");
}

#[test]
fn a_hostile_call_nested_anywhere_is_refused() {
    for text in [
        "CASE WHEN a > 1 THEN pg_sleep(1) ELSE 0 END",
        "CASE pg_sleep(1) WHEN 1 THEN 2 END",
        "COALESCE(a, pg_sleep(1))",
        "(pg_sleep(1))::text",
        "CAST(pg_sleep(1) AS text)",
        "lower(upper((pg_sleep(1))::text))",
        "a IN (1, pg_sleep(1))",
        "a BETWEEN 1 AND pg_sleep(1)",
        "NOT (a = 1 OR pg_sleep(1) IS NULL)",
        "a = ANY (ARRAY[pg_sleep(1)])",
        "to_tsvector('english'::regconfig, pg_sleep(1)::text)",
        "x::text COLLATE \"C\" || pg_sleep(1)",
        "SUBSTRING(a FROM pg_sleep(1))",
        "EXTRACT(year FROM pg_sleep(1))",
    ] {
        assert_eq!(refused(PG, text), "function pg_sleep is not allowed", "{text}");
    }
}

#[test]
fn subqueries_are_refused() {
    for text in [
        "(SELECT 1)",
        "a IN (SELECT id FROM secrets)",
        "EXISTS (SELECT 1 FROM pg_authid)",
        "NOT EXISTS (SELECT 1)",
        "COALESCE(a, (SELECT max(id) FROM t))",
        "a > ALL (SELECT 1)",
    ] {
        assert_eq!(refused(PG, text), "subqueries are not allowed", "{text}");
    }
    let check_text = "CHECK ((price > (SELECT 0)))";
    assert_eq!(check(PG, check_text).unwrap_err().to_string(), "subqueries are not allowed");
    assert_eq!(check(LITE, "CHECK (a IN (SELECT x FROM t))").unwrap_err(), Refusal::Subquery);
}

#[test]
fn statements_comments_and_placeholders_are_refused() {
    assert_eq!(refused(PG, "1; DROP TABLE users"), "more than one statement (`;`) is not allowed");
    assert_eq!(refused(PG, "1;"), "more than one statement (`;`) is not allowed");
    assert_eq!(refused(PG, "now() -- trailing"), "comments are not allowed");
    assert_eq!(refused(PG, "now() /* x */"), "comments are not allowed");
    assert_eq!(refused(PG, "lower(/* x */ a)"), "comments are not allowed");
    assert_eq!(refused(LITE, "datetime('now') -- x"), "comments are not allowed");
    assert_eq!(refused(PG, "$1 + 1"), "parameter placeholder $1 is not allowed");
    assert_eq!(refused(LITE, "?1 + 1"), "parameter placeholder ?1 is not allowed");
    assert_eq!(
        check(PG, "CHECK ((a > 0)); DROP TABLE t").unwrap_err().to_string(),
        "more than one statement (`;`) is not allowed"
    );
    // Inside string literals the same characters are data, re-quoted.
    assert_eq!(expression(PG, "'a; -- b /* c */'::text").unwrap().as_str(), "'a; -- b /* c */'::text");
}

#[test]
fn unicode_escapes_and_odd_literals_are_refused() {
    assert_eq!(refused(PG, "U&\"p\\0067_sleep\"(1)"), "unicode escapes (U&) are not allowed");
    assert_eq!(refused(PG, "u&\"d\\0061ta\""), "unicode escapes (U&) are not allowed");
    assert_eq!(refused(PG, "U&'\\0041'"), "unicode escapes (U&) are not allowed");
    assert_eq!(refused(PG, "$$a$$"), "dollar-quoted strings is not allowed");
    assert_eq!(refused(PG, "'a\0b'"), "NUL characters are not allowed");
}

#[test]
fn other_constructs_are_refused_by_name() {
    assert_eq!(refused(PG, "t.a + 1"), "qualified name t.a is not allowed");
    assert_eq!(refused(PG, "a & 1"), "operator & is not allowed");
    assert_eq!(refused(PG, "a OPERATOR(pg_catalog.+) 1"), "operator OPERATOR(pg_catalog.+) is not allowed");
    assert_eq!(refused(PG, "count(*)"), "function count is not allowed");
    assert_eq!(refused(PG, "lower(a) OVER ()"), "window functions (OVER) is not allowed");
    assert_eq!(refused(PG, "arr[1]"), "subscripts and field access is not allowed");
    assert_eq!(refused(PG, "(1, 2)"), "row constructors (tuples) is not allowed");
    assert_eq!(
        refused(PG, "now() + INTERVAL '1 day'"),
        "the INTERVAL literal syntax (write '…'::interval) is not allowed"
    );
    assert_eq!(
        refused(PG, "'pg_sleep'::regproc"),
        "type regproc is not allowed: casts to reg* types are accepted only as nextval's sequence and a text-search configuration"
    );
    assert_eq!(
        refused(PG, "nextval(lower('s'))"),
        "nextval: only one string literal naming a sequence (optionally ::regclass) is accepted"
    );
    assert_eq!(
        refused(PG, "nextval('a.b.c'::regclass)"),
        "nextval: a.b.c is not a plain or schema-qualified sequence name"
    );
    assert_eq!(
        refused(PG, "to_tsvector(current_user::regconfig, body)"),
        "to_tsvector: the text search configuration must be a string literal (optionally ::regconfig)"
    );
    assert_eq!(refused(PG, "x COLLATE a.b.c"), "qualified name a.b.c is not allowed");
    assert_eq!(refused(PG, "x COLLATE 'C'"), "the string 'C' where a name must stand is not allowed");
    assert_eq!(refused(LITE, "a::text"), "the :: cast (PostgreSQL only) is not allowed");
    assert_eq!(refused(LITE, "a REGEXP 'x'"), "operator REGEXP is not allowed");
}

#[test]
fn size_and_depth_are_bounded() {
    let long = format!("'{}'", "x".repeat(9000));
    assert_eq!(expression(PG, &long).err(), Some(Refusal::TooLong { len: 9002, max: sqlguard::MAX_LEN }));
    let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
    assert_eq!(expression(PG, &deep).err(), Some(Refusal::TooDeep { max: sqlguard::MAX_DEPTH }));
    let nested_ok = format!("{}1{}", "(".repeat(40), ")".repeat(40));
    assert_eq!(expression(PG, &nested_ok).unwrap().as_str(), nested_ok);
    let calls = format!("{}1{}", "abs(".repeat(70), ")".repeat(70));
    assert_eq!(expression(PG, &calls).err(), Some(Refusal::TooDeep { max: sqlguard::MAX_DEPTH }));
    // A flat chain parses without recursion but makes a deep tree: the walk bounds it.
    let chain = vec!["1"; 2000].join("+");
    assert_eq!(expression(PG, &chain).err(), Some(Refusal::TooDeep { max: sqlguard::MAX_DEPTH }));
    // The longest chain the size bound lets through is refused the same way, without exhausting the stack.
    let longest = vec!["1"; 4000].join("+");
    assert_eq!(expression(PG, &longest).err(), Some(Refusal::TooDeep { max: sqlguard::MAX_DEPTH }));
    let chain_ok = vec!["1"; 50].join(" + ");
    assert_eq!(expression(PG, &chain_ok).unwrap().as_str(), chain_ok);
    assert_eq!(expression(PG, "  ").unwrap_err(), Refusal::Empty);
}

#[test]
fn index_definitions_are_refused_by_name() {
    let refused = |d, t: &str| index(d, t).unwrap_err().to_string();
    assert_eq!(
        refused(PG, "CREATE INDEX i ON public.t USING evil_am (a)"),
        "index access method evil_am is not allowed"
    );
    assert_eq!(refused(PG, "CREATE INDEX i ON public.t USING btree (pg_sleep(1))"), "function pg_sleep is not allowed");
    assert_eq!(
        refused(PG, "CREATE INDEX i ON public.t USING btree (a) WHERE (a > (SELECT 1))"),
        "subqueries are not allowed"
    );
    assert_eq!(
        refused(PG, "CREATE INDEX i ON public.t USING btree (a); DROP TABLE t"),
        "more than one statement (`;`) is not allowed"
    );
    assert_eq!(
        refused(PG, "CREATE INDEX i ON public.t USING btree (a) WITH (evil='1')"),
        "index storage parameter evil is not allowed"
    );
    assert_eq!(
        refused(PG, "CREATE INDEX i ON public.t USING btree (a) WITH (fillfactor='1 ''x')"),
        "index storage parameter fillfactor = 1 'x is not allowed"
    );
    assert_eq!(
        refused(PG, "CREATE INDEX i ON public.t USING gist (a tsvector_ops(siglen='100'))"),
        "parameters of operator class tsvector_ops is not allowed"
    );
    assert_eq!(refused(PG, "CREATE INDEX i ON a.b.c USING btree (a)"), "qualified name a.b.c is not allowed");
    assert_eq!(
        refused(LITE, "CREATE INDEX i ON t (a text_pattern_ops)"),
        "operator class text_pattern_ops (PostgreSQL only) is not allowed"
    );
    assert_eq!(refused(LITE, "CREATE INDEX i ON t USING btree (a)"), "index access method btree is not allowed");
    assert_eq!(refused(PG, "CREATE INDEX CONCURRENTLY i ON t (a)"), "CREATE INDEX CONCURRENTLY is not allowed");
    assert!(
        refused(PG, "CREATE INDEX i ON t USING btree (a) TABLESPACE evil")
            .starts_with("cannot parse the index definition")
    );
}

#[test]
fn type_names_are_words_and_numbers() {
    assert_eq!(sqlite_type("VARCHAR(200)").unwrap().as_str(), "VARCHAR(200)");
    assert_eq!(sqlite_type("DOUBLE  PRECISION").unwrap().as_str(), "DOUBLE PRECISION");
    assert_eq!(sqlite_type("TIMESTAMP WITH TIME ZONE").unwrap().as_str(), "TIMESTAMP WITH TIME ZONE");
    assert_eq!(sqlite_type("DECIMAL(10, -2)").unwrap().as_str(), "DECIMAL(10, -2)");
    assert_eq!(sqlite_type("JSON").unwrap().as_str(), "JSON");
    assert_eq!(
        sqlite_type("TEXT PRIMARY KEY").unwrap_err().to_string(),
        "type TEXT PRIMARY KEY is not allowed: the keyword PRIMARY ends a type name"
    );
    assert_eq!(sqlite_type("TEXT) x").unwrap_err().to_string(), "type TEXT) x is not allowed: unexpected ')'");
    assert_eq!(
        sqlite_type("TEXT); DROP TABLE t; --").unwrap_err().to_string(),
        "type TEXT); DROP TABLE t; -- is not allowed: the character ';'"
    );
    assert_eq!(
        sqlite_type("VARCHAR(200) x").unwrap_err().to_string(),
        "type VARCHAR(200) x is not allowed: nothing may follow the type arguments"
    );
    assert_eq!(pg_type("character varying(20)").unwrap().as_str(), "character varying(20)");
    assert_eq!(pg_type("numeric(10,2)").unwrap().as_str(), "numeric(10,2)");
    assert_eq!(pg_type("timestamp(3) with time zone").unwrap().as_str(), "timestamp(3) with time zone");
    assert_eq!(pg_type("TIMESTAMP WITHOUT TIME ZONE[]").unwrap().as_str(), "timestamp without time zone[]");
    assert_eq!(pg_type("double precision").unwrap().as_str(), "double precision");
    assert_eq!(pg_type("interval day to second(3)").unwrap().as_str(), "interval day to second(3)");
    assert_eq!(pg_type("\"char\"").unwrap().as_str(), "\"char\"");
    assert_eq!(pg_type("app.\"Mood\"[]").unwrap().as_str(), "app.\"Mood\"[]");
    assert_eq!(pg_type("integer[3][3]").unwrap().as_str(), "integer[3][3]");
    assert_eq!(
        pg_type("text primary key").unwrap_err().to_string(),
        "type text primary key is not allowed: unexpected word primary after the type"
    );
    assert_eq!(
        pg_type("text DEFAULT pg_sleep(1)").unwrap_err().to_string(),
        "type text DEFAULT pg_sleep(1) is not allowed: unexpected word DEFAULT after the type"
    );
    assert_eq!(pg_type("a.b.c").unwrap_err().to_string(), "type a.b.c is not allowed: unexpected '.' after the type");
    assert_eq!(
        pg_type("varchar('x')").unwrap_err().to_string(),
        "type varchar('x') is not allowed: the character '\\''"
    );
}

#[test]
fn deep_trees_inside_refused_or_typed_forms_do_not_exhaust_the_stack() {
    let chain = vec!["1"; 3000].join("+");
    assert_eq!(refused(PG, &format!("POSITION('a' IN {chain})")), "POSITION(… IN …) is not allowed");
    assert_eq!(refused(PG, &format!("({chain}) IS JSON")), "IS JSON is not allowed");
    let arrays = format!("'{{}}'::int{}", "[]".repeat(3000));
    assert!(expression(PG, &arrays).is_err());
    let casts = format!("1{}", "::int".repeat(1500));
    assert!(expression(PG, &casts).is_err());
    let negations = format!("{}1", "- ".repeat(3000));
    assert_eq!(expression(PG, &negations).err(), Some(Refusal::TooDeep { max: sqlguard::MAX_DEPTH }));
}

//! Hostile texts are refused, each with a message naming what was refused.

use sqlguard::{
    Dialect, Refusal, check, expression, generated, index, partition_bound, partition_key, pg_type, sqlite_table,
    sqlite_type,
};

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

fn check_refused(dialect: Dialect, text: &str) -> String {
    match check(dialect, text) {
        Ok(c) => panic!("{text:?} was accepted as {c}"),
        Err(r) => r.to_string(),
    }
}

fn index_refused(dialect: Dialect, text: &str) -> String {
    match index(dialect, text) {
        Ok(i) => panic!("{text:?} was accepted as {i:?}"),
        Err(r) => r.to_string(),
    }
}

#[test]
fn nextval_is_accepted_only_in_a_default() {
    assert_eq!(expression(PG, "nextval('s')").unwrap().as_str(), "nextval('s'::regclass)");
    assert_eq!(
        check_refused(PG, "CHECK ((nextval('s'::regclass) > 0))"),
        "function nextval is not allowed in a CHECK constraint"
    );
    assert_eq!(
        check_refused(PG, "CHECK ((CASE WHEN a > 0 THEN pg_catalog.nextval('s') ELSE 0 END > 0)) NOT VALID"),
        "function pg_catalog.nextval is not allowed in a CHECK constraint"
    );
    // Evaluated once at CREATE: a preview that rolls back would still advance the receiver's sequence.
    assert_eq!(
        partition_bound("FOR VALUES IN (nextval('s'::regclass))").unwrap_err().to_string(),
        "function nextval is not allowed in a partition bound"
    );
    assert_eq!(
        partition_bound("FOR VALUES FROM (MINVALUE) TO ((nextval('s') + 1))").unwrap_err().to_string(),
        "function nextval is not allowed in a partition bound"
    );
    assert_eq!(
        partition_key("RANGE ((a + nextval('s')))").unwrap_err().to_string(),
        "function nextval is not allowed in a partition key"
    );
    assert_eq!(
        index_refused(PG, "CREATE INDEX i ON public.t USING btree (((a + nextval('s'::regclass))))"),
        "function nextval is not allowed in an index"
    );
    assert_eq!(
        index_refused(PG, "CREATE INDEX i ON public.t USING btree (a) WHERE (nextval('s'::regclass) > 0)"),
        "function nextval is not allowed in an index"
    );
    assert_eq!(
        generated(PG, "(a + nextval('s'))").unwrap_err().to_string(),
        "function nextval is not allowed in a generated column"
    );
}

#[test]
fn volatile_and_clock_functions_are_refused_where_they_make_no_sense() {
    // Defaults take them all.
    for text in ["random()", "gen_random_uuid()", "clock_timestamp()", "now()", "current_user", "uuidv7()"] {
        assert!(expression(PG, text).is_ok(), "{text}");
    }
    assert!(expression(LITE, "(lower(hex(randomblob(16))))").is_ok());
    for (text, function) in [
        ("CHECK ((random() > 0.5))", "random"),
        ("CHECK ((id <> gen_random_uuid()))", "gen_random_uuid"),
        ("CHECK ((created < clock_timestamp()))", "clock_timestamp"),
    ] {
        assert_eq!(check_refused(PG, text), format!("function {function} is not allowed in a CHECK constraint"));
    }
    // A CHECK may still read the clock (PostgreSQL accepts it); an immutable place may not.
    assert!(check(PG, "CHECK ((created <= now()))").is_ok());
    assert_eq!(
        check_refused(LITE, "CHECK (length(randomblob(4)) = 4)"),
        "function randomblob is not allowed in a CHECK constraint"
    );
    assert_eq!(
        sqlite_table("CREATE TABLE t (a INTEGER CHECK (a > random()))").unwrap_err().to_string(),
        "function random is not allowed in a CHECK constraint"
    );
    assert_eq!(
        partition_bound("FOR VALUES IN ((random())::integer)").unwrap_err().to_string(),
        "function random is not allowed in a partition bound"
    );
    assert_eq!(generated(PG, "now()").unwrap_err().to_string(), "function now is not allowed in a generated column");
    assert_eq!(
        generated(PG, "(current_user || a)").unwrap_err().to_string(),
        "function current_user is not allowed in a generated column"
    );
    assert_eq!(
        generated(PG, "gen_random_uuid()").unwrap_err().to_string(),
        "function gen_random_uuid is not allowed in a generated column"
    );
    assert_eq!(
        generated(LITE, "a || random()").unwrap_err().to_string(),
        "function random is not allowed in a generated column"
    );
    assert_eq!(generated(PG, "(a * 2)").unwrap().as_str(), "(a * 2)");
    assert_eq!(
        index_refused(PG, "CREATE INDEX i ON public.t USING btree (a) WHERE (created > now())"),
        "function now is not allowed in an index"
    );
    assert_eq!(
        index_refused(LITE, "CREATE INDEX i ON t (a) WHERE a > random()"),
        "function random is not allowed in an index"
    );
    assert_eq!(
        partition_key("RANGE (date_trunc('day'::text, clock_timestamp()))").unwrap_err().to_string(),
        "function clock_timestamp is not allowed in a partition key"
    );
}

#[test]
fn nested_growing_functions_are_refused() {
    let grow = |inner: &str, outer: &str| {
        format!("function {inner} nested in {outer} is not allowed (its output could grow without bound)")
    };
    // The attacker's 136-byte CHECK: 27 nested hex() reached 398 MiB per row.
    let nested = format!("CHECK ({}a{} <> '')", "hex(".repeat(27), ")".repeat(27));
    assert_eq!(check_refused(LITE, &nested), grow("hex", "hex"));
    let table = format!("CREATE TABLE t (a TEXT, {nested})");
    assert_eq!(sqlite_table(&table).unwrap_err().to_string(), grow("hex", "hex"));
    assert_eq!(refused(LITE, "hex(hex(a))"), grow("hex", "hex"));
    assert_eq!(refused(LITE, "hex(lower(upper(hex(a))))"), grow("hex", "hex"));
    assert_eq!(refused(LITE, "quote(hex(a))"), grow("hex", "quote"));
    assert_eq!(refused(LITE, "replace(replace(a, 'a', 'aaaa'), 'a', 'aaaa')"), grow("replace", "replace"));
    assert_eq!(refused(LITE, "replace(a, 'a', hex(a))"), grow("hex", "replace"));
    assert_eq!(refused(LITE, "json_array(quote(a))"), grow("quote", "json_array"));
    assert_eq!(refused(PG, "replace(encode(a, 'hex'::text), '0'::text, '00'::text)"), grow("encode", "replace"));
    assert_eq!(refused(PG, "concat(concat(a, a), a)"), grow("concat", "concat"));
    assert_eq!(
        refused(PG, "array_to_string(ARRAY[a], to_char(b, 'FM9999'::text))"),
        grow("to_char", "array_to_string")
    );
    assert_eq!(refused(PG, "to_jsonb(replace(a, 'x'::text, 'xx'::text))"), grow("replace", "to_jsonb"));
    assert_eq!(
        check_refused(PG, "CHECK ((length(replace(replace(a, 'a'::text, 'aa'::text), 'a'::text, 'aa'::text)) > 0))"),
        grow("replace", "replace")
    );
    assert_eq!(index_refused(LITE, "CREATE INDEX i ON t (hex(hex(a)))"), grow("hex", "hex"));
    // A value multiplied by itself.
    assert_eq!(
        refused(LITE, "replace(a, 'x', a)"),
        "replace: argument 3 may not reference a column (the output could grow with the square of the value's length)"
    );
    assert_eq!(
        refused(PG, "replace(a, b, 'xx'::text)"),
        "replace: argument 2 may not reference a column (the output could grow with the square of the value's length)"
    );
    assert_eq!(
        refused(PG, "array_to_string(tags, (note || ','::text))"),
        "array_to_string: argument 2 may not reference a column (the output could grow with the square of the value's length)"
    );
    assert!(expression(PG, "replace(a, '-'::text, ''::text)").is_ok());
    assert!(expression(PG, "array_to_string(tags, ','::text, '*'::text)").is_ok());
    // One growing function, or several side by side, is linear in the text.
    assert_eq!(expression(LITE, "hex(a) || quote(b)").unwrap().as_str(), "hex(a) || quote(b)");
    assert_eq!(expression(LITE, "upper(hex(a))").unwrap().as_str(), "upper(hex(a))");
    assert!(expression(PG, "concat(a, ' '::text, b)").is_ok());
}

#[test]
fn randomblob_takes_only_a_bounded_literal_size() {
    let msg = "randomblob: only one integer literal up to 1048576 is accepted";
    assert_eq!(expression(LITE, "randomblob(1048576)").unwrap().as_str(), "randomblob(1048576)");
    for text in [
        "randomblob(1048577)",
        "randomblob(a)",
        "randomblob(1000 * 1000 * 1000)",
        "randomblob(1e9)",
        "randomblob()",
        "randomblob(16, 16)",
        "randomblob(-1)",
        "randomblob(99999999999999999999999)",
    ] {
        assert_eq!(refused(LITE, text), msg, "{text}");
    }
}

#[test]
fn reg_casts_are_refused_however_the_type_is_written() {
    let msg = |ty: &str| {
        format!(
            "type {ty} is not allowed: casts to reg* types are accepted only as nextval's sequence and a text-search configuration"
        )
    };
    assert_eq!(refused(PG, "'pg_authid'::pg_catalog.regclass"), msg("pg_catalog.regclass"));
    assert_eq!(refused(PG, "'x'::\"regprocedure\""), msg("\"regprocedure\""));
    assert_eq!(refused(PG, "'x'::PG_CATALOG.\"regrole\""), msg("PG_CATALOG.\"regrole\""));
    assert_eq!(refused(PG, "CAST('x' AS pg_catalog.regnamespace)"), msg("pg_catalog.regnamespace"));
    // sqlparser has its own node for regclass, printed in upper case.
    assert_eq!(refused(PG, "'{pg_authid}'::regclass[]"), msg("REGCLASS[]"));
    assert_eq!(refused(PG, "'{pg_authid}'::pg_catalog.regclass[]"), msg("pg_catalog.regclass[]"));
    assert_eq!(refused(PG, "('x'::\"regtype\")::text"), msg("\"regtype\""));
    for ty in [
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
    ] {
        assert_eq!(refused(PG, &format!("'x'::pg_catalog.{ty}")), msg(&format!("pg_catalog.{ty}")), "{ty}");
        assert_eq!(refused(PG, &format!("'x'::\"{ty}\"")), msg(&format!("\"{ty}\"")), "{ty}");
    }
    // The accepted exceptions stay.
    assert!(expression(PG, "nextval('s'::regclass)").is_ok());
    assert!(expression(PG, "to_tsvector('english'::regconfig, body)").is_ok());
}

//! A SQLite table's declared types, defaults (pragma table_info), CHECKs and indexes (sqlite_master.sql) go
//! through sqlguard and are re-rendered for a second table: sqlite_master holds the same SQL for the copy, but for
//! the table and index names the test changed. Hostile texts in a real SQLite catalog are refused by name.

use sqlguard::{Dialect, expression, index, quote_ident, sqlite_checks, sqlite_table, sqlite_type};
use sqlx::{AssertSqlSafe, Connection, Executor, SqliteConnection};

const LITE: Dialect = Dialect::Sqlite;

const FIXTURE: &str = r#"CREATE TABLE rich (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(200) NOT NULL DEFAULT 'anon', price DOUBLE PRECISION DEFAULT 0.5 CHECK (price >= 0), created TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP, stamp TEXT DEFAULT (datetime('now')), token TEXT DEFAULT (lower(hex(randomblob(16)))), meta JSON CHECK (json_valid(meta)), kind TEXT CONSTRAINT kind_known CHECK (kind IN ('a', 'b')), amount DECIMAL(10, 2) DEFAULT -1, raw BLOB DEFAULT X'00FF', "Odd ""col""" UNSIGNED BIG INT DEFAULT 7, note TEXT DEFAULT 'it''s; -- data', CONSTRAINT amount_sane CHECK (amount BETWEEN -1 AND 1000000 AND typeof(amount) IN ('integer', 'real')), CHECK (name GLOB '[A-Za-z]*' OR name IS NULL))"#;

const INDEXES: &[&str] = &[
    "CREATE INDEX rich_name ON rich (name COLLATE NOCASE DESC)",
    "CREATE UNIQUE INDEX rich_token ON rich (token) WHERE token IS NOT NULL",
    "CREATE INDEX rich_expr ON rich (lower(name), price * 2 ASC)",
    "CREATE INDEX rich_json ON rich (json_extract(meta, '$.a')) WHERE kind = 'a'",
    "CREATE INDEX rich_odd ON rich (\"Odd \"\"col\"\"\", amount)",
];

async fn master_sql(conn: &mut SqliteConnection, kind: &str, name: &str) -> String {
    sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = ?1 AND name = ?2")
        .bind(kind)
        .bind(name)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sqlite_table_recreated_from_validated_texts_has_the_same_sql() {
    let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
    conn.execute(FIXTURE).await.unwrap();
    for i in INDEXES {
        conn.execute(*i).await.unwrap();
    }
    let original_sql = master_sql(&mut conn, "table", "rich").await;
    assert_eq!(original_sql, FIXTURE);

    let columns: Vec<(String, String, bool, Option<String>, i64)> =
        sqlx::query_as("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('rich') ORDER BY cid")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(columns.len(), 12);
    let table = sqlite_table(&original_sql).unwrap();
    assert_eq!(table.autoincrement.as_ref().map(|c| c.value()), Some("id"));
    assert!(!table.without_rowid && !table.strict);
    let checks = table.checks;
    assert_eq!(checks.len(), 5);
    let mut defs = Vec::new();
    for (name, ty, not_null, default, pk) in &columns {
        let mut col = format!("{} {}", quote_ident(LITE, name).unwrap(), sqlite_type(ty).unwrap());
        if *pk == 1 {
            col.push_str(" PRIMARY KEY");
            if table.autoincrement.as_ref().is_some_and(|c| c.value() == name) {
                col.push_str(" AUTOINCREMENT");
            }
        }
        if *not_null {
            col.push_str(" NOT NULL");
        }
        if let Some(text) = default {
            let e = expression(LITE, text).unwrap_or_else(|r| panic!("{name}: {text}: {r}"));
            col.push_str(&format!(" DEFAULT {}", e.default_clause()));
        }
        for c in checks.iter().filter(|c| c.column.as_ref().is_some_and(|col| col.value() == name)) {
            if let Some(n) = &c.name {
                col.push_str(&format!(" CONSTRAINT {n}"));
            }
            col.push_str(&format!(" {}", c.check));
        }
        defs.push(col);
    }
    for c in checks.iter().filter(|c| c.column.is_none()) {
        match &c.name {
            Some(n) => defs.push(format!("CONSTRAINT {n} {}", c.check)),
            None => defs.push(c.check.to_string()),
        }
    }
    let create = format!("CREATE TABLE rich_copy ({})", defs.join(", "));
    conn.execute(AssertSqlSafe(create.clone())).await.unwrap_or_else(|e| panic!("{create}: {e}"));
    assert_eq!(
        master_sql(&mut conn, "table", "rich_copy").await,
        FIXTURE.replacen("TABLE rich (", "TABLE rich_copy (", 1)
    );

    let sent: Vec<(String, String)> =
        sqlx::query_as("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rich' ORDER BY name")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(sent.len(), INDEXES.len());
    for (name, sql) in &sent {
        let i = index(LITE, sql).unwrap_or_else(|r| panic!("{sql}: {r}"));
        assert_eq!(i.sent_name.to_string(), *name);
        assert_eq!(i.sent_table.to_string(), "rich");
        let new_name = format!("copy_{name}");
        let rendered = i.render(&new_name, None, "rich_copy").unwrap();
        conn.execute(AssertSqlSafe(rendered.clone())).await.unwrap_or_else(|e| panic!("{rendered}: {e}"));
        let expected = sql.replacen(&format!("INDEX {name} ON rich ("), &format!("INDEX {new_name} ON rich_copy ("), 1);
        assert_ne!(expected, *sql);
        assert_eq!(master_sql(&mut conn, "index", &new_name).await, expected);
    }
}

#[tokio::test]
async fn table_options_are_read_from_the_sql() {
    let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
    conn.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER CHECK (v > 0)) WITHOUT ROWID, STRICT").await.unwrap();
    let t = sqlite_table(&master_sql(&mut conn, "table", "kv").await).unwrap();
    assert!(t.without_rowid && t.strict && t.autoincrement.is_none());
    assert_eq!(t.checks.len(), 1);
    assert_eq!(t.checks[0].column.as_ref().map(|c| c.value()), Some("v"));
    assert_eq!(t.checks[0].check.to_string(), "CHECK (v > 0)");
    assert_eq!(
        sqlite_table("CREATE TABLE t (a INT) WITHOUT ROWID; DROP TABLE x").unwrap_err().to_string(),
        "more than one statement (`;`) is not allowed"
    );
    assert_eq!(
        sqlite_table("CREATE TABLE t (a INT) AS SELECT 1").unwrap_err().to_string(),
        "cannot parse the CREATE TABLE text: unexpected AS after the column list"
    );
}

#[tokio::test]
async fn hostile_texts_in_a_sqlite_catalog_are_refused_by_name() {
    let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
    conn.execute(
        "CREATE TABLE hostile (a TEXT DEFAULT (load_extension('evil')), \
         b INTEGER CHECK (b > 0), c TEXT CHECK (/* hidden */ c <> ''), \
         d TEXT DEFAULT (sqlite_version()))",
    )
    .await
    .unwrap();
    conn.execute("CREATE INDEX hostile_i ON hostile (a) WHERE printf('%s', a) <> ''").await.unwrap();
    let defaults: Vec<Option<String>> =
        sqlx::query_scalar("SELECT dflt_value FROM pragma_table_info('hostile') ORDER BY cid")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let refusals: Vec<String> =
        defaults.iter().flatten().map(|d| expression(LITE, d).unwrap_err().to_string()).collect();
    assert_eq!(refusals, ["function load_extension is not allowed", "function sqlite_version is not allowed"]);
    let sql = master_sql(&mut conn, "table", "hostile").await;
    assert_eq!(sqlite_checks(&sql).unwrap_err().to_string(), "comments are not allowed");
    // SQLite itself refuses a subquery in a CHECK; a forged catalog text may still carry one.
    let forged = sql.replace("b > 0", "b IN (SELECT 1)").replace("/* hidden */ ", "");
    assert_eq!(sqlite_checks(&forged).unwrap_err().to_string(), "subqueries are not allowed");
    let forged = sql.replace("/* hidden */ ", "").replace("TEXT CHECK", "TEXT CHECK (1); DROP TABLE t; CHECK");
    assert_eq!(sqlite_checks(&forged).unwrap_err().to_string(), "more than one statement (`;`) is not allowed");
    let idx = master_sql(&mut conn, "index", "hostile_i").await;
    assert_eq!(index(LITE, &idx).unwrap_err().to_string(), "function printf is not allowed");
}

//! SQLite → SQLite structure kept exactly (issue #14): declared types, defaults, CHECKs, indexes, `WITHOUT ROWID`
//! and `AUTOINCREMENT` as the sender declared them, so `sqlite_master.sql` of the copy equals the sender's for
//! tables written in the canonical form (table and column names quoted, `DEFAULT` before `NOT NULL`, table
//! constraints after the columns; index names bare when they are plain words); hostile texts refused by name.

mod common;

use appdata::testing::TestDb;
use common::*;
use engine::{Db, EngineKind};
use protocol::schema::TableSchema;

/// Every `sqlite_master` row of the table and its indexes: `(type, name, sql)`.
async fn master(db: &Db, table: &str) -> Vec<(String, String, Option<String>)> {
    let Db::Sqlite(p) = db else { unreachable!() };
    sqlx::query_as("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = $1 ORDER BY type DESC, name")
        .bind(table)
        .fetch_all(p)
        .await
        .unwrap()
}

/// Tables in the canonical form: what a receiver writes for them is the same text.
const FIXTURE: &str = r#"
CREATE TABLE "people" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "name" VARCHAR(200) DEFAULT 'anon' NOT NULL CHECK (length("name") > 0), "score" DOUBLE PRECISION DEFAULT 1.5, "profile" JSON, "seen" TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP, "balance" DECIMAL(10, 2) DEFAULT 0, "flags" UNSIGNED BIG INT DEFAULT (1 + 2), "anything", "email" TEXT, UNIQUE ("email"), CONSTRAINT "score_range" CHECK ("score" BETWEEN 0 AND 100));
CREATE INDEX people_name ON people ("name" COLLATE NOCASE DESC);
CREATE UNIQUE INDEX people_lower_email ON people (lower("email")) WHERE "email" IS NOT NULL;
CREATE TABLE "tags" ("person" INTEGER NOT NULL, "tag" TEXT NOT NULL, "weight" REAL DEFAULT 0.5, PRIMARY KEY ("person", "tag"), FOREIGN KEY ("person") REFERENCES "people" ("id") ON UPDATE NO ACTION ON DELETE CASCADE) WITHOUT ROWID;
CREATE INDEX tags_weight ON tags ("weight", "tag");
CREATE TABLE "strict_one" ("k" INTEGER, "v" TEXT DEFAULT '' NOT NULL, PRIMARY KEY ("k")) STRICT;
INSERT INTO people (name, score, profile, email) VALUES ('Ann', 10, '{"a": 1}', 'ann@x'), ('Bob', 99.5, NULL, NULL);
INSERT INTO tags VALUES (1, 'red', 1), (1, 'blue', 0.25), (2, 'red', 0.5);
INSERT INTO strict_one VALUES (7, 'seven');
"#;

#[tokio::test]
async fn sqlite_master_of_the_copy_equals_the_senders() {
    let src_db = TestDb::new(EngineKind::Sqlite).await;
    let dst_db = TestDb::new(EngineKind::Sqlite).await;
    exec(&src_db.db, FIXTURE).await;
    let (src, dst) = (tables(&src_db.db), tables(&dst_db.db));
    let names = ["people", "tags", "strict_one"];
    let mut schemas = Vec::new();
    for table in names {
        let schema = src.get_schema(table).await.unwrap();
        let created = dst.create_table(&schema).await.unwrap();
        assert_eq!(created.notes, Vec::<String>::new(), "{table}");
        let (_, errors) = copy_pages(&src, &dst, table, 2).await;
        assert!(errors.is_empty(), "{table}: {errors:?}");
        schemas.push(schema);
    }
    for schema in &schemas {
        assert_eq!(dst.create_constraints_after_data(schema).await.unwrap().notes, Vec::<String>::new());
    }
    for table in names {
        let source = master(&src_db.db, table).await;
        assert!(!source.is_empty());
        assert_eq!(master(&dst_db.db, table).await, source, "{table}");
        assert_eq!(all_rows(&dst, table).await, all_rows(&src, table).await, "{table}");
        // The Details tab compares declared types: the copy reads back as the sender's.
        assert_eq!(dst.get_schema(table).await.unwrap(), src.get_schema(table).await.unwrap(), "{table}");
    }
    // AUTOINCREMENT kept: sqlite_sequence moved past the copied ids, so a deleted id is never reused.
    let Db::Sqlite(p) = &dst_db.db else { unreachable!() };
    sqlx::query("DELETE FROM tags").execute(p).await.unwrap();
    sqlx::query("DELETE FROM people WHERE id = 2").execute(p).await.unwrap();
    let id: i64 =
        sqlx::query_scalar("INSERT INTO people (name) VALUES ('Cy') RETURNING id").fetch_one(p).await.unwrap();
    assert_eq!(id, 3);
    // The CHECKs are live.
    assert!(sqlx::query("INSERT INTO people (name) VALUES ('')").execute(p).await.is_err());
    assert!(sqlx::query("INSERT INTO people (name, score) VALUES ('Di', 101)").execute(p).await.is_err());
}

#[tokio::test]
async fn hostile_sqlite_texts_are_refused_by_name() {
    let test = TestDb::new(EngineKind::Sqlite).await;
    exec(&test.db, "CREATE TABLE victim (id INTEGER PRIMARY KEY); INSERT INTO victim VALUES (1)").await;
    let t = tables(&test.db);
    let schema: TableSchema = serde_json::from_value(serde_json::json!({
        "name": "evil", "dialect": "sqlite",
        "columns": [
            {"name": "id", "data_type": "INTEGER", "kind": "int", "nullable": false, "default": null, "identity": "serial", "generated": null},
            {"name": "a", "data_type": "TEXT); DROP TABLE victim; --", "kind": "text", "nullable": true, "default": null, "identity": null, "generated": null},
            {"name": "b", "data_type": "TEXT", "kind": "text", "nullable": true,
             "default": "(SELECT group_concat(id) FROM victim)", "identity": null, "generated": null},
            {"name": "c", "data_type": "INTEGER", "kind": "int", "nullable": true,
             "default": "1; DROP TABLE victim", "identity": null, "generated": null},
            {"name": "d", "data_type": "TEXT", "kind": "text", "nullable": true,
             "default": "load_extension('x')", "identity": null, "generated": null}
        ],
        "primary_key": ["id"], "unique_constraints": [], "foreign_keys": [],
        "indexes": [
            {"name": "evil_idx", "columns": [], "unique": false,
             "definition": "CREATE INDEX evil_idx ON evil ((SELECT 1))"}
        ],
        "definition": "CREATE TABLE evil (id INTEGER PRIMARY KEY, CHECK ((SELECT count(*) FROM victim) > 0))"
    }))
    .unwrap();
    let created = t.create_table(&schema).await.unwrap();
    assert_eq!(
        created.notes,
        [
            r#"table "evil": CHECKs, AUTOINCREMENT, WITHOUT ROWID and STRICT not recreated: subqueries are not allowed"#,
            r#"column "a": declared type not kept (type TEXT); DROP TABLE victim; -- is not allowed: the character ';'): TEXT here"#,
            r#"column "b": default "(SELECT group_concat(id) FROM victim)" not recreated: subqueries are not allowed"#,
            r#"column "c": default "1; DROP TABLE victim" not recreated: more than one statement (`;`) is not allowed"#,
            r#"column "d": default "load_extension('x')" not recreated: function load_extension is not allowed"#,
        ]
    );
    let after = t.create_constraints_after_data(&schema).await.unwrap();
    assert_eq!(after.notes, [r#"index "evil_idx" not recreated: subqueries are not allowed"#]);
    let made = master(&test.db, "evil").await;
    assert_eq!(
        made,
        [(
            "table".to_owned(),
            "evil".to_owned(),
            Some(
                r#"CREATE TABLE "evil" ("id" INTEGER, "a" TEXT, "b" TEXT, "c" INTEGER, "d" TEXT, PRIMARY KEY ("id"))"#
                    .to_owned()
            )
        )]
    );
    assert_eq!(t.get_count("victim").await.unwrap(), 1);
}

#[tokio::test]
async fn the_ddl_is_shown_before_it_runs_and_nothing_is_kept() {
    let src_db = TestDb::new(EngineKind::Sqlite).await;
    let dst_db = TestDb::new(EngineKind::Sqlite).await;
    exec(
        &src_db.db,
        r#"CREATE TABLE "shown" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "n" NUMERIC(5, 1) DEFAULT 0 CHECK ("n" >= 0));
           CREATE INDEX shown_n ON shown ("n") WHERE "n" > 1;"#,
    )
    .await;
    let (src, dst) = (tables(&src_db.db), tables(&dst_db.db));
    let ddl = dst.create_table_ddl(&src.get_schema("shown").await.unwrap()).await.unwrap();
    assert_eq!(ddl.notes, Vec::<String>::new());
    assert_eq!(
        ddl.statements,
        [
            r#"CREATE TABLE "shown" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "n" NUMERIC(5, 1) DEFAULT 0 CHECK ("n" >= 0))"#,
            r#"CREATE INDEX IF NOT EXISTS shown_n ON shown ("n") WHERE "n" > 1"#,
        ]
    );
    assert!(!dst.table_exists("shown").await.unwrap(), "nothing kept");
}

/// AUTOINCREMENT is kept only on the one INTEGER column that is the whole primary key: a sender's table text
/// naming another column would replace a composite key (or fail on a TEXT column). Named in the notes.
#[tokio::test]
async fn autoincrement_on_a_column_that_is_not_the_whole_integer_key_is_not_recreated() {
    let test = TestDb::new(EngineKind::Sqlite).await;
    let t = tables(&test.db);
    let schema: TableSchema = serde_json::from_value(serde_json::json!({
        "name": "pairs", "dialect": "sqlite",
        "columns": [
            {"name": "a", "data_type": "INTEGER", "kind": "int", "nullable": false, "default": null, "identity": null, "generated": null},
            {"name": "b", "data_type": "INTEGER", "kind": "int", "nullable": false, "default": null, "identity": null, "generated": null}
        ],
        "primary_key": ["a", "b"], "unique_constraints": [], "foreign_keys": [], "indexes": [],
        "definition": "CREATE TABLE pairs (a INTEGER NOT NULL, b INTEGER PRIMARY KEY AUTOINCREMENT)"
    }))
    .unwrap();
    let created = t.create_table(&schema).await.unwrap();
    assert_eq!(
        created.notes,
        [r#"table "pairs": AUTOINCREMENT on "b" not recreated: it is not the table's one INTEGER primary key"#]
    );
    let made = master(&test.db, "pairs").await;
    let sql = made[0].2.clone().unwrap();
    assert!(sql.ends_with(r#"PRIMARY KEY ("a", "b"))"#) && !sql.contains("AUTOINCREMENT"), "{sql}");
}
